"""Compliance gates: cdk-nag packs as validation plugins, and reasoned acknowledgments.

The names below load on first use, so the pure-Python parts of this package (the rules, the
offline IAM checks in :mod:`cdk_constructs.compliance.iam`) can be imported without starting
the CDK's jsii runtime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cdk_constructs.compliance.acknowledgments import acknowledge
    from cdk_constructs.compliance.packs import (
        PUBLIC_PACKS,
        register_compliance_packs,
        write_pack_manifest,
    )

__all__ = [
    "PUBLIC_PACKS",
    "acknowledge",
    "register_compliance_packs",
    "write_pack_manifest",
]

_HOMES = {
    "acknowledge": "cdk_constructs.compliance.acknowledgments",
    "PUBLIC_PACKS": "cdk_constructs.compliance.packs",
    "register_compliance_packs": "cdk_constructs.compliance.packs",
    "write_pack_manifest": "cdk_constructs.compliance.packs",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)

"""Compliance gates: cdk-nag packs as validation plugins, and reasoned acknowledgments."""

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

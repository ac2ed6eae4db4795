#!/usr/bin/env python3
"""CDK entry point: load the organisation's config, build the stacks, register compliance."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk

from cdk_constructs.compliance import register_compliance_packs, write_pack_manifest
from cdk_constructs.limits import QuotaError
from cdk_constructs.monitoring.clarify_config import ClarifyConfigError
from cdk_constructs.monitoring.images import MonitorImageError
from cdk_constructs.registry import ModelCardSchemaError
from config import ConfigError, load_config
from stacks.context import ContextError, app_options
from stacks.governance_app import build_governance


def discard_stale_assembly() -> None:
    """Remove what an earlier synth left in the output folder, so nothing looks valid.

    The CDK CLI reuses its output folder; after a failed synth the previous manifest and
    templates would still be there and look like this run's result.
    """
    outdir = os.environ.get("CDK_OUTDIR")
    if not outdir:
        return
    folder = Path(outdir)
    for name in ("manifest.json", "validation-report.json", "tree.json"):
        (folder / name).unlink(missing_ok=True)
    for template in folder.glob("*.template.json"):
        template.unlink()


# Inputs that pass the config schema but that a construct still refuses (a Clarify config the
# SDK's schema rejects, card content the model card schema rejects, a region without images).
CONSTRUCT_INPUT_ERRORS = (ClarifyConfigError, ModelCardSchemaError, MonitorImageError)


def main() -> int:
    app = cdk.App()
    try:
        options = app_options(app)
        config = load_config(options.config_path)
        build_governance(app, config)
        register_compliance_packs(app)
    except (ConfigError, ContextError, QuotaError, *CONSTRUCT_INPUT_ERRORS) as error:
        print(f"error: {error}", file=sys.stderr)
        discard_stale_assembly()
        return 1
    assembly = app.synth()
    write_pack_manifest(assembly.directory)
    return 0


if __name__ == "__main__":
    sys.exit(main())

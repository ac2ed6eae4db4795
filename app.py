#!/usr/bin/env python3
"""CDK entry point: load the organisation's config, build the stacks, check, synth, report.

``cdk synth`` and ``make synth`` both run :func:`main`, so both leave the same ``cdk.out``:
templates, ``validation-report.json``, ``governance-inventory.json`` and the governance report,
or, when anything is open, only the validation report and a report of the failure.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from jsii.errors import JSIIError

from cdk_constructs.compliance import register_compliance_packs, write_pack_manifest
from cdk_constructs.limits import QuotaError
from cdk_constructs.monitoring.clarify_config import ClarifyConfigError
from cdk_constructs.monitoring.images import MonitorImageError
from cdk_constructs.registry import ModelCardSchemaError
from config import ConfigError, load_config
from governance_report.costs import PriceTable, PriceTableError, load_prices
from governance_report.gate import conclude, discard
from governance_report.scopes import record_inventory
from stacks.context import ContextError, app_options
from stacks.governance_app import build_governance

# Inputs that pass the config schema but that a construct still refuses (a Clarify config the
# SDK's schema rejects, card content the model card schema rejects, a region without images).
CONSTRUCT_INPUT_ERRORS = (ClarifyConfigError, ModelCardSchemaError, MonitorImageError)


def _validation_failure(error: JSIIError) -> str | None:
    """The short reason when aws-cdk-lib stopped the synth because a validation plugin failed
    (the full report is already on stderr and in validation-report.json)."""
    text = str(error)
    if "ValidationFailed" not in text and "Validation failed" not in text:
        return None
    return "a compliance pack reported errors"


def main(app: cdk.App | None = None) -> int:
    """Synthesize ``app`` (default: a new ``cdk.App()`` that reads what the CDK CLI passes).

    Returns the exit status: 0 only when nothing is open.
    """
    app = app or cdk.App()
    outdir = Path(app.outdir)
    # A synth reuses its output folder: nothing from an earlier run may look like this one's.
    discard(outdir)
    table: PriceTable | None = None
    try:
        options = app_options(app)
        prices = Path(options.prices_path) if options.prices_path else None
        table = load_prices(prices) if prices else None
        config = load_config(options.config_path)
        built = build_governance(app, config)
        # Registering reads the 'quotas' context (raised AWS quotas for the limits check).
        register_compliance_packs(app)
    except (
        ConfigError,
        ContextError,
        PriceTableError,
        QuotaError,
        *CONSTRUCT_INPUT_ERRORS,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        discard(outdir)
        return 1
    synth_error: str | None = None
    try:
        app.synth()
    except JSIIError as error:
        synth_error = _validation_failure(error)
        if synth_error is None:
            raise
    write_pack_manifest(outdir)
    record_inventory(built, [m.name for m in config.models], outdir)
    return conclude(outdir, prices=prices, table=table, synth_error=synth_error)


if __name__ == "__main__":
    sys.exit(main())

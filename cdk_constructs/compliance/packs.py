"""Register the public cdk-nag packs (and ours, when present) on an app."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import cdk_nag
from constructs import IConstruct

PUBLIC_PACKS: tuple[type[cdk_nag.NagPack], ...] = (
    cdk_nag.AwsSolutionsChecks,
    cdk_nag.NIST80053R5Checks,
    cdk_nag.HIPAASecurityChecks,
    cdk_nag.PCIDSS321Checks,
    cdk_nag.ServerlessChecks,
)


QUOTAS_CONTEXT_KEY = "quotas"


def register_compliance_packs(app: IConstruct) -> None:
    """Every stack of ``app`` is checked by each public pack, our governance pack and AWS's
    limits (``LimitsChecks``, with the raised quotas of context ``quotas``) at synth.

    Raises :class:`cdk_constructs.limits.QuotaError` for a malformed ``quotas`` value.
    """
    from cdk_constructs.compliance.governance_pack import GovernanceChecks
    from cdk_constructs.compliance.limits_check import LimitsChecks
    from cdk_constructs.limits import Quotas

    quotas = Quotas.from_context(app.node.try_get_context(QUOTAS_CONTEXT_KEY))
    cdk.Validations.of(app).add_plugins(
        *(pack(app) for pack in PUBLIC_PACKS), GovernanceChecks(app), LimitsChecks(quotas=quotas)
    )


GOVERNANCE_PACK_MANIFEST = "governance-pack.json"


def write_pack_manifest(outdir: str | Path) -> Path:
    """Record in the assembly that our pack ran, which rules it holds, and the claims → rules
    table (RULES.md) with each claim's rules, so a report rendered from ``cdk.out`` alone can
    show whether each promised control passed.

    aws-cdk-lib leaves a plugin with nothing to report out of validation-report.json; the
    governance report reads this file to list the rules that passed.
    """
    from cdk_constructs.compliance.limits_check import PLUGIN_NAME as LIMITS_PLUGIN
    from cdk_constructs.compliance.rules import CLAIMS, RULES
    from cdk_constructs.compliance.rules.framework import PACK_NAME
    from cdk_constructs.limits import LIMITS

    path = Path(outdir) / GOVERNANCE_PACK_MANIFEST
    path.write_text(
        json.dumps(
            {
                "pluginName": PACK_NAME,
                "ruleIds": [rule.finding_id for rule in RULES],
                "publicPacks": [pack.__name__ for pack in PUBLIC_PACKS],
                "claims": [
                    {
                        "claimId": claim.claim_id,
                        "control": claim.control,
                        "source": claim.source,
                        "quote": claim.quote,
                        "rules": list(claim.rules),
                        "elsewhere": claim.elsewhere,
                        "gap": claim.gap,
                        "status": claim.status,
                    }
                    for claim in CLAIMS
                ],
                # The limits check reports only breaches; this says which limits it checked.
                "limits": {"pluginName": LIMITS_PLUGIN, "ruleIds": list(LIMITS)},
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return path

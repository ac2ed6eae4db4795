"""Register the public cdk-nag packs (and ours, when present) on an app."""

from __future__ import annotations

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


def register_compliance_packs(app: IConstruct) -> None:
    """Every stack of ``app`` is checked by each public pack and our governance pack at synth."""
    from cdk_constructs.compliance.governance_pack import GovernanceChecks

    cdk.Validations.of(app).add_plugins(
        *(pack(app) for pack in PUBLIC_PACKS), GovernanceChecks(app)
    )

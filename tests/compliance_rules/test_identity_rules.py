"""Identity rule (IAM1): the app's permissions boundary on every role, CDK-internal ones too."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam

from tests.compliance_rules import builders as b

ACCOUNT = cdk.Environment(account="111111111111", region="eu-west-1")


@pytest.fixture(scope="module")
def findings() -> b.Findings:
    # Given: the boundary in a foundation stack, roles there and in a second stack
    app = cdk.App()
    foundation = cdk.Stack(app, "Foundation", env=ACCOUNT)
    boundary = b.managed_policy(foundation, "Boundary", name="governance-boundary")
    b.role(foundation, "Bounded", boundary=boundary.ref)
    b.role(foundation, "Unbounded")
    b.role(
        foundation,
        "AwsManagedBoundary",
        boundary="arn:aws:iam::aws:policy/PowerUserAccess",
    )
    # A role CDK writes as a plain CfnResource, bounded the way an Aspect does it: by override
    overridden = b.raw_role(foundation, "ProviderRole")
    overridden.add_property_override("PermissionsBoundary", boundary.ref)
    b.raw_role(foundation, "UnboundedProviderRole")
    iam.CfnUser(foundation, "User")

    # Another stack names the boundary by its ARN, without a cross-stack reference
    models = cdk.Stack(app, "Models", env=ACCOUNT)
    by_name = models.format_arn(
        service="iam", region="", resource="policy", resource_name="governance-boundary"
    )
    b.role(models, "BoundedByName", boundary=by_name)
    typo = models.format_arn(
        service="iam", region="", resource="policy", resource_name="governance-boundry"
    )
    b.role(models, "UnknownBoundary", boundary=typo)
    # When
    return b.run_pack(app)


CASES = [
    ("IAM1", "Foundation/Bounded", "Foundation/Unbounded"),
    ("IAM1", "Foundation/ProviderRole", "Foundation/UnboundedProviderRole"),
    ("IAM1", "Models/BoundedByName", "Foundation/AwsManagedBoundary"),
    ("IAM1", "Models/BoundedByName", "Foundation/User"),
]


@pytest.mark.parametrize(("rule_id", "compliant", "non_compliant"), CASES)
def test_rule_flags_only_the_non_compliant_resource(
    findings: b.Findings, rule_id: str, compliant: str, non_compliant: str
) -> None:
    # Then
    assert non_compliant in b.flagged(findings, rule_id)
    assert compliant not in b.flagged(findings, rule_id) | b.undecided(findings, rule_id)


def test_a_boundary_the_app_does_not_declare_cannot_be_judged(findings: b.Findings) -> None:
    assert b.undecided(findings, "IAM1") == {"Models/UnknownBoundary"}

"""GovernanceBoundary: the foundation's boundary on every role of every stack, by name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr

from cdk_constructs.role_boundary import GovernanceBoundary
from tests.compliance_rules import builders as b
from tests.conftest import cdk_context

ENV = cdk.Environment(account="111111111111", region="eu-west-1")
NAME = "example-prod-permissions-boundary"


@pytest.fixture(scope="module")
def assembly() -> Path:
    # Given: a foundation owning the boundary and a role; a models stack with its own role and
    # the roles CDK creates for an AwsCustomResource (a singleton provider)
    app = cdk.App(context=cdk_context())
    foundation = cdk.Stack(app, "Foundation", env=ENV)
    policy = iam.ManagedPolicy(
        foundation,
        "Boundary",
        statements=[iam.PolicyStatement(actions=["sagemaker:Describe*"], resources=["*"])],
    )
    boundary = GovernanceBoundary(policy, name=NAME)
    boundary.apply(foundation)
    iam.Role(foundation, "Job", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))

    models = cdk.Stack(app, "Models", env=ENV)
    boundary.apply(models)
    iam.Role(models, "Local", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    cr.AwsCustomResource(
        models,
        "Lookup",
        on_create=cr.AwsSdkCall(
            service="SageMaker",
            action="describeModelPackage",
            parameters={"ModelPackageName": b.package_arn("credit-risk")},
            physical_resource_id=cr.PhysicalResourceId.of("lookup"),
        ),
        policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=[b.package_arn("credit-risk")]),
        install_latest_aws_sdk=False,
    )
    # When
    return Path(app.synth().directory)


def _template(assembly: Path, stack: str) -> dict[str, Any]:
    return dict(json.loads((assembly / f"{stack}.template.json").read_text()))


def _roles(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource.get("Properties", {})
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
    }


def test_the_owning_stack_names_its_policy_and_references_it(assembly: Path) -> None:
    template = _template(assembly, "Foundation")
    (policy_id,) = [
        k for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::ManagedPolicy"
    ]
    assert template["Resources"][policy_id]["Properties"]["ManagedPolicyName"] == NAME
    for properties in _roles(template).values():
        assert properties["PermissionsBoundary"] == {"Ref": policy_id}


def test_every_role_of_another_stack_names_the_boundary_by_arn(assembly: Path) -> None:
    template = _template(assembly, "Models")
    roles = _roles(template)
    # the stack's own role and the CDK-internal provider role
    assert len(roles) >= 2
    # (aws-cdk-lib writes the partition of a stack with a known region as a literal)
    expected = f"arn:aws:iam::111111111111:policy/{NAME}"
    for properties in roles.values():
        assert properties["PermissionsBoundary"] == expected
    # no cross-stack reference: the foundation gains no output for it
    assert "Outputs" not in _template(assembly, "Foundation")


def test_the_models_stack_deploys_after_the_boundary(assembly: Path) -> None:
    manifest = json.loads((assembly / "manifest.json").read_text())
    assert "Foundation" in manifest["artifacts"]["Models"]["dependencies"]


def test_the_governance_pack_finds_every_role_bounded(assembly: Path) -> None:
    findings = b.findings_of(b.GovernanceChecks().check_assembly(assembly))
    assert b.flagged(findings, "IAM1") | b.undecided(findings, "IAM1") == set()


@pytest.mark.parametrize("name", ["", "has space", "x" * 129, "slash/name"])
def test_an_invalid_policy_name_is_refused(name: str) -> None:
    stack = cdk.Stack(cdk.App(), "S")
    policy = iam.ManagedPolicy(
        stack, "P", statements=[iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"])]
    )
    with pytest.raises(ValueError, match="not a valid IAM policy name"):
        GovernanceBoundary(policy, name=name)


def test_a_stack_of_another_account_is_refused() -> None:
    app = cdk.App()
    owner = cdk.Stack(app, "Owner", env=ENV)
    policy = iam.ManagedPolicy(
        owner, "P", statements=[iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"])]
    )
    other = cdk.Stack(app, "Other", env=cdk.Environment(account="222222222222", region="eu-west-1"))
    with pytest.raises(ValueError, match="own account"):
        GovernanceBoundary(policy, name=NAME).apply(other)

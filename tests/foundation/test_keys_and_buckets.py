"""KMS keys and governed buckets, asserted on a bare stack."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from cdk_constructs.encryption import DataDomain, GovernanceKey, GovernanceKeys
from cdk_constructs.roles import ManagedPolicyRole
from cdk_constructs.storage import AccessLogBucket, GovernedBucket
from tests.conftest import cdk_context

ENV = cdk.Environment(account="111122223333", region="eu-west-1")


@pytest.fixture(scope="module")
def template() -> Template:
    app = cdk.App(context=cdk_context())
    stack = cdk.Stack(app, "Bare", env=ENV)
    keys = GovernanceKeys(stack, "Keys", alias_prefix="acme-prod")
    logs = AccessLogBucket(stack, "AccessLogs")
    reader = ManagedPolicyRole(
        stack, "Reader", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")
    )
    artifacts = GovernedBucket(
        stack, "Artifacts", key=keys[DataDomain.ARTIFACTS], access_logs=logs.bucket
    )
    artifacts.grant_read(reader, "baselines/*")
    GovernedBucket(
        stack,
        "Audit",
        key=keys[DataDomain.AUDIT],
        access_logs=logs.bucket,
        object_lock_retention=s3.ObjectLockRetention.compliance(cdk.Duration.days(2555)),
    )
    return Template.from_stack(stack)


def _by_alias(template: Template, alias: str) -> dict[str, Any]:
    aliases = template.find_resources("AWS::KMS::Alias", {"Properties": {"AliasName": alias}})
    (alias_resource,) = aliases.values()
    key_id = alias_resource["Properties"]["TargetKeyId"]["Fn::GetAtt"][0]
    key: dict[str, Any] = template.to_json()["Resources"][key_id]
    return key


def test_one_rotating_retained_key_per_domain(template: Template) -> None:
    template.resource_count_is("AWS::KMS::Key", len(DataDomain))
    for domain in DataDomain:
        key = _by_alias(template, f"alias/acme-prod/{domain.value}")
        assert key["Properties"]["EnableKeyRotation"] is True
        assert key["DeletionPolicy"] == "Retain"
        assert key["Properties"]["PendingWindowInDays"] == 30


def test_account_root_administers_but_cannot_use_keys(template: Template) -> None:
    key = _by_alias(template, "alias/acme-prod/audit")
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    admin = next(s for s in statements if s.get("Sid") == "KeyAdministration")
    assert "kms:Decrypt" not in admin["Action"]
    assert not any(a in {"kms:*", "*"} for a in admin["Action"])
    assert len(statements) == 1, "nobody was granted the audit key, so nobody may use it"


def test_grant_names_the_principal_in_the_key_policy(template: Template) -> None:
    key = _by_alias(template, "alias/acme-prod/artifacts")
    users = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") != "KeyAdministration"
    ]
    assert len(users) == 1
    logical_id, attribute = users[0]["Principal"]["AWS"]["Fn::GetAtt"]
    assert logical_id.startswith("Reader")
    assert attribute == "Arn"
    assert set(users[0]["Action"]) == {"kms:Decrypt", "kms:DescribeKey"}


def test_grants_use_explicit_actions_and_a_prefix(template: Template) -> None:
    policies = template.find_resources("AWS::IAM::ManagedPolicy")
    (policy,) = [p for k, p in policies.items() if k.startswith("ReaderGrants")]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    actions = {
        a
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert "s3:GetObject" in actions
    assert not any("*" in a for a in actions)
    object_statement = next(s for s in statements if "s3:GetObject" in s["Action"])
    assert object_statement["Resource"]["Fn::Join"][1][-1] == "/baselines/*"


def test_governed_buckets_are_private_versioned_kms_encrypted_and_logged(
    template: Template,
) -> None:
    template.has_resource(
        "AWS::S3::Bucket",
        {
            "DeletionPolicy": "Retain",
            "Properties": Match.object_like(
                {
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {
                                "BucketKeyEnabled": True,
                                "ServerSideEncryptionByDefault": {
                                    "SSEAlgorithm": "aws:kms",
                                    "KMSMasterKeyID": Match.any_value(),
                                },
                            }
                        ]
                    },
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True,
                        "BlockPublicPolicy": True,
                        "IgnorePublicAcls": True,
                        "RestrictPublicBuckets": True,
                    },
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "LoggingConfiguration": {
                        "DestinationBucketName": Match.any_value(),
                        "LogFilePrefix": "Artifacts/",
                    },
                }
            ),
        },
    )


def test_buckets_deny_non_tls_and_old_tls(template: Template) -> None:
    policies = template.find_resources("AWS::S3::BucketPolicy")
    assert len(policies) == 3
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        conditions = [s.get("Condition", {}) for s in statements if s["Effect"] == "Deny"]
        assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
        assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions


def test_audit_bucket_has_compliance_object_lock(template: Template) -> None:
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "ObjectLockEnabled": True,
            "ObjectLockConfiguration": {
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 2555}},
            },
        },
    )


def test_access_log_bucket_uses_sse_s3_and_expires_logs(template: Template) -> None:
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "LifecycleConfiguration": {
                "Rules": Match.array_with([Match.object_like({"ExpirationInDays": 400})])
            },
        },
    )


def test_key_grant_to_service_is_scoped_to_the_account() -> None:
    app = cdk.App(context=cdk_context())
    stack = cdk.Stack(app, "Svc", env=ENV)
    key = GovernanceKey(stack, "Key", domain=DataDomain.LOGS, alias_prefix="acme")
    key.grant_to_service("logs.amazonaws.com")
    statements = Template.from_stack(stack).to_json()["Resources"]
    (resource,) = [r for r in statements.values() if r["Type"] == "AWS::KMS::Key"]
    service = [
        s for s in resource["Properties"]["KeyPolicy"]["Statement"] if "Service" in s["Principal"]
    ]
    assert service[0]["Condition"] == {"StringEquals": {"aws:SourceAccount": "111122223333"}}


def test_volume_encryption_grant_is_limited_to_aws_resources() -> None:
    app = cdk.App(context=cdk_context())
    stack = cdk.Stack(app, "Volumes", env=ENV)
    key = GovernanceKey(stack, "Key", domain=DataDomain.MONITORING, alias_prefix="acme")
    role = ManagedPolicyRole(
        stack, "Jobs", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")
    )
    key.grant_volume_encryption(role)
    resources = Template.from_stack(stack).to_json()["Resources"]
    (key_resource,) = [r for r in resources.values() if r["Type"] == "AWS::KMS::Key"]
    (create_grant,) = [
        s
        for s in key_resource["Properties"]["KeyPolicy"]["Statement"]
        if s["Action"] == "kms:CreateGrant"
    ]
    assert create_grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert "Jobs" in create_grant["Principal"]["AWS"]["Fn::GetAtt"][0]

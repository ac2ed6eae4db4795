"""Every construct grant returns one ``iam.Grant``, made through the construct's ``_grant``.

Asserted on a bare stack: what each grant returns (where its statements landed, so a caller can
order resources after it) and what lands in the template, including the statement ids that
aws-cdk-lib's ``Grant`` factories do not set and ``_grant`` adds.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam

from cdk_constructs.alerts import GovernanceAlerts
from cdk_constructs.encryption import DataDomain, GovernanceKeys
from cdk_constructs.identity import JobExecutionRoles
from cdk_constructs.roles import ManagedPolicyRole
from cdk_constructs.storage import AccessLogBucket, GovernedBucket
from tests.conftest import cdk_context

ENV = cdk.Environment(account="111122223333", region="eu-west-1")
CONSUMERS = ["444455556666", "777788889999", "444455556666"]
DEPLOYER = "arn:aws:iam::111122223333:role/deployer"
PACKAGE_ROOT = Path(__file__).resolve().parents[2] / "cdk_constructs"


class Built:
    def __init__(self) -> None:
        app = cdk.App(context=cdk_context())
        self.stack = cdk.Stack(app, "Grants", env=ENV)
        keys = GovernanceKeys(self.stack, "Keys", alias_prefix="acme")
        self.artifacts_key = keys[DataDomain.ARTIFACTS]
        self.role = ManagedPolicyRole(
            self.stack, "Reader", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")
        )
        logs = AccessLogBucket(self.stack, "AccessLogs")
        self.bucket = GovernedBucket(
            self.stack, "Artifacts", key=self.artifacts_key, access_logs=logs.bucket
        )
        self.alerts = GovernanceAlerts(
            self.stack, "Alerts", key=keys[DataDomain.ALERTS], emails=["a@example.com"]
        )
        self.jobs = JobExecutionRoles(self.stack, "Jobs")
        self.grants: dict[str, iam.Grant] = {
            "read": self.bucket.grant_read(self.role, "data/*"),
            "write": self.bucket.grant_write(self.role, "out/*"),
            "read_to_accounts": self.bucket.grant_read_to_accounts(CONSUMERS, "models/"),
            "publish": self.alerts.grant_publish(self.role),
            "volume": keys[DataDomain.MONITORING].grant_volume_encryption(self.role),
            "use_via": self.artifacts_key.grant_use_via(
                self.role, service="sagemaker", actions=["kms:Decrypt"]
            ),
            "deployer": self.artifacts_key.grant_deployer(
                DEPLOYER, resource_types=["AWS::SageMaker::ModelCard", "AWS::DynamoDB::Table"]
            ),
            "to_service": keys[DataDomain.LOGS].grant_to_service("logs.amazonaws.com"),
            "monitoring_inputs": self.jobs.grant_monitoring_inputs(
                asset_objects=["arn:aws:s3:::assets/*.json"]
            ),
            "batch_locations": self.jobs.grant_batch_locations(),
        }
        self.template: dict[str, Any] = cdk.assertions.Template.from_stack(self.stack).to_json()

    def resources(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.template["Resources"].values() if r["Type"] == kind]

    def key_statements(self, alias: str) -> list[dict[str, Any]]:
        (alias_resource,) = [
            r
            for r in self.resources("AWS::KMS::Alias")
            if r["Properties"]["AliasName"] == f"alias/acme/{alias}"
        ]
        key_id = alias_resource["Properties"]["TargetKeyId"]["Fn::GetAtt"][0]
        statements: list[dict[str, Any]] = self.template["Resources"][key_id]["Properties"][
            "KeyPolicy"
        ]["Statement"]
        return statements


@pytest.fixture(scope="module")
def built() -> Built:
    return Built()


def test_every_grant_returns_a_successful_grant(built: Built) -> None:
    for name, grant in built.grants.items():
        assert isinstance(grant, iam.Grant), name
        assert grant.success, f"{name} granted nothing"


def test_identity_grants_land_in_the_grantees_policy(built: Built) -> None:
    for name in ("read", "write", "publish", "monitoring_inputs", "batch_locations"):
        assert built.grants[name].principal_statements, name


def test_cross_account_reads_land_in_the_bucket_and_key_policies_named_once(
    built: Built,
) -> None:
    grant = built.grants["read_to_accounts"]
    # Given accounts listed with a repeat, when granted, then each is named once, sorted, in
    # a resource policy only (another account has no policy of this app's to write to).
    assert grant.resource_statements
    (statement,) = [
        s
        for policy in built.resources("AWS::S3::BucketPolicy")
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "ConsumerAccountsReadModels"
    ]
    assert statement["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    principals = json.dumps(statement["Principal"]["AWS"])
    assert principals.count("iam::444455556666:root") == 1
    assert principals.index("444455556666") < principals.index("777788889999")
    (decrypt,) = [
        s for s in built.key_statements("artifacts") if s.get("Sid") == "ConsumerAccountsViaS3"
    ]
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
    }
    assert len(decrypt["Principal"]["AWS"]) == 2


def test_the_deployer_is_granted_in_the_key_policy_per_service(built: Built) -> None:
    grant = built.grants["deployer"]
    assert not grant.principal_statements  # a role outside the app
    sids = {s.get("Sid") for s in built.key_statements("artifacts")}
    assert {"DeployerViaDynamodb", "DeployerViaSagemaker"} <= sids
    (sagemaker,) = [
        s for s in built.key_statements("artifacts") if s.get("Sid") == "DeployerViaSagemaker"
    ]
    assert sagemaker["Principal"] == {"AWS": DEPLOYER}
    assert "kms:ViaService" in sagemaker["Condition"]["StringEquals"]


def test_a_conditioned_key_grant_keeps_its_condition_on_both_sides(built: Built) -> None:
    grant = built.grants["use_via"]
    (on_key,) = grant.resource_statements
    (on_role,) = grant.principal_statements
    for statement in (on_key, on_role):
        rendered = built.stack.resolve(statement.to_statement_json())
        assert "kms:ViaService" in rendered["Condition"]["StringEquals"]


def test_job_role_grants_keep_their_statement_ids(built: Built) -> None:
    sids = {
        s.get("Sid")
        for policy in built.resources("AWS::IAM::ManagedPolicy")
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    }
    assert {
        "ReadAnalysisConfigAssets",
        "ReadTaggedMonitoringInputs",
        "ReadTaggedBatchInputs",
        "WriteTaggedBatchOutputs",
        "ReadTaggedBatchOutputs",
    } <= sids


def test_a_grant_orders_what_needs_it_after_its_policy(built: Built) -> None:
    # Given a resource that must not exist before the role may read (the package check's case)
    waiter = cdk.CfnResource(built.stack, "Waiter", type="AWS::SQS::Queue")
    # When the grant is applied before it
    built.grants["read"].apply_before(waiter)
    # Then it depends on the managed policy holding the grant
    assert built.role.grants_policy is not None
    assert built.role.grants_policy in waiter.node.dependencies


@pytest.mark.parametrize("accounts", [[], ()])
def test_a_cross_account_grant_without_accounts_is_refused(
    built: Built, accounts: list[str]
) -> None:
    with pytest.raises(ValueError, match=r"at least one account \(got none\); allowed: 12-digit"):
        built.artifacts_key.grant_decrypt_to_accounts(accounts, service="s3")


def _grant_methods() -> list[tuple[str, str, ast.FunctionDef, set[str]]]:
    found = []
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ClassDef):
                continue
            methods = {f.name for f in node.body if isinstance(f, ast.FunctionDef)}
            for function in node.body:
                if isinstance(function, ast.FunctionDef) and function.name.startswith("grant_"):
                    found.append((path.name, node.name, function, methods))
    return found


def test_every_construct_grant_returns_a_grant_through_its_private_grant() -> None:
    methods = _grant_methods()
    assert len(methods) >= 15
    for file, cls, function, siblings in methods:
        where = f"{file}: {cls}.{function.name}"
        assert function.returns is not None, where
        assert ast.unparse(function.returns) == "iam.Grant", where
        assert "_grant" in siblings, f"{where}: {cls} has no private _grant"
        calls = {ast.unparse(n.func) for n in ast.walk(function) if isinstance(n, ast.Call)}
        assert any(
            c == "self._grant" or c.startswith("self.grant_") or ".grant_" in c for c in calls
        ), f"{where} grants without _grant"
        assert not any(c.startswith("iam.Grant.") for c in calls), where


def test_services_publish_to_the_alert_topic_through_its_grant(built: Built) -> None:
    # Given the alert topic's policy
    (policy,) = built.resources("AWS::SNS::TopicPolicy")
    by_sid = {s.get("Sid"): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    # Then CloudWatch (the alarms) may publish, on this account's behalf only
    statement = by_sid["PublishFromCloudwatch"]
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert statement["Action"] == "sns:Publish"
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ENV.account}
    assert "aws:SourceArn" in statement["Condition"]["ArnLike"]
    # And the construct writes its topic policy only through _grant
    source = (PACKAGE_ROOT / "alerts.py").read_text()
    assert "add_to_resource_policy" not in source

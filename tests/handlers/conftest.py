"""Offline AWS for the approval gate and the audit ledger.

moto provides S3 (evidence and the Object-Lock audit bucket), DynamoDB (ledger and idempotency
tables), SNS (subscribed by an SQS queue we read), EventBridge (a rule on the default bus
targeting an SQS queue we read), SSM (policies) and the SageMaker registry (groups, packages with
metrics and baselines, approval updates, model cards).

Where moto falls short: it stamps every model package with one fake Studio user as both
``CreatedBy`` and ``LastModifiedBy`` and has no ``IamIdentity``. ``Aws.register`` therefore sets
the two identities on moto's stored package from the event fixture, after registering and
approving it through the real API. Everything the handlers call still goes through boto3.
And moto renders EventBridge rule targets with ``jsonpath_ng`` (its ``moto[events]`` extra, not
installed); without an InputTransformer EventBridge delivers the event unchanged, so
:func:`_deliver_unchanged` stands in for that renderer.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.events.utils import EventTemplateParser
from moto.sagemaker.models import sagemaker_backends

from governance import approval_gate, ledger

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account
EVENTS = Path(__file__).resolve().parents[1] / "events" / "registry"
DATA = Path(__file__).resolve().parent / "data"

POLICY_PREFIX = "/sagemaker-governance/models/"
ALERT_TOPIC = "governance-alerts"
ALERT_TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:{ALERT_TOPIC}"
IDEMPOTENCY_TABLE = "governance-idempotency"
LEDGER_TABLE = "governance-ledger"
AUDIT_BUCKET = f"governance-audit-{ACCOUNT}-{REGION}"
ARTIFACT_BUCKET = f"governance-artifacts-{ACCOUNT}-{REGION}"
GROUP = "credit-default"

CREDIT_DEFAULT_POLICY: dict[str, Any] = {
    "model_name": "credit-default",
    "model_package_group_name": "credit-default",
    "model_card_name": "credit-default",
    "risk_tier": "high",
    "required_evidence": [
        "model_quality_metrics",
        "bias_report",
        "explainability_report",
        "drift_check_baselines",
        "model_card_approved",
        "approval_description",
        "separate_approver",
    ],
    "on_failure": "Rejected",
    "bias_thresholds": {"DI": {"min": 0.8, "max": 1.25}, "DPPL": {"min": -0.1, "max": 0.1}},
    "bias_facet": {
        "label": "default",
        "label_value": 0,
        "facet": "gender",
        "facet_value": "female",
    },
}

# Bias report content per pipeline execution referenced by the event fixtures.
BIAS_REPORTS = {
    "pipelines-a1b2c3d4e5f6": "clarify_bias_within_thresholds.json",
    "pipelines-b7c8d9e0f1a2": "clarify_bias_over_threshold.json",
    "pipelines-d9e0f1a2b3c4": "clarify_bias_corrupt.txt",
    # pipelines-c3d4e5f6a7b8: the report object is deliberately never uploaded.
}


# One session and one set of clients for the whole run: a new session re-parses the (large)
# service models and building clients is slow. moto intercepts clients created after it is
# imported, whichever mock_aws context is active when they are called.
_SESSION = boto3.Session(region_name=REGION)
_CLIENTS: dict[str, Any] = {}


def _client(service: str) -> Any:
    if service not in _CLIENTS:
        _CLIENTS[service] = _SESSION.client(service)
    return _CLIENTS[service]


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of an event fixture from tests/events/registry."""
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return copy.deepcopy(event)


@dataclass
class FakeLambdaContext:
    function_name: str = "governance-handler"
    function_version: str = "$LATEST"
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:governance-handler"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "8f5e2b8c-0000-4000-8000-000000000001"
    log_group_name: str = "/aws/lambda/governance-handler"
    log_stream_name: str = "2026/11/12/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@dataclass
class Aws:
    """moto clients plus helpers to set the scene and read what the handlers emitted."""

    s3: Any
    sagemaker: Any
    sns: Any
    sqs: Any
    events: Any
    ssm: Any
    dynamodb: Any
    alerts_queue_url: str
    verdicts_queue_url: str

    def configure_handlers(self) -> None:
        """Build both handlers' runtimes from the current env, with this run's clients."""
        approval_gate.configure(
            clients=approval_gate.GateClients(self.sagemaker, self.s3, self.sns, self.events),
            ssm_client=self.ssm,
            dynamodb_client=self.dynamodb,
        )
        ledger.configure(dynamodb_client=self.dynamodb, s3_client=self.s3, ssm_client=self.ssm)

    def put_policy(self, group: str, policy: dict[str, Any] | str) -> None:
        value = policy if isinstance(policy, str) else json.dumps(policy)
        self.ssm.put_parameter(
            Name=f"{POLICY_PREFIX}{group}", Value=value, Type="String", Overwrite=True
        )

    def put_model_card(self, name: str, status: str) -> None:
        content = json.dumps(
            {
                "model_overview": {"model_description": "Credit default classifier"},
                "intended_uses": {"risk_rating": "High"},
            }
        )
        try:
            self.sagemaker.describe_model_card(ModelCardName=name)
        except self.sagemaker.exceptions.ResourceNotFound:
            self.sagemaker.create_model_card(
                ModelCardName=name, Content=content, ModelCardStatus=status
            )
        else:
            self.sagemaker.update_model_card(
                ModelCardName=name, Content=content, ModelCardStatus=status
            )

    def register(self, event: dict[str, Any]) -> str:
        """Put the package an event describes into the registry, in the event's state."""
        detail = event["detail"]
        group = detail["ModelPackageGroupName"]
        groups = self.sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]
        if group not in {g["ModelPackageGroupName"] for g in groups}:
            self.sagemaker.create_model_package_group(ModelPackageGroupName=group)
        arn: str = self.sagemaker.create_model_package(
            ModelPackageGroupName=group,
            ModelPackageDescription=detail["ModelPackageDescription"],
            InferenceSpecification=detail["InferenceSpecification"],
            MetadataProperties=detail["MetadataProperties"],
            ModelMetrics=detail["ModelMetrics"],
            DriftCheckBaselines=detail["DriftCheckBaselines"],
            ModelApprovalStatus="PendingManualApproval",
        )["ModelPackageArn"]
        assert arn == detail["ModelPackageArn"], "fixtures assume version 1 of a fresh group"
        if detail["ModelApprovalStatus"] != "PendingManualApproval":
            update: dict[str, Any] = {"ModelApprovalStatus": detail["ModelApprovalStatus"]}
            if "ApprovalDescription" in detail:
                update["ApprovalDescription"] = detail["ApprovalDescription"]
            self.sagemaker.update_model_package(ModelPackageArn=arn, **update)
        stored = sagemaker_backends[ACCOUNT][REGION].model_packages[arn]
        stored.created_by = detail.get("CreatedBy")
        stored.last_modified_by = detail.get("LastModifiedBy")
        return arn

    def package(self, arn: str) -> dict[str, Any]:
        package: dict[str, Any] = self.sagemaker.describe_model_package(ModelPackageName=arn)
        return package

    def _drain(self, queue_url: str) -> list[dict[str, Any]]:
        bodies = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return bodies
            for message in messages:
                bodies.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    def alerts(self) -> list[dict[str, Any]]:
        """SNS notifications as delivered to SQS: ``Subject`` and ``Message`` among others."""
        return self._drain(self.alerts_queue_url)

    def verdict_events(self) -> list[dict[str, Any]]:
        """Full EventBridge events from source ``sagemaker.governance``."""
        return self._drain(self.verdicts_queue_url)

    def ledger_items(self) -> list[dict[str, Any]]:
        from governance.ledger import read_chain

        return list(read_chain(self.dynamodb, LEDGER_TABLE, GROUP))


def _deliver_unchanged(
    input_template: str | None, input_paths_map: dict[str, Any], event: dict[str, Any]
) -> dict[str, Any]:
    if input_template or input_paths_map:
        raise NotImplementedError("InputTransformer targets need jsonpath_ng")
    return copy.deepcopy(dict(event))


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """A fresh moto account with every resource both handlers use, and their env set."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "governance")
    monkeypatch.setenv("POLICY_PARAMETER_PREFIX", POLICY_PREFIX)
    monkeypatch.setenv("ALERT_TOPIC_ARN", ALERT_TOPIC_ARN)
    monkeypatch.setenv("IDEMPOTENCY_TABLE_NAME", IDEMPOTENCY_TABLE)
    monkeypatch.setenv("LEDGER_TABLE_NAME", LEDGER_TABLE)
    monkeypatch.setenv("AUDIT_BUCKET_NAME", AUDIT_BUCKET)
    monkeypatch.delenv("EVENT_BUS_NAME", raising=False)
    monkeypatch.delenv("AUDIT_PREFIX", raising=False)
    monkeypatch.setattr(EventTemplateParser, "parse", staticmethod(_deliver_unchanged))

    with mock_aws():
        approval_gate.reset()
        ledger.reset()
        s3 = _client("s3")
        sqs = _client("sqs")
        sns = _client("sns")
        events = _client("events")
        dynamodb = _client("dynamodb")

        location = {"LocationConstraint": REGION}
        s3.create_bucket(Bucket=ARTIFACT_BUCKET, CreateBucketConfiguration=location)
        for execution, file_name in BIAS_REPORTS.items():
            s3.put_object(
                Bucket=ARTIFACT_BUCKET,
                Key=f"{GROUP}/{execution}/clarify-bias/analysis.json",
                Body=(DATA / file_name).read_bytes(),
                ContentType="application/json",
            )
        s3.create_bucket(
            Bucket=AUDIT_BUCKET, CreateBucketConfiguration=location, ObjectLockEnabledForBucket=True
        )
        s3.put_object_lock_configuration(
            Bucket=AUDIT_BUCKET,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 3650}},
            },
        )

        dynamodb.create_table(
            TableName=IDEMPOTENCY_TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.create_table(
            TableName=LEDGER_TABLE,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "seq", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "seq", "AttributeType": "N"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )

        sns.create_topic(Name=ALERT_TOPIC)
        alerts_queue_url = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
        alerts_queue_arn = sqs.get_queue_attributes(
            QueueUrl=alerts_queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=ALERT_TOPIC_ARN, Protocol="sqs", Endpoint=alerts_queue_arn)

        verdicts_queue_url = sqs.create_queue(QueueName="governance-events")["QueueUrl"]
        verdicts_queue_arn = sqs.get_queue_attributes(
            QueueUrl=verdicts_queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        events.put_rule(
            Name="capture-governance-events",
            EventPattern=json.dumps({"source": ["sagemaker.governance"]}),
        )
        events.put_targets(
            Rule="capture-governance-events", Targets=[{"Id": "inbox", "Arn": verdicts_queue_arn}]
        )

        env = Aws(
            s3=s3,
            sagemaker=_client("sagemaker"),
            sns=sns,
            sqs=sqs,
            events=events,
            ssm=_client("ssm"),
            dynamodb=dynamodb,
            alerts_queue_url=alerts_queue_url,
            verdicts_queue_url=verdicts_queue_url,
        )
        env.put_policy(GROUP, CREDIT_DEFAULT_POLICY)
        env.put_model_card("credit-default", "Approved")
        env.configure_handlers()
        yield env
        approval_gate.reset()
        ledger.reset()

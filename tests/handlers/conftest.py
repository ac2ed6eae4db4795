"""Fixtures for the approval gate and the audit ledger: event files, fakes, and offline AWS.

Most tests judge decisions against the in-memory fakes in :mod:`tests.handlers.fakes`. A few per
handler run end to end against moto: S3 (evidence and the Object-Lock audit bucket), DynamoDB
(ledger and idempotency tables), SNS (read through a subscribed SQS queue), EventBridge (a rule
on the bus targeting an SQS queue), SSM and the SageMaker registry and model cards.

Where moto falls short: it stamps model packages with one fake Studio user and model cards with
no user at all. ``Aws.register`` and ``Aws.put_model_card`` set the identities the test names on
moto's stored objects after creating them through the real API. And moto renders EventBridge
targets with ``jsonpath_ng`` (the ``moto[events]`` extra, not installed); without an
InputTransformer EventBridge delivers the event unchanged, which :func:`_deliver_unchanged` does.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws
from moto.events.utils import EventTemplateParser
from moto.sagemaker.models import FakeModelCard, sagemaker_backends

from governance.approval_gate import GateSettings
from governance.contracts.vocabulary import POLICY_PARAMETER_PREFIX
from governance.ledger import LedgerSettings
from governance.logic.approval import GateStores
from governance.logic.ledger import LedgerStores
from tests.conftest import boto3_session

from .fakes import (
    FakeArchive,
    FakeEvidence,
    FakeLedgerStore,
    FakeModelCards,
    FakeNotifier,
    FakeParameters,
    FakeRegistry,
)

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account
EVENTS = Path(__file__).resolve().parents[1] / "events" / "registry"
DATA = Path(__file__).resolve().parent / "data"

ALERT_TOPIC = "governance-alerts"
ALERT_TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:{ALERT_TOPIC}"
IDEMPOTENCY_TABLE = "governance-idempotency"
LEDGER_TABLE = "governance-ledger"
AUDIT_BUCKET = f"governance-audit-{ACCOUNT}-{REGION}"
ARTIFACT_BUCKET = f"governance-artifacts-{ACCOUNT}-{REGION}"
GROUP = "credit-default"
CARD_APPROVER = {
    "IamIdentity": {
        "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/"
        "AWSReservedSSO_ModelApprover_4f1c2d3e5a6b7c8d/maria.okafor@example.com"
    }
}

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


def bias_report_uri(execution: str) -> str:
    return f"s3://{ARTIFACT_BUCKET}/baselines/{GROUP}/{execution}/clarify-bias/analysis.json"


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of an event fixture from tests/events/registry."""
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


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


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


# --- Fakes ---------------------------------------------------------------------------------


def _evidence_documents() -> dict[str, object]:
    from governance.data_access.evidence import EvidenceUnreadableError

    documents: dict[str, object] = {}
    for execution, file_name in BIAS_REPORTS.items():
        uri = bias_report_uri(execution)
        text = (DATA / file_name).read_text()
        try:
            documents[uri] = json.loads(text)
        except json.JSONDecodeError as error:
            documents[uri] = EvidenceUnreadableError(
                f"{uri} is not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
            )
    return documents


@pytest.fixture
def gate() -> GateStores:
    """The gate's stores as fakes: the credit-default policy, a card approved by a reviewer."""
    cards = FakeModelCards()
    cards.add_version(GROUP, "Draft")
    cards.add_version(GROUP, "Approved", last_modified_by=CARD_APPROVER)
    return GateStores(
        parameters=FakeParameters(policies={GROUP: copy.deepcopy(CREDIT_DEFAULT_POLICY)}),
        registry=FakeRegistry(),
        cards=cards,
        evidence=FakeEvidence(_evidence_documents()),
        notifier=FakeNotifier(),
        governed_bucket=ARTIFACT_BUCKET,
    )


@pytest.fixture
def ledger_stores() -> LedgerStores:
    return LedgerStores(
        parameters=FakeParameters(policies={GROUP: copy.deepcopy(CREDIT_DEFAULT_POLICY)}),
        registry=FakeRegistry(),
        store=FakeLedgerStore(),
        archive=FakeArchive(),
    )


# --- moto ----------------------------------------------------------------------------------

# One session and client set for the whole run, on the process's shared botocore loader
# (tests/conftest.py): a new session re-parses the (large) service models. moto intercepts
# clients created after it is imported, whichever mock is active.
_SESSION = boto3_session(REGION)
_CLIENTS: dict[str, Any] = {}


def moto_client(service: str) -> Any:
    if service not in _CLIENTS:
        _CLIENTS[service] = _SESSION.client(service)
    return _CLIENTS[service]


GATE_SETTINGS = GateSettings(
    POLICY_PARAMETER_PREFIX=POLICY_PARAMETER_PREFIX,
    ALERT_TOPIC_ARN=ALERT_TOPIC_ARN,
    IDEMPOTENCY_TABLE_NAME=IDEMPOTENCY_TABLE,
    ARTIFACTS_BUCKET_NAME=ARTIFACT_BUCKET,
)
LEDGER_SETTINGS = LedgerSettings(
    LEDGER_TABLE_NAME=LEDGER_TABLE,
    AUDIT_BUCKET_NAME=AUDIT_BUCKET,
    POLICY_PARAMETER_PREFIX=POLICY_PARAMETER_PREFIX,
    IDEMPOTENCY_TABLE_NAME=IDEMPOTENCY_TABLE,
)


@dataclass
class Aws:
    """moto clients plus helpers to set the scene and read what the handlers emitted."""

    s3: Any
    sagemaker: Any
    sqs: Any
    events: Any
    ssm: Any
    dynamodb: Any
    alerts_queue_url: str
    verdicts_queue_url: str

    def put_policy(self, group: str, policy: dict[str, Any] | str) -> None:
        value = policy if isinstance(policy, str) else json.dumps(policy)
        self.ssm.put_parameter(
            Name=f"{POLICY_PARAMETER_PREFIX}{group}", Value=value, Type="String", Overwrite=True
        )

    def put_model_card(self, name: str, status: str, by: dict[str, Any] | None = None) -> None:
        content = json.dumps({"model_overview": {"model_description": "Credit default"}})
        try:
            self.sagemaker.describe_model_card(ModelCardName=name)
        except self.sagemaker.exceptions.ResourceNotFound:
            self.sagemaker.create_model_card(
                ModelCardName=name, Content=content, ModelCardStatus=status
            )
        else:
            self.sagemaker.update_model_card(ModelCardName=name, ModelCardStatus=status)
        latest = sagemaker_backends[ACCOUNT][REGION].model_cards[name][-1]
        latest.test_last_modified_by = by

    def register(self, event: dict[str, Any], *, identities: bool = True) -> str:
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
        if identities:
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

    def ledger_items(self, group: str = GROUP) -> list[dict[str, Any]]:
        from governance.data_access.ledger_store import DynamoDbLedgerStore

        return list(DynamoDbLedgerStore(self.dynamodb, LEDGER_TABLE).chain(group))


def _deliver_unchanged(
    input_template: str | None, input_paths_map: dict[str, Any], event: dict[str, Any]
) -> dict[str, Any]:
    if input_template or input_paths_map:
        raise NotImplementedError("InputTransformer targets need jsonpath_ng")
    return copy.deepcopy(dict(event))


def _describe_with_user(self: FakeModelCard) -> dict[str, Any]:
    described = _MOTO_DESCRIBE(self)
    described["LastModifiedBy"] = getattr(self, "test_last_modified_by", None) or {}
    return described


_MOTO_DESCRIBE = FakeModelCard.describe


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """A fresh moto account with every resource both handlers use."""
    monkeypatch.setattr(EventTemplateParser, "parse", staticmethod(_deliver_unchanged))
    monkeypatch.setattr(FakeModelCard, "describe", _describe_with_user)

    with mock_aws():
        s3 = moto_client("s3")
        sqs = moto_client("sqs")
        sns = moto_client("sns")
        events = moto_client("events")
        dynamodb = moto_client("dynamodb")

        location = {"LocationConstraint": REGION}
        s3.create_bucket(Bucket=ARTIFACT_BUCKET, CreateBucketConfiguration=location)
        for execution, file_name in BIAS_REPORTS.items():
            bucket, key = bias_report_uri(execution).removeprefix("s3://").split("/", 1)
            s3.put_object(Bucket=bucket, Key=key, Body=(DATA / file_name).read_bytes())
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
            sagemaker=moto_client("sagemaker"),
            sqs=sqs,
            events=events,
            ssm=moto_client("ssm"),
            dynamodb=dynamodb,
            alerts_queue_url=alerts_queue_url,
            verdicts_queue_url=verdicts_queue_url,
        )
        env.put_policy(GROUP, CREDIT_DEFAULT_POLICY)
        env.put_model_card(GROUP, "Draft")
        env.put_model_card(GROUP, "Approved", by=CARD_APPROVER)
        yield env

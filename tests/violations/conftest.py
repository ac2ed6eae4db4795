"""Fixtures for the monitoring-violation handler: event files, fakes, and offline AWS.

Decision tests use the fakes of :mod:`tests.handlers.fakes`. The end-to-end tests use moto for
S3, SNS (read through a subscribed SQS queue), EventBridge (a rule to an SQS queue), SSM,
DynamoDB (idempotency) and SageMaker pipelines. moto has no monitoring schedules, and its
processing jobs carry no ``MonitoringScheduleArn`` or ``ExitMessage``, so ``SageMakerDouble``
answers those two describe calls from JSON fixtures and forwards ``StartPipelineExecution`` to
moto, which checks the request against the API model and records the execution.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.events.utils import EventTemplateParser

from governance.logic.monitoring import ViolationStores
from governance.violations import ViolationSettings
from tests.conftest import boto3_session
from tests.handlers.fakes import (
    FakeEvidence,
    FakeMonitoringRuns,
    FakeNotifier,
    FakeParameters,
    FakePipelines,
)

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account
FIXTURES = Path(__file__).resolve().parents[1] / "events" / "monitoring"
PARAMETER_PREFIX = "/sagemaker-governance/endpoints/"
REPORT_BUCKET = "sagemaker-governance-monitoring-111122223333-eu-west-1"
RETRAINING_PIPELINE = "credit-default-retrain"
IDEMPOTENCY_TABLE = "governance-idempotency"

# One session for every test, on the process's shared botocore loader (tests/conftest.py): a
# fresh default session re-reads the (large) service models. Created after moto is imported,
# so its clients are mocked.
SESSION = boto3_session(REGION)

ENDPOINTS: dict[str, dict[str, Any]] = {
    "credit-default-prod": {
        "model_name": "credit-default",
        "model_package_group_name": "credit-default",
        "endpoint_name": "credit-default-prod",
        "monitors": {
            "data_quality": "credit-default-prod-data-quality",
            "model_quality": "credit-default-prod-model-quality",
            "bias": "credit-default-prod-model-bias",
            "explainability": "credit-default-prod-explainability",
        },
        "retraining_pipeline_name": RETRAINING_PIPELINE,
    },
    "churn-prod": {
        "model_name": "churn",
        "model_package_group_name": "churn",
        "endpoint_name": "churn-prod",
        "monitors": {
            "data_quality": "churn-prod-data-quality",
            "model_quality": "churn-prod-model-quality",
        },
        "retraining_pipeline_name": None,
    },
}


def load_fixture(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return document


def report_uri_of(event: dict[str, Any]) -> str:
    output = event["detail"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    return f"{output}/constraint_violations.json"


@dataclass
class FakeLambdaContext:
    function_name: str = "governance-monitoring-violations"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:governance-monitoring-violations"
    )
    aws_request_id: str = "52fdfc07-2182-454f-963f-5f0f9a621d72"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def context() -> LambdaContext:
    return cast(LambdaContext, FakeLambdaContext())


# --- Fakes ---------------------------------------------------------------------------------


@dataclass
class Monitoring:
    """The violations handler's stores as fakes, and helpers to arrange them."""

    stores: ViolationStores
    runs: FakeMonitoringRuns
    parameters: FakeParameters
    evidence: FakeEvidence
    pipelines: FakePipelines
    notifier: FakeNotifier

    def put_report(self, fixture: str, event: dict[str, Any]) -> str:
        """Make the event's report readable with the content of a report fixture."""
        uri = report_uri_of(event)
        self.evidence.documents[uri] = load_fixture(fixture)
        return uri

    def put_report_at(self, fixture: str, output_uri: str) -> str:
        uri = f"{output_uri}/constraint_violations.json"
        self.evidence.documents[uri] = load_fixture(fixture)
        return uri


@pytest.fixture
def monitoring() -> Monitoring:
    runs = FakeMonitoringRuns()
    for name in ("describe-processing-job-bias.json", "describe-processing-job-failed.json"):
        job = load_fixture(name)
        runs.jobs[job["ProcessingJobName"]] = job
    schedule = load_fixture("describe-monitoring-schedule-bias.json")
    runs.schedules[schedule["MonitoringScheduleName"]] = schedule
    parameters = FakeParameters(endpoints=copy.deepcopy(ENDPOINTS))  # type: ignore[arg-type]
    evidence, pipelines, notifier = FakeEvidence(), FakePipelines(), FakeNotifier()
    return Monitoring(
        stores=ViolationStores(
            runs=runs,
            parameters=parameters,
            evidence=evidence,
            pipelines=pipelines,
            notifier=notifier,
        ),
        runs=runs,
        parameters=parameters,
        evidence=evidence,
        pipelines=pipelines,
        notifier=notifier,
    )


# --- moto ----------------------------------------------------------------------------------


@dataclass
class SageMakerDouble:
    """Describe calls from fixtures; pipeline starts recorded and forwarded to moto."""

    moto_client: Any
    processing_jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    pipeline_steps: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """``ListPipelineExecutionSteps`` answers by execution ARN, one page of at most two steps
    per response (moto has no pipeline steps), so the handler's pagination is exercised."""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def describe_processing_job(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("DescribeProcessingJob", kwargs))
        try:
            return self.processing_jobs[kwargs["ProcessingJobName"]]
        except KeyError:
            raise _validation_error("DescribeProcessingJob", "Could not find job") from None

    def describe_monitoring_schedule(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("DescribeMonitoringSchedule", kwargs))
        try:
            return self.schedules[kwargs["MonitoringScheduleName"]]
        except KeyError:
            raise _validation_error("DescribeMonitoringSchedule", "Not found") from None

    def get_paginator(self, operation: str) -> Any:
        if operation != "list_pipeline_execution_steps":
            raise NotImplementedError(operation)
        double = self

        class Paginator:
            def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
                double.calls.append(("ListPipelineExecutionSteps", kwargs))
                steps = double.pipeline_steps[kwargs["PipelineExecutionArn"]]
                for start in range(0, max(len(steps), 1), 2):
                    yield {"PipelineExecutionSteps": steps[start : start + 2]}

        return Paginator()

    def start_pipeline_execution(self, **kwargs: Any) -> Any:
        self.calls.append(("StartPipelineExecution", kwargs))
        return self.moto_client.start_pipeline_execution(**kwargs)

    def calls_to(self, operation: str) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.calls if name == operation]


def _validation_error(operation: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": "ValidationException", "Message": message}}, operation)


@dataclass
class Aws:
    """Handles on the mocked account, and helpers to read what the handler produced."""

    settings: ViolationSettings
    clients: dict[str, Any]
    sagemaker: SageMakerDouble
    moto_sagemaker: Any
    s3: Any
    ssm: Any
    sqs: Any
    dynamodb: Any
    alert_queue_url: str
    ledger_queue_url: str

    def client(self, service: str) -> Any:
        return self.clients[service]

    def put_report(self, fixture: str, event: dict[str, Any]) -> str:
        """Upload a report fixture where the event's execution wrote its output."""
        uri = report_uri_of(event)
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        self.s3.put_object(Bucket=bucket, Key=key, Body=(FIXTURES / fixture).read_bytes())
        return uri

    def alerts(self) -> list[dict[str, Any]]:
        """SNS notifications as delivered to the subscribed queue (envelope with Subject)."""
        return [json.loads(body) for body in self._drain(self.alert_queue_url)]

    def ledger_events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for body in self._drain(self.ledger_queue_url)]

    def pipeline_executions(self) -> list[dict[str, Any]]:
        summaries: list[dict[str, Any]] = self.moto_sagemaker.list_pipeline_executions(
            PipelineName=RETRAINING_PIPELINE
        )["PipelineExecutionSummaries"]
        return summaries

    def _drain(self, queue_url: str) -> list[str]:
        bodies: list[str] = []
        while True:
            response = self.sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            messages = response.get("Messages", [])
            if not messages:
                return bodies
            for message in messages:
                bodies.append(message["Body"])
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def _default_input_template(
    input_template: str | None, input_paths_map: dict[str, Any], event: dict[str, Any]
) -> dict[str, Any]:
    # moto renders every rule target through jsonpath_ng (its optional ``moto[events]`` extra,
    # not installed here), even without an InputTransformer. Without one, EventBridge delivers
    # the event unchanged, which is all these tests need.
    if input_template or input_paths_map:
        raise NotImplementedError("InputTransformer targets need jsonpath_ng")
    keys = ("version", "id", "detail-type", "source", "account", "time", "region", "resources")
    return {**{key: event[key] for key in keys}, "detail": event["detail"]}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    monkeypatch.setattr(EventTemplateParser, "parse", staticmethod(_default_input_template))
    with mock_aws():
        s3 = SESSION.client("s3")
        s3.create_bucket(
            Bucket=REPORT_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )

        sqs = SESSION.client("sqs")
        alert_queue_url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
        ledger_queue_url = sqs.create_queue(QueueName="ledger")["QueueUrl"]

        def queue_arn(url: str) -> str:
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            arn: str = attributes["Attributes"]["QueueArn"]
            return arn

        sns = SESSION.client("sns")
        topic_arn = sns.create_topic(Name="governance-alerts")["TopicArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn(alert_queue_url))

        events = SESSION.client("events")
        events.put_rule(
            Name="ledger-monitoring-violations",
            EventPattern=json.dumps(
                {"source": ["sagemaker.governance"], "detail-type": ["Model Monitoring Violation"]}
            ),
        )
        events.put_targets(
            Rule="ledger-monitoring-violations",
            Targets=[{"Id": "ledger-queue", "Arn": queue_arn(ledger_queue_url)}],
        )

        ssm = SESSION.client("ssm")
        for endpoint, document in ENDPOINTS.items():
            ssm.put_parameter(
                Name=f"{PARAMETER_PREFIX}{endpoint}", Type="String", Value=json.dumps(document)
            )

        dynamodb = SESSION.client("dynamodb")
        dynamodb.create_table(
            TableName=IDEMPOTENCY_TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )

        moto_sagemaker = SESSION.client("sagemaker")
        moto_sagemaker.create_pipeline(
            PipelineName=RETRAINING_PIPELINE,
            PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}),
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/retraining-pipeline",
        )
        sagemaker = SageMakerDouble(moto_client=moto_sagemaker)
        settings = ViolationSettings(
            ENDPOINT_PARAMETER_PREFIX=PARAMETER_PREFIX,
            ALERT_TOPIC_ARN=topic_arn,
            IDEMPOTENCY_TABLE_NAME=IDEMPOTENCY_TABLE,
        )
        clients = {
            "sagemaker": sagemaker,
            "s3": s3,
            "ssm": ssm,
            "sns": sns,
            "events": events,
            "dynamodb": dynamodb,
        }
        yield Aws(
            settings=settings,
            clients=clients,
            sagemaker=sagemaker,
            moto_sagemaker=moto_sagemaker,
            s3=s3,
            ssm=ssm,
            sqs=sqs,
            dynamodb=dynamodb,
            alert_queue_url=alert_queue_url,
            ledger_queue_url=ledger_queue_url,
        )

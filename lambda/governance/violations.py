"""Monitoring-violation handler: turn a finished Model Monitor execution into an alert and a record.

Handler: ``governance.violations.handler``.

Trigger (wired by the CDK monitoring stack): an EventBridge rule on the default bus matching
``{"source": ["aws.sagemaker"], "detail-type": ["SageMaker Processing Job State Change"],
"detail": {"ProcessingJobStatus": ["Completed", "Failed"]}}``, with retries and a DLQ.
Every Model Monitor execution is a processing job, so this is the only SageMaker event that
carries the result (see ``governance.monitoring_events`` for the fields relied on).

Environment:

``ENDPOINT_PARAMETER_PREFIX``  SSM prefix ending in ``/``, e.g. ``/sagemaker-governance/endpoints/``
``ALERT_TOPIC_ARN``            SNS topic that receives the readable summary
``EVENT_BUS_NAME``             bus for the ledger event (default ``default``)
``IDEMPOTENCY_TABLE_NAME``     Powertools idempotency table (partition key ``id``, TTL attribute
                               ``expiration``)
``POWERTOOLS_SERVICE_NAME``    logger service name

Per-endpoint SSM String parameter ``<ENDPOINT_PARAMETER_PREFIX><endpoint-name>``::

    {"model_name": "credit-default", "model_package_group_name": "credit-default",
     "endpoint_name": "credit-default-prod",
     "monitors": {"data_quality": "<schedule>", "model_quality": "<schedule>",
                  "bias": "<schedule>", "explainability": "<schedule>"},   # enabled ones only
     "retraining_pipeline_name": "credit-default-retrain"}                 # or null

What happens, per finished processing job:

* not a monitoring execution, still running, stopped, or ``Completed`` without violations:
  skipped, no side effects.
* ``Completed`` with ``ExitMessage`` ``CompletedWithViolations: ...``: read
  ``<execution S3 output>/constraint_violations.json``; if a retraining pipeline is configured,
  start it (``ClientRequestToken`` derived from the job, parameters ``TriggerSource``,
  ``TriggerMonitorType``, ``TriggerProcessingJobArn``, ``TriggerReportUri``, which the pipeline
  must declare); put a ledger event; publish an SNS summary.
* ``Failed``: monitoring itself failed, leaving a gap. Ledger event (empty ``violations``, a
  ``failureReason``, ``reportUri`` null) and an SNS alert.
* ``Completed`` with no ``ExitMessage`` even after ``DescribeProcessingJob``: treated as clean
  and logged as a warning (the Model Monitor containers always write one).

Ledger event: source ``sagemaker.governance``, detail-type ``Model Monitoring Violation``, detail
``{recordId, outcome, modelPackageGroupName, modelName, endpointName, monitorType,
monitoringScheduleName, processingJobArn, reportUri, violations: [{feature, checkType,
description, [metricName, facet, facetValue, label]}], violationCount, violationsTruncated,
retrainingPipelineExecutionArn, sourceEventId}`` plus ``failureReason`` or ``reportError``.
``outcome`` is ``violations``, ``monitoring_failed`` or ``report_unreadable``. ``recordId`` is
the same for every delivery of one job outcome, so the ledger can drop repeats.

Error rule (nothing is lost silently):

* The report cannot be used (missing object, access denied, not JSON, wrong shape, or it lists
  no violations although the job says it found some): the outcome is *recorded* as
  ``report_unreadable`` (SNS alert + ledger event with ``reportError``), and the handler
  returns normally: retrying would not make the report readable. No retraining is started.
* The event is malformed, the endpoint has no (or an invalid) governance parameter, the
  monitor type cannot be determined, or an AWS call fails transiently: the handler raises
  with a message naming the field / endpoint, so the event is retried and then lands in the
  DLQ. The idempotency record is released on failure, so a retry runs again.

Idempotency: Powertools idempotency keyed on processing-job ARN + status, not on the event
``id``: SageMaker may emit several events for one state change, each with its own ``id``, and
a redelivery repeats the ``id`` anyway, so the job + status key covers both. The same key is
hashed into the pipeline's ``ClientRequestToken`` so a replay after the idempotency record
expires still cannot start a second execution.

IAM (least privilege): ``ssm:GetParameter`` on ``parameter<prefix>*``;
``sagemaker:DescribeProcessingJob`` on ``processing-job/*``;
``sagemaker:DescribeMonitoringSchedule`` on ``monitoring-schedule/*``;
``sagemaker:StartPipelineExecution`` on the configured retraining pipelines;
``s3:GetObject`` on the monitoring output prefix (+ ``kms:Decrypt`` on its key);
``sns:Publish`` on the alert topic (+ ``kms:GenerateDataKey``/``kms:Decrypt`` if encrypted);
``events:PutEvents`` on the bus; ``dynamodb:GetItem``, ``PutItem``, ``UpdateItem``,
``DeleteItem`` on the idempotency table.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import quote

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from botocore.exceptions import ClientError

from governance.constraint_reports import (
    MAX_REPORT_BYTES,
    REPORT_FILE_NAME,
    ReportError,
    Violation,
    parse_constraint_violations,
)
from governance.monitoring_events import (
    EndpointGovernance,
    MalformedEventError,
    MonitorType,
    Outcome,
    ProcessingJobStateChange,
    parse_endpoint_governance,
    parse_processing_job_event,
)

logger = Logger()

LEDGER_SOURCE = "sagemaker.governance"
LEDGER_DETAIL_TYPE = "Model Monitoring Violation"
TRIGGER_SOURCE = "sagemaker.governance/monitoring-violation"

IDEMPOTENCY_KEY_JMESPATH = (
    "join('#', [detail.ProcessingJobArn || resources[0], detail.ProcessingJobStatus])"
)
# EventBridge retries for up to 24 h and a DLQ redrive can come days later; a week covers both.
IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 60 * 60

# Bounds that keep one message under the SNS / EventBridge 256 KB limits however many features
# a data-quality report flags.
MAX_ALERT_VIOLATIONS = 50
MAX_LEDGER_VIOLATIONS = 200
MAX_DESCRIPTION_CHARS = 500
SNS_SUBJECT_MAX = 100

# S3 errors that mean "this report cannot be read" rather than "try again later".
UNREADABLE_REPORT_CODES = frozenset(
    {"NoSuchKey", "NoSuchBucket", "AccessDenied", "InvalidObjectState", "403", "404"}
)

# Standard-mode retries absorb throttling inside one invocation, so a throttle does not turn
# into a whole-event retry that repeats the side effects already done.
_CLIENT_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"})

REQUIRED_ENV = ("ENDPOINT_PARAMETER_PREFIX", "ALERT_TOPIC_ARN", "IDEMPOTENCY_TABLE_NAME")


class ConfigurationError(RuntimeError):
    """The function's environment is wrong; a deployment problem, not an event problem."""


class UnknownEndpointError(LookupError):
    """A monitoring execution for an endpoint that has no governance parameter."""


class LedgerPublishError(RuntimeError):
    """EventBridge accepted the call but rejected the ledger entry."""


# Protocols for the few calls made; boto3 clients satisfy them, and so do test doubles.
class SageMakerApi(Protocol):
    def describe_processing_job(self, **kwargs: Any) -> Any: ...
    def describe_monitoring_schedule(self, **kwargs: Any) -> Any: ...
    def start_pipeline_execution(self, **kwargs: Any) -> Any: ...


class S3Api(Protocol):
    def get_object(self, **kwargs: Any) -> Any: ...


class SsmApi(Protocol):
    def get_parameter(self, **kwargs: Any) -> Any: ...


class SnsApi(Protocol):
    def publish(self, **kwargs: Any) -> Any: ...


class EventsApi(Protocol):
    def put_events(self, **kwargs: Any) -> Any: ...


@dataclass(frozen=True, slots=True)
class Settings:
    """Validated environment, read once per container."""

    endpoint_parameter_prefix: str
    alert_topic_arn: str
    idempotency_table_name: str
    event_bus_name: str = "default"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        missing = [name for name in REQUIRED_ENV if not env.get(name, "").strip()]
        if missing:
            raise ConfigurationError(
                f"missing environment variable(s) {', '.join(missing)}; "
                f"required: {', '.join(REQUIRED_ENV)}"
            )
        prefix = env["ENDPOINT_PARAMETER_PREFIX"]
        if not (prefix.startswith("/") and prefix.endswith("/")):
            raise ConfigurationError(
                f"ENDPOINT_PARAMETER_PREFIX must start and end with '/', got {prefix!r}"
            )
        topic = env["ALERT_TOPIC_ARN"]
        if not (topic.startswith("arn:") and ":sns:" in topic):
            raise ConfigurationError(f"ALERT_TOPIC_ARN must be an SNS topic ARN, got {topic!r}")
        return cls(
            endpoint_parameter_prefix=prefix,
            alert_topic_arn=topic,
            idempotency_table_name=env["IDEMPOTENCY_TABLE_NAME"],
            event_bus_name=env.get("EVENT_BUS_NAME", "").strip() or "default",
        )


@dataclass(frozen=True, slots=True)
class Clients:
    sagemaker: SageMakerApi
    s3: S3Api
    ssm: SsmApi
    sns: SnsApi
    events: EventsApi
    dynamodb: Any

    @classmethod
    def from_boto3(cls) -> Clients:
        def client(name: str) -> Any:
            return boto3.client(name, config=_CLIENT_CONFIG)

        return cls(
            sagemaker=client("sagemaker"),
            s3=client("s3"),
            ssm=client("ssm"),
            sns=client("sns"),
            events=client("events"),
            dynamodb=client("dynamodb"),
        )


class RecordKind(StrEnum):
    VIOLATIONS = "violations"
    MONITORING_FAILED = "monitoring_failed"
    REPORT_UNREADABLE = "report_unreadable"


@dataclass(frozen=True, slots=True)
class MonitoringExecution:
    """A finished monitoring execution, tied to its endpoint's governance config."""

    change: ProcessingJobStateChange
    governance: EndpointGovernance
    monitor_type: MonitorType
    schedule_name: str

    @property
    def report_uri(self) -> str | None:
        if self.change.output_s3_uri is None:
            return None
        return f"{self.change.output_s3_uri.rstrip('/')}/{REPORT_FILE_NAME}"

    @property
    def record_id(self) -> str:
        return record_id(self.change.job_arn, self.change.status)


@dataclass(frozen=True, slots=True)
class Finding:
    kind: RecordKind
    violations: tuple[Violation, ...] = ()
    failure_reason: str | None = None
    report_error: str | None = None


@dataclass(frozen=True, slots=True)
class HandlerResult:
    status: str
    reason: str
    processing_job_arn: str
    endpoint_name: str | None = None
    monitor_type: str | None = None
    violation_count: int = 0
    pipeline_execution_arn: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Alert:
    subject: str
    message: str
    attributes: Mapping[str, str]


# --- pure functions -------------------------------------------------------------------------


def is_clean_completion(change: ProcessingJobStateChange) -> bool:
    """Known from the event alone to need nothing: completed, and the exit message says clean."""
    return change.outcome is Outcome.NO_VIOLATIONS and change.exit_message is not None


def record_id(job_arn: str, status: str) -> str:
    """Stable identity of one job outcome; also the pipeline's ClientRequestToken (32-128)."""
    return hashlib.sha256(f"{job_arn}#{status}".encode()).hexdigest()


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ReportError(f"report location {uri!r} is not an s3://bucket/key URI")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


def console_domain(arn: str) -> str:
    partition = arn.split(":")[1] if arn.count(":") >= 5 else "aws"
    return {
        "aws-cn": "console.amazonaws.cn",
        "aws-us-gov": "console.amazonaws-us-gov.com",
    }.get(partition, "console.aws.amazon.com")


def report_console_url(uri: str, *, region: str, job_arn: str) -> str:
    bucket, key = split_s3_uri(uri)
    domain = console_domain(job_arn)
    return f"https://s3.{domain}/s3/object/{bucket}?region={region}&prefix={quote(key)}"


def processing_job_console_url(job_name: str, *, region: str, job_arn: str) -> str:
    domain = console_domain(job_arn)
    return (
        f"https://{region}.{domain}/sagemaker/home?region={region}"
        f"#/processing-jobs/{quote(job_name)}"
    )


def assess_report(execution: MonitoringExecution, payload: bytes) -> Finding:
    """Decide what a report's bytes mean for a job that said it found violations."""
    try:
        violations = parse_constraint_violations(payload)
    except ReportError as error:
        return Finding(RecordKind.REPORT_UNREADABLE, report_error=str(error))
    if not violations:
        return Finding(
            RecordKind.REPORT_UNREADABLE,
            report_error=(
                f"the job's exit message is {execution.change.exit_message!r} but "
                f"{REPORT_FILE_NAME} lists no violations"
            ),
        )
    return Finding(RecordKind.VIOLATIONS, violations=violations)


def ledger_detail(
    execution: MonitoringExecution, finding: Finding, pipeline_execution_arn: str | None
) -> dict[str, Any]:
    governance = execution.governance
    detail: dict[str, Any] = {
        "recordId": execution.record_id,
        "outcome": finding.kind.value,
        "modelPackageGroupName": governance.model_package_group_name,
        "modelName": governance.model_name,
        "endpointName": governance.endpoint_name,
        "monitorType": execution.monitor_type.value,
        "monitoringScheduleName": execution.schedule_name,
        "processingJobArn": execution.change.job_arn,
        "reportUri": _report_uri(execution, finding),
        "violations": [
            _bounded(violation).as_event_detail()
            for violation in finding.violations[:MAX_LEDGER_VIOLATIONS]
        ],
        "violationCount": len(finding.violations),
        "violationsTruncated": len(finding.violations) > MAX_LEDGER_VIOLATIONS,
        "retrainingPipelineExecutionArn": pipeline_execution_arn,
        "sourceEventId": execution.change.event_id,
    }
    if finding.kind is RecordKind.MONITORING_FAILED:
        detail["failureReason"] = finding.failure_reason
    if finding.kind is RecordKind.REPORT_UNREADABLE:
        detail["reportError"] = finding.report_error
    return detail


def build_alert(
    execution: MonitoringExecution, finding: Finding, pipeline_execution_arn: str | None
) -> Alert:
    """A summary a person can act on from their inbox, without opening the console first."""
    change = execution.change
    governance = execution.governance
    monitor = execution.monitor_type.label
    endpoint = governance.endpoint_name
    count = len(finding.violations)
    if finding.kind is RecordKind.VIOLATIONS:
        subject = f"Model Monitor: {count} {monitor} violation(s) on {endpoint}"
        headline = f"Model Monitor found {count} {monitor} violation(s) on endpoint {endpoint}."
    elif finding.kind is RecordKind.MONITORING_FAILED:
        subject = f"Model Monitor FAILED: {monitor} on {endpoint}"
        headline = (
            f"The {monitor} monitoring execution for endpoint {endpoint} FAILED. "
            "There are no monitoring results for this period: the model is unmonitored "
            "until the cause is fixed."
        )
    else:
        subject = f"Model Monitor report unreadable: {monitor} on {endpoint}"
        headline = (
            f"The {monitor} monitoring execution for endpoint {endpoint} reported violations, "
            "but its report could not be read, so they are unknown."
        )
    lines = [
        headline,
        "",
        f"Model:                {governance.model_name}",
        f"Model package group:  {governance.model_package_group_name}",
        f"Endpoint:             {endpoint}",
        f"Monitor:              {monitor} (schedule {execution.schedule_name})",
        f"Processing job:       {change.job_arn}",
        "Job console:          "
        + processing_job_console_url(change.job_name, region=change.region, job_arn=change.job_arn),
    ]
    if (report_uri := _report_uri(execution, finding)) is not None:
        lines.append(f"Report:               {report_uri}")
        lines.append(
            "Report console:       "
            + report_console_url(report_uri, region=change.region, job_arn=change.job_arn)
        )
    if finding.kind is RecordKind.MONITORING_FAILED:
        lines += ["", f"Failure reason: {finding.failure_reason}"]
    if finding.kind is RecordKind.REPORT_UNREADABLE:
        lines += ["", f"Report error: {finding.report_error}"]
    if finding.violations:
        lines += ["", "Violations:"]
        for number, violation in enumerate(finding.violations[:MAX_ALERT_VIOLATIONS], start=1):
            shown = _bounded(violation)
            lines.append(f"  {number}. {shown.headline} [{shown.check_type}]: {shown.description}")
        if count > MAX_ALERT_VIOLATIONS:
            lines.append(f"  ... and {count - MAX_ALERT_VIOLATIONS} more in the report.")
    lines.append("")
    if pipeline_execution_arn is not None:
        lines.append(
            f"Retraining: started pipeline {governance.retraining_pipeline_name}, "
            f"execution {pipeline_execution_arn}"
        )
    elif finding.kind is RecordKind.VIOLATIONS:
        lines.append("Retraining: no retraining pipeline is configured for this endpoint.")
    lines.append(f"Source event: {change.event_id}")
    return Alert(
        subject=_sns_subject(subject),
        message="\n".join(lines),
        attributes={
            "outcome": finding.kind.value,
            "monitor_type": execution.monitor_type.value,
            "endpoint_name": endpoint,
            "model_package_group_name": governance.model_package_group_name,
        },
    )


def _report_uri(execution: MonitoringExecution, finding: Finding) -> str | None:
    # A failed execution writes no report; linking to where it would be only misleads.
    if finding.kind is RecordKind.MONITORING_FAILED:
        return None
    return execution.report_uri


def _bounded(violation: Violation) -> Violation:
    if len(violation.description) <= MAX_DESCRIPTION_CHARS:
        return violation
    return Violation(
        subject=violation.subject,
        check_type=violation.check_type,
        description=violation.description[: MAX_DESCRIPTION_CHARS - 3] + "...",
        metric_name=violation.metric_name,
        facet_value=violation.facet_value,
        subject_kind=violation.subject_kind,
    )


def _sns_subject(text: str) -> str:
    # SNS rejects subjects with control characters or over 100 characters.
    printable = "".join(char if char.isprintable() and char.isascii() else "?" for char in text)
    return printable[:SNS_SUBJECT_MAX]


# --- functions that call AWS (clients passed in) -------------------------------------------


def load_endpoint_governance(ssm: SsmApi, prefix: str, endpoint_name: str) -> EndpointGovernance:
    name = f"{prefix}{endpoint_name}"
    try:
        response = ssm.get_parameter(Name=name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ParameterNotFound":
            raise UnknownEndpointError(
                f"endpoint {endpoint_name!r} has no governance parameter {name}; "
                "is it deployed by the monitoring stack?"
            ) from error
        raise
    return parse_endpoint_governance(
        response["Parameter"]["Value"], parameter_name=name, expected_endpoint=endpoint_name
    )


def resolve_execution(
    change: ProcessingJobStateChange,
    schedule_name: str,
    *,
    settings: Settings,
    sagemaker: SageMakerApi,
    ssm: SsmApi,
) -> MonitoringExecution:
    """Find the endpoint, its governance config and the monitor type of an execution."""
    schedule: Mapping[str, Any] | None = None
    endpoint_name = change.endpoint_name
    if endpoint_name is None:
        # Clarify jobs need not carry the endpoint in their environment; the schedule does.
        schedule = sagemaker.describe_monitoring_schedule(MonitoringScheduleName=schedule_name)
        endpoint_name = schedule.get("EndpointName")
        if not isinstance(endpoint_name, str) or not endpoint_name:
            raise MalformedEventError(
                f"cannot tell which endpoint processing job {change.job_name} monitors: its "
                f"Environment has no sagemaker_endpoint_name and schedule {schedule_name} "
                f"has no EndpointName (got {endpoint_name!r})"
            )
    governance = load_endpoint_governance(ssm, settings.endpoint_parameter_prefix, endpoint_name)
    monitor_type = governance.monitor_type_for_schedule(schedule_name)
    if monitor_type is None:
        if schedule is None:
            schedule = sagemaker.describe_monitoring_schedule(MonitoringScheduleName=schedule_name)
        monitor_type = MonitorType.from_schedule_monitoring_type(
            str(schedule.get("MonitoringType"))
        )
        logger.warning(
            "schedule is not listed in the endpoint's governance parameter",
            extra={"schedule": schedule_name, "endpoint": endpoint_name},
        )
    return MonitoringExecution(
        change=change,
        governance=governance,
        monitor_type=monitor_type,
        schedule_name=schedule_name,
    )


def read_report(s3: S3Api, uri: str) -> bytes:
    """Fetch a report; permanent failures become ReportError, transient ones propagate."""
    bucket, key = split_s3_uri(uri)
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in UNREADABLE_REPORT_CODES:
            raise ReportError(f"cannot read {uri}: {code}") from error
        raise
    if int(response.get("ContentLength", 0)) > MAX_REPORT_BYTES:
        raise ReportError(f"{uri} is {response['ContentLength']} bytes; at most {MAX_REPORT_BYTES}")
    body: bytes = response["Body"].read()
    return body


def assess_execution(execution: MonitoringExecution, s3: S3Api) -> Finding:
    change = execution.change
    if change.outcome is Outcome.MONITORING_FAILED:
        return Finding(
            RecordKind.MONITORING_FAILED,
            failure_reason=change.failure_reason or "(SageMaker gave no FailureReason)",
        )
    uri = execution.report_uri
    if uri is None:
        return Finding(
            RecordKind.REPORT_UNREADABLE,
            report_error=f"the processing job has no S3 output, so no {REPORT_FILE_NAME}",
        )
    try:
        payload = read_report(s3, uri)
    except ReportError as error:
        return Finding(RecordKind.REPORT_UNREADABLE, report_error=str(error))
    return assess_report(execution, payload)


def start_retraining(sagemaker: SageMakerApi, execution: MonitoringExecution) -> str:
    pipeline = execution.governance.retraining_pipeline_name
    if pipeline is None:
        raise ValueError("start_retraining called for an endpoint without a pipeline")
    token = execution.record_id
    kind = execution.monitor_type
    change = execution.change
    response = sagemaker.start_pipeline_execution(
        PipelineName=pipeline,
        PipelineExecutionDisplayName=f"{kind.value.replace('_', '-')}-violation-{token[:16]}",
        PipelineExecutionDescription=(
            f"Started by {TRIGGER_SOURCE}: {kind.label} violations on endpoint "
            f"{execution.governance.endpoint_name} (processing job {change.job_name})"
        ),
        PipelineParameters=[
            {"Name": "TriggerSource", "Value": TRIGGER_SOURCE},
            {"Name": "TriggerMonitorType", "Value": kind.value},
            {"Name": "TriggerProcessingJobArn", "Value": change.job_arn},
            {"Name": "TriggerReportUri", "Value": (execution.report_uri or "")[:1024]},
        ],
        ClientRequestToken=token,
    )
    return str(response["PipelineExecutionArn"])


def put_ledger_event(events: EventsApi, bus_name: str, detail: Mapping[str, Any]) -> None:
    response = events.put_events(
        Entries=[
            {
                "Source": LEDGER_SOURCE,
                "DetailType": LEDGER_DETAIL_TYPE,
                "Detail": json.dumps(detail),
                "EventBusName": bus_name,
                "Resources": [detail["processingJobArn"]],
            }
        ]
    )
    # PutEvents reports rejected entries in a successful response, not as an exception.
    if response.get("FailedEntryCount", 0):
        entry = response.get("Entries", [{}])[0]
        raise LedgerPublishError(
            f"EventBridge rejected the ledger event on bus {bus_name}: "
            f"{entry.get('ErrorCode')}: {entry.get('ErrorMessage')}"
        )


def publish_alert(sns: SnsApi, topic_arn: str, alert: Alert) -> None:
    sns.publish(
        TopicArn=topic_arn,
        Subject=alert.subject,
        Message=alert.message,
        MessageAttributes={
            name: {"DataType": "String", "StringValue": value}
            for name, value in alert.attributes.items()
        },
    )


def process_state_change(
    change: ProcessingJobStateChange, *, settings: Settings, clients: Clients
) -> HandlerResult:
    """Everything the handler does for one processing-job state change."""

    def skipped(reason: str) -> HandlerResult:
        logger.info("skipped", extra={"reason": reason})
        return HandlerResult(status="skipped", reason=reason, processing_job_arn=change.job_arn)

    if not change.is_final:
        return skipped(f"status {change.status} is not a finished monitoring execution")
    if is_clean_completion(change):
        return skipped("completed without violations")
    if change.needs_description:
        change = change.with_description(
            clients.sagemaker.describe_processing_job(ProcessingJobName=change.job_name)
        )
    schedule_name = change.schedule_name
    if schedule_name is None:
        return skipped("not a Model Monitor execution (no monitoring schedule)")
    if change.outcome is Outcome.NO_VIOLATIONS:
        if change.exit_message is None:
            logger.warning("completed monitoring job has no ExitMessage; treated as clean")
        return skipped("completed without violations")

    execution = resolve_execution(
        change, schedule_name, settings=settings, sagemaker=clients.sagemaker, ssm=clients.ssm
    )
    finding = assess_execution(execution, clients.s3)
    pipeline_execution_arn = None
    if finding.kind is RecordKind.VIOLATIONS and execution.governance.retraining_pipeline_name:
        pipeline_execution_arn = start_retraining(clients.sagemaker, execution)
    # Ledger before alert: if publishing fails the retry re-puts the same recordId, which the
    # ledger drops, rather than leaving an alert with no record.
    put_ledger_event(
        clients.events,
        settings.event_bus_name,
        ledger_detail(execution, finding, pipeline_execution_arn),
    )
    publish_alert(
        clients.sns,
        settings.alert_topic_arn,
        build_alert(execution, finding, pipeline_execution_arn),
    )
    result = HandlerResult(
        status="recorded",
        reason=finding.kind.value,
        processing_job_arn=change.job_arn,
        endpoint_name=execution.governance.endpoint_name,
        monitor_type=execution.monitor_type.value,
        violation_count=len(finding.violations),
        pipeline_execution_arn=pipeline_execution_arn,
    )
    logger.info("recorded", extra=result.as_dict())
    return result


# --- Lambda adapter -----------------------------------------------------------------------

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def build_handler(settings: Settings, clients: Clients) -> LambdaHandler:
    """Wire settings and clients into an idempotent, logged Lambda handler."""
    persistence = DynamoDBPersistenceLayer(
        table_name=settings.idempotency_table_name, boto3_client=clients.dynamodb
    )
    config = IdempotencyConfig(
        event_key_jmespath=IDEMPOTENCY_KEY_JMESPATH,
        raise_on_no_idempotency_key=True,
        expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
    )

    @idempotent(persistence_store=persistence, config=config)
    def handle_once(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        change = parse_processing_job_event(event)
        return process_state_change(change, settings=settings, clients=clients).as_dict()

    @logger.inject_lambda_context(clear_state=True)
    def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        # Validated before the idempotency layer so a malformed event fails with our message
        # (naming the field) instead of a missing-idempotency-key error.
        change = parse_processing_job_event(event)
        logger.append_keys(
            processing_job=change.job_name, job_status=change.status, event_id=change.event_id
        )
        if not change.is_final or is_clean_completion(change):
            # Nothing to guard: skip without writing an idempotency record for every job event.
            return process_state_change(change, settings=settings, clients=clients).as_dict()
        result: dict[str, Any] = handle_once(event, context)
        return result

    return handle


@lru_cache(maxsize=1)
def _cold_start_handler() -> LambdaHandler:
    return build_handler(Settings.from_env(os.environ), Clients.from_boto3())


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point: ``governance.violations.handler``."""
    return _cold_start_handler()(event, context)

"""The EventBridge events the handlers receive and publish, as Powertools Parser models.

Received from SageMaker (EventBridge user guide and SageMaker developer guide, "Events that
Amazon SageMaker AI sends to Amazon EventBridge"): model package and processing job state
changes, whose detail is the shape of the matching ``Describe*`` call (:mod:`governance.sagemaker`),
and pipeline execution status changes (camelCase detail, "Pipeline execution state change").
Published by the handlers and recorded by the audit ledger: the approval verdict and the
monitoring violation. Their detail uses camelCase keys; both sides use the models below.

A malformed event raises :class:`~governance.contracts.errors.InvalidEventError` naming every
bad field, so what lands in the dead-letter queue explains itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import (
    CloudFormationCustomResourceBaseModel,
    EventBridgeModel,
    SqsModel,
    SqsRecordModel,
)
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeInt,
    StrictBool,
    StringConstraints,
    ValidationError,
)
from pydantic.alias_generators import to_camel

from governance.contracts.errors import Expect, InvalidEventError, explain
from governance.contracts.parameters import Text
from governance.contracts.vocabulary import (
    BASELINE_PATHS,
    DetailType,
    EventSource,
    MonitorType,
)
from governance.sagemaker import (
    ModelPackage,
    PipelineExecutionStatus,
    ProcessingJob,
    Version,
)


class ModelPackageStateChange(EventBridgeModel):
    source: Literal[EventSource.SAGEMAKER]
    detail_type: Literal[DetailType.MODEL_PACKAGE_STATE_CHANGE] = Field(alias="detail-type")
    detail: ModelPackage


class ProcessingJobStateChange(EventBridgeModel):
    source: Literal[EventSource.SAGEMAKER]
    detail_type: Literal[DetailType.PROCESSING_JOB_STATE_CHANGE] = Field(alias="detail-type")
    detail: ProcessingJob

    @property
    def job_arn(self) -> str | None:
        # The detail usually carries the ARN; the resources list always does.
        return self.detail.processing_job_arn or next(iter(self.resources), None)


class PipelineExecutionDetail(BaseModel):
    """The detail of ``SageMaker Model Building Pipeline Execution Status Change`` (developer
    guide, automating-sagemaker-with-eventbridge, "Pipeline execution state change": camelCase
    keys, ``currentPipelineExecutionStatus`` one of Executing, Succeeded, Failed, Stopping,
    Stopped)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    pipeline_arn: Annotated[str, Expect("a SageMaker pipeline ARN")]
    pipeline_execution_arn: Annotated[str, Expect("a SageMaker pipeline execution ARN")]
    current_pipeline_execution_status: PipelineExecutionStatus
    previous_pipeline_execution_status: str | None = None
    pipeline_execution_display_name: str | None = None

    @property
    def pipeline_name(self) -> str:
        return self.pipeline_arn.rsplit(":pipeline/", 1)[-1].split("/", 1)[0]


class PipelineExecutionStatusChange(EventBridgeModel):
    source: Literal[EventSource.SAGEMAKER]
    detail_type: Literal[DetailType.PIPELINE_EXECUTION_STATUS_CHANGE] = Field(alias="detail-type")
    detail: PipelineExecutionDetail


class _CamelDetail(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )

    def as_detail(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class Check(_CamelDetail):
    """One evidence check of an approval verdict."""

    name: Text
    passed: StrictBool
    reason: str = ""


class VerdictOutcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"


class ApprovalVerdictDetail(_CamelDetail):
    model_package_group_name: Text
    model_package_arn: Text
    model_package_version: Version
    verdict: VerdictOutcome
    checks: tuple[Check, ...]
    action_taken: Text
    evidence_uris: tuple[str, ...]
    source_event_id: Text
    approver: str | None = None
    """Who approved, as the gate read it from ``DescribeModelPackage`` (``LastModifiedBy``)."""
    registrant: str | None = None


class MonitoringOutcome(StrEnum):
    """What a finished monitoring execution means for governance."""

    VIOLATIONS = "violations"
    MONITORING_FAILED = "monitoring_failed"
    MONITORING_STOPPED = "monitoring_stopped"
    REPORT_UNREADABLE = "report_unreadable"


def _text_of_scalar(value: object) -> object:
    # Clarify echoes value_or_threshold, which may be a number.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


ScalarText = Annotated[str, BeforeValidator(_text_of_scalar), Expect("a string or a number")]


class ViolationItem(_CamelDetail):
    """One violated constraint; ``feature`` is empty for dataset-level checks."""

    feature: str = ""
    check_type: Text
    description: str = ""
    metric_name: str | None = None
    facet: str | None = None
    facet_value: ScalarText | None = None
    label: ScalarText | None = None

    def as_detail(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class MonitoringViolationDetail(_CamelDetail):
    record_id: str | None = None
    """Same for every delivery of one job outcome: the ledger's duplicate key."""
    outcome: MonitoringOutcome = MonitoringOutcome.VIOLATIONS
    model_package_group_name: Text
    model_name: str | None = None
    endpoint_name: str | None = None
    monitor_type: MonitorType
    monitoring_schedule_name: str | None = None
    processing_job_arn: str | None = None
    pipeline_execution_arn: str | None = None
    """A monitoring pipeline execution that ended without its check's processing job saying so
    (a batch transform, or a step that never started a job)."""
    report_uri: str | None = None
    violations: tuple[ViolationItem, ...]
    violation_count: NonNegativeInt | None = None
    violations_truncated: StrictBool = False
    retraining_pipeline_execution_arn: str | None = None
    source_event_id: str | None = None
    failure_reason: str | None = None
    report_error: str | None = None

    def as_detail(self) -> dict[str, Any]:
        detail = super().as_detail()
        detail["violations"] = [item.as_detail() for item in self.violations]
        for optional in ("failureReason", "reportError", "pipelineExecutionArn"):
            if detail[optional] is None:
                del detail[optional]
        return detail


class ApprovalVerdictEvent(EventBridgeModel):
    source: Literal[EventSource.GOVERNANCE]
    detail_type: Literal[DetailType.APPROVAL_VERDICT] = Field(alias="detail-type")
    detail: ApprovalVerdictDetail


class MonitoringViolationEvent(EventBridgeModel):
    source: Literal[EventSource.GOVERNANCE]
    detail_type: Literal[DetailType.MONITORING_VIOLATION] = Field(alias="detail-type")
    detail: MonitoringViolationDetail


ScheduleArn = Annotated[
    str,
    StringConstraints(pattern=r"^arn:[a-z-]+:scheduler:[a-z0-9-]+:\d{12}:schedule/.+$"),
    Expect(
        "an EventBridge Scheduler schedule ARN, "
        "arn:<partition>:scheduler:<region>:<account>:schedule/<group>/<name>"
    ),
]
"""Service Authorization Reference, EventBridge Scheduler resource type ``schedule``."""


class _StringAttribute(BaseModel):
    """An SQS message attribute of data type String, as Lambda's SQS event carries it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    string_value: Text = Field(alias="stringValue")


class _ScheduleArnAttribute(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    string_value: ScheduleArn = Field(alias="stringValue")


_DEAD_LETTER_ATTRIBUTE = Expect("EventBridge Scheduler's dead-letter attribute (a String)")


class DeadLetterAttributes(BaseModel):
    """The message attributes EventBridge Scheduler sets on a dead letter (user guide,
    "Configuring a dead-letter queue" > "Retrieve the dead-letter event"); ``EXHAUSTED_RETRY_
    CONDITION`` only for retryable errors. ``IS_PAYLOAD_TRUNCATED`` is not used."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    schedule_arn: Annotated[_ScheduleArnAttribute, _DEAD_LETTER_ATTRIBUTE] = Field(
        alias="SCHEDULE_ARN"
    )
    error_code: Annotated[_StringAttribute, _DEAD_LETTER_ATTRIBUTE] = Field(alias="ERROR_CODE")
    execution_id: Annotated[_StringAttribute, _DEAD_LETTER_ATTRIBUTE] = Field(alias="EXECUTION_ID")
    error_message: _StringAttribute | None = Field(None, alias="ERROR_MESSAGE")
    exhausted_retry_condition: _StringAttribute | None = Field(
        None, alias="EXHAUSTED_RETRY_CONDITION"
    )
    retry_attempts: _StringAttribute | None = Field(None, alias="RETRY_ATTEMPTS")
    scheduled_time: _StringAttribute | None = Field(None, alias="SCHEDULED_TIME")
    target_arn: _StringAttribute | None = Field(None, alias="TARGET_ARN")


class ScheduleDeadLetterRecord(SqsRecordModel):
    """One record of the Lambda SQS event (Lambda developer guide, with-sqs) from the
    schedules' dead-letter queue; the body (the target's input) is not used."""

    messageId: Text  # noqa: N815 - the event's own key, as Powertools names it
    eventSourceARN: Text  # noqa: N815
    messageAttributes: DeadLetterAttributes  # type: ignore[assignment]  # noqa: N815

    def _value(self, attribute: _StringAttribute | None) -> str | None:
        return attribute.string_value if attribute is not None else None

    def start_failure(self) -> ScheduleStartFailure:
        """The ``Monitoring Schedule Start Failed`` detail this dead letter is relayed as."""
        attributes = self.messageAttributes
        return ScheduleStartFailure(
            schedule_arn=attributes.schedule_arn.string_value,
            execution_id=attributes.execution_id.string_value,
            error_code=attributes.error_code.string_value,
            error_message=self._value(attributes.error_message),
            exhausted_retry_condition=self._value(attributes.exhausted_retry_condition),
            retry_attempts=self._value(attributes.retry_attempts),
            scheduled_time=self._value(attributes.scheduled_time),
            target_arn=self._value(attributes.target_arn),
            message_id=self.messageId,
            queue_arn=self.eventSourceARN,
        )


class ScheduleDeadLetterEvent(SqsModel):
    """What the schedule-failures handler receives: at least one dead letter."""

    Records: Annotated[
        list[ScheduleDeadLetterRecord], Field(min_length=1), Expect("a list of SQS records")
    ]


class ScheduleStartFailure(_CamelDetail):
    """One dead-letter event of EventBridge Scheduler (user guide, "Configuring a dead-letter
    queue" > "Retrieve the dead-letter event"), as the schedule-failures handler relays it:
    the message attributes ``SCHEDULE_ARN``, ``EXECUTION_ID``, ``ERROR_CODE``,
    ``ERROR_MESSAGE``, ``EXHAUSTED_RETRY_CONDITION`` (retryable errors only), ``RETRY_ATTEMPTS``,
    ``SCHEDULED_TIME`` and ``TARGET_ARN``, with the SQS message id and queue."""

    schedule_arn: ScheduleArn
    execution_id: Text
    error_code: Text
    error_message: str | None = None
    exhausted_retry_condition: str | None = None
    retry_attempts: str | None = None
    scheduled_time: str | None = None
    target_arn: str | None = None
    message_id: Text
    queue_arn: Text

    @property
    def schedule_name(self) -> str:
        return self.schedule_arn.rsplit("/", 1)[-1]


class ScheduleStartFailedEvent(EventBridgeModel):
    source: Literal[EventSource.GOVERNANCE]
    detail_type: Literal[DetailType.SCHEDULE_START_FAILED] = Field(alias="detail-type")
    detail: ScheduleStartFailure


def _baseline_kind(value: str) -> str:
    if value not in BASELINE_PATHS:
        raise ValueError("one of " + ", ".join(BASELINE_PATHS))
    return value


def _in_table_order(kinds: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(kind for kind in BASELINE_PATHS if kind in kinds)


def _https(value: str) -> str:
    if not value.startswith("https://"):
        raise ValueError("an https URL (CloudFormation's pre-signed S3 URL)")
    return value


BaselineKind = Annotated[str, AfterValidator(_baseline_kind)]
"""A monitor type or ``data_reference``: a key of ``BASELINE_PATHS``."""


class PackageBaselinesProperties(BaseModel):
    """What each ``Custom::PackageBaselines`` resource sends (``cdk_constructs/monitoring/
    baselines.py``): the served version, and the monitors whose baselines it must carry."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    model_package_arn: Text = Field(alias="ModelPackageArn")
    monitor_types: Annotated[tuple[BaselineKind, ...], AfterValidator(_in_table_order)] = Field(
        (), alias="MonitorTypes"
    )


class PackageBaselinesRequest(CloudFormationCustomResourceBaseModel):
    """A CloudFormation custom resource request (CloudFormation user guide, "Custom resource
    request objects") for ``Custom::PackageBaselines``; Powertools' model, with the request
    types this resource answers and its properties."""

    model_config = ConfigDict(frozen=True)

    request_type: Literal["Create", "Update", "Delete"] = Field(alias="RequestType")
    # Kept as sent: the PUT must go to the pre-signed URL byte for byte, which a parsed
    # HttpUrl (Powertools' type) would normalise.
    response_url: Annotated[str, AfterValidator(_https), Expect("an https URL")] = Field(  # type: ignore[assignment]
        alias="ResponseURL"
    )
    stack_id: Text = Field(alias="StackId")
    request_id: Text = Field(alias="RequestId")
    logical_resource_id: Text = Field(alias="LogicalResourceId")
    physical_resource_id: str | None = Field(None, alias="PhysicalResourceId")
    resource_properties: PackageBaselinesProperties = Field(alias="ResourceProperties")

    @property
    def model_package_arn(self) -> str:
        return self.resource_properties.model_package_arn

    @property
    def monitor_types(self) -> tuple[str, ...]:
        return self.resource_properties.monitor_types


GovernanceEvent = ModelPackageStateChange | ApprovalVerdictEvent | MonitoringViolationEvent
"""What the audit ledger records."""

_LEDGER_MODELS: Mapping[tuple[str, str], type[GovernanceEvent]] = {
    (EventSource.SAGEMAKER, DetailType.MODEL_PACKAGE_STATE_CHANGE): ModelPackageStateChange,
    (EventSource.GOVERNANCE, DetailType.APPROVAL_VERDICT): ApprovalVerdictEvent,
    (EventSource.GOVERNANCE, DetailType.MONITORING_VIOLATION): MonitoringViolationEvent,
}

_E = TypeVar("_E", bound=BaseModel)


def parse_event(raw: object, model: type[_E]) -> _E:
    """Validate ``raw`` as ``model``; raise one InvalidEventError naming every bad field."""
    if not isinstance(raw, Mapping):
        kind = "an EventBridge event" if issubclass(model, EventBridgeModel) else "a Lambda event"
        raise InvalidEventError(
            f"invalid {model.__name__} event",
            [f"field '<event>': got {raw!r:.200}; expected {kind} object"],
        )
    try:
        return parse(event=dict(raw), model=model)
    except ValidationError as error:
        raise InvalidEventError(f"invalid {model.__name__} event", explain(error, model)) from None


def parse_governance_event(raw: object) -> GovernanceEvent:
    """Any event the audit ledger records; other kinds are refused by name."""
    kind = (raw.get("source"), raw.get("detail-type")) if isinstance(raw, Mapping) else None
    model = _LEDGER_MODELS.get(kind) if kind else None  # type: ignore[arg-type]
    if model is None:
        allowed = "; ".join(f"{source} / {detail_type}" for source, detail_type in _LEDGER_MODELS)
        shown = f"{kind[0]} / {kind[1]}" if kind else repr(raw)[:200]
        raise InvalidEventError(
            "invalid audit ledger event",
            [f"field 'source/detail-type': got {shown}; expected one of {allowed}"],
        )
    return parse_event(raw, model)


def event_time(event: EventBridgeModel) -> str:
    """The event's ``time`` as EventBridge writes it (ISO 8601, UTC, ``Z``)."""
    return event.time.astimezone(UTC).isoformat().replace("+00:00", "Z")


def governance_entry(
    detail_type: DetailType, detail: _CamelDetail, resource: str
) -> dict[str, Any]:
    """A ``PutEvents`` entry for one of our own events (bus added by the notifier)."""
    return {
        "Source": EventSource.GOVERNANCE.value,
        "DetailType": detail_type.value,
        "Detail": detail.as_detail(),
        "Resources": [resource],
    }

"""Failed schedule starts (``governance.schedule_failures.handler``): a monitoring pipeline its
EventBridge Scheduler schedule could not start is a ledger record and an alert, like a failed
execution, never only a message waiting in a queue.

Trigger: an SQS event source on the Evidently schedules' dead-letter queue (batch size 1). What
EventBridge Scheduler puts there is documented in its user guide, "Configuring a dead-letter
queue" > "Retrieve the dead-letter event" (docs.aws.amazon.com/scheduler/latest/UserGuide/
configuring-schedule-dlq.html): the body is the target's input, and the message attributes are
``ERROR_CODE`` and ``ERROR_MESSAGE`` (from the target's API, or ``AWS.Scheduler.
InternalServerError``), ``EXECUTION_ID``, ``EXHAUSTED_RETRY_CONDITION`` (``MaximumRetryAttempts``
or ``MaximumEventAgeInSeconds``; only for retryable errors), ``IS_PAYLOAD_TRUNCATED``,
``RETRY_ATTEMPTS``, ``SCHEDULED_TIME``, ``SCHEDULE_ARN`` and ``TARGET_ARN``.

The schedule is named like the pipeline it starts (``<endpoint>-<check>`` for an Evidently
check, ``<model>-<env>-batch`` for batch scoring), so its name finds the endpoint parameter and
the model, as for a failed pipeline execution. The handler puts one ``MonitoringViolation``
governance event (outcome ``monitoring_failed``, no execution); the foundation's rule records it
in the ledger, and a rule of the stack that owns the queue alerts on it (this stack's queue
among the event's resources). The record id is derived from the schedule and ``EXECUTION_ID``,
so a redelivered message makes no second record. A message that cannot be attributed fails the
invocation: SQS delivers it again and, after the queue's ``maxReceiveCount``, moves it to the
handler's own dead-letter queue, whose depth alarm alerts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Final, Protocol

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from governance.contracts.errors import InvalidEventError
from governance.contracts.vocabulary import DetailType
from governance.data_access import aws
from governance.data_access.notifier import AwsEventPublisher
from governance.data_access.parameters import GovernanceParameters, SsmGovernanceParameters
from governance.events import MonitoringOutcome, MonitoringViolationDetail, governance_entry
from governance.lambda_runtime import (
    ClientFactory,
    EnvironmentSettings,
    EventBusName,
    LambdaHandler,
    ParameterPrefix,
)
from governance.logic.monitoring import monitoring_pipeline

logger = Logger()
tracer = Tracer()

# EventBridge Scheduler's dead-letter message attributes (user guide, configuring-schedule-dlq).
SCHEDULE_ARN: Final = "SCHEDULE_ARN"
ERROR_CODE: Final = "ERROR_CODE"
ERROR_MESSAGE: Final = "ERROR_MESSAGE"
EXECUTION_ID: Final = "EXECUTION_ID"
EXHAUSTED_RETRY_CONDITION: Final = "EXHAUSTED_RETRY_CONDITION"
RETRY_ATTEMPTS: Final = "RETRY_ATTEMPTS"
SCHEDULED_TIME: Final = "SCHEDULED_TIME"
TARGET_ARN: Final = "TARGET_ARN"
REQUIRED_ATTRIBUTES: Final = (SCHEDULE_ARN, ERROR_CODE, EXECUTION_ID)
# arn:<partition>:scheduler:<region>:<account>:schedule/<group>/<name> (Service Authorization
# Reference, EventBridge Scheduler resource type "schedule").
_SCHEDULE_ARN_PARTS: Final = 6


class EventPublisher(Protocol):
    def put_event(self, entry: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True)
class ScheduleDeadLetter:
    """One dead-letter event of EventBridge Scheduler, from its SQS record."""

    message_id: str
    queue_arn: str
    schedule_arn: str
    error_code: str
    execution_id: str
    error_message: str | None = None
    exhausted_retry_condition: str | None = None
    retry_attempts: str | None = None
    scheduled_time: str | None = None
    target_arn: str | None = None

    @property
    def schedule_name(self) -> str:
        return self.schedule_arn.rsplit("/", 1)[-1]

    @property
    def record_id(self) -> str:
        """The same for every delivery of this failed start (the ledger's duplicate key)."""
        return hashlib.sha256(f"{self.schedule_arn}#{self.execution_id}".encode()).hexdigest()

    @property
    def failure_reason(self) -> str:
        when = f" at {self.scheduled_time}" if self.scheduled_time else ""
        reason = f"{self.error_code}: {self.error_message or '(no ERROR_MESSAGE)'}"
        retries = []
        if self.retry_attempts is not None:
            retries.append(f"{self.retry_attempts} retries")
        if self.exhausted_retry_condition:
            retries.append(f"gave up on {self.exhausted_retry_condition}")
        else:
            retries.append("not retryable")
        return (
            f"EventBridge Scheduler could not start the pipeline of schedule "
            f"{self.schedule_name}{when} ({', '.join(retries)}): {reason}"
        )


def _attribute(record: Mapping[str, Any], name: str) -> str | None:
    attributes = record.get("messageAttributes")
    if not isinstance(attributes, Mapping):
        return None
    value = attributes.get(name)
    if not isinstance(value, Mapping):
        return None
    text = value.get("stringValue")
    return text if isinstance(text, str) and text else None


def parse_dead_letter(record: Mapping[str, Any]) -> ScheduleDeadLetter:
    """The dead-letter event in one SQS record of a Lambda SQS event; InvalidEventError names
    every attribute that is missing or wrong."""
    problems = [
        f"field 'messageAttributes.{name}.stringValue': missing; expected EventBridge "
        "Scheduler's dead-letter attribute"
        for name in REQUIRED_ATTRIBUTES
        if _attribute(record, name) is None
    ]
    schedule_arn = _attribute(record, SCHEDULE_ARN)
    if schedule_arn is not None:
        parts = schedule_arn.split(":", 5)
        if (
            len(parts) != _SCHEDULE_ARN_PARTS
            or parts[2] != "scheduler"
            or not (parts[5].startswith("schedule/"))
        ):
            problems.append(
                f"field 'messageAttributes.SCHEDULE_ARN.stringValue': got {schedule_arn!r}; "
                "expected arn:<partition>:scheduler:<region>:<account>:schedule/<group>/<name>"
            )
    for field in ("messageId", "eventSourceARN"):
        if not isinstance(record.get(field), str) or not record.get(field):
            problems.append(f"field {field!r}: got {record.get(field)!r}; expected a string")
    if problems:
        raise InvalidEventError("invalid EventBridge Scheduler dead-letter message", problems)
    return ScheduleDeadLetter(
        message_id=str(record["messageId"]),
        queue_arn=str(record["eventSourceARN"]),
        schedule_arn=str(schedule_arn),
        error_code=str(_attribute(record, ERROR_CODE)),
        execution_id=str(_attribute(record, EXECUTION_ID)),
        error_message=_attribute(record, ERROR_MESSAGE),
        exhausted_retry_condition=_attribute(record, EXHAUSTED_RETRY_CONDITION),
        retry_attempts=_attribute(record, RETRY_ATTEMPTS),
        scheduled_time=_attribute(record, SCHEDULED_TIME),
        target_arn=_attribute(record, TARGET_ARN),
    )


def failed_start_detail(
    letter: ScheduleDeadLetter, parameters: GovernanceParameters
) -> MonitoringViolationDetail:
    """The ledger record of one failed start; InvalidEventError when no governed monitoring
    pipeline has the schedule's name."""
    pipeline = monitoring_pipeline(letter.schedule_name, parameters)
    if pipeline is None:
        raise InvalidEventError(
            "unattributable schedule dead letter",
            [
                f"schedule {letter.schedule_name} (from {letter.schedule_arn}) names no "
                "governed monitoring pipeline: no endpoint parameter lists it as a check "
                "(<endpoint>-<check>) and no batch-scoring parameter has its name"
            ],
        )
    governance = pipeline.governance
    monitor_type = pipeline.checks[0]
    return MonitoringViolationDetail(
        record_id=letter.record_id,
        outcome=MonitoringOutcome.MONITORING_FAILED,
        model_package_group_name=governance.model_package_group_name,
        model_name=governance.model_name,
        endpoint_name=governance.endpoint_name,
        monitor_type=monitor_type,
        monitoring_schedule_name=governance.monitors[monitor_type],
        violations=(),
        violation_count=0,
        source_event_id=letter.message_id,
        failure_reason=(
            f"{letter.failure_reason}. No results this run for: "
            + ", ".join(kind.label for kind in pipeline.checks)
        ),
    )


def record_failed_start(
    letter: ScheduleDeadLetter, parameters: GovernanceParameters, publisher: EventPublisher
) -> dict[str, Any]:
    detail = failed_start_detail(letter, parameters)
    entry = governance_entry(DetailType.MONITORING_VIOLATION, detail, letter.schedule_arn)
    # The queue among the resources: the alert rule of the stack that owns it matches on it.
    entry["Resources"] = [letter.schedule_arn, letter.queue_arn]
    publisher.put_event(entry)
    return {
        "status": "recorded",
        "reason": MonitoringOutcome.MONITORING_FAILED.value,
        "schedule": letter.schedule_name,
        "endpoint_name": detail.endpoint_name,
        "monitor_type": detail.monitor_type.value,
        "record_id": letter.record_id,
    }


class ScheduleFailureSettings(EnvironmentSettings):
    endpoint_parameter_prefix: ParameterPrefix = Field(alias="ENDPOINT_PARAMETER_PREFIX")
    event_bus_name: EventBusName = Field("default", alias="EVENT_BUS_NAME")


def build_handler(
    settings: ScheduleFailureSettings, client: ClientFactory = aws.client
) -> LambdaHandler:
    parameters = SsmGovernanceParameters(
        client("ssm"), endpoint_prefix=settings.endpoint_parameter_prefix
    )
    publisher = AwsEventPublisher(events_client=client("events"), bus_name=settings.event_bus_name)

    def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        records = event.get("Records")
        if not isinstance(records, list) or not records:
            raise InvalidEventError(
                "invalid SQS event", [f"field 'Records': got {records!r}; expected SQS records"]
            )
        results = []
        for record in records:
            letter = parse_dead_letter(record)
            logger.append_keys(schedule=letter.schedule_name, message_id=letter.message_id)
            results.append(record_failed_start(letter, parameters, publisher))
        logger.info("handled", extra={"results": results})
        return {"results": results}

    traced: LambdaHandler = tracer.capture_lambda_handler(handle, capture_response=False)
    logged: LambdaHandler = logger.inject_lambda_context(traced, clear_state=True)
    return logged


@cache
def _from_environment() -> LambdaHandler:
    return build_handler(ScheduleFailureSettings.from_environment())


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _from_environment()(event, context)

"""Failed schedule starts (``governance.schedule_failures.handler``): relays each start
EventBridge Scheduler could not make from its dead-letter queue to the violations handler, which
records it in the ledger and alerts, like a failed execution, never only a message in a queue.

Trigger: an SQS event source on the Evidently schedules' dead-letter queue (batch size 1). What
EventBridge Scheduler puts there is documented in its user guide, "Configuring a dead-letter
queue" > "Retrieve the dead-letter event" (docs.aws.amazon.com/scheduler/latest/UserGuide/
configuring-schedule-dlq.html): the body is the target's input, and the message attributes are
``ERROR_CODE`` and ``ERROR_MESSAGE`` (from the target's API, or ``AWS.Scheduler.
InternalServerError``), ``EXECUTION_ID``, ``EXHAUSTED_RETRY_CONDITION`` (``MaximumRetryAttempts``
or ``MaximumEventAgeInSeconds``; only for retryable errors), ``IS_PAYLOAD_TRUNCATED``,
``RETRY_ATTEMPTS``, ``SCHEDULED_TIME``, ``SCHEDULE_ARN`` and ``TARGET_ARN``.

The handler lives in the models stack that owns the queue, and a role there cannot publish to
the alert topic (the alerts key names every principal in its policy, and the foundation does not
change per model). So it only puts one ``Monitoring Schedule Start Failed`` event (our own
source) on the default bus; the foundation's ``ScheduleFailuresToViolations`` rule sends it to
the violations handler, which names the model and check from the schedule (named like its
pipeline), records and alerts (:func:`governance.logic.monitoring.run_schedule_start_failure`).
A message that is not a Scheduler dead letter, or that EventBridge refuses, fails the
invocation: SQS delivers it again and, after the queue's ``maxReceiveCount``, moves it to the
unrecorded queue, whose depth alarm alerts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Final, Protocol

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from governance.contracts.errors import InvalidEventError
from governance.contracts.vocabulary import DetailType, EventSource
from governance.data_access import aws
from governance.data_access.notifier import AwsEventPublisher
from governance.events import ScheduleStartFailure
from governance.lambda_runtime import (
    ClientFactory,
    EnvironmentSettings,
    EventBusName,
    LambdaHandler,
)

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


def start_failed_entry(letter: ScheduleDeadLetter) -> dict[str, Any]:
    """The ``Monitoring Schedule Start Failed`` event of one dead letter (validated as the
    violations handler will parse it)."""
    failure = ScheduleStartFailure(
        schedule_arn=letter.schedule_arn,
        execution_id=letter.execution_id,
        error_code=letter.error_code,
        error_message=letter.error_message,
        exhausted_retry_condition=letter.exhausted_retry_condition,
        retry_attempts=letter.retry_attempts,
        scheduled_time=letter.scheduled_time,
        target_arn=letter.target_arn,
        message_id=letter.message_id,
        queue_arn=letter.queue_arn,
    )
    return {
        "Source": EventSource.GOVERNANCE.value,
        "DetailType": DetailType.SCHEDULE_START_FAILED.value,
        "Detail": failure.as_detail(),
        "Resources": [letter.schedule_arn, letter.queue_arn],
    }


def relay(letter: ScheduleDeadLetter, publisher: EventPublisher) -> dict[str, Any]:
    publisher.put_event(start_failed_entry(letter))
    return {"status": "relayed", "schedule": letter.schedule_arn, "message_id": letter.message_id}


class ScheduleFailureSettings(EnvironmentSettings):
    event_bus_name: EventBusName = Field("default", alias="EVENT_BUS_NAME")


def build_handler(
    settings: ScheduleFailureSettings, client: ClientFactory = aws.client
) -> LambdaHandler:
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
            logger.append_keys(schedule=letter.schedule_arn, message_id=letter.message_id)
            results.append(relay(letter, publisher))
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

"""Failed schedule starts (``governance.schedule_failures.handler``): relays each start
EventBridge Scheduler could not make from its dead-letter queue to the violations handler, which
records it in the ledger and alerts, like a failed execution, never only a message in a queue.

Trigger: an SQS event source on the Evidently schedules' dead-letter queue (batch size 1),
parsed as :class:`~governance.events.ScheduleDeadLetterEvent`; what is relayed and why:
:mod:`governance.logic.schedule_failures`. A message that is not a Scheduler dead letter, or that
EventBridge refuses, fails the invocation: SQS delivers it again and, after the queue's
``maxReceiveCount``, moves it to the unrecorded queue, whose depth alarm alerts. No idempotency
record (the role has no table): a repeated relay puts the same event again, and the violations
handler is idempotent on schedule ARN + ``EXECUTION_ID``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from governance.data_access import aws
from governance.data_access.notifier import AwsEventPublisher, EventPublisher
from governance.events import ScheduleDeadLetterEvent, parse_event
from governance.lambda_runtime import (
    ClientFactory,
    EnvironmentSettings,
    EventBusName,
    LambdaHandler,
    observed_handler,
)
from governance.logic.schedule_failures import relay


class ScheduleFailureSettings(EnvironmentSettings):
    event_bus_name: EventBusName = Field("default", alias="EVENT_BUS_NAME")


def relay_all(event: ScheduleDeadLetterEvent, publisher: EventPublisher) -> dict[str, Any]:
    return {"results": [relay(letter, publisher) for letter in event.Records]}


def build_handler(
    settings: ScheduleFailureSettings, client: ClientFactory = aws.client
) -> LambdaHandler:
    publisher = AwsEventPublisher(events_client=client("events"), bus_name=settings.event_bus_name)
    return observed_handler(
        parse=lambda event: parse_event(event, ScheduleDeadLetterEvent),
        process=lambda event: relay_all(event, publisher),
        log_keys=lambda event: {
            "schedule": [r.messageAttributes.schedule_arn.string_value for r in event.Records],
            "message_id": [r.messageId for r in event.Records],
        },
    )


@cache
def _from_environment() -> LambdaHandler:
    return build_handler(ScheduleFailureSettings.from_environment())


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _from_environment()(event, context)

"""Relaying a start EventBridge Scheduler could not make to the violations handler.

The schedule-failures handler lives in the models stack that owns the schedules' dead-letter
queue, and a role there cannot publish to the alert topic (the alerts key names every principal
in its policy, and the foundation does not change per model). So each dead letter becomes one
``Monitoring Schedule Start Failed`` event (our own source) on the default bus; the foundation's
``ScheduleFailuresToViolations`` rule sends it to the violations handler, which records and
alerts (:func:`governance.logic.monitoring.run_schedule_start_failure`).
"""

from __future__ import annotations

from typing import Any

from governance.contracts.vocabulary import DetailType, EventSource
from governance.data_access.notifier import EventPublisher
from governance.events import ScheduleDeadLetterRecord


def start_failed_entry(letter: ScheduleDeadLetterRecord) -> dict[str, Any]:
    """The ``PutEvents`` entry of one dead letter (its detail validated as the violations
    handler will parse it)."""
    failure = letter.start_failure()
    return {
        "Source": EventSource.GOVERNANCE.value,
        "DetailType": DetailType.SCHEDULE_START_FAILED.value,
        "Detail": failure.as_detail(),
        "Resources": [failure.schedule_arn, failure.queue_arn],
    }


def relay(letter: ScheduleDeadLetterRecord, publisher: EventPublisher) -> dict[str, Any]:
    """Put the dead letter's event; an event EventBridge refuses raises, so SQS delivers the
    message again (and after the queue's ``maxReceiveCount`` redrives it)."""
    entry = start_failed_entry(letter)
    publisher.put_event(entry)
    return {
        "status": "relayed",
        "schedule": entry["Detail"]["scheduleArn"],
        "message_id": letter.messageId,
    }

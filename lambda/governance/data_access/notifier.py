"""Notifications: SNS alerts for people, EventBridge events for the audit ledger."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from governance.contracts.vocabulary import SNS_SUBJECT_MAX_CHARS
from governance.data_access.aws import AwsClient


@dataclass(frozen=True)
class Alert:
    subject: str
    message: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    """SNS message attributes, so subscriptions can filter (e.g. by outcome)."""


class EventRejectedError(RuntimeError):
    """EventBridge accepted the call but rejected the entry (``FailedEntryCount``)."""


class EventPublisher(Protocol):
    def put_event(self, entry: Mapping[str, Any]) -> None:
        """Put one event (``Source``, ``DetailType``, ``Detail`` as an object, ``Resources``)."""
        ...


class Notifier(EventPublisher, Protocol):
    def alert(self, alert: Alert) -> None: ...


def sns_subject(text: str) -> str:
    """SNS refuses subjects with control or non-ASCII characters, or over 100 characters."""
    printable = "".join(char if char.isprintable() and char.isascii() else "?" for char in text)
    return printable[:SNS_SUBJECT_MAX_CHARS]


class AwsEventPublisher:
    """Puts governance events on a bus (what a handler that does not alert itself needs)."""

    def __init__(self, *, events_client: AwsClient, bus_name: str) -> None:
        self._events = events_client
        self._bus_name = bus_name

    def put_event(self, entry: Mapping[str, Any]) -> None:
        response = self._events.put_events(
            Entries=[
                {
                    **entry,
                    "Detail": json.dumps(entry["Detail"], sort_keys=True),
                    "EventBusName": self._bus_name,
                }
            ]
        )
        # PutEvents reports rejected entries in a successful response, not as an exception.
        if response.get("FailedEntryCount", 0):
            failed = (response.get("Entries") or [{}])[0]
            raise EventRejectedError(
                f"EventBridge rejected the {entry['DetailType']} event on bus {self._bus_name}: "
                f"{failed.get('ErrorCode')}: {failed.get('ErrorMessage')}"
            )


class AwsNotifier:
    def __init__(
        self, *, sns_client: AwsClient, events_client: AwsClient, topic_arn: str, bus_name: str
    ) -> None:
        self._sns = sns_client
        self._events = AwsEventPublisher(events_client=events_client, bus_name=bus_name)
        self._topic_arn = topic_arn

    def alert(self, alert: Alert) -> None:
        request: dict[str, Any] = {
            "TopicArn": self._topic_arn,
            "Subject": sns_subject(alert.subject),
            "Message": alert.message,
        }
        if alert.attributes:
            request["MessageAttributes"] = {
                name: {"DataType": "String", "StringValue": value}
                for name, value in alert.attributes.items()
            }
        self._sns.publish(**request)

    def put_event(self, entry: Mapping[str, Any]) -> None:
        self._events.put_event(entry)

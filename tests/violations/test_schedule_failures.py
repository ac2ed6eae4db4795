"""A monitoring pipeline its schedule could not start: a ledger record and an alert.

The models stack's schedule-failures handler relays each dead letter as a ``Monitoring Schedule
Start Failed`` event; the foundation's rule sends it to the violations handler, which records
and alerts. EventBridge Scheduler puts a start it could not make in the schedules' queue. The
message below is the user guide's "Retrieve the dead-letter event" example
(docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html) with this app's
schedule and a SageMaker error; the handler receives it as an SQS record of a Lambda SQS event
(Lambda developer guide, with-sqs, "Example standard queue message event": camelCase keys,
``messageAttributes.<name>.stringValue``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from governance.contracts.errors import InvalidEventError
from governance.contracts.vocabulary import DetailType, EventSource
from governance.events import (
    MonitoringOutcome,
    MonitoringViolationEvent,
    ScheduleDeadLetterEvent,
    ScheduleDeadLetterRecord,
    ScheduleStartFailedEvent,
    parse_event,
)
from governance.logic.monitoring import ViolationStores, run_schedule_start_failure
from governance.logic.schedule_failures import relay, start_failed_entry
from governance.schedule_failures import ScheduleFailureSettings, build_handler
from governance.violations import IDEMPOTENCY_KEY
from governance.violations import build_handler as build_violations_handler
from tests.handlers.fakes import (
    FakeEvidence,
    FakeMonitoringRuns,
    FakeNotifier,
    FakeParameters,
    FakePipelines,
)
from tests.violations.conftest import (
    ACCOUNT,
    ENDPOINTS,
    REGION,
    Aws,
    FakeLambdaContext,
)

QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:example-bank-prod-models-00-ScheduleDeadLetters"
SCHEDULE = "credit-default-prod-data-quality"
SCHEDULE_ARN = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{SCHEDULE}"
BATCH = "churn-prod-batch"
# The user guide's example attributes, for a pipeline the scheduler role may not start.
ATTRIBUTES = {
    "ERROR_CODE": "AccessDeniedException",
    "ERROR_MESSAGE": "User is not authorized to perform: sagemaker:StartPipelineExecution",
    "EXECUTION_ID": "ad06616e51cdf74a",
    "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts",
    "IS_PAYLOAD_TRUNCATED": "false",
    "RETRY_ATTEMPTS": "3",
    "SCHEDULED_TIME": "2026-12-02T03:00:00Z",
    "SCHEDULE_ARN": SCHEDULE_ARN,
    "TARGET_ARN": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{SCHEDULE}",
}


def _record(attributes: dict[str, str] | None = None, **overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "messageId": "2aeg3510-fe3a-4f5a-ab6a-6906560eaf7e",
        "receiptHandle": "AQEBkNKTdOMrWgHKPoITRBwrPoK3eCSZIcZwVqCY0BZ",
        "body": "{}",
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1764644400000",
            "SenderId": "AROA2DZE3W4CTL5ZR7EIN:ff00212d8c453aaaae644bc6846d4723",
            "ApproximateFirstReceiveTimestamp": "1764644400100",
        },
        "messageAttributes": {
            name: {"stringValue": value, "dataType": "String", "stringListValues": []}
            for name, value in (ATTRIBUTES if attributes is None else attributes).items()
        },
        "md5OfBody": "99914b932bd37a50b983c5e7c90ae93b",
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": REGION,
    }
    record.update(overrides)
    return record


def parse_dead_letter(record: dict[str, Any]) -> ScheduleDeadLetterRecord:
    """The record as the handler parses it: inside the Lambda SQS event."""
    (letter,) = parse_event({"Records": [record]}, ScheduleDeadLetterEvent).Records
    return letter


def _parameters() -> FakeParameters:
    batch = {
        "model_name": "churn",
        "model_package_group_name": "churn",
        "endpoint_name": BATCH,
        "monitors": {"data_quality": f"{BATCH}-data-quality"},
        "retraining_pipeline_name": None,
    }
    return FakeParameters(endpoints={**ENDPOINTS, BATCH: batch})


def _relayed(record: dict[str, Any]) -> dict[str, Any]:
    """The event the relay puts, as EventBridge delivers it to the violations handler."""
    entry = start_failed_entry(parse_dead_letter(record))
    return {
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": ACCOUNT,
        "time": "2026-12-02T03:05:00Z",
        "region": REGION,
        "resources": entry["Resources"],
        "detail": entry["Detail"],
    }


def _recorded(record: dict[str, Any]) -> tuple[FakeNotifier, dict[str, Any]]:
    notifier = FakeNotifier()
    stores = ViolationStores(
        runs=FakeMonitoringRuns(),
        parameters=_parameters(),
        evidence=FakeEvidence(),
        pipelines=FakePipelines(),
        notifier=notifier,
    )
    change = parse_event(_relayed(record), ScheduleStartFailedEvent)
    return notifier, run_schedule_start_failure(change, stores).as_dict()


# --- the relay (fakes) -----------------------------------------------------------------------


def test_the_relay_puts_one_event_with_every_documented_attribute() -> None:
    publisher = FakeNotifier()
    relay(parse_dead_letter(_record()), publisher)
    (entry,) = publisher.events
    assert (entry["Source"], entry["DetailType"]) == (
        EventSource.GOVERNANCE.value,
        DetailType.SCHEDULE_START_FAILED.value,
    )
    assert entry["Resources"] == [SCHEDULE_ARN, QUEUE_ARN]
    detail = entry["Detail"]
    assert detail["scheduleArn"] == SCHEDULE_ARN
    assert detail["executionId"] == ATTRIBUTES["EXECUTION_ID"]
    assert detail["errorCode"] == ATTRIBUTES["ERROR_CODE"]
    assert detail["exhaustedRetryCondition"] == "MaximumRetryAttempts"
    assert detail["queueArn"] == QUEUE_ARN
    # not a governance record itself: the ledger's rule does not take this detail-type
    assert publisher.alerts == []


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (
            _record({k: v for k, v in ATTRIBUTES.items() if k != "SCHEDULE_ARN"}),
            "field 'Records[0].messageAttributes.SCHEDULE_ARN': got <missing>; expected "
            "EventBridge Scheduler's dead-letter attribute",
        ),
        (
            _record({**ATTRIBUTES, "SCHEDULE_ARN": "arn:aws:events:eu-west-1:1:rule/x"}),
            "field 'Records[0].messageAttributes.SCHEDULE_ARN.stringValue': got "
            "'arn:aws:events:eu-west-1:1:rule/x'; expected an EventBridge Scheduler schedule "
            "ARN, arn:<partition>:scheduler:<region>:<account>:schedule/<group>/<name>",
        ),
        (_record(eventSourceARN=None), "field 'Records[0].eventSourceARN': got None"),
    ],
)
def test_a_malformed_dead_letter_names_the_field(record: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidEventError) as raised:
        parse_dead_letter(record)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"Records": []}, "field 'Records': got []; expected a list of SQS records"),
        ({}, "field 'Records': got <missing>"),
        ([], "expected a Lambda event object"),
    ],
)
def test_the_handler_refuses_an_event_without_dead_letters(event: Any, message: str) -> None:
    # Given a handler whose publisher must not be reached
    handle = build_handler(ScheduleFailureSettings(), lambda service: None)
    # When it receives no SQS records, Then it fails naming the field
    with pytest.raises(InvalidEventError) as raised:
        handle(event, FakeLambdaContext())  # type: ignore[arg-type]
    assert message in str(raised.value)


# --- the violations handler's decision (fakes) -------------------------------------------------


def test_a_failed_check_start_is_recorded_and_alerted_naming_model_and_check() -> None:
    notifier, result = _recorded(_record())
    (entry,) = notifier.events
    assert (entry["Source"], entry["DetailType"]) == (
        EventSource.GOVERNANCE.value,
        DetailType.MONITORING_VIOLATION.value,
    )
    assert entry["Resources"] == [SCHEDULE_ARN]
    detail = entry["Detail"]
    assert detail["outcome"] == MonitoringOutcome.MONITORING_FAILED.value
    assert (detail["modelName"], detail["endpointName"], detail["monitorType"]) == (
        "credit-default",
        "credit-default-prod",
        "data_quality",
    )
    assert detail["monitoringScheduleName"] == SCHEDULE
    reason = detail["failureReason"]
    for part in (
        SCHEDULE,
        "2026-12-02T03:00:00Z",
        "3 retries",
        "gave up on MaximumRetryAttempts",
        "AccessDeniedException: User is not authorized",
        "No results this run for: data quality",
    ):
        assert part in reason
    (alert,) = notifier.alerts
    assert alert.subject == f"Monitoring NOT STARTED: schedule {SCHEDULE}"
    assert "Model:                credit-default" in alert.message
    assert reason in alert.message
    assert alert.attributes["outcome"] == "monitoring_failed"
    assert result["status"] == "recorded"


def test_a_failed_batch_start_names_every_check_of_the_run() -> None:
    arn = SCHEDULE_ARN.replace(SCHEDULE, BATCH)
    notifier, _ = _recorded(_record({**ATTRIBUTES, "SCHEDULE_ARN": arn}))
    detail = notifier.events[0]["Detail"]
    assert detail["endpointName"] == BATCH
    assert detail["failureReason"].endswith("No results this run for: data quality")


def test_a_permanent_error_says_it_was_not_retried() -> None:
    attributes = {k: v for k, v in ATTRIBUTES.items() if k != "EXHAUSTED_RETRY_CONDITION"}
    notifier, _ = _recorded(_record({**attributes, "RETRY_ATTEMPTS": "0"}))
    assert "(0 retries, not retryable)" in notifier.events[0]["Detail"]["failureReason"]


def test_redeliveries_of_one_failed_start_share_the_record_id_and_idempotency_key() -> None:
    import jmespath

    first = _relayed(_record())
    again = _relayed(_record(messageId="another-delivery"))
    other = _relayed(_record({**ATTRIBUTES, "EXECUTION_ID": "b17d0c2a9e4f3d11"}))
    keys = [jmespath.search(IDEMPOTENCY_KEY, event) for event in (first, again, other)]
    assert keys[0] == keys[1] == f"{SCHEDULE_ARN}#{ATTRIBUTES['EXECUTION_ID']}" != keys[2]
    ids = [
        _recorded(r)[0].events[0]["Detail"]["recordId"] for r in (_record(), _record(messageId="x"))
    ]
    assert ids[0] == ids[1]


def test_a_schedule_of_no_governed_pipeline_fails_the_event_for_retry() -> None:
    arn = SCHEDULE_ARN.replace(SCHEDULE, "someone-elses-schedule")
    with pytest.raises(InvalidEventError, match=r"someone-elses-schedule .* names no governed"):
        _recorded(_record({**ATTRIBUTES, "SCHEDULE_ARN": arn}))


# --- end to end (moto) ----------------------------------------------------------------------


def test_a_dead_letter_ends_in_an_sns_alert_and_a_ledger_event(aws: Aws) -> None:
    # moto's account (tests/violations/conftest.py: SNS through a subscribed queue, the ledger's
    # rule to a queue, the endpoint parameters in SSM) plus the schedules' dead-letter queue
    # and the foundation's ScheduleFailuresToViolations pattern to a queue
    from cdk_constructs.handlers import schedule_failures_pattern

    sqs = aws.sqs
    events = aws.client("events")

    def queue(name: str) -> tuple[str, str]:
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return url, arn["Attributes"]["QueueArn"]

    dlq_url, dlq_arn = queue("schedule-dead-letters")
    relayed_url, relayed_arn = queue("violations-handler-stand-in")
    pattern = schedule_failures_pattern()
    events.put_rule(
        Name="schedule-failures-to-violations",
        EventPattern=json.dumps({"source": pattern.source, "detail-type": pattern.detail_type}),
    )
    events.put_targets(
        Rule="schedule-failures-to-violations", Targets=[{"Id": "v", "Arn": relayed_arn}]
    )

    # Given the dead letter EventBridge Scheduler sent (the user guide's attributes)
    sqs.send_message(
        QueueUrl=dlq_url,
        MessageBody="{}",
        MessageAttributes={
            name: {"DataType": "String", "StringValue": value} for name, value in ATTRIBUTES.items()
        },
    )
    (message,) = sqs.receive_message(
        QueueUrl=dlq_url, MessageAttributeNames=["All"], AttributeNames=["All"]
    )["Messages"]
    # As Lambda's SQS event source hands it to the function (with-sqs event format)
    record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message["Attributes"],
        "messageAttributes": {
            name: {"stringValue": value["StringValue"], "dataType": value["DataType"]}
            for name, value in message["MessageAttributes"].items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": dlq_arn,
        "awsRegion": REGION,
    }
    context = FakeLambdaContext()

    # When the relay handles it, and the violations handler the event the rule delivered
    build_handler(ScheduleFailureSettings(), aws.client)(
        {"Records": [record]},
        context,  # type: ignore[arg-type]
    )
    (delivered,) = sqs.receive_message(QueueUrl=relayed_url)["Messages"]
    relayed = json.loads(delivered["Body"])
    assert aws.ledger_events() == []  # the relay itself is no ledger record
    result = build_violations_handler(aws.settings, aws.client)(relayed, context)  # type: ignore[arg-type]

    # Then SNS carried the alert and the ledger's rule the monitoring violation
    assert result["status"] == "recorded"
    (alert,) = aws.alerts()
    assert alert["Subject"] == f"Monitoring NOT STARTED: schedule {SCHEDULE}"
    assert alert["MessageAttributes"]["outcome"]["Value"] == "monitoring_failed"
    (ledger,) = aws.ledger_events()
    event = MonitoringViolationEvent.model_validate(ledger)
    assert event.detail.outcome is MonitoringOutcome.MONITORING_FAILED
    assert event.detail.model_name == "credit-default"
    assert event.detail.monitoring_schedule_name == SCHEDULE
    # And a second delivery of the same event is held back by the idempotency record
    build_violations_handler(aws.settings, aws.client)(relayed, context)  # type: ignore[arg-type]
    assert aws.alerts() == []
    assert aws.ledger_events() == []

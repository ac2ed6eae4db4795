"""A monitoring pipeline its schedule could not start: a ledger record and an alert.

EventBridge Scheduler puts a start it could not make in the schedules' dead-letter queue. The
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
from governance.events import MonitoringOutcome, MonitoringViolationEvent
from governance.schedule_failures import (
    ScheduleFailureSettings,
    build_handler,
    parse_dead_letter,
    record_failed_start,
)
from tests.handlers.fakes import FakeNotifier, FakeParameters
from tests.violations.conftest import (
    ACCOUNT,
    ENDPOINTS,
    PARAMETER_PREFIX,
    REGION,
    SESSION,
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


def _parameters() -> FakeParameters:
    batch = {
        "model_name": "churn",
        "model_package_group_name": "churn",
        "endpoint_name": BATCH,
        "monitors": {"data_quality": f"{BATCH}-data-quality"},
        "retraining_pipeline_name": None,
    }
    return FakeParameters(endpoints={**ENDPOINTS, BATCH: batch})


# --- decisions (fakes) ----------------------------------------------------------------------


def test_a_failed_check_start_is_one_governance_event_naming_model_and_check() -> None:
    publisher = FakeNotifier()
    result = record_failed_start(parse_dead_letter(_record()), _parameters(), publisher)
    (entry,) = publisher.events
    assert (entry["Source"], entry["DetailType"]) == (
        EventSource.GOVERNANCE.value,
        DetailType.MONITORING_VIOLATION.value,
    )
    # The schedule and the queue: the owning stack's alert rule matches the queue
    assert entry["Resources"] == [SCHEDULE_ARN, QUEUE_ARN]
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
    assert result["record_id"] == detail["recordId"]
    assert publisher.alerts == []  # the owning stack's rule alerts, not the handler


def test_a_failed_batch_start_names_every_check_of_the_run() -> None:
    publisher = FakeNotifier()
    arn = SCHEDULE_ARN.replace(SCHEDULE, BATCH)
    letter = parse_dead_letter(_record({**ATTRIBUTES, "SCHEDULE_ARN": arn}))
    record_failed_start(letter, _parameters(), publisher)
    detail = publisher.events[0]["Detail"]
    assert detail["endpointName"] == BATCH
    assert detail["failureReason"].endswith("No results this run for: data quality")


def test_a_permanent_error_says_it_was_not_retried() -> None:
    attributes = {k: v for k, v in ATTRIBUTES.items() if k != "EXHAUSTED_RETRY_CONDITION"}
    letter = parse_dead_letter(_record({**attributes, "RETRY_ATTEMPTS": "0"}))
    assert "(0 retries, not retryable)" in letter.failure_reason


def test_redeliveries_of_one_failed_start_share_the_record_id() -> None:
    first = parse_dead_letter(_record())
    again = parse_dead_letter(_record(messageId="another-delivery"))
    other = parse_dead_letter(_record({**ATTRIBUTES, "EXECUTION_ID": "b17d0c2a9e4f3d11"}))
    assert first.record_id == again.record_id != other.record_id


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (
            _record({k: v for k, v in ATTRIBUTES.items() if k != "SCHEDULE_ARN"}),
            "messageAttributes.SCHEDULE_ARN.stringValue': missing",
        ),
        (
            _record({**ATTRIBUTES, "SCHEDULE_ARN": "arn:aws:events:eu-west-1:1:rule/x"}),
            "expected arn:<partition>:scheduler:<region>:<account>:schedule/<group>/<name>",
        ),
        (_record(eventSourceARN=None), "field 'eventSourceARN': got None"),
    ],
)
def test_a_malformed_dead_letter_names_the_field(record: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidEventError) as raised:
        parse_dead_letter(record)
    assert message in str(raised.value)


def test_a_schedule_of_no_governed_pipeline_fails_the_message_for_redrive() -> None:
    arn = SCHEDULE_ARN.replace(SCHEDULE, "someone-elses-schedule")
    letter = parse_dead_letter(_record({**ATTRIBUTES, "SCHEDULE_ARN": arn}))
    publisher = FakeNotifier()
    with pytest.raises(InvalidEventError, match=r"someone-elses-schedule .* names no governed"):
        record_failed_start(letter, _parameters(), publisher)
    assert publisher.events == []


# --- end to end (moto) ----------------------------------------------------------------------


def test_a_dead_letter_reaches_the_ledger_rule_and_only_its_own_stacks_alert_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto import mock_aws
    from moto.events.utils import EventTemplateParser

    from cdk_constructs.monitoring.schedule_failures import ALERT_FIELDS
    from tests.violations.conftest import _default_input_template

    monkeypatch.setattr(EventTemplateParser, "parse", staticmethod(_default_input_template))
    with mock_aws():
        sqs = SESSION.client("sqs")

        def queue(name: str) -> tuple[str, str]:
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            return url, arn["Attributes"]["QueueArn"]

        dlq_url, dlq_arn = queue("schedule-dead-letters")
        other_dlq_arn = queue("other-stack-schedule-dead-letters")[1]
        events = SESSION.client("events")
        # The foundation's ledger rule, this stack's alert rule and another stack's: each to a
        # queue standing in for its target
        patterns = {
            "ledger": {
                "source": [EventSource.GOVERNANCE.value],
                "detail-type": [DetailType.MONITORING_VIOLATION.value],
            },
            "alerts": {
                "source": [EventSource.GOVERNANCE.value],
                "detail-type": [DetailType.MONITORING_VIOLATION.value],
                "resources": [dlq_arn],
            },
            "other-alerts": {
                "source": [EventSource.GOVERNANCE.value],
                "detail-type": [DetailType.MONITORING_VIOLATION.value],
                "resources": [other_dlq_arn],
            },
        }
        delivered = {}
        for name, pattern in patterns.items():
            url, arn = queue(f"{name}-target")
            events.put_rule(Name=name, EventPattern=json.dumps(pattern))
            events.put_targets(Rule=name, Targets=[{"Id": name, "Arn": arn}])
            delivered[name] = url
        ssm = SESSION.client("ssm")
        for endpoint, document in ENDPOINTS.items():
            ssm.put_parameter(
                Name=f"{PARAMETER_PREFIX}{endpoint}", Type="String", Value=json.dumps(document)
            )

        # Given the dead letter EventBridge Scheduler sent (user guide's attributes)
        sqs.send_message(
            QueueUrl=dlq_url,
            MessageBody="{}",
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value}
                for name, value in ATTRIBUTES.items()
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

        # When the handler processes it
        settings = ScheduleFailureSettings(ENDPOINT_PARAMETER_PREFIX=PARAMETER_PREFIX)
        clients = {"ssm": ssm, "events": events}
        result = build_handler(settings, clients.__getitem__)(
            {"Records": [record]},
            FakeLambdaContext(),  # type: ignore[arg-type]
        )

        # Then the ledger's rule and this stack's alert rule got the event, the other not
        def received(name: str) -> list[dict[str, Any]]:
            messages = sqs.receive_message(QueueUrl=delivered[name]).get("Messages", [])
            return [json.loads(m["Body"]) for m in messages]

        (ledger,) = received("ledger")
        assert received("alerts") == [ledger]
        assert received("other-alerts") == []
        # And the ledger reads it as a monitoring violation of the model and check
        event = MonitoringViolationEvent.model_validate(ledger)
        assert event.detail.outcome is MonitoringOutcome.MONITORING_FAILED
        assert event.detail.model_name == "credit-default"
        assert event.detail.monitoring_schedule_name == SCHEDULE
        assert event.detail.record_id == result["results"][0]["record_id"]
        # And every field the alert rule's input transformer reads is in the event
        for path in ALERT_FIELDS.values():
            assert ledger["detail"][path.removeprefix("$.detail.")], path

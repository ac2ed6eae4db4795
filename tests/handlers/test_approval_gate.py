"""The approval gate against moto: verdicts, reverts, alerts, verdict events, idempotency."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from governance import approval_gate
from governance.events import EventValidationError
from governance.policy import PolicyValidationError, UnknownModelGroupError

from .conftest import (
    ALERT_TOPIC_ARN,
    ARTIFACT_BUCKET,
    CREDIT_DEFAULT_POLICY,
    GROUP,
    Aws,
    FakeLambdaContext,
    load_event,
)

ALL_CHECKS = [
    "model_quality_metrics",
    "bias_report",
    "bias_thresholds",
    "explainability_report",
    "drift_check_baselines",
    "model_card_approved",
    "approval_description",
    "separate_approver",
]


def _failed(checks: list[dict[str, Any]]) -> dict[str, str]:
    return {c["name"]: c["reason"] for c in checks if not c["passed"]}


def test_full_evidence_passes_and_announces_the_verdict(
    aws: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given an approved package with every piece of evidence the high-risk policy requires
    event = load_event("approval_full_evidence")
    arn = aws.register(event)
    # (and the handler building its own clients from the environment, as on a cold start)
    approval_gate.reset()

    # When the gate handles the approval event
    result = approval_gate.handler(event, lambda_context)

    # Then the approval stands, nobody is alerted, and a "passed" verdict is published
    assert result["result"] == "passed"
    assert aws.package(arn)["ModelApprovalStatus"] == "Approved"
    assert aws.alerts() == []
    [verdict] = aws.verdict_events()
    assert verdict["source"] == "sagemaker.governance"
    assert verdict["detail-type"] == "Model Approval Verdict"
    detail = verdict["detail"]
    assert detail["verdict"] == "passed"
    assert detail["actionTaken"] == "none"
    assert detail["sourceEventId"] == event["id"]
    assert detail["modelPackageArn"] == arn
    assert detail["modelPackageVersion"] == 1
    assert [c["name"] for c in detail["checks"]] == ALL_CHECKS
    assert all(c["passed"] for c in detail["checks"])
    bias_uri = event["detail"]["ModelMetrics"]["Bias"]["Report"]["S3Uri"]
    assert bias_uri in detail["evidenceUris"]
    thresholds = next(c for c in detail["checks"] if c["name"] == "bias_thresholds")
    assert "DI=0.934 within [0.8, 1.25] for gender=female" in thresholds["reason"]


def _delete_card(aws: Aws) -> None:
    aws.sagemaker.delete_model_card(ModelCardName="credit-default")


def _draft_card(aws: Aws) -> None:
    aws.put_model_card("credit-default", "Draft")


def _nothing(aws: Aws) -> None:
    return None


FAILURES: list[tuple[str, Callable[[Aws], None], dict[str, str]]] = [
    (
        "approval_missing_bias_report",
        _nothing,
        {
            "bias_report": "no bias report registered",
            "bias_thresholds": "no bias report registered to compare with thresholds",
        },
    ),
    (
        "approval_bias_over_threshold",
        _nothing,
        {
            "bias_thresholds": "DI=0.72 outside [0.8, 1.25] for gender=female; "
            "DPPL=-0.142 outside [-0.1, 0.1] for gender=female"
        },
    ),
    (
        "approval_self_approval",
        _nothing,
        {"separate_approver": "approver is the registrant (role:123456789012:"},
    ),
    ("approval_missing_model_card", _delete_card, {"model_card_approved": "not found"}),
    (
        "approval_draft_model_card",
        _draft_card,
        {"model_card_approved": "model card 'credit-default' is Draft, not Approved"},
    ),
    (
        "approval_empty_description",
        _nothing,
        {"approval_description": "approval description is empty"},
    ),
    (
        "approval_bias_report_object_missing",
        _nothing,
        {
            "bias_thresholds": f"bias report unreadable: s3://{ARTIFACT_BUCKET}/credit-default/"
            "pipelines-c3d4e5f6a7b8/clarify-bias/analysis.json could not be read (NoSuchKey)"
        },
    ),
    (
        "approval_bias_report_corrupt",
        _nothing,
        {"bias_thresholds": "clarify-bias/analysis.json is not valid JSON (Expecting"},
    ),
]


@pytest.mark.parametrize(("fixture", "arrange", "expected"), FAILURES, ids=[f[0] for f in FAILURES])
def test_missing_or_bad_evidence_reverts_the_approval(
    aws: Aws,
    lambda_context: FakeLambdaContext,
    fixture: str,
    arrange: Callable[[Aws], None],
    expected: dict[str, str],
) -> None:
    # Given an approved package whose evidence falls short in one way
    event = load_event(fixture)
    arn = aws.register(event)
    arrange(aws)

    # When the gate handles the approval event
    result = approval_gate.handler(event, lambda_context)

    # Then exactly the expected checks fail, each with a reason saying what is wrong
    assert result["result"] == "failed"
    failed = _failed(result["failedChecks"])
    assert set(failed) == set(expected)
    for name, fragment in expected.items():
        assert fragment in failed[name]

    # And the package is set back with every failed check in its description
    package = aws.package(arn)
    assert package["ModelApprovalStatus"] == "Rejected"
    description = package["ApprovalDescription"]
    assert description.startswith(f"[governance gate, event {event['id']}] Approval withdrawn")
    for name, reason in failed.items():
        assert f"{name}: {reason}" in description
    assert len(description) <= 1024

    # And a readable SNS alert names the model and every failed check
    [alert] = aws.alerts()
    assert alert["TopicArn"] == ALERT_TOPIC_ARN
    assert alert["Subject"] == "[high risk] Model approval withdrawn: credit-default v1"
    message = alert["Message"]
    assert f"Model package:       {arn}" in message
    assert "Status now:          Rejected" in message
    for name, reason in failed.items():
        assert f"  - {name}: {reason}" in message

    # And the verdict event lists every check and the action taken
    [verdict] = aws.verdict_events()
    detail = verdict["detail"]
    assert detail["verdict"] == "failed"
    assert detail["actionTaken"] == "status_set_to_Rejected"
    assert detail["sourceEventId"] == event["id"]
    assert _failed(detail["checks"]) == failed
    assert verdict["resources"] == [arn]


def test_every_failed_check_is_listed_when_several_fail(
    aws: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given a self-approval with no description, over-threshold bias and a draft model card
    event = load_event("approval_self_approval")
    event["detail"]["ApprovalDescription"] = ""
    for key in ("Report",):
        event["detail"]["ModelMetrics"]["Bias"][key]["S3Uri"] = event["detail"]["ModelMetrics"][
            "Bias"
        ][key]["S3Uri"].replace("pipelines-a1b2c3d4e5f6", "pipelines-b7c8d9e0f1a2")
    arn = aws.register(event)
    aws.put_model_card("credit-default", "Draft")

    # When the gate handles it
    approval_gate.handler(event, lambda_context)

    # Then all four failures are in the description, the alert and the verdict
    failed = _failed(aws.verdict_events()[0]["detail"]["checks"])
    assert set(failed) == {
        "bias_thresholds",
        "model_card_approved",
        "approval_description",
        "separate_approver",
    }
    description = aws.package(arn)["ApprovalDescription"]
    assert "4 of 8 checks failed" in description
    message = aws.alerts()[0]["Message"]
    assert "Failed checks (4 of 8):" in message
    for name in failed:
        assert name in description
        assert f"  - {name}: " in message


def test_on_failure_status_comes_from_the_policy(
    aws: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given a policy that sends failed approvals back to manual review instead of rejecting
    aws.put_policy(GROUP, {**CREDIT_DEFAULT_POLICY, "on_failure": "PendingManualApproval"})
    event = load_event("approval_empty_description")
    arn = aws.register(event)

    # When the gate handles the approval
    result = approval_gate.handler(event, lambda_context)

    # Then the package goes back to PendingManualApproval
    assert result["actionTaken"] == "status_set_to_PendingManualApproval"
    assert aws.package(arn)["ModelApprovalStatus"] == "PendingManualApproval"


def test_only_required_evidence_is_checked(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    # Given a low-risk policy that only asks for metrics and a description
    aws.put_policy(
        GROUP,
        {
            **CREDIT_DEFAULT_POLICY,
            "risk_tier": "low",
            "required_evidence": ["model_quality_metrics", "approval_description"],
            "bias_thresholds": {},
            "bias_facet": None,
        },
    )
    event = load_event("approval_self_approval")
    aws.register(event)
    aws.put_model_card("credit-default", "Draft")

    # When the gate handles a self-approval with a draft card
    result = approval_gate.handler(event, lambda_context)

    # Then it passes: neither rule is part of this model's policy
    assert result["result"] == "passed"
    names = [c["name"] for c in aws.verdict_events()[0]["detail"]["checks"]]
    assert names == ["model_quality_metrics", "approval_description"]


def test_non_approved_state_change_is_skipped(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    # Given a registration event (PendingManualApproval)
    event = load_event("state_change_pending_registration")
    aws.register(event)

    # When the gate handles it
    result = approval_gate.handler(event, lambda_context)

    # Then nothing is evaluated, changed, published or stored
    assert result["result"] == "skipped"
    assert result["reason"] == "status is PendingManualApproval"
    assert aws.alerts() == []
    assert aws.verdict_events() == []
    assert aws.dynamodb.scan(TableName="governance-idempotency")["Items"] == []


def test_malformed_event_raises_naming_the_field(
    aws: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given an event without ModelPackageArn
    event = load_event("malformed_missing_package_arn")

    # When / Then the gate refuses it with an error naming the field (EventBridge retries, DLQ)
    with pytest.raises(EventValidationError, match=r"'detail\.ModelPackageArn'.*<missing>"):
        approval_gate.handler(event, lambda_context)
    assert aws.alerts() == []


def test_unknown_group_raises_naming_group_and_parameter(
    aws: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given an approval in a group that has no policy parameter
    event = load_event("approval_unknown_group")
    arn = aws.register(event)

    # When / Then the gate raises naming the group and the parameter it looked for
    with pytest.raises(UnknownModelGroupError) as caught:
        approval_gate.handler(event, lambda_context)
    assert "'fraud-scoring-sandbox' is not governed" in str(caught.value)
    assert "/sagemaker-governance/models/fraud-scoring-sandbox" in str(caught.value)
    # And it has not touched the package
    assert aws.package(arn)["ModelApprovalStatus"] == "Approved"


def test_invalid_policy_raises_naming_field_value_and_allowed(
    aws: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given a policy with a typo in its risk tier
    aws.put_policy(GROUP, {**CREDIT_DEFAULT_POLICY, "risk_tier": "critical"})
    event = load_event("approval_full_evidence")
    aws.register(event)

    # When / Then the error names the parameter, field, value and the allowed values
    with pytest.raises(PolicyValidationError) as caught:
        approval_gate.handler(event, lambda_context)
    message = str(caught.value)
    assert "/sagemaker-governance/models/credit-default" in message
    assert "'risk_tier' is 'critical'" in message
    assert "high | medium | low" in message


def test_redelivered_event_is_handled_once(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    # Given an over-threshold approval the gate has already reverted
    event = load_event("approval_bias_over_threshold")
    arn = aws.register(event)
    first = approval_gate.handler(event, lambda_context)
    description = aws.package(arn)["ApprovalDescription"]

    # When EventBridge delivers the same event (same id) again
    second = approval_gate.handler(load_event("approval_bias_over_threshold"), lambda_context)

    # Then the stored result is returned and nothing is done twice
    assert second == first
    assert len(aws.alerts()) == 1
    assert len(aws.verdict_events()) == 1
    assert aws.package(arn)["ApprovalDescription"] == description
    [record] = aws.dynamodb.scan(TableName="governance-idempotency")["Items"]
    assert record["status"]["S"] == "COMPLETED"


def test_second_event_for_a_reverted_version_is_skipped(
    aws: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given an approval already reverted by the gate
    aws.register(load_event("approval_bias_over_threshold"))
    approval_gate.handler(load_event("approval_bias_over_threshold"), lambda_context)
    aws.alerts()
    aws.verdict_events()

    # When SageMaker sends another event (new id) for the same approval
    result = approval_gate.handler(
        load_event("approval_duplicate_of_bias_over_threshold"), lambda_context
    )

    # Then the gate sees the package is no longer Approved and does nothing
    assert result["result"] == "skipped"
    assert result["reason"] == "package is now Rejected"
    assert aws.alerts() == []
    assert aws.verdict_events() == []


class FlakySns:
    """Forwards to moto's SNS but fails the first publish, as a throttled SNS would."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.failures_left = 1

    def publish(self, **kwargs: Any) -> Any:
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("SNS unavailable")
        return self._real.publish(**kwargs)


def test_retry_after_failed_alert_sends_the_notifications(
    aws: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given the gate reverted an approval but SNS failed before the alert went out
    event = load_event("approval_bias_over_threshold")
    arn = aws.register(event)
    clients = approval_gate.GateClients(aws.sagemaker, aws.s3, FlakySns(aws.sns), aws.events)
    approval_gate.configure(clients=clients, ssm_client=aws.ssm, dynamodb_client=aws.dynamodb)
    with pytest.raises(RuntimeError, match="SNS unavailable"):
        approval_gate.handler(event, lambda_context)
    assert aws.package(arn)["ModelApprovalStatus"] == "Rejected"
    assert aws.alerts() == []

    # When EventBridge retries the same event
    result = approval_gate.handler(load_event("approval_bias_over_threshold"), lambda_context)

    # Then the gate recognises its own revert and sends the alert and verdict it owed
    assert result["result"] == "failed"
    assert result["notificationsResent"] is True
    [alert] = aws.alerts()
    assert "bias_thresholds: DI=0.72 outside" in alert["Message"]
    [verdict] = aws.verdict_events()
    assert set(_failed(verdict["detail"]["checks"])) == {"bias_thresholds"}
    assert aws.package(arn)["ModelApprovalStatus"] == "Rejected"


def test_custom_event_bus_is_used(
    aws: Aws, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the verdict bus is a custom bus with its own capture rule
    monkeypatch.setenv("EVENT_BUS_NAME", "governance")
    aws.configure_handlers()
    aws.events.create_event_bus(Name="governance")
    queue_url = aws.sqs.create_queue(QueueName="custom-bus")["QueueUrl"]
    queue_arn = aws.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    aws.events.put_rule(
        Name="custom",
        EventBusName="governance",
        EventPattern=json.dumps({"source": ["sagemaker.governance"]}),
    )
    aws.events.put_targets(
        Rule="custom", EventBusName="governance", Targets=[{"Id": "q", "Arn": queue_arn}]
    )
    event = load_event("approval_full_evidence")
    aws.register(event)

    # When the gate passes the approval
    approval_gate.handler(event, lambda_context)

    # Then the verdict goes to the custom bus, not the default one
    assert aws.verdict_events() == []
    messages = aws.sqs.receive_message(QueueUrl=queue_url)["Messages"]
    assert json.loads(messages[0]["Body"])["detail"]["verdict"] == "passed"


def test_retry_after_evidence_was_fixed_still_announces_the_revert(
    aws: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given the gate reverted an approval for a draft model card, but the alert failed
    event = load_event("approval_draft_model_card")
    aws.register(event)
    aws.put_model_card("credit-default", "Draft")
    clients = approval_gate.GateClients(aws.sagemaker, aws.s3, FlakySns(aws.sns), aws.events)
    approval_gate.configure(clients=clients, ssm_client=aws.ssm, dynamodb_client=aws.dynamodb)
    with pytest.raises(RuntimeError, match="SNS unavailable"):
        approval_gate.handler(event, lambda_context)

    # When the card is approved before EventBridge retries the event
    aws.put_model_card("credit-default", "Approved")
    result = approval_gate.handler(load_event("approval_draft_model_card"), lambda_context)

    # Then the revert is still announced, with the reason it was made
    assert result["result"] == "failed"
    [failed] = result["failedChecks"]
    assert failed["name"] == "gate_revert"
    assert "model_card_approved: model card 'credit-default' is Draft" in failed["reason"]
    assert len(aws.alerts()) == 1

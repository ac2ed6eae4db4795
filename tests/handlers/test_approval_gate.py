"""The approval gate: decisions against fakes, then a few runs end to end against moto."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from governance import approval_gate
from governance.approval_gate import GateSettings, build_handler
from governance.contracts.errors import InvalidEventError, InvalidParameterError
from governance.contracts.vocabulary import ModelCardStatus
from governance.data_access.parameters import UnknownModelGroupError
from governance.events import ModelPackageStateChange, parse_event
from governance.lambda_runtime import ConfigurationError
from governance.logic.approval import (
    GateStores,
    approving_version,
    evidence_location_check,
    governed_evidence_prefix,
    run_gate,
)
from governance.sagemaker import ModelPackage

from .conftest import (
    ALERT_TOPIC_ARN,
    ARTIFACT_BUCKET,
    CARD_APPROVER,
    CREDIT_DEFAULT_POLICY,
    GATE_SETTINGS,
    GROUP,
    IDEMPOTENCY_TABLE,
    Aws,
    FakeLambdaContext,
    load_event,
    moto_client,
)
from .fakes import FakeEvidence, FakeModelCards, FakeNotifier, FakeParameters, FakeRegistry

ALL_CHECKS = [
    "model_quality_metrics",
    "bias_report",
    "bias_thresholds",
    "explainability_report",
    "drift_check_baselines",
    "model_card_approved",
    "approval_description",
    "separate_approver",
    "evidence_location",
]


def _failed(checks: list[dict[str, Any]]) -> dict[str, str]:
    return {c["name"]: c["reason"] for c in checks if not c["passed"]}


def judge(gate: GateStores, event: dict[str, Any]) -> dict[str, Any]:
    """Register the package the event describes, then let the gate judge the event."""
    registry(gate).put(event["detail"])
    return run_gate(parse_event(event, ModelPackageStateChange), gate)


def registry(gate: GateStores) -> FakeRegistry:
    assert isinstance(gate.registry, FakeRegistry)
    return gate.registry


def notifier(gate: GateStores) -> FakeNotifier:
    assert isinstance(gate.notifier, FakeNotifier)
    return gate.notifier


def cards(gate: GateStores) -> FakeModelCards:
    assert isinstance(gate.cards, FakeModelCards)
    return gate.cards


def parameters(gate: GateStores) -> FakeParameters:
    assert isinstance(gate.parameters, FakeParameters)
    return gate.parameters


# --- Decisions (fakes) -----------------------------------------------------------------------


def test_full_evidence_passes_and_announces_the_verdict(gate: GateStores) -> None:
    # Given an approved package with every piece of evidence the high-risk policy requires
    event = load_event("approval_full_evidence")

    # When the gate judges the approval
    result = judge(gate, event)

    # Then the approval stands, nobody is alerted, and a "passed" verdict is published
    assert result["result"] == "passed"
    assert registry(gate).updates == []
    assert notifier(gate).alerts == []
    [verdict] = notifier(gate).events
    assert verdict["Source"] == "sagemaker.governance"
    assert verdict["DetailType"] == "Model Approval Verdict"
    detail = verdict["Detail"]
    assert detail["verdict"] == "passed"
    assert detail["actionTaken"] == "none"
    assert detail["sourceEventId"] == event["id"]
    assert detail["modelPackageArn"] == event["detail"]["ModelPackageArn"]
    assert detail["modelPackageVersion"] == 1
    assert [c["name"] for c in detail["checks"]] == ALL_CHECKS
    assert all(c["passed"] for c in detail["checks"])
    bias_uri = event["detail"]["ModelMetrics"]["Bias"]["Report"]["S3Uri"]
    assert bias_uri in detail["evidenceUris"]
    thresholds = next(c for c in detail["checks"] if c["name"] == "bias_thresholds")
    assert "DI=0.934 within [0.8, 1.25] for gender=female" in thresholds["reason"]
    # And the verdict names who approved and who registered, as the gate read them
    assert "AWSReservedSSO_ModelApprover" in detail["approver"]
    assert "user-profile d-7hq2kx0vbn4c/dana-lee" in detail["registrant"]
    card = next(c for c in detail["checks"] if c["name"] == "model_card_approved")
    assert "v2 is Approved (in v2 by" in card["reason"]
    assert "maria.okafor@example.com" in card["reason"]


def _delete_card(gate: GateStores) -> None:
    cards(gate).versions.clear()


def _draft_card(gate: GateStores) -> None:
    cards(gate).add_version(GROUP, "Draft", last_modified_by=CARD_APPROVER)


def _nothing(gate: GateStores) -> None:
    return None


FAILURES: list[tuple[str, Callable[[GateStores], None], dict[str, str]]] = [
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
            "bias_thresholds": f"bias report unreadable: s3://{ARTIFACT_BUCKET}/baselines/"
            "credit-default/pipelines-c3d4e5f6a7b8/clarify-bias/analysis.json could not be read "
            "(NoSuchKey)"
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
    gate: GateStores,
    fixture: str,
    arrange: Callable[[GateStores], None],
    expected: dict[str, str],
) -> None:
    # Given an approved package whose evidence falls short in one way
    event = load_event(fixture)
    arrange(gate)

    # When the gate judges the approval
    result = judge(gate, event)

    # Then exactly the expected checks fail, each with a reason saying what is wrong
    assert result["result"] == "failed"
    failed = _failed(result["failedChecks"])
    assert set(failed) == set(expected)
    for name, fragment in expected.items():
        assert fragment in failed[name]

    # And the package is set back with every failed check in its description
    arn = event["detail"]["ModelPackageArn"]
    [(updated, status, description)] = registry(gate).updates
    assert (updated, status) == (arn, "Rejected")
    assert description.startswith(f"[governance gate, event {event['id']}] Approval withdrawn")
    for name, reason in failed.items():
        assert f"{name}: {reason}" in description
    assert len(description) <= 1024

    # And a readable alert names the model and every failed check
    [alert] = notifier(gate).alerts
    assert alert.subject == "[high risk] Model approval withdrawn: credit-default v1"
    assert f"Model package:       {arn}" in alert.message
    assert "Status now:          Rejected" in alert.message
    for name, reason in failed.items():
        assert f"  - {name}: {reason}" in alert.message

    # And the verdict event lists every check and the action taken
    [verdict] = notifier(gate).events
    detail = verdict["Detail"]
    assert detail["verdict"] == "failed"
    assert detail["actionTaken"] == "status_set_to_Rejected"
    assert detail["sourceEventId"] == event["id"]
    assert _failed(detail["checks"]) == failed
    assert verdict["Resources"] == [arn]


def test_every_failed_check_is_listed_when_several_fail(gate: GateStores) -> None:
    # Given a self-approval with no description, over-threshold bias and a draft model card
    event = load_event("approval_self_approval")
    event["detail"]["ApprovalDescription"] = ""
    bias = event["detail"]["ModelMetrics"]["Bias"]["Report"]
    bias["S3Uri"] = bias["S3Uri"].replace("pipelines-a1b2c3d4e5f6", "pipelines-b7c8d9e0f1a2")
    _draft_card(gate)

    # When the gate judges it
    judge(gate, event)

    # Then all four failures are in the description, the alert and the verdict
    failed = _failed(notifier(gate).details[0]["checks"])
    assert set(failed) == {
        "bias_thresholds",
        "model_card_approved",
        "approval_description",
        "separate_approver",
    }
    [(_, _, description)] = registry(gate).updates
    assert "4 of 9 checks failed" in description
    message = notifier(gate).alerts[0].message
    assert "Failed checks (4 of 9):" in message
    for name in failed:
        assert name in description
        assert f"  - {name}: " in message


def test_on_failure_status_comes_from_the_policy(gate: GateStores) -> None:
    # Given a policy that sends failed approvals back to manual review instead of rejecting
    parameters(gate).policies[GROUP] = {
        **CREDIT_DEFAULT_POLICY,
        "on_failure": "PendingManualApproval",
    }

    # When the gate judges an approval without a description
    result = judge(gate, load_event("approval_empty_description"))

    # Then the package goes back to PendingManualApproval
    assert result["actionTaken"] == "status_set_to_PendingManualApproval"
    assert registry(gate).updates[0][1] == "PendingManualApproval"


def test_only_required_evidence_is_checked(gate: GateStores) -> None:
    # Given a low-risk policy that only asks for metrics and a description
    parameters(gate).policies[GROUP] = {
        **CREDIT_DEFAULT_POLICY,
        "risk_tier": "low",
        "required_evidence": ["model_quality_metrics", "approval_description"],
        "bias_thresholds": {},
        "bias_facet": None,
    }
    _draft_card(gate)

    # When the gate judges a self-approval with a draft card
    result = judge(gate, load_event("approval_self_approval"))

    # Then it passes: neither rule is part of this model's policy, and nothing else was read
    assert result["result"] == "passed"
    names = [c["name"] for c in notifier(gate).details[0]["checks"]]
    assert names == ["model_quality_metrics", "approval_description", "evidence_location"]
    assert isinstance(gate.evidence, FakeEvidence)
    assert gate.evidence.reads == []


def test_non_approved_state_change_is_skipped_without_reading_anything(gate: GateStores) -> None:
    # Given a registration event (PendingManualApproval)
    event = load_event("state_change_pending_registration")

    # When the gate judges it
    result = judge(gate, event)

    # Then nothing is read, changed or published
    assert result["result"] == "skipped"
    assert result["reason"] == "status is PendingManualApproval"
    assert parameters(gate).reads == []
    assert notifier(gate).alerts == notifier(gate).events == []


def test_unknown_group_raises_naming_group_and_parameter(gate: GateStores) -> None:
    # Given an approval in a group that has no policy parameter
    event = load_event("approval_unknown_group")

    # When / Then the gate raises naming the group and the parameter it looked for
    with pytest.raises(UnknownModelGroupError) as caught:
        judge(gate, event)
    assert "'fraud-scoring-sandbox' is not governed" in str(caught.value)
    assert "/sagemaker-governance/models/fraud-scoring-sandbox" in str(caught.value)
    # And it has not touched the package
    assert registry(gate).updates == []


def test_invalid_policy_raises_naming_field_value_and_allowed(gate: GateStores) -> None:
    # Given a policy with a typo in its risk tier
    parameters(gate).policies[GROUP] = {**CREDIT_DEFAULT_POLICY, "risk_tier": "critical"}

    # When / Then the error names the parameter, field, value and the allowed values
    with pytest.raises(InvalidParameterError) as caught:
        judge(gate, load_event("approval_full_evidence"))
    message = str(caught.value)
    assert "/sagemaker-governance/models/credit-default" in message
    assert "field 'risk_tier': got 'critical'" in message
    assert "one of high, medium, low" in message


def test_second_event_for_a_reverted_version_is_skipped(gate: GateStores) -> None:
    # Given an approval already reverted by the gate
    judge(gate, load_event("approval_bias_over_threshold"))
    notifier(gate).alerts.clear()
    notifier(gate).events.clear()

    # When SageMaker sends another event (new id) for the same approval
    duplicate = load_event("approval_duplicate_of_bias_over_threshold")
    result = run_gate(parse_event(duplicate, ModelPackageStateChange), gate)

    # Then the gate sees the package is no longer Approved and does nothing
    assert result["result"] == "skipped"
    assert result["reason"] == "package is now Rejected"
    assert notifier(gate).alerts == notifier(gate).events == []


def test_retry_after_failed_alert_sends_the_notifications(gate: GateStores) -> None:
    # Given the gate reverted an approval but the alert failed before it went out
    event = load_event("approval_bias_over_threshold")
    notifier(gate).failing_alerts = 1
    with pytest.raises(RuntimeError, match="SNS unavailable"):
        judge(gate, event)
    assert registry(gate).packages[event["detail"]["ModelPackageArn"]]["ModelApprovalStatus"] == (
        "Rejected"
    )

    # When EventBridge retries the same event
    result = run_gate(parse_event(event, ModelPackageStateChange), gate)

    # Then the gate recognises its own revert and sends the alert and verdict it owed, once
    assert result["result"] == "failed"
    assert result["notificationsResent"] is True
    assert len(registry(gate).updates) == 1
    [alert] = notifier(gate).alerts
    assert "bias_thresholds: DI=0.72 outside" in alert.message
    [verdict] = notifier(gate).details
    assert set(_failed(verdict["checks"])) == {"bias_thresholds"}


def test_retry_after_evidence_was_fixed_still_announces_the_revert(gate: GateStores) -> None:
    # Given the gate reverted an approval for a draft model card, but the alert failed
    event = load_event("approval_draft_model_card")
    _draft_card(gate)
    notifier(gate).failing_alerts = 1
    with pytest.raises(RuntimeError, match="SNS unavailable"):
        judge(gate, event)

    # When the card is approved before EventBridge retries the event
    cards(gate).add_version(GROUP, "Approved", last_modified_by=CARD_APPROVER)
    result = run_gate(parse_event(event, ModelPackageStateChange), gate)

    # Then the revert is still announced, with the reason it was made
    assert result["result"] == "failed"
    [failed] = result["failedChecks"]
    assert failed["name"] == "gate_revert"
    assert "model_card_approved: model card 'credit-default' is Draft" in failed["reason"]
    assert len(notifier(gate).alerts) == 1


def test_retry_without_the_approver_in_the_event_does_not_invent_a_failure(
    gate: GateStores,
) -> None:
    # Given the documented event shape (no CreatedBy/LastModifiedBy), an over-threshold bias
    # report, and a revert whose alert failed
    event = load_event("approval_bias_over_threshold")
    registry(gate).put(event["detail"])
    del event["detail"]["CreatedBy"], event["detail"]["LastModifiedBy"]
    notifier(gate).failing_alerts = 1
    change = parse_event(event, ModelPackageStateChange)
    with pytest.raises(RuntimeError):
        run_gate(change, gate)

    # When the event is retried (the package now names the gate as its last modifier)
    result = run_gate(change, gate)

    # Then the separation check is not re-run against the gate's own identity
    assert set(_failed(result["failedChecks"])) == {"bias_thresholds"}
    names = [c["name"] for c in notifier(gate).details[0]["checks"]]
    assert "separate_approver" not in names


def test_transient_evidence_errors_are_retried_not_judged(gate: GateStores) -> None:
    # Given S3 throttles the bias report read
    event = load_event("approval_full_evidence")
    assert isinstance(gate.evidence, FakeEvidence)
    uri = event["detail"]["ModelMetrics"]["Bias"]["Report"]["S3Uri"]
    gate.evidence.documents[uri] = ConnectionError("SlowDown")

    # When / Then the error propagates (EventBridge retries) and the approval is not touched
    with pytest.raises(ConnectionError):
        judge(gate, event)
    assert registry(gate).updates == []


# --- The model card's approver (separation of duties for the card) ---------------------------

REGISTRANT = load_event("approval_full_evidence")["detail"]["CreatedBy"]


@pytest.mark.parametrize(
    ("history", "passed", "reason"),
    [
        pytest.param(
            [("Draft", None), ("Approved", REGISTRANT)],
            False,
            "v2 is Approved, but model card approver is the registrant (user profile dana-lee)",
            id="approved-by-the-registrant",
        ),
        pytest.param(
            [("Draft", None), ("Approved", None)],
            False,
            "model card approver identity (LastModifiedBy of card version 2) is missing",
            id="approver-unknown",
        ),
        pytest.param(
            [("Draft", None), ("Approved", CARD_APPROVER), ("Approved", REGISTRANT)],
            True,
            "v3 is Approved (in v2 by",
            id="edited-after-approval-the-approval-counts",
        ),
        pytest.param(
            [("Approved", CARD_APPROVER), ("Draft", None), ("Approved", REGISTRANT)],
            False,
            "model card approver is the registrant",
            id="re-approved-by-the-registrant",
        ),
    ],
)
def test_model_card_must_be_approved_by_someone_other_than_the_registrant(
    gate: GateStores, history: list[tuple[str, Any]], passed: bool, reason: str
) -> None:
    # Given a card whose versions were changed by the people named
    cards(gate).versions.clear()
    for status, by in history:
        cards(gate).add_version(GROUP, status, last_modified_by=by)

    # When the gate judges an approval of a version registered by dana-lee
    judge(gate, load_event("approval_full_evidence"))

    # Then the card check passes only if the card's approver is provably someone else
    card = next(
        c for c in notifier(gate).details[0]["checks"] if c["name"] == "model_card_approved"
    )
    assert card["passed"] is passed
    assert reason in card["reason"]


def test_card_created_approved_counts_its_creator_as_approver() -> None:
    statuses = [(1, ModelCardStatus.APPROVED), (2, ModelCardStatus.APPROVED)]
    assert approving_version(statuses) == 1
    assert approving_version([(1, ModelCardStatus.DRAFT)]) is None
    assert approving_version([]) is None


# --- Evidence location ----------------------------------------------------------------------


def _package_with(uri: str) -> ModelPackage:
    detail = load_event("approval_full_evidence")["detail"]
    detail["ModelMetrics"]["Bias"]["Report"]["S3Uri"] = uri
    return ModelPackage.model_validate(detail)


def test_evidence_under_the_governed_prefix_passes() -> None:
    package = ModelPackage.model_validate(load_event("approval_full_evidence")["detail"])

    check = evidence_location_check(package, ARTIFACT_BUCKET)

    assert check.passed
    assert f"under s3://{ARTIFACT_BUCKET}/baselines/{GROUP}/" in check.reason


@pytest.mark.parametrize(
    "uri",
    [
        "s3://someone-elses-bucket/baselines/credit-default/x/analysis.json",
        f"s3://{ARTIFACT_BUCKET}/credit-default/x/analysis.json",
        f"s3://{ARTIFACT_BUCKET}/baselines/other-model/x/analysis.json",
        f"s3://{ARTIFACT_BUCKET}/baselines/credit-default-v2/x/analysis.json",
        f"s3://{ARTIFACT_BUCKET}/baselines/credit-default/../other-model/analysis.json",
        f"s3://{ARTIFACT_BUCKET}-copy/baselines/credit-default/x/analysis.json",
    ],
)
def test_evidence_outside_the_governed_prefix_fails_naming_uri_and_prefix(uri: str) -> None:
    check = evidence_location_check(_package_with(uri), ARTIFACT_BUCKET)

    assert not check.passed
    assert check.name == "evidence_location"
    assert uri in check.reason
    assert governed_evidence_prefix(ARTIFACT_BUCKET, GROUP) in check.reason


def test_gate_rejects_an_approval_whose_evidence_is_not_governed(gate: GateStores) -> None:
    # Given a fully evidenced approval whose bias report was swapped for one in another bucket
    event = load_event("approval_full_evidence")
    # (the same, within-threshold report content, so only its location is wrong)
    report = event["detail"]["ModelMetrics"]["Bias"]["Report"]
    outside = "s3://scratch-bucket/credit-default/analysis.json"
    evidence = gate.evidence
    assert isinstance(evidence, FakeEvidence)
    evidence.documents[outside] = evidence.documents[report["S3Uri"]]
    report["S3Uri"] = outside

    # When the gate judges it
    result = judge(gate, event)

    # Then the approval is withdrawn, naming the URI and the allowed prefix
    assert result["result"] == "failed"
    failed = _failed(notifier(gate).details[0]["checks"])
    assert outside in failed["evidence_location"]
    assert f"s3://{ARTIFACT_BUCKET}/baselines/{GROUP}/" in failed["evidence_location"]
    [(_, status, description)] = registry(gate).updates
    assert status == "Rejected"
    assert "evidence_location" in description
    assert set(failed) == {"evidence_location"}


# --- Settings --------------------------------------------------------------------------------


def test_settings_name_every_missing_or_bad_variable() -> None:
    with pytest.raises(ConfigurationError) as caught:
        GateSettings.from_environment({"ALERT_TOPIC_ARN": "topic", "POLICY_PARAMETER_PREFIX": "x"})
    message = str(caught.value)
    assert "environment variable 'POLICY_PARAMETER_PREFIX': got 'x'" in message
    assert "starts and ends with '/'" in message
    assert "environment variable 'ALERT_TOPIC_ARN': got 'topic'; expected an SNS topic ARN" in (
        message
    )
    assert "environment variable 'IDEMPOTENCY_TABLE_NAME': got <missing>" in message


def test_settings_default_the_bus() -> None:
    settings = GateSettings.from_environment(
        {
            "POLICY_PARAMETER_PREFIX": "/p/",
            "ALERT_TOPIC_ARN": ALERT_TOPIC_ARN,
            "IDEMPOTENCY_TABLE_NAME": "t",
            "ARTIFACTS_BUCKET_NAME": ARTIFACT_BUCKET,
            "EVENT_BUS_NAME": "",
        }
    )
    assert settings.event_bus_name == "default"


# --- End to end (moto) -----------------------------------------------------------------------


def test_cold_start_from_the_environment_passes_a_full_approval(
    aws: Aws, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the environment the stack sets, and an approved package with all its evidence
    for name, value in {
        "POLICY_PARAMETER_PREFIX": "/sagemaker-governance/models/",
        "ALERT_TOPIC_ARN": ALERT_TOPIC_ARN,
        "IDEMPOTENCY_TABLE_NAME": IDEMPOTENCY_TABLE,
        "ARTIFACTS_BUCKET_NAME": ARTIFACT_BUCKET,
        "POWERTOOLS_SERVICE_NAME": "ApprovalGate",
    }.items():
        monkeypatch.setenv(name, value)
    event = load_event("approval_full_evidence")
    arn = aws.register(event)
    approval_gate._from_environment.cache_clear()

    # When the Lambda entry point handles the approval
    try:
        result = approval_gate.handler(event, lambda_context)
    finally:
        approval_gate._from_environment.cache_clear()

    # Then it stands, and the verdict reached the bus with the card's approver checked
    assert result["result"] == "passed"
    assert aws.package(arn)["ModelApprovalStatus"] == "Approved"
    assert aws.alerts() == []
    [verdict] = aws.verdict_events()
    card = next(c for c in verdict["detail"]["checks"] if c["name"] == "model_card_approved")
    assert card["passed"], card
    assert "maria.okafor@example.com" in card["reason"]


def test_failed_approval_is_reverted_alerted_and_announced(
    aws: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given an approval whose bias report is over threshold
    event = load_event("approval_bias_over_threshold")
    arn = aws.register(event)

    # When the gate handles it
    build_handler(GATE_SETTINGS, moto_client)(event, lambda_context)

    # Then SageMaker has it Rejected with the reasons, SNS carried the alert, the bus the verdict
    package = aws.package(arn)
    assert package["ModelApprovalStatus"] == "Rejected"
    assert "bias_thresholds: DI=0.72 outside" in package["ApprovalDescription"]
    [alert] = aws.alerts()
    assert alert["TopicArn"] == ALERT_TOPIC_ARN
    assert alert["Subject"] == "[high risk] Model approval withdrawn: credit-default v1"
    [verdict] = aws.verdict_events()
    assert verdict["detail"]["actionTaken"] == "status_set_to_Rejected"
    assert verdict["resources"] == [arn]


def test_redelivered_event_is_handled_once(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    # Given an over-threshold approval the gate has already reverted
    event = load_event("approval_bias_over_threshold")
    arn = aws.register(event)
    handler = build_handler(GATE_SETTINGS, moto_client)
    first = handler(event, lambda_context)
    description = aws.package(arn)["ApprovalDescription"]

    # When EventBridge delivers the same event (same id) again
    second = handler(load_event("approval_bias_over_threshold"), lambda_context)

    # Then the stored result is returned and nothing is done twice
    assert second == first
    assert len(aws.alerts()) == 1
    assert len(aws.verdict_events()) == 1
    assert aws.package(arn)["ApprovalDescription"] == description
    [record] = aws.dynamodb.scan(TableName=IDEMPOTENCY_TABLE)["Items"]
    assert record["status"]["S"] == "COMPLETED"


def test_non_approval_writes_no_idempotency_record(
    aws: Aws, lambda_context: FakeLambdaContext
) -> None:
    result = build_handler(GATE_SETTINGS, moto_client)(
        load_event("state_change_pending_registration"), lambda_context
    )
    assert result["result"] == "skipped"
    assert aws.dynamodb.scan(TableName=IDEMPOTENCY_TABLE)["Items"] == []


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


def test_failed_run_releases_the_idempotency_record_for_the_retry(
    aws: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given SNS fails once after the gate reverted an approval
    event = load_event("approval_bias_over_threshold")
    arn = aws.register(event)
    sns = FlakySns(moto_client("sns"))
    handler = build_handler(GATE_SETTINGS, lambda name: sns if name == "sns" else moto_client(name))
    with pytest.raises(RuntimeError, match="SNS unavailable"):
        handler(event, lambda_context)

    # When EventBridge retries the event
    result = handler(load_event("approval_bias_over_threshold"), lambda_context)

    # Then the retry ran (not blocked by an in-progress record) and sent what was owed
    assert result["notificationsResent"] is True
    assert len(aws.alerts()) == 1
    assert aws.package(arn)["ModelApprovalStatus"] == "Rejected"


def test_custom_event_bus_is_used(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    # Given the verdict bus is a custom bus with its own capture rule
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
    settings = GATE_SETTINGS.model_copy(update={"event_bus_name": "governance"})

    # When the gate passes the approval
    build_handler(settings, moto_client)(event, lambda_context)

    # Then the verdict goes to the custom bus, not the default one
    assert aws.verdict_events() == []
    messages = aws.sqs.receive_message(QueueUrl=queue_url)["Messages"]
    assert json.loads(messages[0]["Body"])["detail"]["verdict"] == "passed"


def test_malformed_event_raises_naming_the_field(
    aws: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given an event without ModelPackageArn
    event = load_event("malformed_missing_package_arn")

    # When / Then the gate refuses it with an error naming the field (EventBridge retries, DLQ)
    with pytest.raises(InvalidEventError, match=r"'detail\.ModelPackageArn': got <missing>"):
        build_handler(GATE_SETTINGS, moto_client)(event, lambda_context)
    assert aws.alerts() == []

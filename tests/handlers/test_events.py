"""EventBridge events: every fixture parses; a malformed event names each bad field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from governance.contracts.errors import InvalidEventError
from governance.events import (
    ApprovalVerdictEvent,
    Check,
    ModelPackageStateChange,
    MonitoringViolationEvent,
    parse_event,
    parse_governance_event,
)
from governance.logic.approval import ApprovalVerdict, approval_description

from .conftest import EVENTS, load_event

VALID = sorted(p.stem for p in EVENTS.glob("*.json") if not p.stem.startswith("malformed"))


@pytest.mark.parametrize("name", VALID)
def test_every_fixture_parses(name: str) -> None:
    event = parse_governance_event(load_event(name))
    expected = {
        "governance_approval_verdict_failed": ApprovalVerdictEvent,
        "governance_monitoring_violation": MonitoringViolationEvent,
    }.get(name, ModelPackageStateChange)
    assert isinstance(event, expected)


def test_state_change_fields() -> None:
    change = parse_event(load_event("approval_full_evidence"), ModelPackageStateChange)
    assert change.detail.model_package_version == 1
    assert change.detail.model_approval_status == "Approved"
    assert change.detail.last_modified_by is not None
    assert "AWSReservedSSO_ModelApprover" in (change.detail.last_modified_by.iam_arn or "")


MALFORMED: list[tuple[Callable[[dict[str, Any]], object], str, str]] = [
    (
        lambda e: e["detail"].pop("ModelPackageGroupName"),
        "detail.ModelPackageGroupName",
        "got <missing>; expected a non-empty string",
    ),
    (
        lambda e: e["detail"].update(ModelPackageVersion="two"),
        "detail.ModelPackageVersion",
        "got 'two'; expected a positive integer",
    ),
    (
        lambda e: e["detail"].update(ModelPackageVersion=True),
        "detail.ModelPackageVersion",
        "got True; expected a positive integer",
    ),
    (
        lambda e: e["detail"].update(ModelApprovalStatus="Aproved"),
        "detail.ModelApprovalStatus",
        "got 'Aproved'; expected one of Approved, Rejected, PendingManualApproval",
    ),
    (
        lambda e: e["detail"].update(CreatedBy="dana"),
        "detail.CreatedBy",
        "got 'dana'; expected an object with fields UserProfileArn",
    ),
    (lambda e: e.pop("id"), "id", "got <missing>; expected a string"),
    (lambda e: e.update(detail=[]), "detail", "got []; expected an object"),
    (lambda e: e.update(source="aws.s3"), "source", "got 'aws.s3'; expected one of aws.sagemaker"),
]


@pytest.mark.parametrize(("mutate", "field", "expected"), MALFORMED)
def test_malformed_state_change_names_field_value_and_allowed(
    mutate: Callable[[dict[str, Any]], object], field: str, expected: str
) -> None:
    event = load_event("approval_full_evidence")
    mutate(event)
    with pytest.raises(InvalidEventError) as caught:
        parse_event(event, ModelPackageStateChange)
    assert f"field {field!r}: {expected}" in str(caught.value)


def test_every_bad_field_is_named_in_one_error() -> None:
    event = load_event("approval_full_evidence")
    event["detail"].pop("ModelPackageArn")
    event["detail"]["ModelApprovalStatus"] = "Aproved"
    with pytest.raises(InvalidEventError) as caught:
        parse_event(event, ModelPackageStateChange)
    assert len(caught.value.problems) == 2


def test_version_as_digit_string_is_accepted() -> None:
    event = load_event("approval_full_evidence")
    event["detail"]["ModelPackageVersion"] = "7"
    assert parse_event(event, ModelPackageStateChange).detail.model_package_version == 7


def test_something_that_is_not_an_event_is_refused() -> None:
    with pytest.raises(InvalidEventError, match="expected an EventBridge event object"):
        parse_event([], ModelPackageStateChange)
    with pytest.raises(
        InvalidEventError, match=r"expected one of aws\.sagemaker / SageMaker Model"
    ):
        parse_governance_event("not an event")


def test_verdict_check_without_boolean_is_rejected() -> None:
    event = load_event("governance_approval_verdict_failed")
    event["detail"]["checks"][0]["passed"] = "yes"
    with pytest.raises(InvalidEventError, match=r"detail\.checks\[0\]\.passed': got 'yes'"):
        parse_governance_event(event)


def test_violation_detail_round_trips_through_its_model() -> None:
    # Given the violation event the handler publishes
    event = load_event("governance_monitoring_violation")
    parsed = parse_governance_event(event)
    assert isinstance(parsed, MonitoringViolationEvent)
    # When its detail is written back out, Then it is what the producer sent
    assert parsed.detail.as_detail() == {
        **event["detail"],
        "violations": event["detail"]["violations"],
    }


def test_approval_description_is_trimmed_to_the_api_limit() -> None:
    # Given a verdict whose failure reasons run far past 1024 characters, with a newline
    checks = tuple(
        Check(name=f"check_{i}", passed=False, reason="reason line\nwith " + "x" * 200)
        for i in range(10)
    )
    text = approval_description(ApprovalVerdict(checks, ()), "evt-1")

    # Then it fits the API, says it was cut, and carries no control characters
    assert len(text) == 1024
    assert text.endswith("...(truncated)")
    assert text.startswith("[governance gate, event evt-1] Approval withdrawn, 10 of 10")
    assert "\n" not in text

"""Event parsing: every fixture parses; malformed events name the field."""

from __future__ import annotations

import pytest

from governance.approval_gate import CheckResult, Verdict, approval_description
from governance.events import (
    ApprovalVerdict,
    EventValidationError,
    ModelPackageStateChange,
    MonitoringViolation,
    parse_event,
    parse_model_package_state_change,
)

from .conftest import EVENTS, load_event

VALID = sorted(p.stem for p in EVENTS.glob("*.json") if not p.stem.startswith("malformed"))


@pytest.mark.parametrize("name", VALID)
def test_every_fixture_parses(name: str) -> None:
    event = parse_event(load_event(name))
    expected = {
        "governance_approval_verdict_failed": ApprovalVerdict,
        "governance_monitoring_violation": MonitoringViolation,
    }.get(name, ModelPackageStateChange)
    assert isinstance(event, expected)


def test_state_change_fields() -> None:
    change = parse_model_package_state_change(load_event("approval_full_evidence"))
    assert change.model_package_version == 1
    assert change.model_approval_status == "Approved"
    assert change.last_modified_by is not None
    assert change.last_modified_by.iam_arn is not None
    assert "AWSReservedSSO_ModelApprover" in change.last_modified_by.iam_arn


@pytest.mark.parametrize(
    ("mutate", "field", "expected"),
    [
        (
            lambda e: e["detail"].pop("ModelPackageGroupName"),
            "detail.ModelPackageGroupName",
            "a non-empty string",
        ),
        (
            lambda e: e["detail"].update(ModelPackageVersion="two"),
            "detail.ModelPackageVersion",
            "a positive integer",
        ),
        (
            lambda e: e["detail"].update(ModelApprovalStatus="Aproved"),
            "detail.ModelApprovalStatus",
            "one of Approved",
        ),
        (
            lambda e: e["detail"].update(CreatedBy="dana"),
            "detail.CreatedBy",
            "a UserContext object",
        ),
        (lambda e: e.pop("id"), "id", "a non-empty string"),
        (lambda e: e.update(detail=[]), "detail", "an object"),
        (lambda e: e.update(source="aws.s3"), "source", "'aws.sagemaker'"),
    ],
)
def test_malformed_state_change_names_field(mutate: object, field: str, expected: str) -> None:
    event = load_event("approval_full_evidence")
    mutate(event)  # type: ignore[operator]
    with pytest.raises(EventValidationError) as caught:
        parse_model_package_state_change(event)
    assert caught.value.field == field
    assert expected in str(caught.value)


def test_version_as_digit_string_is_accepted() -> None:
    event = load_event("approval_full_evidence")
    event["detail"]["ModelPackageVersion"] = "7"
    assert parse_model_package_state_change(event).model_package_version == 7


def test_verdict_check_without_boolean_is_rejected() -> None:
    event = load_event("governance_approval_verdict_failed")
    event["detail"]["checks"][0]["passed"] = "yes"
    with pytest.raises(EventValidationError, match=r"detail\.checks\[0\]\.passed"):
        parse_event(event)


def test_approval_description_is_trimmed_to_the_api_limit() -> None:
    # Given a verdict whose failure reasons run far past 1024 characters, with a newline
    checks = tuple(
        CheckResult(f"check_{i}", False, "reason line\nwith " + "x" * 200) for i in range(10)
    )
    text = approval_description(Verdict(checks, ()), "evt-1")

    # Then it fits the API, says it was cut, and carries no control characters
    assert len(text) == 1024
    assert text.endswith("...(truncated)")
    assert text.startswith("[governance gate, event evt-1] Approval withdrawn, 10 of 10")
    assert "\n" not in text

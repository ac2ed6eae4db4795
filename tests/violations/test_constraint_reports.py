"""Parsing constraint_violations.json for all four monitor types, and rejecting bad reports."""

from __future__ import annotations

import json

import pytest

from governance.constraint_reports import (
    MAX_REPORT_BYTES,
    ReportError,
    Violation,
    parse_constraint_violations,
)

from .conftest import FIXTURES


def parse_fixture(name: str) -> tuple[Violation, ...]:
    return parse_constraint_violations((FIXTURES / name).read_bytes())


def test_data_quality_report_names_each_feature_and_check() -> None:
    # Given the data-quality report fixture
    # When it is parsed
    violations = parse_fixture("report-data-quality.json")
    # Then every feature is a subject with its own check type and description
    assert [(v.subject, v.check_type) for v in violations] == [
        ("credit_amount", "baseline_drift_check"),
        ("age", "data_type_check"),
        ("employment_duration", "completeness_check"),
    ]
    assert violations[0].description == "Baseline drift distance: 0.2431 exceeds threshold: 0.1"
    assert violations[0].headline == "credit_amount"
    assert violations[0].as_event_detail() == {
        "feature": "credit_amount",
        "checkType": "baseline_drift_check",
        "description": "Baseline drift distance: 0.2431 exceeds threshold: 0.1",
    }


def test_model_quality_report_uses_the_metric_as_subject() -> None:
    # Given a model-quality report, whose entries name a metric rather than a feature
    violations = parse_fixture("report-model-quality.json")
    # Then the metric is the subject and the comparison operator the check type
    assert [(v.subject, v.check_type, v.metric_name) for v in violations] == [
        ("auc", "LessThanThreshold", "auc"),
        ("f1", "LessThanThreshold", "f1"),
    ]


def test_bias_report_keeps_facet_value_and_metric() -> None:
    # Given a Clarify bias-drift report (facet, facet_value, metric_name)
    violations = parse_fixture("report-bias.json")
    # Then the facet is the subject, and metric and facet value survive into the ledger shape
    first = violations[0]
    assert first.headline == "CI for facet age=40"
    assert first.as_event_detail() == {
        "feature": "age",
        "checkType": "bias_drift_check",
        "description": "Value 0.0751544567666083 does not meet the constraint requirement",
        "metricName": "CI",
        "facet": "age",
        "facetValue": "40",
    }
    assert violations[1].metric_name == "DPPL"


def test_explainability_report_uses_the_label_as_subject() -> None:
    # Given a feature-attribution drift report (label + metric_name, no feature)
    (violation,) = parse_fixture("report-explainability.json")
    # Then the label is the subject
    assert violation.headline == "shap for label label0"
    assert violation.as_event_detail()["label"] == "label0"
    assert violation.check_type == "feature_attribution_drift_check"


def test_empty_violation_list_is_valid() -> None:
    assert parse_constraint_violations(b'{"violations": []}') == ()


def test_numeric_and_list_facet_values_are_rendered_as_text() -> None:
    # Given facet values as Clarify echoes them from value_or_threshold
    payload = {
        "violations": [
            {"facet": "age", "facet_value": 40, "metric_name": "CI", "constraint_check_type": "c"},
            {
                "facet": "sex",
                "facet_value": ["F", 1],
                "metric_name": "DPL",
                "constraint_check_type": "c",
            },
        ]
    }
    # When parsed
    violations = parse_constraint_violations(json.dumps(payload).encode())
    # Then they read as text
    assert [v.facet_value for v in violations] == ["40", "F,1"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ((FIXTURES / "report-corrupt.json").read_bytes(), "is not valid JSON"),
        (b"\xff\xfe not text", "is not UTF-8"),
        (b"[]", "must be a JSON object"),
        (b"{}", "field 'violations' must be a list, got (missing)"),
        (b'{"violations": {"a": 1}}', "field 'violations' must be a list, got dict"),
        (b'{"violations": ["x"]}', "violations[0] must be an object, got str"),
        (
            b'{"violations": [{"feature_name": "age", "description": "d"}]}',
            "violations[0].constraint_check_type must be a non-empty string, got (missing)",
        ),
        (
            b'{"violations": [{"constraint_check_type": "c", "description": "d"}]}',
            "violations[0] names no subject; expected one of feature_name, facet, label",
        ),
        (
            b'{"violations": [{"feature_name": 3, "constraint_check_type": "c"}]}',
            "violations[0].feature_name must be a non-empty string, got 3",
        ),
        (
            b'{"violations": [{"feature_name": "a", "constraint_check_type": "c", '
            b'"description": 5}]}',
            "violations[0].description must be a string, got int",
        ),
    ],
)
def test_unusable_reports_raise_with_the_reason(payload: bytes, message: str) -> None:
    # Given a report that is broken in one specific way
    # When it is parsed
    with pytest.raises(ReportError) as raised:
        parse_constraint_violations(payload)
    # Then the error says what is wrong, where
    assert message in str(raised.value)


def test_oversized_report_is_refused_before_decoding() -> None:
    with pytest.raises(ReportError, match="at most"):
        parse_constraint_violations(b" " * (MAX_REPORT_BYTES + 1))

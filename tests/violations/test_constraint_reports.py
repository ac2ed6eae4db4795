"""Reading constraint_violations.json for all four monitor types, and refusing bad reports."""

from __future__ import annotations

import json

import pytest

from governance.logic.constraint_violations import (
    ReportFormatError,
    Violation,
    parse_constraint_violations,
)

from .conftest import FIXTURES


def parse_fixture(name: str) -> tuple[Violation, ...]:
    return parse_constraint_violations(json.loads((FIXTURES / name).read_text()))


def test_data_quality_report_names_each_feature_and_check() -> None:
    violations = parse_fixture("report-data-quality.json")
    assert [(v.subject, v.check_type) for v in violations] == [
        ("credit_amount", "baseline_drift_check"),
        ("age", "data_type_check"),
        ("employment_duration", "completeness_check"),
    ]
    assert violations[0].description == "Baseline drift distance: 0.2431 exceeds threshold: 0.1"
    assert violations[0].headline == "credit_amount"
    assert violations[0].as_item().as_detail() == {
        "feature": "credit_amount",
        "checkType": "baseline_drift_check",
        "description": "Baseline drift distance: 0.2431 exceeds threshold: 0.1",
    }


def test_model_quality_report_uses_the_metric_as_subject() -> None:
    violations = parse_fixture("report-model-quality.json")
    assert [(v.subject, v.check_type, v.metric_name) for v in violations] == [
        ("auc", "LessThanThreshold", "auc"),
        ("f1", "LessThanThreshold", "f1"),
    ]


def test_bias_report_keeps_facet_value_and_metric() -> None:
    first, second = parse_fixture("report-bias.json")
    assert first.headline == "CI for facet age=40"
    assert first.as_item().as_detail() == {
        "feature": "age",
        "checkType": "bias_drift_check",
        "description": "Value 0.0751544567666083 does not meet the constraint requirement",
        "metricName": "CI",
        "facet": "age",
        "facetValue": "40",
    }
    assert second.metric_name == "DPPL"


def test_explainability_report_uses_the_label_as_subject() -> None:
    (violation,) = parse_fixture("report-explainability.json")
    assert violation.headline == "shap for label label0"
    assert violation.as_item().as_detail()["label"] == "label0"
    assert violation.check_type == "feature_attribution_drift_check"


def test_empty_violation_list_is_valid() -> None:
    assert parse_constraint_violations({"violations": []}) == ()


def test_numeric_and_list_facet_values_are_rendered_as_text() -> None:
    report = {
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
    assert [v.facet_value for v in parse_constraint_violations(report)] == ["40", "F,1"]


def test_descriptions_are_cut_with_a_marker() -> None:
    violation = Violation(subject="f", check_type="c", description="d" * 900)
    assert violation.as_item(max_description=500).description == "d" * 497 + "..."


@pytest.mark.parametrize(
    ("report", "message"),
    [
        ([], "field '<root>': got []; expected an object with fields violations"),
        ({}, "field 'violations': got <missing>; expected a list"),
        ({"violations": {"a": 1}}, "field 'violations': got {'a': 1}; expected a list"),
        ({"violations": ["x"]}, "field 'violations[0]': got 'x'; expected an object"),
        (
            {"violations": [{"feature_name": "age", "description": "d"}]},
            "field 'violations[0].constraint_check_type': got <missing>; expected a non-empty",
        ),
        (
            {"violations": [{"constraint_check_type": "c", "description": "d"}]},
            "expected an entry naming one of feature_name, facet, label, metric_name",
        ),
        (
            {"violations": [{"feature_name": 3, "constraint_check_type": "c"}]},
            "field 'violations[0].feature_name': got 3; expected a non-empty string",
        ),
        (
            {"violations": [{"feature_name": "a", "constraint_check_type": "c", "description": 5}]},
            "field 'violations[0].description': got 5; expected a string",
        ),
        (
            {"violations": [{"facet": "a", "facet_value": True, "constraint_check_type": "c"}]},
            "field 'violations[0].facet_value': got True; expected a string, a number or a list",
        ),
    ],
)
def test_unusable_reports_raise_with_the_reason(report: object, message: str) -> None:
    with pytest.raises(ReportFormatError) as raised:
        parse_constraint_violations(report)
    assert str(raised.value).startswith("constraint_violations.json is not a constraint violations")
    assert message in str(raised.value)

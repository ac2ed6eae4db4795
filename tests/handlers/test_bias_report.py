"""Clarify analysis.json parsing and threshold comparison."""

from __future__ import annotations

import json
from typing import Any

import pytest

from governance.contracts.parameters import BiasFacet, Threshold
from governance.logic.bias import BiasReportFormatError, assess

from .conftest import DATA

THRESHOLDS = {"DI": Threshold(min=0.8, max=1.25), "DPPL": Threshold(min=-0.1, max=0.1)}
FEMALE = BiasFacet(label="default", label_value=0, facet="gender", facet_value="female")


def report(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def test_within_thresholds_passes() -> None:
    result = assess([report("clarify_bias_within_thresholds.json")], THRESHOLDS, FEMALE)
    assert result.passed
    assert "DPPL=-0.0311 within [-0.1, 0.1] for gender=female" in result.observations


def test_each_metric_out_of_bounds_is_a_failure() -> None:
    result = assess([report("clarify_bias_over_threshold.json")], THRESHOLDS, FEMALE)
    assert result.failures == (
        "DI=0.72 outside [0.8, 1.25] for gender=female",
        "DPPL=-0.142 outside [-0.1, 0.1] for gender=female",
    )


def test_metric_without_value_or_absent_fails() -> None:
    thresholds = {"FT": Threshold(min=-0.1, max=0.1), "CDDPL": Threshold(max=0.1)}
    result = assess([report("clarify_bias_within_thresholds.json")], thresholds, FEMALE)
    assert result.failures == (
        "FT has no value for gender=female (Clarify could not compute it)",
        "CDDPL not reported for gender=female",
    )


def test_other_facet_value_is_not_reported() -> None:
    male = BiasFacet(label="default", label_value=0, facet="gender", facet_value="male")
    result = assess([report("clarify_bias_within_thresholds.json")], THRESHOLDS, male)
    assert "DI not reported for gender=male" in result.failures


def test_report_for_another_label_value_fails() -> None:
    other = BiasFacet(label="default", label_value=1, facet="gender", facet_value="female")
    result = assess([report("clarify_bias_within_thresholds.json")], THRESHOLDS, other)
    assert any("computed for label value '0', policy expects 1" in f for f in result.failures)


def test_without_a_facet_every_facet_value_is_checked() -> None:
    document = report("clarify_bias_within_thresholds.json")
    document["post_training_bias_metrics"]["facets"]["age_band"] = [
        {"value_or_threshold": "(18, 25]", "metrics": [{"name": "DI", "value": 0.61}]}
    ]
    result = assess([document], {"DI": Threshold(min=0.8, max=1.25)}, None)
    assert result.failures == ("DI=0.61 outside [0.8, 1.25] for age_band=(18, 25]",)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "got []; expected an object with fields post_training_bias_metrics"),
        ({"explanations": {}}, "expected a Clarify bias analysis with post_training_bias"),
        (
            {"post_training_bias_metrics": {"facets": {"gender": {}}}},
            "field 'post_training_bias_metrics.facets.gender': got {}; expected a list",
        ),
    ],
)
def test_wrong_shape_is_reported(document: Any, message: str) -> None:
    with pytest.raises(BiasReportFormatError) as caught:
        assess([document], THRESHOLDS, FEMALE)
    assert message in str(caught.value)

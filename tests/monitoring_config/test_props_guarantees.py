"""What the per-model props guarantee, checked once, where they are made.

The config model refuses these combinations with its own field paths; the construct library
is also used without it, so the props carry the guarantee that the engines, the alarms and the
batch checks then read through ``floor``, ``facet`` and ``labels`` without checking again.
"""

from __future__ import annotations

import dataclasses

import pytest

from cdk_constructs.monitoring.batch import BatchScoringProps
from cdk_constructs.props import MonitoredModel


def test_the_high_risk_model_has_the_monitors_these_guarantees_cover(
    high_risk: MonitoredModel,
) -> None:
    assert {"model_quality", "bias"} <= set(high_risk.monitors)
    assert high_risk.floor == high_risk.model_quality_floor
    assert high_risk.facet == high_risk.bias
    assert high_risk.labels == high_risk.ground_truth


def test_a_model_quality_monitor_without_a_floor_is_refused(high_risk: MonitoredModel) -> None:
    with pytest.raises(ValueError, match="model_quality_floor") as caught:
        dataclasses.replace(high_risk, model_quality_floor=None)
    message = str(caught.value)
    assert repr(high_risk.name) in message
    assert "got None" in message
    assert "allowed: (metric name, floor)" in message


def test_a_bias_monitor_without_a_facet_is_refused(high_risk: MonitoredModel) -> None:
    with pytest.raises(ValueError, match=r"MonitoredModel\.bias is required \(got None\)"):
        dataclasses.replace(high_risk, bias=None)


def test_the_floor_is_not_required_without_a_model_quality_monitor(
    high_risk: MonitoredModel,
) -> None:
    monitors = {k: v for k, v in high_risk.monitors.items() if k not in ("model_quality", "bias")}
    model = dataclasses.replace(high_risk, monitors=monitors, model_quality_floor=None, bias=None)
    with pytest.raises(ValueError, match="model_quality_floor"):
        _ = model.floor


def test_labels_of_a_model_without_ground_truth_name_the_field(high_risk: MonitoredModel) -> None:
    # The batch checks' alarms reuse MonitoredModel without an endpoint ground-truth window,
    # so ground truth is required where an engine reads it, not at construction.
    model = dataclasses.replace(high_risk, ground_truth=None)
    with pytest.raises(ValueError, match=r"MonitoredModel\.ground_truth \(got None\)"):
        _ = model.labels


def _batch(high_risk: MonitoredModel, **changes: object) -> BatchScoringProps:
    fields: dict[str, object] = {
        "identity": high_risk.identity,
        "environment": "prod",
        "problem_type": high_risk.problem_type,
        "dataset": high_risk.dataset,
        "input_s3_uri": "s3://in/x/",
        "output_s3_uri": "s3://out/x/",
        "capture_s3_uri": "s3://out/capture/",
        "schedule": "cron(0 2 * * ? *)",
        "interval_hours": 24,
        "instance_type": "ml.m5.large",
        "instance_count": 1,
        "check_instance_type": "ml.m5.large",
        "check_max_runtime_seconds": 3600,
        "model_quality_floor": ("accuracy", 0.8),
        **changes,
    }
    return BatchScoringProps(**fields)  # type: ignore[arg-type]


def test_a_batch_with_ground_truth_needs_a_floor(high_risk: MonitoredModel) -> None:
    assert _batch(high_risk, ground_truth_s3_uri="s3://labels/x/").floor == ("accuracy", 0.8)
    assert _batch(high_risk, model_quality_floor=None).checks == ("data_quality",)
    with pytest.raises(ValueError, match="needs model_quality_floor") as caught:
        _batch(high_risk, ground_truth_s3_uri="s3://labels/x/", model_quality_floor=None)
    assert repr(high_risk.name) in str(caught.value)

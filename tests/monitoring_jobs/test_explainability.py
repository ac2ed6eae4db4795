"""The Evidently job's two explainability stages around a SageMaker Clarify processing job.

Stage one writes the window's captured features as Clarify's CSV dataset; stage two reads
Clarify's ``analysis.json`` and the registry's explainability baseline (the same shape:
``explanations.kernel_shap.<label>.global_shap_values``), publishes Model Monitor's
explainability metrics and flags feature attribution drift by nDCG below the threshold.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitoring_jobs import evidently_check as job
from tests.monitoring_jobs.test_evidently_check import FakeS3, capture_line

NOW = datetime(2026, 12, 2, 4, 5, tzinfo=UTC)
CAPTURE = "s3://capture/ep/"
ANALYSIS = "s3://reports/ep/explainability/run-1/clarify/analysis.json"
BASELINE = "s3://artifacts/baselines/m/explainability/analysis.json"


def _analysis(values: dict[str, float]) -> bytes:
    return json.dumps(
        {"explanations": {"kernel_shap": {"label0": {"global_shap_values": values}}}}
    ).encode()


def _args(*extra: str) -> Any:
    return job.parse_args(
        [
            "--check",
            "explainability",
            "--problem-type",
            "BinaryClassification",
            "--model",
            "m",
            "--endpoint",
            "ep",
            "--schedule",
            "ep-explainability",
            "--features",
            "age:numeric,channel:categorical,income:numeric",
            "--capture-uri",
            CAPTURE,
            *extra,
        ]
    )


def test_ndcg_is_one_for_the_baseline_ranking_and_lower_for_a_swap() -> None:
    baseline = {"a": 0.5, "b": 0.3, "c": 0.2}
    assert job.ndcg(baseline, {"a": 0.9, "b": 0.4, "c": 0.1}) == pytest.approx(1.0)
    # c and a swapped: DCG = 0.2/1 + 0.3/log2(3) + 0.5/2, iDCG = 0.5/1 + 0.3/log2(3) + 0.2/2
    swapped = job.ndcg(baseline, {"a": 0.1, "b": 0.4, "c": 0.9})
    dcg = 0.2 + 0.3 / math.log2(3) + 0.5 / 2
    idcg = 0.5 + 0.3 / math.log2(3) + 0.2 / 2
    assert swapped == pytest.approx(dcg / idcg)
    # negative attributions rank by magnitude, as global SHAP values are means of |SHAP|
    assert job.ndcg({"a": -0.5, "b": 0.1}, {"a": 0.6, "b": 0.2}) == pytest.approx(1.0)


def test_the_first_stage_writes_the_windows_features_without_a_header(tmp_path: Path) -> None:
    s3 = FakeS3(
        {
            f"{CAPTURE}AllTraffic/2026/12/02/03/a.jsonl": "\n".join(
                [capture_line("e1", "41,web,52000"), capture_line("e2", "35,branch,61000")]
            ).encode()
        }
    )
    result = job.run(_args("--dataset-output", str(tmp_path / "dataset")), s3, NOW)
    assert result.report == {"dataset_rows": 2}
    assert result.violations == []
    assert result.metrics == []
    text = (tmp_path / "dataset" / job.DATASET_FILE).read_text()
    assert text.splitlines() == ["41,web,52000", "35,branch,61000"]


def test_the_first_stage_refuses_rows_of_another_width(tmp_path: Path) -> None:
    s3 = FakeS3({f"{CAPTURE}AllTraffic/2026/12/02/03/a.jsonl": capture_line("e1", "41").encode()})
    with pytest.raises(job.CheckError, match="e1 has 1 values; the model has 3 features"):
        job.run(_args("--dataset-output", str(tmp_path)), s3, NOW)


def test_the_second_stage_publishes_model_monitors_metrics_and_flags_drift() -> None:
    s3 = FakeS3(
        {
            ANALYSIS: _analysis({"age": 0.05, "channel": 0.1, "income": 0.6}),
            BASELINE: _analysis({"age": 0.6, "channel": 0.1, "income": 0.05}),
        }
    )
    result = job.run(
        _args("--analysis-uri", ANALYSIS, "--baseline-uri", BASELINE, "--ndcg-threshold", "0.9"),
        s3,
        NOW,
    )
    assert [(name, dims, value) for name, dims, value in result.metrics] == [
        ("feature_age", job.EXPLAINABILITY_DIMENSIONS, 0.05),
        ("feature_channel", job.EXPLAINABILITY_DIMENSIONS, 0.1),
        ("feature_income", job.EXPLAINABILITY_DIMENSIONS, 0.6),
    ]
    (violation,) = result.violations
    assert violation["constraint_check_type"] == "feature_attribution_drift_check"
    assert violation["label"] == "label0"
    assert result.report["ndcg"] < 0.9
    assert result.exit_message.startswith("CompletedWithViolations")
    settings = job.settings_from(_args())
    assert settings.namespace == "aws/sagemaker/Endpoints/explainability-metrics"
    (first, *_) = job.metric_data(result, settings, NOW)
    assert {d["Name"]: d["Value"] for d in first["Dimensions"]} == {
        "Endpoint": "ep",
        "MonitoringSchedule": "ep-explainability",
        "ExplainabilityMethod": "KernelShap",
        "Label": "label0",
        "ValueType": "GlobalShapValues",
    }


def test_the_same_ranking_is_clean() -> None:
    values = {"age": 0.6, "channel": 0.1, "income": 0.05}
    s3 = FakeS3({ANALYSIS: _analysis(values), BASELINE: _analysis(values)})
    result = job.run(_args("--analysis-uri", ANALYSIS, "--baseline-uri", BASELINE), s3, NOW)
    assert result.violations == []
    assert result.report["ndcg"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"explanations": {}}, "has no explanations.kernel_shap"),
        (
            {"explanations": {"kernel_shap": {"label0": {"global_shap_values": {"age": 0.1}}}}},
            "no SHAP value for channel, income",
        ),
    ],
)
def test_an_unusable_analysis_fails_the_run(document: dict[str, Any], message: str) -> None:
    s3 = FakeS3(
        {
            ANALYSIS: json.dumps(document).encode(),
            BASELINE: _analysis({"age": 0.6, "channel": 0.1, "income": 0.05}),
        }
    )
    with pytest.raises(job.CheckError, match=message):
        job.run(_args("--analysis-uri", ANALYSIS, "--baseline-uri", BASELINE), s3, NOW)


def test_the_second_stage_needs_both_documents() -> None:
    with pytest.raises(job.CheckError, match="--analysis-uri and --baseline-uri"):
        job.run(_args("--analysis-uri", ANALYSIS), FakeS3({}), NOW)

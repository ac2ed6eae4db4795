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


def _analysis(values: dict[str, float], *, label: str = "label0") -> bytes:
    """An ``analysis.json`` shaped like the developer guide's (clarify-processing-job-run, "Get
    the Analysis Results"): explanations beside the bias sections, each label with its
    ``global_shap_values`` and ``expected_value``."""
    return json.dumps(
        {
            "version": "1.0",
            "explanations": {
                "kernel_shap": {
                    label: {"global_shap_values": values, "expected_value": 0.508233428001}
                }
            },
            "post_training_bias_metrics": {
                "label": "target",
                "label_value_or_threshold": "1",
                "facets": {"channel": [{"value_or_threshold": "1", "metrics": []}]},
            },
        }
    ).encode()


def _labels(**labels: dict[str, float]) -> bytes:
    return json.dumps(
        {
            "explanations": {
                "kernel_shap": {
                    label: {"global_shap_values": values, "expected_value": 0.5}
                    for label, values in labels.items()
                }
            }
        }
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


def test_ndcg_reproduces_the_developer_guides_college_admission_example() -> None:
    # clarify-model-monitor-feature-attribution-drift: training SAT 0.70, GPA 0.50, class rank
    # 0.05; live 0.10, 0.20, 0.70; "the NDCG value is 0.69", below the 0.90 alert threshold
    training = {"SAT score": 0.70, "GPA": 0.50, "Class rank": 0.05}
    live = {"SAT score": 0.10, "GPA": 0.20, "Class rank": 0.70}
    assert round(job.ndcg(training, live), 2) == 0.69
    assert job.ndcg(training, live) < job.DEFAULT_NDCG_THRESHOLD == 0.9


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


def test_every_label_is_checked_and_published_under_its_own_label() -> None:
    # "For each label in the explanations section, the monitoring jobs calculate the nDCG
    # score" (clarify-model-monitor-model-attribution-drift-violations): one violation per
    # drifted label, named by its label; metrics carry each label in the Label dimension
    stable = {"age": 0.6, "channel": 0.1, "income": 0.05}
    s3 = FakeS3(
        {
            ANALYSIS: _labels(yes=stable, no={"age": 0.05, "channel": 0.1, "income": 0.6}),
            BASELINE: _labels(yes=stable, no=stable),
        }
    )
    result = job.run(_args("--analysis-uri", ANALYSIS, "--baseline-uri", BASELINE), s3, NOW)
    (violation,) = result.violations
    assert violation["label"] == "no"
    assert result.report["labels"]["yes"]["ndcg"] == pytest.approx(1.0)
    assert result.report["ndcg"] == result.report["labels"]["no"]["ndcg"] < 0.9
    assert {(dims["Label"], name) for name, dims, _ in result.metrics} == {
        (label, f"feature_{f}") for label in ("yes", "no") for f in ("age", "channel", "income")
    }


def test_a_label_the_baseline_lacks_fails_the_run_naming_both() -> None:
    values = {"age": 0.6, "channel": 0.1, "income": 0.05}
    s3 = FakeS3({ANALYSIS: _labels(yes=values), BASELINE: _labels(label0=values)})
    with pytest.raises(job.CheckError, match=r"label\(s\) yes .*it has label0"):
        job.run(_args("--analysis-uri", ANALYSIS, "--baseline-uri", BASELINE), s3, NOW)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"explanations": {}}, "has no explanations.kernel_shap"),
        ({"explanations": {"kernel_shap": {}}}, "explains no label"),
        (
            {"explanations": {"kernel_shap": {"label0": {"global_shap_values": {}}}}},
            "explains no feature for label label0",
        ),
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

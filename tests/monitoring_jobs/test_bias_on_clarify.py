"""The Evidently job's two bias stages around a SageMaker Clarify processing job.

Stage one (BiasDataset) writes the window's captured predictions joined with ground truth as
Clarify's CSV (features, label, predicted label) and the analysis config built at synth; stage
two (BiasCheck) reads the bias sections of Clarify's ``analysis.json`` and publishes and checks
them exactly as the in-job bias check does. The analysis fixtures are shaped like the developer
guide's example (clarify-processing-job-run, "Get the Analysis Results"); a numeric facet and a
Regression label are reported as the interval above their threshold, "(100.0, 2278.0]", as
Clarify writes them (smclarify ``_do_report`` / ``_positive_label_index``).
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitoring_jobs import evidently_check as job
from tests.monitoring_jobs.test_evidently_check import (
    BIAS_ROWS,
    FEATURES,
    FakeS3,
    bias_inputs,
    capture_line,
    truth_line,
)

NOW = datetime(2026, 12, 2, 4, 5, tzinfo=UTC)
ANALYSIS = "s3://reports/ep/bias/run-1/clarify/analysis.json"


def _metrics(values: dict[str, float | None]) -> list[dict[str, Any]]:
    return [{"name": n, "description": n, "value": v} for n, v in values.items()]


def analysis(
    *,
    facet: str = "channel",
    facet_value: str = "branch",
    label: str = "churned",
    label_value: str = "1",
    pre: dict[str, float | None] | None = None,
    post: dict[str, float | None] | None = None,
) -> dict[str, Any]:
    """Clarify's analysis.json with both bias sections, as in the developer guide's example."""

    def section(values: dict[str, float | None]) -> dict[str, Any]:
        return {
            "label": label,
            "label_value_or_threshold": label_value,
            "facets": {facet: [{"value_or_threshold": facet_value, "metrics": _metrics(values)}]},
        }

    return {
        "version": "1.0",
        "pre_training_bias_metrics": section(pre or {"CI": 0.33, "DPL": 0.2}),
        "post_training_bias_metrics": section(post or {"DPPL": 0.3, "DI": 0.4, "TE": None}),
    }


def test_the_clarify_analysis_gives_the_in_job_checks_metrics_and_violations() -> None:
    # Given Clarify's analysis of the same window the in-job check measured
    records, labels, settings = bias_inputs()
    in_job = job.bias(job.bias_frame(records, labels, settings), settings)
    values = in_job.report["metrics"]
    computed = {k: v for k, v in values.items() if v is not None}
    pre = {k: v for k, v in computed.items() if k in job.PRE_TRAINING_BIAS_METRICS}
    post = {k: v for k, v in computed.items() if k in job.POST_TRAINING_BIAS_METRICS}
    # When the check stage reads it
    on_clarify = job.clarify_bias(analysis(pre=pre, post={**post, "TE": None}), settings)
    # Then it publishes the same metrics with the same dimensions, and the same violations
    assert on_clarify.violations == in_job.violations
    assert on_clarify.violations[0]["constraint_check_type"] == "bias_drift_check"
    assert on_clarify.exit_message.startswith(job.VIOLATIONS_EXIT_PREFIX)
    assert job.metric_data(on_clarify, settings, NOW) == job.metric_data(in_job, settings, NOW)


def test_only_the_policys_facet_value_is_read() -> None:
    # Given an analysis with another facet value too (Clarify computes one per category when
    # none is named)
    _, _, settings = bias_inputs()
    document = analysis(post={"DI": 0.9})
    document["post_training_bias_metrics"]["facets"]["channel"].insert(
        0, {"value_or_threshold": "web", "metrics": _metrics({"DI": 0.1})}
    )
    values = job.clarify_bias_values(document, settings)
    assert values["DI"] == 0.9
    assert values["KS"] is None  # not computed: not published, and not bounded by the policy


def test_a_numeric_facet_is_matched_by_the_interval_above_its_threshold() -> None:
    spec = job.BiasSpec("churned", "1", "age", "40", (("DI", 0.8, 1.25),))
    settings = job.Settings("bias", "BinaryClassification", "ep", "ep-bias", FEATURES, bias=spec)
    document = analysis(facet="age", facet_value="(40.0, 75.0]", post={"DI": 1.0})
    assert job.clarify_bias(document, settings).violations == []
    other = analysis(facet="age", facet_value="(50.0, 75.0]", post={"DI": 1.0})
    with pytest.raises(job.CheckError, match=r"no bias metric for age=40 .*age=\(50.0, 75.0\]"):
        job.clarify_bias(other, settings)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (analysis(label="other"), "is for label 'other', the policy's is 'churned'"),
        (analysis(label_value="0"), "is for label value '0', the policy's is '1'"),
        (analysis(post={"DPPL": 0.1}), "does not report DI for channel=branch"),
        ({"explanations": {}}, "is not a bias analysis"),
    ],
)
def test_an_analysis_that_is_not_the_policys_fails_the_run(
    document: dict[str, Any], message: str
) -> None:
    _, _, settings = bias_inputs()
    with pytest.raises(job.CheckError, match=message):
        job.clarify_bias(document, settings)


def test_a_metric_clarify_could_not_compute_with_an_interval_fails_the_run() -> None:
    spec = job.BiasSpec("churned", "1", "channel", "branch", (("TE", -1.0, 1.0),))
    _, _, settings = bias_inputs(spec=spec)
    with pytest.raises(job.CheckError, match="bias metric TE is undefined"):
        job.clarify_bias(analysis(), settings)


# Clarify reads integer labels as categories only below 5 % distinct values: 45 records
WINDOW = BIAS_ROWS * 3


def test_the_dataset_joins_predictions_with_ground_truth_as_the_in_job_check(
    tmp_path: Path,
) -> None:
    # Given the window the in-job check measures, one prediction without ground truth
    records, labels, settings = bias_inputs(WINDOW)
    records = [*records, job.CapturedRecord("unlabelled", ("41", "web"), "0.9")]
    # When the dataset stage writes it
    count = job.write_bias_dataset(records, labels, settings, tmp_path)
    rows = list(csv.reader((tmp_path / job.DATASET_FILE).open()))
    # Then one row per joined prediction: features, observed label, the score's class
    assert count == len(rows) == len(WINDOW)
    for row, (channel, label, score) in zip(rows, WINDOW, strict=True):
        assert row == ["40", channel, label, "1" if float(score) >= 0.5 else "0"]


def test_class_labels_are_written_so_that_clarify_reads_them_as_categories(
    tmp_path: Path,
) -> None:
    # Given labels written as floats ("1.0"), which Clarify would read as continuous
    records, labels, settings = bias_inputs(WINDOW)
    floats = {event: f"{label}.0" for event, label in labels.items()}
    job.write_bias_dataset(records, floats, settings, tmp_path)
    rows = list(csv.reader((tmp_path / job.DATASET_FILE).open()))
    assert {row[2] for row in rows} == {"0", "1"}
    # A window too small: two integer classes in 15 records are 13 % distinct values, which
    # Clarify reads as a continuous column (its favourable value a threshold)
    records, labels, settings = bias_inputs()
    with pytest.raises(job.CheckError, match=r"15 joined records with 2 distinct integer labels"):
        job.write_bias_dataset(records, labels, settings, tmp_path)
    # Text classes are categories whatever their number
    text = {event: "yes" if label == "1" else "no" for event, label in labels.items()}
    records = [job.CapturedRecord(r.event_id, r.features, text[r.event_id]) for r in records]
    spec = job.BiasSpec("churned", "yes", "channel", "branch")
    settings = job.Settings(
        "bias", "MulticlassClassification", "ep", "ep-bias", FEATURES, bias=spec
    )
    assert job.write_bias_dataset(records, text, settings, tmp_path) == len(BIAS_ROWS)


def test_a_numeric_facet_and_regression_values_are_written_as_floats(tmp_path: Path) -> None:
    # Clarify reads a floating-point column as continuous (its threshold rule applies) and
    # requires the label and the predicted label to have the same type
    spec = job.BiasSpec("amount", "10", "age", "40")
    settings = job.Settings("bias", "Regression", "ep", "ep-bias", FEATURES, bias=spec)
    records = [
        job.CapturedRecord("e0", ("41", "web"), "11"),
        job.CapturedRecord("e1", ("39", "web"), "3"),
    ]
    job.write_bias_dataset(records, {"e0": "12", "e1": "2"}, settings, tmp_path)
    rows = list(csv.reader((tmp_path / job.DATASET_FILE).open()))
    assert rows == [["41.0", "web", "12.0", "11.0"], ["39.0", "web", "2.0", "3.0"]]
    bad = [job.CapturedRecord("e0", ("forty", "web"), "11")]
    with pytest.raises(job.CheckError, match="e0: facet age 'forty' is not a number"):
        job.write_bias_dataset(bad, {"e0": "12"}, settings, tmp_path)


def test_the_in_job_split_of_a_numeric_facet_is_clarifys_above_the_threshold() -> None:
    # Given ages 39, 40, 41 and the facet threshold 40: Clarify's sensitive group is (40, max]
    spec = job.BiasSpec("churned", "1", "age", "40")
    settings = job.Settings("bias", "BinaryClassification", "ep", "ep-bias", FEATURES, bias=spec)
    records = [job.CapturedRecord(f"e{age}", (str(age), "web"), "0.7") for age in (39, 40, 41)]
    frame = job.bias_frame(records, {f"e{age}": "1" for age in (39, 40, 41)}, settings)
    assert frame["sensitive"].tolist() == [False, False, True]


def test_the_config_stage_keeps_the_bias_config_and_refuses_a_predictor(tmp_path: Path) -> None:
    config = {"dataset_type": "text/csv", "predicted_label": job.PREDICTED_LABEL_HEADER}
    written = job.write_clarify_config(config, None, tmp_path)
    assert json.loads(written.read_text()) == config
    with pytest.raises(job.CheckError, match="network-isolated"):
        job.write_clarify_config({**config, "predictor": {}}, None, tmp_path)


def _run(s3: FakeS3, *extra: str) -> job.CheckResult:
    args = job.parse_args(
        [
            *("--check", "bias", "--problem-type", "BinaryClassification", "--model", "m"),
            *("--endpoint", "ep", "--schedule", "ep-bias"),
            *("--features", "age:numeric,channel:categorical", "--capture-uri", "s3://capture/ep/"),
            *("--ground-truth-uri", "s3://truth/ep", "--window-hours", "1"),
            *("--bias-label", "churned", "--bias-label-value", "1"),
            *("--bias-facet", "channel", "--bias-facet-value", "branch"),
            *("--bias-threshold", "DI:0.8:1.25"),
            *extra,
        ]
    )
    return job.run(args, s3, NOW)


def test_both_stages_run_from_their_arguments(tmp_path: Path) -> None:
    # Given an hour of capture with its ground truth, the synthesized config and the analysis
    hour = "2026/12/02/03"
    lines = [capture_line(f"e{i}", f"40,{c}", s) for i, (c, _, s) in enumerate(WINDOW)]
    truth = [truth_line(f"e{i}", label) for i, (_, label, _) in enumerate(WINDOW)]
    config = {"dataset_type": "text/csv", "predicted_label": job.PREDICTED_LABEL_HEADER}
    s3 = FakeS3(
        {
            f"s3://capture/ep/AllTraffic/{hour}/c.jsonl": "\n".join(lines).encode(),
            f"s3://truth/ep/{hour}/t.jsonl": "\n".join(truth).encode(),
            "s3://assets/config.json": json.dumps(config).encode(),
            ANALYSIS: json.dumps(analysis()).encode(),
        }
    )
    # When the dataset stage and then the check stage run
    first = _run(
        s3,
        *("--dataset-output", str(tmp_path / "data"), "--config-output", str(tmp_path / "cfg")),
        *("--clarify-config-uri", "s3://assets/config.json"),
    )
    second = _run(s3, "--analysis-uri", ANALYSIS)
    # Then the first wrote Clarify's inputs and published nothing; the second checked DI
    assert first.report == {"dataset_rows": len(WINDOW)}
    assert not first.metrics
    assert (tmp_path / "cfg" / job.CLARIFY_CONFIG_FILE).is_file()
    assert len((tmp_path / "data" / job.DATASET_FILE).read_text().splitlines()) == len(WINDOW)
    assert [v["metric_name"] for v in second.violations] == ["DI"]
    assert second.report["computed_by"] == "SageMaker Clarify processing job"

"""The Evidently job on batch transform capture: manifests, the input/output pairing, inference
ids, the per-run and windowed reads, and Model Monitor's batch metric dimensions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitoring_jobs import evidently_check as job
from tests.monitoring_jobs.test_evidently_check import FEATURES, FakeS3, truth_line

CAPTURE = "s3://out/churn/capture/"
NOW = datetime(2026, 12, 2, 4, 5, tzinfo=UTC)


def manifest(prefix: str, *names: str) -> bytes:
    return json.dumps([{"prefix": prefix}, *names]).encode()


def run_objects(run: str, hour: str, rows: list[tuple[str, str, str]]) -> dict[str, bytes]:
    """One transform run's capture: input and output manifests under ``<run>/``, the input file
    (features) and its ``.out`` (prediction, inference id, start time: GenerateInferenceId)."""
    inputs = "".join(f"{features}\n" for features, _, _ in rows)
    outputs = "".join(f"{score},{iid},2026-12-01T02:00:00Z\n" for _, score, iid in rows)
    return {
        f"{CAPTURE}{run}/input/{hour}/m.json": manifest("s3://in/churn/", "day.csv"),
        f"{CAPTURE}{run}/output/{hour}/m.json": manifest(
            f"s3://out/churn/scores/{run}/", "day.csv.out"
        ),
        "s3://in/churn/day.csv": inputs.encode(),
        f"s3://out/churn/scores/{run}/day.csv.out": outputs.encode(),
    }


def test_a_manifest_names_objects_under_its_prefix() -> None:
    text = '[{"prefix":"s3://b/in/"}, "a.csv", "sub/b.csv"]'
    assert job.parse_batch_manifest(text) == [
        ("s3://b/in/a.csv", "a.csv"),
        ("s3://b/in/sub/b.csv", "sub/b.csv"),
    ]
    with pytest.raises(job.CheckError, match="not in SageMaker's format"):
        job.parse_batch_manifest('{"prefix": "s3://b/"}')


def test_output_rows_carry_the_inference_id_and_the_input_features() -> None:
    records = list(
        job.batch_output_records("f.csv.out", "0.9,id-1,T\n0.2,id-2,T\n", "40,web\n51,branch\n")
    )
    assert [(r.event_id, r.prediction, r.features) for r in records] == [
        ("id-1", "0.9", ("40", "web")),
        ("id-2", "0.2", ("51", "branch")),
    ]


def test_output_without_inference_ids_or_of_another_length_fails_the_run() -> None:
    with pytest.raises(job.CheckError, match="GenerateInferenceId"):
        list(job.batch_output_records("f.csv.out", "0.9\n", "40,web\n"))
    with pytest.raises(job.CheckError, match="1 records and its input 2"):
        list(job.batch_output_records("f.csv.out", "0.9,a,T\n", "40,web\n41,web\n"))


def test_data_quality_reads_one_runs_capture_with_features() -> None:
    # (exec-1 replaced the shared input file of exec-0)
    s3 = FakeS3(
        run_objects("exec-0", "2026/12/01/02", [("30,web", "0.5", "z")])
        | run_objects(
            "exec-1", "2026/12/02/02", [("40,web", "0.9", "a"), ("51,branch", "0.1", "b")]
        )
    )
    records = list(job.batch_capture_records(s3, f"{CAPTURE}exec-1/", with_features=True))
    assert [(r.event_id, r.features) for r in records] == [
        ("a", ("40", "web")),
        ("b", ("51", "branch")),
    ]


def test_model_quality_reads_the_window_of_runs_without_inputs() -> None:
    objects = run_objects("exec-1", "2026/12/02/02", [("40,web", "0.9", "a")]) | run_objects(
        "exec-0", "2026/11/20/02", [("30,web", "0.5", "old")]
    )
    del objects["s3://in/churn/day.csv"]  # inputs of older runs may be gone: not read
    s3 = FakeS3(objects)
    start = datetime(2026, 11, 25, tzinfo=UTC)
    records = list(
        job.batch_capture_records(s3, CAPTURE, with_features=False, start=start, end=NOW)
    )
    assert [(r.event_id, r.prediction) for r in records] == [("a", "0.9")]


def test_a_batch_run_publishes_model_monitors_batch_dimensions(tmp_path: Path) -> None:
    # Given a batch model-quality run joining two labelled predictions
    objects = run_objects("exec-1", "2026/12/02/02", [("40,web", "0.9", "a"), ("51,x", "0.2", "b")])
    objects["s3://gt/churn/2026/12/02/03/labels.jsonl"] = (
        truth_line("a", "1") + "\n" + truth_line("b", "0")
    ).encode()
    args = job.parse_args(
        [
            "--check=model_quality",
            "--source=batch",
            "--problem-type=BinaryClassification",
            "--model=churn",
            "--endpoint=churn-dev-batch",
            "--schedule=churn-dev-batch-model-quality",
            "--features=age:numeric,channel:categorical",
            f"--capture-uri={CAPTURE}",
            "--ground-truth-uri=s3://gt/churn/",
            "--window-hours=48",
            "--quality-floor=auc:0.7",
        ]
    )
    settings = job.settings_from(args)
    # When its records are read
    records = list(
        job.batch_capture_records(
            FakeS3(objects), CAPTURE, with_features=False, start=datetime(2026, 12, 1, tzinfo=UTC)
        )
    )
    assert len(records) == 2
    # Then its metrics go to Model Monitor's batch namespace, without an Endpoint dimension
    assert settings.namespace == "aws/sagemaker/ModelMonitoring/model-metrics"
    result = job.CheckResult(metrics=[("auc", {}, 1.0)])
    (datum,) = job.metric_data(result, settings, NOW)
    assert datum["Dimensions"] == [
        {"Name": "MonitoringSchedule", "Value": "churn-dev-batch-model-quality"}
    ]
    assert job.BATCH_NAMESPACES["data_quality"] == "aws/sagemaker/ModelMonitoring/data-metrics"
    assert FEATURES  # the shared feature fixture stays the endpoint tests' schema


def test_no_batch_capture_fails_the_run() -> None:
    args = job.parse_args(
        [
            "--check=data_quality",
            "--source=batch",
            "--problem-type=BinaryClassification",
            "--model=churn",
            "--endpoint=churn-dev-batch",
            "--schedule=churn-dev-batch-data-quality",
            "--features=age:numeric",
            f"--capture-uri={CAPTURE}exec-9/",
            "--reference-uri=s3://art/baselines/churn/x/reference/summary.json",
        ]
    )
    with pytest.raises(job.CheckError, match="no batch transform capture under"):
        job.run(args, FakeS3({}), NOW)

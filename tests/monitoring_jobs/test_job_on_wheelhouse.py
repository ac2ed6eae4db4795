"""The Evidently checks run on exactly what the job installs: a Python 3.12 venv built offline
from the shipped wheelhouse (``make wheelhouse``), with ``--no-index --no-deps``, as the job's
entrypoint does. The venv is cached per lock (~/.cache/sagemaker-governance), so only the first
run on a machine pays for it (about a minute)."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from cdk_constructs.monitoring.evidently_engine import (
    DEFAULT_WHEELHOUSE,
    IMAGE_PYTHON,
    LOCK_MEMBER,
    REQUIREMENTS_LOCK,
    check_wheelhouse,
    job_code_bundle,
)

# The job's interpreter imports pandas, evidently and mlflow and runs every check.
pytestmark = pytest.mark.slow

DRIVER = r"""
import json, sys
import numpy as np, pandas as pd
sys.path.insert(0, sys.argv[1])
import evidently_check as job

rng = np.random.default_rng(7)
features = (job.Feature("age", "numeric"), job.Feature("channel", "categorical"))
# Samples large enough that two draws of one distribution stay well within the 0.1 threshold.
reference = pd.DataFrame({"age": rng.normal(40, 10, 3000),
                          "channel": rng.choice(["web", "branch"], 3000, p=[0.6, 0.4])})

def captures(mean, n, missing=0, noise=0.1):
    lines = []
    for i in range(n):
        age = "" if i < missing else f"{rng.normal(mean, 10):.2f}"
        channel = rng.choice(["web", "branch"], p=[0.6, 0.4])
        label = int(rng.random() < 0.5)
        score = min(1.0, max(0.0, 0.8 * label + rng.normal(0.1, noise)))
        lines.append(json.dumps({
            "captureData": {"endpointInput": {"data": f"{age},{channel}", "encoding": "CSV"},
                            "endpointOutput": {"data": f"{score:.3f}", "encoding": "CSV"}},
            "eventMetadata": {"eventId": f"e{i}"}, "eventVersion": "0"}))
        lines.append(label)
    return [l for l in lines if isinstance(l, str)], [l for l in lines if isinstance(l, int)]

def dq(mean, missing=0):
    lines, _ = captures(mean, 2000, missing)
    records = list(job.parse_capture_lines(lines))
    settings = job.Settings("data_quality", "BinaryClassification", "ep", "ep-dq", features)
    result = job.data_quality(job.captured_frame(records, features), reference, settings)
    return {"violations": result.violations, "metrics": [[m[0], m[2]] for m in result.metrics]}

def mq(floor, noise):
    lines, labels = captures(40, 300, noise=noise)
    records = list(job.parse_capture_lines(lines))
    truth = {r.event_id: str(labels[i]) for i, r in enumerate(records)}
    settings = job.Settings("model_quality", "BinaryClassification", "ep", "ep-model-quality",
                            features, quality_floor=("auc", floor))
    result = job.model_quality(job.joined_frame(records, truth), settings)
    return {"violations": result.violations, "metrics": dict((m[0], m[2]) for m in result.metrics)}

# The reference as the training pipeline registers it, read through the shipped contract.
import hashlib, io
csv = reference.assign(label=0).to_csv(index=False).encode()
summary = {"format": "governance-reference/1", "model": "m", "execution_id": "e1",
           "columns": [{"name": "age", "dtype": "float64", "kind": "numerical"},
                       {"name": "channel", "dtype": "object", "kind": "categorical"},
                       {"name": "label", "dtype": "int64", "kind": "categorical"}],
           "row_count": len(reference), "sha256": hashlib.sha256(csv).hexdigest(),
           "label": "label", "created": "2026-12-01T10:00:00Z"}
class S3:
    objects = {"baselines/m/e1/reference/summary.json": json.dumps(summary).encode(),
               "baselines/m/e1/reference/reference.csv": csv}
    def get_object(self, Bucket, Key):
        return {"Body": io.BytesIO(self.objects[Key])}
read = job.read_reference(S3(), "s3://art/baselines/m/e1/reference/summary.json", model="m")
assert len(read) == len(reference), len(read)

def bias_run(branch_shift):
    # "branch" is the protected segment; a shift lowers its scores, so fewer positive predictions.
    lines, labels = captures(40, 900)
    records = list(job.parse_capture_lines(lines))
    shifted = []
    for record in records:
        if record.features[1] == "branch":
            score = max(0.0, float(record.prediction) + branch_shift)
            record = job.CapturedRecord(record.event_id, record.features, f"{score:.3f}")
        shifted.append(record)
    truth = {r.event_id: str(labels[i]) for i, r in enumerate(shifted)}
    spec = job.BiasSpec("label", "1", "channel", "branch", (("DI", 0.8, 1.25), ("DPPL", -0.1, 0.1)))
    settings = job.Settings("bias", "BinaryClassification", "ep", "ep-bias", features, bias=spec)
    result = job.bias(job.bias_frame(shifted, truth, settings), settings)
    return result, settings, shifted, truth

fair, fair_settings, _, _ = bias_run(0.0)
unfair, _, unfair_records, unfair_truth = bias_run(-0.6)

def bias_out(result):
    return {"violations": result.violations, "metrics": {m[0]: m[2] for m in result.metrics},
            "dimensions": {m[0]: m[1] for m in result.metrics}}

def on_clarify(result, records, truth, settings):
    # Bias on SageMaker Clarify, both Evidently stages on the shipped bundle: the dataset as
    # Clarify reads it, and Clarify's analysis.json (the in-job values, as Clarify would report
    # them) read by governance.logic.bias with the wheelhouse's pydantic.
    rows = job.write_bias_dataset(records, truth, settings, Path(tempfile.mkdtemp()))
    values = {k: v for k, v in result.report["metrics"].items() if v is not None}
    def section(names):
        metrics = [{"name": n, "description": n, "value": values[n]} for n in names if n in values]
        return {"label": "label", "label_value_or_threshold": "1",
                "facets": {"channel": [{"value_or_threshold": "branch", "metrics": metrics}]}}
    analysis = {"version": "1.0",
                "pre_training_bias_metrics": section(job.PRE_TRAINING_BIAS_METRICS),
                "post_training_bias_metrics": section(job.POST_TRAINING_BIAS_METRICS)}
    return {"dataset_rows": rows, **bias_out(job.clarify_bias(analysis, settings))}

import tempfile
from pathlib import Path
clarify_unfair = on_clarify(unfair, unfair_records, unfair_truth, fair_settings)

# History: the run logged to a local MLflow file store through the same function the job uses
# with the App's ARN; and the shipped plugin resolves SageMaker MLflow ARNs.
import os, tempfile
from datetime import UTC, datetime
# MLflow 3 keeps the file store for tests and local use behind this opt-in (no server here).
os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
from importlib.metadata import entry_points
import mlflow
store = "file://" + tempfile.mkdtemp()
run_id = job.log_to_mlflow(unfair, fair_settings, store, datetime(2026, 12, 2, 4, tzinfo=UTC))
client = mlflow.tracking.MlflowClient(store)
run = client.get_run(run_id)
logged = {"experiment": client.get_experiment(run.info.experiment_id).name,
          "run_name": run.info.run_name, "status": run.info.status,
          "metrics": run.data.metrics, "params": run.data.params,
          "tags": {k: v for k, v in run.data.tags.items() if k.startswith("governance.")},
          "arn_stores": sorted(e.name for e in entry_points(group="mlflow.tracking_store"))}

print(json.dumps({"same": dq(40), "drifted": dq(65), "incomplete": dq(40, missing=400),
                  "quality_ok": mq(0.7, 0.1), "quality_low": mq(0.7, 1.5),
                  "bias_fair": bias_out(fair), "bias_unfair": bias_out(unfair),
                  "bias_on_clarify": clarify_unfair,
                  "mlflow": logged}))
"""


def _python312() -> str | None:
    found = shutil.which(f"python{IMAGE_PYTHON}")
    if found and subprocess.run([found, "-V"], capture_output=True, check=False).returncode == 0:
        return found
    candidates = sorted(
        glob.glob(str(Path.home() / f".pyenv/versions/{IMAGE_PYTHON}.*/bin/python3"))
    )
    return candidates[-1] if candidates else None


@pytest.fixture(scope="module")
def job_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheelhouse = check_wheelhouse(DEFAULT_WHEELHOUSE)  # fails with "run make wheelhouse"
    interpreter = _python312()
    if interpreter is None:
        pytest.skip(f"no CPython {IMAGE_PYTHON} here to install the job's wheelhouse into")
    lock_hash = hashlib.sha256(REQUIREMENTS_LOCK.read_bytes()).hexdigest()[:12]
    # Cached outside the work tree, per lock: a fresh clone on the same machine (CI) reuses it.
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    venv = cache / "sagemaker-governance" / f"job-venv-{lock_hash}"
    python = venv / "bin" / "python"
    if not (venv / ".installed").exists():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([interpreter, "-m", "venv", "--without-pip", str(venv)], check=True)
        wheels = tmp_path_factory.mktemp("wheelhouse")
        with tarfile.open(wheelhouse) as archive:
            archive.extractall(wheels, filter="data")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "--python",
                str(python),
                "install",
                "--quiet",
                "--disable-pip-version-check",
                # Byte-compiling every installed file took about 30 of this fixture's 40 s; the
                # driver compiles only what it imports.
                "--no-compile",
                "--no-index",
                "--no-deps",
                "--find-links",
                str(wheels),
                "-r",
                str(wheels / LOCK_MEMBER),
            ],
            check=True,
        )
        (venv / ".installed").touch()
    return python


@pytest.fixture(scope="module")
def outcomes(job_python: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # The code bundle the job unpacks: the script and the contract modules it imports.
    code = tmp_path_factory.mktemp("job")
    with tarfile.open(job_code_bundle()) as archive:
        archive.extractall(code, filter="data")
    done = subprocess.run(
        [str(job_python), "-c", DRIVER, str(code)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_traffic_like_the_reference_has_no_violations(outcomes: dict[str, Any]) -> None:
    same = outcomes["same"]
    assert same["violations"] == []
    names = [name for name, _ in same["metrics"]]
    # Model Monitor's names, one of each per feature.
    assert sorted(names) == sorted(
        [
            "feature_baseline_drift_age",
            "feature_baseline_drift_channel",
            "feature_non_null_age",
            "feature_non_null_channel",
        ]
    )


def test_drifted_feature_is_a_baseline_drift_violation(outcomes: dict[str, Any]) -> None:
    drifted = outcomes["drifted"]
    assert [(v["feature_name"], v["constraint_check_type"]) for v in drifted["violations"]] == [
        ("age", "baseline_drift_check")
    ]
    distance = dict(drifted["metrics"])["feature_baseline_drift_age"]
    assert distance > 0.1


def test_missing_values_are_a_completeness_violation(outcomes: dict[str, Any]) -> None:
    kinds = {
        (v["feature_name"], v["constraint_check_type"])
        for v in outcomes["incomplete"]["violations"]
    }
    assert ("age", "completeness_check") in kinds
    assert dict(outcomes["incomplete"]["metrics"])["feature_non_null_age"] == 1600


def test_model_quality_joins_ground_truth_and_checks_the_floor(outcomes: dict[str, Any]) -> None:
    ok, low = outcomes["quality_ok"], outcomes["quality_low"]
    assert ok["violations"] == []
    assert ok["metrics"]["auc"] > 0.9
    assert {"accuracy", "precision", "recall", "f1", "auc"} <= set(ok["metrics"])
    # A model whose scores barely separate the classes falls below the 0.7 floor.
    assert low["metrics"]["auc"] < 0.7
    assert [(v["metric_name"], v["constraint_check_type"]) for v in low["violations"]] == [
        ("auc", "LessThanThreshold")
    ]


def test_bias_within_the_policy_intervals_has_no_violations(outcomes: dict[str, Any]) -> None:
    fair = outcomes["bias_fair"]
    assert fair["violations"] == []
    assert 0.8 <= fair["metrics"]["bias_metric_DI"] <= 1.25
    # Clarify's names, pre- and post-training, with the bias-drift dimensions.
    assert {"bias_metric_CI", "bias_metric_DPL", "bias_metric_DPPL", "bias_metric_DI"} <= set(
        fair["metrics"]
    )
    assert fair["dimensions"]["bias_metric_DI"] == {
        "BiasStage": "Post-Training",
        "Label": "label",
        "LabelValue": "1",
        "Facet": "channel",
        "FacetValue": "branch",
    }
    assert fair["dimensions"]["bias_metric_CI"]["BiasStage"] == "Pre-training"


def test_a_disadvantaged_segment_is_a_bias_drift_violation(outcomes: dict[str, Any]) -> None:
    unfair = outcomes["bias_unfair"]
    assert unfair["metrics"]["bias_metric_DI"] < 0.8
    assert unfair["metrics"]["bias_metric_DPPL"] > 0.1
    assert sorted((v["metric_name"], v["constraint_check_type"]) for v in unfair["violations"]) == [
        ("DI", "bias_drift_check"),
        ("DPPL", "bias_drift_check"),
    ]
    assert all(
        v["facet"] == "channel" and v["facet_value"] == "branch" for v in unfair["violations"]
    )


def test_bias_on_clarify_runs_on_the_shipped_bundle_like_the_in_job_check(
    outcomes: dict[str, Any],
) -> None:
    on_clarify, in_job = outcomes["bias_on_clarify"], outcomes["bias_unfair"]
    assert on_clarify["dataset_rows"] == 900
    assert on_clarify["violations"] == in_job["violations"]
    assert on_clarify["metrics"] == pytest.approx(in_job["metrics"])
    assert on_clarify["dimensions"] == in_job["dimensions"]


def test_the_run_is_logged_to_mlflow(outcomes: dict[str, Any]) -> None:
    logged = outcomes["mlflow"]
    unfair = outcomes["bias_unfair"]
    assert logged["experiment"] == "ep"
    assert logged["run_name"] == "ep-bias-20261202T040000Z"
    assert logged["status"] == "FINISHED"
    assert logged["metrics"] == pytest.approx(unfair["metrics"])
    assert logged["params"] == {"problem_type": "BinaryClassification", "violations": "2"}
    assert logged["tags"]["governance.check"] == "bias"
    assert logged["tags"]["governance.outcome"].startswith("CompletedWithViolations")
    assert json.loads(logged["tags"]["governance.violation.0"]) == unfair["violations"][0]
    # The shipped sagemaker-mlflow plugin registers the store for SageMaker MLflow ARNs.
    assert "arn" in logged["arn_stores"]

"""One monitoring check of the Evidently engine, run as a SageMaker processing job.

AWS's replacement for Model Monitor (SageMaker developer guide, model-monitor-availability-change)
is open-source monitoring with Evidently AI presets, run by scheduled processing jobs, alerting
through SNS and CloudWatch. This script is that job. It keeps Model Monitor's outcomes so that the
app's alarms, dashboard and violations handler work unchanged for both engines:

* it reads the endpoint's data capture (Model Monitor's capture format, ``captureData`` /
  ``eventMetadata``) for the window that ended when the run started, and for model quality the
  ground truth in Model Monitor's ground-truth format, joined by ``eventId`` (or ``inferenceId``);
* ``data_quality`` compares the captured features with the registry's approved reference
  (Evidently ``DataDriftPreset`` with Jensen-Shannon distance, ``DataSummaryPreset``);
  ``model_quality`` computes ``ClassificationPreset`` / ``RegressionPreset`` metrics and checks
  them against the approved floor; ``bias`` computes SageMaker Clarify's bias metrics per
  segment of the protected facet (the replacement guidance's "per-segment metrics for bias")
  on the predictions joined with ground truth, and checks them against the policy's intervals;
* it writes ``constraint_violations.json`` in Model Monitor's documented format ("Schema for
  Violations") to its output, next to the Evidently report, and ``/opt/ml/output/message``
  (the processing job's ``ExitMessage``, developer guide byoc-metadata) starting with
  ``CompletedWithViolations`` when it found violations, as Model Monitor executions do;
* it publishes the metric names and dimensions Model Monitor publishes
  (``feature_baseline_drift_<feature>``, ``feature_non_null_<feature>``, ``auc``, ``f1``...
  with ``Endpoint``, ``MonitoringSchedule`` and for features ``Feature``; ``bias_metric_<NAME>``
  with ``BiasStage``, ``Label``, ``LabelValue``, ``Facet``, ``FacetValue``);
* ``explainability`` (environments that opted in as existing SageMaker Clarify customers) runs
  in two stages around a SageMaker Clarify processing job: ``--dataset-output`` writes the
  window's captured features as the CSV Clarify explains; then ``--analysis-uri`` reads
  Clarify's ``analysis.json``, publishes each feature's global SHAP value as Model Monitor's
  explainability monitor does (``feature_<name>`` with ``ExplainabilityMethod``, ``Label``,
  ``ValueType``) and compares the ranking with the registry's baseline by nDCG, a violation
  ``feature_attribution_drift_check`` below the threshold (developer guide,
  clarify-model-monitor-feature-attribution-drift);
* ``bias`` in environments that opted in as existing SageMaker Clarify customers runs in the
  same two stages around a network-isolated Clarify processing job: ``--dataset-output``
  writes the window's predictions joined with ground truth (features, label, predicted label)
  as Clarify's CSV; ``--analysis-uri`` reads the bias sections of Clarify's ``analysis.json``
  (with the approval gate's parser, ``governance.logic.bias``) and publishes and checks them
  exactly as the in-job bias check does;
* when the environment names a SageMaker AI MLflow tracking server (``--mlflow-tracking-arn``),
  it logs the run there too (parameters, metrics, outcome and first violations as tags), through
  the ``sagemaker-mlflow`` plugin, which signs MLflow's REST calls with the job's role; for an
  MLflow App (``--mlflow-run-records-uri``) it writes the same run as a JSON record to the
  monitoring bucket, which the environment's relay logs to the App from outside the VPC.

A run that cannot check (no captured traffic, unreadable reference) exits non-zero with the
reason in the exit message: the processing job fails, and the violations handler alerts and
records the gap. Violations are a successful run (exit 0).

Runs on the SageMaker scikit-learn image with the pinned wheelhouse installed (no download at
run time). Pure functions take data, not clients; ``main`` wires boto3.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import json
import math
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

CHECKS = ("data_quality", "model_quality", "bias", "explainability")
PROBLEM_TYPES = ("BinaryClassification", "MulticlassClassification", "Regression")
VIOLATIONS_REPORT_NAME = "constraint_violations.json"
EVIDENTLY_REPORT_NAME = "evidently_report.json"
EXIT_MESSAGE_PATH = Path("/opt/ml/output/message")
VIOLATIONS_EXIT_PREFIX = "CompletedWithViolations"
EXIT_MESSAGE_MAX_BYTES = 1024

# Model Monitor's namespaces for real-time endpoints (developer guide, "CloudWatch Metrics").
NAMESPACES = {
    "data_quality": "aws/sagemaker/Endpoints/data-metrics",
    "model_quality": "aws/sagemaker/Endpoints/model-metrics",
    "bias": "aws/sagemaker/Endpoints/bias-metrics",
    "explainability": "aws/sagemaker/Endpoints/explainability-metrics",
}
# Model Monitor's explainability metric dimensions (developer guide, "CloudWatch Metrics for
# Feature Drift Analysis", clarify-feature-attribute-drift-cw): Kernel SHAP global values;
# ``Label`` is "the name provided by job analysis configuration label_headers, or a placeholder
# like label0", set per label by ``explainability``. The page's second metric (ValueType
# ExpectedValue) is not published: it gives no metric name for it.
EXPLAINABILITY_DIMENSIONS = {
    "ExplainabilityMethod": "KernelShap",
    "Label": "label0",
    "ValueType": "GlobalShapValues",
}
DATASET_FILE = "dataset.csv"
DEFAULT_NDCG_THRESHOLD = 0.9
# Batch transform jobs: Model Monitor's namespaces and dimensions for batch (developer guide,
# model-monitor-byoc-cloudwatch: "For batch transform jobs: /aws/sagemaker/ModelMonitoring/
# data-metrics", dimension MonitoringSchedule; the SageMaker SDK's dashboards query
# {aws/sagemaker/ModelMonitoring/data-metrics,Feature,MonitoringSchedule}). There is no
# Endpoint dimension: the check's MonitoringSchedule (<model>-<env>-batch-<check>) names the
# batch pipeline and the check.
BATCH_NAMESPACES = {
    "data_quality": "aws/sagemaker/ModelMonitoring/data-metrics",
    "model_quality": "aws/sagemaker/ModelMonitoring/model-metrics",
}
SOURCES = ("endpoint", "batch")
# Evidently metric type -> Model Monitor model-quality metric name per problem type
# (developer guide, "Model quality metrics": binary, multiclass and regression tables).
QUALITY_METRICS = {
    "BinaryClassification": {
        "Accuracy": "accuracy",
        "Precision": "precision",
        "Recall": "recall",
        "F1Score": "f1",
        "RocAuc": "auc",
        "TPR": "true_positive_rate",
        "TNR": "true_negative_rate",
        "FPR": "false_positive_rate",
        "FNR": "false_negative_rate",
    },
    "MulticlassClassification": {
        "Accuracy": "accuracy",
        "Precision": "weighted_precision",
        "Recall": "weighted_recall",
        "F1Score": "weighted_f1",
    },
    "Regression": {
        "MAE": "mae",
        "RMSE": "rmse",
        "R2Score": "r2",
    },
}
# Drift as a distance that grows with drift, like Model Monitor's baseline drift distance, so the
# same threshold (0.1, Model Monitor's default, and Evidently's default for both methods) applies:
# numeric features by Wasserstein distance normed by the reference's standard deviation,
# categorical and boolean ones by Jensen-Shannon distance (Evidently "All metrics" / data drift
# methods). Text features have no distance of this kind and are not drift-checked.
NUMERIC_DRIFT_METHOD = "wasserstein"
CATEGORICAL_DRIFT_METHOD = "jensenshannon"
DRIFT_METHOD_NAMES = {True: "Wasserstein distance (normed)", False: "Jensen-Shannon distance"}
# PutMetricData takes at most 1,000 metrics per request (CloudWatch API reference).
PUT_METRIC_BATCH = 1000

# SageMaker Clarify's bias metrics this check computes, by the stage Clarify files them under
# (developer guide, clarify-measure-data-bias and clarify-measure-post-training-bias; the
# ``BiasStage`` dimension of "CloudWatch Metrics for Bias Drift Analysis"). ``a`` is every record
# outside the facet value, ``d`` the facet value's segment; a label or prediction is positive
# when it is the policy's favourable ``label_value`` (for Regression: above it).
PRE_TRAINING_BIAS_METRICS = ("CI", "DPL", "KL", "JS", "LP", "TVD", "KS")
POST_TRAINING_BIAS_METRICS = ("DPPL", "DI", "DCA", "DCR", "RD", "DAR", "DRR", "AD", "TE")
BIAS_METRICS = PRE_TRAINING_BIAS_METRICS + POST_TRAINING_BIAS_METRICS
# Clarify metrics the check cannot compute from captured traffic, in the job or on SageMaker
# Clarify, and why (the config refuses thresholds on them for a model on this engine). CDDL and
# CDDPL need BiasConfig's group_name (developer guide clarify-data-bias-metric-cddl); FT flips
# the facet of each record and asks the model again (clarify-post-training-bias-metric-ft),
# which Clarify does through a shadow endpoint, while its bias job here runs network-isolated
# on predictions already captured.
UNCOMPUTED_BIAS_METRICS = {
    "CDDL": "needs a group variable, which the bias section does not name",
    "CDDPL": "needs a group variable, which the bias section does not name",
    "FT": "needs the model's predictions for counterfactual records (a flip test), which "
    "neither the job nor the network-isolated Clarify bias job (no shadow endpoint) has",
}
BIAS_STAGES = {"pre": "Pre-training", "post": "Post-Training"}


class CheckError(Exception):
    """The run cannot check anything; the message says why (it becomes the ExitMessage)."""


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str  # numeric | categorical | text | boolean (config dataset_schema types)


@dataclass(frozen=True)
class Settings:
    check: str
    problem_type: str
    endpoint_name: str
    schedule_name: str
    features: tuple[Feature, ...]
    drift_threshold: float = 0.1
    probability_threshold: float = 0.5
    quality_floor: tuple[str, float] | None = None
    bias: BiasSpec | None = None
    source: str = "endpoint"  # endpoint | batch (SOURCES)

    @property
    def namespace(self) -> str:
        return (BATCH_NAMESPACES if self.source == "batch" else NAMESPACES)[self.check]

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]


@dataclass(frozen=True)
class BiasSpec:
    """The policy's protected facet, favourable label and metric intervals."""

    label: str
    label_value: str
    facet: str
    facet_value: str
    thresholds: tuple[tuple[str, float, float], ...] = ()

    def dimensions(self, metric: str) -> dict[str, str]:
        stage = BIAS_STAGES["pre" if metric in PRE_TRAINING_BIAS_METRICS else "post"]
        return {
            "BiasStage": stage,
            "Label": self.label,
            "LabelValue": self.label_value,
            "Facet": self.facet,
            "FacetValue": self.facet_value,
        }


@dataclass
class CheckResult:
    """What a run found: violations in Model Monitor's format and metrics to publish."""

    violations: list[dict[str, str]] = field(default_factory=list)
    # (metric name, extra dimensions, value)
    metrics: list[tuple[str, dict[str, str], float]] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_message(self) -> str:
        if self.violations:
            return f"{VIOLATIONS_EXIT_PREFIX}: {len(self.violations)} violation(s)"
        return "Completed: no violations"


# --- captured traffic and ground truth ----------------------------------------------------


@dataclass(frozen=True)
class CapturedRecord:
    event_id: str
    features: tuple[str, ...]
    prediction: str | None


def _decode(payload: Mapping[str, Any]) -> str:
    data = str(payload.get("data", ""))
    if str(payload.get("encoding", "")).upper() == "BASE64":
        return base64.b64decode(data).decode("utf-8")
    return data


def _csv_rows(text: str) -> list[list[str]]:
    return [row for row in csv.reader(io.StringIO(text.strip())) if row]


def parse_capture_lines(lines: Iterable[str]) -> Iterator[CapturedRecord]:
    """Model Monitor data capture JSON lines -> one record per CSV row of each request.

    Format: ``{"captureData": {"endpointInput": {"data", "encoding", ...}, "endpointOutput":
    {...}}, "eventMetadata": {"eventId", "inferenceId"?, "inferenceTime"}, "eventVersion"}``
    (developer guide, model-monitor-data-capture-endpoint). A request with several CSV rows
    yields one record per row, numbered ``<eventId>:<row>`` after the first.
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            capture = record["captureData"]
            metadata = record["eventMetadata"]
            inputs = _csv_rows(_decode(capture["endpointInput"]))
        except (ValueError, KeyError, TypeError) as error:
            raise CheckError(
                f"captured record {number} is not Model Monitor capture: {error}"
            ) from None
        output = capture.get("endpointOutput")
        outputs = _csv_rows(_decode(output)) if output else []
        event_id = str(metadata.get("inferenceId") or metadata.get("eventId") or number)
        for row, values in enumerate(inputs):
            prediction = outputs[row][0] if row < len(outputs) and outputs[row] else None
            yield CapturedRecord(
                event_id=event_id if row == 0 else f"{event_id}:{row}",
                features=tuple(values),
                prediction=prediction,
            )


def parse_ground_truth_lines(lines: Iterable[str]) -> dict[str, str]:
    """Model Monitor ground-truth JSON lines -> label by event id.

    Format: ``{"groundTruthData": {"data", "encoding"}, "eventMetadata": {"eventId"},
    "eventVersion"}`` (developer guide, model-monitor-model-quality-merge). A later label for
    the same event replaces an earlier one.
    """
    labels: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            event_id = str(record["eventMetadata"]["eventId"])
            rows = _csv_rows(_decode(record["groundTruthData"]))
        except (ValueError, KeyError, TypeError) as error:
            raise CheckError(
                f"ground-truth record {number} is not Model Monitor format: {error}"
            ) from None
        if rows and rows[0]:
            labels[event_id] = rows[0][0]
    return labels


# --- batch transform capture -----------------------------------------------------------------

# <capture uri>[<run>/](input|output)/yyyy/mm/dd/hh/<manifest>: what a transform job with
# DataCaptureConfig writes (developer guide, model-monitor-data-capture-batch).
_BATCH_MANIFEST = re.compile(
    r"(?P<run>(?:.*/)?)(?P<kind>input|output)/(?P<hour>\d{4}/\d{2}/\d{2}/\d{2})/[^/]+"
)


def parse_batch_manifest(text: str) -> list[tuple[str, str]]:
    """A batch capture manifest -> (object URI, name relative to the manifest's prefix).

    Format: a JSON array, ``[{"prefix": "s3://<bucket>/<prefix>/"}, "file_0.csv", ...]``
    (developer guide, model-monitor-data-capture-batch, "How to view data captured").
    """
    try:
        items = json.loads(text)
        prefix = str(items[0]["prefix"])
        names = [str(name) for name in items[1:]]
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise CheckError(
            f"a batch capture manifest is not in SageMaker's format: {error}"
        ) from None
    return [(f"{prefix.rstrip('/')}/{name}", name) for name in names]


def batch_output_records(name: str, output: str, inputs: str | None) -> Iterator[CapturedRecord]:
    """One transform output file (CSV, ``GenerateInferenceId`` on) -> a record per row.

    With ``GenerateInferenceId`` each output row ends with the inference id and the job's start
    time (developer guide, "InferenceId Generation"); the prediction is the first column. With
    ``inputs`` (the input file the row was scored from, same order) the record carries the
    features too; model quality needs only the id and the prediction.
    """
    outputs = _csv_rows(output)
    rows = _csv_rows(inputs) if inputs is not None else [[] for _ in outputs]
    if len(rows) != len(outputs):
        raise CheckError(
            f"batch output {name} has {len(outputs)} records and its input {len(rows)}; "
            "allowed: one output line per input line (SplitType and AssembleWith Line)"
        )
    for number, (features, scored) in enumerate(zip(rows, outputs, strict=True)):
        if len(scored) < 3:
            raise CheckError(
                f"batch output of {name} line {number + 1} has no inference id; the transform "
                "must capture with GenerateInferenceId"
            )
        yield CapturedRecord(event_id=scored[-2], features=tuple(features), prediction=scored[0])


def _read(s3: Any, uri: str) -> str:
    bucket, key = split_uri(uri)
    body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body.decode("utf-8")


def batch_capture_records(
    s3: Any,
    capture_uri: str,
    *,
    with_features: bool,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Iterator[CapturedRecord]:
    """The records of every batch run captured under ``capture_uri`` (manifests of the hours in
    [start, end) when given). Outputs are paired with their inputs (``<input name>.out``) only
    ``with_features``: inputs may have been replaced since an older run."""
    bucket, prefix = split_uri(capture_uri.rstrip("/") + "/")
    manifests: dict[tuple[str, str], list[str]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            match = _BATCH_MANIFEST.fullmatch(item["Key"][len(prefix) :])
            if match is None:
                continue
            hour = datetime.strptime(match["hour"], "%Y/%m/%d/%H").replace(tzinfo=UTC)
            if start is not None and hour < start.replace(minute=0, second=0, microsecond=0):
                continue
            if end is not None and hour >= end:
                continue
            manifests.setdefault((match["run"], match["kind"]), []).append(item["Key"])
    for (run, kind), keys in sorted(manifests.items()):
        if kind != "output":
            continue
        inputs = {
            name: uri
            for key in keys_of(manifests, run, "input")
            for uri, name in parse_batch_manifest(_read(s3, f"s3://{bucket}/{key}"))
        }
        for key in sorted(keys):
            for uri, name in parse_batch_manifest(_read(s3, f"s3://{bucket}/{key}")):
                source = name.removesuffix(".out")
                features = None
                if with_features:
                    if source not in inputs:
                        raise CheckError(
                            f"batch output {uri} has no captured input {source!r} in run {run!r}"
                        )
                    features = _read(s3, inputs[source])
                yield from batch_output_records(name, _read(s3, uri), features)


def keys_of(manifests: Mapping[tuple[str, str], list[str]], run: str, kind: str) -> list[str]:
    return sorted(manifests.get((run, kind), []))


def captured_frame(records: Sequence[CapturedRecord], features: Sequence[Feature]) -> Any:
    """The captured feature rows as a DataFrame with the schema's column names and types."""
    import pandas as pd

    width = len(features)
    bad = next((r for r in records if len(r.features) != width), None)
    if bad is not None:
        raise CheckError(
            f"captured request {bad.event_id} has {len(bad.features)} values; the dataset "
            f"schema has {width} features ({', '.join(f.name for f in features)})"
        )
    frame = pd.DataFrame([r.features for r in records], columns=[f.name for f in features])
    frame = frame.replace("", None)
    for feature in features:
        if feature.kind == "numeric":
            frame[feature.name] = pd.to_numeric(frame[feature.name], errors="coerce")
        else:
            frame[feature.name] = frame[feature.name].astype("object")
    frame.index = [r.event_id for r in records]
    return frame


def joined_frame(records: Sequence[CapturedRecord], labels: Mapping[str, str]) -> Any:
    """Predictions joined with their ground truth by event id (unlabelled ones dropped)."""
    import pandas as pd

    rows = [
        (r.event_id, r.prediction, labels[r.event_id])
        for r in records
        if r.event_id in labels and r.prediction is not None
    ]
    frame = pd.DataFrame(rows, columns=["event_id", "prediction", "target"])
    frame["prediction"] = pd.to_numeric(frame["prediction"], errors="coerce")
    frame["target"] = pd.to_numeric(frame["target"], errors="coerce")
    return frame.dropna().set_index("event_id")


# --- the checks ---------------------------------------------------------------------------


def _metric_type(metric: Mapping[str, Any]) -> str:
    return str(metric.get("config", {}).get("type", "")).rsplit(":", 1)[-1]


def _finite(value: object) -> float | None:
    if isinstance(value, Mapping):
        value = value.get("count")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def data_quality(current: Any, reference: Any, settings: Settings) -> CheckResult:
    """Drift of each feature from the reference, and completeness, with Evidently presets."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset, DataSummaryPreset

    names = settings.feature_names
    missing = [name for name in names if name not in reference.columns]
    if missing:
        raise CheckError(f"the reference has no column(s) {', '.join(missing)}")
    numeric = [f.name for f in settings.features if f.kind == "numeric"]
    categorical = [f.name for f in settings.features if f.kind in ("categorical", "boolean")]
    text = [f.name for f in settings.features if f.kind == "text"]
    definition = DataDefinition(
        numerical_columns=numeric, categorical_columns=categorical, text_columns=text
    )
    report = Report(
        [
            DataDriftPreset(
                columns=numeric + categorical,
                num_method=NUMERIC_DRIFT_METHOD,
                cat_method=CATEGORICAL_DRIFT_METHOD,
                threshold=settings.drift_threshold,
            ),
            DataSummaryPreset(),
        ]
    )
    snapshot = report.run(
        # Evidently plots drift against the index: give both a plain RangeIndex.
        Dataset.from_pandas(current[names].reset_index(drop=True), data_definition=definition),
        Dataset.from_pandas(reference[names].reset_index(drop=True), data_definition=definition),
    )
    result = CheckResult(report=_json_safe(snapshot.dict()))
    for metric in result.report["metrics"]:
        column = metric.get("config", {}).get("column")
        kind = _metric_type(metric)
        if kind == "ValueDrift" and column in names:
            distance = _finite(metric.get("value"))
            if distance is None:
                continue
            result.metrics.append(
                (f"feature_baseline_drift_{column}", {"Feature": column}, distance)
            )
            if distance > settings.drift_threshold:
                result.violations.append(
                    {
                        "feature_name": column,
                        "constraint_check_type": "baseline_drift_check",
                        "description": (
                            f"{DRIFT_METHOD_NAMES[column in numeric]} {distance:.4f} from the "
                            f"approved reference exceeds the threshold {settings.drift_threshold}"
                        ),
                    }
                )
    for name in names:
        non_null = int(current[name].notna().sum())
        result.metrics.append((f"feature_non_null_{name}", {"Feature": name}, float(non_null)))
        reference_complete = float(reference[name].notna().mean()) if len(reference) else 1.0
        current_complete = non_null / len(current) if len(current) else 1.0
        if current_complete < reference_complete:
            result.violations.append(
                {
                    "feature_name": name,
                    "constraint_check_type": "completeness_check",
                    "description": (
                        f"completeness {current_complete:.4f} is below the reference's "
                        f"{reference_complete:.4f}"
                    ),
                }
            )
    return result


def model_quality(joined: Any, settings: Settings) -> CheckResult:
    """Evidently classification/regression metrics on predictions joined with ground truth."""
    from evidently import (
        BinaryClassification,
        DataDefinition,
        Dataset,
        MulticlassClassification,
        Regression,
        Report,
    )
    from evidently.presets import ClassificationPreset, RegressionPreset

    if joined.empty:
        raise CheckError(
            "no captured prediction in the window has ground truth yet (joined by eventId); "
            "check the ground-truth upload or widen ground_truth_window"
        )
    frame = joined.copy()
    if settings.problem_type == "BinaryClassification":
        definition = DataDefinition(
            classification=[
                BinaryClassification(
                    target="target",
                    prediction_probas="prediction",
                    pos_label=1,
                    # labels above the threshold are positive, as the endpoint output says
                )
            ]
        )
        frame["target"] = frame["target"].astype(int)
        preset: Any = ClassificationPreset(probas_threshold=settings.probability_threshold)
    elif settings.problem_type == "MulticlassClassification":
        definition = DataDefinition(
            classification=[
                MulticlassClassification(target="target", prediction_labels="prediction")
            ]
        )
        frame = frame.astype({"target": int, "prediction": int})
        preset = ClassificationPreset()
    else:
        definition = DataDefinition(
            regression=[Regression(target="target", prediction="prediction")]
        )
        preset = RegressionPreset()
    frame = frame.reset_index(drop=True)
    snapshot = Report([preset]).run(Dataset.from_pandas(frame, data_definition=definition), None)
    result = CheckResult(report=_json_safe(snapshot.dict()))
    names = QUALITY_METRICS[settings.problem_type]
    found: dict[str, float] = {}
    for metric in result.report["metrics"]:
        name = names.get(_metric_type(metric))
        value = _finite(metric.get("value"))
        if name is not None and value is not None and name not in found:
            found[name] = value
    if settings.problem_type == "Regression" and "rmse" in found:
        found["mse"] = found["rmse"] ** 2
    result.metrics.extend((name, {}, value) for name, value in sorted(found.items()))
    if settings.quality_floor is not None:
        name, floor = settings.quality_floor
        value = found.get(name)
        if value is None:
            raise CheckError(
                f"the quality floor's metric {name!r} is not one Evidently computed for "
                f"{settings.problem_type}; computed: {', '.join(sorted(found))}"
            )
        if value < floor:
            result.violations.append(
                {
                    "metric_name": name,
                    "constraint_check_type": "LessThanThreshold",
                    "description": f"Metric {name} with {value:.4f} was LessThanThreshold {floor}",
                }
            )
    return result


def _equals(values: Any, target: str) -> Any:
    """``values == target``, comparing as numbers when both are numbers ("1" == "1.0")."""
    import pandas as pd

    try:
        number = float(target)
    except ValueError:
        return values.astype(str) == target
    numeric = pd.to_numeric(values, errors="coerce")
    return (numeric == number) | (values.astype(str) == target)


# Clarify's rule for a numeric facet: its value is "the exclusive lower bound of a sensitive
# group" (sagemaker.core.clarify.BiasConfig, facet_values_or_threshold; developer guide
# clarify-processing-job-configure-analysis, value_or_threshold). Clarify's own implementation
# selects (threshold, max] as the facet's segment, for a floating-point column always (an integer
# column with few distinct values it treats as categories): aws/amazon-sagemaker-clarify
# @29d3d0a460a1, src/smclarify/bias/report.py ``_interval_index`` / ``_do_report`` and
# src/smclarify/bias/metrics/common.py ``series_datatype``. Both paths of this check follow it:
# the in-job split compares above the threshold, and the Clarify dataset writes the facet as
# floating-point numbers so Clarify reads the column as continuous.
_INTERVAL = re.compile(r"^\(\s*([^,\s]+)\s*,\s*([^\]\s]+)\s*\]$")


def _bias_join(
    records: Sequence[CapturedRecord], labels: Mapping[str, str], settings: Settings
) -> tuple[BiasSpec, list[CapturedRecord], Any]:
    """The policy's facet, the captured predictions that have ground truth (joined by eventId),
    and a frame of their facet value, predicted label (a binary score as its class) and observed
    label."""
    import pandas as pd

    spec = settings.bias
    if spec is None:
        raise CheckError("the bias check needs the policy's facet and label (--bias-*)")
    names = settings.feature_names
    if spec.facet not in names:
        raise CheckError(f"the facet {spec.facet!r} is not a feature ({', '.join(names)})")
    column = names.index(spec.facet)
    kept = [r for r in records if r.event_id in labels and r.prediction is not None]
    rows = [
        (r.features[column] if column < len(r.features) else "", r.prediction, labels[r.event_id])
        for r in kept
    ]
    frame = pd.DataFrame(rows, columns=["facet", "prediction", "label"])
    if frame.empty:
        raise CheckError(
            "no captured prediction in the window has ground truth yet (joined by eventId); "
            "check the ground-truth upload or widen ground_truth_window"
        )
    if settings.problem_type == "BinaryClassification":
        # The endpoint answers with a score: the predicted class is 1 at and above the
        # probability threshold (deployment.output.probability_threshold).
        scores = pd.to_numeric(frame["prediction"], errors="coerce")
        frame["prediction"] = (scores >= settings.probability_threshold).astype(int).astype(str)
    return spec, kept, frame


def _facet_is_numeric(settings: Settings) -> bool:
    spec = settings.bias
    return spec is not None and any(
        f.name == spec.facet and f.kind == "numeric" for f in settings.features
    )


def bias_frame(
    records: Sequence[CapturedRecord], labels: Mapping[str, str], settings: Settings
) -> Any:
    """One row per captured prediction with ground truth: whether it is in the facet's segment,
    whether its label and its prediction are the favourable outcome."""
    import pandas as pd

    spec, _, frame = _bias_join(records, labels, settings)
    if settings.problem_type == "Regression":
        threshold = float(spec.label_value)
        label = pd.to_numeric(frame["label"], errors="coerce") > threshold
        predicted = pd.to_numeric(frame["prediction"], errors="coerce") > threshold
    else:
        label = _equals(frame["label"], spec.label_value)
        predicted = _equals(frame["prediction"], spec.label_value)
    if _facet_is_numeric(settings):
        sensitive = pd.to_numeric(frame["facet"], errors="coerce") > float(spec.facet_value)
    else:
        sensitive = _equals(frame["facet"], spec.facet_value)
    return pd.DataFrame(
        {
            "sensitive": sensitive.to_numpy(dtype=bool),
            "label": label.to_numpy(dtype=bool),
            "predicted": predicted.to_numpy(dtype=bool),
        }
    )


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _difference(first: float | None, second: float | None) -> float | None:
    return None if first is None or second is None else first - second


def bias_metrics(frame: Any) -> dict[str, float | None]:
    """Clarify's bias metrics of one facet segment ``d`` against the rest ``a`` (None where a
    metric divides by zero in this window). Definitions: SageMaker developer guide,
    clarify-data-bias-metric-* (pre-training, on the observed labels) and
    clarify-post-training-bias-metric-* (on the predictions, and for DCA..TE the confusion
    matrices of both segments)."""
    d = frame[frame["sensitive"]]
    a = frame[~frame["sensitive"]]
    if d.empty or a.empty:
        empty = "facet value" if d.empty else "other facet values"
        raise CheckError(f"no joined record in the window has the {empty}; bias cannot be measured")

    def counts(group: Any) -> dict[str, float]:
        y, p = group["label"], group["predicted"]
        return {
            "n": float(len(group)),
            "pos": float(y.sum()),
            "pred_pos": float(p.sum()),
            "pred_neg": float((~p).sum()),
            "neg": float((~y).sum()),
            "tp": float((y & p).sum()),
            "fp": float((~y & p).sum()),
            "fn": float((y & ~p).sum()),
            "tn": float((~y & ~p).sum()),
        }

    ca, cd = counts(a), counts(d)
    qa, qd = ca["pos"] / ca["n"], cd["pos"] / cd["n"]
    # Label distributions over (favourable, unfavourable) for the divergences.
    pa, pd_ = (qa, 1 - qa), (qd, 1 - qd)

    def kl(p: tuple[float, ...], q: tuple[float, ...]) -> float | None:
        if any(pi > 0 and qi == 0 for pi, qi in zip(p, q, strict=True)):
            return None
        return sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True) if pi > 0)

    middle = tuple((x + y) / 2 for x, y in zip(pa, pd_, strict=True))
    kl_a, kl_d = kl(pa, middle), kl(pd_, middle)
    qa_hat, qd_hat = ca["pred_pos"] / ca["n"], cd["pred_pos"] / cd["n"]
    return {
        "CI": (ca["n"] - cd["n"]) / (ca["n"] + cd["n"]),
        "DPL": qa - qd,
        "KL": kl(pa, pd_),
        "JS": None if kl_a is None or kl_d is None else (kl_a + kl_d) / 2,
        "LP": math.sqrt(sum((x - y) ** 2 for x, y in zip(pa, pd_, strict=True))),
        "TVD": sum(abs(x - y) for x, y in zip(pa, pd_, strict=True)) / 2,
        "KS": max(abs(x - y) for x, y in zip(pa, pd_, strict=True)),
        "DPPL": qa_hat - qd_hat,
        "DI": _ratio(qd_hat, qa_hat),
        "DCA": _difference(_ratio(ca["pos"], ca["pred_pos"]), _ratio(cd["pos"], cd["pred_pos"])),
        "DCR": _difference(_ratio(cd["neg"], cd["pred_neg"]), _ratio(ca["neg"], ca["pred_neg"])),
        "RD": _difference(
            _ratio(ca["tp"], ca["tp"] + ca["fn"]), _ratio(cd["tp"], cd["tp"] + cd["fn"])
        ),
        "DAR": _difference(
            _ratio(ca["tp"], ca["tp"] + ca["fp"]), _ratio(cd["tp"], cd["tp"] + cd["fp"])
        ),
        "DRR": _difference(
            _ratio(cd["tn"], cd["tn"] + cd["fn"]), _ratio(ca["tn"], ca["tn"] + ca["fn"])
        ),
        "AD": (ca["tp"] + ca["tn"]) / ca["n"] - (cd["tp"] + cd["tn"]) / cd["n"],
        "TE": _difference(_ratio(cd["fn"], cd["fp"]), _ratio(ca["fn"], ca["fp"])),
    }


def bias(frame: Any, settings: Settings) -> CheckResult:
    """Clarify's bias metrics for the policy's facet computed in the job, checked against the
    policy's intervals."""
    values = bias_metrics(frame)
    records = {"facet_value": int(frame["sensitive"].sum()), "total": len(frame)}
    return bias_result(values, settings, {"records": records})


def bias_result(
    values: Mapping[str, float | None], settings: Settings, report: Mapping[str, Any]
) -> CheckResult:
    """Clarify's bias metric values published as ``bias_metric_<NAME>`` with the bias alarms'
    dimensions, and one ``bias_drift_check`` violation per value outside the policy's interval
    (whether the job or a SageMaker Clarify processing job computed them)."""
    spec = settings.bias
    if spec is None:
        raise CheckError("the bias check needs the policy's facet and label (--bias-*)")
    result = CheckResult(
        report={
            "facet": spec.facet,
            "facet_value": spec.facet_value,
            "label": spec.label,
            "label_value": spec.label_value,
            **report,
            "metrics": dict(values),
        }
    )
    for name in BIAS_METRICS:
        value = values.get(name)
        if value is not None and math.isfinite(value):
            result.metrics.append((f"bias_metric_{name}", spec.dimensions(name), value))
    for name, low, high in spec.thresholds:
        value = values.get(name)
        if value is None:
            raise CheckError(
                f"bias metric {name} is undefined in this window (it divides by zero: a "
                "segment without predicted or observed outcomes of one kind); its interval "
                f"[{low}, {high}] cannot be checked"
            )
        if not low <= value <= high:
            result.violations.append(
                {
                    "facet": spec.facet,
                    "facet_value": spec.facet_value,
                    "metric_name": name,
                    "constraint_check_type": "bias_drift_check",
                    "description": (
                        f"Value {value:.4f} of {name} for {spec.facet}={spec.facet_value} is "
                        f"outside the policy interval [{low}, {high}]"
                    ),
                }
            )
    return result


# --- history: SageMaker AI MLflow App -------------------------------------------------------


# MLflow keeps tag values up to 5,000 characters (MLflow REST API, SetTag); a run records its
# first violations as tags, the rest are in constraint_violations.json.
MLFLOW_VIOLATION_TAGS = 20


def mlflow_metric_name(name: str, dimensions: Mapping[str, str]) -> str:
    """A metric name MLflow accepts (letters, digits, _ - . / and spaces), unique per feature."""
    key = "/".join([name, *(dimensions[k] for k in ("Feature",) if k in dimensions)])
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", key)


# Names in a run record's key: the characters S3 event notifications leave as they are when
# they URL-encode a key, so the relay reads the same key whether or not EventBridge's S3 events
# encode it (cdk_constructs/mlflow_relay.py). Experiments and schedules are named from config
# names (<model>-<env>...), which use only these.
RUN_RECORD_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,200}")
RUN_RECORD_VERSION = 1


def mlflow_run_record(result: CheckResult, settings: Settings, when: datetime) -> dict[str, Any]:
    """What a check run logs to MLflow, as data: one experiment per endpoint, one run per check
    run (``<schedule>-<UTC time>``), the check's metrics (a feature's under
    ``<metric>/<feature>``) at step ``when`` in seconds, the problem type and violation count as
    parameters, the outcome and the first violations as tags. The same record is logged
    directly (a tracking server) or written for the relay (an App)."""
    tags = {
        "governance.check": settings.check,
        "governance.schedule": settings.schedule_name,
        "governance.endpoint": settings.endpoint_name,
        "governance.outcome": result.exit_message,
    }
    # The violations and the full report stay in the monitoring bucket (this job's output):
    # MLflow artifacts would go to the App's own artifact store.
    for number, violation in enumerate(result.violations[:MLFLOW_VIOLATION_TAGS]):
        tags[f"governance.violation.{number}"] = json.dumps(violation)[:5000]
    return {
        "version": RUN_RECORD_VERSION,
        "experiment": settings.endpoint_name,
        "run_name": f"{settings.schedule_name}-{when:%Y%m%dT%H%M%SZ}",
        "timestamp_ms": int(when.timestamp() * 1000),
        "step": int(when.timestamp()),
        "tags": tags,
        "params": {
            "problem_type": settings.problem_type,
            "violations": str(len(result.violations)),
        },
        "metrics": {mlflow_metric_name(n, dims): v for n, dims, v in result.metrics},
    }


def log_to_mlflow(
    result: CheckResult, settings: Settings, tracking_uri: str, when: datetime
) -> str:
    """Log the run (:func:`mlflow_run_record`) to an MLflow tracking server: the SageMaker AI
    tracking server's ARN (the ``sagemaker-mlflow`` plugin resolves and signs it) or any MLflow
    URI (a local file store in tests). Returns the run id."""
    import mlflow

    record = mlflow_run_record(result, settings, when)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(record["experiment"])
    with mlflow.start_run(run_name=record["run_name"]) as run:
        mlflow.set_tags(record["tags"])
        mlflow.log_params(record["params"])
        mlflow.log_metrics(record["metrics"], step=record["step"])
        return str(run.info.run_id)


def write_mlflow_run_record(
    s3: Any, records_uri: str, result: CheckResult, settings: Settings, when: datetime
) -> str:
    """Put the run record at ``<records_uri><experiment>/<run>.json`` (an MLflow App: the
    environment's relay logs it from outside the VPC). Returns the object's URI."""
    record = mlflow_run_record(result, settings, when)
    for name in (record["experiment"], record["run_name"]):
        if not RUN_RECORD_NAME.fullmatch(name):
            raise CheckError(
                f"MLflow run record name {name!r} has characters other than letters, digits "
                "and _ . -, which S3 event notifications would encode"
            )
    bucket, prefix = split_uri(records_uri.rstrip("/") + "/")
    key = f"{prefix}{record['experiment']}/{record['run_name']}.json"
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(record, sort_keys=True).encode("utf-8"),
        ContentType="application/json",
    )
    return f"s3://{bucket}/{key}"


# --- outputs --------------------------------------------------------------------------------


def write_outputs(result: CheckResult, output_dir: Path) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / VIOLATIONS_REPORT_NAME).write_text(
        json.dumps({"violations": result.violations}, indent=2)
    )
    (output_dir / EVIDENTLY_REPORT_NAME).write_text(json.dumps(result.report))


def write_exit_message(message: str, path: Path = EXIT_MESSAGE_PATH) -> None:
    """The processing job's ExitMessage: the first KB of this file, UTF-8 (byoc-metadata)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(message.encode("utf-8")[:EXIT_MESSAGE_MAX_BYTES])


def metric_data(result: CheckResult, settings: Settings, when: datetime) -> list[dict[str, Any]]:
    """PutMetricData entries with Model Monitor's dimensions for this endpoint and schedule."""
    base = {"Endpoint": settings.endpoint_name, "MonitoringSchedule": settings.schedule_name}
    if settings.source == "batch":
        base = {"MonitoringSchedule": settings.schedule_name}
    return [
        {
            "MetricName": name,
            "Dimensions": [{"Name": k, "Value": v} for k, v in {**base, **extra}.items()],
            "Timestamp": when,
            "Value": value,
            "Unit": "None",
        }
        for name, extra, value in result.metrics
    ]


def publish(cloudwatch: Any, namespace: str, data: Sequence[Mapping[str, Any]]) -> None:
    for start in range(0, len(data), PUT_METRIC_BATCH):
        cloudwatch.put_metric_data(
            Namespace=namespace, MetricData=list(data[start : start + PUT_METRIC_BATCH])
        )


# --- S3 inputs ------------------------------------------------------------------------------


def split_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise CheckError(f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def hour_prefixes(prefix: str, start: datetime, end: datetime) -> list[str]:
    """``<prefix>yyyy/mm/dd/hh/`` for every hour overlapping [start, end) (capture layout)."""
    hour = start.replace(minute=0, second=0, microsecond=0)
    prefixes = []
    while hour < end:
        prefixes.append(f"{prefix}{hour:%Y/%m/%d/%H}/")
        hour += timedelta(hours=1)
    return prefixes


def _lines(s3: Any, bucket: str, prefixes: Iterable[str]) -> Iterator[str]:
    paginator = s3.get_paginator("list_objects_v2")
    for prefix in prefixes:
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                yield from body.decode("utf-8").splitlines()


def capture_lines(s3: Any, capture_uri: str, start: datetime, end: datetime) -> Iterator[str]:
    """Captured lines of every variant under ``<capture uri>/<variant>/yyyy/mm/dd/hh/``."""
    bucket, prefix = split_uri(capture_uri.rstrip("/") + "/")
    variants = [
        common["Prefix"]
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, Delimiter="/"
        )
        for common in page.get("CommonPrefixes", [])
    ]
    for variant in variants:
        yield from _lines(s3, bucket, hour_prefixes(variant, start, end))


def read_reference(s3: Any, summary_uri: str, *, model: str | None = None) -> Any:
    """The approved reference rows of ``model``.

    ``summary_uri`` is the version's ``DriftCheckBaselines.ModelDataQuality.Statistics``: a
    ``governance-reference/1`` summary the training pipeline wrote next to ``reference.csv``
    (``governance.contracts.reference_data``, shipped with this script). The summary must sit
    where it says it belongs, and the CSV must still have the SHA-256 and the columns it
    records: a reference that changed after registration is refused.
    """
    import pandas as pd

    from governance.contracts.errors import ContractError
    from governance.contracts.reference_data import REFERENCE_FILE, parse_location, parse_summary

    try:
        location = parse_location(summary_uri, model=model)
        bucket, key = split_uri(summary_uri)
        summary = parse_summary(
            s3.get_object(Bucket=bucket, Key=key)["Body"].read(), location=location
        )
    except ContractError as error:
        raise CheckError(
            f"the approved reference is not usable: {error}; register the version with the "
            "training pipeline's reference snapshot"
        ) from None
    csv_uri = location.uri(REFERENCE_FILE)
    bucket, key = split_uri(csv_uri)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    if hashlib.sha256(body).hexdigest() != summary.sha256:
        raise CheckError(f"{csv_uri} changed after registration (its SHA-256 differs)")
    frame = pd.read_csv(io.BytesIO(body))
    if tuple(frame.columns) != summary.column_names:
        raise CheckError(
            f"{csv_uri} has columns {', '.join(frame.columns)}; its summary records "
            f"{', '.join(summary.column_names)}"
        )
    return frame


# --- explainability (around a SageMaker Clarify processing job) ------------------------------


def _feature_row(record: CapturedRecord, settings: Settings) -> list[str]:
    width = len(settings.features)
    if len(record.features) != width:
        raise CheckError(
            f"captured request {record.event_id} has {len(record.features)} values; "
            f"the model has {width} features ({', '.join(settings.feature_names)})"
        )
    return list(record.features)


def _write_clarify_csv(rows: Iterable[Sequence[str]], directory: Path) -> int:
    """Rows as Clarify's CSV dataset (no header: the analysis config's ``headers`` name the
    columns); returns the number of rows."""
    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    with (directory / DATASET_FILE).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def write_dataset(records: Sequence[CapturedRecord], settings: Settings, directory: Path) -> int:
    """The captured feature rows as the CSV dataset Clarify explains; returns the row count."""
    return _write_clarify_csv((_feature_row(r, settings) for r in records), directory)


CLARIFY_CONFIG_FILE = "analysis_config.json"


def write_clarify_config(config: Any, model_name: str | None, directory: Path) -> Path:
    """The analysis config where Clarify reads it. Explainability (``model_name`` given): with
    ``predictor.model_name`` set, since Clarify runs its shadow endpoint of the served model (a
    name CloudFormation gives at deploy time, so not in the synthesized file). Bias (no model
    name): as built at synth, reading the predicted label from the dataset, no predictor."""
    if not isinstance(config, dict):
        raise CheckError("the Clarify analysis config is not a JSON object")
    if model_name is not None:
        if not isinstance(config.get("predictor"), dict):
            raise CheckError("the Clarify analysis config has no predictor section")
        predictor = {**config["predictor"], "model_name": model_name}
        predictor.pop("endpoint_name", None)
        config = {**config, "predictor": predictor}
    elif "predictor" in config or "predicted_label" not in config:
        raise CheckError(
            "the Clarify bias analysis config must read the predicted label from the dataset "
            "(predicted_label, no predictor): its job runs network-isolated"
        )
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / CLARIFY_CONFIG_FILE
    path.write_text(json.dumps(config, sort_keys=True, indent=2))
    return path


# --- bias on SageMaker Clarify (existing Clarify customers) ---------------------------------

# The column of the bias dataset that holds the predicted label (the analysis config's
# ``predicted_label``, sagemaker.core.clarify.DataConfig; cdk_constructs/monitoring/
# clarify_config.py names it in the headers, tested equal).
PREDICTED_LABEL_HEADER = "predicted_label"


# SageMaker Clarify reads an integer column with this fraction of distinct values or more as
# continuous, a float column always (aws/amazon-sagemaker-clarify@29d3d0a460a1,
# src/smclarify/bias/metrics/common.py ``series_datatype``, UNIQUENESS_THRESHOLD). A class label
# read as continuous would turn the favourable label value into a threshold.
CLARIFY_UNIQUENESS_THRESHOLD = 0.05


def _class_text(value: str) -> str:
    """A class label as Clarify should read it: an integer-valued number as an integer ("1.0"
    -> "1", which Clarify would read as a float, so as continuous), anything else as it is."""
    try:
        number = float(value)
    except ValueError:
        return value
    return str(int(number)) if number.is_integer() else value


def _read_as_classes(values: Sequence[str], what: str) -> None:
    """A clear error unless Clarify reads ``values`` (a classification label column) as
    categories: text, or integers with few enough distinct values."""
    try:
        numbers = [float(v) for v in values]
    except ValueError:
        return  # text: categorical for Clarify
    distinct = len(set(numbers))
    if any(not n.is_integer() for n in numbers):
        raise CheckError(
            f"the {what} column has non-integer numbers, which SageMaker Clarify reads as "
            "continuous, so the favourable label value would be a threshold; allowed: class "
            "labels that are text or integers"
        )
    if distinct / len(numbers) >= CLARIFY_UNIQUENESS_THRESHOLD:
        raise CheckError(
            f"the window has {len(numbers)} joined records with {distinct} distinct integer "
            f"{what}s; SageMaker Clarify reads an integer column with "
            f"{CLARIFY_UNIQUENESS_THRESHOLD:.0%} or more distinct values as continuous, which "
            "would make the favourable label value a threshold; allowed: a window with more "
            f"than {distinct / CLARIFY_UNIQUENESS_THRESHOLD:.0f} joined records"
        )


def _float_text(value: str, record: CapturedRecord, what: str) -> str:
    try:
        number = float(value)
    except ValueError:
        raise CheckError(
            f"captured request {record.event_id}: {what} {value!r} is not a number"
        ) from None
    return repr(number)


def write_bias_dataset(
    records: Sequence[CapturedRecord],
    labels: Mapping[str, str],
    settings: Settings,
    directory: Path,
) -> int:
    """The window's captured predictions with ground truth (joined by eventId, as the in-job
    check joins them) as the CSV Clarify measures bias on: the features, the observed label and
    the predicted label (a binary score as its class at the probability threshold), in the
    order of the analysis config's headers; returns the row count.

    A numeric facet is written as floating-point numbers, so that Clarify reads the column as
    continuous and applies the facet value as a threshold (see ``_INTERVAL``); a Regression
    model's labels and predictions too, so that both columns have the same (continuous) type,
    which Clarify requires of the label and the predicted label. A classification model's
    labels must read as categories (``_read_as_classes``), or the run fails saying why."""
    spec, kept, frame = _bias_join(records, labels, settings)
    facet = settings.feature_names.index(spec.facet) if _facet_is_numeric(settings) else None
    regression = settings.problem_type == "Regression"
    if not regression:
        frame["label"] = frame["label"].map(_class_text)
        frame["prediction"] = frame["prediction"].map(_class_text)
        _read_as_classes(frame["label"].tolist(), "label")
        _read_as_classes(frame["prediction"].tolist(), "predicted label")

    def rows() -> Iterator[list[str]]:
        for record, predicted, observed in zip(
            kept, frame["prediction"], frame["label"], strict=True
        ):
            row = _feature_row(record, settings)
            if facet is not None:
                row[facet] = _float_text(row[facet], record, f"facet {spec.facet}")
            if regression:
                row += [
                    _float_text(observed, record, "label"),
                    _float_text(predicted, record, "prediction"),
                ]
            else:
                row += [observed, predicted]
            yield row

    return _write_clarify_csv(rows(), directory)


def _same_value_or_threshold(reported: str, configured: str) -> bool:
    """A value as Clarify reports it: the value itself ("female", "1.0"), or for a threshold
    the interval above it that it selected ("(40.0, 75.0]")."""
    from governance.logic.bias import same_value

    if same_value(reported, configured):
        return True
    interval = _INTERVAL.fullmatch(reported.strip())
    return interval is not None and same_value(interval.group(1), configured)


def clarify_bias_values(analysis: Any, settings: Settings) -> dict[str, float | None]:
    """Each bias metric SageMaker Clarify computed for the policy's facet value, by name, read
    from its ``analysis.json`` (``pre_training_bias_metrics`` / ``post_training_bias_metrics``,
    developer guide clarify-processing-job-run, "Get the Analysis Results") by the parser the
    approval gate uses (``governance.logic.bias.extract_metrics``). A section computed for
    another label or label value, or no metric for the facet value, fails the run."""
    from governance.logic.bias import BiasReportFormatError, extract_metrics

    spec = settings.bias
    if spec is None:
        raise CheckError("the bias check needs the policy's facet and label (--bias-*)")
    try:
        values, sections = extract_metrics(analysis)
    except BiasReportFormatError as error:
        raise CheckError(f"the Clarify analysis is not a bias analysis: {error}") from None
    for section in sections:
        if section.label is not None and section.label != spec.label:
            raise CheckError(
                f"the Clarify analysis's {section.section} is for label {section.label!r}, "
                f"the policy's is {spec.label!r}"
            )
        if section.label_value is not None and not _same_value_or_threshold(
            section.label_value, spec.label_value
        ):
            raise CheckError(
                f"the Clarify analysis's {section.section} is for label value "
                f"{section.label_value!r}, the policy's is {spec.label_value!r}"
            )
    found = {
        v.name: v.value
        for v in values
        if v.facet == spec.facet and _same_value_or_threshold(v.facet_value, spec.facet_value)
    }
    if not found:
        reported = sorted({f"{v.facet}={v.facet_value}" for v in values})
        raise CheckError(
            f"the Clarify analysis has no bias metric for {spec.facet}={spec.facet_value} "
            f"(it reports {', '.join(reported) or 'none'})"
        )
    missing = [name for name, _, _ in spec.thresholds if name not in found]
    if missing:
        raise CheckError(
            f"the Clarify analysis does not report {', '.join(missing)} for "
            f"{spec.facet}={spec.facet_value}, which the policy bounds"
        )
    return {name: found.get(name) for name in BIAS_METRICS}


def clarify_bias(analysis: Any, settings: Settings) -> CheckResult:
    """The bias check's outcome from SageMaker Clarify's analysis: the same metrics, dimensions
    and violations as the in-job check (``bias_result``)."""
    values = clarify_bias_values(analysis, settings)
    return bias_result(values, settings, {"computed_by": "SageMaker Clarify processing job"})


def global_shap_values(analysis: Any, *, source: str) -> dict[str, dict[str, float]]:
    """Each label's ``explanations.kernel_shap.<label>.global_shap_values`` of a Clarify
    analysis, by label.

    The shape is Clarify's ``analysis.json`` (developer guide, clarify-processing-job-run, "Get
    the Analysis Results": ``"explanations": {"kernel_shap": {"label0": {"global_shap_values":
    {...}, "expected_value": ...}}}`` beside the bias sections). The registry's explainability
    baseline is the same file: the SageMaker SDK's ``ClarifyBaseliningJob.suggested_constraints``
    returns the baselining job's ``analysis.json`` as the constraints (aws/sagemaker-python-sdk
    @a24812666d258d9d19c9a82d0c9385ca0bd3ba01, sagemaker-core/src/sagemaker/core/model_monitor/
    clarify_model_monitoring.py), and the monitor compares "its global SHAP values in the
    baseline constraints file and in the job analysis results file (analysis.json)" (developer
    guide, clarify-model-monitor-model-attribution-drift-violations)."""
    try:
        labels = analysis["explanations"]["kernel_shap"]
        result = {
            str(label): {str(k): float(v) for k, v in explained["global_shap_values"].items()}
            for label, explained in labels.items()
        }
    except (KeyError, TypeError, ValueError, AttributeError):
        raise CheckError(
            f"{source} has no explanations.kernel_shap.<label>.global_shap_values"
        ) from None
    if not result:
        raise CheckError(f"{source} explains no label (explanations.kernel_shap is empty)")
    for label, values in result.items():
        if not values:
            raise CheckError(f"{source} explains no feature for label {label}")
    return result


def ndcg(baseline: Mapping[str, float], current: Mapping[str, float]) -> float:
    """Normalized discounted cumulative gain of the current attribution ranking against the
    baseline's, as the developer guide defines feature attribution drift
    (clarify-model-monitor-feature-attribution-drift): with F the features sorted by their
    baseline attribution, F' sorted by the current one and a(f) the baseline attribution,
    NDCG = DCG / iDCG, DCG = sum_i a(f'_i) / log2(i + 1), iDCG = sum_i a(f_i) / log2(i + 1),
    i = 1..m (the page's example, 0.70/0.50/0.05 against 0.10/0.20/0.70, scores 0.69).
    Attributions count by magnitude: Clarify's default aggregation (``mean_abs``) and
    ``mean_sq`` are never negative; for ``median`` a large negative value is as influential as a
    large positive one."""
    relevance = {feature: abs(value) for feature, value in baseline.items()}
    ranked = sorted(current, key=lambda f: (-abs(current[f]), f))
    ideal = sorted(relevance, key=lambda f: (-relevance[f], f))
    dcg = sum(relevance.get(f, 0.0) / math.log2(i + 2) for i, f in enumerate(ranked))
    idcg = sum(relevance[f] / math.log2(i + 2) for i, f in enumerate(ideal))
    return 1.0 if idcg == 0 else dcg / idcg


def explainability(
    analysis: Any, baseline: Any, settings: Settings, threshold: float
) -> CheckResult:
    """Model Monitor's feature attribution drift check on Clarify's analysis: "For each label in
    the explanations section, the monitoring jobs calculate the nDCG score of its global SHAP
    values in the baseline constraints file and in the job analysis results file
    (analysis.json). If the score is less than 0.9, then a violation is logged" (developer
    guide, clarify-model-monitor-model-attribution-drift-violations; the threshold is the
    model's, 0.9 by default), one violation per label in that page's schema (label,
    metric_name shap, constraint_check_type feature_attribution_drift_check, description)."""
    current = global_shap_values(analysis, source="the Clarify analysis")
    expected = global_shap_values(baseline, source="the registry's explainability baseline")
    unknown = sorted(set(current) - set(expected))
    if unknown:
        raise CheckError(
            f"the registry's explainability baseline has no global SHAP values for label(s) "
            f"{', '.join(unknown)} of the Clarify analysis (it has {', '.join(sorted(expected))})"
        )
    result = CheckResult(report={"threshold": threshold, "labels": {}})
    for label, values in current.items():
        missing = [f for f in settings.feature_names if f not in values]
        if missing:
            raise CheckError(
                f"the Clarify analysis has no SHAP value for {', '.join(missing)} (label {label})"
            )
        score = ndcg(expected[label], values)
        result.report["labels"][label] = {"ndcg": score, "global_shap_values": values}
        dimensions = {**EXPLAINABILITY_DIMENSIONS, "Label": label}
        result.metrics.extend(
            (f"feature_{name}", dict(dimensions), values[name]) for name in settings.feature_names
        )
        if score < threshold:
            result.violations.append(
                {
                    "label": label,
                    "metric_name": "shap",
                    "constraint_check_type": "feature_attribution_drift_check",
                    "description": f"Feature attribution drift {score:.4f} exceeds threshold "
                    f"{threshold} (nDCG of the global SHAP ranking against the baseline)",
                }
            )
    # The lowest label's score: the one that decides whether the run found drift.
    result.report["ndcg"] = min(v["ndcg"] for v in result.report["labels"].values())
    return result


def _json_object(s3: Any, uri: str, what: str) -> Any:
    try:
        return json.loads(_read(s3, uri))
    except (ValueError, KeyError) as error:
        raise CheckError(f"{what} {uri} is not readable JSON: {error}") from None


# --- entry point ----------------------------------------------------------------------------


def _features(text: str) -> tuple[Feature, ...]:
    features = []
    for item in text.split(","):
        name, _, kind = item.partition(":")
        if not name or kind not in ("numeric", "categorical", "text", "boolean"):
            raise CheckError(
                f"--features item {item!r}: expected <name>:<numeric|categorical|text|boolean>"
            )
        features.append(Feature(name, kind))
    return tuple(features)


def _bias_threshold(text: str) -> tuple[str, float, float]:
    name, _, bounds = text.partition(":")
    low, _, high = bounds.partition(":")
    if name not in BIAS_METRICS:
        raise argparse.ArgumentTypeError(
            f"--bias-threshold {text!r}: {name!r} is not a bias metric this check computes; "
            f"allowed: {', '.join(BIAS_METRICS)}"
        )
    try:
        return name, float(low), float(high)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--bias-threshold {text!r}: expected <metric>:<min>:<max> with numbers"
        ) from None


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", required=True, choices=CHECKS)
    parser.add_argument("--problem-type", required=True, choices=PROBLEM_TYPES)
    parser.add_argument("--model", required=True, help="the model package group name")
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--schedule", required=True)
    parser.add_argument("--features", required=True, type=_features)
    parser.add_argument("--capture-uri", required=True)
    parser.add_argument(
        "--source",
        choices=SOURCES,
        default="endpoint",
        help="endpoint data capture, or batch transform capture (--capture-uri: one run's "
        "capture for data_quality, all runs' for model_quality)",
    )
    parser.add_argument("--window-hours", type=int, default=1)
    parser.add_argument("--window-end-offset-hours", type=int, default=0)
    parser.add_argument("--reference-uri")
    parser.add_argument("--ground-truth-uri")
    parser.add_argument("--drift-threshold", type=float, default=0.1)
    parser.add_argument("--probability-threshold", type=float, default=0.5)
    parser.add_argument("--quality-floor", help="<metric>:<minimum>")
    parser.add_argument("--bias-label", help="the label column the policy's facet is judged on")
    parser.add_argument("--bias-label-value", help="the favourable label (Regression: above it)")
    parser.add_argument("--bias-facet", help="the protected feature")
    parser.add_argument("--bias-facet-value", help="the protected segment's value")
    parser.add_argument(
        "--bias-threshold",
        action="append",
        default=[],
        type=_bias_threshold,
        help="<metric>:<min>:<max>, the policy's interval (repeatable)",
    )
    parser.add_argument(
        "--dataset-output",
        type=Path,
        help="explainability or bias on Clarify, first stage: write the window as Clarify's "
        "dataset",
    )
    parser.add_argument(
        "--clarify-config-uri",
        help="first stage: the model's Clarify analysis config (built at synth)",
    )
    parser.add_argument(
        "--model-name", help="the served SageMaker model Clarify's shadow endpoint runs"
    )
    parser.add_argument(
        "--config-output",
        type=Path,
        help="where the first stage writes the analysis config with the model's name",
    )
    parser.add_argument(
        "--analysis-uri", help="explainability or bias, second stage: Clarify's analysis.json"
    )
    parser.add_argument("--baseline-uri", help="the registry's explainability baseline")
    parser.add_argument("--ndcg-threshold", type=float, default=DEFAULT_NDCG_THRESHOLD)
    parser.add_argument(
        "--mlflow-tracking-arn",
        help="SageMaker AI MLflow tracking server ARN (or MLflow URI) to log the run to",
    )
    parser.add_argument(
        "--mlflow-run-records-uri",
        help="s3:// prefix to write the run's MLflow record to, for the relay to an MLflow App",
    )
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/output"))
    parser.add_argument("--no-publish", action="store_true", help="write outputs only")
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    floor = None
    if args.quality_floor:
        name, _, minimum = args.quality_floor.partition(":")
        floor = (name, float(minimum))
    spec = None
    if args.check == "bias":
        given = (args.bias_label, args.bias_label_value, args.bias_facet, args.bias_facet_value)
        if any(value is None for value in given):
            raise CheckError(
                "the bias check needs --bias-label, --bias-label-value, --bias-facet and "
                "--bias-facet-value"
            )
        spec = BiasSpec(
            label=args.bias_label,
            label_value=args.bias_label_value,
            facet=args.bias_facet,
            facet_value=args.bias_facet_value,
            thresholds=tuple(args.bias_threshold),
        )
    return Settings(
        check=args.check,
        problem_type=args.problem_type,
        endpoint_name=args.endpoint,
        schedule_name=args.schedule,
        features=args.features,
        drift_threshold=args.drift_threshold,
        probability_threshold=args.probability_threshold,
        quality_floor=floor,
        bias=spec,
        source=args.source,
    )


def _explainability_report(args: argparse.Namespace, s3: Any, settings: Settings) -> CheckResult:
    if not args.analysis_uri or not args.baseline_uri:
        raise CheckError(
            "the explainability check needs --dataset-output (first stage) or "
            "--analysis-uri and --baseline-uri (second stage)"
        )
    return explainability(
        _json_object(s3, args.analysis_uri, "the Clarify analysis"),
        _json_object(s3, args.baseline_uri, "the explainability baseline"),
        settings,
        args.ndcg_threshold,
    )


def _clarify_report(args: argparse.Namespace, s3: Any, settings: Settings) -> CheckResult | None:
    """The second stage of a check on SageMaker Clarify (its analysis read and checked), or
    None for a run that reads the window."""
    if settings.check == "explainability" and args.dataset_output is None:
        return _explainability_report(args, s3, settings)
    if settings.check == "bias" and args.analysis_uri:
        return clarify_bias(_json_object(s3, args.analysis_uri, "the Clarify analysis"), settings)
    return None


def _clarify_inputs(
    args: argparse.Namespace, s3: Any, settings: Settings, count: int
) -> CheckResult:
    """The first stage's result, once it wrote the dataset (``count`` rows): the analysis
    config, built at synth, written where the Clarify step reads it."""
    if args.clarify_config_uri:
        explains = settings.check == "explainability"
        if args.config_output is None or (explains and not args.model_name):
            raise CheckError(
                "--clarify-config-uri needs --config-output"
                + (" and --model-name" if explains else "")
            )
        config = _json_object(s3, args.clarify_config_uri, "the Clarify analysis config")
        write_clarify_config(config, args.model_name if explains else None, args.config_output)
    return CheckResult(report={"dataset_rows": count})


def run(args: argparse.Namespace, s3: Any, now: datetime) -> CheckResult:
    settings = settings_from(args)
    reported = _clarify_report(args, s3, settings)
    if reported is not None:
        return reported
    end = now - timedelta(hours=args.window_end_offset_hours)
    start = end - timedelta(hours=args.window_hours)
    if settings.source == "batch":
        # Data quality reads the one run it follows (its own capture prefix, whole); model
        # quality the runs of the window, whose labels may have arrived since.
        data = settings.check == "data_quality"
        records = list(
            batch_capture_records(
                s3,
                args.capture_uri,
                with_features=data,
                start=None if data else start,
                end=None if data else end,
            )
        )
    else:
        records = list(parse_capture_lines(capture_lines(s3, args.capture_uri, start, end)))
    if not records and settings.source == "batch":
        raise CheckError(f"no batch transform capture under {args.capture_uri}")
    if not records:
        raise CheckError(
            f"no captured traffic under {args.capture_uri} between {start:%Y-%m-%dT%H:%M}Z "
            f"and {end:%Y-%m-%dT%H:%M}Z"
        )
    if settings.check == "explainability":
        count = write_dataset(records, settings, args.dataset_output)
        return _clarify_inputs(args, s3, settings, count)
    if settings.check == "data_quality":
        if not args.reference_uri:
            raise CheckError("--reference-uri is required by the data_quality check")
        reference = read_reference(s3, args.reference_uri, model=args.model)
        return data_quality(captured_frame(records, settings.features), reference, settings)
    if not args.ground_truth_uri:
        raise CheckError(f"--ground-truth-uri is required by the {settings.check} check")
    bucket, prefix = split_uri(args.ground_truth_uri.rstrip("/") + "/")
    labels = parse_ground_truth_lines(_lines(s3, bucket, hour_prefixes(prefix, start, now)))
    if settings.check == "bias" and args.dataset_output is not None:
        count = write_bias_dataset(records, labels, settings, args.dataset_output)
        return _clarify_inputs(args, s3, settings, count)
    if settings.check == "bias":
        return bias(bias_frame(records, labels, settings), settings)
    return model_quality(joined_frame(records, labels), settings)


def main(argv: Sequence[str] | None = None) -> int:
    import boto3

    args = parse_args(sys.argv[1:] if argv is None else argv)
    now = datetime.now(UTC)
    try:
        result = run(args, boto3.client("s3"), now)
    except CheckError as error:
        write_exit_message(f"Failed: {error}")
        print(f"check failed: {error}", file=sys.stderr)
        return 1
    write_outputs(result, args.output_dir)
    settings = settings_from(args)
    if not args.no_publish:
        publish(boto3.client("cloudwatch"), settings.namespace, metric_data(result, settings, now))
    if args.mlflow_tracking_arn:
        # History is kept in the monitoring bucket (the outputs above) whatever happens here;
        # a tracking server that cannot be reached fails the run, so the gap is alerted.
        try:
            log_to_mlflow(result, settings, args.mlflow_tracking_arn, now)
        except Exception as error:  # any MLflow failure is a failed run
            write_exit_message(f"Failed: logging to MLflow {args.mlflow_tracking_arn}: {error}")
            print(f"MLflow logging failed: {error}", file=sys.stderr)
            return 1
    if args.mlflow_run_records_uri:
        # An MLflow App: the record is relayed from outside the VPC; not keeping it is a gap.
        try:
            write_mlflow_run_record(
                boto3.client("s3"), args.mlflow_run_records_uri, result, settings, now
            )
        except Exception as error:  # any failure to keep the record is a failed run
            write_exit_message(f"Failed: writing the MLflow run record: {error}")
            print(f"MLflow run record failed: {error}", file=sys.stderr)
            return 1
    write_exit_message(result.exit_message)
    print(result.exit_message)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Evaluation step of the governed training pipeline (runs in the SageMaker scikit-learn image).

Reads the batch-transform output of the held-out data (``/opt/ml/processing/predictions``: one
CSV row per record, ``<label>,<model output...>``: the transform joins each input row's label
with the model's output), and writes:

- ``evaluation.json``: model-quality statistics in Model Monitor's format (SageMaker developer
  guide, "Model quality metrics": ``<problem>_metrics`` -> metric -> ``value`` and
  ``standard_deviation``), registered as ``ModelMetrics.ModelQuality.Statistics`` (what the
  approval gate reads) and read by the pipeline's quality condition;
- ``constraints.json``: Model Monitor's model-quality constraints (``<problem>_constraints`` ->
  metric -> ``threshold`` and ``comparison_operator``), the version's
  ``DriftCheckBaselines.ModelQuality.Constraints`` (what the model-quality monitor compares with).

Standard deviations follow Model Monitor: 80 % samples drawn 5 times, only from 200 rows on.
"""

from __future__ import annotations

import argparse
import json
import pathlib
from typing import Any

import numpy as np
import pandas as pd

METRICS_KEY = {
    "BinaryClassification": "binary_classification_metrics",
    "MulticlassClassification": "multiclass_classification_metrics",
    "Regression": "regression_metrics",
}
CONSTRAINTS_KEY = {
    "BinaryClassification": "binary_classification_constraints",
    "MulticlassClassification": "multiclass_classification_constraints",
    "Regression": "regression_constraints",
}
LOWER_IS_BETTER = {"mae", "mse", "rmse", "false_positive_rate", "false_negative_rate"}
MIN_ROWS_FOR_DEVIATION = 200


def binary_metrics(truth: np.ndarray, score: np.ndarray, threshold: float) -> dict[str, float]:
    from sklearn import metrics

    predicted = (score >= threshold).astype(int)
    tn, fp, fn, tp = metrics.confusion_matrix(truth, predicted, labels=[0, 1]).ravel()
    return {
        "recall": metrics.recall_score(truth, predicted, zero_division=0),
        "precision": metrics.precision_score(truth, predicted, zero_division=0),
        "accuracy": metrics.accuracy_score(truth, predicted),
        "true_positive_rate": tp / (tp + fn) if tp + fn else 0.0,
        "true_negative_rate": tn / (tn + fp) if tn + fp else 0.0,
        "false_positive_rate": fp / (fp + tn) if fp + tn else 0.0,
        "false_negative_rate": fn / (fn + tp) if fn + tp else 0.0,
        "auc": metrics.roc_auc_score(truth, score) if len(set(truth)) > 1 else 0.0,
        "f0_5": metrics.fbeta_score(truth, predicted, beta=0.5, zero_division=0),
        "f1": metrics.f1_score(truth, predicted, zero_division=0),
        "f2": metrics.fbeta_score(truth, predicted, beta=2, zero_division=0),
    }


def multiclass_metrics(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    from sklearn import metrics

    def weighted(function: Any, **kwargs: Any) -> float:
        return float(function(truth, predicted, average="weighted", zero_division=0, **kwargs))

    return {
        "accuracy": metrics.accuracy_score(truth, predicted),
        "weighted_recall": weighted(metrics.recall_score),
        "weighted_precision": weighted(metrics.precision_score),
        "weighted_f0_5": weighted(metrics.fbeta_score, beta=0.5),
        "weighted_f1": weighted(metrics.f1_score),
        "weighted_f2": weighted(metrics.fbeta_score, beta=2),
    }


def regression_metrics(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    from sklearn import metrics

    mse = metrics.mean_squared_error(truth, predicted)
    return {
        "mae": metrics.mean_absolute_error(truth, predicted),
        "mse": mse,
        "rmse": float(np.sqrt(mse)),
        "r2": metrics.r2_score(truth, predicted),
    }


def compute(
    problem: str, truth: np.ndarray, output: np.ndarray, threshold: float
) -> dict[str, float]:
    if problem == "BinaryClassification":
        return binary_metrics(truth, output, threshold)
    if problem == "MulticlassClassification":
        predicted = output.argmax(axis=1) if output.ndim == 2 else output.round()
        return multiclass_metrics(truth, predicted)
    return regression_metrics(truth, output)


def statistics(
    problem: str, truth: np.ndarray, output: np.ndarray, threshold: float
) -> dict[str, Any]:
    values = compute(problem, truth, output, threshold)
    deviations: dict[str, object] = dict.fromkeys(values, "NaN")
    if len(truth) >= MIN_ROWS_FOR_DEVIATION:
        rng = np.random.default_rng(0)
        samples = []
        for _ in range(5):
            rows = rng.choice(len(truth), size=int(len(truth) * 0.8), replace=False)
            samples.append(compute(problem, truth[rows], output[rows], threshold))
        deviations = {name: float(np.std([s[name] for s in samples])) for name in values}
    return {
        "version": 0.0,
        "dataset": {"item_count": len(truth)},
        METRICS_KEY[problem]: {
            name: {"value": float(value), "standard_deviation": deviations[name]}
            for name, value in values.items()
        },
    }


def constraints(problem: str, metric: str, floor: float) -> dict[str, Any]:
    operator = "GreaterThanThreshold" if metric in LOWER_IS_BETTER else "LessThanThreshold"
    return {
        "version": 0.0,
        CONSTRAINTS_KEY[problem]: {metric: {"threshold": floor, "comparison_operator": operator}},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--problem-type", required=True, choices=sorted(METRICS_KEY))
    parser.add_argument("--metric", required=True)
    parser.add_argument("--floor", type=float, required=True)
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--base", default="/opt/ml/processing")
    args = parser.parse_args()
    base = pathlib.Path(args.base)

    rows = pd.concat(
        pd.read_csv(path, header=None) for path in sorted((base / "predictions").rglob("*.out"))
    )
    truth = rows.iloc[:, 0].to_numpy()
    output = rows.iloc[:, 1:].to_numpy()
    if output.shape[1] == 1:
        output = output[:, 0]

    out = base / "evaluation"
    out.mkdir(parents=True, exist_ok=True)
    document = statistics(args.problem_type, truth, output, args.threshold)
    (out / "evaluation.json").write_text(json.dumps(document, indent=2))
    (out / "constraints.json").write_text(
        json.dumps(constraints(args.problem_type, args.metric, args.floor), indent=2)
    )


if __name__ == "__main__":
    main()

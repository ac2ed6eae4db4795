"""The Evidently job's own logic, without Evidently: capture and ground-truth parsing, the join,
the capture window, the reference pin, outputs and metric data (the app's venv has pandas)."""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitoring_jobs import evidently_check as job

FEATURES = (job.Feature("age", "numeric"), job.Feature("channel", "categorical"))


def capture_line(event_id: str, data: str, output: str | None = "0.7", *, b64: bool = False) -> str:
    payload = base64.b64encode(data.encode()).decode() if b64 else data
    record: dict[str, Any] = {
        "captureData": {
            "endpointInput": {
                "observedContentType": "text/csv",
                "mode": "INPUT",
                "data": payload,
                "encoding": "BASE64" if b64 else "CSV",
            }
        },
        "eventMetadata": {"eventId": event_id, "inferenceTime": "2026-12-02T03:10:00Z"},
        "eventVersion": "0",
    }
    if output is not None:
        record["captureData"]["endpointOutput"] = {"data": output, "encoding": "CSV"}
    return json.dumps(record)


def truth_line(event_id: str, label: str) -> str:
    return json.dumps(
        {
            "groundTruthData": {"data": label, "encoding": "CSV"},
            "eventMetadata": {"eventId": event_id},
            "eventVersion": "0",
        }
    )


class FakeS3:
    """Objects by (bucket, key); list_objects_v2 with Prefix and Delimiter, get_object."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = {tuple(uri[5:].split("/", 1)): body for uri, body in objects.items()}

    def get_paginator(self, name: str) -> FakeS3:
        assert name == "list_objects_v2"
        return self

    def paginate(self, **request: str) -> list[Any]:
        bucket, prefix, delimiter = (
            request.get(k) or "" for k in ("Bucket", "Prefix", "Delimiter")
        )
        keys = sorted(k for b, k in self.objects if b == bucket and k.startswith(prefix))
        if not delimiter:
            return [{"Contents": [{"Key": k} for k in keys]}]
        common = sorted(
            {prefix + k[len(prefix) :].split(delimiter, 1)[0] + delimiter for k in keys}
        )
        return [{"CommonPrefixes": [{"Prefix": p} for p in common]}]

    def get_object(self, **request: str) -> dict[str, Any]:
        return {"Body": io.BytesIO(self.objects[(request["Bucket"], request["Key"])])}


def test_capture_lines_become_one_record_per_csv_row() -> None:
    # Given a CSV request, a base64 request with two rows and one without output
    lines = [
        capture_line("a", "41,web"),
        capture_line("b", "30,branch\n52,web", output="0.1\n0.9", b64=True),
        "",
        capture_line("c", "60,web", output=None),
    ]
    # When parsed
    records = list(job.parse_capture_lines(lines))
    # Then every row is a record, later rows of a request numbered after its event id
    assert [(r.event_id, r.features, r.prediction) for r in records] == [
        ("a", ("41", "web"), "0.7"),
        ("b", ("30", "branch"), "0.1"),
        ("b:1", ("52", "web"), "0.9"),
        ("c", ("60", "web"), None),
    ]


def test_inference_id_wins_over_event_id() -> None:
    line = json.loads(capture_line("evt", "1,web"))
    line["eventMetadata"]["inferenceId"] = "my-id"
    assert next(job.parse_capture_lines([json.dumps(line)])).event_id == "my-id"


def test_a_line_that_is_not_capture_is_a_check_error_naming_it() -> None:
    with pytest.raises(job.CheckError, match="captured record 2 is not Model Monitor capture"):
        list(job.parse_capture_lines([capture_line("a", "1,web"), '{"foo": 1}']))


def test_captured_frame_types_columns_and_refuses_wrong_width() -> None:
    records = list(job.parse_capture_lines([capture_line("a", "41,web"), capture_line("b", ",")]))
    frame = job.captured_frame(records, FEATURES)
    assert list(frame.columns) == ["age", "channel"]
    assert frame["age"].tolist()[0] == 41.0
    assert frame["age"].isna().tolist() == [False, True]
    assert frame["channel"].isna().tolist() == [False, True]
    wide = list(job.parse_capture_lines([capture_line("w", "1,web,extra")]))
    with pytest.raises(job.CheckError, match="has 3 values; the dataset schema has 2 features"):
        job.captured_frame(wide, FEATURES)


def test_ground_truth_joins_by_event_id_and_drops_unlabelled() -> None:
    records = list(
        job.parse_capture_lines(
            [capture_line("a", "1,web", "0.9"), capture_line("b", "2,web", "0.2")]
        )
    )
    labels = job.parse_ground_truth_lines([truth_line("a", "1"), truth_line("zzz", "0")])
    joined = job.joined_frame(records, labels)
    assert joined.index.tolist() == ["a"]
    assert joined.loc["a"].tolist() == [0.9, 1.0]


def test_hour_prefixes_cover_the_window() -> None:
    start = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)
    end = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    assert job.hour_prefixes("p/", start, end) == [
        "p/2026/12/01/22/",
        "p/2026/12/01/23/",
        "p/2026/12/02/00/",
    ]


def _summary(csv: bytes, **changes: Any) -> bytes:
    summary = {
        "format": "governance-reference/1",
        "model": "m",
        "execution_id": "e1",
        "columns": [
            {"name": "age", "dtype": "int64", "kind": "numerical"},
            {"name": "channel", "dtype": "object", "kind": "categorical"},
            {"name": "label", "dtype": "int64", "kind": "categorical"},
        ],
        "row_count": 1,
        "sha256": hashlib.sha256(csv).hexdigest(),
        "label": "label",
        "created": "2026-12-01T10:00:00Z",
        **changes,
    }
    return json.dumps(summary).encode()


def test_reference_must_be_the_pinned_governance_summary() -> None:
    # Given a reference snapshot as the training pipeline writes it
    csv = b"age,channel,label\n41,web,0\n"
    base = "s3://art/baselines/m/e1/reference/"
    s3 = FakeS3({base + "summary.json": _summary(csv), base + "reference.csv": csv})
    # Then its rows are the reference
    assert job.read_reference(s3, base + "summary.json", model="m")["age"].tolist() == [41]
    # But not the reference of another model
    with pytest.raises(job.CheckError, match="a reference of model 'm'"):
        job.read_reference(s3, base + "summary.json", model="other")
    # Nor a CSV changed after registration
    s3.objects[("art", "baselines/m/e1/reference/reference.csv")] = csv + b"99,web,1\n"
    with pytest.raises(job.CheckError, match="changed after registration"):
        job.read_reference(s3, base + "summary.json", model="m")
    # Nor a Model Monitor statistics.json in its place
    s3.objects[("art", "baselines/m/e1/reference/summary.json")] = b'{"version": 0.0}'
    with pytest.raises(job.CheckError, match="the approved reference is not usable"):
        job.read_reference(s3, base + "summary.json", model="m")


def test_reference_columns_must_match_the_summary() -> None:
    csv = b"age,label\n41,0\n"
    base = "s3://art/baselines/m/e1/reference/"
    s3 = FakeS3({base + "summary.json": _summary(csv), base + "reference.csv": csv})
    with pytest.raises(job.CheckError, match="has columns age, label; its summary records"):
        job.read_reference(s3, base + "summary.json", model="m")


def _args(*extra: str) -> Any:
    return job.parse_args(
        [
            "--check",
            "data_quality",
            "--problem-type",
            "BinaryClassification",
            "--model",
            "m",
            "--endpoint",
            "ep",
            "--schedule",
            "ep-data-quality",
            "--features",
            "age:numeric,channel:categorical",
            "--capture-uri",
            "s3://cap/endpoints/ep/ep/",
            *extra,
        ]
    )


def test_no_captured_traffic_in_the_window_fails_the_run() -> None:
    # Given captures only outside the last hour
    s3 = FakeS3({"s3://cap/endpoints/ep/ep/AllTraffic/2026/12/02/00/x.jsonl": b""})
    now = datetime(2026, 12, 2, 3, 5, tzinfo=UTC)
    with pytest.raises(job.CheckError, match="no captured traffic under s3://cap/endpoints/ep/ep/"):
        job.run(_args("--reference-uri", "s3://art/x"), s3, now)


def test_capture_window_reads_every_variant_of_the_last_interval() -> None:
    lines = "\n".join(capture_line(f"e{i}", f"{i},web") for i in range(3)).encode()
    s3 = FakeS3(
        {
            "s3://cap/endpoints/ep/ep/AllTraffic/2026/12/02/02/a.jsonl": lines,
            "s3://cap/endpoints/ep/ep/Shadow/2026/12/02/02/b.jsonl": lines,
            "s3://cap/endpoints/ep/ep/AllTraffic/2026/12/02/01/old.jsonl": lines,
        }
    )
    start = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    got = list(job.capture_lines(s3, "s3://cap/endpoints/ep/ep/", start, start.replace(hour=3)))
    assert len(got) == 6


def test_outputs_message_and_metric_dimensions(tmp_path: Path) -> None:
    result = job.CheckResult(
        violations=[{"feature_name": "age", "constraint_check_type": "baseline_drift_check"}],
        metrics=[("feature_baseline_drift_age", {"Feature": "age"}, 0.4), ("auc", {}, 0.8)],
    )
    job.write_outputs(result, tmp_path / "out")
    report = json.loads((tmp_path / "out" / job.VIOLATIONS_REPORT_NAME).read_text())
    assert report == {"violations": result.violations}
    job.write_exit_message(result.exit_message, tmp_path / "message")
    assert (tmp_path / "message").read_text().startswith("CompletedWithViolations")
    assert job.CheckResult().exit_message == "Completed: no violations"
    settings = job.settings_from(_args())
    when = datetime(2026, 12, 2, tzinfo=UTC)
    data = job.metric_data(result, settings, when)
    assert [d["Dimensions"] for d in data] == [
        [
            {"Name": "Endpoint", "Value": "ep"},
            {"Name": "MonitoringSchedule", "Value": "ep-data-quality"},
            {"Name": "Feature", "Value": "age"},
        ],
        [
            {"Name": "Endpoint", "Value": "ep"},
            {"Name": "MonitoringSchedule", "Value": "ep-data-quality"},
        ],
    ]


def test_exit_message_is_cut_to_one_kilobyte(tmp_path: Path) -> None:
    job.write_exit_message("x" * 5000, tmp_path / "message")
    assert len((tmp_path / "message").read_bytes()) == job.EXIT_MESSAGE_MAX_BYTES


def test_bad_features_argument_names_the_item() -> None:
    with pytest.raises(job.CheckError, match="--features item 'age:number'"):
        job._features("age:number")


# --- bias: Clarify's metrics per facet segment ----------------------------------------------

# (channel, label, score) per record: "web" is a = 10 records (TP 4, FP 1, FN 2, TN 3),
# "branch" is d = 5 records (TP 1, FP 0, FN 1, TN 3); scores at and above 0.5 are positive.
BIAS_ROWS = (
    [("web", "1", "0.9")] * 4
    + [("web", "0", "0.6")]
    + [("web", "1", "0.2")] * 2
    + [("web", "0", "0.1")] * 3
    + [("branch", "1", "0.5")]
    + [("branch", "1", "0.4")]
    + [("branch", "0", "0.3")] * 3
)
BIAS_SPEC = job.BiasSpec("churned", "1", "channel", "branch", (("DI", 0.8, 1.25),))


def bias_inputs(
    rows: list[tuple[str, str, str]] = BIAS_ROWS, spec: job.BiasSpec = BIAS_SPEC
) -> tuple[list[job.CapturedRecord], dict[str, str], job.Settings]:
    records = [
        job.CapturedRecord(f"e{i}", ("40", channel), score)
        for i, (channel, _, score) in enumerate(rows)
    ]
    labels = {f"e{i}": label for i, (_, label, _) in enumerate(rows)}
    settings = job.Settings("bias", "BinaryClassification", "ep", "ep-bias", FEATURES, bias=spec)
    return records, labels, settings


def test_bias_metrics_follow_clarifys_definitions() -> None:
    records, labels, settings = bias_inputs()
    values = job.bias_metrics(job.bias_frame(records, labels, settings))
    expected = {
        "CI": (10 - 5) / 15,
        "DPL": 0.6 - 0.4,
        "KL": 0.2 * math.log(1.5),
        "LP": math.sqrt(0.08),
        "TVD": 0.2,
        "KS": 0.2,
        "DPPL": 0.5 - 0.2,
        "DI": 0.2 / 0.5,
        "DCA": 6 / 5 - 2 / 1,
        "DCR": 3 / 4 - 4 / 5,
        "RD": 4 / 6 - 1 / 2,
        "DAR": 4 / 5 - 1 / 1,
        "DRR": 3 / 4 - 3 / 5,
        "AD": 7 / 10 - 4 / 5,
    }
    assert {k: values[k] for k in expected} == pytest.approx(expected)
    assert 0 < values["JS"] < values["KL"]  # type: ignore[operator]
    # TE divides by d's false positives, of which there are none: undefined, not zero.
    assert values["TE"] is None
    assert set(values) == set(job.BIAS_METRICS)


def test_bias_violation_names_the_facet_metric_and_interval() -> None:
    records, labels, settings = bias_inputs()
    result = job.bias(job.bias_frame(records, labels, settings), settings)
    assert result.violations == [
        {
            "facet": "channel",
            "facet_value": "branch",
            "metric_name": "DI",
            "constraint_check_type": "bias_drift_check",
            "description": "Value 0.4000 of DI for channel=branch is outside the policy "
            "interval [0.8, 1.25]",
        }
    ]
    assert result.exit_message.startswith(job.VIOLATIONS_EXIT_PREFIX)
    published = {name for name, _, _ in result.metrics}
    assert "bias_metric_TE" not in published  # undefined metrics are not published
    assert "bias_metric_DI" in published
    data = job.metric_data(result, settings, datetime(2026, 12, 2, tzinfo=UTC))
    di = next(d for d in data if d["MetricName"] == "bias_metric_DI")
    assert {d["Name"]: d["Value"] for d in di["Dimensions"]} == {
        "Endpoint": "ep",
        "MonitoringSchedule": "ep-bias",
        "BiasStage": "Post-Training",
        "Label": "churned",
        "LabelValue": "1",
        "Facet": "channel",
        "FacetValue": "branch",
    }


def test_an_undefined_metric_with_an_interval_fails_the_run() -> None:
    spec = job.BiasSpec("churned", "1", "channel", "branch", (("TE", -1.0, 1.0),))
    records, labels, settings = bias_inputs(spec=spec)
    with pytest.raises(job.CheckError, match="bias metric TE is undefined"):
        job.bias(job.bias_frame(records, labels, settings), settings)


def test_a_window_without_the_facet_value_fails_the_run() -> None:
    rows = [r for r in BIAS_ROWS if r[0] == "web"]
    records, labels, settings = bias_inputs(rows)
    with pytest.raises(job.CheckError, match="no joined record in the window has the facet value"):
        job.bias_metrics(job.bias_frame(records, labels, settings))


def test_regression_bias_uses_the_label_value_as_threshold() -> None:
    rows = [("web", "12", "11"), ("web", "3", "4"), ("branch", "12", "2"), ("branch", "2", "1")]
    spec = job.BiasSpec("amount", "10", "channel", "branch")
    records, labels, settings = bias_inputs(rows, spec)
    settings = job.Settings("bias", "Regression", "ep", "ep-bias", FEATURES, bias=spec)
    frame = job.bias_frame(records, labels, settings)
    assert frame["label"].tolist() == [True, False, True, False]
    assert frame["predicted"].tolist() == [True, False, False, False]


def test_bias_arguments_parse_and_bad_thresholds_name_the_item() -> None:
    args = job.parse_args(
        [
            *("--check", "bias", "--problem-type", "BinaryClassification", "--model", "m"),
            *("--endpoint", "ep", "--schedule", "ep-bias", "--features", "age:numeric"),
            *("--capture-uri", "s3://b/c/", "--bias-label", "y", "--bias-label-value", "1"),
            *("--bias-facet", "age", "--bias-facet-value", "40"),
            *("--bias-threshold", "DI:0.8:1.25", "--bias-threshold", "CI:-0.3:0.3"),
        ]
    )
    spec = job.settings_from(args).bias
    assert spec is not None
    assert spec.thresholds == (("DI", 0.8, 1.25), ("CI", -0.3, 0.3))
    with pytest.raises(SystemExit):
        job.parse_args(["--check", "bias", "--bias-threshold", "FT:0:1"])
    with pytest.raises(argparse.ArgumentTypeError, match="'FT' is not a bias metric"):
        job._bias_threshold("FT:0:1")
    incomplete = job.parse_args(
        [
            *("--check", "bias", "--problem-type", "Regression", "--model", "m"),
            *("--endpoint", "ep", "--schedule", "s", "--features", "age:numeric"),
            *("--capture-uri", "s3://b/c/"),
        ]
    )
    with pytest.raises(job.CheckError, match="--bias-facet"):
        job.settings_from(incomplete)


def test_mlflow_metric_names_keep_features_apart() -> None:
    assert job.mlflow_metric_name("feature_baseline_drift_age", {"Feature": "age"}) == (
        "feature_baseline_drift_age/age"
    )
    assert job.mlflow_metric_name("bias_metric_DI", {"Facet": "a b"}) == "bias_metric_DI"
    assert job.mlflow_metric_name("x", {"Feature": "é(1)"}) == "x/__1_"

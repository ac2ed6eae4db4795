"""The MLflow relay: a check's run record, written by the job, logged once to the MLflow App.

The job's own ``write_mlflow_run_record`` writes the record (so the contract between job and
relay is tested end to end), an in-memory S3 fake serves it, and the App is either a fake that
keeps every call or MLflow's real client on a local file store (no network).
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from governance import mlflow_relay
from governance.contracts.errors import InvalidEventError
from governance.data_access.evidence import EvidenceUnreadableError
from governance.data_access.mlflow_runs import MlflowAppHistory
from governance.logic import mlflow_history as history
from governance.logic.mlflow_history import (
    RECORD_TAG,
    Batch,
    ExistingRun,
    RecordUnusableError,
    locate,
    parse_record,
    plan,
)
from monitoring_jobs import evidently_check as job

EVENTS = Path(__file__).resolve().parents[1] / "events" / "s3"
BUCKET = "acme-dev-monitoring-reports"
APP = "arn:aws:sagemaker:eu-west-1:555566667777:mlflow-app/app-governance01"
WHEN = datetime(2026, 12, 2, 4, tzinfo=UTC)
SETTINGS = job.Settings(
    "data_quality",
    "BinaryClassification",
    "churn-propensity-dev",
    "churn-propensity-dev-data-quality",
    (job.Feature("age", "numeric"),),
)


def _event() -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "mlflow_run_record_created.json").read_text())
    return event


@dataclass
class FakeS3:
    objects: dict[tuple[str, str], bytes] = field(default_factory=dict)

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **_: Any) -> None:  # noqa: N803
        self.objects[(Bucket, Key)] = Body


@dataclass
class FakeReader:
    s3: FakeS3

    def read_json(self, uri: str) -> Any:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        if (bucket, key) not in self.s3.objects:
            raise EvidenceUnreadableError(f"{uri} could not be read (NoSuchKey)")
        return json.loads(self.s3.objects[(bucket, key)])


@dataclass
class FakeApp:
    """An MLflow App that keeps runs by id, with their tags, params, metrics and status."""

    experiments: dict[str, str] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    fail_on_batch: int | None = None

    def experiment_id(self, name: str) -> str:
        self.calls.append("experiment")
        return self.experiments.setdefault(name, str(len(self.experiments) + 1))

    def find_run(self, experiment_id: str, record_key: str) -> ExistingRun | None:
        self.calls.append("find")
        for run_id, run in self.runs.items():
            if run["experiment"] == experiment_id and run["tags"].get(RECORD_TAG) == record_key:
                return ExistingRun(run_id, run["status"] == "FINISHED")
        return None

    def create_run(self, experiment_id: str, run_name: str, start_ms: int, tags: Any) -> str:
        self.calls.append("create")
        run_id = f"run{len(self.runs) + 1}"
        self.runs[run_id] = {
            "experiment": experiment_id,
            "name": run_name,
            "start": start_ms,
            "tags": dict(tags),
            "params": {},
            "metrics": [],
            "status": "RUNNING",
        }
        return run_id

    def log_batch(self, run_id: str, batch: Batch) -> None:
        self.calls.append("batch")
        if self.fail_on_batch is not None and self.calls.count("batch") == self.fail_on_batch:
            raise ConnectionError("the App did not answer")
        run = self.runs[run_id]
        run["params"].update(batch.params)
        run["tags"].update(batch.tags)
        run["metrics"].extend(batch.metrics)

    def finish(self, run_id: str, end_ms: int) -> None:
        self.calls.append("finish")
        self.runs[run_id]["status"] = "FINISHED"


def _job_writes(result: job.CheckResult, s3: FakeS3) -> str:
    return job.write_mlflow_run_record(s3, f"s3://{BUCKET}/mlflow-runs/", result, SETTINGS, WHEN)


VIOLATED = job.CheckResult(
    violations=[{"feature_name": "age", "constraint_check_type": "baseline_drift_check"}],
    metrics=[("feature_baseline_drift_age", {"Feature": "age"}, 0.42), ("rows", {}, 120.0)],
)


@pytest.fixture
def s3() -> FakeS3:
    s3 = FakeS3()
    uri = _job_writes(VIOLATED, s3)
    # Given the job wrote its record where the fixture event says
    assert uri == f"s3://{BUCKET}/{_event()['detail']['object']['key']}"
    return s3


def _handler(s3: FakeS3, app: Any) -> Any:
    settings = mlflow_relay.RelaySettings.from_environment(
        {"MLFLOW_TRACKING_ARN": APP, "RUN_RECORDS_BUCKET": BUCKET}
    )
    return mlflow_relay.build_handler(
        settings, client=_no_client, history=app, reader=FakeReader(s3)
    )


def _no_client(service: str) -> Any:
    raise AssertionError(f"the test passes its own fakes; nothing builds a {service} client")


class _Context:
    function_name = "relay"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:555566667777:function:relay"
    aws_request_id = "req-1"


def test_the_record_is_logged_as_the_job_would_log_it(s3: FakeS3) -> None:
    # When the relay handles the S3 event
    app = FakeApp()
    result = _handler(s3, app)(_event(), _Context())
    # Then one run in the endpoint's experiment, named and tagged as the job names it
    assert result["outcome"] == "logged"
    (run,) = app.runs.values()
    assert app.experiments == {"churn-propensity-dev": run["experiment"]}
    assert run["name"] == "churn-propensity-dev-data-quality-20261202T040000Z"
    assert run["tags"][RECORD_TAG] == _event()["detail"]["object"]["key"]
    assert run["tags"]["governance.outcome"] == "CompletedWithViolations: 1 violation(s)"
    assert json.loads(run["tags"]["governance.violation.0"])["feature_name"] == "age"
    assert run["params"] == {"problem_type": "BinaryClassification", "violations": "1"}
    metrics = {m.key: (m.value, m.step, m.timestamp_ms) for m in run["metrics"]}
    step = int(WHEN.timestamp())
    assert metrics == {
        "feature_baseline_drift_age/age": (0.42, step, step * 1000),
        "rows": (120.0, step, step * 1000),
    }
    assert run["status"] == "FINISHED"


def test_a_second_delivery_logs_nothing_again(s3: FakeS3) -> None:
    # Given the event was handled once
    app = FakeApp()
    handler = _handler(s3, app)
    first = handler(_event(), _Context())
    calls = len(app.calls)
    # When S3 delivers it again
    again = handler(_event(), _Context())
    # Then the finished run is found by its record tag and nothing is created or logged
    assert again == {**first, "outcome": "already-logged"}
    assert app.calls[calls:] == ["experiment", "find"]
    assert len(app.runs) == 1


def test_a_run_left_unfinished_is_completed_not_duplicated(s3: FakeS3) -> None:
    # Given the App failed part-way through the first attempt (the invocation is retried)
    app = FakeApp(fail_on_batch=2)
    handler = _handler(s3, app)
    with pytest.raises(ConnectionError):
        handler(_event(), _Context())
    # When the retry runs
    app.fail_on_batch = None
    result = handler(_event(), _Context())
    # Then the same run is completed
    assert result["outcome"] == "logged"
    (run,) = app.runs.values()
    assert run["status"] == "FINISHED"
    assert run["params"]["violations"] == "1"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda e: e.update(source="aws.sagemaker"),
            "field 'source': got 'aws.sagemaker'; expected one of aws.s3",
        ),
        (
            lambda e: e.update({"detail-type": "Object Deleted"}),
            "field 'detail-type': got 'Object Deleted'; expected one of Object Created",
        ),
        (
            lambda e: e["detail"]["bucket"].update(name="other-bucket"),
            "field 'detail.bucket.name': got 'other-bucket'",
        ),
        (
            lambda e: e["detail"]["object"].update(key="reports/x/y.json"),
            "field 'detail.object.key': got 'reports/x/y.json'",
        ),
        # An encoded key (a name with a space) is outside the names the job writes
        (
            lambda e: e["detail"]["object"].update(key="mlflow-runs/a+b/run.json"),
            "field 'detail.object.key': got 'mlflow-runs/a+b/run.json'; expected "
            "'mlflow-runs/<experiment>/<run>.json' with names of letters, digits and _ . -",
        ),
        (lambda e: e.pop("detail"), "field 'detail': got <missing>"),
        (lambda e: e["detail"]["object"].update(key=5), "field 'detail.object.key': got 5"),
    ],
)
def test_an_event_that_is_not_a_run_record_is_refused_by_field(
    s3: FakeS3, edit: Any, message: str
) -> None:
    event = _event()
    edit(event)
    with pytest.raises(InvalidEventError, match=message.replace("+", r"\+")):
        _handler(s3, FakeApp())(event, _Context())


def test_a_missing_record_fails_the_invocation(s3: FakeS3) -> None:
    # The S3 object is gone: the invocation fails, is retried, then waits in the dead-letter queue
    event = _event()
    event["detail"]["object"]["key"] = "mlflow-runs/churn-propensity-dev/other.json"
    with pytest.raises(EvidenceUnreadableError, match="NoSuchKey"):
        _handler(s3, FakeApp())(event, _Context())


def test_a_record_under_another_runs_key_is_refused() -> None:
    where = locate(_event(), bucket=BUCKET)
    record = job.mlflow_run_record(VIOLATED, SETTINGS, WHEN) | {"run_name": "someone-else"}
    with pytest.raises(RecordUnusableError, match="holds experiment 'churn-propensity-dev' run"):
        parse_record(record, where)


def test_a_record_with_an_unknown_field_or_non_finite_metric_is_refused() -> None:
    where = locate(_event(), bucket=BUCKET)
    record = job.mlflow_run_record(VIOLATED, SETTINGS, WHEN)
    with pytest.raises(RecordUnusableError, match="artifacts"):
        parse_record(record | {"artifacts": []}, where)
    infinite = copy.deepcopy(record)
    infinite["metrics"]["rows"] = float("inf")
    with pytest.raises(RecordUnusableError, match=r"metrics \['rows'\] that are not finite"):
        parse_record(infinite, where)


def test_large_runs_are_logged_within_mlflows_batch_limits() -> None:
    # 2,500 metrics, 150 params and 130 tags: every request within MLflow's LogBatch limits
    where = locate(_event(), bucket=BUCKET)
    record = job.mlflow_run_record(VIOLATED, SETTINGS, WHEN)
    record["metrics"] = {f"m{i}": float(i) for i in range(2500)}
    record["params"] = {f"p{i}": "v" for i in range(150)}
    record["tags"] = {f"t{i}": "v" for i in range(130)}
    batches = plan(parse_record(record, where), where).batches
    for batch in batches:
        assert len(batch.metrics) <= history.MAX_METRICS_PER_BATCH
        assert len(batch.params) <= history.MAX_PARAMS_TAGS_PER_BATCH
        assert len(batch.tags) <= history.MAX_PARAMS_TAGS_PER_BATCH
        total = len(batch.metrics) + len(batch.params) + len(batch.tags)
        assert total <= history.MAX_ENTITIES_PER_BATCH
    assert sum(len(b.metrics) for b in batches) == 2500
    assert sum(len(b.params) for b in batches) == 150
    assert sum(len(b.tags) for b in batches) == 130


def test_the_job_refuses_names_s3_would_encode(s3: FakeS3) -> None:
    settings = job.Settings("data_quality", "Regression", "my endpoint", "s", ())
    with pytest.raises(job.CheckError, match="'my endpoint' has characters other than"):
        job.write_mlflow_run_record(s3, f"s3://{BUCKET}/mlflow-runs/", VIOLATED, settings, WHEN)


def test_the_real_mlflow_client_logs_the_run_once(
    s3: FakeS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given MLflow's own client (mlflow-skinny, as the layer ships it) on a local file store
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    store = (tmp_path / "mlruns").as_uri()
    app = MlflowAppHistory(store)
    handler = _handler(s3, app)
    # When the event is delivered twice
    first = handler(_event(), _Context())
    second = handler(_event(), _Context())
    # Then the store holds one finished run with the record's data
    from mlflow.tracking import MlflowClient

    client = MlflowClient(store)
    experiment = client.get_experiment_by_name("churn-propensity-dev")
    (run,) = client.search_runs([experiment.experiment_id])
    assert (first["run_id"], second["run_id"]) == (run.info.run_id, run.info.run_id)
    assert second["outcome"] == "already-logged"
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "churn-propensity-dev-data-quality-20261202T040000Z"
    assert run.data.params == {"problem_type": "BinaryClassification", "violations": "1"}
    assert run.data.metrics == {"feature_baseline_drift_age/age": 0.42, "rows": 120.0}
    assert run.data.tags[RECORD_TAG] == _event()["detail"]["object"]["key"]
    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "true"

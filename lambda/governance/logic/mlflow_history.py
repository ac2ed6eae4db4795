"""Monitoring history for an MLflow App: from a run record to the MLflow calls that log it.

The Evidently checks run in the isolated VPC, and an MLflow App is called at a host no
documented VPC endpoint serves (cdk_constructs/monitoring/mlflow.py). So for an App each check
writes its run as a JSON record to the monitoring bucket,
``mlflow-runs/<experiment>/<run>.json`` (``monitoring_jobs/evidently_check.py``,
``mlflow_run_record``), and the relay outside the VPC logs it here. Everything in this module
is pure: it parses, validates and plans; :class:`MlflowHistory` is the App, passed in.

Idempotent by the run itself: the run is created with the tag ``governance.record`` (the record's
S3 key) and found by it again, so a second delivery of the same S3 event logs nothing twice,
whatever happened to the first one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Final, Literal, Protocol

from aws_lambda_powertools.utilities.parser.models import (
    S3EventNotificationEventBridgeDetailModel,
    S3EventNotificationEventBridgeModel,
    S3EventNotificationObjectModel,
)
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from governance.contracts.errors import InvalidEventError, explain
from governance.events import parse_event

RECORDS_PREFIX: Final = "mlflow-runs/"
RECORD_TAG: Final = "governance.record"
# The characters S3 event notifications leave unchanged when they URL-encode a key (the job
# names records with only these: evidently_check.RUN_RECORD_NAME), so the key read from the
# event is the object's key whether or not EventBridge's S3 events encode it.
_NAME = r"[A-Za-z0-9_.\-]{1,200}"
NAME_PATTERN: Final = re.compile(_NAME)
KEY_PATTERN: Final = re.compile(
    rf"{re.escape(RECORDS_PREFIX)}(?P<experiment>{_NAME})/(?P<run>{_NAME})\.json"
)
# MLflow's LogBatch limits (mlflow/utils/validation.py of the pinned mlflow-skinny 3.17.2:
# MAX_METRICS_PER_BATCH 1000, MAX_PARAMS_TAGS_PER_BATCH 100, MAX_ENTITIES_PER_BATCH 1000) and
# its tag value limit (5,000 characters, MLflow REST API SetTag).
MAX_METRICS_PER_BATCH: Final = 1000
MAX_PARAMS_TAGS_PER_BATCH: Final = 100
MAX_ENTITIES_PER_BATCH: Final = 1000
MAX_TAG_VALUE: Final = 5000
MAX_PARAM_VALUE: Final = 6000

Name = Annotated[str, StringConstraints(pattern=rf"^{_NAME}$")]
Key = Annotated[str, StringConstraints(min_length=1, max_length=250)]


class RunRecord(BaseModel):
    """One check run as the job writes it (``evidently_check.mlflow_run_record``, version 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    experiment: Name
    run_name: Name
    timestamp_ms: int = Field(ge=0)
    step: int = Field(ge=0)
    tags: dict[Key, Annotated[str, StringConstraints(max_length=MAX_TAG_VALUE)]]
    params: dict[Key, Annotated[str, StringConstraints(max_length=MAX_PARAM_VALUE)]]
    metrics: dict[Key, float]


@dataclass(frozen=True)
class RecordLocation:
    """Where the record is: the bucket and key the S3 event names."""

    bucket: str
    key: str
    experiment: str
    run_name: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


class RecordUnusableError(Exception):
    """The record cannot be logged as it is (retrying would not help); the message says why."""


def _record_key(key: str) -> str:
    if KEY_PATTERN.fullmatch(key) is None:
        raise ValueError(
            f"'{RECORDS_PREFIX}<experiment>/<run>.json' with names of letters, digits and "
            "_ . - (1 to 200 characters)"
        )
    return key


class RunRecordObject(S3EventNotificationObjectModel):
    """The created object: a run record's key, ``mlflow-runs/<experiment>/<run>.json``."""

    key: Annotated[str, AfterValidator(_record_key)]


class RunRecordDetail(S3EventNotificationEventBridgeDetailModel):
    object: RunRecordObject


class RunRecordCreated(S3EventNotificationEventBridgeModel):
    """An S3 ``Object Created`` event through EventBridge (S3 user guide, ev-events: the
    object's bucket ``detail.bucket.name`` and key ``detail.object.key``): Powertools' model,
    narrowed to a run record's key."""

    source: Literal["aws.s3"]
    detail_type: Literal["Object Created"] = Field(alias="detail-type")
    detail: RunRecordDetail

    def location(self, *, bucket: str) -> RecordLocation:
        """The record, in ``bucket`` only (the bucket is the function's setting, not a rule
        of the event's shape, so it is checked here rather than by the model)."""
        name = self.detail.bucket.name
        if name != bucket:
            raise InvalidEventError(
                f"invalid {type(self).__name__} event",
                [
                    f"field 'detail.bucket.name': got {name!r}; "
                    f"expected the monitoring bucket {bucket}"
                ],
            )
        key = self.detail.object.key
        # The model's key rule: names without "/", so the key splits into exactly these two.
        experiment, run_name = key.removeprefix(RECORDS_PREFIX).removesuffix(".json").split("/")
        return RecordLocation(bucket, key, experiment, run_name)


def locate(event: Mapping[str, Any], *, bucket: str) -> RecordLocation:
    """The record an S3 ``Object Created`` event names, in ``bucket`` under ``mlflow-runs/``
    as ``<experiment>/<run>.json``. Anything else is an :class:`InvalidEventError` naming the
    field, the value and what is allowed."""
    return parse_event(event, RunRecordCreated).location(bucket=bucket)


def parse_record(raw: Any, where: RecordLocation) -> RunRecord:
    """The record at ``where``, checked against its key (experiment and run as named there)."""
    try:
        record = RunRecord.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(explain(error, RunRecord, noun="field"))
        raise RecordUnusableError(f"{where.uri} is not a run record: {problems}") from None
    if (record.experiment, record.run_name) != (where.experiment, where.run_name):
        raise RecordUnusableError(
            f"{where.uri} holds experiment {record.experiment!r} run {record.run_name!r}; "
            f"allowed: the experiment and run its key names ({where.experiment!r}, "
            f"{where.run_name!r})"
        )
    bad = sorted(k for k, v in record.metrics.items() if not math.isfinite(v))
    if bad:
        raise RecordUnusableError(
            f"{where.uri} has metrics {bad} that are not finite numbers; MLflow stores finite "
            "values only"
        )
    return record


@dataclass(frozen=True)
class Metric:
    key: str
    value: float
    timestamp_ms: int
    step: int


@dataclass(frozen=True)
class Batch:
    """One MLflow LogBatch request, within MLflow's limits."""

    metrics: tuple[Metric, ...] = ()
    params: tuple[tuple[str, str], ...] = ()
    tags: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RunPlan:
    """What logging the record calls, in order: the experiment (by name, created if new), a run
    named ``run_name`` started at ``start_ms`` with ``create_tags`` (``governance.record`` among
    them), then ``batches``, then the run ended ``FINISHED`` at ``end_ms``."""

    experiment: str
    run_name: str
    start_ms: int
    end_ms: int
    create_tags: tuple[tuple[str, str], ...]
    batches: tuple[Batch, ...] = field(default=())


def _chunks(items: Sequence[Any], size: int) -> Iterator[tuple[Any, ...]]:
    for start in range(0, len(items), size):
        yield tuple(items[start : start + size])


def plan(record: RunRecord, where: RecordLocation) -> RunPlan:
    """The MLflow calls that log ``record``: params and tags in batches of 100, metrics in
    batches of 1,000 (each batch within MLflow's 1,000 entities)."""
    metrics = [
        Metric(key, value, record.timestamp_ms, record.step)
        for key, value in sorted(record.metrics.items())
    ]
    params = sorted(record.params.items())
    tags = sorted(record.tags.items())
    batches: list[Batch] = []
    for chunk in _chunks(params, MAX_PARAMS_TAGS_PER_BATCH):
        batches.append(Batch(params=chunk))
    for chunk in _chunks(tags, MAX_PARAMS_TAGS_PER_BATCH):
        batches.append(Batch(tags=chunk))
    for chunk in _chunks(metrics, MAX_METRICS_PER_BATCH):
        batches.append(Batch(metrics=chunk))
    return RunPlan(
        experiment=record.experiment,
        run_name=record.run_name,
        start_ms=record.timestamp_ms,
        end_ms=record.timestamp_ms,
        create_tags=((RECORD_TAG, where.key), ("mlflow.runName", record.run_name)),
        batches=tuple(batches),
    )


@dataclass(frozen=True)
class ExistingRun:
    run_id: str
    finished: bool


class MlflowHistory(Protocol):
    """The MLflow App (data_access/mlflow_runs.py), or a fake."""

    def experiment_id(self, name: str) -> str:
        """The experiment's id, creating the experiment when it does not exist."""
        ...

    def find_run(self, experiment_id: str, record_key: str) -> ExistingRun | None:
        """The run tagged ``governance.record`` = ``record_key``, if any."""
        ...

    def create_run(
        self, experiment_id: str, run_name: str, start_ms: int, tags: Sequence[tuple[str, str]]
    ) -> str: ...

    def log_batch(self, run_id: str, batch: Batch) -> None: ...

    def finish(self, run_id: str, end_ms: int) -> None: ...


@dataclass(frozen=True)
class RelayResult:
    record: str
    run_id: str
    #: ``logged``: this invocation logged the run; ``already-logged``: a finished run exists.
    outcome: Literal["logged", "already-logged"]

    def as_dict(self) -> dict[str, str]:
        return {"record": self.record, "run_id": self.run_id, "outcome": self.outcome}


def relay(record: RunRecord, where: RecordLocation, history: MlflowHistory) -> RelayResult:
    """Log ``record`` to ``history`` once. A finished run with this record's tag means a
    previous delivery logged it: nothing is logged again. An unfinished one (a previous attempt
    stopped part-way) is completed: params and tags are set to the same values again, and the
    run ends; a metric logged twice at the same step and time reads the same."""
    run_plan = plan(record, where)
    experiment_id = history.experiment_id(run_plan.experiment)
    existing = history.find_run(experiment_id, where.key)
    if existing is not None and existing.finished:
        return RelayResult(where.uri, existing.run_id, "already-logged")
    run_id = (
        existing.run_id
        if existing is not None
        else history.create_run(
            experiment_id, run_plan.run_name, run_plan.start_ms, run_plan.create_tags
        )
    )
    for batch in run_plan.batches:
        history.log_batch(run_id, batch)
    history.finish(run_id, run_plan.end_ms)
    return RelayResult(where.uri, run_id, "logged")

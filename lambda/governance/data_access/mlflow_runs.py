"""The relay's two sides: run records in the monitoring bucket, and the MLflow App they go to.

Records are read with the evidence reader (size-capped JSON, a missing or refused object is
"unreadable", transient errors propagate for a retry). The App is reached with MLflow's own
client (``mlflow-skinny``) and AWS's ``sagemaker-mlflow`` plugin, which resolves an App ARN used
as the tracking URI and signs each request with the function's role (SageMaker developer guide,
mlflow-track-experiments); both ship in the relay's layer (``make mlflow-layer``). MLflow is
imported only here and only when the App is first used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from governance.data_access.evidence import EvidenceReader
from governance.logic.mlflow_history import (
    RECORD_TAG,
    Batch,
    ExistingRun,
    RecordLocation,
)


def read_record(reader: EvidenceReader, where: RecordLocation) -> Any:
    """The decoded JSON of the record (EvidenceUnreadableError when it cannot be used)."""
    return reader.read_json(where.uri)


def _quoted(value: str) -> str:
    """A string literal of MLflow's search filter syntax."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class MlflowAppHistory:
    """:class:`governance.logic.mlflow_history.MlflowHistory` on an MLflow tracking URI: the
    App's ARN in Lambda, a local store in tests."""

    def __init__(self, tracking_uri: str, client: Any | None = None) -> None:
        self._tracking_uri = tracking_uri
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            from mlflow.tracking import MlflowClient

            self._client = MlflowClient(tracking_uri=self._tracking_uri)
        return self._client

    def experiment_id(self, name: str) -> str:
        experiment = self.client.get_experiment_by_name(name)
        if experiment is not None:
            return str(experiment.experiment_id)
        return str(self.client.create_experiment(name))

    def find_run(self, experiment_id: str, record_key: str) -> ExistingRun | None:
        runs = self.client.search_runs(
            experiment_ids=[experiment_id],
            filter_string=f"tags.`{RECORD_TAG}` = {_quoted(record_key)}",
            max_results=1,
        )
        if not runs:
            return None
        info = runs[0].info
        return ExistingRun(run_id=str(info.run_id), finished=info.status == "FINISHED")

    def create_run(
        self, experiment_id: str, run_name: str, start_ms: int, tags: Sequence[tuple[str, str]]
    ) -> str:
        run = self.client.create_run(
            experiment_id, start_time=start_ms, tags=dict(tags), run_name=run_name
        )
        return str(run.info.run_id)

    def log_batch(self, run_id: str, batch: Batch) -> None:
        from mlflow.entities import Metric, Param, RunTag

        self.client.log_batch(
            run_id,
            metrics=[Metric(m.key, m.value, m.timestamp_ms, m.step) for m in batch.metrics],
            params=[Param(k, v) for k, v in batch.params],
            tags=[RunTag(k, v) for k, v in batch.tags],
            synchronous=True,
        )

    def finish(self, run_id: str, end_ms: int) -> None:
        self.client.set_terminated(run_id, status="FINISHED", end_time=end_ms)

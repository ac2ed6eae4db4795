"""MLflow relay (``governance.mlflow_relay.handler``): logs the monitoring checks' run records to
the environment's SageMaker AI MLflow App.

Why a relay: the checks run in the isolated VPC, and an App is called at
``mlflow.sagemaker.<region>.app.aws``, which no documented VPC endpoint serves; so for an App
the checks write ``mlflow-runs/<experiment>/<run>.json`` to the monitoring bucket and this
function, outside the VPC, logs it (cdk_constructs/mlflow_relay.py).

Trigger: ``aws.s3`` / ``Object Created`` for the monitoring bucket's ``mlflow-runs/`` prefix
through EventBridge (S3 user guide, ev-events), invoked asynchronously: a failure is retried
and then kept in the function's dead-letter queue, whose depth alarm alerts. Idempotent on the
record's key, kept as the MLflow run's ``governance.record`` tag
(:func:`governance.logic.mlflow_history.relay`): S3 may deliver an event more than once.
MLflow's telemetry is off (``MLFLOW_DISABLE_TELEMETRY`` and ``DO_NOT_TRACK`` in the
function's environment, set by the construct).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from governance.contracts.parameters import Text
from governance.data_access import aws
from governance.data_access.evidence import EvidenceReader, S3EvidenceReader
from governance.data_access.mlflow_runs import MlflowAppHistory, read_record
from governance.events import parse_event
from governance.lambda_runtime import (
    ClientFactory,
    EnvironmentSettings,
    LambdaHandler,
    observed_handler,
)
from governance.logic.mlflow_history import (
    MlflowHistory,
    RecordLocation,
    RunRecordCreated,
    parse_record,
    relay,
)


class RelaySettings(EnvironmentSettings):
    mlflow_tracking_arn: Text = Field(alias="MLFLOW_TRACKING_ARN")
    """The environment's MLflow App (the plugin resolves and signs it)."""
    run_records_bucket: Text = Field(alias="RUN_RECORDS_BUCKET")
    """The monitoring bucket: the only bucket records are read from."""


def build_handler(
    settings: RelaySettings,
    client: ClientFactory = aws.client,
    *,
    history: MlflowHistory | None = None,
    reader: EvidenceReader | None = None,
) -> LambdaHandler:
    records = reader or S3EvidenceReader(client("s3"))
    app = history or MlflowAppHistory(settings.mlflow_tracking_arn)

    def parse(event: dict[str, Any]) -> tuple[RecordLocation, str]:
        created = parse_event(event, RunRecordCreated)
        return created.location(bucket=settings.run_records_bucket), created.id

    def process(parsed: tuple[RecordLocation, str]) -> dict[str, Any]:
        where, _ = parsed
        return relay(parse_record(read_record(records, where), where), where, app).as_dict()

    # No idempotency record: the MLflow run's governance.record tag is the duplicate marker.
    return observed_handler(
        parse=parse,
        process=process,
        log_keys=lambda parsed: {"record": parsed[0].uri, "source_event_id": parsed[1]},
    )


@cache
def _from_environment() -> LambdaHandler:
    return build_handler(RelaySettings.from_environment())


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _from_environment()(event, context)

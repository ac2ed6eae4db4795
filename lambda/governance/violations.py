"""Monitoring violations (``governance.violations.handler``): turn a finished Model Monitor
execution into a record and an alert, and optionally a retraining run.

Triggers: ``aws.sagemaker`` / ``SageMaker Processing Job State Change`` (Completed, Failed,
Stopped). Not every processing job is a monitoring run; those without a schedule are skipped.
And ``SageMaker Model Building Pipeline Execution Status Change`` (Failed, Stopped): a monitoring
pipeline's execution that ended without its checks reporting; other pipelines are skipped.
Idempotent on processing-job (or pipeline-execution) ARN + status for 7 days, not on the event
``id``: SageMaker may send several events (each its own ``id``) for one state change. The same
key is hashed into the pipeline's ``ClientRequestToken``, so a replay after the record expires
cannot start a second execution. See :mod:`governance.logic.monitoring` for what each
outcome produces.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from governance.contracts.vocabulary import DetailType
from governance.data_access import aws
from governance.data_access.evidence import S3EvidenceReader
from governance.data_access.monitoring_runs import SageMakerMonitoringRuns
from governance.data_access.parameters import SsmGovernanceParameters
from governance.data_access.pipelines import SageMakerPipelines
from governance.events import (
    PipelineExecutionStatusChange,
    ProcessingJobStateChange,
    parse_event,
)
from governance.lambda_runtime import (
    AlertingSettings,
    ClientFactory,
    LambdaHandler,
    ParameterPrefix,
    governance_handler,
)
from governance.logic.monitoring import (
    RunStatus,
    ViolationStores,
    clean_from_event,
    run_pipeline_outcome,
    run_status,
    run_violations,
)
from governance.sagemaker import PipelineExecutionStatus

MonitoringEvent = ProcessingJobStateChange | PipelineExecutionStatusChange

IDEMPOTENCY_KEY: Final = (
    "join('#', [detail.ProcessingJobArn || detail.pipelineExecutionArn || resources[0], "
    "detail.ProcessingJobStatus || detail.currentPipelineExecutionStatus])"
)
# EventBridge retries for up to 24 h and a DLQ redrive can come days later; a week covers both.
IDEMPOTENCY_EXPIRY_SECONDS: Final = 7 * 24 * 60 * 60


class ViolationSettings(AlertingSettings):
    endpoint_parameter_prefix: ParameterPrefix = Field(alias="ENDPOINT_PARAMETER_PREFIX")


def parse_monitoring_event(raw: dict[str, Any]) -> MonitoringEvent:
    """A processing-job state change, or a pipeline execution status change (by detail-type)."""
    if raw.get("detail-type") == DetailType.PIPELINE_EXECUTION_STATUS_CHANGE.value:
        return parse_event(raw, PipelineExecutionStatusChange)
    return parse_event(raw, ProcessingJobStateChange)


def _has_effects(change: MonitoringEvent) -> bool:
    if isinstance(change, PipelineExecutionStatusChange):
        status = change.detail.current_pipeline_execution_status
        return status in (PipelineExecutionStatus.FAILED, PipelineExecutionStatus.STOPPED)
    job = change.detail
    return run_status(job) is not RunStatus.NOT_FINISHED and not clean_from_event(job)


def _process(change: MonitoringEvent, stores: ViolationStores) -> dict[str, Any]:
    if isinstance(change, PipelineExecutionStatusChange):
        return run_pipeline_outcome(change, stores).as_dict()
    return run_violations(change, stores).as_dict()


def _log_keys(change: MonitoringEvent) -> dict[str, object]:
    if isinstance(change, PipelineExecutionStatusChange):
        return {
            "pipeline_execution": change.detail.pipeline_execution_arn,
            "execution_status": change.detail.current_pipeline_execution_status.value,
            "source_event_id": change.id,
        }
    return {
        "processing_job": change.detail.processing_job_name,
        "job_status": change.detail.processing_job_status,
        "source_event_id": change.id,
    }


def build_handler(settings: ViolationSettings, client: ClientFactory = aws.client) -> LambdaHandler:
    sagemaker = client("sagemaker")
    stores = ViolationStores(
        runs=SageMakerMonitoringRuns(sagemaker),
        parameters=SsmGovernanceParameters(
            client("ssm"), endpoint_prefix=settings.endpoint_parameter_prefix
        ),
        evidence=S3EvidenceReader(client("s3")),
        pipelines=SageMakerPipelines(sagemaker),
        notifier=settings.notifier(client),
    )
    return governance_handler(
        parse=parse_monitoring_event,
        process=lambda change: _process(change, stores),
        needs_guard=_has_effects,
        log_keys=_log_keys,
        idempotency_key=IDEMPOTENCY_KEY,
        idempotency_table=settings.idempotency_table_name,
        dynamodb_client=client("dynamodb"),
        expires_after_seconds=IDEMPOTENCY_EXPIRY_SECONDS,
    )


@cache
def _from_environment() -> LambdaHandler:
    return build_handler(ViolationSettings.from_environment())


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _from_environment()(event, context)

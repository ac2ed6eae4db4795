"""Failed or stopped monitoring pipeline executions: an alert and a ledger record, never silence.

The Evidently engine runs each check, and batch scoring its transform and checks, in a SageMaker
Pipeline. A check whose processing job fails is recorded from that job's own state change
(test_violation_handler.py); these tests cover an execution that ends Failed or Stopped without
one: the transform failed, a step could not start its job, or the run was stopped between steps.
The event is the developer guide's "Pipeline execution state change" example
(automating-sagemaker-with-eventbridge) with this app's names; moto has no pipeline events, so
the steps come from a fake answering ``ListPipelineExecutionSteps`` in botocore's shape.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jmespath
import pytest
from botocore.validate import ParamValidator

from governance.contracts.errors import InvalidEventError
from governance.contracts.vocabulary import DetailType
from governance.events import MonitoringViolationEvent, PipelineExecutionStatusChange
from governance.logic.ledger import record_content
from governance.logic.monitoring import run_pipeline_outcome
from governance.violations import IDEMPOTENCY_KEY, build_handler, parse_monitoring_event
from tests.conftest import sagemaker_service_model
from tests.violations.conftest import (
    ACCOUNT,
    PARAMETER_PREFIX,
    REGION,
    Aws,
    Monitoring,
    load_fixture,
)

BATCH = "churn-prod-batch"
BATCH_PARAMETER = {
    "model_name": "churn",
    "model_package_group_name": "churn",
    "endpoint_name": BATCH,
    "monitors": {
        "data_quality": f"{BATCH}-data-quality",
        "model_quality": f"{BATCH}-model-quality",
    },
    "retraining_pipeline_name": None,
}
EXECUTION = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{BATCH}/execution/p4jn9xou8a8s"


def _event(pipeline: str = BATCH, status: str = "Failed") -> dict[str, Any]:
    event = load_fixture("event-pipeline-execution-failed.json")
    text = json.dumps(event).replace(f"pipeline/{BATCH}", f"pipeline/{pipeline}")
    event = json.loads(text)
    event["detail"]["currentPipelineExecutionStatus"] = status
    return event


def _execution(event: dict[str, Any]) -> str:
    return str(event["detail"]["pipelineExecutionArn"])


@pytest.fixture
def batch(monitoring: Monitoring) -> Monitoring:
    monitoring.parameters.endpoints[BATCH] = copy.deepcopy(BATCH_PARAMETER)
    steps = load_fixture("list-pipeline-execution-steps-transform-failed.json")
    monitoring.runs.executions[EXECUTION] = steps["PipelineExecutionSteps"]
    return monitoring


def test_the_fixtures_have_the_documented_and_the_api_shapes() -> None:
    # The event has the documented detail keys; the steps answer is valid for botocore's model.
    event = _event()
    assert event["detail-type"] == DetailType.PIPELINE_EXECUTION_STATUS_CHANGE.value
    assert set(event["detail"]) == {
        "pipelineExecutionDisplayName",
        "currentPipelineExecutionStatus",
        "previousPipelineExecutionStatus",
        "executionStartTime",
        "executionEndTime",
        "pipelineArn",
        "pipelineExecutionArn",
    }
    model = sagemaker_service_model()
    shape = model.operation_model("ListPipelineExecutionSteps").output_shape
    steps = load_fixture("list-pipeline-execution-steps-transform-failed.json")
    # Output shapes validate like inputs: unknown keys and wrong types are reported.
    report = ParamValidator().validate(steps, shape)
    assert not report.has_errors(), report.generate_report()


def test_a_failed_batch_transform_is_alerted_and_recorded(batch: Monitoring) -> None:
    # Given a batch execution whose transform failed, so no check ever ran
    event = _event()
    # When the handler receives the execution's Failed status
    result = run_pipeline_outcome(PipelineExecutionStatusChange.model_validate(event), batch.stores)
    # Then it records the gap for the batch's checks and alerts with the step's reason
    assert result.status == "recorded"
    assert result.reason == "monitoring_failed"
    assert result.monitoring_pipeline_execution_arn == EXECUTION
    assert batch.runs.calls == [("ListPipelineExecutionSteps", EXECUTION)]
    (detail,) = batch.notifier.details
    assert detail["outcome"] == "monitoring_failed"
    assert detail["pipelineExecutionArn"] == EXECUTION
    assert detail["endpointName"] == BATCH
    assert detail["monitorType"] == "data_quality"
    assert detail["monitoringScheduleName"] == f"{BATCH}-data-quality"
    assert "step BatchTransform Failed: ClientError: Failed to download" in detail["failureReason"]
    assert "No results this run for: data quality, model quality" in detail["failureReason"]
    (alert,) = batch.notifier.alerts
    assert alert.subject == f"Monitoring FAILED: pipeline {BATCH}"
    assert "Checks without results: data quality, model quality" in alert.message
    assert EXECUTION in alert.message
    assert alert.attributes["outcome"] == "monitoring_failed"


def test_the_ledger_records_the_execution(batch: Monitoring) -> None:
    # Given the governance event the handler put
    run_pipeline_outcome(PipelineExecutionStatusChange.model_validate(_event()), batch.stores)
    (entry,) = batch.notifier.events
    published = {
        "version": "0",
        "id": "ledger-delivery-1",
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": ACCOUNT,
        "time": "2026-12-02T04:10:12Z",
        "region": REGION,
        "resources": entry["Resources"],
        "detail": entry["Detail"],
    }
    # When the audit ledger builds its record from it
    content = record_content(MonitoringViolationEvent.model_validate(published))
    # Then the record names the gap and the execution
    assert content["kind"] == "monitoring_violation"
    assert content["action"] == "data_quality monitoring monitoring_failed"
    assert content["monitoring"]["pipeline_execution_arn"] == EXECUTION
    assert content["monitoring"]["processing_job_arn"] is None
    assert "BatchTransform" in content["description"]


def test_an_execution_stopped_between_steps_is_recorded_as_stopped(batch: Monitoring) -> None:
    batch.runs.executions[EXECUTION] = [
        {"StepName": "BatchTransform", "StepStatus": "Succeeded", "Metadata": {}}
    ]
    result = run_pipeline_outcome(
        PipelineExecutionStatusChange.model_validate(_event(status="Stopped")), batch.stores
    )
    assert result.reason == "monitoring_stopped"
    (detail,) = batch.notifier.details
    assert detail["failureReason"].startswith("the execution ended Stopped before any step")
    assert batch.notifier.alerts[0].subject == f"Monitoring STOPPED: pipeline {BATCH}"


def test_a_check_whose_processing_job_failed_is_left_to_that_jobs_event(
    batch: Monitoring,
) -> None:
    # Given the transform succeeded and the data-quality check's processing job failed
    batch.runs.executions[EXECUTION] = [
        {"StepName": "BatchTransform", "StepStatus": "Succeeded", "Metadata": {}},
        {
            "StepName": "DataQualityCheck",
            "StepStatus": "Failed",
            "FailureReason": "AlgorithmError",
            "Metadata": {
                "ProcessingJob": {
                    "Arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/pipelines-x"
                }
            },
        },
    ]
    result = run_pipeline_outcome(
        PipelineExecutionStatusChange.model_validate(_event()), batch.stores
    )
    # Then one record and one alert come from the job's state change, none from here
    assert result.status == "skipped"
    assert "processing job" in result.reason
    assert batch.notifier.events == []
    assert batch.notifier.alerts == []


def test_an_evidently_check_pipeline_that_never_started_its_job_is_recorded(
    monitoring: Monitoring,
) -> None:
    # Given the Evidently data-quality pipeline of endpoint churn-prod (named like the schedule)
    pipeline = "churn-prod-data-quality"
    event = _event(pipeline=pipeline)
    monitoring.runs.executions[_execution(event)] = [
        {
            "StepName": "DataQualityCheck",
            "StepStatus": "Failed",
            "FailureReason": "AccessDeniedException: not authorized to perform "
            "sagemaker:CreateProcessingJob",
            "Metadata": {},
        }
    ]
    result = run_pipeline_outcome(
        PipelineExecutionStatusChange.model_validate(event), monitoring.stores
    )
    # Then the endpoint's data-quality check has a recorded, alerted gap
    assert result.status == "recorded"
    assert result.endpoint_name == "churn-prod"
    assert result.monitor_type == "data_quality"
    (detail,) = monitoring.notifier.details
    assert detail["monitoringScheduleName"] == pipeline
    assert "AccessDeniedException" in detail["failureReason"]
    assert len(monitoring.notifier.alerts) == 1


@pytest.mark.parametrize("pipeline", ["credit-default-training", "churn-prod-unknown-check"])
def test_other_pipelines_are_skipped_without_reading_their_steps(
    monitoring: Monitoring, pipeline: str
) -> None:
    result = run_pipeline_outcome(
        PipelineExecutionStatusChange.model_validate(_event(pipeline=pipeline)),
        monitoring.stores,
    )
    assert result.status == "skipped"
    assert "runs no governed monitoring" in result.reason
    assert monitoring.runs.calls == []
    assert monitoring.notifier.alerts == []


@pytest.mark.parametrize("status", ["Succeeded", "Executing", "Stopping"])
def test_executions_that_did_not_fail_or_stop_are_skipped(batch: Monitoring, status: str) -> None:
    result = run_pipeline_outcome(
        PipelineExecutionStatusChange.model_validate(_event(status=status)), batch.stores
    )
    assert result.status == "skipped"
    assert batch.runs.calls == []
    assert batch.notifier.alerts == []


def test_the_handler_parses_both_kinds_of_event_by_detail_type() -> None:
    assert isinstance(parse_monitoring_event(_event()), PipelineExecutionStatusChange)
    broken = _event()
    del broken["detail"]["pipelineExecutionArn"]
    with pytest.raises(InvalidEventError, match="pipelineExecutionArn"):
        parse_monitoring_event(broken)


def test_the_idempotency_key_tells_executions_and_statuses_apart() -> None:
    failed, stopped = _event(), _event(status="Stopped")
    job = load_fixture("event-failed-execution-minimal.json")
    keys = [jmespath.search(IDEMPOTENCY_KEY, e) for e in (failed, stopped, job)]
    assert keys[0] == f"{EXECUTION}#Failed"
    assert keys[1] == f"{EXECUTION}#Stopped"
    assert keys[2] == f"{job['detail']['ProcessingJobArn']}#Failed"


# --- End to end (moto for SSM, SNS, EventBridge, DynamoDB) --------------------------------------


def test_a_failed_batch_execution_reaches_sns_and_the_ledger_once(aws: Aws, context: Any) -> None:
    # Given the batch pipeline's parameter and an execution whose third step failed to start
    aws.ssm.put_parameter(
        Name=f"{PARAMETER_PREFIX}{BATCH}", Type="String", Value=json.dumps(BATCH_PARAMETER)
    )
    aws.sagemaker.pipeline_steps[EXECUTION] = [
        {"StepName": "BatchTransform", "StepStatus": "Succeeded", "Metadata": {}},
        {"StepName": "DataQualityCheck", "StepStatus": "Succeeded", "Metadata": {}},
        {
            "StepName": "ModelQualityCheck",
            "StepStatus": "Failed",
            "FailureReason": "ResourceLimitExceeded: ml.m5.xlarge processing quota",
            "Metadata": {},
        },
    ]
    event = _event()
    handler = build_handler(aws.settings, aws.client)
    # When the event is delivered twice
    first = handler(event, context)
    second = handler(event, context)
    # Then one alert and one ledger event, both naming the execution and the step's reason
    assert first == second
    assert first["status"] == "recorded"
    (alert,) = aws.alerts()
    assert alert["Subject"] == f"Monitoring FAILED: pipeline {BATCH}"
    assert "ResourceLimitExceeded" in alert["Message"]
    (ledger,) = aws.ledger_events()
    assert ledger["resources"] == [EXECUTION]
    assert ledger["detail"]["pipelineExecutionArn"] == EXECUTION
    assert ledger["detail"]["outcome"] == "monitoring_failed"
    # The steps were read once, over both pages
    assert len(aws.sagemaker.calls_to("ListPipelineExecutionSteps")) == 1
    assert aws.dynamodb.scan(TableName="governance-idempotency")["Count"] == 1

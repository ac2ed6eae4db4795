"""Monitoring executions: the processing job and the schedule behind a run, and the steps of a
monitoring pipeline's execution (the Evidently engine and batch scoring)."""

from __future__ import annotations

from typing import Protocol

from governance.data_access.aws import AwsClient
from governance.sagemaker import MonitoringSchedule, PipelineExecutionStep, ProcessingJob


class MonitoringRuns(Protocol):
    def describe_job(self, name: str) -> ProcessingJob: ...

    def describe_schedule(self, name: str) -> MonitoringSchedule: ...

    def execution_steps(self, execution_arn: str) -> list[PipelineExecutionStep]:
        """Every step of a pipeline execution (``ListPipelineExecutionSteps``, all pages)."""
        ...


class SageMakerMonitoringRuns:
    def __init__(self, sagemaker_client: AwsClient) -> None:
        self._sagemaker = sagemaker_client

    def describe_job(self, name: str) -> ProcessingJob:
        return ProcessingJob.model_validate(
            self._sagemaker.describe_processing_job(ProcessingJobName=name)
        )

    def describe_schedule(self, name: str) -> MonitoringSchedule:
        return MonitoringSchedule.model_validate(
            self._sagemaker.describe_monitoring_schedule(MonitoringScheduleName=name)
        )

    def execution_steps(self, execution_arn: str) -> list[PipelineExecutionStep]:
        paginator = self._sagemaker.get_paginator("list_pipeline_execution_steps")
        return [
            PipelineExecutionStep.model_validate(step)
            for page in paginator.paginate(PipelineExecutionArn=execution_arn)
            for step in page.get("PipelineExecutionSteps", [])
        ]

"""Model Monitor executions: the processing job and the schedule behind it."""

from __future__ import annotations

from typing import Protocol

from governance.data_access.aws import AwsClient
from governance.sagemaker import MonitoringSchedule, ProcessingJob


class MonitoringRuns(Protocol):
    def describe_job(self, name: str) -> ProcessingJob: ...

    def describe_schedule(self, name: str) -> MonitoringSchedule: ...


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

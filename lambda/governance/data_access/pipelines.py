"""Retraining pipelines: start one execution, idempotently."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from governance.data_access.aws import AwsClient


@dataclass(frozen=True)
class PipelineStart:
    pipeline_name: str
    display_name: str
    description: str
    parameters: Mapping[str, str]
    client_request_token: str
    """SageMaker starts one execution per token, so a replay cannot start a second one."""


class Pipelines(Protocol):
    def start(self, request: PipelineStart) -> str:
        """Start the execution; returns its ARN."""
        ...


class SageMakerPipelines:
    def __init__(self, sagemaker_client: AwsClient) -> None:
        self._sagemaker = sagemaker_client

    def start(self, request: PipelineStart) -> str:
        response = self._sagemaker.start_pipeline_execution(
            PipelineName=request.pipeline_name,
            PipelineExecutionDisplayName=request.display_name,
            PipelineExecutionDescription=request.description,
            PipelineParameters=[
                {"Name": name, "Value": value} for name, value in request.parameters.items()
            ],
            ClientRequestToken=request.client_request_token,
        )
        return str(response["PipelineExecutionArn"])

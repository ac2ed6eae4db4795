"""The SageMaker API shapes the handlers read, as pydantic models.

An EventBridge state change carries the same shape as the matching ``Describe*`` response (often
fewer fields), so one model serves both: ``ModelPackage`` for ``DescribeModelPackage`` and the
``SageMaker Model Package State Change`` detail, ``ProcessingJob`` for ``DescribeProcessingJob``
and the ``SageMaker Processing Job State Change`` detail. Fields the handlers do not use are
ignored; those they use are checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from governance.contracts.errors import Expect
from governance.contracts.parameters import Text
from governance.contracts.vocabulary import (
    ENV_ENDPOINT_NAME,
    ENV_SCHEDULE_NAME,
    ApprovalStatus,
    ModelCardStatus,
)


def _version(value: object) -> object:
    # SageMaker sends a JSON number; a digit string is accepted because replays through other
    # tools sometimes stringify it. A bool is never a version.
    if isinstance(value, bool) or not (
        (isinstance(value, int) and value > 0) or (isinstance(value, str) and value.isdigit())
    ):
        raise ValueError("a positive integer")
    return int(value)


Version = Annotated[int, BeforeValidator(_version), Expect("a positive integer")]


class _Shape(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class IamIdentity(_Shape):
    arn: str | None = Field(None, alias="Arn")
    principal_id: str | None = Field(None, alias="PrincipalId")
    source_identity: str | None = Field(None, alias="SourceIdentity")


class UserContext(_Shape):
    """``CreatedBy`` / ``LastModifiedBy``: a Studio user profile and/or an IAM identity."""

    user_profile_arn: str | None = Field(None, alias="UserProfileArn")
    user_profile_name: str | None = Field(None, alias="UserProfileName")
    domain_id: str | None = Field(None, alias="DomainId")
    iam_identity: IamIdentity = Field(default_factory=IamIdentity, alias="IamIdentity")

    @property
    def iam_arn(self) -> str | None:
        return _blank_to_none(self.iam_identity.arn)

    @property
    def source_identity(self) -> str | None:
        return _blank_to_none(self.iam_identity.source_identity)

    @property
    def profile(self) -> str | None:
        return _blank_to_none(self.user_profile_name)

    @property
    def is_empty(self) -> bool:
        return not (self.profile or self.iam_arn or self.source_identity)

    def describe(self) -> str:
        """One readable line for alerts and the ledger."""
        if self.is_empty:
            return "<unknown>"
        parts = []
        if self.profile:
            domain = f"{self.domain_id}/" if self.domain_id else ""
            parts.append(f"user-profile {domain}{self.profile}")
        if self.iam_arn:
            parts.append(self.iam_arn)
        if self.source_identity:
            parts.append(f"source-identity {self.source_identity}")
        return " | ".join(parts)


def _blank_to_none(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def known(user: UserContext | None) -> UserContext | None:
    """``None`` for an absent or empty ``UserContext``: both mean "nobody we can name"."""
    return None if user is None or user.is_empty else user


def describe_user(user: UserContext | None) -> str:
    return "<unknown>" if user is None else user.describe()


class ModelPackage(_Shape):
    """A versioned model package (``DescribeModelPackage``, or a state change's detail)."""

    model_package_group_name: Text = Field(alias="ModelPackageGroupName")
    model_package_version: Version = Field(alias="ModelPackageVersion")
    model_package_arn: Text = Field(alias="ModelPackageArn")
    model_approval_status: ApprovalStatus = Field(alias="ModelApprovalStatus")
    approval_description: str | None = Field(None, alias="ApprovalDescription")
    created_by: UserContext | None = Field(None, alias="CreatedBy")
    last_modified_by: UserContext | None = Field(None, alias="LastModifiedBy")
    model_metrics: dict[str, Any] = Field(default_factory=dict, alias="ModelMetrics")
    drift_check_baselines: dict[str, Any] = Field(default_factory=dict, alias="DriftCheckBaselines")
    metadata_properties: dict[str, Any] = Field(default_factory=dict, alias="MetadataProperties")
    """``CommitId``, ``Repository``, ``GeneratedBy``, ``ProjectId`` (botocore's sagemaker model);
    the governed pipeline writes its execution ARN to ``GeneratedBy``."""

    def generated_by(self) -> str | None:
        """``MetadataProperties.GeneratedBy``, if registered (the producing pipeline execution)."""
        value = self.metadata_properties.get("GeneratedBy")
        return value.strip() if isinstance(value, str) and value.strip() else None

    def evidence_uris(self) -> list[str]:
        """Every ``S3Uri`` in the metrics and baselines, de-duplicated, in order found."""
        return s3_uris(self.model_metrics, self.drift_check_baselines)

    def metrics_uri(self, *path: str) -> str | None:
        """The ``S3Uri`` at ``ModelMetrics.<path>`` (e.g. ``"Bias", "Report"``), if registered."""
        node: Any = self.model_metrics
        for key in path:
            node = node.get(key) if isinstance(node, Mapping) else None
        uri = node.get("S3Uri") if isinstance(node, Mapping) else None
        return uri if isinstance(uri, str) and uri.strip() else None


def s3_uris(*nodes: object) -> list[str]:
    """Every ``S3Uri`` anywhere in ``nodes``, de-duplicated, in order found."""
    return list(dict.fromkeys(_walk_s3_uris(nodes)))


def _walk_s3_uris(nodes: Iterable[object]) -> Iterator[str]:
    # ModelMetrics and DriftCheckBaselines nest MetricsSource leaves {ContentType, S3Uri, ...}.
    for node in nodes:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key == "S3Uri" and isinstance(value, str) and value:
                    yield value
                else:
                    yield from _walk_s3_uris([value])
        elif isinstance(node, list):
            yield from _walk_s3_uris(node)


class ModelCardVersion(_Shape):
    """One version of a model card (``DescribeModelCard`` with ``IncludedData=MetadataOnly``)."""

    model_card_name: str = Field(alias="ModelCardName")
    model_card_version: int = Field(alias="ModelCardVersion")
    model_card_status: ModelCardStatus = Field(alias="ModelCardStatus")
    created_by: UserContext | None = Field(None, alias="CreatedBy")
    last_modified_by: UserContext | None = Field(None, alias="LastModifiedBy")


class S3Output(_Shape):
    s3_uri: str | None = Field(None, alias="S3Uri")


class ProcessingOutput(_Shape):
    s3_output: S3Output | None = Field(None, alias="S3Output")


class ProcessingOutputConfig(_Shape):
    outputs: list[ProcessingOutput] = Field(default_factory=list, alias="Outputs")


class ProcessingJobStatus(StrEnum):
    """botocore ``ProcessingJobStatus`` enum."""

    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"


class ProcessingJob(_Shape):
    """A processing job (``DescribeProcessingJob``, or a state change's detail).

    The documented state-change example carries neither ``ExitMessage``, ``MonitoringScheduleArn``,
    ``Environment`` nor ``ProcessingOutputConfig``; :meth:`completed_from` fills them from
    ``DescribeProcessingJob``.
    """

    processing_job_name: Text = Field(alias="ProcessingJobName")
    processing_job_status: ProcessingJobStatus = Field(alias="ProcessingJobStatus")
    processing_job_arn: str | None = Field(None, alias="ProcessingJobArn")
    exit_message: str | None = Field(None, alias="ExitMessage")
    failure_reason: str | None = Field(None, alias="FailureReason")
    monitoring_schedule_arn: str | None = Field(None, alias="MonitoringScheduleArn")
    environment: dict[str, str] = Field(default_factory=dict, alias="Environment")
    processing_output_config: ProcessingOutputConfig | None = Field(
        None, alias="ProcessingOutputConfig"
    )

    @property
    def output_s3_uri(self) -> str | None:
        # A monitoring job has exactly one output: the execution's result location.
        if self.processing_output_config is None:
            return None
        for output in self.processing_output_config.outputs:
            uri = output.s3_output.s3_uri if output.s3_output else None
            if uri and uri.startswith("s3://"):
                return uri
        return None

    @property
    def schedule_name(self) -> str | None:
        if name := self.environment.get(ENV_SCHEDULE_NAME):
            return name
        if self.monitoring_schedule_arn:
            return self.monitoring_schedule_arn.rsplit("/", 1)[-1]
        return None

    @property
    def endpoint_name(self) -> str | None:
        return self.environment.get(ENV_ENDPOINT_NAME) or None

    def completed_from(self, described: ProcessingJob) -> ProcessingJob:
        """This job with the gaps filled from ``DescribeProcessingJob``; the event's values win."""
        merged = {
            **described.model_dump(by_alias=True, exclude_none=True),
            **self.model_dump(by_alias=True, exclude_none=True, exclude_defaults=True),
            "Environment": {**described.environment, **self.environment},
        }
        return ProcessingJob.model_validate(merged)


class PipelineExecutionStatus(StrEnum):
    """botocore ``PipelineExecutionStatus`` (DescribePipelineExecution, and the status change
    event's ``currentPipelineExecutionStatus``)."""

    EXECUTING = "Executing"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    FAILED = "Failed"
    SUCCEEDED = "Succeeded"


class _JobReference(_Shape):
    arn: str | None = Field(None, alias="Arn")


class PipelineStepMetadata(_Shape):
    processing_job: _JobReference | None = Field(None, alias="ProcessingJob")
    transform_job: _JobReference | None = Field(None, alias="TransformJob")


class PipelineExecutionStep(_Shape):
    """One step of ``ListPipelineExecutionSteps`` (botocore ``PipelineExecutionStep``; status
    Starting | Executing | Stopping | Stopped | Failed | Succeeded)."""

    step_name: Text = Field(alias="StepName")
    step_status: str | None = Field(None, alias="StepStatus")
    failure_reason: str | None = Field(None, alias="FailureReason")
    metadata: PipelineStepMetadata = Field(default_factory=PipelineStepMetadata, alias="Metadata")

    @property
    def ended_unsuccessfully(self) -> bool:
        return self.step_status in ("Failed", "Stopped")

    @property
    def processing_job_arn(self) -> str | None:
        job = self.metadata.processing_job
        return job.arn if job is not None and job.arn else None


class MonitoringSchedule(_Shape):
    """What ``DescribeMonitoringSchedule`` says about an execution's schedule."""

    monitoring_schedule_name: str = Field(alias="MonitoringScheduleName")
    monitoring_type: str | None = Field(None, alias="MonitoringType")
    endpoint_name: str | None = Field(None, alias="EndpointName")

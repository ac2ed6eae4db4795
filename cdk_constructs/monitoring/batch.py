"""Scheduled batch scoring, kept and checked: a SageMaker Pipeline per batch model.

Per batch model and environment (``<model>-<env>-batch``):

* an ``AWS::Scheduler::Schedule`` on the configured cadence starts the pipeline (SageMaker
  ``StartPipelineExecution`` target, retries within one interval, the Evidently schedules'
  dead-letter queue and its depth alarm);
* an ``AWS::SageMaker::Pipeline`` (inline definition) with
  1. ``BatchTransform``: a ``CreateTransformJob`` of the endpoint's own ``AWS::SageMaker::Model``
     (the approved version, network isolation, the isolated subnets and jobs' security group),
     its volume (``TransformResources.VolumeKmsKeyId``, left out for NVMe instance types, whose
     volumes SageMaker encrypts in hardware and refuses a key for, as for endpoints), its output
     (``TransformOutput.KmsKeyId``) and its data capture encrypted with the data-capture key; batch
     data capture on (``DataCaptureConfig``: ``DestinationS3Uri`` per execution, ``KmsKeyId``,
     ``GenerateInferenceId`` so labels can be joined by inference id; CreateTransformJob API
     reference and developer guide model-monitor-data-capture-batch);
  2. ``DataQualityCheck``: the Evidently engine's check job (``monitoring_jobs/evidently_check.py``
     with ``--source batch``) on that execution's capture, against the reference snapshot the
     version was registered with (``DriftCheckBaselines.ModelDataQuality.Statistics``, confirmed
     by the deploy-time package check);
  3. with ground truth, ``ModelQualityCheck``: the same job joining the labels with the
     predictions captured over ``ground_truth_lookback_hours``, against the model-quality floor.

When the environment names an MLflow App (``mlflow_tracking_arn``, evidently engine only), each
check also logs its run there, as the endpoint checks do (experiment ``<model>-<env>-batch``).

The checks are the Evidently engine's whatever the environment's engine: Model Monitor's batch
analyzer (``MonitorBatchTransformStep``/``QualityCheckStep``) runs Model Monitor's container,
and no AWS source was found that it stays open to new customers. They publish Model Monitor's
batch metrics (``aws/sagemaker/ModelMonitoring/{data,model}-metrics``, dimension
``MonitoringSchedule`` in place of ``Endpoint``: ``<model>-<env>-batch-<check>``), set the
environment Model Monitor sets (``sagemaker_endpoint_name`` = the batch name, whose
``/sagemaker-governance/endpoints/<batch name>`` parameter names the model and its checks), and
write ``constraint_violations.json`` first; so the environment's processing-job rule, the
violations handler (SNS alert, ledger record, optional retraining) and the alarms treat a batch
check like an endpoint's. A failed or stopped execution whose checks never reported (a transform
that failed never reaches the checks) reaches the same handler through the foundation's rule on
pipeline execution status changes (``handlers.monitoring_pipelines_pattern``), which finds this
pipeline by its parameter (``/sagemaker-governance/endpoints/<batch name>``) and alerts and
records the gap; the "no results" alarm fires after two intervals without a check publishing.
A start EventBridge Scheduler could not make lands in the Evidently schedules' dead-letter
queue, whose depth alarm alerts.

Nothing is granted on a foundation role here: the transform runs as the environment's inference
role (the model's execution role) and the checks as its monitoring role, which the foundation
grants by tag (inputs in buckets tagged ``governance:monitoring-input=true``, results and
capture in buckets tagged ``governance:batch-output=true``); the stack's Evidently pipeline role
gets the transform-job actions once per stack.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from cdk_constructs import tags
from cdk_constructs.compliance.acknowledgments import acknowledge_wildcards, nag_string
from cdk_constructs.encryption import IGovernanceKey
from cdk_constructs.instance_types import has_nvme_storage
from cdk_constructs.monitoring.engine import MonitoringResources, package_check
from cdk_constructs.monitoring.evidently_engine import (
    PIPELINE_DEFINITION_VERSION,
    EvidentlyEngine,
    EvidentlyStackResources,
)
from cdk_constructs.monitoring.images import MonitorType
from cdk_constructs.monitoring.metrics import (
    DEFAULT_FEATURE_DRIFT_THRESHOLD,
    MonitorAlarms,
    MonitorMetrics,
)
from cdk_constructs.monitoring.serving import GovernedEndpoint
from cdk_constructs.props import (
    Dataset,
    ModelIdentity,
    MonitoredModel,
    MonitorSchedule,
    quality_floor,
)
from governance.contracts.vocabulary import (
    DATA_REFERENCE,
    ENDPOINT_PARAMETER_PREFIX,
    DetailType,
    ProblemType,
)

# Model Monitor's namespaces for batch transform jobs (developer guide, model-monitor-byoc-
# cloudwatch and model-monitor-model-quality-metrics; the SageMaker SDK's dashboards query
# {aws/sagemaker/ModelMonitoring/data-metrics,Feature,MonitoringSchedule} and
# {aws/sagemaker/ModelMonitoring/model-metrics,MonitoringSchedule}). Equal to the job's
# BATCH_NAMESPACES (tested).
BATCH_METRIC_NAMESPACES: Mapping[MonitorType, str] = MappingProxyType(
    {
        "data_quality": "aws/sagemaker/ModelMonitoring/data-metrics",
        "model_quality": "aws/sagemaker/ModelMonitoring/model-metrics",
    }
)
TRANSFORM_STEP = "BatchTransform"
CHECK_STEPS: Mapping[MonitorType, str] = MappingProxyType(
    {"data_quality": "DataQualityCheck", "model_quality": "ModelQualityCheck"}
)
# EventBridge Scheduler schedule names: 1-64 letters, digits and - . _ (CreateSchedule, Name);
# SageMaker pipeline names: letters, digits and hyphens, at most 256 (CreatePipeline).
_BATCH_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}")
MAX_BATCH_NAME = 64
PIPELINE_EXECUTION_STATUS = DetailType.PIPELINE_EXECUTION_STATUS_CHANGE.value
# SageMaker Pipelines names the transform jobs pipelines-<execution id>-<step>-<suffix>.
TRANSFORM_CONTENT_TYPE = "text/csv"


@dataclass(frozen=True)
class BatchScoringProps:
    """One environment's scheduled batch scoring of a model (``stacks/props.py`` maps config)."""

    identity: ModelIdentity
    environment: str
    problem_type: ProblemType
    dataset: Dataset
    input_s3_uri: str
    output_s3_uri: str
    capture_s3_uri: str
    schedule: str
    interval_hours: int
    instance_type: str
    instance_count: int
    check_instance_type: str
    check_max_runtime_seconds: int
    ground_truth_s3_uri: str | None = None
    ground_truth_lookback_hours: int = 192
    probability_threshold: float = 0.5
    model_quality_floor: tuple[str, float] | None = None
    retraining_pipeline_name: str | None = None

    def __post_init__(self) -> None:
        # The config supplies a floor whenever the batch has ground truth (stacks/props.py);
        # the constructs are also used without it, so the props check it once, here.
        if "model_quality" in self.checks:
            _ = self.floor

    @property
    def checks(self) -> tuple[MonitorType, ...]:
        return ("data_quality", "model_quality") if self.ground_truth_s3_uri else ("data_quality",)

    @property
    def floor(self) -> tuple[str, float]:
        """``model_quality_floor`` of a batch with the model-quality check."""
        return quality_floor(self.identity.name, self.model_quality_floor)


def batch_name_for(endpoint_name: str) -> str:
    """``<model>-<env>-batch``: the pipeline's, the schedule's and the checks' stem."""
    name = f"{endpoint_name}-batch"
    if len(name) > MAX_BATCH_NAME or not _BATCH_NAME.fullmatch(name):
        raise ValueError(
            f"batch pipeline name {name!r} is not valid; allowed: letters, digits and hyphens, "
            f"at most {MAX_BATCH_NAME} characters (EventBridge Scheduler's limit), so shorten "
            "the model or environment name"
        )
    return name


def check_name_for(batch_name: str, check: MonitorType) -> str:
    """``<batch name>-<check>``: the check's MonitoringSchedule dimension and env variable."""
    return f"{batch_name}-{check.replace('_', '-')}"


class BatchMonitorMetrics(MonitorMetrics):
    """The batch checks' metrics: Model Monitor's batch namespaces, ``MonitoringSchedule`` (and
    ``Feature``) without ``Endpoint``. ``endpoint_name`` is the batch name (dashboard name)."""

    NAMESPACES = BATCH_METRIC_NAMESPACES
    ENDPOINT_DIMENSION = False


def _join(*values: Any) -> dict[str, Any]:
    """A pipeline ``Std:Join`` of ``values`` with ``/`` (SageMaker Pipelines' JSON functions)."""
    return {"Std:Join": {"On": "/", "Values": list(values)}}


_EXECUTION_ID = {"Get": "Execution.PipelineExecutionId"}


class BatchScoring(Construct):
    """The scheduled, captured and checked batch scoring of one served model (module docstring).

    ``endpoint`` is the model's governed endpoint in this environment: its hardened
    ``AWS::SageMaker::Model`` (approved version, network isolation, VPC) is the one the transform
    runs. ``capture_key`` encrypts the transform's volume, output and capture (the environment's
    data-capture key, which the inference role uses).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        batch: BatchScoringProps,
        endpoint: GovernedEndpoint,
        resources: MonitoringResources,
        capture_key: IGovernanceKey,
        engine: EvidentlyEngine | None = None,
        drift_threshold: float = DEFAULT_FEATURE_DRIFT_THRESHOLD,
    ) -> None:
        super().__init__(scope, construct_id)
        if resources.alerts is None:
            raise ValueError(
                f"model {batch.identity.name!r}: batch scoring alarms on missing and violated "
                "checks, so MonitoringResources.alerts is required (got None)"
            )
        self.batch = batch
        self.endpoint = endpoint
        self.resources = resources
        self.capture_key = capture_key
        self.drift_threshold = drift_threshold
        self.name = batch_name_for(endpoint.endpoint_name)
        self.check_names = {c: check_name_for(self.name, c) for c in batch.checks}
        stack = Stack.of(self)
        self.engine = engine or EvidentlyEngine()
        self.shared = EvidentlyStackResources.of(self, self.engine, resources)
        _allow_transforms(self.shared)
        self.baselines = package_check(
            self, endpoint=endpoint, resources=resources, baselines=[DATA_REFERENCE]
        )
        self.transform_request = self._transform_request()
        self.check_requests = {c: self._check_request(c) for c in batch.checks}
        steps = [{"Name": TRANSFORM_STEP, "Type": "Transform", "Arguments": self.transform_request}]
        steps += [
            {
                "Name": CHECK_STEPS[check],
                "Type": "Processing",
                "DependsOn": [TRANSFORM_STEP],
                "Arguments": request,
            }
            for check, request in self.check_requests.items()
        ]
        self.definition = {
            "Version": PIPELINE_DEFINITION_VERSION,
            "Metadata": {},
            "Parameters": [],
            "Steps": steps,
        }
        self.pipeline = sagemaker.CfnPipeline(
            self,
            "Pipeline",
            pipeline_name=self.name,
            pipeline_display_name=self.name,
            pipeline_description=(
                f"Batch scoring of model {batch.identity.name} in {batch.environment}: hardened "
                f"transform with data capture, then {', '.join(batch.checks)}"
            ),
            role_arn=self.shared.pipeline_role.role_arn,
            pipeline_definition={"PipelineDefinitionBody": stack.to_json_string(self.definition)},
            tags=self._tags(),
        )
        self.pipeline.node.add_dependency(
            self.shared.pipeline_role, self.baselines.resource, endpoint.sagemaker_model
        )
        self.pipeline_arn = stack.format_arn(
            service="sagemaker", resource="pipeline", resource_name=self.name
        )
        self.shared.allow_start(self.pipeline_arn)
        self.schedule = self._schedule()
        monitors = {
            check: MonitorSchedule(
                expression=batch.schedule,
                max_runtime_seconds=batch.check_max_runtime_seconds,
                interval_hours=batch.interval_hours,
            )
            for check in batch.checks
        }
        self.alarms = MonitorAlarms(
            self,
            "Alarms",
            model=MonitoredModel(
                identity=batch.identity,
                problem_type=batch.problem_type,
                dataset=batch.dataset,
                monitors=MappingProxyType(monitors),
                monitor_instance_type=batch.check_instance_type,
                model_quality_floor=batch.model_quality_floor,
            ),
            metrics=BatchMonitorMetrics(endpoint_name=self.name, schedule_names=self.check_names),
            topic=resources.alerts.topic,
            feature_drift_threshold=drift_threshold,
            stack=resources.stack,
        )
        # What the violations handler reads to name the model behind a check's run.
        self.parameter = ssm.StringParameter(
            self,
            "Parameter",
            parameter_name=f"{ENDPOINT_PARAMETER_PREFIX}{self.name}",
            string_value=json.dumps(
                {
                    "model_name": batch.identity.name,
                    "model_package_group_name": batch.identity.name,
                    "endpoint_name": self.name,
                    "monitors": self.check_names,
                    "retraining_pipeline_name": batch.retraining_pipeline_name,
                },
                sort_keys=True,
                separators=(",", ":"),
            ),
            description=f"Batch scoring {self.name} of model {batch.identity.name}",
        )

    def _tags(self, **extra: str) -> list[Any]:
        return self.batch.identity.tags(**{tags.COMPONENT: "batch-scoring", **extra})

    def _transform_request(self) -> dict[str, Any]:
        """The ``CreateTransformJob`` request of the transform step (without the job name)."""
        batch = self.batch
        key = self.capture_key.key_arn
        resources: dict[str, Any] = {
            "InstanceType": batch.instance_type,
            "InstanceCount": batch.instance_count,
        }
        if not has_nvme_storage(batch.instance_type):
            resources["VolumeKmsKeyId"] = key
        return {
            "ModelName": self.endpoint.sagemaker_model.attr_model_name,
            "BatchStrategy": "MultiRecord",
            "TransformInput": {
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": batch.input_s3_uri}
                },
                "ContentType": TRANSFORM_CONTENT_TYPE,
                "CompressionType": "None",
                "SplitType": "Line",
            },
            "TransformOutput": {
                "S3OutputPath": _join(batch.output_s3_uri.rstrip("/"), _EXECUTION_ID),
                "Accept": TRANSFORM_CONTENT_TYPE,
                "AssembleWith": "Line",
                "KmsKeyId": key,
            },
            "TransformResources": resources,
            "DataCaptureConfig": {
                "DestinationS3Uri": self._capture_uri(),
                "KmsKeyId": key,
                "GenerateInferenceId": True,
            },
            "Tags": [{"Key": t.key, "Value": t.value} for t in self._tags()],
        }

    def _capture_uri(self) -> dict[str, Any]:
        """``<capture_s3_uri><execution id>``: each run's capture under its own prefix."""
        return _join(self.batch.capture_s3_uri.rstrip("/"), _EXECUTION_ID)

    def _arguments(self, check: MonitorType) -> list[Any]:
        batch = self.batch
        features = ",".join(f"{f.name}:{f.type}" for f in batch.dataset.features)
        arguments: list[Any] = [
            "--check",
            check,
            "--source",
            "batch",
            "--problem-type",
            batch.problem_type.value,
            "--model",
            batch.identity.name,
            "--endpoint",
            self.name,
            "--schedule",
            self.check_names[check],
            "--features",
            features,
        ]
        # History where the endpoint checks keep theirs: one MLflow experiment per batch
        # pipeline, one run per check run (logged directly or relayed, by the target's kind).
        arguments += self.engine.history_arguments(self.resources.reports)
        if check == "data_quality":
            return [
                *arguments,
                "--capture-uri",
                _join(batch.capture_s3_uri.rstrip("/"), _EXECUTION_ID, ""),
                "--reference-uri",
                self.baselines.uri("data_reference", "statistics"),
                "--drift-threshold",
                str(self.drift_threshold),
            ]
        # Only a batch with ground truth has this check (BatchScoringProps.checks).
        floor = batch.floor
        return [
            *arguments,
            "--capture-uri",
            batch.capture_s3_uri,
            "--ground-truth-uri",
            batch.ground_truth_s3_uri,
            "--window-hours",
            str(batch.ground_truth_lookback_hours),
            "--probability-threshold",
            str(batch.probability_threshold),
            "--quality-floor",
            f"{floor[0]}:{floor[1]}",
        ]

    def _check_request(self, check: MonitorType) -> dict[str, Any]:
        """The check step's ``CreateProcessingJob`` request: the Evidently engine's check job,
        hardened as the engine's (isolated VPC, inter-container encryption, KMS, runtime cap)."""
        request: dict[str, Any] = self.shared.check_request(
            self,
            resources=self.resources,
            check=check,
            subject=self.name,
            schedule_name=self.check_names[check],
            arguments=self._arguments(check),
            instance_type=self.batch.check_instance_type,
            volume_size_gb=self.engine.volume_size_gb,
            max_runtime_seconds=self.batch.check_max_runtime_seconds,
            tags=self._tags(**{tags.MONITOR_TYPE: check.replace("_", "-")}),
        )
        return request

    def _schedule(self) -> scheduler.CfnSchedule:
        schedule: scheduler.CfnSchedule = self.shared.start_on_schedule(
            self,
            "Schedule",
            pipeline=self.pipeline,
            pipeline_arn=self.pipeline_arn,
            expression=self.batch.schedule,
            interval_seconds=self.batch.interval_hours * 3600,
            description=f"Runs batch scoring pipeline {self.name} on its cadence",
        )
        return schedule


def _allow_transforms(shared: EvidentlyStackResources) -> None:
    """Let the stack's Evidently pipeline role run transform steps (once per stack)."""
    if shared.node.try_find_child("BatchTransforms") is not None:
        return
    Construct(shared, "BatchTransforms")  # marker: the statement below exists
    stack = Stack.of(shared)
    transform_jobs = stack.format_arn(
        service="sagemaker", resource="transform-job", resource_name="*"
    )
    shared.pipeline_role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="RunBatchTransforms",
            actions=[
                "sagemaker:CreateTransformJob",
                "sagemaker:DescribeTransformJob",
                "sagemaker:StopTransformJob",
                "sagemaker:AddTags",
            ],
            resources=[transform_jobs],
        )
    )
    acknowledge_wildcards(
        shared.pipeline_role,
        resources=[nag_string(stack, transform_jobs)],
        reason="SageMaker Pipelines name each transform step's job per execution "
        "(pipelines-<execution id>-<step>-<suffix>); the pattern is limited to transform jobs "
        "of this account and region, which run only the stack's governed models.",
    )


__all__: Sequence[str] = (
    "BATCH_METRIC_NAMESPACES",
    "BatchMonitorMetrics",
    "BatchScoring",
    "BatchScoringProps",
    "batch_name_for",
    "check_name_for",
)

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

The checks are the Evidently engine's whatever the environment's engine: Model Monitor's batch
analyzer (``MonitorBatchTransformStep``/``QualityCheckStep``) runs Model Monitor's container,
and no AWS source was found that it stays open to new customers. They publish Model Monitor's
batch metrics (``aws/sagemaker/ModelMonitoring/{data,model}-metrics``, dimension
``MonitoringSchedule`` in place of ``Endpoint``: ``<model>-<env>-batch-<check>``), set the
environment Model Monitor sets (``sagemaker_endpoint_name`` = the batch name, whose
``/sagemaker-governance/endpoints/<batch name>`` parameter names the model and its checks), and
write ``constraint_violations.json`` first; so the environment's processing-job rule, the
violations handler (SNS alert, ledger record, optional retraining) and the alarms treat a batch
check like an endpoint's. A failed or stopped execution (a transform that failed never reaches
the checks) is an alert through a rule on the pipeline's execution status; the "no results"
alarm fires after two intervals without a check publishing.

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

import jsii
from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from aws_cdk.interfaces import aws_events as events_refs
from constructs import Construct

from cdk_constructs import tags
from cdk_constructs.compliance.acknowledgments import acknowledge_wildcards, nag_string
from cdk_constructs.encryption import IGovernanceKey
from cdk_constructs.handlers import MAX_EVENT_AGE, RETRY_ATTEMPTS
from cdk_constructs.instance_types import has_nvme_storage
from cdk_constructs.monitoring.engine import MonitoringResources, package_check
from cdk_constructs.monitoring.evidently_engine import (
    CODE_PATH,
    ENTRYPOINT_SCRIPT,
    ENV_ENDPOINT_NAME,
    ENV_MONITORING_TYPE,
    ENV_SCHEDULE_NAME,
    OUTPUT_PATH,
    PIPELINE_DEFINITION_VERSION,
    SCHEDULE_RETRY_ATTEMPTS,
    WHEELHOUSE_PATH,
    EvidentlyEngine,
    EvidentlyStackResources,
)
from cdk_constructs.monitoring.images import MonitorType
from cdk_constructs.monitoring.metrics import (
    DEFAULT_FEATURE_DRIFT_THRESHOLD,
    MonitorAlarms,
    MonitorMetric,
    MonitorMetrics,
    Statistic,
)
from cdk_constructs.monitoring.serving import GovernedEndpoint
from cdk_constructs.props import Dataset, ModelIdentity, MonitoredModel, MonitorSchedule
from governance.contracts.vocabulary import (
    DATA_REFERENCE,
    ENDPOINT_PARAMETER_PREFIX,
    MONITOR_JOB_TYPES,
    ProblemType,
)
from governance.contracts.vocabulary import MonitorType as ContractMonitorType

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
PIPELINE_EXECUTION_STATUS = "SageMaker Model Building Pipeline Execution Status Change"
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

    @property
    def checks(self) -> tuple[MonitorType, ...]:
        return ("data_quality", "model_quality") if self.ground_truth_s3_uri else ("data_quality",)


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

    def _metric(
        self,
        monitor_type: MonitorType,
        metric_name: str,
        *,
        statistic: Statistic = "Average",
        extra_dimensions: Mapping[str, str] | None = None,
        label: str | None = None,
    ) -> MonitorMetric:
        dimensions = {
            "MonitoringSchedule": self._schedule(monitor_type),
            **(extra_dimensions or {}),
        }
        return MonitorMetric(
            namespace=BATCH_METRIC_NAMESPACES[monitor_type],
            metric_name=metric_name,
            dimensions=tuple(dimensions.items()),
            statistic=statistic,
            period_seconds=self.period_seconds,
            label=label,
        )


def _join(*values: Any) -> dict[str, Any]:
    """A pipeline ``Std:Join`` of ``values`` with ``/`` (SageMaker Pipelines' JSON functions)."""
    return {"Std:Join": {"On": "/", "Values": list(values)}}


_EXECUTION_ID = {"Get": "Execution.PipelineExecutionId"}


class BatchScoring(Construct):
    """The scheduled, captured and checked batch scoring of one served model (module docstring).

    ``endpoint`` is the model's governed endpoint in this environment: its hardened
    ``AWS::SageMaker::Model`` (approved version, network isolation, VPC) is the one the transform
    runs. ``capture_key`` encrypts the transform's volume, output and capture (the environment's
    data-capture key, which the inference role uses); ``dead_letter_queue`` keeps execution-status
    alerts EventBridge could not deliver.
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
        dead_letter_queue: sqs.IQueue,
        engine: EvidentlyEngine | None = None,
        drift_threshold: float = DEFAULT_FEATURE_DRIFT_THRESHOLD,
    ) -> None:
        super().__init__(scope, construct_id)
        if resources.alerts is None:
            raise ValueError(
                f"model {batch.identity.name!r}: batch scoring alerts on failed executions, so "
                "MonitoringResources.alerts is required (got None)"
            )
        if "model_quality" in batch.checks and batch.model_quality_floor is None:
            raise ValueError(
                f"model {batch.identity.name!r}: the batch model_quality check needs "
                "model_quality_floor (got None); allowed: (metric name, floor)"
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
        self.failures = self._failure_rule(resources.alerts.topic, dead_letter_queue)
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
        floor = batch.model_quality_floor
        if floor is None or batch.ground_truth_s3_uri is None:  # refused in __init__
            raise ValueError(f"model {batch.identity.name!r}: model_quality needs ground truth")
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
        """The check step's ``CreateProcessingJob`` request: the Evidently check job, hardened as
        the Evidently engine's (isolated VPC, inter-container encryption, KMS, runtime cap)."""
        r = self.resources
        shared = self.shared

        def s3_input(name: str, uri: str, local_path: str) -> dict[str, Any]:
            return {
                "InputName": name,
                "AppManaged": False,
                "S3Input": {
                    "S3Uri": uri,
                    "LocalPath": local_path,
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                    "S3DataDistributionType": "FullyReplicated",
                },
            }

        report = _join(r.reports.s3_uri(f"{self.name}/{check.replace('_', '-')}"), _EXECUTION_ID)
        return {
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": self.batch.check_instance_type,
                    "VolumeSizeInGB": self.engine.volume_size_gb,
                    "VolumeKmsKeyId": r.key.key_arn,
                }
            },
            "AppSpecification": {
                "ImageUri": shared.image_uri,
                "ContainerEntrypoint": ["/bin/sh", "-c", ENTRYPOINT_SCRIPT, "evidently-check"],
                "ContainerArguments": self._arguments(check),
            },
            "Environment": {
                ENV_ENDPOINT_NAME: self.name,
                ENV_SCHEDULE_NAME: self.check_names[check],
                ENV_MONITORING_TYPE: MONITOR_JOB_TYPES[ContractMonitorType(check)].monitoring_type,
                "AWS_DEFAULT_REGION": Stack.of(self).region,
                "PIP_BREAK_SYSTEM_PACKAGES": "1",
            },
            "ProcessingInputs": [
                s3_input("code", shared.code.s3_object_url, CODE_PATH),
                s3_input("wheelhouse", shared.wheelhouse.s3_object_url, WHEELHOUSE_PATH),
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "report",
                        "AppManaged": False,
                        "S3Output": {
                            "S3Uri": report,
                            "LocalPath": OUTPUT_PATH,
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ],
                "KmsKeyId": r.key.key_arn,
            },
            "NetworkConfig": {
                "EnableInterContainerTrafficEncryption": True,
                "EnableNetworkIsolation": False,
                "VpcConfig": {
                    "SecurityGroupIds": [r.security_group.security_group_id],
                    "Subnets": [subnet.subnet_id for subnet in r.subnets],
                },
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": self.batch.check_max_runtime_seconds},
            "RoleArn": r.role.role_arn,
            "Tags": [
                {"Key": t.key, "Value": t.value}
                for t in self._tags(**{tags.MONITOR_TYPE: check.replace("_", "-")})
            ],
        }

    def _schedule(self) -> scheduler.CfnSchedule:
        interval_seconds = self.batch.interval_hours * 3600
        schedule = scheduler.CfnSchedule(
            self,
            "Schedule",
            name=self.name,
            description=f"Runs batch scoring pipeline {self.name} on its cadence",
            schedule_expression=self.batch.schedule,
            schedule_expression_timezone="UTC",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            state="ENABLED",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.pipeline_arn,
                role_arn=self.shared.scheduler_role.role_arn,
                sage_maker_pipeline_parameters=(
                    scheduler.CfnSchedule.SageMakerPipelineParametersProperty(
                        pipeline_parameter_list=[]
                    )
                ),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=min(max(interval_seconds, 60), 86400),
                    maximum_retry_attempts=SCHEDULE_RETRY_ATTEMPTS,
                ),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                    arn=self.shared.dead_letters.queue_arn
                ),
            ),
        )
        schedule.node.add_dependency(self.pipeline, self.shared.scheduler_role)
        return schedule

    def _failure_rule(self, topic: sns.ITopic, dead_letter_queue: sqs.IQueue) -> events.Rule:
        """Alert on every failed or stopped execution (a failed transform never reaches the
        checks, so no processing-job event would tell the violations handler)."""
        execution = events.EventField.from_path("$.detail.pipelineExecutionArn")
        status = events.EventField.from_path("$.detail.currentPipelineExecutionStatus")
        return events.Rule(
            self,
            "ExecutionFailures",
            description=f"Failed or stopped executions of batch pipeline {self.name}",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=[PIPELINE_EXECUTION_STATUS],
                detail={
                    "pipelineArn": [self.pipeline_arn],
                    "currentPipelineExecutionStatus": ["Failed", "Stopped"],
                },
            ),
            targets=[
                _AlertTarget(
                    topic,
                    message=events.RuleTargetInput.from_text(
                        f"Batch scoring pipeline {self.name} (model {self.batch.identity.name}) "
                        f"execution {execution} ended {status}: no batch results or checks for "
                        "this run."
                    ),
                    dead_letter_queue=dead_letter_queue,
                )
            ],
        )


@jsii.implements(events.IRuleTarget)
class _AlertTarget:
    """The alerts topic as a rule target, by ARN, with retries and a dead-letter queue.

    ``targets.SnsTopic`` would warn of an unresolved environment for the foundation's topic
    (imported by ARN) and grant nothing useful: the foundation's topic policy already lets this
    account's rules publish (``alerts.publishing_services``).
    """

    def __init__(
        self, topic: sns.ITopic, *, message: events.RuleTargetInput, dead_letter_queue: sqs.IQueue
    ) -> None:
        self._topic = topic
        self._message = message
        self._queue = dead_letter_queue

    def bind(self, rule: events_refs.IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        self._queue.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self._queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": rule.rule_ref.rule_arn}},
            )
        )
        return events.RuleTargetConfig(
            arn=self._topic.topic_arn,
            input=self._message,
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=self._queue.queue_arn),
            retry_policy=events.CfnRule.RetryPolicyProperty(
                maximum_retry_attempts=RETRY_ATTEMPTS,
                maximum_event_age_in_seconds=int(MAX_EVENT_AGE.to_seconds()),
            ),
        )


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

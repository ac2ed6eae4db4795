"""Monitoring engines: what turns a deployed model's monitoring config into running monitors.

The registry, the handlers and the alarms only see :class:`MonitoringEngine` and
:class:`DeployedMonitors`. :class:`ModelMonitorEngine` implements it with SageMaker Model Monitor
(job definitions + ``AWS::SageMaker::MonitoringSchedule``); AWS has closed Model Monitor to new
customers, so a second engine (a scheduled SageMaker Pipeline with QualityCheck/ClarifyCheck
steps) can implement the same protocol without touching anything else.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from aws_cdk import Aws, CfnMapping, CfnResource, Fn, Stack, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from cdk_constructs import tags
from cdk_constructs.encryption import IGovernanceKey
from cdk_constructs.monitoring.baselines import PackageBaselines, PackageBaselinesProvider
from cdk_constructs.monitoring.clarify_config import (
    BiasSettings,
    ExplainabilitySettings,
    build_bias_analysis_config,
    build_explainability_analysis_config,
    write_analysis_config,
)
from cdk_constructs.monitoring.images import (
    MONITOR_TYPES,
    ImageKind,
    MonitorType,
    image_kind_for,
    image_uri_by_region,
    monitor_image_uri,
)
from cdk_constructs.monitoring.metrics import METRIC_NAMESPACES
from cdk_constructs.monitoring.serving import GovernedEndpoint, model_tags
from cdk_constructs.storage import IGovernedBucket
from config.model import Deployment, GroundTruthWindow, ModelConfig, ProblemType, Schedule

# MonitoringScheduleConfig.MonitoringType of each monitor.
MONITORING_TYPES: Mapping[MonitorType, str] = MappingProxyType(
    {
        "data_quality": "DataQuality",
        "model_quality": "ModelQuality",
        "bias": "ModelBias",
        "explainability": "ModelExplainability",
    }
)

# Where the monitoring container reads captured data and writes its reports.
ENDPOINT_LOCAL_PATH = "/opt/ml/processing/input/endpoint"
OUTPUT_LOCAL_PATH = "/opt/ml/processing/output"
# Every monitor publishes its metrics to CloudWatch; the alarms are built on them.
MONITOR_ENVIRONMENT: Mapping[str, str] = MappingProxyType({"publish_cloudwatch_metrics": "Enabled"})
DEFAULT_VOLUME_SIZE_GB = 30
# Clarify's feature-attribution job gets its predictions from a shadow endpoint it creates from
# the model, deletes afterwards, and calls over the network: "The network isolation option of
# the SageMaker Clarify job must be turned off ... so that the SageMaker Clarify job can
# communicate with the shadow endpoint" (SageMaker developer guide, clarify-vpc; the steps are in
# clarify-processing-job-configure-how-it-works). It still runs in the isolated VPC, whose only
# paths lead to the VPC endpoints; Governance-MJD1 allows exactly this exception.
NETWORK_ISOLATION_EXEMPT: frozenset[MonitorType] = frozenset({"explainability"})
_SCHEDULE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


@dataclass(frozen=True)
class MonitoringResources:
    """What the monitors of one environment share (typically from the foundation stack).

    ``role`` is shared by every monitor of the environment and is granted nothing here: it
    must already read the data-capture bucket's ``endpoints/*``, read and write the reports
    bucket, use ``key``, read the Clarify analysis-config assets and run Clarify's shadow
    endpoints (the foundation grants its monitoring role exactly that, by prefix and tag).
    """

    role: iam.IRole
    subnets: Sequence[ec2.ISubnet]
    security_group: ec2.ISecurityGroup
    key: IGovernanceKey
    reports: IGovernedBucket
    data_capture: IGovernedBucket
    vpc: ec2.IVpc
    # Encrypts the log group of the deploy-time package check (None: CloudWatch Logs' own key).
    logs_key: IGovernanceKey | None = None


@dataclass(frozen=True)
class DeployedMonitor:
    monitor_type: MonitorType
    schedule_name: str
    schedule: CfnResource
    job_definition: CfnResource
    metric_namespace: str


@dataclass(frozen=True)
class DeployedMonitors:
    """The monitors an engine deployed for one endpoint, in ``MONITOR_TYPES`` order."""

    endpoint_name: str
    monitors: tuple[DeployedMonitor, ...]

    def get(self, monitor_type: MonitorType) -> DeployedMonitor | None:
        return next((m for m in self.monitors if m.monitor_type == monitor_type), None)

    @property
    def monitor_types(self) -> tuple[MonitorType, ...]:
        return tuple(m.monitor_type for m in self.monitors)


class MonitoringEngine(Protocol):
    """Turns a model's ``monitoring`` config into monitors of ``endpoint``."""

    def deploy(
        self,
        scope: Construct,
        *,
        model: ModelConfig,
        endpoint: GovernedEndpoint,
        resources: MonitoringResources,
    ) -> DeployedMonitors: ...


def enabled_monitors(model: ModelConfig) -> tuple[MonitorType, ...]:
    """The monitor types switched on in ``model.monitoring``, in ``MONITOR_TYPES`` order."""
    return tuple(t for t in MONITOR_TYPES if _schedule_of(model, t).enabled)


def schedule_name_for(endpoint_name: str, monitor_type: MonitorType) -> str:
    """``<endpoint>-<monitor-type>``: resolved strings only, so the name is stable."""
    name = f"{endpoint_name}-{monitor_type.replace('_', '-')}"
    if not _SCHEDULE_NAME.fullmatch(name):
        raise ValueError(
            f"monitoring schedule name {name!r} is not valid; allowed: letters, digits and "
            "hyphens, at most 63 characters, so shorten the model or environment name"
        )
    return name


def _schedule_of(model: ModelConfig, monitor_type: MonitorType) -> Schedule:
    schedule: Schedule = getattr(model.monitoring, monitor_type)
    return schedule


class ModelMonitorEngine:
    """SageMaker Model Monitor: one job definition and one schedule per enabled monitor.

    Each job runs in the given subnets with inter-container encryption and (except the
    explainability job, which must reach the Clarify shadow endpoint) network isolation, its
    volume and its output encrypted with the monitoring key, its reports written to
    ``s3://<reports>/<endpoint>/<monitor-type>/``, its runtime capped at what its schedule
    allows (``ModelConfig.monitor_max_runtime_seconds``). Job definitions are immutable and get
    CloudFormation-generated names, so any change replaces them cleanly; schedules are named
    ``<endpoint>-<monitor-type>`` and updated in place. Baselines come from the approved
    package (:class:`PackageBaselines`), which also refuses a version that is not Approved;
    the served model, every job definition and every schedule depend on that check.

    ``volume_size_gb`` defaults to 30; ``bias_settings`` / ``explainability_settings`` default
    to what the deployment's ``output`` and ``explainability`` sections say.
    """

    def __init__(
        self,
        *,
        volume_size_gb: int = DEFAULT_VOLUME_SIZE_GB,
        bias_settings: BiasSettings | None = None,
        explainability_settings: ExplainabilitySettings | None = None,
        config_directory: Path | None = None,
    ) -> None:
        if volume_size_gb < 1:
            raise ValueError(f"volume_size_gb must be at least 1 (got {volume_size_gb})")
        self.volume_size_gb = volume_size_gb
        self.bias_settings = bias_settings
        self.explainability_settings = explainability_settings
        self.config_directory = config_directory

    def deploy(
        self,
        scope: Construct,
        *,
        model: ModelConfig,
        endpoint: GovernedEndpoint,
        resources: MonitoringResources,
    ) -> DeployedMonitors:
        return _ModelMonitors(
            scope,
            f"{model.name}-monitors",
            engine=self,
            model=model,
            endpoint=endpoint,
            resources=resources,
        ).deployed


class _ModelMonitors(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        engine: ModelMonitorEngine,
        model: ModelConfig,
        endpoint: GovernedEndpoint,
        resources: MonitoringResources,
    ) -> None:
        super().__init__(scope, construct_id)
        self.engine = engine
        self.model = model
        self.deployment: Deployment = endpoint.deployment
        self.endpoint = endpoint
        self.resources = resources
        monitor_types = enabled_monitors(model)
        for monitor_type in monitor_types:
            schedule_name_for(endpoint.endpoint_name, monitor_type)  # validate names first
        needs_ground_truth = {"model_quality", "bias"} & set(monitor_types)
        if needs_ground_truth and not self.deployment.ground_truth_s3_uri:
            raise ValueError(
                f"model {model.name!r}: deployment.ground_truth_s3_uri is required by the "
                f"{', '.join(sorted(needs_ground_truth))} monitor(s) (got None); allowed: an "
                "s3:// URI of the ground-truth labels, or disable those monitors"
            )

        self.baselines = PackageBaselines(
            self,
            "Baselines",
            model_package_arn=self.deployment.model_package_arn,
            monitor_types=monitor_types,
            provider=PackageBaselinesProvider.of(
                self,
                vpc=resources.vpc,
                subnets=resources.subnets,
                security_group=resources.security_group,
                logs_key=resources.logs_key,
            ),
        )
        # Nothing may serve the version before the check says it is Approved.
        endpoint.model.node.add_dependency(self.baselines.resource)
        builders = {
            "data_quality": self._data_quality,
            "model_quality": self._model_quality,
            "bias": self._bias,
            "explainability": self._explainability,
        }
        monitors = [self._schedule(t, builders[t](t)) for t in monitor_types]
        self.deployed = DeployedMonitors(
            endpoint_name=endpoint.endpoint_name, monitors=tuple(monitors)
        )

    # -- shared pieces ---------------------------------------------------------------------

    def _image(self, kind: ImageKind) -> str:
        stack = Stack.of(self)
        if not Token.is_unresolved(stack.region):
            return monitor_image_uri(kind, stack.region)
        # A region-agnostic stack picks the image of the region it is deployed to.
        mapping_id = f"MonitorImages{kind.title().replace('-', '')}"
        mapping = stack.node.try_find_child(mapping_id)
        if not isinstance(mapping, CfnMapping):
            mapping = CfnMapping(
                stack,
                mapping_id,
                mapping={region: {"uri": uri} for region, uri in image_uri_by_region(kind).items()},
            )
        return mapping.find_in_map(Aws.REGION, "uri")

    def _tags(self, monitor_type: MonitorType) -> list[Any]:
        return model_tags(self.model, **{tags.MONITOR_TYPE: monitor_type.replace("_", "-")})

    def _common(self, cls: Any, monitor_type: MonitorType) -> dict[str, Any]:
        """Properties every job definition type shares, built with its own property classes."""
        r = self.resources
        output_uri = r.reports.s3_uri(
            f"{self.endpoint.endpoint_name}/{monitor_type.replace('_', '-')}/"
        )
        return {
            "role_arn": r.role.role_arn,
            "job_resources": cls.MonitoringResourcesProperty(
                cluster_config=cls.ClusterConfigProperty(
                    instance_count=1,
                    instance_type=self.deployment.monitor_instance_type,
                    volume_size_in_gb=self.engine.volume_size_gb,
                    volume_kms_key_id=r.key.key_arn,
                )
            ),
            "network_config": cls.NetworkConfigProperty(
                enable_network_isolation=monitor_type not in NETWORK_ISOLATION_EXEMPT,
                enable_inter_container_traffic_encryption=True,
                vpc_config=cls.VpcConfigProperty(
                    subnets=[subnet.subnet_id for subnet in r.subnets],
                    security_group_ids=[r.security_group.security_group_id],
                ),
            ),
            "stopping_condition": cls.StoppingConditionProperty(
                max_runtime_in_seconds=self.model.monitor_max_runtime_seconds(monitor_type)
            ),
            "output_config": cls.MonitoringOutputConfigProperty(
                kms_key_id=r.key.key_arn,
                monitoring_outputs=[
                    cls.MonitoringOutputProperty(
                        s3_output=cls.S3OutputProperty(
                            local_path=OUTPUT_LOCAL_PATH,
                            s3_uri=output_uri,
                            s3_upload_mode="EndOfJob",
                        )
                    )
                ],
            ),
            "tags": self._tags(monitor_type),
        }

    def _config_asset(self, name: str, config: dict[str, Any]) -> s3_assets.Asset:
        """Ship an analysis config as a single-file asset (the job reads the JSON itself)."""
        base = self.engine.config_directory or Path(tempfile.mkdtemp(prefix="clarify-config-"))
        path = write_analysis_config(config, base / f"{self.model.name}-{name}")
        # The monitoring role reads the assets bucket's JSON objects (foundation grant).
        return s3_assets.Asset(self, f"{name.title()}AnalysisConfig", path=str(path))

    def _finish(self, job: CfnResource) -> CfnResource:
        # SageMaker checks the endpoint and the role when it creates a job definition.
        job.node.add_dependency(self.endpoint.endpoint, self.resources.role)
        return job

    # -- the four job definitions ----------------------------------------------------------

    def _data_quality(self, monitor_type: MonitorType) -> CfnResource:
        cls = sagemaker.CfnDataQualityJobDefinition
        common = self._common(cls, monitor_type)
        return self._finish(
            cls(
                self,
                "DataQualityJobDefinition",
                role_arn=common["role_arn"],
                job_resources=common["job_resources"],
                network_config=common["network_config"],
                stopping_condition=common["stopping_condition"],
                data_quality_job_output_config=common["output_config"],
                tags=common["tags"],
                data_quality_app_specification=cls.DataQualityAppSpecificationProperty(
                    image_uri=self._image(image_kind_for(monitor_type)),
                    environment=dict(MONITOR_ENVIRONMENT),
                ),
                data_quality_job_input=cls.DataQualityJobInputProperty(
                    endpoint_input=cls.EndpointInputProperty(
                        endpoint_name=self.endpoint.endpoint_name,
                        local_path=ENDPOINT_LOCAL_PATH,
                    )
                ),
                data_quality_baseline_config=cls.DataQualityBaselineConfigProperty(
                    constraints_resource=cls.ConstraintsResourceProperty(
                        s3_uri=self.baselines.uri(monitor_type, "constraints")
                    ),
                    statistics_resource=cls.StatisticsResourceProperty(
                        s3_uri=self.baselines.uri(monitor_type, "statistics")
                    ),
                ),
            )
        )

    @property
    def _ground_truth_window(self) -> GroundTruthWindow:
        """StartTimeOffset/EndTimeOffset of the monitors that merge ground truth.

        A run at T analyses the predictions captured in [T + start, T + end], so labels that
        arrive after the predictions are still joined (AWS docs, "Schedule model quality
        monitoring jobs", model monitor offsets; bias drift uses the same offsets).
        """
        return self.deployment.ground_truth_window

    def _quality_attributes(self) -> dict[str, Any]:
        output = self.deployment.output
        attributes: dict[str, Any] = {
            "inference_attribute": output.inference_attribute,
            "probability_attribute": output.probability_attribute,
            "probability_threshold_attribute": output.probability_threshold,
        }
        # A binary classifier answering with one CSV score: the score is column 0.
        if (
            self.model.problem_type is ProblemType.BINARY_CLASSIFICATION
            and output.inference_attribute is None
            and output.probability_attribute is None
        ):
            attributes["probability_attribute"] = "0"
        return {k: v for k, v in attributes.items() if v is not None}

    def _model_quality(self, monitor_type: MonitorType) -> CfnResource:
        cls = sagemaker.CfnModelQualityJobDefinition
        common = self._common(cls, monitor_type)
        return self._finish(
            cls(
                self,
                "ModelQualityJobDefinition",
                role_arn=common["role_arn"],
                job_resources=common["job_resources"],
                network_config=common["network_config"],
                stopping_condition=common["stopping_condition"],
                model_quality_job_output_config=common["output_config"],
                tags=common["tags"],
                model_quality_app_specification=cls.ModelQualityAppSpecificationProperty(
                    image_uri=self._image(image_kind_for(monitor_type)),
                    problem_type=self.model.problem_type.value,
                    environment=dict(MONITOR_ENVIRONMENT),
                ),
                model_quality_job_input=cls.ModelQualityJobInputProperty(
                    endpoint_input=cls.EndpointInputProperty(
                        endpoint_name=self.endpoint.endpoint_name,
                        local_path=ENDPOINT_LOCAL_PATH,
                        start_time_offset=self._ground_truth_window.start_time_offset,
                        end_time_offset=self._ground_truth_window.end_time_offset,
                        **self._quality_attributes(),
                    ),
                    ground_truth_s3_input=cls.MonitoringGroundTruthS3InputProperty(
                        s3_uri=str(self.deployment.ground_truth_s3_uri)
                    ),
                ),
                model_quality_baseline_config=cls.ModelQualityBaselineConfigProperty(
                    constraints_resource=cls.ConstraintsResourceProperty(
                        s3_uri=self.baselines.uri(monitor_type)
                    )
                ),
            )
        )

    def _bias_settings(self) -> BiasSettings:
        if self.engine.bias_settings is not None:
            return self.engine.bias_settings
        output = self.deployment.output
        return BiasSettings(
            probability_threshold=output.probability_threshold,
            inference_attribute=output.inference_attribute,
            probability_attribute=output.probability_attribute,
        )

    def _bias(self, monitor_type: MonitorType) -> CfnResource:
        cls = sagemaker.CfnModelBiasJobDefinition
        settings = self._bias_settings()
        attributes: dict[str, Any] = dict(settings.endpoint_input_attributes())
        asset = self._config_asset(
            "bias", build_bias_analysis_config(self.model, settings=settings)
        )
        common = self._common(cls, monitor_type)
        return self._finish(
            cls(
                self,
                "BiasJobDefinition",
                role_arn=common["role_arn"],
                job_resources=common["job_resources"],
                network_config=common["network_config"],
                stopping_condition=common["stopping_condition"],
                model_bias_job_output_config=common["output_config"],
                tags=common["tags"],
                model_bias_app_specification=cls.ModelBiasAppSpecificationProperty(
                    image_uri=self._image(image_kind_for(monitor_type)),
                    config_uri=asset.s3_object_url,
                    environment=dict(MONITOR_ENVIRONMENT),
                ),
                model_bias_job_input=cls.ModelBiasJobInputProperty(
                    endpoint_input=cls.EndpointInputProperty(
                        endpoint_name=self.endpoint.endpoint_name,
                        local_path=ENDPOINT_LOCAL_PATH,
                        start_time_offset=self._ground_truth_window.start_time_offset,
                        end_time_offset=self._ground_truth_window.end_time_offset,
                        **attributes,
                    ),
                    ground_truth_s3_input=cls.MonitoringGroundTruthS3InputProperty(
                        s3_uri=str(self.deployment.ground_truth_s3_uri)
                    ),
                ),
                model_bias_baseline_config=cls.ModelBiasBaselineConfigProperty(
                    constraints_resource=cls.ConstraintsResourceProperty(
                        s3_uri=self.baselines.uri(monitor_type)
                    )
                ),
            )
        )

    def _explainability_settings(self) -> ExplainabilitySettings:
        if self.engine.explainability_settings is not None:
            return self.engine.explainability_settings
        shap = self.deployment.explainability
        output = self.deployment.output
        return ExplainabilitySettings(
            baseline=shap.baseline_s3_uri,
            num_samples=shap.num_samples,
            agg_method=shap.agg_method,
            inference_attribute=output.inference_attribute,
            probability_attribute=output.probability_attribute,
        )

    def _explainability(self, monitor_type: MonitorType) -> CfnResource:
        cls = sagemaker.CfnModelExplainabilityJobDefinition
        settings = self._explainability_settings()
        asset = self._config_asset(
            "explainability", build_explainability_analysis_config(self.model, settings=settings)
        )
        common = self._common(cls, monitor_type)
        return self._finish(
            cls(
                self,
                "ExplainabilityJobDefinition",
                role_arn=common["role_arn"],
                job_resources=common["job_resources"],
                network_config=common["network_config"],
                stopping_condition=common["stopping_condition"],
                model_explainability_job_output_config=common["output_config"],
                tags=common["tags"],
                model_explainability_app_specification=(
                    cls.ModelExplainabilityAppSpecificationProperty(
                        image_uri=self._image(image_kind_for(monitor_type)),
                        config_uri=asset.s3_object_url,
                        environment=dict(MONITOR_ENVIRONMENT),
                    )
                ),
                model_explainability_job_input=cls.ModelExplainabilityJobInputProperty(
                    endpoint_input=cls.EndpointInputProperty(
                        endpoint_name=self.endpoint.endpoint_name,
                        local_path=ENDPOINT_LOCAL_PATH,
                        **settings.endpoint_input_attributes(),
                    )
                ),
                model_explainability_baseline_config=(
                    cls.ModelExplainabilityBaselineConfigProperty(
                        constraints_resource=cls.ConstraintsResourceProperty(
                            s3_uri=self.baselines.uri(monitor_type)
                        )
                    )
                ),
            )
        )

    # -- the schedule ----------------------------------------------------------------------

    def _schedule(self, monitor_type: MonitorType, job: CfnResource) -> DeployedMonitor:
        name = schedule_name_for(self.endpoint.endpoint_name, monitor_type)
        # Ref/GetAtt of a job definition give its ARN (no name attribute); the name is the
        # ARN's last segment: arn:...:<type>-job-definition/<name>.
        job_arn = job.get_att("JobDefinitionArn").to_string()
        schedule = sagemaker.CfnMonitoringSchedule(
            self,
            f"{MONITORING_TYPES[monitor_type]}Schedule",
            monitoring_schedule_name=name,
            endpoint_name=self.endpoint.endpoint_name,
            monitoring_schedule_config=sagemaker.CfnMonitoringSchedule.MonitoringScheduleConfigProperty(
                monitoring_job_definition_name=Fn.select(1, Fn.split("/", job_arn)),
                monitoring_type=MONITORING_TYPES[monitor_type],
                schedule_config=sagemaker.CfnMonitoringSchedule.ScheduleConfigProperty(
                    schedule_expression=_schedule_of(self.model, monitor_type).schedule
                ),
            ),
            tags=self._tags(monitor_type),
        )
        # The job definition reference already orders them; say it for the reader too.
        schedule.node.add_dependency(job, self.endpoint.endpoint, self.baselines)
        return DeployedMonitor(
            monitor_type=monitor_type,
            schedule_name=name,
            schedule=schedule,
            job_definition=job,
            metric_namespace=METRIC_NAMESPACES[monitor_type],
        )

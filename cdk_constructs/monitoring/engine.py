"""Monitoring engines: what turns a served model's monitors into running jobs.

The registry, the handlers and the alarms only see :class:`MonitoringEngine` and
:class:`DeployedMonitors`. :class:`ModelMonitorEngine` implements it with SageMaker Model Monitor
(job definitions + ``AWS::SageMaker::MonitoringSchedule``); AWS has closed Model Monitor to new
customers, so ``EvidentlyEngine`` (scheduled SageMaker Pipelines running Evidently AI and
per-segment bias checks, ``evidently_engine.py``) implements the same protocol without touching
anything else.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any, Generic, Protocol, TypeVar, get_args

from aws_cdk import Aws, CfnMapping, CfnResource, Stack, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from cdk_constructs import plain, tags
from cdk_constructs.alerts import IAlerts
from cdk_constructs.encryption import IGovernanceKey
from cdk_constructs.identifiers import identifier, known_region
from cdk_constructs.included import placement, record_child
from cdk_constructs.monitoring.baselines import (
    BaselineFile,
    BaselineKind,
    PackageBaselines,
    PackageBaselinesProvider,
)
from cdk_constructs.monitoring.clarify_config import (
    BiasSettings,
    EndpointAttribute,
    ExplainabilitySettings,
    analysis_config_file,
    build_bias_analysis_config,
    build_explainability_analysis_config,
    endpoint_input_attributes,
)
from cdk_constructs.monitoring.images import (
    ImageKind,
    MonitorType,
    image_kind_for,
    image_uri_by_region,
    monitor_image_uri,
)
from cdk_constructs.monitoring.metrics import METRIC_NAMESPACES
from cdk_constructs.monitoring.serving import GovernedEndpoint
from cdk_constructs.props import MonitoredModel
from cdk_constructs.storage import IGovernedBucket
from governance.contracts.vocabulary import MONITOR_JOB_TYPES, ProblemType
from governance.contracts.vocabulary import MonitorType as ContractMonitorType

# Where the monitoring container reads captured data and writes its reports.
ENDPOINT_LOCAL_PATH = "/opt/ml/processing/input/endpoint"
OUTPUT_LOCAL_PATH = "/opt/ml/processing/output"
# Every monitor publishes its metrics to CloudWatch; the alarms are built on them.
MONITOR_ENVIRONMENT: Mapping[str, str] = MappingProxyType({"publish_cloudwatch_metrics": "Enabled"})
DEFAULT_VOLUME_SIZE_GB = 30
_SCHEDULE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")

AnalysisConfigBuilder = Callable[[MonitoredModel, Any], dict[str, Any]]


@dataclass(frozen=True)
class MonitorKind:
    """How one monitor type becomes a CloudFormation job definition.

    The job definition's properties are named after ``monitoring_type`` (``ModelBias`` ->
    ``ModelBiasAppSpecification``; CloudFormation resource specification,
    ``AWS::SageMaker::<type>JobDefinition``).
    """

    monitor_type: MonitorType
    job_definition: type[CfnResource]
    """The L1 class."""
    construct_id: str
    baseline_files: tuple[BaselineFile, ...]
    """The baseline config's ``<file>_resource`` properties, read from the package check."""
    endpoint_attributes: tuple[EndpointAttribute, ...]
    """``EndpointInput`` attributes the job reads when configured."""
    needs_ground_truth: bool
    """Merges labels: ``GroundTruthS3Input`` and the window's start/end offsets."""
    needs_problem_type: bool
    """``ProblemType`` in the app specification."""
    default_settings: Callable[[MonitoredModel], Any] | None = None
    """Clarify settings derived from the model's props when the engine is given none."""
    analysis_config: AnalysisConfigBuilder | None = None
    """Builds the ``ConfigUri`` file from the model and its settings."""
    network_isolation: bool = True

    @property
    def monitoring_type(self) -> str:
        """``MonitoringScheduleConfig.MonitoringType``, also the job definition's name stem."""
        return MONITOR_JOB_TYPES[ContractMonitorType(self.monitor_type)].monitoring_type

    def jsii_name(self, stem: str) -> str:
        """``<monitoringType><Stem>`` as the jsii runtime names the L1's prop, e.g.
        ``modelBiasJobInput`` for ``JobInput``."""
        return f"{self.monitoring_type[0].lower()}{self.monitoring_type[1:]}{stem}"


def _bias_settings_of(model: MonitoredModel) -> BiasSettings:
    output = model.output
    return BiasSettings(
        probability_threshold=output.probability_threshold,
        inference_attribute=output.inference_attribute,
        probability_attribute=output.probability_attribute,
    )


def _explainability_settings_of(model: MonitoredModel) -> ExplainabilitySettings:
    shap = model.shap
    output = model.output
    return ExplainabilitySettings(
        baseline=shap.baseline_s3_uri,
        num_samples=shap.num_samples,
        agg_method=shap.agg_method,
        inference_attribute=output.inference_attribute,
        probability_attribute=output.probability_attribute,
    )


_ALL_ATTRIBUTES: tuple[EndpointAttribute, ...] = get_args(EndpointAttribute)

MONITOR_KINDS: Mapping[MonitorType, MonitorKind] = MappingProxyType(
    {
        "data_quality": MonitorKind(
            monitor_type="data_quality",
            job_definition=sagemaker.CfnDataQualityJobDefinition,
            construct_id="DataQualityJobDefinition",
            baseline_files=("constraints", "statistics"),
            endpoint_attributes=(),
            needs_ground_truth=False,
            needs_problem_type=False,
        ),
        "model_quality": MonitorKind(
            monitor_type="model_quality",
            job_definition=sagemaker.CfnModelQualityJobDefinition,
            construct_id="ModelQualityJobDefinition",
            baseline_files=("constraints",),
            endpoint_attributes=_ALL_ATTRIBUTES,
            needs_ground_truth=True,
            needs_problem_type=True,
        ),
        "bias": MonitorKind(
            monitor_type="bias",
            job_definition=sagemaker.CfnModelBiasJobDefinition,
            construct_id="BiasJobDefinition",
            baseline_files=("constraints",),
            endpoint_attributes=_ALL_ATTRIBUTES,
            needs_ground_truth=True,
            needs_problem_type=False,
            default_settings=_bias_settings_of,
            analysis_config=lambda model, settings: build_bias_analysis_config(
                model, settings=settings
            ),
        ),
        "explainability": MonitorKind(
            monitor_type="explainability",
            job_definition=sagemaker.CfnModelExplainabilityJobDefinition,
            construct_id="ExplainabilityJobDefinition",
            baseline_files=("constraints",),
            endpoint_attributes=("inference_attribute", "probability_attribute"),
            needs_ground_truth=False,
            needs_problem_type=False,
            default_settings=_explainability_settings_of,
            analysis_config=lambda model, settings: build_explainability_analysis_config(
                model, settings=settings
            ),
            # Clarify's feature-attribution job gets its predictions from a shadow endpoint it
            # creates from the model, deletes afterwards, and calls over the network: "The
            # network isolation option of the SageMaker Clarify job must be turned off ... so
            # that the SageMaker Clarify job can communicate with the shadow endpoint"
            # (SageMaker developer guide, clarify-vpc; the steps are in
            # clarify-processing-job-configure-how-it-works). It still runs in the isolated
            # VPC, whose only paths lead to the VPC endpoints; Governance-MJD1 allows exactly
            # this exception.
            network_isolation=False,
        ),
    }
)


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
    # Where an engine's own failure alarms go (the Evidently engine's schedule dead-letter
    # queue); None: no such alarm.
    alerts: IAlerts | None = None
    # The environment's settings for governance functions an engine adds (the Evidently
    # engine's ScheduleFailures relay): as for the foundation's handlers.
    handler_reserved_concurrency: int | None = None
    powertools_layer_arn: str | None = None
    # The stack the monitors are deployed in, when the caller has it at hand (a models stack
    # passes itself): saves looking it up from the jsii runtime for every model. None: looked
    # up from the scope. It must be the stack of the scope given to ``deploy``.
    stack: Stack | None = None


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
    """Turns the enabled monitors of ``model`` into monitors of ``endpoint``."""

    def deploy(
        self,
        scope: Construct,
        *,
        model: MonitoredModel,
        endpoint: GovernedEndpoint,
        resources: MonitoringResources,
    ) -> DeployedMonitors: ...


def schedule_name_for(endpoint_name: str, monitor_type: MonitorType) -> str:
    """``<endpoint>-<monitor-type>``: resolved strings only, so the name is stable."""
    name = f"{endpoint_name}-{_dashed(monitor_type)}"
    if not _SCHEDULE_NAME.fullmatch(name):
        raise ValueError(
            f"monitoring schedule name {name!r} is not valid; allowed: letters, digits and "
            "hyphens, at most 63 characters, so shorten the model or environment name"
        )
    return name


def _dashed(monitor_type: MonitorType) -> str:
    return monitor_type.replace("_", "-")


class ModelMonitorEngine:
    """SageMaker Model Monitor: one job definition and one schedule per enabled monitor.

    Each job runs in the given subnets with inter-container encryption and (except the
    explainability job, which must reach the Clarify shadow endpoint) network isolation, its
    volume and its output encrypted with the monitoring key, its reports written to
    ``s3://<reports>/<endpoint>/<monitor-type>/``, its runtime capped at what its schedule
    allows (``MonitorSchedule.max_runtime_seconds``). Job definitions are immutable and get
    CloudFormation-generated names, so any change replaces them cleanly; schedules are named
    ``<endpoint>-<monitor-type>`` and updated in place. Baselines come from the approved
    package (:class:`PackageBaselines`), which also refuses a version that is not Approved;
    the served model, every job definition and every schedule depend on that check.

    ``volume_size_gb`` defaults to 30; ``bias_settings`` / ``explainability_settings`` default
    to what the model's ``output`` and ``shap`` props say.
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
        given: dict[MonitorType, Any] = {
            "bias": bias_settings,
            "explainability": explainability_settings,
        }
        # Clarify settings by monitor type; a type without an entry uses its kind's defaults.
        self.settings: Mapping[MonitorType, Any] = MappingProxyType(
            {t: settings for t, settings in given.items() if settings is not None}
        )
        self.config_directory = config_directory

    def deploy(
        self,
        scope: Construct,
        *,
        model: MonitoredModel,
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


def package_check(
    scope: Construct,
    *,
    endpoint: GovernedEndpoint,
    resources: MonitoringResources,
    baselines: Sequence[BaselineKind],
) -> PackageBaselines:
    """The deploy-time check (``Baselines``) that the served version is Approved and carries
    ``baselines``; nothing may serve the version before the check passes."""
    check = PackageBaselines(
        scope,
        "Baselines",
        model_package_arn=endpoint.served.model_package_arn,
        monitor_types=baselines,
        provider=PackageBaselinesProvider.of(
            resources.stack or Stack.of(scope),
            vpc=resources.vpc,
            subnets=resources.subnets,
            security_group=resources.security_group,
            logs_key=resources.logs_key,
            powertools_layer_arn=resources.powertools_layer_arn,
        ),
    )
    endpoint.serve_after(check.resource)
    return check


EngineT = TypeVar("EngineT")

# The S3 URL of each analysis-config file's asset, per stack (see _ModelMonitors._config_uri).
_CONFIG_URIS: weakref.WeakKeyDictionary[Stack, dict[str, str]] = weakref.WeakKeyDictionary()


class EngineMonitors(Construct, Generic[EngineT]):
    """The scheduled checks an engine builds for one deployed model. Every engine's monitors
    hold the same four things; each engine checks its configuration (``_validate``) before it
    builds any resource (``_build``)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        engine: EngineT,
        model: MonitoredModel,
        endpoint: GovernedEndpoint,
        resources: MonitoringResources,
    ) -> None:
        super().__init__(scope, construct_id)
        record_child(scope, self, construct_id)
        self.engine = engine
        self.model = model
        self.endpoint = endpoint
        self.resources = resources
        self._validate()
        self.deployed = self._build()

    def _validate(self) -> None:
        for monitor_type in self.model.monitors:
            schedule_name_for(self.endpoint.endpoint_name, monitor_type)

    def _build(self) -> DeployedMonitors:
        raise NotImplementedError


class _ModelMonitors(EngineMonitors[ModelMonitorEngine]):
    def _build(self) -> DeployedMonitors:
        monitor_types = tuple(self.model.monitors)
        self.baselines = package_check(
            self, endpoint=self.endpoint, resources=self.resources, baselines=monitor_types
        )
        monitors = [
            self._schedule(t, self._job_definition(MONITOR_KINDS[t])) for t in monitor_types
        ]
        return DeployedMonitors(endpoint_name=self.endpoint.endpoint_name, monitors=tuple(monitors))

    @cached_property
    def _stack(self) -> tuple[Stack, str | None]:
        """This stack and its region (None when region-agnostic), read once per stack."""
        stack = self.resources.stack or Stack.of(self)
        return stack, known_region(stack)

    def _image(self, kind: ImageKind) -> str:
        stack, region = self._stack
        if region is not None:
            return monitor_image_uri(kind, region)
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

    def _tags(self, monitor_type: MonitorType) -> list[dict[str, str]]:
        return plain.tags(self.model.identity.tags(**{tags.MONITOR_TYPE: _dashed(monitor_type)}))

    def _config_uri(self, name: str, config: dict[str, Any]) -> str:
        """The S3 URL of an analysis config shipped as a single-file asset (the job reads the
        JSON itself).

        A file asset's location is its content hash, and ``analysis_config_file`` writes one
        file per content: the models of one shape in a stack share one asset, so its URL is
        read once per stack and file (two round trips to the jsii runtime per model fewer,
        and aws-cdk-lib stages the file once); the template is the same.
        """
        path = str(analysis_config_file(config, self.engine.config_directory))
        known = _CONFIG_URIS.setdefault(self._stack[0], {})
        uri = known.get(path)
        if uri is None:
            # The monitoring role reads the assets bucket's JSON objects (foundation grant).
            asset = s3_assets.Asset(self, f"{name.title()}AnalysisConfig", path=path)
            uri = known[path] = asset.s3_object_url
        return uri

    def _settings(self, kind: MonitorKind) -> Any:
        """The Clarify settings of ``kind``: the engine's, or derived from the model's props."""
        given = self.engine.settings.get(kind.monitor_type)
        if given is not None or kind.default_settings is None:
            return given
        return kind.default_settings(self.model)

    def _endpoint_attributes(self, kind: MonitorKind, settings: Any) -> dict[str, str | float]:
        """The ``EndpointInput`` attributes of ``kind`` that are configured.

        A job without Clarify settings reads the model's ``output`` props.
        """
        attributes = endpoint_input_attributes(
            settings if settings is not None else self.model.output,
            kind.endpoint_attributes,
        )
        # A binary classifier answering with one CSV score: the score is column 0.
        if (
            kind.needs_problem_type
            and self.model.problem_type is ProblemType.BINARY_CLASSIFICATION
            and "inference_attribute" not in attributes
            and "probability_attribute" not in attributes
        ):
            attributes["probability_attribute"] = "0"
        return attributes

    def _job_definition(self, kind: MonitorKind) -> CfnResource:
        """The job definition of ``kind``, every property built with the L1's own classes."""
        cls: Any = kind.job_definition
        monitor_type = kind.monitor_type
        r = self.resources
        settings = self._settings(kind)

        app_specification: dict[str, Any] = {
            "imageUri": self._image(image_kind_for(monitor_type)),
            "environment": dict(MONITOR_ENVIRONMENT),
        }
        if kind.needs_problem_type:
            app_specification["problemType"] = self.model.problem_type.value
        if kind.analysis_config is not None:
            config = kind.analysis_config(self.model, settings)
            app_specification["configUri"] = self._config_uri(monitor_type, config)

        endpoint_input: dict[str, Any] = {
            "endpointName": self.endpoint.endpoint_name,
            "localPath": ENDPOINT_LOCAL_PATH,
            **{plain.camel(k): v for k, v in self._endpoint_attributes(kind, settings).items()},
        }
        job_input: dict[str, Any] = {}
        if kind.needs_ground_truth:
            # A run at T analyses the predictions captured in [T + start, T + end], so labels
            # that arrive after the predictions are still joined (AWS docs, "Schedule model
            # quality monitoring jobs", model monitor offsets; bias drift uses the same offsets).
            ground_truth = self.model.labels
            endpoint_input["startTimeOffset"] = ground_truth.start_time_offset
            endpoint_input["endTimeOffset"] = ground_truth.end_time_offset
            job_input["groundTruthS3Input"] = {"s3Uri": ground_truth.s3_uri}
        job_input["endpointInput"] = endpoint_input

        baseline_config = {
            f"{file}Resource": {"s3Uri": self.baselines.uri(monitor_type, file)}
            for file in kind.baseline_files
        }
        output_uri = r.reports.s3_uri(f"{self.endpoint.endpoint_name}/{_dashed(monitor_type)}/")
        # The L1's props as plain data (cdk_constructs/plain.py): the struct classes of a job
        # definition cost several ms of Python each, the same object is built in Node.
        job: CfnResource = plain.create(
            cls,
            self,
            kind.construct_id,
            {
                "roleArn": identifier(r.role, "role_arn"),
                "jobResources": {
                    "clusterConfig": {
                        "instanceCount": 1,
                        "instanceType": self.model.monitor_instance_type,
                        "volumeSizeInGb": self.engine.volume_size_gb,
                        "volumeKmsKeyId": r.key.key_arn,
                    }
                },
                "networkConfig": {
                    "enableNetworkIsolation": kind.network_isolation,
                    "enableInterContainerTrafficEncryption": True,
                    "vpcConfig": {
                        "subnets": [identifier(subnet, "subnet_id") for subnet in r.subnets],
                        "securityGroupIds": [identifier(r.security_group, "security_group_id")],
                    },
                },
                "stoppingCondition": {
                    "maxRuntimeInSeconds": self.model.monitors[monitor_type].max_runtime_seconds
                },
                "tags": self._tags(monitor_type),
                kind.jsii_name("JobOutputConfig"): {
                    "kmsKeyId": r.key.key_arn,
                    "monitoringOutputs": [
                        {
                            "s3Output": {
                                "localPath": OUTPUT_LOCAL_PATH,
                                "s3Uri": output_uri,
                                "s3UploadMode": "EndOfJob",
                            }
                        }
                    ],
                },
                kind.jsii_name("AppSpecification"): app_specification,
                kind.jsii_name("JobInput"): job_input,
                kind.jsii_name("BaselineConfig"): baseline_config,
            },
        )
        # SageMaker checks the endpoint and the role when it creates a job definition.
        job.node.add_dependency(self.endpoint.endpoint, r.role)
        return job

    # -- the schedule ----------------------------------------------------------------------

    def _schedule(self, monitor_type: MonitorType, job: CfnResource) -> DeployedMonitor:
        name = schedule_name_for(self.endpoint.endpoint_name, monitor_type)
        # Ref/GetAtt of a job definition give its ARN (no name attribute); the name is the
        # ARN's last segment: arn:...:<type>-job-definition/<name>.
        # Fn.select(1, Fn.split("/", job.get_att("JobDefinitionArn"))), written as the
        # intrinsic it resolves to, the job's logical id computed as aws-cdk-lib does
        # (cdk_constructs/logical_ids.py): one round trip to the jsii runtime instead of five
        # (the template is the same).
        job_id = placement(self, stack=self._stack[0]).logical_id(
            MONITOR_KINDS[monitor_type].construct_id
        )
        job_arn = {"Fn::GetAtt": [job_id, "JobDefinitionArn"]}
        job_name = Token.as_string({"Fn::Select": [1, {"Fn::Split": ["/", job_arn]}]})
        monitoring_type = MONITOR_KINDS[monitor_type].monitoring_type
        schedule = plain.create(
            sagemaker.CfnMonitoringSchedule,
            self,
            f"{monitoring_type}Schedule",
            {
                "monitoringScheduleName": name,
                "endpointName": self.endpoint.endpoint_name,
                "monitoringScheduleConfig": {
                    "monitoringJobDefinitionName": job_name,
                    "monitoringType": monitoring_type,
                    "scheduleConfig": {
                        "scheduleExpression": self.model.monitors[monitor_type].expression
                    },
                },
                "tags": self._tags(monitor_type),
            },
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

"""The Evidently engine: AWS's documented replacement for Model Monitor (``MonitoringEngine``).

"Amazon SageMaker Model Monitor is no longer open to new customers" (SageMaker developer guide,
model-monitor-availability-change). That page names the replacement: open-source monitoring with
Evidently AI (DataDriftPreset / DataSummaryPreset for data quality, ClassificationPreset for
model quality with delayed ground truth, per-segment metrics for bias), run by
EventBridge-scheduled processing jobs, alerting through SNS and CloudWatch. It runs data quality,
model quality and bias (Clarify's bias metrics computed in the job: SageMaker Clarify is itself
no longer open to new customers, developer guide clarify-availability-change), and logs each run
to the environment's SageMaker AI MLflow App when one is named. Per deployed model and enabled
check this engine declares:

* an ``AWS::SageMaker::Pipeline`` named like Model Monitor's schedule (``<endpoint>-<check>``)
  with one processing step running ``monitoring_jobs/evidently_check.py`` on the SageMaker
  scikit-learn image (Python 3.12), its dependencies installed from the pinned wheelhouse that
  ships with it as a job input (``make wheelhouse``; nothing is downloaded at run time);
* an ``AWS::Scheduler::Schedule`` on the check's cron (SageMaker's cron forms are valid
  EventBridge Scheduler cron expressions, six fields), with a retry window no longer than one
  interval and a dead-letter queue.

The job is hardened like the Model Monitor jobs: isolated VPC subnets and the jobs' security
group, inter-container encryption, volume and output encrypted with the monitoring key, runtime
capped per check. Network isolation is off, for the same kind of documented reason as Clarify's
explainability job: the check itself reads the capture window and ground truth from S3 and
publishes its CloudWatch metrics, through the VPC endpoints only (the subnets have no other
route). It runs as the environment's monitoring role, which already holds exactly that.

Explainability, for accounts that already use SageMaker Clarify (``clarify=True``; Clarify is
"no longer open to new customers. Existing customers can continue to use the service as
normal", developer guide clarify-availability-change), is a pipeline of three steps:
``ExplainabilityDataset`` (this job: the capture window's features as Clarify's CSV dataset, and
the model's analysis config, built at synth by the Model Monitor engine's builder
(``clarify_config.build_explainability_analysis_config``), with the served model's name filled
in), ``ExplainabilityAnalysis`` (a SageMaker Clarify processing job on the SDK-resolved
``clarify`` image, hardened as the Model Monitor engine's Clarify job definitions: isolated VPC,
inter-container encryption, the monitoring key on volume and output, network isolation off
because Clarify calls its shadow endpoint of the model, the monitoring role that already manages
``sm-clarify-*`` shadow endpoints), and ``ExplainabilityCheck`` (this job: Clarify's global SHAP
values published as Model Monitor's explainability metrics, their ranking compared with the
registry's explainability baseline by nDCG against the model's threshold). With ``clarify=True``
bias runs the same way (``BiasDataset``: the window's predictions joined with ground truth as
Clarify's CSV, with the predicted label, and the analysis config the SDK builds at synth;
``BiasAnalysis``: the Clarify job, hardened alike but network-isolated, since with the predicted
label in the dataset Clarify calls no endpoint; ``BiasCheck``: Clarify's bias metrics published
and checked exactly as the in-job bias check does).

The job sets the environment variables Model Monitor sets (``sagemaker_endpoint_name``,
``sagemaker_monitoring_schedule_name``), writes ``constraint_violations.json`` as its first
output and ``CompletedWithViolations`` as its exit message, and publishes Model Monitor's metric
names and dimensions; so the violations handler, the alarms and the dashboard treat both engines
the same, and a failed or stopped run is alerted and recorded like any other.
"""

from __future__ import annotations

import io
import re
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from aws_cdk import Aws, CfnMapping, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from cdk_constructs import tags
from cdk_constructs.compliance.acknowledgments import (
    acknowledge_wildcards,
    nag_string,
)
from cdk_constructs.encryption import DataDomain, GovernanceKey
from cdk_constructs.monitoring.engine import (
    DEFAULT_VOLUME_SIZE_GB,
    DeployedMonitor,
    DeployedMonitors,
    EngineMonitors,
    MonitoringResources,
    package_check,
    schedule_name_for,
)
from cdk_constructs.monitoring.images import MonitorType, monitor_image_uri
from cdk_constructs.monitoring.images import image_uri_by_region as monitor_image_uri_by_region
from cdk_constructs.monitoring.metrics import (
    DEFAULT_FEATURE_DRIFT_THRESHOLD,
    METRIC_NAMESPACES,
)
from cdk_constructs.monitoring.mlflow import (
    RUN_RECORDS_PREFIX,
    TRACKING_SERVER_LOGGING_ACTIONS,
    MlflowTarget,
)
from cdk_constructs.monitoring.schedule_failures import ScheduleFailures
from cdk_constructs.monitoring.serving import GovernedEndpoint
from cdk_constructs.pipelines.schedules import SCHEDULE_SOURCE, schedule_expression_problem
from cdk_constructs.props import MonitoredModel
from cdk_constructs.queues import DeadLetterQueue
from cdk_constructs.roles import ManagedPolicyRole
from cdk_constructs.storage import IGovernedBucket
from governance.contracts.vocabulary import (
    DATA_REFERENCE,
    ENV_ENDPOINT_NAME,
    ENV_MONITORING_TYPE,
    ENV_SCHEDULE_NAME,
    MONITOR_JOB_TYPES,
)
from governance.contracts.vocabulary import MonitorType as ContractMonitorType

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
JOB_SCRIPT = REPOSITORY_ROOT / "monitoring_jobs" / "evidently_check.py"
# What the job imports besides the wheelhouse: the reference-data contract shared with the
# training pipeline (standard library + pydantic only, see governance.contracts).
# The bias check on SageMaker Clarify reads Clarify's analysis.json with the approval gate's
# parser (governance.logic.bias), which imports the policy's parameter models.
JOB_MODULES = (
    "governance/__init__.py",
    "governance/contracts/__init__.py",
    "governance/contracts/errors.py",
    "governance/contracts/parameters.py",
    "governance/contracts/reference_data.py",
    "governance/contracts/vocabulary.py",
    "governance/logic/__init__.py",
    "governance/logic/bias.py",
)
LAMBDA_ROOT = REPOSITORY_ROOT / "lambda"
REQUIREMENTS_LOCK = REPOSITORY_ROOT / "monitoring_jobs" / "requirements.lock"
DEFAULT_WHEELHOUSE = REPOSITORY_ROOT / "build" / "evidently-wheelhouse.tar"
LOCK_MEMBER = "requirements.lock"

# The SageMaker scikit-learn framework image the jobs run on, and its Python: the wheelhouse is
# built for exactly this interpreter (aws/sagemaker-scikit-learn-container,
# docker/1.4-2-py312/base/Dockerfile.cpu: PYTHON_VERSION=3.12, x86_64).
IMAGE_FRAMEWORK = "sklearn"
IMAGE_VERSION = "1.4-2-py312"
IMAGE_PYTHON = "3.12"

CODE_PATH = "/opt/ml/processing/input/code"
WHEELHOUSE_PATH = "/opt/ml/processing/input/wheelhouse"
OUTPUT_PATH = "/opt/ml/processing/output"
# The processing job's entrypoint: install the shipped wheelhouse offline, unpack the code
# bundle, then run the check.
ENTRYPOINT_SCRIPT = (
    "set -eu; mkdir -p /tmp/wheelhouse /tmp/job; "
    f"tar -xf {WHEELHOUSE_PATH}/*.tar -C /tmp/wheelhouse; "
    "python3 -m pip install --quiet --no-index --no-deps --find-links /tmp/wheelhouse "
    f"-r /tmp/wheelhouse/{LOCK_MEMBER}; "
    f"tar -xf {CODE_PATH}/*.tar -C /tmp/job; "
    f'PYTHONPATH=/tmp/job exec python3 /tmp/job/{JOB_SCRIPT.name} "$@"'
)

CHECK_STEP_NAMES: Mapping[MonitorType, str] = MappingProxyType(
    {"data_quality": "DataQualityCheck", "model_quality": "ModelQualityCheck", "bias": "BiasCheck"}
)
# Checks on SageMaker Clarify (existing Clarify customers only, EvidentlyEngine.clarify): each
# a pipeline of three steps, <Check>Dataset -> <Check>Analysis (the Clarify job) -> <Check>Check.
CLARIFY_CHECK_STEP_NAMES: Mapping[MonitorType, str] = MappingProxyType(
    {"explainability": "ExplainabilityCheck", "bias": "BiasCheck"}
)
CLARIFY_DATASET_STEPS: Mapping[MonitorType, str] = MappingProxyType(
    {"explainability": "ExplainabilityDataset", "bias": "BiasDataset"}
)
CLARIFY_ANALYSIS_STEPS: Mapping[MonitorType, str] = MappingProxyType(
    {"explainability": "ExplainabilityAnalysis", "bias": "BiasAnalysis"}
)
EXPLAINABILITY_DATASET_STEP = CLARIFY_DATASET_STEPS["explainability"]
EXPLAINABILITY_ANALYSIS_STEP = CLARIFY_ANALYSIS_STEPS["explainability"]
BIAS_DATASET_STEP = CLARIFY_DATASET_STEPS["bias"]
BIAS_ANALYSIS_STEP = CLARIFY_ANALYSIS_STEPS["bias"]
# Whether each Clarify job runs network-isolated. Explainability: no, Clarify calls its shadow
# endpoint of the model (developer guide, clarify-vpc). Bias: yes, the dataset holds the
# predicted label, which Clarify then uses "instead of making model inference API calls"
# (sagemaker.core.clarify.DataConfig ``predicted_label``; developer guide
# clarify-processing-job-configure-parameters, ``predicted_label``), so it starts no endpoint
# and needs no network: SageMaker copies the job's S3 inputs and outputs outside the container.
CLARIFY_NETWORK_ISOLATION: Mapping[MonitorType, bool] = MappingProxyType(
    {"explainability": False, "bias": True}
)
# Where the dataset stage writes Clarify's inputs, and where a Clarify processing job reads and
# writes them (developer guide, clarify-processing-job-configure-parameters: the analysis config
# at /opt/ml/processing/input/config, the dataset at /opt/ml/processing/input/data, the results
# at /opt/ml/processing/output, analysis.json among them).
DATASET_OUTPUT_PATH = "/opt/ml/processing/dataset"
CONFIG_OUTPUT_PATH = "/opt/ml/processing/clarify-config"
CLARIFY_CONFIG_PATH = "/opt/ml/processing/input/config"
CLARIFY_DATA_PATH = "/opt/ml/processing/input/data"
CLARIFY_OUTPUT_PATH = "/opt/ml/processing/output"
CLARIFY_ANALYSIS_FILE = "analysis.json"
# Checks that join the captured predictions with ground truth (Model Monitor's model quality
# and bias drift jobs merge labels the same way).
GROUND_TRUTH_CHECKS: frozenset[MonitorType] = frozenset({"model_quality", "bias"})
# The distributions the job must install to log to a SageMaker AI MLflow App: the MLflow
# client and AWS's plugin that resolves the App's ARN and signs the requests with SigV4
# (SageMaker developer guide, mlflow-track-experiments: "pip install sagemaker-mlflow").
MLFLOW_DISTRIBUTIONS = ("mlflow-skinny", "sagemaker-mlflow")
# What logging a run to a tracking server needs (the App's action differs): see
# cdk_constructs/monitoring/mlflow.py, which holds both kinds and their sources.
MLFLOW_LOGGING_ACTIONS = TRACKING_SERVER_LOGGING_ACTIONS
PIPELINE_DEFINITION_VERSION = "2020-12-01"
# EventBridge Scheduler RetryPolicy: MaximumEventAgeInSeconds 60-86400, attempts 0-185
# (AWS::Scheduler::Schedule provider schema). A run retried after its interval would overlap
# the next one, so the age is capped at one interval.
SCHEDULE_RETRY_ATTEMPTS = 3


class DependencyNotShippedError(ValueError):
    """The job's wheelhouse is missing or does not hold the pinned lock."""


def _shown(path: Path) -> str:
    """``path`` relative to the repository when it is inside it, for messages."""
    return (
        str(path.relative_to(REPOSITORY_ROOT))
        if path.is_relative_to(REPOSITORY_ROOT)
        else str(path)
    )


def locked_distributions(lock: bytes) -> dict[str, str]:
    """``name==version`` lines of a lock, by normalised name (PEP 503)."""
    pins = {}
    for raw in lock.decode("utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, version = line.partition("==")
        pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def _wheel_distribution(member: str) -> str | None:
    """The normalised distribution name of a wheel file name (PEP 427), None if not a wheel."""
    if not member.endswith(".whl"):
        return None
    return re.sub(r"[-_.]+", "-", member.split("-", 1)[0]).lower()


def check_wheelhouse(path: Path, lock: Path = REQUIREMENTS_LOCK) -> Path:
    """``path`` if it is a wheelhouse tar holding exactly ``lock`` and a wheel of every
    distribution the lock pins; otherwise a clear error."""
    if not path.is_file():
        raise DependencyNotShippedError(
            f"the evidently engine's job dependencies are not shipped: {path} does not exist; "
            "allowed: the wheelhouse built by `make wheelhouse` (pinned in "
            f"{_shown(lock)}), since the jobs' VPC has no internet"
        )
    try:
        with tarfile.open(path) as archive:
            member = archive.extractfile(LOCK_MEMBER)
            shipped = member.read() if member is not None else b""
            wheels = {_wheel_distribution(name) for name in archive.getnames()}
    except (tarfile.TarError, KeyError) as error:
        raise DependencyNotShippedError(
            f"{path} is not a wheelhouse with {LOCK_MEMBER} ({error}); rebuild it with "
            "`make wheelhouse`"
        ) from None
    if shipped != lock.read_bytes():
        raise DependencyNotShippedError(
            f"the wheelhouse {path} was built from another {LOCK_MEMBER} than "
            f"{_shown(lock)}; rebuild it with `make wheelhouse`"
        )
    missing = sorted(set(locked_distributions(shipped)) - wheels)
    if missing:
        raise DependencyNotShippedError(
            f"the wheelhouse {path} has no wheel for {', '.join(missing)}, which "
            f"{LOCK_MEMBER} pins; allowed: a wheelhouse with a wheel of every pinned "
            "distribution (the job installs with --no-index); rebuild it with `make wheelhouse`"
        )
    return path


def check_mlflow_shipped(lock: Path = REQUIREMENTS_LOCK) -> None:
    """A clear error unless ``lock`` (shipped in the wheelhouse) pins the MLflow client and
    AWS's plugin: a check told to log to an MLflow App must not find them missing at run time."""
    pins = locked_distributions(lock.read_bytes())
    missing = [name for name in MLFLOW_DISTRIBUTIONS if name not in pins]
    if missing:
        raise DependencyNotShippedError(
            f"environments[].mlflow_tracking_arn is set, but {', '.join(missing)} is not in "
            f"{_shown(lock)}, so the jobs could not log to the MLflow App; "
            f"allowed: a lock pinning {' and '.join(MLFLOW_DISTRIBUTIONS)} (then "
            "`make wheelhouse`), or no mlflow_tracking_arn"
        )


def _s3_input(input_name: str, uri: Any, local_path: str) -> dict[str, Any]:
    """A processing job's S3 input (``CreateProcessingJob`` ``ProcessingInputs`` item): the
    prefix copied to ``local_path`` before the container starts."""
    return {
        "InputName": input_name,
        "AppManaged": False,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": local_path,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }


def _s3_output(output_name: str, uri: Any, local_path: str) -> dict[str, Any]:
    """A processing job's S3 output, uploaded from ``local_path`` when the job ends."""
    return {
        "OutputName": output_name,
        "AppManaged": False,
        "S3Output": {"S3Uri": uri, "LocalPath": local_path, "S3UploadMode": "EndOfJob"},
    }


def _network_config(resources: MonitoringResources, *, isolated: bool = False) -> dict[str, Any]:
    """Every step's network: the isolated subnets and the jobs' security group, traffic between
    containers encrypted. Network isolation is off unless ``isolated``: the Evidently checks read
    S3 and publish metrics through the VPC endpoints, and Clarify's explainability calls its
    shadow endpoint (clarify-vpc); Clarify's bias job needs neither (CLARIFY_NETWORK_ISOLATION)."""
    return {
        "EnableInterContainerTrafficEncryption": True,
        "EnableNetworkIsolation": isolated,
        "VpcConfig": {
            "SecurityGroupIds": [resources.security_group.security_group_id],
            "Subnets": [subnet.subnet_id for subnet in resources.subnets],
        },
    }


@cache
def job_code_bundle() -> Path:
    """The job script and the contract modules it imports, as a reproducible tar (sorted, zero
    mtimes and owners, so its asset hash changes only with the code)."""
    path = Path(tempfile.mkdtemp(prefix="evidently-job-")) / "evidently-job.tar"
    members = [(JOB_SCRIPT.name, JOB_SCRIPT)] + [(m, LAMBDA_ROOT / m) for m in JOB_MODULES]
    with tarfile.open(path, "w") as archive:
        for name, source in sorted(members):
            data = source.read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            archive.addfile(info, io.BytesIO(data))
    return path


def image_regions() -> tuple[str, ...]:
    """Regions the SDK's bundled table has the scikit-learn image in, sorted."""
    from sagemaker.core import image_uris

    config = image_uris.config_for_framework(IMAGE_FRAMEWORK)["training"]["versions"]
    return tuple(sorted(config[IMAGE_VERSION]["registries"]))


@cache
def image_uri(region: str) -> str:
    """The scikit-learn image the jobs run in ``region`` (resolved offline by the SDK)."""
    from sagemaker.core import image_uris

    return str(
        image_uris.retrieve(
            IMAGE_FRAMEWORK, region=region, version=IMAGE_VERSION, instance_type="ml.m5.xlarge"
        )
    )


def image_uri_by_region() -> dict[str, str]:
    """Region -> the scikit-learn image the jobs run, for a stack without a fixed region."""
    return {region: image_uri(region) for region in image_regions()}


@dataclass(frozen=True)
class EvidentlyCheck:
    """One scheduled check: its pipeline, its schedule, and the step's job request."""

    monitor_type: MonitorType
    name: str
    pipeline: sagemaker.CfnPipeline
    schedule: scheduler.CfnSchedule
    job_request: Mapping[str, Any]


class EvidentlyEngine:
    """Evidently AI checks in scheduled SageMaker Pipelines (see the module docstring).

    ``wheelhouse`` defaults to ``build/evidently-wheelhouse.tar`` (``make wheelhouse``); synth
    stops with a clear error when it is missing or built from another lock. ``image_uri``
    defaults to the SageMaker scikit-learn image 1.4-2-py312 of the stack's region (the
    wheelhouse targets its Python 3.12). ``volume_size_gb`` defaults to 30.
    ``mlflow_tracking_arn``: a SageMaker AI MLflow tracking server or App every check logs its
    runs to (:meth:`history_arguments`). A tracking server: the monitoring role gets the logging
    actions on that ARN only, and synth stops when the lock does not ship the MLflow client and
    plugin. An App: the checks write run records the foundation's relay logs. ``clarify``: the
    account already uses SageMaker Clarify, so explainability and bias run as Clarify processing
    jobs (default False: explainability is refused, Clarify being closed to new customers, and
    bias is computed in the job).
    """

    @property
    def check_steps(self) -> Mapping[MonitorType, str]:
        """The checks this engine runs, by the name of the step that reports each."""
        if not self.clarify:
            return CHECK_STEP_NAMES
        return MappingProxyType({**CHECK_STEP_NAMES, **CLARIFY_CHECK_STEP_NAMES})

    def __init__(
        self,
        *,
        wheelhouse: Path = DEFAULT_WHEELHOUSE,
        image_uri: str | None = None,
        volume_size_gb: int = DEFAULT_VOLUME_SIZE_GB,
        drift_threshold: float = DEFAULT_FEATURE_DRIFT_THRESHOLD,
        mlflow_tracking_arn: str | None = None,
        lock: Path = REQUIREMENTS_LOCK,
        clarify: bool = False,
    ) -> None:
        if volume_size_gb < 1:
            raise ValueError(f"volume_size_gb must be at least 1 (got {volume_size_gb})")
        self.mlflow = MlflowTarget(mlflow_tracking_arn) if mlflow_tracking_arn else None
        if self.mlflow is not None and self.mlflow.jobs_log_directly:
            # Only a tracking server is called from the job; an App's records are plain S3.
            check_mlflow_shipped(lock)
        self.wheelhouse = check_wheelhouse(wheelhouse, lock)
        self.mlflow_tracking_arn = mlflow_tracking_arn
        self.clarify = clarify
        self.image_uri = image_uri
        self.volume_size_gb = volume_size_gb
        self.drift_threshold = drift_threshold

    def history_arguments(self, reports: IGovernedBucket) -> list[str]:
        """Where a check logs its run: a tracking server directly (``--mlflow-tracking-arn``,
        through the VPC's experiments endpoint), an App through a run record in ``reports``
        under ``mlflow-runs/`` that the environment's relay logs (``--mlflow-run-records-uri``;
        cdk_constructs/monitoring/mlflow.py says why); nothing without an MLflow target."""
        if self.mlflow is None:
            return []
        if self.mlflow.jobs_log_directly:
            return ["--mlflow-tracking-arn", self.mlflow.arn]
        return ["--mlflow-run-records-uri", reports.s3_uri(RUN_RECORDS_PREFIX)]

    def deploy(
        self,
        scope: Construct,
        *,
        model: MonitoredModel,
        endpoint: GovernedEndpoint,
        resources: MonitoringResources,
    ) -> DeployedMonitors:
        return EvidentlyMonitors(
            scope,
            f"{model.name}-evidently",
            engine=self,
            model=model,
            endpoint=endpoint,
            resources=resources,
        ).deployed


class EvidentlyStackResources(Construct):
    """What every Evidently check of one stack shares: the job code and wheelhouse assets, the
    pipelines' role, the schedules' role and their dead-letter queue. One per stack, so the
    foundation does not change when models are added."""

    ID = "EvidentlyEngine"

    @classmethod
    def of(cls, scope: Construct, engine: EvidentlyEngine, resources: MonitoringResources) -> Any:
        stack = Stack.of(scope)
        found = stack.node.try_find_child(cls.ID)
        if isinstance(found, cls):
            return found
        return cls(stack, cls.ID, engine=engine, resources=resources)

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        engine: EvidentlyEngine,
        resources: MonitoringResources,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # The monitoring role reads the bootstrap bucket's .tar assets (foundation grant).
        self.code = s3_assets.Asset(self, "JobCode", path=str(job_code_bundle()))
        self.wheelhouse = s3_assets.Asset(self, "Wheelhouse", path=str(engine.wheelhouse))
        self.image_uri = engine.image_uri or self._image()
        self.pipeline_role = ManagedPolicyRole(
            self,
            "PipelineRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com").with_conditions(
                {"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description="Runs the Evidently monitoring pipelines' processing steps",
        )
        processing_jobs = stack.format_arn(
            service="sagemaker", resource="processing-job", resource_name="*"
        )
        self.pipeline_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RunCheckJobs",
                actions=[
                    "sagemaker:CreateProcessingJob",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:StopProcessingJob",
                    "sagemaker:AddTags",
                ],
                resources=[processing_jobs],
            )
        )
        self.pipeline_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PassMonitoringRole",
                actions=["iam:PassRole"],
                resources=[resources.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        acknowledge_wildcards(
            self.pipeline_role,
            resources=[nag_string(stack, processing_jobs)],
            reason="SageMaker Pipelines name each step's processing job per execution "
            "(pipelines-<execution id>-<step>-<suffix>); the pattern is limited to processing "
            "jobs of this account and region, and only the monitoring role may be passed.",
        )
        self.scheduler_role = ManagedPolicyRole(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com").with_conditions(
                {"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description="Starts the Evidently monitoring pipelines on their schedules",
        )
        # EventBridge Scheduler sends a start it could not make to the dead-letter queue with
        # the schedule's role (EventBridge Scheduler user guide, "Configuring a dead-letter
        # queue"), so that role must use the queue's key. The foundation's keys name every
        # principal in their policies and cannot name a role of this stack, so the queue gets
        # a key of its own (rotating, root administers only, the scheduler role uses it).
        self.dead_letters_key = GovernanceKey(
            self,
            "ScheduleDeadLettersKey",
            domain=DataDomain.ALERTS,
            alias_prefix=f"{stack.stack_name}/evidently-schedules",
            description="Model governance: dead letters of the Evidently monitoring schedules",
        )
        self.dead_letters_key.grant_encrypt_decrypt(self.scheduler_role)
        # Each failed start becomes a ledger record and an alert (schedule_failures.py); without
        # an alert topic or a logs key to give its handler, the queue only alarms on its depth.
        self.schedule_failures: ScheduleFailures | None = None
        if resources.alerts is not None and resources.logs_key is not None:
            self.schedule_failures = ScheduleFailures(
                self,
                "ScheduleFailures",
                key=self.dead_letters_key,
                alerts=resources.alerts,
                vpc=resources.vpc,
                subnets=resources.subnets,
                security_group=resources.security_group,
                logs_key=resources.logs_key,
                reserved_concurrency=resources.handler_reserved_concurrency,
                powertools_layer_arn=resources.powertools_layer_arn,
            )
            self.dead_letters = self.schedule_failures.queue
        else:
            self.dead_letters = DeadLetterQueue(
                self,
                "ScheduleDeadLetters",
                key=self.dead_letters_key,
                alerts=resources.alerts,
                what="Evidently monitoring pipelines their schedules could not start (runs are "
                "missing until the messages are inspected)",
            ).queue
        # Written out: Queue.grant_send_messages would add kms:ReEncrypt* / GenerateDataKey*.
        self.scheduler_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DeadLetters",
                actions=["sqs:SendMessage"],
                resources=[self.dead_letters.queue_arn],
            )
        )
        self.mlflow_logging = None
        if engine.mlflow is not None and engine.mlflow.jobs_log_directly:
            # The checks run as the environment's monitoring role: it may log runs to this one
            # tracking server and nothing else (no wildcard, no other tracking server). For an
            # App the role only writes run records to the monitoring bucket (already granted).
            self.mlflow_logging = iam.ManagedPolicy(
                self,
                "MlflowLogging",
                description="Evidently monitoring checks log their runs to this MLflow tracking "
                "server",
                roles=[resources.role],
                statements=[
                    iam.PolicyStatement(
                        sid="LogMonitoringRuns",
                        actions=list(engine.mlflow.logging_actions),
                        resources=[engine.mlflow.arn],
                    )
                ],
            )

    def _image(self) -> str:
        stack = Stack.of(self)
        if not Token.is_unresolved(stack.region):
            regions = image_regions()
            if stack.region not in regions:
                raise ValueError(
                    f"no SageMaker scikit-learn {IMAGE_VERSION} image is known for region "
                    f"{stack.region!r}; allowed regions: {', '.join(regions)}"
                )
            return image_uri(stack.region)
        mapping = CfnMapping(
            self,
            "Images",
            mapping={region: {"uri": uri} for region, uri in image_uri_by_region().items()},
        )
        return mapping.find_in_map(Aws.REGION, "uri")

    def check_request(
        self,
        scope: Construct,
        *,
        resources: MonitoringResources,
        check: MonitorType,
        subject: str,
        schedule_name: str,
        arguments: Sequence[Any],
        instance_type: str,
        volume_size_gb: int,
        max_runtime_seconds: int,
        tags: Sequence[Any],
    ) -> dict[str, Any]:
        """A check step's ``CreateProcessingJob`` request (without the name the pipeline gives):
        the job code and wheelhouse as inputs, the run's report folder
        (``<reports>/<subject>/<check>/<execution id>``) as its first output, Model Monitor's
        environment variables (``subject``: the endpoint, or a batch pipeline, the violations
        handler attributes the run to), the isolated VPC with inter-container encryption, the
        monitoring key on volume and output, the monitoring role."""
        r = resources
        check_path = check.replace("_", "-")
        output = {
            "Std:Join": {
                "On": "/",
                "Values": [
                    r.reports.s3_uri(f"{subject}/{check_path}"),
                    {"Get": "Execution.PipelineExecutionId"},
                ],
            }
        }

        return {
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": instance_type,
                    "VolumeSizeInGB": volume_size_gb,
                    "VolumeKmsKeyId": r.key.key_arn,
                }
            },
            "AppSpecification": {
                "ImageUri": self.image_uri,
                "ContainerEntrypoint": ["/bin/sh", "-c", ENTRYPOINT_SCRIPT, "evidently-check"],
                "ContainerArguments": list(arguments),
            },
            "Environment": {
                ENV_ENDPOINT_NAME: subject,
                ENV_SCHEDULE_NAME: schedule_name,
                ENV_MONITORING_TYPE: MONITOR_JOB_TYPES[ContractMonitorType(check)].monitoring_type,
                # boto3 in the job calls S3 and CloudWatch in the stack's region (through the
                # VPC endpoints); processing containers are not documented to set a region.
                "AWS_DEFAULT_REGION": Stack.of(scope).region,
                # The image's Python 3.12 is Ubuntu's system Python (PEP 668): pip must be told
                # that installing into it is intended (pip >= 23.0.1 reads this variable).
                "PIP_BREAK_SYSTEM_PACKAGES": "1",
            },
            "ProcessingInputs": [
                _s3_input("code", self.code.s3_object_url, CODE_PATH),
                _s3_input("wheelhouse", self.wheelhouse.s3_object_url, WHEELHOUSE_PATH),
            ],
            "ProcessingOutputConfig": {
                # The first output is the run's result location (constraint_violations.json).
                "Outputs": [_s3_output("report", output, OUTPUT_PATH)],
                "KmsKeyId": r.key.key_arn,
            },
            "NetworkConfig": _network_config(r),
            "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime_seconds},
            "RoleArn": r.role.role_arn,
            "Tags": [{"Key": tag.key, "Value": tag.value} for tag in tags],
        }

    def start_on_schedule(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline: sagemaker.CfnPipeline,
        pipeline_arn: str,
        expression: str,
        interval_seconds: int,
        description: str,
    ) -> scheduler.CfnSchedule:
        """An EventBridge Scheduler schedule (named like the pipeline, UTC) that starts
        ``pipeline`` as the scheduler role, retrying within one interval (a run retried after
        it would overlap the next) and keeping failed starts in the dead-letter queue."""
        schedule = scheduler.CfnSchedule(
            scope,
            construct_id,
            name=pipeline.pipeline_name,
            description=description,
            schedule_expression=expression,
            schedule_expression_timezone="UTC",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            state="ENABLED",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=pipeline_arn,
                role_arn=self.scheduler_role.role_arn,
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
                    arn=self.dead_letters.queue_arn
                ),
            ),
        )
        schedule.node.add_dependency(pipeline, self.scheduler_role)
        return schedule

    def allow_start(self, pipeline_arn: str) -> None:
        self.scheduler_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sagemaker:StartPipelineExecution"], resources=[pipeline_arn]
            )
        )


class EvidentlyMonitors(EngineMonitors[EvidentlyEngine]):
    """The scheduled Evidently checks of one deployed model."""

    def _validate(self) -> None:
        model, engine = self.model, self.engine
        checks = tuple(model.monitors)
        steps = engine.check_steps
        unsupported = [c for c in checks if c not in steps]
        if unsupported:
            clarify = (
                ""
                if engine.clarify
                else " (explainability needs clarify=True: an account "
                "that already uses SageMaker Clarify)"
            )
            raise ValueError(
                f"model {model.name!r}: the evidently engine cannot run "
                f"{', '.join(unsupported)}; allowed: {', '.join(steps)}{clarify}"
            )
        if GROUND_TRUTH_CHECKS.intersection(checks):
            _ = model.labels  # refuses a model without its ground truth before any resource
        for check in checks:
            schedule_name_for(self.endpoint.endpoint_name, check)
            expression = model.monitors[check].expression
            problem = schedule_expression_problem(expression)
            if problem is not None:
                raise ValueError(
                    f"model {model.name!r}: monitoring.{check}.schedule {expression!r}: "
                    f"{problem} [{SCHEDULE_SOURCE}]"
                )

    def _build(self) -> DeployedMonitors:
        checks = tuple(self.model.monitors)
        self.shared = EvidentlyStackResources.of(self, self.engine, self.resources)
        self.baselines = package_check(
            self,
            endpoint=self.endpoint,
            resources=self.resources,
            baselines=[
                *([DATA_REFERENCE] if "data_quality" in checks else []),
                *(["explainability"] if "explainability" in checks else []),
            ],
        )
        self.checks = tuple(self._check(check) for check in checks)
        return DeployedMonitors(
            endpoint_name=self.endpoint.endpoint_name,
            monitors=tuple(
                DeployedMonitor(
                    monitor_type=c.monitor_type,
                    schedule_name=c.name,
                    schedule=c.schedule,
                    job_definition=c.pipeline,
                    metric_namespace=METRIC_NAMESPACES[c.monitor_type],
                )
                for c in self.checks
            ),
        )

    def _interval_hours(self, check: MonitorType) -> int:
        return self.model.monitors[check].interval_hours or 1

    def _arguments(self, check: MonitorType, name: str, *, log: bool = True) -> list[str]:
        """The check job's arguments; ``log``: the run logs to the MLflow App, if one is named
        (a Clarify check's dataset stage does not: it checks nothing)."""
        model = self.model
        features = ",".join(f"{f.name}:{f.type}" for f in model.dataset.features)
        arguments = [
            "--check",
            check,
            "--problem-type",
            model.problem_type.value,
            "--model",
            model.name,
            "--endpoint",
            self.endpoint.endpoint_name,
            "--schedule",
            name,
            "--features",
            features,
            # SageMaker writes captures under <destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/.
            "--capture-uri",
            f"{self.endpoint.capture_s3_uri}{self.endpoint.endpoint_name}/",
        ]
        if check == "explainability":
            # The dataset stage's arguments; the check stage adds its own (_clarify_stages).
            return [*arguments, "--window-hours", str(self._interval_hours(check))]
        if log:
            arguments += self.engine.history_arguments(self.resources.reports)
        if check == "data_quality":
            return [
                *arguments,
                "--window-hours",
                str(self._interval_hours(check)),
                "--reference-uri",
                self.baselines.uri("data_reference", "statistics"),
                "--drift-threshold",
                str(self.engine.drift_threshold),
            ]
        window = model.labels
        arguments += [
            "--ground-truth-uri",
            window.s3_uri,
            "--window-hours",
            str(max(1, window.length_seconds // 3600)),
            "--window-end-offset-hours",
            str(-(window.end_offset_seconds // 3600)),
            "--probability-threshold",
            str(model.output.probability_threshold or 0.5),
        ]
        if check == "model_quality":
            metric_name, minimum = model.floor
            arguments += ["--quality-floor", f"{metric_name}:{minimum}"]
        if check == "bias":
            facet = model.facet
            arguments += [
                "--bias-label",
                facet.label,
                "--bias-label-value",
                str(facet.label_value),
                "--bias-facet",
                facet.facet,
                "--bias-facet-value",
                str(facet.facet_value),
            ]
            for metric, bounds in model.bias_thresholds.items():
                arguments += ["--bias-threshold", f"{metric}:{bounds.min}:{bounds.max}"]
        return arguments

    def job_request(
        self, check: MonitorType, name: str, *, arguments: Sequence[Any] | None = None
    ) -> dict[str, Any]:
        """The step's ``CreateProcessingJob`` request (without the name the pipeline gives);
        ``arguments`` default to the check's (``_arguments``)."""
        request: dict[str, Any] = self.shared.check_request(
            self,
            resources=self.resources,
            check=check,
            subject=self.endpoint.endpoint_name,
            schedule_name=name,
            arguments=self._arguments(check, name) if arguments is None else arguments,
            instance_type=self.model.monitor_instance_type,
            volume_size_gb=self.engine.volume_size_gb,
            max_runtime_seconds=self.model.monitors[check].max_runtime_seconds,
            tags=self._tags(check),
        )
        return request

    def _tags(self, check: MonitorType) -> list[Any]:
        return self.model.identity.tags(**{tags.MONITOR_TYPE: check.replace("_", "-")})

    def _run_uri(self, check: MonitorType, *parts: str) -> dict[str, Any]:
        """``<reports>/<endpoint>/<check>/<execution id>/<parts>`` (pipeline Std:Join)."""
        return {
            "Std:Join": {
                "On": "/",
                "Values": [
                    self.resources.reports.s3_uri(
                        f"{self.endpoint.endpoint_name}/{check.replace('_', '-')}"
                    ),
                    {"Get": "Execution.PipelineExecutionId"},
                    *parts,
                ],
            }
        }

    def _clarify_stages(
        self, check: MonitorType, name: str, analysis: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[Any], list[Any], list[Any]]:
        """What differs between the checks on SageMaker Clarify: the analysis config (built at
        synth), the dataset stage's arguments and those it adds after the config's URI, and the
        check stage's arguments, which read Clarify's ``analysis``."""
        from cdk_constructs.monitoring import clarify_config
        from cdk_constructs.monitoring.engine import _explainability_settings_of

        model = self.model
        if check == "bias":
            from monitoring_jobs.evidently_check import (
                POST_TRAINING_BIAS_METRICS,
                PRE_TRAINING_BIAS_METRICS,
            )

            # The metrics the in-job check computes, so both publish the same set.
            config = clarify_config.build_bias_processing_config(
                model,
                pre_training_methods=PRE_TRAINING_BIAS_METRICS,
                post_training_methods=POST_TRAINING_BIAS_METRICS,
            )
            return (
                config,
                self._arguments(check, name, log=False),
                [],
                [*self._arguments(check, name), "--analysis-uri", analysis],
            )
        # The Model Monitor engine's analysis config (SDK builders, SDK schema); the served
        # model's name is a deploy-time value, which the dataset stage fills in.
        config = clarify_config.build_explainability_analysis_config(
            model, settings=_explainability_settings_of(model)
        )
        arguments = self._arguments(check, name)
        return (
            {"dataset_type": "text/csv", **config},
            arguments,
            ["--model-name", self.endpoint.sagemaker_model.attr_model_name],
            [
                *arguments,
                "--analysis-uri",
                analysis,
                "--baseline-uri",
                self.baselines.uri("explainability", "constraints"),
                "--ndcg-threshold",
                str(model.shap.ndcg_threshold),
                *self.engine.history_arguments(self.resources.reports),
            ],
        )

    def _on_clarify(
        self, check: MonitorType, name: str
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """A check's three steps around a SageMaker Clarify processing job (module docstring)
        and the reporting step's request: ``<Check>Dataset`` (this job writes the window as
        Clarify's dataset and the analysis config where Clarify reads them),
        ``<Check>Analysis`` (Clarify), ``<Check>Check`` (this job reads Clarify's analysis)."""
        analysis_uri = self._run_uri(check, "clarify", CLARIFY_ANALYSIS_FILE)
        config, dataset_arguments, named, report_arguments = self._clarify_stages(
            check, name, analysis_uri
        )
        asset = self._config_asset(check, config)
        dataset = self.job_request(
            check,
            name,
            arguments=[
                *dataset_arguments,
                "--dataset-output",
                DATASET_OUTPUT_PATH,
                "--clarify-config-uri",
                asset.s3_object_url,
                *named,
                "--config-output",
                CONFIG_OUTPUT_PATH,
            ],
        )
        outputs = dataset["ProcessingOutputConfig"]["Outputs"]
        outputs[0]["S3Output"]["S3Uri"] = self._run_uri(check, "dataset-stage")
        outputs.extend(
            _s3_output(output_name, self._run_uri(check, output_name), local_path)
            for output_name, local_path in (
                ("dataset", DATASET_OUTPUT_PATH),
                ("clarify-config", CONFIG_OUTPUT_PATH),
            )
        )
        analysis = self._clarify_request(check, name)
        report = self.job_request(check, name, arguments=report_arguments)
        dataset_step, analysis_step = CLARIFY_DATASET_STEPS[check], CLARIFY_ANALYSIS_STEPS[check]
        steps = [
            {"Name": dataset_step, "Type": "Processing", "Arguments": dataset},
            {
                "Name": analysis_step,
                "Type": "Processing",
                "DependsOn": [dataset_step],
                "Arguments": analysis,
            },
            {
                "Name": CLARIFY_CHECK_STEP_NAMES[check],
                "Type": "Processing",
                "DependsOn": [analysis_step],
                "Arguments": report,
            },
        ]
        return steps, report

    def _config_asset(self, check: MonitorType, config: dict[str, Any]) -> s3_assets.Asset:
        from cdk_constructs.monitoring.clarify_config import analysis_config_file

        path = analysis_config_file(config)
        # The monitoring role reads the assets bucket's JSON objects (foundation grant).
        return s3_assets.Asset(self, f"{CLARIFY_ANALYSIS_STEPS[check]}Config", path=str(path))

    def _clarify_request(self, check: MonitorType, name: str) -> dict[str, Any]:
        """The SageMaker Clarify processing job's ``CreateProcessingJob`` request, hardened as
        the Model Monitor engine's Clarify job definitions (network isolation per
        CLARIFY_NETWORK_ISOLATION)."""
        r = self.resources

        return {
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": self.model.monitor_instance_type,
                    "VolumeSizeInGB": self.engine.volume_size_gb,
                    "VolumeKmsKeyId": r.key.key_arn,
                }
            },
            "AppSpecification": {"ImageUri": self._clarify_image()},
            # Attributes a failed or stopped Clarify run to the endpoint's check, like the
            # Evidently steps (the violations handler reads these).
            "Environment": {
                ENV_ENDPOINT_NAME: self.endpoint.endpoint_name,
                ENV_SCHEDULE_NAME: name,
                ENV_MONITORING_TYPE: MONITOR_JOB_TYPES[ContractMonitorType(check)].monitoring_type,
            },
            "ProcessingInputs": [
                _s3_input(
                    "analysis_config", self._run_uri(check, "clarify-config"), CLARIFY_CONFIG_PATH
                ),
                _s3_input("dataset", self._run_uri(check, "dataset"), CLARIFY_DATA_PATH),
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    _s3_output(
                        "analysis_result", self._run_uri(check, "clarify"), CLARIFY_OUTPUT_PATH
                    )
                ],
                "KmsKeyId": r.key.key_arn,
            },
            "NetworkConfig": _network_config(r, isolated=CLARIFY_NETWORK_ISOLATION[check]),
            "StoppingCondition": {
                "MaxRuntimeInSeconds": self.model.monitors[check].max_runtime_seconds
            },
            "RoleArn": r.role.role_arn,
            "Tags": [{"Key": t.key, "Value": t.value} for t in self._tags(check)],
        }

    def _clarify_image(self) -> str:
        stack = Stack.of(self)
        if not Token.is_unresolved(stack.region):
            return monitor_image_uri("clarify", stack.region)
        mapping = stack.node.try_find_child("MonitorImagesClarify")
        if not isinstance(mapping, CfnMapping):
            mapping = CfnMapping(
                stack,
                "MonitorImagesClarify",
                mapping={
                    region: {"uri": uri}
                    for region, uri in monitor_image_uri_by_region("clarify").items()
                },
            )
        return mapping.find_in_map(Aws.REGION, "uri")

    def _check(self, check: MonitorType) -> EvidentlyCheck:
        name = schedule_name_for(self.endpoint.endpoint_name, check)
        stack = Stack.of(self)
        step = self.engine.check_steps[check]
        if check in CLARIFY_CHECK_STEP_NAMES and self.engine.clarify:
            steps, request = self._on_clarify(check, name)
        else:
            request = self.job_request(check, name)
            steps = [{"Name": step, "Type": "Processing", "Arguments": request}]
        definition = {
            "Version": PIPELINE_DEFINITION_VERSION,
            "Metadata": {},
            "Parameters": [],
            "Steps": steps,
        }
        pipeline = sagemaker.CfnPipeline(
            self,
            f"{step}Pipeline",
            pipeline_name=name,
            pipeline_display_name=name,
            pipeline_description=(
                f"Evidently {check.replace('_', ' ')} check of endpoint "
                f"{self.endpoint.endpoint_name} (model {self.model.name})"
            ),
            role_arn=self.shared.pipeline_role.role_arn,
            pipeline_definition={"PipelineDefinitionBody": stack.to_json_string(definition)},
            tags=self._tags(check),
        )
        # SageMaker validates the role and the endpoint's data when a run starts, and the
        # run must never read a baseline the deploy-time check has not confirmed.
        pipeline.node.add_dependency(self.shared.pipeline_role, self.baselines.resource)
        if self.shared.mlflow_logging is not None:
            pipeline.node.add_dependency(self.shared.mlflow_logging)
        pipeline_arn = stack.format_arn(
            service="sagemaker", resource="pipeline", resource_name=name
        )
        self.shared.allow_start(pipeline_arn)
        interval_seconds = self._interval_hours(check) * 3600
        schedule = self.shared.start_on_schedule(
            self,
            f"{step}Schedule",
            pipeline=pipeline,
            pipeline_arn=pipeline_arn,
            expression=self.model.monitors[check].expression,
            interval_seconds=interval_seconds,
            description=f"Runs pipeline {name} on the model's {check} schedule",
        )
        return EvidentlyCheck(
            monitor_type=check, name=name, pipeline=pipeline, schedule=schedule, job_request=request
        )


__all__: Sequence[str] = (
    "DependencyNotShippedError",
    "EvidentlyEngine",
    "EvidentlyMonitors",
    "check_wheelhouse",
)

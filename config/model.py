"""Typed model of an organisation's governance configuration.

Everything a platform team may change lives here; the YAML file is validated against it at
synth time, so a bad value stops synth with the field path, the value and what is allowed, in
words. Values that become AWS API parameters are checked against botocore's shapes for the API
that CloudFormation's handler calls (:mod:`config.api_constraints`); names the app composes from
config are checked against their service's limits (:mod:`config.names`); schedules against the
forms SageMaker documents (:mod:`config.schedules`); regions against the monitoring images the
pinned SageMaker SDK has (:mod:`cdk_constructs.monitoring.images`, the one list of regions).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    field_validator,
    model_validator,
)

from cdk_constructs import tags
from cdk_constructs.monitoring.images import IMAGE_KIND_BY_MONITOR_TYPE, ImageKind, image_regions
from cdk_constructs.partitions import partition_of
from config import names
from config.api_constraints import ApiParameter
from config.batch import BatchScoring
from config.issues import Issue, raise_issues
from config.schedules import HOURLY, check_schedule, schedule_interval_hours
from config.training import Training, framework_image_problem, quality_metric_problem
from governance.contracts.vocabulary import DataClassification, Evidence, ProblemType, RiskTier
from monitoring_jobs.evidently_check import BIAS_METRICS as EVIDENTLY_BIAS_METRICS
from monitoring_jobs.evidently_check import QUALITY_METRICS as EVIDENTLY_QUALITY_METRICS
from monitoring_jobs.evidently_check import (
    UNCOMPUTED_BIAS_METRICS as EVIDENTLY_UNCOMPUTED_BIAS_METRICS,
)

# -- values with a rule in words --------------------------------------------------------------


def _matching(pattern: str, words: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"must be {words}")
        return value

    return AfterValidator(check)


NAME_RULE = (
    "lowercase letters, digits and hyphens, starting with a letter and ending with a letter or "
    "digit, 2-40 characters"
)
Name = Annotated[str, _matching(r"[a-z][a-z0-9-]{0,38}[a-z0-9]", NAME_RULE)]
"""Lower-case kebab case, 2-40 characters: safe in stack names, group names and tags."""


def _quoted_account(value: object) -> object:
    # YAML reads an unquoted account id as a number, and one with a leading zero as octal.
    if isinstance(value, bool) or not isinstance(value, int):
        return value
    source = str(getattr(value, "yaml_source", value))
    if source.startswith("0") and source != "0" and source.isdigit():
        raise ValueError(
            f"must be 12 digits in quotes: YAML read the unquoted {source} as the octal number "
            f'{value}; write it as "{source}"'
        )
    raise ValueError(
        f'must be 12 digits in quotes: YAML read {source} as a number; write it as "{source}"'
    )


AccountId = Annotated[
    str,
    BeforeValidator(_quoted_account),
    _matching(r"\d{12}", "an AWS account id: 12 digits, in quotes"),
]


@cache
def monitor_image_regions() -> Mapping[ImageKind, frozenset[str]]:
    """Per monitoring image, the regions the pinned SageMaker SDK has it in."""
    return MappingProxyType(
        {kind: frozenset(image_regions(kind)) for kind in ("model-monitor", "clarify")}
    )


def _region_with_images(value: str) -> str:
    regions = monitor_image_regions()
    known = sorted(set().union(*regions.values()))
    if value not in known:
        closest = difflib.get_close_matches(value, known, n=1)
        hint = f"did you mean {closest[0]!r}? " if closest else ""
        raise ValueError(
            f"must be a region the sagemaker SDK has Model Monitor or Clarify images for; "
            f"{hint}allowed: {', '.join(known)}"
        )
    return value


Region = Annotated[str, AfterValidator(_region_with_images)]


# Values that become SageMaker API parameters (through CloudFormation's handlers).
ENDPOINT_INSTANCE_TYPE = ApiParameter(
    "sagemaker", "CreateEndpointConfig", "ProductionVariants.InstanceType"
)
MONITOR_INSTANCE_TYPE = ApiParameter(
    "sagemaker", "CreateDataQualityJobDefinition", "JobResources.ClusterConfig.InstanceType"
)
MONITOR_MAX_RUNTIME = ApiParameter(
    "sagemaker", "CreateDataQualityJobDefinition", "StoppingCondition.MaxRuntimeInSeconds"
)
CAPTURE_PERCENTAGE = ApiParameter(
    "sagemaker", "CreateEndpointConfig", "DataCaptureConfig.InitialSamplingPercentage"
)
GROUND_TRUTH_URI = ApiParameter(
    "sagemaker",
    "CreateModelQualityJobDefinition",
    "ModelQualityJobInput.GroundTruthS3Input.S3Uri",
)
PACKAGE_NAME = ApiParameter("sagemaker", "CreateModel", "Containers.ModelPackageName")
PIPELINE_NAME = ApiParameter("sagemaker", "CreatePipeline", "PipelineName")
GROUP_DESCRIPTION = ApiParameter(
    "sagemaker", "CreateModelPackageGroup", "ModelPackageGroupDescription"
)
TAG_KEY = ApiParameter("sagemaker", "AddTags", "Tags.Key")
TAG_VALUE = ApiParameter("sagemaker", "AddTags", "Tags.Value")
TAG_LIST = ApiParameter("sagemaker", "AddTags", "Tags")
METRIC_NAME = ApiParameter("cloudwatch", "PutMetricAlarm", "MetricName")

EndpointInstanceType = Annotated[str, AfterValidator(ENDPOINT_INSTANCE_TYPE.check)]
MonitorInstanceType = Annotated[str, AfterValidator(MONITOR_INSTANCE_TYPE.check)]
MonitorMaxRuntime = Annotated[
    int, Field(ge=60), AfterValidator(MONITOR_MAX_RUNTIME.check)
]  # under a minute no monitoring job can pull its image and read the capture
CapturePercentage = Annotated[int, Field(ge=1), AfterValidator(CAPTURE_PERCENTAGE.check)]
InstanceCount = Annotated[int, Field(ge=1, le=20)]
"""At most 20 instances: a governance guard-rail on cost, not an AWS limit."""
S3_URI_RULE = "an s3:// URI of a bucket and a key or prefix, e.g. s3://bucket/prefix/"
S3Uri = Annotated[str, _matching(r"s3://[a-z0-9.\-]{3,63}/.+", S3_URI_RULE)]
GroundTruthUri = Annotated[S3Uri, AfterValidator(GROUND_TRUTH_URI.check)]
PipelineName = Annotated[str, AfterValidator(PIPELINE_NAME.check)]
TagKey = Annotated[str, AfterValidator(TAG_KEY.check)]
TagValue = Annotated[str, AfterValidator(TAG_VALUE.check)]
ScheduleExpression = Annotated[str, AfterValidator(check_schedule)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# -- environments -----------------------------------------------------------------------------

# Lambda's LayerVersionArn shape (botocore ``lambda`` service model, anchored here).
_LAYER_VERSION_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d:"
    r"\d{12}:layer:[a-zA-Z0-9_-]+:\d+$"
)


class HandlerSettings(_Strict):
    """Account-dependent settings of the governance Lambda functions of one environment."""

    reserved_concurrency: int | None = Field(
        default=None,
        ge=1,
        description="concurrent executions reserved for each governance function; default: "
        "none. Lambda keeps at least 100 executions of the account's concurrency unreserved "
        "and new accounts start with a reduced concurrency quota (Lambda developer guide, "
        "'Lambda quotas' and 'Configuring reserved concurrency'), so a reservation fails the "
        "deployment in such accounts; set it only where the quota leaves room",
    )
    powertools_layer_arn: str | None = Field(
        default=None,
        description="Powertools for AWS Lambda (Python) layer version ARN to use instead of "
        "the one Powertools publishes for the pinned library version (required outside the "
        "aws partition, where Powertools publishes no SSM parameter)",
    )

    @field_validator("powertools_layer_arn")
    @classmethod
    def _layer_arn(cls, value: str | None) -> str | None:
        if value is not None and not _LAYER_VERSION_ARN.match(value):
            raise ValueError(
                f"{value!r} is not a Lambda layer version ARN; expected "
                "'arn:<partition>:lambda:<region>:<12-digit account>:layer:<name>:<version>'"
            )
        return value


class MonitoringEngineName(StrEnum):
    """Which engine runs an environment's monitoring checks (README, "Choosing an engine")."""

    MODEL_MONITOR = "model-monitor"
    """SageMaker Model Monitor schedules: only for accounts that already use Model Monitor
    ("Amazon SageMaker Model Monitor is no longer open to new customers", developer guide,
    model-monitor-availability-change)."""
    EVIDENTLY = "evidently"
    """AWS's documented replacement: Evidently AI presets in scheduled SageMaker processing jobs
    (a SageMaker Pipeline started by EventBridge Scheduler), alerting through CloudWatch/SNS."""


_EVERY_PROBLEM_TYPE = frozenset(ProblemType)
# The checks each engine runs, and for which problem types (README, "Choosing an engine").
# Model Monitor: its four monitor types for every problem type its model-quality job accepts.
# Evidently: data quality (DataDriftPreset / DataSummaryPreset) and model quality
# (ClassificationPreset / RegressionPreset) for every type; bias as Clarify's bias metrics per
# segment of the facet, computed in the job (AWS's replacement guidance: "per-segment metrics
# for bias"), for every type (a Regression label_value is the threshold above which an outcome
# is favourable, as in clarify.BiasConfig); explainability for none (ENGINE_REFUSALS).
ENGINE_CHECK_PROBLEM_TYPES: Mapping[MonitoringEngineName, Mapping[str, frozenset[ProblemType]]] = (
    MappingProxyType(
        {
            MonitoringEngineName.MODEL_MONITOR: MappingProxyType(
                {
                    check: _EVERY_PROBLEM_TYPE
                    for check in ("data_quality", "model_quality", "bias", "explainability")
                }
            ),
            MonitoringEngineName.EVIDENTLY: MappingProxyType(
                {
                    "data_quality": _EVERY_PROBLEM_TYPE,
                    "model_quality": _EVERY_PROBLEM_TYPE,
                    "bias": _EVERY_PROBLEM_TYPE,
                    "explainability": frozenset(),
                }
            ),
        }
    )
)
# Why an engine refuses a check for a problem type, in words for the error message.
ENGINE_REFUSALS: Mapping[tuple[MonitoringEngineName, str], str] = MappingProxyType(
    {
        (MonitoringEngineName.EVIDENTLY, "explainability"): (
            "explainability needs SHAP values from calls to the model; SageMaker Clarify, which "
            "computes them for the Model Monitor engine, is no longer open to new customers "
            "(SageMaker developer guide, clarify-availability-change), and AWS's Model Monitor "
            "replacement guidance names no explainability check; an account that already uses "
            "SageMaker Clarify can opt in with environments[].clarify_existing_customer: true, "
            "which runs it as a Clarify processing job"
        ),
    }
)
# The checks each engine runs for at least one problem type.
ENGINE_CHECKS: Mapping[MonitoringEngineName, frozenset[str]] = MappingProxyType(
    {
        engine: frozenset(check for check, types in table.items() if types)
        for engine, table in ENGINE_CHECK_PROBLEM_TYPES.items()
    }
)


# "Amazon SageMaker Clarify is no longer open to new customers. Existing customers can continue
# to use the service as normal." (SageMaker developer guide, note on the Clarify pages, and
# clarify-availability-change.) An evidently environment whose account is such an existing
# customer runs explainability and bias as Clarify processing jobs: every problem type, as the
# Model Monitor engine's Clarify jobs do (bias runs in the job elsewhere).
CLARIFY_CHECKS: Mapping[str, frozenset[ProblemType]] = MappingProxyType(
    {"explainability": _EVERY_PROBLEM_TYPE, "bias": _EVERY_PROBLEM_TYPE}
)


def engine_check_problem(
    engine: MonitoringEngineName,
    check: str,
    problem_type: ProblemType,
    *,
    clarify_existing_customer: bool = False,
) -> str | None:
    """Why ``engine`` cannot run ``check`` for ``problem_type``, or None when it can.
    ``clarify_existing_customer`` adds :data:`CLARIFY_CHECKS` to the evidently engine."""
    types = ENGINE_CHECK_PROBLEM_TYPES[engine].get(check, frozenset())
    if clarify_existing_customer and engine is MonitoringEngineName.EVIDENTLY:
        types = types | CLARIFY_CHECKS.get(check, frozenset())
    if problem_type in types:
        return None
    runnable = sorted(c for c, t in ENGINE_CHECK_PROBLEM_TYPES[engine].items() if problem_type in t)
    reason = ENGINE_REFUSALS.get((engine, check))
    if reason is None:
        reason = f"it runs {check} for {', '.join(sorted(types)) or 'no problem type'}"
    return (
        f"the {check} check cannot run on the {engine.value!r} engine for a "
        f"{problem_type.value} model: {reason}; allowed for {problem_type.value} on this "
        f"engine: {', '.join(runnable)}"
    )


# The ARN of the SageMaker AI MLflow App or MLflow tracking server a monitoring check logs to
# (botocore sagemaker service model: MlflowAppArn and TrackingServerArn patterns, anchored).
MLFLOW_ARN_PATTERNS = (
    re.compile(r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:mlflow-app/.*$"),
    re.compile(r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:mlflow-tracking-server/.*$"),
)
MLFLOW_ARN_MAX_LENGTH = {"mlflow-app": 128, "mlflow-tracking-server": 2048}


class Environment(_Strict):
    name: Name
    monitoring_engine: MonitoringEngineName = Field(
        default=MonitoringEngineName.MODEL_MONITOR,
        description="model-monitor (accounts that already use SageMaker Model Monitor) or "
        "evidently (Evidently AI in scheduled SageMaker processing jobs, AWS's documented "
        "replacement, open to every account)",
    )
    mlflow_tracking_arn: str | None = Field(
        default=None,
        description="SageMaker AI MLflow App (arn:...:mlflow-app/...) or MLflow tracking server "
        "(arn:...:mlflow-tracking-server/...) the evidently engine's checks log each run to; "
        "omitted = results are kept in the monitoring bucket only",
    )
    clarify_existing_customer: bool = Field(
        default=False,
        description="true only if this environment's account already uses SageMaker Clarify, "
        "which is no longer open to new customers (existing customers continue as normal): the "
        "evidently engine then runs explainability as a Clarify processing job; evidently only",
    )
    account: AccountId | None = Field(
        default=None, description="12-digit account id in quotes; omitted = any account"
    )
    region: Region | None = Field(default=None, description="AWS region; omitted = any region")
    handlers: HandlerSettings = Field(
        default_factory=HandlerSettings,
        description="reserved concurrency and Powertools layer of the governance functions",
    )
    availability_zones: list[str] | None = Field(
        default=None,
        min_length=2,
        description="AZs for the isolated subnets; default: the region's first two, chosen by "
        "CloudFormation at deploy time (no lookup at synth)",
    )

    @model_validator(mode="after")
    def _zones_in_region(self) -> Environment:
        if self.availability_zones and self.region:
            issues = [
                Issue(
                    ("availability_zones", index),
                    f"must be a zone of region {self.region} (e.g. {self.region}a)",
                    zone,
                )
                for index, zone in enumerate(self.availability_zones)
                if not re.fullmatch(rf"{re.escape(self.region)}[a-z]", zone)
            ]
            raise_issues(issues)
        return self

    @field_validator("mlflow_tracking_arn")
    @classmethod
    def _mlflow_arn(cls, value: str | None) -> str | None:
        if value is None:
            return value
        kind = value.split(":")[5].split("/")[0] if value.count(":") >= 5 else ""
        if not any(p.match(value) for p in MLFLOW_ARN_PATTERNS):
            raise ValueError(
                f"{value!r} is not a SageMaker AI MLflow App or tracking server ARN; expected "
                "'arn:<partition>:sagemaker:<region>:<12-digit account>:mlflow-app/<id>' or "
                "'...:mlflow-tracking-server/<name>'"
            )
        if len(value) > MLFLOW_ARN_MAX_LENGTH[kind]:
            raise ValueError(
                f"{value!r} has {len(value)} characters; a {kind} ARN has at most "
                f"{MLFLOW_ARN_MAX_LENGTH[kind]}"
            )
        return value

    @model_validator(mode="after")
    def _clarify_only_for_evidently(self) -> Environment:
        if self.clarify_existing_customer and (
            self.monitoring_engine is not MonitoringEngineName.EVIDENTLY
        ):
            raise ValueError(
                f"clarify_existing_customer is true, but monitoring_engine is "
                f"{self.monitoring_engine.value!r}; allowed: only with monitoring_engine "
                "evidently (the model-monitor engine runs its explainability monitor on Clarify "
                "already)"
            )
        return self

    @model_validator(mode="after")
    def _mlflow_in_this_environment(self) -> Environment:
        arn = self.mlflow_tracking_arn
        if arn is None:
            return self
        if self.monitoring_engine is not MonitoringEngineName.EVIDENTLY:
            raise ValueError(
                f"mlflow_tracking_arn {arn!r} is set, but monitoring_engine is "
                f"{self.monitoring_engine.value!r}; allowed: only with monitoring_engine "
                "evidently, whose checks log to MLflow (Model Monitor keeps its reports in S3)"
            )
        _, partition, _, region, account, _ = arn.split(":", 5)
        for field_name, mine, theirs in (
            ("region", self.region, region),
            ("account", self.account, account),
        ):
            if mine is not None and theirs != mine:
                raise ValueError(
                    f"mlflow_tracking_arn {arn!r} is in {field_name} {theirs}; allowed: an "
                    f"MLflow App of this environment's {field_name} ({mine}), which the jobs "
                    "reach through the VPC's endpoint"
                )
        if self.region is not None and partition != partition_of(self.region):
            raise ValueError(
                f"mlflow_tracking_arn {arn!r} is in partition {partition}; allowed: "
                f"{partition_of(self.region)} (the partition of region {self.region})"
            )
        return self

    @model_validator(mode="after")
    def _layer_matches_region(self) -> Environment:
        layer = self.handlers.powertools_layer_arn
        if self.region is None:
            return self
        if layer is not None:
            layer_region = layer.split(":")[3]
            if layer_region != self.region:
                raise ValueError(
                    f"handlers.powertools_layer_arn {layer!r} is in region {layer_region}; a "
                    f"function can only use a layer of its own region ({self.region})"
                )
            return self
        partition = partition_of(self.region)
        if partition != "aws":
            raise ValueError(
                f"handlers.powertools_layer_arn is required in region {self.region} (partition "
                f"{partition}): Powertools publishes its layer ARNs as SSM parameters only in "
                "the aws partition; give the AWSLambdaPowertoolsPythonV3-python314-x86_64 layer "
                "version of the pinned Powertools release from the Powertools installation docs "
                "(AWS GovCloud / China regions)"
            )
        return self

    def zones(self) -> list[str] | None:
        """Configured AZs; None lets CloudFormation pick two (``Fn::GetAZs``) at deploy time."""
        return list(self.availability_zones) if self.availability_zones else None

    @property
    def partition(self) -> str | None:
        """The region's partition (aws, aws-cn, aws-us-gov...) from botocore, or None."""
        return None if self.region is None else partition_of(self.region)

    def may_share_account_and_region_with(self, other: Environment) -> bool:
        """Could both be deployed to one account and region (an omitted value matches any)?"""
        return all(
            mine is None or theirs is None or mine == theirs
            for mine, theirs in ((self.account, other.account), (self.region, other.region))
        )

    def describe(self) -> str:
        return (
            f"account {self.account or '(any)'}, region {self.region or '(any)'}"
            if self.account or self.region
            else "any account and region"
        )


# -- governance policy ------------------------------------------------------------------------

# Clarify pre-training and post-training bias metrics, with the range each can take.
# DI is a ratio in [0, inf); the others are differences or divergences bounded as below.
BIAS_METRIC_RANGES: dict[str, tuple[float, float]] = {
    "CI": (-1.0, 1.0),
    "DPL": (-1.0, 1.0),
    "KL": (0.0, float("inf")),
    "JS": (0.0, 1.0),
    "LP": (0.0, float("inf")),
    "TVD": (0.0, 1.0),
    "KS": (0.0, 1.0),
    "CDDL": (-1.0, 1.0),
    "DPPL": (-1.0, 1.0),
    "DI": (0.0, float("inf")),
    "DCA": (-1.0, 1.0),
    "DCR": (-1.0, 1.0),
    "RD": (-1.0, 1.0),
    "DAR": (-1.0, 1.0),
    "DRR": (-1.0, 1.0),
    "AD": (-1.0, 1.0),
    "CDDPL": (-1.0, 1.0),
    "TE": (-1.0, 1.0),
    "FT": (-1.0, 1.0),
}


class Threshold(_Strict):
    """The closed interval a bias metric must stay within."""

    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> Threshold:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) must not exceed max ({self.max})")
        return self


class ObjectLockMode(StrEnum):
    GOVERNANCE = "GOVERNANCE"
    COMPLIANCE = "COMPLIANCE"


class ApprovalFailureStatus(StrEnum):
    REJECTED = "Rejected"
    PENDING = "PendingManualApproval"


DEFAULT_REQUIRED_EVIDENCE = (
    Evidence.MODEL_QUALITY_METRICS,
    Evidence.DRIFT_CHECK_BASELINES,
    Evidence.MODEL_CARD_APPROVED,
    Evidence.APPROVAL_DESCRIPTION,
    Evidence.SEPARATE_APPROVER,
)
"""What every model needs by default, whatever its risk tier."""


class TierApproval(_Strict):
    """What a risk tier requires on top of the evidence every model needs."""

    required_evidence: list[Evidence] = Field(default_factory=list)
    on_failure: ApprovalFailureStatus | None = Field(
        default=None, description="default: governance.approval.on_failure"
    )


DEFAULT_TIERS: Mapping[RiskTier, TierApproval] = MappingProxyType(
    {
        RiskTier.HIGH: TierApproval(
            required_evidence=[Evidence.BIAS_REPORT, Evidence.EXPLAINABILITY_REPORT]
        ),
        RiskTier.MEDIUM: TierApproval(),
        RiskTier.LOW: TierApproval(),
    }
)
"""High-risk models need bias and explainability evidence unless the organisation says otherwise."""


class ApprovalPolicy(_Strict):
    required_evidence: list[Evidence] = Field(
        default_factory=lambda: list(DEFAULT_REQUIRED_EVIDENCE),
        description="evidence every model needs, whatever its risk tier",
    )
    on_failure: ApprovalFailureStatus = ApprovalFailureStatus.REJECTED
    risk_tiers: dict[RiskTier, TierApproval] = Field(
        default_factory=dict,
        description="evidence each tier adds; a tier left out keeps its default (high: bias "
        "and explainability reports; medium and low: nothing)",
    )

    def tier(self, tier: RiskTier) -> TierApproval:
        return self.risk_tiers.get(tier, DEFAULT_TIERS[tier])


class ModelApproval(_Strict):
    """One model's deviations from its risk tier's approval policy."""

    add_evidence: list[Evidence] = Field(default_factory=list)
    waive_evidence: list[Evidence] = Field(default_factory=list)
    reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="why evidence is waived: required with waive_evidence, shown to reviewers",
    )
    on_failure: ApprovalFailureStatus | None = None

    @model_validator(mode="after")
    def _waiver_has_reason(self) -> ModelApproval:
        issues = []
        if self.waive_evidence and not self.reason:
            issues.append(
                Issue(
                    ("reason",),
                    "is required when waive_evidence is set: say why this model may be approved "
                    "without that evidence (reviewers read it in the report)",
                )
            )
        both = sorted(set(self.add_evidence) & set(self.waive_evidence))
        if both:
            issues.append(
                Issue(("waive_evidence",), "must not also be in add_evidence", [*map(str, both)])
            )
        raise_issues(issues)
        return self


@dataclass(frozen=True)
class EffectiveApproval:
    """What the approval gate requires of one model: its tier's policy with its own deviations.

    ``sources`` says, for each required kind of evidence, which config entry requires it.
    Bias evidence, the bias thresholds and the protected attribute come together or not at all:
    the gate checks thresholds whenever any are given, so a model that requires no bias report
    gets none.
    """

    required_evidence: tuple[Evidence, ...]
    on_failure: ApprovalFailureStatus
    bias_thresholds: Mapping[str, Threshold]
    bias_facet: BiasFacet | None
    sources: Mapping[Evidence, str]
    waived: tuple[Evidence, ...]
    waiver_reason: str | None

    def summary(self) -> str:
        """One line for people: tier, evidence and any waiver with its reason."""
        waiver = f"; waived {', '.join(self.waived)}: {self.waiver_reason}" if self.waived else ""
        return (
            f"requires {', '.join(self.required_evidence) or 'no evidence'}; "
            f"on failure {self.on_failure}{waiver}"
        )


class GovernancePolicy(_Strict):
    approval: ApprovalPolicy = ApprovalPolicy()
    bias_thresholds: dict[str, Threshold] = Field(
        description="Clarify bias metric name -> allowed interval, for models that require "
        "bias evidence and for bias-drift alarms",
        min_length=1,
    )
    audit_retention_days: int = Field(ge=1, le=36500)
    audit_object_lock_mode: ObjectLockMode = ObjectLockMode.COMPLIANCE
    alert_emails: list[EmailStr] = Field(min_length=1)

    @field_validator("bias_thresholds")
    @classmethod
    def _known_metrics_in_range(cls, value: dict[str, Threshold]) -> dict[str, Threshold]:
        issues = []
        for metric, threshold in value.items():
            if metric not in BIAS_METRIC_RANGES:
                closest = difflib.get_close_matches(metric, BIAS_METRIC_RANGES, n=1)
                hint = f"did you mean {closest[0]!r}? " if closest else ""
                issues.append(
                    Issue(
                        (metric,),
                        f"is not a Clarify bias metric; {hint}allowed: "
                        + ", ".join(BIAS_METRIC_RANGES),
                        metric,
                    )
                )
                continue
            low, high = BIAS_METRIC_RANGES[metric]
            if threshold.min < low or threshold.max > high:
                issues.append(
                    Issue(
                        (metric,),
                        f"[{threshold.min}, {threshold.max}] is outside the metric's range "
                        f"[{low}, {high}]",
                    )
                )
        raise_issues(issues)
        return value

    def effective_approval(self, model: ModelConfig) -> EffectiveApproval:
        """The approval policy the gate applies to ``model`` (see :class:`EffectiveApproval`)."""
        tier = self.approval.tier(model.risk_tier)
        own = model.approval or ModelApproval()
        sources: dict[Evidence, str] = {}
        for evidence in self.approval.required_evidence:
            sources.setdefault(evidence, "governance.approval.required_evidence")
        for evidence in tier.required_evidence:
            sources.setdefault(evidence, f"governance.approval.risk_tiers.{model.risk_tier.value}")
        for evidence in own.add_evidence:
            sources.setdefault(evidence, "approval.add_evidence")
        waived = tuple(e for e in Evidence if e in own.waive_evidence and e in sources)
        for evidence in waived:
            del sources[evidence]
        required = tuple(e for e in Evidence if e in sources)
        biased = Evidence.BIAS_REPORT in sources
        return EffectiveApproval(
            required_evidence=required,
            on_failure=own.on_failure or tier.on_failure or self.approval.on_failure,
            bias_thresholds=MappingProxyType(dict(self.bias_thresholds) if biased else {}),
            bias_facet=model.bias if biased else None,
            sources=MappingProxyType({e: sources[e] for e in required}),
            waived=waived,
            waiver_reason=own.reason if waived else None,
        )


# -- models -----------------------------------------------------------------------------------


class Owner(_Strict):
    team: TagValue = Field(min_length=1, description="also the value of the owner tag")
    email: EmailStr


class Feature(_Strict):
    name: str = Field(min_length=1)
    type: Literal["numeric", "categorical", "text", "boolean"]

    @field_validator("name")
    @classmethod
    def _fits_a_metric_name(cls, value: str) -> str:
        # Model Monitor publishes each feature's drift as feature_baseline_drift_<name>.
        problem = METRIC_NAME.violation(f"feature_baseline_drift_{value}")
        if problem is not None:
            raise ValueError(
                f"makes the CloudWatch metric name feature_baseline_drift_{value}, which "
                f"{problem} [{METRIC_NAME.source}]"
            )
        return value


class DatasetSchema(_Strict):
    features: list[Feature] = Field(min_length=1)
    label: str = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_features(self) -> DatasetSchema:
        names_ = [f.name for f in self.features]
        duplicates = sorted({n for n in names_ if names_.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate feature names: {duplicates}")
        if self.label in names_:
            raise ValueError(f"label {self.label!r} must not also be a feature")
        return self


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class BiasFacet(_Strict):
    """The protected attribute Clarify measures bias against."""

    label: str = Field(min_length=1, description="target column")
    label_value: int | float | str = Field(description="the favourable outcome value")
    facet: str = Field(min_length=1, description="protected attribute column")
    facet_value: int | float | str = Field(description="the sensitive group's value")


class Schedule(_Strict):
    enabled: bool = True
    schedule: ScheduleExpression = Field(
        default=HOURLY,
        description="hourly cron(0 * ? * * *), daily cron(0 H ? * * *) or every N hours "
        "cron(0 H/N ? * * *): the forms SageMaker Model Monitor accepts",
    )


class Monitoring(_Strict):
    data_quality: Schedule = Schedule()
    model_quality: Schedule = Schedule(schedule="cron(0 0 ? * * *)")
    bias: Schedule = Schedule(schedule="cron(0 0 ? * * *)")
    explainability: Schedule = Schedule(schedule="cron(0 0 ? * * *)")

    def enabled_types(self) -> tuple[str, ...]:
        """Enabled monitors in the order data_quality, model_quality, bias, explainability."""
        return tuple(t for t in type(self).model_fields if getattr(self, t).enabled)


# ISO 8601 durations in the three forms the model-quality scheduling guide allows for
# StartTimeOffset / EndTimeOffset ("-PT#H or -P#D, where H=hours, D=days, and M=minutes");
# botocore MonitoringTimeOffsetString: 1-15 characters.
_OFFSET = re.compile(r"^-P(?:(\d+)D|T(\d+)H|T(\d+)M)$")


def offset_seconds(offset: str) -> int:
    """Seconds of a ground-truth offset such as ``-P1D`` (negative); ValueError otherwise."""
    found = _OFFSET.match(offset)
    if found is None or len(offset) > 15:
        raise ValueError(
            f"{offset!r} is not a monitoring time offset; allowed: a negative ISO 8601 duration "
            "of whole days, hours or minutes, at most 15 characters, e.g. '-P1D', '-PT6H', "
            "'-PT30M' (or '-PT0H' for no offset)"
        )
    days, hours, minutes = (int(g) if g else 0 for g in found.groups())
    return -(days * 86400 + hours * 3600 + minutes * 60)


class GroundTruthWindow(_Strict):
    """Which captured predictions a model-quality or bias run joins with ground truth.

    A run scheduled at T analyses the predictions captured between T + start_time_offset and
    T + end_time_offset (the job definition's EndpointInput.StartTimeOffset / EndTimeOffset),
    so labels that arrive later than the predictions still find them. The default gives labels
    one day to arrive and analyses one day of predictions, which suits the daily default
    schedule (AWS docs: "Schedule model quality monitoring jobs", model monitor offsets).
    """

    start_time_offset: str = Field(
        default="-P2D", description="negative ISO 8601 duration: days (-P#D), hours or minutes"
    )
    end_time_offset: str = Field(
        default="-P1D", description="negative ISO 8601 duration, later than start_time_offset"
    )

    @field_validator("start_time_offset", "end_time_offset")
    @classmethod
    def _offset(cls, value: str) -> str:
        offset_seconds(value)
        return value

    @model_validator(mode="after")
    def _ordered(self) -> GroundTruthWindow:
        if offset_seconds(self.start_time_offset) >= offset_seconds(self.end_time_offset):
            raise ValueError(
                f"start_time_offset {self.start_time_offset!r} must be earlier than "
                f"end_time_offset {self.end_time_offset!r} (e.g. -P8D and -P1D: a week of "
                "predictions whose labels had a day to arrive)"
            )
        return self

    @property
    def length_seconds(self) -> int:
        return offset_seconds(self.end_time_offset) - offset_seconds(self.start_time_offset)


# MonitoringStoppingCondition.MaxRuntimeInSeconds (botocore sagemaker model): at most 86,400 s
# and never longer than the schedule's interval; a model-quality or bias execution runs a
# ground-truth merge job and the monitoring job in that interval, so each may take half of it
# ("For model bias and model quality hourly schedules, this can be up to 1800 seconds").
MAX_MONITOR_RUNTIME_SECONDS = 86400
DEFAULT_MONITOR_RUNTIME_SECONDS = 3600
GROUND_TRUTH_MONITORS = frozenset({"model_quality", "bias"})


def max_runtime_limit(monitor_type: str, schedule: str) -> int:
    """The longest MaxRuntimeInSeconds ``schedule`` allows a ``monitor_type`` job."""
    hours = schedule_interval_hours(schedule)
    if hours is None:
        return MAX_MONITOR_RUNTIME_SECONDS
    interval = hours * 3600
    limit = interval // 2 if monitor_type in GROUND_TRUTH_MONITORS else interval
    return min(limit, MAX_MONITOR_RUNTIME_SECONDS)


_PACKAGE_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):sagemaker:(?P<region>[a-z0-9-]+):(?P<account>\d{12})"
    r":model-package/(?P<group>[A-Za-z0-9-]{1,63})/(?P<version>\d{1,9})"
)
PACKAGE_ARN_RULE = (
    "a model package version ARN, arn:<partition>:sagemaker:<region>:<account>:"
    "model-package/<group>/<version>"
)


def _package_arn(value: str) -> str:
    if value and not _PACKAGE_ARN.fullmatch(value):
        raise ValueError(f"must be {PACKAGE_ARN_RULE}")
    return PACKAGE_NAME.check(value) if value else value


class EndpointOutput(_Strict):
    """How monitors read the endpoint's response (CSV output by default)."""

    inference_attribute: str | None = Field(
        default=None, description="column index or JSON path of the prediction"
    )
    probability_attribute: str | None = Field(
        default=None, description="column index or JSON path of the score"
    )
    probability_threshold: float | None = Field(
        default=None, ge=0, le=1, description="score at and above which the prediction is 1"
    )


class Explainability(_Strict):
    """SHAP settings for the feature-attribution drift monitor."""

    baseline_s3_uri: S3Uri | None = None
    num_samples: int = Field(default=100, ge=1, le=10000)
    agg_method: Literal["mean_abs", "median", "mean_sq"] = "mean_abs"
    ndcg_threshold: float = Field(
        default=0.9,
        gt=0,
        le=1,
        description="feature attribution drift when the nDCG of the global SHAP ranking against "
        "the baseline falls below this (Model Monitor's documented default 0.90); used by the "
        "evidently engine's Clarify explainability check",
    )


class QualityFloor(_Strict):
    """The model-quality metric the alarm watches and the value it must not fall below."""

    metric: str = Field(min_length=1, description="a Model Monitor metric, e.g. auc, f1, r2")
    minimum: float


class EnvironmentServing(_Strict):
    """What one environment serves of a model: an approved version of that environment's group,
    and optionally its own sizing (anything left out is the deployment's)."""

    package_version: int = Field(
        ge=1,
        le=999_999_999,
        description="version number in the model's package group in this environment",
    )
    instance_type: EndpointInstanceType | None = None
    initial_instance_count: InstanceCount | None = None
    data_capture_percentage: CapturePercentage | None = None
    monitor_instance_type: MonitorInstanceType | None = None
    monitor_max_runtime_seconds: MonitorMaxRuntime | None = None


class Deployment(_Strict):
    """Serve an approved model package version and monitor it.

    Either ``environments`` says, per environment, which version of that environment's own
    package group to serve (and how to size it), or ``model_package_arn`` names one version for
    every environment, which then must all be in that ARN's account and region.
    """

    model_package_arn: Annotated[str, AfterValidator(_package_arn)] = Field(
        default="",
        description="one version for every environment (single-environment configs); "
        "empty when environments is used",
    )
    environments: dict[str, EnvironmentServing | None] = Field(
        default_factory=dict,
        description="environment name -> the version it serves (and sizing overrides); an "
        "environment left out, or mapped to null, serves no version of this model",
    )
    instance_type: EndpointInstanceType = "ml.m5.xlarge"
    initial_instance_count: InstanceCount = 1
    data_capture_percentage: CapturePercentage = 100
    output: EndpointOutput = EndpointOutput()
    ground_truth_s3_uri: GroundTruthUri | None = None
    monitor_instance_type: MonitorInstanceType = "ml.m5.xlarge"
    monitor_max_runtime_seconds: MonitorMaxRuntime | None = Field(
        default=None,
        description="MaxRuntimeInSeconds of every monitoring job; default: per monitor, the "
        "longest its schedule allows, at most one hour (half the interval for model quality "
        "and bias, whose runs include a ground-truth merge job)",
    )
    ground_truth_window: GroundTruthWindow = Field(
        default_factory=GroundTruthWindow,
        description="StartTimeOffset/EndTimeOffset of the model-quality and bias monitors",
    )
    explainability: Explainability = Explainability()
    model_quality_floor: QualityFloor | None = Field(
        default=None,
        description="default: auc >= 0.7 (binary), weighted_f1 >= 0.7 (multiclass); "
        "required for regression",
    )
    retraining_pipeline_name: PipelineName | None = None

    @model_validator(mode="after")
    def _one_way_to_name_the_version(self) -> Deployment:
        if self.model_package_arn and self.environments:
            raise_issues(
                [
                    Issue(
                        ("model_package_arn",),
                        "give either model_package_arn (one version for every environment) or "
                        "environments (a version per environment), not both",
                        self.model_package_arn,
                    )
                ]
            )
        if not self.model_package_arn and not self.environments:
            raise_issues(
                [
                    Issue(
                        ("environments",),
                        "is required: say which package version each environment serves, e.g. "
                        "environments: {prod: {package_version: 3}} (or give "
                        "model_package_arn for a single environment)",
                    )
                ]
            )
        return self

    def serving(self, environment: str) -> EnvironmentServing | None:
        """The per-environment entry; None when ``model_package_arn`` applies or none is served."""
        return self.environments.get(environment)

    def serves_in(self, environment: str) -> bool:
        return bool(self.model_package_arn) or self.environments.get(environment) is not None


class ModelConfig(_Strict):
    name: Name
    description: str = Field(min_length=1)
    owner: Owner
    risk_tier: RiskTier
    data_classification: DataClassification
    problem_type: ProblemType
    intended_uses: str = Field(min_length=1)
    dataset_schema: DatasetSchema
    bias: BiasFacet | None = None
    consumer_accounts: list[AccountId] = Field(default_factory=list)
    monitoring: Monitoring = Monitoring()
    approval: ModelApproval | None = None
    deployment: Deployment | None = None
    training: Training | None = Field(
        default=None,
        description="a governed training pipeline for this model (AWS::SageMaker::Pipeline)",
    )
    batch: BatchScoring | None = Field(
        default=None,
        description="scheduled batch scoring, captured and checked (config/batch.py)",
    )

    @field_validator("description")
    @classmethod
    def _fits_the_group_description(cls, value: str) -> str:
        return GROUP_DESCRIPTION.check(value)

    @model_validator(mode="after")
    def _deployment_matches_model(self) -> ModelConfig:
        deployment = self.deployment
        if deployment is None:
            return self
        issues = []
        arn = _PACKAGE_ARN.fullmatch(deployment.model_package_arn)
        if arn is not None and arn["group"] != self.name:
            issues.append(
                Issue(
                    ("deployment", "model_package_arn"),
                    f"names package group {arn['group']!r}; it must be a version of this "
                    f"model's own group {self.name!r}",
                    deployment.model_package_arn,
                )
            )
        if (
            self.monitoring.model_quality.enabled
            and self.problem_type is ProblemType.REGRESSION
            and deployment.model_quality_floor is None
        ):
            issues.append(
                Issue(
                    ("deployment", "model_quality_floor"),
                    "is required for Regression models while monitoring.model_quality is "
                    "enabled (e.g. {metric: r2, minimum: 0.5})",
                )
            )
        if self.monitoring.bias.enabled and self.bias is None:
            issues.append(
                Issue(
                    ("monitoring", "bias", "enabled"),
                    "is on (the default) but the model has no 'bias' section, so there is no "
                    "protected attribute to monitor: add the bias section or set "
                    "monitoring.bias: {enabled: false}",
                    True,
                )
            )
        needs_ground_truth = [
            monitor
            for monitor in ("model_quality", "bias")
            if getattr(self.monitoring, monitor).enabled
        ]
        if needs_ground_truth and not deployment.ground_truth_s3_uri:
            issues.append(
                Issue(
                    ("deployment", "ground_truth_s3_uri"),
                    f"is required while monitoring.{' and '.join(needs_ground_truth)} is "
                    "enabled (the monitor merges ground truth with captured predictions): "
                    f"{S3_URI_RULE}",
                )
            )
        raise_issues(issues)
        return self

    @model_validator(mode="after")
    def _batch_scores_a_served_version(self) -> ModelConfig:
        batch = self.batch
        if batch is None:
            return self
        issues = batch.issues(self.name)
        if self.deployment is None:
            issues.append(
                Issue(
                    ("batch",),
                    "needs a deployment section: batch scoring uses the approved version the "
                    "model's deployment serves in each environment (deployment.model_package_arn "
                    "or deployment.environments)",
                )
            )
        elif (
            batch.ground_truth_s3_uri
            and self.problem_type is ProblemType.REGRESSION
            and self.deployment.model_quality_floor is None
        ):
            issues.append(
                Issue(
                    ("deployment", "model_quality_floor"),
                    "is required for a Regression model whose batch section has "
                    "ground_truth_s3_uri (the batch model-quality check and its alarm need a "
                    "floor, e.g. {metric: r2, minimum: 0.5})",
                )
            )
        raise_issues(issues)
        return self

    @model_validator(mode="after")
    def _bias_facet_is_a_column(self) -> ModelConfig:
        if self.bias is None:
            return self
        features = sorted(f.name for f in self.dataset_schema.features)
        issues = []
        if self.bias.label != self.dataset_schema.label:
            issues.append(
                Issue(
                    ("bias", "label"),
                    f"must be the dataset_schema label {self.dataset_schema.label!r}",
                    self.bias.label,
                )
            )
        facet = next((f for f in self.dataset_schema.features if f.name == self.bias.facet), None)
        if facet is None:
            issues.append(
                Issue(
                    ("bias", "facet"),
                    f"is not a feature column; columns: {', '.join(features)}",
                    self.bias.facet,
                )
            )
        elif facet.type == "text":
            issues.append(
                Issue(
                    ("bias", "facet"),
                    "is a text feature, and Clarify measures bias against tabular columns; "
                    "allowed: a numeric, categorical or boolean feature",
                    self.bias.facet,
                )
            )
        # Clarify reads a numeric facet's value as the exclusive lower bound of the sensitive
        # group, and a Regression label value as the threshold above which an outcome is
        # favourable (clarify.BiasConfig, facet_values_or_threshold / label_values_or_threshold).
        elif facet.type == "numeric" and not _is_number(self.bias.facet_value):
            issues.append(
                Issue(
                    ("bias", "facet_value"),
                    f"must be a numeric threshold because facet {facet.name!r} is numeric; "
                    "allowed: a finite number, records above it form the sensitive group",
                    self.bias.facet_value,
                )
            )
        if self.problem_type is ProblemType.REGRESSION and not _is_number(self.bias.label_value):
            issues.append(
                Issue(
                    ("bias", "label_value"),
                    "must be a numeric threshold for a Regression model; allowed: a finite "
                    "number, predictions above it are the favourable outcome",
                    self.bias.label_value,
                )
            )
        raise_issues(issues)
        return self

    @model_validator(mode="after")
    def _monitors_fit_their_schedules(self) -> ModelConfig:
        deployment = self.deployment
        if deployment is None:
            return self
        configured: list[tuple[tuple[str | int, ...], int]] = []
        if deployment.monitor_max_runtime_seconds is not None:
            configured.append(
                (
                    ("deployment", "monitor_max_runtime_seconds"),
                    deployment.monitor_max_runtime_seconds,
                )
            )
        for environment, serving in deployment.environments.items():
            if serving is not None and serving.monitor_max_runtime_seconds is not None:
                configured.append(
                    (
                        ("deployment", "environments", environment, "monitor_max_runtime_seconds"),
                        serving.monitor_max_runtime_seconds,
                    )
                )
        window = deployment.ground_truth_window
        issues = []
        for monitor_type in self.monitoring.enabled_types():
            schedule: Schedule = getattr(self.monitoring, monitor_type)
            limit = max_runtime_limit(monitor_type, schedule.schedule)
            why = (
                "a run must end before the next one starts, and half the interval goes to the "
                "ground-truth merge job"
                if monitor_type in GROUND_TRUTH_MONITORS
                else "a run must end before the next one starts"
            )
            issues += [
                Issue(
                    path,
                    f"is longer than the monitoring.{monitor_type} schedule "
                    f"{schedule.schedule!r} allows: at most {limit} seconds ({why})",
                    seconds,
                )
                for path, seconds in configured
                if seconds > limit
            ]
            hours = schedule_interval_hours(schedule.schedule)
            if (
                monitor_type in GROUND_TRUTH_MONITORS
                and hours is not None
                and window.length_seconds < hours * 3600
            ):
                issues.append(
                    Issue(
                        ("deployment", "ground_truth_window"),
                        f"({window.start_time_offset} to {window.end_time_offset}) is shorter "
                        f"than the monitoring.{monitor_type} schedule's interval of {hours} h, so "
                        "predictions between two windows would never be evaluated; it must be at "
                        "least as long as the interval",
                    )
                )
        raise_issues(issues)
        return self

    @model_validator(mode="after")
    def _training_fits_the_model(self) -> ModelConfig:
        training = self.training
        if training is None:
            return self
        issues = []
        problem = quality_metric_problem(training, self.problem_type.value)
        if problem is not None:
            issues.append(
                Issue(
                    ("training", "quality_floor", "metric"), problem, training.quality_floor.metric
                )
            )
        if training.algorithm.framework is not None:
            # Built-in algorithms read numbers only: a category written as text stops training.
            for index, feature in enumerate(self.dataset_schema.features):
                if feature.type not in ("numeric", "boolean"):
                    issues.append(
                        Issue(
                            ("dataset_schema", "features", index, "type"),
                            f"is {feature.type!r}, but training.algorithm "
                            f"{training.algorithm.framework!r} reads numeric CSV only "
                            "(SageMaker developer guide, XGBoost input formats): encode "
                            "the column as numbers, or train with your own image_uri",
                            feature.type,
                        )
                    )
            if self.bias is not None:
                for field in ("label_value", "facet_value"):
                    value = getattr(self.bias, field)
                    if isinstance(value, str):
                        issues.append(
                            Issue(
                                ("bias", field),
                                f"is text, but training.algorithm "
                                f"{training.algorithm.framework!r} trains on numeric CSV, so "
                                "Clarify would compute the report for a value that never occurs",
                                value,
                            )
                        )
        raise_issues(issues)
        return self

    def monitor_max_runtime_seconds(self, monitor_type: str) -> int:
        """MaxRuntimeInSeconds of a monitor: the configured value, or what its schedule allows."""
        if self.deployment is None:
            raise ValueError(f"model {self.name!r} has no deployment section")
        if self.deployment.monitor_max_runtime_seconds is not None:
            return self.deployment.monitor_max_runtime_seconds
        schedule: Schedule = getattr(self.monitoring, monitor_type)
        return min(
            DEFAULT_MONITOR_RUNTIME_SECONDS, max_runtime_limit(monitor_type, schedule.schedule)
        )

    @property
    def retraining_pipeline_name(self) -> str | None:
        """What the violations handler starts: ``deployment.retraining_pipeline_name`` when set,
        else the model's own training pipeline when it has one."""
        explicit = self.deployment.retraining_pipeline_name if self.deployment else None
        if explicit is not None:
            return explicit
        return names.training_pipeline_name(self.name) if self.training is not None else None

    @property
    def measures_bias(self) -> bool:
        """A protected attribute is configured and the bias monitor is on."""
        return self.bias is not None and self.monitoring.bias.enabled

    def for_environment(
        self, environment: Environment, *, partition: str, region: str, account: str
    ) -> ModelConfig:
        """This model as ``environment`` deploys it: ``deployment`` is None where nothing is
        served, else names the version to serve and carries the environment's sizing.

        ``partition``/``region``/``account`` build the package ARN of a per-environment version;
        pass the stack's values (tokens where the environment leaves them open).
        """
        deployment = self.deployment
        if deployment is None or not deployment.serves_in(environment.name):
            return self.model_copy(update={"deployment": None})
        serving = deployment.serving(environment.name)
        if serving is None:
            return self.model_copy(update={"deployment": deployment.model_copy()})
        arn = (
            f"arn:{partition}:sagemaker:{region}:{account}:model-package/"
            f"{self.name}/{serving.package_version}"
        )
        overrides = serving.model_dump(exclude_none=True, exclude={"package_version"})
        return self.model_copy(
            update={
                "deployment": deployment.model_copy(
                    update={**overrides, "model_package_arn": arn, "environments": {}}
                )
            }
        )


# -- organisation -----------------------------------------------------------------------------

RESERVED_TAG_KEYS = frozenset(
    {
        tags.MODEL,
        tags.OWNER,
        tags.RISK_TIER,
        tags.DATA_CLASSIFICATION,
        tags.MONITOR_TYPE,
        tags.MANAGED_BY,
        tags.COMPONENT,
    }
)
"""Tag keys the app sets itself; rules and the report find resources by them."""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class Organisation(_Strict):
    name: str = Field(min_length=1, max_length=256, description="shown on cards and reports")
    stack_prefix: Name | None = Field(
        default=None,
        description="prefix of stack names and key aliases; default: the name in lower case "
        "with hyphens ('Example Bank' -> 'example-bank')",
    )
    tags: dict[TagKey, TagValue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _prefix_and_tags(self) -> Organisation:
        issues = []
        if self.stack_prefix is None and not (
            self.name.isascii() and re.fullmatch(r"[a-z][a-z0-9-]{0,38}[a-z0-9]", _slug(self.name))
        ):
            issues.append(
                Issue(
                    ("name",),
                    "cannot become the stack-name prefix: CloudFormation stack names use only "
                    "ASCII letters, digits and hyphens and start with a letter, so write the name "
                    "in ASCII starting with a letter (at most 40 letters and digits), or keep it "
                    f"and set organisation.stack_prefix ({NAME_RULE})",
                    self.name,
                )
            )
        for key in self.tags:
            if key in RESERVED_TAG_KEYS:
                issues.append(
                    Issue(
                        ("tags", key),
                        "is a tag key the app sets itself on governed resources (rules and "
                        "the report find resources by it); choose another key",
                    )
                )
            elif key.lower().startswith("aws:"):
                issues.append(
                    Issue(
                        ("tags", key),
                        "uses the prefix aws:, which AWS reserves for its own tags (Tagging "
                        "AWS resources, tag naming limits)",
                    )
                )
        # SageMaker resources take at most 50 tags (botocore AddTags Tags); the app adds its own.
        per_resource = TAG_LIST.max_items or 50
        limit = per_resource - len(RESERVED_TAG_KEYS)
        if len(self.tags) > limit:
            issues.append(
                Issue(
                    ("tags",),
                    f"has {len(self.tags)} tags; at most {limit} fit next to the app's own "
                    f"{len(RESERVED_TAG_KEYS)} [{TAG_LIST.source}: at most {per_resource} per "
                    "resource]",
                )
            )
        raise_issues(issues)
        return self

    @property
    def prefix(self) -> str:
        """The stack-name prefix: ``stack_prefix`` or the name in lower-case kebab case."""
        return self.stack_prefix or _slug(self.name)


# -- the whole configuration ------------------------------------------------------------------


class GovernanceConfig(_Strict):
    organisation: Organisation
    environments: list[Environment] = Field(min_length=1)
    governance: GovernancePolicy
    models: list[ModelConfig] = Field(min_length=1)
    models_per_stack: int = Field(
        default=25, ge=1, le=100, description="how many models one registry stack holds"
    )

    @field_validator("environments", "models")
    @classmethod
    def _unique_names(
        cls, value: list[Environment] | list[ModelConfig]
    ) -> list[Environment] | list[ModelConfig]:
        items: list[Environment | ModelConfig] = list(value)
        seen: dict[str, int] = {}
        issues = []
        for index, item in enumerate(items):
            if item.name in seen:
                issues.append(
                    Issue(
                        (index, "name"),
                        f"is already the name of entry [{seen[item.name]}]; names must be unique",
                        item.name,
                    )
                )
            seen.setdefault(item.name, index)
        raise_issues(issues)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> GovernanceConfig:
        issues = [
            *self._serving_issues(),
            *self._collision_issues(),
            *self._approval_issues(),
            *self._name_issues(),
            *self._image_issues(),
            *self._engine_issues(),
        ]
        raise_issues(issues)
        return self

    def environment(self, name: str) -> Environment:
        return next(e for e in self.environments if e.name == name)

    def models_served_in(self, environment: str) -> list[ModelConfig]:
        return [
            m
            for m in self.models
            if m.deployment is not None and m.deployment.serves_in(environment)
        ]

    def _serving_issues(self) -> Iterator[Issue]:
        known = [e.name for e in self.environments]
        for index, model in enumerate(self.models):
            deployment = model.deployment
            if deployment is None:
                continue
            for name in deployment.environments:
                if name not in known:
                    closest = difflib.get_close_matches(name, known, n=1)
                    hint = f"did you mean {closest[0]!r}? " if closest else ""
                    yield Issue(
                        ("models", index, "deployment", "environments", name),
                        f"is not an environment of this config; {hint}environments: "
                        + ", ".join(known),
                    )
            arn = _PACKAGE_ARN.fullmatch(deployment.model_package_arn)
            if arn is None:
                continue
            for environment in self.environments:
                wrong = [
                    f"{what} {actual}"
                    for what, actual, expected in (
                        ("region", arn["region"], environment.region),
                        ("account", arn["account"], environment.account),
                    )
                    if expected is not None and actual != expected
                ]
                if wrong:
                    yield Issue(
                        ("models", index, "deployment", "model_package_arn"),
                        f"is in {' and '.join(wrong)}, but environment {environment.name!r} is "
                        f"{environment.describe()}: an endpoint serves a version of its own "
                        "account's and region's package group. Name the version per environment "
                        "instead: deployment.environments: {"
                        + ", ".join(f"{e.name}: {{package_version: N}}" for e in self.environments)
                        + "}",
                        deployment.model_package_arn,
                    )
                    break

    def _collision_issues(self) -> Iterator[Issue]:
        shared = names.shared_names([m.name for m in self.models])
        for later_index, later in enumerate(self.environments):
            for earlier in self.environments[:later_index]:
                if later.may_share_account_and_region_with(earlier):
                    shown = ", ".join(shared[:6]) + (", ..." if len(shared) > 6 else "")
                    yield Issue(
                        ("environments", later_index),
                        f"environment {later.name!r} ({later.describe()}) may be deployed to "
                        f"the same account and region as {earlier.name!r} "
                        f"({earlier.describe()}); both would create the same {len(shared)} "
                        f"names ({shown}). Give each environment its own account or region, "
                        "and set both account and region when there is more than one "
                        "environment",
                    )
                    break

    def _approval_issues(self) -> Iterator[Issue]:
        for index, model in enumerate(self.models):
            own = model.approval or ModelApproval()
            full = self.governance.effective_approval(
                model.model_copy(update={"approval": own.model_copy(update={"waive_evidence": []})})
            )
            not_required = [e for e in own.waive_evidence if e not in full.required_evidence]
            if not_required:
                yield Issue(
                    ("models", index, "approval", "waive_evidence"),
                    "waives evidence this model's policy does not require; it requires: "
                    + ", ".join(full.required_evidence),
                    [str(e) for e in not_required],
                )
            effective = self.governance.effective_approval(model)
            if Evidence.BIAS_REPORT not in effective.required_evidence or model.measures_bias:
                continue
            source = effective.sources[Evidence.BIAS_REPORT]
            why = (
                "has no 'bias' section (label, label_value, facet, facet_value)"
                if model.bias is None
                else "has monitoring.bias disabled"
            )
            fix = (
                "require it per risk tier (governance.approval.risk_tiers.<tier>) or per model "
                "(approval.add_evidence) instead of for every model"
                if source == "governance.approval.required_evidence"
                else "add the bias section and keep monitoring.bias on, or waive it (approval: "
                "{waive_evidence: [bias_report], reason: ...})"
            )
            yield Issue(
                ("models", index),
                f"requires bias_report (from {source}) but {why}, so there is nothing to "
                f"check a bias report against: {fix}",
            )

    def _name_issues(self) -> Iterator[Issue]:
        prefix = self.organisation.prefix
        for env_index, environment in enumerate(self.environments):
            for physical in names.environment_names(prefix, environment.name):
                problem = physical.violation()
                if problem is not None:
                    yield Issue(
                        ("environments", env_index, "name"),
                        f"with organisation prefix {prefix!r} makes the {physical.kind} "
                        f"{physical.value!r}, which {problem} [{physical.rule.source}]; "
                        "shorten the organisation's stack_prefix or the environment name",
                        environment.name,
                    )
        # Per model, the longest name over the limit: shortening enough for it fixes the rest.
        worst: dict[int, tuple[str, names.PhysicalName, str]] = {}
        for environment in self.environments:
            for index, model in enumerate(self.models):
                served = model.deployment is not None and model.deployment.serves_in(
                    environment.name
                )
                for physical in names.model_names(
                    model.name,
                    environment.name,
                    served=served,
                    monitor_types=model.monitoring.enabled_types(),
                ):
                    problem = physical.violation()
                    if problem is None:
                        continue
                    known = worst.get(index)
                    if known is None or len(physical.value) > len(known[1].value):
                        worst[index] = (environment.name, physical, problem)
        for index in sorted(worst):
            environment_name, physical, problem = worst[index]
            yield Issue(
                ("models", index, "name"),
                f"in environment {environment_name!r} makes the {physical.kind} "
                f"{physical.value!r}, which {problem} [{physical.rule.source}]; "
                "shorten the model or the environment name",
                self.models[index].name,
            )

    def _engine_issues(self) -> Iterator[Issue]:
        """A check the environment's engine cannot run for the model's problem type, for a
        model served there, and a bias interval the evidently engine cannot check."""
        for environment in self.environments:
            engine = environment.monitoring_engine
            for index, model in enumerate(self.models):
                if model.deployment is None or not model.deployment.serves_in(environment.name):
                    continue
                enabled = model.monitoring.enabled_types()
                for check in enabled:
                    problem = engine_check_problem(
                        engine,
                        check,
                        model.problem_type,
                        clarify_existing_customer=environment.clarify_existing_customer,
                    )
                    if problem is not None:
                        yield Issue(
                            ("models", index, "monitoring", check, "enabled"),
                            f"{problem} (environment {environment.name!r}): disable {check} for "
                            "this model or serve it from an environment on model-monitor",
                            True,
                        )
                if engine is MonitoringEngineName.EVIDENTLY and "bias" in enabled:
                    thresholds = self.governance.effective_approval(model).bias_thresholds
                    for metric in thresholds:
                        reason = EVIDENTLY_UNCOMPUTED_BIAS_METRICS.get(metric)
                        if reason is not None:
                            yield Issue(
                                ("governance", "bias_thresholds", metric),
                                f"cannot be checked by the evidently engine of environment "
                                f"{environment.name!r} for model {model.name!r}: {reason}; "
                                f"allowed: {', '.join(EVIDENTLY_BIAS_METRICS)}",
                                metric,
                            )
                floor = model.deployment.model_quality_floor
                if (
                    engine is MonitoringEngineName.EVIDENTLY
                    and "model_quality" in model.monitoring.enabled_types()
                    and floor is not None
                ):
                    computed = EVIDENTLY_QUALITY_METRICS[model.problem_type.value].values()
                    if floor.metric not in computed:
                        yield Issue(
                            ("models", index, "deployment", "model_quality_floor", "metric"),
                            f"is not a metric the evidently engine of environment "
                            f"{environment.name!r} computes for {model.problem_type.value}; "
                            f"allowed: {', '.join(sorted(computed))}",
                            floor.metric,
                        )

    def _image_issues(self) -> Iterator[Issue]:
        regions = monitor_image_regions()
        for env_index, environment in enumerate(self.environments):
            if environment.region is None:
                continue
            for index, model in enumerate(self.models):
                if model.training is None:
                    continue
                problem = framework_image_problem(model.training.algorithm, environment.region)
                if problem is not None:
                    yield Issue(
                        ("models", index, "training", "algorithm"),
                        f"{problem} (environment {environment.name!r})",
                        model.training.algorithm.model_dump(exclude_none=True),
                    )
            if environment.monitoring_engine is MonitoringEngineName.EVIDENTLY:
                # Its jobs run the scikit-learn framework image, resolved per region by the
                # engine (cdk_constructs/monitoring/evidently_engine.py), which names the
                # regions that have it.
                continue
            missing: dict[ImageKind, list[str]] = {}
            for model in self.models_served_in(environment.name):
                for monitor_type in model.monitoring.enabled_types():
                    kind = IMAGE_KIND_BY_MONITOR_TYPE[monitor_type]  # type: ignore[index]
                    if environment.region not in regions[kind]:
                        missing.setdefault(kind, []).append(f"{model.name} {monitor_type}")
            for kind, monitors in missing.items():
                yield Issue(
                    ("environments", env_index, "region"),
                    f"has no {kind!r} image in the sagemaker SDK's table, which the monitors "
                    f"served here need ({', '.join(monitors)}); regions with it: "
                    + ", ".join(sorted(regions[kind])),
                    environment.region,
                )

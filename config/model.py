"""Typed model of an organisation's governance configuration.

Everything a platform team may change lives here; the YAML file is validated against it at
synth time, so a bad value stops synth with the field path, the value and what is allowed.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache
from typing import Annotated, Literal

import boto3
from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")]
"""Lower-case kebab case, 2-40 characters: safe in stack names, group names and tags."""

AccountId = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]

_CRON_FIELD = r"[0-9A-Za-z*?,/#L\-]+"
_CRON = re.compile(rf"^cron\(({_CRON_FIELD}\s+){{5}}{_CRON_FIELD}\)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


@cache
def known_regions() -> frozenset[str]:
    """Regions where SageMaker is offered, in every partition, from botocore's endpoint data."""
    session = boto3.session.Session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("sagemaker", partition_name=partition)
    )


def partition_of(region: str) -> str:
    """The partition of ``region`` (aws, aws-cn, aws-us-gov...), from botocore's endpoint data."""
    return str(boto3.session.Session().get_partition_for_region(region))


class RiskTier(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class DataClassification(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"


class ProblemType(StrEnum):
    """The problem types SageMaker Model Monitor's model-quality job accepts."""

    BINARY_CLASSIFICATION = "BinaryClassification"
    MULTICLASS_CLASSIFICATION = "MulticlassClassification"
    REGRESSION = "Regression"


class Evidence(StrEnum):
    """Evidence the approval gate can require before a model version may stay Approved."""

    MODEL_QUALITY_METRICS = "model_quality_metrics"
    BIAS_REPORT = "bias_report"
    EXPLAINABILITY_REPORT = "explainability_report"
    DRIFT_CHECK_BASELINES = "drift_check_baselines"
    MODEL_CARD_APPROVED = "model_card_approved"
    APPROVAL_DESCRIPTION = "approval_description"
    SEPARATE_APPROVER = "separate_approver"


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


class Environment(_Strict):
    name: Name
    account: AccountId | None = Field(
        default=None, description="12-digit account id; omitted = environment-agnostic synth"
    )
    region: str | None = Field(default=None, description="AWS region; omitted = agnostic")
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

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str | None) -> str | None:
        if value is not None and value not in known_regions():
            allowed = ", ".join(sorted(known_regions()))
            raise ValueError(f"unknown region {value!r}; allowed: {allowed}")
        return value

    @model_validator(mode="after")
    def _zones_in_region(self) -> Environment:
        if self.availability_zones and self.region:
            foreign = [z for z in self.availability_zones if not z.startswith(self.region)]
            if foreign:
                raise ValueError(f"availability_zones {foreign} are not in region {self.region}")
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


class ApprovalPolicy(_Strict):
    required_evidence: list[Evidence] = Field(min_length=1)
    on_failure: ApprovalFailureStatus = ApprovalFailureStatus.REJECTED


class GovernancePolicy(_Strict):
    approval: ApprovalPolicy
    bias_thresholds: dict[str, Threshold] = Field(
        description="Clarify bias metric name -> allowed interval", min_length=1
    )
    audit_retention_days: int = Field(ge=1, le=36500)
    audit_object_lock_mode: ObjectLockMode = ObjectLockMode.COMPLIANCE
    alert_emails: list[EmailStr] = Field(min_length=1)

    @field_validator("bias_thresholds")
    @classmethod
    def _known_metrics_in_range(cls, value: dict[str, Threshold]) -> dict[str, Threshold]:
        for metric, threshold in value.items():
            if metric not in BIAS_METRIC_RANGES:
                allowed = ", ".join(BIAS_METRIC_RANGES)
                raise ValueError(f"unknown Clarify bias metric {metric!r}; allowed: {allowed}")
            low, high = BIAS_METRIC_RANGES[metric]
            if threshold.min < low or threshold.max > high:
                raise ValueError(
                    f"{metric} threshold [{threshold.min}, {threshold.max}] is outside the "
                    f"metric's range [{low}, {high}]"
                )
        return value


class Owner(_Strict):
    team: str = Field(min_length=1)
    email: EmailStr


class Feature(_Strict):
    name: str = Field(min_length=1)
    type: Literal["numeric", "categorical", "text", "boolean"]


class DatasetSchema(_Strict):
    features: list[Feature] = Field(min_length=1)
    label: str = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_features(self) -> DatasetSchema:
        names = [f.name for f in self.features]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate feature names: {duplicates}")
        if self.label in names:
            raise ValueError(f"label {self.label!r} must not also be a feature")
        return self


class BiasFacet(_Strict):
    """The protected attribute Clarify measures bias against."""

    label: str = Field(min_length=1, description="target column")
    label_value: int | float | str = Field(description="the favourable outcome value")
    facet: str = Field(min_length=1, description="protected attribute column")
    facet_value: int | float | str = Field(description="the sensitive group's value")


class Schedule(_Strict):
    enabled: bool = True
    schedule: str = Field(default="cron(0 * ? * * *)", description="AWS 6-field cron expression")

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not _CRON.match(value):
            raise ValueError(
                f"{value!r} is not an AWS cron expression; expected "
                "'cron(minutes hours day-of-month month day-of-week year)', e.g. "
                "'cron(0 * ? * * *)' for hourly"
            )
        return value


class Monitoring(_Strict):
    data_quality: Schedule = Schedule()
    model_quality: Schedule = Schedule(schedule="cron(0 0 ? * * *)")
    bias: Schedule = Schedule(schedule="cron(0 0 ? * * *)")
    explainability: Schedule = Schedule(schedule="cron(0 0 ? * * *)")


# The cron forms SageMaker Model Monitor documents (model-monitor-schedule-expression; botocore
# ScheduleConfig.ScheduleExpression): hourly, daily at an hour, every N hours from an hour.
_HOURLY = re.compile(r"^cron\(0 \* \? \* \* \*\)$")
_DAILY = re.compile(r"^cron\(0 ([01]?\d|2[0-3]) \? \* \* \*\)$")
_EVERY_N_HOURS = re.compile(r"^cron\(0 ([01]?\d|2[0-3])/(\d{1,2}) \? \* \* \*\)$")


def schedule_interval_hours(expression: str) -> int | None:
    """Hours between two runs of a Model Monitor schedule; None for ``NOW`` or another form."""
    if _HOURLY.match(expression):
        return 1
    if _DAILY.match(expression):
        return 24
    if every := _EVERY_N_HOURS.match(expression):
        hours = int(every.group(2))
        return hours if 1 <= hours <= 24 else None
    return None


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
    r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[A-Za-z0-9-]{1,63}/\d+$"
)


class EndpointOutput(_Strict):
    """How monitors read the endpoint's response (CSV output by default)."""

    inference_attribute: str | None = None
    probability_attribute: str | None = None
    probability_threshold: float | None = Field(default=None, ge=0, le=1)


class Explainability(_Strict):
    """SHAP settings for the feature-attribution drift monitor."""

    baseline_s3_uri: str | None = Field(default=None, pattern=r"^s3://[a-z0-9.\-]{3,63}/.+")
    num_samples: int = Field(default=100, ge=1, le=10000)
    agg_method: Literal["mean_abs", "median", "mean_sq"] = "mean_abs"


class QualityFloor(_Strict):
    """The model-quality metric the alarm watches and the value it must not fall below."""

    metric: str = Field(min_length=1, description="a Model Monitor metric, e.g. auc, f1, r2")
    minimum: float


class Deployment(_Strict):
    """Serve one approved model package version and monitor it."""

    model_package_arn: str = Field(description="the approved version to serve (a package ARN)")
    instance_type: str = Field(default="ml.m5.xlarge", pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
    initial_instance_count: int = Field(default=1, ge=1, le=20)
    data_capture_percentage: int = Field(default=100, ge=1, le=100)
    output: EndpointOutput = EndpointOutput()
    ground_truth_s3_uri: str | None = Field(default=None, pattern=r"^s3://[a-z0-9.\-]{3,63}/.+")
    monitor_instance_type: str = Field(
        default="ml.m5.xlarge", pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$"
    )
    monitor_max_runtime_seconds: int | None = Field(
        default=None,
        ge=60,
        le=MAX_MONITOR_RUNTIME_SECONDS,
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
    retraining_pipeline_name: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9](-*[A-Za-z0-9]){0,255}$"
    )

    @field_validator("model_package_arn")
    @classmethod
    def _package_arn(cls, value: str) -> str:
        if not _PACKAGE_ARN.match(value):
            raise ValueError(
                f"{value!r} is not a model package version ARN; expected "
                "'arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>'"
            )
        return value


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
    deployment: Deployment | None = None

    @model_validator(mode="after")
    def _deployment_matches_model(self) -> ModelConfig:
        if self.deployment is None:
            return self
        group = self.deployment.model_package_arn.split("/")[-2]
        if group != self.name:
            raise ValueError(
                f"deployment.model_package_arn names group {group!r}; it must be a version of "
                f"this model's own group {self.name!r}"
            )
        if (
            self.monitoring.model_quality.enabled
            and self.problem_type is ProblemType.REGRESSION
            and self.deployment.model_quality_floor is None
        ):
            raise ValueError(
                "deployment.model_quality_floor is required for Regression models while "
                "monitoring.model_quality is enabled (e.g. {metric: r2, minimum: 0.5})"
            )
        if self.monitoring.model_quality.enabled and not self.deployment.ground_truth_s3_uri:
            raise ValueError(
                "deployment.ground_truth_s3_uri is required while monitoring.model_quality is "
                "enabled (the monitor merges ground truth with captured predictions)"
            )
        return self

    @model_validator(mode="after")
    def _monitors_fit_their_schedules(self) -> ModelConfig:
        if self.deployment is None:
            return self
        configured = self.deployment.monitor_max_runtime_seconds
        window = self.deployment.ground_truth_window
        for monitor_type in ("data_quality", "model_quality", "bias", "explainability"):
            schedule: Schedule = getattr(self.monitoring, monitor_type)
            if not schedule.enabled:
                continue
            limit = max_runtime_limit(monitor_type, schedule.schedule)
            if configured is not None and configured > limit:
                raise ValueError(
                    f"deployment.monitor_max_runtime_seconds {configured} is longer than "
                    f"monitoring.{monitor_type} schedule {schedule.schedule!r} allows; allowed: "
                    f"at most {limit} s (a run must end before the next one starts"
                    + (
                        ", and half the interval goes to the ground-truth merge job)"
                        if monitor_type in GROUND_TRUTH_MONITORS
                        else ")"
                    )
                )
            hours = schedule_interval_hours(schedule.schedule)
            if (
                monitor_type in GROUND_TRUTH_MONITORS
                and hours is not None
                and window.length_seconds < hours * 3600
            ):
                raise ValueError(
                    f"deployment.ground_truth_window ({window.start_time_offset} to "
                    f"{window.end_time_offset}) is shorter than the monitoring.{monitor_type} "
                    f"schedule's interval of {hours} h, so predictions between two windows "
                    "would never be evaluated; allowed: a window at least as long as the interval"
                )
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

    @model_validator(mode="after")
    def _high_risk_needs_bias_facet(self) -> ModelConfig:
        if self.risk_tier is RiskTier.HIGH and self.bias is None:
            raise ValueError("high-risk models need a 'bias' section (label, facet, facet_value)")
        if self.bias is not None:
            features = sorted(f.name for f in self.dataset_schema.features)
            if self.bias.label != self.dataset_schema.label:
                raise ValueError(
                    f"bias.label {self.bias.label!r} must be the dataset_schema label "
                    f"{self.dataset_schema.label!r}"
                )
            if self.bias.facet not in features:
                raise ValueError(
                    f"bias.facet {self.bias.facet!r} is not a feature column; columns: {features}"
                )
        return self


class Organisation(_Strict):
    name: str = Field(min_length=1)
    tags: dict[str, str] = Field(default_factory=dict)


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
    def _unique_names(cls, value: list[Environment] | list[ModelConfig]) -> list:  # type: ignore[type-arg]
        names = [item.name for item in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"names must be unique; duplicated: {duplicates}")
        return value

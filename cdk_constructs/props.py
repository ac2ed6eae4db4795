"""What the per-model constructs are given: small, typed, frozen props.

The constructs never read the configuration model: the stacks map a validated ``ModelConfig``
to these props (``stacks/props.py``), so every rule on the values is checked once, where the
configuration is parsed, and a construct only turns values into resources.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from aws_cdk import CfnTag

from cdk_constructs import tags
from cdk_constructs.monitoring.images import MonitorType
from governance.contracts.vocabulary import DataClassification, ProblemType, RiskTier

Scalar = int | float | str
FeatureType = Literal["numeric", "categorical", "text", "boolean"]


@dataclass(frozen=True)
class ModelIdentity:
    """Who a governed model is: its name (also its package group's) and its governance tags."""

    name: str
    owner_team: str
    owner_email: str
    risk_tier: RiskTier
    data_classification: DataClassification

    def tags(self, **extra: str) -> list[CfnTag]:
        """The model tag, then ``extra`` (key -> value)."""
        values = {tags.MODEL: self.name, **extra}
        return [CfnTag(key=key, value=value) for key, value in values.items()]

    def governance_tags(self) -> list[CfnTag]:
        """The model, owner, risk-tier and data-classification tags."""
        return self.tags(
            **{
                tags.OWNER: self.owner_team,
                tags.RISK_TIER: self.risk_tier.value,
                tags.DATA_CLASSIFICATION: self.data_classification.value,
            }
        )


@dataclass(frozen=True)
class Feature:
    name: str
    type: FeatureType


@dataclass(frozen=True)
class Dataset:
    """The columns the model reads (in order) and the one it predicts."""

    features: tuple[Feature, ...]
    label: str

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(feature.name for feature in self.features)


@dataclass(frozen=True)
class BiasFacet:
    """The protected attribute: ``facet``'s ``facet_value`` group, favourable ``label_value``."""

    label: str
    label_value: Scalar
    facet: str
    facet_value: Scalar


@dataclass(frozen=True)
class RegisteredModel:
    """What the registry constructs (group, card) need of a model."""

    identity: ModelIdentity
    description: str
    intended_uses: str
    problem_type: ProblemType
    dataset: Dataset
    bias: BiasFacet | None = None
    consumer_accounts: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServedModel:
    """One environment's endpoint of a model: which approved version and how it is sized."""

    identity: ModelIdentity
    environment: str
    model_package_arn: str
    instance_type: str
    initial_instance_count: int
    data_capture_percentage: int


@dataclass(frozen=True)
class MonitorSchedule:
    """One enabled monitor: its cron expression and how long one run may take."""

    expression: str
    max_runtime_seconds: int
    interval_hours: int | None
    """Hours between two runs; None for a one-time schedule."""


@dataclass(frozen=True)
class EndpointOutput:
    """How the monitors read the endpoint's response (None: the job's default)."""

    inference_attribute: str | None = None
    probability_attribute: str | None = None
    probability_threshold: float | None = None


@dataclass(frozen=True)
class GroundTruth:
    """Where the labels are and which captured predictions a run joins with them."""

    s3_uri: str
    start_time_offset: str
    end_time_offset: str
    length_seconds: int
    """From the start offset to the end offset."""
    end_offset_seconds: int
    """The end offset in seconds (negative: before the run)."""


@dataclass(frozen=True)
class Shap:
    """Kernel SHAP parameters of the attribution-drift monitor."""

    baseline_s3_uri: str | None
    num_samples: int
    agg_method: Literal["mean_abs", "median", "mean_sq"]
    ndcg_threshold: float = 0.9
    """Feature attribution drift below this nDCG (the evidently engine's Clarify check)."""


@dataclass(frozen=True)
class BiasBounds:
    """The interval a bias metric must stay in (policy ``bias_thresholds``)."""

    min: float
    max: float


@dataclass(frozen=True)
class MonitoredModel:
    """What a monitoring engine and the alarms need of one served model.

    ``monitors`` holds the enabled monitors only, in ``MONITOR_TYPES`` order; a monitor that
    merges labels (model quality, bias) is only enabled with ``ground_truth``.
    """

    identity: ModelIdentity
    problem_type: ProblemType
    dataset: Dataset
    monitors: Mapping[MonitorType, MonitorSchedule]
    monitor_instance_type: str
    output: EndpointOutput = EndpointOutput()
    shap: Shap = Shap(baseline_s3_uri=None, num_samples=100, agg_method="mean_abs")
    ground_truth: GroundTruth | None = None
    bias: BiasFacet | None = None
    model_quality_floor: tuple[str, float] | None = None
    """The model-quality metric the alarm watches and its floor (None: no such monitor)."""
    bias_thresholds: Mapping[str, BiasBounds] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        # What the config guarantees, checked once more here (and only here) because the
        # constructs are also used without it; engines and alarms then read the properties.
        if "model_quality" in self.monitors:
            _ = self.floor
        if "bias" in self.monitors:
            _ = self.facet

    @property
    def name(self) -> str:
        return self.identity.name

    @property
    def floor(self) -> tuple[str, float]:
        """``model_quality_floor`` of a model whose model-quality monitor is enabled."""
        return quality_floor(self.name, self.model_quality_floor)

    @property
    def facet(self) -> BiasFacet:
        """``bias`` of a model whose bias monitor is enabled."""
        if self.bias is None:
            raise ValueError(
                f"model {self.name!r}: the bias monitor measures a protected facet, so "
                "MonitoredModel.bias is required (got None)"
            )
        return self.bias

    @property
    def labels(self) -> GroundTruth:
        """``ground_truth``, for a monitor that merges labels (model quality, bias).

        The config refuses such a monitor without ground truth (``deployment.ground_truth_s3_uri``);
        this is the one check of the constructs, which are also used without the config. It is
        made where the engines read the window, not at construction: the batch checks' alarms
        reuse this type for a model with no endpoint ground-truth window.
        """
        if self.ground_truth is None:
            raise ValueError(
                f"model {self.name!r}: a monitor that merges labels (model quality, bias) needs "
                "MonitoredModel.ground_truth (got None)"
            )
        return self.ground_truth


def quality_floor(model: str, floor: tuple[str, float] | None) -> tuple[str, float]:
    """``floor``, which a model-quality check needs: its alarm watches that metric.

    The config always supplies one (``deployment.model_quality_floor``, or the problem type's
    default in ``stacks/props.py``); the props check it once here because the constructs are
    also used without the config.
    """
    if floor is None:
        raise ValueError(
            f"model {model!r}: the model_quality check needs model_quality_floor (got None); "
            "allowed: (metric name, floor), e.g. ('r2', 0.5)"
        )
    return floor

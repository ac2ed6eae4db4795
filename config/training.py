"""A model's ``training`` section: what its governed training pipeline trains on and with.

Validated once here; the stack maps it to the pipeline construct's props. Each value that
becomes a SageMaker API parameter is checked against botocore's request shape
(:mod:`config.api_constraints`); the schedule against the forms EventBridge Scheduler accepts;
the quality metric against the metrics Model Monitor's model-quality analysis computes for the
problem type (SageMaker developer guide, model-monitor-model-quality-metrics).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from cdk_constructs.pipelines.schedules import SCHEDULE_SOURCE, schedule_expression_problem
from config.api_constraints import ApiParameter

TRAINING_INSTANCE_TYPE = ApiParameter(
    "sagemaker", "CreateTrainingJob", "ResourceConfig.InstanceType"
)
PROCESSING_INSTANCE_TYPE = ApiParameter(
    "sagemaker", "CreateProcessingJob", "ProcessingResources.ClusterConfig.InstanceType"
)
TRAINING_MAX_RUNTIME = ApiParameter(
    "sagemaker", "CreateTrainingJob", "StoppingCondition.MaxRuntimeInSeconds"
)
TRAINING_IMAGE = ApiParameter(
    "sagemaker", "CreateTrainingJob", "AlgorithmSpecification.TrainingImage"
)

# Scalar metrics of Model Monitor's model-quality statistics per problem type (SageMaker developer
# guide, "Model quality metrics": regression_metrics, binary_classification_metrics,
# multiclass_classification_metrics); confusion matrices and curves have no single value.
QUALITY_METRICS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "Regression": ("mae", "mse", "rmse", "r2"),
        "BinaryClassification": (
            "recall",
            "precision",
            "accuracy",
            "true_positive_rate",
            "true_negative_rate",
            "false_positive_rate",
            "false_negative_rate",
            "auc",
            "f0_5",
            "f1",
            "f2",
        ),
        "MulticlassClassification": (
            "accuracy",
            "weighted_recall",
            "weighted_precision",
            "weighted_f0_5",
            "weighted_f1",
            "weighted_f2",
        ),
    }
)
# Error metrics: lower is better, so the floor is a ceiling.
LOWER_IS_BETTER = frozenset({"mae", "mse", "rmse", "false_positive_rate", "false_negative_rate"})

BUILT_IN_FRAMEWORKS = ("xgboost",)


def _data_key(value: str) -> str:
    if not value.startswith("data/") or value == "data/" or "//" in value or ".." in value:
        raise ValueError(
            "a key prefix under the artifacts bucket's data/ prefix (what the training and "
            "processing roles may read), e.g. data/credit-default/train/"
        )
    return value


DataKey = Annotated[str, AfterValidator(_data_key)]


def _schedule(value: str) -> str:
    problem = schedule_expression_problem(value)
    if problem is not None:
        raise ValueError(f"{problem} [{SCHEDULE_SOURCE}]")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Algorithm(_Strict):
    """A SageMaker built-in algorithm resolved by the sagemaker SDK for the region, or an image.

    ``framework``/``version``: the SDK's image table (``sagemaker.core.image_uris.retrieve``).
    Built-in XGBoost reads CSV without a header, label first, numbers only (SageMaker developer
    guide, "XGBoost algorithm", input formats), so every feature must be numeric or boolean.
    ``image_uri``: the team's own container, used for training and serving; it reads the CSV
    rows as the dataset schema lists them.
    """

    framework: Literal["xgboost"] | None = None
    version: str | None = Field(default=None, min_length=1, description="e.g. 1.7-1")
    image_uri: Annotated[str, AfterValidator(TRAINING_IMAGE.check)] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Algorithm:
        if (self.framework is None) == (self.image_uri is None):
            raise ValueError(
                "either framework (with version) for a built-in algorithm, or image_uri for "
                "your own container"
            )
        if self.framework is not None and self.version is None:
            raise ValueError(f"framework {self.framework!r} needs a version, e.g. 1.7-1")
        if self.image_uri is not None and self.version is not None:
            raise ValueError("version applies to a framework; image_uri names its own tag")
        return self


class TrainingQualityFloor(_Strict):
    """Below this (above it, for error metrics) the execution fails and registers nothing."""

    metric: str = Field(min_length=1)
    minimum: float


class Training(_Strict):
    """The governed training-and-evaluation pipeline of one model."""

    train_data: DataKey = Field(description="CSV objects under the artifacts bucket's data/")
    validation_data: DataKey = Field(description="held-out CSV for evaluation, same columns")
    algorithm: Algorithm
    instance_type: Annotated[str, AfterValidator(TRAINING_INSTANCE_TYPE.check)] = "ml.m5.xlarge"
    instance_count: int = Field(default=1, ge=1, le=20)
    volume_size_gb: int = Field(default=30, ge=1, le=16384)
    max_runtime_seconds: Annotated[
        int, Field(ge=60), AfterValidator(TRAINING_MAX_RUNTIME.check)
    ] = 86400
    processing_instance_type: Annotated[str, AfterValidator(PROCESSING_INSTANCE_TYPE.check)] = (
        "ml.m5.xlarge"
    )
    hyperparameters: dict[str, str] = Field(default_factory=dict)
    quality_floor: TrainingQualityFloor
    schedule: Annotated[str, AfterValidator(_schedule)] | None = Field(
        default=None,
        description="EventBridge Scheduler expression: rate(...), cron(6 fields) or at(...)",
    )
    source_revision: str = Field(
        default="unrecorded",
        min_length=1,
        max_length=256,
        description="default of the SourceRevision parameter (CustomerMetadataProperties)",
    )

    @field_validator("hyperparameters")
    @classmethod
    def _hyperparameter_sizes(cls, value: dict[str, str]) -> dict[str, str]:
        # CreateTrainingJob HyperParameters: at most 100 entries, keys and values up to 256 and
        # 2500 characters (botocore sagemaker HyperParameters / HyperParameterKey / Value).
        if len(value) > 100:
            raise ValueError(f"at most 100 hyperparameters, got {len(value)}")
        for key, item in value.items():
            if not 0 < len(key) <= 256 or len(item) > 2500:
                raise ValueError(
                    f"hyperparameter {key!r}: keys are 1 to 256 characters, values at most 2500"
                )
        return value


def quality_metric_problem(training: Training, problem_type: str) -> str | None:
    metrics = QUALITY_METRICS.get(problem_type, ())
    if training.quality_floor.metric not in metrics:
        return f"is not a model-quality metric of a {problem_type} model; allowed: " + ", ".join(
            metrics
        )
    return None


def framework_image_problem(algorithm: Algorithm, region: str) -> str | None:
    """Why the SDK cannot resolve the built-in image in ``region``, or None."""
    if algorithm.framework is None:
        return None
    from sagemaker.core import image_uris

    try:
        image_uris.retrieve(algorithm.framework, region=region, version=algorithm.version)
    except ValueError as error:
        return (
            f"the sagemaker SDK has no {algorithm.framework} {algorithm.version} image in "
            f"{region}: {error}"
        )
    return None

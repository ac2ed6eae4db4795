"""Config → props of a model's governed training pipeline (the construct never reads config)."""

from __future__ import annotations

from typing import Literal

from aws_cdk import Annotations, Stack, Token
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk_constructs import botocore_data, tags
from cdk_constructs.encryption import DataDomain
from cdk_constructs.pipelines.governed_pipeline import PipelineSchedule, ScheduleDeadLetters
from cdk_constructs.training.definition import BiasFacet, TrainingPipelineSpec
from cdk_constructs.training.pipeline import TrainingPipeline
from config.model import ModelConfig
from config.names import training_pipeline_name
from config.training import Training
from stacks.foundation_stack import FoundationReference

EngineKind = Literal["model-monitor", "evidently"]

# dataset_schema feature types → Evidently column kinds (governance.contracts.reference_data).
_KINDS = {
    "numeric": "numerical",
    "boolean": "categorical",
    "categorical": "categorical",
    "text": "text",
}
# Label kind: a classification label is a category, a regression target a number.
_LABEL_KIND = {"Regression": "numerical"}


def baseline_form(engine: object) -> EngineKind:
    """Which data-quality baseline the environment's monitoring engine reads: an engine says
    so with ``baseline_form`` ("evidently": the reference-data snapshot); Model Monitor's
    statistics and constraints otherwise."""
    from cdk_constructs.monitoring.evidently_engine import EvidentlyEngine

    if isinstance(engine, EvidentlyEngine):
        return "evidently"
    form = getattr(engine, "baseline_form", "model-monitor")
    if form not in ("model-monitor", "evidently"):
        raise ValueError(
            f"monitoring engine {type(engine).__name__} has baseline_form {form!r}; allowed: "
            "model-monitor, evidently"
        )
    return "evidently" if form == "evidently" else "model-monitor"


def image_uri(training: Training, region: str, model: str) -> str:
    """The configured image, or the SDK's image of the built-in algorithm in ``region``."""
    algorithm = training.algorithm
    if algorithm.image_uri is not None:
        return algorithm.image_uri
    if Token.is_unresolved(region):
        raise ValueError(
            f"model {model!r}: training.algorithm {algorithm.framework!r} is resolved by the "
            "sagemaker SDK per region, and this environment has no region; set the "
            "environment's region or training.algorithm.image_uri"
        )
    from sagemaker.core import image_uris

    with botocore_data.shared_loaders():  # one parse of botocore's endpoints per process
        return str(
            image_uris.retrieve(algorithm.framework, region=region, version=algorithm.version)
        )


def training_spec(model: ModelConfig, *, region: str, engine: EngineKind) -> TrainingPipelineSpec:
    training = model.training
    if training is None:
        raise ValueError(f"model {model.name!r} has no training section")
    if Token.is_unresolved(region):
        raise ValueError(
            f"model {model.name!r}: its training pipeline's definition names region-specific "
            "images (the sagemaker SDK resolves them at synth), and this environment has no "
            "region; set the environment's region"
        )
    schema = model.dataset_schema
    columns = [schema.label, *(feature.name for feature in schema.features)]
    kinds = [
        _LABEL_KIND.get(model.problem_type.value, "categorical"),
        *(_KINDS[feature.type] for feature in schema.features),
    ]
    deployment = model.deployment
    explainability = deployment.explainability if deployment else None
    threshold = (
        deployment.output.probability_threshold
        if deployment and deployment.output.probability_threshold is not None
        else 0.5
    )
    return TrainingPipelineSpec(
        pipeline_name=training_pipeline_name(model.name),
        model=model.name,
        region=region,
        problem_type=model.problem_type.value,
        columns=tuple(columns),
        column_kinds=tuple(kinds),
        label=schema.label,
        train_data_key=training.train_data,
        validation_data_key=training.validation_data,
        image_uri=image_uri(training, region, model.name),
        instance_type=training.instance_type,
        instance_count=training.instance_count,
        volume_size_gb=training.volume_size_gb,
        max_runtime_seconds=training.max_runtime_seconds,
        processing_instance_type=training.processing_instance_type,
        hyperparameters=dict(sorted(training.hyperparameters.items())),
        quality_metric=training.quality_floor.metric,
        quality_floor=training.quality_floor.minimum,
        engine=engine,
        owner=model.owner.team,
        risk_tier=model.risk_tier.value,
        data_classification=model.data_classification.value,
        model_card_name=model.name,
        source_revision=training.source_revision,
        bias=(
            BiasFacet(
                label_value=model.bias.label_value,
                facet=model.bias.facet,
                facet_value=model.bias.facet_value,
            )
            if model.bias is not None
            else None
        ),
        shap_baseline_uri=explainability.baseline_s3_uri if explainability else None,
        shap_num_samples=explainability.num_samples if explainability else 100,
        shap_agg_method=explainability.agg_method if explainability else "mean_abs",
        probability_threshold=threshold,
        version_tags={
            tags.MODEL: model.name,
            tags.OWNER: model.owner.team,
            tags.MANAGED_BY: tags.MANAGED_BY_VALUE,
        },
    )


def add_training_pipeline(
    scope: Construct,
    *,
    model: ModelConfig,
    foundation: FoundationReference,
    engine: EngineKind,
    dead_letter_queue: sqs.IQueue,
) -> TrainingPipeline | None:
    """The model's TrainingPipeline in ``scope`` (a models stack's per-model scope); ``None``
    (with a synth warning) in an environment-agnostic stack."""
    training = model.training
    if training is None:
        raise ValueError(f"model {model.name!r} has no training section")
    stack = Stack.of(scope)
    if Token.is_unresolved(stack.region):
        # The definition names region-specific images the SDK resolves at synth; an
        # environment-agnostic stack has no region to resolve them for.
        Annotations.of(scope).add_warning_v2(
            "governance:training-pipeline-needs-region",
            f"model {model.name!r}: no training pipeline in this environment-agnostic stack; "
            "set the environment's region to get it",
        )
        return None
    spec = training_spec(model, region=stack.region, engine=engine)
    return TrainingPipeline(
        scope,
        "Training",
        spec=spec,
        bucket=foundation.artifacts,
        training_role=foundation.role("TrainingRoleArn"),
        processing_role=foundation.role("ProcessingRoleArn"),
        execution_role=foundation.role("PipelineExecutionRoleArn"),
        scheduler_role=foundation.role("PipelineSchedulerRoleArn"),
        publisher=foundation.role("PipelineDefinitionPublisherRoleArn"),
        vpc=foundation.vpc,
        subnets=foundation.subnets,
        security_group=foundation.job_security_group,
        schedule=PipelineSchedule(training.schedule) if training.schedule else None,
        log_key=foundation.keys[DataDomain.LOGS],
        tags={
            tags.OWNER: model.owner.team,
            tags.RISK_TIER: model.risk_tier.value,
            tags.DATA_CLASSIFICATION: model.data_classification.value,
        },
        dead_letters=ScheduleDeadLetters(
            queue=dead_letter_queue,
            key=foundation.keys[DataDomain.ALERTS],
        ),
    )

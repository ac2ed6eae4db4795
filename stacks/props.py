"""The configuration, mapped to what each per-model construct is given.

The constructs (``cdk_constructs``) never see the configuration model; these functions are the
one place where a validated ``ModelConfig`` becomes their narrow props. Nothing is checked here:
the configuration model has checked every value when it was parsed.
"""

from __future__ import annotations

from types import MappingProxyType

from cdk_constructs.monitoring.batch import BatchScoringProps
from cdk_constructs.monitoring.images import MONITOR_TYPES
from cdk_constructs.props import (
    BiasBounds,
    BiasFacet,
    Dataset,
    EndpointOutput,
    Feature,
    GroundTruth,
    ModelIdentity,
    MonitoredModel,
    MonitorSchedule,
    RegisteredModel,
    ServedModel,
    Shap,
)
from config.model import Deployment, GovernancePolicy, ModelConfig, Schedule, offset_seconds
from config.schedules import schedule_interval_hours
from governance.contracts.parameters import ApprovalPolicy

# Floors of the headline model-quality metric per problem type. Regression has no default: an
# error bound depends on the target's scale, so the configuration must give one.
DEFAULT_MODEL_QUALITY_FLOORS = MappingProxyType(
    {"BinaryClassification": ("auc", 0.7), "MulticlassClassification": ("weighted_f1", 0.7)}
)


def identity_of(model: ModelConfig) -> ModelIdentity:
    return ModelIdentity(
        name=model.name,
        owner_team=model.owner.team,
        owner_email=str(model.owner.email),
        risk_tier=model.risk_tier,
        data_classification=model.data_classification,
    )


def _dataset(model: ModelConfig) -> Dataset:
    schema = model.dataset_schema
    return Dataset(
        features=tuple(Feature(name=f.name, type=f.type) for f in schema.features),
        label=schema.label,
    )


def _bias(model: ModelConfig) -> BiasFacet | None:
    bias = model.bias
    if bias is None:
        return None
    return BiasFacet(
        label=bias.label,
        label_value=bias.label_value,
        facet=bias.facet,
        facet_value=bias.facet_value,
    )


def registered_model(model: ModelConfig) -> RegisteredModel:
    """What the package group and the model card show of ``model``."""
    return RegisteredModel(
        identity=identity_of(model),
        description=model.description,
        intended_uses=model.intended_uses,
        problem_type=model.problem_type,
        dataset=_dataset(model),
        bias=_bias(model),
        consumer_accounts=tuple(model.consumer_accounts),
    )


def approval_policy(model: ModelConfig, policy: GovernancePolicy) -> ApprovalPolicy:
    """The model's effective approval policy as the approval gate reads it (the SSM contract).

    The values are the model's effective policy (``GovernancePolicy.effective_approval``): its
    risk tier's evidence with its own deviations, and bias thresholds and facet only where bias
    evidence is required.
    """
    effective = policy.effective_approval(model)
    return ApprovalPolicy.model_validate(
        {
            "model_name": model.name,
            "model_package_group_name": model.name,
            "model_card_name": model.name,
            "risk_tier": model.risk_tier.value,
            "required_evidence": [e.value for e in effective.required_evidence],
            "on_failure": effective.on_failure.value,
            "bias_thresholds": {
                metric: {"min": t.min, "max": t.max}
                for metric, t in effective.bias_thresholds.items()
            },
            "bias_facet": (
                effective.bias_facet.model_dump(mode="json") if effective.bias_facet else None
            ),
        }
    )


def _deployment(model: ModelConfig) -> Deployment:
    deployment = model.deployment
    if deployment is None or not deployment.model_package_arn:
        raise ValueError(
            f"model {model.name!r} is not served as an environment deploys it; pass the model "
            "as ModelConfig.for_environment returns it"
        )
    return deployment


def served_model(model: ModelConfig, environment: str) -> ServedModel:
    """``model``'s endpoint in ``environment`` (``model`` as the environment deploys it)."""
    deployment = _deployment(model)
    return ServedModel(
        identity=identity_of(model),
        environment=environment,
        model_package_arn=deployment.model_package_arn,
        instance_type=deployment.instance_type,
        initial_instance_count=deployment.initial_instance_count,
        data_capture_percentage=deployment.data_capture_percentage,
    )


def monitored_model(model: ModelConfig, policy: GovernancePolicy) -> MonitoredModel:
    """What the monitoring engine and the alarms watch of ``model``'s endpoint."""
    deployment = _deployment(model)
    monitors = {}
    for monitor_type in MONITOR_TYPES:
        schedule: Schedule = getattr(model.monitoring, monitor_type)
        if schedule.enabled:
            monitors[monitor_type] = MonitorSchedule(
                expression=schedule.schedule,
                max_runtime_seconds=model.monitor_max_runtime_seconds(monitor_type),
                interval_hours=schedule_interval_hours(schedule.schedule),
            )
    floor = deployment.model_quality_floor
    window = deployment.ground_truth_window
    return MonitoredModel(
        identity=identity_of(model),
        problem_type=model.problem_type,
        dataset=_dataset(model),
        monitors=MappingProxyType(monitors),
        monitor_instance_type=deployment.monitor_instance_type,
        output=EndpointOutput(
            inference_attribute=deployment.output.inference_attribute,
            probability_attribute=deployment.output.probability_attribute,
            probability_threshold=deployment.output.probability_threshold,
        ),
        shap=Shap(
            baseline_s3_uri=deployment.explainability.baseline_s3_uri,
            num_samples=deployment.explainability.num_samples,
            agg_method=deployment.explainability.agg_method,
            ndcg_threshold=deployment.explainability.ndcg_threshold,
        ),
        ground_truth=(
            GroundTruth(
                s3_uri=str(deployment.ground_truth_s3_uri),
                start_time_offset=window.start_time_offset,
                end_time_offset=window.end_time_offset,
                length_seconds=window.length_seconds,
                end_offset_seconds=offset_seconds(window.end_time_offset),
            )
            if deployment.ground_truth_s3_uri
            else None
        ),
        bias=_bias(model),
        model_quality_floor=(
            (floor.metric, floor.minimum)
            if floor is not None
            else DEFAULT_MODEL_QUALITY_FLOORS.get(model.problem_type.value)
        ),
        bias_thresholds=MappingProxyType(
            {name: BiasBounds(min=t.min, max=t.max) for name, t in policy.bias_thresholds.items()}
        ),
    )


def batch_scoring(model: ModelConfig, environment: str) -> BatchScoringProps | None:
    """``model``'s batch scoring in ``environment`` (``model`` as the environment deploys it),
    or None when it has no batch section or serves nothing there."""
    batch = model.batch
    if batch is None or model.deployment is None or batch.capture_s3_uri is None:
        return None
    deployment = _deployment(model)
    floor = deployment.model_quality_floor
    return BatchScoringProps(
        identity=identity_of(model),
        environment=environment,
        problem_type=model.problem_type,
        dataset=_dataset(model),
        input_s3_uri=batch.input_s3_uri,
        output_s3_uri=batch.output_s3_uri,
        capture_s3_uri=batch.capture_s3_uri,
        schedule=batch.schedule,
        interval_hours=batch.interval_hours,
        instance_type=batch.instance_type,
        instance_count=batch.instance_count,
        check_instance_type=batch.check_instance_type,
        check_max_runtime_seconds=batch.check_max_runtime_seconds,
        ground_truth_s3_uri=batch.ground_truth_s3_uri,
        ground_truth_lookback_hours=batch.ground_truth_lookback_hours,
        probability_threshold=deployment.output.probability_threshold or 0.5,
        model_quality_floor=(
            (floor.metric, floor.minimum)
            if floor is not None
            else DEFAULT_MODEL_QUALITY_FLOORS.get(model.problem_type.value)
        ),
        retraining_pipeline_name=model.retraining_pipeline_name,
    )

"""Spread governed models over several stacks (CloudFormation allows 500 resources each)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from config.model import ModelConfig
from config.schedules import schedule_interval_hours

CLOUDFORMATION_RESOURCE_LIMIT = 500
# Per models stack: the shard's DLQ, its policy and alarm, the state-change rule, the package
# check's function with its role, grants policy and log group, and CDK metadata. (The rule needs
# no Lambda permission of its own: the foundation lets every shard rule invoke the handlers.)
STACK_OVERHEAD = 9
# A stack with a training pipeline also holds CDK's shared definition-copy function and its
# log group (one each per stack, whatever the number of pipelines).
TRAINING_STACK_OVERHEAD = 2
# What the Evidently engine adds once per models stack (cdk_constructs/monitoring/
# evidently_engine.py EvidentlyStackResources): the pipelines' and the schedules' roles with their
# managed policies, the schedules' dead-letter queue with its policy, alarm, key and key alias.
EVIDENTLY_STACK_OVERHEAD = 9
# Headroom for what the estimate cannot see (a new construct adding a resource per model).
DEFAULT_RESOURCE_BUDGET = 450


@dataclass(frozen=True)
class ModelShard:
    """The models one registry/monitoring stack holds; ``index`` is stable for a model list."""

    index: int
    models: tuple[ModelConfig, ...]

    @property
    def construct_id(self) -> str:
        return f"Models{self.index:02d}"


def estimate_resources(model: ModelConfig, *, bias_metrics: int = 0) -> int:
    """CloudFormation resources one model adds to its stack (tested against synth output).

    ``bias_metrics`` is the number of metrics in the policy's bias thresholds: each gets an
    alarm below its minimum and one above its maximum.
    """
    count = 3  # model package group, model card, approval-policy parameter
    if model.training is not None:
        # the pipeline, its definition copy (custom resource) and that copy's AWS CLI layer,
        # and its schedule when it has one
        count += 3 + (model.training.schedule is not None)
    deployment = model.deployment
    if deployment is None:
        return count
    # model, endpoint config, endpoint, endpoint parameter, package check (custom resource),
    # dashboard
    count += 6
    monitors = model.monitoring
    enabled = [
        monitors.data_quality,
        monitors.model_quality,
        monitors.bias,
        monitors.explainability,
    ]
    count += 2 * sum(m.enabled for m in enabled)  # job definition + schedule each
    # a "no results" alarm per monitor with a recurring schedule
    count += sum(m.enabled and schedule_interval_hours(m.schedule) is not None for m in enabled)
    if monitors.data_quality.enabled:
        count += len(model.dataset_schema.features)  # one drift alarm per feature
    if monitors.model_quality.enabled:
        count += 1
    if monitors.bias.enabled and model.bias is not None:
        count += 2 * bias_metrics
    batch = model.batch
    if batch is not None and batch.capture_s3_uri is not None:
        # cdk_constructs/monitoring/batch.py: pipeline, schedule, batch parameter, its package
        # check and dashboard (failed executions go to the foundation's rule); a drift alarm per
        # feature, a "no results" alarm per check, and the model-quality alarm with ground truth.
        count += 5 + len(model.dataset_schema.features) + len(batch.checks)
        count += "model_quality" in batch.checks
    return count


def _scores_in_batch(model: ModelConfig) -> bool:
    return model.deployment is not None and model.batch is not None


def stack_overhead(models: Sequence[ModelConfig], *, engine_overhead: int = 0) -> int:
    """Resources of a models stack that belong to no model. Batch scoring runs the Evidently
    checks, so a stack with a batch model holds the Evidently stack resources on any engine."""
    training = any(model.training is not None for model in models)
    if not engine_overhead and any(_scores_in_batch(model) for model in models):
        engine_overhead = EVIDENTLY_STACK_OVERHEAD
    return STACK_OVERHEAD + engine_overhead + (TRAINING_STACK_OVERHEAD if training else 0)


def shard_models(
    models: Sequence[ModelConfig],
    per_stack: int,
    *,
    bias_metrics: int = 0,
    budget: int = DEFAULT_RESOURCE_BUDGET,
    engine_overhead: int = 0,
) -> list[ModelShard]:
    """Place models in stacks, in config order, within ``per_stack`` models and ``budget``.

    Order is kept so that appending a model never moves an existing one to another stack
    (moving would replace its retained resources). ``engine_overhead``: resources the
    environment's monitoring engine adds once per stack (``EVIDENTLY_STACK_OVERHEAD``).
    """
    overhead = STACK_OVERHEAD + engine_overhead
    if per_stack < 1:
        raise ValueError(f"per_stack must be at least 1 (got {per_stack})")
    if budget > CLOUDFORMATION_RESOURCE_LIMIT:
        raise ValueError(
            f"budget {budget} exceeds CloudFormation's {CLOUDFORMATION_RESOURCE_LIMIT}"
        )
    shards: list[ModelShard] = []
    current: list[ModelConfig] = []
    used = overhead
    for model in models:
        size = estimate_resources(model, bias_metrics=bias_metrics)
        if model.training is not None and not any(m.training for m in current):
            size += TRAINING_STACK_OVERHEAD
        if (
            not engine_overhead
            and _scores_in_batch(model)
            and not any(_scores_in_batch(m) for m in current)
        ):
            size += EVIDENTLY_STACK_OVERHEAD
        if overhead + size > budget:
            raise ValueError(
                f"model {model.name!r} alone needs about {size} resources, more than one stack's "
                f"budget of {budget}; reduce its features, bias metrics or monitors"
            )
        if current and (len(current) == per_stack or used + size > budget):
            shards.append(ModelShard(index=len(shards), models=tuple(current)))
            current, used = [], overhead
        current.append(model)
        used += size
    if current:
        shards.append(ModelShard(index=len(shards), models=tuple(current)))
    return shards

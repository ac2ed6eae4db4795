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
# What the Evidently engine adds once per models stack (cdk_constructs/monitoring/
# evidently_engine.py EvidentlyStackResources): the pipelines' and the schedules' roles with their
# managed policies, the schedules' dead-letter queue, its queue policy and its alarm.
EVIDENTLY_STACK_OVERHEAD = 7
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
    return count


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

"""Compose the governance stacks for every environment of a validated config."""

from __future__ import annotations

from dataclasses import dataclass, field

import aws_cdk as cdk
from constructs import Construct

from cdk_constructs import tags
from cdk_constructs.monitoring.engine import ModelMonitorEngine, MonitoringEngine
from cdk_constructs.monitoring.evidently_engine import EvidentlyEngine
from cdk_constructs.monitoring.mlflow import MlflowTarget
from config.model import Environment, GovernanceConfig, MonitoringEngineName
from stacks.foundation_stack import FoundationStack
from stacks.models_stack import ModelsStack
from stacks.placement import EVIDENTLY_STACK_OVERHEAD, ModelShard, shard_models


@dataclass
class EnvironmentStacks:
    environment: Environment
    foundation: FoundationStack
    shards: list[ModelShard] = field(default_factory=list)
    model_stacks: list[ModelsStack] = field(default_factory=list)


def engine_for(environment: Environment) -> MonitoringEngine:
    """The monitoring engine the environment's config names (``monitoring_engine``)."""
    if environment.monitoring_engine is MonitoringEngineName.EVIDENTLY:
        return EvidentlyEngine(
            mlflow_tracking_arn=environment.mlflow_tracking_arn,
            clarify=environment.clarify_existing_customer,
        )
    return ModelMonitorEngine()


def build_governance(app: Construct, config: GovernanceConfig) -> list[EnvironmentStacks]:
    """Add per environment a foundation stack and one models stack per shard of models."""
    org = config.organisation.prefix
    built: list[EnvironmentStacks] = []
    for environment in config.environments:
        prefix = f"{org}-{environment.name}"
        env = cdk.Environment(account=environment.account, region=environment.region)
        # Each model as this environment deploys it: the version it serves here (a package of
        # this environment's own account and region), with this environment's sizing.
        models = [
            model.for_environment(
                environment,
                partition=environment.partition or cdk.Aws.PARTITION,
                region=environment.region or cdk.Aws.REGION,
                account=environment.account or cdk.Aws.ACCOUNT_ID,
            )
            for model in config.models
        ]
        foundation = FoundationStack(
            app,
            f"{prefix}-foundation",
            env=env,
            description=f"Model governance foundation for {config.organisation.name} "
            f"({environment.name}): keys, buckets, network, identity, alerts",
            policy=config.governance,
            # The accounts that deploy shared models: an organisation-level set (its order
            # and which model names an account do not matter), never the model list itself.
            consumer_accounts=sorted({a for m in config.models for a in m.consumer_accounts}),
            resource_prefix=prefix,
            availability_zones=environment.zones(),
            handler_settings=environment.handlers,
            mlflow_tracking_arn=environment.mlflow_tracking_arn,
        )
        stacks = EnvironmentStacks(environment=environment, foundation=foundation)
        engine = engine_for(environment)
        for shard in shard_models(
            models,
            config.models_per_stack,
            bias_metrics=len(config.governance.bias_thresholds),
            engine_overhead=(
                # + the monitoring role's MLflow logging policy when the environment names a
                # tracking server (an App's runs are relayed by the foundation)
                EVIDENTLY_STACK_OVERHEAD
                + (
                    environment.mlflow_tracking_arn is not None
                    and MlflowTarget(environment.mlflow_tracking_arn).jobs_log_directly
                )
                if environment.monitoring_engine is MonitoringEngineName.EVIDENTLY
                else 0
            ),
        ):
            stacks.shards.append(shard)
            stacks.model_stacks.append(
                ModelsStack(
                    app,
                    f"{prefix}-models-{shard.index:02d}",
                    env=env,
                    description=(
                        f"Governed models of {config.organisation.name} ({environment.name}), "
                        f"shard {shard.index:02d}: {len(shard.models)} models, "
                        f"{shard.models[0].name} to {shard.models[-1].name}"
                    ),
                    foundation=foundation,
                    models=shard.models,
                    policy=config.governance,
                    organisation=config.organisation.name,
                    environment=environment.name,
                    engine=engine,
                )
            )
        built.append(stacks)
    for key, value in {
        **config.organisation.tags,
        tags.MANAGED_BY: tags.MANAGED_BY_VALUE,
    }.items():
        cdk.Tags.of(app).add(key, value)
    return built

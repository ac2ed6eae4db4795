"""A shard of governed models: their registry groups, cards, policies and event routing."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack, Tags
from aws_cdk import aws_events as events
from constructs import Construct

from cdk_constructs import tags
from cdk_constructs.encryption import DataDomain
from cdk_constructs.handlers import SharedHandlerTarget
from cdk_constructs.included import record_stack_child
from cdk_constructs.monitoring.engine import ModelMonitorEngine, MonitoringEngine
from cdk_constructs.queues import DeadLetterQueue
from cdk_constructs.registry import (
    ApprovalPolicyParameter,
    GovernedModelCard,
    GovernedModelPackageGroup,
)
from cdk_constructs.training.pipeline import TrainingPipeline
from config.model import GovernancePolicy, ModelConfig
from stacks.deployed_model import DeployedModel
from stacks.foundation_stack import FoundationReference, FoundationStack, shard_rule_name
from stacks.props import approval_policy, registered_model
from stacks.training import add_training_pipeline, baseline_form

STATE_CHANGE = "SageMaker Model Package State Change"


class ModelsStack(Stack):
    """Per-model resources for up to ``models_per_stack`` models, wired to the foundation.

    It references the foundation (keys, handlers, topic) through its named outputs and never the
    other way round, so shards can be added or removed without touching the foundation's
    template; nothing here grants on a foundation role, key or topic.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        foundation: FoundationStack,
        models: tuple[ModelConfig, ...],
        policy: GovernancePolicy,
        organisation: str,
        environment: str,
        engine: MonitoringEngine | None = None,
        **kwargs: Any,
    ) -> None:
        # A full shard's indented template nears CloudFormation's 1 MB limit; pretty-print it
        # to read it (the foundation stays indented).
        kwargs.setdefault("suppress_template_indentation", True)
        super().__init__(scope, construct_id, **kwargs)
        engine = engine or ModelMonitorEngine()
        foundation.role_boundary.apply(self)
        self.deployments: dict[str, DeployedModel] = {}
        self.foundation = FoundationReference(self, "Foundation", foundation=foundation)
        artifacts_key = self.foundation.keys[DataDomain.ARTIFACTS]
        self.state_change_dlq = DeadLetterQueue(
            self,
            "DeadLetterQueue",
            key=self.foundation.keys[DataDomain.ALERTS],
            alerts=self.foundation.alerts,
            what="Model events of this shard",
        )
        self.groups: dict[str, GovernedModelPackageGroup] = {}
        self.cards: dict[str, GovernedModelCard] = {}
        self.training: dict[str, TrainingPipeline] = {}
        for model in models:
            scope_for_model = Construct(self, model.name)
            record_stack_child(self, scope_for_model, model.name)
            # Every resource of the model (alarms and queues included) names it, so rules and
            # the report find a model's resources without guessing from names.
            Tags.of(scope_for_model).add(tags.MODEL, model.name)
            registered = registered_model(model)
            self.groups[model.name] = GovernedModelPackageGroup(
                scope_for_model, "Group", model=registered, stack=self
            )
            self.cards[model.name] = GovernedModelCard(
                scope_for_model,
                "Card",
                model=registered,
                organisation=organisation,
                key=artifacts_key,
            )
            ApprovalPolicyParameter(
                scope_for_model,
                "ApprovalPolicy",
                policy=approval_policy(model, policy),
                summary=policy.effective_approval(model).summary(),
            )
            if model.training is not None:
                trained = add_training_pipeline(
                    scope_for_model,
                    model=model,
                    foundation=self.foundation,
                    engine=baseline_form(engine),
                    dead_letter_queue=self.state_change_dlq.queue,
                )
                if trained is not None:
                    self.training[model.name] = trained
            if model.deployment is not None:
                self.deployments[model.name] = DeployedModel(
                    scope_for_model,
                    "Serving",
                    model=model,
                    environment=environment,
                    foundation=self.foundation,
                    policy=policy,
                    engine=engine,
                )

        self.state_change_rule = events.Rule(
            self,
            "StateChanges",
            rule_name=shard_rule_name(self.stack_name),
            description="Model package state changes of this shard's governed groups",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=[STATE_CHANGE],
                detail={"ModelPackageGroupName": [m.name for m in models]},
            ),
            targets=[
                SharedHandlerTarget(
                    self.foundation.approval_gate_arn, dead_letter_queue=self.state_change_dlq.queue
                ),
                SharedHandlerTarget(
                    self.foundation.audit_ledger_arn, dead_letter_queue=self.state_change_dlq.queue
                ),
            ],
        )

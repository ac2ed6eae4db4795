"""A model's governed training pipeline: the SDK-built definition on a GovernedPipeline.

It runs as the foundation's shared pipeline execution role and is scheduled with its shared
scheduler role (:mod:`cdk_constructs.pipelines.foundation_access`): the foundation owns every
principal that its keys name, and those roles are scoped by tag and prefix like every other
shared role, so adding a model with a pipeline never changes the foundation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk_constructs.encryption import IGovernanceKey
from cdk_constructs.pipelines.governed_pipeline import (
    GovernedPipeline,
    IScheduleDeadLetters,
    PipelineDefinition,
    PipelineSchedule,
)
from cdk_constructs.storage import IGovernedBucket
from cdk_constructs.training.definition import (
    SOURCE_REVISION_PARAMETER,
    BuiltDefinition,
    DeployTime,
    TrainingPipelineSpec,
    build_definition,
)


class TrainingPipeline(Construct):
    """The governed training pipeline of one model.

    :param spec: what the definition depends on (built from the model's ``training`` config).
    :param bucket: the artifacts bucket; data, models, baselines and definitions live there.
    :param training_role, processing_role: the foundation's job roles, passed to the jobs.
    :param execution_role: the foundation's pipeline execution role.
    :param scheduler_role: the foundation's pipeline scheduler role (used with ``schedule``).
    :param publisher: the foundation's definition publisher role.
    :param vpc, subnets, security_group: the isolated network of every job and the copy.
    :param schedule: default none: started on demand or by the violations handler.
    :param dead_letters: required with ``schedule``.
    :param tags: on the pipeline and its roles (governance:model, owner, ...).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: TrainingPipelineSpec,
        bucket: IGovernedBucket,
        training_role: iam.IRole,
        processing_role: iam.IRole,
        execution_role: iam.IRole,
        scheduler_role: iam.IRole,
        publisher: iam.IRole,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
        schedule: PipelineSchedule | None = None,
        dead_letters: IScheduleDeadLetters | None = None,
        tags: Mapping[str, str] | None = None,
        log_key: IGovernanceKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec
        self.built: BuiltDefinition = build_definition(
            spec,
            DeployTime(
                bucket_name=bucket.bucket_name,
                key_arn=bucket.key.key_arn,
                training_role_arn=training_role.role_arn,
                processing_role_arn=processing_role.role_arn,
                subnet_ids=[subnet.subnet_id for subnet in subnets[:2]],
                security_group_id=security_group.security_group_id,
            ),
        )
        self.pipeline = GovernedPipeline(
            self,
            "Pipeline",
            pipeline_name=spec.pipeline_name,
            definition=PipelineDefinition(self.built.json_text),
            bucket=bucket,
            publisher=publisher,
            vpc=vpc,
            subnets=subnets,
            security_groups=[security_group],
            description=(
                f"Governed training and evaluation of {spec.model}: data-quality baseline, "
                "bias, hardened training, evaluation, quality gate, registration for approval"
            ),
            schedule=schedule,
            dead_letters=dead_letters,
            tags=tags,
            files=self.built.files,
            log_key=log_key,
            role=execution_role,
            scheduler_role=scheduler_role,
        )

    @property
    def pipeline_name(self) -> str:
        return self.spec.pipeline_name

    @property
    def source_revision_parameter(self) -> str:
        return SOURCE_REVISION_PARAMETER

"""The foundation's part of governed SageMaker pipelines: their shared roles and grants.

The foundation owns every key and every IAM principal, and a key policy names each principal
that may use the key (:class:`cdk_constructs.encryption.GovernanceKey`), so the roles that
pipelines run as live here, scoped the way every shared role is, by tag and prefix, never by
a list of models (the foundation stays independent of the model list):

- ``PipelineExecution``: what SageMaker Pipelines runs every governed pipeline as. It creates
  the pipelines' jobs and models in this account and region (tagging only while creating),
  passes only the training and processing roles, registers versions only into groups this app
  created, only ``PendingManualApproval`` and only tagged ``governance:model``, tracks
  executions as experiments and trials, and reads ``baselines/*`` (the property files a
  pipeline's conditions read, such as ``evaluation.json``). It changes no pipeline and no role.
- ``PipelineScheduler``: what EventBridge Scheduler starts pipelines as: only pipelines this app
  created, and it writes undeliverable starts to the models stacks' dead-letter queues.
- ``PipelineDefinitionPublisher``: what the deploy-time copy of SDK-built definitions runs as
  (CDK's ``BucketDeployment`` function in each models stack that has a pipeline).

It also lets the deploying role decrypt definitions (CloudFormation's pipeline handler reads
the object with ``s3:GetObject``) and gives the processing role what the pipelines' processing,
transform and Clarify jobs need.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk_constructs import access, tags
from cdk_constructs.arns import log_group_arn
from cdk_constructs.compliance.acknowledgments import acknowledge, acknowledge_wildcards, nag_string
from cdk_constructs.encryption import GovernanceKey
from cdk_constructs.identity import (
    APPROVAL_STATUS_CONDITION,
    JOB_NETWORK_ACTIONS,
    clarify_shadow_arns,
    clarify_shadow_statements,
)
from cdk_constructs.pipelines.contract import DEFINITIONS_PREFIX
from cdk_constructs.roles import ManagedPolicyRole
from cdk_constructs.storage import GovernedBucket


class PipelineFoundationAccess(Construct):
    """Key statements, the definition publisher and processing-role grants for pipelines.

    :param artifacts: the artifacts bucket (definitions under ``pipelines/``, baselines).
    :param queue_key: the key of dead-letter queues (schedules' DLQs use it).
    :param processing_role: runs the pipelines' processing, transform and Clarify jobs and is
        the created models' execution role.
    :param asset_objects: the CDK bootstrap assets bucket's objects (``arn:...:s3:::<bucket>/*``)
        where the definitions are staged.
    :param deployer_role_arn: the role CloudFormation deploys with: it reads the definition when
        it creates or updates the pipeline (``s3:GetObject`` in the provider schema's handlers).
    :param dead_letter_queues: ARN pattern of the models stacks' dead-letter queues.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        artifacts: GovernedBucket,
        queue_key: GovernanceKey,
        processing_role: iam.IRole,
        asset_objects: str,
        deployer_role_arn: str,
        models_prefix: str,
        baselines_prefix: str,
        training_role: iam.IRole,
        dead_letter_queues: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # CloudFormation reads the definition object with the deploying role; S3 decrypts it with
        # the bucket's key on that role's behalf. (Naming the bucket in an encryption-context
        # condition would make key and bucket depend on each other.)
        artifacts.key.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudFormationReadsPipelineDefinitions",
                principals=[iam.ArnPrincipal(deployer_role_arn)],
                actions=["kms:Decrypt"],
                resources=["*"],
                conditions=access.via_service("s3", region=stack.region, account=stack.account),
            )
        )

        self.publisher = ManagedPolicyRole(
            self,
            "DefinitionPublisher",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Copies SDK-built pipeline definitions into the artifacts bucket",
        )
        artifacts.grant_read_write(self.publisher, f"{DEFINITIONS_PREFIX}*")
        self.publisher.add_to_policy(
            iam.PolicyStatement(
                sid="ReadStagedDefinitions",
                actions=["s3:GetObject"],
                resources=[asset_objects],
            )
        )
        function_logs = log_group_arn(self, "/aws/lambda/*")
        self.publisher.add_to_policy(
            iam.PolicyStatement(
                sid="FunctionLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[function_logs],
            )
        )
        self.publisher.add_to_policy(
            iam.PolicyStatement(
                sid="FunctionInVpc",
                actions=list(JOB_NETWORK_ACTIONS),
                resources=["*"],
            )
        )
        acknowledge(
            self.publisher,
            "AwsSolutions-IAM5[Resource::*]",
            "A function in a VPC creates and deletes its network interfaces; EC2 supports no "
            "resource-level permissions for the Describe calls (AWSLambdaVPCAccessExecutionRole "
            "grants the same).",
        )
        acknowledge_wildcards(
            self.publisher,
            resources=[nag_string(stack, asset_objects), nag_string(stack, function_logs)],
            reason=(
                "Definitions are staged as CDK file assets named by content hash in the "
                "bootstrap assets bucket (read only); the copy function's log group is named "
                "by CDK per stack under /aws/lambda/."
            ),
        )

        self.execution_role = self._execution_role(
            artifacts, training_role, processing_role, baselines_prefix
        )
        self.scheduler_role = self._scheduler_role(queue_key, dead_letter_queues)

        # The processing role runs the pipelines' evaluation, transform and Clarify jobs and is
        # the created models' execution role: it reads the trained model and the step code.
        artifacts.grant_read(processing_role, f"{models_prefix}*")
        artifacts.grant_read(processing_role, f"{DEFINITIONS_PREFIX}*")
        arns = access.SageMakerArns(stack)
        shadow = clarify_shadow_arns(arns)
        for statement in clarify_shadow_statements(shadow, sid_prefix="Pipeline"):
            processing_role.add_to_principal_policy(statement)
        processing_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadPipelineModels",
                actions=["sagemaker:DescribeModel"],
                resources=[arns.of("model")],
                conditions=access.created_by_this_app(),
            )
        )
        if isinstance(processing_role, Construct):
            acknowledge_wildcards(
                processing_role,
                resources=[nag_string(stack, arn) for arn in [*shadow, arns.of("model")]],
                reason=(
                    "Clarify names its shadow endpoint and config with the documented prefix "
                    f"'{access.CLARIFY_SHADOW_PREFIX}' plus a per-run suffix; pipeline models get "
                    "per-execution names and are read only when tagged "
                    f"{tags.MANAGED_BY}={tags.MANAGED_BY_VALUE}."
                ),
            )

    def _execution_role(
        self,
        artifacts: GovernedBucket,
        training_role: iam.IRole,
        processing_role: iam.IRole,
        baselines_prefix: str,
    ) -> ManagedPolicyRole:
        stack = Stack.of(self)
        arns = access.SageMakerArns(stack)
        role = ManagedPolicyRole(
            self,
            "Execution",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com").with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": arns.of("pipeline")},
                }
            ),
            description="SageMaker Pipelines: runs the governed pipelines' steps",
        )
        job_resources = [
            arns.of("training-job"),
            arns.of("processing-job"),
            arns.of("transform-job"),
            arns.of("model"),
        ]
        role.add_to_policy(
            iam.PolicyStatement(sid="RunJobs", actions=list(JOB_ACTIONS), resources=job_resources)
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="TagJobsOnCreate",
                actions=["sagemaker:AddTags"],
                resources=job_resources,
                conditions=access.tag_on_create(
                    "CreateTrainingJob", "CreateProcessingJob", "CreateTransformJob", "CreateModel"
                ),
            )
        )
        # CreateModelPackage is authorized against the group and the new version (Service
        # Authorization Reference); both must be this app's, pending, tagged with the model.
        registration = access.merge(
            access.pending_approval(),
            {"Null": {f"aws:RequestTag/{tags.MODEL}": "false"}},
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="RegisterIntoGovernedGroups",
                actions=["sagemaker:CreateModelPackage"],
                resources=[arns.groups],
                conditions=access.merge(access.created_by_this_app(), registration),
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="RegisterPendingTaggedVersions",
                actions=["sagemaker:CreateModelPackage"],
                resources=[arns.versions],
                conditions=registration,
            )
        )
        # Separation of duties, explicitly: whatever else is ever granted, the role registers
        # only pending versions and never approves or rejects one (as the data scientist).
        role.add_to_policy(
            iam.PolicyStatement(
                sid="RegisterOnlyPendingVersions",
                effect=iam.Effect.DENY,
                actions=["sagemaker:CreateModelPackage"],
                resources=["*"],
                conditions={
                    "StringNotEquals": {APPROVAL_STATUS_CONDITION: access.PENDING_APPROVAL}
                },
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="NeverApprove",
                effect=iam.Effect.DENY,
                actions=["sagemaker:UpdateModelPackage"],
                resources=["*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="TagVersionsOnRegistration",
                actions=["sagemaker:AddTags"],
                resources=[arns.versions],
                conditions=access.tag_on_create("CreateModelPackage"),
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadGovernedVersions",
                actions=["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
                resources=[arns.groups, arns.versions, arns.packages],
            )
        )
        tracking = [
            arns.of("experiment"),
            arns.of("experiment-trial"),
            arns.of("experiment-trial-component"),
        ]
        role.add_to_policy(
            iam.PolicyStatement(
                sid="TrackExecutions", actions=list(EXPERIMENT_ACTIONS), resources=tracking
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="PassJobRoles",
                actions=["iam:PassRole"],
                resources=[training_role.role_arn, processing_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        artifacts.grant_read(role, f"{baselines_prefix}*")
        acknowledge_wildcards(
            role,
            resources=[
                nag_string(stack, arn)
                for arn in [
                    *job_resources,
                    arns.groups,
                    arns.versions,
                    arns.packages,
                    *tracking,
                ]
            ],
            reason=(
                "SageMaker Pipelines names jobs, models, trials and registered versions per "
                "execution; creation is limited to this account and region, tagging to "
                "creation, registration to groups this app created, PendingManualApproval and "
                "a governance:model tag."
            ),
        )
        return role

    def _scheduler_role(
        self, queue_key: GovernanceKey, dead_letter_queues: str
    ) -> ManagedPolicyRole:
        stack = Stack.of(self)
        arns = access.SageMakerArns(stack)
        role = ManagedPolicyRole(
            self,
            "Scheduler",
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com").with_conditions(
                {"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description="EventBridge Scheduler: starts the governed pipelines on their schedules",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="StartGovernedPipelines",
                actions=["sagemaker:StartPipelineExecution"],
                resources=[arns.of("pipeline")],
                conditions=access.created_by_this_app(),
            )
        )
        # Scheduler sends starts it could not make to the dead-letter queue as the schedule's
        # role (EventBridge Scheduler user guide, "Configuring a dead-letter queue"); SQS
        # encrypts them with the queue's key for that role.
        role.add_to_policy(
            iam.PolicyStatement(
                sid="DeadLetters", actions=["sqs:SendMessage"], resources=[dead_letter_queues]
            )
        )
        queue_key.grant_use_via(role, service="sqs", actions=("kms:GenerateDataKey", "kms:Decrypt"))
        acknowledge_wildcards(
            role,
            resources=[
                nag_string(stack, arns.of("pipeline")),
                nag_string(stack, dead_letter_queues),
            ],
            reason=(
                "Pipelines are created per model by the models stacks; the role starts only "
                f"pipelines tagged {tags.MANAGED_BY}={tags.MANAGED_BY_VALUE} and writes only to "
                "the models stacks' dead-letter queues."
            ),
        )
        return role


JOB_ACTIONS = (
    "sagemaker:CreateTrainingJob",
    "sagemaker:DescribeTrainingJob",
    "sagemaker:StopTrainingJob",
    "sagemaker:CreateProcessingJob",
    "sagemaker:DescribeProcessingJob",
    "sagemaker:StopProcessingJob",
    "sagemaker:CreateTransformJob",
    "sagemaker:DescribeTransformJob",
    "sagemaker:StopTransformJob",
    "sagemaker:CreateModel",
    "sagemaker:DescribeModel",
)
EXPERIMENT_ACTIONS = (
    "sagemaker:CreateExperiment",
    "sagemaker:DescribeExperiment",
    "sagemaker:CreateTrial",
    "sagemaker:DescribeTrial",
    "sagemaker:AssociateTrialComponent",
)

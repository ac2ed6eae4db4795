"""Persona roles and job execution roles, all under one permissions boundary.

Personas follow SageMaker Role Manager's: data scientist, MLOps engineer, model approver (risk
officer) and auditor. Access is attribute-based (:mod:`cdk_constructs.access`): every statement
names a resource *type* and the tag or prefix that bounds it, never a model, so the policies are
the same size for any number of models. Separation of duties is enforced with explicit denies,
which no later grant can override: data scientists register versions (only as
``PendingManualApproval``, only into their own team's groups) but cannot approve them;
approvers approve but cannot create or delete versions; nobody with a role of this app can
add or remove ``governance:*`` tags outside resource creation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk_constructs import access, tags
from cdk_constructs.arns import format_arn, log_group_arn
from cdk_constructs.compliance.acknowledgments import (
    acknowledge,
    acknowledge_wildcards,
    nag_string,
)
from cdk_constructs.compliance.declarations import declare_read_only_roles
from cdk_constructs.monitoring.mlflow import MlflowTarget
from cdk_constructs.roles import ManagedPolicyRole

APPROVAL_STATUS_CONDITION = access.APPROVAL_STATUS_KEY
# Read access to the governed registry; ListTags lets a reader see the governance tags.
REGISTRY_READ_ACTIONS = (
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:DescribeModelCard",
    "sagemaker:ListModelCardVersions",
    "sagemaker:ListTags",
)
VERSION_READ_ACTIONS = ("sagemaker:DescribeModelPackage", "sagemaker:ListTags")
VERSION_LIFECYCLE_ACTIONS = (
    "sagemaker:CreateModelPackage",
    "sagemaker:DeleteModelPackage",
    "sagemaker:DeleteModelPackageGroup",
)
# What Clarify does with a shadow endpoint for the explainability (SHAP) monitor: create an
# endpoint config and endpoint from the monitored model, wait for it, invoke it, delete both
# (SageMaker developer guide: clarify-processing-job-configure-how-it-works, clarify-vpc).
SHADOW_ENDPOINT_ACTIONS = (
    "sagemaker:CreateEndpointConfig",
    "sagemaker:CreateEndpoint",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:DescribeEndpoint",
    "sagemaker:InvokeEndpoint",
    "sagemaker:DeleteEndpoint",
    "sagemaker:DeleteEndpointConfig",
)


def clarify_shadow_arns(arns: access.SageMakerArns) -> list[str]:
    """The endpoints and endpoint configs Clarify names with its shadow prefix."""
    return [
        arns.of("endpoint", f"{access.CLARIFY_SHADOW_PREFIX}*"),
        arns.of("endpoint-config", f"{access.CLARIFY_SHADOW_PREFIX}*"),
    ]


def clarify_shadow_statements(shadow: list[str], *, sid_prefix: str) -> list[iam.PolicyStatement]:
    """What a role running Clarify needs for its shadow endpoint: manage the ``shadow``
    endpoints and configs, and tag them on create."""
    return [
        iam.PolicyStatement(
            sid=f"{sid_prefix}ClarifyShadowEndpoints",
            actions=list(SHADOW_ENDPOINT_ACTIONS),
            resources=shadow,
        ),
        iam.PolicyStatement(
            sid=f"Tag{sid_prefix}ShadowEndpointsOnCreate",
            actions=["sagemaker:AddTags"],
            resources=shadow,
            conditions=access.tag_on_create("CreateEndpoint", "CreateEndpointConfig"),
        ),
    ]


# What a data scientist may do with the team's governed pipelines, and what no persona may do
# with any pipeline (Service Authorization Reference, SageMaker: pipeline and
# pipeline-execution resource types, aws:ResourceTag condition keys).
PIPELINE_START_ACTIONS = (
    "sagemaker:StartPipelineExecution",
    "sagemaker:DescribePipeline",
    "sagemaker:ListPipelineExecutions",
)
PIPELINE_EXECUTION_READ_ACTIONS = (
    "sagemaker:DescribePipelineExecution",
    "sagemaker:DescribePipelineDefinitionForExecution",
    "sagemaker:ListPipelineExecutionSteps",
    "sagemaker:StopPipelineExecution",
)
PIPELINE_CHANGE_ACTIONS = (
    "sagemaker:CreatePipeline",
    "sagemaker:UpdatePipeline",
    "sagemaker:UpdatePipelineVersion",
    "sagemaker:DeletePipeline",
)
MONITORED_RESOURCE_READ_ACTIONS = (
    "sagemaker:DescribeModel",
    "sagemaker:DescribeEndpoint",
    "sagemaker:DescribeEndpointConfig",
)
# Every SageMaker job in a VPC validates these when it is created; the developer guide says not
# to scope them with conditions or resource filters, or the validation fails
# (sagemaker-roles: "If you specify a private VPC for your processing job ... Don't scope in the
# policy with any conditions or resource filters").
JOB_NETWORK_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
)

# What CDK's Custom::VpcRestrictDefaultSG handler calls on the VPC's default security group
# (see PermissionsBoundary.allow_default_security_group_restriction).
DEFAULT_SECURITY_GROUP_ACTIONS = (
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress",
    "ec2:RevokeSecurityGroupEgress",
)


class PermissionsBoundary(Construct):
    """The ceiling for every role the app creates.

    It allows only the services governance workloads use and denies what would let a role
    escape governance: changing IAM, removing this boundary, disabling the trail or keys, and
    changing ``governance:*`` tags after creation (which would move a resource into another
    team's or model's scope).
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        allow = iam.PolicyStatement(
            sid="GovernanceWorkloadServices",
            actions=[
                "sagemaker:Describe*",
                "sagemaker:List*",
                "sagemaker:Search",
                "sagemaker:Create*",
                "sagemaker:Update*",
                "sagemaker:Start*",
                "sagemaker:Stop*",
                "sagemaker:AddTags",
                "sagemaker:InvokeEndpoint",
                "sagemaker:DeleteModelPackage",
                "sagemaker:DeleteModelPackageGroup",
                # Clarify deletes the shadow endpoint it created for the explainability monitor.
                "sagemaker:DeleteEndpoint",
                "sagemaker:DeleteEndpointConfig",
                "s3:GetObject*",
                "s3:PutObject*",
                "s3:ListBucket*",
                "s3:GetBucket*",
                "s3:AbortMultipartUpload",
                "s3:DeleteObject*",
                "kms:Decrypt",
                "kms:Encrypt",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:DescribeKey",
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogStreams",
                "cloudwatch:PutMetricData",
                "cloudwatch:GetMetricData",
                "cloudwatch:ListMetrics",
                "ecr:GetAuthorizationToken",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchCheckLayerAvailability",
                "ec2:CreateNetworkInterface",
                "ec2:CreateNetworkInterfacePermission",
                "ec2:DeleteNetworkInterface",
                "ec2:DeleteNetworkInterfacePermission",
                "ec2:Describe*",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
                "dynamodb:DescribeTable",
                "dynamodb:ConditionCheckItem",
                "sns:Publish",
                "sqs:SendMessage",
                # An SQS event source polls with the function's role (Lambda developer guide,
                # with-sqs: ReceiveMessage, DeleteMessage, GetQueueAttributes; the visibility
                # change returns a failed batch): the Evidently schedule-failures handler.
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ChangeMessageVisibility",
                "events:PutEvents",
                "ssm:GetParameter",
                "ssm:GetParameters",
                "cloudtrail:LookupEvents",
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "iam:PassRole",
            ],
            resources=["*"],
        )
        # Jobs and endpoints with a volume key need kms:CreateGrant through the boundary as well
        # as through their own policy and the key policy (a boundary caps what a key policy
        # grants to a role: IAM user guide, policy evaluation logic / permissions boundaries).
        grants = iam.PolicyStatement(
            sid="KmsGrantsForAwsResources",
            actions=["kms:CreateGrant"],
            resources=["*"],
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        )
        deny = iam.PolicyStatement(
            sid="NoGovernanceEscape",
            effect=iam.Effect.DENY,
            actions=[
                "iam:CreateUser",
                "iam:CreateRole",
                "iam:PutRolePolicy",
                "iam:AttachRolePolicy",
                "iam:DeleteRolePermissionsBoundary",
                "iam:PutRolePermissionsBoundary",
                "iam:CreatePolicyVersion",
                "cloudtrail:StopLogging",
                "cloudtrail:DeleteTrail",
                "kms:ScheduleKeyDeletion",
                "kms:DisableKey",
                "s3:PutBucketObjectLockConfiguration",
                "s3:BypassGovernanceRetention",
            ],
            resources=["*"],
        )
        # Governance tags decide who may act on a resource, so they are set only when a resource
        # is created (CloudFormation, or a registration that must tag its version): standalone
        # AddTags has no sagemaker:TaggingAction, tag-on-create has the create API's name.
        no_retagging = iam.PolicyStatement(
            sid="NoGovernanceTagChanges",
            effect=iam.Effect.DENY,
            actions=["sagemaker:AddTags"],
            resources=["*"],
            conditions={
                "ForAnyValue:StringLike": {"aws:TagKeys": [access.GOVERNANCE_TAG_KEYS]},
                "Null": {"sagemaker:TaggingAction": "true"},
            },
        )
        no_untagging = iam.PolicyStatement(
            sid="NoGovernanceTagRemoval",
            effect=iam.Effect.DENY,
            actions=["sagemaker:DeleteTags"],
            resources=["*"],
            conditions={"ForAnyValue:StringLike": {"aws:TagKeys": [access.GOVERNANCE_TAG_KEYS]}},
        )
        self.policy = iam.ManagedPolicy(
            self,
            "Resource",
            description="Permissions boundary for SageMaker model governance roles",
            statements=[allow, grants, deny, no_retagging, no_untagging],
        )
        acknowledge_wildcards(
            self.policy,
            actions=allow.actions,
            resources=allow.resources,
            reason=(
                "This is a permissions boundary: it grants nothing and only caps what the "
                "app's roles may ever do; each role's own policy is least-privilege."
            ),
        )

    def allow_mlflow_logging(self, target: MlflowTarget) -> None:
        """Let roles log to the environment's one MLflow App or tracking server, and no other.

        The workload statement above names no MLflow action (``sagemaker-mlflow:*`` is another
        service prefix, and ``sagemaker:CallMlflowAppApi`` matches none of its ``sagemaker:``
        patterns), and a boundary caps every identity grant (IAM user guide, permissions
        boundaries: the effective permissions are the intersection), so without this statement
        every MLflow grant of the app would be denied in a real account. It allows exactly the
        actions the grants use for the target's kind (:class:`MlflowTarget`), on its ARN only.
        """
        self.policy.add_statements(
            iam.PolicyStatement(
                sid="MlflowLogging",
                actions=list(target.logging_actions),
                resources=[target.arn],
            )
        )

    def allow_default_security_group_restriction(self, vpc: ec2.Vpc) -> None:
        """Let roles change the rules of ``vpc``'s default security group, and no other.

        ``ec2.Vpc(restrict_default_security_group=True)`` removes the default group's rules
        through a CDK-internal custom-resource provider (``Custom::VpcRestrictDefaultSG``), whose
        role gets this boundary from the Aspect. Its handler (aws-cdk
        ``packages/@aws-cdk/custom-resource-handlers/lib/aws-ec2/
        restrict-default-security-group-handler/index.ts``) calls RevokeSecurityGroupEgress and
        RevokeSecurityGroupIngress on create, AuthorizeSecurityGroupIngress and
        AuthorizeSecurityGroupEgress on delete, each on the default group only. All four are
        authorized on the ``security-group`` resource type,
        ``arn:${Partition}:ec2:${Region}:${Account}:security-group/${SecurityGroupId}``
        (Service Authorization Reference, Amazon EC2), so the boundary names that one group,
        the same resource CDK's own inline policy for the role names.
        """
        stack = Stack.of(self)
        self.policy.add_statements(
            iam.PolicyStatement(
                sid="RestrictDefaultSecurityGroup",
                actions=list(DEFAULT_SECURITY_GROUP_ACTIONS),
                resources=[
                    stack.format_arn(
                        service="ec2",
                        resource="security-group",
                        resource_name=vpc.vpc_default_security_group,
                    )
                ],
            )
        )


def _acknowledge_registry_wildcards(
    role: iam.IRole, stack: Stack, arns: access.SageMakerArns
) -> None:
    reasons = {
        arns.groups: f"Model package groups are created per model; reads are limited by "
        f"condition to groups tagged {tags.MANAGED_BY}={tags.MANAGED_BY_VALUE}, writes to "
        f"groups whose {tags.OWNER} tag is the caller's team.",
        arns.cards: f"Model cards are created per model; access is limited by condition to "
        f"cards tagged {tags.MANAGED_BY}={tags.MANAGED_BY_VALUE} (updates by data scientists "
        f"to cards of their own team by {tags.OWNER}).",
        arns.versions: f"Model package versions are numbered by SageMaker at registration; "
        f"access is limited by condition to versions tagged {tags.MODEL} at registration "
        f"(and, for registration, to the caller's team by {tags.OWNER}).",
        arns.packages: "ListModelPackages is authorized against the model-package resource "
        "type; it returns names and statuses only, never artifacts or metrics.",
    }
    for arn, reason in reasons.items():
        acknowledge_wildcards(role, resources=[nag_string(stack, arn)], reason=reason)


class PersonaRoles(Construct):
    """Human personas, assumed from the account with MFA, scoped by governance tags.

    The data scientist's team comes from the session tag ``governance:owner`` (from the
    identity provider, or passed on AssumeRole and then limited to the caller's own tag by the
    trust policy); without it a data scientist can read but not write.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        job_roles: Sequence[iam.IRole],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        arns = access.SageMakerArns(stack)
        human = iam.AccountRootPrincipal().with_conditions(
            {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
        )

        def persona(role_id: str, description: str) -> ManagedPolicyRole:
            return ManagedPolicyRole(self, role_id, assumed_by=human, description=description)

        self.data_scientist = persona(
            "DataScientist", "Registers model versions and drafts model cards; cannot approve"
        )
        self.mlops_engineer = persona(
            "MlopsEngineer", "Deploys approved versions and operates monitoring; cannot approve"
        )
        self.model_approver = persona(
            "ModelApprover", "Risk officer: approves or rejects versions; cannot create or delete"
        )
        self.auditor = persona("Auditor", "Read-only access to the registry and audit evidence")
        declare_read_only_roles(stack, [self.auditor])
        # A session may carry the caller's own team and nothing else (IAM user guide, "Passing
        # session tags in AWS STS": aws:RequestTag / aws:TagKeys on sts:TagSession).
        trust = self.data_scientist.assume_role_policy
        if trust is None:  # a Role built with assumed_by always has one
            raise RuntimeError("the data scientist role has no trust policy")
        trust.add_statements(
            iam.PolicyStatement(
                sid="OwnTeamSessionTagOnly",
                principals=[iam.AccountRootPrincipal()],
                actions=["sts:TagSession"],
                conditions={
                    "StringEquals": {f"aws:RequestTag/{tags.OWNER}": access.OWN_TEAM},
                    "ForAllValues:StringEquals": {"aws:TagKeys": [tags.OWNER]},
                },
            )
        )

        for role in self.all:
            role.add_to_policy(
                iam.PolicyStatement(
                    sid="ReadGovernedRegistry",
                    actions=list(REGISTRY_READ_ACTIONS),
                    resources=[arns.groups, arns.cards],
                    conditions=access.created_by_this_app(),
                )
            )
            role.add_to_policy(
                iam.PolicyStatement(
                    sid="ReadGovernedVersions",
                    actions=list(VERSION_READ_ACTIONS),
                    resources=[arns.versions],
                    conditions=access.governed_version(),
                )
            )
            role.add_to_policy(
                iam.PolicyStatement(
                    sid="ListVersions",
                    actions=["sagemaker:ListModelPackages"],
                    resources=[arns.packages],
                )
            )

        ds = self.data_scientist
        # CreateModelPackage is authorized against the group (its owner tag) and the new version
        # (its request tags); both statements require the version to be tagged for the caller's
        # team and to start unapproved (Service Authorization Reference, CreateModelPackage).
        ds.add_to_policy(
            iam.PolicyStatement(
                sid="RegisterIntoOwnTeamsGroups",
                actions=["sagemaker:CreateModelPackage"],
                resources=[arns.groups],
                conditions=access.merge(
                    access.owned_by_callers_team(),
                    access.tagged_for_callers_team(),
                    access.pending_approval(),
                ),
            )
        )
        ds.add_to_policy(
            iam.PolicyStatement(
                sid="RegisterVersionsForOwnTeam",
                actions=["sagemaker:CreateModelPackage"],
                resources=[arns.versions],
                conditions=access.merge(
                    access.tagged_for_callers_team(), access.pending_approval()
                ),
            )
        )
        ds.add_to_policy(
            iam.PolicyStatement(
                sid="TagVersionsOnRegistration",
                actions=["sagemaker:AddTags"],
                resources=[arns.versions],
                conditions=access.merge(
                    access.tag_on_create("CreateModelPackage"),
                    {"StringEquals": {f"aws:RequestTag/{tags.OWNER}": access.OWN_TEAM}},
                ),
            )
        )
        ds.add_to_policy(
            iam.PolicyStatement(
                sid="DraftOwnTeamsCards",
                actions=["sagemaker:UpdateModelCard"],
                resources=[arns.cards],
                conditions=access.owned_by_callers_team(),
            )
        )
        # Governed pipelines: the owning team starts them and follows their executions; nobody
        # with a persona changes a pipeline (its definition and role come from the app only).
        pipelines = arns.of("pipeline")
        ds.add_to_policy(
            iam.PolicyStatement(
                sid="StartOwnTeamsPipelines",
                actions=list(PIPELINE_START_ACTIONS),
                resources=[pipelines],
                conditions=access.merge(
                    access.created_by_this_app(), access.owned_by_callers_team()
                ),
            )
        )
        ds.add_to_policy(
            iam.PolicyStatement(
                sid="FollowOwnTeamsPipelineExecutions",
                actions=list(PIPELINE_EXECUTION_READ_ACTIONS),
                resources=[arns.of("pipeline", "*/execution/*")],
                conditions=access.merge(
                    access.created_by_this_app(), access.owned_by_callers_team()
                ),
            )
        )
        acknowledge_wildcards(
            ds,
            resources=[
                nag_string(stack, pipelines),
                nag_string(stack, arns.of("pipeline", "*/execution/*")),
            ],
            reason=(
                "Governed pipelines are created per model by the models stacks; a data "
                f"scientist starts and follows only pipelines tagged {tags.MANAGED_BY}="
                f"{tags.MANAGED_BY_VALUE} whose {tags.OWNER} is the caller's own team "
                "(condition), in this account and region."
            ),
        )
        for role in (self.data_scientist, self.mlops_engineer, self.model_approver):
            role.add_to_policy(
                iam.PolicyStatement(
                    sid="NeverChangePipelines",
                    effect=iam.Effect.DENY,
                    actions=list(PIPELINE_CHANGE_ACTIONS),
                    resources=["*"],
                )
            )
        # A missing sagemaker:ModelApprovalStatus also matches StringNotEquals (IAM user guide,
        # condition operators: a negated operator is true when the key is absent), so a
        # registration must say PendingManualApproval explicitly.
        ds.add_to_policy(
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
        # sagemaker:ModelCardStatus is not a condition key of UpdateModelCard (its only keys are
        # aws:ResourceTag and sagemaker:ResourceTag), so IAM cannot tell drafting a card from
        # approving it; the approval gate checks who approved the card instead.
        for role in (self.data_scientist, self.mlops_engineer):
            role.add_to_policy(
                iam.PolicyStatement(
                    sid="NeverApprove",
                    effect=iam.Effect.DENY,
                    actions=["sagemaker:UpdateModelPackage"],
                    resources=["*"],
                    conditions={
                        "StringEquals": {APPROVAL_STATUS_CONDITION: ["Approved", "Rejected"]}
                    },
                )
            )

        schedules = arns.of("monitoring-schedule")
        self.mlops_engineer.add_to_policy(
            iam.PolicyStatement(
                sid="OperateMonitoring",
                actions=[
                    "sagemaker:DescribeMonitoringSchedule",
                    "sagemaker:StartMonitoringSchedule",
                    "sagemaker:StopMonitoringSchedule",
                ],
                resources=[schedules],
                conditions=access.created_by_this_app(),
            )
        )
        self.mlops_engineer.add_to_policy(
            iam.PolicyStatement(
                sid="ListMonitoringExecutions",
                actions=["sagemaker:ListMonitoringExecutions"],
                resources=["*"],
            )
        )
        if job_roles:
            self.mlops_engineer.add_to_policy(
                iam.PolicyStatement(
                    sid="PassJobRoles",
                    actions=["iam:PassRole"],
                    resources=[role.role_arn for role in job_roles],
                    conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                )
            )

        self.model_approver.add_to_policy(
            iam.PolicyStatement(
                sid="DecideApproval",
                actions=["sagemaker:UpdateModelPackage"],
                resources=[arns.versions],
                conditions=access.governed_version(),
            )
        )
        self.model_approver.add_to_policy(
            iam.PolicyStatement(
                sid="ApproveCards",
                actions=["sagemaker:UpdateModelCard"],
                resources=[arns.cards],
                conditions=access.created_by_this_app(),
            )
        )
        self.model_approver.add_to_policy(
            iam.PolicyStatement(
                sid="NeverCreateOrDeleteVersions",
                effect=iam.Effect.DENY,
                actions=list(VERSION_LIFECYCLE_ACTIONS),
                resources=["*"],
            )
        )
        self.auditor.add_to_policy(
            iam.PolicyStatement(
                sid="ReadTrail",
                actions=["cloudtrail:LookupEvents"],
                resources=["*"],
            )
        )

        for role in self.all:
            _acknowledge_registry_wildcards(role, stack, arns)
        acknowledge_wildcards(
            self.mlops_engineer,
            resources=[nag_string(stack, schedules)],
            reason=(
                "Monitoring schedules are created per deployed model by the models stacks; "
                f"MLOps operates only schedules tagged {tags.MANAGED_BY}="
                f"{tags.MANAGED_BY_VALUE} (condition), in this account and region."
            ),
        )
        acknowledge(
            self.mlops_engineer,
            "AwsSolutions-IAM5[Resource::*]",
            "sagemaker:ListMonitoringExecutions supports no resource-level permissions "
            "(Service Authorization Reference); it lists execution summaries only.",
        )
        acknowledge(
            self.auditor,
            "AwsSolutions-IAM5[Resource::*]",
            "cloudtrail:LookupEvents supports no resource-level permissions; the auditor "
            "persona only reads management events.",
        )

    @property
    def all(self) -> list[ManagedPolicyRole]:
        return [self.data_scientist, self.mlops_engineer, self.model_approver, self.auditor]


class JobExecutionRoles(Construct):
    """Roles that SageMaker training, processing and monitoring jobs run as.

    Each trusts SageMaker only for this account, and shares one managed policy with what every
    job in the isolated VPC needs (image pulls, logs, metrics, network interfaces).
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        account_arn = format_arn(stack, service="sagemaker", resource="*")
        principal = iam.ServicePrincipal("sagemaker.amazonaws.com").with_conditions(
            {
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnLike": {"aws:SourceArn": account_arn},
            }
        )
        images = format_arn(
            stack, service="ecr", account="*", resource="repository", resource_name="*"
        )
        job_logs = log_group_arn(stack, "/aws/sagemaker/*")
        self.job_basics = iam.ManagedPolicy(
            self,
            "JobBasics",
            description="What every SageMaker job in the governance VPC needs",
            statements=[
                iam.PolicyStatement(
                    sid="PullImages",
                    actions=[
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                        "ecr:BatchCheckLayerAvailability",
                    ],
                    resources=[images],
                ),
                iam.PolicyStatement(
                    sid="EcrAuthToken", actions=["ecr:GetAuthorizationToken"], resources=["*"]
                ),
                iam.PolicyStatement(
                    sid="JobLogs",
                    actions=[
                        "logs:CreateLogGroup",
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                        "logs:DescribeLogStreams",
                    ],
                    resources=[job_logs],
                ),
                iam.PolicyStatement(
                    sid="JobMetrics",
                    actions=["cloudwatch:PutMetricData"],
                    resources=["*"],
                    conditions={"StringLike": {"cloudwatch:namespace": ["aws/sagemaker/*"]}},
                ),
                iam.PolicyStatement(
                    sid="JobNetworkInterfaces",
                    actions=list(JOB_NETWORK_ACTIONS),
                    resources=["*"],
                ),
            ],
        )

        acknowledge(
            self.job_basics,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken and the ec2:Describe* calls support no resource-level "
            "permissions; the network-interface calls must not be scoped by resource or "
            "condition or SageMaker's VPC validation fails when a job is created (SageMaker "
            "developer guide, sagemaker-roles); PutMetricData is limited to aws/sagemaker/*.",
        )
        acknowledge_wildcards(
            self.job_basics,
            resources=[nag_string(stack, images), nag_string(stack, job_logs)],
            reason=(
                "SageMaker's built-in images (Model Monitor, Clarify, frameworks) live in "
                "AWS-owned registries whose account differs per region; job logs go to the "
                "/aws/sagemaker/ log groups SageMaker names per job."
            ),
        )

        def job_role(role_id: str, description: str) -> ManagedPolicyRole:
            return ManagedPolicyRole(
                self,
                role_id,
                assumed_by=principal,
                description=description,
                managed_policies=[self.job_basics],
            )

        self.training = job_role("Training", "SageMaker training jobs of governed models")
        self.processing = job_role("Processing", "SageMaker processing and baselining jobs")
        self.monitoring = job_role("Monitoring", "Model Monitor and Clarify monitoring jobs")
        self.inference = job_role("Inference", "Models served on governed endpoints")
        self._grant_clarify_shadow_endpoints(stack)

    def _grant_clarify_shadow_endpoints(self, stack: Stack) -> None:
        """The explainability monitor's Clarify job runs a shadow endpoint of the monitored
        model, so the monitoring role reads the governed endpoint and model and manages
        endpoints named ``sm-clarify-*`` (and only those)."""
        arns = access.SageMakerArns(stack)
        monitored = [arns.of("model"), arns.of("endpoint"), arns.of("endpoint-config")]
        role = self.monitoring
        shadow = clarify_shadow_arns(arns)
        for statement in clarify_shadow_statements(shadow, sid_prefix=""):
            role.add_to_policy(statement)
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadMonitoredEndpoints",
                actions=list(MONITORED_RESOURCE_READ_ACTIONS),
                resources=monitored,
                conditions=access.created_by_this_app(),
            )
        )
        acknowledge_wildcards(
            role,
            resources=[nag_string(stack, arn) for arn in shadow],
            reason=(
                "Clarify names its shadow endpoint and endpoint config with the documented "
                f"prefix '{access.CLARIFY_SHADOW_PREFIX}' plus a per-run suffix; the pattern "
                "is limited to that prefix in this account and region."
            ),
        )
        acknowledge_wildcards(
            role,
            resources=[nag_string(stack, arn) for arn in monitored],
            reason=(
                "Models, endpoint configs and endpoints get per-deployment names; reads are "
                f"limited by condition to resources tagged {tags.MANAGED_BY}="
                f"{tags.MANAGED_BY_VALUE}."
            ),
        )

    def grant_monitoring_inputs(self, *, asset_objects: Sequence[str]) -> iam.Grant:
        """Let the monitoring role read its inputs outside the governance buckets.

        ``asset_objects`` is the pattern of the CDK file assets holding the Clarify analysis
        configs (``<bootstrap assets bucket>/*.json``). Ground truth and SHAP baselines in the
        organisation's own buckets are read by S3 attribute-based access control: a bucket
        tagged ``governance:monitoring-input=true`` (with ABAC enabled on it) is readable.
        """
        stack = Stack.of(self)
        role = self.monitoring
        assets = self._grant(
            role,
            sid="ReadAnalysisConfigAssets",
            actions=["s3:GetObject"],
            resources=list(asset_objects),
        )
        any_bucket = format_arn(stack, service="s3", region="", account="", resource="*")
        tagged_inputs = self._grant(
            role,
            sid="ReadTaggedMonitoringInputs",
            actions=["s3:GetObject", "s3:ListBucket"],
            resources=[any_bucket, f"{any_bucket}/*"],
            conditions={
                "StringEquals": {
                    f"aws:ResourceTag/{tags.MONITORING_INPUT}": tags.MONITORING_INPUT_VALUE
                }
            },
        )
        acknowledge_wildcards(
            role,
            resources=[nag_string(stack, pattern) for pattern in asset_objects],
            reason=(
                "Clarify analysis configs and the Evidently job's code and wheelhouse ship as "
                "CDK file assets named by their content hash; read-only access is limited to "
                "JSON and tar objects of the bootstrap assets bucket (synthesized templates, "
                "these configs and the job code, no data)."
            ),
        )
        acknowledge_wildcards(
            role,
            resources=[nag_string(stack, any_bucket), nag_string(stack, f"{any_bucket}/*")],
            reason=(
                "Ground truth and SHAP baselines live in the organisation's own buckets; "
                f"read-only access is limited by condition to buckets tagged "
                f"{tags.MONITORING_INPUT}={tags.MONITORING_INPUT_VALUE} (S3 ABAC), which no "
                "role of this app can tag."
            ),
        )
        return assets.combine(tagged_inputs)

    def grant_batch_locations(self) -> iam.Grant:
        """Let batch scoring use the organisation's own buckets, by tag (S3 ABAC), never by
        model: the inference role (a transform job runs as its model's execution role) reads
        inputs in buckets tagged ``governance:monitoring-input=true`` and writes results and
        batch data capture to buckets tagged ``governance:batch-output=true``; the monitoring
        role reads the latter (capture manifests and results). No delete anywhere."""
        stack = Stack.of(self)
        any_bucket = format_arn(stack, service="s3", region="", account="", resource="*")
        buckets = [any_bucket, f"{any_bucket}/*"]
        inputs = {
            "StringEquals": {
                f"aws:ResourceTag/{tags.MONITORING_INPUT}": tags.MONITORING_INPUT_VALUE
            }
        }
        outputs = {
            "StringEquals": {f"aws:ResourceTag/{tags.BATCH_OUTPUT}": tags.BATCH_OUTPUT_VALUE}
        }
        inputs_read = self._grant(
            self.inference,
            sid="ReadTaggedBatchInputs",
            actions=["s3:GetObject", "s3:ListBucket"],
            resources=buckets,
            conditions=inputs,
        )
        outputs_written = self._grant(
            self.inference,
            sid="WriteTaggedBatchOutputs",
            actions=["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListBucket"],
            resources=buckets,
            conditions=outputs,
        )
        outputs_read = self._grant(
            self.monitoring,
            sid="ReadTaggedBatchOutputs",
            actions=["s3:GetObject", "s3:ListBucket"],
            resources=buckets,
            conditions=outputs,
        )
        for role, what in (
            (self.inference, "Batch inputs, results and capture"),
            (self.monitoring, "Batch results and capture"),
        ):
            acknowledge_wildcards(
                role,
                resources=[nag_string(stack, pattern) for pattern in buckets],
                reason=(
                    f"{what} live in the organisation's own buckets; access is limited by "
                    f"condition to buckets tagged {tags.MONITORING_INPUT}="
                    f"{tags.MONITORING_INPUT_VALUE} (read) or {tags.BATCH_OUTPUT}="
                    f"{tags.BATCH_OUTPUT_VALUE} (write results, read by the checks) with S3 "
                    "ABAC enabled, which no role of this app can tag; no delete."
                ),
            )
        return inputs_read.combine(outputs_written).combine(outputs_read)

    def _grant(
        self,
        role: iam.IGrantable,
        *,
        sid: str,
        actions: Sequence[str],
        resources: Sequence[str],
        conditions: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> iam.Grant:
        """Every grant of these roles on what they use outside the app's own resources (the
        organisation's tagged buckets, the CDK assets), in the role's own policy.

        ``Grant.add_to_principal`` builds the statement without an id; the statement it returns
        is the one in the policy and is rendered at synth, so it is named afterwards.
        """
        grant = iam.Grant.add_to_principal(
            grantee=role,
            actions=list(actions),
            resource_arns=list(resources),
            conditions=dict(conditions) if conditions else None,
        )
        for statement in grant.principal_statements:
            statement.sid = sid
        return grant

    @property
    def all(self) -> list[ManagedPolicyRole]:
        return [self.training, self.processing, self.monitoring, self.inference]

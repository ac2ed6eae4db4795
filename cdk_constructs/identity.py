"""Persona roles and job execution roles, all under one permissions boundary.

Personas follow SageMaker Role Manager's: data scientist, MLOps engineer, model approver (risk
officer) and auditor. Separation of duties is enforced with explicit denies, which no later
grant can override: data scientists register versions but cannot approve them; approvers
approve but cannot create or delete versions.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk_constructs.compliance.acknowledgments import (
    acknowledge,
    acknowledge_wildcards,
    nag_string,
)
from cdk_constructs.roles import ManagedPolicyRole

# Approval is UpdateModelPackage with ModelApprovalStatus set; the condition key carries it.
APPROVAL_STATUS_CONDITION = "sagemaker:ModelApprovalStatus"
REGISTRY_READ_ACTIONS = (
    "sagemaker:DescribeModelPackage",
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:ListModelPackages",
    "sagemaker:DescribeModelCard",
    "sagemaker:ListModelCardVersions",
    "sagemaker:ListTags",
)
VERSION_LIFECYCLE_ACTIONS = (
    "sagemaker:CreateModelPackage",
    "sagemaker:DeleteModelPackage",
    "sagemaker:DeleteModelPackageGroup",
)


def registry_arns(stack: Stack, group_names: Sequence[str]) -> list[str]:
    """ARNs of the governed groups and of every version inside them."""
    base = f"arn:{Aws.PARTITION}:sagemaker:{stack.region}:{stack.account}"
    arns: list[str] = []
    for name in group_names:
        arns += [f"{base}:model-package-group/{name}", f"{base}:model-package/{name}/*"]
    return arns


def model_card_arns(stack: Stack, model_names: Sequence[str]) -> list[str]:
    base = f"arn:{Aws.PARTITION}:sagemaker:{stack.region}:{stack.account}"
    return [f"{base}:model-card/{name}" for name in model_names]


class PermissionsBoundary(Construct):
    """The ceiling for every role the app creates.

    It allows only the services governance workloads use and denies what would let a role
    escape governance: changing IAM, removing this boundary, disabling the trail or keys.
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
        self.policy = iam.ManagedPolicy(
            self,
            "Resource",
            description="Permissions boundary for SageMaker model governance roles",
            statements=[allow, deny],
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


class PersonaRoles(Construct):
    """Human personas, assumed from the account with MFA, scoped to the governed groups."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        governed_groups: Sequence[str],
        job_roles: Sequence[iam.IRole],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        registry = registry_arns(stack, governed_groups)
        cards = model_card_arns(stack, governed_groups)
        human = iam.AccountRootPrincipal().with_conditions(
            {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
        )

        def persona(role_id: str, description: str) -> iam.Role:
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

        for role in (self.data_scientist, self.mlops_engineer, self.model_approver, self.auditor):
            role.add_to_policy(
                iam.PolicyStatement(
                    sid="ReadGovernedRegistry",
                    actions=list(REGISTRY_READ_ACTIONS),
                    resources=registry + cards,
                )
            )

        self.data_scientist.add_to_policy(
            iam.PolicyStatement(
                sid="RegisterVersions",
                actions=["sagemaker:CreateModelPackage", "sagemaker:AddTags"],
                resources=registry,
            )
        )
        self.data_scientist.add_to_policy(
            iam.PolicyStatement(
                sid="DraftModelCards",
                actions=["sagemaker:UpdateModelCard"],
                resources=cards,
            )
        )
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
            role.add_to_policy(
                iam.PolicyStatement(
                    sid="NeverApproveCards",
                    effect=iam.Effect.DENY,
                    actions=["sagemaker:UpdateModelCard"],
                    resources=["*"],
                    conditions={"StringEquals": {"sagemaker:ModelCardStatus": "Approved"}},
                )
            )

        schedule_arns = (
            f"arn:{Aws.PARTITION}:sagemaker:{stack.region}:{stack.account}:monitoring-schedule/*"
        )
        self.mlops_engineer.add_to_policy(
            iam.PolicyStatement(
                sid="OperateMonitoring",
                actions=[
                    "sagemaker:DescribeMonitoringSchedule",
                    "sagemaker:ListMonitoringExecutions",
                    "sagemaker:StartMonitoringSchedule",
                    "sagemaker:StopMonitoringSchedule",
                ],
                resources=[schedule_arns],
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
                actions=["sagemaker:UpdateModelPackage", "sagemaker:UpdateModelCard"],
                resources=registry + cards,
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

        version_arns = [arn for arn in registry if arn.endswith("/*")]
        for role in self.all:
            acknowledge_wildcards(
                role,
                resources=[nag_string(stack, arn) for arn in version_arns],
                reason=(
                    "Model package versions are numbered by SageMaker at registration; the "
                    "pattern is limited to the versions inside one governed group."
                ),
            )
        acknowledge_wildcards(
            self.mlops_engineer,
            resources=[nag_string(stack, schedule_arns)],
            reason=(
                "Monitoring schedules are created per deployed model by the monitoring stacks; "
                "MLOps operates all of them in this account and region, nothing else."
            ),
        )
        acknowledge(
            self.auditor,
            "AwsSolutions-IAM5[Resource::*]",
            "cloudtrail:LookupEvents supports no resource-level permissions; the auditor "
            "persona only reads management events.",
        )

    @property
    def all(self) -> list[iam.Role]:
        return [self.data_scientist, self.mlops_engineer, self.model_approver, self.auditor]


class JobExecutionRoles(Construct):
    """Roles that SageMaker training, processing and monitoring jobs run as.

    Each trusts SageMaker only for this account, and shares one managed policy with what every
    job in the isolated VPC needs (image pulls, logs, metrics, network interfaces).
    """

    def __init__(self, scope: Construct, construct_id: str, *, vpc: ec2.IVpc) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        account_arn = f"arn:{Aws.PARTITION}:sagemaker:{stack.region}:{stack.account}:*"
        principal = iam.ServicePrincipal("sagemaker.amazonaws.com").with_conditions(
            {
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnLike": {"aws:SourceArn": account_arn},
            }
        )
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
                    resources=[f"arn:{Aws.PARTITION}:ecr:{stack.region}:*:repository/*"],
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
                    resources=[
                        f"arn:{Aws.PARTITION}:logs:{stack.region}:{stack.account}"
                        ":log-group:/aws/sagemaker/*"
                    ],
                ),
                iam.PolicyStatement(
                    sid="JobMetrics",
                    actions=["cloudwatch:PutMetricData"],
                    resources=["*"],
                    conditions={"StringLike": {"cloudwatch:namespace": ["aws/sagemaker/*"]}},
                ),
                iam.PolicyStatement(
                    sid="DescribeNetwork",
                    actions=[
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:DescribeVpcs",
                        "ec2:DescribeDhcpOptions",
                        "ec2:DescribeSubnets",
                        "ec2:DescribeSecurityGroups",
                    ],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="JobNetworkInterfaces",
                    actions=[
                        "ec2:CreateNetworkInterface",
                        "ec2:CreateNetworkInterfacePermission",
                        "ec2:DeleteNetworkInterface",
                        "ec2:DeleteNetworkInterfacePermission",
                    ],
                    resources=["*"],
                    conditions={
                        "ArnEquals": {
                            "ec2:Vpc": f"arn:{Aws.PARTITION}:ec2:{stack.region}:{stack.account}"
                            f":vpc/{vpc.vpc_id}"
                        }
                    },
                ),
            ],
        )

        acknowledge(
            self.job_basics,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken and the ec2:Describe* calls support no resource-level "
            "permissions; PutMetricData is limited to the aws/sagemaker/* namespaces and network "
            "interface changes to this VPC by conditions.",
        )
        acknowledge_wildcards(
            self.job_basics,
            resources=[
                nag_string(stack, f"arn:{Aws.PARTITION}:ecr:{stack.region}:*:repository/*"),
                nag_string(
                    stack,
                    f"arn:{Aws.PARTITION}:logs:{stack.region}:{stack.account}"
                    ":log-group:/aws/sagemaker/*",
                ),
            ],
            reason=(
                "SageMaker's built-in images (Model Monitor, Clarify, frameworks) live in "
                "AWS-owned registries whose account differs per region; job logs go to the "
                "/aws/sagemaker/ log groups SageMaker names per job."
            ),
        )

        def job_role(role_id: str, description: str) -> iam.Role:
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

    @property
    def all(self) -> list[iam.Role]:
        return [self.training, self.processing, self.monitoring, self.inference]

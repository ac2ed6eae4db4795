"""The served model package version, checked at deploy time: Approved, with its baselines.

An endpoint must never serve a version that is not Approved, and a monitoring schedule must
never point at a baseline that does not exist (a schedule without one fails opaquely at its
first run). Both are checked by CloudFormation before the endpoint, any job definition or any
schedule of the model is created or changed: a ``Custom::PackageBaselines`` resource per
deployed model, answered by a small Lambda function (``governance.package_baselines``) that
reads the version with ``DescribeModelPackage`` and refuses, with the reason in the stack
events, unless it is Approved and carries the drift-check baselines of every enabled monitor
(``DriftCheckBaselines``, written by the pipeline's QualityCheck/ClarifyCheck steps).

Why a plain function that answers CloudFormation itself, not ``AwsCustomResource`` or the CDK
Provider framework: ``AwsCustomResource`` makes one SDK call and cannot branch on its result;
the Provider framework adds a second Lambda function, its role, policy and log group to every
stack, and that role is a CDK-internal one the permissions-boundary aspect has to work around.
The answer is one documented HTTPS PUT of a JSON object (CloudFormation user guide, custom
resource response objects), tested with the rest of the handler; ``ServiceTimeout`` bounds how
long CloudFormation waits should the function never answer.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_constructs import defaults, plain
from cdk_constructs.compliance.acknowledgments import (
    acknowledge,
    acknowledge_in_frameworks,
    acknowledge_wildcards,
    nag_string,
)
from cdk_constructs.encryption import IGovernanceKey
from cdk_constructs.handlers import ARCHITECTURE, LAMBDA_ASSET, RUNTIME, powertools_layer
from cdk_constructs.identifiers import identifier
from cdk_constructs.monitoring.images import MONITOR_TYPES
from cdk_constructs.roles import ManagedPolicyRole
from governance.contracts.vocabulary import BASELINE_PATHS, DATA_REFERENCE

BaselineFile = str
"""``constraints`` or ``statistics``."""

RESOURCE_TYPE = "Custom::PackageBaselines"
HANDLER = "governance.package_baselines.handler"
PROVIDER_ID = "PackageBaselinesProvider"
# How long CloudFormation waits for an answer before failing the resource (CloudFormation
# custom resource ServiceTimeout, 1-3600 s; the default would be an hour).
SERVICE_TIMEOUT = cdk.Duration.minutes(5)

BaselineKind = str
"""A monitor type, or ``DATA_REFERENCE`` (the Evidently engine's reference-data summary)."""
BASELINE_KINDS: tuple[BaselineKind, ...] = (*MONITOR_TYPES, DATA_REFERENCE)


def baseline_paths(monitor_types: Iterable[BaselineKind]) -> list[str]:
    """Response paths needed by ``monitor_types``, in a stable order."""
    wanted = set(monitor_types)
    unknown = wanted - set(BASELINE_KINDS)
    if unknown:
        raise ValueError(
            f"unknown monitor types {sorted(unknown)}; allowed: {', '.join(BASELINE_KINDS)}"
        )
    return [
        path
        for monitor_type in BASELINE_KINDS
        if monitor_type in wanted
        for path in BASELINE_PATHS[monitor_type].values()
    ]


# The provider of each stack, by stack (weak keys: one process may build many apps).
_PROVIDERS: weakref.WeakKeyDictionary[cdk.Stack, PackageBaselinesProvider] = (
    weakref.WeakKeyDictionary()
)


class PackageBaselinesProvider(Construct):
    """The function answering every ``Custom::PackageBaselines`` request of one stack.

    In the given subnets and security group, X-Ray traced, its log group encrypted with
    ``logs_key`` (whose key policy must let CloudWatch Logs use it for the account's log
    groups), with the Powertools layer of the other handlers (``powertools_layer_arn``, default
    the pinned release's: :func:`cdk_constructs.handlers.powertools_layer`). Its role may
    describe exactly the package versions passed to :meth:`grant_describe`. Use :meth:`of` to
    get the stack's one instance.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
        logs_key: IGovernanceKey | None = None,
        powertools_layer_arn: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.role = ManagedPolicyRole(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Execution role of the model package deploy-time check",
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            encryption_key=logs_key.key if logs_key else None,
            retention=defaults.LOG_RETENTION,
            removal_policy=defaults.REMOVAL_POLICY,
        )
        self.function = lambda_.Function(
            self,
            "Resource",
            description="Deploy-time check: the served model package is Approved and has the "
            "baselines of its monitors",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=HANDLER,
            code=lambda_.Code.from_asset(str(LAMBDA_ASSET), exclude=["**/__pycache__", "**/*.pyc"]),
            layers=[powertools_layer(self, powertools_layer_arn)],
            environment={"POWERTOOLS_SERVICE_NAME": construct_id},
            role=self.role,
            memory_size=256,
            timeout=cdk.Duration.seconds(60),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnets=list(subnets)),
            security_groups=[security_group],
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{self.log_group.log_group_arn}:*"],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="VpcNetworkInterfaces",
                actions=[
                    "ec2:CreateNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                resources=["*"],
            )
        )
        # One statement lists every described version: the first grant makes it, later ones
        # add their ARN to it (aws-cdk-lib would add a statement per grant).
        self._describe = iam.Grant.add_to_principal(
            grantee=self.role, actions=["sagemaker:DescribeModelPackage"], resource_arns=[]
        )
        # The grant's statements, read from the jsii runtime once (not per described version).
        self._describe_statements = list(self._describe.principal_statements)
        for statement in self._describe_statements:
            statement.sid = "DescribeServedPackageVersions"
        self._package_arns: list[str] = []
        self._acknowledge(stack)

    @staticmethod
    def of(
        scope: Construct,
        *,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
        logs_key: IGovernanceKey | None = None,
        powertools_layer_arn: str | None = None,
    ) -> PackageBaselinesProvider:
        """The provider of ``scope``'s stack, created on first use (pass the stack itself when
        it is at hand: a stack's provider is then found without a call to the jsii runtime)."""
        stack = scope if isinstance(scope, cdk.Stack) else cdk.Stack.of(scope)
        known = _PROVIDERS.get(stack)
        if known is not None:
            return known
        found = stack.node.try_find_child(PROVIDER_ID)
        if not isinstance(found, PackageBaselinesProvider):
            found = PackageBaselinesProvider(
                stack,
                PROVIDER_ID,
                vpc=vpc,
                subnets=subnets,
                security_group=security_group,
                logs_key=logs_key,
                powertools_layer_arn=powertools_layer_arn,
            )
        _PROVIDERS[stack] = found
        return found

    def _grant(self, model_package_arn: str) -> iam.Grant:
        """Every grant of the function's role: the describe statement, with one more version.

        The Grant returned is that one statement's (the same for every version), so a caller
        can order what needs it after it (``grant.apply_before(...)``).
        """
        if model_package_arn not in self._package_arns:
            self._package_arns.append(model_package_arn)
            for statement in self._describe_statements:
                statement.add_resources(model_package_arn)
        return self._describe

    def grant_describe(self, model_package_arn: str) -> iam.Grant:
        """Let the function describe exactly ``model_package_arn`` (a version ARN)."""
        return self._grant(model_package_arn)

    @property
    def service_token(self) -> str:
        return identifier(self.function, "function_arn")

    def _acknowledge(self, stack: cdk.Stack) -> None:
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Lambda's VPC network-interface calls and X-Ray trace writes support no "
            "resource-level permissions; DescribeModelPackage is limited to the stack's "
            "configured package versions.",
        )
        acknowledge_wildcards(
            self.role,
            resources=[nag_string(stack, f"{self.log_group.log_group_arn}:*")],
            reason="Log streams are created by Lambda per execution environment; the pattern "
            "is limited to this function's own log group.",
        )
        acknowledge(
            self.function,
            "Serverless-LambdaDLQ",
            "CloudFormation invokes the function for a custom resource and waits for its "
            "answer; an event that is never answered fails the stack after ServiceTimeout "
            "(5 minutes) and shows in the stack events, so nothing is lost silently.",
        )
        acknowledge_in_frameworks(
            self.function,
            "LambdaDLQ",
            "CloudFormation invokes the function for a custom resource and waits for its "
            "answer; an event that is never answered fails the stack after ServiceTimeout, "
            "visibly in the stack events.",
        )
        acknowledge_in_frameworks(
            self.function,
            "LambdaConcurrency",
            "The function runs only during deployments, once per changed model; a reservation "
            "would take concurrency from the account and fail in accounts with a low quota "
            "(Lambda quotas).",
        )


class PackageBaselines(Construct):
    """The deploy-time check of one served package version, and its baselines' S3 URIs.

    Refuses (the stack rolls back) unless the version is Approved and has the drift-check
    baselines of every type in ``monitor_types``; :meth:`uri` gives those baselines as
    deploy-time attributes. Whatever must never exist without the check (the model, the job
    definitions, the schedules) should depend on :attr:`resource`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_package_arn: str,
        monitor_types: Iterable[BaselineKind],
        provider: PackageBaselinesProvider,
    ) -> None:
        super().__init__(scope, construct_id)
        self.model_package_arn = model_package_arn
        self.monitor_types: tuple[BaselineKind, ...] = tuple(
            t for t in BASELINE_KINDS if t in set(monitor_types)
        )
        baseline_paths(self.monitor_types)  # validates the types
        describe = provider.grant_describe(model_package_arn)
        self.resource = plain.create(
            cdk.CustomResource,
            self,
            "Resource",
            {
                "serviceToken": provider.service_token,
                "resourceType": RESOURCE_TYPE,
                "properties": {
                    "ModelPackageArn": model_package_arn,
                    "MonitorTypes": list(self.monitor_types),
                },
                "serviceTimeout": SERVICE_TIMEOUT,
            },
        )
        # The grant must be in place before CloudFormation calls the function.
        describe.apply_before(self.resource)

    def uri(self, monitor_type: BaselineKind, file: BaselineFile = "constraints") -> str:
        """The S3 URI of ``monitor_type``'s baseline ``file`` (a deploy-time token)."""
        if monitor_type not in self.monitor_types:
            raise ValueError(
                f"baselines of {monitor_type!r} were not requested; requested: "
                f"{', '.join(self.monitor_types) or 'none'}"
            )
        paths = BASELINE_PATHS[monitor_type]
        if file not in paths:
            raise ValueError(
                f"{monitor_type!r} has no {file!r} baseline; allowed: {', '.join(paths)}"
            )
        return self.resource.get_att_string(paths[file])

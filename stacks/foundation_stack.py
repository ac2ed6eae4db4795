"""Per-environment foundation: keys, buckets, network, identity and the alert topic.

The foundation takes only organisation-level inputs (environment, governance policy, alert
e-mails, the accounts that consume models) and never the model list: every shared role is
scoped by tag or prefix (:mod:`cdk_constructs.access`), so adding, removing or reordering models
leaves its template byte-identical (tests/foundation/test_model_independence.py). Models stacks
see it only through :class:`FoundationReference`: named outputs, read with
``Fn::GetStackOutput``, and resources imported by ARN, so nothing a models stack does can write
back into a foundation policy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import jsii
from aws_cdk import ArnFormat, CfnOutput, DefaultStackSynthesizer, Duration, Fn, Stack, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_constructs.access import OWN_TEAM
from cdk_constructs.alerts import AlertsReference, GovernanceAlerts
from cdk_constructs.arns import format_arn
from cdk_constructs.audit import GovernanceTrail
from cdk_constructs.compliance.declarations import declare_audit_policy
from cdk_constructs.encryption import (
    CARD_READ,
    CARD_WRITE,
    DataDomain,
    GovernanceKeyReference,
    GovernanceKeys,
)
from cdk_constructs.handlers import GovernanceHandlers, HandlerNetwork
from cdk_constructs.identity import JobExecutionRoles, PermissionsBoundary, PersonaRoles
from cdk_constructs.mlflow_relay import MlflowRelay
from cdk_constructs.monitoring.mlflow import MlflowTarget
from cdk_constructs.network import IsolatedMlNetwork
from cdk_constructs.pipelines.foundation_access import PipelineFoundationAccess
from cdk_constructs.role_boundary import GovernanceBoundary
from cdk_constructs.storage import AccessLogBucket, GovernedBucket, GovernedBucketReference
from config.model import GovernancePolicy, HandlerSettings, ObjectLockMode

# Prefixes of the artifacts bucket (ARCHITECTURE.md, "Access model"). Registered model artifacts
# live under MODELS and are written by the training role only, never deleted or expired.
DATA_PREFIX = "data/"
WORK_PREFIX = "work/"
PROCESSING_PREFIX = "processing/"
BASELINES_PREFIX = "baselines/"
MODELS_PREFIX = "models/"
# Data capture of every endpoint: endpoints/<endpoint name>/ (GovernedEndpoint).
CAPTURE_PREFIX = "endpoints/"
# Models stacks are <prefix>-models-NN; each one's state-change rule is named after its stack.
SHARD_RULE_INFIX = "-models-"
SHARD_RULE_SUFFIX = "-state-changes"
# EventBridge rule names: 1-64 characters of letters, digits, '.', '-' and '_' (PutRule Name).
_RULE_NAME = re.compile(r"[\.\-_A-Za-z0-9]{1,64}")


def shard_rule_name(stack_name: str) -> str:
    """The state-change rule of the models stack ``stack_name``; the foundation lets every
    rule named ``<prefix>-models-*`` invoke the approval gate and the ledger."""
    name = f"{stack_name}{SHARD_RULE_SUFFIX}"
    if not _RULE_NAME.fullmatch(name):
        raise ValueError(
            f"event rule name {name!r} (models stack {stack_name!r} + {SHARD_RULE_SUFFIX!r}) is "
            "not an EventBridge rule name; allowed: at most 64 letters, digits, '.', '-' or "
            "'_', so shorten the organisation or environment name"
        )
    return name


_SUBNET_OUTPUT = re.compile(r"IsolatedSubnet\d+Id")
_KEY_OUTPUTS = {domain: f"{domain.value.title().replace('-', '')}KeyArn" for domain in DataDomain}


def _with_environment(text: str, stack: Stack) -> str:
    """Replace the synthesizer's ``${AWS::...}`` placeholders with the stack's values."""
    for placeholder, value in (
        ("${AWS::Partition}", stack.partition),
        ("${AWS::AccountId}", stack.account),
        ("${AWS::Region}", stack.region),
    ):
        text = text.replace(placeholder, value)
    return text


def default_deployer_role_arn(stack: Stack) -> str:
    """The role CloudFormation deploys ``stack`` with (CDK bootstrap's execution role)."""
    synthesizer = stack.synthesizer
    if not isinstance(synthesizer, DefaultStackSynthesizer):
        raise ValueError(
            f"stack {stack.stack_name}: cannot tell which role deploys it (synthesizer "
            f"{type(synthesizer).__name__}); pass deployer_role_arn, the role CloudFormation "
            "uses, so the key policies can let it use the keys"
        )
    return _with_environment(synthesizer.cloud_formation_execution_role_arn, stack)


# File assets the monitoring role reads, by extension: Clarify analysis configs (.json), the
# Evidently engine's job code bundle and dependency wheelhouse (.tar). CDK names a file asset
# <content hash><extension> in the bootstrap bucket.
MONITORING_ASSET_EXTENSIONS = (".json", ".tar")


def asset_objects_pattern(stack: Stack, extension: str = ".json") -> str:
    """Objects of the bootstrap assets bucket with ``extension`` (e.g. the Clarify configs;
    ``""`` for every file asset: staged pipeline definitions are zip files)."""
    synthesizer = stack.synthesizer
    qualifier = DefaultStackSynthesizer.DEFAULT_QUALIFIER
    if isinstance(synthesizer, DefaultStackSynthesizer) and synthesizer.bootstrap_qualifier:
        qualifier = synthesizer.bootstrap_qualifier
    bucket = DefaultStackSynthesizer.DEFAULT_FILE_ASSETS_BUCKET_NAME.replace(
        "${Qualifier}", qualifier
    )
    return _with_environment(f"arn:${{AWS::Partition}}:s3:::{bucket}/*{extension}", stack)


class FoundationStack(Stack):
    """Everything the governed models share in one environment.

    It owns every key and every IAM principal, so key policies can name the principals that use
    each key without cross-stack cycles; model stacks only reference what it exports.

    ``consumer_accounts`` (accounts that deploy the environment's shared models) may read the
    registered model artifacts (``models/``) and decrypt them through S3; which versions they
    can see is each model group's own policy. ``deployer_role_arn`` defaults to the CDK
    bootstrap's CloudFormation execution role.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        policy: GovernancePolicy,
        resource_prefix: str,
        consumer_accounts: Sequence[str] = (),
        availability_zones: Sequence[str] | None = None,
        handler_settings: HandlerSettings | None = None,
        deployer_role_arn: str | None = None,
        mlflow_tracking_arn: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._zones = list(availability_zones) if availability_zones else None
        super().__init__(scope, construct_id, **kwargs)
        # Also for the governance functions models stacks add (FoundationReference).
        self.handler_settings = handler_settings
        self.boundary = PermissionsBoundary(self, "PermissionsBoundary")
        self.role_boundary = GovernanceBoundary(
            self.boundary.policy, name=f"{resource_prefix}-permissions-boundary"
        )
        self.role_boundary.apply(self)
        declare_audit_policy(
            self,
            retention_days=policy.audit_retention_days,
            object_lock_mode=policy.audit_object_lock_mode.value,
        )

        self.keys = GovernanceKeys(self, "Keys", alias_prefix=resource_prefix)
        self.access_logs = AccessLogBucket(self, "AccessLogs")

        def bucket(bucket_id: str, domain: DataDomain, **props: Any) -> GovernedBucket:
            return GovernedBucket(
                self,
                bucket_id,
                key=self.keys[domain],
                access_logs=self.access_logs.bucket,
                **props,
            )

        self.artifacts = bucket(
            "Artifacts",
            DataDomain.ARTIFACTS,
            # Registered model artifacts and baselines keep every version.
            expire_noncurrent_under=[DATA_PREFIX, WORK_PREFIX, PROCESSING_PREFIX],
        )
        self.data_capture = bucket("DataCapture", DataDomain.DATA_CAPTURE)
        self.monitoring_reports = bucket("MonitoringReports", DataDomain.MONITORING)
        retention = Duration.days(policy.audit_retention_days)
        self.audit = bucket(
            "Audit",
            DataDomain.AUDIT,
            object_lock_retention=(
                s3.ObjectLockRetention.compliance(retention)
                if policy.audit_object_lock_mode is ObjectLockMode.COMPLIANCE
                else s3.ObjectLockRetention.governance(retention)
            ),
            transition_to_infrequent_access=None,
        )

        self.network = IsolatedMlNetwork(
            self,
            "Network",
            flow_log_key=self.keys[DataDomain.LOGS],
            availability_zones=availability_zones,
        )
        self.boundary.allow_default_security_group_restriction(self.network.vpc)

        self.job_roles = JobExecutionRoles(self, "JobRoles")
        self._grant_jobs()
        self.mlflow = MlflowTarget(mlflow_tracking_arn) if mlflow_tracking_arn else None
        if self.mlflow is not None:
            # The environment's MLflow App or tracking server (organisation-level config).
            self.boundary.allow_mlflow_logging(self.mlflow)
        if self.mlflow is not None and self.mlflow.jobs_log_directly:
            # A tracking server: the monitoring jobs reach it only through this endpoint, the
            # subnets having no other route.
            self.network.add_mlflow_endpoint(
                tracking_arn=self.mlflow.arn,
                principal=self.job_roles.monitoring,
                actions=self.mlflow.logging_actions,
            )
        self.artifacts.protect_prefix(MODELS_PREFIX, writer=self.job_roles.training)
        if consumer_accounts:
            self.artifacts.grant_read_to_accounts(consumer_accounts, MODELS_PREFIX)

        self.personas = PersonaRoles(self, "Personas", job_roles=self.job_roles.all)
        self._grant_personas()

        self.alerts = GovernanceAlerts(
            self, "Alerts", key=self.keys[DataDomain.ALERTS], emails=policy.alert_emails
        )

        self.trail = GovernanceTrail(
            self,
            "Trail",
            bucket=self.audit,
            key=self.keys[DataDomain.AUDIT],
            logs_key=self.keys[DataDomain.LOGS],
            trail_name=f"{resource_prefix}-governance",
        )

        self.handlers = GovernanceHandlers(
            self,
            "Handlers",
            network=HandlerNetwork(
                vpc=self.network.vpc,
                subnets=self.network.subnets,
                security_group=self.network.job_security_group,
            ),
            audit_key=self.keys[DataDomain.AUDIT],
            logs_key=self.keys[DataDomain.LOGS],
            queue_key=self.keys[DataDomain.ALERTS],
            audit=self.audit,
            artifacts=self.artifacts,
            evidence=[self.artifacts, self.monitoring_reports],
            monitoring_reports=self.monitoring_reports,
            alerts=self.alerts,
            card_key=self.keys[DataDomain.ARTIFACTS],
            shard_rule_pattern=f"{resource_prefix}{SHARD_RULE_INFIX}*",
            reserved_concurrency=handler_settings.reserved_concurrency
            if handler_settings
            else None,
            powertools_layer_arn=handler_settings.powertools_layer_arn
            if handler_settings
            else None,
        )
        self.mlflow_relay: MlflowRelay | None = None
        if self.mlflow is not None and not self.mlflow.jobs_log_directly:
            # An MLflow App: the checks write run records, this relay logs them from outside
            # the VPC (cdk_constructs/mlflow_relay.py says why).
            self.mlflow_relay = MlflowRelay(
                self,
                "MlflowRelay",
                target=self.mlflow,
                records=self.monitoring_reports,
                logs_key=self.keys[DataDomain.LOGS],
                queue_key=self.keys[DataDomain.ALERTS],
                alerts=self.alerts,
                routing_dead_letters=self.handlers.routing_dlq.queue,
                reserved_concurrency=handler_settings.reserved_concurrency
                if handler_settings
                else None,
            )

        # CloudFormation calls KMS with the deploying role for these resource types.
        deployer = deployer_role_arn or default_deployer_role_arn(self)
        self.pipeline_access = PipelineFoundationAccess(
            self,
            "Pipelines",
            artifacts=self.artifacts,
            queue_key=self.keys[DataDomain.ALERTS],
            processing_role=self.job_roles.processing,
            asset_objects=asset_objects_pattern(self, extension=""),
            deployer_role_arn=deployer,
            models_prefix=MODELS_PREFIX,
            baselines_prefix=BASELINES_PREFIX,
            training_role=self.job_roles.training,
            # Models stacks are <prefix>-models-NN; CloudFormation names their queues after them.
            dead_letter_queues=format_arn(
                self,
                service="sqs",
                resource=f"{resource_prefix}{SHARD_RULE_INFIX}*",
                arn_format=ArnFormat.NO_RESOURCE_NAME,
            ),
        )
        self.keys[DataDomain.ARTIFACTS].grant_deployer(
            deployer, resource_types=["AWS::SageMaker::ModelCard"]
        )
        self.keys[DataDomain.AUDIT].grant_deployer(
            deployer, resource_types=["AWS::DynamoDB::Table"]
        )
        self.keys[DataDomain.DATA_CAPTURE].grant_deployer(
            deployer, resource_types=["AWS::SageMaker::EndpointConfig"]
        )
        self._publish_interface()

    def _grant_jobs(self) -> None:
        roles = self.job_roles
        self.artifacts.grant_read(roles.training, f"{DATA_PREFIX}*")
        self.artifacts.grant_read_write(roles.training, f"{MODELS_PREFIX}*")
        self.artifacts.grant_read(roles.processing, f"{DATA_PREFIX}*")
        self.artifacts.grant_read_write(roles.processing, f"{PROCESSING_PREFIX}*")
        # Quality-check and Clarify-check steps run as processing jobs and write the drift-check
        # baselines the monitors read.
        self.artifacts.grant_read_write(roles.processing, f"{BASELINES_PREFIX}*")
        self.artifacts.grant_read(roles.monitoring, f"{BASELINES_PREFIX}*")
        self.data_capture.grant_read(roles.monitoring, f"{CAPTURE_PREFIX}*")
        self.monitoring_reports.grant_read_write(roles.monitoring)
        roles.grant_monitoring_inputs(
            asset_objects=[asset_objects_pattern(self, ext) for ext in MONITORING_ASSET_EXTENSIONS]
        )
        roles.grant_batch_locations()
        self.artifacts.grant_read(roles.inference, f"{MODELS_PREFIX}*")
        self.data_capture.grant_write(roles.inference, f"{CAPTURE_PREFIX}*")
        # Jobs and endpoint instances encrypt their ML storage volumes with the domain key.
        self.keys[DataDomain.MONITORING].grant_volume_encryption(roles.monitoring)
        self.keys[DataDomain.ARTIFACTS].grant_volume_encryption(roles.training)
        self.keys[DataDomain.ARTIFACTS].grant_volume_encryption(roles.processing)
        self.keys[DataDomain.DATA_CAPTURE].grant_volume_encryption(roles.inference)

    def _grant_personas(self) -> None:
        p = self.personas
        card_key = self.keys[DataDomain.ARTIFACTS]
        self.artifacts.grant_read(p.data_scientist)
        # Data scientists write only their team's working prefixes (session tag in the ARN).
        for prefix in (DATA_PREFIX, WORK_PREFIX):
            self.artifacts.grant_write(p.data_scientist, f"{prefix}{OWN_TEAM}/*")
        self.artifacts.grant_read(p.mlops_engineer)
        self.monitoring_reports.grant_read(p.mlops_engineer)
        self.artifacts.grant_read(p.model_approver)
        self.monitoring_reports.grant_read(p.model_approver)
        self.audit.grant_read(p.auditor)
        self.audit.grant_read(p.model_approver, "ledger/*")
        # Model cards are encrypted with the artifacts key; SageMaker uses it for the caller.
        for role, actions in (
            (p.data_scientist, CARD_WRITE),
            (p.model_approver, CARD_WRITE),
            (p.mlops_engineer, CARD_READ),
            (p.auditor, CARD_READ),
        ):
            card_key.grant_use_via(role, service="sagemaker", actions=actions)

    def _publish_interface(self) -> None:
        """Named outputs for everything a models stack uses: a fixed set, whatever the models."""
        values: dict[str, str] = {
            _KEY_OUTPUTS[domain]: self.keys[domain].key_arn for domain in DataDomain
        }
        values.update(
            {
                "ArtifactsBucketName": self.artifacts.bucket_name,
                "DataCaptureBucketName": self.data_capture.bucket_name,
                "MonitoringReportsBucketName": self.monitoring_reports.bucket_name,
                "InferenceRoleArn": self.job_roles.inference.role_arn,
                "MonitoringRoleArn": self.job_roles.monitoring.role_arn,
                "TrainingRoleArn": self.job_roles.training.role_arn,
                "ProcessingRoleArn": self.job_roles.processing.role_arn,
                "PipelineDefinitionPublisherRoleArn": self.pipeline_access.publisher.role_arn,
                "PipelineExecutionRoleArn": self.pipeline_access.execution_role.role_arn,
                "PipelineSchedulerRoleArn": self.pipeline_access.scheduler_role.role_arn,
                "VpcId": self.network.vpc.vpc_id,
                "JobSecurityGroupId": self.network.job_security_group.security_group_id,
                "AlertsTopicArn": self.alerts.topic_arn,
                "ApprovalGateFunctionArn": self.handlers.approval_gate.function.function_arn,
                "AuditLedgerFunctionArn": self.handlers.audit_ledger.function.function_arn,
            }
        )
        for index, subnet in enumerate(self.isolated_subnets):
            values[f"IsolatedSubnet{index + 1}Id"] = subnet.subnet_id
            values[f"IsolatedSubnet{index + 1}RouteTableId"] = subnet.route_table.route_table_id
        for name, value in values.items():
            CfnOutput(self, name, value=value, description=f"Foundation interface: {name}")
        self.interface = tuple(values)

    @property
    def isolated_subnets(self) -> list[ec2.ISubnet]:
        return self.network.vpc.select_subnets(subnet_type=self.network.subnets.subnet_type).subnets

    @property
    @jsii.member(jsii_name="availabilityZones")
    def availability_zones(self) -> list[str]:
        """Configured zones, so CDK never looks them up (a lookup needs AWS credentials)."""
        if self._zones:
            return self._zones
        # The region's first two zones, resolved by CloudFormation: a concrete environment would
        # otherwise make CDK look them up, which needs AWS credentials at synth.
        return [Fn.select(0, Fn.get_azs()), Fn.select(1, Fn.get_azs())]


class FoundationReference(Construct):
    """The foundation as a models stack sees it: values from its named outputs, imported.

    Keys, buckets, roles, the topic and the handler functions are references by ARN or name:
    a grant, rule target or alarm made with them never changes a foundation policy (imported
    roles are immutable, imported keys and topics have no policy to add to). The models stack
    depends on the foundation, so CloudFormation deploys the foundation first.
    """

    def __init__(self, scope: Construct, construct_id: str, *, foundation: FoundationStack) -> None:
        super().__init__(scope, construct_id)
        consumer = Stack.of(self)
        consumer.add_stack_dependency(foundation, "reads the foundation's outputs")
        self.handler_settings = foundation.handler_settings
        # The models stack this reference belongs to, for constructs of that stack that would
        # otherwise look it up per model.
        self.stack = consumer
        region = None if Token.is_unresolved(foundation.region) else foundation.region
        producer = foundation.stack_name  # read from the jsii runtime once, not per output

        def output(name: str) -> str:
            if name not in foundation.interface:
                raise KeyError(f"the foundation publishes no output {name!r}")
            return Fn.get_stack_output(producer, name, region)

        self.keys = {
            domain: GovernanceKeyReference(
                self, f"{domain.value}-key", key_arn=output(_KEY_OUTPUTS[domain]), domain=domain
            )
            for domain in DataDomain
        }

        def bucket(name: str, domain: DataDomain) -> GovernedBucketReference:
            return GovernedBucketReference(
                self, name, bucket_name=output(f"{name}BucketName"), key=self.keys[domain]
            )

        self.artifacts = bucket("Artifacts", DataDomain.ARTIFACTS)
        self.data_capture = bucket("DataCapture", DataDomain.DATA_CAPTURE)
        self.monitoring_reports = bucket("MonitoringReports", DataDomain.MONITORING)
        self.inference_role = iam.Role.from_role_arn(
            self, "InferenceRole", output("InferenceRoleArn"), mutable=False
        )
        self.monitoring_role = iam.Role.from_role_arn(
            self, "MonitoringRole", output("MonitoringRoleArn"), mutable=False
        )
        self._output = output
        subnet_count = sum(1 for n in foundation.interface if _SUBNET_OUTPUT.fullmatch(n))
        self.subnets = [
            ec2.Subnet.from_subnet_attributes(
                self,
                f"Subnet{number}",
                subnet_id=output(f"IsolatedSubnet{number}Id"),
                route_table_id=output(f"IsolatedSubnet{number}RouteTableId"),
            )
            for number in range(1, subnet_count + 1)
        ]
        self.job_security_group = ec2.SecurityGroup.from_security_group_id(
            self, "JobSecurityGroup", output("JobSecurityGroupId"), mutable=False
        )
        # The isolated VPC, for functions a models stack places in it (the package check).
        self.vpc = ec2.Vpc.from_vpc_attributes(
            self,
            "Vpc",
            vpc_id=output("VpcId"),
            availability_zones=foundation.availability_zones[:subnet_count],
            isolated_subnet_ids=[subnet.subnet_id for subnet in self.subnets],
            isolated_subnet_route_table_ids=[
                output(f"IsolatedSubnet{number}RouteTableId")
                for number in range(1, subnet_count + 1)
            ],
        )
        self.alerts = AlertsReference(self, "Alerts", topic_arn=output("AlertsTopicArn"))
        # ARNs only: the foundation already lets this environment's shard rules invoke them.
        self.approval_gate_arn = output("ApprovalGateFunctionArn")
        self.audit_ledger_arn = output("AuditLedgerFunctionArn")

    def role(self, output_name: str) -> iam.IRole:
        """A foundation role by its output (``TrainingRoleArn``, ...), imported immutable once."""
        construct_id = output_name.removesuffix("Arn")
        found = self.node.try_find_child(construct_id)
        if found is not None:
            return found  # type: ignore[return-value]
        return iam.Role.from_role_arn(self, construct_id, self._output(output_name), mutable=False)

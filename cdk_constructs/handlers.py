"""The governance event handlers: approval gate, audit ledger, monitoring violations.

Every asynchronous path keeps what it cannot process: EventBridge targets retry and then send
to an encrypted dead-letter queue, each function's own failed invocations go to its
dead-letter queue, and every queue has an alarm on its depth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk.interfaces import aws_events as events_refs
from constructs import Construct

from cdk_constructs import access, defaults, tags
from cdk_constructs.access import SageMakerArns
from cdk_constructs.alerts import GovernanceAlerts
from cdk_constructs.arns import format_arn
from cdk_constructs.compliance.acknowledgments import (
    acknowledge,
    acknowledge_in_frameworks,
    acknowledge_wildcards,
    nag_string,
)
from cdk_constructs.encryption import CARD_READ, GovernanceKey, IGovernanceKey
from cdk_constructs.queues import DeadLetterQueue
from cdk_constructs.roles import ManagedPolicyRole
from cdk_constructs.storage import GovernedBucket
from governance.contracts.vocabulary import (
    ENDPOINT_PARAMETER_PREFIX,
    GOVERNANCE_DETAIL_TYPES,
    POLICY_PARAMETER_PREFIX,
    DetailType,
    EventSource,
    OnFailureStatus,
)

LAMBDA_ASSET = Path(__file__).resolve().parents[1] / "lambda"
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.X86_64
# The Powertools for AWS Lambda (Python) release the handlers are tested with: the pin of
# aws-lambda-powertools in requirements-dev.txt (a test keeps the two equal).
POWERTOOLS_VERSION = "3.37.0"


def powertools_layer_parameter(
    *,
    version: str = POWERTOOLS_VERSION,
    runtime: lambda_.Runtime = RUNTIME,
    architecture: lambda_.Architecture = ARCHITECTURE,
) -> str:
    """The public SSM parameter holding the Powertools layer ARN of ``version`` in a region.

    Powertools publishes, in every region of the aws partition, the layer version ARN of each
    release under ``/aws/service/powertools/python/<arch>/<runtime>/<semantic version>``
    (Powertools docs, "Installation" > "Lambda Layer" > "Using SSM Parameter Store"; written by
    its release workflow ``.github/workflows/update_ssm.yml`` with that release's layer version,
    publisher account 017000801446). Resolving the parameter of the pinned release therefore
    gives exactly the layer that holds the library the handlers are tested with, in whatever
    region the stack is deployed to. The layer version number itself is not in any source
    available offline for 3.37.0 (the newest documented table lists layer 27, which is release
    3.23.0, powertools-lambda-python issue #7689), so it is not guessed here.
    """
    return f"/aws/service/powertools/python/{architecture.name}/{runtime.name}/{version}"


def powertools_layer(scope: Construct, layer_arn: str | None = None) -> lambda_.ILayerVersion:
    """The Powertools layer every governance function runs with (child ``Powertools``):
    ``layer_arn``, or by default the pinned release's, resolved by CloudFormation from
    :func:`powertools_layer_parameter` (aws partition only)."""
    return lambda_.LayerVersion.from_layer_version_arn(
        scope,
        "Powertools",
        layer_arn
        or cdk.Token.as_string(
            cdk.CfnDynamicReference(
                cdk.CfnDynamicReferenceService.SSM, powertools_layer_parameter()
            )
        ),
    )


# Final states of a processing job (botocore ProcessingJobStatus: InProgress | Completed |
# Failed | Stopping | Stopped) that end a monitoring execution.
MONITORING_RUN_FINAL_STATES = ("Completed", "Failed", "Stopped")


def monitoring_runs_pattern() -> events.EventPattern:
    """The monitoring-run events the violations handler receives (its event contract).

    ``source`` ``aws.sagemaker``, ``detail-type`` ``SageMaker Processing Job State Change``
    ("Events that Amazon SageMaker AI sends to Amazon EventBridge"), ``detail`` as
    ``DescribeProcessingJob`` returns it with ``ProcessingJobStatus`` Completed, Failed or
    Stopped, and at least ``ProcessingJobName`` and ``ProcessingJobArn`` (or ``resources[0]``).
    Every processing job of the account and region in those states matches: the documented
    event does not carry ``MonitoringScheduleArn``, so the rule cannot tell a monitoring run
    from another job. The handler does, with ``DescribeProcessingJob`` (``MonitoringScheduleArn``
    and the ``sagemaker_monitoring_schedule_name`` environment variable), ignores other jobs,
    alerts and records a Failed or Stopped run of a governed schedule (a gap in monitoring),
    and reads the report of a Completed one. SageMaker may deliver an event more than once.
    """
    return events.EventPattern(
        source=[EventSource.SAGEMAKER.value],
        detail_type=[DetailType.PROCESSING_JOB_STATE_CHANGE.value],
        detail={"ProcessingJobStatus": list(MONITORING_RUN_FINAL_STATES)},
    )


# Final states of a pipeline execution that leave a monitoring period without results (botocore
# PipelineExecutionStatus: Executing | Stopping | Stopped | Failed | Succeeded).
MONITORING_PIPELINE_GAP_STATES = ("Failed", "Stopped")


def schedule_failures_pattern() -> events.EventPattern:
    """Failed schedule starts the violations handler receives (its third contract): our own
    ``Monitoring Schedule Start Failed`` events, put by a models stack's schedule-failures
    handler (``governance.schedule_failures``) from EventBridge Scheduler's dead-letter queue.
    One rule for the environment, whatever the models."""
    return events.EventPattern(
        source=[EventSource.GOVERNANCE.value],
        detail_type=[DetailType.SCHEDULE_START_FAILED.value],
    )


def monitoring_pipelines_pattern() -> events.EventPattern:
    """The monitoring-pipeline events the violations handler receives (its second contract).

    ``source`` ``aws.sagemaker``, ``detail-type`` ``SageMaker Model Building Pipeline Execution
    Status Change`` (developer guide, automating-sagemaker-with-eventbridge, "Pipeline execution
    state change": camelCase ``detail`` with ``pipelineArn``, ``pipelineExecutionArn`` and
    ``currentPipelineExecutionStatus``), Failed or Stopped. Every pipeline of the account and
    region matches, so the foundation stays the same whatever models are deployed: the handler
    finds the governed ones by their parameters (batch scoring ``<model>-<env>-batch``, the
    Evidently checks ``<endpoint>-<check>``), asks ``ListPipelineExecutionSteps`` which step
    ended the run, and alerts and records a run whose checks never reported (a check whose
    processing job failed is recorded from that job's own event).
    """
    return events.EventPattern(
        source=[EventSource.SAGEMAKER.value],
        detail_type=[DetailType.PIPELINE_EXECUTION_STATUS_CHANGE.value],
        detail={"currentPipelineExecutionStatus": list(MONITORING_PIPELINE_GAP_STATES)},
    )


@dataclass(frozen=True)
class HandlerNetwork:
    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    security_group: ec2.ISecurityGroup


class GovernanceFunction(Construct):
    """One handler: its role, encrypted log group, dead-letter queue, tracing and limits.

    Defaults: newest Python runtime CDK knows, in the isolated VPC, X-Ray tracing, 512 MB, 60 s,
    two async retries, and:

    * ``powertools_layer_arn``: default, the AWS-published Powertools layer of the pinned
      release, resolved by CloudFormation from Powertools' public SSM parameter
      (:func:`powertools_layer_parameter`; aws partition only). Outside the aws partition
      Powertools publishes the layer under other accounts (GovCloud 165087284144 /
      165093116878, China 498634801083) without SSM parameters, so the ARN must be given.
    * ``reserved_concurrency``: default, none. A reservation must leave at least 100 of the
      account's concurrent executions unreserved, and new accounts start with a reduced
      concurrency quota (Lambda developer guide, "Configuring reserved concurrency" and
      "Lambda quotas"), so a fixed reservation fails the deployment there. Throttled
      asynchronous events are retried by Lambda and end in the dead-letter queue, never lost.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        description: str,
        environment: dict[str, str],
        network: HandlerNetwork | None,
        logs_key: IGovernanceKey,
        queue_key: GovernanceKey,
        reserved_concurrency: int | None = None,
        powertools_layer_arn: str | None = None,
        dependencies: lambda_.ILayerVersion | None = None,
    ) -> None:
        """``network``: the VPC the function runs in; None only for a function that must call
        a service no VPC endpoint serves (its caller acknowledges LambdaInsideVPC with the
        reason). ``dependencies``: a layer that ships the handler's libraries, Powertools
        included, used instead of the AWS-published Powertools layer."""
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.role = ManagedPolicyRole(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of {description}",
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            encryption_key=logs_key.key,
            retention=defaults.LOG_RETENTION,
            removal_policy=defaults.REMOVAL_POLICY,
        )
        self.dead_letters = DeadLetterQueue(self, "DeadLetterQueue", key=queue_key)
        queue_key.grant_encrypt(self.role)
        if reserved_concurrency is not None and reserved_concurrency < 1:
            raise ValueError(
                f"reserved_concurrency must be at least 1 or None (got {reserved_concurrency}); "
                "0 would stop the function from running at all"
            )
        powertools = dependencies or powertools_layer(self, powertools_layer_arn)
        self.function = lambda_.Function(
            self,
            "Resource",
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler,
            code=lambda_.Code.from_asset(str(LAMBDA_ASSET), exclude=["**/__pycache__", "**/*.pyc"]),
            layers=[powertools],
            role=self.role,
            environment={"POWERTOOLS_SERVICE_NAME": construct_id, **environment},
            memory_size=512,
            timeout=cdk.Duration.seconds(60),
            reserved_concurrent_executions=reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            dead_letter_queue=self.dead_letters.queue,
            retry_attempts=2,
            vpc=network.vpc if network else None,
            vpc_subnets=network.subnets if network else None,
            security_groups=[network.security_group] if network else None,
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{self.log_group.log_group_arn}:*"],
            )
        )
        if network is not None:
            self._grant_network_interfaces(network)
        if reserved_concurrency is None:
            acknowledge_in_frameworks(
                self.function,
                "LambdaConcurrency",
                "No reserved concurrency by default: a reservation must leave 100 of the "
                "account's concurrent executions unreserved and new accounts start with a "
                "reduced quota (Lambda quotas), so it would fail the deployment there; "
                "throttled events are retried and then dead-lettered. Set "
                "environments[].handlers.reserved_concurrency where the quota allows.",
            )
        acknowledge(
            self.function,
            "Serverless-LambdaAsyncFailureDestination",
            "Failed asynchronous invocations go to this function's dead-letter queue (which "
            "NIST 800-53 requires); an on-failure destination as well would duplicate them.",
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "ec2:DescribeNetworkInterfaces and the X-Ray trace writes have no resource types in "
            "the Service Authorization Reference (and Lambda requires DescribeNetworkInterfaces "
            "on '*'); every other network-interface call is scoped to this VPC's subnets, "
            "security group and this account's network interfaces."
            if network is not None
            else "The X-Ray trace writes (xray:PutTraceSegments, xray:PutTelemetryRecords) have "
            "no resource types in the Service Authorization Reference.",
        )
        acknowledge_wildcards(
            self.role,
            resources=[nag_string(stack, f"{self.log_group.log_group_arn}:*")],
            reason=(
                "Log streams are created by Lambda per execution environment; the pattern is "
                "limited to this function's own log group."
            ),
        )

    def _grant_network_interfaces(self, network: HandlerNetwork) -> None:
        """What Lambda does with this role to attach the function to the VPC.

        The Service Authorization Reference lets CreateNetworkInterface be scoped to the
        subnets and security group it uses, and the other calls to network interfaces of this
        account and region; DescribeNetworkInterfaces has no resource type. Lambda's guide
        (configuration-vpc) asks for DeleteNetworkInterface on every interface id, which
        ``network-interface/*`` of this account and region is.
        """
        stack = cdk.Stack.of(self)

        def ec2_arn(resource: str, name: str) -> str:
            return format_arn(stack, service="ec2", resource=resource, resource_name=name)

        interfaces = ec2_arn("network-interface", "*")
        subnet_ids = network.vpc.select_subnets(
            subnet_type=network.subnets.subnet_type,
            subnet_group_name=network.subnets.subnet_group_name,
        ).subnet_ids
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="CreateNetworkInterfacesInTheVpc",
                actions=["ec2:CreateNetworkInterface"],
                resources=[
                    interfaces,
                    *(ec2_arn("subnet", subnet) for subnet in subnet_ids),
                    ec2_arn("security-group", network.security_group.security_group_id),
                ],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ManageOwnAccountsNetworkInterfaces",
                actions=[
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                resources=[interfaces],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="DescribeNetworkInterfaces",
                actions=["ec2:DescribeNetworkInterfaces"],
                resources=["*"],
            )
        )
        acknowledge_wildcards(
            self.role,
            resources=[nag_string(stack, interfaces)],
            reason=(
                "Lambda creates and deletes the function's network interfaces under ids it "
                "chooses; the pattern is limited to network interfaces of this account and "
                "region, and creation to this VPC's subnets and security group."
            ),
        )

    def target(self, *, dead_letter_queue: sqs.IQueue) -> targets.LambdaFunction:
        """An EventBridge target that retries for a day, then dead-letters the event."""
        return handler_target(self.function, dead_letter_queue=dead_letter_queue)


# A day of retries (EventBridge's maximum event age) before an event is dead-lettered.
RETRY_ATTEMPTS = 185
MAX_EVENT_AGE = cdk.Duration.hours(24)


def handler_target(
    function: lambda_.IFunction, *, dead_letter_queue: sqs.IQueue
) -> targets.LambdaFunction:
    """An EventBridge target for a governance handler of the same stack: retries for a day
    (185 attempts), then the event waits in ``dead_letter_queue``."""
    return targets.LambdaFunction(
        function,
        dead_letter_queue=dead_letter_queue,
        retry_attempts=RETRY_ATTEMPTS,
        max_event_age=MAX_EVENT_AGE,
    )


@jsii.implements(events.IRuleTarget)
class SharedHandlerTarget:
    """A foundation handler as the target of a rule in a models stack, by ARN.

    Unlike ``targets.LambdaFunction`` it adds no ``AWS::Lambda::Permission`` (which would put a
    statement per models stack into the function's resource policy): the foundation lets every
    shard rule invoke the handler by rule name (``GovernanceHandlers``). Retries and the
    dead-letter queue are as :func:`handler_target`'s; the queue's policy lets this rule send.
    """

    def __init__(self, function_arn: str, *, dead_letter_queue: sqs.IQueue) -> None:
        self._function_arn = function_arn
        self._queue = dead_letter_queue

    def bind(self, rule: events_refs.IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        self._queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventsDeliverFailedEvents",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self._queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": rule.rule_ref.rule_arn}},
            )
        )
        return events.RuleTargetConfig(
            arn=self._function_arn,
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=self._queue.queue_arn),
            retry_policy=events.CfnRule.RetryPolicyProperty(
                maximum_retry_attempts=RETRY_ATTEMPTS,
                maximum_event_age_in_seconds=int(MAX_EVENT_AGE.to_seconds()),
            ),
        )


def grant_table(
    table: dynamodb.ITable, key: GovernanceKey, grantee: iam.IGrantable, actions: list[str]
) -> iam.Grant:
    """``actions`` on the table (``Table.grant``) and use of its key (``Table.grant`` leaves a
    customer-managed key to the caller; the key's own grant is exact)."""
    return key.grant_encrypt_decrypt(grantee).combine(table.grant(grantee, *actions))


class GovernanceHandlers(Construct):
    """The ledger and idempotency tables, the three handlers and their environment-wide rules."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        network: HandlerNetwork,
        audit_key: GovernanceKey,
        logs_key: GovernanceKey,
        queue_key: GovernanceKey,
        audit: GovernedBucket,
        artifacts: GovernedBucket,
        evidence: list[GovernedBucket],
        monitoring_reports: GovernedBucket,
        alerts: GovernanceAlerts,
        card_key: GovernanceKey,
        shard_rule_pattern: str | None = None,
        reserved_concurrency: int | None = None,
        powertools_layer_arn: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        sagemaker = SageMakerArns(stack)

        def parameters(prefix: str) -> str:
            """Every SSM parameter under ``prefix`` (``/a/b/`` -> ``parameter/a/b/*``)."""
            return format_arn(
                stack, service="ssm", resource="parameter", resource_name=f"{prefix.lstrip('/')}*"
            )

        default_bus = events.EventBus.from_event_bus_name(self, "DefaultBus", "default")

        self.ledger = dynamodb.Table(
            self,
            "Ledger",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="seq", type=dynamodb.AttributeType.NUMBER),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=audit_key.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            removal_policy=defaults.REMOVAL_POLICY,
        )
        cdk.Tags.of(self.ledger).add(tags.COMPONENT, "audit-ledger")
        self.idempotency = dynamodb.Table(
            self,
            "Idempotency",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expiration",
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=audit_key.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        for table in (self.ledger, self.idempotency):
            acknowledge(
                table,
                "NIST.800.53.R5-DynamoDBInBackupPlan",
                "Point-in-time recovery (35 days) protects this table; the ledger is also "
                "mirrored record by record to the Object-Lock audit bucket.",
            )
            acknowledge(
                table,
                "HIPAA.Security-DynamoDBInBackupPlan",
                "Point-in-time recovery (35 days) protects this table; the ledger is also "
                "mirrored record by record to the Object-Lock audit bucket.",
            )

        common = {
            "IDEMPOTENCY_TABLE_NAME": self.idempotency.table_name,
            "EVENT_BUS_NAME": "default",
        }

        def function(
            construct_id: str, handler: str, description: str, environment: dict[str, str]
        ) -> GovernanceFunction:
            return GovernanceFunction(
                self,
                construct_id,
                handler=handler,
                description=description,
                environment={**common, **environment},
                network=network,
                logs_key=logs_key,
                queue_key=queue_key,
                reserved_concurrency=reserved_concurrency,
                powertools_layer_arn=powertools_layer_arn,
            )

        self.approval_gate = function(
            "ApprovalGate",
            "governance.approval_gate.handler",
            "Model approval gate: checks evidence when a version turns Approved",
            {
                "POLICY_PARAMETER_PREFIX": POLICY_PARAMETER_PREFIX,
                "ALERT_TOPIC_ARN": alerts.topic_arn,
                # Evidence must be under this bucket's baselines/<group>/ (logic/approval.py).
                "ARTIFACTS_BUCKET_NAME": artifacts.bucket_name,
            },
        )
        self.audit_ledger = function(
            "AuditLedger",
            "governance.ledger.handler",
            "Audit ledger: hash-chained, append-only record of governance events",
            {
                "LEDGER_TABLE_NAME": self.ledger.table_name,
                "AUDIT_BUCKET_NAME": audit.bucket_name,
                "AUDIT_PREFIX": "ledger/",
                "POLICY_PARAMETER_PREFIX": POLICY_PARAMETER_PREFIX,
            },
        )
        self.violations = function(
            "MonitoringViolations",
            "governance.violations.handler",
            "Monitoring violations: alerts, records and optionally retrains",
            {
                "ENDPOINT_PARAMETER_PREFIX": ENDPOINT_PARAMETER_PREFIX,
                "ALERT_TOPIC_ARN": alerts.topic_arn,
            },
        )
        idempotency_actions = [
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        ]
        for fn in (self.approval_gate, self.audit_ledger, self.violations):
            grant_table(self.idempotency, audit_key, fn.role, idempotency_actions)
            default_bus.grant_put_events_to(fn.role)

        # Approval gate: read the policy and the evidence, set a version back, alert. It must
        # judge every version of a governed group, including one registered without governance
        # tags (versions carry no tags of their own), so versions are not tag-scoped here; the
        # gate is only invoked by the state-change rules of governed groups.
        gate = self.approval_gate.role
        self._read_parameters(gate, parameters(POLICY_PARAMETER_PREFIX))
        gate.add_to_policy(
            iam.PolicyStatement(
                sid="JudgeVersions",
                actions=["sagemaker:DescribeModelPackage"],
                resources=[sagemaker.versions],
            )
        )
        # The gate only ever sets a version back (OnFailureStatus), never approves one: the
        # Service Authorization Reference lists sagemaker:ModelApprovalStatus for
        # UpdateModelPackage, and the handler always sends it (data_access/registry.py).
        gate.add_to_policy(
            iam.PolicyStatement(
                sid="SetVersionsBack",
                actions=["sagemaker:UpdateModelPackage"],
                resources=[sagemaker.versions],
                conditions={
                    "StringEquals": {
                        access.APPROVAL_STATUS_KEY: [status.value for status in OnFailureStatus]
                    }
                },
            )
        )
        gate.add_to_policy(
            iam.PolicyStatement(
                sid="ReadGovernedModelCards",
                actions=["sagemaker:DescribeModelCard", "sagemaker:ListModelCardVersions"],
                resources=[sagemaker.cards],
                conditions=access.created_by_this_app(),
            )
        )
        card_key.grant_use_via(gate, service="sagemaker", actions=CARD_READ)
        for bucket in evidence:
            bucket.grant_read(gate)
        alerts.grant_publish(gate)

        # Audit ledger: append records, mirror them to the Object-Lock bucket, and read the
        # version behind an event (who registered and who approved it) the way the gate does.
        ledger_role = self.audit_ledger.role
        self._read_parameters(ledger_role, parameters(POLICY_PARAMETER_PREFIX))
        grant_table(
            self.ledger,
            audit_key,
            ledger_role,
            [
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:Query",
                "dynamodb:ConditionCheckItem",
            ],
        )
        audit.grant_read_write(ledger_role, "ledger/*")
        ledger_role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadVersions",
                actions=["sagemaker:DescribeModelPackage"],
                resources=[sagemaker.versions],
            )
        )

        # Monitoring violations: read reports, alert, optionally start a retraining pipeline.
        violations_role = self.violations.role
        self._read_parameters(violations_role, parameters(ENDPOINT_PARAMETER_PREFIX))
        violations_role.add_to_policy(
            iam.PolicyStatement(
                sid="DescribeMonitoringRuns",
                actions=[
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:DescribeMonitoringSchedule",
                ],
                resources=[sagemaker.of("processing-job"), sagemaker.of("monitoring-schedule")],
            )
        )
        self._let_violations_list_pipeline_steps(sagemaker)
        monitoring_reports.grant_read(violations_role)
        alerts.grant_publish(violations_role)
        # Only pipelines that carry governance:model (set by whoever owns the pipeline; no role
        # of this app can set governance tags) may be started; which one is the model's
        # endpoint parameter's choice.
        violations_role.add_to_policy(
            iam.PolicyStatement(
                sid="StartRetrainingPipelines",
                actions=["sagemaker:StartPipelineExecution"],
                resources=[sagemaker.of("pipeline")],
                conditions={"Null": {f"aws:ResourceTag/{tags.MODEL}": "false"}},
            )
        )

        for role in (gate, ledger_role):
            acknowledge_wildcards(
                role,
                resources=[nag_string(stack, sagemaker.versions)],
                reason=(
                    "Model package versions are numbered at registration and carry no tags "
                    "unless the registrant set them; the handler must read (the gate also "
                    "reject) any version of a governed group, and is invoked only by the "
                    "state-change rules of governed groups."
                ),
            )
        acknowledge_wildcards(
            gate,
            resources=[nag_string(stack, sagemaker.cards)],
            reason=(
                f"Model cards are named per model; reads are limited by condition to cards "
                f"tagged {tags.MANAGED_BY}={tags.MANAGED_BY_VALUE}."
            ),
        )
        acknowledge_wildcards(
            violations_role,
            resources=[
                nag_string(stack, sagemaker.of("processing-job")),
                nag_string(stack, sagemaker.of("monitoring-schedule")),
            ],
            reason=(
                "Monitoring executions are processing jobs SageMaker names per run; the handler "
                "only describes them (read-only) to find the schedule and report."
            ),
        )
        acknowledge_wildcards(
            violations_role,
            resources=[nag_string(stack, sagemaker.of("pipeline"))],
            reason=(
                f"Retraining pipelines belong to model teams; only pipelines tagged "
                f"{tags.MODEL} (condition) can be started, and the handler starts only the one "
                "named in the model's endpoint parameter."
            ),
        )

        if shard_rule_pattern is not None:
            self._let_shard_rules_invoke(shard_rule_pattern)

        # Environment-wide routing: our own events to the ledger, monitoring runs to the
        # violations handler. Per-model state-change rules live with the models.
        self.routing_dlq = DeadLetterQueue(
            self, "RoutingDeadLetterQueue", key=queue_key, alerts=alerts, what="Governance routing"
        )
        for fn in (self.approval_gate, self.audit_ledger, self.violations):
            fn.dead_letters.alarm_on_depth(alerts, what=f"{fn.node.id} handler")
        self.governance_events_rule = events.Rule(
            self,
            "GovernanceEventsToLedger",
            description="Approval verdicts and monitoring violations into the audit ledger",
            event_pattern=events.EventPattern(
                source=[EventSource.GOVERNANCE.value],
                detail_type=[detail_type.value for detail_type in GOVERNANCE_DETAIL_TYPES],
            ),
            targets=[self.audit_ledger.target(dead_letter_queue=self.routing_dlq.queue)],
        )
        self._route_monitoring()

    def _route_monitoring(self) -> None:
        """The environment-wide rules to the violations handler (no per-model rule)."""
        self.monitoring_runs_rule = events.Rule(
            self,
            "MonitoringRunsToViolations",
            description="Finished, failed and stopped Model Monitor executions to the violations "
            "handler",
            event_pattern=monitoring_runs_pattern(),
            targets=[self.violations.target(dead_letter_queue=self.routing_dlq.queue)],
        )
        self.schedule_failures_rule = events.Rule(
            self,
            "ScheduleFailuresToViolations",
            description="Starts EventBridge Scheduler could not make (relayed from the models "
            "stacks' schedule dead-letter queues) to the violations handler",
            event_pattern=schedule_failures_pattern(),
            targets=[self.violations.target(dead_letter_queue=self.routing_dlq.queue)],
        )
        self.monitoring_pipelines_rule = events.Rule(
            self,
            "MonitoringPipelinesToViolations",
            description="Failed and stopped monitoring pipeline executions (Evidently checks, "
            "batch scoring) to the violations handler",
            event_pattern=monitoring_pipelines_pattern(),
            targets=[self.violations.target(dead_letter_queue=self.routing_dlq.queue)],
        )

    def _let_violations_list_pipeline_steps(self, sagemaker: SageMakerArns) -> None:
        """Which step ended a failed or stopped monitoring pipeline execution."""
        executions = sagemaker.of("pipeline", "*/execution/*")
        self.violations.role.add_to_policy(
            iam.PolicyStatement(
                sid="ListMonitoringPipelineSteps",
                actions=["sagemaker:ListPipelineExecutionSteps"],
                resources=[executions],
            )
        )
        acknowledge_wildcards(
            self.violations.role,
            resources=[nag_string(cdk.Stack.of(self), executions)],
            reason=(
                "Pipeline executions get their ids from SageMaker at start, and the monitoring "
                "pipelines are added with models; the handler only lists the steps (read-only) "
                "of an execution that failed or stopped, to tell which step ended it."
            ),
        )

    def _let_shard_rules_invoke(self, rule_name_pattern: str) -> None:
        """One permission per function for every shard's state-change rule, by rule name.

        A permission per shard would add a statement per models stack to each function's
        resource policy (20 KB, so about 40 shards); the name pattern is an
        organisation-level input, so the foundation does not change when shards are added.
        """
        stack = cdk.Stack.of(self)
        # The stack's own (literal) partition, as before.
        rules = stack.format_arn(service="events", resource="rule", resource_name=rule_name_pattern)
        for function in (self.approval_gate, self.audit_ledger):
            function.function.add_permission(
                "ShardStateChangeRules",
                principal=iam.ServicePrincipal("events.amazonaws.com"),
                source_account=stack.account,
                source_arn=rules,
            )

    @staticmethod
    def _read_parameters(role: iam.Role, parameters: str) -> None:
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadGovernanceParameters",
                actions=["ssm:GetParameter"],
                resources=[parameters],
            )
        )
        acknowledge_wildcards(
            role,
            resources=[nag_string(cdk.Stack.of(role), parameters)],
            reason=(
                "One parameter per governed model or endpoint is added as models are; the "
                "pattern is limited to the governance prefix and read-only (GetParameter)."
            ),
        )

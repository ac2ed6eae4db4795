"""A SageMaker Pipeline whose definition is built by the sagemaker SDK and kept as evidence.

``GovernedPipeline`` takes a definition the SDK built (``sagemaker.mlops.workflow.Pipeline``, or
the JSON of its ``definition()``), never a hand-written one, and creates:

- the definition as an object of the governed artifacts bucket, content-addressed:
  ``pipelines/<pipeline name>/<sha256 of the definition>.json``, copied there at deploy time by
  CDK's ``BucketDeployment`` running as ``publisher`` (a role the bucket's key lets encrypt;
  the bucket keeps every version, so every definition a pipeline ever had stays readable);
- ``AWS::SageMaker::Pipeline`` reading it through ``PipelineDefinitionS3Location`` (Bucket, Key),
  with its own execution role (the stack's permissions-boundary aspect applies the boundary),
  created after the object exists;
- optionally a schedule: ``AWS::Scheduler::Schedule`` whose target is the pipeline ARN (EventBridge
  Scheduler's SageMaker ``StartPipelineExecution`` target, with ``SageMakerPipelineParameters``),
  with a retry policy, a dead-letter queue and its own role that may start only this pipeline.

Properties were checked against the CloudFormation provider schemas bundled with cfn-lint 1.58
(``AWS::SageMaker::Pipeline``: PipelineName/PipelineDefinition/RoleArn required,
``PipelineDefinitionS3Location`` = {Bucket, Key, ETag?, Version?}, at most 50 tags;
``AWS::Scheduler::Schedule``: FlexibleTimeWindow/ScheduleExpression/Target required,
``RetryPolicy.MaximumEventAgeInSeconds`` 60-86400, ``MaximumRetryAttempts`` 0-185, parameter
names ``[A-Za-z0-9\\-_]*`` up to 256 characters, values 1-1024, at most 200). Tests re-check the
synthesized resources against those schemas.

Construct props are plain values and CDK interfaces; nothing here reads the app's config.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk_constructs import defaults
from cdk_constructs.arns import format_arn
from cdk_constructs.compliance.acknowledgments import acknowledge, acknowledge_in_frameworks
from cdk_constructs.encryption import IGovernanceKey
from cdk_constructs.pipelines.contract import DEFINITION_METADATA_KEY, DEFINITIONS_PREFIX
from cdk_constructs.pipelines.schedules import SCHEDULE_SOURCE, schedule_expression_problem
from cdk_constructs.roles import ManagedPolicyRole
from cdk_constructs.storage import IGovernedBucket

_COPY_LOG_GROUP_ID = "PipelineDefinitionCopyLogs"

# CreatePipeline PipelineName / AWS::SageMaker::Pipeline PipelineName: 1-256 characters,
# ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255} (botocore sagemaker PipelineName; provider schema).
_PIPELINE_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}")
# AWS::Scheduler::Schedule SageMakerPipelineParameter.Name
_PARAMETER_NAME = re.compile(r"[A-Za-z0-9\-_]{1,256}")
_MAX_PARAMETERS = 200
_MAX_PARAMETER_VALUE = 1024
_MAX_TAGS = 50


_TOKEN = re.compile(r"\$\{Token\[[^\]]*\]\}")


def staged_text(text: str) -> str:
    """``text`` as ``Source.data`` stages it: each CDK token occurrence, in order, becomes
    ``<<marker:0xbaba:N>>`` (aws-cdk-lib aws-s3-deployment render-data.js, TokenToMarkerMapper),
    which the deploy-time copy replaces with the resolved value."""
    counter = iter(range(len(text)))
    return _TOKEN.sub(lambda _: f"<<marker:0xbaba:{next(counter)}>>", text)


@dataclass(frozen=True)
class PipelineDefinition:
    """A pipeline definition as the SDK wrote it (``Pipeline.definition()``)."""

    json_text: str

    def __post_init__(self) -> None:
        try:
            document = json.loads(self.json_text)
        except ValueError as error:
            raise ValueError(f"pipeline definition is not JSON: {error}") from None
        if not isinstance(document, dict) or not isinstance(document.get("Steps"), list):
            raise ValueError(
                "pipeline definition has no 'Steps' list: pass the JSON of the sagemaker "
                "SDK's Pipeline.definition()"
            )

    @classmethod
    def from_sdk(cls, pipeline: Any) -> PipelineDefinition:
        """From a ``sagemaker.mlops.workflow.pipeline.Pipeline`` (built offline at synth)."""
        return cls(pipeline.definition())

    @property
    def document(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.json_text)
        return parsed

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.json_text.encode()).hexdigest()

    @property
    def step_names(self) -> tuple[str, ...]:
        return tuple(step["Name"] for step in self.document["Steps"])


@dataclass(frozen=True)
class PipelineSchedule:
    """When EventBridge Scheduler starts the pipeline, and with which parameter values."""

    expression: str
    timezone: str = "UTC"
    parameters: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    max_retries: int = 3
    max_event_age: cdk.Duration = field(default_factory=lambda: cdk.Duration.hours(1))

    def __post_init__(self) -> None:
        problem = schedule_expression_problem(self.expression)
        if problem is not None:
            raise ValueError(
                f"pipeline schedule {self.expression!r}: {problem} [{SCHEDULE_SOURCE}]"
            )
        problems = [
            f"parameter name {name!r}: use 1 to 256 letters, digits, '-' or '_'"
            for name in self.parameters
            if not _PARAMETER_NAME.fullmatch(name)
        ]
        problems += [
            f"parameter {name!r}: got a value of {len(value)} characters; 1 to "
            f"{_MAX_PARAMETER_VALUE} allowed"
            for name, value in self.parameters.items()
            if not 1 <= len(value) <= _MAX_PARAMETER_VALUE
        ]
        if len(self.parameters) > _MAX_PARAMETERS:
            problems.append(f"{len(self.parameters)} parameters; at most {_MAX_PARAMETERS}")
        if not 0 <= self.max_retries <= 185:
            problems.append(f"max_retries {self.max_retries}: 0 to 185 allowed")
        age = self.max_event_age.to_seconds()
        if not 60 <= age <= 86400:
            problems.append(f"max_event_age {age:g} s: 60 to 86400 seconds allowed")
        if problems:
            raise ValueError("pipeline schedule: " + "; ".join(problems))


class IScheduleDeadLetters(Protocol):
    """Where the schedule puts starts it could not make after its retries."""

    @property
    def queue(self) -> sqs.IQueue: ...

    @property
    def key(self) -> IGovernanceKey: ...


@dataclass(frozen=True)
class ScheduleDeadLetters:
    queue: sqs.IQueue
    key: IGovernanceKey


class GovernedPipeline(Construct):
    """One ``AWS::SageMaker::Pipeline`` with an SDK-built definition kept in a governed bucket.

    :param pipeline_name: the pipeline's name (the ARN and the console use it; a human starts the
        pipeline by it, so it is a physical name).
    :param definition: what the SDK built.
    :param bucket: the governed artifacts bucket; the definition lands under ``pipelines/``.
    :param publisher: the role the deploy-time copy runs as; it must read the CDK assets bucket
        and write ``pipelines/*`` of ``bucket`` with its key (the foundation owns it, because
        only the foundation's key policies can name a principal).
    :param vpc: where the copy function runs (the isolated VPC: S3 through its gateway endpoint).
    :param subnets, security_groups: its placement in ``vpc``.
    :param description: ``PipelineDescription``.
    :param schedule: default no schedule (started on demand or by the retraining path only).
    :param dead_letters: required with ``schedule``.
    :param tags: added to every resource here (the pipeline, both roles, the schedule's role).
    :param role: the execution role; default a new one trusting SageMaker Pipelines of this
        account, granted nothing (the caller grants what its steps need).
    :param scheduler_role: the schedule's role; default a new one that may start only this
        pipeline and write only ``dead_letters``' queue (the queue's key policy must let it).
    :param log_key: encrypts the copy function's log group (one per stack); default
        CloudWatch Logs' own key.
    :param files: objects the definition reads (step code, Clarify analysis configs), by key
        under ``pipelines/<pipeline name>/``; published with the definition.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline_name: str,
        definition: PipelineDefinition,
        bucket: IGovernedBucket,
        publisher: iam.IRole,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        security_groups: Sequence[ec2.ISecurityGroup],
        description: str = "",
        schedule: PipelineSchedule | None = None,
        dead_letters: IScheduleDeadLetters | None = None,
        tags: Mapping[str, str] | None = None,
        files: Mapping[str, str] | None = None,
        log_key: IGovernanceKey | None = None,
        role: iam.IRole | None = None,
        scheduler_role: iam.IRole | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not _PIPELINE_NAME.fullmatch(pipeline_name):
            raise ValueError(
                f"pipeline name {pipeline_name!r}: use 1 to 256 letters, digits and hyphens, "
                "starting and ending with a letter or digit"
            )
        prefix = f"{DEFINITIONS_PREFIX}{pipeline_name}/"
        outside = sorted(key for key in files or {} if not key.startswith(prefix))
        if outside:
            raise ValueError(
                f"pipeline {pipeline_name!r}: files must be kept under {prefix!r}, got "
                + ", ".join(outside)
            )
        if schedule is not None and dead_letters is None:
            raise ValueError(
                f"pipeline {pipeline_name!r}: a schedule needs dead_letters, so that starts "
                "EventBridge Scheduler could not make are kept"
            )
        if len(tags or {}) > _MAX_TAGS - 1:
            raise ValueError(f"pipeline {pipeline_name!r}: at most {_MAX_TAGS - 1} tags")
        for key, value in (tags or {}).items():
            cdk.Tags.of(self).add(key, value)
        stack = cdk.Stack.of(self)
        self.pipeline_name = pipeline_name
        self.definition = definition
        # What the bucket will hold: CDK tokens become the markers the copy fills in at deploy
        # time, so this is also the staged file's content, which rules and the report read.
        self.staged_definition = staged_text(definition.json_text)
        self.definition_sha256 = hashlib.sha256(self.staged_definition.encode()).hexdigest()
        self.definition_key = f"{DEFINITIONS_PREFIX}{pipeline_name}/{self.definition_sha256}.json"
        self.pipeline_arn = format_arn(
            self, service="sagemaker", resource="pipeline", resource_name=pipeline_name.lower()
        )

        self.role: iam.IRole = role or ManagedPolicyRole(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com").with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": format_arn(
                            self, service="sagemaker", resource="pipeline", resource_name="*"
                        )
                    },
                }
            ),
            description=f"Execution role of SageMaker pipeline {pipeline_name}",
        )

        destination = s3.Bucket.from_bucket_name(self, "Bucket", bucket.bucket_name)
        # Source.data renders CloudFormation values (bucket, roles, subnets) as markers that the
        # copy replaces at deploy time, so the stored definition names the real resources.
        self.file_keys = (self.definition_key, *sorted(files or {}))
        texts = {self.definition_key: definition.json_text, **dict(files or {})}
        self.publication = s3_deployment.BucketDeployment(
            self,
            "Definition",
            destination_bucket=destination,
            destination_key_prefix=prefix,
            sources=[
                s3_deployment.Source.data(key.removeprefix(prefix), texts[key])
                for key in self.file_keys
            ],
            # Old definitions are evidence: never pruned, never deleted with the stack.
            prune=False,
            retain_on_delete=True,
            extract=True,
            server_side_encryption=s3_deployment.ServerSideEncryption.AWS_KMS,
            server_side_encryption_aws_kms_key_id=bucket.key.key_arn,
            role=publisher,
            log_group=self._copy_log_group(log_key),
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnets=list(subnets)),
            security_groups=list(security_groups),
        )

        self._acknowledge_copy_function()

        self.resource = sagemaker.CfnPipeline(
            self,
            "Resource",
            pipeline_name=pipeline_name,
            pipeline_description=description or None,
            role_arn=self.role.role_arn,
            pipeline_definition={
                "PipelineDefinitionS3Location": {
                    "Bucket": bucket.bucket_name,
                    "Key": self.definition_key,
                }
            },
        )
        self.resource.node.add_dependency(self.publication)
        # Rules and the report find the staged definition from here: the deployment's first
        # source (SourceObjectKeys[0], cdk.out/asset.<hash>/) holds this file.
        self.resource.add_metadata(
            DEFINITION_METADATA_KEY,
            {"file": self.definition_key.removeprefix(prefix), "sha256": self.definition_sha256},
        )

        self.schedule: scheduler.CfnSchedule | None = None
        self.scheduler_role: iam.IRole | None = scheduler_role
        if schedule is not None and dead_letters is not None:
            self._schedule(schedule, dead_letters)

    def _copy_log_group(self, key: IGovernanceKey | None) -> logs.ILogGroup:
        """One log group per stack for the copy function CDK shares across deployments."""
        stack = cdk.Stack.of(self)
        existing = stack.node.try_find_child(_COPY_LOG_GROUP_ID)
        if isinstance(existing, logs.LogGroup):
            return existing
        return logs.LogGroup(
            stack,
            _COPY_LOG_GROUP_ID,
            encryption_key=key.key if key is not None else None,
            retention=defaults.LOG_RETENTION,
            removal_policy=defaults.REMOVAL_POLICY,
        )

    def _acknowledge_copy_function(self) -> None:
        stack = cdk.Stack.of(self)
        for child in stack.node.children:
            if not child.node.id.startswith("Custom::CDKBucketDeployment"):
                continue
            acknowledge(
                child,
                "AwsSolutions-L1",
                "aws-cdk-lib's BucketDeployment chooses the copy function's runtime (pinned with "
                "aws-cdk-lib in requirements.txt); it runs only while CloudFormation deploys.",
            )
            acknowledge(
                child,
                "Serverless-LambdaLatestVersion",
                "aws-cdk-lib's BucketDeployment chooses the copy function's runtime (pinned with "
                "aws-cdk-lib); it runs only while CloudFormation deploys.",
            )
            acknowledge(
                child,
                "Serverless-LambdaDLQ",
                "CloudFormation invokes the copy function for a custom resource and waits for "
                "its answer; a failed copy fails the deployment, visibly in the stack events, "
                "and no pipeline is created without its definition.",
            )
            acknowledge_in_frameworks(
                child,
                "LambdaDLQ",
                "CloudFormation invokes the copy function for a custom resource and waits for "
                "its answer; a failure fails the deployment, visibly in the stack events.",
            )
            acknowledge_in_frameworks(
                child,
                "LambdaConcurrency",
                "The copy runs only during deployments, once per changed definition; a "
                "reservation would take concurrency from the account (Lambda quotas).",
            )
            acknowledge(
                child,
                "Serverless-LambdaTracing",
                "A deploy-time copy between two S3 buckets, invoked only by CloudFormation; its "
                "log group records each run.",
            )

    def _schedule(self, schedule: PipelineSchedule, dead_letters: IScheduleDeadLetters) -> None:
        role = self.scheduler_role or self._own_scheduler_role(dead_letters)
        self.scheduler_role = role
        parameters = [
            scheduler.CfnSchedule.SageMakerPipelineParameterProperty(name=name, value=value)
            for name, value in sorted(schedule.parameters.items())
        ]
        self.schedule = scheduler.CfnSchedule(
            self,
            "Schedule",
            description=f"Starts SageMaker pipeline {self.pipeline_name}",
            schedule_expression=schedule.expression,
            schedule_expression_timezone=schedule.timezone,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            state="ENABLED",
            kms_key_arn=dead_letters.key.key_arn,
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.pipeline_arn,
                role_arn=role.role_arn,
                sage_maker_pipeline_parameters=scheduler.CfnSchedule.SageMakerPipelineParametersProperty(
                    pipeline_parameter_list=parameters or None
                ),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_retry_attempts=schedule.max_retries,
                    maximum_event_age_in_seconds=schedule.max_event_age.to_seconds(),
                ),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                    arn=dead_letters.queue.queue_arn
                ),
            ),
        )
        self.schedule.node.add_dependency(self.resource)

    def _own_scheduler_role(self, dead_letters: IScheduleDeadLetters) -> iam.IRole:
        stack = cdk.Stack.of(self)
        role = ManagedPolicyRole(
            self,
            "ScheduleRole",
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com").with_conditions(
                {"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description=f"EventBridge Scheduler starting SageMaker pipeline {self.pipeline_name}",
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="StartThisPipeline",
                actions=["sagemaker:StartPipelineExecution"],
                resources=[self.pipeline_arn],
            )
        )
        # Scheduler sends undeliverable starts to the queue with the schedule's role (EventBridge
        # Scheduler user guide, "Configuring a dead-letter queue"); SQS encrypts with the key.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DeadLetters",
                actions=["sqs:SendMessage"],
                resources=[dead_letters.queue.queue_arn],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DeadLettersKey",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[dead_letters.key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"sqs.{stack.region}.amazonaws.com"}
                },
            )
        )
        return role

    def _grant(self, grantee: iam.IGrantable, actions: Sequence[str]) -> iam.Grant:
        """Every grant on this pipeline; a pipeline has no resource policy, so the grantee's own."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(actions), resource_arns=[self.pipeline_arn]
        )

    def grant_start(self, grantee: iam.IGrantable) -> iam.Grant:
        """Start executions of this pipeline (and see them); nothing that changes it."""
        return self._grant(
            grantee,
            [
                "sagemaker:StartPipelineExecution",
                "sagemaker:DescribePipeline",
                "sagemaker:ListPipelineExecutions",
            ],
        )

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
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_s3_deployment as s3_deployment
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk_constructs import tags
from cdk_constructs.encryption import IGovernanceKey
from cdk_constructs.roles import ManagedPolicyRole
from cdk_constructs.storage import IGovernedBucket

DEFINITIONS_PREFIX = "pipelines/"
"""Prefix of the artifacts bucket where pipeline definitions are kept."""
DEFINITION_METADATA_KEY = "governance:pipeline-definition"
"""CloudFormation metadata on the pipeline resource: the definition's file in the cloud assembly
(relative to cdk.out) and its SHA-256, so rules and the report read the definition offline."""
SCHEDULER_COMPONENT = "pipeline-scheduler"
"""``governance:component`` of every schedule role; the DLQ key's policy may name roles by it."""

# CreatePipeline PipelineName / AWS::SageMaker::Pipeline PipelineName: 1-256 characters,
# ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255} (botocore sagemaker PipelineName; provider schema).
_PIPELINE_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}")
# AWS::Scheduler::Schedule SageMakerPipelineParameter.Name
_PARAMETER_NAME = re.compile(r"[A-Za-z0-9\-_]{1,256}")
_MAX_PARAMETERS = 200
_MAX_PARAMETER_VALUE = 1024
_MAX_TAGS = 50
# Schedule expressions EventBridge Scheduler accepts (EventBridge Scheduler user guide, "Schedule
# types on EventBridge Scheduler"): at(yyyy-mm-ddThh:mm:ss), rate(value unit) with unit minute(s),
# hour(s) or day(s), and cron(minutes hours day-of-month month day-of-week year) where one of the
# two day fields is '?'.
_AT = re.compile(r"at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)")
_RATE = re.compile(r"rate\((?P<value>\d+) (?P<unit>minute|minutes|hour|hours|day|days)\)")
_CRON = re.compile(r"cron\((?P<fields>[^()]+)\)")
SCHEDULE_FORMS = (
    "'rate(N unit)' with unit minute(s), hour(s) or day(s) (singular when N is 1), "
    "'cron(minutes hours day-of-month month day-of-week year)' with '?' in one of the two day "
    "fields, or 'at(yyyy-mm-ddThh:mm:ss)' for one run"
)
SCHEDULE_SOURCE = "EventBridge Scheduler user guide, schedule types"


def schedule_expression_problem(expression: str) -> str | None:  # noqa: PLR0911 - one per form
    """Why EventBridge Scheduler would refuse ``expression``, or None."""
    if _AT.fullmatch(expression):
        return None
    rate = _RATE.fullmatch(expression)
    if rate is not None:
        value = int(rate["value"])
        if value < 1:
            return f"a rate must be a positive number ({SCHEDULE_FORMS})"
        if (value == 1) != (not rate["unit"].endswith("s")):
            return f"use the singular unit exactly when the value is 1 ({SCHEDULE_FORMS})"
        return None
    cron = _CRON.fullmatch(expression)
    if cron is not None:
        fields = cron["fields"].split()
        if len(fields) != 6:
            return f"a cron expression has 6 fields, not {len(fields)} ({SCHEDULE_FORMS})"
        if (fields[2] == "?") == (fields[4] == "?"):
            return f"exactly one of day-of-month and day-of-week must be '?' ({SCHEDULE_FORMS})"
        return None
    return f"EventBridge Scheduler accepts {SCHEDULE_FORMS}"


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
    ) -> None:
        super().__init__(scope, construct_id)
        if not _PIPELINE_NAME.fullmatch(pipeline_name):
            raise ValueError(
                f"pipeline name {pipeline_name!r}: use 1 to 256 letters, digits and hyphens, "
                "starting and ending with a letter or digit"
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
        self.definition_key = f"{DEFINITIONS_PREFIX}{pipeline_name}/{definition.sha256}.json"
        self.pipeline_arn = (
            f"arn:{cdk.Aws.PARTITION}:sagemaker:{stack.region}:{stack.account}:"
            f"pipeline/{pipeline_name.lower()}"
        )

        self.role = ManagedPolicyRole(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com").with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": (
                            f"arn:{cdk.Aws.PARTITION}:sagemaker:{stack.region}:"
                            f"{stack.account}:pipeline/*"
                        )
                    },
                }
            ),
            description=f"Execution role of SageMaker pipeline {pipeline_name}",
        )

        destination = s3.Bucket.from_bucket_name(self, "Bucket", bucket.bucket_name)
        file_name = self.definition_key.rsplit("/", 1)[1]
        # Staged by CDK as cdk.out/asset.<hash>/<file>: rules and the report read it from there.
        staging = Path(tempfile.mkdtemp(prefix="pipeline-definition-"))
        (staging / file_name).write_text(definition.json_text)
        self.asset = s3_assets.Asset(self, "DefinitionAsset", path=str(staging))
        self.publication = s3_deployment.BucketDeployment(
            self,
            "Definition",
            destination_bucket=destination,
            destination_key_prefix=self.definition_key.rsplit("/", 1)[0] + "/",
            sources=[s3_deployment.Source.bucket(self.asset.bucket, self.asset.s3_object_key)],
            # Old definitions are evidence: never pruned, never deleted with the stack.
            prune=False,
            retain_on_delete=True,
            extract=True,
            content_type="application/json",
            server_side_encryption=s3_deployment.ServerSideEncryption.AWS_KMS,
            server_side_encryption_aws_kms_key_id=bucket.key.key_arn,
            role=publisher,
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnets=list(subnets)),
            security_groups=list(security_groups),
        )

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
        self.resource.add_metadata(
            DEFINITION_METADATA_KEY,
            {
                "path": f"{self.asset.asset_path}/{file_name}",
                "sha256": definition.sha256,
            },
        )

        self.schedule: scheduler.CfnSchedule | None = None
        self.scheduler_role: iam.Role | None = None
        if schedule is not None and dead_letters is not None:
            self._schedule(schedule, dead_letters)

    def _schedule(self, schedule: PipelineSchedule, dead_letters: IScheduleDeadLetters) -> None:
        stack = cdk.Stack.of(self)
        role = ManagedPolicyRole(
            self,
            "ScheduleRole",
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com").with_conditions(
                {"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description=f"EventBridge Scheduler starting SageMaker pipeline {self.pipeline_name}",
        )
        cdk.Tags.of(role).add(tags.COMPONENT, SCHEDULER_COMPONENT)
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

    def grant_start(self, grantee: iam.IGrantable) -> iam.Grant:
        """Start executions of this pipeline (and see them); nothing that changes it."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=[
                "sagemaker:StartPipelineExecution",
                "sagemaker:DescribePipeline",
                "sagemaker:ListPipelineExecutions",
            ],
            resource_arns=[self.pipeline_arn],
        )

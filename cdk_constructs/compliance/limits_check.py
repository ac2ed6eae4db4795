"""Measure synthesized templates against AWS's limits (:mod:`cdk_constructs.limits`).

``LimitsChecks`` is a CDK validation plugin: CDK hands it the synthesized template files after
synthesis, and its findings go into ``validation-report.json`` and fail synth like a compliance
pack's (every breach is an error; no acknowledgment can accept a limit AWS will enforce).
It reads plain template JSON, so :func:`measure` also serves the benchmark (``bench/``).

Policies, bodies and patterns are measured with intrinsics resolved by :class:`Resolver` to
realistic worst-case lengths (the model is :class:`cdk_constructs.limits.WorstCase`); counts
that span stacks (managed policies attached to one role, permissions on one function, rules on
one event bus) follow ``Fn::GetStackOutput`` to the producing stack's output.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii

from cdk_constructs import tags
from cdk_constructs.intrinsics import NO_VALUE, Evaluator, Found, WorstCaseLength, text_of
from cdk_constructs.limits import LIMITS, WORST_CASE, Limit, Quotas, Unit, WorstCase

PLUGIN_NAME = "Limits"
PLUGIN_VERSION = "1.0.0"


@dataclass(frozen=True)
class NameModel:
    """How CloudFormation names a resource type and what ``Ref``/``GetAtt`` return."""

    name_property: str | None
    max_length: int
    ref: str  # "name", "arn", "id", "url"
    arn: str | None  # format with {partition} {region} {account} {name}
    id_length: int = 0
    lowercase: bool = False


def _sagemaker(kind: str, name_property: str | None) -> NameModel:
    return NameModel(
        name_property,
        63,
        "arn",
        f"arn:{{partition}}:sagemaker:{{region}}:{{account}}:{kind}/{{name}}",
        lowercase=True,
    )


NAME_MODELS: Mapping[str, NameModel] = {
    "AWS::IAM::Role": NameModel(
        "RoleName", 64, "name", "arn:{partition}:iam::{account}:role/{name}"
    ),
    "AWS::IAM::ManagedPolicy": NameModel(
        "ManagedPolicyName", 128, "arn", "arn:{partition}:iam::{account}:policy/{name}"
    ),
    "AWS::IAM::Policy": NameModel("PolicyName", 128, "name", None),
    "AWS::KMS::Key": NameModel(
        None, 36, "id", "arn:{partition}:kms:{region}:{account}:key/{name}", id_length=36
    ),
    "AWS::KMS::Alias": NameModel("AliasName", 256, "name", None),
    "AWS::S3::Bucket": NameModel(
        "BucketName", 63, "name", "arn:{partition}:s3:::{name}", lowercase=True
    ),
    "AWS::SNS::Topic": NameModel(
        "TopicName", 256, "arn", "arn:{partition}:sns:{region}:{account}:{name}"
    ),
    "AWS::SQS::Queue": NameModel(
        "QueueName", 80, "url", "arn:{partition}:sqs:{region}:{account}:{name}"
    ),
    "AWS::Lambda::Function": NameModel(
        "FunctionName", 64, "name", "arn:{partition}:lambda:{region}:{account}:function:{name}"
    ),
    "AWS::DynamoDB::Table": NameModel(
        "TableName", 255, "name", "arn:{partition}:dynamodb:{region}:{account}:table/{name}"
    ),
    "AWS::Logs::LogGroup": NameModel(
        "LogGroupName", 512, "name", "arn:{partition}:logs:{region}:{account}:log-group:{name}:*"
    ),
    "AWS::Events::Rule": NameModel(
        "Name", 64, "name", "arn:{partition}:events:{region}:{account}:rule/{name}"
    ),
    "AWS::CloudTrail::Trail": NameModel(
        "TrailName", 128, "name", "arn:{partition}:cloudtrail:{region}:{account}:trail/{name}"
    ),
    "AWS::SSM::Parameter": NameModel(
        "Name", 1011, "name", "arn:{partition}:ssm:{region}:{account}:parameter/{name}"
    ),
    "AWS::CloudWatch::Alarm": NameModel(
        "AlarmName", 255, "name", "arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}"
    ),
    "AWS::CloudWatch::Dashboard": NameModel("DashboardName", 255, "name", None),
    "AWS::EC2::VPC": NameModel(None, 21, "id", None, id_length=21),
    "AWS::EC2::Subnet": NameModel(None, 24, "id", None, id_length=24),
    "AWS::EC2::SecurityGroup": NameModel(None, 20, "id", None, id_length=20),
    "AWS::EC2::RouteTable": NameModel(None, 21, "id", None, id_length=21),
    "AWS::EC2::VPCEndpoint": NameModel(None, 22, "id", None, id_length=22),
    "AWS::SageMaker::ModelPackageGroup": _sagemaker("model-package-group", "ModelPackageGroupName"),
    "AWS::SageMaker::ModelCard": _sagemaker("model-card", "ModelCardName"),
    "AWS::SageMaker::Model": _sagemaker("model", "ModelName"),
    "AWS::SageMaker::EndpointConfig": _sagemaker("endpoint-config", "EndpointConfigName"),
    "AWS::SageMaker::Endpoint": _sagemaker("endpoint", "EndpointName"),
    "AWS::SageMaker::MonitoringSchedule": _sagemaker(
        "monitoring-schedule", "MonitoringScheduleName"
    ),
    "AWS::SageMaker::DataQualityJobDefinition": _sagemaker(
        "data-quality-job-definition", "JobDefinitionName"
    ),
    "AWS::SageMaker::ModelQualityJobDefinition": _sagemaker(
        "model-quality-job-definition", "JobDefinitionName"
    ),
    "AWS::SageMaker::ModelBiasJobDefinition": _sagemaker(
        "model-bias-job-definition", "JobDefinitionName"
    ),
    "AWS::SageMaker::ModelExplainabilityJobDefinition": _sagemaker(
        "model-explainability-job-definition", "JobDefinitionName"
    ),
}


@dataclass(frozen=True)
class StackTemplate:
    """One synthesized stack: its name, template file and environment (when concrete)."""

    name: str
    path: Path
    template: Mapping[str, Any]
    account: str | None = None
    region: str | None = None

    @classmethod
    def load(
        cls, path: str | Path, *, account: str | None = None, region: str | None = None
    ) -> StackTemplate:
        file = Path(path)
        return cls(
            name=file.name.removesuffix(".template.json"),
            path=file,
            template=json.loads(file.read_text(encoding="utf-8")),
            account=account if account and account.isdigit() else None,
            region=region if region and not region.startswith("${") else None,
        )

    @property
    def resources(self) -> Mapping[str, Mapping[str, Any]]:
        resources: Mapping[str, Mapping[str, Any]] = self.template.get("Resources", {})
        return resources

    @cached_property
    def models(self) -> frozenset[str]:
        """The governed models of this stack (values of their resources' model tag)."""
        return frozenset(
            str(tag.get("Value"))
            for resource in self.resources.values()
            for tag in resource.get("Properties", {}).get("Tags", []) or []
            if isinstance(tag, dict) and tag.get("Key") == tags.MODEL
        )

    @property
    def environment(self) -> tuple[str, str]:
        return (self.account or "unknown-account", self.region or "unknown-region")


class Resolver(Evaluator[StackTemplate]):
    """Resolve CloudFormation intrinsics to worst-case values (see ``WorstCase``): the
    functions are :mod:`cdk_constructs.intrinsics`'s; unknown values are ``"U" * n``,
    ``Fn::If`` and ``Fn::FindInMap`` pick their longest candidate."""

    def __init__(self, stacks: Iterable[StackTemplate], worst: WorstCase = WORST_CASE) -> None:
        super().__init__(WorstCaseLength(worst.unknown_length))
        self.stacks = {stack.name: stack for stack in stacks}
        self.worst = worst
        self._exports: dict[str, tuple[StackTemplate, Any]] = {}
        for stack in self.stacks.values():
            for output in stack.template.get("Outputs", {}).values():
                export = output.get("Export", {}).get("Name")
                if isinstance(export, str):
                    self._exports[export] = (stack, output.get("Value"))

    # -- names ------------------------------------------------------------------------------

    def unknown_text(self) -> str:
        return "U" * self.worst.unknown_length

    def pseudo(self, name: str, stack: StackTemplate) -> Any:
        w = self.worst
        values: dict[str, Any] = {
            "AWS::Partition": w.partition,
            "AWS::Region": w.region,
            "AWS::AccountId": w.account,
            "AWS::URLSuffix": w.dns_suffix,
            "AWS::StackName": stack.name,
            "AWS::StackId": f"arn:{w.partition}:cloudformation:{w.region}:{w.account}:stack/"
            f"{stack.name}/{'0' * 36}",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        if name not in values:
            raise KeyError(name)
        return values[name]

    def physical_name(self, stack: StackTemplate, logical_id: str) -> str:
        resource = stack.resources[logical_id]
        model = NAME_MODELS.get(resource.get("Type", ""))
        if model is None:
            return self.unknown_text()
        if model.id_length:
            return "i" * model.id_length
        explicit = (
            resource.get("Properties", {}).get(model.name_property) if model.name_property else None
        )
        if explicit is not None:
            resolved = self.resolve(explicit, stack)
            if isinstance(resolved, str):
                return resolved
        generated = f"{stack.name}-{logical_id}-{'x' * self.worst.generated_suffix}"
        name = generated[: model.max_length]
        return name.lower() if model.lowercase else name

    def arn(self, stack: StackTemplate, logical_id: str) -> str:
        model = NAME_MODELS.get(stack.resources[logical_id].get("Type", ""))
        if model is None or model.arn is None:
            return self.unknown_text()
        return model.arn.format(
            partition=self.worst.partition,
            region=stack.region or self.worst.region,
            account=stack.account or self.worst.account,
            name=self.physical_name(stack, logical_id),
        )

    def ref(self, stack: StackTemplate, logical_id: str) -> Any:
        if logical_id not in stack.resources:
            parameter = stack.template.get("Parameters", {}).get(logical_id)
            if parameter is not None:
                return parameter.get("Default", self.unknown_text())
            return self.pseudo(logical_id, stack)
        model = NAME_MODELS.get(stack.resources[logical_id].get("Type", ""))
        if model is None:
            return self.unknown_text()
        if model.ref == "arn":
            return self.arn(stack, logical_id)
        if model.ref == "url":
            region = stack.region or self.worst.region
            account = stack.account or self.worst.account
            return (
                f"https://sqs.{region}.{self.worst.dns_suffix}/{account}/"
                f"{self.physical_name(stack, logical_id)}"
            )
        return self.physical_name(stack, logical_id)

    def get_att(self, stack: StackTemplate, logical_id: str, attribute: str) -> Any:
        if logical_id not in stack.resources:
            return self.unknown_text()
        if attribute == "Arn" or attribute.endswith("Arn"):
            return self.arn(stack, logical_id)
        if attribute in {"GroupId", "KeyId", "Id", "RouteTableId"}:
            model = NAME_MODELS.get(stack.resources[logical_id].get("Type", ""))
            return "i" * (model.id_length if model and model.id_length else 24)
        if attribute == "QueueUrl":
            return self.ref(stack, logical_id)
        if attribute.endswith("Name"):
            return self.physical_name(stack, logical_id)
        return self.unknown_text()

    # -- intrinsics -------------------------------------------------------------------------

    def resolve(self, value: Any, stack: StackTemplate) -> Any:
        return self.evaluate(stack, value)

    def describe(self, scope: StackTemplate) -> str:
        return f"stack {scope.name}"

    def reference(self, scope: StackTemplate, name: Any, value: Any, depth: int) -> Any:
        try:
            return self.ref(scope, name)
        except (KeyError, TypeError):
            return self.unknown(scope, f"Ref to {name}", value, depth)

    def attribute(
        self, scope: StackTemplate, logical_id: str, attribute: Any, value: Any, depth: int
    ) -> Any:
        return self.get_att(scope, logical_id, str(attribute))

    def zones(self, scope: StackTemplate, region: Any) -> list[str]:
        return [f"{self.worst.region}a", f"{self.worst.region}b"]

    def choose(self, scope: StackTemplate, argument: Any, depth: int) -> Any:
        _, when_true, when_false = argument
        options = [self.evaluate(scope, when_true, depth), self.evaluate(scope, when_false, depth)]
        return max(options, key=lambda o: len(text_of(o)))

    def find_in_map(self, scope: StackTemplate, keys: list[Any], value: Any, depth: int) -> Any:
        """The value for the keys when they resolve; else the longest value they could pick."""
        name, top, second = keys
        mapping = scope.template.get("Mappings", {}).get(name, {})
        levels = [mapping[top]] if isinstance(top, str) and top in mapping else mapping.values()
        values: list[Any] = []
        for level in levels:
            if not isinstance(level, dict):
                continue
            if isinstance(second, str) and second in level:
                values.append(level[second])
            else:
                values.extend(level.values())
        if not values:
            return self.unknown(scope, f"Fn::FindInMap {name}", value, depth)
        return max(values, key=lambda v: len(text_of(v)))

    def stack_output(
        self, scope: StackTemplate, argument: Mapping[str, Any]
    ) -> Found[StackTemplate]:
        producer = self.stacks.get(str(argument.get("StackName")))
        if producer is None:
            return f"stack {argument.get('StackName')} is not in the assembly"
        output = producer.template.get("Outputs", {}).get(str(argument.get("OutputName")))
        if output is None:
            return f"no output {argument.get('OutputName')}"
        return producer, output.get("Value")

    def export(self, scope: StackTemplate, name: Any) -> Found[StackTemplate]:
        if isinstance(name, str) and name in self._exports:
            return self._exports[name]
        return f"no stack exports {name!r}"

    # -- references -------------------------------------------------------------------------

    def references(self, value: Any, stack: StackTemplate) -> set[tuple[str, str]]:
        """Every resource (stack, logical id) that ``value`` points at, across stacks."""
        found: set[tuple[str, str]] = set()
        self._collect(value, stack, found)
        return found

    def _collect(self, value: Any, stack: StackTemplate, found: set[tuple[str, str]]) -> None:
        if isinstance(value, list):
            for item in value:
                self._collect(item, stack, found)
            return
        if not isinstance(value, dict):
            return
        if "Ref" in value and isinstance(value["Ref"], str) and value["Ref"] in stack.resources:
            found.add((stack.name, value["Ref"]))
            return
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            logical_id = target[0] if isinstance(target, list) else str(target).split(".")[0]
            if logical_id in stack.resources:
                found.add((stack.name, logical_id))
            return
        if "Fn::GetStackOutput" in value:
            output = self.stack_output(stack, value["Fn::GetStackOutput"])
            if not isinstance(output, str):
                self._collect(output[1], output[0], found)
            return
        for item in value.values():
            self._collect(item, stack, found)


def _size(document: Any, unit: str = "characters") -> int:
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode("utf-8")) if unit == "bytes" else len(text)


@dataclass(frozen=True)
class Measurement:
    """One measured value against one limit; ``message`` says what to change when it is over."""

    limit: Limit
    value: int
    allowed: int
    stack: StackTemplate
    subject: str
    logical_id: str | None = None

    @property
    def breach(self) -> bool:
        return self.value > self.allowed

    @property
    def construct_path(self) -> str | None:
        if self.logical_id is None:
            return None
        path = self.stack.resources[self.logical_id].get("Metadata", {}).get("aws:cdk:path")
        return str(path) if path else None

    @property
    def model(self) -> str | None:
        """The governed model the resource belongs to (its tag, else its construct path)."""
        if self.logical_id is None:
            return None
        resource = self.stack.resources[self.logical_id]
        for tag in resource.get("Properties", {}).get("Tags", []) or []:
            if isinstance(tag, dict) and tag.get("Key") == tags.MODEL:
                return str(tag.get("Value"))
        parts = (self.construct_path or "").split("/")
        return parts[1] if len(parts) > 2 and parts[1] in self.stack.models else None

    @property
    def message(self) -> str:
        where = f"stack {self.stack.name}"
        if self.logical_id is not None:
            where += f", {self.construct_path or self.logical_id}"
        model = f" (model {self.model})" if self.model else ""
        unit = "" if self.limit.unit is Unit.COUNT else f" {self.limit.unit.value}"
        return (
            f"{where}{model}: {self.subject} is {self.value:,}{unit}, over the limit of "
            f"{self.allowed:,}{unit} ({self.limit.title}; {self.limit.source}). {self.limit.fix}"
        )


Roles = dict[tuple[str, str], set[Any]]


class _Measure:
    """One pass over every template; cross-stack counts are kept until the end."""

    def __init__(self, stacks: Sequence[StackTemplate], quotas: Quotas, worst: WorstCase) -> None:
        self.stacks = stacks
        self.quotas = quotas
        self.resolver = Resolver(stacks, worst)
        self.results: list[Measurement] = []
        self.inline: dict[tuple[str, str], int] = defaultdict(int)
        self.attached: Roles = defaultdict(set)
        self.permissions: dict[tuple[str, str], list[tuple[StackTemplate, str]]] = defaultdict(list)
        self.rules: dict[tuple[str, str], list[tuple[StackTemplate, str]]] = defaultdict(list)

    def add(
        self,
        key: str,
        value: int,
        *,
        stack: StackTemplate,
        subject: str,
        logical_id: str | None = None,
    ) -> None:
        self.results.append(
            Measurement(LIMITS[key], value, self.quotas.value(key), stack, subject, logical_id)
        )

    def run(self) -> list[Measurement]:
        handlers = {
            "AWS::IAM::ManagedPolicy": self._managed_policy,
            "AWS::IAM::Policy": self._inline_policy,
            "AWS::IAM::Role": self._role,
            "AWS::KMS::Key": self._key,
            "AWS::S3::BucketPolicy": self._bucket_policy,
            "AWS::SNS::TopicPolicy": self._topic_policy,
            "AWS::SQS::QueuePolicy": self._queue_policy,
            "AWS::SageMaker::ModelPackageGroup": self._group,
            "AWS::Lambda::Permission": self._permission,
            "AWS::SSM::Parameter": self._parameter,
            "AWS::Events::Rule": self._rule,
            "AWS::CloudWatch::Dashboard": self._dashboard,
        }
        for stack in self.stacks:
            self._stack(stack)
            for logical_id, resource in stack.resources.items():
                handler = handlers.get(resource.get("Type", ""))
                if handler is not None:
                    handler(stack, logical_id, resource.get("Properties", {}) or {})
        self._per_role()
        self._per_function()
        self._per_bus()
        return self.results

    # -- per stack --------------------------------------------------------------------------

    def _stack(self, stack: StackTemplate) -> None:
        template = stack.template
        for key, value, subject in (
            ("cloudformation.resources", len(stack.resources), "the resource count"),
            ("cloudformation.outputs", len(template.get("Outputs", {})), "the output count"),
            (
                "cloudformation.parameters",
                len(template.get("Parameters", {})),
                "the parameter count",
            ),
            ("cloudformation.mappings", len(template.get("Mappings", {})), "the mapping count"),
            ("cloudformation.template-size", stack.path.stat().st_size, "the template file"),
        ):
            self.add(key, value, stack=stack, subject=subject)

    # -- documents --------------------------------------------------------------------------

    def _document(
        self, key: str, stack: StackTemplate, logical_id: str, document: Any, subject: str
    ) -> None:
        if document is None:
            return
        unit = "bytes" if LIMITS[key].unit.value == "bytes" else "characters"
        size = _size(self.resolver.resolve(document, stack), unit)
        self.add(key, size, stack=stack, subject=subject, logical_id=logical_id)

    def _statements(self, key: str, stack: StackTemplate, logical_id: str, document: Any) -> None:
        statements = (document or {}).get("Statement", [])
        count = len(statements) if isinstance(statements, list) else 1
        self.add(key, count, stack=stack, subject="the statement count", logical_id=logical_id)

    def _managed_policy(
        self, stack: StackTemplate, logical_id: str, props: Mapping[str, Any]
    ) -> None:
        self._document(
            "iam.managed-policy-size", stack, logical_id, props.get("PolicyDocument"), "the policy"
        )
        for role in self._roles(props.get("Roles", []), stack):
            self.attached[role].add((stack.name, logical_id))

    def _inline_policy(
        self, stack: StackTemplate, logical_id: str, props: Mapping[str, Any]
    ) -> None:
        size = _size(self.resolver.resolve(props.get("PolicyDocument"), stack))
        for role in self._roles(props.get("Roles", []), stack):
            self.inline[role] += size

    def _key(self, stack: StackTemplate, logical_id: str, props: Mapping[str, Any]) -> None:
        self._document(
            "kms.key-policy-size", stack, logical_id, props.get("KeyPolicy"), "the key policy"
        )

    def _bucket_policy(
        self, stack: StackTemplate, logical_id: str, props: Mapping[str, Any]
    ) -> None:
        document = props.get("PolicyDocument")
        self._document("s3.bucket-policy-size", stack, logical_id, document, "the bucket policy")

    def _topic_policy(
        self, stack: StackTemplate, logical_id: str, props: Mapping[str, Any]
    ) -> None:
        document = props.get("PolicyDocument")
        self._document("sns.topic-policy-size", stack, logical_id, document, "the topic policy")
        self._statements("sns.topic-policy-statements", stack, logical_id, document)

    def _queue_policy(
        self, stack: StackTemplate, logical_id: str, props: Mapping[str, Any]
    ) -> None:
        document = props.get("PolicyDocument")
        self._document("sqs.queue-policy-size", stack, logical_id, document, "the queue policy")
        self._statements("sqs.queue-policy-statements", stack, logical_id, document)

    def _group(self, stack: StackTemplate, logical_id: str, props: Mapping[str, Any]) -> None:
        document = props.get("ModelPackageGroupPolicy")
        key = "sagemaker.model-package-group-policy-size"
        self._document(key, stack, logical_id, document, "the group's resource policy")

    def _parameter(self, stack: StackTemplate, logical_id: str, props: Mapping[str, Any]) -> None:
        if props.get("Tier", "Standard") != "Standard":
            return
        value = text_of(self.resolver.resolve(props.get("Value", ""), stack))
        self.add(
            "ssm.standard-parameter-value",
            len(value),
            stack=stack,
            subject="the parameter value",
            logical_id=logical_id,
        )

    # -- roles ------------------------------------------------------------------------------

    def _targets(self, value: Any, stack: StackTemplate, cfn_type: str) -> list[tuple[str, str]]:
        found = self.resolver.references(value, stack)
        return sorted(
            (s, r) for s, r in found if self.resolver.stacks[s].resources[r].get("Type") == cfn_type
        )

    def _roles(self, values: Any, stack: StackTemplate) -> list[tuple[str, str]]:
        roles: list[tuple[str, str]] = []
        for value in values if isinstance(values, list) else [values]:
            roles += self._targets(value, stack, "AWS::IAM::Role")
        return roles

    def _role(self, stack: StackTemplate, logical_id: str, props: Mapping[str, Any]) -> None:
        key = (stack.name, logical_id)
        trust = props.get("AssumeRolePolicyDocument")
        self._document("iam.role-trust-policy-size", stack, logical_id, trust, "the trust policy")
        self.inline[key] += sum(
            _size(self.resolver.resolve(policy.get("PolicyDocument"), stack))
            for policy in props.get("Policies", []) or []
        )
        for arn in props.get("ManagedPolicyArns", []) or []:
            targets = self._targets(arn, stack, "AWS::IAM::ManagedPolicy")
            self.attached[key].update(targets or [json.dumps(arn, sort_keys=True)])
        self.attached.setdefault(key, set())

    def _per_role(self) -> None:
        for role, policies in self.attached.items():
            self.add(
                "iam.managed-policies-per-role",
                len(policies),
                stack=self.resolver.stacks[role[0]],
                subject="the number of managed policies attached to the role (all stacks)",
                logical_id=role[1],
            )
        for role, size in self.inline.items():
            self.add(
                "iam.role-inline-policies-size",
                size,
                stack=self.resolver.stacks[role[0]],
                subject="the role's inline policies together (all stacks)",
                logical_id=role[1],
            )

    # -- functions, rules, dashboards -------------------------------------------------------

    def _permission(self, stack: StackTemplate, logical_id: str, props: Mapping[str, Any]) -> None:
        for function in self._targets(props.get("FunctionName"), stack, "AWS::Lambda::Function"):
            self.permissions[function].append((stack, logical_id))

    def _statement(
        self, stack: StackTemplate, logical_id: str, function_arn: str
    ) -> dict[str, Any]:
        """The statement Lambda adds to the function's policy for one permission."""
        props = stack.resources[logical_id].get("Properties", {})
        resolve = self.resolver.resolve
        statement: dict[str, Any] = {
            "Sid": f"{stack.name}-{logical_id}"[:100],
            "Effect": "Allow",
            "Principal": {"Service": resolve(props.get("Principal"), stack)},
            "Action": resolve(props.get("Action"), stack),
            "Resource": function_arn,
        }
        conditions: dict[str, Any] = {}
        if "SourceArn" in props:
            conditions["ArnLike"] = {"AWS:SourceArn": resolve(props["SourceArn"], stack)}
        if "SourceAccount" in props:
            conditions["StringEquals"] = {
                "AWS:SourceAccount": resolve(props["SourceAccount"], stack)
            }
        if conditions:
            statement["Condition"] = conditions
        return statement

    def _per_function(self) -> None:
        for function, entries in self.permissions.items():
            owner = self.resolver.stacks[function[0]]
            arn = self.resolver.arn(owner, function[1])
            document = {
                "Version": "2012-10-17",
                "Id": "default",
                "Statement": [self._statement(stack, pid, arn) for stack, pid in entries],
            }
            self.add(
                "lambda.function-policy-size",
                _size(document, "bytes"),
                stack=owner,
                subject="the function's resource-based policy (a statement per permission, all "
                "stacks)",
                logical_id=function[1],
            )

    def _rule(self, stack: StackTemplate, logical_id: str, props: Mapping[str, Any]) -> None:
        pattern = props.get("EventPattern")
        if pattern is not None:
            resolved = self.resolver.resolve(pattern, stack)
            size = len(resolved) if isinstance(resolved, str) else _size(resolved)
            self.add(
                "events.event-pattern-size",
                size,
                stack=stack,
                subject="the event pattern",
                logical_id=logical_id,
            )
        if props.get("EventBusName") in (None, "default"):
            self.rules[stack.environment].append((stack, logical_id))

    def _per_bus(self) -> None:
        for (account, region), found in self.rules.items():
            # Reported on the last rule: the one whose creation would fail.
            stack, logical_id = found[-1]
            self.add(
                "events.rules-per-bus",
                len(found),
                stack=stack,
                subject=f"the number of rules on the default event bus of {account}/{region} "
                "(all stacks)",
                logical_id=logical_id,
            )

    def _dashboard(self, stack: StackTemplate, logical_id: str, props: Mapping[str, Any]) -> None:
        body = self.resolver.resolve(props.get("DashboardBody", "{}"), stack)
        try:
            parsed = json.loads(body) if isinstance(body, str) else body
        except json.JSONDecodeError:
            parsed = {}
        widgets = parsed.get("widgets", []) if isinstance(parsed, dict) else []
        metrics = [
            len(w.get("properties", {}).get("metrics", []) or [])
            for w in widgets
            if isinstance(w, dict)
        ]
        for key, value, subject in (
            ("cloudwatch.widgets-per-dashboard", len(widgets), "the widget count"),
            (
                "cloudwatch.metrics-per-widget",
                max(metrics, default=0),
                "the largest widget's metric count",
            ),
            ("cloudwatch.metrics-per-dashboard", sum(metrics), "the dashboard's metric count"),
        ):
            self.add(key, value, stack=stack, subject=subject, logical_id=logical_id)


def measure(
    stacks: Sequence[StackTemplate], quotas: Quotas | None = None, worst: WorstCase = WORST_CASE
) -> list[Measurement]:
    """Every limit of :data:`LIMITS` that applies, measured on ``stacks``."""
    return _Measure(stacks, quotas or Quotas(), worst).run()


def breaches(measurements: Iterable[Measurement]) -> Iterator[Measurement]:
    return (m for m in measurements if m.breach)


def load_assembly(outdir: str | Path) -> list[StackTemplate]:
    """The stacks of a cloud assembly folder (``cdk.out``), with their environments."""
    folder = Path(outdir)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    stacks = []
    for artifact in manifest.get("artifacts", {}).values():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        environment = str(artifact.get("environment", "")).removeprefix("aws://")
        account, _, region = environment.partition("/")
        template = folder / artifact["properties"]["templateFile"]
        stacks.append(StackTemplate.load(template, account=account, region=region))
    return stacks


@jsii.implements(cdk.IPolicyValidationPlugin)
class LimitsChecks:
    """The limits of :mod:`cdk_constructs.limits` as a CDK validation plugin.

    Every breach is one error finding (rule name = the limit's key) whose description names the
    stack, the resource, the model when there is one, the limit, the measured value and what to
    change. ``quotas`` are the raised values of adjustable quotas (default: AWS's defaults).
    """

    def __init__(self, *, quotas: Quotas | None = None) -> None:
        self.quotas = quotas or Quotas()

    @property
    def name(self) -> str:
        return PLUGIN_NAME

    @property
    def version(self) -> str:
        return PLUGIN_VERSION

    @property
    def rule_ids(self) -> list[str]:
        return list(LIMITS)

    def validate(self, context: cdk.IPolicyValidationContext) -> cdk.PolicyValidationPluginReport:
        stacks = [
            StackTemplate.load(s.template_path, account=s.account_id, region=s.region)
            for s in context.stack_templates
        ]
        found = list(breaches(measure(stacks, self.quotas)))
        violations = [
            cdk.PolicyViolation(
                rule_name=m.limit.key,
                description=m.message,
                fix=m.limit.fix,
                severity="error",
                rule_metadata={"limit": str(m.allowed), "measured": str(m.value)},
                violating_resources=[
                    cdk.PolicyViolatingResource(
                        resource_logical_id=m.logical_id,
                        template_path=str(m.stack.path),
                        locations=[f"Resources/{m.logical_id}" if m.logical_id else "Resources"],
                    )
                ],
            )
            for m in found
        ]
        return cdk.PolicyValidationPluginReport(
            success=not violations, violations=violations, plugin_version=PLUGIN_VERSION
        )

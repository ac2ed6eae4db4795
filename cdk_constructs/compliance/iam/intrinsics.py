"""Give CloudFormation intrinsics in a synthesized template the values they would have deployed.

``Resolver(assembly).resolve(stack_name, value)`` returns ``value`` with every intrinsic
replaced by a realistic string. The functions are evaluated by the app's one evaluator
(:mod:`cdk_constructs.intrinsics`); this module says what it alone knows: ``Ref``/``Fn::GetAtt``
of a resource become the name, ARN, URL or id CloudFormation would return for that type
(generated the way CloudFormation generates physical names when the template sets none),
pseudo parameters come from the stack's environment, conditions decide ``Fn::If``, and
``Fn::GetStackOutput``/``Fn::ImportValue`` resolve to the producing stack's ``Outputs`` value.

The values are deterministic (a physical name is a hash of stack and logical id), so the same
resource resolves to the same ARN wherever it is referenced, in whichever stack: a key policy
naming a role by ``Fn::GetAtt`` and a policy attached to that role by ``Ref`` agree.

Sources: CloudFormation User Guide, "Intrinsic function reference" and "Pseudo parameters
reference"; each resource type's "Return values" section for what ``Ref`` and ``Fn::GetAtt``
return; "Name type" for how CloudFormation generates names.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cdk_constructs.compliance.iam.assembly import CloudAssembly, StackTemplate
from cdk_constructs.compliance.iam.errors import UnresolvableIntrinsic
from cdk_constructs.intrinsics import NO_VALUE, Evaluator, Found, Placeholder, Strict
from cdk_constructs.partitions import url_suffix_of

_MAX_DEPTH = 50


@dataclass(frozen=True)
class _Physical:
    """How a resource type names itself: the name property, Ref and GetAtt values."""

    #: Property that sets the physical name; ``None`` when the type takes no name.
    name_property: str | None
    #: What ``Ref`` returns, as a template over {p} {r} {a} {name} {url}.
    ref: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    max_length: int = 64
    lowercase: bool = False
    #: Generated ids look like ``<prefix><17 hex digits>`` (EC2) or a UUID (KMS).
    id_prefix: str | None = None
    uuid_name: bool = False


_SM = "arn:{p}:sagemaker:{r}:{a}"


def _job_definition(kind: str) -> _Physical:
    return _Physical(
        "JobDefinitionName",
        f"{_SM}:{kind}-job-definition/{{lname}}",
        {"JobDefinitionArn": f"{_SM}:{kind}-job-definition/{{lname}}"},
        max_length=63,
    )


_TYPES: Mapping[str, _Physical] = {
    "AWS::IAM::Role": _Physical(
        "RoleName",
        "{name}",
        {"Arn": "arn:{p}:iam::{a}:role{path}{name}", "RoleId": "AROA{hash}"},
    ),
    "AWS::IAM::ManagedPolicy": _Physical(
        "ManagedPolicyName",
        "arn:{p}:iam::{a}:policy{path}{name}",
        {"PolicyArn": "arn:{p}:iam::{a}:policy{path}{name}", "PolicyId": "ANPA{hash}"},
        max_length=128,
    ),
    "AWS::IAM::Policy": _Physical("PolicyName", "{name}", {"Id": "{name}"}, max_length=128),
    "AWS::KMS::Key": _Physical(
        None,
        "{name}",
        {"Arn": "arn:{p}:kms:{r}:{a}:key/{name}", "KeyId": "{name}"},
        uuid_name=True,
    ),
    "AWS::KMS::Alias": _Physical("AliasName", "{name}", max_length=256),
    "AWS::S3::Bucket": _Physical(
        "BucketName",
        "{name}",
        {
            "Arn": "arn:{p}:s3:::{name}",
            "DomainName": "{name}.s3.{url}",
            "RegionalDomainName": "{name}.s3.{r}.{url}",
            "DualStackDomainName": "{name}.s3.dualstack.{r}.{url}",
            "WebsiteURL": "http://{name}.s3-website-{r}.{url}",
        },
        max_length=63,
        lowercase=True,
    ),
    "AWS::SNS::Topic": _Physical(
        "TopicName",
        "arn:{p}:sns:{r}:{a}:{name}",
        {"TopicArn": "arn:{p}:sns:{r}:{a}:{name}", "TopicName": "{name}"},
        max_length=256,
    ),
    "AWS::SQS::Queue": _Physical(
        "QueueName",
        "https://sqs.{r}.{url}/{a}/{name}",
        {
            "Arn": "arn:{p}:sqs:{r}:{a}:{name}",
            "QueueName": "{name}",
            "QueueUrl": "https://sqs.{r}.{url}/{a}/{name}",
        },
        max_length=80,
    ),
    "AWS::DynamoDB::Table": _Physical(
        "TableName",
        "{name}",
        {
            "Arn": "arn:{p}:dynamodb:{r}:{a}:table/{name}",
            "StreamArn": "arn:{p}:dynamodb:{r}:{a}:table/{name}/stream/2024-01-01T00:00:00.000",
        },
        max_length=255,
    ),
    "AWS::Lambda::Function": _Physical(
        "FunctionName", "{name}", {"Arn": "arn:{p}:lambda:{r}:{a}:function:{name}"}
    ),
    "AWS::Logs::LogGroup": _Physical(
        "LogGroupName",
        "{name}",
        # CloudFormation's LogGroup Arn ends in ":*" (LogGroup "Return values").
        {"Arn": "arn:{p}:logs:{r}:{a}:log-group:{name}:*"},
        max_length=512,
    ),
    "AWS::Events::Rule": _Physical("Name", "{name}", {"Arn": "arn:{p}:events:{r}:{a}:rule/{name}"}),
    "AWS::SSM::Parameter": _Physical(
        "Name", "{name}", {"Arn": "arn:{p}:ssm:{r}:{a}:parameter{slashname}"}, max_length=1011
    ),
    "AWS::CloudTrail::Trail": _Physical(
        "TrailName", "{name}", {"Arn": "arn:{p}:cloudtrail:{r}:{a}:trail/{name}"}, max_length=128
    ),
    "AWS::CloudWatch::Alarm": _Physical(
        "AlarmName", "{name}", {"Arn": "arn:{p}:cloudwatch:{r}:{a}:alarm:{name}"}, max_length=255
    ),
    "AWS::CloudWatch::Dashboard": _Physical("DashboardName", "{name}", max_length=255),
    "AWS::SageMaker::ModelPackageGroup": _Physical(
        "ModelPackageGroupName",
        f"{_SM}:model-package-group/{{lname}}",
        {"ModelPackageGroupArn": f"{_SM}:model-package-group/{{lname}}"},
        max_length=63,
    ),
    "AWS::SageMaker::ModelCard": _Physical(
        "ModelCardName",
        "{name}",
        {"ModelCardArn": f"{_SM}:model-card/{{lname}}", "ModelCardVersion": "1"},
        max_length=63,
    ),
    "AWS::SageMaker::Model": _Physical(
        "ModelName",
        f"{_SM}:model/{{lname}}",
        {"ModelName": "{name}", "ModelArn": f"{_SM}:model/{{lname}}"},
        max_length=63,
    ),
    "AWS::SageMaker::EndpointConfig": _Physical(
        "EndpointConfigName",
        f"{_SM}:endpoint-config/{{lname}}",
        {"EndpointConfigName": "{name}", "EndpointConfigArn": f"{_SM}:endpoint-config/{{lname}}"},
        max_length=63,
    ),
    "AWS::SageMaker::Endpoint": _Physical(
        "EndpointName",
        f"{_SM}:endpoint/{{lname}}",
        {"EndpointName": "{name}", "EndpointArn": f"{_SM}:endpoint/{{lname}}"},
        max_length=63,
    ),
    "AWS::SageMaker::MonitoringSchedule": _Physical(
        "MonitoringScheduleName",
        f"{_SM}:monitoring-schedule/{{lname}}",
        {"MonitoringScheduleArn": f"{_SM}:monitoring-schedule/{{lname}}"},
        max_length=63,
    ),
    "AWS::SageMaker::DataQualityJobDefinition": _job_definition("data-quality"),
    "AWS::SageMaker::ModelQualityJobDefinition": _job_definition("model-quality"),
    "AWS::SageMaker::ModelBiasJobDefinition": _job_definition("model-bias"),
    "AWS::SageMaker::ModelExplainabilityJobDefinition": _job_definition("model-explainability"),
    "AWS::EC2::VPC": _Physical(
        None,
        "{name}",
        {"VpcId": "{name}", "DefaultSecurityGroup": "sg-{hex}", "CidrBlock": "{cidr}"},
        id_prefix="vpc-",
    ),
    "AWS::EC2::Subnet": _Physical(
        None, "{name}", {"SubnetId": "{name}", "AvailabilityZone": "{r}a"}, id_prefix="subnet-"
    ),
    "AWS::EC2::SecurityGroup": _Physical(
        None, "{name}", {"GroupId": "{name}", "Id": "{name}"}, id_prefix="sg-"
    ),
    "AWS::EC2::RouteTable": _Physical(None, "{name}", {"RouteTableId": "{name}"}, id_prefix="rtb-"),
    "AWS::EC2::VPCEndpoint": _Physical(None, "{name}", {"Id": "{name}"}, id_prefix="vpce-"),
    "AWS::EC2::FlowLog": _Physical(None, "{name}", {"Id": "{name}"}, id_prefix="fl-"),
}

_CUSTOM_RESOURCE = "AWS::CloudFormation::CustomResource"


@dataclass(frozen=True)
class ResolvedResource:
    """A resource's identity as deployed: ``Ref`` value and ``Fn::GetAtt`` attributes."""

    stack: str
    logical_id: str
    type: str
    name: str
    ref: str
    attributes: Mapping[str, str]

    @property
    def arn(self) -> str | None:
        """The resource's ARN, where its type has one (``Arn`` or ``<Type>Arn``)."""
        for key in ("Arn", *sorted(k for k in self.attributes if k.endswith("Arn"))):
            if key in self.attributes:
                return self.attributes[key]
        return self.ref if self.ref.startswith("arn:") else None


class Resolver(Evaluator[StackTemplate]):
    """Resolves intrinsics of the stacks of one cloud assembly (:mod:`cdk_constructs.intrinsics`
    evaluates the functions; this class knows what each resource's ``Ref`` and attributes are).

    :param assembly: the stacks; cross-stack references resolve between them.
    :param strict: raise :class:`UnresolvableIntrinsic` for an attribute or intrinsic this
        module cannot model (default). With ``strict=False`` such values become the string
        ``"<unresolved:...>"`` so a reader of a whole template can go on.
    """

    def __init__(self, assembly: CloudAssembly, *, strict: bool = True) -> None:
        super().__init__(
            Strict(UnresolvableIntrinsic) if strict else Placeholder(), max_depth=_MAX_DEPTH
        )
        self.assembly = assembly
        self.strict = strict
        self._identities: dict[tuple[str, str], ResolvedResource] = {}
        self._conditions: dict[tuple[str, str], bool] = {}

    # -- public API -------------------------------------------------------------------------

    def resolve(self, stack: str, value: Any) -> Any:
        """``value`` (any template fragment of ``stack``) with every intrinsic evaluated."""
        result = self.evaluate(self.assembly.stack(stack), value)
        return None if result is NO_VALUE else result

    def resource(self, stack: str, logical_id: str) -> ResolvedResource:
        """The deployed identity (name, Ref, attributes) of one resource."""
        key = (stack, logical_id)
        if key not in self._identities:
            self._identities[key] = self._identity(self.assembly.stack(stack), logical_id)
        return self._identities[key]

    def is_created(self, stack: str, logical_id: str) -> bool:
        """False when the resource's ``Condition`` evaluates to false."""
        template = self.assembly.stack(stack)
        condition = template.resources[logical_id].get("Condition")
        return condition is None or self.condition(template, condition, 0)

    def resolved_properties(self, stack: str, logical_id: str) -> dict[str, Any]:
        """A resource's ``Properties`` with intrinsics evaluated."""
        template = self.assembly.stack(stack)
        properties = template.resources[logical_id].get("Properties", {})
        resolved: dict[str, Any] = self.evaluate(template, properties)
        return resolved

    # -- what the assembly knows ------------------------------------------------------------

    def describe(self, scope: StackTemplate) -> str:
        return f"stack {scope.name}"

    def too_deep(self, scope: StackTemplate) -> Exception:
        return UnresolvableIntrinsic(f"stack {scope.name}: intrinsics nest too deeply")

    def mappings(self, scope: StackTemplate) -> Mapping[str, Any]:
        mappings: Mapping[str, Any] = scope.template.get("Mappings", {})
        return mappings

    def zones(self, scope: StackTemplate, region: Any) -> list[str]:
        return super().zones(scope, region or scope.region)

    def _pseudo(self, stack: StackTemplate, name: str) -> Any:
        pseudo: dict[str, Any] = {
            "AWS::Partition": stack.partition,
            "AWS::Region": stack.region,
            "AWS::AccountId": stack.account,
            "AWS::StackName": stack.name,
            "AWS::StackId": stack.stack_id,
            "AWS::URLSuffix": url_suffix_of(stack.region),
            "AWS::NoValue": NO_VALUE,
            "AWS::NotificationARNs": [],
        }
        if name not in pseudo:
            raise KeyError(name)
        return pseudo[name]

    def reference(self, scope: StackTemplate, name: Any, value: Any, depth: int) -> Any:  # noqa: PLR0911 - per kind of name
        if not isinstance(name, str):
            return self.unknown(scope, "Ref needs a name", value, depth)
        if name.startswith("AWS::"):
            try:
                return self._pseudo(scope, name)
            except KeyError:
                return self.unknown(scope, f"unknown pseudo parameter {name}", value, depth)
        parameters = scope.template.get("Parameters", {})
        if name in parameters:
            default = parameters[name].get("Default")
            if default is None:
                return self.unknown(scope, f"parameter {name} has no default", value, depth)
            return str(default)
        if name in scope.resources:
            return self.resource(scope.name, name).ref
        return self.unknown(
            scope, f"Ref to {name}, which the template does not declare", value, depth
        )

    def attribute(
        self, scope: StackTemplate, logical_id: str, attribute: Any, value: Any, depth: int
    ) -> Any:
        if logical_id not in scope.resources:
            return self.unknown(scope, f"Fn::GetAtt of undeclared {logical_id}", value, depth)
        identity = self.resource(scope.name, logical_id)
        if attribute in identity.attributes:
            return identity.attributes[attribute]
        if _is_custom(identity.type):
            # A custom resource returns whatever its handler puts in Data: a placeholder that
            # still says where it came from.
            return f"<{logical_id}.{attribute}>"
        return self.unknown(
            scope, f"Fn::GetAtt {logical_id}.{attribute} of {identity.type}", value, depth
        )

    def stack_output(
        self, scope: StackTemplate, argument: Mapping[str, Any]
    ) -> Found[StackTemplate]:
        return self._output(str(argument.get("StackName")), str(argument.get("OutputName")))

    def export(self, scope: StackTemplate, name: Any) -> Found[StackTemplate]:
        for other in self.assembly:
            for output_name, output in other.template.get("Outputs", {}).items():
                exported = output.get("Export", {}).get("Name")
                if exported is not None and self.resolve(other.name, exported) == name:
                    return self._output(other.name, output_name)
        return f"no stack exports {name!r}"

    def _output(self, stack_name: str, output: str) -> Found[StackTemplate]:
        if stack_name not in self.assembly.stacks:
            return f"stack {stack_name} is not in the assembly"
        producer = self.assembly.stack(stack_name)
        outputs = producer.template.get("Outputs", {})
        if output not in outputs:
            return f"stack {stack_name} has no output {output}"
        return producer, outputs[output]["Value"]

    def follow(self, producer: StackTemplate, value: Any, depth: int) -> Any:
        # An output's value is evaluated afresh in its own stack, as CloudFormation does.
        return self.resolve(producer.name, value)

    def condition(self, scope: StackTemplate, condition: Any, depth: int) -> bool:
        if isinstance(condition, str):
            key = (scope.name, condition)
            if key not in self._conditions:
                definition = scope.template.get("Conditions", {}).get(condition)
                if definition is None:
                    raise UnresolvableIntrinsic(
                        f"stack {scope.name}: condition {condition!r} is not declared"
                    )
                self._conditions[key] = self.condition(scope, definition, depth + 1)
            return self._conditions[key]
        ((function, argument),) = condition.items()
        if function == "Condition":
            return self.condition(scope, argument, depth + 1)
        if function == "Fn::Equals":
            left, right = self.evaluate(scope, argument, depth + 1)
            return str(left) == str(right)
        if function == "Fn::Not":
            return not self.condition(scope, argument[0], depth + 1)
        if function == "Fn::And":
            return all(self.condition(scope, item, depth + 1) for item in argument)
        if function == "Fn::Or":
            return any(self.condition(scope, item, depth + 1) for item in argument)
        raise UnresolvableIntrinsic(f"stack {scope.name}: {function} is not a condition function")

    # -- physical identities ----------------------------------------------------------------

    def _identity(self, stack: StackTemplate, logical_id: str) -> ResolvedResource:
        resource = stack.resources.get(logical_id)
        if resource is None:
            raise UnresolvableIntrinsic(f"stack {stack.name}: no resource {logical_id}")
        resource_type = resource["Type"]
        spec = _TYPES.get(resource_type)
        properties = resource.get("Properties", {})
        digest = hashlib.sha256(f"{stack.account}/{stack.name}/{logical_id}".encode()).hexdigest()
        if spec is None:
            name = f"{stack.name}-{logical_id}-{digest[:12].upper()}"
            return ResolvedResource(stack.name, logical_id, resource_type, name, name, {})
        name = self._name(stack, logical_id, spec, properties, digest)
        path = properties.get("Path", "/")
        values = {
            "p": stack.partition,
            "r": stack.region,
            "a": stack.account,
            "url": url_suffix_of(stack.region),
            "name": name,
            "lname": name.lower(),
            "slashname": name if name.startswith("/") else f"/{name}",
            "path": self.evaluate(stack, path) if path else "/",
            "hash": digest[:17].upper(),
            "hex": digest[17:34],
            "cidr": str(self.evaluate(stack, properties.get("CidrBlock", "10.0.0.0/16"))),
        }
        ref = spec.ref.format(**values)
        attributes = {key: template.format(**values) for key, template in spec.attributes.items()}
        return ResolvedResource(stack.name, logical_id, resource_type, name, ref, attributes)

    def _name(
        self,
        stack: StackTemplate,
        logical_id: str,
        spec: _Physical,
        properties: Mapping[str, Any],
        digest: str,
    ) -> str:
        if spec.name_property is not None and spec.name_property in properties:
            return str(self.evaluate(stack, properties[spec.name_property]))
        if spec.uuid_name:
            return str(uuid.UUID(digest[:32]))
        if spec.id_prefix is not None:
            return f"{spec.id_prefix}{digest[:17]}"
        # CloudFormation's generated names: <stack name>-<logical id>-<random suffix>, the first
        # two truncated so the whole fits the type's limit ("Name type", CFN User Guide).
        suffix = digest[:12].upper()
        stem = f"{stack.name}-{logical_id}"[: spec.max_length - len(suffix) - 1]
        name = f"{stem}-{suffix}"
        return name.lower() if spec.lowercase else name


def _is_custom(resource_type: str) -> bool:
    return resource_type.startswith("Custom::") or resource_type == _CUSTOM_RESOURCE

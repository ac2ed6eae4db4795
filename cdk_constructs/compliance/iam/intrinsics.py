"""Give CloudFormation intrinsics in a synthesized template the values they would have deployed.

``Resolver(assembly).resolve(stack_name, value)`` returns ``value`` with every intrinsic
replaced by a realistic string: ``Ref``/``Fn::GetAtt`` of a resource become the name, ARN, URL
or id CloudFormation would return for that type (generated the way CloudFormation generates
physical names when the template sets none), pseudo parameters come from the stack's
environment, and ``Fn::Join``, ``Fn::Sub``, ``Fn::Select``, ``Fn::Split``, ``Fn::GetAZs``,
``Fn::If``, ``Fn::FindInMap``, ``Fn::Base64``, ``Fn::ImportValue`` and CDK 2.275's
``Fn::GetStackOutput`` (resolved to the exporting stack's ``Outputs`` value) are evaluated.

The values are deterministic (a physical name is a hash of stack and logical id), so the same
resource resolves to the same ARN wherever it is referenced, in whichever stack: a key policy
naming a role by ``Fn::GetAtt`` and a policy attached to that role by ``Ref`` agree.

Sources: CloudFormation User Guide, "Intrinsic function reference" and "Pseudo parameters
reference"; each resource type's "Return values" section for what ``Ref`` and ``Fn::GetAtt``
return; "Name type" for how CloudFormation generates names.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cdk_constructs.compliance.iam.assembly import CloudAssembly, StackTemplate
from cdk_constructs.compliance.iam.errors import UnresolvableIntrinsic
from cdk_constructs.partitions import url_suffix_of


class _NoValue:
    """``AWS::NoValue``: the property or list element disappears."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()

_SUB_TOKEN = re.compile(r"\$\{([^}]*)\}")
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


class Resolver:
    """Resolves intrinsics of the stacks of one cloud assembly.

    :param assembly: the stacks; cross-stack references resolve between them.
    :param strict: raise :class:`UnresolvableIntrinsic` for an attribute or intrinsic this
        module cannot model (default). With ``strict=False`` such values become the string
        ``"<unresolved:...>"`` so a reader of a whole template can go on.
    """

    def __init__(self, assembly: CloudAssembly, *, strict: bool = True) -> None:
        self.assembly = assembly
        self.strict = strict
        self._identities: dict[tuple[str, str], ResolvedResource] = {}
        self._conditions: dict[tuple[str, str], bool] = {}

    # -- public API -------------------------------------------------------------------------

    def resolve(self, stack: str, value: Any) -> Any:
        """``value`` (any template fragment of ``stack``) with every intrinsic evaluated."""
        result = self._resolve(self.assembly.stack(stack), value, 0)
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
        return condition is None or self._condition(template, condition, 0)

    def resolved_properties(self, stack: str, logical_id: str) -> dict[str, Any]:
        """A resource's ``Properties`` with intrinsics evaluated."""
        template = self.assembly.stack(stack)
        properties = template.resources[logical_id].get("Properties", {})
        resolved: dict[str, Any] = self._resolve(template, properties, 0)
        return resolved

    # -- evaluation -------------------------------------------------------------------------

    def _resolve(self, stack: StackTemplate, value: Any, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise UnresolvableIntrinsic(f"stack {stack.name}: intrinsics nest too deeply")
        if isinstance(value, list):
            items = [self._resolve(stack, item, depth + 1) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((function, argument),) = value.items()
            handler = _FUNCTIONS.get(function)
            if handler is not None:
                return handler(self, stack, argument, depth + 1)
            if function.startswith("Fn::"):
                return self._unresolvable(stack, f"{function} is not supported", value)
        resolved = {k: self._resolve(stack, v, depth + 1) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _unresolvable(self, stack: StackTemplate, reason: str, value: Any) -> str:
        if self.strict:
            raise UnresolvableIntrinsic(f"stack {stack.name}: {reason} (in {value!r})")
        return f"<unresolved:{reason}>"

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

    def _ref(self, stack: StackTemplate, name: Any, depth: int) -> Any:  # noqa: PLR0911 - per kind of name
        if not isinstance(name, str):
            return self._unresolvable(stack, "Ref needs a name", name)
        if name.startswith("AWS::"):
            try:
                return self._pseudo(stack, name)
            except KeyError:
                return self._unresolvable(stack, f"unknown pseudo parameter {name}", name)
        parameters = stack.template.get("Parameters", {})
        if name in parameters:
            default = parameters[name].get("Default")
            if default is None:
                return self._unresolvable(stack, f"parameter {name} has no default", name)
            return str(default)
        if name in stack.resources:
            return self.resource(stack.name, name).ref
        return self._unresolvable(
            stack, f"Ref to {name}, which the template does not declare", name
        )

    def _get_att(self, stack: StackTemplate, argument: Any, depth: int) -> Any:
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        if not (isinstance(argument, list) and len(argument) == 2):
            return self._unresolvable(stack, "Fn::GetAtt needs [LogicalId, Attribute]", argument)
        logical_id, attribute = argument[0], self._resolve(stack, argument[1], depth)
        if logical_id not in stack.resources:
            return self._unresolvable(stack, f"Fn::GetAtt of undeclared {logical_id}", argument)
        identity = self.resource(stack.name, logical_id)
        if attribute in identity.attributes:
            return identity.attributes[attribute]
        if _is_custom(identity.type):
            # A custom resource returns whatever its handler puts in Data: a placeholder that
            # still says where it came from.
            return f"<{logical_id}.{attribute}>"
        return self._unresolvable(
            stack, f"Fn::GetAtt {logical_id}.{attribute} of {identity.type}", argument
        )

    def _join(self, stack: StackTemplate, argument: Any, depth: int) -> Any:
        delimiter, items = argument
        resolved = self._resolve(stack, items, depth)
        if not isinstance(resolved, list):
            return self._unresolvable(stack, "Fn::Join needs a list", argument)
        return str(delimiter).join(str(item) for item in resolved)

    def _sub(self, stack: StackTemplate, argument: Any, depth: int) -> Any:
        if isinstance(argument, str):
            text, variables = argument, {}
        else:
            text, raw_variables = argument
            variables = self._resolve(stack, raw_variables, depth)

        def replace(match: re.Match[str]) -> str:
            token = match.group(1)
            if token.startswith("!"):
                return "${" + token[1:] + "}"
            if token in variables:
                return str(variables[token])
            if "." in token and not token.startswith("AWS::"):
                return str(self._get_att(stack, token.split(".", 1), depth))
            return str(self._ref(stack, token, depth))

        return _SUB_TOKEN.sub(replace, text)

    def _select(self, stack: StackTemplate, argument: Any, depth: int) -> Any:
        index, items = self._resolve(stack, argument, depth)
        if not isinstance(items, list) or not 0 <= int(index) < len(items):
            return self._unresolvable(stack, f"Fn::Select index {index} out of range", argument)
        return items[int(index)]

    def _split(self, stack: StackTemplate, argument: Any, depth: int) -> Any:
        delimiter, text = self._resolve(stack, argument, depth)
        return str(text).split(str(delimiter))

    def _get_azs(self, stack: StackTemplate, argument: Any, depth: int) -> Any:
        region = self._resolve(stack, argument, depth) or stack.region
        return [f"{region}{zone}" for zone in "abc"]

    def _if(self, stack: StackTemplate, argument: Any, depth: int) -> Any:
        condition, when_true, when_false = argument
        chosen = when_true if self._condition(stack, condition, depth) else when_false
        return self._resolve(stack, chosen, depth)

    def _find_in_map(self, stack: StackTemplate, argument: Any, depth: int) -> Any:
        map_name, top, second = self._resolve(stack, argument[:3], depth)
        try:
            return stack.template["Mappings"][map_name][top][second]
        except KeyError:
            return self._unresolvable(
                stack, f"Fn::FindInMap {map_name}/{top}/{second} is not in Mappings", argument
            )

    def _base64(self, stack: StackTemplate, argument: Any, depth: int) -> Any:
        text = str(self._resolve(stack, argument, depth))
        return base64.b64encode(text.encode()).decode()

    def _get_stack_output(self, stack: StackTemplate, argument: Any, depth: int) -> Any:
        resolved = self._resolve(stack, argument, depth)
        name, output = resolved.get("StackName"), resolved.get("OutputName")
        return self._output(stack, str(name), str(output), argument)

    def _import_value(self, stack: StackTemplate, argument: Any, depth: int) -> Any:
        export = self._resolve(stack, argument, depth)
        for other in self.assembly:
            for output_name, output in other.template.get("Outputs", {}).items():
                exported = output.get("Export", {}).get("Name")
                if exported is not None and self.resolve(other.name, exported) == export:
                    return self._output(other, other.name, output_name, argument)
        return self._unresolvable(stack, f"no stack exports {export!r}", argument)

    def _output(self, stack: StackTemplate, stack_name: str, output: str, argument: Any) -> Any:
        if stack_name not in self.assembly.stacks:
            return self._unresolvable(stack, f"stack {stack_name} is not in the assembly", argument)
        outputs = self.assembly.stack(stack_name).template.get("Outputs", {})
        if output not in outputs:
            return self._unresolvable(stack, f"stack {stack_name} has no output {output}", argument)
        return self.resolve(stack_name, outputs[output]["Value"])

    def _condition(self, stack: StackTemplate, condition: Any, depth: int) -> bool:
        if isinstance(condition, str):
            key = (stack.name, condition)
            if key not in self._conditions:
                definition = stack.template.get("Conditions", {}).get(condition)
                if definition is None:
                    raise UnresolvableIntrinsic(
                        f"stack {stack.name}: condition {condition!r} is not declared"
                    )
                self._conditions[key] = self._condition(stack, definition, depth + 1)
            return self._conditions[key]
        ((function, argument),) = condition.items()
        if function == "Condition":
            return self._condition(stack, argument, depth + 1)
        if function == "Fn::Equals":
            left, right = self._resolve(stack, argument, depth + 1)
            return str(left) == str(right)
        if function == "Fn::Not":
            return not self._condition(stack, argument[0], depth + 1)
        if function == "Fn::And":
            return all(self._condition(stack, item, depth + 1) for item in argument)
        if function == "Fn::Or":
            return any(self._condition(stack, item, depth + 1) for item in argument)
        raise UnresolvableIntrinsic(f"stack {stack.name}: {function} is not a condition function")

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
            "path": self._resolve(stack, path, 0) if path else "/",
            "hash": digest[:17].upper(),
            "hex": digest[17:34],
            "cidr": str(self._resolve(stack, properties.get("CidrBlock", "10.0.0.0/16"), 0)),
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
            return str(self._resolve(stack, properties[spec.name_property], 0))
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


_Handler = Callable[[Resolver, StackTemplate, Any, int], Any]

_FUNCTIONS: Mapping[str, _Handler] = {
    "Ref": Resolver._ref,
    "Fn::GetAtt": Resolver._get_att,
    "Fn::Join": Resolver._join,
    "Fn::Sub": Resolver._sub,
    "Fn::Select": Resolver._select,
    "Fn::Split": Resolver._split,
    "Fn::GetAZs": Resolver._get_azs,
    "Fn::If": Resolver._if,
    "Fn::FindInMap": Resolver._find_in_map,
    "Fn::Base64": Resolver._base64,
    "Fn::GetStackOutput": Resolver._get_stack_output,
    "Fn::ImportValue": Resolver._import_value,
}

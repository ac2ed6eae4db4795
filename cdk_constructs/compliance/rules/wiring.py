"""Finding governed resources by how they are wired, not only by their tags.

A tag can be removed or mistyped; a reference cannot be removed without breaking the app. So
rules that apply to "the governed endpoint", "the audit ledger" or "the handlers" find them by
following the template's references (and exact literal names), and use tags only as a second
source (a resource wired as governed but without its tag is itself a finding, rule TAG1):

- a SageMaker model is governed when a container's ``ModelPackageName`` is a version of a model
  package group of the app (``arn:...:model-package/<group>/<version>``); an endpoint config
  when a variant serves such a model; an endpoint when its config does; a monitoring schedule or
  job definition when it monitors such an endpoint;
- the audit ledger is the table the ledger handler writes and the audit bucket the bucket it
  archives to (the handler's ``LEDGER_TABLE_NAME`` / ``AUDIT_BUCKET_NAME`` variables, read by
  ``lambda/governance/ledger.py``), and every bucket a CloudTrail trail writes;
- a handler is a function that something in the app invokes asynchronously: an EventBridge
  target, an SNS subscription, an S3 notification, or a ``lambda:InvokeFunction`` permission for
  ``events``, ``sns`` or ``s3.amazonaws.com``.

Each lookup is built once per :class:`AppIndex` (``AppIndex.derived``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cdk_constructs import tags
from cdk_constructs.compliance.rules.framework import (
    AppIndex,
    Ref,
    Resource,
    as_list,
    dig,
    is_intrinsic,
    is_unresolved,
)

MODEL_PACKAGE_GROUP = "AWS::SageMaker::ModelPackageGroup"
SAGEMAKER_MODEL = "AWS::SageMaker::Model"
ENDPOINT_CONFIG = "AWS::SageMaker::EndpointConfig"
ENDPOINT = "AWS::SageMaker::Endpoint"
MONITORING_SCHEDULE = "AWS::SageMaker::MonitoringSchedule"
# Job definition type → the property holding its input (whose EndpointInput names the endpoint).
JOB_INPUTS: dict[str, str] = {
    "AWS::SageMaker::DataQualityJobDefinition": "DataQualityJobInput",
    "AWS::SageMaker::ModelQualityJobDefinition": "ModelQualityJobInput",
    "AWS::SageMaker::ModelBiasJobDefinition": "ModelBiasJobInput",
    "AWS::SageMaker::ModelExplainabilityJobDefinition": "ModelExplainabilityJobInput",
}
LAMBDA_FUNCTION = "AWS::Lambda::Function"
LAMBDA_PERMISSION = "AWS::Lambda::Permission"
EVENT_INVOKE_CONFIG = "AWS::Lambda::EventInvokeConfig"
EVENTS_RULE = "AWS::Events::Rule"
SNS_SUBSCRIPTION = "AWS::SNS::Subscription"
S3_BUCKET = "AWS::S3::Bucket"
DYNAMODB_TABLE = "AWS::DynamoDB::Table"
CLOUDTRAIL_TRAIL = "AWS::CloudTrail::Trail"
KMS_KEY = "AWS::KMS::Key"
KMS_ALIAS = "AWS::KMS::Alias"

# The ledger handler's contract (lambda/governance/ledger.py reads these variables).
LEDGER_TABLE_VARIABLE = "LEDGER_TABLE_NAME"
AUDIT_BUCKET_VARIABLE = "AUDIT_BUCKET_NAME"
AUDIT_LEDGER_COMPONENT = "audit-ledger"

# Services that invoke a function asynchronously (Lambda developer guide, "Invoking Lambda
# functions asynchronously": S3, SNS and EventBridge, among others, use the Event type).
ASYNC_INVOKERS = frozenset({"events.amazonaws.com", "sns.amazonaws.com", "s3.amazonaws.com"})

_PSEUDO = re.compile(r"\$\{AWS::[A-Za-z]+\}")
_SUB_VARIABLE = re.compile(r"\$\{[^}!]+\}")


@dataclass(frozen=True)
class Wired:
    """What a lookup found: the resources (or names), and whether a link could not be read."""

    found: frozenset[str]
    unsure: bool = False

    def __or__(self, other: Wired) -> Wired:
        return Wired(self.found | other.found, self.unsure or other.unsure)


NOTHING = Wired(frozenset())
UNSURE = Wired(frozenset(), unsure=True)


def arn_text(value: Any) -> str | None:
    """``value`` as one ARN string, pseudo parameters kept as ``${AWS.Partition}`` (no colon,
    so the ARN still splits into its fields); ``None`` if a part is only known at deploy time
    (a parameter, an attribute, an import)."""
    if isinstance(value, str):
        return value
    if not is_intrinsic(value):
        return None
    (key, argument), *_ = value.items()
    text: str | None = None
    if key == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
        separator, parts = argument
        if isinstance(separator, str) and isinstance(parts, list):
            rendered = [_pseudo_or_text(part) for part in parts]
            if all(isinstance(r, str) for r in rendered):
                text = separator.join(str(r) for r in rendered)
    elif key == "Fn::Sub" and isinstance(argument, str):
        if not _SUB_VARIABLE.search(_PSEUDO.sub("", argument)):
            text = _PSEUDO.sub(lambda m: m.group(0).replace("::", "."), argument)
    else:
        text = _pseudo_or_text(value)
    return text


def _pseudo_or_text(part: Any) -> str | None:
    if isinstance(part, str):
        return part
    if isinstance(part, Mapping) and isinstance(part.get("Ref"), str):
        name = part["Ref"]
        return "${" + name.replace("::", ".") + "}" if name.startswith("AWS::") else None
    return None


def arn_resource(value: Any) -> tuple[str, str] | None:
    """``(account, resource)`` of an ARN (``None`` if not a readable ARN)."""
    text = arn_text(value)
    if text is None or not text.startswith("arn:"):
        return None
    parts = text.split(":", 5)
    if len(parts) != 6:
        return None
    return parts[4], parts[5]


def package_group(package: Any) -> str | None:
    """The group a versioned model package ARN belongs to (``model-package/<group>/<version>``)."""
    found = arn_resource(package)
    if found is None:
        return None
    kind, _, rest = found[1].partition("/")
    group, _, version = rest.partition("/")
    return group if kind == "model-package" and group and version else None


def _by_name(index: AppIndex, resource_type: str, name_property: str) -> dict[str, list[Resource]]:
    def build(ix: AppIndex) -> dict[str, list[Resource]]:
        named: dict[str, list[Resource]] = {}
        for resource in ix.of_type(resource_type):
            name = resource.get(name_property)
            if isinstance(name, str):
                named.setdefault(name, []).append(resource)
        return named

    return index.derived(f"by-name:{resource_type}:{name_property}", build)


def named(
    value: Any, of: Resource, index: AppIndex, resource_type: str, name_property: str
) -> Wired:
    """The resources of ``resource_type`` that ``value`` names: by a reference to one of them,
    or by the exact literal name (in an environment ``of`` can share)."""
    if isinstance(value, Ref):
        target = index.resolve(value)
        found = {target.path} if target is not None and target.type == resource_type else set()
        return Wired(frozenset(found))
    if isinstance(value, str):
        candidates = _by_name(index, resource_type, name_property).get(value, [])
        return Wired(
            frozenset(c.path for c in candidates if c.environment.overlaps(of.environment))
        )
    return UNSURE if value is not None else NOTHING


def _group_models(index: AppIndex) -> dict[str, list[tuple[Resource, str]]]:
    """Group name → (group, its governed model name: the governance:model tag, else the name)."""

    def build(ix: AppIndex) -> dict[str, list[tuple[Resource, str]]]:
        groups: dict[str, list[tuple[Resource, str]]] = {}
        for group in ix.of_type(MODEL_PACKAGE_GROUP):
            name = group.get("ModelPackageGroupName")
            if isinstance(name, str):
                model = group.tag(tags.MODEL)
                governed = model if isinstance(model, str) else name
                groups.setdefault(name, []).append((group, governed))
        return groups

    return index.derived("group-models", build)


def governed_models(resource: Resource, index: AppIndex) -> Wired:
    """The governed models ``resource`` serves or monitors, following its references."""
    if resource.type == SAGEMAKER_MODEL:
        return _served_models(resource, index)
    if resource.type == ENDPOINT_CONFIG:
        return _config_models(resource, index)
    if resource.type == ENDPOINT:
        return _endpoint_models(resource, index)
    if resource.type == MONITORING_SCHEDULE:
        return _monitored_models(resource.get("EndpointName"), resource, index)
    if resource.type in JOB_INPUTS:
        endpoint = resource.get(JOB_INPUTS[resource.type], "EndpointInput", "EndpointName")
        return _monitored_models(endpoint, resource, index)
    return NOTHING


def _served_models(model: Resource, index: AppIndex) -> Wired:
    containers = [model.get("PrimaryContainer"), *as_list(model.get("Containers"))]
    result = NOTHING
    for container in containers:
        if container is None:
            continue
        package = dig(container, "ModelPackageName")
        if package is None:
            continue
        group = package_group(package)
        if group is None:
            result = result | (UNSURE if arn_text(package) is None else NOTHING)
            continue
        # The group may live in another account of the app (a central registry).
        names = [
            name
            for candidate, name in _group_models(index).get(group, [])
            if candidate.environment.stage_path == model.environment.stage_path
        ]
        result = result | Wired(frozenset(names))
    return result


def _config_models(config: Resource, index: AppIndex) -> Wired:
    variants = [
        *as_list(config.get("ProductionVariants")),
        *as_list(config.get("ShadowProductionVariants")),
    ]
    result = NOTHING
    for variant in variants:
        models = named(dig(variant, "ModelName"), config, index, SAGEMAKER_MODEL, "ModelName")
        result = result | Wired(frozenset(), models.unsure)
        for path in models.found:
            target = index.get(path)
            if target is not None:
                result = result | _served_models(target, index)
    return result


def _endpoint_models(endpoint: Resource, index: AppIndex) -> Wired:
    # Asked for the endpoint itself and for each of its schedules and job definitions: worked
    # out once per endpoint.
    known: dict[str, Wired] = index.derived("wiring:endpoint-models", lambda _: {})
    found = known.get(endpoint.path)
    if found is None:
        found = known[endpoint.path] = _endpoint_models_of(endpoint, index)
    return found


def _endpoint_models_of(endpoint: Resource, index: AppIndex) -> Wired:
    configs = named(
        endpoint.get("EndpointConfigName"),
        endpoint,
        index,
        ENDPOINT_CONFIG,
        "EndpointConfigName",
    )
    result = Wired(frozenset(), configs.unsure)
    for path in configs.found:
        target = index.get(path)
        if target is not None:
            result = result | _config_models(target, index)
    return result


def endpoints_named(value: Any, of: Resource, index: AppIndex) -> Wired:
    """Endpoints that an ``EndpointName`` value names (a ``GetAtt EndpointName`` or the name)."""
    if isinstance(value, Ref) and value.attribute != "EndpointName":
        return NOTHING  # Ref of an endpoint is its ARN, which no EndpointName takes
    return named(value, of, index, ENDPOINT, "EndpointName")


def _monitored_models(endpoint_name: Any, of: Resource, index: AppIndex) -> Wired:
    endpoints = endpoints_named(endpoint_name, of, index)
    result = Wired(frozenset(), endpoints.unsure)
    for path in endpoints.found:
        target = index.get(path)
        if target is not None:
            result = result | _endpoint_models(target, index)
    return result


def _function_variable(index: AppIndex, variable: str, resource_type: str, name: str) -> Wired:
    result = NOTHING
    for function in index.of_type(LAMBDA_FUNCTION):
        value = function.get("Environment", "Variables", variable)
        if value is not None:
            result = result | named(value, function, index, resource_type, name)
    return result


def ledger_tables(index: AppIndex) -> Wired:
    """The tables the ledger handler writes."""
    return index.derived(
        "ledger-tables",
        lambda ix: _function_variable(ix, LEDGER_TABLE_VARIABLE, DYNAMODB_TABLE, "TableName"),
    )


def is_ledger(table: Resource, index: AppIndex) -> bool | None:
    """Is ``table`` the audit ledger (tagged so, or written by the ledger handler)?"""
    if table.path in ledger_tables(index).found:
        return True
    component = table.tag(tags.COMPONENT)
    if is_unresolved(component):
        return None
    return bool(component == AUDIT_LEDGER_COMPONENT)


def audit_buckets(index: AppIndex) -> Wired:
    """The buckets audit evidence is written to: the ledger's archive and every trail's."""

    def build(ix: AppIndex) -> Wired:
        found = _function_variable(ix, AUDIT_BUCKET_VARIABLE, S3_BUCKET, "BucketName")
        for trail in ix.of_type(CLOUDTRAIL_TRAIL):
            found = found | named(trail.get("S3BucketName"), trail, ix, S3_BUCKET, "BucketName")
        return found

    return index.derived("audit-buckets", build)


def function_paths(value: Any, of: Resource, index: AppIndex) -> Wired:
    """Functions that a ``FunctionName``/target ``Arn`` value names (reference, name or ARN)."""
    if isinstance(value, Ref):
        return named(value, of, index, LAMBDA_FUNCTION, "FunctionName")
    resource = arn_resource(value)
    if resource is not None:
        kind, _, name = resource[1].partition(":")
        if kind != "function":
            return NOTHING
        return named(name.split(":")[0], of, index, LAMBDA_FUNCTION, "FunctionName")
    if isinstance(value, str):
        return named(value.split(":")[0], of, index, LAMBDA_FUNCTION, "FunctionName")
    return UNSURE if value is not None else NOTHING


def async_handlers(index: AppIndex) -> Wired:
    """Functions that an event source of the app invokes asynchronously."""

    def build(ix: AppIndex) -> Wired:
        found = NOTHING
        for permission in ix.of_type(LAMBDA_PERMISSION):
            principal = permission.get("Principal")
            if isinstance(principal, str) and principal in ASYNC_INVOKERS:
                found = found | function_paths(permission.get("FunctionName"), permission, ix)
        for rule in ix.of_type(EVENTS_RULE):
            for target in _list(rule.get("Targets")):
                found = found | function_paths(dig(target, "Arn"), rule, ix)
        for subscription in ix.of_type(SNS_SUBSCRIPTION):
            if subscription.get("Protocol") == "lambda":
                found = found | function_paths(subscription.get("Endpoint"), subscription, ix)
        for bucket in ix.of_type(S3_BUCKET):
            lambdas = bucket.get("NotificationConfiguration", "LambdaConfigurations")
            for notification in _list(lambdas):
                found = found | function_paths(dig(notification, "Function"), bucket, ix)
        return found

    return index.derived("async-handlers", build)


def invoke_configs(function: Resource, index: AppIndex) -> list[Resource]:
    """The ``EventInvokeConfig`` resources of ``function`` (any qualifier)."""

    def build(ix: AppIndex) -> dict[str, list[Resource]]:
        configs: dict[str, list[Resource]] = {}
        for config in ix.of_type(EVENT_INVOKE_CONFIG):
            for path in function_paths(config.get("FunctionName"), config, ix).found:
                configs.setdefault(path, []).append(config)
        return configs

    return index.derived("invoke-configs", build).get(function.path, [])


def _list(value: Any) -> list[Any]:
    return [] if is_unresolved(value) else as_list(value)


def key_is_customer_managed(value: Any, of: Resource, index: AppIndex) -> bool | None:
    """Does a KMS key id/ARN/alias name a customer managed key?

    A key or alias declared by the app is (an ``AWS::KMS::Key`` is always customer managed);
    ``alias/aws/...`` names an AWS managed key; no key at all means an AWS owned or AWS managed
    key. Any other literal key ARN cannot be told apart from an AWS managed key's ARN at synth
    time (``None``).
    """
    if value is None:
        return False
    if isinstance(value, Ref):
        target = index.resolve(value)
        if target is not None and target.type == KMS_ALIAS:
            return key_is_customer_managed(target.get("TargetKeyId"), target, index)
        return True if target is not None and target.type == KMS_KEY else None
    text = arn_text(value)
    alias = (text.split(":", 5)[-1] if text.startswith("arn:") else text) if text else ""
    if alias.startswith("alias/aws/"):
        return False
    aliases = _by_name(index, KMS_ALIAS, "AliasName").get(alias, []) if alias else []
    if any(a.environment.overlaps(of.environment) for a in aliases):
        return True
    return None


def json_mapping(value: Any) -> Mapping[str, Any] | None:
    """A policy-like property given as an object or a JSON string (``None`` if unreadable)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if isinstance(value, Mapping) and not is_unresolved(value):
        return value
    return None

"""Can the deploying principal do what CloudFormation's handlers do with the app's KMS keys?

CloudFormation's resource handlers call other services with the deploying role's credentials
(the CDK bootstrap's CloudFormation execution role). The provider schemas bundled with cfn-lint
list what each handler needs (``handlers.<create|read|update|delete>.permissions``); the KMS
actions among them that the Service Authorization Reference scopes to a key must be allowed by
that key's policy for the deployer. The deployer is modelled as the bootstrap execution role
with the bootstrap's default ``AdministratorAccess`` identity policy, calling KMS through the
resource's service (``kms:ViaService = <service>.<region>.amazonaws.com``,
``kms:CallerAccount = <account>``), or directly for ``AWS::KMS::*`` resources.

Sources: cfn-lint ``cfnlint/data/schemas/providers/<region>.json`` (type -> schema file) and
``cfnlint/data/schemas/resources/<hash>.json`` (the CloudFormation registry schema, including
``handlers``); CDK bootstrap template (``cloudFormationExecutionPolicies`` default
``arn:aws:iam::aws:policy/AdministratorAccess``); AWS KMS Developer Guide, "kms:ViaService" and
"kms:CallerAccount" condition keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from cdk_constructs.compliance.iam.account import ADMINISTRATOR_ACCESS, Account
from cdk_constructs.compliance.iam.evaluator import Evaluation
from cdk_constructs.compliance.iam.expectations import deployer_principal
from cdk_constructs.compliance.iam.vocabulary import ServiceAuthorizationReference

#: Handler operations that act on one resource (``list`` does not).
OPERATIONS = ("create", "read", "update", "delete")

#: The service a resource type's handler calls KMS through, where it is not the type's own
#: namespace in lower case.
_VIA_SERVICE = {"KMS": None}


def _schemas_root() -> Path:
    import cfnlint

    return Path(cfnlint.__file__).parent / "data" / "schemas"


@cache
def _provider_index(region: str) -> Mapping[str, str]:
    index: Mapping[str, str] = json.loads(
        (_schemas_root() / "providers" / f"{region}.json").read_text()
    )
    return index


@cache
def _schema(schema_hash: str) -> Mapping[str, Any]:
    schema: Mapping[str, Any] = json.loads(
        (_schemas_root() / "resources" / f"{schema_hash}.json").read_text()
    )
    return schema


def handler_permissions(resource_type: str, region: str) -> Mapping[str, tuple[str, ...]]:
    """``handlers.<op>.permissions`` of a resource type's provider schema (empty if none)."""
    schema_hash = _provider_index(region).get(resource_type)
    if schema_hash is None:
        return {}
    handlers = _schema(schema_hash).get("handlers", {})
    return {
        operation: tuple(spec.get("permissions", ()))
        for operation, spec in handlers.items()
        if operation in OPERATIONS
    }


def via_service(resource_type: str, region: str) -> str | None:
    """``sagemaker.eu-west-1.amazonaws.com`` for ``AWS::SageMaker::ModelCard``; KMS: direct."""
    namespace = resource_type.split("::")[1]
    if namespace in _VIA_SERVICE:
        return None
    return f"{namespace.lower()}.{region}.amazonaws.com"


@dataclass(frozen=True)
class DeployerCall:
    """One KMS call a handler makes on one key of the app."""

    resource_type: str
    operation: str
    action: str
    key_path: str
    key_arn: str
    stack: str
    logical_id: str
    context: Mapping[str, str]

    @property
    def id(self) -> str:
        return f"{self.resource_type}/{self.operation}/{self.action}@{self.key_path}"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def deployer_kms_calls(account: Account, sar: ServiceAuthorizationReference) -> list[DeployerCall]:
    """Every key-scoped KMS permission a handler needs on a key the resource refers to."""
    keys = _app_keys(account)
    calls: dict[str, DeployerCall] = {}
    for stack in account.resolver.assembly:
        for logical_id, resource in stack.resources.items():
            resource_type = resource["Type"]
            permissions = handler_permissions(resource_type, stack.region)
            if not permissions or not account.resolver.is_created(stack.name, logical_id):
                continue
            properties = account.resolver.resolved_properties(stack.name, logical_id)
            referenced = {keys[s] for s in _strings(properties) if s in keys}
            if resource_type == "AWS::KMS::Key":
                referenced.add(keys[account.resolver.resource(stack.name, logical_id).ref])
            service = via_service(resource_type, stack.region)
            for operation, actions in permissions.items():
                for action in actions:
                    if not action.lower().startswith("kms:") or not _key_scoped(action, sar):
                        continue
                    for key_path, key_arn in sorted(referenced):
                        context = {"kms:CallerAccount": stack.account}
                        if service is not None:
                            context["kms:ViaService"] = service
                            if action.lower() == "kms:creategrant":
                                context["kms:GrantIsForAWSResource"] = "true"
                        call = DeployerCall(
                            resource_type,
                            operation,
                            action,
                            key_path,
                            key_arn,
                            stack.name,
                            logical_id,
                            context,
                        )
                        calls.setdefault(call.id, call)
    return sorted(calls.values(), key=lambda call: call.id)


def _app_keys(account: Account) -> dict[str, tuple[str, str]]:
    """Each key's ARN and id -> (construct path such as ``Keys/audit``, ARN)."""
    keys: dict[str, tuple[str, str]] = {}
    for stack in account.resolver.assembly:
        for logical_id, resource in stack.resources.items():
            if resource["Type"] != "AWS::KMS::Key":
                continue
            identity = account.resolver.resource(stack.name, logical_id)
            path = resource.get("Metadata", {}).get("aws:cdk:path", logical_id)
            label = path.removeprefix(f"{stack.name}/").removesuffix("/Resource/Resource")
            for reference in (identity.attributes["Arn"], identity.ref):
                keys[reference] = (label, identity.attributes["Arn"])
    return keys


def _key_scoped(action: str, sar: ServiceAuthorizationReference) -> bool:
    """Does the SAR scope this KMS action to a key (so the key policy governs it)?"""
    try:
        return "key" in sar.action(action).resource_arns
    except KeyError:
        return False


def evaluate_deployer_call(call: DeployerCall, account: Account) -> Evaluation:
    return account.authorize(
        deployer_principal(account.resolver.assembly.stack(call.stack)),
        call.action,
        call.key_arn,
        call.context,
        identity_policies=[ADMINISTRATOR_ACCESS],
    )

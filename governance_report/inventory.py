"""The governance inventory: which resource belongs to which model, environment and concern.

The app writes ``cdk.out/governance-inventory.json`` at synth from construct scopes (a model's
resources live under ``<stack>/<model name>/``; see :mod:`governance_report.scopes`); the report
reads it instead of guessing ownership from tags or references. This module is the file's
schema, shared by the writer and the reader, and needs neither the app nor the CDK.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INVENTORY_FILE = "governance-inventory.json"
SCHEMA_VERSION = 1


class InventoryError(Exception):
    """The inventory file exists but cannot be read."""


class Concern:
    """What a resource is for, as a reviewer groups controls."""

    REGISTRY = "registry"
    MODEL_CARD = "model card"
    APPROVAL_POLICY = "approval policy"
    SERVING = "serving"
    MONITORING = "monitoring"
    ALARMS = "alarms"
    ROUTING = "routing"
    ACCESS = "access"
    HANDLERS = "handlers"
    ENCRYPTION = "encryption"
    STORAGE = "storage"
    NETWORK = "network"
    ALERTS = "alerts"
    AUDIT = "audit"
    OTHER = "other"


# By resource type first (stable across construct refactors), by scope only where one type
# serves two concerns (an SSM parameter is an approval policy or an endpoint's routing record).
_BY_TYPE: Mapping[str, str] = {
    "AWS::SageMaker::ModelPackageGroup": Concern.REGISTRY,
    "AWS::SageMaker::ModelCard": Concern.MODEL_CARD,
    "AWS::SageMaker::Model": Concern.SERVING,
    "AWS::SageMaker::EndpointConfig": Concern.SERVING,
    "AWS::SageMaker::Endpoint": Concern.SERVING,
    "AWS::SageMaker::MonitoringSchedule": Concern.MONITORING,
    "AWS::SageMaker::DataQualityJobDefinition": Concern.MONITORING,
    "AWS::SageMaker::ModelQualityJobDefinition": Concern.MONITORING,
    "AWS::SageMaker::ModelBiasJobDefinition": Concern.MONITORING,
    "AWS::SageMaker::ModelExplainabilityJobDefinition": Concern.MONITORING,
    "AWS::SageMaker::Pipeline": Concern.MONITORING,
    "AWS::CloudWatch::Alarm": Concern.ALARMS,
    "AWS::CloudWatch::Dashboard": Concern.ALARMS,
    "AWS::Events::Rule": Concern.ROUTING,
    "AWS::SQS::Queue": Concern.ROUTING,
    "AWS::SQS::QueuePolicy": Concern.ROUTING,
    "AWS::Lambda::Permission": Concern.ROUTING,
    "AWS::Lambda::EventInvokeConfig": Concern.ROUTING,
    "AWS::Lambda::Function": Concern.HANDLERS,
    "AWS::Logs::LogGroup": Concern.HANDLERS,
    "AWS::SNS::Topic": Concern.ALERTS,
    "AWS::SNS::TopicPolicy": Concern.ALERTS,
    "AWS::SNS::Subscription": Concern.ALERTS,
    "AWS::DynamoDB::Table": Concern.AUDIT,
    "AWS::CloudTrail::Trail": Concern.AUDIT,
}
_BY_PREFIX: Sequence[tuple[str, str]] = (
    ("AWS::IAM::", Concern.ACCESS),
    ("AWS::KMS::", Concern.ENCRYPTION),
    ("AWS::S3::", Concern.STORAGE),
    ("AWS::EC2::", Concern.NETWORK),
)
# Construct ids (under the model's scope) that name a concern, for types that serve several.
_BY_SCOPE: Sequence[tuple[str, str]] = (
    ("approvalpolicy", Concern.APPROVAL_POLICY),
    ("monitor", Concern.MONITORING),
    ("baseline", Concern.MONITORING),
    ("alarm", Concern.ALARMS),
    ("endpoint", Concern.SERVING),
    ("card", Concern.MODEL_CARD),
    ("group", Concern.REGISTRY),
)


def concern_of(cfn_type: str, scope_path: Sequence[str] = ()) -> str:
    """The concern of a resource of ``cfn_type`` at ``scope_path`` (construct ids below the
    model's scope, outermost first)."""
    if cfn_type == "AWS::SSM::Parameter":
        lowered = [part.lower() for part in scope_path]
        if any("approvalpolicy" in part for part in lowered):
            return Concern.APPROVAL_POLICY
        return Concern.SERVING if scope_path else Concern.OTHER
    found = _BY_TYPE.get(cfn_type)
    if found is not None:
        return found
    for prefix, concern in _BY_PREFIX:
        if cfn_type.startswith(prefix):
            return concern
    for part in scope_path:
        for keyword, concern in _BY_SCOPE:
            if keyword in part.lower():
                return concern
    return Concern.OTHER


@dataclass(frozen=True)
class InventoryEnvironment:
    name: str
    account: str | None
    region: str | None
    stacks: tuple[str, ...]


@dataclass(frozen=True)
class InventoryModel:
    name: str
    environment: str
    stack: str
    path: str  # the model's construct scope, e.g. "acme-prod-models-00/credit-default"


@dataclass(frozen=True)
class InventoryResource:
    stack: str
    logical_id: str
    type: str
    path: str
    environment: str
    concern: str
    # Models whose scope holds the resource; several for a shard's shared routing, none for an
    # environment's foundation.
    models: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.stack, self.logical_id)


@dataclass(frozen=True)
class Inventory:
    environments: tuple[InventoryEnvironment, ...]
    models: tuple[InventoryModel, ...]
    resources: tuple[InventoryResource, ...]
    _by_model: dict[tuple[str, str], tuple[InventoryResource, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def resources_of(self, model: str, environment: str) -> tuple[InventoryResource, ...]:
        if not self._by_model:
            index: dict[tuple[str, str], list[InventoryResource]] = {}
            for resource in self.resources:
                for name in resource.models:
                    index.setdefault((name, resource.environment), []).append(resource)
            self._by_model.update({k: tuple(v) for k, v in index.items()})
        return self._by_model.get((model, environment), ())

    @property
    def environment_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.environments)

    def environment_of_stack(self, stack: str) -> str | None:
        return next((e.name for e in self.environments if stack in e.stacks), None)


def to_json(inventory: Inventory) -> dict[str, Any]:
    return {
        "version": SCHEMA_VERSION,
        "environments": [
            {
                "name": e.name,
                "account": e.account,
                "region": e.region,
                "stacks": list(e.stacks),
            }
            for e in inventory.environments
        ],
        "models": [
            {"name": m.name, "environment": m.environment, "stack": m.stack, "path": m.path}
            for m in inventory.models
        ],
        "resources": [
            {
                "stack": r.stack,
                "logicalId": r.logical_id,
                "type": r.type,
                "path": r.path,
                "environment": r.environment,
                "concern": r.concern,
                "models": list(r.models),
            }
            for r in inventory.resources
        ],
    }


def write_inventory(inventory: Inventory, folder: Path) -> Path:
    path = folder / INVENTORY_FILE
    path.write_text(json.dumps(to_json(inventory), separators=(",", ":")) + "\n", encoding="utf-8")
    return path


def _strings(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


def from_json(raw: Any) -> Inventory:
    if not isinstance(raw, dict) or raw.get("version") != SCHEMA_VERSION:
        found = raw.get("version") if isinstance(raw, dict) else type(raw).__name__
        raise InventoryError(
            f"{INVENTORY_FILE}: unsupported schema version {found!r} "
            f"(this report reads version {SCHEMA_VERSION})"
        )
    try:
        return Inventory(
            environments=tuple(
                InventoryEnvironment(
                    name=str(e["name"]),
                    account=e.get("account"),
                    region=e.get("region"),
                    stacks=_strings(e.get("stacks", ())),
                )
                for e in raw.get("environments", ())
            ),
            models=tuple(
                InventoryModel(
                    name=str(m["name"]),
                    environment=str(m["environment"]),
                    stack=str(m["stack"]),
                    path=str(m.get("path", "")),
                )
                for m in raw.get("models", ())
            ),
            resources=tuple(
                InventoryResource(
                    stack=str(r["stack"]),
                    logical_id=str(r["logicalId"]),
                    type=str(r["type"]),
                    path=str(r.get("path", "")),
                    environment=str(r["environment"]),
                    concern=str(r.get("concern", Concern.OTHER)),
                    models=_strings(r.get("models", ())),
                )
                for r in raw.get("resources", ())
            ),
        )
    except (KeyError, TypeError, AttributeError) as error:
        raise InventoryError(f"{INVENTORY_FILE} is malformed: {error!r}") from error


def read_inventory(folder: Path) -> Inventory | None:
    """The inventory of ``folder``; ``None`` when the app wrote none."""
    path = folder / INVENTORY_FILE
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise InventoryError(f"{path} could not be read: {error}") from error
    return from_json(raw)

"""Record the governance inventory at synth, from construct scopes (app side; imports the CDK).

A model's resources live under ``<stack>/<model name>/``: every CloudFormation resource in that
scope belongs to the model in the stack's environment. Resources directly under a models stack
(its event rule, dead-letter queue, custom-resource handler) serve every model of that stack;
the rest of an environment's stacks is shared foundation. The report reads the result
(:mod:`governance_report.inventory`) instead of guessing ownership from tags or references.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import aws_cdk as cdk
from constructs import IConstruct

from governance_report.inventory import (
    Inventory,
    InventoryEnvironment,
    InventoryModel,
    InventoryResource,
    concern_of,
    write_inventory,
)


@dataclass(frozen=True)
class EnvironmentScope:
    """One environment's stacks, as the app built them."""

    name: str
    account: str | None
    region: str | None
    stacks: Sequence[cdk.Stack]


class _Environment(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def account(self) -> str | None: ...
    @property
    def region(self) -> str | None: ...


class _BuiltEnvironment(Protocol):
    """What :func:`stacks.governance_app.build_governance` returns per environment."""

    @property
    def environment(self) -> _Environment: ...
    @property
    def foundation(self) -> cdk.Stack: ...
    @property
    def model_stacks(self) -> Sequence[cdk.Stack]: ...


def environment_scopes(built: Iterable[_BuiltEnvironment]) -> list[EnvironmentScope]:
    return [
        EnvironmentScope(
            name=env.environment.name,
            account=env.environment.account,
            region=env.environment.region,
            stacks=[env.foundation, *env.model_stacks],
        )
        for env in built
    ]


def _cfn_resources(scope: IConstruct) -> Iterable[cdk.CfnResource]:
    for construct in scope.node.find_all():
        if cdk.CfnResource.is_cfn_resource(construct):
            yield construct  # type: ignore[misc]


def _record(
    stack: cdk.Stack, environment: str, models_here: Collection[str]
) -> list[InventoryResource]:
    records = []
    prefix = stack.node.path + "/"
    for resource in _cfn_resources(stack):
        if cdk.Stack.of(resource) is not stack:  # a nested stack records its own resources
            continue
        cfn_type = resource.cfn_resource_type
        if cfn_type == "AWS::CDK::Metadata":
            continue
        parts = resource.node.path.removeprefix(prefix).split("/")
        owner = parts[0] if parts[0] in models_here else None
        records.append(
            InventoryResource(
                stack=stack.stack_name,
                logical_id=str(stack.resolve(resource.logical_id)),
                type=cfn_type,
                path=resource.node.path,
                environment=environment,
                concern=concern_of(cfn_type, parts[1:] if owner else parts),
                models=(owner,) if owner else tuple(sorted(models_here)),
            )
        )
    return records


def build_inventory(
    environments: Iterable[EnvironmentScope], model_names: Collection[str]
) -> Inventory:
    """The inventory of the given stacks; ``model_names`` are the configured models."""
    names = set(model_names)
    envs: list[InventoryEnvironment] = []
    models: list[InventoryModel] = []
    resources: list[InventoryResource] = []
    for env in environments:
        envs.append(
            InventoryEnvironment(
                name=env.name,
                account=env.account,
                region=env.region,
                stacks=tuple(s.stack_name for s in env.stacks),
            )
        )
        for stack in env.stacks:
            here = sorted(c.node.id for c in stack.node.children if c.node.id in names)
            models += [
                InventoryModel(
                    name=name,
                    environment=env.name,
                    stack=stack.stack_name,
                    path=f"{stack.node.path}/{name}",
                )
                for name in here
            ]
            resources += _record(stack, env.name, here)
    return Inventory(tuple(envs), tuple(models), tuple(resources))


def record_inventory(
    built: Iterable[_BuiltEnvironment], model_names: Collection[str], outdir: str | Path
) -> Inventory:
    """Write ``governance-inventory.json`` into ``outdir`` for the app's stacks."""
    inventory = build_inventory(environment_scopes(built), model_names)
    write_inventory(inventory, Path(outdir))
    return inventory

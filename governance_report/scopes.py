"""Record the governance inventory at synth, from construct scopes (app side; imports the CDK).

A model's resources live under ``<stack>/<model name>/``: every CloudFormation resource in that
scope belongs to the model in the stack's environment. Resources directly under a models stack
(its event rule, dead-letter queue, custom-resource handler) serve every model of that stack;
the rest of an environment's stacks is shared foundation. The report reads the result
(:mod:`governance_report.inventory`) instead of guessing ownership from tags or references.

The scopes are read from the construct tree the synth just wrote (the assembly's ``cdk:tree``
artifact, ``tree.json``): each construct's id and path, and for each CloudFormation element its
type and logical id, as aws-cdk-lib's ``TreeMetadata`` records them (attributes
``aws:cdk:cloudformation:type`` and ``aws:cdk:cloudformation:logicalId``, the id resolved by the
stack). Asking the jsii runtime for the same facts construct by construct cost about eight round
trips per resource: 3.3 s at 50 models, growing with every model; the file is one read.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import aws_cdk as cdk

from governance_report.assembly import read_json
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


class TreeError(Exception):
    """The synthesized construct tree is missing or lacks what the inventory needs."""


#: Constructs below a stack whose resources are another template's (a nested stack's).
_OWN_TEMPLATE = frozenset({"aws-cdk-lib.Stack", "aws-cdk-lib.NestedStack"})
_TYPE = "aws:cdk:cloudformation:type"
_LOGICAL_ID = "aws:cdk:cloudformation:logicalId"
_PLAIN_RESOURCE = "aws-cdk-lib.CfnResource"
_PATH = "aws:cdk:path"


class _Tree:
    """The construct tree of a synthesized assembly: ``tree.json``, with the subtrees
    aws-cdk-lib moves to ``trees-N.json`` forest files in a large app (a node then carries only
    ``fileName`` and ``treeId``) read where they are referenced."""

    def __init__(self, outdir: Path) -> None:
        self._outdir = outdir
        self._forests: dict[str, Mapping[str, Any]] = {}
        manifest = read_json(outdir / "manifest.json")
        files = [
            artifact["properties"]["file"]
            for artifact in manifest.get("artifacts", {}).values()
            if artifact.get("type") == "cdk:tree"
        ]
        if len(files) != 1:
            raise TreeError(
                f"the assembly in {outdir} has {len(files)} construct trees (cdk:tree artifacts); "
                "the inventory needs exactly one: synthesize with tree metadata on (the default)"
            )
        self.root: Mapping[str, Any] = read_json(outdir / files[0])["tree"]
        self._artifacts: Mapping[str, Any] = manifest.get("artifacts", {})

    def template(self, artifact_id: str) -> Mapping[str, Any]:
        """The synthesized template of the stack artifact ``artifact_id``."""
        artifact = self._artifacts.get(artifact_id)
        if artifact is None:
            raise TreeError(f"the assembly in {self._outdir} has no stack {artifact_id!r}")
        template: Mapping[str, Any] = read_json(
            self._outdir / artifact["properties"]["templateFile"]
        )
        return template

    def _node(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        if "fileName" not in node:
            return node
        name = str(node["fileName"])
        if name not in self._forests:
            self._forests[name] = read_json(self._outdir / name)["forest"]
        return self._node(self._forests[name][node["treeId"]])

    def children(self, node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
        for child in (self._node(node).get("children") or {}).values():
            yield self._node(child)

    def find(self, path: str) -> Mapping[str, Any]:
        node = self._node(self.root)
        for part in path.split("/"):
            child = next((c for c in self.children(node) if c["id"] == part), None)
            if child is None:
                raise TreeError(f"the synthesized construct tree has no construct {path!r}")
            node = child
        return node

    def cfn_resources(self, stack: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
        """The CloudFormation elements of ``stack``'s own template that the tree describes
        (those with a type) or that are plain ``CfnResource``s (custom resources: aws-cdk-lib's
        generic class records no attributes), in construct order."""
        for child in self.children(stack):
            fqn = child.get("constructInfo", {}).get("fqn")
            if fqn in _OWN_TEMPLATE:
                continue  # a nested stack records its own resources
            if _TYPE in (child.get("attributes") or {}) or fqn == _PLAIN_RESOURCE:
                yield child
            yield from self.cfn_resources(child)


@dataclass(frozen=True)
class _StackNames:
    stack: cdk.Stack
    name: str
    path: str
    template: Mapping[str, Any]
    node: Mapping[str, Any]
    """The stack's node in the synthesized tree."""

    def attributes(self, path: str) -> Mapping[str, str]:
        """Type and logical id of the plain ``CfnResource`` at ``path``: from the template when
        it names its resources' paths (``aws:cdk:path`` metadata, on under the CLI), or else
        asked of the app."""
        logical_id = self._ids_by_path.get(path)
        if logical_id is not None:
            return {
                _TYPE: str(self.template["Resources"][logical_id]["Type"]),
                _LOGICAL_ID: logical_id,
            }
        construct: Any = self.stack
        for part in path.removeprefix(self.path + "/").split("/"):
            construct = construct.node.find_child(part)
        return {
            _TYPE: construct.cfn_resource_type,
            _LOGICAL_ID: str(self.stack.resolve(construct.logical_id)),
        }

    @cached_property
    def recorded_paths(self) -> Mapping[str, str]:
        """Logical id -> the ``aws:cdk:path`` the template records for it (path metadata on)."""
        return {
            logical_id: str(resource["Metadata"][_PATH])
            for logical_id, resource in self.template.get("Resources", {}).items()
            if _PATH in (resource.get("Metadata") or {})
        }

    @cached_property
    def _ids_by_path(self) -> Mapping[str, str]:
        return {path: logical_id for logical_id, path in self.recorded_paths.items()}


def _stack_names(tree: _Tree, stack: cdk.Stack) -> _StackNames:
    path = stack.node.path
    return _StackNames(
        stack, stack.stack_name, path, tree.template(stack.artifact_id), tree.find(path)
    )


def _record(
    tree: _Tree, stack: _StackNames, environment: str, models_here: Collection[str]
) -> list[InventoryResource]:
    records = []
    prefix = stack.path + "/"
    for resource in tree.cfn_resources(stack.node):
        attributes = resource.get("attributes") or {}
        if _TYPE not in attributes:
            attributes = stack.attributes(str(resource["path"]))
        cfn_type = str(attributes[_TYPE])
        if cfn_type == "AWS::CDK::Metadata":
            continue
        if _LOGICAL_ID not in attributes:
            raise TreeError(
                f"the synthesized construct tree gives no logical id for {resource['path']!r} "
                f"(attribute {_LOGICAL_ID}); aws-cdk-lib records one for every resource it "
                "renders, so its tree metadata failed: see the synth's warnings"
            )
        # The path the template records for the resource when it records one (a resource
        # created by an include keeps the path it was designed at, cdk_constructs/included.py),
        # else its place in the tree.
        path = stack.recorded_paths.get(str(attributes[_LOGICAL_ID])) or str(resource["path"])
        parts = path.removeprefix(prefix).split("/")
        owner = parts[0] if parts[0] in models_here else None
        records.append(
            InventoryResource(
                stack=stack.name,
                logical_id=str(attributes[_LOGICAL_ID]),
                type=cfn_type,
                path=path,
                environment=environment,
                concern=concern_of(cfn_type, parts[1:] if owner else parts),
                models=(owner,) if owner else tuple(sorted(models_here)),
            )
        )
    expected = {
        logical_id
        for logical_id, resource in stack.template.get("Resources", {}).items()
        if resource.get("Type") != "AWS::CDK::Metadata"
    }
    missing = sorted(expected - {r.logical_id for r in records})
    if missing:
        raise TreeError(
            f"the construct tree of {stack.name} does not account for the template's resources "
            f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}: the inventory would "
            "leave them out"
        )
    return records


def build_inventory(
    environments: Iterable[EnvironmentScope], model_names: Collection[str], outdir: Path
) -> Inventory:
    """The inventory of the given stacks, read from the assembly synthesized into ``outdir``;
    ``model_names`` are the configured models."""
    tree = _Tree(outdir)
    names = set(model_names)
    envs: list[InventoryEnvironment] = []
    models: list[InventoryModel] = []
    resources: list[InventoryResource] = []
    for env in environments:
        stacks = [_stack_names(tree, s) for s in env.stacks]
        envs.append(
            InventoryEnvironment(
                name=env.name,
                account=env.account,
                region=env.region,
                stacks=tuple(s.name for s in stacks),
            )
        )
        for stack in stacks:
            here = sorted(str(c["id"]) for c in tree.children(stack.node) if c["id"] in names)
            models += [
                InventoryModel(
                    name=name,
                    environment=env.name,
                    stack=stack.name,
                    path=f"{stack.path}/{name}",
                )
                for name in here
            ]
            resources += _record(tree, stack, env.name, here)
    return Inventory(tuple(envs), tuple(models), tuple(resources))


def record_inventory(
    built: Iterable[_BuiltEnvironment], model_names: Collection[str], outdir: str | Path
) -> Inventory:
    """Write ``governance-inventory.json`` into ``outdir`` for the app's stacks, once the app
    has been synthesized there."""
    inventory = build_inventory(environment_scopes(built), model_names, Path(outdir))
    write_inventory(inventory, Path(outdir))
    return inventory

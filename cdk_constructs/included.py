"""Many L1 resources of one construct, created in Node by one call to the jsii runtime.

A model's dozen alarms and its dashboard each sat under a wrapper ``Construct`` (``<id>/Resource``,
the path ``Metric.create_alarm`` and ``cloudwatch.Dashboard`` use, which the logical id hashes):
two round trips per resource, about 26 per model, the largest per-model share of the synth's
round trips at 500 models (``bench/scale.py``). :class:`IncludedResources` collects such
resources as CloudFormation JSON at the construct paths they had, computes each one's logical id
as aws-cdk-lib does (:mod:`cdk_constructs.logical_ids`) and creates them all with one
``cloudformation_include.CfnInclude``: Node builds the same L1 classes (``CfnAlarm``,
``CfnDashboard``) from the template, so the tag aspects, the L1's validation and rendering and
the cdk-nag rules see the same resources, and the template is the same: logical ids, ``Type``,
``Properties`` and, when path metadata is on (``cdk synth``), the ``aws:cdk:path`` the resource
had (the included template's ``Metadata`` replaces the one the L1 records). What changes is the
construct tree (``tree.json``): the resources sit under ``<scope>/<include id>/<logical id>``.

The placement of a construct (its stack and construct ids below it) is recorded as the app
creates its per-model scopes (:func:`record_child`), so neither the include nor a reference
written as the intrinsic it resolves to (:meth:`Placement.logical_id`) asks Node for a path.

Values are JSON; a string may hold aws-cdk tokens (``Aws.REGION``, an imported ARN): the include
runs in the same jsii runtime, which resolves them at synth as for any other string.
"""

from __future__ import annotations

import json
import os
import tempfile
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aws_cdk.cloudformation_include as cfn_include
from aws_cdk import Stack
from constructs import Construct

from cdk_constructs.logical_ids import make_unique_id

# aws-cdk-lib cx-api: the context key `cdk synth` sets to write each resource's construct path.
PATH_METADATA_ENABLE_CONTEXT = "aws:cdk:enable-path-metadata"
PATH_METADATA_KEY = "aws:cdk:path"
# Strings longer than this go to the include as parameter values, not in its file (_value).
LONG_STRING = 24


@dataclass(frozen=True)
class _StackPlacement:
    path: str
    path_metadata: bool


_STACKS: weakref.WeakKeyDictionary[Stack, _StackPlacement] = weakref.WeakKeyDictionary()


def _stack_placement(stack: Stack) -> _StackPlacement:
    """``stack``'s construct path and whether path metadata is on, read once per stack."""
    known = _STACKS.get(stack)
    if known is None:
        node = stack.node
        known = _STACKS[stack] = _StackPlacement(
            path=node.path,
            path_metadata=bool(node.try_get_context(PATH_METADATA_ENABLE_CONTEXT)),
        )
    return known


def sanitize_id(construct_id: str) -> str:
    """A construct id as the constructs library stores it (``/`` becomes ``--``)."""
    return construct_id.replace("/", "--")


@dataclass(frozen=True)
class Placement:
    """Where a construct is: its stack's placement and its construct ids below the stack."""

    stack: _StackPlacement
    components: tuple[str, ...]

    @property
    def path(self) -> str:
        return "/".join((self.stack.path, *self.components))

    def logical_id(self, *below: str) -> str:
        """The logical id of an element at ``below`` (construct ids) under this construct."""
        return make_unique_id((*self.components, *(sanitize_id(c) for c in below)))


# Constructs whose placement the app recorded as it created them (no round trip to read it).
_PLACEMENTS: weakref.WeakKeyDictionary[Construct, Placement] = weakref.WeakKeyDictionary()


def record_stack_child(stack: Stack, child: Construct, construct_id: str) -> None:
    """Record that ``child`` was just created as ``Construct(stack, construct_id)``."""
    _PLACEMENTS[child] = Placement(_stack_placement(stack), (sanitize_id(construct_id),))


def record_child(parent: Construct, child: Construct, construct_id: str) -> None:
    """Record that ``child`` was just created under ``parent`` with ``construct_id``, when
    ``parent``'s placement is known (else :func:`placement` reads it when asked)."""
    if isinstance(parent, Stack):
        record_stack_child(parent, child, construct_id)
        return
    known = _PLACEMENTS.get(parent)
    if known is not None:
        _PLACEMENTS[child] = Placement(known.stack, (*known.components, sanitize_id(construct_id)))


def placement(scope: Construct, *, stack: Stack | None = None) -> Placement:
    """``scope``'s placement: recorded, or read from the jsii runtime (``stack``: its stack,
    when the caller has it at hand)."""
    known = _PLACEMENTS.get(scope)
    if known is None:
        in_stack = _stack_placement(stack or Stack.of(scope))
        path = scope.node.path
        prefix = f"{in_stack.path}/"
        if not path.startswith(prefix):
            raise ValueError(f"construct {path!r} is not inside stack {in_stack.path!r}")
        known = _PLACEMENTS[scope] = Placement(in_stack, tuple(path[len(prefix) :].split("/")))
    return known


class IncludedResources:
    """CloudFormation resources at construct paths below ``scope``, created by :meth:`create`.

    ``stack`` is ``scope``'s stack when the caller has it at hand (else looked up once).
    """

    def __init__(self, scope: Construct, *, stack: Stack | None = None) -> None:
        self.scope = scope
        self._placement = placement(scope, stack=stack)
        self.scope_path = self._placement.path
        self._resources: dict[str, dict[str, Any]] = {}
        self._paths: set[tuple[str, ...]] = set()
        # Long strings by parameter name (see _value).
        self._strings: dict[str, str] = {}
        self._names: dict[str, str] = {}
        self.include: cfn_include.CfnInclude | None = None

    def add(self, path: Sequence[str], resource_type: str, properties: Mapping[str, Any]) -> str:
        """Add a ``resource_type`` resource whose construct path below ``scope`` is ``path``
        (e.g. ``("HighLatency", "Resource")``), its ``properties`` in CloudFormation's names.
        Returns its logical id."""
        if self.include is not None:
            raise RuntimeError(f"resources under {self.scope_path!r} were already created")
        relative = tuple(sanitize_id(c) for c in path)
        if relative in self._paths:
            raise ValueError(
                f"there is already a resource at {self.scope_path}/{'/'.join(relative)}"
            )
        logical_id = self._placement.logical_id(*relative)
        if logical_id in self._resources:
            raise ValueError(f"two resources under {self.scope_path!r} get logical id {logical_id}")
        self._paths.add(relative)
        resource: dict[str, Any] = {
            "Type": resource_type,
            "Properties": {key: self._value(value) for key, value in properties.items()},
        }
        if self._placement.stack.path_metadata:
            resource["Metadata"] = {
                PATH_METADATA_KEY: self._value("/".join((self.scope_path, *relative)))
            }
        self._resources[logical_id] = resource
        return logical_id

    def create(self, construct_id: str) -> cfn_include.CfnInclude:
        """Create every added resource with one ``CfnInclude`` (``construct_id`` under
        ``scope``), keeping the logical ids."""
        if self.include is not None:
            raise RuntimeError(f"resources under {self.scope_path!r} were already created")
        template = {
            "Parameters": {name: {"Type": "String"} for name in self._strings},
            "Resources": self._resources,
        }
        body = json.dumps(template, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
        handle, name = tempfile.mkstemp(prefix="included-", suffix=".json")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(body)
            # CfnInclude reads the file in its constructor and keeps the parsed template.
            self.include = cfn_include.CfnInclude(
                self.scope,
                construct_id,
                template_file=name,
                preserve_logical_ids=True,
                parameters=self._strings,
            )
        finally:
            os.unlink(name)
        return self.include

    def _value(self, value: Any) -> Any:
        """``value`` for the template file, its long strings replaced by a ``Ref`` to a
        template parameter that ``CfnInclude`` replaces with the string itself.

        ``CfnInclude`` parses the file as YAML (4 ms for a model's alarms and dashboard, 12
        times ``JSON.parse``, and the parsed template is kept): a dashboard body and the
        descriptions, passed as parameter values, travel as JSON instead and leave the file
        small. The L1 receives the same strings either way.
        """
        if isinstance(value, str) and len(value) > LONG_STRING:
            name = self._names.get(value)
            if name is None:
                name = self._names[value] = f"String{len(self._strings)}"
                self._strings[name] = value
            return {"Ref": name}
        if isinstance(value, Mapping):
            return {k: self._value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._value(v) for v in value]
        return value

    @property
    def logical_ids(self) -> tuple[str, ...]:
        return tuple(self._resources)

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


class IncludedResources:
    """CloudFormation resources at construct paths below ``scope``, created by :meth:`create`.

    ``stack`` is ``scope``'s stack when the caller has it at hand (else looked up once).
    """

    def __init__(self, scope: Construct, *, stack: Stack | None = None) -> None:
        self.scope = scope
        stack = stack or Stack.of(scope)
        self._stack = _stack_placement(stack)
        path = scope.node.path
        prefix = f"{self._stack.path}/"
        if not path.startswith(prefix):
            raise ValueError(f"construct {path!r} is not inside stack {self._stack.path!r}")
        self.scope_path = path
        self._components = tuple(path[len(prefix) :].split("/"))
        self._resources: dict[str, dict[str, Any]] = {}
        self._paths: set[tuple[str, ...]] = set()
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
        logical_id = make_unique_id(self._components + relative)
        if logical_id in self._resources:
            raise ValueError(f"two resources under {self.scope_path!r} get logical id {logical_id}")
        self._paths.add(relative)
        resource: dict[str, Any] = {"Type": resource_type, "Properties": dict(properties)}
        if self._stack.path_metadata:
            resource["Metadata"] = {PATH_METADATA_KEY: "/".join((self.scope_path, *relative))}
        self._resources[logical_id] = resource
        return logical_id

    def create(self, construct_id: str) -> cfn_include.CfnInclude:
        """Create every added resource with one ``CfnInclude`` (``construct_id`` under
        ``scope``), keeping the logical ids."""
        if self.include is not None:
            raise RuntimeError(f"resources under {self.scope_path!r} were already created")
        body = json.dumps({"Resources": self._resources}, allow_nan=False, ensure_ascii=False)
        handle, name = tempfile.mkstemp(prefix="included-", suffix=".json")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(body)
            # CfnInclude reads the file in its constructor and keeps the parsed template.
            self.include = cfn_include.CfnInclude(
                self.scope, construct_id, template_file=name, preserve_logical_ids=True
            )
        finally:
            os.unlink(name)
        return self.include

    @property
    def logical_ids(self) -> tuple[str, ...]:
        return tuple(self._resources)

"""Read synthesized CloudFormation templates into the resources governance rules look at.

A validation plugin is handed the template files CDK has just written (``templatePaths``), so
the Governance rules read plain JSON: what CloudFormation will deploy, raw overrides and
Aspects included, with no call into the JavaScript runtime per resource.

Each template is read with its cloud assembly's ``manifest.json`` (stack name, environment and
the nested assembly of a Stage) so that references can be followed across stacks:

- ``Ref`` / ``Fn::GetAtt`` to a resource of the same template become a :class:`Ref`;
- ``Fn::GetStackOutput`` (CDK 2.275's cross-stack reference: ``StackName``, ``OutputName`` and
  optionally ``Region``/``RoleArn``) and ``Fn::ImportValue`` of a literal export name are
  replaced by the producing stack's output ``Value``, itself resolved in the producer's
  template. ``cloudformation_include`` cannot parse ``Fn::GetStackOutput``, hence this module.

Everything else (parameters, pseudo parameters, ``Fn::If``, ``Fn::Join``...) is kept as the
intrinsic it is, which rules read as "known only at deploy time" (the app's one evaluator,
:mod:`cdk_constructs.intrinsics`, with its ``Symbolic`` policy).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cdk_constructs.compliance.rules.framework import Environment, Ref, Resource
from cdk_constructs.intrinsics import NO_VALUE, Evaluator, Found, Symbolic

STACK_ARTIFACT = "aws:cloudformation:stack"
NESTED_ASSEMBLY_ARTIFACT = "cdk:cloud-assembly"
LOGICAL_ID_METADATA = "aws:cdk:logicalId"
PATH_METADATA = "aws:cdk:path"
_UNKNOWN_ACCOUNT = "unknown-account"
_UNKNOWN_REGION = "unknown-region"
# Deep enough for output → output chains; a cycle cannot be deployed anyway.
_MAX_REFERENCE_DEPTH = 8
# What the rules follow; every other intrinsic is "known only at deploy time".
_FOLLOWED = frozenset({"Ref", "Fn::GetAtt", "Fn::GetStackOutput", "Fn::ImportValue"})


@dataclass(frozen=True)
class StackTemplate:
    """One synthesized stack: its template and where it is deployed."""

    template_path: str
    template: Mapping[str, Any]
    stack_name: str
    construct_path: str
    environment: Environment
    # Logical id → construct path, from the assembly's metadata (used when the template has
    # no ``aws:cdk:path`` resource metadata, which only the CDK CLI turns on by default).
    construct_paths: Mapping[str, str] = field(default_factory=dict)

    def resources(self) -> Mapping[str, Any]:
        raw = self.template.get("Resources")
        return raw if isinstance(raw, Mapping) else {}

    def resource_path(self, logical_id: str) -> str:
        resource = self.resources().get(logical_id)
        metadata = resource.get("Metadata") if isinstance(resource, Mapping) else None
        path = metadata.get(PATH_METADATA) if isinstance(metadata, Mapping) else None
        if isinstance(path, str) and path:
            return path
        return self.construct_paths.get(logical_id, f"{self.construct_path}/{logical_id}")


def read_assembly(directory: str | Path) -> list[StackTemplate]:
    """Every stack of a cloud assembly, nested Stage assemblies included."""
    return _read_assembly(Path(directory), _Manifests())


def _read_assembly(folder: Path, manifests: _Manifests) -> list[StackTemplate]:
    manifest = manifests.get(folder)
    stage = manifests.stage_path(folder)
    stacks = [
        _stack(folder, artifact_id, artifact, stage)
        for artifact_id, artifact in _artifacts(manifest)
        if artifact.get("type") == STACK_ARTIFACT
    ]
    for _, artifact in _artifacts(manifest):
        if artifact.get("type") == NESTED_ASSEMBLY_ARTIFACT:
            nested = _properties(artifact).get("directoryName")
            if isinstance(nested, str):
                stacks.extend(_read_assembly(folder / nested, manifests))
    return stacks


def read_templates(template_paths: Iterable[str]) -> list[StackTemplate]:
    """The stacks whose templates are ``template_paths`` (what a validation plugin is handed)."""
    wanted: dict[Path, set[str]] = {}
    for template_path in template_paths:
        path = Path(template_path)
        wanted.setdefault(path.parent, set()).add(path.name)
    manifests = _Manifests()
    stacks: list[StackTemplate] = []
    for folder, names in wanted.items():
        manifest = manifests.get(folder)
        stage = manifests.stage_path(folder)
        found = set()
        for artifact_id, artifact in _artifacts(manifest):
            template_file = _properties(artifact).get("templateFile")
            if artifact.get("type") == STACK_ARTIFACT and template_file in names:
                stacks.append(_stack(folder, artifact_id, artifact, stage))
                found.add(template_file)
        for name in sorted(names - found):
            # A template without a manifest entry: read it alone, environment unknown.
            stacks.append(
                StackTemplate(
                    template_path=str(folder / name),
                    template=_read_json(folder / name),
                    stack_name=name.removesuffix(".template.json"),
                    construct_path=name.removesuffix(".template.json"),
                    environment=Environment(stage, None, None),
                )
            )
    return stacks


def _artifacts(manifest: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    artifacts = manifest.get("artifacts")
    if not isinstance(artifacts, Mapping):
        return []
    return [(str(k), v) for k, v in artifacts.items() if isinstance(v, Mapping)]


def _properties(artifact: Mapping[str, Any]) -> Mapping[str, Any]:
    properties = artifact.get("properties")
    return properties if isinstance(properties, Mapping) else {}


class _Manifests:
    """Each folder's ``manifest.json``, read once per call."""

    def __init__(self) -> None:
        self._read: dict[Path, Mapping[str, Any]] = {}

    def get(self, folder: Path) -> Mapping[str, Any]:
        if folder not in self._read:
            path = folder / "manifest.json"
            self._read[folder] = _read_json(path) if path.is_file() else {}
        return self._read[folder]

    def stage_path(self, folder: Path) -> str:
        """The construct path of the Stage whose nested assembly is ``folder`` ("" for the app)."""
        parent = folder.parent
        if parent == folder:
            return ""
        for artifact_id, artifact in _artifacts(self.get(parent)):
            properties = _properties(artifact)
            if (
                artifact.get("type") == NESTED_ASSEMBLY_ARTIFACT
                and properties.get("directoryName") == folder.name
            ):
                return str(
                    properties.get("displayName") or artifact.get("displayName") or artifact_id
                )
        return ""


def _read_json(path: Path) -> Mapping[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, Mapping) else {}


def _stack(
    folder: Path, artifact_id: str, artifact: Mapping[str, Any], stage: str
) -> StackTemplate:
    properties = _properties(artifact)
    template_file = str(properties.get("templateFile") or f"{artifact_id}.template.json")
    template_path = folder / template_file
    construct_path = str(artifact.get("displayName") or artifact_id)
    return StackTemplate(
        template_path=str(template_path),
        template=_read_json(template_path),
        stack_name=str(properties.get("stackName") or artifact_id),
        construct_path=construct_path,
        environment=_environment(artifact.get("environment"), stage),
        construct_paths=_LazyConstructPaths(folder, artifact),
    )


def _environment(value: Any, stage: str) -> Environment:
    account: str | None = None
    region: str | None = None
    if isinstance(value, str) and value.startswith("aws://"):
        account_part, _, region_part = value.removeprefix("aws://").partition("/")
        account = None if account_part in ("", _UNKNOWN_ACCOUNT) else account_part
        region = None if region_part in ("", _UNKNOWN_REGION) else region_part
    return Environment(stage_path=stage, account=account, region=region)


class _LazyConstructPaths(Mapping[str, str]):
    """Logical id → construct path from the stack's metadata, read only if asked for.

    The metadata file also holds creation stack traces, so it is skipped when the templates
    carry ``aws:cdk:path`` (as they do under the CDK CLI).
    """

    def __init__(self, folder: Path, artifact: Mapping[str, Any]) -> None:
        self._folder = folder
        self._artifact = artifact
        self._paths: dict[str, str] | None = None

    def _load(self) -> dict[str, str]:
        if self._paths is None:
            entries: Mapping[str, Any] = {}
            inline = self._artifact.get("metadata")
            extra = self._artifact.get("additionalMetadataFile")
            if isinstance(extra, str) and (self._folder / extra).is_file():
                entries = _read_json(self._folder / extra)
            elif isinstance(inline, Mapping):
                entries = inline
            self._paths = {
                str(entry["data"]): path.lstrip("/")
                for path, items in entries.items()
                if isinstance(items, list)
                for entry in items
                if isinstance(entry, Mapping)
                and entry.get("type") == LOGICAL_ID_METADATA
                and isinstance(entry.get("data"), str)
            }
        return self._paths

    def __getitem__(self, key: str) -> str:
        return self._load()[key]

    def __iter__(self) -> Any:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


@dataclass(frozen=True)
class TemplateSet:
    """The resources of a set of stacks, with references resolved across them."""

    resources: tuple[Resource, ...]
    # Stack construct path → the template's ``Metadata`` section.
    stack_metadata: Mapping[str, Mapping[str, Any]]


def load_resources(stacks: Sequence[StackTemplate]) -> TemplateSet:
    """Every resource of ``stacks`` as a rule sees it (see the module docstring)."""
    resolver = _Resolver(stacks)
    resources: list[Resource] = []
    metadata: dict[str, Mapping[str, Any]] = {}
    for stack in stacks:
        raw_metadata = stack.template.get("Metadata")
        metadata[stack.construct_path] = raw_metadata if isinstance(raw_metadata, Mapping) else {}
        for logical_id, raw in stack.resources().items():
            if not isinstance(raw, Mapping):
                continue
            properties = raw.get("Properties")
            resources.append(
                Resource(
                    path=resolver.path(stack, str(logical_id)),
                    type=str(raw.get("Type", "")),
                    props=_ResolvedProperties(resolver, stack, properties),
                    environment=stack.environment,
                    deletion_policy=_policy(raw.get("DeletionPolicy")),
                    update_replace_policy=_policy(raw.get("UpdateReplacePolicy")),
                    logical_id=str(logical_id),
                    stack=stack.construct_path,
                    template_path=stack.template_path,
                    metadata=_mapping(raw.get("Metadata")),
                    depends_on=_depends_on(raw.get("DependsOn")),
                )
            )
    return TemplateSet(tuple(resources), metadata)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _depends_on(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(item) for item in value)
    return ()


class _ResolvedProperties(Mapping[str, Any]):
    """A resource's ``Properties`` with references resolved on first read: most resources of a
    large app (alarms, dashboards, parameters) are never read by any rule, and most rules read
    one or two properties (``Tags``, a role), so each property is resolved when it is read.

    Resolving a property on its own gives what resolving the whole mapping gives for it (each
    value is evaluated independently, in the same stack). Only an intrinsic function call can
    evaluate to "no value" and drop its key, so counting or listing the keys resolves just those.
    """

    def __init__(self, resolver: _Resolver, stack: StackTemplate, raw: Any) -> None:
        self._resolver = resolver
        self._stack = stack
        self._raw = raw
        self._resolved: Mapping[str, Any] | None = None
        # Properties written as an object (always, in a CDK template) resolve key by key; a
        # Properties that is itself an intrinsic resolves as a whole.
        self._by_key = isinstance(raw, dict) and not _is_call(raw)
        self._values: dict[str, Any] = {}

    def _value(self) -> Mapping[str, Any]:
        if self._resolved is None:
            if self._by_key:
                self._resolved = {key: self._property(key) for key in self}
            else:
                resolved = self._resolver.resolve(self._stack, self._raw)
                # A template's Properties is an object; anything else is kept as an
                # intrinsic-like value under a key no rule reads, so the resource still reads
                # as "unknown".
                self._resolved = resolved if isinstance(resolved, Mapping) else {}
        return self._resolved

    def _property(self, key: str) -> Any:
        """The resolved value of ``key`` (``NO_VALUE`` when it resolves to no value)."""
        if key not in self._values:
            self._values[key] = self._resolver.resolve(self._stack, self._raw[key])
        return self._values[key]

    def _present(self, key: str) -> bool:
        value = self._raw[key]
        if isinstance(value, dict) and _is_call(value):
            return self._property(key) is not NO_VALUE
        return True

    def __getitem__(self, key: str) -> Any:
        if not self._by_key:
            return self._value()[key]
        if key not in self._raw:
            raise KeyError(key)
        value = self._property(key)
        if value is NO_VALUE:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        if not self._by_key:
            return iter(self._value())
        return (key for key in self._raw if self._present(key))

    def __len__(self) -> int:
        if not self._by_key:
            return len(self._value())
        return sum(1 for key in self._raw if self._present(key))

    def __repr__(self) -> str:
        return repr(dict(self._value()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self._value()) == dict(other)

    __hash__ = None  # type: ignore[assignment]


def _is_call(value: dict[Any, Any]) -> bool:
    """``{"Ref": ...}`` or ``{"Fn::<name>": ...}``: what the evaluator treats as a function."""
    if len(value) != 1:
        return False
    name = next(iter(value))
    return isinstance(name, str) and (name == "Ref" or name.startswith("Fn::"))


def _policy(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class _Resolver(Evaluator[StackTemplate]):
    """References to resources become :class:`Ref`, cross-stack references the producer's
    output; the other intrinsics stay as they are (:class:`Symbolic`)."""

    def __init__(self, stacks: Sequence[StackTemplate]) -> None:
        super().__init__(Symbolic(), functions=_FOLLOWED)
        self._stacks = list(stacks)
        self._paths: dict[tuple[int, str], str] = {}
        self._by_name: dict[str, list[StackTemplate]] = {}
        self._exports: dict[str, list[tuple[StackTemplate, Any]]] = {}
        self._hops = 0
        self._followed: dict[tuple[int, int], Any] = {}
        for stack in self._stacks:
            self._by_name.setdefault(stack.stack_name, []).append(stack)
            for output in _outputs(stack).values():
                export = output.get("Export") if isinstance(output, Mapping) else None
                name = export.get("Name") if isinstance(export, Mapping) else None
                if isinstance(name, str):
                    self._exports.setdefault(name, []).append((stack, output.get("Value")))

    def path(self, stack: StackTemplate, logical_id: str) -> str:
        key = (id(stack), logical_id)
        found = self._paths.get(key)
        if found is None:
            found = self._paths[key] = stack.resource_path(logical_id)
        return found

    def resolve(self, stack: StackTemplate, value: Any) -> Any:
        return self.evaluate(stack, value)

    def describe(self, scope: StackTemplate) -> str:
        return f"stack {scope.stack_name}"

    def reference(self, scope: StackTemplate, name: Any, value: Any, depth: int) -> Any:
        found = self._reference(scope, name, "Ref") if isinstance(name, str) else None
        return found or self.unknown(scope, f"Ref to {name}", value, depth)

    def attribute(
        self, scope: StackTemplate, logical_id: str, attribute: Any, value: Any, depth: int
    ) -> Any:
        found = (
            self._reference(scope, logical_id, attribute)
            if isinstance(logical_id, str) and isinstance(attribute, str)
            else None
        )
        return found or self.unknown(scope, f"Fn::GetAtt {logical_id}", value, depth)

    def stack_output(
        self, scope: StackTemplate, argument: Mapping[str, Any]
    ) -> Found[StackTemplate]:
        producer = self._producer(scope, argument) if self._hops < _MAX_REFERENCE_DEPTH else None
        name = argument.get("OutputName")
        output = _outputs(producer).get(name) if producer and isinstance(name, str) else None
        if producer is None or not isinstance(output, Mapping) or "Value" not in output:
            return "no single producing stack"
        return producer, output["Value"]

    def export(self, scope: StackTemplate, name: Any) -> Found[StackTemplate]:
        exporters = (
            [
                (producer, exported)
                for producer, exported in self._exports.get(name, ())
                if producer.environment.overlaps(scope.environment)
            ]
            if isinstance(name, str) and self._hops < _MAX_REFERENCE_DEPTH
            else []
        )
        return exporters[0] if len(exporters) == 1 else "no single exporting stack"

    def follow(self, producer: StackTemplate, value: Any, depth: int) -> Any:
        # A reference chain that starts here has its whole hop budget, so the producer's output
        # evaluates the same wherever it is read: an immutable result is kept (the foundation's
        # outputs are read thousands of times at a few hundred models; bench/scale.py).
        first_hop = self._hops == 0
        key = (id(producer), id(value))
        if first_hop and key in self._followed:
            return self._followed[key]
        self._hops += 1
        try:
            result = self.evaluate(producer, value, depth + 1)
        finally:
            self._hops -= 1
        if first_hop and isinstance(result, (str, int, float, Ref)):
            self._followed[key] = result
        return result

    def _reference(self, stack: StackTemplate, logical_id: str, attribute: str) -> Ref | None:
        target = stack.resources().get(logical_id)
        if not isinstance(target, Mapping):
            return None  # a parameter, a pseudo parameter or a typo: known at deploy time
        return Ref(
            target_path=self.path(stack, logical_id),
            target_type=str(target.get("Type", "")),
            attribute=attribute,
        )

    def _producer(self, stack: StackTemplate, argument: Mapping[str, Any]) -> StackTemplate | None:
        name = argument.get("StackName")
        region = argument.get("Region", stack.environment.region)
        if not isinstance(name, str) or not (region is None or isinstance(region, str)):
            return None
        candidates = [
            candidate
            for candidate in self._by_name.get(name, ())
            if candidate.environment.stage_path == stack.environment.stage_path
            and (region is None or candidate.environment.region in (None, region))
        ]
        if len(candidates) > 1:
            # The same stack name in several accounts: the consumer's account decides.
            candidates = [c for c in candidates if c.environment.overlaps(stack.environment)]
        return candidates[0] if len(candidates) == 1 else None


def _outputs(stack: StackTemplate) -> Mapping[str, Any]:
    outputs = stack.template.get("Outputs")
    return outputs if isinstance(outputs, Mapping) else {}

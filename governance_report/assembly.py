"""Load a CDK cloud assembly (``cdk.out``): stacks, templates, validation report, inventory.

Only the files a synth writes are read (``manifest.json``, each stack's template,
``validation-report.json``, the app's ``governance-inventory.json`` and file assets): no app
import, no AWS call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cdk_constructs.partitions import pseudo_parameters
from governance_report.intrinsics import as_list, dig, literal, show
from governance_report.inventory import INVENTORY_FILE, Inventory, InventoryError, read_inventory

STACK_ARTIFACT = "aws:cloudformation:stack"
_ACCOUNT = re.compile(r"^\d{12}$")
# CDK file assets are staged as cdk.out/asset.<hash>[.ext] and uploaded as <hash>[.ext].
_ASSET_KEY = re.compile(r"^s3://[^/]+/(?P<key>[0-9a-f]{64}(?:\.[A-Za-z0-9]+)?)$")


class AssemblyError(Exception):
    """The folder is not a readable cloud assembly."""


@dataclass(frozen=True)
class Resource:
    stack: str
    logical_id: str
    type: str
    properties: Mapping[str, Any]
    deletion_policy: str | None
    path: str
    tags: Mapping[str, str]
    # The resource's own Metadata and DependsOn, as written.
    metadata: Mapping[str, Any] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()

    def prop(self, *keys: str) -> Any:
        return dig(self.properties, *keys)

    @property
    def key(self) -> tuple[str, str]:
        return (self.stack, self.logical_id)

    @property
    def label(self) -> str:
        """The construct path when CDK recorded one, else ``stack/logical id``."""
        return self.path or f"{self.stack}/{self.logical_id}"


@dataclass(frozen=True)
class Stack:
    name: str
    template_file: str
    account: str | None
    region: str | None
    resources: tuple[Resource, ...]
    template_bytes: int

    @property
    def pseudo(self) -> dict[str, str]:
        return pseudo_parameters(self.account, self.region)

    def by_logical_id(self) -> dict[str, Resource]:
        return {r.logical_id: r for r in self.resources}


@dataclass(frozen=True)
class Violation:
    """One rule result of one pack, open or acknowledged, with the constructs it names."""

    pack: str
    rule: str
    description: str
    severity: str
    construct_paths: tuple[str, ...]
    reason: str = ""  # acknowledgments only
    acknowledged_at: str = ""


@dataclass(frozen=True)
class PackReport:
    name: str
    conclusion: str
    findings: tuple[Violation, ...]
    acknowledgments: tuple[Violation, ...]
    # The pack's full rule list, when its report publishes one (needed to list passed rules).
    rule_ids: tuple[str, ...] | None


@dataclass(frozen=True)
class ValidationReport:
    packs: tuple[PackReport, ...]

    def pack(self, name: str) -> PackReport | None:
        return next((p for p in self.packs if p.name == name), None)

    @property
    def findings(self) -> tuple[Violation, ...]:
        return tuple(f for pack in self.packs for f in pack.findings)

    @property
    def acknowledgments(self) -> tuple[Violation, ...]:
        return tuple(a for pack in self.packs for a in pack.acknowledgments)


@dataclass(frozen=True)
class Assembly:
    folder: Path
    stacks: tuple[Stack, ...]
    validation: ValidationReport | None
    validation_problem: str | None = None
    inventory: Inventory | None = None
    inventory_problem: str | None = None
    _names: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def resources(self) -> Iterator[Resource]:
        for stack in self.stacks:
            yield from stack.resources

    def stack(self, name: str) -> Stack | None:
        return next((s for s in self.stacks if s.name == name), None)

    def readable(self, text: str) -> str:
        """``text`` with every CDK logical id it quotes (cdk-nag writes them into finding ids,
        ``<Artifacts80C0BB10.Arn>``) replaced by its construct path (``<Artifacts.Arn>``)."""
        if not self._names:
            self._names.update(_readable_ids(self))
        names = self._names
        return _LOGICAL_ID.sub(lambda m: names.get(m.group(0), m.group(0)), text)

    def staged_file(self, stack: str, depends_on: Sequence[str], file: str) -> str | None:
        """A file CDK's BucketDeployment (one of ``depends_on`` in ``stack``) publishes from its
        first source: ``asset.<SourceObjectKeys[0] without .zip>/<file>``; ``None`` if absent."""
        found = self.stack(stack)
        if found is None:
            return None
        deployments = [
            r
            for r in found.resources
            if r.type == "Custom::CDKBucketDeployment" and r.logical_id in depends_on
        ]
        if len(deployments) != 1:
            return None
        keys = as_list(deployments[0].prop("SourceObjectKeys"))
        if not keys or not isinstance(keys[0], str):
            return None
        path = self.folder / f"asset.{keys[0].removesuffix('.zip')}" / file
        try:
            return path.read_text(encoding="utf-8")
        except OSError:
            return None

    def asset_json(self, uri: Any) -> Any:
        """The JSON file asset a template names by its S3 URI (e.g. a Clarify analysis config),
        read from the assembly where CDK staged it; ``None`` when it is not a staged asset.
        """
        text = literal(uri)
        match = _ASSET_KEY.match(text or "")
        if match is None:
            return None
        path = self.folder / f"asset.{match.group('key')}"
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None


_LOGICAL_ID = re.compile(r"[A-Za-z][A-Za-z0-9]*[0-9A-F]{8}")
_PLUMBING = {"Resource", "Default"}


def _readable_ids(assembly: Assembly) -> dict[str, str]:
    names: dict[str, str] = {}
    for stack in assembly.stacks:
        for resource in stack.resources:
            parts = [p for p in resource.path.split("/")[1:] if p not in _PLUMBING]
            if parts:
                names.setdefault(resource.logical_id, "/".join(parts))
    return names


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise AssemblyError(f"{path} is not valid JSON: {error}") from error


def _tags(properties: Mapping[str, Any]) -> dict[str, str]:
    raw = properties.get("Tags")
    if isinstance(raw, dict):  # AWS::SSM::Parameter and a few others use a map
        return {str(k): show(v) for k, v in raw.items()}
    tags: dict[str, str] = {}
    for item in as_list(raw):
        if isinstance(item, dict) and isinstance(item.get("Key"), str):
            tags[item["Key"]] = show(item.get("Value"))
    return tags


def _environment(artifact: Mapping[str, Any]) -> tuple[str | None, str | None]:
    env = artifact.get("environment")
    if isinstance(env, str) and env.startswith("aws://"):
        account, _, region = env.removeprefix("aws://").partition("/")
        return (
            account if _ACCOUNT.match(account) else None,
            region if region and "unknown" not in region else None,
        )
    return None, None


def _stack(folder: Path, name: str, artifact: Mapping[str, Any]) -> Stack:
    template_file = str(dig(artifact, "properties", "templateFile") or f"{name}.template.json")
    path = folder / template_file
    if not path.is_file():
        raise AssemblyError(f"stack {name}: template {template_file} not found in {folder}")
    template = read_json(path)
    resources = []
    raw_resources = template.get("Resources") if isinstance(template, dict) else None
    for logical_id, raw in (raw_resources or {}).items():
        if not isinstance(raw, dict):
            continue
        properties = raw.get("Properties")
        properties = properties if isinstance(properties, dict) else {}
        resources.append(
            Resource(
                stack=name,
                logical_id=str(logical_id),
                type=str(raw.get("Type", "")),
                properties=properties,
                deletion_policy=literal(raw.get("DeletionPolicy")),
                path=str(dig(raw, "Metadata", "aws:cdk:path") or ""),
                tags=_tags(properties),
                metadata=raw["Metadata"] if isinstance(raw.get("Metadata"), dict) else {},
                depends_on=tuple(str(d) for d in as_list(raw.get("DependsOn"))),
            )
        )
    account, region = _environment(artifact)
    return Stack(name, template_file, account, region, tuple(resources), path.stat().st_size)


def _paths(entry: Mapping[str, Any]) -> tuple[str, ...]:
    paths = []
    for construct in as_list(entry.get("violatingConstructs")):
        if isinstance(construct, dict):
            paths.append(str(construct.get("constructPath") or construct.get("resourceLogicalId")))
    return tuple(paths)


def rule_ids(plugin: Mapping[str, Any]) -> tuple[str, ...] | None:
    for found in (plugin.get("ruleIds"), dig(plugin, "metadata", "ruleIds")):
        raw = found
        if isinstance(found, str):
            try:
                raw = json.loads(found)
            except json.JSONDecodeError:
                raw = [part.strip() for part in found.split(",") if part.strip()]
        if isinstance(raw, list):
            return tuple(str(rule) for rule in raw)
    return None


def _violation(pack: str, entry: Mapping[str, Any]) -> Violation:
    return Violation(
        pack=pack,
        rule=str(entry.get("ruleName", "")),
        description=str(entry.get("description", "")),
        severity=str(entry.get("severity", "")),
        construct_paths=_paths(entry),
        reason=str(entry.get("reason", "")),
        acknowledged_at=str(entry.get("acknowledgedAt", "")),
    )


# Severities cdk's report formatter uses; informational and debug results are never open.
NOT_OPEN = frozenset({"informational", "info", "debug"})


def parse_validation_report(raw: Any) -> ValidationReport:
    packs = []
    for plugin in as_list(dig(raw, "pluginReports")):
        if not isinstance(plugin, dict):
            continue
        name = str(plugin.get("pluginName", "unknown"))
        findings = tuple(
            _violation(name, v)
            for v in as_list(plugin.get("violations"))
            if isinstance(v, dict) and str(v.get("severity", "")).lower() not in NOT_OPEN
        )
        acknowledgments = tuple(
            _violation(name, s)
            for s in as_list(plugin.get("suppressedViolations"))
            if isinstance(s, dict)
        )
        packs.append(
            PackReport(
                name=name,
                conclusion=str(plugin.get("conclusion", "")),
                findings=findings,
                acknowledgments=acknowledgments,
                rule_ids=rule_ids(plugin),
            )
        )
    return ValidationReport(tuple(packs))


VALIDATION_REPORT_FILE = "validation-report.json"


def load_validation(folder: Path) -> tuple[ValidationReport | None, str | None]:
    """The validation report of ``folder``, or the reason there is none."""
    report_path = folder / VALIDATION_REPORT_FILE
    if not report_path.is_file():
        return None, (
            f"{VALIDATION_REPORT_FILE} is missing: the compliance packs did not run (or wrote no "
            "report) for this assembly, so no findings or acknowledgments are shown."
        )
    try:
        return parse_validation_report(read_json(report_path)), None
    except AssemblyError as error:
        return None, f"{VALIDATION_REPORT_FILE} could not be read: {error}"


def load_assembly(folder: Path) -> Assembly:
    """Read ``folder`` (a ``cdk.out``). Raises :class:`AssemblyError` when it is not one."""
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise AssemblyError(
            f"{folder} is not a CDK cloud assembly: manifest.json not found "
            "(run `cdk synth` first, or pass --assembly <cdk.out folder>)"
        )
    manifest = read_json(manifest_path)
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    stacks = tuple(
        _stack(folder, name, artifact)
        for name, artifact in sorted((artifacts or {}).items())
        if isinstance(artifact, dict) and artifact.get("type") == STACK_ARTIFACT
    )
    validation, problem = load_validation(folder)
    inventory: Inventory | None = None
    inventory_problem: str | None = None
    _names: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    try:
        inventory = read_inventory(folder)
    except InventoryError as error:
        inventory_problem = str(error)
    if inventory is None and inventory_problem is None:
        inventory_problem = (
            f"{INVENTORY_FILE} is missing: this assembly was not synthesized by the governance "
            "app (or by an older version), so no resource can be attributed to a model."
        )
    return Assembly(folder, stacks, validation, problem, inventory, inventory_problem)

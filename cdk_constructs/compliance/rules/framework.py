"""What governance rules look at: CloudFormation resources read from synthesized templates.

The pack (``governance_pack.py``, via ``templates.py``) turns each resource of each template into a
:class:`Resource` whose ``props`` are the template's ``Properties``, except that a ``Ref`` or
``Fn::GetAtt`` to another resource of the app (also through ``Fn::GetStackOutput`` or
``Fn::ImportValue``) is replaced by a :class:`Ref`, so rules can follow it across stacks. Rules
are pure functions of these resources, so they can be read and tested without CDK.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

T = TypeVar("T")


class Verdict(enum.Enum):
    """A rule's decision about one resource."""

    COMPLIANT = "COMPLIANT"
    NON_COMPLIANT = "NON_COMPLIANT"
    NOT_APPLICABLE = "NOT_APPLICABLE"
    # A value the rule depends on is only known at deploy time (a parameter, an import, a
    # condition). Reported as its own finding, ``<rule>[Undecidable]``, so that it fails closed
    # and can be acknowledged separately from a real violation.
    UNDECIDABLE = "UNDECIDABLE"


@dataclass(frozen=True)
class Ref:
    """A token that names another resource of the app (``Ref`` or ``Fn::GetAtt``)."""

    target_path: str
    target_type: str
    attribute: str  # "Ref" for a Ref, else the Fn::GetAtt attribute name


@dataclass(frozen=True)
class Environment:
    """Where a resource is deployed; ``None`` means environment-agnostic (a token)."""

    stage_path: str
    account: str | None
    region: str | None

    def overlaps(self, other: Environment) -> bool:
        """Could both resources land in the same account and region?"""
        if self.stage_path != other.stage_path:
            return False
        return all(
            mine is None or theirs is None or mine == theirs
            for mine, theirs in ((self.account, other.account), (self.region, other.region))
        )


@dataclass(frozen=True)
class Resource:
    """One CloudFormation resource as a rule sees it."""

    path: str
    type: str
    props: Mapping[str, Any]
    environment: Environment = field(default_factory=lambda: Environment("", None, None))
    deletion_policy: str | None = None
    update_replace_policy: str | None = None
    # Where the resource is in the cloud assembly, for reporting a finding.
    logical_id: str = ""
    stack: str = ""
    template_path: str = ""
    # The resource's own CloudFormation ``Metadata`` and ``DependsOn`` (as written, unresolved).
    metadata: Mapping[str, Any] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()

    def get(self, *keys: str) -> Any:
        """The value at ``keys`` (``None`` when absent; an intrinsic when one is in the way)."""
        return dig(self.props, *keys)

    def tags(self) -> dict[str, Any] | None:
        """Literal tag keys and their (possibly unresolved) values; ``None`` if unresolvable."""
        raw = self.props.get("Tags")
        if raw is None:
            return {}
        if isinstance(raw, Mapping) and not is_unresolved(raw):
            # A few resource types (none we check today) take tags as a plain map.
            return {k: v for k, v in raw.items() if isinstance(k, str)}
        if not isinstance(raw, list):
            return None
        found: dict[str, Any] = {}
        for tag in raw:
            if not isinstance(tag, Mapping) or not isinstance(tag.get("Key"), str):
                return None
            found[tag["Key"]] = tag.get("Value")
        return found

    def tag(self, key: str) -> Any:
        """One tag's value, ``None`` when absent, :data:`UNRESOLVED` when it cannot be read."""
        tags = self.tags()
        if tags is None:
            return UNRESOLVED
        return tags.get(key)


# A lookup key for "a value only known at deploy time" (see ``AppIndex.keyed``).
UNKNOWN_KEY = ("unknown",)

# A stand-in for "this value exists but its content is unknown at synth time".
UNRESOLVED: Mapping[str, Any] = {"Fn::Unresolved": "value not known at synth time"}


def is_intrinsic(value: Any) -> bool:
    """Is ``value`` a CloudFormation intrinsic (``{"Ref": ...}``, ``{"Fn::...": ...}``)?"""
    if not isinstance(value, Mapping):
        return False
    # The first key decides before the length is counted: a resource's properties are a lazy
    # mapping whose length resolves every key written as an intrinsic (compliance/templates.py,
    # _ResolvedProperties), and ``dig`` asks this of them on every read.
    key = next(iter(value), None)
    if not (isinstance(key, str) and (key == "Ref" or key.startswith(("Fn::", "Condition")))):
        return False
    return len(value) == 1


def is_no_value(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get("Ref") == "AWS::NoValue"


def is_unresolved(value: Any) -> bool:
    """Is the literal content of ``value`` unknown at synth time?"""
    return isinstance(value, Ref) or (is_intrinsic(value) and not is_no_value(value))


def dig(value: Any, *keys: str) -> Any:
    """Follow ``keys`` into nested mappings; stop at (and return) an unresolved value."""
    current = value
    for key in keys:
        if is_unresolved(current):
            return current
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return None if is_no_value(current) else current


def flag(value: Any, *, default: bool = False) -> bool | None:
    """A CloudFormation boolean: ``True``/``False``, or ``None`` when it cannot be decided."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    return None


def configured(value: Any) -> bool | None:
    """Is a value (a key id, a subnet list...) set? A token counts as set; ``None`` = unknown.

    ``Fn::If`` may yield ``AWS::NoValue``, so whether it sets anything cannot be decided.
    """
    if value is None or is_no_value(value):
        return False
    if isinstance(value, Mapping) and "Fn::If" in value:
        return None
    if is_unresolved(value):
        return True
    if isinstance(value, str | list | tuple | Mapping):
        return len(value) > 0
    return True


def literal_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def as_list(value: Any) -> list[Any]:
    """CloudFormation often accepts one item where it accepts a list."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def all_of(*decisions: bool | None) -> bool | None:
    """Three-valued AND: ``False`` if any is, else ``None`` if any is unknown, else ``True``."""
    if any(d is False for d in decisions):
        return False
    return None if any(d is None for d in decisions) else True


def combine(verdicts: Iterable[Verdict]) -> Verdict:
    """A definite violation beats "cannot decide", which beats compliance."""
    seen = set(verdicts)
    for verdict in (Verdict.NON_COMPLIANT, Verdict.UNDECIDABLE, Verdict.COMPLIANT):
        if verdict in seen:
            return verdict
    return Verdict.NOT_APPLICABLE


def verdict_of(decision: bool | None) -> Verdict:
    """``True`` → compliant, ``False`` → non-compliant, ``None`` → undecidable."""
    if decision is None:
        return Verdict.UNDECIDABLE
    return Verdict.COMPLIANT if decision else Verdict.NON_COMPLIANT


class AppIndex:
    """Every snapshotted resource of an app, for rules that look at other resources.

    Lookups only return resources that can share a deployment environment with the asking one
    (same Stage; same account and region, unless either is environment-agnostic), so a card in
    the dev account never satisfies a group in the prod account.
    """

    def __init__(
        self,
        resources: Iterable[Resource],
        stack_metadata: Mapping[str, Mapping[str, Any]] | None = None,
        templates: Sequence[Any] = (),
    ) -> None:
        # The templates themselves (``templates.StackTemplate``), for rules that evaluate
        # policies with the IAM evaluator, which reads whole templates.
        self.templates = tuple(templates)
        self._by_type: dict[str, list[Resource]] = defaultdict(list)
        self._by_path: dict[str, Resource] = {}
        self._stack_metadata = dict(stack_metadata or {})
        self._derived: dict[str, Any] = {}
        for resource in resources:
            self._by_type[resource.type].append(resource)
            self._by_path[resource.path] = resource

    def __getitem__(self, path: str) -> Resource:
        return self._by_path[path]

    def __contains__(self, path: object) -> bool:
        return path in self._by_path

    def get(self, path: str) -> Resource | None:
        return self._by_path.get(path)

    def resolve(self, value: Any) -> Resource | None:
        """The resource a :class:`Ref` points at (``None`` for anything else)."""
        return self._by_path.get(value.target_path) if isinstance(value, Ref) else None

    def derived(self, key: str, build: Callable[[AppIndex], T]) -> T:
        """``build(self)``, computed once per index (e.g. who invokes which function), so a
        rule that looks across the app costs one pass, not one pass per resource checked."""
        if key not in self._derived:
            self._derived[key] = build(self)
        return cast(T, self._derived[key])

    def keyed(
        self, name: str, types: tuple[str, ...], key: Callable[[Resource], Any]
    ) -> dict[Any, list[Resource]]:
        """Resources of ``types`` grouped by ``key(resource)`` (a key, a list of keys, or
        ``None`` to leave it out), built once per index, so that a lookup across the app is a
        dictionary access, not a scan."""

        def build(index: AppIndex) -> dict[Any, list[Resource]]:
            grouped: dict[Any, list[Resource]] = {}
            for resource in index.of_type(*types):
                found = key(resource)
                for one in found if isinstance(found, list) else [found]:
                    if one is not None:
                        grouped.setdefault(one, []).append(resource)
            return grouped

        return self.derived(f"keyed:{name}", build)

    def of_type(self, *types: str) -> list[Resource]:
        """Every resource of ``types``, in any environment."""
        return [r for resource_type in types for r in self._by_type.get(resource_type, ())]

    def stack_metadata(self, of: Resource) -> Mapping[str, Any]:
        """The ``Metadata`` section of the template that holds ``of``."""
        return self._stack_metadata.get(of.stack, {})

    def in_stage(self, of: Resource, *types: str) -> list[Resource]:
        """Resources of ``types`` in the same Stage as ``of``, in any account or region."""
        return [
            candidate
            for resource_type in types
            for candidate in self._by_type.get(resource_type, ())
            if candidate.environment.stage_path == of.environment.stage_path
        ]

    def peers(self, of: Resource, *types: str) -> list[Resource]:
        """Resources of ``types`` that can be deployed next to ``of`` (any stack)."""
        return [
            candidate
            for resource_type in types
            for candidate in self._by_type.get(resource_type, ())
            if candidate.environment.overlaps(of.environment)
        ]


Check = Callable[[Resource, AppIndex], Verdict]


def per_resource(check: Callable[[Resource], Verdict]) -> Check:
    """Adapt a rule that needs nothing but its own resource."""

    def adapted(resource: Resource, _index: AppIndex) -> Verdict:
        return check(resource)

    adapted.__name__ = check.__name__
    adapted.__doc__ = check.__doc__
    return adapted


def refers_to(value: Any, target: Resource, *, name: Any, attributes: Iterable[str]) -> bool:
    """Does ``value`` name ``target`` exactly?

    Either it is a reference to ``target`` through one of ``attributes`` (e.g. ``EndpointName``;
    ``Ref`` of most SageMaker resources is an ARN, not a name), or both it and ``target``'s
    ``name`` are the same literal string. Never a substring or prefix match.
    """
    if isinstance(value, Ref):
        return value.target_path == target.path and value.attribute in set(attributes)
    return isinstance(value, str) and isinstance(name, str) and value == name


@dataclass(frozen=True)
class GovernanceRule:
    """One rule of the Governance pack, with the text a reviewer reads.

    ``info`` is what a finding says; ``explanation`` why the rule exists and which control it
    serves; ``undecidable`` what a ``[Undecidable]`` finding means for this rule.
    """

    rule_id: str
    resource_types: tuple[str, ...]
    title: str
    info: str
    explanation: str
    undecidable: str
    nist_800_53: tuple[str, ...]
    check: Check
    sr_11_7: str | None = None
    eu_ai_act: str | None = None

    @property
    def finding_id(self) -> str:
        """The ``ruleName`` cdk-nag reports, e.g. ``Governance-MPG1``."""
        return f"{PACK_NAME}-{self.rule_id}"

    def controls(self) -> str:
        parts = [f"NIST 800-53: {', '.join(self.nist_800_53)}"]
        if self.sr_11_7:
            parts.append(f"SR 11-7: {self.sr_11_7}")
        if self.eu_ai_act:
            parts.append(f"EU AI Act: {self.eu_ai_act}")
        return "; ".join(parts)


PACK_NAME = "Governance"
UNDECIDABLE_FINDING = "Undecidable"

"""IAM policy documents as typed values: statements with actions, resources, principals, conditions.

``PolicyDocument.parse`` accepts a resolved JSON document (dict or JSON string) and normalises
the grammar's optional shapes (a string or a list, ``Principal: "*"`` or ``{"AWS": "*"}``,
booleans and numbers in conditions) so the evaluator and the vocabulary check see one form.

Grammar: IAM User Guide, "IAM JSON policy element reference" and "Grammar of the IAM JSON
policy language".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cdk_constructs.compliance.iam.errors import PolicyError

ALLOW = "Allow"
DENY = "Deny"

#: ``Principal: "*"`` in normalised form.
ANY_PRINCIPAL: Mapping[str, tuple[str, ...]] = {"*": ("*",)}


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(_scalar(item, where) for item in value)
    return (_scalar(value, where),)


def _scalar(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise PolicyError(f"{where}: expected a string, found {value!r}")


def _principals(value: Any, where: str) -> Mapping[str, tuple[str, ...]]:
    if value == "*":
        return ANY_PRINCIPAL
    if not isinstance(value, Mapping):
        raise PolicyError(f"{where}: Principal must be '*' or an object, found {value!r}")
    return {kind: _strings(names, f"{where}.{kind}") for kind, names in value.items()}


@dataclass(frozen=True)
class Statement:
    """One statement. Exactly one of each pair (Action/NotAction, ...) is set, or neither."""

    effect: str
    sid: str | None = None
    actions: tuple[str, ...] | None = None
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] | None = None
    not_resources: tuple[str, ...] | None = None
    principals: Mapping[str, tuple[str, ...]] | None = None
    not_principals: Mapping[str, tuple[str, ...]] | None = None
    #: operator -> condition key -> values (all as strings, as IAM compares them).
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.sid or "(no Sid)"

    @classmethod
    def parse(cls, raw: Mapping[str, Any], where: str) -> Statement:
        effect = raw.get("Effect")
        if effect not in (ALLOW, DENY):
            raise PolicyError(f"{where}: Effect must be Allow or Deny, found {effect!r}")
        for first, second in (
            ("Action", "NotAction"),
            ("Resource", "NotResource"),
            ("Principal", "NotPrincipal"),
        ):
            if first in raw and second in raw:
                raise PolicyError(f"{where}: a statement takes {first} or {second}, not both")
        if "Action" not in raw and "NotAction" not in raw:
            raise PolicyError(f"{where}: the statement has neither Action nor NotAction")
        conditions: dict[str, dict[str, tuple[str, ...]]] = {}
        raw_conditions = raw.get("Condition", {})
        if not isinstance(raw_conditions, Mapping):
            raise PolicyError(f"{where}: Condition must be an object, found {raw_conditions!r}")
        for operator, keys in raw_conditions.items():
            if not isinstance(keys, Mapping):
                raise PolicyError(f"{where}: Condition.{operator} must map keys to values")
            conditions[operator] = {
                key: _strings(values, f"{where}.Condition.{operator}.{key}")
                for key, values in keys.items()
            }
        return cls(
            effect=effect,
            sid=raw.get("Sid"),
            actions=_strings(raw["Action"], f"{where}.Action") if "Action" in raw else None,
            not_actions=(
                _strings(raw["NotAction"], f"{where}.NotAction") if "NotAction" in raw else None
            ),
            resources=_strings(raw["Resource"], f"{where}.Resource") if "Resource" in raw else None,
            not_resources=(
                _strings(raw["NotResource"], f"{where}.NotResource")
                if "NotResource" in raw
                else None
            ),
            principals=(
                _principals(raw["Principal"], f"{where}.Principal") if "Principal" in raw else None
            ),
            not_principals=(
                _principals(raw["NotPrincipal"], f"{where}.NotPrincipal")
                if "NotPrincipal" in raw
                else None
            ),
            conditions=conditions,
        )


@dataclass(frozen=True)
class PolicyDocument:
    """A policy: its statements, and where it came from (for messages)."""

    statements: tuple[Statement, ...]
    name: str = "policy"
    version: str = "2012-10-17"
    #: The evaluator's memo: which statements can apply to a principal and action (they do
    #: not depend on the resource or the context). Not copied by ``dataclasses.replace``.
    applicable: dict[Any, Any] = field(init=False, default_factory=dict, compare=False, repr=False)

    @classmethod
    def parse(cls, document: Mapping[str, Any] | str, *, name: str = "policy") -> PolicyDocument:
        raw: Any = json.loads(document) if isinstance(document, str) else document
        if not isinstance(raw, Mapping):
            raise PolicyError(f"{name}: a policy document must be an object, found {raw!r}")
        statements = raw.get("Statement", [])
        if isinstance(statements, Mapping):
            statements = [statements]
        if not isinstance(statements, Sequence):
            raise PolicyError(f"{name}: Statement must be a list or an object")
        return cls(
            statements=tuple(
                Statement.parse(statement, f"{name}.Statement[{index}]")
                for index, statement in enumerate(statements)
            ),
            name=name,
            version=str(raw.get("Version", "2008-10-17")),
        )

    @classmethod
    def of(cls, *statements: Mapping[str, Any], name: str = "policy") -> PolicyDocument:
        """A document from statement dicts (tests and hand-written examples)."""
        return cls.parse({"Version": "2012-10-17", "Statement": list(statements)}, name=name)

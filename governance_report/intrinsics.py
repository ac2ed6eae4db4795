"""CloudFormation values as a reviewer reads them: literals, intrinsics, pseudo parameters.

Synthesized templates hold intrinsics anywhere (``Fn::Join`` with ``AWS::Partition`` in every
ARN CDK writes, ``Fn::GetStackOutput`` for cross-stack references). :func:`show` renders any of
them readably (``Ref(Foo)``) instead of failing; :func:`resolve` computes a value when only
pseudo parameters stand in the way, which is what reading an account id out of a principal
ARN needs (the app's one intrinsic evaluator, :mod:`cdk_constructs.intrinsics`, with an
:class:`~cdk_constructs.intrinsics.Absent` policy: any unknown part makes the value unknown).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cdk_constructs.intrinsics import Absent, Evaluator


def show(value: Any) -> str:  # noqa: PLR0911 - one return per JSON kind
    """A template value as text a reviewer can read; intrinsics become ``Ref(Foo)`` etc."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list):
        return ", ".join(show(item) for item in value)
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, arg),) = value.items()
            return _show_intrinsic(str(key), arg)
        return ", ".join(f"{key}={show(item)}" for key, item in value.items())
    return str(value)


_PUBLISHED_OUTPUT = re.compile(
    r"^PublishOutput(?:Ref|FnGetAtt)?(?P<name>.+?)(?P<hash>[0-9A-F]{8}){1,2}$"
)


def _show_cross_stack(arg: Any) -> str:
    """``Fn::GetStackOutput`` / ``Fn::ImportValue`` as "<what> (from <stack>)", no CDK hashes."""
    if isinstance(arg, dict):
        stack = show(arg.get("StackName", "?"))
        output = show(arg.get("OutputName", "?"))
    else:
        stack, output = "another stack", show(arg)
    match = _PUBLISHED_OUTPUT.match(output)
    what = re.sub(r"[0-9A-F]{8}", ".", match.group("name")) if match else output
    return f"{what} (from {stack})"


def _show_intrinsic(key: str, arg: Any) -> str:  # noqa: PLR0911 - one return per intrinsic
    if key == "Ref":
        return f"Ref({show(arg)})"
    if key == "Fn::GetAtt":
        parts = arg if isinstance(arg, list) else str(arg).split(".", 1)
        return f"GetAtt({'.'.join(show(part) for part in parts)})"
    if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
        return show(arg[0]).join(show(part) for part in arg[1])
    if key == "Fn::Sub":
        template = arg[0] if isinstance(arg, list) and arg else arg
        return f"Sub({show(template)})"
    if key in {"Fn::GetStackOutput", "Fn::ImportValue"}:
        return _show_cross_stack(arg)
    if key.startswith("Fn::"):
        return f"{key[4:]}({show(arg)})"
    return f"{key}={show(arg)}"


class _PseudoOnly(Evaluator[Mapping[str, str]]):
    """``Ref`` of the given pseudo parameters, ``Fn::Join`` and ``Fn::Sub``; anything else
    (a resource, a parameter, another function) is known only at deploy time."""

    def __init__(self) -> None:
        super().__init__(Absent(), functions=("Ref", "Fn::Join", "Fn::Sub"))

    def describe(self, scope: Mapping[str, str]) -> str:
        return "report"

    def reference(self, scope: Mapping[str, str], name: Any, value: Any, depth: int) -> Any:
        found = scope.get(name) if isinstance(name, str) else None
        return self.unknown(scope, f"Ref to {name}", value, depth) if found is None else found


_PSEUDO_ONLY = _PseudoOnly()


def resolve(value: Any, pseudo: Mapping[str, str]) -> str | None:
    """``value`` as a plain string when it is a literal, or a ``Fn::Join``/``Fn::Sub``/``Ref``
    of literals and the given pseudo parameters; ``None`` when any part is only known at deploy.
    """
    if isinstance(value, bool) or value is None:
        return None
    resolved = _PSEUDO_ONLY.known(pseudo, value)
    return literal(resolved)


def literal(value: Any) -> str | None:
    """The value when it is a plain scalar; ``None`` for intrinsics and missing values."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int | float):
        return str(value)
    return None


def number(value: Any) -> float | None:
    """A plain number (CloudFormation often writes numbers as strings); else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def dig(value: Any, *keys: str) -> Any:
    """``value[k1][k2]...`` or ``None`` when a level is missing or not an object."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def references(value: Any) -> set[str]:
    """Logical ids that ``value`` points at through ``Ref`` / ``Fn::GetAtt`` / ``Fn::Sub``."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str) and not item.startswith("AWS::"):
                found.add(item)
            elif key == "Fn::GetAtt":
                target = item[0] if isinstance(item, list) and item else str(item).split(".")[0]
                if isinstance(target, str):
                    found.add(target)
            elif key == "Fn::Sub":
                template = item[0] if isinstance(item, list) and item else item
                if isinstance(template, str):
                    found |= {
                        name.split(".")[0]
                        for name in re.findall(r"\$\{([^}!]+)\}", template)
                        if not name.startswith("AWS::")
                    }
                found |= references(item[1:] if isinstance(item, list) else None)
            else:
                found |= references(item)
    return found

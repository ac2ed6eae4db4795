"""One evaluator of CloudFormation intrinsic functions for every reader of synthesized templates.

Four readers look at the templates the app synthesizes, and each needs intrinsics evaluated:

- the governance rules (``compliance/templates.py``) follow ``Ref``/``Fn::GetAtt`` and the
  cross-stack references (``Fn::GetStackOutput``, CDK 2.275, which ``cloudformation_include``
  cannot parse, and ``Fn::ImportValue``) and keep everything else as the intrinsic it is;
- the offline IAM checks (``compliance/iam/intrinsics.py``) give every value the string it
  would have deployed;
- the limits check (``compliance/limits_check.py``) gives every value its worst-case length;
- the governance report (``governance_report/intrinsics.py``) computes a value when only
  pseudo parameters stand in the way.

They share :class:`Evaluator`: it walks a template fragment and evaluates ``Fn::Join``,
``Fn::Sub``, ``Fn::Select``, ``Fn::Split``, ``Fn::GetAZs``, ``Fn::If``, ``Fn::FindInMap``,
``Fn::Base64``, ``Fn::ToJsonString``, ``Fn::GetStackOutput`` and ``Fn::ImportValue`` one way,
drops ``AWS::NoValue`` from lists and objects, and asks its subclass for what only a reader
knows (what ``Ref`` and ``Fn::GetAtt`` of a resource return, which stack produces an output).
What it cannot know is decided by its :class:`UnknownPolicy`: :class:`Strict` (raise),
:class:`Placeholder` (``"<unresolved:...>"``), :class:`WorstCaseLength` (a string of the
longest realistic length), :class:`Symbolic` (keep the intrinsic, its arguments evaluated) or
:class:`Absent` (the whole value is unknown: :meth:`Evaluator.known` returns ``None``).

Sources: CloudFormation User Guide, "Intrinsic function reference" (each function's
arguments and return value) and "Pseudo parameters reference".
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any, Generic, Protocol, TypeVar

S = TypeVar("S")


class _NoValue:
    """``AWS::NoValue``: the property or list element disappears."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()

_SUB_TOKEN = re.compile(r"\$\{([^}]*)\}")


def text_of(value: Any) -> str:
    """A resolved value as the text ``Fn::Join``/``Fn::Sub`` put in a string (JSON for objects)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


class Unknowable(Exception):  # noqa: N818 - reads as the condition it reports
    """Raised by :class:`Absent` where a value is only known at deploy time."""


class UnknownPolicy(Protocol):
    """What an evaluator returns for a value it cannot know offline."""

    def unknown(self, where: str, reason: str, value: Any, keep: Callable[[], Any]) -> Any:
        """``where``: the stack; ``value``: the intrinsic; ``keep()``: it, arguments evaluated."""
        ...


class Strict:
    """Raise ``error`` naming the stack, the reason and the intrinsic."""

    def __init__(self, error: Callable[[str], Exception]) -> None:
        self.error = error

    def unknown(self, where: str, reason: str, value: Any, keep: Callable[[], Any]) -> Any:
        raise self.error(f"{where}: {reason} (in {value!r})")


class Placeholder:
    """``"<unresolved:<reason>>"``, so a reader of a whole template can go on."""

    def unknown(self, where: str, reason: str, value: Any, keep: Callable[[], Any]) -> Any:
        return f"<unresolved:{reason}>"


class WorstCaseLength:
    """A string as long as the longest realistic value (``"U" * length``)."""

    def __init__(self, length: int) -> None:
        self.length = length

    def unknown(self, where: str, reason: str, value: Any, keep: Callable[[], Any]) -> Any:
        return "U" * self.length


class Symbolic:
    """The intrinsic itself, with its arguments evaluated: "known only at deploy time"."""

    def unknown(self, where: str, reason: str, value: Any, keep: Callable[[], Any]) -> Any:
        return keep()


class Absent:
    """Nothing: the whole value is unknown (:meth:`Evaluator.known` returns ``None``)."""

    def unknown(self, where: str, reason: str, value: Any, keep: Callable[[], Any]) -> Any:
        raise Unknowable(reason)


Found = tuple[S, Any] | str
"""A producing stack and the raw value it outputs, or why there is none."""


class Evaluator(Generic[S]):
    """Evaluates the intrinsics of template fragments of scope ``S`` (a reader's stack).

    Subclasses say what ``Ref`` (:meth:`reference`) and ``Fn::GetAtt`` (:meth:`attribute`)
    return, and which stack produces a cross-stack value (:meth:`stack_output`,
    :meth:`export`); the rest is common.

    :param policy: what unknown values become.
    :param functions: the intrinsic functions evaluated; any other is unknown (default: all).
    :param max_depth: nesting beyond which :meth:`too_deep` is raised (``None``: no limit).
    """

    def __init__(
        self,
        policy: UnknownPolicy,
        *,
        functions: Collection[str] | None = None,
        max_depth: int | None = None,
    ) -> None:
        self.policy = policy
        self.max_depth = max_depth
        self._functions = {
            name: handler
            for name, handler in _FUNCTIONS.items()
            if functions is None or name in functions
        }

    # -- what a reader knows ----------------------------------------------------------------

    def describe(self, scope: S) -> str:
        """How messages name ``scope``."""
        return str(scope)

    def reference(self, scope: S, name: Any, value: Any, depth: int) -> Any:
        """What ``{"Ref": name}`` returns (a resource, parameter or pseudo parameter)."""
        return self.unknown(scope, f"Ref to {name}", value, depth)

    def attribute(self, scope: S, logical_id: str, attribute: Any, value: Any, depth: int) -> Any:
        """What ``{"Fn::GetAtt": [logical_id, attribute]}`` returns."""
        return self.unknown(scope, f"Fn::GetAtt {logical_id}.{attribute}", value, depth)

    def stack_output(self, scope: S, argument: Mapping[str, Any]) -> Found[S]:
        """The stack and raw ``Value`` of the output ``Fn::GetStackOutput`` names."""
        return f"stack {argument.get('StackName')} is not in the assembly"

    def export(self, scope: S, name: Any) -> Found[S]:
        """The stack and raw ``Value`` of the output exported as ``name``."""
        return f"no stack exports {name!r}"

    def condition(self, scope: S, condition: Any, depth: int) -> bool:
        """Whether the named condition (or condition function) is true."""
        raise ValueError(f"{self.describe(scope)}: condition {condition!r} cannot be evaluated")

    def choose(self, scope: S, argument: Any, depth: int) -> Any:
        """``Fn::If``: the branch the condition picks."""
        condition, when_true, when_false = argument
        chosen = when_true if self.condition(scope, condition, depth) else when_false
        return self.evaluate(scope, chosen, depth)

    def find_in_map(self, scope: S, keys: list[Any], value: Any, depth: int) -> Any:
        """``Fn::FindInMap``: the mapping's value for the (evaluated) keys."""
        map_name, top, second = keys
        try:
            return self.mappings(scope)[map_name][top][second]
        except (KeyError, TypeError):
            return self.unknown(
                scope, f"Fn::FindInMap {map_name}/{top}/{second} is not in Mappings", value, depth
            )

    def mappings(self, scope: S) -> Mapping[str, Any]:
        return {}

    def zones(self, scope: S, region: Any) -> list[str]:
        """``Fn::GetAZs``: the availability zones of ``region``."""
        return [f"{region}{zone}" for zone in "abc"]

    def follow(self, producer: S, value: Any, depth: int) -> Any:
        """A cross-stack value: the producer's raw output ``value``, evaluated in its stack."""
        return self.evaluate(producer, value, depth + 1)

    def too_deep(self, scope: S) -> Exception:
        return ValueError(f"{self.describe(scope)}: intrinsics nest too deeply")

    # -- evaluation -------------------------------------------------------------------------

    def evaluate(self, scope: S, value: Any, depth: int = 0) -> Any:
        """``value`` (any template fragment of ``scope``) with its intrinsics evaluated."""
        if self.max_depth is not None and depth > self.max_depth:
            raise self.too_deep(scope)
        if isinstance(value, list):
            items = [self.evaluate(scope, item, depth + 1) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((function, argument),) = value.items()
            handler = self._functions.get(function)
            if handler is not None:
                return handler(self, scope, argument, value, depth + 1)
            if function == "Ref" or function.startswith("Fn::"):
                return self.unknown(scope, f"{function} is not supported", value, depth)
        resolved = {key: self.evaluate(scope, item, depth + 1) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def known(self, scope: S, value: Any) -> Any:
        """:meth:`evaluate`, or ``None`` where an :class:`Absent` policy found an unknown."""
        try:
            return self.evaluate(scope, value)
        except Unknowable:
            return None

    def unknown(self, scope: S, reason: str, value: Any, depth: int) -> Any:
        """What the policy makes of ``value``, which cannot be evaluated for ``reason``."""

        def keep() -> Any:
            if isinstance(value, dict):
                return {key: self.evaluate(scope, item, depth + 1) for key, item in value.items()}
            return value

        return self.policy.unknown(self.describe(scope), reason, value, keep)

    # -- the functions ----------------------------------------------------------------------

    def _ref(self, scope: S, argument: Any, value: Any, depth: int) -> Any:
        return self.reference(scope, argument, value, depth)

    def _get_att(self, scope: S, argument: Any, value: Any, depth: int) -> Any:
        if isinstance(argument, str) and "." in argument:
            argument = argument.split(".", 1)
        if not (isinstance(argument, list) and len(argument) == 2):
            return self.unknown(scope, "Fn::GetAtt needs [LogicalId, Attribute]", value, depth)
        logical_id, attribute = argument[0], self.evaluate(scope, argument[1], depth)
        return self.attribute(scope, logical_id, attribute, value, depth)

    def _join(self, scope: S, argument: Any, value: Any, depth: int) -> Any:
        if not (isinstance(argument, list) and len(argument) == 2):
            return self.unknown(scope, "Fn::Join needs [delimiter, list]", value, depth)
        delimiter = self.evaluate(scope, argument[0], depth)
        items = self.evaluate(scope, argument[1], depth)
        if not isinstance(items, list):
            return self.unknown(scope, "Fn::Join needs a list", value, depth)
        return text_of(delimiter).join(text_of(item) for item in items)

    def _sub(self, scope: S, argument: Any, value: Any, depth: int) -> Any:
        if isinstance(argument, str):
            template, variables = argument, {}
        elif isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str):
            template, variables = argument[0], self.evaluate(scope, argument[1], depth)
        else:
            return self.unknown(
                scope, "Fn::Sub needs a string or [string, variables]", value, depth
            )

        def replace(match: re.Match[str]) -> str:
            token = match.group(1)
            if token.startswith("!"):
                return "${" + token[1:] + "}"
            if isinstance(variables, dict) and token in variables:
                return text_of(variables[token])
            if "." in token and not token.startswith("AWS::"):
                logical_id, attribute = token.split(".", 1)
                found = self.attribute(
                    scope, logical_id, attribute, {"Fn::GetAtt": [logical_id, attribute]}, depth
                )
                return text_of(found)
            return text_of(self.reference(scope, token, {"Ref": token}, depth))

        return _SUB_TOKEN.sub(replace, template)

    def _select(self, scope: S, argument: Any, value: Any, depth: int) -> Any:
        resolved = self.evaluate(scope, argument, depth)
        if isinstance(resolved, list) and len(resolved) == 2:
            index, items = resolved
            position = int(index) if str(index).lstrip("-").isdigit() else -1
            if isinstance(items, list) and 0 <= position < len(items):
                return items[position]
        return self.unknown(scope, f"Fn::Select index out of range in {argument!r}", value, depth)

    def _split(self, scope: S, argument: Any, value: Any, depth: int) -> Any:
        resolved = self.evaluate(scope, argument, depth)
        if not (isinstance(resolved, list) and len(resolved) == 2):
            return self.unknown(scope, "Fn::Split needs [delimiter, string]", value, depth)
        delimiter, text = resolved
        return text_of(text).split(text_of(delimiter))

    def _get_azs(self, scope: S, argument: Any, value: Any, depth: int) -> Any:
        return self.zones(scope, self.evaluate(scope, argument, depth))

    def _if(self, scope: S, argument: Any, value: Any, depth: int) -> Any:
        if not (isinstance(argument, list) and len(argument) == 3):
            return self.unknown(scope, "Fn::If needs [condition, if true, if false]", value, depth)
        return self.choose(scope, argument, depth)

    def _find_in_map(self, scope: S, argument: Any, value: Any, depth: int) -> Any:
        if not (isinstance(argument, list) and len(argument) >= 3):
            return self.unknown(scope, "Fn::FindInMap needs [map, key, key]", value, depth)
        return self.find_in_map(scope, self.evaluate(scope, argument[:3], depth), value, depth)

    def _base64(self, scope: S, argument: Any, value: Any, depth: int) -> Any:
        text = text_of(self.evaluate(scope, argument, depth))
        return base64.b64encode(text.encode()).decode()

    def _to_json_string(self, scope: S, argument: Any, value: Any, depth: int) -> Any:
        return json.dumps(self.evaluate(scope, argument, depth), separators=(",", ":"))

    def _get_stack_output(self, scope: S, argument: Any, value: Any, depth: int) -> Any:
        resolved = self.evaluate(scope, argument, depth)
        if not isinstance(resolved, dict):
            return self.unknown(scope, "Fn::GetStackOutput needs an object", value, depth)
        return self._cross_stack(scope, self.stack_output(scope, resolved), value, depth)

    def _import_value(self, scope: S, argument: Any, value: Any, depth: int) -> Any:
        name = self.evaluate(scope, argument, depth)
        return self._cross_stack(scope, self.export(scope, name), value, depth)

    def _cross_stack(self, scope: S, found: Found[S], value: Any, depth: int) -> Any:
        if isinstance(found, str):
            return self.unknown(scope, found, value, depth)
        producer, output = found
        return self.follow(producer, output, depth)


_Handler = Callable[[Evaluator[Any], Any, Any, Any, int], Any]

_FUNCTIONS: Mapping[str, _Handler] = {
    "Ref": Evaluator._ref,
    "Fn::GetAtt": Evaluator._get_att,
    "Fn::Join": Evaluator._join,
    "Fn::Sub": Evaluator._sub,
    "Fn::Select": Evaluator._select,
    "Fn::Split": Evaluator._split,
    "Fn::GetAZs": Evaluator._get_azs,
    "Fn::If": Evaluator._if,
    "Fn::FindInMap": Evaluator._find_in_map,
    "Fn::Base64": Evaluator._base64,
    "Fn::ToJsonString": Evaluator._to_json_string,
    "Fn::GetStackOutput": Evaluator._get_stack_output,
    "Fn::ImportValue": Evaluator._import_value,
}

"""One error per bad input, naming each bad field, the value found and what is allowed.

pydantic does the validating; :func:`explain` turns its errors into sentences a person can act on
without reading a regex or a traceback.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from typing import Any, Literal, Union

from annotated_types import MinLen
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

_SHOWN_CHARS = 200


class ContractError(ValueError):
    """An input (event, SSM document, environment) breaks the contract its model states."""

    def __init__(self, what: str, problems: Sequence[str]) -> None:
        super().__init__(f"{what}: " + "; ".join(problems))
        self.what = what
        self.problems = tuple(problems)


class InvalidEventError(ContractError):
    """The event does not have the shape this handler was built for."""


class InvalidParameterError(ContractError):
    """A governance SSM parameter exists but its value breaks the contract."""


def explain(error: ValidationError, model: type[BaseModel], *, noun: str = "field") -> list[str]:
    """``field 'a.b': got <value>; expected <what is allowed>`` for each pydantic error."""
    return [_problem(detail, model, noun) for detail in error.errors(include_url=False)]


def _problem(detail: ErrorDetails, model: type[BaseModel], noun: str) -> str:
    location = _dotted(detail["loc"])
    kind = detail["type"]
    if detail["loc"] and detail["loc"][-1] == "[key]":
        # A bad key of a mapping: name the key, and say what keys may be.
        mapping = _unwrap_optional(_annotation_at(model, detail["loc"][:-2]))
        keys = typing.get_args(mapping)
        expected = describe(keys[0]) if keys else detail["msg"]
        return f"{noun} {_dotted(detail['loc'][:-1])!r}: got {_shown(detail.get('input'))}; " + (
            f"expected a key that is {expected}"
        )
    got = "<missing>" if kind == "missing" else _shown(detail.get("input"))
    if kind == "json_invalid":
        return f"the value is not valid JSON ({(detail.get('ctx') or {}).get('error', '')})"
    if kind == "extra_forbidden":
        allowed = _field_names(model, detail["loc"][:-1])
        return f"{noun} {location!r} is not allowed; allowed: {', '.join(allowed)}"
    return f"{noun} {location!r}: got {got}; expected {_expected(detail, model)}"


def _expected(detail: ErrorDetails, model: type[BaseModel]) -> str:
    kind = detail["type"]
    context = detail.get("ctx") or {}
    if kind in {"value_error", "assertion_error"} and "error" in context:
        return str(context["error"])
    annotation = _annotation_at(model, detail["loc"])
    if annotation is not None:
        return describe(annotation)
    return detail["msg"]


class Expect:
    """Annotation metadata saying in words what a constrained type allows."""

    def __init__(self, text: str) -> None:
        self.text = text


def describe(annotation: Any) -> str:  # noqa: PLR0911 - one return per kind of type
    """A type in words: "a non-empty string", "one of A, B", "an object", ..."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        base, *metadata = args
        stated = next((m.text for m in metadata if isinstance(m, Expect)), None)
        if stated is not None:
            return stated
        if base is str and any(isinstance(m, MinLen) and m.min_length > 0 for m in _flat(metadata)):
            return "a non-empty string"
        positive = any(getattr(m, "gt", None) == 0 for m in _flat(metadata))
        if base is int and positive:
            return "a positive integer"
        return describe(base)
    if origin in (Union, types.UnionType):
        options = [describe(a) for a in args if a is not type(None)]
        suffix = " or null" if type(None) in args else ""
        return " or ".join(options) + suffix
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "one of " + ", ".join(str(m.value) for m in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "an object with fields " + ", ".join(_field_names(annotation, ()))
    if origin in (list, tuple) or annotation in (list, tuple):
        return "a list"
    if origin in (dict, Mapping) or annotation is dict:
        return "an object"
    return _SIMPLE.get(annotation, "a valid value")


_SIMPLE: dict[Any, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
}


def _flat(metadata: Iterable[Any]) -> list[Any]:
    # StringConstraints and Field(...) carry their constraints in a nested metadata list.
    flat: list[Any] = []
    for item in metadata:
        flat.append(item)
        flat.extend(getattr(item, "metadata", []) or [])
        for name in ("min_length", "gt"):
            value = getattr(item, name, None)
            if value is not None and name == "min_length":
                flat.append(MinLen(value))
    return flat


def _annotation_at(model: type[BaseModel], location: Sequence[int | str]) -> Any:
    """The annotation of the field at ``location`` (aliases or names), if it can be found."""
    annotation: Any = model
    for part in location:
        annotation = _unwrap_optional(annotation)
        if isinstance(part, int):
            args = typing.get_args(annotation)
            if not args:
                return None
            annotation = args[0]
            continue
        if typing.get_origin(annotation) in (dict, Mapping):
            annotation = typing.get_args(annotation)[1]
            continue
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        field = _field(annotation, part)
        if field is None:
            return None
        annotation = field
    return annotation


def _field(model: type[BaseModel], name: str) -> Any:
    for field_name, info in model.model_fields.items():
        if name in (field_name, info.alias):
            if info.metadata:
                return typing.Annotated[(info.annotation, *info.metadata)]
            return info.annotation
    return None


def _unwrap_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(options) == 1:
            return _unwrap_optional(options[0])
    return annotation


def _field_names(model: type[BaseModel], location: Sequence[int | str]) -> list[str]:
    target = _unwrap_optional(_annotation_at(model, location)) if location else model
    if not (isinstance(target, type) and issubclass(target, BaseModel)):
        return []
    return [info.alias or name for name, info in target.model_fields.items()]


def _dotted(location: Sequence[int | str]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<root>"


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "..."

"""L1 resources built from plain data: the same jsii object, without the Python struct layer.

A typed L1 such as ``CfnAlarm(scope, id, dimensions=[CfnAlarm.DimensionProperty(...)], ...)``
costs far more in Python than in Node: every property struct is a Python object whose
constructor type-checks each argument (typeguard), and the jsii runtime serializes a struct by
reading each of its properties through a getter that rebuilds its ``typing`` annotation
(about 0.5 ms of Python per alarm, several per job definition; ``bench/scale.py``). The jsii
kernel accepts a struct argument as a plain JSON object with the struct's jsii (camelCase)
field names, so :func:`create` hands the L1's props to the runtime as one plain ``dict``: Node
builds the very same ``CfnAlarm`` (same class, so the same ``TagManager`` and tag aspects, the
same property validation and rendering, the same ``AWS::CDK::Metadata`` analytics) and the
template is the same byte for byte.

The same holds for an L2 whose constructor takes ``(scope, id, props)`` (``ssm.StringParameter``,
``CustomResource``): Node records the same props in the analytics.

The checks stay: :func:`create` walks the props along the L1's struct classes (their field names
and type hints, read once per class), refuses a field the struct does not have, naming the
class, field, value and the allowed fields, and puts each struct's fields in the order the
typed path sends them (so even ``tree.json`` is unchanged). The kernel checks the rest as it
does for the typed path: required fields and each value's type.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import jsii
from aws_cdk import CfnTag
from constructs import Construct

T = TypeVar("T")


def create(cls: type[T], scope: Construct, construct_id: str, props: Mapping[str, Any]) -> T:
    """``cls(scope, construct_id, **props)`` with ``props`` as plain data.

    ``props`` uses the jsii (camelCase) names of the L1's props and of every nested struct
    (``{"comparisonOperator": ..., "dimensions": [{"name": ..., "value": ...}]}``), as the
    aws-cdk-lib TypeScript reference spells them; values are plain JSON data, strings (tokens
    included) or jsii objects (``IResolvable``). ``None`` means "not set", as for the typed
    constructor.

    Raises TypeError for a field the L1's struct does not have, or a required one missing.
    """
    data = _struct_data(_props_class(cls), props, where=f"{cls.__name__}({construct_id!r})")
    obj = cls.__new__(cls)
    jsii.create(cls, obj, [scope, construct_id, data])
    return obj


def construct(scope: Construct, construct_id: str) -> Construct:
    """``Construct(scope, construct_id)`` without Python's argument type check."""
    obj = Construct.__new__(Construct)
    jsii.create(Construct, obj, [scope, construct_id])
    return obj


def tags(cfn_tags: Sequence[CfnTag]) -> list[dict[str, str]]:
    """``CfnTag``s as plain data, for a ``tags`` prop given to :func:`create`."""
    return [{"key": tag.key, "value": tag.value} for tag in cfn_tags]


_CAMEL = re.compile(r"_([a-z0-9])")


def camel(python_name: str) -> str:
    """The jsii name of a snake_case Python name (``s3_uri`` -> ``s3Uri``)."""
    return _CAMEL.sub(lambda m: m.group(1).upper(), python_name)


# -- the walk along the struct classes ------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    struct: type[Any] | None
    """The struct a plain ``dict`` value stands for (None: a JSON value, kept as it is)."""
    items: type[Any] | None
    """The struct of each item of a list value, or of each value of a map value."""
    required: bool


# Read once per class (jsii classes are not Hashable to mypy, hence no functools.cache).
_PROPS_CLASSES: dict[object, type[Any]] = {}
_FIELDS: dict[object, dict[str, _Field]] = {}


def _props_class(cls: type[Any]) -> type[Any]:
    """``CfnAlarmProps`` for ``CfnAlarm``: the struct of the constructor's keyword props."""
    found = _PROPS_CLASSES.get(cls)
    if found is None:
        module = __import__(cls.__module__, fromlist=["_"])
        found = getattr(module, f"{cls.__name__}Props", None)
        if found is None or not hasattr(found, "__jsii_name_mapping__"):
            raise TypeError(f"{cls.__name__} has no props struct {cls.__name__}Props")
        _PROPS_CLASSES[cls] = found
    return found


def _fields(struct: type[Any]) -> dict[str, _Field]:
    """A struct's fields by jsii name, in the order the typed path serializes them (the
    struct's name mapping)."""
    fields = _FIELDS.get(struct)
    if fields is None:
        fields = _FIELDS[struct] = _read_fields(struct)
    return fields


def _read_fields(struct: type[Any]) -> dict[str, _Field]:
    mapping: Mapping[str, str] = struct.__jsii_name_mapping__
    hints = typing.get_type_hints(struct.__init__)
    parameters = inspect.signature(struct.__init__).parameters
    fields: dict[str, _Field] = {}
    for python, jsii_name in mapping.items():
        hint = hints[python]
        fields[jsii_name] = _Field(
            struct=_struct_in(hint),
            items=_struct_in(_item(hint, Sequence)) or _struct_in(_item(hint, Mapping)),
            required=parameters[python].default is inspect.Parameter.empty,
        )
    return fields


def _struct_data(struct: type[Any], data: Mapping[str, Any], *, where: str) -> dict[str, Any]:
    fields = _fields(struct)
    unknown = [key for key in data if key not in fields]
    if unknown:
        key = unknown[0]
        raise TypeError(
            f"{where}: {struct.__name__} has no field {key!r} (value {data[key]!r}); allowed: "
            f"{', '.join(fields)}"
        )
    out: dict[str, Any] = {}
    for key, field in fields.items():
        value = data.get(key)
        if value is not None:
            out[key] = _value(value, field, where=f"{where}.{key}")
        elif field.required:
            raise TypeError(f"{where}: {struct.__name__} requires {key!r} (got {value!r})")
    return out


def _value(value: Any, field: _Field, *, where: str) -> Any:
    if isinstance(value, Mapping):
        if field.struct is not None:
            return _struct_data(field.struct, value, where=where)
        if field.items is not None:
            return {
                k: _struct_data(field.items, v, where=f"{where}[{k!r}]")
                if isinstance(v, Mapping)
                else v
                for k, v in value.items()
            }
    elif isinstance(value, list) and field.items is not None:
        return [
            _struct_data(field.items, v, where=f"{where}[{i}]") if isinstance(v, Mapping) else v
            for i, v in enumerate(value)
        ]
    return value


def _members(hint: Any) -> tuple[Any, ...]:
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        return typing.get_args(hint)
    return (hint,)


def _struct_in(hint: Any) -> type[Any] | None:
    """The jsii struct among the members of ``hint`` (a union), if any."""
    for member in _members(hint):
        if isinstance(member, type) and hasattr(member, "__jsii_name_mapping__"):
            return member
    return None


def _item(hint: Any, collection: type[Any]) -> Any:
    """The item type of the ``Sequence[...]`` (or the value type of the ``Mapping[str, ...]``)
    among the members of ``hint``, as the jsii Python bindings annotate collections."""
    for member in _members(hint):
        origin = typing.get_origin(member)
        if isinstance(origin, type) and issubclass(origin, collection):
            return typing.get_args(member)[-1]
    return None

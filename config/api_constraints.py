"""What AWS APIs accept for values that come from config, read from botocore's service models.

Every config value that ends up as a parameter of an AWS API call (CloudFormation's resource
handlers call ``sagemaker:CreateEndpointConfig``, ``CreateMonitoringSchedule`` and so on with
the template's properties) is checked here against the request shape of that API in the botocore
version we pin: its length limits, its pattern and its enum. Nothing is copied by hand: the
constraints are read from botocore at validation time, so a botocore upgrade that adds an
instance type or tightens a pattern changes what config accepts, and the error cites the
botocore version, API and member it came from.

botocore's patterns are Java regular expressions (``\\p{L}``, look-behind) that the API matches
against the whole value, so they are matched with the ``regex`` package and ``fullmatch``. A
person reads :data:`PATTERN_WORDS`, never the pattern itself; a pattern without words (after a
botocore upgrade) fails ``tests/config/test_api_constraints.py`` so the words get written.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from types import MappingProxyType
from typing import Any, TypeVar

import botocore
import botocore.session
import regex
from botocore.model import Shape

from cdk_constructs import botocore_data

T = TypeVar("T")

# botocore pattern -> what it allows, in words.
PATTERN_WORDS: Mapping[str, str] = MappingProxyType(
    {
        "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}": (
            "letters, digits and hyphens, starting and ending with a letter or digit"
        ),
        "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}": (
            "letters, digits and hyphens, starting and ending with a letter or digit"
        ),
        "([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)": (
            "letters, digits, spaces and the characters _ . : / = + - @"
        ),
        "[\\p{L}\\p{M}\\p{Z}\\p{S}\\p{N}\\p{P}]*": (
            "printable text: letters, digits, spaces, punctuation and symbols, no control "
            "characters or line breaks"
        ),
        "(https|s3)://([^/]+)/?(.*)": "an s3:// or https:// URI that names a bucket",
        "^[a-zA-Z0-9:/_-]+$": "letters, digits and the characters : / _ -",
        (
            "(arn:aws[a-z\\-]*:sagemaker:[a-z0-9\\-]*:[0-9]{12}:[a-z\\-]*\\/)?"
            "([a-zA-Z0-9]([a-zA-Z0-9-]){0,62})(?<!-)(\\/[0-9]{1,9})?"
        ): (
            "a model package name or ARN, arn:<partition>:sagemaker:<region>:<account>:"
            "model-package/<group>/<version>, with a version of 1 to 9 digits"
        ),
    }
)

_ENUM_SHOWN = 12
"""An enum longer than this is shown as its closest values, not in full."""


@cache
def _service_model(service: str) -> Any:
    return botocore_data.session().get_service_model(service)


@dataclass(frozen=True)
class ApiParameter:
    """One request member of one AWS API, e.g. ``sagemaker CreateEndpoint EndpointName``.

    ``member`` is a dotted path from the operation's input; lists are stepped through, so
    ``ProductionVariants.InstanceType`` is ``ProductionVariants[].InstanceType``.
    """

    service: str
    operation: str
    member: str

    @cached_property
    def member_shape(self) -> Shape:
        """The member as declared: a list member stays a list (see :attr:`shape`)."""
        shape: Shape = _service_model(self.service).operation_model(self.operation).input_shape
        for part in self.member.split("."):
            shape = _unlist(shape).members[part]
        return shape

    @property
    def shape(self) -> Shape:
        """The shape of one value: a list member's item shape."""
        return _unlist(self.member_shape)

    @property
    def max_items(self) -> int | None:
        """How many items a list member may hold, if botocore limits it."""
        if self.member_shape.type_name != "list":
            return None
        value = self.member_shape.metadata.get("max")
        return int(value) if value is not None else None

    @property
    def source(self) -> str:
        """Where the constraint comes from, for messages and docs."""
        path = []
        shape = _service_model(self.service).operation_model(self.operation).input_shape
        for part in self.member.split("."):
            shape = shape.members[part]
            path.append(f"{part}[]" if shape.type_name == "list" else part)
            shape = _unlist(shape)
        return (
            f"botocore {botocore.__version__} {self.service} {self.operation} "
            f"{'.'.join(path).removesuffix('[]')}"
        )

    @property
    def enum(self) -> tuple[str, ...]:
        return tuple(getattr(self.shape, "enum", None) or ())

    @property
    def max_length(self) -> int | None:
        value = self.shape.metadata.get("max")
        return int(value) if value is not None and self.shape.type_name == "string" else None

    @property
    def pattern(self) -> str | None:
        pattern = self.shape.metadata.get("pattern")
        return str(pattern) if pattern is not None else None

    def rule(self) -> str:
        """What the API allows, in words."""
        shape = self.shape
        metadata = shape.metadata
        if self.enum:
            return f"one of the {len(self.enum)} values of {shape.name}"
        parts: list[str] = []
        if self.pattern is not None:
            parts.append(PATTERN_WORDS.get(self.pattern, f"the form {shape.name} allows"))
        low, high = metadata.get("min"), metadata.get("max")
        if shape.type_name == "string":
            if high is not None:
                parts.append(
                    f"{low}-{high} characters"
                    if int(low or 0) > 0
                    else f"at most {high} characters"
                )
        elif low is not None and high is not None:
            parts.append(f"from {low} to {high}")
        elif low is not None:
            parts.append(f"at least {low}")
        elif high is not None:
            parts.append(f"at most {high}")
        return ", ".join(parts) or f"any {shape.type_name}"

    def violation(self, value: object) -> str | None:
        """Why the API would refuse ``value``, in words; ``None`` when it accepts it."""
        if self.enum:
            return self._enum_violation(value)
        if self.shape.type_name == "string":
            return self._string_violation(str(value))
        low, high = self.shape.metadata.get("min"), self.shape.metadata.get("max")
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and ((low is not None and value < low) or (high is not None and value > high))
        ):
            return f"must be {self.rule()}"
        return None

    def _enum_violation(self, value: object) -> str | None:
        if value in self.enum:
            return None
        closest = difflib.get_close_matches(str(value), self.enum, n=3, cutoff=0.6)
        shown = (
            ", ".join(self.enum)
            if len(self.enum) <= _ENUM_SHOWN
            else f"closest: {', '.join(closest) or 'none'}"
        )
        return f"must be {self.rule()} ({shown})"

    def _string_violation(self, text: str) -> str | None:
        low, high = self.shape.metadata.get("min"), self.shape.metadata.get("max")
        if high is not None and len(text) > int(high):
            return f"is {len(text)} characters long; the API allows at most {high}"
        if low is not None and len(text) < int(low):
            return f"is {len(text)} characters long; the API needs at least {low}"
        if self.pattern is not None and not _compiled(self.pattern).fullmatch(text):
            return f"must be {self.rule()}"
        return None

    def check(self, value: T) -> T:
        """``value`` unchanged, or ValueError saying what the API allows and where that is from.

        Usable as a pydantic ``AfterValidator``.
        """
        problem = self.violation(value)
        if problem is not None:
            raise ValueError(f"{problem} [{self.source}]")
        return value


def _unlist(shape: Shape) -> Shape:
    member: Shape | None = getattr(shape, "member", None)
    return member if shape.type_name == "list" and member is not None else shape


@cache
def _compiled(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern)


def documentation(parameter: ApiParameter) -> str:
    """The member's documentation text as botocore ships it (HTML tags removed)."""
    return " ".join(regex.sub(r"<[^>]+>", " ", parameter.shape.documentation or "").split())

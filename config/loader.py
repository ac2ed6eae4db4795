"""Load and validate a governance configuration file.

Validation itself happens in the pydantic model (:mod:`config.model`); this module reads the
YAML safely (:mod:`config.yaml_source`) and turns pydantic's errors into messages for the person
who wrote the file: the YAML path, what is wrong and what is allowed in words, and the value.
"""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from config.issues import NO_VALUE, IssuesError
from config.model import GovernanceConfig
from config.yaml_source import DuplicateKeyError, load_yaml

DEFAULT_CONFIG = Path(__file__).with_name("default.yaml")


class ConfigError(Exception):
    """A configuration that cannot be used; the message is meant for the person who wrote it."""


def _location(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if part == "[key]":
            continue
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def _shown(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 120 else shown[:117] + "..."


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The config model class that validates the mapping at ``loc``, if one does."""
    annotation: Any = GovernanceConfig
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return None
            annotation = field.annotation
        elif typing.get_origin(annotation) in (list, dict):
            annotation = typing.get_args(annotation)[-1]
        else:
            return None
    annotation = _unwrap(annotation)
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def _unwrap(annotation: Any) -> Any:
    # Annotated[X, ...] -> X; X | None -> X.
    while True:
        if typing.get_origin(annotation) is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif typing.get_origin(annotation) in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    model = _model_at(loc[:-1])
    if model is None:
        return "is not a known key"
    allowed = list(model.model_fields)
    closest = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
    hint = f"did you mean {closest[0]!r}? " if closest else ""
    return f"is not a known key; {hint}allowed here: {', '.join(allowed)}"


def _lines(error: Any) -> list[str]:
    loc = tuple(error["loc"])
    issues = (error.get("ctx") or {}).get("error")
    if isinstance(issues, IssuesError):
        return [
            f"{_location(loc + issue.path)}: {issue.message}"
            + ("" if issue.value is NO_VALUE else f" (got {_shown(issue.value)})")
            for issue in issues.issues
        ]
    if error["type"] == "missing":
        return [f"{_location(loc)}: is required (missing)"]
    if error["type"] == "extra_forbidden":
        return [f"{_location(loc)}: {_unknown_key(loc)}"]
    message = str(error["msg"]).removeprefix("Value error, ")
    return [f"{_location(loc)}: {message} (got {_shown(error.get('input'))})"]


def _describe(errors: list[Any], source: Path) -> str:
    lines = [line for error in errors for line in _lines(error)]
    if len(lines) == 1:
        return f"invalid governance config {source}: {lines[0]}"
    return "\n".join([f"invalid governance config {source}:", *(f"  - {line}" for line in lines)])


def parse_config(data: object, source: Path) -> GovernanceConfig:
    """Validate already-parsed YAML data; raise ConfigError naming every bad field."""
    if not isinstance(data, dict):
        raise ConfigError(
            f"invalid governance config {source}: the top level must be a mapping with "
            f"organisation, environments, governance and models (got {type(data).__name__})"
        )
    try:
        return GovernanceConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc.errors(include_url=False), source)) from None


def load_config(path: str | Path | None = None) -> GovernanceConfig:
    """Read a YAML config (the embedded default when path is None) and validate it."""
    source = Path(path) if path is not None else DEFAULT_CONFIG
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {source}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {source} cannot be read: {exc}") from None
    try:
        data = load_yaml(text)
    except DuplicateKeyError as exc:
        raise ConfigError(f"invalid governance config {source}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {source} is not valid YAML: {exc}") from None
    return parse_config(data, source)

"""Load and validate a governance configuration file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from config.model import GovernanceConfig

DEFAULT_CONFIG = Path(__file__).with_name("default.yaml")


class ConfigError(Exception):
    """A configuration that cannot be used; the message is meant for the person who wrote it."""


def _location(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def _describe(errors: list[Any], source: Path) -> str:
    lines = [f"invalid governance config {source}:"]
    for error in errors:
        value = error.get("input")
        shown = "(missing)" if error["type"] == "missing" else repr(value)
        if len(shown) > 120:
            shown = shown[:117] + "..."
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"  - {_location(error['loc'])}: {message} (got {shown})")
    return "\n".join(lines)


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
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {source} is not valid YAML: {exc}") from None
    return parse_config(data, source)

"""Handler configuration from environment variables, validated once per cold start."""

from __future__ import annotations

from collections.abc import Mapping


class ConfigurationError(RuntimeError):
    """A required environment variable is missing or empty."""


def required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is required and must not be empty")
    return value


def optional(environ: Mapping[str, str], name: str, default: str) -> str:
    return environ.get(name, "").strip() or default

"""CloudFormation provider schemas (bundled with cfn-lint) as a check on synthesized resources."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import cfnlint
import regex
from jsonschema import Draft7Validator, ValidationError, validators

SCHEMAS = Path(cfnlint.__file__).parent / "data" / "schemas" / "providers"
REGION = "eu-west-1"
UNRESOLVED = "<resolved at deploy time>"


@cache
def provider_schema(resource_type: str) -> dict[str, Any]:
    index = json.loads((SCHEMAS / f"{REGION}.json").read_text())
    schema: dict[str, Any] = json.loads(
        (SCHEMAS.parent / "resources" / f"{index[resource_type]}.json").read_text()
    )
    return schema


def _pattern(_validator: Any, pattern: str, instance: Any, _schema: Any) -> Any:
    # The schemas use Unicode classes (\\p{L}) that only the regex module knows.
    if isinstance(instance, str) and not regex.search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_Validator = validators.extend(Draft7Validator, {"pattern": _pattern})


def _without_intrinsics(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref")):
            return UNRESOLVED
        return {key: _without_intrinsics(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_intrinsics(item) for item in value]
    return value


def schema_errors(resource_type: str, properties: dict[str, Any]) -> list[str]:
    """Violations of the provider schema; a value CloudFormation resolves is only checked for
    being there (its pattern and format are the resolved value's business)."""
    schema = dict(provider_schema(resource_type))
    validator = _Validator({**schema, "$schema": "http://json-schema.org/draft-07/schema#"})
    return [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(_without_intrinsics(properties))
        if error.instance != UNRESOLVED
    ]

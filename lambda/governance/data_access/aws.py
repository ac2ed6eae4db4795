# mypy: disable-error-code="import-untyped"
"""The one place that imports boto3/botocore.

boto3 ships without type information; keeping the import here means the rest of the package is
checked strictly and a client is ``Any`` at the boundary.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError

__all__ = ["AwsClient", "ClientError", "client", "error_code", "from_dynamodb", "to_dynamodb"]

AwsClient = Any
"""A boto3 client. Untyped on purpose: see the module docstring."""

# Standard mode retries throttling and transient errors with back-off inside one invocation;
# otherwise a throttle becomes an EventBridge retry that redoes every side effect so far.
_CLIENT_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"})


@cache
def _session() -> boto3.Session:
    # One session per process: it parses each service model once for every client built.
    return boto3.Session()


def client(service_name: str, region_name: str | None = None) -> AwsClient:
    """A boto3 client with the package's retry policy."""
    return _session().client(service_name, region_name=region_name, config=_CLIENT_CONFIG)


def error_code(error: Exception) -> str:
    """The AWS error code of a ``ClientError`` (empty for anything else)."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code", ""))


_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def to_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    """A plain item as DynamoDB attribute values (low-level client format)."""
    return {key: _SERIALIZER.serialize(value) for key, value in item.items()}


def from_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values as a plain item (numbers come back as ``Decimal``)."""
    return {key: _DESERIALIZER.deserialize(value) for key, value in item.items()}

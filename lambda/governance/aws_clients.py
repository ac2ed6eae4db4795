# mypy: disable-error-code="import-untyped"
"""The one place that imports boto3/botocore.

boto3 ships without type information; keeping the import here means the rest of the package is
checked strictly and a client is simply ``Any`` at the boundary. Handlers build their clients
through :func:`client` so retries are configured once; tests pass their own clients instead.
"""

from __future__ import annotations

from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError

__all__ = [
    "AwsClient",
    "ClientError",
    "client",
    "error_code",
    "from_dynamodb",
    "to_dynamodb",
]

AwsClient = Any
"""A boto3 client. Untyped on purpose: see the module docstring."""

# Standard mode retries throttling and transient errors with back-off; a Lambda retried by
# EventBridge after a throttle would otherwise redo every side effect so far.
_CLIENT_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"})


_session: boto3.Session | None = None


def client(service_name: str, region_name: str | None = None) -> AwsClient:
    """A boto3 client with the package's retry policy.

    Clients come from one module-level session so the service models it has parsed are reused
    by every client built in this process.
    """
    global _session  # noqa: PLW0603 - the process-wide session is the point
    if _session is None:
        _session = boto3.Session()
    return _session.client(service_name, region_name=region_name, config=_CLIENT_CONFIG)


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

"""Where a model package's evidence lives, and reading it from S3.

``ModelMetrics`` and ``DriftCheckBaselines`` (``describe_model_package``) are nested objects whose
leaves are ``MetricsSource`` values ``{"ContentType", "S3Uri", "ContentDigest"}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from governance.aws_clients import AwsClient, ClientError, error_code

# A Clarify analysis with explanations for wide datasets reaches a few MB; anything far beyond
# that is not a report and must not exhaust the function's memory.
MAX_REPORT_BYTES: Final = 20 * 1024 * 1024


class EvidenceUnreadableError(Exception):
    """An evidence object could not be fetched or decoded; the message says which and why."""


def metrics_uri(container: Mapping[str, Any], *path: str) -> str | None:
    """The ``S3Uri`` at ``path`` (e.g. ``"ModelQuality", "Statistics"``), if registered."""
    node: Any = container
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    if isinstance(node, Mapping):
        uri = node.get("S3Uri")
        if isinstance(uri, str) and uri.strip():
            return uri
    return None


def all_uris(*containers: Mapping[str, Any] | None) -> list[str]:
    """Every ``S3Uri`` found anywhere in the given objects, de-duplicated, in order found."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key == "S3Uri" and isinstance(value, str) and value and value not in found:
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for container in containers:
        walk(container)
    return found


def parse_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise EvidenceUnreadableError(f"{uri} is not an s3:// URI")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket or not key:
        raise EvidenceUnreadableError(f"{uri} does not name a bucket and an object key")
    return bucket, key


def read_json(s3_client: AwsClient, uri: str) -> Any:
    """Fetch and decode a JSON object from S3, turning every failure into a readable reason."""
    bucket, key = parse_s3_uri(uri)
    try:
        response = s3_client.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        code = error_code(error) or "error"
        raise EvidenceUnreadableError(f"{uri} could not be read ({code})") from error
    length = response.get("ContentLength")
    if isinstance(length, int) and length > MAX_REPORT_BYTES:
        raise EvidenceUnreadableError(f"{uri} is {length} bytes, over {MAX_REPORT_BYTES}")
    body = response["Body"].read(MAX_REPORT_BYTES + 1)
    if len(body) > MAX_REPORT_BYTES:
        raise EvidenceUnreadableError(f"{uri} is over {MAX_REPORT_BYTES} bytes")
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise EvidenceUnreadableError(f"{uri} is not UTF-8 text ({error.reason})") from error
    except json.JSONDecodeError as error:
        raise EvidenceUnreadableError(
            f"{uri} is not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from error

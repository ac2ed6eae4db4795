"""Reading evidence (Clarify reports, monitoring reports) from S3 as JSON, size-capped."""

from __future__ import annotations

import json
from typing import Any, Protocol

from governance.contracts.vocabulary import MAX_EVIDENCE_BYTES
from governance.data_access.aws import AwsClient, ClientError, error_code

# S3 errors that mean "this object cannot be read" rather than "try again later". Without
# s3:ListBucket a missing object answers 403, hence both forms.
UNREADABLE_CODES = frozenset(
    {"NoSuchKey", "NoSuchBucket", "AccessDenied", "InvalidObjectState", "403", "404"}
)


class EvidenceUnreadableError(Exception):
    """An evidence object is missing, refused, too large or not JSON; the message says which."""


class EvidenceReader(Protocol):
    def read_json(self, uri: str) -> Any:
        """The decoded JSON at ``uri``; EvidenceUnreadableError when it cannot be used.

        Transient failures (throttling, timeouts) propagate so the event is retried.
        """
        ...


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` as ``(bucket, key)``."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket or not key:
        raise EvidenceUnreadableError(f"{uri!r} is not an s3://bucket/key URI")
    return bucket, key


class S3EvidenceReader:
    def __init__(self, s3_client: AwsClient, *, max_bytes: int = MAX_EVIDENCE_BYTES) -> None:
        self._s3 = s3_client
        self._max_bytes = max_bytes

    def read_json(self, uri: str) -> Any:
        bucket, key = parse_s3_uri(uri)
        try:
            response = self._s3.get_object(Bucket=bucket, Key=key)
        except ClientError as error:
            code = error_code(error)
            if code in UNREADABLE_CODES:
                raise EvidenceUnreadableError(f"{uri} could not be read ({code})") from error
            raise
        length = response.get("ContentLength")
        if isinstance(length, int) and length > self._max_bytes:
            raise EvidenceUnreadableError(f"{uri} is {length} bytes, over {self._max_bytes}")
        body = response["Body"].read(self._max_bytes + 1)
        if len(body) > self._max_bytes:
            raise EvidenceUnreadableError(f"{uri} is over {self._max_bytes} bytes")
        return _decode_json(uri, body)


def _decode_json(uri: str, body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise EvidenceUnreadableError(f"{uri} is not UTF-8 text ({error.reason})") from error
    except json.JSONDecodeError as error:
        raise EvidenceUnreadableError(
            f"{uri} is not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from error

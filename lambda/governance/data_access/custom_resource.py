"""Answering CloudFormation: one HTTPS PUT of the response object to the request's pre-signed
``ResponseURL`` (CloudFormation user guide, "Custom resource response objects")."""

from __future__ import annotations

import time
import urllib.request
from typing import Protocol


class CustomResourceResponses(Protocol):
    def put(self, url: str, body: bytes) -> None:
        """Deliver ``body`` (the response object) to CloudFormation at ``url``."""
        ...


def put_response(url: str, body: bytes, *, attempts: int = 3) -> None:
    """PUT ``body`` to the pre-signed ``url`` (no content type, as the S3 signature expects)."""
    request = urllib.request.Request(  # noqa: S310 - the request model admits https URLs only
        url, data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310
                reply.read()
            return
        except OSError:
            if attempt == attempts:
                raise
            time.sleep(attempt)


class PresignedUrlResponses:
    """:func:`put_response`, retried on network errors."""

    def put(self, url: str, body: bytes) -> None:
        put_response(url, body)

"""Deploy-time gate of a served model package version: Approved, with its monitors' baselines.

Handler: ``governance.package_baselines.handler``, the service token of each
``Custom::PackageBaselines`` resource (``cdk_constructs/monitoring/baselines.py``).

CloudFormation invokes the function asynchronously (Lambda developer guide, "Invoking Lambda
functions asynchronously") and waits until a response object is PUT to the request's pre-signed
``ResponseURL`` (CloudFormation user guide, "Custom resource request objects" and "Custom
resource response objects"). So the function answers every request itself: any failure becomes
a ``FAILED`` response whose ``Reason`` CloudFormation shows in the stack events, and a
malformed ``Delete`` still succeeds so that a stack can always be deleted.

``PhysicalResourceId`` is the package ARN: a new version replaces the resource and is checked
again. The endpoint, job definitions and schedules depend on this resource, so a refusal stops
the deployment before any of them changes; the job definitions read the baseline URIs from its
``Data`` with ``Fn::GetAtt`` (keys: ``BASELINE_PATHS``, ``DescribeModelPackage`` response paths).
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from governance.contracts.vocabulary import BASELINE_PATHS

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

APPROVED = "Approved"
REQUEST_TYPES = ("Create", "Update", "Delete")
# A response object may hold at most 4,096 bytes (CloudFormation, custom resource response).
MAX_RESPONSE_BYTES = 4096
MAX_REASON_CHARS = 1500


class MalformedRequestError(ValueError):
    """A request CloudFormation would not send; the message names the field and the value."""


@dataclass(frozen=True)
class Request:
    request_type: str
    response_url: str
    stack_id: str
    request_id: str
    logical_resource_id: str
    physical_resource_id: str | None
    model_package_arn: str
    monitor_types: tuple[str, ...]


@dataclass(frozen=True)
class Response:
    """What the function tells CloudFormation."""

    status: str  # SUCCESS | FAILED
    physical_resource_id: str
    reason: str = ""
    data: Mapping[str, str] = field(default_factory=dict)


def parse_request(event: object) -> Request:
    """The custom resource request in ``event``; MalformedRequestError if it is not one."""
    if not isinstance(event, Mapping):
        raise MalformedRequestError(f"event must be an object, got {type(event).__name__}")

    def text(source: Mapping[str, Any], key: str, where: str) -> str:
        value = source.get(key)
        if not isinstance(value, str) or not value:
            raise MalformedRequestError(f"{where}.{key} must be a non-empty string, got {value!r}")
        return value

    request_type = text(event, "RequestType", "request")
    if request_type not in REQUEST_TYPES:
        raise MalformedRequestError(
            f"request.RequestType {request_type!r} is not handled; allowed: "
            f"{', '.join(REQUEST_TYPES)}"
        )
    response_url = text(event, "ResponseURL", "request")
    if urlparse(response_url).scheme != "https":
        raise MalformedRequestError(
            f"request.ResponseURL must be an https URL, got {response_url[:60]!r}"
        )
    properties = event.get("ResourceProperties")
    if not isinstance(properties, Mapping):
        raise MalformedRequestError(
            f"request.ResourceProperties must be an object, got {properties!r}"
        )
    arn = text(properties, "ModelPackageArn", "ResourceProperties")
    monitors = properties.get("MonitorTypes", [])
    if not isinstance(monitors, list) or not all(isinstance(m, str) for m in monitors):
        raise MalformedRequestError(
            f"ResourceProperties.MonitorTypes must be a list of monitor types, got {monitors!r}"
        )
    unknown = sorted(set(monitors) - set(BASELINE_PATHS))
    if unknown:
        raise MalformedRequestError(
            f"ResourceProperties.MonitorTypes has unknown types {unknown}; allowed: "
            f"{', '.join(BASELINE_PATHS)}"
        )
    physical = event.get("PhysicalResourceId")
    return Request(
        request_type=request_type,
        response_url=response_url,
        stack_id=text(event, "StackId", "request"),
        request_id=text(event, "RequestId", "request"),
        logical_resource_id=text(event, "LogicalResourceId", "request"),
        physical_resource_id=physical if isinstance(physical, str) and physical else None,
        model_package_arn=arn,
        monitor_types=tuple(m for m in BASELINE_PATHS if m in monitors),
    )


def _dig(description: Mapping[str, Any], path: str) -> str | None:
    node: Any = description
    for key in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node if isinstance(node, str) and node else None


def decide(request: Request, description: Mapping[str, Any]) -> Response:
    """Accept or refuse ``request`` given ``DescribeModelPackage``'s ``description``."""
    arn = request.model_package_arn
    status = description.get("ModelApprovalStatus")
    if status != APPROVED:
        return Response(
            status="FAILED",
            physical_resource_id=request.physical_resource_id or arn,
            reason=(
                f"Model package {arn} is {status or 'without an approval status'}, not "
                f"{APPROVED}: an endpoint may only serve an approved version. Approve it in the "
                "model registry (the approval gate checks its evidence) or set "
                "deployment.model_package_arn to an approved version, then deploy again."
            ),
        )
    data: dict[str, str] = {"ModelApprovalStatus": status, "ModelPackageArn": arn}
    missing: list[str] = []
    for monitor in request.monitor_types:
        for path in BASELINE_PATHS[monitor].values():
            uri = _dig(description, path)
            if uri is None:
                missing.append(f"{monitor} ({path})")
            else:
                data[path] = uri
    if missing:
        return Response(
            status="FAILED",
            physical_resource_id=request.physical_resource_id or arn,
            reason=(
                f"Model package {arn} has no drift-check baseline for: {', '.join(missing)}. "
                "Register the version with DriftCheckBaselines (the training pipeline's "
                "QualityCheck/ClarifyCheck steps) or disable those monitors, then deploy again."
            ),
        )
    return Response(status="SUCCESS", physical_resource_id=arn, data=data)


def response_body(request: Request, response: Response) -> bytes:
    """The response object CloudFormation reads (at most 4,096 bytes)."""
    reason = response.reason
    if len(reason) > MAX_REASON_CHARS:
        reason = reason[: MAX_REASON_CHARS - 3] + "..."
    body = {
        "Status": response.status,
        "Reason": reason or f"{response.status}: see the function's log",
        "PhysicalResourceId": response.physical_resource_id,
        "StackId": request.stack_id,
        "RequestId": request.request_id,
        "LogicalResourceId": request.logical_resource_id,
        "NoEcho": False,
        "Data": dict(response.data),
    }
    encoded = json.dumps(body).encode("utf-8")
    if len(encoded) > MAX_RESPONSE_BYTES:
        return response_body(
            request,
            Response(
                status="FAILED",
                physical_resource_id=response.physical_resource_id,
                reason=f"the response for {request.model_package_arn} is larger than "
                f"{MAX_RESPONSE_BYTES} bytes; shorten its baseline URIs",
            ),
        )
    return encoded


Describe = Callable[[str], Mapping[str, Any]]
Put = Callable[[str, bytes], None]


def handle(request: Request, *, describe: Describe) -> Response:
    """Decide ``request``; an error while describing the package becomes a refusal."""
    if request.request_type == "Delete":
        return Response(
            status="SUCCESS",
            physical_resource_id=request.physical_resource_id or request.model_package_arn,
        )
    try:
        description = describe(request.model_package_arn)
    except Exception as error:  # every failure must reach CloudFormation as a refusal
        code = getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__)
        return Response(
            status="FAILED",
            physical_resource_id=request.physical_resource_id or request.model_package_arn,
            reason=(
                f"DescribeModelPackage of {request.model_package_arn} failed ({code}: {error}); "
                "check the ARN in deployment.model_package_arn and that the version exists."
            ),
        )
    return decide(request, description)


def put_response(url: str, body: bytes, *, attempts: int = 3) -> None:
    """PUT ``body`` to the pre-signed ``url`` (no content type, as the S3 signature expects)."""
    request = urllib.request.Request(  # noqa: S310 - parse_request admits https URLs only
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


def respond(
    event: object,
    *,
    describe: Describe,
    put: Put | None = None,
) -> Response | None:
    """Handle ``event`` and answer CloudFormation (``put``, default :func:`put_response`).

    Returns the response sent, or None when only a malformed-request refusal could be sent.
    """
    put = put or put_response
    try:
        request = parse_request(event)
    except MalformedRequestError:
        LOGGER.exception("not a custom resource request; nothing can be answered")
        if not isinstance(event, Mapping):
            raise
        url = event.get("ResponseURL")
        if not isinstance(url, str) or urlparse(url).scheme != "https":
            raise
        # Answer what can be answered, so the stack fails now instead of after its timeout.
        fallback = _fallback_request(event, url)
        put(url, response_body(fallback, _malformed(fallback)))
        return None
    response = handle(request, describe=describe)
    LOGGER.info(
        json.dumps(
            {
                "requestType": request.request_type,
                "modelPackageArn": request.model_package_arn,
                "monitorTypes": list(request.monitor_types),
                "status": response.status,
                "reason": response.reason,
            }
        )
    )
    put(request.response_url, response_body(request, response))
    return response


def _fallback_request(event: Mapping[str, Any], url: str) -> Request:
    def value(key: str) -> str:
        found = event.get(key)
        return found if isinstance(found, str) else ""

    return Request(
        request_type=value("RequestType"),
        response_url=url,
        stack_id=value("StackId"),
        request_id=value("RequestId"),
        logical_resource_id=value("LogicalResourceId"),
        physical_resource_id=value("PhysicalResourceId") or None,
        model_package_arn="(unknown)",
        monitor_types=(),
    )


def _malformed(request: Request) -> Response:
    return Response(
        status="FAILED" if request.request_type != "Delete" else "SUCCESS",
        physical_resource_id=request.physical_resource_id or request.request_id or "malformed",
        reason="the PackageBaselines request is malformed (see the function's log); it needs "
        "ModelPackageArn and MonitorTypes",
    )


def _describe_with(client: Any) -> Describe:
    def describe(arn: str) -> Mapping[str, Any]:
        result: Mapping[str, Any] = client.describe_model_package(ModelPackageName=arn)
        return result

    return describe


def handler(event: dict[str, Any], context: object) -> None:
    """Lambda entry point: answer one CloudFormation custom resource request."""
    import boto3  # in the Lambda Python runtime (Lambda developer guide, "Building with Python")

    respond(event, describe=_describe_with(boto3.client("sagemaker")))

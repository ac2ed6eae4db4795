"""The deploy-time check of a served model package version: Approved, with its monitors'
baselines (``Custom::PackageBaselines``, ``cdk_constructs/monitoring/baselines.py``).

CloudFormation waits until the function answers, so every request is answered: any failure
becomes a ``FAILED`` response whose ``Reason`` the stack events show, and a malformed ``Delete``
still succeeds so that a stack can always be deleted. ``PhysicalResourceId`` is the package ARN:
a new version replaces the resource and is checked again. The answer's ``Data`` holds the
baseline URIs under their ``DescribeModelPackage`` response paths (``BASELINE_PATHS``), which
the job definitions read with ``Fn::GetAtt``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from governance.contracts.errors import InvalidEventError
from governance.contracts.vocabulary import BASELINE_PATHS, ApprovalStatus
from governance.data_access.custom_resource import CustomResourceResponses
from governance.data_access.registry import ModelRegistry
from governance.events import PackageBaselinesRequest
from governance.sagemaker import ModelPackage

# A response object may hold at most 4,096 bytes (CloudFormation, custom resource response).
MAX_RESPONSE_BYTES: Final = 4096
MAX_REASON_CHARS: Final = 1500


@dataclass(frozen=True)
class Response:
    """What the function tells CloudFormation."""

    status: str  # SUCCESS | FAILED
    physical_resource_id: str
    reason: str = ""
    data: Mapping[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "physical_resource_id": self.physical_resource_id,
            "reason": self.reason,
        }


class _Answerable(Protocol):
    """What a response object echoes back: the request's identifiers."""

    @property
    def stack_id(self) -> str: ...

    @property
    def request_id(self) -> str: ...

    @property
    def logical_resource_id(self) -> str: ...


@dataclass(frozen=True)
class MalformedRequest:
    """A request that does not parse but carries an https ``ResponseURL``: answered at once, so
    the stack fails now instead of after its ``ServiceTimeout``."""

    error: InvalidEventError
    response_url: str
    request_type: str = ""
    stack_id: str = ""
    request_id: str = ""
    logical_resource_id: str = ""
    physical_resource_id: str | None = None

    @classmethod
    def of(cls, raw: object, error: InvalidEventError) -> MalformedRequest | None:
        """The answerable part of ``raw``; None if there is nowhere to answer."""
        if not isinstance(raw, Mapping):
            return None

        def value(key: str) -> str:
            found = raw.get(key)
            return found if isinstance(found, str) else ""

        if not value("ResponseURL").startswith("https://"):
            return None
        return cls(
            error=error,
            response_url=value("ResponseURL"),
            request_type=value("RequestType"),
            stack_id=value("StackId"),
            request_id=value("RequestId"),
            logical_resource_id=value("LogicalResourceId"),
            physical_resource_id=value("PhysicalResourceId") or None,
        )


def _dig(description: Mapping[str, Any], path: str) -> str | None:
    node: Any = description
    for key in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node if isinstance(node, str) and node else None


def decide(request: PackageBaselinesRequest, package: ModelPackage) -> Response:
    """Accept or refuse ``request`` given the version ``DescribeModelPackage`` returned."""
    arn = request.model_package_arn
    status = package.model_approval_status
    if status is not ApprovalStatus.APPROVED:
        return Response(
            status="FAILED",
            physical_resource_id=request.physical_resource_id or arn,
            reason=(
                f"Model package {arn} is {status}, not {ApprovalStatus.APPROVED}: an endpoint "
                "may only serve an approved version. Approve it in the model registry (the "
                "approval gate checks its evidence) or set deployment.model_package_arn to an "
                "approved version, then deploy again."
            ),
        )
    description = {"DriftCheckBaselines": package.drift_check_baselines}
    data: dict[str, str] = {"ModelApprovalStatus": status.value, "ModelPackageArn": arn}
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


def _error_code(error: BaseException) -> str:
    code = getattr(error, "code", "")
    if isinstance(code, str) and code:
        return code
    response = getattr(error, "response", None)
    if isinstance(response, Mapping):
        return str(response.get("Error", {}).get("Code", type(error).__name__))
    return type(error).__name__


def check(request: PackageBaselinesRequest, registry: ModelRegistry) -> Response:
    """Decide ``request``; an error while describing the package becomes a refusal."""
    if request.request_type == "Delete":
        return Response(
            status="SUCCESS",
            physical_resource_id=request.physical_resource_id or request.model_package_arn,
        )
    try:
        package = registry.describe_package(request.model_package_arn)
    except Exception as error:  # every failure must reach CloudFormation as a refusal
        shown = error.__cause__ or error
        return Response(
            status="FAILED",
            physical_resource_id=request.physical_resource_id or request.model_package_arn,
            reason=(
                f"DescribeModelPackage of {request.model_package_arn} failed "
                f"({_error_code(error)}: {shown}); check the ARN in "
                "deployment.model_package_arn and that the version exists."
            ),
        )
    return decide(request, package)


def malformed(request: MalformedRequest) -> Response:
    """The refusal of a malformed request (a ``Delete`` succeeds: a stack can always go)."""
    return Response(
        status="FAILED" if request.request_type != "Delete" else "SUCCESS",
        physical_resource_id=request.physical_resource_id or request.request_id or "malformed",
        reason=f"the PackageBaselines request is malformed: {request.error}",
    )


def response_body(request: _Answerable, response: Response) -> bytes:
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
                reason=f"the response for {response.physical_resource_id} is larger than "
                f"{MAX_RESPONSE_BYTES} bytes; shorten its baseline URIs",
            ),
        )
    return encoded


def answer(
    request: PackageBaselinesRequest | MalformedRequest,
    registry: ModelRegistry,
    responses: CustomResourceResponses,
) -> Response:
    """Decide ``request`` and deliver the answer to CloudFormation."""
    if isinstance(request, MalformedRequest):
        response = malformed(request)
    else:
        response = check(request, registry)
    responses.put(request.response_url, response_body(request, response))
    return response

"""Deploy-time gate of a served model package version (``governance.package_baselines.handler``):
Approved, with its monitors' baselines.

Trigger: the service token of each ``Custom::PackageBaselines`` resource
(``cdk_constructs/monitoring/baselines.py``). CloudFormation invokes the function
asynchronously (Lambda developer guide, "Invoking Lambda functions asynchronously") and waits
for the response PUT to the request's ``ResponseURL``; what is decided and answered:
:mod:`governance.logic.package_baselines`. No idempotency record: every request must be answered,
and describing a version again is harmless. A request that does not parse is answered as
malformed when it names an https ``ResponseURL``, and otherwise fails the invocation with the
fields that are wrong.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from governance.contracts.errors import InvalidEventError
from governance.data_access import aws
from governance.data_access.custom_resource import CustomResourceResponses, PresignedUrlResponses
from governance.data_access.registry import SageMakerRegistry
from governance.events import PackageBaselinesRequest, parse_event
from governance.lambda_runtime import (
    ClientFactory,
    EnvironmentSettings,
    LambdaHandler,
    logger,
    observed_handler,
)
from governance.logic.package_baselines import MalformedRequest, answer


class PackageBaselinesSettings(EnvironmentSettings):
    """No variables of its own: the package ARNs come with each request."""


def parse_request(raw: dict[str, Any]) -> PackageBaselinesRequest | MalformedRequest:
    """The request, or what of it can still be answered; InvalidEventError if nothing can."""
    try:
        return parse_event(raw, PackageBaselinesRequest)
    except InvalidEventError as error:
        malformed = MalformedRequest.of(raw, error)
        if malformed is None:
            raise
        logger.error("malformed request answered as such", extra={"problems": error.problems})
        return malformed


def _log_keys(request: PackageBaselinesRequest | MalformedRequest) -> dict[str, object]:
    if isinstance(request, MalformedRequest):
        return {"request_type": request.request_type, "malformed": True}
    return {
        "request_type": request.request_type,
        "model_package_arn": request.model_package_arn,
        "monitor_types": list(request.monitor_types),
    }


def build_handler(
    settings: PackageBaselinesSettings,
    client: ClientFactory = aws.client,
    responses: CustomResourceResponses | None = None,
) -> LambdaHandler:
    registry = SageMakerRegistry(client("sagemaker"))
    channel = responses or PresignedUrlResponses()
    return observed_handler(
        parse=parse_request,
        process=lambda request: answer(request, registry, channel).as_dict(),
        log_keys=_log_keys,
    )


@cache
def _from_environment() -> LambdaHandler:
    return build_handler(PackageBaselinesSettings.from_environment())


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _from_environment()(event, context)

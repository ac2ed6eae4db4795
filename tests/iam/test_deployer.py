"""The deploying principal may do with the app's keys what CloudFormation's handlers do.

Handler permissions come from the provider schemas bundled with cfn-lint; the deployer is the
CDK bootstrap CloudFormation execution role with its default AdministratorAccess policy,
calling KMS through the resource's service (kms:ViaService, kms:CallerAccount).
"""

from __future__ import annotations

import pytest

from cdk_constructs.compliance.iam.account import Account
from cdk_constructs.compliance.iam.assembly import CloudAssembly
from cdk_constructs.compliance.iam.deployer import (
    DeployerCall,
    deployer_kms_calls,
    evaluate_deployer_call,
    handler_permissions,
    via_service,
)
from cdk_constructs.compliance.iam.vocabulary import ServiceAuthorizationReference

_ITEM1 = (
    "issue 9 item 1: the key policies let the account administer keys but not use them, so "
    "CloudFormation's handlers cannot; fixed on branch w1/scale"
)
#: Handler calls that fail on today's templates (issue 9 item 1).
HANDLER_CALLS_THE_ISSUE_NAMES = {
    "AWS::DynamoDB::Table/create/kms:Decrypt@Keys/audit",
    "AWS::DynamoDB::Table/create/kms:Encrypt@Keys/audit",
    "AWS::SageMaker::ModelCard/create/kms:GenerateDataKey@Keys/artifacts",
    "AWS::SageMaker::ModelCard/delete/kms:Decrypt@Keys/artifacts",
    "AWS::SageMaker::ModelCard/delete/kms:RetireGrant@Keys/artifacts",
    "AWS::SageMaker::ModelCard/read/kms:Decrypt@Keys/artifacts",
    "AWS::SageMaker::ModelCard/update/kms:Decrypt@Keys/artifacts",
    "AWS::SageMaker::ModelCard/update/kms:GenerateDataKey@Keys/artifacts",
}


@pytest.fixture(scope="module")
def deployer_calls(account: Account, sar: ServiceAuthorizationReference) -> dict[str, DeployerCall]:
    return {call.id: call for call in deployer_kms_calls(account, sar)}


def test_the_handlers_we_know_need_keys_are_found(deployer_calls: dict[str, DeployerCall]) -> None:
    # The resource types whose handlers the issue names: model cards, tables with a CMK,
    # endpoint configs with KmsKeyId.
    types = {call.resource_type for call in deployer_calls.values()}
    assert {
        "AWS::SageMaker::ModelCard",
        "AWS::DynamoDB::Table",
        "AWS::SageMaker::EndpointConfig",
    } <= types
    assert set(deployer_calls) >= HANDLER_CALLS_THE_ISSUE_NAMES


def test_handler_calls(deployer_calls: dict[str, DeployerCall], account: Account) -> None:
    failing = {
        call_id: evaluate_deployer_call(call, account).explain()
        for call_id, call in deployer_calls.items()
        if not evaluate_deployer_call(call, account).allowed
    }
    assert failing == {}


def test_provider_schema_lookup() -> None:
    model_card = handler_permissions("AWS::SageMaker::ModelCard", "eu-west-1")
    assert "kms:GenerateDataKey" in model_card["create"]
    assert handler_permissions("AWS::Not::AType", "eu-west-1") == {}
    assert via_service("AWS::DynamoDB::Table", "eu-west-1") == "dynamodb.eu-west-1.amazonaws.com"
    assert via_service("AWS::KMS::Key", "eu-west-1") is None


def test_a_key_policy_granting_the_deployer_passes(sar: ServiceAuthorizationReference) -> None:
    # The fix the issue asks for, on a hand-written stack: the account may use the key only
    # through SageMaker from this account. The same check that fails today then passes, and
    # without the condition values it fails (the deployer calls with them).
    key_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": ["kms:Describe*", "kms:Create*", "kms:Put*"],
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": [
                    "kms:GenerateDataKey",
                    "kms:Decrypt",
                    "kms:CreateGrant",
                    "kms:DescribeKey",
                    "kms:RetireGrant",
                ],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": "sagemaker.us-east-1.amazonaws.com",
                        "kms:CallerAccount": "123456789012",
                    }
                },
            },
        ],
    }
    template = {
        "Resources": {
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": key_policy}},
            "Card": {
                "Type": "AWS::SageMaker::ModelCard",
                "Properties": {
                    "ModelCardName": "m",
                    "ModelCardStatus": "Draft",
                    "Content": {},
                    "SecurityConfig": {"KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]}},
                },
            },
        }
    }
    account = Account.from_assembly(CloudAssembly.from_templates({"app": template}))
    calls = [c for c in deployer_kms_calls(account, sar) if c.resource_type.endswith("ModelCard")]
    assert {c.action for c in calls} >= {"kms:GenerateDataKey", "kms:Decrypt", "kms:CreateGrant"}
    assert all(evaluate_deployer_call(c, account).allowed for c in calls)
    generate = next(c for c in calls if c.action == "kms:GenerateDataKey")
    direct = DeployerCall(**{**generate.__dict__, "context": {"kms:CallerAccount": "123456789012"}})
    assert not evaluate_deployer_call(direct, account).allowed

"""Model package groups, model cards and approval policies, asserted on a bare stack."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from cdk_constructs import tags
from cdk_constructs.encryption import DataDomain, GovernanceKey
from cdk_constructs.registry import (
    CONSUMER_DENIED_ACTIONS,
    ApprovalPolicyParameter,
    GovernedModelCard,
    GovernedModelPackageGroup,
    ModelCardSchemaError,
    model_card_content,
    validate_model_card_content,
)
from config import load_config
from config.model import ModelConfig
from governance.contracts.parameters import parse_policy
from stacks.props import approval_policy, registered_model
from tests.conftest import cdk_context

CONFIG = load_config()
CREDIT, CHURN = CONFIG.models


@pytest.fixture(scope="module")
def resources() -> dict[str, dict[str, Any]]:
    app = cdk.App(context=cdk_context())
    stack = cdk.Stack(
        app, "Registry", env=cdk.Environment(account="111122223333", region="eu-west-1")
    )
    key = GovernanceKey(stack, "Key", domain=DataDomain.ARTIFACTS, alias_prefix="acme")
    for model in CONFIG.models:
        registered = registered_model(model)
        GovernedModelPackageGroup(stack, f"{model.name}-group", model=registered)
        GovernedModelCard(
            stack, f"{model.name}-card", model=registered, organisation="Acme", key=key
        )
        ApprovalPolicyParameter(
            stack,
            f"{model.name}-policy",
            policy=approval_policy(model, CONFIG.governance),
            summary=CONFIG.governance.effective_approval(model).summary(),
        )
    resources: dict[str, dict[str, Any]] = Template.from_stack(stack).to_json()["Resources"]
    return resources


def _one(resources: dict[str, dict[str, Any]], cfn_type: str, model: ModelConfig) -> dict[str, Any]:
    (found,) = [
        r
        for k, r in resources.items()
        if r["Type"] == cfn_type and k.startswith(model.name.replace("-", ""))
    ]
    return found


def _tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource["Properties"]["Tags"]}


@pytest.mark.parametrize("model", CONFIG.models, ids=lambda m: m.name)
def test_group_is_retained_named_and_tagged(resources: dict[str, Any], model: ModelConfig) -> None:
    group = _one(resources, "AWS::SageMaker::ModelPackageGroup", model)
    assert group["DeletionPolicy"] == "Retain"
    assert group["UpdateReplacePolicy"] == "Retain"
    assert group["Properties"]["ModelPackageGroupName"] == model.name
    # create-only: derived from the name, never from the (editable) description
    description = group["Properties"]["ModelPackageGroupDescription"]
    assert model.name in description
    assert model.description not in description
    assert _tags(group) == {
        tags.MODEL: model.name,
        tags.OWNER: model.owner.team,
        tags.RISK_TIER: model.risk_tier.value,
        tags.DATA_CLASSIFICATION: model.data_classification.value,
    }


def test_consumer_accounts_get_read_only_sharing(resources: dict[str, Any]) -> None:
    group = _one(resources, "AWS::SageMaker::ModelPackageGroup", CREDIT)
    statements = group["Properties"]["ModelPackageGroupPolicy"]["Statement"]
    allowed = {a for s in statements if s["Effect"] == "Allow" for a in s["Action"]}
    assert allowed == {
        "sagemaker:DescribeModelPackageGroup",
        "sagemaker:DescribeModelPackage",
        "sagemaker:ListModelPackages",
        "sagemaker:CreateModel",
    }
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert set(deny["Action"]) == set(CONSUMER_DENIED_ACTIONS)
    assert "sagemaker:UpdateModelPackage" in deny["Action"]
    principals = json.dumps([s["Principal"] for s in statements])
    for account in CREDIT.consumer_accounts:
        assert f":iam::{account}:root" in principals


def test_group_without_consumers_has_no_policy(resources: dict[str, Any]) -> None:
    group = _one(resources, "AWS::SageMaker::ModelPackageGroup", CHURN)
    assert "ModelPackageGroupPolicy" not in group["Properties"]


@pytest.mark.parametrize("model", CONFIG.models, ids=lambda m: m.name)
def test_card_is_draft_encrypted_and_built_from_config(
    resources: dict[str, Any], model: ModelConfig
) -> None:
    card = _one(resources, "AWS::SageMaker::ModelCard", model)
    properties = card["Properties"]
    assert properties["ModelCardName"] == model.name
    assert properties["ModelCardStatus"] == "Draft"
    assert "Fn::GetAtt" in properties["SecurityConfig"]["KmsKeyId"]
    content = properties["Content"]
    assert content["ModelOverview"]["ProblemType"] == model.problem_type.value
    assert content["IntendedUses"]["RiskRating"] == model.risk_tier.value.capitalize()
    assert content["IntendedUses"]["IntendedUses"] == model.intended_uses
    assert model.owner.email in content["ModelOverview"]["ModelOwner"]
    assert card["DeletionPolicy"] == "Retain"
    assert _tags(card)[tags.MODEL] == model.name


def test_card_content_follows_the_sdk_model_card_schema() -> None:
    # Given the content built from config, When validated by the sagemaker SDK's shapes
    for model in CONFIG.models:
        validate_model_card_content(model_card_content(registered_model(model), "Acme"))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c: c["intended_uses"].update(risk_rating="Severe"), "risk_rating"),
        (lambda c: c["model_overview"].update(unknown_field="x"), "does not know"),
        (lambda c: c["intended_uses"].update(intended_uses="x" * 3000), "intended_uses"),
    ],
    ids=["bad-enum", "unknown-field", "too-long"],
)
def test_card_schema_rejects_bad_content(mutate: Any, message: str) -> None:
    content = model_card_content(registered_model(CREDIT), "Acme")
    mutate(content)
    with pytest.raises(ModelCardSchemaError, match=message):
        validate_model_card_content(content)


@pytest.mark.parametrize("model", CONFIG.models, ids=lambda m: m.name)
def test_policy_parameter_is_what_the_approval_gate_parses(
    resources: dict[str, Any], model: ModelConfig
) -> None:
    # Given the synthesized SSM parameter, When the gate's own parser reads it
    parameter = _one(resources, "AWS::SSM::Parameter", model)
    assert parameter["Properties"]["Name"] == f"/sagemaker-governance/models/{model.name}"
    policy = parse_policy(
        json.loads(parameter["Properties"]["Value"]),
        parameter=parameter["Properties"]["Name"],
        group=model.name,
    )
    # Then it carries the model's effective evidence, thresholds and facet (bias thresholds only
    # for models whose policy requires a bias report)
    effective = CONFIG.governance.effective_approval(model)
    assert policy.required_evidence == tuple(e.value for e in effective.required_evidence)
    assert policy.on_failure == effective.on_failure.value
    assert set(policy.bias_thresholds) == set(effective.bias_thresholds)
    assert (policy.bias_facet is None) == (effective.bias_facet is None)

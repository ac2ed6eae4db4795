"""Model registry governance: one retained, tagged model package group and card per model."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from cdk_constructs import defaults, plain
from cdk_constructs.arns import format_arn
from cdk_constructs.encryption import IGovernanceKey
from cdk_constructs.props import RegisteredModel
from governance.contracts.parameters import ApprovalPolicy
from governance.contracts.vocabulary import POLICY_PARAMETER_PREFIX

# What a consumer account may do with a shared group: discover versions and deploy them.
CONSUMER_ACTIONS_ON_GROUP = ("sagemaker:DescribeModelPackageGroup",)
CONSUMER_ACTIONS_ON_VERSIONS = (
    "sagemaker:DescribeModelPackage",
    "sagemaker:ListModelPackages",
    "sagemaker:CreateModel",
)
# Never granted across accounts; denied explicitly so a later Allow cannot slip through.
CONSUMER_DENIED_ACTIONS = (
    "sagemaker:UpdateModelPackage",
    "sagemaker:CreateModelPackage",
    "sagemaker:DeleteModelPackage",
    "sagemaker:DeleteModelPackageGroup",
    "sagemaker:PutModelPackageGroupPolicy",
    "sagemaker:DeleteModelPackageGroupPolicy",
)
RISK_RATING = {"high": "High", "medium": "Medium", "low": "Low"}


def consumer_policy(model: RegisteredModel, stack: cdk.Stack) -> dict[str, Any]:
    """The resource policy sharing ``model``'s group read-only with its consumer accounts."""
    name = model.identity.name
    principals = {
        "AWS": [
            format_arn(stack, service="iam", region="", account=account, resource="root")
            for account in model.consumer_accounts
        ]
    }

    def sagemaker_arn(resource: str, resource_name: str) -> str:
        return format_arn(
            stack, service="sagemaker", resource=resource, resource_name=resource_name
        )

    group_arn = sagemaker_arn("model-package-group", name)
    versions_arn = sagemaker_arn("model-package", f"{name}/*")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ConsumersDescribeGroup",
                "Effect": "Allow",
                "Principal": principals,
                "Action": list(CONSUMER_ACTIONS_ON_GROUP),
                "Resource": group_arn,
            },
            {
                "Sid": "ConsumersReadAndDeployVersions",
                "Effect": "Allow",
                "Principal": principals,
                "Action": list(CONSUMER_ACTIONS_ON_VERSIONS),
                "Resource": versions_arn,
            },
            {
                "Sid": "ConsumersNeverChangeOrApprove",
                "Effect": "Deny",
                "Principal": principals,
                "Action": list(CONSUMER_DENIED_ACTIONS),
                "Resource": [group_arn, versions_arn],
            },
        ],
    }


def group_description(model_name: str) -> str:
    """The group's description: derived from its name only, so it never has to change.

    ``ModelPackageGroupDescription`` is create-only (CloudFormation provider schema of
    AWS::SageMaker::ModelPackageGroup, ``createOnlyProperties``): changing it replaces the group,
    which fails for a named group, and the group is retained. The model's description, owner
    and intended uses live in its model card, whose content can be updated in place.
    """
    return (
        f"Governed model {model_name}; description, owner and intended uses: "
        f"model card {model_name}"
    )


class GovernedModelPackageGroup(Construct):
    """The model's package group: retained, tagged, shared read-only where config says so.

    Only the name and a description derived from it are create-only; everything that config may
    change (tags, the consumer policy) is updated in place.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: RegisteredModel,
        stack: cdk.Stack | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.group_name = model.identity.name
        policy = None
        if model.consumer_accounts:
            # ``stack``: the scope's stack when the caller has it at hand (else looked up).
            policy = consumer_policy(model, stack or cdk.Stack.of(self))
        self.resource = plain.create(
            sagemaker.CfnModelPackageGroup,
            self,
            "Resource",
            {
                "modelPackageGroupName": self.group_name,
                "modelPackageGroupDescription": group_description(self.group_name),
                "modelPackageGroupPolicy": policy,
                "tags": plain.tags(model.identity.governance_tags()),
            },
        )
        self.resource.apply_removal_policy(defaults.REMOVAL_POLICY)

    @property
    def group_arn(self) -> str:
        return self.resource.attr_model_package_group_arn


def model_card_content(model: RegisteredModel, organisation: str) -> dict[str, Any]:
    """The card's content in the SageMaker model card JSON schema (snake_case API form)."""
    identity = model.identity
    risk = identity.risk_tier.value
    classification = identity.data_classification.value
    return {
        "model_overview": {
            "model_description": model.description[:1024],
            "model_owner": f"{identity.owner_team} <{identity.owner_email}>",
            "problem_type": model.problem_type.value,
        },
        "intended_uses": {
            "purpose_of_model": model.description[:2048],
            "intended_uses": model.intended_uses[:2048],
            "risk_rating": RISK_RATING[risk],
            "explanations_for_risk_rating": (
                f"Risk tier '{risk}' assigned in {organisation}'s governance configuration; "
                f"data classification '{classification}'."
            ),
        },
        "business_details": {
            "business_problem": model.description[:2048],
            "business_stakeholders": identity.owner_team,
            "line_of_business": organisation,
        },
        "additional_information": {
            "custom_details": {
                "data_classification": classification,
                "label": model.dataset.label,
                "features": ", ".join(model.dataset.feature_names),
                **(
                    {
                        "protected_attribute": model.bias.facet,
                        "sensitive_group": str(model.bias.facet_value),
                    }
                    if model.bias
                    else {}
                ),
            },
        },
    }


class ModelCardSchemaError(ValueError):
    """Card content that the SageMaker model card schema does not accept as written."""


def validate_model_card_content(content: dict[str, Any]) -> None:
    """Check ``content`` against the SDK's model card shapes; nothing may be dropped or coerced."""
    from pydantic import ValidationError
    from sagemaker.core.shapes.model_card_shapes import ModelCardContent

    try:
        parsed = ModelCardContent.model_validate(content)
    except ValidationError as error:
        raise ModelCardSchemaError(f"model card content is invalid: {error}") from None
    round_trip = parsed.model_dump(mode="json", exclude_none=True)
    if not round_trip.get("evaluation_details"):
        round_trip.pop("evaluation_details", None)
    if round_trip != content:
        raise ModelCardSchemaError(
            "model card content has fields the schema does not know or types it coerces: "
            f"{json.dumps(content, sort_keys=True)} != {json.dumps(round_trip, sort_keys=True)}"
        )


class GovernedModelCard(Construct):
    """A Draft model card built from the model's props, encrypted with ``key``.

    Draft is the honest status at synth: approving the card is a human decision (the approver
    persona), and the approval gate refuses versions whose card is not Approved.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: RegisteredModel,
        organisation: str,
        key: IGovernanceKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.content = model_card_content(model, organisation)
        validate_model_card_content(self.content)
        c = self.content
        # The content's sections and fields in the L1's jsii names (cdk_constructs/plain.py);
        # the custom details are a string map, written as they are.
        self.resource = plain.create(
            sagemaker.CfnModelCard,
            self,
            "Resource",
            {
                "modelCardName": model.identity.name,
                "modelCardStatus": "Draft",
                "content": {
                    plain.camel(section): {plain.camel(key): value for key, value in fields.items()}
                    for section, fields in c.items()
                },
                "securityConfig": {"kmsKeyId": key.key_arn},
                "tags": plain.tags(model.identity.governance_tags()),
            },
        )
        self.resource.apply_removal_policy(defaults.REMOVAL_POLICY)
        # SageMaker encrypts the card with the caller's credentials, not as its own service
        # principal: the foundation's key policy lets the deploying role use ``key`` through
        # SageMaker (GovernanceKey.grant_deployer) and the personas through grant_use_via.

    @property
    def card_name(self) -> str:
        return str(self.resource.model_card_name)


class ApprovalPolicyParameter(Construct):
    """The model's approval policy as an SSM parameter the approval gate reads at cold start.

    ``policy`` is the contract document itself (``governance.contracts.parameters``), so the
    app writes only what the gate parses. The description says, for people, the tier and
    ``summary``: the evidence and any waiver with its reason.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, policy: ApprovalPolicy, summary: str
    ) -> None:
        super().__init__(scope, construct_id)
        self.policy = policy
        self.parameter = plain.create(
            ssm.StringParameter,
            self,
            "Resource",
            {
                "parameterName": f"{POLICY_PARAMETER_PREFIX}{policy.model_package_group_name}",
                "stringValue": json.dumps(
                    policy.model_dump(mode="json"), sort_keys=True, separators=(",", ":")
                ),
                "description": (
                    f"Approval policy of model {policy.model_name} (risk tier "
                    f"{policy.risk_tier.value}), read by the approval gate: {summary}"
                )[:1024],
                "tier": ssm.ParameterTier.STANDARD,
            },
        )

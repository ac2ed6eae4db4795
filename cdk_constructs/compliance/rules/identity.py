"""Rules for IAM principals: every role and user under the app's permissions boundary."""

from __future__ import annotations

from typing import Any

from cdk_constructs.compliance.rules.framework import (
    AppIndex,
    GovernanceRule,
    Resource,
    Verdict,
    is_no_value,
    per_resource,
)
from cdk_constructs.compliance.rules.wiring import arn_resource

IAM_ROLE = "AWS::IAM::Role"
IAM_USER = "AWS::IAM::User"
IAM_MANAGED_POLICY = "AWS::IAM::ManagedPolicy"


def _policy_named(name: str, path: str, of: Resource, index: AppIndex) -> bool:
    """Does the app declare a customer managed policy with this name and path, deployable next
    to ``of``? (IAM policy names are unique per account and path.)"""
    for policy in index.in_stage(of, IAM_MANAGED_POLICY):
        if not policy.environment.overlaps(of.environment):
            continue
        declared_path = policy.get("Path")
        declared_path = declared_path if isinstance(declared_path, str) else "/"
        if policy.get("ManagedPolicyName") == name and declared_path == path:
            return True
    return False


def has_app_boundary(principal: Resource, index: AppIndex) -> Verdict:
    """PermissionsBoundary is a customer managed policy declared by the app: a reference to its
    AWS::IAM::ManagedPolicy, or an ARN naming one by its ManagedPolicyName (as stacks that do
    not own the boundary reference it). Not an AWS managed policy."""
    boundary: Any = principal.get("PermissionsBoundary")
    if boundary is None or is_no_value(boundary):
        return Verdict.NON_COMPLIANT
    target = index.resolve(boundary)
    if target is not None:
        return Verdict.COMPLIANT if target.type == IAM_MANAGED_POLICY else Verdict.NON_COMPLIANT
    arn = arn_resource(boundary)
    if arn is None:
        return Verdict.UNDECIDABLE
    account, resource = arn
    kind, _, policy_path = resource.partition("/")
    if account == "aws" or kind != "policy":
        return Verdict.NON_COMPLIANT  # an AWS managed policy is nobody's governance boundary
    path, _, name = f"/{policy_path}".rpartition("/")
    if _policy_named(name, f"{path}/", principal, index):
        return Verdict.COMPLIANT
    # A boundary the app does not declare (a landing zone's?) cannot be judged here.
    return Verdict.UNDECIDABLE


IAM_POLICY = "AWS::IAM::Policy"


def no_inline_policy(principal: Resource) -> Verdict:
    """A role or user has no Policies property (or an empty list); an AWS::IAM::Policy (an
    inline policy written as its own resource) is always reported."""
    if principal.type == IAM_POLICY:
        return Verdict.NON_COMPLIANT
    policies = principal.get("Policies")
    if policies is None or is_no_value(policies):
        return Verdict.COMPLIANT
    if isinstance(policies, list):
        return Verdict.NON_COMPLIANT if policies else Verdict.COMPLIANT
    return Verdict.UNDECIDABLE


RULES = (
    GovernanceRule(
        rule_id="IAM1",
        resource_types=(IAM_ROLE, IAM_USER),
        title="Every role has the app's permissions boundary",
        info="The IAM role or user has no PermissionsBoundary, or one that is an AWS managed "
        "policy rather than the boundary policy the app declares.",
        explanation="The boundary caps what any role may ever do, whoever edits its policies: "
        "it denies escaping governance (changing IAM, removing the boundary, stopping the "
        "trail, deleting keys or bypassing Object Lock). A role without it, including the "
        "roles CDK creates for its own custom-resource providers, is outside that ceiling.",
        undecidable="PermissionsBoundary is a parameter or an import, or names a policy the "
        "app does not declare; its contents cannot be checked at synth time.",
        nist_800_53=("AC-6", "AC-6(10)", "AC-2"),
        sr_11_7="VI (controls over model changes)",
        check=has_app_boundary,
    ),
    GovernanceRule(
        rule_id="IAM2",
        resource_types=(IAM_ROLE, IAM_USER, IAM_POLICY),
        title="Grants land in managed policies, never inline",
        info="The role or user has inline Policies, or the app declares an AWS::IAM::Policy "
        "(an inline policy).",
        explanation="Managed policies are versioned, listed on their own and reviewed as one "
        "document per role; inline policies hide grants inside the principal. The public "
        "IAMNoInlinePolicy rules see typed L1 roles only, not the roles CDK writes as plain "
        "CfnResource for its own custom-resource providers; this rule reads the template.",
        undecidable="Policies is conditional.",
        nist_800_53=("AC-6", "AC-2", "CM-6"),
        check=per_resource(no_inline_policy),
    ),
)

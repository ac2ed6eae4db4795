"""One permissions boundary on every IAM role of an environment, in every stack.

The boundary policy lives in the environment's foundation stack. Roles in other stacks (models
stacks: the roles CDK creates for its own custom-resource providers, such as the
``AwsCustomResource`` singleton) need it too, but a cross-stack reference to the policy would
add an output to the foundation for what other stacks happen to contain. So the policy gets a
deterministic name and other stacks name it by ARN (``ManagedPolicy.from_managed_policy_name``:
``arn:<partition>:iam::<account>:policy/<name>``), with an explicit stack dependency so that
CloudFormation creates the policy before any role that names it.

The boundary itself is applied by aws-cdk-lib's ``iam.PermissionsBoundary`` Aspect, which sets
``PermissionsBoundary`` on every ``AWS::IAM::Role`` and ``AWS::IAM::User`` of a scope, including
roles written as plain ``CfnResource`` (CDK's ``CustomResourceProvider``). Governance rule IAM1
checks the result in the synthesized templates.
"""

from __future__ import annotations

import re

from aws_cdk import Stack, Token
from aws_cdk import aws_iam as iam
from constructs import Construct

# IAM CreatePolicy: PolicyName is 1-128 characters of letters, digits and +=,.@_-
# (botocore iam service model, shape policyNameType: pattern [\w+=,.@-]+, min 1, max 128).
_POLICY_NAME = re.compile(r"[\w+=,.@-]{1,128}", re.ASCII)
_IMPORTED_ID = "GovernancePermissionsBoundary"


class GovernanceBoundary:
    """The permissions boundary of one environment and the stacks it is applied to.

    :param policy: the boundary managed policy, in the stack that owns it (the foundation).
    :param name: its ``ManagedPolicyName``: unique in the account, so derive it from the
        organisation and environment (``<org>-<env>-permissions-boundary``).
    """

    def __init__(self, policy: iam.ManagedPolicy, *, name: str) -> None:
        if not _POLICY_NAME.fullmatch(name):
            raise ValueError(
                f"permissions boundary policy name {name!r} is not a valid IAM policy name: "
                "use 1 to 128 letters, digits and the characters + = , . @ _ -"
            )
        cfn = policy.node.default_child
        if not isinstance(cfn, iam.CfnManagedPolicy):
            raise TypeError(f"{policy.node.path} has no AWS::IAM::ManagedPolicy to name")
        # Named on the L1 so the construct that writes the boundary's statements stays as is.
        cfn.managed_policy_name = name
        self.policy = policy
        self.name = name
        self._owner = Stack.of(policy)
        self._imported: dict[str, iam.IManagedPolicy] = {}

    def apply(self, scope: Construct) -> None:
        """Put the boundary on every role and user of ``scope`` (a stack of the environment)."""
        stack = Stack.of(scope)
        if stack is self._owner:
            iam.PermissionsBoundary.of(scope).apply(self.policy)
            return
        if not _same_account(stack, self._owner):
            raise ValueError(
                f"stack {stack.node.path} (account {stack.account}) cannot use the permissions "
                f"boundary of {self._owner.node.path} (account {self._owner.account}): a "
                "boundary must be a managed policy of the role's own account"
            )
        boundary = self._imported.get(stack.node.path)
        if boundary is None:
            boundary = iam.ManagedPolicy.from_managed_policy_name(stack, _IMPORTED_ID, self.name)
            self._imported[stack.node.path] = boundary
        iam.PermissionsBoundary.of(scope).apply(boundary)
        stack.add_stack_dependency(self._owner, "roles name the foundation's permissions boundary")


def _same_account(stack: Stack, owner: Stack) -> bool:
    """Both literal and equal, or both unresolved (environment-agnostic apps)."""
    mine, theirs = stack.account, owner.account
    if Token.is_unresolved(mine) or Token.is_unresolved(theirs):
        return Token.is_unresolved(mine) and Token.is_unresolved(theirs)
    return mine == theirs

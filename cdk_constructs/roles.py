"""A role whose grants land in a customer-managed policy instead of an inline one.

NIST 800-53, HIPAA and PCI packs reject inline policies (they cannot be reused, versioned or
reviewed on their own); CDK grants write to an inline ``DefaultPolicy``. This role redirects
every ``add_to_principal_policy`` (and so every ``grant_*``) to one managed policy it owns.
"""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import aws_iam as iam
from constructs import Construct


class ManagedPolicyRole(iam.Role):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self._grants_policy: iam.ManagedPolicy | None = None

    @property
    def grants_policy(self) -> iam.ManagedPolicy | None:
        """The managed policy holding this role's grants (None until the first grant)."""
        return self._grants_policy

    @jsii.member(jsii_name="addToPrincipalPolicy")
    def add_to_principal_policy(
        self, statement: iam.PolicyStatement
    ) -> iam.AddToPrincipalPolicyResult:
        if self._grants_policy is None:
            self._grants_policy = iam.ManagedPolicy(
                self,
                "Grants",
                description=f"Grants of {self.node.path}",
                roles=[self],
            )
        self._grants_policy.add_statements(statement)
        return iam.AddToPrincipalPolicyResult(
            statement_added=True, policy_dependable=self._grants_policy
        )

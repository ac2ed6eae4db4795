"""Customer-managed KMS keys, one per data domain, with least-privilege key policies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from cdk_constructs import defaults


class DataDomain(StrEnum):
    """A class of data that gets its own key, so access to one never implies access to another."""

    ARTIFACTS = "artifacts"
    DATA_CAPTURE = "data-capture"
    MONITORING = "monitoring"
    AUDIT = "audit"
    LOGS = "logs"
    ALERTS = "alerts"


# Explicit actions, no wildcards: what S3 SSE-KMS, SNS, SQS and CloudWatch Logs call.
_ENCRYPT_DECRYPT = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")
_DECRYPT = ("kms:Decrypt", "kms:DescribeKey")
# Multipart uploads to SSE-KMS buckets decrypt the data key of earlier parts.
_ENCRYPT = ("kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey")


class GovernanceKey(Construct):
    """A rotating customer-managed key whose policy names every principal that uses it.

    The account root may administer the key but not use it, so IAM policies alone can never
    grant use: each ``grant_*`` call writes the principal into the key policy and into the
    principal's own policy.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain: DataDomain,
        alias_prefix: str,
        description: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.domain = domain
        admin = iam.PolicyStatement(
            sid="KeyAdministration",
            principals=[iam.AccountRootPrincipal()],
            actions=list(defaults.KEY_ADMIN_ACTIONS),
            resources=["*"],
        )
        self.key = kms.Key(
            self,
            "Resource",
            alias=f"alias/{alias_prefix}/{domain.value}",
            description=description or f"Model governance: {domain.value} data",
            enable_key_rotation=defaults.KEY_ROTATION,
            pending_window=defaults.KEY_PENDING_WINDOW,
            removal_policy=defaults.REMOVAL_POLICY,
            policy=iam.PolicyDocument(statements=[admin]),
        )

    @property
    def key_arn(self) -> str:
        return self.key.key_arn

    def _grant(self, grantee: iam.IGrantable, actions: Sequence[str]) -> iam.Grant:
        return iam.Grant.add_to_principal_and_resource(
            grantee=grantee,
            actions=list(actions),
            resource_arns=[self.key.key_arn],
            resource=self.key,
            resource_self_arns=["*"],
        )

    def grant_encrypt_decrypt(self, grantee: iam.IGrantable) -> iam.Grant:
        return self._grant(grantee, _ENCRYPT_DECRYPT)

    def grant_decrypt(self, grantee: iam.IGrantable) -> iam.Grant:
        return self._grant(grantee, _DECRYPT)

    def grant_encrypt(self, grantee: iam.IGrantable) -> iam.Grant:
        return self._grant(grantee, _ENCRYPT)

    def grant_volume_encryption(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let SageMaker, on ``grantee``'s behalf, encrypt the ML storage volumes it attaches.

        SageMaker creates a KMS grant for each job or endpoint instance; the condition limits
        the grants to ones made for AWS resources.
        """
        for_aws_resources = {"Bool": {"kms:GrantIsForAWSResource": "true"}}
        # Written out: Grant.add_to_principal_and_resource drops conditions on the key side.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[grantee.grant_principal],
                actions=["kms:CreateGrant"],
                resources=["*"],
                conditions=for_aws_resources,
            )
        )
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["kms:CreateGrant"],
            resource_arns=[self.key.key_arn],
            conditions=for_aws_resources,
        )
        return self._grant(grantee, _ENCRYPT_DECRYPT)

    def grant_to_service(
        self,
        service: str,
        *,
        actions: Sequence[str] = _ENCRYPT_DECRYPT,
        conditions: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """Let an AWS service principal use the key, scoped to this account by default."""
        account = Stack.of(self).account
        scoped = dict(conditions or {"StringEquals": {"aws:SourceAccount": account}})
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"Use by {service}".replace(".", "").replace(" ", ""),
                principals=[iam.ServicePrincipal(service)],
                actions=list(actions),
                resources=["*"],
                conditions=scoped,
            )
        )


class GovernanceKeys(Construct):
    """One :class:`GovernanceKey` per :class:`DataDomain`."""

    def __init__(self, scope: Construct, construct_id: str, *, alias_prefix: str) -> None:
        super().__init__(scope, construct_id)
        self._keys = {
            domain: GovernanceKey(self, domain.value, domain=domain, alias_prefix=alias_prefix)
            for domain in DataDomain
        }

    def __getitem__(self, domain: DataDomain) -> GovernanceKey:
        return self._keys[domain]

    @property
    def all(self) -> list[GovernanceKey]:
        return list(self._keys.values())

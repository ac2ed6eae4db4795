"""Customer-managed KMS keys, one per data domain, with least-privilege key policies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType
from typing import Any, Protocol

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from cdk_constructs import access, defaults


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
# What SageMaker calls on a model card's key for the caller: DescribeModelCard decrypts,
# CreateModelCard/UpdateModelCard generate data keys (AWS::SageMaker::ModelCard handlers).
CARD_READ = ("kms:Decrypt", "kms:DescribeKey")
CARD_WRITE = ("kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey")


@dataclass(frozen=True)
class DeployerKeyUse:
    """What CloudFormation's handler for one resource type calls on that resource's key."""

    service: str  # the service that calls KMS for the handler (kms:ViaService)
    actions: tuple[str, ...]


# From the CloudFormation provider schemas (cfn-lint 1.58.0, cfnlint/data/schemas/providers/
# <region>.json -> resources/<hash>.json, the kms:* entries of handlers.*.permissions), limited
# to actions that apply to a key: kms:ListAliases (DynamoDB) has no resource type in the Service
# Authorization Reference, so a key policy cannot grant it (the deploying role's own policy
# does). tests/foundation/test_deployer_key_use.py re-reads the schemas and fails on drift.
DEPLOYER_KEY_USE: Mapping[str, DeployerKeyUse] = MappingProxyType(
    {
        "AWS::SageMaker::ModelCard": DeployerKeyUse(
            "sagemaker",
            (
                "kms:CreateGrant",
                "kms:Decrypt",
                "kms:DescribeKey",
                "kms:GenerateDataKey",
                "kms:RetireGrant",
            ),
        ),
        "AWS::DynamoDB::Table": DeployerKeyUse(
            "dynamodb",
            (
                "kms:CreateGrant",
                "kms:Decrypt",
                "kms:DescribeKey",
                "kms:Encrypt",
                "kms:RevokeGrant",
            ),
        ),
        "AWS::SageMaker::EndpointConfig": DeployerKeyUse("sagemaker", ("kms:DescribeKey",)),
    }
)


class IGovernanceKey(Protocol):
    """What a construct needs from a governance key it only references."""

    @property
    def domain(self) -> DataDomain: ...

    @property
    def key(self) -> kms.IKey: ...

    @property
    def key_arn(self) -> str: ...


def _sid(text: str) -> str:
    return "".join(ch for ch in text.title() if ch.isalnum())


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
        self._domain = domain
        admin = iam.PolicyStatement(
            sid="KeyAdministration",
            principals=[iam.AccountRootPrincipal()],
            actions=list(defaults.KEY_ADMIN_ACTIONS),
            resources=["*"],
        )
        self._key = kms.Key(
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
    def domain(self) -> DataDomain:
        return self._domain

    @property
    def key(self) -> kms.Key:
        return self._key

    @cached_property
    def key_arn(self) -> str:
        """The key's ARN token, read from the jsii runtime once (every grant names it twice)."""
        return self._key.key_arn

    def _grant(
        self,
        grantee: iam.IGrantable,
        actions: Sequence[str],
        *,
        conditions: Mapping[str, Mapping[str, Any]] | None = None,
        sid: str | None = None,
    ) -> iam.Grant:
        """Every grant on this key: the grantee in the key policy and, when it is an identity
        of this app, the same actions in its own policy.

        aws-cdk-lib's ``Key.grant`` uses ``Grant.add_to_principal_and_resource``, which drops
        conditions and statement ids on the key side; the key statement is therefore built here
        and added with ``Grant.add_statement_to_resource_policy``. A principal that has no policy
        of its own (a service, an account, a role outside the app) only gets the key statement,
        as ``Grant.add_to_principal`` leaves it untouched.
        """
        key_statement = iam.PolicyStatement(
            sid=sid,
            principals=[grantee.grant_principal],
            actions=list(actions),
            resources=["*"],
            conditions=dict(conditions) if conditions else None,
        )
        on_key = iam.Grant.add_statement_to_resource_policy(
            grantee=grantee,
            actions=list(actions),
            resource_arns=[self.key_arn],
            resource=self._key,
            statement=key_statement,
        )
        on_principal = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(actions),
            resource_arns=[self.key_arn],
            conditions=dict(conditions) if conditions else None,
        )
        return on_key.combine(on_principal)

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
        create_grant = self._grant(
            grantee,
            ["kms:CreateGrant"],
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        )
        return create_grant.combine(self._grant(grantee, _ENCRYPT_DECRYPT))

    def grant_use_via(
        self, grantee: iam.IGrantable, *, service: str, actions: Sequence[str]
    ) -> iam.Grant:
        """Let ``grantee`` use the key only through ``service`` (e.g. SageMaker model cards).

        ``kms:ViaService`` keeps the grant from reaching the key's other data: a persona that
        reads model cards through SageMaker cannot decrypt the artifacts bucket through S3.
        """
        stack = Stack.of(self)
        return self._grant(
            grantee,
            actions,
            conditions=access.via_service(service, region=stack.region, account=stack.account),
        )

    def grant_deployer(self, deployer_role_arn: str, *, resource_types: Sequence[str]) -> iam.Grant:
        """Let the deploying role do what CloudFormation's handlers of ``resource_types`` call.

        CloudFormation calls the resource's service with the deploying role's credentials, and
        that service calls KMS: ``kms:ViaService`` names it and ``kms:CallerAccount`` keeps the
        calls in this account (see :data:`DEPLOYER_KEY_USE`). One statement per service, in the
        key policy only (the deploying role is the bootstrap's, outside this app).
        """
        stack = Stack.of(self)
        if not resource_types:
            raise ValueError(
                f"grant_deployer needs at least one resource type (got {list(resource_types)}); "
                f"known: {', '.join(sorted(DEPLOYER_KEY_USE))}"
            )
        by_service: dict[str, set[str]] = {}
        for resource_type in resource_types:
            if resource_type not in DEPLOYER_KEY_USE:
                raise ValueError(
                    f"no recorded CloudFormation handler key use for {resource_type!r}; "
                    f"known: {', '.join(sorted(DEPLOYER_KEY_USE))}"
                )
            use = DEPLOYER_KEY_USE[resource_type]
            by_service.setdefault(use.service, set()).update(use.actions)
        deployer = iam.ArnPrincipal(deployer_role_arn)
        grants = [
            self._grant(
                deployer,
                sorted(actions),
                conditions=access.via_service(service, region=stack.region, account=stack.account),
                sid=f"DeployerVia{_sid(service)}",
            )
            for service, actions in sorted(by_service.items())
        ]
        combined = grants[0]
        for grant in grants[1:]:
            combined = combined.combine(grant)
        return combined

    def grant_decrypt_to_accounts(self, accounts: Sequence[str], *, service: str) -> iam.Grant:
        """Let other accounts decrypt what ``service`` reads for them (cross-account consumers).

        The grant names each account (its own IAM then decides which role may use it) and only
        works through ``service`` in this region.
        """
        consumers = accounts_principal(accounts)
        stack = Stack.of(self)
        return self._grant(
            consumers,
            _DECRYPT,
            conditions={
                "StringEquals": {"kms:ViaService": f"{service}.{stack.region}.amazonaws.com"}
            },
            sid=f"ConsumerAccountsVia{_sid(service)}",
        )

    def grant_to_service(
        self,
        service: str,
        *,
        actions: Sequence[str] = _ENCRYPT_DECRYPT,
        source_arn: str | None = None,
        conditions: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> iam.Grant:
        """Let an AWS service principal use the key for this account's resources only.

        By default ``aws:SourceAccount`` is required, and ``source_arn`` (a pattern) adds
        ``aws:SourceArn`` so that the service acts only for those resources (confused-deputy
        protection). A service that does not send those keys to KMS (CloudWatch Logs sends its
        log group in the encryption context) gets ``conditions`` instead.
        """
        account = Stack.of(self).account
        scoped = (
            dict(conditions)
            if conditions
            else access.merge(
                {"StringEquals": {"aws:SourceAccount": account}},
                {"ArnLike": {"aws:SourceArn": source_arn}} if source_arn else {},
            )
        )
        return self._grant(
            iam.ServicePrincipal(service),
            actions,
            conditions=scoped,
            sid=f"Use by {service}".replace(".", "").replace(" ", ""),
        )


def accounts_principal(accounts: Sequence[str]) -> iam.CompositePrincipal:
    """The accounts of a cross-account grant as one grantee, each named once, in order."""
    unique = sorted(set(accounts))
    if not unique:
        raise ValueError(
            "a cross-account grant needs at least one account (got none); allowed: "
            "12-digit AWS account ids"
        )
    return iam.CompositePrincipal(*(iam.AccountPrincipal(a) for a in unique))


class GovernanceKeyReference(Construct):
    """A foundation key as another stack sees it: usable by ARN, its policy out of reach.

    Grants are never written from here: the key policy lives in the foundation, which grants
    by role and service, so adding a model never changes it.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, key_arn: str, domain: DataDomain
    ) -> None:
        super().__init__(scope, construct_id)
        self._domain = domain
        # Kept on the Python side: every job definition and endpoint config reads it, and each
        # read through the imported key would be a call into the jsii runtime.
        self._key_arn = key_arn
        self._key = kms.Key.from_key_arn(self, "Resource", key_arn)

    @property
    def domain(self) -> DataDomain:
        return self._domain

    @property
    def key(self) -> kms.IKey:
        return self._key

    @property
    def key_arn(self) -> str:
        return self._key_arn


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

"""S3 buckets for governance data: private, TLS-only, versioned, KMS-encrypted, access-logged."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Protocol

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_constructs import defaults
from cdk_constructs.arns import format_arn
from cdk_constructs.compliance.acknowledgments import (
    acknowledge_in_frameworks,
    acknowledge_wildcards,
    nag_string,
)
from cdk_constructs.encryption import GovernanceKey, IGovernanceKey, accounts_principal

REPLICATION_REASON = (
    "This foundation is single-region by design; governance evidence is protected in place by "
    "versioning, retention on delete and (audit bucket) Object Lock. Cross-region replication "
    "needs a second-region bucket and key that an organisation adds for disaster recovery."
)


class AccessLogBucket(Construct):
    """The target of server access logging for every other bucket.

    S3 log delivery writes only to SSE-S3 targets (it cannot use a customer-managed key), and a
    log bucket that logged to itself would loop; both facts are acknowledged, not hidden.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Resource",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=defaults.BLOCK_PUBLIC_ACCESS,
            enforce_ssl=defaults.ENFORCE_SSL,
            minimum_tls_version=defaults.MINIMUM_TLS_VERSION,
            object_ownership=defaults.OBJECT_OWNERSHIP,
            versioned=True,
            removal_policy=defaults.REMOVAL_POLICY,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=defaults.ACCESS_LOG_EXPIRATION,
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=defaults.ABORT_INCOMPLETE_UPLOAD,
                )
            ],
        )
        acknowledge_in_frameworks(self.bucket, "S3BucketReplicationEnabled", REPLICATION_REASON)
        acknowledge_in_frameworks(
            self.bucket,
            "S3DefaultEncryptionKMS",
            "S3 server access log delivery writes only to SSE-S3 encrypted targets; a KMS "
            "default would make log delivery fail. The logs hold request metadata, no data.",
        )


class IGovernedBucket(Protocol):
    """What a construct needs from a governed bucket it only references."""

    @property
    def bucket_name(self) -> str: ...

    @property
    def bucket_arn(self) -> str: ...

    @property
    def key(self) -> IGovernanceKey: ...

    def s3_uri(self, prefix: str = "") -> str: ...


class GovernedBucket(Construct):
    """A bucket for one data domain, encrypted with that domain's key.

    Optional props default to: versioned, all public access blocked, TLS 1.2+ only, bucket-owner
    object ownership, server access logs to ``access_logs`` under ``<id>/``, noncurrent versions
    expired after a year, retained on stack deletion, no Object Lock.
    ``expire_noncurrent_under`` limits that expiry to some prefixes: every other prefix keeps
    every version (what the artifacts bucket does for registered model artifacts).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: GovernanceKey,
        access_logs: s3.IBucket,
        object_lock_retention: s3.ObjectLockRetention | None = None,
        transition_to_infrequent_access: Duration | None = defaults.INFREQUENT_ACCESS_AFTER,
        expire_noncurrent_under: Sequence[str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._key = key
        # With Object Lock, noncurrent versions are evidence: never expire them.
        expire_everywhere = object_lock_retention is None and expire_noncurrent_under is None
        lifecycle = s3.LifecycleRule(
            id="tiering-and-cleanup",
            abort_incomplete_multipart_upload_after=defaults.ABORT_INCOMPLETE_UPLOAD,
            noncurrent_version_expiration=(
                defaults.NONCURRENT_VERSION_EXPIRATION if expire_everywhere else None
            ),
            transitions=(
                [
                    s3.Transition(
                        storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                        transition_after=transition_to_infrequent_access,
                    )
                ]
                if transition_to_infrequent_access
                else None
            ),
        )
        self.bucket = s3.Bucket(
            self,
            "Resource",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key.key,
            bucket_key_enabled=True,
            block_public_access=defaults.BLOCK_PUBLIC_ACCESS,
            enforce_ssl=defaults.ENFORCE_SSL,
            minimum_tls_version=defaults.MINIMUM_TLS_VERSION,
            object_ownership=defaults.OBJECT_OWNERSHIP,
            versioned=True,
            removal_policy=defaults.REMOVAL_POLICY,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix=f"{construct_id}/",
            object_lock_enabled=object_lock_retention is not None,
            object_lock_default_retention=object_lock_retention,
            lifecycle_rules=[
                lifecycle,
                *(
                    s3.LifecycleRule(
                        id=f"expire-noncurrent-{prefix.strip('/')}",
                        prefix=prefix,
                        noncurrent_version_expiration=defaults.NONCURRENT_VERSION_EXPIRATION,
                    )
                    for prefix in (expire_noncurrent_under or ())
                    if object_lock_retention is None
                ),
            ],
        )
        acknowledge_in_frameworks(self.bucket, "S3BucketReplicationEnabled", REPLICATION_REASON)

    @property
    def key(self) -> GovernanceKey:
        return self._key

    # The bucket's name and ARN tokens and its stack, read from the jsii runtime once: the
    # foundation grants on each bucket dozens of times (each read is a round trip to Node).
    @cached_property
    def bucket_name(self) -> str:
        return self.bucket.bucket_name

    @cached_property
    def bucket_arn(self) -> str:
        return self.bucket.bucket_arn

    @cached_property
    def _stack(self) -> Stack:
        return Stack.of(self)

    def s3_uri(self, prefix: str = "") -> str:
        return f"s3://{self.bucket_name}/{prefix}"

    def _object_arn(self, prefix: str) -> str:
        # What Bucket.arnForObjects returns (`${this.bucketArn}/${keyPattern}`), without asking
        return f"{self.bucket_arn}/{prefix}"

    def _acknowledge_prefix(self, grantee: iam.IGrantable, prefix: str) -> None:
        principal = grantee.grant_principal
        if not isinstance(principal, Construct):
            return
        acknowledge_wildcards(
            principal,
            resources=[nag_string(self._stack, self._object_arn(prefix))],
            reason=(
                f"Object access is limited to keys under '{prefix}' in the "
                f"{self._key.domain.value} bucket; object keys are created at run time, so the "
                "prefix is as narrow as the grant can be."
            ),
        )

    def _grant(
        self,
        grantee: iam.IGrantable,
        actions: Sequence[str],
        resources: Sequence[str],
        *,
        sid: str | None = None,
    ) -> iam.Grant:
        """Every grant on this bucket, the way aws-cdk-lib's ``Bucket.grant_*`` make them: in
        the grantee's own policy when it is an identity of this account, otherwise (another
        account) in the bucket policy. ``sid`` names the statement wherever it lands (aws-cdk-lib
        builds it without one; it is rendered at synth, so naming it afterwards is enough)."""
        grant = iam.Grant.add_to_principal_or_resource(
            grantee=grantee,
            actions=list(actions),
            resource_arns=list(resources),
            resource=self.bucket,
        )
        if sid is not None:
            for statement in (*grant.principal_statements, *grant.resource_statements):
                statement.sid = sid
        return grant

    def grant_read(self, grantee: iam.IGrantable, prefix: str = "*") -> iam.Grant:
        """Read objects under ``prefix`` and list the bucket; decrypt with the domain key."""
        self._key.grant_decrypt(grantee)
        listing = self._grant(grantee, ["s3:ListBucket", "s3:GetBucketLocation"], [self.bucket_arn])
        self._acknowledge_prefix(grantee, prefix)
        return listing.combine(
            self._grant(
                grantee,
                ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging"],
                [self._object_arn(prefix)],
            )
        )

    def grant_write(self, grantee: iam.IGrantable, prefix: str = "*") -> iam.Grant:
        """Put objects under ``prefix``; encrypt with the domain key. No delete."""
        self._key.grant_encrypt(grantee)
        self._acknowledge_prefix(grantee, prefix)
        return self._grant(
            grantee,
            ["s3:PutObject", "s3:PutObjectTagging", "s3:AbortMultipartUpload"],
            [self._object_arn(prefix)],
        )

    def grant_read_write(self, grantee: iam.IGrantable, prefix: str = "*") -> iam.Grant:
        return self.grant_read(grantee, prefix).combine(self.grant_write(grantee, prefix))

    def protect_prefix(self, prefix: str, *, writer: iam.IRole) -> None:
        """Keep what is under ``prefix`` (e.g. registered model artifacts): only ``writer`` puts
        objects there and nobody deletes them or their versions, whatever IAM policies allow.

        An explicit Deny in the bucket policy wins over any Allow (IAM policy evaluation logic),
        so no persona, job or administrator role can overwrite or delete them; ``writer`` can
        only add objects (and a new version keeps the old one, since the bucket is versioned).
        """
        objects = self._object_arn(f"{prefix}*")
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"Only{_sid(writer.node.id)}Writes{_sid(prefix)}",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                resources=[objects],
                conditions={"ArnNotEquals": {"aws:PrincipalArn": writer.role_arn}},
            )
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"NoDeletes{_sid(prefix)}",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:DeleteObject", "s3:DeleteObjectVersion"],
                resources=[objects],
            )
        )

    def grant_read_to_accounts(self, accounts: Sequence[str], prefix: str) -> iam.Grant:
        """Let other accounts read objects under ``prefix`` (and decrypt them through S3).

        Read-only and object-level only: no listing, no other prefix.
        """
        objects = self._grant(
            accounts_principal(accounts),
            ["s3:GetObject", "s3:GetObjectVersion"],
            [self._object_arn(f"{prefix}*")],
            sid=f"ConsumerAccountsRead{_sid(prefix)}",
        )
        return objects.combine(self._key.grant_decrypt_to_accounts(accounts, service="s3"))


def _sid(text: str) -> str:
    return "".join(ch for ch in text.title() if ch.isalnum())


class GovernedBucketReference(Construct):
    """A foundation bucket as another stack sees it: its name, ARN, URIs and key.

    Nothing is granted from here; the foundation grants its roles by prefix.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, bucket_name: str, key: IGovernanceKey
    ) -> None:
        super().__init__(scope, construct_id)
        self._bucket_name = bucket_name
        self._key = key

    @property
    def bucket_name(self) -> str:
        return self._bucket_name

    @property
    def bucket_arn(self) -> str:
        return format_arn(self, service="s3", region="", account="", resource=self._bucket_name)

    @property
    def key(self) -> IGovernanceKey:
        return self._key

    def s3_uri(self, prefix: str = "") -> str:
        return f"s3://{self._bucket_name}/{prefix}"

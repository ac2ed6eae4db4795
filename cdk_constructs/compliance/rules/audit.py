"""Rules for the audit path: approval-event delivery, the audit ledger, the audit bucket and
CloudTrail.

The ledger and the audit bucket are found by wiring (see :mod:`.wiring`): the table and bucket
the ledger handler writes, every bucket a trail writes, and (for the ledger) its
``governance:component`` tag.

The audit retention the organisation requires is declared once per environment, from the
config, in the template's ``Metadata`` (:data:`POLICY_METADATA`, written by
``cdk_constructs.compliance.declarations.declare_audit_policy``), so a bucket is compared with
the policy rather than with itself. A stack with an audit bucket and no declaration cannot be
judged (``[Undecidable]``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdk_constructs.compliance.rules.framework import (
    AppIndex,
    GovernanceRule,
    Resource,
    Verdict,
    combine,
    dig,
    flag,
    is_unresolved,
    per_resource,
    verdict_of,
)
from cdk_constructs.compliance.rules.registry import (
    EVENTS_RULE,
    matches_state_changes,
    targets_have_dlq,
)
from cdk_constructs.compliance.rules.stores import bucket_key_verdict
from cdk_constructs.compliance.rules.wiring import (
    CLOUDTRAIL_TRAIL,
    DYNAMODB_TABLE,
    S3_BUCKET,
    audit_buckets,
    is_ledger,
    key_is_customer_managed,
)

# Template Metadata key and fields of the declared audit policy.
POLICY_METADATA = "GovernancePolicy"
RETENTION_DAYS = "AuditRetentionDays"
LOCK_MODE = "AuditObjectLockMode"
# COMPLIANCE is stricter than GOVERNANCE: nobody, not even the root user, can shorten it
# (S3 user guide, "Object Lock retention modes").
LOCK_MODE_STRENGTH = {"GOVERNANCE": 1, "COMPLIANCE": 2}
# S3 counts a retention period in years as 365 days per year ("Retention periods").
DAYS_PER_YEAR = 365


def state_change_rule_has_dlq(rule: Resource) -> Verdict:
    """A rule routing model package state changes has a DeadLetterConfig on every target."""
    routes_state_changes = matches_state_changes(rule)
    if routes_state_changes is False:
        return Verdict.NOT_APPLICABLE
    delivered = targets_have_dlq(rule)
    if routes_state_changes is None:
        # Whether the rule matters is unknown; only a rule that would pass anyway is cleared.
        return Verdict.COMPLIANT if delivered else Verdict.UNDECIDABLE
    return verdict_of(delivered)


def _ledger_verdict(table: Resource, index: AppIndex) -> Verdict | None:
    """``None`` when the table is the audit ledger, else the verdict to return at once."""
    ledger = is_ledger(table, index)
    if ledger is None:
        return Verdict.UNDECIDABLE
    return None if ledger else Verdict.NOT_APPLICABLE


def ledger_point_in_time_recovery(table: Resource, index: AppIndex) -> Verdict:
    """PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled is true on the ledger."""
    not_ledger = _ledger_verdict(table, index)
    if not_ledger is not None:
        return not_ledger
    enabled = table.get("PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled")
    return verdict_of(flag(enabled))


def ledger_retained(table: Resource, index: AppIndex) -> Verdict:
    """The ledger has DeletionProtectionEnabled and Retain deletion/replace policies."""
    not_ledger = _ledger_verdict(table, index)
    if not_ledger is not None:
        return not_ledger
    protected = flag(table.get("DeletionProtectionEnabled"))
    if protected is False:
        return Verdict.NON_COMPLIANT
    retained = (
        table.deletion_policy in {"Retain", "RetainExceptOnCreate"}
        and table.update_replace_policy == "Retain"
    )
    if not retained:
        return Verdict.NON_COMPLIANT
    return verdict_of(protected)


def ledger_encrypted_with_our_key(table: Resource, index: AppIndex) -> Verdict:
    """SSESpecification has SSEEnabled true, SSEType KMS and a KMSMasterKeyId that is a
    customer managed key (an AWS::KMS::Key of the app), not the AWS owned or AWS managed key."""
    not_ledger = _ledger_verdict(table, index)
    if not_ledger is not None:
        return not_ledger
    sse = table.get("SSESpecification")
    if is_unresolved(sse):
        return Verdict.UNDECIDABLE
    if sse is None:
        return Verdict.NON_COMPLIANT  # DynamoDB's default: an AWS owned key
    sse_type = dig(sse, "SSEType")
    return combine(
        [
            verdict_of(flag(dig(sse, "SSEEnabled"))),
            Verdict.UNDECIDABLE if is_unresolved(sse_type) else verdict_of(sse_type == "KMS"),
            verdict_of(key_is_customer_managed(dig(sse, "KMSMasterKeyId"), table, index)),
        ]
    )


def _audit_bucket_verdict(bucket: Resource, index: AppIndex) -> Verdict | None:
    """``None`` when the bucket holds audit evidence, else the verdict to return at once."""
    wired = audit_buckets(index)
    if bucket.path in wired.found:
        return None
    return Verdict.NOT_APPLICABLE


def declared_audit_policy(bucket: Resource, index: AppIndex) -> tuple[int, str] | None:
    """``(minimum retention days, minimum mode)`` declared in the bucket's template."""
    declared = index.stack_metadata(bucket).get(POLICY_METADATA)
    if not isinstance(declared, Mapping):
        return None
    days = declared.get(RETENTION_DAYS)
    mode = declared.get(LOCK_MODE)
    if not isinstance(days, int) or isinstance(days, bool) or mode not in LOCK_MODE_STRENGTH:
        return None
    return days, str(mode)


def _retention_days(retention: Any) -> int | None:
    days = dig(retention, "Days")
    years = dig(retention, "Years")
    if isinstance(days, int) and not isinstance(days, bool):
        return days
    if isinstance(years, int) and not isinstance(years, bool):
        return years * DAYS_PER_YEAR
    return None


def default_retention(bucket: Resource) -> tuple[int, str] | Verdict:
    """The bucket's default Object Lock retention as ``(days, mode)``, or the verdict when
    there is none to compare (absent, disabled, or only known at deploy time)."""
    enabled = flag(bucket.get("ObjectLockEnabled"))
    configuration = bucket.get("ObjectLockConfiguration")
    state = dig(configuration, "ObjectLockEnabled")
    retention = dig(configuration, "Rule", "DefaultRetention")
    mode = dig(retention, "Mode")
    days = _retention_days(retention)
    missing = configuration is None or state is None or retention is None
    if enabled is False or missing or (isinstance(state, str) and state != "Enabled"):
        # Without a default retention, objects are written unprotected.
        return Verdict.NON_COMPLIANT
    if isinstance(mode, str) and mode not in LOCK_MODE_STRENGTH:
        return Verdict.NON_COMPLIANT
    if enabled is None or days is None or not isinstance(mode, str):
        return Verdict.UNDECIDABLE
    return days, mode


def audit_bucket_locked(bucket: Resource, index: AppIndex) -> Verdict:
    """ObjectLockEnabled is true, ObjectLockConfiguration is Enabled with a default retention
    whose mode is at least as strict as the declared AuditObjectLockMode (COMPLIANCE over
    GOVERNANCE) and whose period (Days, or Years of 365 days) is at least AuditRetentionDays."""
    not_audit = _audit_bucket_verdict(bucket, index)
    if not_audit is not None:
        return not_audit
    retention = default_retention(bucket)
    if isinstance(retention, Verdict):
        return retention
    policy = declared_audit_policy(bucket, index)
    if policy is None:
        return Verdict.UNDECIDABLE
    (days, mode), (minimum_days, minimum_mode) = retention, policy
    strong_enough = LOCK_MODE_STRENGTH[mode] >= LOCK_MODE_STRENGTH[minimum_mode]
    return verdict_of(strong_enough and days >= minimum_days)


def audit_bucket_encrypted_with_our_key(bucket: Resource, index: AppIndex) -> Verdict:
    """Every ServerSideEncryptionByDefault uses aws:kms (or aws:kms:dsse) with a
    KMSMasterKeyID that is a customer managed key of the app."""
    not_audit = _audit_bucket_verdict(bucket, index)
    if not_audit is not None:
        return not_audit
    return bucket_key_verdict(bucket, index)


def trail_validates_log_files(trail: Resource) -> Verdict:
    """EnableLogFileValidation is true."""
    return verdict_of(flag(trail.get("EnableLogFileValidation")))


def trail_multi_region(trail: Resource) -> Verdict:
    """IsMultiRegionTrail is true."""
    return verdict_of(flag(trail.get("IsMultiRegionTrail")))


def trail_logging(trail: Resource) -> Verdict:
    """IsLogging is true."""
    return verdict_of(flag(trail.get("IsLogging")))


RULES = (
    GovernanceRule(
        rule_id="EVB1",
        resource_types=(EVENTS_RULE,),
        title="Model package state-change rules dead-letter every target",
        info="An EventBridge rule matching 'SageMaker Model Package State Change' has a "
        "target without DeadLetterConfig.Arn (or no target).",
        explanation="Approval gating and the audit ledger are fed by these events; an event "
        "that exhausts its retries must land in a queue someone watches, not disappear.",
        undecidable="The rule's EventPattern or Targets is a token and its targets cannot be "
        "shown to have a DLQ.",
        nist_800_53=("AU-5", "SI-4"),
        eu_ai_act="Art. 12 (record-keeping)",
        check=per_resource(state_change_rule_has_dlq),
    ),
    GovernanceRule(
        rule_id="DDB1",
        resource_types=(DYNAMODB_TABLE,),
        title="The audit ledger has point-in-time recovery",
        info="The audit ledger (the table the ledger handler writes, or tagged "
        "governance:component=audit-ledger) does not enable "
        "PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled.",
        explanation="The ledger is the approval and monitoring audit trail; point-in-time "
        "recovery restores it after accidental or malicious writes.",
        undecidable="The governance:component tag or PointInTimeRecoveryEnabled is known only "
        "at deploy time.",
        nist_800_53=("AU-9", "AU-11", "CP-9", "CP-10"),
        sr_11_7="VI (documentation, audit)",
        eu_ai_act="Art. 12 (record-keeping), Art. 19 (automatically generated logs)",
        check=ledger_point_in_time_recovery,
    ),
    GovernanceRule(
        rule_id="DDB2",
        resource_types=(DYNAMODB_TABLE,),
        title="The audit ledger is protected from deletion",
        info="The audit ledger (the table the ledger handler writes, or tagged "
        "governance:component=audit-ledger) lacks DeletionProtectionEnabled or Retain "
        "DeletionPolicy/UpdateReplacePolicy.",
        explanation="Deleting the stack or replacing the table must never delete the audit trail.",
        undecidable="The governance:component tag or DeletionProtectionEnabled is known only "
        "at deploy time.",
        nist_800_53=("AU-9", "AU-11"),
        sr_11_7="VI (documentation, audit)",
        eu_ai_act="Art. 19 (automatically generated logs)",
        check=ledger_retained,
    ),
    GovernanceRule(
        rule_id="CT1",
        resource_types=(CLOUDTRAIL_TRAIL,),
        title="Trails validate log files",
        info="The CloudTrail trail does not set EnableLogFileValidation to true.",
        explanation="Digest files prove that API activity records (who registered, approved "
        "or deployed a model) were not altered after delivery.",
        undecidable="EnableLogFileValidation is a token.",
        nist_800_53=("AU-9", "SI-7"),
        eu_ai_act="Art. 12 (record-keeping)",
        check=per_resource(trail_validates_log_files),
    ),
    GovernanceRule(
        rule_id="DDB3",
        resource_types=(DYNAMODB_TABLE,),
        title="The audit ledger is encrypted with our key",
        info="The audit ledger's SSESpecification is not SSEEnabled with SSEType KMS and a "
        "KMSMasterKeyId that is a customer managed key of the app (it uses the AWS owned or "
        "the AWS managed alias/aws/dynamodb key).",
        explanation="With a customer managed key, who may read or decrypt the audit trail is "
        "set by our key policy and logged in CloudTrail; an AWS owned key is outside the "
        "organisation's control and cannot be audited or revoked.",
        undecidable="SSESpecification is conditional, or the key is a literal ARN or parameter "
        "that cannot be told apart from an AWS managed key at synth time.",
        nist_800_53=("SC-28", "SC-12", "AU-9(3)"),
        sr_11_7="VI (documentation, audit)",
        eu_ai_act="Art. 19 (automatically generated logs)",
        check=ledger_encrypted_with_our_key,
    ),
    GovernanceRule(
        rule_id="AUD1",
        resource_types=(S3_BUCKET,),
        title="Audit evidence is immutable for the declared retention",
        info="A bucket holding audit evidence (the ledger's archive, or a trail's bucket) has "
        "no Object Lock, or a default retention weaker than the declared policy (the "
        "template's Metadata GovernancePolicy: AuditObjectLockMode, AuditRetentionDays).",
        explanation="Ledger records and CloudTrail logs are the evidence of who registered, "
        "approved and deployed each model; Object Lock keeps every version unchangeable and "
        "undeletable for the retention the organisation set, even by the account root in "
        "COMPLIANCE mode.",
        undecidable="Object Lock settings are known only at deploy time, or the bucket's "
        "template declares no GovernancePolicy to compare them with.",
        nist_800_53=("AU-9", "AU-11", "SI-12"),
        sr_11_7="VI (documentation, audit)",
        eu_ai_act="Art. 12 (record-keeping), Art. 19 (automatically generated logs)",
        check=audit_bucket_locked,
    ),
    GovernanceRule(
        rule_id="AUD2",
        resource_types=(S3_BUCKET,),
        title="Audit evidence is encrypted with our key",
        info="A bucket holding audit evidence does not default to SSE-KMS with a customer "
        "managed key of the app (it uses SSE-S3 or an AWS managed key).",
        explanation="A customer managed key lets the key policy decide who may read the "
        "evidence and makes every decryption visible in CloudTrail.",
        undecidable="The encryption settings are conditional, or the key is a literal ARN or "
        "parameter that cannot be told apart from an AWS managed key at synth time.",
        nist_800_53=("SC-28", "SC-12", "AU-9(3)"),
        sr_11_7="VI (documentation, audit)",
        check=audit_bucket_encrypted_with_our_key,
    ),
    GovernanceRule(
        rule_id="CT2",
        resource_types=(CLOUDTRAIL_TRAIL,),
        title="Trails are logging",
        info="The CloudTrail trail does not set IsLogging to true.",
        explanation="A trail that exists but does not log records nothing: who registered, "
        "approved or changed a model would go unrecorded while every other control looks "
        "in place.",
        undecidable="IsLogging is known only at deploy time.",
        nist_800_53=("AU-2", "AU-12"),
        eu_ai_act="Art. 12 (record-keeping)",
        check=per_resource(trail_logging),
    ),
    GovernanceRule(
        rule_id="CT3",
        resource_types=(CLOUDTRAIL_TRAIL,),
        title="Trails record every region",
        info="The CloudTrail trail does not set IsMultiRegionTrail to true.",
        explanation="A single-region trail misses registrations, approvals or deployments "
        "made in any other region, so the audit record of who changed a model would have "
        "silent holes.",
        undecidable="IsMultiRegionTrail is known only at deploy time.",
        nist_800_53=("AU-2", "AU-12"),
        eu_ai_act="Art. 12 (record-keeping)",
        check=per_resource(trail_multi_region),
    ),
)

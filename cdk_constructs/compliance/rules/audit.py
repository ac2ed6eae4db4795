"""Rules for the audit path: approval-event delivery, the audit ledger and CloudTrail."""

from __future__ import annotations

from cdk_constructs import tags
from cdk_constructs.compliance.rules.model import (
    GovernanceRule,
    Resource,
    Verdict,
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

DYNAMODB_TABLE = "AWS::DynamoDB::Table"
CLOUDTRAIL_TRAIL = "AWS::CloudTrail::Trail"

# The ledger table is found by this tag (not yet in cdk_constructs/tags.py).
COMPONENT_TAG = tags.COMPONENT
AUDIT_LEDGER = "audit-ledger"


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


def _ledger_verdict(table: Resource) -> Verdict | None:
    """``None`` when the table is the audit ledger, else the verdict to return at once."""
    component = table.tag(COMPONENT_TAG)
    if is_unresolved(component):
        return Verdict.UNDECIDABLE
    return None if component == AUDIT_LEDGER else Verdict.NOT_APPLICABLE


def ledger_point_in_time_recovery(table: Resource) -> Verdict:
    """PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled is true on the ledger."""
    not_ledger = _ledger_verdict(table)
    if not_ledger is not None:
        return not_ledger
    enabled = table.get("PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled")
    return verdict_of(flag(enabled))


def ledger_retained(table: Resource) -> Verdict:
    """The ledger has DeletionProtectionEnabled and Retain deletion/replace policies."""
    not_ledger = _ledger_verdict(table)
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


def trail_validates_log_files(trail: Resource) -> Verdict:
    """EnableLogFileValidation is true."""
    return verdict_of(flag(trail.get("EnableLogFileValidation")))


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
        info="The DynamoDB table tagged governance:component=audit-ledger does not enable "
        "PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled.",
        explanation="The ledger is the approval and monitoring audit trail; point-in-time "
        "recovery restores it after accidental or malicious writes.",
        undecidable="The governance:component tag or PointInTimeRecoveryEnabled is a token.",
        nist_800_53=("AU-9", "AU-11", "CP-9", "CP-10"),
        sr_11_7="VI (documentation, audit)",
        eu_ai_act="Art. 12 (record-keeping), Art. 19 (automatically generated logs)",
        check=per_resource(ledger_point_in_time_recovery),
    ),
    GovernanceRule(
        rule_id="DDB2",
        resource_types=(DYNAMODB_TABLE,),
        title="The audit ledger is protected from deletion",
        info="The DynamoDB table tagged governance:component=audit-ledger lacks "
        "DeletionProtectionEnabled or Retain DeletionPolicy/UpdateReplacePolicy.",
        explanation="Deleting the stack or replacing the table must never delete the audit trail.",
        undecidable="The governance:component tag or DeletionProtectionEnabled is a token.",
        nist_800_53=("AU-9", "AU-11"),
        sr_11_7="VI (documentation, audit)",
        eu_ai_act="Art. 19 (automatically generated logs)",
        check=per_resource(ledger_retained),
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
)

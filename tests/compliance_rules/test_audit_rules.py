"""Audit-path rules (EVB1, DDB1-3, AUD1-2, CT1-2): event delivery, the ledger table, the audit
bucket, CloudTrail."""

from __future__ import annotations

import aws_cdk as cdk
import pytest

from cdk_constructs.compliance.declarations import declare_audit_policy
from cdk_constructs.compliance.rules.wiring import AUDIT_BUCKET_VARIABLE, LEDGER_TABLE_VARIABLE
from tests.compliance_rules import builders as b


@pytest.fixture(scope="module")
def findings() -> b.Findings:
    # Given
    app = cdk.App()
    audit = cdk.Stack(app, "Audit")
    b.state_change_rule(audit, "Rule")
    b.state_change_rule(audit, "NoDlq", targets=[b.target(dlq=None)])
    b.state_change_rule(audit, "NoTargets", targets=[])
    # Not a model package state-change rule: out of scope even without a DLQ
    b.state_change_rule(
        audit, "OtherEvents", detail_type="SageMaker Endpoint State Change", targets=[]
    )
    b.ledger_table(audit, "Ledger")
    b.ledger_table(audit, "NoPitr", pitr=False)
    b.ledger_table(audit, "Unprotected", protected=False)
    b.ledger_table(audit, "NotRetained", retained=False)
    # Other tables are not the ledger
    b.ledger_table(audit, "Cache", component=None, pitr=False, protected=False, retained=False)
    b.trail(audit, "Trail", validation=True)
    b.trail(audit, "Unvalidated", validation=None)
    b.trail(audit, "Stopped", validation=True, logging=False)

    # The ledger handler writes a table that lost its tag: still the ledger
    untagged = b.ledger_table(audit, "UntaggedLedger", component=None, pitr=False)
    b.function(audit, "LedgerHandler", variables={LEDGER_TABLE_VARIABLE: untagged.ref})
    b.ledger_table(audit, "AwsOwnedKey", key="aws-owned")
    b.ledger_table(audit, "AwsManagedKey", key="aws-managed")
    b.ledger_table(audit, "AwsManagedAlias", key="alias/aws/dynamodb")

    # Audit buckets: the policy declared for this stack is seven years in COMPLIANCE mode
    declare_audit_policy(audit, retention_days=2555, object_lock_mode="COMPLIANCE")
    for bucket_id, props in {
        "Evidence": {},
        "EvidenceInYears": {"days": None, "years": 7},
        "Unlocked": {"locked": False},
        "ShortRetention": {"days": 30},
        "GovernanceMode": {"mode": "GOVERNANCE"},
        "SseS3": {"algorithm": "AES256"},
        "AwsManagedS3Key": {"key": "alias/aws/s3"},
    }.items():
        evidence = b.audit_bucket(audit, bucket_id, **props)
        b.trail(audit, f"{bucket_id}Trail", validation=True, bucket=evidence.ref)
    # The ledger's archive is an audit bucket too, and an unwired bucket is not
    archive = b.audit_bucket(audit, "LedgerArchive", days=1)
    b.function(audit, "Archiver", variables={AUDIT_BUCKET_VARIABLE: archive.ref})
    b.audit_bucket(audit, "NotEvidence", locked=False, algorithm="AES256")
    # When
    return b.run_pack(app)


CASES = [
    ("EVB1", "Audit/Rule", "Audit/NoDlq"),
    ("EVB1", "Audit/OtherEvents", "Audit/NoTargets"),
    ("DDB1", "Audit/Ledger", "Audit/NoPitr"),
    ("DDB1", "Audit/Cache", "Audit/NoPitr"),
    ("DDB2", "Audit/Ledger", "Audit/Unprotected"),
    ("DDB2", "Audit/Cache", "Audit/NotRetained"),
    ("CT1", "Audit/Trail", "Audit/Unvalidated"),
    ("CT2", "Audit/Trail", "Audit/Stopped"),
    ("DDB1", "Audit/Ledger", "Audit/UntaggedLedger"),
    ("DDB3", "Audit/Ledger", "Audit/AwsOwnedKey"),
    ("DDB3", "Audit/Ledger", "Audit/AwsManagedKey"),
    ("DDB3", "Audit/Cache", "Audit/AwsManagedAlias"),
    ("AUD1", "Audit/Evidence", "Audit/Unlocked"),
    ("AUD1", "Audit/EvidenceInYears", "Audit/ShortRetention"),
    ("AUD1", "Audit/NotEvidence", "Audit/GovernanceMode"),
    ("AUD1", "Audit/Evidence", "Audit/LedgerArchive"),
    ("AUD2", "Audit/Evidence", "Audit/SseS3"),
    ("AUD2", "Audit/NotEvidence", "Audit/AwsManagedS3Key"),
]


@pytest.mark.parametrize(("rule_id", "compliant", "non_compliant"), CASES)
def test_rule_flags_only_the_non_compliant_resource(
    findings: b.Findings, rule_id: str, compliant: str, non_compliant: str
) -> None:
    # Then
    assert non_compliant in b.flagged(findings, rule_id)
    assert compliant not in b.flagged(findings, rule_id) | b.undecided(findings, rule_id)


def test_no_undecidable_findings_for_literal_values(findings: b.Findings) -> None:
    assert [rule for rule in findings if rule.endswith("[Undecidable]")] == []


def test_an_untagged_ledger_is_a_tag_finding(findings: b.Findings) -> None:
    assert "Audit/UntaggedLedger" in b.flagged(findings, "TAG1")
    assert "Audit/Ledger" not in b.flagged(findings, "TAG1")


def test_audit_bucket_without_a_declared_policy_cannot_be_judged() -> None:
    # Given: a trail's bucket in a stack that declares no audit policy
    app = cdk.App()
    stack = cdk.Stack(app, "Undeclared")
    evidence = b.audit_bucket(stack, "Evidence")
    b.trail(stack, "Trail", validation=True, bucket=evidence.ref)
    # When
    findings = b.run_pack(app)
    # Then: fails closed, as its own acknowledgeable finding
    assert "Undeclared/Evidence" in b.undecided(findings, "AUD1")
    assert "Undeclared/Evidence" not in b.flagged(findings, "AUD1")


@pytest.mark.parametrize(
    ("days", "mode", "error"),
    [(0, "COMPLIANCE", "at least 1"), (30, "LEGAL_HOLD", "COMPLIANCE or GOVERNANCE")],
)
def test_audit_policy_declaration_refuses_bad_values(days: int, mode: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        declare_audit_policy(cdk.Stack(), retention_days=days, object_lock_mode=mode)

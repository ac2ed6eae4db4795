"""Audit-path rules (EVB1, DDB1-2, CT1): event delivery, the ledger table, CloudTrail."""

from __future__ import annotations

import aws_cdk as cdk
import pytest

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

"""RULES.md, the pack and the tests agree on the rule set."""

from __future__ import annotations

import re
from pathlib import Path

from cdk_constructs.compliance.governance_pack import GovernanceChecks
from cdk_constructs.compliance.rules import RULES, render_markdown
from tests.compliance_rules import (
    test_audit_rules,
    test_batch_rules,
    test_delivery_rules,
    test_duties_rules,
    test_identity_rules,
    test_mlflow_endpoint_rule,
    test_monitoring_rules,
    test_pipeline_rules,
    test_registry_rules,
    test_serving_rules,
    test_store_rules,
    test_training_pipeline_rules,
)

RULES_MD = Path(__file__).resolve().parents[2] / "RULES.md"
ROW = re.compile(r"^\| `(Governance-[A-Z]+\d+)` \|", re.MULTILINE)


def test_rules_md_is_generated_from_the_rules() -> None:
    assert RULES_MD.read_text() == render_markdown(), (
        "RULES.md is stale: python -m cdk_constructs.compliance.rules > RULES.md"
    )


def test_every_pack_rule_has_exactly_one_rules_md_row_and_vice_versa() -> None:
    rows = ROW.findall(RULES_MD.read_text())
    assert len(rows) == len(set(rows))
    assert set(rows) == set(GovernanceChecks().rule_ids)


def test_every_rule_has_a_compliant_and_a_non_compliant_case() -> None:
    cases = [
        *test_registry_rules.CASES,
        *test_serving_rules.CASES,
        *test_monitoring_rules.CASES,
        *test_pipeline_rules.CASES,
        *test_mlflow_endpoint_rule.CASES,
        *test_batch_rules.CASES,
        *test_audit_rules.CASES,
        *test_identity_rules.CASES,
        *test_delivery_rules.CASES,
        *test_duties_rules.CASES,
        *test_store_rules.CASES,
        *test_training_pipeline_rules.CASES,
    ]
    assert {rule.rule_id for rule in RULES} == {rule_id for rule_id, _, _ in cases}


def test_each_rule_names_its_controls() -> None:
    for rule in RULES:
        assert rule.nist_800_53, rule.rule_id
        assert rule.info, rule.rule_id
        assert rule.explanation, rule.rule_id
        assert rule.undecidable, rule.rule_id
    assert len({rule.rule_id for rule in RULES}) == len(RULES)

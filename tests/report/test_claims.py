"""The report's claims table: each promised control, its rules and whether they passed."""

from __future__ import annotations

from typing import Any

from governance_report import build_report
from governance_report.assembly import parse_validation_report
from governance_report.packs import (
    ACKNOWLEDGED,
    FAILED,
    NOT_CHECKED,
    PASSED,
    claim_results,
)
from governance_report.render_markdown import render_markdown
from tests.conftest import Assembly

CLAIMS: list[dict[str, Any]] = [
    {
        "claimId": "IAM-1",
        "control": "Boundaries on every role",
        "source": "README.md",
        "quote": "one permissions boundary on every role",
        "rules": ["Governance-IAM1"],
        "status": "enforced",
    },
    {
        "claimId": "STO-1",
        "control": "TLS-only storage",
        "source": "README.md",
        "quote": "TLS 1.2+ only",
        "rules": ["AwsSolutions-S10", "NIST.800.53.R5-S3BucketSSLRequestsOnly"],
        "status": "enforced",
    },
    {
        "claimId": "ENC-2",
        "control": "Key rotation",
        "source": "README.md",
        "quote": "rotation on",
        "rules": ["AwsSolutions-KMS5"],
        "status": "enforced",
    },
    {
        "claimId": "AUD-4",
        "control": "Append-only ledger",
        "source": "ARCHITECTURE.md",
        "quote": "no record can be overwritten",
        "rules": [],
        "elsewhere": "Run time: the ledger handler.",
        "status": "elsewhere",
    },
]


def _plugin(name: str, violations: list[Any], suppressed: list[Any]) -> dict[str, Any]:
    return {
        "pluginName": name,
        "conclusion": "failure" if violations else "success",
        "violations": violations,
        "suppressedViolations": suppressed,
    }


def _finding(rule: str) -> dict[str, Any]:
    return {
        "ruleName": rule,
        "description": "d",
        "severity": "error",
        "violatingConstructs": [{"constructPath": "App/Stack/Thing"}],
    }


VALIDATION = parse_validation_report(
    {
        "pluginReports": [
            # An open finding with detail in brackets: the claim's rule failed
            _plugin("Governance", [_finding("Governance-IAM1[Undecidable]")], []),
            # Only acknowledged: the rule is acknowledged, not failed
            _plugin(
                "AwsSolutions",
                [],
                [{**_finding("AwsSolutions-S10"), "reason": "a specific, true reason"}],
            ),
        ]
    }
)


def test_each_rule_result_comes_from_the_validation_report() -> None:
    # When
    results = {c.claim_id: c for c in claim_results(CLAIMS, VALIDATION)}
    # Then
    assert results["IAM-1"].rules == (("Governance-IAM1", FAILED),)
    assert results["IAM-1"].result == FAILED
    assert dict(results["STO-1"].rules) == {
        "AwsSolutions-S10": ACKNOWLEDGED,
        "NIST.800.53.R5-S3BucketSSLRequestsOnly": PASSED,
    }
    assert results["STO-1"].result == ACKNOWLEDGED
    assert results["ENC-2"].result == PASSED
    assert results["AUD-4"].result == "elsewhere"
    assert results["AUD-4"].elsewhere == "Run time: the ledger handler."


def test_without_a_validation_report_nothing_counts_as_passed() -> None:
    results = claim_results(CLAIMS, None)
    assert {c.result for c in results if c.rules} == {NOT_CHECKED}


def test_the_default_app_report_shows_every_claim_with_its_rules(
    default_assembly: Assembly,
) -> None:
    # Given the report of the default config's synth
    report = build_report(default_assembly.outdir)
    # Then every claim of RULES.md is there, none failed, and the markdown shows the table
    from cdk_constructs.compliance.rules import CLAIMS as APP_CLAIMS

    assert report.claims is not None
    assert [c.claim_id for c in report.claims] == [c.claim_id for c in APP_CLAIMS]
    assert all(c.result != FAILED for c in report.claims), [
        (c.claim_id, c.rules) for c in report.claims if c.result == FAILED
    ]
    enforced = [c for c in report.claims if c.rules]
    assert enforced
    assert all(c.result in {PASSED, ACKNOWLEDGED} for c in enforced)
    text = render_markdown(report)
    assert "Claims → rules" in text
    for claim in APP_CLAIMS:
        assert f"| {claim.claim_id} |" in text

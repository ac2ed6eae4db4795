"""The default app passes every public pack; each acknowledgment carries a specific reason."""

from __future__ import annotations

import pytest

from cdk_constructs.compliance.acknowledgments import MIN_REASON_LENGTH
from tests.conftest import Assembly

PACKS = ("AwsSolutions", "NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321", "Serverless")


def test_every_pack_ran(default_assembly: Assembly) -> None:
    ran = {report["pluginName"] for report in default_assembly.report["pluginReports"]}
    assert set(PACKS) <= ran


@pytest.mark.parametrize("pack", PACKS)
def test_no_unacknowledged_findings(default_assembly: Assembly, pack: str) -> None:
    (report,) = [r for r in default_assembly.report["pluginReports"] if r["pluginName"] == pack]
    findings = [
        f"{v['ruleName']} at {c['constructPath']}"
        for v in report.get("violations", [])
        for c in v["violatingConstructs"]
    ]
    assert findings == []


def test_acknowledgments_are_namespaced_and_reasoned(default_assembly: Assembly) -> None:
    acknowledged = [
        s
        for r in default_assembly.report["pluginReports"]
        for s in r.get("suppressedViolations", [])
    ]
    assert acknowledged, "the foundation has known, reasoned acknowledgments"
    for suppressed in acknowledged:
        assert "::" in suppressed["acknowledgedId"]
        assert len(suppressed["reason"]) >= MIN_REASON_LENGTH, suppressed


def test_no_acknowledgment_is_stack_wide(default_assembly: Assembly) -> None:
    # Acknowledging at a stack would hide findings on resources added later.
    stacks = set(default_assembly.templates)
    for report in default_assembly.report["pluginReports"]:
        for suppressed in report.get("suppressedViolations", []):
            assert suppressed["acknowledgedAt"] not in stacks, suppressed


def test_an_unfixed_finding_fails_the_gate() -> None:
    # Given a bucket that violates AwsSolutions-S10 (no TLS enforcement) and no acknowledgment
    import aws_cdk as cdk
    from aws_cdk import aws_s3 as s3

    from cdk_constructs.compliance import register_compliance_packs

    app = cdk.App()
    stack = cdk.Stack(app, "Insecure")
    s3.Bucket(stack, "Bucket")
    register_compliance_packs(app)
    # When the app synthesizes, Then synth fails on the unacknowledged findings
    with pytest.raises(Exception, match=r"AwsSolutions-S10|Validation failed"):
        app.synth()


def test_acknowledge_refuses_vague_reasons() -> None:
    import aws_cdk as cdk

    from cdk_constructs.compliance import acknowledge

    stack = cdk.Stack(cdk.App(), "S")
    with pytest.raises(ValueError, match="specific reason"):
        acknowledge(stack, "AwsSolutions-S1", "not needed")
    with pytest.raises(ValueError, match="<Pack>-<Rule>"):
        acknowledge(stack, "S1", "a sufficiently long reason that says why this is fine")

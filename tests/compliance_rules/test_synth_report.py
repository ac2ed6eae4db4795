"""The pack as a validation plugin: report file, acknowledgments, cross-stack references."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from cdk_constructs.compliance.acknowledgments import acknowledge
from cdk_constructs.compliance.governance_pack import GovernanceChecks
from tests.compliance_rules import builders as b

FAIL_SYNTH = "@aws-cdk/core:failSynthOnValidationErrors"
MPG5_REASON = "The state-change rule for this group is deployed by the central events account."
UNDECIDABLE_REASON = "Isolation follows the Tier parameter; the prod pipeline passes tier=high."


@pytest.fixture(scope="module")
def plugin_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # Given: an app with the pack registered, findings acknowledged in two ways
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(outdir=str(outdir), context={FAIL_SYNTH: False})
    registry = cdk.Stack(app, "Registry")
    serving = cdk.Stack(app, "Serving")
    monitoring = cdk.Stack(app, "Monitoring")

    group = b.group(registry, "Group", name="credit-risk")
    b.card(registry, "Card", model="credit-risk")
    cdk.Validations.of(group).acknowledge(
        cdk.Acknowledgment(id="Governance::Governance-MPG5", reason=MPG5_REASON)
    )

    # Monitors in another stack than their endpoint: the reference crosses stacks
    watched = b.endpoint(serving, "Watched", model="churn", tier="low")
    b.monitors(monitoring, "Watched", watched, "DataQuality", "ModelQuality")
    b.endpoint(serving, "Unwatched", model="churn", tier="low")

    tier = cdk.CfnParameter(serving, "Tier", type="String")
    high = cdk.CfnCondition(
        serving, "High", expression=cdk.Fn.condition_equals(tier.value_as_string, "high")
    )
    b.model(serving, "Model", isolated=cdk.Fn.condition_if(high.logical_id, True, False))
    acknowledge(serving, "Governance-MDL1[Undecidable]", UNDECIDABLE_REASON)

    cdk.Validations.of(app).add_plugins(GovernanceChecks(app))
    # When
    app.synth()
    report = json.loads((Path(outdir) / "validation-report.json").read_text())
    (governance,) = [r for r in report["pluginReports"] if r["pluginName"] == "Governance"]
    return dict(governance)


def _paths(entries: list[dict[str, Any]], rule_name: str) -> set[str]:
    return {
        construct["constructPath"]
        for entry in entries
        if entry["ruleName"] == rule_name
        for construct in entry["violatingConstructs"]
    }


def test_unacknowledged_finding_is_in_the_report(plugin_report: dict[str, Any]) -> None:
    assert _paths(plugin_report["violations"], "Governance-EP1") == {"Serving/Unwatched"}


def test_cross_stack_monitors_count_after_synth(plugin_report: dict[str, Any]) -> None:
    flagged = _paths(plugin_report["violations"], "Governance-EP1")
    assert "Serving/Watched" not in flagged


def test_acknowledged_finding_moves_to_suppressed_with_its_reason(
    plugin_report: dict[str, Any],
) -> None:
    assert "Registry/Group" not in _paths(plugin_report["violations"], "Governance-MPG5")
    (suppressed,) = [
        s for s in plugin_report["suppressedViolations"] if s["ruleName"] == "Governance-MPG5"
    ]
    assert suppressed["reason"] == MPG5_REASON
    assert suppressed["acknowledgedId"] == "Governance::Governance-MPG5"
    assert [c["constructPath"] for c in suppressed["violatingConstructs"]] == ["Registry/Group"]


def test_undecidable_finding_is_acknowledged_on_its_own(plugin_report: dict[str, Any]) -> None:
    (suppressed,) = [
        s
        for s in plugin_report["suppressedViolations"]
        if s["ruleName"] == "Governance-MDL1[Undecidable]"
    ]
    assert suppressed["reason"] == UNDECIDABLE_REASON
    assert suppressed["acknowledgedAt"] == "Serving"
    assert [c["constructPath"] for c in suppressed["violatingConstructs"]] == ["Serving/Model"]


def test_unacknowledged_finding_fails_synth() -> None:
    # Given: the default context, one non-compliant trail
    app = cdk.App()
    b.trail(cdk.Stack(app, "Audit"), "Trail", validation=False)
    cdk.Validations.of(app).add_plugins(GovernanceChecks(app))
    # When / Then
    with pytest.raises(Exception, match="Governance-CT1"):
        app.synth()

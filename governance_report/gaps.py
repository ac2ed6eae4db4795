"""What a model still lacks in one environment, measured against its effective approval policy.

These are a reviewer's to-do list, not rule findings: a new model's card is Draft by design, and
a dev environment may serve nothing. Rule findings (which fail the synth) are in the compliance
section. Each gap names what is missing and what it means for approval or oversight.
"""

from __future__ import annotations

from dataclasses import dataclass

from governance_report.controls import MONITOR_TYPES, GovernedModel


class GapKind:
    BLOCKS_APPROVAL = "blocks approval"
    NOT_SERVED = "not served"
    LESS_OVERSIGHT = "less oversight"
    POLICY = "policy"


@dataclass(frozen=True)
class Gap:
    kind: str
    text: str


@dataclass(frozen=True)
class EvidenceSource:
    """Where one kind of approval evidence comes from, and which monitor re-checks it."""

    kind: str
    produced_by: str
    monitor: str | None  # the schedule type that keeps checking it after deployment


# The evidence kinds the approval gate checks (lambda/governance/approval_gate.py) and where a
# model package gets each one (SageMaker Model Registry: ModelMetrics, DriftCheckBaselines).
EVIDENCE = {
    e.kind: e
    for e in (
        EvidenceSource(
            "model_quality_metrics",
            "registration pipeline: ModelMetrics.ModelQuality.Statistics",
            "ModelQuality",
        ),
        EvidenceSource(
            "bias_report",
            "Clarify bias analysis on the protected attribute: ModelMetrics.Bias",
            "ModelBias",
        ),
        EvidenceSource(
            "explainability_report",
            "Clarify SHAP analysis: ModelMetrics.Explainability.Report",
            "ModelExplainability",
        ),
        EvidenceSource(
            "drift_check_baselines", "baselining step: DriftCheckBaselines", "DataQuality"
        ),
        EvidenceSource("model_card_approved", "a reviewer approving the model card", None),
        EvidenceSource("approval_description", "the approver, when approving", None),
        EvidenceSource("separate_approver", "an approver other than the registrant", None),
    )
}


def _evidence_gaps(model: GovernedModel, served: bool) -> list[Gap]:
    gaps: list[Gap] = []
    policy = model.policy
    if policy is None:
        return gaps
    scheduled = set(model.scheduled_monitor_types)
    for kind in policy.required_evidence:
        source = EVIDENCE.get(kind)
        if source is None:
            gaps.append(
                Gap(GapKind.POLICY, f"The policy requires {kind!r}, which the gate does not know.")
            )
            continue
        if kind == "bias_report" and model.protected_attribute is None:
            gaps.append(
                Gap(
                    GapKind.BLOCKS_APPROVAL,
                    "The policy requires a bias report, but no protected attribute is "
                    "configured: no Clarify bias analysis can produce one, so every version "
                    "will be rejected.",
                )
            )
        elif kind == "model_card_approved" and not model.cards:
            gaps.append(
                Gap(
                    GapKind.BLOCKS_APPROVAL,
                    "The policy requires an approved model card, but no card is declared.",
                )
            )
        elif served and source.monitor is not None and source.monitor not in scheduled:
            gaps.append(
                Gap(
                    GapKind.LESS_OVERSIGHT,
                    f"{kind} is checked at approval, but no {source.monitor} monitor re-checks "
                    "it while the model serves.",
                )
            )
    return gaps


def gaps_of(model: GovernedModel) -> list[Gap]:  # noqa: PLR0912 - one branch per control
    """Everything a reviewer should know is missing for ``model`` in its environment."""
    gaps: list[Gap] = []
    served = bool(model.endpoints)
    if not model.policies:
        gaps.append(Gap(GapKind.POLICY, "No approval policy: the gate has nothing to check."))
    for policy in model.policies:
        if policy.problem:
            gaps.append(Gap(GapKind.POLICY, f"{policy.parameter_name}: {policy.problem}"))
    if not served:
        gaps.append(
            Gap(
                GapKind.NOT_SERVED,
                f"No endpoint in {model.environment}: registered and governed, not served, "
                "so nothing is monitored here.",
            )
        )
    else:
        missing = [t for t in MONITOR_TYPES if t not in model.scheduled_monitor_types]
        if missing:
            gaps.append(Gap(GapKind.LESS_OVERSIGHT, f"Monitors off: {', '.join(missing)}."))
        if any(e.data_capture_percent is None for e in model.endpoints) and model.monitors:
            gaps.append(
                Gap(
                    GapKind.LESS_OVERSIGHT,
                    "Data capture is off: the monitors have no traffic to analyse.",
                )
            )
        if model.monitors and not model.alarms:
            gaps.append(Gap(GapKind.LESS_OVERSIGHT, "Monitors run, but no alarm watches them."))
        silent = [a.name for a in model.alarms if not a.actions]
        if silent:
            gaps.append(Gap(GapKind.LESS_OVERSIGHT, f"Alarms with no action: {', '.join(silent)}."))
    requires_card = model.policy is not None and (
        "model_card_approved" in model.policy.required_evidence
    )
    for card in model.cards:
        if card.status != "Approved" and requires_card:
            gaps.append(
                Gap(
                    GapKind.BLOCKS_APPROVAL,
                    f"Model card {card.name} is {card.status or 'without status'}: the gate "
                    "rejects every version until a reviewer approves the card.",
                )
            )
    gaps += _evidence_gaps(model, served)
    policy_facet = model.policy.bias_facet if model.policy else None
    monitor_facets = {m.facet.attribute for m in model.monitors if m.facet is not None}
    if policy_facet is not None and monitor_facets - {policy_facet.attribute}:
        gaps.append(
            Gap(
                GapKind.POLICY,
                f"The gate checks bias on {policy_facet.attribute}, the bias monitor on "
                f"{', '.join(sorted(monitor_facets))}.",
            )
        )
    for group in model.groups:
        if group.deletion_policy not in ("Retain", "RetainExceptOnCreate"):
            gaps.append(
                Gap(
                    GapKind.POLICY,
                    f"Model package group {group.name} is deleted with its stack (no Retain).",
                )
            )
    return gaps

"""Compliance pack status: open findings, acknowledgments by rule, our Governance pack's rules.

"Open" means exactly what fails the synth (:mod:`governance_report.gate`): every unacknowledged
result of every plugin in ``validation-report.json`` (cdk-nag packs, aws-cdk-lib's built-in
CloudFormation validator, construct annotations such as limit warnings), whatever its severity.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from governance_report.assembly import ValidationReport, Violation, rule_ids

GOVERNANCE_PACK = "Governance"
GOVERNANCE_PACK_MANIFEST = "governance-pack.json"


def base_rule(rule_name: str) -> str:
    """``Governance-MDL1[Undecidable]`` → ``Governance-MDL1``; drops a ``Pack::`` namespace."""
    return rule_name.split("[", 1)[0].rsplit("::", 1)[-1]


def short_rule(pack: str, rule: str) -> str:
    """``HIPAA.Security-S3BucketReplicationEnabled[x]`` → ``S3BucketReplicationEnabled``."""
    base = base_rule(rule)
    return base.removeprefix(f"{pack}-")


@dataclass(frozen=True)
class RuleAcknowledgments:
    """One rule's acknowledgments, across the packs that share it with the same reasons
    (NIST 800-53, HIPAA and PCI DSS check many of the same things under one rule name)."""

    packs: tuple[str, ...]
    rule: str
    entries: tuple[Violation, ...]

    @property
    def resources(self) -> tuple[str, ...]:
        """Distinct constructs acknowledged (each pack acknowledges the same ones)."""
        return tuple(dict.fromkeys(p for e in self.entries for p in e.construct_paths))

    @property
    def findings(self) -> int:
        return sum(max(1, len(e.construct_paths)) for e in self.entries)

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e.reason for e in self.entries))


def acknowledgments_by_rule(acks: Iterable[Violation]) -> tuple[RuleAcknowledgments, ...]:
    """Acknowledgments grouped by rule, most frequent first; packs that acknowledge a rule of
    the same name for the same resources and reasons share one group."""
    by_pack: dict[tuple[str, str], list[Violation]] = {}
    for ack in acks:
        by_pack.setdefault((ack.pack, short_rule(ack.pack, ack.rule)), []).append(ack)
    merged: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list[tuple[str, list[Violation]]]]
    merged = {}
    for (pack, rule), entries in by_pack.items():
        paths = tuple(sorted({p for e in entries for p in e.construct_paths}))
        reasons = tuple(sorted({e.reason for e in entries}))
        merged.setdefault((rule, paths, reasons), []).append((pack, entries))
    groups = [
        RuleAcknowledgments(
            packs=tuple(sorted(pack for pack, _ in members)),
            rule=rule,
            entries=tuple(e for _, entries in sorted(members, key=lambda m: m[0]) for e in entries),
        )
        for (rule, _, _), members in merged.items()
    ]
    return tuple(sorted(groups, key=lambda g: (-len(g.resources), g.packs, g.rule)))


@dataclass(frozen=True)
class GovernancePackStatus:
    ran: bool
    rule_ids: tuple[str, ...] | None  # None: the report does not list the pack's rules
    with_findings: tuple[str, ...]
    acknowledged: tuple[str, ...]

    @property
    def passed(self) -> tuple[str, ...]:
        """Rules with neither an open finding nor an acknowledged one."""
        if self.rule_ids is None:
            return ()
        flagged = set(self.with_findings) | set(self.acknowledged)
        return tuple(r for r in sorted(self.rule_ids) if base_rule(r) not in flagged)


def read_pack_manifest(folder: Path) -> tuple[str, ...] | None:
    """Rule ids the app registered (``governance-pack.json``), or None when it wrote none.

    cdk-nag leaves a pack with nothing to report out of validation-report.json, so the app
    writes this manifest to say that the pack ran and which rules it holds.
    """
    path = folder / GOVERNANCE_PACK_MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return rule_ids(data) if isinstance(data, dict) else None


def governance_pack_status(
    validation: ValidationReport | None, registered: tuple[str, ...] | None = None
) -> GovernancePackStatus:
    pack = validation.pack(GOVERNANCE_PACK) if validation is not None else None
    if pack is None:
        if registered is not None and validation is not None:
            # Registered and ran, but had nothing to report: every rule passed.
            return GovernancePackStatus(True, registered, (), ())
        return GovernancePackStatus(False, None, (), ())
    return GovernancePackStatus(
        ran=True,
        rule_ids=pack.rule_ids if pack.rule_ids is not None else registered,
        with_findings=tuple(sorted({base_rule(f.rule) for f in pack.findings})),
        acknowledged=tuple(sorted({base_rule(a.rule) for a in pack.acknowledgments})),
    )


# --------------------------------------------------------------------------- claims → rules

PASSED = "passed"
FAILED = "failed"
ACKNOWLEDGED = "acknowledged"
NOT_CHECKED = "not checked"


@dataclass(frozen=True)
class ClaimResult:
    """One promised control (RULES.md's claims table) and how its rules fared in this synth.

    A rule *failed* when it has an open finding, is *acknowledged* when all its findings are
    acknowledged (with the reasons listed under Acknowledgments), *passed* when it has none,
    and is *not checked* when the assembly has no validation report.
    """

    claim_id: str
    control: str
    source: str
    quote: str
    rules: tuple[tuple[str, str], ...]  # (rule id, result)
    elsewhere: str | None
    gap: str | None
    declared: str  # the claims table's status: enforced, partial, elsewhere, open

    @property
    def result(self) -> str:
        """The claim's worst rule result; without rules, the declared status."""
        results = {result for _, result in self.rules}
        for worst in (FAILED, NOT_CHECKED, ACKNOWLEDGED, PASSED):
            if worst in results:
                return worst
        return self.declared


def read_claims(folder: Path) -> tuple[dict[str, object], ...] | None:
    """The claims table the app wrote into ``governance-pack.json`` (None when absent)."""
    path = folder / GOVERNANCE_PACK_MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    claims = data.get("claims") if isinstance(data, dict) else None
    if not isinstance(claims, list):
        return None
    return tuple(claim for claim in claims if isinstance(claim, dict))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def claim_results(
    claims: Iterable[dict[str, object]], validation: ValidationReport | None
) -> tuple[ClaimResult, ...]:
    """Each claim with the result of each of its rules in ``validation``."""
    open_rules = {base_rule(f.rule) for f in validation.findings} if validation else set()
    acknowledged = {base_rule(a.rule) for a in validation.acknowledgments} if validation else set()

    def result(rule: str) -> str:
        if validation is None:
            return NOT_CHECKED
        if rule in open_rules:
            return FAILED
        return ACKNOWLEDGED if rule in acknowledged else PASSED

    results = []
    for claim in claims:
        rules = claim.get("rules")
        rule_list = [r for r in rules if isinstance(r, str)] if isinstance(rules, list) else []
        results.append(
            ClaimResult(
                claim_id=str(claim.get("claimId", "")),
                control=str(claim.get("control", "")),
                source=str(claim.get("source", "")),
                quote=str(claim.get("quote", "")),
                rules=tuple((rule, result(rule)) for rule in rule_list),
                elsewhere=_text(claim.get("elsewhere")),
                gap=_text(claim.get("gap")),
                declared=str(claim.get("status", "")),
            )
        )
    return tuple(results)

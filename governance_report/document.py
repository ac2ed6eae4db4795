"""The report's content as a small document tree, so Markdown and HTML say the same thing.

:func:`build_document` decides *what* a reviewer reads (sections, tables, warnings); the two
renderers only decide how it looks. Cell text is plain: each renderer escapes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from governance_report import GovernanceReport
from governance_report.costs import CostEstimate, money
from governance_report.model import (
    GOVERNANCE_PACK,
    MODEL_TAG,
    Acknowledgment,
    Finding,
    GovernedModel,
)

Tone = Literal["ok", "warn", "bad", ""]


@dataclass(frozen=True)
class Flag:
    """Cell text with a verdict a reviewer should notice (coloured in HTML, marked in Markdown)."""

    text: str
    tone: Tone


Cell = str | Flag


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Callout:
    tone: Tone
    text: str


@dataclass(frozen=True)
class Facts:
    items: tuple[tuple[str, Cell], ...]


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    empty: str = "None declared."
    numeric: tuple[int, ...] = ()  # right-aligned columns


@dataclass(frozen=True)
class Section:
    title: str
    anchor: str
    blocks: tuple[Block, ...]


Block = Paragraph | Callout | Facts | Bullets | Table | Section


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str
    callouts: tuple[Callout, ...]
    summary: Facts
    sections: tuple[Section, ...]


def text_of(cell: Cell) -> str:
    return cell.text if isinstance(cell, Flag) else cell


def _anchor(*parts: str) -> str:
    slug = "-".join(parts).lower()
    return "".join(c if c.isalnum() else "-" for c in slug).strip("-")


def _or(value: str | None, default: str = "—") -> str:
    return value if value else default


def _count(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "not set"
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    return f"{seconds / 60:g} min"


# --------------------------------------------------------------------------- per model


def _registry(model: GovernedModel) -> Table:
    rows = []
    for group in model.groups:
        retained = group.deletion_policy in ("Retain", "RetainExceptOnCreate")
        consumers = ", ".join(group.consumer_accounts) or "not shared"
        rows.append(
            (
                group.name,
                Flag(_or(group.deletion_policy, "Delete (default)"), "ok" if retained else "bad"),
                consumers,
                ", ".join(group.shared_actions) if group.consumer_accounts else "—",
                group.path,
            )
        )
    return Table(
        ("Model package group", "Deletion policy", "Consumer accounts", "Allowed actions", "Path"),
        tuple(rows),
        empty="No model package group declared.",
    )


def _cards(model: GovernedModel) -> Table:
    return Table(
        ("Model card", "Status", "Encryption", "Path"),
        tuple(
            (
                card.name,
                Flag(_or(card.status), "ok" if card.status == "Approved" else "warn"),
                f"customer KMS key {card.kms_key}"
                if card.kms_key
                else Flag("AWS owned key (no customer KMS key)", "warn"),
                card.path,
            )
            for card in model.cards
        ),
        empty="No model card declared.",
    )


def _policies(model: GovernedModel) -> list[Block]:
    if not model.policies:
        return [Callout("warn", "No approval policy parameter declared for this model.")]
    blocks: list[Block] = []
    for policy in model.policies:
        if policy.problem:
            blocks.append(Callout("bad", f"{policy.parameter_name}: {policy.problem}"))
            continue
        blocks.append(
            Facts(
                (
                    ("Parameter", policy.parameter_name),
                    ("Required evidence", ", ".join(policy.required_evidence) or "none"),
                    ("On failure, set status to", _or(policy.on_failure)),
                )
            )
        )
        blocks.append(
            Table(
                ("Bias metric", "Min", "Max"),
                tuple(
                    (
                        metric,
                        _or(None if b.get("min") is None else f"{b['min']:g}"),
                        _or(None if b.get("max") is None else f"{b['max']:g}"),
                    )
                    for metric, b in sorted(policy.bias_thresholds.items())
                ),
                empty="No bias thresholds.",
                numeric=(1, 2),
            )
        )
    return blocks


def _endpoints(model: GovernedModel) -> Table:
    rows: list[tuple[Cell, ...]] = []
    for endpoint in model.endpoints:
        capture = (
            Flag(f"{endpoint.data_capture_percent} %", "ok")
            if endpoint.data_capture_percent
            else Flag("off", "warn")
        )
        kms: Cell = endpoint.kms_key if endpoint.kms_key else Flag("none", "warn")
        for variant in endpoint.variants or ():
            rows.append(
                (
                    endpoint.name,
                    endpoint.config_name,
                    variant.name,
                    "serverless" if variant.serverless else _or(variant.instance_type),
                    "—" if variant.serverless else _count(variant.instance_count),
                    kms,
                    capture,
                )
            )
        if not endpoint.variants:
            rows.append((endpoint.name, endpoint.config_name, "?", "?", "?", kms, capture))
    return Table(
        (
            "Endpoint",
            "Endpoint config",
            "Variant",
            "Instance type",
            "Instances",
            "KMS key",
            "Data capture",
        ),
        tuple(rows),
        empty="No endpoint declared.",
        numeric=(4,),
    )


def _monitors(model: GovernedModel, costs: CostEstimate) -> Table:
    from governance_report.costs import frequency

    rows = []
    for monitor in model.monitors:
        schedule = frequency(monitor.schedule_expression)
        rows.append(
            (
                monitor.name,
                monitor.monitoring_type,
                f"{_or(monitor.schedule_expression)} ({schedule.label})",
                monitor.job_definition,
                _or(monitor.instance_type),
                _count(monitor.instance_count),
                "?" if monitor.volume_gb is None else f"{monitor.volume_gb:g} GB",
                _duration(monitor.max_runtime_seconds),
            )
        )
    return Table(
        (
            "Schedule",
            "Type",
            "Runs",
            "Job definition",
            "Instance type",
            "Instances",
            "Volume",
            "Max runtime",
        ),
        tuple(rows),
        empty="No monitoring schedule declared.",
        numeric=(5,),
    )


def _alarms(model: GovernedModel) -> Table:
    return Table(
        ("Alarm", "Metric", "Condition", "Actions"),
        tuple(
            (
                alarm.name,
                f"{alarm.namespace} / {alarm.metric}" if alarm.namespace else _or(alarm.metric),
                f"{alarm.comparison} {alarm.threshold}".strip() or "—",
                ", ".join(alarm.actions) if alarm.actions else Flag("no action", "warn"),
            )
            for alarm in model.alarms
        ),
        empty="No alarm declared.",
    )


def _event_rules(model: GovernedModel) -> Table:
    return Table(
        ("Event rule", "State", "Detail types", "Targets", "Dead-letter queue"),
        tuple(
            (
                rule.name,
                Flag(rule.state, "ok" if rule.state == "ENABLED" else "warn"),
                ", ".join(rule.detail_types) or "—",
                str(rule.targets),
                Flag("yes", "ok") if rule.has_dead_letter_queue else Flag("no", "warn"),
            )
            for rule in model.event_rules
        ),
        empty="No EventBridge rule declared.",
        numeric=(3,),
    )


def _model_section(model: GovernedModel, costs: CostEstimate) -> Section:
    anchor = _anchor("model", model.name)
    monthly = sum(line.monthly or 0 for line in costs.lines if line.model == model.name)
    tier_tone: Tone = "bad" if model.risk_tier == "high" else ""
    return Section(
        f"Model: {model.name}",
        anchor,
        (
            Facts(
                (
                    ("Owner", _or(model.owner, "not tagged")),
                    ("Risk tier", Flag(_or(model.risk_tier, "not tagged"), tier_tone)),
                    ("Data classification", _or(model.data_classification, "not tagged")),
                    ("Resources", str(model.resource_count)),
                    ("Estimated monthly cost", money(monthly, costs.prices.currency)),
                )
            ),
            Section("Registry and sharing", f"{anchor}-registry", (_registry(model),)),
            Section("Model card", f"{anchor}-card", (_cards(model),)),
            Section("Approval policy", f"{anchor}-policy", tuple(_policies(model))),
            Section("Endpoint", f"{anchor}-endpoint", (_endpoints(model),)),
            Section("Monitors and schedules", f"{anchor}-monitors", (_monitors(model, costs),)),
            Section("Alarms", f"{anchor}-alarms", (_alarms(model),)),
            Section("Registry events", f"{anchor}-events", (_event_rules(model),)),
        ),
    )


# --------------------------------------------------------------------------- compliance


def _paths(paths: Sequence[str]) -> str:
    return ", ".join(paths) or "—"


def _finding_rows(findings: Iterable[Finding]) -> tuple[tuple[Cell, ...], ...]:
    return tuple(
        (f.pack, Flag(f.rule, "bad"), _paths(f.construct_paths), f.description)
        for f in sorted(findings, key=lambda f: (f.pack, f.rule))
    )


def _ack_rows(acks: Iterable[Acknowledgment]) -> tuple[tuple[Cell, ...], ...]:
    return tuple(
        (a.pack, a.rule, _paths(a.construct_paths), a.reason)
        for a in sorted(acks, key=lambda a: (a.pack, a.rule, a.construct_paths))
    )


def _compliance(report: GovernanceReport) -> Section:
    validation = report.assembly.validation
    if validation is None:
        return Section(
            "Compliance packs",
            "compliance",
            (Callout("bad", report.assembly.validation_problem or "No validation report."),),
        )
    packs = Table(
        ("Pack", "Conclusion", "Open findings", "Acknowledged"),
        tuple(
            (
                pack.name,
                Flag(pack.conclusion, "ok" if pack.conclusion == "success" else "bad"),
                Flag(str(len(pack.findings)), "bad" if pack.findings else "ok"),
                str(len(pack.acknowledgments)),
            )
            for pack in validation.packs
        ),
        empty="The validation report lists no pack.",
        numeric=(2, 3),
    )
    findings = [f for pack in validation.packs for f in pack.findings]
    acks = [a for pack in validation.packs for a in pack.acknowledgments]
    return Section(
        "Compliance packs",
        "compliance",
        (
            packs,
            Section(
                "Open findings",
                "findings",
                (
                    Table(
                        ("Pack", "Rule", "Resource", "Description"),
                        _finding_rows(findings),
                        empty="No open finding.",
                    ),
                ),
            ),
            Section(
                "Acknowledgments",
                "acknowledgments",
                (
                    Paragraph(
                        f"{len(acks)} acknowledged findings. Each was accepted on purpose, for "
                        "the resource named, with the reason given."
                    ),
                    Table(
                        ("Pack", "Rule", "Resource", "Reason"),
                        _ack_rows(acks),
                        empty="No acknowledgment.",
                    ),
                ),
            ),
            _governance_pack(report),
        ),
    )


def _governance_pack(report: GovernanceReport) -> Section:
    status = report.governance_pack
    title, anchor = f"{GOVERNANCE_PACK} pack (model governance rules)", "governance-pack"
    if report.assembly.validation is None:
        return Section(title, anchor, (Paragraph("Unknown: no validation report."),))
    if not status.ran:
        return Section(
            title,
            anchor,
            (
                Callout(
                    "warn",
                    f"The {GOVERNANCE_PACK} pack did not run on this assembly: its rules "
                    "(registry, model card, serving, monitoring, audit) were not checked.",
                ),
            ),
        )
    blocks: list[Block] = []
    if status.rule_ids is None:
        blocks.append(
            Callout(
                "warn",
                "The pack ran but its report does not list its rules, so the rules that passed "
                "cannot be named; only rules with findings are known.",
            )
        )
    else:
        blocks.append(
            Paragraph(f"Rules that passed ({len(status.passed)} of {len(status.rule_ids)}):")
        )
        blocks.append(Bullets(status.passed or ("none",)))
    blocks.append(
        Facts(
            (
                ("Rules with open findings", ", ".join(status.with_findings) or "none"),
                ("Rules acknowledged", ", ".join(status.acknowledged) or "none"),
            )
        )
    )
    return Section(title, anchor, tuple(blocks))


# --------------------------------------------------------------------------- costs


def _costs(report: GovernanceReport) -> Section:
    costs = report.costs
    prices = costs.prices
    currency = prices.currency
    blocks: list[Block] = [
        Paragraph(
            f"{prices.kind[:1].upper()}{prices.kind[1:]}, as of {prices.as_of}, "
            f"{prices.region}. Monitors: "
            "price x instances x max runtime per run (upper bound) x runs per 30-day month. "
            f"Endpoints: price x instances x 730 h. {prices.note}"
        )
    ]
    if costs.region_warning:
        blocks.append(Callout("warn", costs.region_warning))
    blocks.append(
        Table(
            (
                "Model",
                "Item",
                "Instance",
                "Price / h",
                "Instance-hours",
                "Monthly",
                "Basis",
                "Note",
            ),
            tuple(
                (
                    line.model,
                    line.item,
                    f"{_or(line.instance_type)} x {_count(line.instance_count)}",
                    "—" if line.hourly_price is None else f"{line.hourly_price:g}",
                    "—" if line.billed_hours is None else f"{line.billed_hours:,.1f}",
                    money(line.monthly, currency)
                    if line.monthly is not None
                    else Flag("not estimated", "warn"),
                    line.basis,
                    line.note,
                )
                for line in costs.lines
            ),
            empty="No monitor or endpoint declared: nothing to estimate.",
            numeric=(3, 4, 5),
        )
    )
    blocks.append(
        Facts(
            (
                ("Monitors", money(costs.total_for("monitor"), currency)),
                ("Endpoints", money(costs.total_for("endpoint"), currency)),
                ("Total per month", money(costs.total, currency)),
                ("Items not estimated", str(len(costs.unpriced))),
            )
        )
    )
    blocks.append(Paragraph("Price table sources: " + "; ".join(prices.sources)))
    return Section("Monthly cost estimate", "costs", tuple(blocks))


def _stacks(report: GovernanceReport) -> Section:
    return Section(
        "Stacks in this assembly",
        "stacks",
        (
            Table(
                ("Stack", "Account", "Region", "Resources", "Template"),
                tuple(
                    (
                        s.name,
                        _or(s.account, "environment-agnostic"),
                        _or(s.region, "—"),
                        str(len(s.resources)),
                        s.template_file,
                    )
                    for s in report.assembly.stacks
                ),
                empty="The manifest lists no CloudFormation stack.",
                numeric=(3,),
            ),
        ),
    )


# --------------------------------------------------------------------------- document


def build_document(report: GovernanceReport) -> Document:
    assembly = report.assembly
    validation = assembly.validation
    callouts: list[Callout] = []
    if validation is None:
        callouts.append(Callout("bad", assembly.validation_problem or "No validation report."))
    if not report.models:
        callouts.append(
            Callout(
                "warn",
                f"No governed model found: no resource in this assembly carries the {MODEL_TAG} "
                "tag or an approval-policy parameter. Per-model controls appear here once the "
                "registry and monitoring stacks are synthesized.",
            )
        )
    open_findings = sum(len(p.findings) for p in validation.packs) if validation else None
    acks = sum(len(p.acknowledgments) for p in validation.packs) if validation else None
    gov = report.governance_pack
    if validation is None:
        gov_text: Cell = Flag("unknown", "warn")
    elif not gov.ran:
        gov_text = Flag("did not run", "warn")
    elif gov.rule_ids is None:
        gov_text = f"ran, {len(gov.with_findings)} rules with open findings"
    else:
        gov_text = Flag(
            f"{len(gov.passed)} of {len(gov.rule_ids)} rules passed",
            "ok" if len(gov.passed) == len(gov.rule_ids) else "warn",
        )
    summary = Facts(
        (
            ("Governed models", str(len(report.models))),
            (
                "Compliance packs",
                str(len(validation.packs)) if validation else Flag("no report", "bad"),
            ),
            (
                "Open findings",
                Flag("unknown", "bad")
                if open_findings is None
                else Flag(str(open_findings), "bad" if open_findings else "ok"),
            ),
            ("Acknowledgments", "unknown" if acks is None else str(acks)),
            (f"{GOVERNANCE_PACK} pack", gov_text),
            (
                "Estimated monthly cost",
                money(report.costs.total, report.costs.prices.currency),
            ),
        )
    )
    names = ", ".join(m.name for m in report.models)
    overview = Section(
        "Governed models",
        "models",
        (
            Paragraph(f"{len(report.models)} governed: {names}." if names else "None found."),
            Table(
                (
                    "Model",
                    "Owner",
                    "Risk tier",
                    "Data",
                    "Groups",
                    "Cards",
                    "Endpoints",
                    "Monitors",
                    "Alarms",
                ),
                tuple(
                    (
                        m.name,
                        _or(m.owner),
                        _or(m.risk_tier),
                        _or(m.data_classification),
                        str(len(m.groups)),
                        str(len(m.cards)),
                        str(len(m.endpoints)),
                        str(len(m.monitors)),
                        str(len(m.alarms)),
                    )
                    for m in report.models
                ),
                empty="No governed model.",
                numeric=(4, 5, 6, 7, 8),
            ),
        ),
    )
    stacks = len(assembly.stacks)
    resources = sum(len(s.resources) for s in assembly.stacks)
    return Document(
        title="Model governance report",
        subtitle=(
            f"Rendered from the cloud assembly {assembly.folder} "
            f"({stacks} stack{'s' if stacks != 1 else ''}, {resources} resources) "
            "without deploying anything."
        ),
        callouts=tuple(callouts),
        summary=summary,
        sections=(
            overview,
            *(_model_section(m, report.costs) for m in report.models),
            _compliance(report),
            _costs(report),
            _stacks(report),
        ),
    )

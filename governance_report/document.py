"""The report's content as a small document tree, so Markdown and HTML say the same thing.

:func:`build_document` decides *what* a reviewer reads, in the order a reviewer asks: is
anything open, what is each model missing against its policy, what does it cost; long lists
(alarms, acknowledgments per resource, cost lines) sit one click away in :class:`Details`.
The two renderers only decide how it looks. Cell text is plain: each renderer escapes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from governance_report import GovernanceReport
from governance_report.assembly import Violation
from governance_report.controls import (
    BATCH_JOB_PREFIX,
    MONITOR_TYPES,
    ApprovalPolicy,
    GovernedModel,
    models_by_name,
)
from governance_report.costs import CostEstimate, describe, frequency, money
from governance_report.gaps import EVIDENCE, GapKind
from governance_report.inventory import Inventory
from governance_report.packs import (
    ACKNOWLEDGED,
    FAILED,
    GOVERNANCE_PACK,
    PASSED,
    ClaimResult,
    acknowledgments_by_rule,
)

# ok/warn/bad carry a verdict (coloured in HTML, marked in Markdown); "info" is a neutral label.
Tone = Literal["ok", "warn", "bad", "info", ""]


@dataclass(frozen=True)
class Flag:
    text: str
    tone: Tone


@dataclass(frozen=True)
class Link:
    """Text that points at an anchor of the same document."""

    text: str
    anchor: str


Cell = str | Flag | Link


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
class Details:
    """Content one click away: the summary line is always shown."""

    summary: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Section:
    title: str
    anchor: str
    blocks: tuple[Block, ...]


Block = Paragraph | Callout | Facts | Bullets | Table | Details | Section


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str
    callouts: tuple[Callout, ...]
    summary: Facts
    sections: tuple[Section, ...]


def text_of(cell: Cell) -> str:
    return cell if isinstance(cell, str) else cell.text


def anchor(*parts: str) -> str:
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


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


class _Columns:
    """Adds an Environment column only when the assembly has several environments."""

    def __init__(self, report: GovernanceReport) -> None:
        self.multi = report.multi_environment

    def headers(self, *headers: str) -> tuple[str, ...]:
        return ("Environment", *headers) if self.multi else headers

    def row(self, model: GovernedModel, *cells: Cell) -> tuple[Cell, ...]:
        return (model.environment, *cells) if self.multi else cells

    def numeric(self, *columns: int) -> tuple[int, ...]:
        return tuple(c + 1 for c in columns) if self.multi else columns

    def merge(self, rows: Sequence[tuple[Cell, ...]]) -> tuple[tuple[Cell, ...], ...]:
        """One row for facts that are the same in several environments (``dev, prod``)."""
        if not self.multi:
            return tuple(rows)
        merged: dict[tuple[Cell, ...], list[str]] = {}
        for row in rows:
            merged.setdefault(tuple(row[1:]), []).append(text_of(row[0]))
        return tuple((", ".join(envs), *rest) for rest, envs in merged.items())


# --------------------------------------------------------------------------- paths


def where(path: str, inventory: Inventory | None) -> str:
    """A construct path as a reviewer names it: ``credit-default (prod): Serving/Endpoint``."""
    if inventory is not None:
        for model in inventory.models:
            if path.startswith(model.path + "/"):
                rest = [p for p in path.removeprefix(model.path + "/").split("/")]
                rest = [p for p in rest if p not in ("Resource", "Default")] or ["(model)"]
                return f"{model.name} ({model.environment}): {'/'.join(rest)}"
        for env in inventory.environments:
            for stack in env.stacks:
                if path.startswith(stack + "/"):
                    rest = [p for p in path.removeprefix(stack + "/").split("/")]
                    rest = [p for p in rest if p not in ("Resource", "Default")] or ["(stack)"]
                    return f"{stack}: {'/'.join(rest)}"
    return path


def _paths(paths: Sequence[str], inventory: Inventory | None) -> str:
    return ", ".join(where(p, inventory) for p in paths) or "—"


# --------------------------------------------------------------------------- per model


def _policy_blocks(models: Sequence[GovernedModel], cols: _Columns) -> list[Block]:
    """The effective policy once when every environment has the same, else per environment."""
    blocks: list[Block] = []
    policies = [(m, m.policy) for m in models]
    if all(p is None for _, p in policies):
        return [Paragraph("No approval policy declared: the gate has nothing to check.")]
    distinct = {_signature(p) for _, p in policies if p is not None}
    for model, policy in policies:
        if policy is None:
            continue
        title = None if len(distinct) <= 1 else f"In {model.environment}"
        if title:
            blocks.append(Paragraph(title + ":"))
        blocks.append(_policy_facts(policy))
        if len(distinct) <= 1:
            break
    rows = []
    for kind, source in EVIDENCE.items():
        required = [m for m, p in policies if p is not None and kind in p.required_evidence]
        if not required:
            continue
        if source.monitor is None:
            checked: Cell = "at approval only"
        else:
            envs = [m.environment for m in required if source.monitor in m.scheduled_monitor_types]
            checked = (
                Flag(f"{source.monitor} monitor ({', '.join(envs)})", "ok")
                if envs
                else Flag("not monitored", "warn")
            )
        rows.append((kind, source.produced_by, checked))
    blocks.append(
        Table(
            ("Required evidence", "Produced by", "Re-checked while serving"),
            tuple(rows),
            empty="The policy requires no evidence.",
        )
    )
    return blocks


def _signature(policy: ApprovalPolicy) -> tuple[object, ...]:
    thresholds = tuple(
        sorted((k, tuple(sorted(v.items()))) for k, v in policy.bias_thresholds.items())
    )
    facet = policy.bias_facet.text if policy.bias_facet else None
    return (policy.required_evidence, thresholds, facet, policy.on_failure)


def _thresholds(policy: ApprovalPolicy) -> str:
    parts = []
    for metric, bounds in sorted(policy.bias_thresholds.items()):
        low, high = bounds.get("min"), bounds.get("max")
        parts.append(
            f"{metric} {'' if low is None else f'{low:g}'}..{'' if high is None else f'{high:g}'}"
        )
    return ", ".join(parts) or "none"


def _policy_facts(policy: ApprovalPolicy) -> Facts:
    return Facts(
        (
            ("Parameter", policy.parameter_name),
            ("Required evidence", ", ".join(policy.required_evidence) or "none"),
            ("Bias thresholds", _thresholds(policy)),
            (
                "Protected attribute checked at approval",
                policy.bias_facet.text if policy.bias_facet else "none",
            ),
            ("On failure, set status to", _or(policy.on_failure)),
        )
    )


def _gaps_table(report: GovernanceReport, models: Sequence[GovernedModel], cols: _Columns) -> Table:
    rows = []
    for model in models:
        for gap in report.gaps.get(model.key, ()):
            tone: Tone = "warn" if gap.kind != GapKind.NOT_SERVED else "info"
            rows.append(cols.row(model, Flag(gap.kind, tone), gap.text))
    return Table(
        cols.headers("What", "Missing"),
        cols.merge(rows),
        empty="Nothing missing against its effective policy.",
    )


def _registry(models: Sequence[GovernedModel], cols: _Columns) -> Table:
    rows = []
    for model in models:
        for group in model.groups:
            retained = group.deletion_policy in ("Retain", "RetainExceptOnCreate")
            rows.append(
                cols.row(
                    model,
                    group.name,
                    Flag(
                        "retained" if retained else "deleted with stack",
                        "ok" if retained else "warn",
                    ),
                    ", ".join(group.consumer_accounts) or "not shared",
                    _actions(group.shared_actions) if group.consumer_accounts else "—",
                )
            )
    return Table(
        cols.headers("Package group", "On stack deletion", "Consumer accounts", "They may"),
        cols.merge(rows),
        empty="No model package group declared.",
    )


def _actions(actions: Sequence[str]) -> str:
    """``sagemaker: CreateModel, DescribeModelPackage``: one service prefix, names that wrap."""
    by_service: dict[str, list[str]] = {}
    for action in actions:
        service, _, name = action.rpartition(":")
        by_service.setdefault(service, []).append(name)
    return "; ".join(
        f"{service}: {', '.join(names)}" if service else ", ".join(names)
        for service, names in by_service.items()
    )


def _cards(models: Sequence[GovernedModel], cols: _Columns) -> Table:
    return Table(
        cols.headers("Model card", "Status", "Encryption"),
        cols.merge(
            [
                cols.row(
                    model,
                    card.name,
                    Flag(_or(card.status), "ok" if card.status == "Approved" else "warn"),
                    "customer managed KMS key" if card.kms_key else Flag("AWS owned key", "warn"),
                )
                for model in models
                for card in model.cards
            ]
        ),
        empty="No model card declared.",
    )


def _serving(models: Sequence[GovernedModel], cols: _Columns) -> Table:
    rows: list[tuple[Cell, ...]] = []
    for model in models:
        if not model.endpoints:
            rows.append(cols.row(model, Flag("no endpoint", "info"), "—", "—", "—", "—"))
        for endpoint in model.endpoints:
            capture = (
                Flag(f"{endpoint.data_capture_percent} %", "ok")
                if endpoint.data_capture_percent
                else Flag("off", "warn")
            )
            for variant in endpoint.variants or ():
                rows.append(
                    cols.row(
                        model,
                        endpoint.name,
                        "serverless" if variant.serverless else _or(variant.instance_type),
                        "—" if variant.serverless else _count(variant.instance_count),
                        "customer managed KMS key" if endpoint.kms_key else Flag("none", "warn"),
                        capture,
                    )
                )
    return Table(
        cols.headers(
            "Endpoint", "Instance type", "Instances", "Storage encryption", "Data capture"
        ),
        tuple(rows),
        empty="No endpoint declared.",
        numeric=cols.numeric(2),
    )


def _monitors(models: Sequence[GovernedModel], cols: _Columns) -> Table:
    rows: list[tuple[Cell, ...]] = []
    for model in models:
        if not model.endpoints:
            continue
        # An endpoint's monitors by type; batch scoring (its transform and checks) listed after.
        batch = [m for m in model.monitors if m.job_definition.startswith(BATCH_JOB_PREFIX)]
        scheduled = {m.monitoring_type: m for m in model.monitors if m not in batch}
        for job in batch:
            schedule = frequency(job.schedule_expression)
            rows.append(
                cols.row(
                    model,
                    f"{job.name}: {job.monitoring_type} ({job.engine})",
                    Flag(schedule.label, "ok"),
                    f"{_or(job.instance_type)} x {_count(job.instance_count)}",
                    _duration(job.max_runtime_seconds)
                    if job.max_runtime_seconds is not None
                    else "no limit (transform)",
                    "—",
                )
            )
        for kind in MONITOR_TYPES:
            monitor = scheduled.get(kind)
            if monitor is None:
                rows.append(cols.row(model, kind, Flag("off", "warn"), "—", "—", "—"))
                continue
            schedule = frequency(monitor.schedule_expression)
            rows.append(
                cols.row(
                    model,
                    f"{kind} ({monitor.engine}"
                    + (f", {monitor.computed_by})" if monitor.computed_by else ")"),
                    Flag(schedule.label, "ok"),
                    f"{_or(monitor.instance_type)} x {_count(monitor.instance_count)}",
                    _duration(monitor.max_runtime_seconds),
                    monitor.facet.text if monitor.facet else "—",
                )
            )
    return Table(
        cols.headers("Monitor", "Runs", "Instances", "Max runtime", "Protected attribute"),
        cols.merge(rows),
        empty="Nothing served, so nothing monitored.",
    )


def _training(models: Sequence[GovernedModel], cols: _Columns) -> Table:
    """Each governed training pipeline: its steps, what each produces, each job's hardening."""
    rows: list[tuple[Cell, ...]] = []
    for model in models:
        for pipeline in model.pipelines:
            if not pipeline.steps:
                rows.append(
                    cols.row(
                        model,
                        pipeline.name,
                        pipeline.definition,
                        Flag("definition not readable from the assembly", "warn"),
                        "—",
                        "—",
                    )
                )
            for number, step in enumerate(pipeline.steps):
                first = number == 0
                level: Tone = "info" if step.hardened is None else "ok" if step.hardened else "bad"
                rows.append(
                    cols.row(
                        model,
                        pipeline.name if first else "",
                        pipeline.definition if first else "",
                        f"{step.name} ({step.step_type})",
                        step.produces,
                        Flag(step.hardening, level),
                    )
                )
    return Table(
        cols.headers("Pipeline", "Definition", "Step", "Produces", "Hardening"),
        tuple(rows),
        empty="No training pipeline (add a training section to the model's config).",
    )


def _alarms(models: Sequence[GovernedModel], cols: _Columns) -> Details | Paragraph:
    alarms = [(m, a) for m in models for a in m.alarms]
    if not alarms:
        return Paragraph("No alarm declared.")
    targets = sorted({t.split(" (from ", 1)[0] for _, a in alarms for t in a.actions})
    silent = sum(1 for _, a in alarms if not a.actions)
    summary = (
        f"{_plural(len(alarms), 'alarm')}"
        + (f", notifying {', '.join(targets)}" if targets else "")
        + (f"; {silent} with no action" if silent else "")
    )
    return Details(
        summary,
        (
            Table(
                cols.headers("Alarm", "Fires when", "Metric", "Actions"),
                tuple(
                    cols.row(
                        m,
                        a.name,
                        _or(a.description, f"{a.comparison} {a.threshold}"),
                        f"{a.namespace} / {a.metric}" if a.namespace else _or(a.metric),
                        ", ".join(a.actions) if a.actions else Flag("no action", "warn"),
                    )
                    for m, a in alarms
                ),
            ),
        ),
    )


def _routing(models: Sequence[GovernedModel], cols: _Columns) -> Details | Paragraph:
    rules = [(m, r) for m in models for r in m.event_rules]
    if not rules:
        return Paragraph("No EventBridge rule declared.")
    without_dlq = sum(1 for _, r in rules if not r.has_dead_letter_queue)
    return Details(
        f"{_plural(len(rules), 'event rule')}"
        + (
            f"; {without_dlq} without a dead-letter queue"
            if without_dlq
            else ", each with a dead-letter queue"
        ),
        (
            Table(
                cols.headers("Rule", "Routes", "Targets", "Dead-letter queue", "Scope"),
                tuple(
                    cols.row(
                        m,
                        r.name,
                        ", ".join(r.detail_types) or "—",
                        str(r.targets),
                        Flag("yes", "ok") if r.has_dead_letter_queue else Flag("no", "warn"),
                        "all models of its stack" if r.shared else "this model",
                    )
                    for m, r in rules
                ),
                numeric=cols.numeric(2),
            ),
        ),
    )


def _resources(models: Sequence[GovernedModel], cols: _Columns) -> Details:
    concerns = sorted({c for m in models for c in m.concerns})
    return Details(
        "Resources by concern (from the synthesized inventory)",
        (
            Table(
                cols.headers("Own resources", "Shared with its stack", *concerns),
                tuple(
                    cols.row(
                        m,
                        str(m.resource_count),
                        str(m.shared_resource_count),
                        *(str(m.concerns.get(c, 0)) for c in concerns),
                    )
                    for m in models
                ),
                numeric=cols.numeric(*range(len(concerns) + 2)),
            ),
        ),
    )


def _model_section(report: GovernanceReport, models: Sequence[GovernedModel]) -> Section:
    first = models[0]
    name = first.name
    cols = _Columns(report)
    section_anchor = anchor("model", name)
    attribute = next((m.protected_attribute for m in models if m.protected_attribute), None)
    cost = report.costs.subtotal(model=name)
    facts: list[tuple[str, Cell]] = [
        ("Owner", _or(first.owner, "not tagged")),
        ("Risk tier", Flag(_or(first.risk_tier, "not tagged"), "info")),
        ("Data classification", _or(first.data_classification, "not tagged")),
        ("Protected attribute", attribute.text if attribute else "none configured"),
        ("Estimated monthly cost", describe(cost, report.costs.prices.currency)),
    ]
    if cols.multi:
        facts.insert(0, ("Environments", ", ".join(m.environment for m in models)))
    return Section(
        f"Model: {name}",
        section_anchor,
        (
            Facts(tuple(facts)),
            Section(
                "What is missing", f"{section_anchor}-gaps", (_gaps_table(report, models, cols),)
            ),
            Section(
                "Effective approval policy",
                f"{section_anchor}-policy",
                tuple(_policy_blocks(models, cols)),
            ),
            Section(
                "Registry and sharing", f"{section_anchor}-registry", (_registry(models, cols),)
            ),
            Section("Model card", f"{section_anchor}-card", (_cards(models, cols),)),
            Section("Training pipeline", f"{section_anchor}-training", (_training(models, cols),)),
            Section("Serving", f"{section_anchor}-serving", (_serving(models, cols),)),
            Section("Monitoring", f"{section_anchor}-monitors", (_monitors(models, cols),)),
            Section(
                "Alarms and routing",
                f"{section_anchor}-alarms",
                (_alarms(models, cols), _routing(models, cols), _resources(models, cols)),
            ),
        ),
    )


def _overview(report: GovernanceReport) -> Section:
    cols = _Columns(report)
    rows = []
    for model in report.models:
        gaps = report.gaps.get(model.key, ())
        monitors = len(model.scheduled_monitor_types)
        card = model.cards[0].status if model.cards else "none"
        attribute = model.protected_attribute
        rows.append(
            (
                Link(model.name, anchor("model", model.name)),
                *cols.row(
                    model,
                    _or(model.owner),
                    Flag(_or(model.risk_tier), "info"),
                    attribute.attribute if attribute else "—",
                    Flag(_plural(len(model.endpoints), "endpoint"), "ok")
                    if model.endpoints
                    else Flag("not served", "info"),
                    f"{monitors} of {len(MONITOR_TYPES)}" if model.endpoints else "—",
                    Flag(card, "ok" if card == "Approved" else "warn"),
                    Flag(str(len(gaps)), "warn") if gaps else Flag("0", "ok"),
                    describe(
                        report.costs.subtotal(model=model.name, environment=model.environment),
                        report.costs.prices.currency,
                    ),
                ),
            )
        )
    headers = (
        "Model",
        *cols.headers(
            "Owner",
            "Risk tier",
            "Protected attribute",
            "Serving",
            "Monitors",
            "Card",
            "Gaps",
            "Monthly cost",
        ),
    )
    envs = ", ".join(report.environments) or "—"
    names = sorted({m.name for m in report.models})
    return Section(
        "Models at a glance",
        "models",
        (
            Paragraph(
                f"{_plural(len(names), 'model')} in "
                f"{_plural(len(report.environments), 'environment')} ({envs}). Gaps are what a "
                "model still lacks against its effective approval policy; they are a to-do list "
                "for owners and reviewers, not rule findings."
            ),
            Table(headers, tuple(rows), empty="No governed model."),
        ),
    )


# --------------------------------------------------------------------------- compliance


def _finding_rows(
    findings: Iterable[Violation], report: GovernanceReport
) -> tuple[tuple[Cell, ...], ...]:
    readable = report.assembly.readable
    return tuple(
        (
            f.pack,
            Flag(readable(f.rule), "bad"),
            f.severity,
            _paths(f.construct_paths, report.assembly.inventory),
            readable(f.description),
        )
        for f in sorted(findings, key=lambda f: (f.pack, f.rule))
    )


def _acknowledgments(report: GovernanceReport) -> Section:
    validation = report.assembly.validation
    inventory = report.assembly.inventory
    readable = report.assembly.readable
    by_rule = acknowledgments_by_rule(validation.acknowledgments if validation else ())
    total = sum(r.findings for r in by_rule)
    summary = Table(
        ("Pack", "Rule", "Resources", "Reason"),
        tuple(
            (
                ", ".join(r.packs),
                r.rule,
                str(len(r.resources)),
                r.reasons[0] if len(r.reasons) == 1 else f"{len(r.reasons)} reasons, see below",
            )
            for r in by_rule
        ),
        empty="No acknowledgment.",
        numeric=(2,),
    )
    details = tuple(
        Details(
            f"{', '.join(r.packs)} {r.rule}: {_plural(len(r.resources), 'resource')}",
            (
                Table(
                    ("Finding", "Resource", "Reason"),
                    tuple(
                        dict.fromkeys(
                            (
                                readable(e.rule.removeprefix(f"{e.pack}-")),
                                _paths(e.construct_paths, inventory),
                                e.reason,
                            )
                            for e in r.entries
                        )
                    ),
                ),
            ),
        )
        for r in by_rule
    )
    return Section(
        "Acknowledgments",
        "acknowledgments",
        (
            Paragraph(
                f"{_plural(total, 'finding')} accepted on purpose in code, in "
                f"{_plural(len(by_rule), 'rule')}: each names its resources and its reason. "
                "Packs that check the same rule share a row."
            ),
            summary,
            *details,
        ),
    )


def _compliance(report: GovernanceReport) -> Section:
    validation = report.assembly.validation
    if validation is None:
        return Section(
            "Compliance",
            "compliance",
            (Callout("bad", report.assembly.validation_problem or "No validation report."),),
        )
    rows: list[tuple[Cell, ...]] = [
        (
            pack.name,
            Flag(pack.conclusion or "—", "ok" if pack.conclusion == "success" else "bad"),
            Flag(str(len(pack.findings)), "bad" if pack.findings else "ok"),
            str(len(pack.acknowledgments)),
        )
        for pack in validation.packs
    ]
    if report.governance_pack.ran and validation.pack(GOVERNANCE_PACK) is None:
        # cdk-nag leaves a pack with nothing to report out of the file; the app's manifest
        # says it ran.
        rows.append((GOVERNANCE_PACK, Flag("success", "ok"), Flag("0", "ok"), "0"))
    packs = Table(
        ("Pack", "Conclusion", "Open findings", "Acknowledged"),
        tuple(rows),
        empty="The validation report lists no pack with results.",
        numeric=(2, 3),
    )
    return Section(
        "Compliance",
        "compliance",
        (
            Paragraph(
                "Every plugin of validation-report.json: the cdk-nag packs, our Governance pack, "
                "CloudFormation validation and construct annotations (limit warnings). Any open "
                "finding fails the synth."
            ),
            packs,
            Section(
                "Open findings",
                "findings",
                (
                    Table(
                        ("Pack", "Rule", "Severity", "Resource", "Description"),
                        _finding_rows(validation.findings, report),
                        empty="No open finding.",
                    ),
                ),
            ),
            _acknowledgments(report),
            _governance_pack(report),
            _claims(report),
        ),
    )


_CLAIM_TONE: dict[str, Tone] = {PASSED: "ok", ACKNOWLEDGED: "warn", FAILED: "bad"}


def _claim_row(claim: ClaimResult) -> tuple[Cell, ...]:
    rules = "; ".join(f"{rule}: {result}" for rule, result in claim.rules) or "—"
    notes = " ".join(
        part
        for part in (
            f"Enforced elsewhere: {claim.elsewhere}" if claim.elsewhere else "",
            f"Gap: {claim.gap}" if claim.gap else "",
        )
        if part
    )
    return (
        claim.claim_id,
        claim.control,
        f'{claim.source}: "{claim.quote}"',
        rules,
        Flag(claim.result, _CLAIM_TONE.get(claim.result, "warn")),
        notes or "—",
    )


def _claims(report: GovernanceReport) -> Section:
    title, section_anchor = "Claims → rules", "claims"
    if report.claims is None:
        return Section(
            title,
            section_anchor,
            (
                Callout(
                    "warn",
                    "The assembly has no claims table (governance-pack.json): which rule "
                    "enforces each promised control cannot be shown.",
                ),
            ),
        )
    return Section(
        title,
        section_anchor,
        (
            Paragraph(
                "Every control README.md and ARCHITECTURE.md promise (RULES.md), the rules "
                "that fail the synth when it is weakened, and how each rule fared here: "
                "failed (an open finding), acknowledged (findings exempted with a reason, "
                "listed above), passed. A claim no synth rule can check says where it is "
                "enforced instead; an open gap is named."
            ),
            Table(
                ("Claim", "Control", "Promised in", "Rules", "Result", "Notes"),
                tuple(_claim_row(claim) for claim in report.claims),
                empty="The claims table is empty.",
            ),
        ),
    )


def _governance_pack(report: GovernanceReport) -> Section:
    status = report.governance_pack
    title, section_anchor = f"{GOVERNANCE_PACK} pack (model governance rules)", "governance-pack"
    if not status.ran:
        return Section(
            title,
            section_anchor,
            (
                Callout(
                    "warn",
                    f"The {GOVERNANCE_PACK} pack did not run on this assembly: its rules "
                    "(registry, model card, serving, monitoring, audit) were not checked.",
                ),
            ),
        )
    blocks: list[Block] = [
        Facts(
            (
                ("Rules with open findings", ", ".join(status.with_findings) or "none"),
                ("Rules acknowledged", ", ".join(status.acknowledged) or "none"),
            )
        )
    ]
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
            Details(
                f"Rules that passed ({len(status.passed)} of {len(status.rule_ids)})",
                (Bullets(status.passed or ("none",)),),
            )
        )
    return Section(title, section_anchor, tuple(blocks))


# --------------------------------------------------------------------------- costs


def _costs(report: GovernanceReport) -> Section:
    costs: CostEstimate = report.costs
    prices = costs.prices
    currency = prices.currency
    cols_multi = report.multi_environment
    blocks: list[Block] = [
        Paragraph(
            f"{prices.kind[:1].upper()}{prices.kind[1:]} ({costs.price_file}, read "
            f"{prices.as_of_range}). Endpoints: price x instances x 730 h. Monitors: price x "
            "instances x hours per run x runs per 730-hour month, where hours per run is the "
            "job's maximum runtime capped at the time between two runs. Items the table has no "
            "price for are not estimated, and every total says how many."
        ),
        Facts(
            (
                ("Endpoints", describe(costs.subtotal(kind="endpoint"), currency)),
                ("Monitors", describe(costs.subtotal(kind="monitor"), currency)),
                ("Total per month", describe(costs.total, currency)),
            )
        ),
    ]
    if costs.regions_without_prices:
        blocks.append(
            Callout(
                "warn",
                "The price table has no price for "
                f"{', '.join(costs.regions_without_prices)}: items there are not estimated.",
            )
        )
    if cols_multi:
        blocks.append(
            Table(
                ("Environment", "Endpoints", "Monitors", "Total"),
                tuple(
                    (
                        env,
                        describe(costs.subtotal(kind="endpoint", environment=env), currency),
                        describe(costs.subtotal(kind="monitor", environment=env), currency),
                        describe(costs.subtotal(environment=env), currency),
                    )
                    for env in report.environments
                ),
            )
        )
    lines = Table(
        (
            "Model",
            "Environment",
            "Item",
            "Instances",
            "Price / h",
            "Instance-hours",
            "Monthly",
            "Basis",
            "Note",
        ),
        tuple(
            (
                line.model,
                f"{line.environment} ({_or(line.region)})",
                line.item,
                f"{_or(line.instance_type)} x {_count(line.instance_count)}",
                "—"
                if line.price is None
                else f"{line.price.usd_per_hour:g} ({prices.sources[line.price.source].as_of})",
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
        numeric=(4, 5, 6),
    )
    blocks.append(Details(f"Cost lines ({len(costs.lines)})", (lines,)))
    blocks.append(
        Details(
            "Price sources",
            (
                Table(
                    ("Source", "Read", "What", "Where"),
                    tuple(
                        (key, s.as_of, s.cite, s.url) for key, s in sorted(prices.sources.items())
                    ),
                ),
                Paragraph(prices.note),
            ),
        )
    )
    return Section("Monthly cost estimate", "costs", tuple(blocks))


def _stacks(report: GovernanceReport) -> Section:
    inventory = report.assembly.inventory
    return Section(
        "Stacks",
        "stacks",
        (
            Table(
                ("Stack", "Environment", "Account", "Region", "Resources", "Template"),
                tuple(
                    (
                        s.name,
                        _or(inventory.environment_of_stack(s.name) if inventory else None),
                        _or(s.account, "environment-agnostic"),
                        _or(s.region, "—"),
                        str(len(s.resources)),
                        f"{s.template_bytes / 1024:,.0f} KiB",
                    )
                    for s in report.assembly.stacks
                ),
                empty="The manifest lists no CloudFormation stack.",
                numeric=(4, 5),
            ),
        ),
    )


# --------------------------------------------------------------------------- document


def _claims_summary(report: GovernanceReport) -> Cell:
    if report.claims is None:
        return Flag("no claims table", "warn")
    counts: dict[str, int] = {}
    for claim in report.claims:
        counts[claim.result] = counts.get(claim.result, 0) + 1
    text = ", ".join(f"{count} {result}" for result, count in sorted(counts.items()))
    return Flag(text, "bad" if counts.get(FAILED) else "ok")


def _summary(report: GovernanceReport) -> Facts:
    validation = report.assembly.validation
    gov = report.governance_pack
    gov_text: Cell
    if validation is None:
        gov_text = Flag("unknown", "warn")
    elif not gov.ran:
        gov_text = Flag("did not run", "warn")
    elif gov.rule_ids is None:
        gov_text = f"ran, {len(gov.with_findings)} rules with open findings"
    else:
        gov_text = Flag(
            f"{len(gov.passed)} of {len(gov.rule_ids)} passed",
            "ok" if len(gov.passed) == len(gov.rule_ids) else "warn",
        )
    open_count = len(validation.findings) if validation else None
    ack_rules = acknowledgments_by_rule(validation.acknowledgments) if validation else ()
    gap_count = sum(len(g) for g in report.gaps.values())
    names = {m.name for m in report.models}
    return Facts(
        (
            (
                "Governed models",
                f"{len(names)} in {_plural(len(report.environments), 'environment')}",
            ),
            (
                "Open findings",
                Flag("unknown", "bad")
                if open_count is None
                else Flag(str(open_count), "bad" if open_count else "ok"),
            ),
            (
                "Acknowledged",
                "unknown"
                if validation is None
                else f"{sum(r.findings for r in ack_rules)} in {_plural(len(ack_rules), 'rule')}",
            ),
            (f"{GOVERNANCE_PACK} pack", gov_text),
            ("Claims", _claims_summary(report)),
            ("Gaps to close", Flag(str(gap_count), "warn" if gap_count else "ok")),
            (
                "Monthly cost",
                describe(report.costs.total, report.costs.prices.currency),
            ),
        )
    )


def build_document(report: GovernanceReport) -> Document:
    assembly = report.assembly
    callouts: list[Callout] = []
    if report.failure:
        callouts.append(Callout("bad", report.failure))
    if assembly.validation is None:
        callouts.append(Callout("bad", assembly.validation_problem or "No validation report."))
    if assembly.inventory is None:
        callouts.append(Callout("warn", assembly.inventory_problem or "No governance inventory."))
    elif not report.models:
        callouts.append(Callout("warn", "The inventory lists no governed model."))
    stacks = len(assembly.stacks)
    resources = sum(len(s.resources) for s in assembly.stacks)
    grouped = models_by_name(report.models)
    return Document(
        title="Model governance report",
        subtitle=(
            f"Rendered from the cloud assembly {assembly.folder} "
            f"({_plural(stacks, 'stack')}, {resources} resources) without deploying anything."
        ),
        callouts=tuple(callouts),
        summary=_summary(report),
        sections=(
            _overview(report),
            *(_model_section(report, grouped[name]) for name in sorted(grouped)),
            _compliance(report),
            _costs(report),
            _stacks(report),
        ),
    )


NAVIGATION = (
    ("Models", "models"),
    ("Compliance", "compliance"),
    ("Acknowledgments", "acknowledgments"),
    ("Claims", "claims"),
    ("Costs", "costs"),
    ("Stacks", "stacks"),
)

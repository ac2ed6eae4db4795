"""After a synth: the exit status, the report, and nothing deployable left behind on failure.

Whatever the report shows as open fails the synth: every unacknowledged result of every plugin
in ``validation-report.json`` (the cdk-nag packs, our Governance pack, aws-cdk-lib's built-in
CloudFormation validator, whose results are warnings unless strict mode is on, and construct
annotations such as limit warnings), and a missing validation report. A failed synth keeps the
validation report and a report of the failure, and deletes the manifest, templates, assets and
inventory, so ``cdk deploy``/``cdk ls --app cdk.out`` find nothing to use.

Both ``cdk synth`` and ``make synth`` run this through ``app.main``, so they leave the same
``cdk.out``. This module reads files only; it never imports the CDK.
"""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from governance_report import GovernanceReport, build_report
from governance_report.assembly import VALIDATION_REPORT_FILE, Violation, load_validation
from governance_report.costs import PriceTable, load_prices
from governance_report.document import build_document
from governance_report.inventory import INVENTORY_FILE
from governance_report.packs import GOVERNANCE_PACK_MANIFEST
from governance_report.render_html import render_html
from governance_report.render_markdown import render_markdown

REPORT_DIR = "governance-report"
# What a synth writes that a deploy or a reviewer could mistake for this run's result.
_DEPLOYABLE = (
    "manifest.json",
    "tree.json",
    "cdk.out",
    "*.template.json",
    "*.assets.json",
    "*.metadata.json",
    "asset.*",
    GOVERNANCE_PACK_MANIFEST,
    INVENTORY_FILE,
)


def discard(folder: Path, *, keep_findings: bool = False) -> None:
    """Delete what a synth wrote into ``folder``. With ``keep_findings``, keep this run's
    validation report and governance report (they explain the failure)."""
    if not folder.is_dir():
        return
    patterns = list(_DEPLOYABLE)
    if not keep_findings:
        patterns += [VALIDATION_REPORT_FILE, REPORT_DIR]
    for pattern in patterns:
        for path in folder.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def write_report(
    folder: Path,
    *,
    out: Path | None = None,
    prices: Path | None = None,
    table: PriceTable | None = None,
    failure: str | None = None,
) -> tuple[GovernanceReport, Path]:
    """Render ``report.md`` and ``report.html`` for the assembly in ``folder``."""
    if table is None:
        table = load_prices(prices) if prices else load_prices()
    report = build_report(
        folder, table, price_file=str(prices) if prices else "built-in table", failure=failure
    )
    out = out or folder / REPORT_DIR
    out.mkdir(parents=True, exist_ok=True)
    document = build_document(report)  # one document, two renderings
    (out / "report.md").write_text(render_markdown(report, document), encoding="utf-8")
    (out / "report.html").write_text(render_html(report, document), encoding="utf-8")
    return report, out


def _summary(findings: Sequence[Violation]) -> str:
    counts = Counter(f"{f.pack} {f.rule.split('[', 1)[0]}" for f in findings)
    return ", ".join(f"{rule} x{n}" if n > 1 else rule for rule, n in sorted(counts.items()))


def _shorten(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def finding_lines(findings: Sequence[Violation], limit: int = 25) -> list[str]:
    """One line per open finding, for a CI log: pack, rule, severity, where, what."""
    lines = [
        f"  - {f.pack} {f.rule} ({f.severity or 'no severity'}) at "
        f"{', '.join(f.construct_paths) or 'the app'}: {_shorten(f.description)}"
        for f in findings[:limit]
    ]
    if len(findings) > limit:
        lines.append(f"  ... and {len(findings) - limit} more in {VALIDATION_REPORT_FILE}")
    return lines


def failure_reason(folder: Path, synth_error: str | None = None) -> str | None:
    """Why this synth must fail, or ``None`` when nothing is open."""
    validation, problem = load_validation(folder)
    if synth_error is not None and validation is None:
        return f"synth failed: {synth_error}"
    if validation is None:
        return f"synth failed: {problem}"
    findings = validation.findings
    if findings:
        return (
            f"synth failed: {len(findings)} open finding{'s' if len(findings) != 1 else ''} "
            f"({_summary(findings)}). Fix each, or acknowledge it in code with a specific reason "
            "(cdk_constructs/compliance/acknowledgments.py)."
        )
    if synth_error is not None:
        return f"synth failed: {synth_error}"
    return None


def conclude(
    folder: Path,
    *,
    prices: Path | None = None,
    table: PriceTable | None = None,
    synth_error: str | None = None,
    stream: TextIO | None = None,
) -> int:
    """Exit status of the synth that wrote ``folder``; renders the report either way.

    Messages go to ``stream`` (default: ``sys.stderr`` as it is when called, not at import).
    """
    stream = stream or sys.stderr
    reason = failure_reason(folder, synth_error)
    out = folder / REPORT_DIR
    if (folder / "manifest.json").is_file():
        try:
            _, out = write_report(folder, prices=prices, table=table, failure=reason)
        except BaseException:
            discard(folder, keep_findings=True)  # a report that cannot render passes nothing
            raise
    if reason is None:
        print(f"governance report: {out / 'report.html'}", file=sys.stdout)
        return 0
    discard(folder, keep_findings=True)
    print(f"error: {reason}", file=stream)
    validation, _ = load_validation(folder)
    if validation is not None and validation.findings:
        print("\n".join(finding_lines(validation.findings)), file=stream)
    kept = [p for p in (folder / VALIDATION_REPORT_FILE, out / "report.html") if p.exists()]
    if kept:
        print(f"details: {', '.join(str(p) for p in kept)}", file=stream)
    return 1

"""The report as GitHub-flavoured Markdown (long lists fold into ``<details>``)."""

from __future__ import annotations

import html

from governance_report import GovernanceReport
from governance_report.document import (
    Block,
    Bullets,
    Callout,
    Cell,
    Details,
    Document,
    Facts,
    Flag,
    Link,
    Paragraph,
    Section,
    Table,
    build_document,
)

_MARKS = {"bad": "❌ ", "warn": "⚠️ ", "ok": "", "info": "", "": ""}
_CALLOUT = {"bad": "**Warning:**", "warn": "**Note:**", "ok": "", "info": "", "": ""}


def escape(text: str) -> str:
    """Text that Markdown shows as written: no tables broken, no raw HTML, no emphasis."""
    text = (
        text.replace("\\", "\\\\").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    )
    for char in "|*_`[]":
        text = text.replace(char, "\\" + char)
    return " ".join(text.split())


def _cell(cell: Cell) -> str:
    if isinstance(cell, Flag):
        return _MARKS[cell.tone] + escape(cell.text)
    if isinstance(cell, Link):
        return f"[{escape(cell.text)}](#{cell.anchor})"
    return escape(cell)


def _table(table: Table) -> list[str]:
    if not table.rows:
        return [f"_{escape(table.empty)}_", ""]
    align = ["---:" if i in table.numeric else "---" for i in range(len(table.headers))]
    lines = [
        "| " + " | ".join(escape(h) for h in table.headers) + " |",
        "| " + " | ".join(align) + " |",
    ]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]
    return [*lines, ""]


def _block(block: Block, level: int) -> list[str]:  # noqa: PLR0911 - one per block kind
    match block:
        case Section():
            lines = [f"{'#' * level} {escape(block.title)}", ""]
            for child in block.blocks:
                lines += _block(child, level + 1)
            return lines
        case Details():
            lines = [f"<details><summary>{html.escape(block.summary)}</summary>", ""]
            for child in block.blocks:
                lines += _block(child, level)
            return [*lines, "</details>", ""]
        case Paragraph():
            return [escape(block.text), ""]
        case Callout():
            return [f"> {_CALLOUT[block.tone]} {escape(block.text)}".replace(">  ", "> "), ""]
        case Facts():
            return [f"- **{escape(k)}:** {_cell(v)}" for k, v in block.items] + [""]
        case Bullets():
            return [f"- {escape(item)}" for item in block.items] + [""]
        case Table():
            return _table(block)


def render_markdown(report: GovernanceReport, document: Document | None = None) -> str:
    """The report as Markdown; ``document`` is ``build_document(report)`` when the caller has
    it."""
    document = document or build_document(report)
    lines = [f"# {escape(document.title)}", "", f"_{escape(document.subtitle)}_", ""]
    for callout in document.callouts:
        lines += _block(callout, 2)
    lines += ["## Summary", "", *_block(document.summary, 3)]
    for section in document.sections:
        lines += _block(section, 2)
    return "\n".join(lines).rstrip() + "\n"

"""The report as one self-contained HTML page: inline CSS, no script, no external asset.

Words never break mid-word: long identifiers (construct paths) may wrap only after a ``/``
(``<wbr>``), and a table wider than the page scrolls inside its own box.
"""

from __future__ import annotations

import re
from html import escape

from governance_report import GovernanceReport
from governance_report.document import (
    NAVIGATION,
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

CSS = """
:root { --ink:#1f2933; --muted:#52606d; --line:#d9e2ec; --bg:#f5f7fa; --accent:#1d4ed8;
  --ok:#1b7f3b; --ok-bg:#e3f6e8; --warn:#8a5a00; --warn-bg:#fff4d6;
  --bad:#a61b1b; --bad-bg:#fde8e8; --info:#334e68; --info-bg:#e6ecf2; }
* { box-sizing: border-box; }
html { scroll-padding-top: 64px; }
body { margin:0; background:var(--bg); color:var(--ink);
  font:15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  word-break:normal; overflow-wrap:normal; hyphens:manual; }
main { max-width:1240px; margin:0 auto; padding:24px 32px 64px; }
header h1 { margin:0 0 4px; font-size:28px; }
header p { margin:0 0 16px; color:var(--muted); }
h2 { font-size:21px; margin:32px 0 12px; padding-bottom:6px; border-bottom:2px solid var(--line); }
h3 { font-size:17px; margin:22px 0 8px; }
h4 { font-size:14px; margin:18px 0 6px; color:var(--muted); text-transform:uppercase;
  letter-spacing:.04em; }
section.model { background:#fff; border:1px solid var(--line); border-radius:8px;
  padding:4px 24px 16px; margin:24px 0; }
section.model > h2 { border-bottom:none; margin-top:16px; }
nav { position:sticky; top:0; z-index:1; display:flex; flex-wrap:wrap; gap:4px 20px;
  background:#fff; border:1px solid var(--line); border-radius:8px; padding:10px 16px; }
nav a { color:var(--accent); text-decoration:none; white-space:nowrap; }
a { color:var(--accent); }
.summary { display:grid; grid-template-columns:repeat(auto-fit, minmax(180px, 1fr)); gap:12px;
  margin:16px 0; }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
.card .k { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.05em; }
.card .v { font-size:18px; font-weight:600; margin-top:2px; }
.card .v .tag { white-space:normal; }
dl.facts { display:grid; grid-template-columns:max-content minmax(0, 1fr); gap:4px 18px;
  margin:8px 0 12px; }
dl.facts dt { color:var(--muted); }
dl.facts dd { margin:0; font-weight:500; }
.table-wrap { overflow-x:auto; margin:6px 0 14px; }
table { width:100%; border-collapse:collapse; background:#fff; font-size:13.5px; }
th, td { text-align:left; vertical-align:top; padding:6px 10px;
  border-bottom:1px solid var(--line); }
th { background:#eef2f7; font-weight:600; white-space:nowrap; }
tbody tr:nth-child(even) td { background:#fafbfc; }
td.num, th.num { text-align:right; white-space:nowrap; }
.empty { color:var(--muted); font-style:italic; }
.tag { display:inline-block; padding:0 8px; border-radius:10px; font-weight:600;
  white-space:nowrap; }
.id, td a { white-space:nowrap; }
.tag.ok { color:var(--ok); background:var(--ok-bg); }
.tag.warn { color:var(--warn); background:var(--warn-bg); }
.tag.bad { color:var(--bad); background:var(--bad-bg); }
.tag.info { color:var(--info); background:var(--info-bg); }
.callout { border-left:5px solid; border-radius:6px; padding:10px 14px; margin:12px 0; }
.callout.bad { border-color:var(--bad); background:var(--bad-bg); }
.callout.warn { border-color:#d69e00; background:var(--warn-bg); }
.callout.ok, .callout.info, .callout.plain { border-color:var(--accent); background:#e8efff; }
details { background:#fff; border:1px solid var(--line); border-radius:6px; margin:8px 0;
  padding:6px 12px; }
details > summary { cursor:pointer; font-weight:600; color:var(--info); }
details[open] > summary { margin-bottom:6px; }
ul.rules { columns:3 16em; margin:6px 0 12px; }
footer { margin-top:40px; color:var(--muted); font-size:13px; }
@media (max-width: 900px) { main { padding:16px 12px 48px; }
  section.model { padding:4px 12px 12px; } th, td { padding:5px 6px; }
  }
@media print { body { background:#fff; } nav { position:static; } main { padding:0; }
  section.model { break-inside:avoid; } details { border:none; } }
"""


def _segment(segment: str) -> str:
    text = escape(segment)
    # Browsers break after a hyphen; a hyphenated name (credit-default) stays on one line.
    return f'<span class="id">{text}</span>' if "-" in segment else text


def _token(token: str) -> str:
    """A whitespace-free token: long paths may wrap after a slash, and nowhere else."""
    if "-" not in token and "/" not in token:
        return escape(token)
    return "/<wbr>".join(_segment(part) for part in token.split("/"))


def _text(text: str) -> str:
    return "".join(_token(part) if part.strip() else part for part in re.split(r"(\s+)", text))


def _cell(cell: Cell) -> str:
    if isinstance(cell, Flag) and cell.tone:
        return f'<span class="tag {cell.tone}">{escape(cell.text)}</span>'
    if isinstance(cell, Link):
        return f'<a href="#{escape(cell.anchor)}">{escape(cell.text)}</a>'
    return _text(cell.text if isinstance(cell, Flag) else cell)


def _table(table: Table) -> str:
    if not table.rows:
        return f'<p class="empty">{escape(table.empty)}</p>'

    def cls(i: int) -> str:
        return ' class="num"' if i in table.numeric else ""

    head = "".join(f"<th{cls(i)}>{escape(h)}</th>" for i, h in enumerate(table.headers))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(i)}>{_cell(c)}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in table.rows
    )
    return (
        f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _block(block: Block, level: int) -> str:  # noqa: PLR0911 - one return per block kind
    match block:
        case Section():
            inner = "".join(_block(child, level + 1) for child in block.blocks)
            css = ' class="model"' if block.anchor.startswith("model-") and level == 2 else ""
            return (
                f'<section id="{escape(block.anchor)}"{css}>'
                f"<h{level}>{escape(block.title)}</h{level}>{inner}</section>"
            )
        case Details():
            inner = "".join(_block(child, level) for child in block.blocks)
            return f"<details><summary>{escape(block.summary)}</summary>{inner}</details>"
        case Paragraph():
            return f"<p>{_text(block.text)}</p>"
        case Callout():
            return (
                f'<div class="callout {block.tone or "plain"}" role="note">'
                f"{_text(block.text)}</div>"
            )
        case Facts():
            items = "".join(f"<dt>{escape(k)}</dt><dd>{_cell(v)}</dd>" for k, v in block.items)
            return f'<dl class="facts">{items}</dl>'
        case Bullets():
            items = "".join(f"<li>{escape(item)}</li>" for item in block.items)
            return f'<ul class="rules">{items}</ul>'
        case Table():
            return _table(block)


def render_html(report: GovernanceReport, document: Document | None = None) -> str:
    """The report page; ``document`` is ``build_document(report)`` when the caller has it."""
    document = document or build_document(report)
    cards = "".join(
        f'<div class="card"><div class="k">{escape(k)}</div><div class="v">{_cell(v)}</div></div>'
        for k, v in document.summary.items
    )
    nav = "".join(f'<a href="#{escape(a)}">{escape(t)}</a>' for t, a in NAVIGATION)
    callouts = "".join(_block(c, 2) for c in document.callouts)
    sections = "".join(_block(s, 2) for s in document.sections)
    prices = report.costs.prices
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(document.title)}</title><style>{CSS}</style></head>"
        f"<body><main><header><h1>{escape(document.title)}</h1>"
        f"<p>{_text(document.subtitle)}</p></header>"
        f'{callouts}<div class="summary">{cards}</div><nav>{nav}</nav>{sections}'
        f"<footer>Costs use {escape(prices.kind)} read {escape(prices.as_of_range)}; "
        "not a quote.</footer>"
        "</main></body></html>\n"
    )

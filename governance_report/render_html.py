"""The report as one self-contained HTML page: inline CSS, no script, no external asset."""

from __future__ import annotations

from html import escape

from governance_report import GovernanceReport
from governance_report.document import (
    Block,
    Bullets,
    Callout,
    Cell,
    Facts,
    Flag,
    Paragraph,
    Section,
    Table,
    build_document,
)

CSS = """
:root { --ink:#1f2933; --muted:#52606d; --line:#d9e2ec; --bg:#f5f7fa; --accent:#1d4ed8;
  --ok:#1b7f3b; --ok-bg:#e3f6e8; --warn:#8a5a00; --warn-bg:#fff4d6;
  --bad:#a61b1b; --bad-bg:#fde8e8; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font:15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width:1200px; margin:0 auto; padding:32px 40px 64px; }
header h1 { margin:0 0 4px; font-size:28px; }
header p { margin:0 0 20px; color:var(--muted); }
h2 { font-size:21px; margin:36px 0 12px; padding-bottom:6px; border-bottom:2px solid var(--line); }
h3 { font-size:17px; margin:24px 0 8px; }
h4 { font-size:15px; margin:18px 0 6px; color:var(--muted); text-transform:uppercase;
  letter-spacing:.04em; }
section.model { background:#fff; border:1px solid var(--line); border-radius:8px;
  padding:4px 24px 16px; margin:24px 0; }
section.model > h2 { border-bottom:none; margin-top:16px; }
nav { background:#fff; border:1px solid var(--line); border-radius:8px; padding:10px 16px; }
nav a { color:var(--accent); text-decoration:none; margin-right:18px; white-space:nowrap; }
.summary { display:grid; grid-template-columns:repeat(auto-fit, minmax(170px, 1fr)); gap:12px;
  margin:16px 0; }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
.card .k { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.05em; }
.card .v { font-size:20px; font-weight:600; margin-top:2px; overflow-wrap:anywhere; }
.card .v .tag { white-space:normal; }
dl.facts { display:grid; grid-template-columns:max-content 1fr; gap:4px 18px; margin:8px 0 12px; }
dl.facts dt { color:var(--muted); }
dl.facts dd { margin:0; font-weight:500; overflow-wrap:anywhere; }
table { width:100%; border-collapse:collapse; background:#fff; margin:6px 0 14px;
  font-size:13.5px; table-layout:auto; }
th, td { text-align:left; vertical-align:top; padding:6px 10px; border-bottom:1px solid var(--line);
  overflow-wrap:anywhere; }
th { background:#eef2f7; font-weight:600; white-space:nowrap; }
td:first-child { white-space:nowrap; overflow-wrap:normal; }
tbody tr:nth-child(even) td { background:#fafbfc; }
td.num, th.num { text-align:right; white-space:nowrap; }
.empty { color:var(--muted); font-style:italic; }
.tag { display:inline-block; padding:0 8px; border-radius:10px; font-weight:600;
  white-space:nowrap; }
.tag.ok { color:var(--ok); background:var(--ok-bg); }
.tag.warn { color:var(--warn); background:var(--warn-bg); }
.tag.bad { color:var(--bad); background:var(--bad-bg); }
.callout { border-left:5px solid; border-radius:6px; padding:10px 14px; margin:12px 0; }
.callout.bad { border-color:var(--bad); background:var(--bad-bg); }
.callout.warn { border-color:#d69e00; background:var(--warn-bg); }
.callout.ok, .callout. { border-color:var(--accent); background:#e8efff; }
ul.rules { columns:3; margin:6px 0 12px; }
footer { margin-top:40px; color:var(--muted); font-size:13px; }
@media print { body { background:#fff; } main { padding:0; } section.model { break-inside:avoid; } }
"""


def _cell(cell: Cell) -> str:
    if isinstance(cell, Flag) and cell.tone:
        return f'<span class="tag {cell.tone}">{escape(cell.text)}</span>'
    return escape(cell.text if isinstance(cell, Flag) else cell)


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
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _block(block: Block, level: int) -> str:
    match block:
        case Section():
            inner = "".join(_block(child, level + 1) for child in block.blocks)
            css = ' class="model"' if block.anchor.startswith("model-") and level == 2 else ""
            return (
                f'<section id="{escape(block.anchor)}"{css}>'
                f"<h{level}>{escape(block.title)}</h{level}>{inner}</section>"
            )
        case Paragraph():
            return f"<p>{escape(block.text)}</p>"
        case Callout():
            return f'<div class="callout {block.tone}" role="note">{escape(block.text)}</div>'
        case Facts():
            items = "".join(f"<dt>{escape(k)}</dt><dd>{_cell(v)}</dd>" for k, v in block.items)
            return f'<dl class="facts">{items}</dl>'
        case Bullets():
            items = "".join(f"<li>{escape(item)}</li>" for item in block.items)
            return f'<ul class="rules">{items}</ul>'
        case Table():
            return _table(block)


def render_html(report: GovernanceReport) -> str:
    document = build_document(report)
    cards = "".join(
        f'<div class="card"><div class="k">{escape(k)}</div><div class="v">{_cell(v)}</div></div>'
        for k, v in document.summary.items
    )
    nav = "".join(f'<a href="#{escape(s.anchor)}">{escape(s.title)}</a>' for s in document.sections)
    callouts = "".join(_block(c, 2) for c in document.callouts)
    sections = "".join(_block(s, 2) for s in document.sections)
    prices = report.costs.prices
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(document.title)}</title><style>{CSS}</style></head>"
        f"<body><main><header><h1>{escape(document.title)}</h1>"
        f"<p>{escape(document.subtitle)}</p></header>"
        f'{callouts}<div class="summary">{cards}</div><nav>{nav}</nav>{sections}'
        f"<footer>Costs use {escape(prices.kind)} as of {escape(prices.as_of)} "
        f"({escape(prices.region)}); not a quote.</footer>"
        "</main></body></html>\n"
    )

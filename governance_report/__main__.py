"""``python -m governance_report [--assembly cdk.out] [--out cdk.out/governance-report]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from governance_report import AssemblyError, build_report
from governance_report.render_html import render_html
from governance_report.render_markdown import render_markdown


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m governance_report",
        description="Render the model governance report (Markdown and HTML) from a cdk.out folder.",
    )
    parser.add_argument(
        "--assembly", type=Path, default=Path("cdk.out"), help="cloud assembly folder (cdk.out)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: <assembly>/governance-report)",
    )
    args = parser.parse_args(argv)
    out: Path = args.out or args.assembly / "governance-report"
    try:
        report = build_report(args.assembly)
    except AssemblyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.md").write_text(render_markdown(report), encoding="utf-8")
    (out / "report.html").write_text(render_html(report), encoding="utf-8")
    print(f"governance report: {out / 'report.md'}, {out / 'report.html'}")
    if report.assembly.validation is None:
        print(f"warning: {report.assembly.validation_problem}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

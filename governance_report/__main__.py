"""``python -m governance_report [--assembly cdk.out] [--out DIR] [--prices FILE]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from governance_report import AssemblyError
from governance_report.costs import PriceTableError
from governance_report.gate import write_report


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
    parser.add_argument(
        "--prices",
        type=Path,
        default=None,
        help="your own price table, in the format of governance_report/prices.json",
    )
    args = parser.parse_args(argv)
    try:
        report, out = write_report(args.assembly, out=args.out, prices=args.prices)
    except (AssemblyError, PriceTableError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"governance report: {out / 'report.md'}, {out / 'report.html'}")
    for problem in (report.assembly.validation_problem, report.assembly.inventory_problem):
        if problem:
            print(f"warning: {problem}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Render the governance report for the default app and screenshot it with headless Chromium.

Usage: `.venv/bin/python bench/screenshot_report.py [--assembly cdk.out] [--demo]`. Without
--assembly the default app is synthesized into a temporary folder with the pinned cdk CLI.
--demo renders the synthetic per-model assembly from the tests instead (the default app has no
per-model stacks yet). The PNG goes to .screenshots/ (gitignored). Needs /usr/bin/chromium
(`apt-get install -y chromium`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = REPO / ".screenshots"


def synth(outdir: Path) -> None:
    env = {
        **os.environ,
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "CDK_DISABLE_VERSION_CHECK": "1",
        "CDK_CLI_NOTICES": "false",
    }
    cdk = str(REPO / "node_modules/.bin/cdk")
    subprocess.run([cdk, "synth", "--quiet", "-o", str(outdir)], cwd=REPO, env=env, check=True)


def screenshot(page: Path, png: Path) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                f"--screenshot={png}",
                "--window-size=1280,2000",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assembly", type=Path, help="an existing cdk.out (default: synth)")
    parser.add_argument("--demo", action="store_true", help="use the tests' synthetic assembly")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        print("error: /usr/bin/chromium not found (apt-get install -y chromium)", file=sys.stderr)
        return 1
    sys.path.insert(0, str(REPO))
    from governance_report import build_report
    from governance_report.render_html import render_html

    with tempfile.TemporaryDirectory() as tmp:
        assembly: Path = args.assembly or Path(tmp) / "cdk.out"
        if args.demo:
            from tests.report.assembly_builder import write_assembly

            write_assembly(assembly)
        elif args.assembly is None:
            synth(assembly)
        page = Path(tmp) / "report.html"
        page.write_text(render_html(build_report(assembly)), encoding="utf-8")
        SHOTS.mkdir(exist_ok=True)
        png = SHOTS / ("report-demo.png" if args.demo else "report-default.png")
        screenshot(page, png)
    print(f"screenshot: {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

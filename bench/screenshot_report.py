"""Screenshot the governance report of each example config with headless Chromium.

    .venv/bin/python bench/screenshot_report.py                   # default + config/examples/*
    .venv/bin/python bench/screenshot_report.py --config org.yaml # your own config(s)
    .venv/bin/python bench/screenshot_report.py --assembly cdk.out --name mine  # no synth

Each config is synthesized with the pinned cdk CLI (CloudFormation validation on), its report
rendered with the current code and captured at a desktop width (top of the page and the whole
page) and a narrow width (navigation and tables must not overflow). PNGs go to .screenshots/
(gitignored). Needs Debian's chromium (`make screenshots` installs it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / ".screenshots"
# Debian's chromium, launched without a sandbox, GPU, network or profile (CI containers).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
# (name, the one top-level section shown or "" for the page's top, window size): the top, each
# part a reviewer reads, and a narrow window where navigation and tables must not overflow.
# Headless Chromium captures only the first screen, so other sections are shown alone.
VIEWS = (
    ("top", "", (1280, 1800)),
    ("model", "model-credit-default", (1280, 2600)),
    ("compliance", "compliance", (1280, 2200)),
    ("costs", "costs", (1280, 1400)),
    ("narrow", "", (760, 1800)),
    ("narrow-model", "model-credit-default", (760, 2600)),
)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise SystemExit("error: chromium not found (make screenshots installs Debian's chromium)")
    return found


def synth(config: Path | None, outdir: Path) -> None:
    env = {
        **os.environ,
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "CDK_DISABLE_VERSION_CHECK": "1",
        "CDK_CLI_NOTICES": "false",
    }
    env.pop("CDK_VALIDATION", None)
    command = [str(REPO / "node_modules/.bin/cdk"), "synth", "--quiet", "-o", str(outdir)]
    if config is not None:
        command += ["-c", f"config={config}"]
    result = subprocess.run(command, cwd=REPO, env=env, check=False)
    if result.returncode != 0 and not (outdir / "governance-report").is_dir():
        raise SystemExit(f"error: synth of {config or 'the default config'} failed")


def render(assembly: Path, out: Path) -> Path:
    sys.path.insert(0, str(REPO))
    from governance_report.gate import write_report

    _, folder = write_report(assembly, out=out)
    return folder / "report.html"


def only(page: Path, section: str) -> Path:
    """A copy of ``page`` that shows only the top-level section ``section``."""
    if not section:
        return page
    copy = page.with_name(f"only-{section}.html")
    style = f"<style>main > :not(#{section}) {{ display: none !important; }}</style></head>"
    copy.write_text(page.read_text(encoding="utf-8").replace("</head>", style, 1), "utf-8")
    return copy


def screenshot(page: Path, png: Path, size: tuple[int, int]) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium(),
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={size[0]},{size[1]}",
                f"--screenshot={png}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, action="append", default=[])
    parser.add_argument("--assembly", type=Path, help="an existing cdk.out (no synth)")
    parser.add_argument("--name", default="assembly", help="name of the --assembly shots")
    args = parser.parse_args()
    targets: list[tuple[str, Path | None]] = []
    if args.assembly is None:
        configs = args.config or [None, *sorted((REPO / "config" / "examples").glob("*.yaml"))]
        targets = [(c.stem if c else "default", c) for c in configs]
    SHOTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = [(args.name, args.assembly)] if args.assembly else []
        for name, config in targets:
            outdir = Path(tmp) / name / "cdk.out"
            synth(config, outdir)
            work.append((name, outdir))
        for name, assembly in work:
            if (assembly / "manifest.json").is_file():
                page = render(assembly, SHOTS / name)
            else:  # a failed synth keeps only its report of the failure
                page = assembly / "governance-report" / "report.html"
            for view, section, size in VIEWS:
                png = SHOTS / f"report-{name}-{view}.png"
                screenshot(only(page, section), png, size)
                print(f"screenshot: {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

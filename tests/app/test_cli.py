"""End to end: the pinned CDK CLI synthesizes the app; bad input fails clearly and cleanly.

These runs keep aws-cdk-lib's built-in template validation on (the rest of the suite turns it
off for speed), so one synth per session exercises it.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, cdk_context

CDK = REPO / "node_modules" / ".bin" / "cdk"

pytestmark = pytest.mark.slow


def _cdk(*args: str, outdir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CDK_VALIDATION"}
    env.update(CDK_DISABLE_VERSION_CHECK="1", CDK_CLI_NOTICES="false")
    return subprocess.run(
        [str(CDK), "synth", "--quiet", "--no-notices", "-o", str(outdir), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def synthesized(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    if not CDK.exists():
        pytest.fail("node_modules/.bin/cdk is missing: run `make setup` (npm ci)")
    outdir = tmp_path_factory.mktemp("cli.out")
    return _cdk(outdir=outdir), outdir


def test_cli_synthesizes_default_config(
    synthesized: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, outdir = synthesized
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((outdir / "manifest.json").read_text())
    stacks = [a for a in manifest["artifacts"].values() if a["type"] == "aws:cloudformation:stack"]
    assert stacks
    report = json.loads((outdir / "validation-report.json").read_text())
    assert all(not r.get("violations") for r in report["pluginReports"])
    assert (
        not (REPO / "cdk.context.json").exists()
        or json.loads((REPO / "cdk.context.json").read_text()) == {}
    ), "synth must not need context lookups (they call AWS)"


def test_missing_config_file_fails_clearly_and_leaves_nothing_valid(
    synthesized: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    # Given an output folder holding a previous, valid synth
    _, outdir = synthesized
    assert (outdir / "manifest.json").exists()
    # When synth runs with a config path that does not exist
    result = _cdk("-c", "config=does/not/exist.yaml", outdir=outdir)
    # Then it fails with one clear message, no traceback, and no manifest that looks valid
    assert result.returncode != 0
    assert "config file not found: does/not/exist.yaml" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (outdir / "manifest.json").exists()
    assert not list(outdir.glob("*.template.json"))


def _run_app(context: dict[str, str], outdir: Path) -> subprocess.CompletedProcess[str]:
    # As the CLI does: cdk.json's feature flags plus the -c values.
    full = {**cdk_context(), **context}
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(full), "CDK_OUTDIR": str(outdir)}
    return subprocess.run(
        [str(REPO / ".venv" / "bin" / "python"), "app.py"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_unknown_context_key_is_rejected(tmp_path: Path) -> None:
    result = _run_app({"confg": "org.yaml"}, tmp_path)
    assert result.returncode == 1
    assert "unknown context key(s) ['confg']" in result.stderr
    assert "this app accepts: config" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_config_is_one_clear_message(tmp_path: Path) -> None:
    bad = tmp_path / "org.yaml"
    bad.write_text(
        (REPO / "config" / "default.yaml")
        .read_text()
        .replace("risk_tier: high", "risk_tier: extreme")
    )
    result = _run_app({"config": str(bad)}, tmp_path / "out")
    assert result.returncode == 1
    assert "models[0].risk_tier" in result.stderr
    assert "'extreme'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_clarify_config_the_sdk_rejects_stops_synth_clearly(tmp_path: Path) -> None:
    # Given a config that passes the config schema but makes the protected attribute free text,
    # which Clarify cannot use as a facet
    bad = tmp_path / "org.yaml"
    bad.write_text(
        (REPO / "config" / "default.yaml")
        .read_text()
        .replace("{name: gender, type: categorical}", "{name: gender, type: text}")
    )
    # When the app synthesizes, Then it stops with one message naming the model and facet
    result = _run_app({"config": str(bad)}, tmp_path / "out")
    assert result.returncode == 1, result.stderr[-2000:]
    assert "credit-default" in result.stderr
    assert "gender" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "manifest.json").exists()

"""End to end: the pinned CDK CLI (and make) run the app; the exit status tells the truth.

The CLI runs keep aws-cdk-lib's built-in CloudFormation validation on (the rest of the suite
turns it off for speed). The session's synth of the default config (``default_cli_synth`` in
tests/conftest.py) is one of them: the suite's template tests read its output. A failed synth,
whatever failed, leaves no manifest, template, inventory or stale report: nothing
``cdk deploy`` or ``cdk ls --app cdk.out`` could use. The bad-input cases run the same entry
point in this process (tests/app/test_entry_point.py); make passes a bad config to it here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from governance_report.assembly import load_assembly
from tests.conftest import (
    LEFTOVER,
    REPO,
    CliSynth,
    edited_default_config,
    run_cli,
)

pytestmark = pytest.mark.slow


def test_make_synth_takes_a_config_path_with_a_space(tmp_path: Path) -> None:
    # Given "my org.yaml" in a folder with a space, with a value the config refuses
    folder = tmp_path / "our configs"
    folder.mkdir()
    config = edited_default_config(folder, "my org.yaml", "risk_tier: high", "risk_tier: extreme")
    # When make passes it on (setup is taken as done: the suite already runs in it)
    result = run_cli(
        [
            shutil.which("make") or "/usr/bin/make",
            "--no-print-directory",
            "-o",
            "setup",
            "synth",
            f"CONFIG={config}",
            f"OUT={tmp_path / 'out'}",
        ],
        timeout=300,
    )
    # Then the whole path reached the app, which names the bad field
    assert result.returncode != 0
    assert f"invalid governance config {config}" in result.stderr
    assert "models[0].risk_tier" in result.stderr


def test_cli_synth_writes_templates_inventory_and_report(default_cli_synth: CliSynth) -> None:
    # Given an output folder holding another organisation's template (conftest's LEFTOVER),
    # When `cdk synth` ran the default config into it
    result, outdir = default_cli_synth, default_cli_synth.outdir
    # Then
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((outdir / "manifest.json").read_text())
    stacks = [a for a in manifest["artifacts"].values() if a["type"] == "aws:cloudformation:stack"]
    assert stacks
    report = json.loads((outdir / "validation-report.json").read_text())
    assert all(not r.get("violations") for r in report["pluginReports"])
    # cdk synth alone renders the report (make synth adds nothing to it)
    assert (outdir / "governance-inventory.json").is_file()
    assert "credit-default" in (outdir / "governance-report" / "report.md").read_text()
    page = (outdir / "governance-report" / "report.html").read_text()
    assert "Models at a glance" in page
    assert load_assembly(outdir).inventory is not None  # the report reads the assembly with it
    assert not (outdir / LEFTOVER).exists()
    assert (
        not (REPO / "cdk.context.json").exists()
        or json.loads((REPO / "cdk.context.json").read_text()) == {}
    ), "synth must not need context lookups (they call AWS)"


def test_cli_synth_records_no_creation_stack_traces(default_cli_synth: CliSynth) -> None:
    # aws-cdk-lib captures a stack trace when each resource and stack is created, for its
    # metadata, unless cdk.json's context sets aws:cdk:disable-creation-stack-traces. For an app
    # in Python the trace never reaches user code (its frames are the jsii runtime's), so the
    # app turns it off (ARCHITECTURE.md, synth cost); `cdk synth --debug` turns it back on.
    outdir = default_cli_synth.outdir
    manifest = json.loads((outdir / "manifest.json").read_text())
    files = [
        outdir / artifact["additionalMetadataFile"]
        for artifact in manifest["artifacts"].values()
        if "additionalMetadataFile" in artifact
    ]
    assert files
    entries = [
        entry
        for path in files
        for entries in json.loads(path.read_text()).values()
        for entry in entries
    ]
    assert any(entry["type"] == "aws:cdk:logicalId" for entry in entries)
    assert [e for e in entries if e["type"] == "aws:cdk:creationStack"] == []

"""The entry point, ``app.main()``, run in this process with what the CLI passes: bad input ends
in exit status 1 and one clear message, never an exception, and nothing deployable is left.
(tests/app/test_cli.py runs the same entry point through the pinned CDK CLI; a subprocess per
case cost seconds of imports each.)
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import (
    CDK,
    CLI_CONTEXT,
    LEFTOVER,
    CliSynth,
    cdk_context,
    edited_default_config,
    run_cli,
)

# One case synthesizes the whole default app in this process: scheduled first.
pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class AppRun:
    status: int
    stderr: str


def _run_app(context: dict[str, str], outdir: Path, capsys: pytest.CaptureFixture[str]) -> AppRun:
    """The real entry point, in this process, with what the CLI passes (cdk.json's feature flags
    plus the -c values): bad input must end in a status and a message, never an exception."""
    import aws_cdk as cdk

    from app import main

    capsys.readouterr()
    app = cdk.App(outdir=str(outdir), context=cdk_context(**CLI_CONTEXT, **context))
    status = main(app)
    return AppRun(status=status, stderr=capsys.readouterr().err)


def _nothing_deployable(outdir: Path) -> None:
    assert not (outdir / "manifest.json").exists()
    assert not list(outdir.glob("*.template.json"))
    assert not (outdir / "governance-inventory.json").exists()
    listed = run_cli([str(CDK), "ls", "--app", str(outdir)], timeout=120)
    assert listed.returncode != 0 or not listed.stdout.strip(), listed.stdout


def test_an_instance_type_that_does_not_exist_fails_the_synth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a config serving on ml.m5.huge, which SageMaker does not offer. Whichever check
    # catches it (the config's instance-type list, or CloudFormation validation's warning
    # W3030 that used to exit 0), the synth fails.
    config = edited_default_config(
        tmp_path, "huge.yaml", "instance_type: ml.m5.xlarge", "instance_type: ml.m5.huge"
    )
    outdir = tmp_path / "out"
    # When
    result = _run_app({"config": str(config)}, outdir, capsys)
    # Then
    assert result.status != 0, result.stderr[-3000:]
    assert "ml.m5.huge" in result.stderr  # the finding or the config error names the value
    assert not (outdir / "manifest.json").exists()
    assert not list(outdir.glob("*.template.json"))
    assert not (outdir / "governance-inventory.json").exists()


def test_unknown_context_key_is_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _run_app({"confg": "org.yaml"}, tmp_path, capsys)
    assert result.status == 1
    assert "unknown context key(s) ['confg']" in result.stderr
    assert "this app accepts: config" in result.stderr


def test_bad_config_is_one_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = edited_default_config(tmp_path, "org.yaml", "risk_tier: high", "risk_tier: extreme")
    result = _run_app({"config": str(bad)}, tmp_path / "out", capsys)
    assert result.status == 1
    assert "models[0].risk_tier" in result.stderr
    assert "'extreme'" in result.stderr
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_bad_price_table_is_one_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text('{"kind": "mine", "sources": {}, "prices": []}')
    result = _run_app({"prices": str(prices)}, tmp_path / "out", capsys)
    assert result.status == 1
    assert f"price table {prices}: sources" in result.stderr


def test_clarify_config_the_sdk_rejects_stops_synth_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a config that makes the protected attribute free text, which Clarify cannot use as
    # a facet (the configuration model checks it, once)
    bad = edited_default_config(
        tmp_path,
        "org.yaml",
        "{name: gender, type: categorical}",
        "{name: gender, type: text}",
    )
    # When the app synthesizes, Then it stops with one message naming the model and facet
    result = _run_app({"config": str(bad)}, tmp_path / "out", capsys)
    assert result.status == 1, result.stderr[-2000:]
    assert "models[0].bias.facet" in result.stderr
    assert "gender" in result.stderr
    assert not (tmp_path / "out" / "manifest.json").exists()


def _smallest_config(folder: Path) -> Path:
    """The default config cut to its first environment and its first model, registered only:
    a valid organisation whose app is one foundation and one models stack."""
    import yaml

    from config import DEFAULT_CONFIG

    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data["environments"] = data["environments"][:1]
    model = data["models"][0]
    for served in ("deployment", "batch", "training"):
        model.pop(served, None)
    data["models"] = [model]
    path = folder / "smallest.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_construct_warning_such_as_a_limit_fails_the_synth(tmp_path: Path) -> None:
    # Given a valid app (the smallest organisation: what fails must be the warning, not the
    # size of the app) plus a construct warning, as a limits check reports one
    import aws_cdk as cdk

    from app import main

    outdir = tmp_path / "cdk.out"
    app = cdk.App(
        outdir=str(outdir),
        context=cdk_context(**CLI_CONTEXT, config=str(_smallest_config(tmp_path))),
    )
    extra = cdk.Stack(app, "limits-probe")
    cdk.Annotations.of(extra).add_warning_v2(
        "Limits::TemplateSize", "template is 1,064,780 bytes; CloudFormation accepts 1,000,000"
    )
    # When the real entry point synthesizes it
    status = main(app)
    # Then the warning fails the synth, nothing deployable is left, and the report says why
    assert status == 1
    assert not (outdir / "manifest.json").exists()
    assert not list(outdir.glob("*.template.json"))
    report = json.loads((outdir / "validation-report.json").read_text())
    assert any(p["pluginName"] == "Construct Annotations" for p in report["pluginReports"])
    page = (outdir / "governance-report" / "report.md").read_text()
    assert "synth failed: 1 open finding (Construct Annotations Limits::TemplateSize)" in page


def test_missing_config_file_fails_clearly_and_leaves_nothing_valid(
    default_cli_synth: CliSynth, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an output folder holding a previous, valid synth and its report (a copy of the
    # session's `cdk synth` without its asset folders; last in this module, so the synth has
    # had time to finish)
    outdir = tmp_path / "cdk.out"
    shutil.copytree(
        default_cli_synth.outdir, outdir, ignore=shutil.ignore_patterns("asset.*", LEFTOVER)
    )
    assert (outdir / "manifest.json").exists()
    assert list(outdir.glob("*.template.json"))
    assert (outdir / "governance-report" / "report.html").exists()
    # When synth runs with a config path that does not exist
    result = _run_app({"config": "does/not/exist.yaml"}, outdir, capsys)
    # Then it fails with one clear message, no traceback, and nothing that looks valid
    assert result.status == 1
    assert "config file not found: does/not/exist.yaml" in result.stderr
    assert "Traceback" not in result.stderr
    _nothing_deployable(outdir)
    assert not (outdir / "governance-report").exists(), "a stale report survived"
    assert not (outdir / "validation-report.json").exists()

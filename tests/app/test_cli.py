"""End to end: the pinned CDK CLI (and make) run the app; the exit status tells the truth.

The CLI runs keep aws-cdk-lib's built-in CloudFormation validation on (the rest of the suite
turns it off for speed), so one synth per session exercises it. A failed synth, whatever failed,
leaves no manifest, template, inventory or stale report: nothing ``cdk deploy`` or
``cdk ls --app cdk.out`` could use. The bad-input cases run the same entry point,
``app.main()``, in this process (a subprocess each cost seconds of imports).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from governance_report.assembly import load_assembly
from tests.conftest import REPO, cdk_context

CDK = REPO / "node_modules" / ".bin" / "cdk"

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CDK_VALIDATION"}
    env.update(CDK_DISABLE_VERSION_CHECK="1", CDK_CLI_NOTICES="false")
    return env


def _cdk(*args: str, outdir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CDK), "synth", "--quiet", "--no-notices", "-o", str(outdir), *args],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _nothing_deployable(outdir: Path) -> None:
    assert not (outdir / "manifest.json").exists()
    assert not list(outdir.glob("*.template.json"))
    assert not (outdir / "governance-inventory.json").exists()
    listed = subprocess.run(
        [str(CDK), "ls", "--app", str(outdir)],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert listed.returncode != 0 or not listed.stdout.strip(), listed.stdout


def _config(tmp_path: Path, name: str, old: str, new: str) -> Path:
    path = tmp_path / name
    text = (REPO / "config" / "default.yaml").read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return path


@pytest.fixture(scope="module")
def synthesized(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    if not CDK.exists():
        pytest.fail("node_modules/.bin/cdk is missing: run `make setup` (npm ci)")
    outdir = tmp_path_factory.mktemp("cli.out")
    # Given leftovers of an earlier synth of another organisation
    (outdir / "old-org-prod-models-00.template.json").write_text("{}")
    return _cdk(outdir=outdir), outdir


def test_cli_synth_writes_templates_inventory_and_report(
    synthesized: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, outdir = synthesized
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
    assert not (outdir / "old-org-prod-models-00.template.json").exists()
    assert (
        not (REPO / "cdk.context.json").exists()
        or json.loads((REPO / "cdk.context.json").read_text()) == {}
    ), "synth must not need context lookups (they call AWS)"


def test_missing_config_file_fails_clearly_and_leaves_nothing_valid(
    synthesized: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    # Given an output folder holding a previous, valid synth and its report
    _, outdir = synthesized
    assert (outdir / "manifest.json").exists()
    assert (outdir / "governance-report" / "report.html").exists()
    # When synth runs with a config path that does not exist
    result = _cdk("-c", "config=does/not/exist.yaml", outdir=outdir)
    # Then it fails with one clear message, no traceback, and nothing that looks valid
    assert result.returncode != 0
    assert "config file not found: does/not/exist.yaml" in result.stderr
    assert "Traceback" not in result.stderr
    _nothing_deployable(outdir)
    assert not (outdir / "governance-report").exists(), "a stale report survived"
    assert not (outdir / "validation-report.json").exists()


def test_make_synth_takes_a_config_path_with_a_space(tmp_path: Path) -> None:
    # Given "my org.yaml" in a folder with a space, with a value the config refuses
    folder = tmp_path / "our configs"
    folder.mkdir()
    config = _config(folder, "my org.yaml", "risk_tier: high", "risk_tier: extreme")
    # When make passes it on (setup is taken as done: the suite already runs in it)
    result = subprocess.run(
        [
            shutil.which("make") or "/usr/bin/make",
            "--no-print-directory",
            "-o",
            "setup",
            "synth",
            f"CONFIG={config}",
            f"OUT={tmp_path / 'out'}",
        ],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # Then the whole path reached the app, which names the bad field
    assert result.returncode != 0
    assert f"invalid governance config {config}" in result.stderr
    assert "models[0].risk_tier" in result.stderr


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
    app = cdk.App(outdir=str(outdir), context={**cdk_context(), **context})
    status = main(app)
    return AppRun(status=status, stderr=capsys.readouterr().err)


def test_an_instance_type_that_does_not_exist_fails_the_synth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a config serving on ml.m5.huge, which SageMaker does not offer. Whichever check
    # catches it (the config's instance-type list, or CloudFormation validation's warning
    # W3030 that used to exit 0), the synth fails.
    config = _config(
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
    bad = _config(tmp_path, "org.yaml", "risk_tier: high", "risk_tier: extreme")
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
    bad = _config(
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


def test_a_construct_warning_such_as_a_limit_fails_the_synth(tmp_path: Path) -> None:
    # Given the default app plus a construct warning, as a limits check reports one
    import aws_cdk as cdk

    from app import main

    outdir = tmp_path / "cdk.out"
    app = cdk.App(
        outdir=str(outdir),
        context={**cdk_context(), "aws:cdk:enable-path-metadata": True},
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

"""The exit status: whatever the report shows as open fails the synth, and a failed synth leaves
nothing deployable. Plugin reports here follow what aws-cdk-lib 2.275 writes (captured from a
real synth with an ``ml.m5.huge`` endpoint: CloudFormation Validate concludes "success" yet
reports the W3030 warning)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from governance_report.gate import conclude, discard, failure_reason
from tests.report import assembly_builder as b

ENDPOINT_CONFIG = f"{b.MODELS}/credit-default/EndpointConfig"


def cfn_validate_warning() -> dict[str, Any]:
    return {
        "pluginName": "CloudFormation Validate",
        "pluginVersion": "1.12.1",
        "conclusion": "success",
        "violations": [
            {
                "ruleName": "W3030",
                "description": "ProductionVariants.0.InstanceType: 'ml.m5.huge' is not one of "
                "['ml.c4.2xlarge', 'ml.m5.xlarge']",
                "severity": "warning",
                "ruleMetadata": {"category": "Schema"},
                "violatingConstructs": [
                    {
                        "constructPath": ENDPOINT_CONFIG,
                        "constructFqn": "aws-cdk-lib.aws_sagemaker.CfnEndpointConfig",
                        "cloudFormationResource": {
                            "templatePath": f"{b.MODELS}.template.json",
                            "logicalId": "CreditEndpointConfig",
                        },
                    }
                ],
            }
        ],
    }


def clean_report(*extra: dict[str, Any]) -> dict[str, Any]:
    """The builder's report with every violation acknowledged, plus ``extra`` plugins."""
    raw = b.validation_report()
    for plugin in raw["pluginReports"]:
        plugin["violations"] = []
        plugin["conclusion"] = "success"
    raw["pluginReports"] += list(extra)
    return raw


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ([], None),
        ([cfn_validate_warning()], "1 open finding (CloudFormation Validate W3030)"),
        (
            [
                {
                    "pluginName": "Construct Annotations",
                    "conclusion": "success",
                    "metadata": {"cdk:annotations": "true"},
                    "violations": [
                        {
                            "ruleName": "Limits::TemplateSize",
                            "description": "template is 1,064,780 bytes",
                            "severity": "warning",
                            "violatingConstructs": [{"constructPath": b.MODELS}],
                        }
                    ],
                }
            ],
            "1 open finding (Construct Annotations Limits::TemplateSize)",
        ),
        (
            [
                {
                    "pluginName": "Notes",
                    "conclusion": "success",
                    "violations": [
                        {"ruleName": "I1", "description": "fyi", "severity": "informational"}
                    ],
                }
            ],
            None,
        ),
    ],
)
def test_every_open_result_of_every_plugin_fails_and_nothing_else(
    tmp_path: Path, extra: list[dict[str, Any]], expected: str | None
) -> None:
    folder = b.write_assembly(tmp_path, report=clean_report(*extra))
    reason = failure_reason(folder)
    if expected is None:
        assert reason is None
    else:
        assert reason is not None
        assert expected in reason


def test_missing_validation_report_fails(tmp_path: Path) -> None:
    folder = b.write_assembly(tmp_path, with_report=False)
    reason = failure_reason(folder)
    assert reason is not None
    assert "validation-report.json is missing" in reason


def test_failed_synth_keeps_its_findings_and_report_and_nothing_deployable(tmp_path: Path) -> None:
    # Given an assembly whose CloudFormation validation reports a warning
    folder = b.write_assembly(tmp_path / "cdk.out", report=clean_report(cfn_validate_warning()))
    (folder / "asset.abc").mkdir()
    stderr = io.StringIO()
    # When the synth concludes
    status = conclude(folder, stream=stderr)
    # Then it fails, lists the finding for a CI log, and only the explanation is left
    assert status == 1
    log = stderr.getvalue()
    assert "error: synth failed: 1 open finding (CloudFormation Validate W3030)" in log
    assert f"CloudFormation Validate W3030 (warning) at {ENDPOINT_CONFIG}: " in log
    assert "'ml.m5.huge'" in log
    left = sorted(p.name for p in folder.iterdir())
    assert left == ["governance-report", "validation-report.json"]
    markdown = (folder / "governance-report" / "report.md").read_text()
    assert "**Warning:** synth failed: 1 open finding" in markdown.split("## Summary", 1)[0]
    assert "| CloudFormation Validate | success | ❌ 1 | 0 |" in markdown


def test_successful_synth_renders_the_report_and_keeps_the_assembly(tmp_path: Path) -> None:
    folder = b.write_assembly(tmp_path / "cdk.out", report=clean_report())
    assert conclude(folder, stream=io.StringIO()) == 0
    assert (folder / "manifest.json").is_file()
    assert (folder / "governance-inventory.json").is_file()
    assert "synth failed" not in (folder / "governance-report" / "report.md").read_text()


def test_a_report_that_cannot_render_fails_and_discards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = b.write_assembly(tmp_path / "cdk.out", report=clean_report())

    def broken(*_: object, **__: object) -> str:
        raise RuntimeError("renderer bug")

    monkeypatch.setattr("governance_report.gate.render_markdown", broken)
    with pytest.raises(RuntimeError, match="renderer bug"):
        conclude(folder, stream=io.StringIO())
    assert not (folder / "manifest.json").exists()


def test_discard_before_a_synth_removes_every_earlier_output(tmp_path: Path) -> None:
    folder = b.write_assembly(tmp_path / "cdk.out")
    (folder / "governance-report").mkdir()
    (folder / "governance-report" / "report.html").write_text("old")
    (folder / "read.lock").write_text("")  # the CLI's, not ours
    discard(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["read.lock"]

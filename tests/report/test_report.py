"""Governance report: parse a cloud assembly, estimate costs, render Markdown and HTML."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest

from governance_report import GovernanceReport, build_report
from governance_report.__main__ import main
from governance_report.costs import PriceTable, frequency, load_prices
from governance_report.model import show
from governance_report.render_html import render_html
from governance_report.render_markdown import escape, render_markdown
from tests.conftest import REPO, Assembly
from tests.report import assembly_builder as b

PRICES = PriceTable(
    as_of="2026-01-01",
    region="eu-west-1",
    currency="USD",
    kind="test list prices",
    note="",
    sources=("https://example.invalid/prices",),
    hosting_per_hour={"ml.m5.xlarge": 0.5},
    processing_per_hour={"ml.m5.xlarge": 0.25},
)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> GovernanceReport:
    # Given: a foundation stack, a per-model stack and a validation report
    folder = b.write_assembly(tmp_path_factory.mktemp("cdk.out"))
    # When
    return build_report(folder, PRICES)


@pytest.fixture(scope="module")
def markdown(report: GovernanceReport) -> str:
    return render_markdown(report)


@pytest.fixture(scope="module")
def page(report: GovernanceReport) -> str:
    return render_html(report)


def test_models_are_found_by_tag_reference_and_group_name(report: GovernanceReport) -> None:
    models = {m.name: m for m in report.models}
    assert sorted(models) == ["churn-propensity", "credit-default"]
    credit = models["credit-default"]
    assert (credit.owner, credit.risk_tier, credit.data_classification) == (
        "credit-risk-analytics",
        "high",
        "confidential",
    )
    # The untagged alarm (references a schedule) and event rule (names the group) are attributed
    assert [a.name for a in credit.alarms] == ["credit-default-data-quality-violations"]
    assert [r.has_dead_letter_queue for r in credit.event_rules] == [True]
    assert models["churn-propensity"].alarms == []


def test_registry_sharing_card_and_policy(report: GovernanceReport) -> None:
    credit = next(m for m in report.models if m.name == "credit-default")
    (group,) = credit.groups
    assert group.deletion_policy == "Retain"
    assert group.consumer_accounts == (b.CONSUMER,)
    assert group.shared_actions == ("sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages")
    (card,) = credit.cards
    assert (card.status, card.kms_key) == ("PendingReview", b.KEY)
    (policy,) = credit.policies
    assert policy.required_evidence == ("model_quality_metrics", "bias_report", "separate_approver")
    assert policy.on_failure == "Rejected"
    assert policy.bias_thresholds["DI"] == {"min": 0.8, "max": 1.25}


def test_endpoint_and_monitors_resolve_their_config_and_job_definitions(
    report: GovernanceReport,
) -> None:
    credit = next(m for m in report.models if m.name == "credit-default")
    (endpoint,) = credit.endpoints
    (variant,) = endpoint.variants
    assert (variant.instance_type, variant.instance_count) == ("ml.m5.xlarge", 2)
    assert endpoint.data_capture_percent == "50"
    monitors = {m.monitoring_type: m for m in credit.monitors}
    assert monitors["DataQuality"].max_runtime_seconds == 1800
    assert monitors["ModelBias"].instance_count == 2
    assert monitors["ModelBias"].max_runtime_seconds is None


def test_monitor_cost_is_price_x_instances_x_runtime_x_runs(report: GovernanceReport) -> None:
    lines = {line.item: line for line in report.costs.lines}
    # Hourly data quality: 0.25 USD/h x 1 instance x 0.5 h x 720 runs = 90.00
    assert lines["credit-default-dataquality (DataQuality)"].monthly == pytest.approx(90.0)
    # Daily bias, no stopping condition (1 h assumed): 0.25 x 2 x 1 x 30 = 15.00
    assert lines["credit-default-modelbias (ModelBias)"].monthly == pytest.approx(15.0)
    # Endpoint: 0.5 x 2 x 730 = 730.00; the churn endpoint's ml.c5.large has no price
    assert lines["credit-default-prod / AllTraffic"].monthly == pytest.approx(730.0)
    assert lines["churn-propensity-prod / AllTraffic"].monthly is None
    assert report.costs.total == pytest.approx(835.0)


def test_markdown_names_models_controls_acknowledgments_and_counts(markdown: str) -> None:
    assert "## Model: credit-default" in markdown
    assert "## Model: churn-propensity" in markdown
    assert escape(b.ACK_REASON_IAM) in markdown
    assert escape(b.ACK_REASON_S3) in markdown
    assert "| AwsSolutions | ❌ failure | ❌ 1 | 2 |" in markdown
    assert "| NIST.800.53.R5 | success | 0 | 1 |" in markdown
    assert "444455556666" in markdown
    assert "model\\_quality\\_metrics, bias\\_report, separate\\_approver" in markdown
    assert "cron(0 \\* ? \\* \\* \\*) (hourly)" in markdown
    assert "90.00 USD" in markdown
    assert "835.00 USD" in markdown
    assert "as of 2026-01-01" in markdown


def test_governance_pack_lists_the_rules_that_passed(markdown: str) -> None:
    passed = markdown.split("Rules that passed (2 of 4):", 1)[1].split("###", 1)[0]
    assert "- Governance-MC1" in passed
    assert "- Governance-MPG1" in passed
    assert "Governance-EP1" not in passed.split("Rules with open findings")[0]


def test_governance_pack_that_did_not_run_is_reported(tmp_path: Path) -> None:
    raw = b.validation_report()
    raw["pluginReports"] = [p for p in raw["pluginReports"] if p["pluginName"] != "Governance"]
    folder = b.write_assembly(tmp_path, report=raw)
    assert "The Governance pack did not run" in render_markdown(build_report(folder, PRICES))


def test_missing_validation_report_is_stated_at_the_top(tmp_path: Path) -> None:
    folder = b.write_assembly(tmp_path, with_report=False)
    markdown = render_markdown(build_report(folder, PRICES))
    head = markdown.split("## Summary", 1)[0]
    assert "validation-report.json is missing" in head
    assert "## Model: credit-default" in markdown  # the rest still renders


def test_cli_without_manifest_exits_non_zero_with_a_clear_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "governance_report", "--assembly", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert result.returncode != 0
    assert "manifest.json not found" in result.stderr
    assert str(tmp_path) in result.stderr


def test_cli_writes_markdown_and_html(tmp_path: Path) -> None:
    folder = b.write_assembly(tmp_path / "cdk.out")
    assert main(["--assembly", str(folder)]) == 0
    out = folder / "governance-report"
    assert "credit-default" in (out / "report.md").read_text()
    assert (out / "report.html").read_text().startswith("<!DOCTYPE html>")


def test_intrinsics_anywhere_render_readably(tmp_path: Path) -> None:
    # Given: names, tags, instance types, thresholds and schedules that are intrinsics
    template = b.models_template()
    res = template["Resources"]
    res["CreditGroup"]["Properties"]["ModelPackageGroupName"] = {"Ref": "GroupName"}
    res["CreditGroup"]["Properties"]["ModelPackageGroupPolicy"] = {
        "Fn::Join": ["", ['{"Statement": []', "}"]]
    }
    res["CreditCard"]["Properties"]["Tags"][0]["Value"] = "credit-default"
    res["CreditCard"]["Properties"]["SecurityConfig"] = {"KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}
    res["CreditPolicy"]["Properties"]["Value"] = {"Fn::Sub": "${Policy}"}
    variant = res["CreditEndpointConfig"]["Properties"]["ProductionVariants"][0]
    variant["InstanceType"] = {"Ref": "InstanceType"}
    variant["InitialInstanceCount"] = {"Fn::If": ["Prod", 2, 1]}
    config = res["CreditDataQuality"]["Properties"]["MonitoringScheduleConfig"]
    config["ScheduleConfig"]["ScheduleExpression"] = {"Fn::Sub": "cron(0 ${Hour} ? * * *)"}
    res["CreditDataQualityAlarm"]["Properties"]["Threshold"] = {"Ref": "Threshold"}
    res["CreditDataQualityAlarm"]["Properties"]["Tags"] = [
        {"Key": "governance:model", "Value": {"Fn::Join": ["-", ["credit", "default"]]}}
    ]
    res["Odd"] = {"Type": "AWS::SageMaker::Endpoint", "Properties": "not-an-object"}
    folder = b.write_assembly(tmp_path, templates={b.MODELS: template})
    # When
    report = build_report(folder, PRICES)
    markdown, page = render_markdown(report), render_html(report)
    # Then
    assert "Ref(GroupName)" in markdown
    assert "GetAtt(Key.Arn)" in page
    assert "Sub(cron(0 ${Hour} ? * * *)) (unknown frequency)" in page
    assert "credit-default-data-quality-violations" in page  # Join tag resolved to the model
    assert "not estimated" in page


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"Ref": "Foo"}, "Ref(Foo)"),
        ({"Fn::GetAtt": ["Foo", "Arn"]}, "GetAtt(Foo.Arn)"),
        ({"Fn::GetAtt": "Foo.Arn"}, "GetAtt(Foo.Arn)"),
        (
            {"Fn::Join": [":", ["arn", {"Ref": "AWS::Partition"}, "s3"]]},
            "arn:Ref(AWS::Partition):s3",
        ),
        ({"Fn::Join": "broken"}, "Join(broken)"),
        ({"Fn::ImportValue": "Out"}, "Out (from another stack)"),
        ([1, True, None], "1, true, "),
    ],
)
def test_show_renders_intrinsics(value: object, text: str) -> None:
    assert show(value) == text


@pytest.mark.parametrize(
    ("expression", "label", "runs"),
    [
        ("cron(0 * ? * * *)", "hourly", 720),
        ("cron(0 */6 ? * * *)", "every 6 hours", 120),
        ("cron(0 12 ? * * *)", "daily", 30),
        ("cron(0 8 ? * MON *)", "weekly", 30 / 7),
        ("cron(0 0 1 * ? *)", "monthly", 1),
        ("rate(1 hour)", "unknown frequency", None),
        ("cron(0 0 L * ? *)", "unknown frequency", None),
    ],
)
def test_cron_frequency(expression: str, label: str, runs: float | None) -> None:
    result = frequency(expression)
    assert result.label == label
    assert result.runs_per_month == (None if runs is None else pytest.approx(runs))


def test_html_is_self_contained(page: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    assert "url(" not in page
    assert "@import" not in page


def test_html_escapes_text_from_the_assembly(page: str) -> None:
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<script>alert" not in page


def test_markdown_escapes_raw_html(markdown: str) -> None:
    assert "<script>" not in markdown
    assert "&lt;script&gt;" in markdown


def test_shipped_price_table_is_dated_and_sourced() -> None:
    prices = load_prices()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", prices.as_of)
    assert prices.sources
    assert all(s.startswith("https://") for s in prices.sources)
    assert prices.processing_per_hour["ml.m5.xlarge"] > 0


def test_default_app_report_names_every_acknowledged_rule(default_assembly: Assembly) -> None:
    # Given: the default app synthesized with its compliance packs
    report = build_report(default_assembly.outdir)
    markdown, page = render_markdown(report), render_html(report)
    rules = {
        entry["ruleName"]
        for plugin in default_assembly.report["pluginReports"]
        for entry in plugin.get("suppressedViolations", [])
    }
    # Then
    assert rules
    for rule in rules:
        assert escape(rule) in markdown, rule
        assert html.escape(rule) in page, rule


def test_cross_stack_references_render_readably() -> None:
    from governance_report.model import show

    reference = {
        "Fn::GetStackOutput": {
            "StackName": "acme-prod-foundation",
            "Region": "eu-west-1",
            "OutputName": "PublishOutputFnGetAttKeysartifacts43AEE713Arn086C8E72",
        }
    }
    assert show(reference) == "Keysartifacts.Arn (from acme-prod-foundation)"
    assert show({"Fn::ImportValue": "SharedTopic"}) == "SharedTopic (from another stack)"

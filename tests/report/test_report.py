"""Governance report edge cases on a hand-written assembly: intrinsics, escaping, missing inputs,
cost arithmetic. What the app really synthesizes is tested in test_synthesized_report.py."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from governance_report import GovernanceReport, build_report
from governance_report.__main__ import main
from governance_report.assembly import Violation
from governance_report.costs import (
    Price,
    PriceSource,
    PriceTable,
    PriceTableError,
    describe,
    frequency,
    load_prices,
)
from governance_report.intrinsics import resolve, show
from governance_report.packs import acknowledgments_by_rule
from governance_report.render_html import render_html
from governance_report.render_markdown import escape, render_markdown
from tests.conftest import REPO
from tests.report import assembly_builder as b

PRICES = PriceTable(
    kind="test list prices",
    sources={
        "test": PriceSource(
            as_of="2026-01-01", cite="prices made up for tests", url="https://example.invalid/p"
        )
    },
    prices=[
        Price(
            region="eu-west-1",
            use="hosting",
            instance_type="ml.m5.xlarge",
            usd_per_hour=0.5,
            source="test",
        ),
        Price(
            region="eu-west-1",
            use="processing",
            instance_type="ml.m5.xlarge",
            usd_per_hour=0.25,
            source="test",
        ),
    ],
)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> GovernanceReport:
    # Given: a foundation stack, a per-model stack, its inventory and a validation report
    folder = b.write_assembly(tmp_path_factory.mktemp("cdk.out"))
    # When
    return build_report(folder, PRICES)


@pytest.fixture(scope="module")
def markdown(report: GovernanceReport) -> str:
    return render_markdown(report)


@pytest.fixture(scope="module")
def page(report: GovernanceReport) -> str:
    return render_html(report)


def test_models_come_from_the_inventory_not_from_tags(report: GovernanceReport) -> None:
    models = {m.name: m for m in report.models}
    assert sorted(models) == ["churn-propensity", "credit-default"]
    credit = models["credit-default"]
    assert (credit.owner, credit.risk_tier, credit.data_classification) == (
        "credit-risk-analytics",
        "high",
        "confidential",
    )
    # The untagged alarm and event rule live under the model's scope, so they are its own
    assert [a.name for a in credit.alarms] == ["credit-default-data-quality-violations"]
    assert [r.has_dead_letter_queue for r in credit.event_rules] == [True]
    assert models["churn-propensity"].alarms == []


def test_a_resource_outside_every_model_scope_belongs_to_no_model(tmp_path: Path) -> None:
    # Given a tagged alarm placed directly under the stack (not under a model's scope)
    template = b.models_template()
    alarm = template["Resources"]["CreditDataQualityAlarm"]
    alarm["Metadata"]["aws:cdk:path"] = f"{b.MODELS}/SharedAlarm"
    alarm["Properties"]["Tags"] = b.tags("credit-default")
    folder = b.write_assembly(tmp_path, templates={b.MODELS: template})
    # When / Then: ownership follows scopes, so the tag does not make it the model's
    credit = next(m for m in build_report(folder, PRICES).models if m.name == "credit-default")
    assert credit.alarms == []


def test_registry_sharing_card_and_policy(report: GovernanceReport) -> None:
    credit = next(m for m in report.models if m.name == "credit-default")
    (group,) = credit.groups
    assert group.deletion_policy == "Retain"
    assert group.consumer_accounts == (b.CONSUMER,)
    assert group.shared_actions == ("sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages")
    (card,) = credit.cards
    assert (card.status, card.kms_key) == ("PendingReview", b.KEY)
    policy = credit.policy
    assert policy is not None
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
    lines = {(line.model, line.item): line for line in report.costs.lines}
    # Hourly data quality: 0.25 USD/h x 1 instance x 0.5 h x 730 runs = 91.25
    dq = lines[("credit-default", "DataQuality monitor")]
    assert dq.monthly == pytest.approx(91.25)
    # Daily bias, no stopping condition (1 h assumed): 0.25 x 2 x 1 x 365/12 = 15.21
    assert lines[("credit-default", "ModelBias monitor")].monthly == pytest.approx(
        0.25 * 2 * 365 / 12
    )
    # Endpoint: 0.5 x 2 x 730 = 730.00; the churn endpoint's ml.c5.large has no price
    endpoint = "endpoint credit-default-prod, variant AllTraffic"
    assert lines[("credit-default", endpoint)].monthly == pytest.approx(730.0)
    churn = lines[("churn-propensity", "endpoint churn-propensity-prod, variant AllTraffic")]
    assert churn.monthly is None
    assert "no hosting price for ml.c5.large in eu-west-1" in churn.note


def test_totals_with_an_unpriced_item_say_partial_never_a_silent_figure(
    report: GovernanceReport, markdown: str
) -> None:
    total = report.costs.total
    assert (total.items, total.unpriced) == (4, 1)
    assert describe(total) == "partial: 836.46 USD (1 of 4 not priced)"
    assert "**Total per month:** partial: 836.46 USD (1 of 4 not priced)" in markdown
    assert "**Endpoints:** partial: 730.00 USD (1 of 2 not priced)" in markdown


def test_a_category_with_nothing_priced_is_not_estimated_not_zero(tmp_path: Path) -> None:
    # Given endpoints whose instance types the table does not price
    template = b.models_template()
    config = template["Resources"]["CreditEndpointConfig"]["Properties"]
    config["ProductionVariants"][0]["InstanceType"] = "ml.c5.large"
    folder = b.write_assembly(tmp_path, templates={b.MODELS: template})
    # When
    markdown = render_markdown(build_report(folder, PRICES))
    # Then the headline never claims 0.00 for endpoints
    assert "**Endpoints:** not estimated (2 of 2 not priced)" in markdown
    assert "Endpoints:** 0.00" not in markdown


@pytest.mark.parametrize(
    ("expression", "label", "runs", "gap"),
    [
        ("cron(0 * ? * * *)", "hourly", 730, 1),
        ("cron(0 */6 ? * * *)", "every 6 hours", 4 * 365 / 12, 6),
        ("cron(0 12 ? * * *)", "daily", 365 / 12, 24),
        ("cron(0/15 * ? * * *)", "every 15 minutes", 4 * 730, 0.25),
        ("cron(0 8 ? * MON *)", "weekly", 365 / 12 / 7, 24),
        ("cron(0 0 1 * ? *)", "monthly", 1, 24),
        ("rate(1 hour)", "unknown frequency", None, None),
        ("cron(0 0 L * ? *)", "unknown frequency", None, None),
    ],
)
def test_cron_frequency(expression: str, label: str, runs: float | None, gap: float | None) -> None:
    result = frequency(expression)
    assert result.label == label
    assert result.runs_per_month == (None if runs is None else pytest.approx(runs))
    assert result.min_interval_hours == (None if gap is None else pytest.approx(gap))


def test_a_fifteen_minute_schedule_never_bills_more_hours_than_the_month(tmp_path: Path) -> None:
    # Given a data-quality schedule every 15 minutes with a one-hour maximum runtime
    template = b.models_template()
    res = template["Resources"]
    res["CreditDataQualityJob"]["Properties"]["StoppingCondition"]["MaxRuntimeInSeconds"] = 3600
    config = res["CreditDataQuality"]["Properties"]["MonitoringScheduleConfig"]
    config["ScheduleConfig"]["ScheduleExpression"] = "cron(0/15 * ? * * *)"
    folder = b.write_assembly(tmp_path, templates={b.MODELS: template})
    # When
    costs = build_report(folder, PRICES).costs
    line = next(x for x in costs.lines if x.item == "DataQuality monitor")
    # Then each run is capped at the 15 minutes between runs: 730 instance-hours, not 2,920
    assert line.billed_hours == pytest.approx(730)
    assert line.monthly == pytest.approx(0.25 * 730)
    assert "capped at the 0.25 h between runs" in line.note


def test_markdown_names_models_controls_acknowledgments_and_counts(markdown: str) -> None:
    assert "## Model: credit-default" in markdown
    assert "## Model: churn-propensity" in markdown
    assert escape(b.ACK_REASON_IAM) in markdown
    assert escape(b.ACK_REASON_S3) in markdown
    assert "| AwsSolutions | ❌ failure | ❌ 1 | 2 |" in markdown
    assert "| NIST.800.53.R5 | success | 0 | 1 |" in markdown
    assert "444455556666" in markdown
    assert "model\\_quality\\_metrics, bias\\_report, separate\\_approver" in markdown
    assert "as of" not in markdown or "2026-01-01" in markdown
    assert "0.5 (2026-01-01)" in markdown  # every price shows the date it was read


def test_risk_tier_is_a_label_not_a_failure(markdown: str, page: str) -> None:
    assert "**Risk tier:** high" in markdown
    assert "❌ high" not in markdown
    assert '<span class="tag info">high</span>' in page
    assert '<span class="tag bad">high</span>' not in page


def test_acknowledgments_are_summarised_by_rule_with_details_one_click_away(
    markdown: str, page: str
) -> None:
    summary = markdown.split("### Acknowledgments", 1)[1]
    assert "| AwsSolutions | IAM5 | 1 |" in summary
    assert "<details><summary>AwsSolutions IAM5: 1 resource</summary>" in summary
    assert "<details><summary>AwsSolutions IAM5: 1 resource</summary>" in page
    # The details name the finding and where, by construct path (never a logical id)
    details = summary.split("<details><summary>AwsSolutions IAM5: 1 resource</summary>", 1)[1]
    assert "acme-prod-foundation: Roles/Monitoring/DefaultPolicy" in details.split("</details>")[0]


def test_packs_that_acknowledge_the_same_rule_alike_share_one_row() -> None:
    # Given NIST and HIPAA acknowledging the same rule on the same bucket for the same reason,
    # and PCI for another reason
    def ack(pack: str, reason: str) -> Violation:
        return Violation(
            pack,
            f"{pack}-S3BucketReplicationEnabled",
            "",
            "error",
            ("stack/Logs/Resource",),
            reason=reason,
        )

    groups = acknowledgments_by_rule(
        [
            ack("NIST.800.53.R5", "single region"),
            ack("HIPAA.Security", "single region"),
            ack("PCI.DSS.321", "other"),
        ]
    )
    assert [(g.packs, g.rule, g.findings) for g in groups] == [
        (("HIPAA.Security", "NIST.800.53.R5"), "S3BucketReplicationEnabled", 2),
        (("PCI.DSS.321",), "S3BucketReplicationEnabled", 1),
    ]


def test_governance_pack_lists_the_rules_that_passed(markdown: str) -> None:
    passed = markdown.split("Rules that passed (2 of 4)", 1)[1].split("</details>", 1)[0]
    assert "- Governance-MC1" in passed
    assert "- Governance-MPG1" in passed
    assert "Governance-EP1" not in passed


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


def test_missing_inventory_is_stated_and_no_model_is_guessed(tmp_path: Path) -> None:
    folder = b.write_assembly(tmp_path, with_inventory=False)
    report = build_report(folder, PRICES)
    markdown = render_markdown(report)
    assert report.models == ()
    assert "governance-inventory.json is missing" in markdown.split("## Summary", 1)[0]


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
    assert "Traceback" not in result.stderr


def test_cli_writes_markdown_and_html(tmp_path: Path) -> None:
    folder = b.write_assembly(tmp_path / "cdk.out")
    assert main(["--assembly", str(folder)]) == 0
    out = folder / "governance-report"
    assert "credit-default" in (out / "report.md").read_text()
    assert (out / "report.html").read_text().startswith("<!DOCTYPE html>")


def test_cli_uses_a_price_table_the_user_supplies(tmp_path: Path) -> None:
    # Given a user's own table that prices ml.c5.large hosting
    table = json.loads((REPO / "governance_report" / "prices.json").read_text())
    table["prices"].append(
        {
            "region": "eu-west-1",
            "use": "hosting",
            "instance_type": "ml.c5.large",
            "usd_per_hour": 0.1,
            "source": "aws-bill-eu-west-1-2023-12",
        }
    )
    prices = tmp_path / "my prices.json"
    prices.write_text(json.dumps(table))
    folder = b.write_assembly(tmp_path / "cdk.out")
    # When
    assert main(["--assembly", str(folder), "--prices", str(prices)]) == 0
    # Then the churn endpoint is priced from it, and the report names the table
    markdown = (folder / "governance-report" / "report.md").read_text()
    assert "73.00 USD" in markdown
    assert escape(str(prices)) in markdown


def test_a_bad_price_table_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "prices.json"
    table = json.loads((REPO / "governance_report" / "prices.json").read_text())
    table["prices"][0]["usd_per_hour"] = -1
    bad.write_text(json.dumps(table))
    with pytest.raises(PriceTableError, match=r"prices\.0\.usd_per_hour: .*greater than 0"):
        load_prices(bad)
    folder = b.write_assembly(tmp_path / "cdk.out")
    assert main(["--assembly", str(folder), "--prices", str(bad)]) == 2
    assert "prices.0.usd_per_hour" in capsys.readouterr().err


def test_intrinsics_anywhere_render_readably(tmp_path: Path) -> None:
    # Given: names, instance types, thresholds and schedules that are intrinsics
    template = b.models_template()
    res = template["Resources"]
    res["CreditGroup"]["Properties"]["ModelPackageGroupName"] = {"Ref": "GroupName"}
    res["CreditGroup"]["Properties"]["ModelPackageGroupPolicy"] = {
        "Fn::Join": ["", ['{"Statement": []', "}"]]
    }
    res["CreditCard"]["Properties"]["SecurityConfig"] = {"KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}
    res["CreditPolicy"]["Properties"]["Value"] = {"Fn::Sub": "${Policy}"}
    variant = res["CreditEndpointConfig"]["Properties"]["ProductionVariants"][0]
    variant["InstanceType"] = {"Ref": "InstanceType"}
    variant["InitialInstanceCount"] = {"Fn::If": ["Prod", 2, 1]}
    config = res["CreditDataQuality"]["Properties"]["MonitoringScheduleConfig"]
    config["ScheduleConfig"]["ScheduleExpression"] = {"Fn::Sub": "cron(0 ${Hour} ? * * *)"}
    res["CreditDataQualityAlarm"]["Properties"]["Threshold"] = {"Ref": "Threshold"}
    res["Odd"] = {
        "Type": "AWS::SageMaker::Endpoint",
        "Properties": "not-an-object",
        "Metadata": {"aws:cdk:path": f"{b.MODELS}/credit-default/Odd"},
    }
    folder = b.write_assembly(tmp_path, templates={b.MODELS: template})
    # When
    report = build_report(folder, PRICES)
    markdown, page = render_markdown(report), render_html(report)
    # Then
    assert "Ref(GroupName)" in markdown
    assert "Sub(cron(0 ${Hour} ? * * *))" in "".join(
        m.schedule_expression for m in report.models[1].monitors
    )
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
    ("value", "resolved"),
    [
        (
            {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::444455556666:root"]]},
            "arn:aws-cn:iam::444455556666:root",
        ),
        ({"Fn::Sub": "arn:${AWS::Partition}:iam::${Acct}:root"}, None),
        (
            {"Fn::Sub": ["arn:${AWS::Partition}:iam::${Acct}:root", {"Acct": "444455556666"}]},
            "arn:aws-cn:iam::444455556666:root",
        ),
        ({"Fn::GetAtt": ["Role", "Arn"]}, None),
        ("444455556666", "444455556666"),
    ],
)
def test_resolve_computes_values_built_from_pseudo_parameters(
    value: object, resolved: str | None
) -> None:
    assert resolve(value, {"AWS::Partition": "aws-cn"}) == resolved


def test_cross_stack_references_render_readably() -> None:
    reference = {
        "Fn::GetStackOutput": {
            "StackName": "acme-prod-foundation",
            "Region": "eu-west-1",
            "OutputName": "PublishOutputFnGetAttKeysartifacts43AEE713Arn086C8E72",
        }
    }
    assert show(reference) == "Keysartifacts.Arn (from acme-prod-foundation)"
    assert show({"Fn::ImportValue": "SharedTopic"}) == "SharedTopic (from another stack)"


def test_html_is_self_contained(page: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    assert "url(" not in page
    assert "@import" not in page


def test_html_never_breaks_words_and_lets_paths_wrap_only_at_separators(page: str) -> None:
    assert "anywhere" not in page  # overflow-wrap:anywhere / word-break:break-all split words
    assert "break-all" not in page
    assert "/<wbr>" in page
    assert '<div class="table-wrap">' in page


def test_html_escapes_text_from_the_assembly(page: str) -> None:
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/" in page
    assert "<script>alert" not in page


def test_markdown_escapes_raw_html(markdown: str) -> None:
    assert "<script>" not in markdown
    assert "&lt;script&gt;" in markdown


def test_shipped_price_table_is_dated_cited_and_covers_the_examples() -> None:
    prices = load_prices()
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", s.as_of) for s in prices.sources.values())
    assert all(s.url.startswith("https://") for s in prices.sources.values())
    # The default config serves and monitors ml.m5.xlarge in eu-west-1
    for use in ("hosting", "processing"):
        assert prices.price("eu-west-1", use, "ml.m5.xlarge") is not None


@pytest.mark.parametrize("names_the_model", [True, False])
def test_a_policy_kept_outside_the_model_scope_is_found_by_model_or_risk_tier(
    tmp_path: Path, names_the_model: bool
) -> None:
    # Given the approval policy as a parameter outside the model's scope: one naming the model,
    # or one per risk tier that names none
    template = b.models_template()
    parameter = template["Resources"]["CreditPolicy"]
    parameter["Metadata"]["aws:cdk:path"] = f"{b.MODELS}/Policies/High/Resource"
    if not names_the_model:
        value = json.loads(parameter["Properties"]["Value"])
        for key in ("model_name", "model_package_group_name", "model_card_name"):
            value.pop(key)
        parameter["Properties"]["Value"] = json.dumps(value)
    folder = b.write_assembly(tmp_path, templates={b.MODELS: template})
    # When
    models = {m.name: m for m in build_report(folder, PRICES).models}
    # Then the high-risk model gets it, the low-risk one does not
    policy = models["credit-default"].policy
    assert policy is not None
    assert policy.required_evidence == ("model_quality_metrics", "bias_report", "separate_approver")
    assert models["churn-propensity"].policy is None

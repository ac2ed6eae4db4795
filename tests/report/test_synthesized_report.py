"""The governance report on the templates the app synthesizes for the default config: prod on
Model Monitor in eu-west-1, dev on the Evidently engine in us-east-1 (churn-propensity served in
both, credit-default in prod only). The CLI test (tests/app/test_cli.py) checks that the real
entry point writes the inventory and the report.

These are the templates a reviewer's report is made from: principals built with ``Fn::Join``
and ``AWS::Partition``, cross-stack ``Fn::GetStackOutput`` references, CDK logical ids.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys

import pytest

from config import load_config
from governance_report import GovernanceReport, build_report
from governance_report.controls import approval_policy
from governance_report.inventory import Concern, read_inventory
from governance_report.render_html import render_html
from governance_report.render_markdown import escape, render_markdown
from tests.conftest import REPO, Assembly, deployments

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def default_report(default_assembly: Assembly) -> GovernanceReport:
    return build_report(default_assembly.outdir)


# --------------------------------------------------------------------------- facts


def test_consumer_accounts_are_read_through_join_and_partition(
    default_report: GovernanceReport, default_assembly: Assembly
) -> None:
    # Given the synthesized group policy builds its principal with Fn::Join and AWS::Partition
    group = next(
        r
        for r in default_assembly.resources("AWS::SageMaker::ModelPackageGroup").values()
        if r["Properties"]["ModelPackageGroupName"] == "credit-default"
    )
    principal = group["Properties"]["ModelPackageGroupPolicy"]["Statement"][0]["Principal"]
    assert "Fn::Join" in json.dumps(principal)
    # Then the report reads the consumer account, and only credit-default is shared
    models = {m.name: m for m in default_report.models}
    assert models["credit-default"].groups[0].consumer_accounts == ("444455556666",)
    assert models["churn-propensity"].groups[0].consumer_accounts == ()
    assert "| credit-default | retained | 444455556666 |" in render_markdown(default_report)


def test_effective_policy_shown_is_the_synthesized_parameter(
    default_report: GovernanceReport, default_assembly: Assembly
) -> None:
    # Given each model's approval-policy parameter as synthesized in each environment
    assert {m.environment for m in default_report.models} == {"prod", "dev"}
    for model in default_report.models:
        (parameter,) = [
            r
            for r in default_assembly.environment(model.environment)
            .resources("AWS::SSM::Parameter")
            .values()
            if "required_evidence" in str(r["Properties"]["Value"])
            and json.loads(r["Properties"]["Value"])["model_name"] == model.name
        ]
        raw = json.loads(parameter["Properties"]["Value"])
        # Then the report's effective policy is derived from it, field by field
        policy = model.policy
        assert policy is not None
        assert list(policy.required_evidence) == raw["required_evidence"]
        assert {k: dict(v) for k, v in policy.bias_thresholds.items()} == {
            k: {"min": v["min"], "max": v["max"]} for k, v in raw["bias_thresholds"].items()
        }
        facet = raw.get("bias_facet")
        assert (policy.bias_facet.attribute if policy.bias_facet else None) == (
            facet["facet"] if facet else None
        )


def test_protected_attribute_is_shown_from_policy_and_bias_monitor(
    default_report: GovernanceReport,
) -> None:
    credit = next(m for m in default_report.models if m.name == "credit-default")
    bias = next(m for m in credit.monitors if m.monitoring_type == "ModelBias")
    assert bias.facet is not None
    assert bias.facet.attribute == "gender"
    assert credit.protected_attribute is not None
    assert credit.protected_attribute.text == "gender = female"
    markdown = render_markdown(default_report)
    assert "**Protected attribute:** gender = female" in markdown
    # the bias check says where its metrics are computed
    assert "ModelBias (Model Monitor, on SageMaker Clarify)" in markdown


def test_gaps_name_disabled_monitors_and_the_draft_card(default_report: GovernanceReport) -> None:
    churn = next(m for m in default_report.models if m.name == "churn-propensity")
    texts = [g.text for g in default_report.gaps[churn.key]]
    assert "Monitors off: ModelBias, ModelExplainability." in texts
    assert any("Model card churn-propensity is Draft" in t for t in texts)


def test_no_cdk_logical_id_appears_in_the_report(
    default_report: GovernanceReport, default_assembly: Assembly
) -> None:
    markdown = render_markdown(default_report)
    page = render_html(default_report)
    logical_ids = {
        logical_id
        for template in default_assembly.templates.values()
        for logical_id in template["Resources"]
        if re.search(r"[0-9A-F]{8}$", logical_id)
    }
    assert logical_ids
    leaked = sorted(i for i in logical_ids if i in markdown or i in page)
    assert leaked == []


def test_default_costs_are_fully_priced_and_dated(default_report: GovernanceReport) -> None:
    costs = default_report.costs
    assert costs.lines
    # Except batch scoring's transform, which the built-in table has no price for: "not
    # estimated", saying why, once per environment that scores in batch
    assert sorted((line.environment, line.item) for line in costs.unpriced) == [
        ("dev", "batch transform churn-propensity-dev-batch"),
        ("prod", "batch transform churn-propensity-prod-batch"),
    ]
    for line in costs.unpriced:
        assert line.monthly is None
        assert "no transform price for ml.m5.xlarge" in line.note, line.note
    assert all(line.price is not None for line in costs.lines if line not in costs.unpriced)
    # DataQuality runs hourly on every endpoint with a one-hour maximum runtime: exactly the
    # month's 730 hours; batch scoring's check runs once per daily transform: 30.4 runs of 1 h
    served = deployments(load_config())
    dq = [line for line in costs.lines if line.item == "DataQuality monitor"]
    assert sorted(
        (line.environment, line.model, round(line.billed_hours, 3)) for line in dq
    ) == sorted(
        [(env.name, model.name, 730.0) for env, model in served]
        + [(env.name, model.name, round(365 / 12, 3)) for env, model in served if model.batch]
    )


def test_every_acknowledged_rule_is_named(
    default_report: GovernanceReport, default_assembly: Assembly
) -> None:
    markdown = render_markdown(default_report)
    # Without the markup that keeps hyphenated names whole and lets paths wrap at slashes
    page = re.sub(r'<wbr>|<span class="id">|</span>', "", render_html(default_report))
    rules = {
        (plugin["pluginName"], entry["ruleName"])
        for plugin in default_assembly.report["pluginReports"]
        for entry in plugin.get("suppressedViolations", [])
    }
    assert rules
    for pack, rule in rules:
        # Under its pack's heading, without the pack's prefix; logical ids that cdk-nag writes
        # into finding ids are shown as construct paths
        shown = default_report.assembly.readable(rule.removeprefix(f"{pack}-"))
        assert escape(shown) in markdown, rule
        assert html.escape(shown) in page, rule


# --------------------------------------------------------------------------- inventory


def test_inventory_attributes_every_model_resource_by_construct_scope(
    default_assembly: Assembly,
) -> None:
    inventory = read_inventory(default_assembly.outdir)
    assert inventory is not None
    listed = {(r.stack, r.logical_id) for r in inventory.resources}
    in_templates = {
        (stack, logical_id)
        for stack, template in default_assembly.templates.items()
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] != "AWS::CDK::Metadata"
    }
    assert listed == in_templates
    for resource in inventory.resources:
        if len(resource.models) == 1:
            (model,) = resource.models
            assert f"/{model}/" in resource.path, resource.path
    by_type = {r.type: r.concern for r in inventory.resources if r.models and len(r.models) == 1}
    assert by_type["AWS::SageMaker::ModelPackageGroup"] == Concern.REGISTRY
    assert by_type["AWS::SageMaker::MonitoringSchedule"] == Concern.MONITORING
    assert by_type["AWS::CloudWatch::Alarm"] == Concern.ALARMS
    assert by_type["AWS::SageMaker::Endpoint"] == Concern.SERVING
    policies = [r for r in inventory.resources if r.concern == Concern.APPROVAL_POLICY]
    # (one approval policy per model in each environment)
    assert sorted((r.stack, m) for r in policies for m in r.models) == [
        (f"example-bank-{env}-models-00", model)
        for env in ("dev", "prod")
        for model in ("churn-propensity", "credit-default")
    ]


def test_approval_policy_reader_accepts_other_shapes() -> None:
    # Given a policy written with a list of thresholds and a plain facet name
    from governance_report.assembly import Resource

    value = json.dumps(
        {
            "required_evidence": {"bias_report": True, "model_card_approved": False},
            "bias_thresholds": [{"metric": "DI", "min": 0.8, "max": 1.25}],
            "bias_facet": "age",
        }
    )
    resource = Resource(
        "s", "P", "AWS::SSM::Parameter", {"Name": "/p", "Value": value}, None, "", {}
    )
    policy = approval_policy(resource, {})
    assert policy.required_evidence == ("bias_report",)
    assert policy.bias_thresholds == {"DI": {"min": 0.8, "max": 1.25}}
    assert policy.bias_facet is not None
    assert policy.bias_facet.attribute == "age"


# --------------------------------------------------------------------------- environments


def test_two_environments_show_each_model_once_with_an_environment_column(
    default_report: GovernanceReport,
) -> None:
    # (by model, then in the config's environment order)
    assert [(m.name, m.environment) for m in default_report.models] == [
        ("churn-propensity", "prod"),
        ("churn-propensity", "dev"),
        ("credit-default", "prod"),
        ("credit-default", "dev"),
    ]
    markdown = render_markdown(default_report)
    assert markdown.count("## Model: credit-default") == 1
    assert markdown.count("## Model: churn-propensity") == 1
    section = markdown.split("## Model: churn-propensity", 1)[1].split("\n## ", 1)[0]
    assert "| Environment | Endpoint |" in section
    assert "| dev | churn-propensity-dev |" in section
    assert "| prod | churn-propensity-prod |" in section
    # credit-default is registered in dev but served in prod only
    section = markdown.split("## Model: credit-default", 1)[1].split("\n## ", 1)[0]
    assert "| prod | credit-default-prod |" in section
    assert "| dev | not served |" in section
    assert "credit-default-dev" not in section


def test_two_environments_price_each_in_its_own_region(default_report: GovernanceReport) -> None:
    endpoint_prices = {
        line.environment: line.price.usd_per_hour
        for line in default_report.costs.lines
        if line.kind == "endpoint" and line.model == "churn-propensity" and line.price
    }
    # us-east-1's ml.m5.large (the table has no eu-west-1 price for it), eu-west-1's ml.m5.xlarge
    assert endpoint_prices == {"dev": 0.115, "prod": 0.257}


def test_the_report_reads_files_only_without_starting_the_cdk(default_assembly: Assembly) -> None:
    # `python -m governance_report` reads a cloud assembly: no aws-cdk-lib, no jsii runtime
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from governance_report import build_report\n"
        f"report = build_report(Path({str(default_assembly.outdir)!r}))\n"
        "assert any(m.pipelines for m in report.models), 'no pipeline was read'\n"
        "leaked = sorted(m for m in sys.modules if m.split('.')[0] in {'aws_cdk', 'jsii'})\n"
        "assert not leaked, leaked[:5]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=120)

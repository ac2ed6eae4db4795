"""Logical ids computed in Python (cdk_constructs/logical_ids.py) are aws-cdk-lib's, and resources
created through one CfnInclude (cdk_constructs/included.py) synthesize as the L1s they replace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sns as sns
from constructs import Construct

from cdk_constructs.included import IncludedResources
from cdk_constructs.logical_ids import make_unique_id
from tests.conftest import cdk_context

# As the CDK CLI synthesizes: path metadata and the AWS::CDK::Metadata analytics resource.
CONTEXT = {"aws:cdk:enable-path-metadata": True, "aws:cdk:version-reporting": True}

PATHS = [
    ("Queue",),
    ("churn-propensity", "Serving", "Alarms", "FeatureDrift-tenure_months", "Resource"),
    ("credit-default", "Serving", "Alarms", "Bias-DPPL-Max", "Resource"),
    ("m", "Serving", "Alarms", "Dashboard", "Resource"),
    ("Baselines", "Resource", "Default"),  # a CustomResource's CfnResource
    ("Alarms", "Alarms", "Resource"),  # consecutive duplicates leave the human part
    ("QueueDepth", "Depth", "Resource"),  # "QueueDepth" ends with "Depth"
    ("Resource",),
    ("a" * 300,),  # one component over 255 characters: hashed
    ("x" * 200, "y" * 100, "Resource"),  # the human part is cut to 240 characters
    ("über-model", "Serving"),  # non-ASCII: hashed as UTF-8, dropped from the human part
]


def test_logical_ids_are_the_ones_aws_cdk_allocates() -> None:
    # Given a construct at each path (as many levels of plain Constructs as it has)
    stack = cdk.Stack(cdk.App(), "S")
    elements: list[tuple[tuple[str, ...], cdk.CfnElement]] = []
    for index, path in enumerate(PATHS):
        scope: Construct = Construct(stack, f"Root{index}")
        for component in path[:-1]:
            scope = Construct(scope, component)
        elements.append(((f"Root{index}", *path), cdk.CfnResource(scope, path[-1], type="T::T::T")))
    elements.append((("Plain",), cdk.CfnResource(stack, "Plain", type="T::T::T")))
    # a hidden id: the element is named after its parent
    elements.append(
        (("Top", "Default"), cdk.CfnResource(Construct(stack, "Top"), "Default", type="T"))
    )

    # Then the Python ids equal the ones aws-cdk-lib gives them
    for path, element in elements:
        expected = stack.resolve(element.logical_id)
        assert make_unique_id(path) == expected, path


def test_a_path_of_hidden_ids_only_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one path component"):
        make_unique_id(["Default"])


def _alarm_props() -> dict[str, Any]:
    return {
        "comparison_operator": "GreaterThanThreshold",
        "evaluation_periods": 1,
        "datapoints_to_alarm": 1,
        "threshold": 1e-05,
        "metric_name": "feature_baseline_drift_age",
        "namespace": "aws/sagemaker/Endpoints/data-metrics",
        "dimensions": [cloudwatch.CfnAlarm.DimensionProperty(name="Endpoint", value="e")],
        "statistic": "Maximum",
        "period": 3600,
        "alarm_description": 'feature "age" drifted from its baseline: ü, \\, \n',
        "treat_missing_data": "notBreaching",
    }


def _typed(scope: Construct, topic_arn: str) -> None:
    cloudwatch.CfnAlarm(
        Construct(scope, "Drift/age"), "Resource", alarm_actions=[topic_arn], **_alarm_props()
    )
    cloudwatch.CfnDashboard(
        Construct(scope, "Dashboard"),
        "Resource",
        dashboard_name="d",
        dashboard_body=json.dumps({"region": cdk.Aws.REGION}),
    )


def _included(scope: Construct, topic_arn: str) -> None:
    included = IncludedResources(scope)
    props = _alarm_props()
    included.add(
        ("Drift/age", "Resource"),
        "AWS::CloudWatch::Alarm",
        {
            "AlarmActions": [topic_arn],
            "AlarmDescription": props["alarm_description"],
            "ComparisonOperator": props["comparison_operator"],
            "DatapointsToAlarm": 1,
            "EvaluationPeriods": 1,
            "Threshold": props["threshold"],
            "TreatMissingData": props["treat_missing_data"],
            "Namespace": props["namespace"],
            "MetricName": props["metric_name"],
            "Dimensions": [{"Name": "Endpoint", "Value": "e"}],
            "Statistic": "Maximum",
            "Period": 3600,
        },
    )
    included.add(
        ("Dashboard", "Resource"),
        "AWS::CloudWatch::Dashboard",
        {"DashboardName": "d", "DashboardBody": json.dumps({"region": cdk.Aws.REGION})},
    )
    include = included.create("Resources")
    alarm = include.get_resource(included.logical_ids[0])
    assert isinstance(alarm, cloudwatch.CfnAlarm)


def _synth(build: Any, outdir: Path) -> dict[str, Any]:
    app = cdk.App(outdir=str(outdir), context=cdk_context(**CONTEXT))
    stack = cdk.Stack(
        app, "Models", env=cdk.Environment(account="111122223333", region="eu-west-1")
    )
    topic = sns.Topic(stack, "Alerts")
    model = Construct(stack, "Model")
    cdk.Tags.of(model).add("governance:model", "m")
    build(Construct(model, "Alarms"), topic.topic_arn)
    cdk.Tags.of(app).add("cost-centre", "ml-platform")
    app.synth()
    template: dict[str, Any] = json.loads((outdir / "Models.template.json").read_text())
    # The analytics name the construct classes used; nothing else may differ.
    template["Resources"] = {
        k: v for k, v in template["Resources"].items() if v["Type"] != "AWS::CDK::Metadata"
    }
    return template


def test_included_resources_synthesize_exactly_what_the_l1s_at_those_paths_do(
    tmp_path: Path,
) -> None:
    # Given an alarm (a token in its actions, a sanitized id in its path) and a dashboard (a
    # token in its body), as L1s under wrapper constructs and through one include
    typed = _synth(_typed, tmp_path / "typed")
    included = _synth(_included, tmp_path / "included")

    # Then the templates are the same byte for byte: logical ids, properties, tags from the
    # aspects, the construct path in the metadata, the order of the resources
    assert json.dumps(included) == json.dumps(typed)
    alarm = next(r for r in typed["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm")
    assert alarm["Metadata"] == {"aws:cdk:path": "Models/Model/Alarms/Drift--age/Resource"}
    assert alarm["Properties"]["Tags"] == [
        {"Key": "cost-centre", "Value": "ml-platform"},
        {"Key": "governance:model", "Value": "m"},
    ]
    assert list(alarm["Properties"]["AlarmActions"][0]) == ["Ref"]


def test_a_second_resource_at_the_same_path_is_refused() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    included = IncludedResources(Construct(stack, "Alarms"))
    included.add(("A", "Resource"), "AWS::SNS::Topic", {})
    with pytest.raises(ValueError, match="already a resource at S/Alarms/A/Resource"):
        included.add(("A", "Resource"), "AWS::SNS::Topic", {})

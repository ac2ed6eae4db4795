"""On bare stacks: the monitors of a stack with no account or region (images from a per-region
mapping), and config variants (a custom quality floor, an hourly schedule)."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns

from cdk_constructs.monitoring.engine import ModelMonitorEngine
from cdk_constructs.monitoring.metrics import MonitorAlarms, MonitorMetrics
from config import load_config
from config.model import QualityFloor, Schedule
from stacks.props import monitored_model
from tests.conftest import cdk_context
from tests.monitoring_constructs.test_serving_and_monitors import monitoring_stack


@pytest.fixture(scope="module")
def agnostic_template() -> dict[str, Any]:
    """One model's Model Monitor jobs on a bare stack with no account or region, and only what
    the monitors need: the endpoint they watch and the shared network, keys, buckets and role."""
    config = load_config()
    high_risk = config.models[0]  # all four monitors: the model-monitor and clarify images
    app = cdk.App(context=cdk_context())
    stack = cdk.Stack(app, "Agnostic")  # no env: account and region are tokens
    shared = monitoring_stack(stack)
    model = high_risk.for_environment(
        config.environments[0],
        partition=stack.partition,
        region=stack.region,
        account=stack.account,
    )
    ModelMonitorEngine().deploy(
        stack,
        model=monitored_model(model, config.governance),
        endpoint=shared.endpoint(f"{model.name}-endpoint", model, "prod"),
        resources=shared.resources(),
    )
    template: dict[str, Any] = app.synth().get_stack_by_name("Agnostic").template
    return template


@pytest.fixture(scope="module")
def models_template() -> dict[str, Any]:
    """Two deployed models in their variants on one bare stack: what a models stack holds for
    them (endpoints, Model Monitor jobs, alarms), without the rest of the app."""
    base = load_config()
    credit, churn = base.models[0], base.models[1]
    assert churn.deployment is not None
    churn = churn.model_copy(
        update={
            "deployment": churn.deployment.model_copy(
                update={"model_quality_floor": QualityFloor(metric="f1", minimum=0.6)}
            ),
            # Hourly model quality: its run (merge job + monitoring job) gets half the hour.
            "monitoring": churn.monitoring.model_copy(
                update={"model_quality": Schedule(schedule="cron(0 * ? * * *)")}
            ),
        }
    )
    environment = base.environments[0]
    app = cdk.App(context=cdk_context())
    stack = cdk.Stack(
        app,
        "Variants",
        env=cdk.Environment(account=environment.account, region=environment.region),
    )
    shared = monitoring_stack(stack, zones=[f"{environment.region}a", f"{environment.region}b"])
    topic = sns.Topic(stack, "Alerts")
    for configured in (credit, churn):
        model = configured.for_environment(
            environment, partition=stack.partition, region=stack.region, account=stack.account
        )
        endpoint = shared.endpoint(f"{model.name}-endpoint", model, "prod")
        monitored = monitored_model(model, base.governance)
        deployed = ModelMonitorEngine().deploy(
            stack, model=monitored, endpoint=endpoint, resources=shared.resources()
        )
        MonitorAlarms(
            stack,
            f"{model.name}-alarms",
            model=monitored,
            metrics=MonitorMetrics(
                endpoint_name=deployed.endpoint_name,
                schedule_names={m.monitor_type: m.schedule_name for m in deployed.monitors},
            ),
            topic=topic,
        )
    template: dict[str, Any] = app.synth().get_stack_by_name("Variants").template
    return template


def test_monitor_images_come_from_a_region_mapping(agnostic_template: dict[str, Any]) -> None:
    mappings = agnostic_template.get("Mappings", {})
    assert len(mappings) == 2  # model-monitor and clarify images
    for mapping in mappings.values():
        assert "eu-west-1" in mapping
        assert len(mapping) > 20
    job = next(
        r
        for r in agnostic_template["Resources"].values()
        if r["Type"] == "AWS::SageMaker::DataQualityJobDefinition"
    )
    image = job["Properties"]["DataQualityAppSpecification"]["ImageUri"]
    assert "Fn::FindInMap" in json.dumps(image)
    assert json.dumps(image).count("AWS::Region") == 1


def test_configured_quality_floor_replaces_the_default(models_template: dict[str, Any]) -> None:
    quality = {
        a["Properties"]["MetricName"]: a["Properties"]
        for a in models_template["Resources"].values()
        if a["Type"] == "AWS::CloudWatch::Alarm"
        and a["Properties"].get("Namespace") == "aws/sagemaker/Endpoints/model-metrics"
        and a["Properties"]["Statistic"] != "SampleCount"  # not the "no results" alarms
    }
    # credit-default keeps the binary default (auc >= 0.7); churn uses its configured f1 >= 0.6
    assert quality["auc"]["Threshold"] == 0.7
    assert quality["f1"]["Threshold"] == 0.6
    assert quality["f1"]["ComparisonOperator"] == "LessThanThreshold"


def test_job_runtime_fits_each_schedule(models_template: dict[str, Any]) -> None:
    runtimes = {
        (_model_tag(job), job["Type"]): job["Properties"]["StoppingCondition"][
            "MaxRuntimeInSeconds"
        ]
        for job in models_template["Resources"].values()
        if job["Type"].endswith("JobDefinition")
    }
    # botocore MonitoringStoppingCondition: hourly model quality / bias up to 1800 s
    assert runtimes[("churn-propensity", "AWS::SageMaker::ModelQualityJobDefinition")] == 1800
    assert runtimes[("churn-propensity", "AWS::SageMaker::DataQualityJobDefinition")] == 3600
    assert runtimes[("credit-default", "AWS::SageMaker::ModelQualityJobDefinition")] == 3600


def _model_tag(resource: dict[str, Any]) -> str:
    tags = {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}
    return tags["governance:model"]

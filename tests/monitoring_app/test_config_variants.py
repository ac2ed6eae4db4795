"""Config variants in one synth: no account/region (per-region images), a custom quality floor."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from config import load_config
from config.model import QualityFloor, Schedule
from stacks.governance_app import build_governance
from tests.conftest import cdk_context


@pytest.fixture(scope="module")
def models_template() -> dict[str, Any]:
    base = load_config()
    churn = base.models[1]
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
    agnostic = base.model_copy(
        update={
            "environments": [
                base.environments[0].model_copy(update={"account": None, "region": None})
            ],
            "models": [base.models[0], churn],
        }
    )
    app = cdk.App(context=cdk_context())
    (built,) = build_governance(app, agnostic)
    (models_stack,) = built.model_stacks
    template: dict[str, Any] = Template.from_stack(models_stack).to_json()
    return template


def test_monitor_images_come_from_a_region_mapping(models_template: dict[str, Any]) -> None:
    mappings = models_template.get("Mappings", {})
    assert len(mappings) == 2  # model-monitor and clarify images
    for mapping in mappings.values():
        assert "eu-west-1" in mapping
        assert len(mapping) > 20
    job = next(
        r
        for r in models_template["Resources"].values()
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

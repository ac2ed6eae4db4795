"""Serving and monitoring of the default app's deployed models, as synthesized."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cdk_constructs import tags
from config import load_config
from config.model import ModelConfig
from governance.contracts.parameters import parse_endpoint_governance
from tests.conftest import REPO, Assembly

EVENTS = REPO / "tests" / "events" / "monitoring"

MODELS = "example-bank-prod-models-00"
CONFIG = load_config()
DEPLOYED = [m for m in CONFIG.models if m.deployment is not None]
TYPES = {
    "data_quality": "DataQuality",
    "model_quality": "ModelQuality",
    "bias": "ModelBias",
    "explainability": "ModelExplainability",
}


def _of_model(assembly: Assembly, cfn_type: str, model: ModelConfig) -> list[dict[str, Any]]:
    return [
        r
        for r in assembly.resources(cfn_type).values()
        if {"Key": tags.MODEL, "Value": model.name} in r["Properties"].get("Tags", [])
    ]


@pytest.mark.parametrize("model", DEPLOYED, ids=lambda m: m.name)
def test_each_deployed_model_has_one_isolated_endpoint(
    default_assembly: Assembly, model: ModelConfig
) -> None:
    (endpoint,) = _of_model(default_assembly, "AWS::SageMaker::Endpoint", model)
    assert endpoint["Properties"]["EndpointName"] == f"{model.name}-prod"
    (sm_model,) = _of_model(default_assembly, "AWS::SageMaker::Model", model)
    assert sm_model["Properties"]["EnableNetworkIsolation"] is True
    assert sm_model["Properties"]["VpcConfig"]["Subnets"]
    container = (
        sm_model["Properties"].get("PrimaryContainer") or sm_model["Properties"]["Containers"][0]
    )
    assert model.deployment is not None
    assert container["ModelPackageName"] == model.deployment.model_package_arn
    (config,) = _of_model(default_assembly, "AWS::SageMaker::EndpointConfig", model)
    capture = config["Properties"]["DataCaptureConfig"]
    assert capture["InitialSamplingPercentage"] == model.deployment.data_capture_percentage
    assert "KmsKeyId" in capture
    assert "KmsKeyId" in config["Properties"]  # neither default instance type is NVMe-backed


@pytest.mark.parametrize("model", DEPLOYED, ids=lambda m: m.name)
def test_enabled_monitors_are_scheduled_from_config(
    default_assembly: Assembly, model: ModelConfig
) -> None:
    schedules = _of_model(default_assembly, "AWS::SageMaker::MonitoringSchedule", model)
    scheduled = {
        s["Properties"]["MonitoringScheduleConfig"]["MonitoringType"]: s["Properties"][
            "MonitoringScheduleConfig"
        ]["ScheduleConfig"]["ScheduleExpression"]
        for s in schedules
    }
    expected = {
        TYPES[name]: getattr(model.monitoring, name).schedule
        for name in TYPES
        if getattr(model.monitoring, name).enabled
    }
    assert scheduled == expected


def test_high_risk_model_has_all_four_monitors(default_assembly: Assembly) -> None:
    credit = next(m for m in CONFIG.models if m.risk_tier.value == "high")
    schedules = _of_model(default_assembly, "AWS::SageMaker::MonitoringSchedule", credit)
    assert len(schedules) == 4


@pytest.mark.parametrize("model", DEPLOYED, ids=lambda m: m.name)
def test_endpoint_parameter_is_what_the_violations_handler_parses(
    default_assembly: Assembly, model: ModelConfig
) -> None:
    (parameter,) = [
        p
        for p in default_assembly.resources("AWS::SSM::Parameter").values()
        if p["Properties"]["Name"] == f"/sagemaker-governance/endpoints/{model.name}-prod"
    ]
    governance = parse_endpoint_governance(
        parameter["Properties"]["Value"],
        parameter=parameter["Properties"]["Name"],
        endpoint=f"{model.name}-prod",
    )
    assert governance.model_name == model.name
    assert {m.value for m in governance.monitors} == {
        name for name in TYPES if getattr(model.monitoring, name).enabled
    }


@pytest.mark.parametrize("model", DEPLOYED, ids=lambda m: m.name)
def test_alarms_watch_each_model_and_notify_the_topic(
    default_assembly: Assembly, model: ModelConfig
) -> None:
    alarms = [
        a
        for a in default_assembly.templates[MODELS]["Resources"].values()
        if a["Type"] == "AWS::CloudWatch::Alarm"
        and f"{model.name}-prod" in json.dumps(a["Properties"].get("Dimensions", []))
    ]
    features = [f.name for f in model.dataset_schema.features]
    drift = {
        a["Properties"]["MetricName"]
        for a in alarms
        if a["Properties"]["MetricName"].startswith("feature_baseline_drift_")
    }
    assert drift == {f"feature_baseline_drift_{f}" for f in features}
    assert all(a["Properties"]["AlarmActions"] for a in alarms)
    thresholds = [a for a in alarms if a["Properties"]["Statistic"] != "SampleCount"]
    if model.monitoring.bias.enabled:
        bias = [a for a in thresholds if a["Properties"]["MetricName"].startswith("bias_metric_")]
        assert len(bias) == 2 * len(CONFIG.governance.bias_thresholds)
    # And one "no results" alarm per enabled monitor, missing data breaching
    no_results = [a for a in alarms if a["Properties"].get("TreatMissingData") == "breaching"]
    assert len(no_results) == sum(getattr(model.monitoring, t).enabled for t in TYPES)


# What Model Monitor and Clarify publish per namespace (real-time endpoints): the data-quality
# set is the one the SageMaker SDK's data-quality dashboard queries
# ({aws/sagemaker/Endpoints/data-metrics,Endpoint,Feature,MonitoringSchedule}); model quality as
# its model-quality dashboard; bias and feature attribution as the developer guide's
# "CloudWatch Metrics for Bias Drift Analysis" / "... for Feature Drift Analysis" list them.
PUBLISHED_DIMENSIONS = {
    "aws/sagemaker/Endpoints/data-metrics": {"Endpoint", "Feature", "MonitoringSchedule"},
    "aws/sagemaker/Endpoints/model-metrics": {"Endpoint", "MonitoringSchedule"},
    "aws/sagemaker/Endpoints/bias-metrics": {
        "Endpoint",
        "MonitoringSchedule",
        "BiasStage",
        "Label",
        "LabelValue",
        "Facet",
        "FacetValue",
    },
    "aws/sagemaker/Endpoints/explainability-metrics": {
        "Endpoint",
        "MonitoringSchedule",
        "ExplainabilityMethod",
        "Label",
        "ValueType",
    },
}


def test_every_monitor_alarm_names_exactly_the_published_dimensions(
    default_assembly: Assembly,
) -> None:
    monitor_alarms = [
        a["Properties"]
        for a in default_assembly.resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace", "").startswith("aws/sagemaker/Endpoints/")
    ]
    assert {a["Namespace"] for a in monitor_alarms} == set(PUBLISHED_DIMENSIONS)
    for alarm in monitor_alarms:
        # CloudWatch matches a metric only by its full dimension set
        names = [d["Name"] for d in alarm["Dimensions"]]
        assert sorted(names) == sorted(PUBLISHED_DIMENSIONS[alarm["Namespace"]]), alarm


def _monitoring_runs_rule(assembly: Assembly) -> dict[str, Any]:
    (rule,) = [
        r["Properties"]
        for r in assembly.resources("AWS::Events::Rule").values()
        if r["Properties"]["EventPattern"].get("detail-type")
        == ["SageMaker Processing Job State Change"]
    ]
    return rule


@pytest.mark.parametrize(
    ("status", "routed"),
    [("Failed", True), ("Stopped", True), ("Completed", True), ("InProgress", False)],
)
def test_failed_and_stopped_runs_reach_the_violations_handler(
    default_assembly: Assembly, status: str, routed: bool
) -> None:
    from moto.events.models import EventPattern

    # Given the one environment-wide rule for processing-job state changes
    rule = _monitoring_runs_rule(default_assembly)
    pattern = EventPattern.load(json.dumps(rule["EventPattern"]))
    event = json.loads((EVENTS / "event-failed-execution.json").read_text())
    event["detail"]["ProcessingJobStatus"] = status
    # Then a run that ended routes to the violations handler, whatever the event carries
    del event["detail"]["MonitoringScheduleArn"]
    assert pattern.matches_event(event) is routed
    (target,) = rule["Targets"]
    assert "MonitoringViolations" in json.dumps(target["Arn"])
    assert "DeadLetterConfig" in target


@pytest.mark.parametrize(
    ("status", "routed"),
    [("Failed", True), ("Stopped", True), ("Succeeded", False), ("Executing", False)],
)
def test_failed_and_stopped_pipeline_executions_reach_the_violations_handler(
    default_assembly: Assembly, status: str, routed: bool
) -> None:
    from moto.events.models import EventPattern

    # Given the one environment-wide rule for monitoring pipeline executions (Evidently checks,
    # batch scoring), and the developer guide's "Pipeline execution state change" event
    (rule,) = [
        r["Properties"]
        for r in default_assembly.resources("AWS::Events::Rule").values()
        if r["Properties"]["EventPattern"].get("detail-type")
        == ["SageMaker Model Building Pipeline Execution Status Change"]
    ]
    pattern = EventPattern.load(json.dumps(rule["EventPattern"]))
    event = json.loads((EVENTS / "event-pipeline-execution-failed.json").read_text())
    event["detail"]["currentPipelineExecutionStatus"] = status
    # Then a failed or stopped execution routes to the violations handler, with retries and a
    # dead-letter queue; the pattern names only keys the documented event has
    assert pattern.matches_event(event) is routed
    assert set(rule["EventPattern"]["detail"]) <= set(event["detail"])
    (target,) = rule["Targets"]
    assert "MonitoringViolations" in json.dumps(target["Arn"])
    assert "DeadLetterConfig" in target
    assert "RetryPolicy" in target


def test_one_dashboard_per_deployed_model(default_assembly: Assembly) -> None:
    dashboards = default_assembly.resources("AWS::CloudWatch::Dashboard")
    names = sorted(d["Properties"]["DashboardName"] for d in dashboards.values())
    assert names == sorted(f"{m.name}-prod-monitoring" for m in DEPLOYED)

"""GovernedEndpoint, ModelMonitorEngine, baselines and alarms on one bare stack."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import IConstruct

from cdk_constructs.encryption import DataDomain, GovernanceKey
from cdk_constructs.instance_types import has_nvme_storage
from cdk_constructs.monitoring.engine import (
    DeployedMonitors,
    ModelMonitorEngine,
    MonitoringResources,
)
from cdk_constructs.monitoring.images import ImageKind, monitor_image_uri
from cdk_constructs.monitoring.metrics import MonitorAlarms, MonitorMetrics
from cdk_constructs.monitoring.serving import GovernedEndpoint
from cdk_constructs.roles import ManagedPolicyRole
from cdk_constructs.storage import GovernedBucket
from config import GovernanceConfig, ModelConfig, load_config
from stacks.props import monitored_model, served_model
from tests.conftest import cdk_context

REGION = "eu-west-1"
JOB_TYPES = {
    "AWS::SageMaker::DataQualityJobDefinition": "DataQuality",
    "AWS::SageMaker::ModelQualityJobDefinition": "ModelQuality",
    "AWS::SageMaker::ModelBiasJobDefinition": "ModelBias",
    "AWS::SageMaker::ModelExplainabilityJobDefinition": "ModelExplainability",
}
OUTPUT_CONFIG = {
    "AWS::SageMaker::DataQualityJobDefinition": "DataQualityJobOutputConfig",
    "AWS::SageMaker::ModelQualityJobDefinition": "ModelQualityJobOutputConfig",
    "AWS::SageMaker::ModelBiasJobDefinition": "ModelBiasJobOutputConfig",
    "AWS::SageMaker::ModelExplainabilityJobDefinition": "ModelExplainabilityJobOutputConfig",
}
MONITOR_FIELDS = {
    "data_quality": "DataQuality",
    "model_quality": "ModelQuality",
    "bias": "ModelBias",
    "explainability": "ModelExplainability",
}
APP_SPEC = {
    "AWS::SageMaker::DataQualityJobDefinition": "DataQualityAppSpecification",
    "AWS::SageMaker::ModelQualityJobDefinition": "ModelQualityAppSpecification",
    "AWS::SageMaker::ModelBiasJobDefinition": "ModelBiasAppSpecification",
    "AWS::SageMaker::ModelExplainabilityJobDefinition": "ModelExplainabilityAppSpecification",
}


@dataclass(frozen=True)
class Synth:
    template: dict[str, Any]
    stack: cdk.Stack
    deployed: DeployedMonitors
    logical: dict[str, str]  # construct path -> logical id of the named constructs

    def of_type(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.template["Resources"].items() if r["Type"] == cfn_type}

    def one(self, cfn_type: str) -> tuple[str, dict[str, Any]]:
        found = self.of_type(cfn_type)
        assert len(found) == 1, found.keys()
        return next(iter(found.items()))


def _logical(stack: cdk.Stack, construct: IConstruct) -> str:
    return stack.get_logical_id(cast(cdk.CfnElement, construct.node.default_child))


@dataclass(frozen=True)
class MonitoringStack:
    """What a models stack gives its endpoints and monitors, built on a bare stack."""

    vpc: ec2.Vpc
    group: ec2.SecurityGroup
    keys: dict[DataDomain, GovernanceKey]
    capture: GovernedBucket
    reports: GovernedBucket
    execution_role: ManagedPolicyRole
    monitoring_role: ManagedPolicyRole

    def resources(self) -> MonitoringResources:
        return MonitoringResources(
            role=self.monitoring_role,
            subnets=self.vpc.isolated_subnets,
            security_group=self.group,
            key=self.keys[DataDomain.MONITORING],
            reports=self.reports,
            data_capture=self.capture,
            vpc=self.vpc,
        )

    def endpoint(self, construct_id: str, model: ModelConfig, environment: str) -> GovernedEndpoint:
        return GovernedEndpoint(
            self.vpc.stack,
            construct_id,
            served=served_model(model, environment),
            execution_role=self.execution_role,
            subnets=self.vpc.isolated_subnets,
            security_group=self.group,
            storage_key=self.keys[DataDomain.ARTIFACTS],
            data_capture=self.capture,
        )


def monitoring_stack(stack: cdk.Stack, zones: list[str] | None = None) -> MonitoringStack:
    """An isolated VPC (in ``zones``, else two of the region's), keys, buckets and roles."""
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        availability_zones=zones,
        max_azs=None if zones else 2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    group = ec2.SecurityGroup(stack, "JobSg", vpc=vpc, allow_all_outbound=False)
    logs = s3.Bucket(stack, "AccessLogs")
    keys = {
        d: GovernanceKey(stack, d.value, domain=d, alias_prefix="test")
        for d in (DataDomain.ARTIFACTS, DataDomain.DATA_CAPTURE, DataDomain.MONITORING)
    }
    capture = GovernedBucket(
        stack, "DataCapture", key=keys[DataDomain.DATA_CAPTURE], access_logs=logs
    )
    reports = GovernedBucket(stack, "Reports", key=keys[DataDomain.MONITORING], access_logs=logs)
    principal = iam.ServicePrincipal("sagemaker.amazonaws.com")
    execution_role = ManagedPolicyRole(stack, "ExecutionRole", assumed_by=principal)
    monitoring_role = ManagedPolicyRole(stack, "MonitoringRole", assumed_by=principal)
    return MonitoringStack(vpc, group, keys, capture, reports, execution_role, monitoring_role)


def build(model: ModelConfig, config: GovernanceConfig, *, nvme_model: ModelConfig | None) -> Synth:
    app = cdk.App(context=cdk_context())
    stack = cdk.Stack(app, "Monitoring", env=cdk.Environment(account="111122223333", region=REGION))
    shared = monitoring_stack(stack, zones=[f"{REGION}a", f"{REGION}b"])
    keys, capture, reports = shared.keys, shared.capture, shared.reports
    monitoring_role = shared.monitoring_role

    served = shared.endpoint("Endpoint", model, "prod")
    if nvme_model is not None:
        shared.endpoint("NvmeEndpoint", nvme_model, "nvme")
    monitored = monitored_model(model, config.governance)
    deployed = ModelMonitorEngine().deploy(
        stack,
        model=monitored,
        endpoint=served,
        resources=shared.resources(),
    )
    MonitorAlarms(
        stack,
        "Alarms",
        model=monitored,
        metrics=MonitorMetrics(
            endpoint_name=deployed.endpoint_name,
            schedule_names={m.monitor_type: m.schedule_name for m in deployed.monitors},
        ),
        topic=sns.Topic(stack, "Alerts"),
    )
    template = app.synth().get_stack_by_name("Monitoring").template
    logical = {
        "key:monitoring": _logical(stack, keys[DataDomain.MONITORING].key),
        "key:data-capture": _logical(stack, keys[DataDomain.DATA_CAPTURE].key),
        "key:artifacts": _logical(stack, keys[DataDomain.ARTIFACTS].key),
        "role:monitoring": _logical(stack, monitoring_role),
        "bucket:reports": _logical(stack, reports.bucket),
        "bucket:capture": _logical(stack, capture.bucket),
    }
    return Synth(template=template, stack=stack, deployed=deployed, logical=logical)


@pytest.fixture(scope="module")
def config() -> GovernanceConfig:
    return load_config()


@pytest.fixture(scope="module")
def credit(config: GovernanceConfig) -> ModelConfig:
    model = next(m for m in config.models if m.name == "credit-default")
    return model.for_environment(
        config.environments[0], partition="aws", region=REGION, account="111122223333"
    )


@pytest.fixture(scope="module")
def synth(config: GovernanceConfig, credit: ModelConfig) -> Synth:
    assert credit.deployment is not None
    nvme = credit.model_copy(
        update={
            "deployment": credit.deployment.model_copy(update={"instance_type": "ml.g4dn.xlarge"})
        }
    )
    return build(credit, config, nvme_model=nvme)


def _tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}


def _getatt_arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


# -- serving ---------------------------------------------------------------------------------


def test_model_serves_the_package_isolated_in_the_vpc(synth: Synth, credit: ModelConfig) -> None:
    # Given the credit-default deployment, When synthesized, Then each model is isolated in the VPC
    assert credit.deployment is not None
    models = synth.of_type("AWS::SageMaker::Model")
    assert len(models) == 2
    for model in models.values():
        props = model["Properties"]
        assert props["Containers"] == [{"ModelPackageName": credit.deployment.model_package_arn}]
        assert props["EnableNetworkIsolation"] is True
        assert len(props["VpcConfig"]["Subnets"]) == 2
        assert props["VpcConfig"]["SecurityGroupIds"] == [
            {"Fn::GetAtt": [next(iter(synth.of_type("AWS::EC2::SecurityGroup"))), "GroupId"]}
        ]
        assert "ExecutionRoleArn" in props
        assert "ModelName" not in props
        assert _tags(model)["governance:model"] == "credit-default"


def test_endpoint_config_encrypts_and_captures(synth: Synth, credit: ModelConfig) -> None:
    configs = synth.of_type("AWS::SageMaker::EndpointConfig")
    by_type = {
        c["Properties"]["ProductionVariants"][0]["InstanceType"]: c["Properties"]
        for c in configs.values()
    }
    standard = by_type["ml.m5.xlarge"]
    assert standard["KmsKeyId"] == _getatt_arn(synth.logical["key:artifacts"])
    assert standard["ProductionVariants"][0]["InitialInstanceCount"] == 2
    capture = standard["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["InitialSamplingPercentage"] == 50
    assert capture["CaptureOptions"] == [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]
    assert capture["KmsKeyId"] == _getatt_arn(synth.logical["key:data-capture"])
    destination = capture["DestinationS3Uri"]["Fn::Join"][1]
    assert {"Ref": synth.logical["bucket:capture"]} in destination
    assert destination[-1] == "/endpoints/credit-default-prod/"
    assert "EndpointConfigName" not in standard


def test_nvme_instance_type_has_no_storage_key_but_still_encrypted_capture(synth: Synth) -> None:
    configs = synth.of_type("AWS::SageMaker::EndpointConfig")
    nvme = next(
        c["Properties"]
        for c in configs.values()
        if c["Properties"]["ProductionVariants"][0]["InstanceType"] == "ml.g4dn.xlarge"
    )
    assert "KmsKeyId" not in nvme
    assert nvme["DataCaptureConfig"]["KmsKeyId"] == _getatt_arn(synth.logical["key:data-capture"])


@pytest.mark.parametrize(
    ("instance_type", "nvme"),
    [
        ("ml.m5d.large", True),
        ("ml.c5d.xlarge", True),
        ("ml.r5d.2xlarge", True),
        ("ml.g4dn.xlarge", True),
        ("ml.p3dn.24xlarge", True),
        ("ml.m5.xlarge", False),
        ("ml.c5.large", False),
    ],
)
def test_nvme_detection(instance_type: str, nvme: bool) -> None:
    assert has_nvme_storage(instance_type) is nvme


def test_endpoint_named_from_resolved_config_and_tagged(synth: Synth) -> None:
    endpoints = synth.of_type("AWS::SageMaker::Endpoint")
    names = sorted(e["Properties"]["EndpointName"] for e in endpoints.values())
    assert names == ["credit-default-nvme", "credit-default-prod"]
    for endpoint in endpoints.values():
        tags = _tags(endpoint)
        assert tags["governance:model"] == "credit-default"
        assert tags["governance:risk-tier"] == "high"


def test_shared_roles_get_no_per_model_grants(synth: Synth) -> None:
    # The execution and monitoring roles are shared by every model of an environment; the
    # foundation grants them by prefix, so a model adds nothing to their policies.
    policies = {
        **synth.of_type("AWS::IAM::ManagedPolicy"),
        **synth.of_type("AWS::IAM::Policy"),
    }
    assert not [k for k in policies if k.startswith(("ExecutionRole", "MonitoringRole"))]


# -- monitors --------------------------------------------------------------------------------


def test_four_job_definitions_without_physical_names(synth: Synth) -> None:
    for cfn_type in JOB_TYPES:
        _, job = synth.one(cfn_type)
        assert "JobDefinitionName" not in job["Properties"]


@pytest.mark.parametrize("cfn_type", list(JOB_TYPES))
def test_job_definition_security_and_resources(
    synth: Synth, cfn_type: str, credit: ModelConfig
) -> None:
    assert credit.deployment is not None
    _, job = synth.one(cfn_type)
    props = job["Properties"]
    network = props["NetworkConfig"]
    # Clarify's feature-attribution job must reach its shadow endpoint (clarify-vpc)
    assert network["EnableNetworkIsolation"] is (
        cfn_type != "AWS::SageMaker::ModelExplainabilityJobDefinition"
    )
    assert network["EnableInterContainerTrafficEncryption"] is True
    assert len(network["VpcConfig"]["Subnets"]) == 2
    assert len(network["VpcConfig"]["SecurityGroupIds"]) == 1
    cluster = props["JobResources"]["ClusterConfig"]
    monitoring_key = _getatt_arn(synth.logical["key:monitoring"])
    assert cluster["VolumeKmsKeyId"] == monitoring_key
    assert cluster["InstanceType"] == credit.deployment.monitor_instance_type
    output = props[OUTPUT_CONFIG[cfn_type]]
    assert output["KmsKeyId"] == monitoring_key
    s3_uri = output["MonitoringOutputs"][0]["S3Output"]["S3Uri"]["Fn::Join"][1]
    assert {"Ref": synth.logical["bucket:reports"]} in s3_uri
    monitor_type = {v: k for k, v in MONITOR_FIELDS.items()}[JOB_TYPES[cfn_type]]
    assert props["StoppingCondition"] == {
        "MaxRuntimeInSeconds": credit.monitor_max_runtime_seconds(monitor_type)
    }
    assert props["RoleArn"] == _getatt_arn(synth.logical["role:monitoring"])
    kind: ImageKind = (
        "clarify"
        if cfn_type
        in {
            "AWS::SageMaker::ModelBiasJobDefinition",
            "AWS::SageMaker::ModelExplainabilityJobDefinition",
        }
        else "model-monitor"
    )
    assert props[APP_SPEC[cfn_type]]["ImageUri"] == monitor_image_uri(kind, REGION)
    assert props[APP_SPEC[cfn_type]]["Environment"] == {"publish_cloudwatch_metrics": "Enabled"}
    tags = _tags(job)
    assert tags["governance:model"] == "credit-default"
    assert tags["governance:monitor-type"] in {
        "data-quality",
        "model-quality",
        "bias",
        "explainability",
    }


def test_model_quality_and_bias_inputs(synth: Synth, credit: ModelConfig) -> None:
    assert credit.deployment is not None
    _, quality = synth.one("AWS::SageMaker::ModelQualityJobDefinition")
    props = quality["Properties"]
    assert props["ModelQualityAppSpecification"]["ProblemType"] == "BinaryClassification"
    job_input = props["ModelQualityJobInput"]
    assert job_input["GroundTruthS3Input"] == {"S3Uri": credit.deployment.ground_truth_s3_uri}
    assert job_input["EndpointInput"]["EndpointName"] == "credit-default-prod"
    assert job_input["EndpointInput"]["ProbabilityThresholdAttribute"] == 0.5
    _, bias = synth.one("AWS::SageMaker::ModelBiasJobDefinition")
    bias_props = bias["Properties"]
    assert bias_props["ModelBiasJobInput"]["EndpointInput"]["ProbabilityThresholdAttribute"] == 0.5
    config_uri = bias_props["ModelBiasAppSpecification"]["ConfigUri"]
    assert "cdk-hnb659fds-assets" in str(config_uri)
    assert ".json" in str(config_uri)
    _, shap = synth.one("AWS::SageMaker::ModelExplainabilityJobDefinition")
    assert ".json" in str(shap["Properties"]["ModelExplainabilityAppSpecification"]["ConfigUri"])


def test_ground_truth_monitors_read_the_configured_window(
    synth: Synth, credit: ModelConfig
) -> None:
    # Given the credit-default window (-P8D to -P1D), Then model quality and bias carry it
    assert credit.deployment is not None
    window = credit.deployment.ground_truth_window
    expected = (window.start_time_offset, window.end_time_offset)
    assert expected == ("-P8D", "-P1D")
    for cfn_type, job_input in (
        ("AWS::SageMaker::ModelQualityJobDefinition", "ModelQualityJobInput"),
        ("AWS::SageMaker::ModelBiasJobDefinition", "ModelBiasJobInput"),
    ):
        _, job = synth.one(cfn_type)
        endpoint_input = job["Properties"][job_input]["EndpointInput"]
        assert (endpoint_input["StartTimeOffset"], endpoint_input["EndTimeOffset"]) == expected
    # And the monitors without ground truth analyse the last interval as SageMaker defines it
    for cfn_type, job_input in (
        ("AWS::SageMaker::DataQualityJobDefinition", "DataQualityJobInput"),
        ("AWS::SageMaker::ModelExplainabilityJobDefinition", "ModelExplainabilityJobInput"),
    ):
        _, job = synth.one(cfn_type)
        assert "StartTimeOffset" not in job["Properties"][job_input]["EndpointInput"]


def test_baselines_come_from_the_package_custom_resource(synth: Synth, credit: ModelConfig) -> None:
    assert credit.deployment is not None
    baseline_id, baseline = synth.one("Custom::PackageBaselines")
    properties = baseline["Properties"]
    assert properties["ModelPackageArn"] == credit.deployment.model_package_arn
    assert properties["MonitorTypes"] == [
        "data_quality",
        "model_quality",
        "bias",
        "explainability",
    ]
    assert properties["ServiceTimeout"] == "300"  # seconds; CloudFormation allows 1-3600
    ((function_id, function),) = [
        (k, f)
        for k, f in synth.of_type("AWS::Lambda::Function").items()
        if f["Properties"].get("Handler") == "governance.package_baselines.handler"
    ]
    assert function["Properties"]["VpcConfig"]["SubnetIds"]
    assert properties["ServiceToken"] == {"Fn::GetAtt": [function_id, "Arn"]}
    _, data_quality = synth.one("AWS::SageMaker::DataQualityJobDefinition")
    config = data_quality["Properties"]["DataQualityBaselineConfig"]
    assert config["ConstraintsResource"]["S3Uri"] == {
        "Fn::GetAtt": [baseline_id, "DriftCheckBaselines.ModelDataQuality.Constraints.S3Uri"]
    }
    assert config["StatisticsResource"]["S3Uri"] == {
        "Fn::GetAtt": [baseline_id, "DriftCheckBaselines.ModelDataQuality.Statistics.S3Uri"]
    }
    _, bias = synth.one("AWS::SageMaker::ModelBiasJobDefinition")
    assert bias["Properties"]["ModelBiasBaselineConfig"]["ConstraintsResource"]["S3Uri"] == {
        "Fn::GetAtt": [baseline_id, "DriftCheckBaselines.Bias.PostTrainingConstraints.S3Uri"]
    }


def test_package_check_may_describe_the_served_version_only(
    synth: Synth, credit: ModelConfig
) -> None:
    assert credit.deployment is not None
    described = [
        statement
        for policy in synth.of_type("AWS::IAM::ManagedPolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "sagemaker:DescribeModelPackage" in json.dumps(statement["Action"])
    ]
    assert described == [
        {
            "Sid": "DescribeServedPackageVersions",
            "Action": "sagemaker:DescribeModelPackage",
            "Effect": "Allow",
            "Resource": credit.deployment.model_package_arn,
        }
    ]
    # and the grant exists before CloudFormation calls the function
    _, baseline = synth.one("Custom::PackageBaselines")
    (policy_id,) = [
        k
        for k, p in synth.of_type("AWS::IAM::ManagedPolicy").items()
        if "DescribeServedPackageVersions" in json.dumps(p)
    ]
    assert policy_id in baseline["DependsOn"]


def test_nothing_is_served_before_the_package_check(synth: Synth) -> None:
    baseline_id, _ = synth.one("Custom::PackageBaselines")
    served = [
        m
        for m in synth.of_type("AWS::SageMaker::Model").values()
        if baseline_id in m.get("DependsOn", [])
    ]
    # the monitored endpoint's model waits for the check (the NVMe test endpoint has no monitors)
    assert len(served) == 1


def test_schedules_reference_job_definitions_and_depend_on_baselines(
    synth: Synth, credit: ModelConfig
) -> None:
    baseline_id, _ = synth.one("Custom::PackageBaselines")
    jobs = {
        logical: JOB_TYPES[r["Type"]]
        for logical, r in synth.template["Resources"].items()
        if r["Type"] in JOB_TYPES
    }
    schedules = synth.of_type("AWS::SageMaker::MonitoringSchedule")
    assert len(schedules) == 4
    seen = set()
    for schedule in schedules.values():
        props = schedule["Properties"]
        config = props["MonitoringScheduleConfig"]
        name_ref = config["MonitoringJobDefinitionName"]
        job_id = name_ref["Fn::Select"][1]["Fn::Split"][1]["Fn::GetAtt"][0]
        assert jobs[job_id] == config["MonitoringType"]
        assert baseline_id in schedule["DependsOn"]
        assert job_id in schedule["DependsOn"]
        assert props["EndpointName"] == "credit-default-prod"
        monitor = config["MonitoringType"]
        field = {
            "DataQuality": "data_quality",
            "ModelQuality": "model_quality",
            "ModelBias": "bias",
            "ModelExplainability": "explainability",
        }[monitor]
        assert (
            config["ScheduleConfig"]["ScheduleExpression"]
            == getattr(credit.monitoring, field).schedule
        )
        assert props["MonitoringScheduleName"] == f"credit-default-prod-{field.replace('_', '-')}"
        seen.add(monitor)
    assert seen == set(JOB_TYPES.values())


def test_deployed_monitors_description(synth: Synth) -> None:
    assert synth.deployed.monitor_types == (
        "data_quality",
        "model_quality",
        "bias",
        "explainability",
    )
    data_quality = synth.deployed.get("data_quality")
    assert data_quality is not None
    assert data_quality.metric_namespace == "aws/sagemaker/Endpoints/data-metrics"


# -- alarms ----------------------------------------------------------------------------------


def _alarms(synth: Synth) -> list[dict[str, Any]]:
    return [a["Properties"] for a in synth.of_type("AWS::CloudWatch::Alarm").values()]


def _threshold_alarms(synth: Synth) -> list[dict[str, Any]]:
    """Alarms on a metric's value (not the "no results" alarms on its sample count)."""
    return [a for a in _alarms(synth) if a["Statistic"] != "SampleCount"]


def test_feature_drift_alarm_per_feature(synth: Synth, credit: ModelConfig) -> None:
    drift = {
        a["MetricName"]: a
        for a in _threshold_alarms(synth)
        if a.get("Namespace") == "aws/sagemaker/Endpoints/data-metrics"
    }
    assert set(drift) == {
        f"feature_baseline_drift_{f.name}" for f in credit.dataset_schema.features
    }
    alarm = drift["feature_baseline_drift_income"]
    assert alarm["Threshold"] == 0.1
    assert alarm["TreatMissingData"] == "notBreaching"
    # The dimension set the SDK's data-quality dashboard queries: an alarm must name them all.
    assert sorted(alarm["Dimensions"], key=lambda d: d["Name"]) == [
        {"Name": "Endpoint", "Value": "credit-default-prod"},
        {"Name": "Feature", "Value": "income"},
        {"Name": "MonitoringSchedule", "Value": "credit-default-prod-data-quality"},
    ]
    # One run per period: the hourly schedule's interval
    assert alarm["Period"] == 3600


def test_model_quality_and_bias_alarms_follow_policy(
    synth: Synth, config: GovernanceConfig
) -> None:
    alarms = _threshold_alarms(synth)
    quality = [a for a in alarms if a.get("Namespace") == "aws/sagemaker/Endpoints/model-metrics"]
    assert [(a["MetricName"], a["ComparisonOperator"], a["Threshold"]) for a in quality] == [
        ("auc", "LessThanThreshold", 0.7)
    ]
    bias = [a for a in alarms if a.get("Namespace") == "aws/sagemaker/Endpoints/bias-metrics"]
    expected = set()
    for name, interval in config.governance.bias_thresholds.items():
        expected |= {
            (f"bias_metric_{name}", "LessThanThreshold", interval.min),
            (f"bias_metric_{name}", "GreaterThanThreshold", interval.max),
        }
    assert {(a["MetricName"], a["ComparisonOperator"], a["Threshold"]) for a in bias} == expected
    di = next(a for a in bias if a["MetricName"] == "bias_metric_DI")
    assert {"Name": "Facet", "Value": "gender"} in di["Dimensions"]
    assert {"Name": "FacetValue", "Value": "female"} in di["Dimensions"]


def test_every_alarm_alerts_the_topic(synth: Synth) -> None:
    topic_id = next(iter(synth.of_type("AWS::SNS::Topic")))
    for alarm in _alarms(synth):
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]


def test_no_monitor_rule_filters_on_the_schedule_arn(synth: Synth) -> None:
    # The processing-job event is not documented to carry MonitoringScheduleArn; failed and
    # stopped runs reach the violations handler through the environment-wide rule instead.
    assert not synth.of_type("AWS::Events::Rule")
    assert not [a for a in _alarms(synth) if a.get("Namespace") == "AWS/Events"]


def test_each_monitor_alarms_when_it_publishes_nothing(synth: Synth, credit: ModelConfig) -> None:
    no_results = {
        a["Namespace"]: a for a in _alarms(synth) if a.get("TreatMissingData") == "breaching"
    }
    # Given the four monitors of credit-default, Then each has one "no results" alarm
    assert set(no_results) == {
        "aws/sagemaker/Endpoints/data-metrics",
        "aws/sagemaker/Endpoints/model-metrics",
        "aws/sagemaker/Endpoints/bias-metrics",
        "aws/sagemaker/Endpoints/explainability-metrics",
    }
    hours = {
        "aws/sagemaker/Endpoints/data-metrics": 1,  # hourly schedule
        "aws/sagemaker/Endpoints/model-metrics": 24,  # daily schedules
        "aws/sagemaker/Endpoints/bias-metrics": 24,
        "aws/sagemaker/Endpoints/explainability-metrics": 24,
    }
    for namespace, alarm in no_results.items():
        assert alarm["Statistic"] == "SampleCount"
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1)
        assert alarm["Period"] == hours[namespace] * 3600
        # two missed intervals alert; one late run does not
        assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == 2
        assert alarm["Period"] * alarm["EvaluationPeriods"] <= 7 * 86400  # PutMetricAlarm limit
    data = no_results["aws/sagemaker/Endpoints/data-metrics"]
    first = credit.dataset_schema.features[0].name
    assert data["MetricName"] == f"feature_non_null_{first}"
    assert {"Name": "Feature", "Value": first} in data["Dimensions"]
    # And the threshold alarms keep the latest run's verdict for one interval
    quality = [
        a
        for a in _alarms(synth)
        if a.get("MetricName") == "auc" and a["Statistic"] != "SampleCount"
    ]
    assert [a["Period"] for a in quality] == [86400]


def test_dashboard_per_model(synth: Synth) -> None:
    _, dashboard = synth.one("AWS::CloudWatch::Dashboard")
    assert dashboard["Properties"]["DashboardName"] == "credit-default-prod-monitoring"


# -- config changes --------------------------------------------------------------------------


def test_changing_a_monitor_changes_content_never_adds_a_name(
    config: GovernanceConfig, credit: ModelConfig
) -> None:
    # Given the monitor instance type changes, When synthesized again
    assert credit.deployment is not None
    changed = credit.model_copy(
        update={
            "deployment": credit.deployment.model_copy(
                update={"monitor_instance_type": "ml.c5.xlarge"}
            )
        }
    )
    before = build(credit, config, nvme_model=None)
    after = build(changed, config, nvme_model=None)
    # Then each job definition's content differs, and none gains a physical name
    for cfn_type in JOB_TYPES:
        (id_before, job_before), (id_after, job_after) = before.one(cfn_type), after.one(cfn_type)
        assert id_before == id_after
        assert job_before != job_after
        assert "JobDefinitionName" not in job_after["Properties"]


def test_disabled_monitor_has_no_schedule(config: GovernanceConfig) -> None:
    churn = next(m for m in config.models if m.name == "churn-propensity").for_environment(
        config.environments[0], partition="aws", region=REGION, account="111122223333"
    )
    result = build(churn, config, nvme_model=None)
    types = {
        s["Properties"]["MonitoringScheduleConfig"]["MonitoringType"]
        for s in result.of_type("AWS::SageMaker::MonitoringSchedule").values()
    }
    assert types == {"DataQuality", "ModelQuality"}
    assert not result.of_type("AWS::SageMaker::ModelBiasJobDefinition")
    assert not result.of_type("AWS::SageMaker::ModelExplainabilityJobDefinition")

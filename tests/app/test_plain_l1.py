"""L1s built from plain data (cdk_constructs/plain.py) are the typed L1s, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from cdk_constructs import plain
from tests.conftest import cdk_context

SG = "sg-0123456789abcdef0"
# As the CDK CLI synthesizes: path metadata and the AWS::CDK::Metadata analytics resource.
CONTEXT = {"aws:cdk:enable-path-metadata": True, "aws:cdk:version-reporting": True}


def _typed(scope: Construct) -> None:
    ssm.StringParameter(
        scope,
        "Parameter",
        parameter_name="/governance/m",
        string_value="{}",
        description="d",
        tier=ssm.ParameterTier.STANDARD,
    )
    cloudwatch.CfnAlarm(
        Construct(scope, "Drift"),
        "Resource",
        comparison_operator="GreaterThanThreshold",
        evaluation_periods=1,
        threshold=0.1,
        metric_name="feature_baseline_drift_age",
        namespace="aws/sagemaker/Endpoints/data-metrics",
        dimensions=[
            cloudwatch.CfnAlarm.DimensionProperty(name="Endpoint", value="e"),
            cloudwatch.CfnAlarm.DimensionProperty(name="Feature", value="age"),
        ],
        statistic="Maximum",
        period=3600,
        tags=[cdk.CfnTag(key="governance:model", value="m")],
    )
    cls = sagemaker.CfnModelBiasJobDefinition
    cls(
        scope,
        "BiasJobDefinition",
        role_arn="arn:aws:iam::111122223333:role/monitoring",
        job_resources=cls.MonitoringResourcesProperty(
            cluster_config=cls.ClusterConfigProperty(
                instance_count=1, instance_type="ml.m5.xlarge", volume_size_in_gb=30
            )
        ),
        network_config=cls.NetworkConfigProperty(
            enable_network_isolation=True,
            vpc_config=cls.VpcConfigProperty(security_group_ids=[SG], subnets=["subnet-1"]),
        ),
        model_bias_app_specification=cls.ModelBiasAppSpecificationProperty(
            config_uri="s3://bucket/config.json",
            image_uri="image",
            environment={"publish_cloudwatch_metrics": "Enabled", "a": "b"},
        ),
        model_bias_job_input=cls.ModelBiasJobInputProperty(
            endpoint_input=cls.EndpointInputProperty(
                endpoint_name="e", local_path="/opt/ml/processing/input/endpoint"
            ),
            ground_truth_s3_input=cls.MonitoringGroundTruthS3InputProperty(s3_uri="s3://gt/"),
        ),
        model_bias_job_output_config=cls.MonitoringOutputConfigProperty(
            monitoring_outputs=[
                cls.MonitoringOutputProperty(
                    s3_output=cls.S3OutputProperty(local_path="/opt/ml/out", s3_uri="s3://r/")
                )
            ]
        ),
    )


def _plain(scope: Construct) -> None:
    # an L2 whose constructor takes (scope, id, props): its props are recorded in the analytics
    plain.create(
        ssm.StringParameter,
        scope,
        "Parameter",
        {
            "tier": ssm.ParameterTier.STANDARD,
            "stringValue": "{}",
            "parameterName": "/governance/m",
            "description": "d",
        },
    )
    plain.create(
        cloudwatch.CfnAlarm,
        plain.construct(scope, "Drift"),
        "Resource",
        {
            # any order: each struct's fields are put in the typed path's order
            "period": 3600,
            "comparisonOperator": "GreaterThanThreshold",
            "evaluationPeriods": 1,
            "threshold": 0.1,
            "metricName": "feature_baseline_drift_age",
            "namespace": "aws/sagemaker/Endpoints/data-metrics",
            "dimensions": [{"value": "e", "name": "Endpoint"}, {"name": "Feature", "value": "age"}],
            "statistic": "Maximum",
            "unit": None,
            "tags": plain.tags([cdk.CfnTag(key="governance:model", value="m")]),
        },
    )
    plain.create(
        sagemaker.CfnModelBiasJobDefinition,
        scope,
        "BiasJobDefinition",
        {
            "roleArn": "arn:aws:iam::111122223333:role/monitoring",
            "jobResources": {
                "clusterConfig": {
                    "volumeSizeInGb": 30,
                    "instanceCount": 1,
                    "instanceType": "ml.m5.xlarge",
                }
            },
            "networkConfig": {
                "vpcConfig": {"subnets": ["subnet-1"], "securityGroupIds": [SG]},
                "enableNetworkIsolation": True,
            },
            "modelBiasAppSpecification": {
                "imageUri": "image",
                "configUri": "s3://bucket/config.json",
                # a map, not a struct: its order is kept
                "environment": {"publish_cloudwatch_metrics": "Enabled", "a": "b"},
            },
            "modelBiasJobInput": {
                "groundTruthS3Input": {"s3Uri": "s3://gt/"},
                "endpointInput": {
                    "localPath": "/opt/ml/processing/input/endpoint",
                    "endpointName": "e",
                },
            },
            "modelBiasJobOutputConfig": {
                "monitoringOutputs": [
                    {"s3Output": {"s3Uri": "s3://r/", "localPath": "/opt/ml/out"}}
                ]
            },
        },
    )


def _synth(build: Any, outdir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    app = cdk.App(outdir=str(outdir), context=cdk_context(**CONTEXT))
    env = cdk.Environment(account="111122223333", region="eu-west-1")
    stack = cdk.Stack(app, "Models", env=env)
    build(Construct(stack, "Model"))
    cdk.Tags.of(app).add("cost-centre", "ml-platform")
    app.synth()
    template = json.loads((outdir / "Models.template.json").read_text())
    tree = json.loads((outdir / "tree.json").read_text())
    return template, tree["tree"]["children"]["Models"]["children"]["Model"]


def test_plain_l1s_synthesize_exactly_what_the_typed_l1s_do(tmp_path: Path) -> None:
    # Given the same parameter, alarm and job definition, typed and as plain data
    typed_template, typed_tree = _synth(_typed, tmp_path / "typed")
    plain_template, plain_tree = _synth(_plain, tmp_path / "plain")

    # Then the templates are the same, tags from the aspect and the CDK analytics included,
    # and so is what tree.json records of each construct (class and props)
    assert plain_template == typed_template
    assert json.dumps(plain_template) == json.dumps(typed_template)
    assert "AWS::CDK::Metadata" in {r["Type"] for r in typed_template["Resources"].values()}
    alarm = next(
        r for r in plain_template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"
    )
    assert alarm["Properties"]["Tags"] == [
        {"Key": "cost-centre", "Value": "ml-platform"},
        {"Key": "governance:model", "Value": "m"},
    ]
    assert json.dumps(plain_tree) == json.dumps(typed_tree)


def test_an_unknown_field_is_refused_with_the_struct_and_the_allowed_fields() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    with pytest.raises(TypeError) as error:
        plain.create(
            cloudwatch.CfnAlarm,
            stack,
            "Alarm",
            {
                "comparisonOperator": "GreaterThanThreshold",
                "evaluationPeriods": 1,
                "dimensions": [{"name": "Endpoint", "valeu": "e"}],
            },
        )
    message = str(error.value)
    assert "CfnAlarm('Alarm').dimensions[0]: DimensionProperty has no field 'valeu'" in message
    assert "(value 'e'); allowed: name, value" in message

    with pytest.raises(TypeError, match=r"CfnAlarmProps has no field 'comparison_operator'"):
        plain.create(cloudwatch.CfnAlarm, stack, "Snake", {"comparison_operator": "x"})


def test_required_fields_and_types_are_still_checked() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    with pytest.raises(TypeError, match=r"dimensions\[0\]: DimensionProperty requires 'value'"):
        plain.create(
            cloudwatch.CfnAlarm,
            stack,
            "NoValue",
            {"comparisonOperator": "x", "evaluationPeriods": 1, "dimensions": [{"name": "n"}]},
        )
    # the jsii runtime checks each value's type, as for the typed constructor
    with pytest.raises(RuntimeError, match="Unable to deserialize"):
        plain.create(
            cloudwatch.CfnAlarm,
            stack,
            "Typed",
            {"comparisonOperator": "x", "evaluationPeriods": "one"},
        )


def test_camel_names_a_python_property_as_jsii_does() -> None:
    assert plain.camel("volume_size_in_gb") == "volumeSizeInGb"
    assert plain.camel("ground_truth_s3_input") == "groundTruthS3Input"
    assert plain.camel("s3_uri") == "s3Uri"

"""Transform-step rules of batch-scoring pipelines (TST1-3), compliant and non-compliant each."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sagemaker as sagemaker

from tests.compliance_rules import builders as b

PACKAGE = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/m/1"


def _model(scope: cdk.Stack, construct_id: str, *, isolated: bool, vpc: bool) -> Any:
    return sagemaker.CfnModel(
        scope,
        construct_id,
        execution_role_arn=b.ROLE,
        containers=[sagemaker.CfnModel.ContainerDefinitionProperty(model_package_name=PACKAGE)],
        enable_network_isolation=isolated,
        vpc_config=sagemaker.CfnModel.VpcConfigProperty(
            subnets=b.SUBNETS, security_group_ids=b.SECURITY_GROUPS
        )
        if vpc
        else None,
    )


def _step(model_name: Any, **changes: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "ModelName": model_name,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://i/m/"}}
        },
        "TransformOutput": {"S3OutputPath": "s3://o/m/", "KmsKeyId": b.KEY},
        "TransformResources": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": 1,
            "VolumeKmsKeyId": b.KEY,
        },
        "DataCaptureConfig": {
            "DestinationS3Uri": "s3://o/m/capture",
            "KmsKeyId": b.KEY,
            "GenerateInferenceId": True,
        },
    }
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = arguments
        for part in parents:
            node = node[part]
        if value is None:
            del node[last]
        else:
            node[last] = value
    return {"Name": "BatchTransform", "Type": "Transform", "Arguments": arguments}


def _pipeline(stack: cdk.Stack, construct_id: str, step: dict[str, Any]) -> None:
    definition = {"Version": "2020-12-01", "Steps": [step]}
    sagemaker.CfnPipeline(
        stack,
        construct_id,
        pipeline_name=construct_id.lower(),
        role_arn=b.ROLE,
        # to_json_string keeps the model's name a reference (an Fn::Join part)
        pipeline_definition={"PipelineDefinitionBody": stack.to_json_string(definition)},
    )


@pytest.fixture(scope="module")
def findings() -> b.Findings:
    # Given batch pipelines whose transform step (or its model) lacks one protection each
    app = cdk.App()
    stack = cdk.Stack(app, "Batch")
    hardened = _model(stack, "Hardened", isolated=True, vpc=True).attr_model_name
    open_model = _model(stack, "Open", isolated=False, vpc=True).attr_model_name
    outside = _model(stack, "Outside", isolated=True, vpc=False).attr_model_name
    _pipeline(stack, "Scoring", _step(hardened))
    _pipeline(
        stack,
        "NvmeScoring",
        _step(
            hardened,
            TransformResources__InstanceType="ml.m5d.xlarge",
            TransformResources__VolumeKmsKeyId=None,
        ),
    )
    _pipeline(stack, "PlainVolume", _step(hardened, TransformResources__VolumeKmsKeyId=None))
    _pipeline(stack, "PlainOutput", _step(hardened, TransformOutput__KmsKeyId=None))
    _pipeline(stack, "NoCapture", _step(hardened, DataCaptureConfig=None))
    _pipeline(stack, "PlainCapture", _step(hardened, DataCaptureConfig__KmsKeyId=None))
    _pipeline(
        stack, "NoInferenceIds", _step(hardened, DataCaptureConfig__GenerateInferenceId=False)
    )
    _pipeline(stack, "OpenModel", _step(open_model))
    _pipeline(stack, "ModelOutsideVpc", _step(outside))
    _pipeline(stack, "ModelByName", _step("a-model-outside-the-app"))
    # When
    return b.run_pack(app)


CASES = [
    ("TST1", "Batch/Scoring", "Batch/PlainVolume"),
    ("TST1", "Batch/NvmeScoring", "Batch/PlainOutput"),
    ("TST2", "Batch/Scoring", "Batch/NoCapture"),
    ("TST2", "Batch/Scoring", "Batch/PlainCapture"),
    ("TST2", "Batch/Scoring", "Batch/NoInferenceIds"),
    ("TST3", "Batch/Scoring", "Batch/OpenModel"),
    ("TST3", "Batch/Scoring", "Batch/ModelOutsideVpc"),
]


@pytest.mark.parametrize(("rule_id", "compliant", "non_compliant"), CASES)
def test_rule_flags_only_the_non_compliant_resource(
    findings: b.Findings, rule_id: str, compliant: str, non_compliant: str
) -> None:
    assert non_compliant in b.flagged(findings, rule_id)
    assert compliant not in b.flagged(findings, rule_id) | b.undecided(findings, rule_id)


def test_a_model_named_outside_the_app_is_undecidable(findings: b.Findings) -> None:
    assert "Batch/ModelByName" in b.undecided(findings, "TST3")
    assert "Batch/ModelByName" not in b.flagged(findings, "TST1") | b.flagged(findings, "TST2")

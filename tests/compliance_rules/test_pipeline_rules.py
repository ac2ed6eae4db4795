"""Processing-step and schedule rules (PPS1-3, SCH1), compliant and non-compliant each."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_scheduler as scheduler

from cdk_constructs.monitoring import evidently_engine
from governance.contracts.vocabulary import ENV_ENDPOINT_NAME, ENV_MONITORING_TYPE
from tests.compliance_rules import builders as b


def _step(**changes: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.m5.xlarge",
                "VolumeSizeInGB": 30,
                "VolumeKmsKeyId": b.KEY,
            }
        },
        "AppSpecification": {"ImageUri": b.IMAGE},
        "RoleArn": b.ROLE,
        "ProcessingOutputConfig": {
            "Outputs": [{"OutputName": "r", "S3Output": {"S3Uri": "s3://r/x", "LocalPath": "/o"}}],
            "KmsKeyId": b.KEY,
        },
        "NetworkConfig": {
            "EnableInterContainerTrafficEncryption": True,
            "EnableNetworkIsolation": False,
            "VpcConfig": {"Subnets": b.SUBNETS, "SecurityGroupIds": b.SECURITY_GROUPS},
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
    return {"Name": "Check", "Type": "Processing", "Arguments": arguments}


def _pipeline(scope: cdk.Stack, construct_id: str, body: Any) -> None:
    sagemaker.CfnPipeline(
        scope,
        construct_id,
        pipeline_name=construct_id.lower(),
        role_arn=b.ROLE,
        pipeline_definition={"PipelineDefinitionBody": body},
    )


def _definition(*steps: dict[str, Any]) -> str:
    return json.dumps({"Version": "2020-12-01", "Steps": list(steps)})


def _schedule(scope: cdk.Stack, construct_id: str, *, dlq: bool, retry: bool) -> None:
    target = scheduler.CfnSchedule.TargetProperty(
        arn="arn:aws:sagemaker:eu-west-1:111111111111:pipeline/p",
        role_arn=b.ROLE,
        dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=b.DLQ)
        if dlq
        else None,
        retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
            maximum_event_age_in_seconds=3600, maximum_retry_attempts=3
        )
        if retry
        else None,
    )
    scheduler.CfnSchedule(
        scope,
        construct_id,
        schedule_expression="cron(0 * ? * * *)",
        flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
        target=target,
    )


APP = "arn:aws:sagemaker:eu-west-1:111111111111:mlflow-app/app-governance01"
CLARIFY_IMAGE = "131013547314.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-clarify-processing:1.0"
SERVER = "arn:aws:sagemaker:eu-west-1:111111111111:mlflow-tracking-server/governance"


def _mlflow_policy(
    scope: cdk.Stack, construct_id: str, actions: tuple[str, ...], resource: str
) -> None:
    iam.CfnManagedPolicy(
        scope,
        construct_id,
        policy_document={
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}],
        },
    )


@pytest.fixture(scope="module")
def findings() -> b.Findings:
    # Given pipelines whose processing step lacks one protection each, and schedules
    app = cdk.App()
    stack = cdk.Stack(app, "Pipelines")
    _pipeline(stack, "Hardened", _definition(_step()))
    # A deploy-time key (Fn::Join around a token) still counts as set.
    key = cdk.Fn.import_value("MonitoringKeyArn")
    joined = stack.to_json_string(json.loads(_definition(_step())) | {"Metadata": {"key": key}})
    _pipeline(stack, "DeployTimeValues", joined)
    _pipeline(stack, "NoVpc", _definition(_step(NetworkConfig__VpcConfig=None)))
    _pipeline(
        stack,
        "PlainTraffic",
        _definition(_step(NetworkConfig__EnableInterContainerTrafficEncryption=False)),
    )
    _pipeline(
        stack,
        "PlainVolume",
        _definition(_step(ProcessingResources__ClusterConfig__VolumeKmsKeyId=None)),
    )
    _pipeline(stack, "PlainOutput", _definition(_step(ProcessingOutputConfig__KmsKeyId=None)))
    # SageMaker Clarify bias steps (PPS3): isolated, not isolated, and an explainability step,
    # which calls its shadow endpoint and is not isolated (not PPS3's business).
    clarify = {
        "AppSpecification": {"ImageUri": CLARIFY_IMAGE},
        "Environment": {ENV_MONITORING_TYPE: "ModelBias"},
    }
    _pipeline(
        stack,
        "ClarifyBiasIsolated",
        _definition(_step(**clarify, NetworkConfig__EnableNetworkIsolation=True)),
    )
    _pipeline(stack, "ClarifyBiasOpen", _definition(_step(**clarify)))
    # The image a deploy-time value: Clarify is known by where it reads its analysis config.
    config_input = [{"S3Input": {"LocalPath": "/opt/ml/processing/input/config"}}]
    _pipeline(
        stack,
        "ClarifyBiasByContract",
        _definition(
            _step(
                AppSpecification={"ImageUri": "<deploy-time value>"},
                Environment={ENV_MONITORING_TYPE: "ModelBias"},
                ProcessingInputs=config_input,
            )
        ),
    )
    _pipeline(
        stack,
        "ClarifyExplainability",
        _definition(
            _step(**{**clarify, "Environment": {ENV_MONITORING_TYPE: "ModelExplainability"}})
        ),
    )
    _pipeline(
        stack,
        "EvidentlyBias",
        _definition(_step(Environment={ENV_MONITORING_TYPE: "ModelBias"})),
    )
    # The insecure step hidden in a condition's branch is found too.
    condition = {
        "Name": "Gate",
        "Type": "Condition",
        "Arguments": {"Conditions": [], "IfSteps": [_step(NetworkConfig__VpcConfig=None)]},
    }
    _pipeline(stack, "NestedNoVpc", _definition(_step(), condition))
    sagemaker.CfnPipeline(
        stack,
        "InS3",
        pipeline_name="ins3",
        role_arn=b.ROLE,
        pipeline_definition={"PipelineDefinitionS3Location": {"Bucket": "b", "Key": "k.json"}},
    )
    _schedule(stack, "Kept", dlq=True, retry=True)
    _schedule(stack, "NoDlq", dlq=False, retry=True)
    _schedule(stack, "NoRetry", dlq=True, retry=False)
    # MLflow logging grants, by kind: on the one tracking server (as the Evidently engine
    # writes it) and on the one App (as the relay's role has it), and too wide or mis-kinded.
    _mlflow_policy(stack, "MlflowOneServer", evidently_engine.MLFLOW_LOGGING_ACTIONS, SERVER)
    _mlflow_policy(stack, "MlflowOneApp", ("sagemaker:CallMlflowAppApi",), APP)
    _mlflow_policy(stack, "MlflowEveryResource", ("sagemaker-mlflow:LogBatch",), "*")
    _mlflow_policy(stack, "MlflowEveryAction", ("sagemaker-mlflow:*",), SERVER)
    _mlflow_policy(
        stack,
        "MlflowEveryServer",
        ("sagemaker-mlflow:LogBatch",),
        SERVER.split("/", maxsplit=1)[0] + "/*",
    )
    _mlflow_policy(stack, "MlflowNotAServer", ("sagemaker-mlflow:LogBatch",), b.ROLE)
    # sagemaker-mlflow actions take no mlflow-app resource: such a grant never applies
    _mlflow_policy(stack, "MlflowServerActionsOnApp", evidently_engine.MLFLOW_LOGGING_ACTIONS, APP)
    _mlflow_policy(stack, "MlflowAppActionOnServer", ("sagemaker:CallMlflowAppApi",), SERVER)
    _mlflow_policy(stack, "MlflowEveryAppCall", ("sagemaker:CallMlflowAppApi",), "*")
    # When
    return b.run_pack(app)


CASES = [
    ("PPS1", "Pipelines/Hardened", "Pipelines/NoVpc"),
    ("PPS1", "Pipelines/DeployTimeValues", "Pipelines/PlainTraffic"),
    ("PPS1", "Pipelines/Hardened", "Pipelines/NestedNoVpc"),
    ("PPS2", "Pipelines/Hardened", "Pipelines/PlainVolume"),
    ("PPS2", "Pipelines/DeployTimeValues", "Pipelines/PlainOutput"),
    ("PPS3", "Pipelines/ClarifyBiasIsolated", "Pipelines/ClarifyBiasOpen"),
    ("PPS3", "Pipelines/ClarifyExplainability", "Pipelines/ClarifyBiasByContract"),
    ("PPS3", "Pipelines/EvidentlyBias", "Pipelines/ClarifyBiasOpen"),
    ("SCH1", "Pipelines/Kept", "Pipelines/NoDlq"),
    ("SCH1", "Pipelines/Kept", "Pipelines/NoRetry"),
    ("MLF1", "Pipelines/MlflowOneServer", "Pipelines/MlflowEveryResource"),
    ("MLF1", "Pipelines/MlflowOneServer", "Pipelines/MlflowEveryAction"),
    ("MLF1", "Pipelines/MlflowOneServer", "Pipelines/MlflowEveryServer"),
    ("MLF1", "Pipelines/MlflowOneServer", "Pipelines/MlflowNotAServer"),
    ("MLF1", "Pipelines/MlflowOneServer", "Pipelines/MlflowServerActionsOnApp"),
    ("MLF1", "Pipelines/MlflowOneApp", "Pipelines/MlflowAppActionOnServer"),
    ("MLF1", "Pipelines/MlflowOneApp", "Pipelines/MlflowEveryAppCall"),
]


@pytest.mark.parametrize(("rule_id", "compliant", "non_compliant"), CASES)
def test_rule_flags_only_the_non_compliant_resource(
    findings: b.Findings, rule_id: str, compliant: str, non_compliant: str
) -> None:
    assert non_compliant in b.flagged(findings, rule_id)
    assert compliant not in b.flagged(findings, rule_id) | b.undecided(findings, rule_id)


def test_a_definition_kept_in_s3_is_undecidable(findings: b.Findings) -> None:
    assert "Pipelines/InS3" in b.undecided(findings, "PPS1")
    assert "Pipelines/InS3" in b.undecided(findings, "PPS2")


def test_governed_pipelines_are_read_from_their_staged_definition(tmp_path: Any) -> None:
    # Given a GovernedPipeline whose SDK definition (kept in S3) has an unencrypted output
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_iam as iam

    from cdk_constructs.encryption import DataDomain, GovernanceKeyReference
    from cdk_constructs.pipelines import governed_pipeline as gp
    from cdk_constructs.storage import GovernedBucketReference

    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(
        app, "Governed", env=cdk.Environment(account="111111111111", region="eu-west-1")
    )
    key = GovernanceKeyReference(stack, "Key", key_arn=b.KEY, domain=DataDomain.ARTIFACTS)
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="jobs", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    for name, step in (
        ("Hardened", _step()),
        ("PlainOutput", _step(ProcessingOutputConfig__KmsKeyId=None)),
    ):
        gp.GovernedPipeline(
            stack,
            name,
            pipeline_name=name.lower(),
            definition=gp.PipelineDefinition(_definition(step)),
            bucket=GovernedBucketReference(stack, f"{name}Bucket", bucket_name="governed", key=key),
            publisher=iam.Role.from_role_arn(stack, f"{name}Publisher", b.ROLE, mutable=False),
            vpc=vpc,
            subnets=vpc.isolated_subnets,
            security_groups=[ec2.SecurityGroup(stack, f"{name}Jobs", vpc=vpc)],
        )
    # When the pack runs, Then the step in S3 is judged like an inline one
    findings = b.run_pack(app)
    assert "Governed/PlainOutput/Resource" in b.flagged(findings, "PPS2")
    assert "Governed/Hardened/Resource" not in b.flagged(findings, "PPS2") | b.undecided(
        findings, "PPS2"
    )


def _monitoring_pipeline(
    scope: cdk.Stack, construct_id: str, endpoint: str, kind: str, *, scheduled: bool
) -> None:
    step = _step()
    step["Arguments"]["Environment"] = {
        ENV_ENDPOINT_NAME: endpoint,
        ENV_MONITORING_TYPE: kind,
    }
    name = f"{endpoint}-{kind.lower()}"
    sagemaker.CfnPipeline(
        scope,
        construct_id,
        pipeline_name=name,
        role_arn=b.ROLE,
        pipeline_definition={"PipelineDefinitionBody": _definition(step)},
    )
    if scheduled:
        scheduler.CfnSchedule(
            scope,
            f"{construct_id}Schedule",
            schedule_expression="cron(0 * ? * * *)",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=f"arn:aws:sagemaker:eu-west-1:111111111111:pipeline/{name}", role_arn=b.ROLE
            ),
        )


def test_scheduled_evidently_checks_count_as_the_endpoints_monitors() -> None:
    # Given two low-risk endpoints with data- and model-quality check pipelines, one of them
    # with a check that nothing schedules
    app = cdk.App()
    stack = cdk.Stack(app, "Evidently")
    for endpoint, scheduled in (("churn-ev", True), ("churn-unscheduled", False)):
        b.endpoint(stack, endpoint, model="churn", tier="low", name=endpoint)
        _monitoring_pipeline(stack, f"{endpoint}-dq", endpoint, "DataQuality", scheduled=True)
        _monitoring_pipeline(stack, f"{endpoint}-mq", endpoint, "ModelQuality", scheduled=scheduled)
    # When the pack runs
    findings = b.run_pack(app)
    # Then only the endpoint whose checks all run on a schedule is monitored
    assert b.flagged(findings, "EP1") == {"Evidently/churn-unscheduled"}

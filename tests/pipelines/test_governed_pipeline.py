"""GovernedPipeline on a bare stack: definition asset, pipeline, roles and schedule."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs

from cdk_constructs.encryption import DataDomain, GovernanceKeyReference
from cdk_constructs.pipelines.governed_pipeline import (
    DEFINITION_METADATA_KEY,
    DEFINITIONS_PREFIX,
    GovernedPipeline,
    PipelineDefinition,
    PipelineSchedule,
    ScheduleDeadLetters,
)
from cdk_constructs.pipelines.schedules import schedule_expression_problem
from cdk_constructs.storage import GovernedBucketReference
from tests.conftest import cdk_context
from tests.pipelines.schemas import schema_errors

ACCOUNT = "111111111111"
DEFINITION = json.dumps(
    {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "InputData", "Type": "String"}],
        "Steps": [{"Name": "Noop", "Type": "Fail", "Arguments": {"ErrorMessage": "x"}}],
    }
)


@dataclass(frozen=True)
class Synth:
    outdir: Path
    template: dict[str, Any]

    def of_type(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.template["Resources"].items()
            if resource["Type"] == cfn_type
        }

    def one(self, cfn_type: str) -> dict[str, Any]:
        found = list(self.of_type(cfn_type).values())
        assert len(found) == 1, f"{len(found)} {cfn_type}"
        return found[0]


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(outdir=str(outdir), context=cdk_context())
    stack = cdk.Stack(app, "Pipelines", env=cdk.Environment(account=ACCOUNT, region="eu-west-1"))
    key = GovernanceKeyReference(
        stack,
        "Key",
        key_arn=f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/artifacts",
        domain=DataDomain.ARTIFACTS,
    )
    bucket = GovernedBucketReference(stack, "Artifacts", bucket_name="governed", key=key)
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="jobs", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    queue = sqs.Queue(stack, "Dlq")
    GovernedPipeline(
        stack,
        "Training",
        pipeline_name="credit-risk-training",
        definition=PipelineDefinition(DEFINITION),
        bucket=bucket,
        publisher=iam.Role.from_role_arn(
            stack, "Publisher", f"arn:aws:iam::{ACCOUNT}:role/publisher", mutable=False
        ),
        vpc=vpc,
        subnets=vpc.isolated_subnets,
        security_groups=[ec2.SecurityGroup(stack, "Jobs", vpc=vpc)],
        description="Trains credit-risk",
        schedule=PipelineSchedule("cron(0 3 ? * MON *)", parameters={"InputData": "s3://x/y"}),
        dead_letters=ScheduleDeadLetters(queue=queue, key=key),
        tags={"governance:model": "credit-risk"},
        files={
            f"{DEFINITIONS_PREFIX}credit-risk-training/files/abc/evaluate.py": "print('evaluate')"
        },
    )
    app.synth()
    return Synth(outdir, json.loads((outdir / "Pipelines.template.json").read_text()))


def test_the_definition_is_read_from_the_governed_bucket_by_content_address(synth: Synth) -> None:
    # Given the synthesized pipeline
    pipeline = synth.one("AWS::SageMaker::Pipeline")["Properties"]
    location = pipeline["PipelineDefinition"]["PipelineDefinitionS3Location"]
    # Then it reads pipelines/<name>/<sha256>.json of the governed bucket
    digest = hashlib.sha256(DEFINITION.encode()).hexdigest()
    assert location == {
        "Bucket": "governed",
        "Key": f"{DEFINITIONS_PREFIX}credit-risk-training/{digest}.json",
    }


def test_the_copy_puts_the_staged_definition_there_and_keeps_old_ones(synth: Synth) -> None:
    deployment = synth.one("Custom::CDKBucketDeployment")["Properties"]
    assert deployment["DestinationBucketName"] == "governed"
    assert deployment["DestinationBucketKeyPrefix"] == f"{DEFINITIONS_PREFIX}credit-risk-training/"
    assert deployment["Prune"] is False
    assert deployment["RetainOnDelete"] is True
    assert deployment["SystemMetadata"]["sse"] == "aws:kms"
    assert deployment["SystemMetadata"]["sse-kms-key-id"].endswith(":key/artifacts")
    # And the first staged source (what the bucket will hold) is the SDK's JSON byte for byte
    metadata = synth.one("AWS::SageMaker::Pipeline")["Metadata"][DEFINITION_METADATA_KEY]
    first = deployment["SourceObjectKeys"][0].removesuffix(".zip")
    staged = synth.outdir / f"asset.{first}" / metadata["file"]
    assert staged.read_text() == DEFINITION
    assert metadata["sha256"] == hashlib.sha256(staged.read_bytes()).hexdigest()


def test_files_the_definition_reads_are_published_beside_it(synth: Synth) -> None:
    deployment = synth.one("Custom::CDKBucketDeployment")["Properties"]
    assert len(deployment["SourceObjectKeys"]) == 2
    second = deployment["SourceObjectKeys"][1].removesuffix(".zip")
    assert (synth.outdir / f"asset.{second}" / "files" / "abc" / "evaluate.py").read_text() == (
        "print('evaluate')"
    )


def test_the_pipeline_waits_for_its_definition(synth: Synth) -> None:
    (deployment_id,) = synth.of_type("Custom::CDKBucketDeployment")
    assert deployment_id in synth.one("AWS::SageMaker::Pipeline")["DependsOn"]


def test_the_copy_runs_in_the_vpc_as_the_publisher(synth: Synth) -> None:
    functions = [
        f["Properties"]
        for f in synth.of_type("AWS::Lambda::Function").values()
        if f["Properties"].get("Role") == f"arn:aws:iam::{ACCOUNT}:role/publisher"
    ]
    assert len(functions) == 1
    assert functions[0]["VpcConfig"]["SubnetIds"]


def test_the_execution_role_trusts_sagemaker_pipelines_of_this_account_only(synth: Synth) -> None:
    pipeline = synth.one("AWS::SageMaker::Pipeline")["Properties"]
    role_id = pipeline["RoleArn"]["Fn::GetAtt"][0]
    trust = synth.template["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert ":pipeline/*" in json.dumps(statement["Condition"]["ArnLike"])


def test_tags_reach_the_pipeline_and_its_roles(synth: Synth) -> None:
    pipeline = synth.one("AWS::SageMaker::Pipeline")["Properties"]
    assert {"Key": "governance:model", "Value": "credit-risk"} in pipeline["Tags"]
    for role in synth.of_type("AWS::IAM::Role").values():
        if "Tags" in role["Properties"]:
            assert {"Key": "governance:model", "Value": "credit-risk"} in role["Properties"]["Tags"]


def test_the_schedule_starts_this_pipeline_with_retries_and_a_dead_letter_queue(
    synth: Synth,
) -> None:
    schedule = synth.one("AWS::Scheduler::Schedule")["Properties"]
    target = schedule["Target"]
    assert "pipeline/credit-risk-training" in json.dumps(target["Arn"])
    assert target["SageMakerPipelineParameters"] == {
        "PipelineParameterList": [{"Name": "InputData", "Value": "s3://x/y"}]
    }
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3}
    assert target["DeadLetterConfig"]["Arn"] == {
        "Fn::GetAtt": [next(iter(synth.of_type("AWS::SQS::Queue"))), "Arn"]
    }
    assert schedule["KmsKeyArn"].endswith(":key/artifacts")


def test_the_schedule_role_may_start_only_this_pipeline(synth: Synth) -> None:
    schedule = synth.one("AWS::Scheduler::Schedule")["Properties"]
    role_id = schedule["Target"]["RoleArn"]["Fn::GetAtt"][0]
    role = synth.template["Resources"][role_id]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "scheduler.amazonaws.com"
    }
    policies = [
        p["Properties"]
        for p in synth.of_type("AWS::IAM::ManagedPolicy").values()
        if {"Ref": role_id} in p["Properties"].get("Roles", [])
    ]
    statements = [s for p in policies for s in p["PolicyDocument"]["Statement"]]
    starts = [s for s in statements if "sagemaker:StartPipelineExecution" in json.dumps(s)]
    assert len(starts) == 1
    assert "pipeline/credit-risk-training" in json.dumps(starts[0]["Resource"])
    assert "*" not in json.dumps(starts[0]["Resource"]).replace("Fn::", "")


@pytest.mark.parametrize("cfn_type", ["AWS::SageMaker::Pipeline", "AWS::Scheduler::Schedule"])
def test_resources_validate_against_the_provider_schema(synth: Synth, cfn_type: str) -> None:
    for resource in synth.of_type(cfn_type).values():
        assert schema_errors(cfn_type, resource["Properties"]) == []


def test_the_schema_check_can_fail() -> None:
    errors = schema_errors(
        "AWS::Scheduler::Schedule",
        {
            "ScheduleExpression": "rate(1 day)",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {
                "Arn": "x",
                "RoleArn": "arn:aws:iam::111111111111:role/r",
                "RetryPolicy": {"MaximumRetryAttempts": 500},
            },
        },
    )
    assert any("MaximumRetryAttempts" in e for e in errors)


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 day)",
        "rate(12 hours)",
        "cron(0 3 ? * MON *)",
        "cron(15 10 1 * ? *)",
        "at(2027-01-01T00:00:00)",
    ],
)
def test_accepted_schedule_forms(expression: str) -> None:
    assert schedule_expression_problem(expression) is None


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ("rate(1 days)", "singular"),
        ("rate(2 hour)", "singular"),
        ("rate(0 minutes)", "positive"),
        ("cron(0 3 * * *)", "6 fields"),
        ("cron(0 3 * * MON *)", "exactly one"),
        ("daily", "EventBridge Scheduler accepts"),
    ],
)
def test_refused_schedule_forms_say_why(expression: str, why: str) -> None:
    with pytest.raises(ValueError, match=why) as raised:
        PipelineSchedule(expression)
    assert repr(expression) in str(raised.value)


def test_bad_schedule_parameters_are_named() -> None:
    with pytest.raises(ValueError, match="parameter name 'bad name'"):
        PipelineSchedule("rate(1 day)", parameters={"bad name": "x"})
    with pytest.raises(ValueError, match="max_retries 500"):
        PipelineSchedule("rate(1 day)", max_retries=500)


def test_a_definition_that_is_not_the_sdks_is_refused() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        PipelineDefinition("{")
    with pytest.raises(ValueError, match="'Steps'"):
        PipelineDefinition('{"Version": "2020-12-01"}')


def test_files_outside_the_pipelines_prefix_are_refused() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=cdk.Environment(account=ACCOUNT, region="eu-west-1"))
    key = GovernanceKeyReference(
        stack, "K", key_arn="arn:aws:kms:eu-west-1:1:key/k", domain=DataDomain.ARTIFACTS
    )
    vpc = ec2.Vpc(
        stack,
        "V",
        max_azs=1,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="j", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    with pytest.raises(ValueError, match="files must be kept under 'pipelines/p/'"):
        GovernedPipeline(
            stack,
            "P",
            pipeline_name="p",
            definition=PipelineDefinition(DEFINITION),
            bucket=GovernedBucketReference(stack, "B", bucket_name="b", key=key),
            publisher=iam.Role.from_role_arn(stack, "R", f"arn:aws:iam::{ACCOUNT}:role/r"),
            vpc=vpc,
            subnets=vpc.isolated_subnets,
            security_groups=[],
            files={"models/evil.py": "x"},
        )

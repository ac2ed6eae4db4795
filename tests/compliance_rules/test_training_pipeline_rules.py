"""Training pipeline rules (PIP1-3): definition in a governed bucket, bounded role, hardened job
steps read from the definition (inline, or staged in the cloud assembly)."""

from __future__ import annotations

import copy
import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker

from cdk_constructs.encryption import DataDomain, GovernanceKeyReference
from cdk_constructs.pipelines.governed_pipeline import GovernedPipeline, PipelineDefinition
from tests.compliance_rules import builders as b

KEY = "arn:aws:kms:eu-west-1:123456789012:key/k"
HARDENED = {
    "Version": "2020-12-01",
    "Steps": [
        {
            "Name": "Train",
            "Type": "Training",
            "Arguments": {
                "ResourceConfig": {"VolumeKmsKeyId": KEY},
                "OutputDataConfig": {"KmsKeyId": KEY, "S3OutputPath": "s3://b/models/"},
                "VpcConfig": {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]},
                "EnableNetworkIsolation": True,
                "EnableInterContainerTrafficEncryption": True,
                "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            },
        }
    ],
}


def _unhardened() -> dict[str, Any]:
    definition = copy.deepcopy(HARDENED)
    definition["Steps"][0]["Arguments"]["EnableNetworkIsolation"] = False
    return definition


class _Bucket:
    """What GovernedPipeline needs of a bucket (name and key), over a raw CfnBucket."""

    def __init__(self, scope: cdk.Stack, bucket: s3.CfnBucket) -> None:
        self.bucket_name = bucket.ref
        self.bucket_arn = bucket.attr_arn
        self.key = GovernanceKeyReference(scope, "Key", key_arn=KEY, domain=DataDomain.ARTIFACTS)

    def s3_uri(self, prefix: str = "") -> str:
        return f"s3://{self.bucket_name}/{prefix}"


def _bucket(scope: cdk.Stack, construct_id: str, *, versioned: bool = True) -> s3.CfnBucket:
    return s3.CfnBucket(
        scope,
        construct_id,
        bucket_encryption=s3.CfnBucket.BucketEncryptionProperty(
            server_side_encryption_configuration=[
                s3.CfnBucket.ServerSideEncryptionRuleProperty(
                    server_side_encryption_by_default=s3.CfnBucket.ServerSideEncryptionByDefaultProperty(
                        sse_algorithm="aws:kms", kms_master_key_id=KEY
                    )
                )
            ]
        ),
        versioning_configuration=s3.CfnBucket.VersioningConfigurationProperty(
            status="Enabled" if versioned else "Suspended"
        ),
        public_access_block_configuration=s3.CfnBucket.PublicAccessBlockConfigurationProperty(
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        ),
    )


def _raw_pipeline(
    scope: cdk.Stack, construct_id: str, *, role: Any, definition: dict[str, Any]
) -> sagemaker.CfnPipeline:
    return sagemaker.CfnPipeline(
        scope,
        construct_id,
        pipeline_name=construct_id.lower(),
        role_arn=role,
        pipeline_definition=definition,
    )


@pytest.fixture(scope="module")
def findings() -> b.Findings:
    # Given
    app = cdk.App()
    stack = cdk.Stack(
        app, "Pipelines", env=cdk.Environment(account="123456789012", region="eu-west-1")
    )
    boundary = b.managed_policy(stack, "Boundary", name="org-permissions-boundary")
    bounded = b.role(stack, "Bounded", boundary=boundary.ref)
    unbounded = b.role(stack, "Unbounded")
    governed = _bucket(stack, "Governed")
    unversioned = _bucket(stack, "Unversioned", versioned=False)

    def at(bucket: Any) -> dict[str, Any]:
        return {"PipelineDefinitionS3Location": {"Bucket": bucket, "Key": "pipelines/p/d.json"}}

    _raw_pipeline(stack, "InGoverned", role=bounded.attr_arn, definition=at(governed.ref))
    _raw_pipeline(
        stack,
        "Inline",
        role=bounded.attr_arn,
        definition={"PipelineDefinitionBody": json.dumps(HARDENED)},
    )
    _raw_pipeline(
        stack,
        "InlineUnhardened",
        role=unbounded.attr_arn,
        definition={"PipelineDefinitionBody": json.dumps(_unhardened())},
    )
    # A pipeline that trains nothing (a monitoring engine's checks) is out of PIP1 and PIP3
    checks_only = {
        "Version": "2020-12-01",
        "Steps": [{"Name": "Check", "Type": "Processing", "Arguments": {}}],
    }
    _raw_pipeline(
        stack,
        "ChecksOnly",
        role=bounded.attr_arn,
        definition={"PipelineDefinitionBody": json.dumps(checks_only)},
    )
    _raw_pipeline(stack, "ExternalBucket", role=bounded.attr_arn, definition=at("someone-else"))
    _raw_pipeline(stack, "UnversionedBucket", role=bounded.attr_arn, definition=at(unversioned.ref))
    _raw_pipeline(
        stack,
        "ImportedRole",
        role="arn:aws:iam::123456789012:role/not-in-this-app",
        definition=at(governed.ref),
    )

    # Staged definitions, the way GovernedPipeline ships them
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=1,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="jobs", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    publisher = iam.Role.from_role_arn(stack, "Publisher", "arn:aws:iam::123456789012:role/p")
    role = iam.Role.from_role_arn(stack, "Execution", bounded.attr_arn, mutable=False)
    governed_ref = _Bucket(stack, governed)
    for construct_id, definition in (("Staged", HARDENED), ("StagedUnhardened", _unhardened())):
        GovernedPipeline(
            stack,
            construct_id,
            pipeline_name=construct_id.lower(),
            definition=PipelineDefinition(json.dumps(definition)),
            bucket=governed_ref,  # type: ignore[arg-type]
            publisher=publisher,
            vpc=vpc,
            subnets=vpc.isolated_subnets,
            security_groups=[],
            role=role,
        )
    # When
    return b.run_pack(app)


CASES = [
    ("PIP1", "Pipelines/InGoverned", "Pipelines/ExternalBucket"),
    ("PIP1", "Pipelines/InGoverned", "Pipelines/UnversionedBucket"),
    ("PIP1", "Pipelines/Staged/Resource", "Pipelines/Inline"),
    ("PIP2", "Pipelines/InGoverned", "Pipelines/InlineUnhardened"),
    ("PIP2", "Pipelines/Staged/Resource", "Pipelines/ImportedRole"),
    ("PIP3", "Pipelines/Inline", "Pipelines/InlineUnhardened"),
    ("PIP3", "Pipelines/Staged/Resource", "Pipelines/StagedUnhardened/Resource"),
]


@pytest.mark.parametrize(("rule_id", "compliant", "non_compliant"), CASES)
def test_rule_flags_only_the_non_compliant_pipeline(
    findings: b.Findings, rule_id: str, compliant: str, non_compliant: str
) -> None:
    # Then
    assert non_compliant in b.flagged(findings, rule_id)
    assert compliant not in b.flagged(findings, rule_id) | b.undecided(findings, rule_id)


def test_a_definition_the_rule_cannot_see_is_undecidable(findings: b.Findings) -> None:
    # InGoverned names an S3 object, but nothing in the assembly holds the file
    assert "Pipelines/InGoverned" in b.undecided(findings, "PIP3")
    assert "Pipelines/InGoverned" not in b.flagged(findings, "PIP3")


def test_pipelines_that_train_nothing_are_out_of_scope(findings: b.Findings) -> None:
    for rule_id in ("PIP1", "PIP3"):
        assert "Pipelines/ChecksOnly" not in b.flagged(findings, rule_id)
        assert "Pipelines/ChecksOnly" not in b.undecided(findings, rule_id)

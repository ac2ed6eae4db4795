"""Template reading: intrinsics resolve to the values CloudFormation would deploy."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cdk_constructs.compliance.iam.assembly import CloudAssembly
from cdk_constructs.compliance.iam.errors import AssemblyError, UnresolvableIntrinsic
from cdk_constructs.compliance.iam.intrinsics import Resolver
from cdk_constructs.partitions import partition_of, pseudo_parameters
from config import load_config
from tests.conftest import REPO

PRODUCER = {
    "Parameters": {"Env": {"Type": "String", "Default": "prod"}},
    "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
    "Mappings": {"Images": {"eu-west-1": {"clarify": "131013547314"}}},
    "Resources": {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
        "Named": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "fixed", "Path": "/x/"}},
        "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "alerts"}},
        "Group": {
            "Type": "AWS::SageMaker::ModelPackageGroup",
            "Properties": {"ModelPackageGroupName": "Credit-Default"},
        },
        "Skipped": {"Type": "AWS::SNS::Topic", "Condition": "IsNotProd", "Properties": {}},
    },
    "Outputs": {
        "KeyArn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}, "Export": {"Name": "key-arn"}},
    },
}
CONSUMER = {
    "Resources": {
        "Card": {
            "Type": "AWS::SageMaker::ModelCard",
            "Properties": {
                "SecurityConfig": {
                    "KmsKeyId": {
                        "Fn::GetStackOutput": {
                            "StackName": "producer",
                            "Region": "eu-west-1",
                            "OutputName": "KeyArn",
                        }
                    }
                },
                "Imported": {"Fn::ImportValue": "key-arn"},
            },
        }
    }
}


@pytest.fixture(scope="module")
def resolver() -> Resolver:
    producer = dict(PRODUCER)
    producer["Conditions"] = {
        **PRODUCER["Conditions"],
        "IsNotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
    }
    assembly = CloudAssembly.from_templates(
        {"producer": producer, "consumer": CONSUMER}, account="111122223333", region="eu-west-1"
    )
    return Resolver(assembly)


def r(resolver: Resolver, value: object, stack: str = "producer") -> object:
    return resolver.resolve(stack, value)


def test_pseudo_parameters_and_join(resolver: Resolver) -> None:
    value = {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::", {"Ref": "AWS::AccountId"}]]
    }
    assert r(resolver, value) == "arn:aws:s3:::111122223333"
    assert r(resolver, {"Ref": "AWS::Region"}) == "eu-west-1"
    assert r(resolver, {"Ref": "AWS::URLSuffix"}) == "amazonaws.com"


def test_sub_with_resources_attributes_variables_and_escapes(resolver: Resolver) -> None:
    text = "${AWS::Partition}:${Bucket}:${Key.Arn}:${v}:${!Literal}"
    value = r(resolver, {"Fn::Sub": [text, {"v": {"Ref": "Env"}}]})
    bucket = resolver.resource("producer", "Bucket").name
    key = resolver.resource("producer", "Key").attributes["Arn"]
    assert value == f"aws:{bucket}:{key}:prod:${{Literal}}"


def test_select_split_getazs_if_findinmap_base64(resolver: Resolver) -> None:
    assert r(resolver, {"Fn::Select": [1, {"Fn::Split": ["/", "a/b/c"]}]}) == "b"
    assert r(resolver, {"Fn::Select": [0, {"Fn::GetAZs": ""}]}) == "eu-west-1a"
    assert r(resolver, {"Fn::If": ["IsProd", "yes", "no"]}) == "yes"
    assert r(resolver, {"Fn::FindInMap": ["Images", {"Ref": "AWS::Region"}, "clarify"]}) == (
        "131013547314"
    )
    assert r(resolver, {"Fn::Base64": "hi"}) == "aGk="
    assert r(resolver, {"a": {"Ref": "AWS::NoValue"}, "b": [1, {"Ref": "AWS::NoValue"}]}) == {
        "b": [1]
    }


def test_physical_names_and_arns(resolver: Resolver) -> None:
    role = resolver.resource("producer", "Role")
    assert role.attributes["Arn"] == f"arn:aws:iam::111122223333:role/{role.name}"
    assert role.name.startswith("producer-Role-")
    assert len(role.name) <= 64
    assert resolver.resource("producer", "Named").attributes["Arn"] == (
        "arn:aws:iam::111122223333:role/x/fixed"
    )
    bucket = resolver.resource("producer", "Bucket")
    assert bucket.name == bucket.name.lower()
    queue = resolver.resource("producer", "Queue")
    assert queue.ref == f"https://sqs.eu-west-1.amazonaws.com/111122223333/{queue.name}"
    assert resolver.resource("producer", "Topic").ref == (
        "arn:aws:sns:eu-west-1:111122223333:alerts"
    )
    # SageMaker ARNs carry the name in lower case.
    assert resolver.resource("producer", "Group").ref.endswith(
        ":model-package-group/credit-default"
    )
    # The same resource resolves to the same value every time (deterministic names).
    assert Resolver(resolver.assembly).resource("producer", "Role") == role


def test_cross_stack_references(resolver: Resolver) -> None:
    props = resolver.resolved_properties("consumer", "Card")
    key_arn = resolver.resource("producer", "Key").attributes["Arn"]
    assert props["SecurityConfig"]["KmsKeyId"] == key_arn
    assert props["Imported"] == key_arn


def test_conditions_decide_which_resources_exist(resolver: Resolver) -> None:
    assert resolver.is_created("producer", "Role")
    assert not resolver.is_created("producer", "Skipped")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"Ref": "Nope"}, "Ref to Nope"),
        ({"Fn::GetAtt": ["Key", "Nope"]}, "Fn::GetAtt Key.Nope"),
        ({"Fn::Cidr": ["10.0.0.0/16", 2, 8]}, "Fn::Cidr is not supported"),
        ({"Fn::GetStackOutput": {"StackName": "producer", "OutputName": "Nope"}}, "no output Nope"),
    ],
)
def test_unresolvable_intrinsics_raise_one_clear_error(
    resolver: Resolver, value: object, message: str
) -> None:
    with pytest.raises(UnresolvableIntrinsic, match=message):
        r(resolver, value)
    lenient = Resolver(resolver.assembly, strict=False)
    assert "<unresolved:" in str(lenient.resolve("producer", value))


def test_missing_assembly_is_a_clear_error(tmp_path: object) -> None:
    with pytest.raises(AssemblyError, match=r"manifest.json does not exist"):
        CloudAssembly.load(str(tmp_path))


def test_partitions() -> None:
    assert partition_of("cn-north-1") == "aws-cn"
    assert partition_of("us-gov-west-1") == "aws-us-gov"
    assert partition_of("eu-west-1") == "aws"
    assert partition_of("us-isob-east-1") == "aws-iso-b"
    assert partition_of(None) == "aws"
    # AWS::URLSuffix is the partition's DNS suffix (botocore endpoints.json).
    assert pseudo_parameters("111122223333", "cn-north-1") == {
        "AWS::Partition": "aws-cn",
        "AWS::URLSuffix": "amazonaws.com.cn",
        "AWS::Region": "cn-north-1",
        "AWS::AccountId": "111122223333",
    }
    assert pseudo_parameters(None, "us-iso-east-1")["AWS::URLSuffix"] == "c2s.ic.gov"


# -- on the synthesized app --------------------------------------------------------------------


def test_synthesized_app_resolves_completely(cloud_assembly: CloudAssembly) -> None:
    resolver = Resolver(cloud_assembly)
    for stack in cloud_assembly:
        # Every environment of the default config names its account.
        assert stack.account in {e.account for e in load_config().environments}
        assert stack.execution_role_arn is not None
        assert "${" not in stack.execution_role_arn
        for logical_id in stack.resources:
            resolver.resolved_properties(stack.name, logical_id)  # raises if anything is left


def test_get_stack_output_resolves_to_the_exporting_stack_value(
    cloud_assembly: CloudAssembly,
) -> None:
    resolver = Resolver(cloud_assembly)
    foundations = [s for s in cloud_assembly if s.name.endswith("-foundation")]
    keys = {
        resolver.resource(foundation.name, logical_id).attributes["Arn"]
        for foundation in foundations
        for logical_id, resource in foundation.resources.items()
        if resource["Type"] == "AWS::KMS::Key"
    }
    cards = [
        (stack.name, logical_id)
        for stack in cloud_assembly
        for logical_id, resource in stack.resources.items()
        if resource["Type"] == "AWS::SageMaker::ModelCard"
    ]
    assert cards
    for stack, logical_id in cards:
        raw = cloud_assembly.stack(stack).resources[logical_id]["Properties"]
        assert "Fn::GetStackOutput" in raw["SecurityConfig"]["KmsKeyId"]
        assert resolver.resolved_properties(stack, logical_id)["SecurityConfig"]["KmsKeyId"] in keys


def test_the_package_imports_without_the_cdk() -> None:
    # Pure Python: the report and the limits check reuse it without starting jsii.
    code = (
        "import sys\n"
        "import cdk_constructs.compliance.iam.account, cdk_constructs.compliance.iam.deployer\n"
        "import cdk_constructs.compliance.iam.expectations\n"
        "assert 'aws_cdk' not in sys.modules and 'jsii' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)

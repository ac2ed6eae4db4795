"""Identifiers of shared references are read from the jsii runtime once per object."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam

from cdk_constructs import identifiers
from cdk_constructs.identifiers import identifier


class _Counted:
    def __init__(self, value: object) -> None:
        self.value, self.reads = value, 0

    @property
    def role_arn(self) -> object:
        self.reads += 1
        return self.value


def test_each_attribute_is_read_once_per_object() -> None:
    first, second = _Counted("arn:aws:iam::111122223333:role/a"), _Counted("other")
    assert [identifier(first, "role_arn") for _ in range(3)] == [first.value] * 3
    assert identifier(second, "role_arn") == "other"
    assert (first.reads, second.reads) == (1, 1)


def test_entries_go_away_with_the_object() -> None:
    counted = _Counted("arn")
    identifier(counted, "role_arn")
    before = len(identifiers._READ)
    # _Counted holds no reference cycle: CPython frees it, and with it its weak entry, when
    # its last reference goes (a full gc.collect() here scanned the session's heap, 2.7 s).
    del counted
    assert len(identifiers._READ) == before - 1


def test_a_value_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(TypeError, match=r"role_arn of .* is None; expected a string"):
        identifier(_Counted(None), "role_arn")


def test_cdk_references_give_their_own_tokens() -> None:
    stack = cdk.Stack(cdk.App(), "Stack")
    role = iam.Role.from_role_arn(stack, "Role", cdk.Fn.import_value("RoleArn"), mutable=False)
    subnet = ec2.Subnet.from_subnet_attributes(stack, "Subnet", subnet_id="subnet-0123")
    group = ec2.SecurityGroup.from_security_group_id(stack, "Group", "sg-0123", mutable=False)
    assert stack.resolve(identifier(role, "role_arn")) == {"Fn::ImportValue": "RoleArn"}
    assert identifier(subnet, "subnet_id") == "subnet-0123"
    assert identifier(group, "security_group_id") == "sg-0123"


@pytest.mark.parametrize(
    "env",
    [cdk.Environment(account="111122223333", region="eu-west-1"), None],
    ids=["literal environment", "region-agnostic"],
)
def test_a_stack_environment_is_what_aws_cdk_gives(env: cdk.Environment | None) -> None:
    stack = cdk.Stack(cdk.App(), "Stack", env=env)
    environment = identifiers.stack_environment(stack)
    assert (environment.region, environment.account) == (stack.region, stack.account)
    assert environment.known_region == ("eu-west-1" if env else None)
    assert identifiers.stack_environment(stack) is environment


@pytest.mark.parametrize(
    "env",
    [cdk.Environment(account="111122223333", region="cn-north-1"), None],
    ids=["literal environment", "region-agnostic"],
)
@pytest.mark.parametrize(
    ("resource_name", "arn_format", "region", "account"),
    [
        ("group-a", None, None, None),
        ("group-a/*", cdk.ArnFormat.SLASH_RESOURCE_NAME, None, None),
        ("/aws/x:*", cdk.ArnFormat.COLON_RESOURCE_NAME, None, None),
        ("name", cdk.ArnFormat.SLASH_RESOURCE_SLASH_RESOURCE_NAME, None, None),
        (None, cdk.ArnFormat.NO_RESOURCE_NAME, "", "444455556666"),
        ("root", None, "", ""),
    ],
)
def test_format_arn_is_aws_cdk_lib_arn_format(
    env: cdk.Environment | None,
    resource_name: str | None,
    arn_format: cdk.ArnFormat | None,
    region: str | None,
    account: str | None,
) -> None:
    """The ARN joined in Python resolves to the same value as ``Stack.format_arn``'s, from a
    construct in the stack and from the stack itself."""
    from cdk_constructs.arns import format_arn, partition

    stack = cdk.Stack(cdk.App(), "Stack", env=env)
    child = cdk.CfnResource(stack, "Thing", type="AWS::SQS::Queue")
    expected = stack.resolve(
        stack.format_arn(
            partition=partition(),
            service="sagemaker",
            resource="model-package-group",
            resource_name=resource_name,
            region=region,
            account=account,
            arn_format=arn_format,
        )
    )
    for scope in (child, stack):
        arn = format_arn(
            scope,
            service="sagemaker",
            resource="model-package-group",
            resource_name=resource_name,
            region=region,
            account=account,
            arn_format=arn_format,
        )
        assert stack.resolve(arn) == expected

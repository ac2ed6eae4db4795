"""Identifiers of shared references are read from the jsii runtime once per object."""

from __future__ import annotations

import gc

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
    del counted
    gc.collect()
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

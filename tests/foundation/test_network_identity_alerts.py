"""Network, identity and alert constructs, asserted on one bare foundation stack."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from cdk_constructs.network import INTERFACE_ENDPOINTS
from config import load_config
from stacks.foundation_stack import FoundationStack
from tests.conftest import cdk_context


@pytest.fixture(scope="module")
def stack_json() -> dict[str, Any]:
    app = cdk.App(context=cdk_context())
    stack = FoundationStack(
        app,
        "Foundation",
        env=cdk.Environment(account="111122223333", region="eu-west-1"),
        policy=load_config().governance,
        resource_prefix="acme-prod",
    )
    return Template.from_stack(stack).to_json()


def _of_type(stack_json: dict[str, Any], cfn_type: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in stack_json["Resources"].items() if r["Type"] == cfn_type}


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    document = policy["Properties"].get("PolicyDocument") or policy["Properties"]["Policies"]
    return list(document["Statement"])


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def _role_policies(stack_json: dict[str, Any], role_prefix: str) -> list[dict[str, Any]]:
    return [
        s
        for key, policy in _of_type(stack_json, "AWS::IAM::ManagedPolicy").items()
        if key.startswith(role_prefix)
        for s in _statements(policy)
    ]


# --- network ---------------------------------------------------------------------------------


def test_vpc_has_only_isolated_subnets_in_two_azs_and_no_internet(
    stack_json: dict[str, Any],
) -> None:
    assert not _of_type(stack_json, "AWS::EC2::InternetGateway")
    assert not _of_type(stack_json, "AWS::EC2::NatGateway")
    subnets = _of_type(stack_json, "AWS::EC2::Subnet").values()
    assert len(subnets) == 2
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets)
    azs = {str(s["Properties"]["AvailabilityZone"]) for s in subnets}
    assert len(azs) == 2


def test_vpc_has_gateway_and_every_interface_endpoint(stack_json: dict[str, Any]) -> None:
    endpoints = _of_type(stack_json, "AWS::EC2::VPCEndpoint").values()
    interface = [e for e in endpoints if e["Properties"].get("VpcEndpointType") == "Interface"]
    gateway = [e for e in endpoints if e["Properties"].get("VpcEndpointType") == "Gateway"]
    assert len(interface) == len(INTERFACE_ENDPOINTS) >= 12
    assert all(e["Properties"]["PrivateDnsEnabled"] is True for e in interface)
    services = {str(e["Properties"]["ServiceName"]) for e in interface + gateway}
    for expected in (
        "sagemaker.api",
        "sagemaker.runtime",
        "sts",
        "logs",
        "monitoring",
        "kms",
        "ecr.api",
        "ecr.dkr",
        "events",
        "sns",
        "sqs",
    ):
        assert any(f".{expected}" in s for s in services), expected
    assert len(gateway) == 2  # S3 and DynamoDB


def test_endpoints_admit_only_https_from_the_job_security_group(stack_json: dict[str, Any]) -> None:
    ingress = _of_type(stack_json, "AWS::EC2::SecurityGroupIngress").values()
    to_endpoints = [i for i in ingress if "Endpoint" in i["Properties"]["GroupId"]["Fn::GetAtt"][0]]
    assert len(to_endpoints) == 1
    assert to_endpoints[0]["Properties"]["FromPort"] == 443
    assert (
        "JobSecurityGroup"
        in to_endpoints[0]["Properties"]["SourceSecurityGroupId"]["Fn::GetAtt"][0]
    )
    for group in _of_type(stack_json, "AWS::EC2::SecurityGroup").values():
        for rule in group["Properties"].get("SecurityGroupIngress", []):
            assert rule.get("CidrIp") != "0.0.0.0/0"


def test_flow_logs_go_to_a_kms_encrypted_log_group(stack_json: dict[str, Any]) -> None:
    (flow_log,) = _of_type(stack_json, "AWS::EC2::FlowLog").values()
    assert flow_log["Properties"]["TrafficType"] == "ALL"
    group_id = flow_log["Properties"]["LogGroupName"]["Ref"]
    group = stack_json["Resources"][group_id]
    assert "KmsKeyId" in group["Properties"]
    assert group["Properties"]["RetentionInDays"] == 365


# --- identity --------------------------------------------------------------------------------


def test_every_role_has_the_permissions_boundary(stack_json: dict[str, Any]) -> None:
    roles = _of_type(stack_json, "AWS::IAM::Role")
    assert len(roles) >= 8
    for logical_id, role in roles.items():
        boundary = role["Properties"].get("PermissionsBoundary")
        assert boundary == {"Ref": Match.any_value()} or "Ref" in boundary, logical_id
        assert boundary["Ref"].startswith("PermissionsBoundary"), logical_id


def test_no_statement_allows_every_action(stack_json: dict[str, Any]) -> None:
    for cfn_type in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
        for policy in _of_type(stack_json, cfn_type).values():
            for statement in _statements(policy):
                if statement["Effect"] == "Allow":
                    assert "*" not in _actions(statement)
                    assert not any(a.endswith(":*") for a in _actions(statement))


def test_no_inline_policies_except_one_cdk_provided_role(stack_json: dict[str, Any]) -> None:
    # Every role of ours keeps its grants in managed policies (the trail's log-delivery role
    # included). The role CDK creates for restricting the default security group is the one
    # (acknowledged) exception, scoped to one resource.
    assert _of_type(stack_json, "AWS::IAM::Policy") == {}
    inline = {
        k: r
        for k, r in _of_type(stack_json, "AWS::IAM::Role").items()
        if "Policies" in r["Properties"]
    }
    assert list(inline) == [k for k in inline if k.startswith("CustomVpcRestrictDefaultSG")]
    assert len(inline) == 1
    (role,) = inline.values()
    (statement,) = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert "security-group/" in str(statement["Resource"])


def test_data_scientist_registers_but_is_denied_approval(stack_json: dict[str, Any]) -> None:
    statements = _role_policies(stack_json, "PersonasDataScientist")
    allowed = {a for s in statements if s["Effect"] == "Allow" for a in _actions(s)}
    assert "sagemaker:CreateModelPackage" in allowed
    deny = next(s for s in statements if s.get("Sid") == "NeverApprove")
    assert deny["Effect"] == "Deny"
    assert _actions(deny) == ["sagemaker:UpdateModelPackage"]
    assert deny["Condition"] == {
        "StringEquals": {"sagemaker:ModelApprovalStatus": ["Approved", "Rejected"]}
    }


def test_approver_approves_but_is_denied_creating_and_deleting(stack_json: dict[str, Any]) -> None:
    statements = _role_policies(stack_json, "PersonasModelApprover")
    allowed = {a for s in statements if s["Effect"] == "Allow" for a in _actions(s)}
    assert "sagemaker:UpdateModelPackage" in allowed
    assert "sagemaker:CreateModelPackage" not in allowed
    deny = next(s for s in statements if s.get("Sid") == "NeverCreateOrDeleteVersions")
    assert deny["Effect"] == "Deny"
    assert set(_actions(deny)) == {
        "sagemaker:CreateModelPackage",
        "sagemaker:DeleteModelPackage",
        "sagemaker:DeleteModelPackageGroup",
    }


def test_auditor_is_read_only(stack_json: dict[str, Any]) -> None:
    statements = _role_policies(stack_json, "PersonasAuditor")
    allowed = {a for s in statements if s["Effect"] == "Allow" for a in _actions(s)}
    writes = [
        a for a in allowed if a.split(":")[1].startswith(("Put", "Create", "Update", "Delete"))
    ]
    assert not writes, writes


def test_job_roles_trust_only_sagemaker_from_this_account(stack_json: dict[str, Any]) -> None:
    roles = {
        k: r for k, r in _of_type(stack_json, "AWS::IAM::Role").items() if k.startswith("JobRoles")
    }
    assert len(roles) == 4  # training, processing, monitoring, inference
    for role in roles.values():
        (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "111122223333"}


def test_personas_require_mfa(stack_json: dict[str, Any]) -> None:
    personas = {
        k: r for k, r in _of_type(stack_json, "AWS::IAM::Role").items() if k.startswith("Personas")
    }
    assert len(personas) == 4
    for role in personas.values():
        statements = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        (assume,) = [s for s in statements if s["Action"] == "sts:AssumeRole"]
        assert assume["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}


# --- alerts ----------------------------------------------------------------------------------


def test_alert_topic_is_kms_encrypted_with_email_subscriptions_and_a_dlq(
    stack_json: dict[str, Any],
) -> None:
    (topic,) = _of_type(stack_json, "AWS::SNS::Topic").values()
    assert "KmsMasterKeyId" in topic["Properties"]
    subscriptions = _of_type(stack_json, "AWS::SNS::Subscription").values()
    emails = {s["Properties"]["Endpoint"] for s in subscriptions}
    assert emails == set(load_config().governance.alert_emails)
    assert all(s["Properties"]["Protocol"] == "email" for s in subscriptions)
    assert all("RedrivePolicy" in s["Properties"] for s in subscriptions)
    (undelivered,) = [
        q
        for k, q in _of_type(stack_json, "AWS::SQS::Queue").items()
        if k.startswith("AlertsUndelivered")
    ]
    assert "KmsMasterKeyId" in undelivered["Properties"]

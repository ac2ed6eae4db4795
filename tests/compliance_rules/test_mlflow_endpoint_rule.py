"""Governance-MLF2: a tracking-server grant is reached through a private, scoped MLflow endpoint.

Each case is its own stack in its own account (rules look for the endpoint among resources
deployable next to the grant): the monitoring role's grant on the tracking server, and the VPC
as the foundation builds it when an environment names that tracking server, weakened one way
per case. An MLflow App grant (sagemaker:CallMlflowAppApi, called outside the VPC by the relay)
needs no endpoint.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam

from cdk_constructs.compliance.rules.framework import Resource
from cdk_constructs.compliance.rules.pipelines import is_mlflow_endpoint
from cdk_constructs.monitoring.evidently_engine import MLFLOW_LOGGING_ACTIONS
from cdk_constructs.network import MLFLOW_ENDPOINT_SERVICE
from tests.compliance_rules import builders as b

REGION = "eu-west-1"
ACTIONS = list(MLFLOW_LOGGING_ACTIONS)


def _app_arn(account: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{account}:mlflow-tracking-server/governance"


def _case(
    app: cdk.App,
    name: str,
    account: str,
    *,
    endpoint: bool = True,
    private_dns: bool = True,
    actions: list[str] | None = None,
    resource: str | None = None,
    ingress: ec2.IPeer | None = None,
    port: int = 443,
    region_at_deploy_time: bool = False,
) -> None:
    env = None if region_at_deploy_time else cdk.Environment(account=account, region=REGION)
    stack = cdk.Stack(app, name, env=env)
    arn = _app_arn(account)
    iam.CfnManagedPolicy(
        stack,
        "Grant",
        policy_document={
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ACTIONS, "Resource": arn}],
        },
    )
    if not endpoint:
        return
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    jobs = ec2.SecurityGroup(stack, "Jobs", vpc=vpc, allow_all_outbound=False)
    group = ec2.SecurityGroup(stack, "Endpoints", vpc=vpc, allow_all_outbound=False)
    group.add_ingress_rule(ingress or jobs, ec2.Port.tcp(port), "HTTPS from jobs")
    mlflow = vpc.add_interface_endpoint(
        "Mlflow",
        service=MLFLOW_ENDPOINT_SERVICE,
        private_dns_enabled=private_dns,
        open=False,
        security_groups=[group],
    )
    mlflow.add_to_policy(
        iam.PolicyStatement(
            principals=[iam.ArnPrincipal(f"arn:aws:iam::{account}:role/monitoring")],
            actions=actions or ACTIONS,
            resources=[resource or arn],
        )
    )


@pytest.fixture(scope="module")
def findings() -> b.Findings:
    app = cdk.App()
    _case(app, "Private", "111111111111")
    _case(app, "DeployTimeRegion", "111111111112", region_at_deploy_time=True)
    _case(app, "NoEndpoint", "111111111113", endpoint=False)
    _case(app, "NoPrivateDns", "111111111114", private_dns=False)
    _case(app, "EveryAction", "111111111115", actions=["sagemaker-mlflow:*"])
    _case(app, "EveryApp", "111111111116", resource="*")
    _case(
        app,
        "OtherApp",
        "111111111117",
        resource=f"arn:aws:sagemaker:{REGION}:111111111117:mlflow-tracking-server/other",
    )
    _case(app, "FewerActions", "111111111118", actions=["sagemaker-mlflow:LogBatch"])
    _case(app, "FromCidr", "111111111119", ingress=ec2.Peer.ipv4("10.0.0.0/8"))
    _case(app, "AllPorts", "111111111120", port=8443)
    # An App grant with no endpoint at all: the relay calls the App from outside the VPC
    app_stack = cdk.Stack(
        app, "AppGrant", env=cdk.Environment(account="111111111121", region=REGION)
    )
    iam.CfnManagedPolicy(
        app_stack,
        "Grant",
        policy_document={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["sagemaker:CallMlflowAppApi"],
                    "Resource": f"arn:aws:sagemaker:{REGION}:111111111121:mlflow-app/app-1",
                }
            ],
        },
    )
    return b.run_pack(app)


NON_COMPLIANT = (
    "NoEndpoint",
    "NoPrivateDns",
    "EveryAction",
    "EveryApp",
    "OtherApp",
    "FewerActions",
    "FromCidr",
    "AllPorts",
)
CASES = [
    *(("MLF2", "Private/Grant", f"{case}/Grant") for case in NON_COMPLIANT),
    ("MLF2", "DeployTimeRegion/Grant", "NoEndpoint/Grant"),
    ("MLF2", "AppGrant/Grant", "NoEndpoint/Grant"),
]


@pytest.mark.parametrize(("rule_id", "compliant", "non_compliant"), CASES)
def test_rule_flags_only_the_non_compliant_resource(
    findings: b.Findings, rule_id: str, compliant: str, non_compliant: str
) -> None:
    assert non_compliant in b.flagged(findings, rule_id)
    assert compliant not in b.flagged(findings, rule_id) | b.undecided(findings, rule_id)


def test_the_service_name_is_the_one_aws_cdk_lib_names_for_sagemaker_ai_mlflow() -> None:
    # aws-cdk-lib's constant is aws.sagemaker.<region>.experiments; the rule knows that form
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account="111111111111", region=REGION))
    name = stack.resolve(MLFLOW_ENDPOINT_SERVICE.name)
    assert name == f"aws.sagemaker.{REGION}.experiments"
    endpoint: dict[str, Any] = {"ServiceName": name}
    assert is_mlflow_endpoint(Resource("p", "AWS::EC2::VPCEndpoint", endpoint))
    other = {"ServiceName": f"com.amazonaws.{REGION}.sagemaker.api"}
    assert not is_mlflow_endpoint(Resource("p", "AWS::EC2::VPCEndpoint", other))

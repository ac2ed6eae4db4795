"""The interface VPC endpoint for SageMaker AI MLflow, when an environment names an MLflow App.

The subnets are isolated (no internet, no NAT), so the Evidently checks reach the App only
through PrivateLink (developer guide, mlflow-interface-endpoint-create). The foundation adds the
endpoint from the environment's ``mlflow_tracking_arn`` alone, an organisation-level setting:
private DNS on, the endpoints' security group (HTTPS from the jobs' security group only), and a
policy allowing the monitoring role the logging actions on that App only
(mlflow-private-link-policy). Without an App there is no endpoint.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from policy_sentry.querying.actions import get_actions_for_service

from cdk_constructs.compliance.rules.framework import Resource
from cdk_constructs.compliance.rules.pipelines import is_mlflow_endpoint, mlflow_reached_privately
from cdk_constructs.monitoring.evidently_engine import MLFLOW_LOGGING_ACTIONS
from config import load_config
from stacks.foundation_stack import FoundationStack
from tests.conftest import cdk_context
from tests.pipelines.schemas import schema_errors

ACCOUNT = "555566667777"
REGION = "eu-west-1"
# A tracking server: the jobs log to it directly, through the endpoint. An App gets none (the
# relay calls it from outside the VPC; tests/monitoring_mlflow).
APP = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-tracking-server/governance"
MLFLOW_APP = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-app/app-governance01"


def mlflow_foundation(
    mlflow_tracking_arn: str | None, outdir: str | None = None
) -> FoundationStack:
    """A foundation of the default policy in ACCOUNT/REGION that names ``mlflow_tracking_arn``."""
    app = cdk.App(outdir=outdir, context=cdk_context(**{"aws:cdk:enable-path-metadata": True}))
    return FoundationStack(
        app,
        "Foundation",
        env=cdk.Environment(account=ACCOUNT, region=REGION),
        policy=load_config().governance,
        resource_prefix="acme-dev",
        mlflow_tracking_arn=mlflow_tracking_arn,
    )


def _foundation(mlflow_tracking_arn: str | None) -> dict[str, Any]:
    return Template.from_stack(mlflow_foundation(mlflow_tracking_arn)).to_json()


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return _foundation(APP)


def _of_type(template: dict[str, Any], cfn_type: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == cfn_type}


def _mlflow_endpoints(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        r["Properties"]
        for r in _of_type(template, "AWS::EC2::VPCEndpoint").values()
        if is_mlflow_endpoint(Resource("e", "AWS::EC2::VPCEndpoint", r["Properties"]))
    ]


def test_the_endpoint_is_a_valid_private_interface_endpoint(template: dict[str, Any]) -> None:
    (endpoint,) = _mlflow_endpoints(template)
    assert endpoint["ServiceName"] == f"aws.sagemaker.{REGION}.experiments"
    assert endpoint["VpcEndpointType"] == "Interface"
    assert endpoint["PrivateDnsEnabled"] is True
    assert len(endpoint["SubnetIds"]) == 2  # every isolated subnet the jobs run in
    # cfn-lint's bundled CloudFormation provider schema accepts every property (the two
    # subnet references stand for two distinct ids: the schema wants them unique)
    checked = {**endpoint, "SubnetIds": ["subnet-0a", "subnet-0b"]}
    assert schema_errors("AWS::EC2::VPCEndpoint", checked) == []


def test_its_security_group_admits_https_from_the_jobs_security_group_only(
    template: dict[str, Any],
) -> None:
    (endpoint,) = _mlflow_endpoints(template)
    (group_ref,) = endpoint["SecurityGroupIds"]
    group_id = group_ref["Fn::GetAtt"][0]
    group = template["Resources"][group_id]["Properties"]
    inline = group.get("SecurityGroupIngress", [])
    separate = [
        r["Properties"]
        for r in _of_type(template, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == group_ref
    ]
    rules = inline + separate
    assert rules
    jobs = {"Fn::GetAtt": [_job_security_group(template), "GroupId"]}
    for rule in rules:
        assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 443, 443)
        assert rule["SourceSecurityGroupId"] == jobs
        assert "CidrIp" not in rule


def _job_security_group(template: dict[str, Any]) -> str:
    (logical_id,) = (
        k
        for k, r in _of_type(template, "AWS::EC2::SecurityGroup").items()
        if r["Metadata"]["aws:cdk:path"].endswith("/Network/JobSecurityGroup/Resource")
    )
    return logical_id


def test_its_policy_lets_the_monitoring_role_log_to_this_app_only(
    template: dict[str, Any],
) -> None:
    (endpoint,) = _mlflow_endpoints(template)
    (statement,) = endpoint["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == APP
    assert sorted(statement["Action"]) == sorted(MLFLOW_LOGGING_ACTIONS)
    # every action exists in the Service Authorization Reference (policy_sentry)
    known = {a.lower() for a in get_actions_for_service("sagemaker-mlflow")}
    assert {a.lower() for a in statement["Action"]} <= known
    principal = statement["Principal"]["AWS"]["Fn::GetAtt"]
    path = template["Resources"][principal[0]]["Metadata"]["aws:cdk:path"]
    assert path.endswith("/JobRoles/Monitoring/Resource")


def test_an_environment_without_an_app_has_no_mlflow_endpoint() -> None:
    assert _mlflow_endpoints(_foundation(None)) == []


def test_an_mlflow_app_gets_no_experiments_endpoint() -> None:
    # The plugin calls an App at mlflow.sagemaker.<region>.app.aws, which no documented VPC
    # endpoint serves: the relay calls it from outside the VPC instead
    assert _mlflow_endpoints(_foundation(MLFLOW_APP)) == []


def test_the_rule_finds_the_foundations_endpoint_for_the_engines_grant(
    template: dict[str, Any],
) -> None:
    # Given the monitoring role's grant as the Evidently engine writes it, next to this
    # foundation, the MLF2 rule is satisfied by the endpoint the foundation declares
    from cdk_constructs.compliance.rules.framework import AppIndex, Environment, Ref, Verdict

    environment = Environment("", ACCOUNT, REGION)

    def value(v: Any) -> Any:
        if isinstance(v, dict) and set(v) == {"Fn::GetAtt"}:
            target = v["Fn::GetAtt"][0]
            return Ref(target, template["Resources"][target]["Type"], v["Fn::GetAtt"][1])
        if isinstance(v, dict) and set(v) == {"Ref"} and v["Ref"] in template["Resources"]:
            return Ref(v["Ref"], template["Resources"][v["Ref"]]["Type"], "Ref")
        if isinstance(v, dict):
            return {k: value(i) for k, i in v.items()}
        if isinstance(v, list):
            return [value(i) for i in v]
        return v

    resources = [
        Resource(k, r["Type"], value(r.get("Properties", {})), environment)
        for k, r in template["Resources"].items()
    ]
    grant = Resource(
        "Grant",
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": [
                    {"Effect": "Allow", "Action": list(MLFLOW_LOGGING_ACTIONS), "Resource": APP}
                ]
            }
        },
        environment,
    )
    index = AppIndex([*resources, grant])
    assert mlflow_reached_privately(grant, index) is Verdict.COMPLIANT
    without = AppIndex([r for r in resources if r.type != "AWS::EC2::VPCEndpoint"] + [grant])
    assert mlflow_reached_privately(grant, without) is Verdict.NON_COMPLIANT


def test_the_shipped_plugin_reaches_tracking_servers_on_the_experiments_host() -> None:
    # The endpoint's service (aws.sagemaker.<region>.experiments, AWS PrivateLink guide) is the
    # host sagemaker-mlflow (pinned in constraints.txt, shipped in the wheelhouse) sends a
    # tracking server's calls to; an MLflow App goes to another host, which no documented VPC
    # endpoint serves (so the foundation relays App runs from outside the VPC).
    from urllib.parse import urlparse

    from sagemaker_mlflow.mlflow_sagemaker_helpers import SageMakerMLflowHostMetadataProvider

    provider = SageMakerMLflowHostMetadataProvider()
    provider.set_arn(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-tracking-server/governance")
    host = urlparse(provider.construct_tracking_server_url()).hostname
    assert host == f"{REGION}.experiments.sagemaker.aws"
    provider.set_arn(MLFLOW_APP)
    assert urlparse(provider.construct_tracking_server_url()).hostname == (
        f"mlflow.sagemaker.{REGION}.app.aws"
    )


# Three foundation synths: scheduled first (tests/conftest.py).
pytestmark = pytest.mark.slow

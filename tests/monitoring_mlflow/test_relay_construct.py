"""The MLflow relay as the app synthesizes it for an environment that names an MLflow App.

One synth of the default config's dev environment with an App (conftest), every pack on: the
relay runs outside the VPC on its own layer, is triggered by the monitoring bucket's
``mlflow-runs/`` records through EventBridge, keeps what fails, may read only those records and
call only that App; the checks write records instead of calling MLflow; no experiments
endpoint and no sagemaker-mlflow grant exist for an App.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from cdk_constructs.compliance.iam.account import Account
from cdk_constructs.compliance.iam.assembly import CloudAssembly
from cdk_constructs.mlflow_relay import (
    DEFAULT_LAYER,
    LAYER_LOCK,
    LOCK_IN_LAYER,
    OUTSIDE_VPC_REASON,
    LayerNotShippedError,
    check_layer,
)
from cdk_constructs.monitoring.mlflow import RUN_RECORDS_PREFIX
from tests.foundation.test_mlflow_endpoint import _mlflow_endpoints
from tests.monitoring_mlflow.conftest import FOUNDATION, MLFLOW_APP, AppSynth

pytestmark = pytest.mark.slow

RELAY = "MlflowRelay/Function/Resource/Resource"
OTHER_APP = MLFLOW_APP.replace("app-governance01", "app-other")


@pytest.fixture(scope="module")
def account(app_synth: AppSynth) -> Account:
    return Account.from_assembly(CloudAssembly.load(app_synth.outdir))


def _relay(app_synth: AppSynth) -> dict[str, Any]:
    return app_synth.at(FOUNDATION, RELAY)[1]["Properties"]


def test_the_relay_runs_outside_the_vpc_on_its_own_layer(app_synth: AppSynth) -> None:
    relay = _relay(app_synth)
    assert "VpcConfig" not in relay
    assert relay["Runtime"] == "python3.14"
    assert relay["Handler"] == "governance.mlflow_relay.handler"
    # one layer: the relay's own (Powertools inside), not the AWS-published Powertools layer
    (layer,) = relay["Layers"]
    logical_id, _ = app_synth.at(FOUNDATION, "MlflowRelay/Dependencies/Resource")
    assert layer == {"Ref": logical_id}
    variables = relay["Environment"]["Variables"]
    assert variables["MLFLOW_TRACKING_ARN"] == MLFLOW_APP
    assert variables["MLFLOW_DISABLE_TELEMETRY"] == "true"
    assert variables["DO_NOT_TRACK"] == "true"
    bucket_id, _ = app_synth.at(FOUNDATION, "MonitoringReports/Resource/Resource")
    assert variables["RUN_RECORDS_BUCKET"] == {"Ref": bucket_id}
    assert relay["TracingConfig"] == {"Mode": "Active"}
    assert "DeadLetterConfig" in relay


def test_records_reach_the_relay_through_eventbridge(app_synth: AppSynth) -> None:
    bucket_id, bucket = app_synth.at(FOUNDATION, "MonitoringReports/Resource/Resource")
    notifications = bucket["Properties"]["NotificationConfiguration"]
    assert notifications == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    # only the monitoring bucket sends its events
    sending = [
        r["Metadata"]["aws:cdk:path"]
        for r in app_synth.resources(FOUNDATION, "AWS::S3::Bucket").values()
        if "NotificationConfiguration" in r["Properties"]
    ]
    assert len(sending) == 1
    _, rule = app_synth.at(FOUNDATION, "MlflowRelay/RecordWritten/Resource")
    pattern = rule["Properties"]["EventPattern"]
    assert pattern == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [{"Ref": bucket_id}]},
            "object": {"key": [{"prefix": RUN_RECORDS_PREFIX}]},
        },
    }
    (target,) = rule["Properties"]["Targets"]
    relay_id, _ = app_synth.at(FOUNDATION, RELAY)
    assert target["Arn"] == {"Fn::GetAtt": [relay_id, "Arn"]}
    # undeliverable events wait in the routing queue (alarmed), after a day of retries
    routing_id, _ = app_synth.at(FOUNDATION, "Handlers/RoutingDeadLetterQueue/Default/Resource")
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": [routing_id, "Arn"]}
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] == 86400


def test_failed_relays_wait_in_an_alarmed_dead_letter_queue(app_synth: AppSynth) -> None:
    queue_id, _ = app_synth.at(FOUNDATION, "MlflowRelay/Function/DeadLetterQueue/Default/Resource")
    assert _relay(app_synth)["DeadLetterConfig"]["TargetArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    _, alarm = app_synth.at(FOUNDATION, "MlflowRelay/Function/DeadLetterQueue/Depth/Resource")
    assert alarm["Properties"]["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}
    ]
    assert alarm["Properties"]["AlarmActions"]
    assert "MLflow relay" in alarm["Properties"]["AlarmDescription"]


def _decision(account: Account, action: str, resource: str) -> bool:
    role = account.role("MlflowRelay/Function/Role")
    return account.authorize(role, action, resource).allowed


def test_the_relay_reads_only_run_records_and_calls_only_the_app(account: Account) -> None:
    reports = account.resource("MonitoringReports/Resource/Resource", "AWS::S3::Bucket").arn
    record = f"{reports}/{RUN_RECORDS_PREFIX}churn-propensity-dev/run.json"
    # Given its identity policies, the boundary and the bucket policy
    assert _decision(account, "s3:GetObject", record)
    assert _decision(account, "sagemaker:CallMlflowAppApi", MLFLOW_APP)
    # and nothing beyond
    assert not _decision(account, "s3:GetObject", f"{reports}/churn-propensity-dev/x.json")
    assert not _decision(account, "s3:PutObject", record)
    assert not _decision(account, "s3:DeleteObject", record)
    assert not _decision(account, "sagemaker:CallMlflowAppApi", OTHER_APP)
    assert not _decision(account, "sagemaker-mlflow:LogBatch", MLFLOW_APP)
    assert not _decision(account, "sagemaker:DescribeModelPackage", MLFLOW_APP)


def test_the_jobs_do_not_call_the_app(account: Account, app_synth: AppSynth) -> None:
    # The monitoring role writes records (its bucket grant); it has no MLflow grant, and the
    # foundation declares no experiments endpoint for an App
    monitoring = account.role("JobRoles/Monitoring")
    assert not account.authorize(monitoring, "sagemaker:CallMlflowAppApi", MLFLOW_APP).allowed
    for template in app_synth.templates.values():
        text = json.dumps(template)
        assert "sagemaker-mlflow:" not in text
        assert ".experiments" not in text


def test_an_mlflow_app_gets_no_experiments_endpoint(app_synth: AppSynth) -> None:
    # The plugin calls an App at mlflow.sagemaker.<region>.app.aws, which no documented VPC
    # endpoint serves: the relay calls it from outside the VPC instead (the endpoint a tracking
    # server gets: tests/foundation/test_mlflow_endpoint.py)
    assert _mlflow_endpoints(app_synth.templates[FOUNDATION]) == []


def test_every_check_writes_its_run_record_for_the_relay(app_synth: AppSynth) -> None:
    bodies = [
        json.dumps(resource["Properties"]["PipelineDefinition"])
        for template in app_synth.templates.values()
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::SageMaker::Pipeline"
    ]
    checks = [body for body in bodies if "--check" in body]
    assert checks  # the Evidently checks, for endpoints and batch scoring
    for body in checks:
        # every check pipeline writes records under mlflow-runs/ and calls no MLflow itself
        assert "--mlflow-run-records-uri" in body
        assert f"/{RUN_RECORDS_PREFIX}" in body
        assert "--mlflow-tracking-arn" not in body


@pytest.mark.parametrize(
    "pack", ["AwsSolutions", "NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321", "Serverless"]
)
def test_no_unacknowledged_findings(app_synth: AppSynth, pack: str) -> None:
    (report,) = [r for r in app_synth.report["pluginReports"] if r["pluginName"] == pack]
    findings = [
        f"{v['ruleName']} at {c['constructPath']}"
        for v in report.get("violations", [])
        for c in v["violatingConstructs"]
    ]
    assert findings == []


def test_the_relay_outside_the_vpc_is_acknowledged_with_its_reason(app_synth: AppSynth) -> None:
    acknowledged = [
        s
        for r in app_synth.report["pluginReports"]
        for s in r.get("suppressedViolations", [])
        if s["ruleName"].endswith("LambdaInsideVPC")
    ]
    assert {s["ruleName"] for s in acknowledged} == {
        "NIST.800.53.R5-LambdaInsideVPC",
        "HIPAA.Security-LambdaInsideVPC",
        "PCI.DSS.321-LambdaInsideVPC",
    }
    for suppressed in acknowledged:
        assert suppressed["reason"] == OUTSIDE_VPC_REASON
        (construct,) = suppressed["violatingConstructs"]
        assert construct["constructPath"].endswith(RELAY)


def test_the_governance_pack_has_nothing_open(app_synth: AppSynth) -> None:
    (report,) = [r for r in app_synth.report["pluginReports"] if r["pluginName"] == "Governance"]
    assert report.get("violations", []) == []


# --- the layer --------------------------------------------------------------------------------


def test_the_built_layer_is_reproducible_and_pinned() -> None:
    # make setup built it; every entry has the one fixed time and mode, in sorted order, under
    # python/, with the lock it was built from
    check_layer()
    with zipfile.ZipFile(DEFAULT_LAYER) as archive:
        infos = archive.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names)
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert all(n.startswith("python/") for n in names)
        assert not [n for n in names if "__pycache__" in n or n.startswith("python/bin/")]
        assert archive.read(LOCK_IN_LAYER) == LAYER_LOCK.read_bytes()
        packages = {n.split("/")[1] for n in names}
    assert {"mlflow", "sagemaker_mlflow", "aws_lambda_powertools", "pydantic"} <= packages


def test_a_missing_or_stale_layer_stops_synth(tmp_path: Path) -> None:
    with pytest.raises(LayerNotShippedError, match="make mlflow-layer"):
        check_layer(tmp_path / "absent.zip")
    stale = tmp_path / "stale.zip"
    with zipfile.ZipFile(stale, "w") as archive:
        archive.writestr(LOCK_IN_LAYER, "mlflow-skinny==0.0.1\n")
    with pytest.raises(LayerNotShippedError, match=r"built from another mlflow-relay\.lock"):
        check_layer(stale)


def test_the_layer_pins_what_the_handlers_are_tested_with() -> None:
    from cdk_constructs.handlers import POWERTOOLS_VERSION

    pins = dict(
        line.split("==")
        for line in LAYER_LOCK.read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert pins["aws-lambda-powertools"] == POWERTOOLS_VERSION
    assert pins["mlflow-skinny"] == "3.17.2"
    assert pins["sagemaker-mlflow"] == "0.5.0"
    # the same client the jobs ship for tracking servers
    jobs = Path(LAYER_LOCK).parents[1] / "monitoring_jobs" / "requirements.lock"
    assert "mlflow-skinny==3.17.2" in jobs.read_text()


# --- the IAM expectations table's relay rows, on this synth ------------------------------------


def _relay_rows() -> list[Any]:
    from cdk_constructs.compliance.iam.expectations import CALLS

    return [call for call in CALLS if "mlflow_app" in call.needs]


def test_the_relay_role_has_required_and_forbidden_rows(account: Account) -> None:
    from cdk_constructs.compliance.iam.expectations import Expect

    relay = account.role("MlflowRelay/Function/Role").path
    found = {call.expect for call in _relay_rows() if account.role(call.who).path == relay}
    assert found == {Expect.ALLOW, Expect.DENY}


@pytest.mark.parametrize("call_id", [call.id for call in _relay_rows()])
def test_relay_row(call_id: str, account: Account) -> None:
    # test_expectations skips these rows on the default config (it names no App); here they
    # run on the App's synth, through identity policies, the boundary and the bucket policy
    from cdk_constructs.compliance.iam.expectations import (
        Scenario,
        calls_by_id,
        evaluate_call,
        mlflow_extras,
    )

    scenario = Scenario(
        partition="aws",
        region="us-east-1",
        account="555566667777",
        model="churn-propensity",
        version="unused",
        endpoint="churn-propensity-dev",
        model_name="unused",
        subnet="unused",
        security_group="unused",
        extra=mlflow_extras(account),
    )
    assert scenario.extra["mlflow_app"] == MLFLOW_APP
    outcome = evaluate_call(calls_by_id()[call_id], scenario, account)
    assert outcome.as_expected, outcome.explain()

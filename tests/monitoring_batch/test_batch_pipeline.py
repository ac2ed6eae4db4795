"""Batch scoring as the app synthesizes it, on both engines (the session's default synth).

The default config's two environments serve churn-propensity with its batch section: ``prod``
on Model Monitor, ``dev`` on the Evidently engine. Checked from the templates: the pipeline's
steps are valid ``CreateTransformJob`` / ``CreateProcessingJob`` requests (botocore's service
model), the transform is hardened and captures, the checks read that capture and publish what
the alarms watch (Model Monitor's batch namespaces, ``MonitoringSchedule`` instead of
``Endpoint``), the violations handler records and alerts a batch check like an endpoint's, and
a failed execution alerts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.validate import ParamValidator

from cdk_constructs.monitoring.batch import (
    BATCH_METRIC_NAMESPACES,
    CHECK_STEPS,
    PIPELINE_EXECUTION_STATUS,
    TRANSFORM_STEP,
)
from cdk_constructs.monitoring.images import MonitorType
from config import load_config
from governance.contracts.vocabulary import (
    ENDPOINT_PARAMETER_PREFIX,
    ENV_ENDPOINT_NAME,
    ENV_SCHEDULE_NAME,
)
from governance.events import MonitoringOutcome, ProcessingJobStateChange
from governance.logic.monitoring import ViolationStores, run_violations
from monitoring_jobs import evidently_check as job
from tests.conftest import Assembly, deployments, sagemaker_service_model
from tests.handlers.fakes import (
    FakeEvidence,
    FakeMonitoringRuns,
    FakeNotifier,
    FakeParameters,
    FakePipelines,
)
from tests.monitoring_engines.test_both_engines import _resolve

# name: (engine, region, account) of every environment; each serves churn-propensity
ENVIRONMENTS = {
    e.name: (e.monitoring_engine.value, str(e.region), str(e.account))
    for e in load_config().environments
}
MODEL = "churn-propensity"
EXECUTION = "execution-1"
Templates = dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def outdir(default_assembly: Assembly) -> Path:
    served = {(env.name, model.name) for env, model in deployments(load_config())}
    assert served >= {(env, MODEL) for env in ENVIRONMENTS}
    assert {engine for engine, _, _ in ENVIRONMENTS.values()} == {"model-monitor", "evidently"}
    return default_assembly.outdir


@pytest.fixture(scope="module")
def templates(default_assembly: Assembly) -> Templates:
    return default_assembly.templates


def _resources(templates: Templates, env: str, cfn_type: str) -> dict[str, dict[str, Any]]:
    resources = templates[f"example-bank-{env}-models-00"]["Resources"]
    return {k: r for k, r in resources.items() if r["Type"] == cfn_type}


def _executed(value: Any) -> Any:
    """Pipeline ``Std:Join``s of the execution id, as SageMaker resolves them for one run."""
    if isinstance(value, dict):
        if "Std:Join" in value:
            join = value["Std:Join"]
            parts = [
                EXECUTION if p == {"Get": "Execution.PipelineExecutionId"} else p
                for p in join["Values"]
            ]
            assert all(isinstance(p, str) for p in parts), parts
            return join["On"].join(parts)
        return {k: _executed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_executed(v) for v in value]
    return value


def _batch_pipeline(templates: Templates, env: str) -> tuple[dict[str, Any], dict[str, Any]]:
    (pipeline,) = (
        p
        for p in _resources(templates, env, "AWS::SageMaker::Pipeline").values()
        if p["Properties"]["PipelineName"] == f"{MODEL}-{env}-batch"
    )
    body = _resolve(pipeline["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"])
    return pipeline, json.loads(body)


def _steps(templates: Templates, env: str) -> dict[str, dict[str, Any]]:
    _, definition = _batch_pipeline(templates, env)
    return {step["Name"]: step for step in definition["Steps"]}


def _checks(templates: Templates) -> Iterator[tuple[str, MonitorType, dict[str, Any]]]:
    for env in ENVIRONMENTS:
        for check, step in CHECK_STEPS.items():
            yield env, check, _executed(_steps(templates, env)[step]["Arguments"])


def test_every_environment_gets_the_batch_pipeline_whatever_its_engine(
    templates: Templates,
) -> None:
    for env in ENVIRONMENTS:
        steps = _steps(templates, env)
        assert list(steps) == [TRANSFORM_STEP, "DataQualityCheck", "ModelQualityCheck"]
        assert steps[TRANSFORM_STEP]["Type"] == "Transform"
        for step in CHECK_STEPS.values():
            assert steps[step]["Type"] == "Processing"
            assert steps[step]["DependsOn"] == [TRANSFORM_STEP]
    # The checks are the Evidently job on both engines (no Model Monitor analyzer image).
    for _env, _check, request in _checks(templates):
        assert "sagemaker-scikit-learn" in request["AppSpecification"]["ImageUri"]


def test_the_schedule_starts_the_pipeline_with_retries_and_a_dead_letter_queue(
    templates: Templates,
) -> None:
    for env in ENVIRONMENTS:
        name = f"{MODEL}-{env}-batch"
        (schedule,) = (
            s["Properties"]
            for s in _resources(templates, env, "AWS::Scheduler::Schedule").values()
            if s["Properties"].get("Name") == name  # (the training schedule has none)
        )
        assert schedule["ScheduleExpression"] == "cron(0 2 * * ? *)"
        assert schedule["ScheduleExpressionTimezone"] == "UTC"
        target = schedule["Target"]
        assert target["Arn"].endswith(f":pipeline/{name}")
        assert target["RetryPolicy"] == {
            "MaximumEventAgeInSeconds": 86400,  # one daily interval
            "MaximumRetryAttempts": 3,
        }
        assert "DeadLetterConfig" in target


def test_the_transform_step_is_a_valid_create_transform_job_request(templates: Templates) -> None:
    shape = sagemaker_service_model().operation_model("CreateTransformJob")
    for env in ENVIRONMENTS:
        request = _executed(_steps(templates, env)[TRANSFORM_STEP]["Arguments"])
        report = ParamValidator().validate(
            {"TransformJobName": "pipelines-abc-BatchTransform", **request}, shape.input_shape
        )
        assert not report.has_errors(), (env, report.generate_report())


def test_the_check_steps_are_valid_create_processing_job_requests(templates: Templates) -> None:
    shape = sagemaker_service_model().operation_model("CreateProcessingJob")
    for env, check, request in _checks(templates):
        report = ParamValidator().validate(
            {"ProcessingJobName": "pipelines-abc-check", **request}, shape.input_shape
        )
        assert not report.has_errors(), (env, check, report.generate_report())


def test_the_transform_is_hardened_and_captures_with_inference_ids(templates: Templates) -> None:
    for env in ENVIRONMENTS:
        pipeline, definition = _batch_pipeline(templates, env)
        raw = _steps(templates, env)[TRANSFORM_STEP]["Arguments"]
        request = _executed(raw)
        key = "arn:aws:kms:eu-central-1:111122223333:key/DataCaptureKeyArn"
        assert request["TransformResources"]["VolumeKmsKeyId"] == key
        assert request["TransformOutput"]["KmsKeyId"] == key
        capture = request["DataCaptureConfig"]
        assert capture == {
            "DestinationS3Uri": f"s3://example-bank-batch-output/{MODEL}/capture/{EXECUTION}",
            "KmsKeyId": key,
            "GenerateInferenceId": True,
        }
        assert request["TransformOutput"]["S3OutputPath"].endswith(f"/scores/{EXECUTION}")
        # The model is the endpoint's own: the approved version, isolated, in the VPC.
        body = pipeline["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]
        (model_id,) = {
            part["Fn::GetAtt"][0]
            for part in body["Fn::Join"][1]
            if isinstance(part, dict)
            and "Fn::GetAtt" in part
            and part["Fn::GetAtt"][1] == "ModelName"
        }
        model = _resources(templates, env, "AWS::SageMaker::Model")[model_id]["Properties"]
        assert model["EnableNetworkIsolation"] is True
        assert model["VpcConfig"]["Subnets"]
        assert model["VpcConfig"]["SecurityGroupIds"]
        assert model["Containers"][0]["ModelPackageName"].endswith(f"model-package/{MODEL}/7")
        assert definition["Steps"][0]["Arguments"]["ModelName"]


def test_the_checks_read_the_capture_and_publish_what_the_alarms_watch(
    templates: Templates,
) -> None:
    assert dict(BATCH_METRIC_NAMESPACES) == job.BATCH_NAMESPACES
    for env, check, request in _checks(templates):
        args = job.parse_args(request["AppSpecification"]["ContainerArguments"])
        batch = f"{MODEL}-{env}-batch"
        assert (args.check, args.source, args.endpoint) == (check, "batch", batch)
        assert args.schedule == f"{batch}-{check.replace('_', '-')}"
        assert request["Environment"][ENV_ENDPOINT_NAME] == batch
        assert request["Environment"][ENV_SCHEDULE_NAME] == args.schedule
        # The default names no MLflow App (test_two_engine_mutations checks the batch checks
        # log to one when the environment names it)
        assert args.mlflow_tracking_arn is None
        capture = f"s3://example-bank-batch-output/{MODEL}/capture/"
        if check == "data_quality":
            assert args.capture_uri == f"{capture}{EXECUTION}/"  # this run's capture only
            assert args.reference_uri.endswith("summary.json")
        else:
            assert args.capture_uri == capture  # every run, windowed by the lookback
            assert args.window_hours == 192
            assert args.ground_truth_uri == f"s3://example-bank-ground-truth/{MODEL}/batch/"
        alarms = [
            a["Properties"]
            for a in _resources(templates, env, "AWS::CloudWatch::Alarm").values()
            if a["Properties"].get("Namespace") == BATCH_METRIC_NAMESPACES[check]
        ]
        assert alarms, (env, check)
        for alarm in alarms:
            dims = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
            assert "Endpoint" not in dims
            assert dims["MonitoringSchedule"] == args.schedule
            if check == "data_quality":
                assert dims["Feature"] in {f.name for f in args.features}
            elif alarm["Statistic"] != "SampleCount":
                assert args.quality_floor == f"{alarm['MetricName']}:{alarm['Threshold']}"
        assert {a["Period"] for a in alarms} == {86400}  # the daily cadence


def _parameter(templates: Templates, env: str) -> dict[str, Any]:
    (parameter,) = (
        r["Properties"]
        for r in _resources(templates, env, "AWS::SSM::Parameter").values()
        if r["Properties"]["Name"] == f"{ENDPOINT_PARAMETER_PREFIX}{MODEL}-{env}-batch"
    )
    value: dict[str, Any] = json.loads(parameter["Value"])
    return value


@pytest.mark.parametrize(
    ("status", "detail", "outcome"),
    [
        ("Completed", {"ExitMessage": "CompletedWithViolations: 1 violation(s)"}, "violations"),
        ("Failed", {"FailureReason": "AlgorithmError: no batch capture"}, "monitoring_failed"),
    ],
)
def test_the_handler_records_and_alerts_batch_checks_like_endpoint_checks(
    templates: Templates, status: str, detail: dict[str, Any], outcome: str
) -> None:
    env = "dev"  # the Evidently engine's
    _, region, account = ENVIRONMENTS[env]
    parameter = _parameter(templates, env)
    schedule = parameter["monitors"]["data_quality"]
    report = f"s3://reports/{schedule}/1"
    event = {
        "version": "0",
        "id": "event-1",
        "detail-type": "SageMaker Processing Job State Change",
        "source": "aws.sagemaker",
        "account": account,
        "time": "2026-12-02T04:05:00Z",
        "region": region,
        "resources": [f"arn:aws:sagemaker:{region}:{account}:processing-job/run-1"],
        "detail": {
            "ProcessingJobName": "run-1",
            "ProcessingJobArn": f"arn:aws:sagemaker:{region}:{account}:processing-job/run-1",
            "ProcessingJobStatus": status,
            "Environment": {ENV_ENDPOINT_NAME: f"{MODEL}-{env}-batch", ENV_SCHEDULE_NAME: schedule},
            "ProcessingOutputConfig": {"Outputs": [{"S3Output": {"S3Uri": report}}]},
            **detail,
        },
    }
    evidence = FakeEvidence()
    evidence.documents[f"{report}/constraint_violations.json"] = {
        "violations": [
            {
                "feature_name": "channel",
                "constraint_check_type": "baseline_drift_check",
                "description": "drift",
            }
        ]
    }
    notifier = FakeNotifier()
    stores = ViolationStores(
        runs=FakeMonitoringRuns(),
        parameters=FakeParameters(endpoints={parameter["endpoint_name"]: parameter}),
        evidence=evidence,
        pipelines=FakePipelines(),
        notifier=notifier,
    )
    result = run_violations(ProcessingJobStateChange.model_validate(event), stores).as_dict()
    assert result["status"] == "recorded"
    assert result["monitor_type"] == "data_quality"
    assert [d["outcome"] for d in notifier.details] == [MonitoringOutcome(outcome).value]
    assert len(notifier.alerts) == 1
    assert parameter["model_name"] == MODEL


def test_a_failed_or_stopped_execution_reaches_the_violations_handler(
    templates: Templates,
) -> None:
    """A failed transform never reaches the checks, so no processing job tells the handler: the
    foundation's pipeline-execution rule does, and the handler finds the batch pipeline by its
    parameter (tests/violations/test_pipeline_executions.py). No per-model SNS rule duplicates
    that alert."""
    for env in ENVIRONMENTS:
        foundation = templates[f"example-bank-{env}-foundation"]["Resources"]
        (rule,) = (
            r["Properties"]
            for r in foundation.values()
            if r["Type"] == "AWS::Events::Rule"
            and r["Properties"]["EventPattern"]["detail-type"] == [PIPELINE_EXECUTION_STATUS]
        )
        detail = rule["EventPattern"]["detail"]
        assert detail["currentPipelineExecutionStatus"] == ["Failed", "Stopped"]
        (target,) = rule["Targets"]
        assert "MonitoringViolations" in json.dumps(target["Arn"])
        assert not [
            r
            for r in _resources(templates, env, "AWS::Events::Rule").values()
            if r["Properties"]["EventPattern"]["detail-type"] == [PIPELINE_EXECUTION_STATUS]
        ]
        # The parameter the handler looks the pipeline up by is the pipeline's own name.
        assert _parameter(templates, env)["endpoint_name"] == f"{MODEL}-{env}-batch"


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def test_the_pipeline_role_may_run_transforms_and_pass_only_the_monitoring_role(
    templates: Templates,
) -> None:
    for env in ENVIRONMENTS:
        statements = [
            s
            for k, p in _resources(templates, env, "AWS::IAM::ManagedPolicy").items()
            if k.startswith("EvidentlyEnginePipelineRole")
            for s in _statements(p)
        ]
        (transforms,) = (s for s in statements if s.get("Sid") == "RunBatchTransforms")
        assert "sagemaker:CreateTransformJob" in transforms["Action"]
        assert str(transforms["Resource"]).endswith(":transform-job/*")
        passes = [s for s in statements if "iam:PassRole" in json.dumps(s["Action"])]
        assert len(passes) == 1
        assert "MonitoringRoleArn" in json.dumps(passes[0]["Resource"])


def test_the_foundation_grants_batch_locations_by_tag_only(templates: Templates) -> None:
    foundation = templates["example-bank-dev-foundation"]["Resources"]
    statements = [
        s
        for r in foundation.values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        for s in _statements(r)
    ]
    by_sid = {s.get("Sid"): s for s in statements}
    write = by_sid["WriteTaggedBatchOutputs"]
    assert write["Condition"] == {
        "StringEquals": {"aws:ResourceTag/governance:batch-output": "true"}
    }
    assert "s3:DeleteObject" not in json.dumps(write["Action"])
    read = by_sid["ReadTaggedBatchInputs"]
    assert read["Condition"] == {
        "StringEquals": {"aws:ResourceTag/governance:monitoring-input": "true"}
    }
    assert by_sid["ReadTaggedBatchOutputs"]["Condition"] == write["Condition"]
    # Model-independent: no statement names a model or a batch location.
    assert MODEL not in json.dumps(statements)


def test_the_governance_pack_finds_the_batch_pipelines_hardened(outdir: Path) -> None:
    from cdk_constructs.compliance.governance_pack import GovernanceChecks
    from cdk_constructs.compliance.rules import PACK_NAME, batch, pipelines

    rules = (*batch.RULES, *pipelines.RULES)
    report = GovernanceChecks(rules=rules).check_assembly(str(outdir))
    # Every transform and check step of both environments' batch pipelines passes, decided.
    assert [v.rule_name for v in report.violations] == []
    assert {f"{PACK_NAME}-{r.rule_id}" for r in batch.RULES} == {
        f"{PACK_NAME}-TST1",
        f"{PACK_NAME}-TST2",
        f"{PACK_NAME}-TST3",
    }


def test_the_report_lists_the_batch_transform_and_checks_and_prices_them(outdir: Path) -> None:
    from governance_report.assembly import load_assembly
    from governance_report.controls import governed_models
    from governance_report.costs import PriceTable, estimate, load_prices

    models = {m.environment: m for m in governed_models(load_assembly(outdir)) if m.name == MODEL}
    for env in ENVIRONMENTS:
        batch = sorted(
            (m.name, m.monitoring_type, m.engine, m.schedule_expression)
            for m in models[env].monitors
            if m.job_definition.startswith("Batch pipeline ")
        )
        name = f"{MODEL}-{env}-batch"
        assert batch == [
            (name, "BatchTransform", "batch scoring", "cron(0 2 * * ? *)"),
            (f"{name}-data-quality", "DataQuality", "batch, Evidently", "cron(0 2 * * ? *)"),
            (f"{name}-model-quality", "ModelQuality", "batch, Evidently", "cron(0 2 * * ? *)"),
        ]
    # The built-in table has no batch transform price: the transform is "not estimated".
    (line,) = [
        line
        for line in estimate([models["prod"]], load_prices()).lines
        if line.item.startswith("batch transform")
    ]
    assert line.monthly is None
    assert "no transform price for ml.m5.xlarge in eu-west-1" in line.note
    assert "1 h per run assumed" in line.note
    # With a dated transform price: instance price x count x 1 h x runs per month.
    table = load_prices().model_dump()
    table["prices"].append(
        {
            "region": "eu-west-1",
            "use": "transform",
            "instance_type": "ml.m5.xlarge",
            "usd_per_hour": 0.25,
            "source": next(iter(table["sources"])),
        }
    )
    (priced,) = [
        line
        for line in estimate([models["prod"]], PriceTable.model_validate(table)).lines
        if line.item.startswith("batch transform")
    ]
    assert priced.monthly is not None
    assert priced.billed_hours is not None
    assert priced.monthly == pytest.approx(0.25 * 1 * priced.billed_hours)

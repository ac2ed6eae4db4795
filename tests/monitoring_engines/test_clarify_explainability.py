"""Explainability on the Evidently engine for existing SageMaker Clarify customers.

"Amazon SageMaker Clarify is no longer open to new customers. Existing customers can continue to
use the service as normal." (developer guide, clarify-availability-change.) An evidently
environment that says its account is such a customer (``clarify_existing_customer: true``) runs
explainability as a pipeline of three steps: the Evidently job writes the capture window as
Clarify's dataset and the model's analysis config (the Model Monitor engine's builder, with the
served model's name), a SageMaker Clarify processing job hardened as the Model Monitor engine's
Clarify job definitions computes SHAP, and the Evidently job publishes Model Monitor's
explainability metrics and flags attribution drift by nDCG against the registry's baseline.

One module-scoped synth: the two-engine example's evidently environment with the opt-in, serving
churn-propensity with explainability on.
"""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from botocore.validate import ParamValidator

from cdk_constructs.compliance.templates import read_assembly
from cdk_constructs.monitoring.evidently_engine import (
    CLARIFY_ANALYSIS_FILE,
    CLARIFY_CONFIG_PATH,
    CLARIFY_DATA_PATH,
    CONFIG_OUTPUT_PATH,
    DATASET_OUTPUT_PATH,
    ENV_ENDPOINT_NAME,
    ENV_MONITORING_TYPE,
    ENV_SCHEDULE_NAME,
    EXPLAINABILITY_ANALYSIS_STEP,
    EXPLAINABILITY_DATASET_STEP,
)
from cdk_constructs.monitoring.images import monitor_image_uri
from config import DEFAULT_CONFIG, parse_config
from config.loader import ConfigError
from monitoring_jobs import evidently_check as job
from tests.compliance_mutation.mutations import Where, props
from tests.compliance_mutation.test_mutations import GovernanceRunner
from tests.compliance_mutation.test_two_engine_mutations import edit_definition
from tests.conftest import cdk_context, sagemaker_service_model

MODEL = "churn-propensity"
ENDPOINT = f"{MODEL}-dev"
SCHEDULE = f"{ENDPOINT}-explainability"
REGION = "eu-west-1"
# dev as the two-engine example had it: in prod's region, its checks logging to an MLflow App
MLFLOW_APP = "arn:aws:sagemaker:eu-west-1:555566667777:mlflow-app/app-governance01"
STEP = "ExplainabilityCheck"
PIPELINE = Where(
    "dev-models-00",
    f"{MODEL}/Serving/{MODEL}-evidently/{STEP}Pipeline",
    "AWS::SageMaker::Pipeline",
)


def config_data(*, opt_in: bool = True, engine: str = "evidently") -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(yaml.safe_load(DEFAULT_CONFIG.read_text()))
    (dev,) = (e for e in data["environments"] if e["name"] == "dev")
    dev["region"] = REGION
    dev["monitoring_engine"] = engine
    if engine == "evidently":
        dev["mlflow_tracking_arn"] = MLFLOW_APP
    if opt_in:
        dev["clarify_existing_customer"] = True
    data["environments"] = [dev]
    (model,) = (m for m in data["models"] if m["name"] == MODEL)
    model["deployment"]["environments"] = {"dev": {"package_version": 7}}
    model["monitoring"]["explainability"] = {"enabled": True}
    model["deployment"]["explainability"] = {"num_samples": 50, "ndcg_threshold": 0.85}
    model.pop("batch")
    data["models"] = [model]
    return data


def synthesize(directory: Path, data: dict[str, Any]) -> Path:
    """The app of ``data`` synthesized into ``directory``, with the report's inventory."""
    import aws_cdk as cdk

    from governance_report.scopes import record_inventory
    from stacks.governance_app import build_governance

    app = cdk.App(
        outdir=str(directory), context=cdk_context(**{"aws:cdk:enable-path-metadata": True})
    )
    config = parse_config(data, DEFAULT_CONFIG)
    built = build_governance(app, config)
    app.synth()
    record_inventory(built, [m.name for m in config.models], directory)
    return directory


def read_templates(outdir: Path) -> dict[str, dict[str, Any]]:
    return {
        p.name.removesuffix(".template.json"): json.loads(p.read_text())
        for p in outdir.glob("*.template.json")
    }


def pipeline_steps(templates: dict[str, dict[str, Any]], where: Where) -> dict[str, dict[str, Any]]:
    """The steps of the inline pipeline definition at ``where``, by name."""
    from tests.monitoring_engines.test_both_engines import _resolve

    body = props(templates, where)["PipelineDefinition"]["PipelineDefinitionBody"]
    definition = json.loads(_resolve(body))
    return {step["Name"]: step for step in definition["Steps"]}


@pytest.fixture(scope="module")
def outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesize(tmp_path_factory.mktemp("clarify-explainability"), config_data())


@pytest.fixture(scope="module")
def templates(outdir: Path) -> dict[str, dict[str, Any]]:
    return read_templates(outdir)


def _resolved(value: Any) -> Any:
    """Deploy-time values as plausible strings, pipeline joins of the execution id resolved."""
    if isinstance(value, dict):
        if "Std:Join" in value:
            join = value["Std:Join"]
            return join["On"].join(
                "exec-1" if p == {"Get": "Execution.PipelineExecutionId"} else _resolved(p)
                for p in join["Values"]
            )
        return {k: _resolved(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(v) for v in value]
    return value


@pytest.fixture(scope="module")
def steps(templates: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return pipeline_steps(templates, PIPELINE)


def assert_runs_in_order(
    templates: dict[str, dict[str, Any]], where: Where, names: list[str], schedule: str
) -> None:
    """The pipeline at ``where``, named ``schedule``, runs the steps ``names`` one after the
    other, each a valid ``CreateProcessingJob`` request (botocore's shape)."""
    steps = pipeline_steps(templates, where)
    assert list(steps) == names
    for before, step in itertools.pairwise(names):
        assert steps[step]["DependsOn"] == [before]
    assert props(templates, where)["PipelineName"] == schedule
    shape = sagemaker_service_model().operation_model("CreateProcessingJob")
    for name, step in steps.items():
        request = {"ProcessingJobName": "pipelines-abc", **_resolved(step["Arguments"])}
        report = ParamValidator().validate(request, shape.input_shape)
        assert not report.has_errors(), (name, report.generate_report())


def test_the_pipeline_runs_dataset_clarify_and_check_in_order(
    templates: dict[str, dict[str, Any]],
) -> None:
    names = [EXPLAINABILITY_DATASET_STEP, EXPLAINABILITY_ANALYSIS_STEP, STEP]
    assert_runs_in_order(templates, PIPELINE, names, SCHEDULE)


def test_the_clarify_job_is_hardened_as_the_model_monitor_engines(
    steps: dict[str, dict[str, Any]],
) -> None:
    clarify = steps[EXPLAINABILITY_ANALYSIS_STEP]["Arguments"]
    check = steps[STEP]["Arguments"]
    assert clarify["AppSpecification"] == {"ImageUri": monitor_image_uri("clarify", REGION)}
    network = clarify["NetworkConfig"]
    assert network["EnableInterContainerTrafficEncryption"] is True
    # Clarify calls its shadow endpoint of the model: isolation off, as for Model Monitor's
    # explainability job; the isolated subnets and the jobs' security group as for every job
    assert network["EnableNetworkIsolation"] is False
    assert network["VpcConfig"] == check["NetworkConfig"]["VpcConfig"]
    assert network["VpcConfig"]["Subnets"]
    key = check["ProcessingOutputConfig"]["KmsKeyId"]
    assert clarify["ProcessingOutputConfig"]["KmsKeyId"] == key
    assert clarify["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == key
    assert clarify["RoleArn"] == check["RoleArn"]
    assert clarify["StoppingCondition"]["MaxRuntimeInSeconds"] > 0
    assert clarify["Environment"] == {
        ENV_ENDPOINT_NAME: ENDPOINT,
        ENV_SCHEDULE_NAME: SCHEDULE,
        ENV_MONITORING_TYPE: "ModelExplainability",
    }


def wired_stages(
    steps: dict[str, dict[str, Any]], names: list[str]
) -> tuple[Any, Any, dict[str, Any]]:
    """The dataset and check stages' parsed arguments and the check step's request, once it is
    asserted that Clarify (``names[1]``) reads what the dataset stage (``names[0]``) writes and
    the check stage (``names[2]``) reads Clarify's analysis."""
    dataset, clarify, check = (_resolved(steps[name]["Arguments"]) for name in names)
    written = {
        o["S3Output"]["LocalPath"]: o["S3Output"]["S3Uri"]
        for o in dataset["ProcessingOutputConfig"]["Outputs"]
    }
    read = {i["S3Input"]["LocalPath"]: i["S3Input"]["S3Uri"] for i in clarify["ProcessingInputs"]}
    assert read[CLARIFY_DATA_PATH] == written[DATASET_OUTPUT_PATH]
    assert read[CLARIFY_CONFIG_PATH] == written[CONFIG_OUTPUT_PATH]
    (analysis,) = clarify["ProcessingOutputConfig"]["Outputs"]
    stage_one = job.parse_args(dataset["AppSpecification"]["ContainerArguments"])
    assert stage_one.dataset_output == Path(DATASET_OUTPUT_PATH)
    assert stage_one.config_output == Path(CONFIG_OUTPUT_PATH)
    assert stage_one.clarify_config_uri.startswith("s3://")
    stage_two = job.parse_args(check["AppSpecification"]["ContainerArguments"])
    assert stage_two.analysis_uri == f"{analysis['S3Output']['S3Uri']}/{CLARIFY_ANALYSIS_FILE}"
    return stage_one, stage_two, check


def test_clarify_reads_what_the_dataset_stage_writes_and_the_check_reads_its_analysis(
    steps: dict[str, dict[str, Any]],
) -> None:
    names = [EXPLAINABILITY_DATASET_STEP, EXPLAINABILITY_ANALYSIS_STEP, STEP]
    stage_one, stage_two, check = wired_stages(steps, names)
    assert stage_one.model_name  # the served model's (deploy-time) name
    assert stage_two.baseline_uri  # the registry's explainability baseline (package check)
    assert stage_two.ndcg_threshold == 0.85
    assert (stage_two.check, stage_two.endpoint, stage_two.schedule) == (
        "explainability",
        ENDPOINT,
        SCHEDULE,
    )
    # the report step's results are where the violations handler reads them
    assert check["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"].endswith(
        "/explainability/exec-1"
    )


def test_the_analysis_config_is_the_model_monitor_engines_with_the_served_model(
    outdir: Path, tmp_path: Path
) -> None:
    from sagemaker.core.clarify import ANALYSIS_CONFIG_SCHEMA_V1_0

    # single-file assets are staged as asset.<hash>.json
    (config_file,) = [p for p in outdir.glob("asset.*.json") if '"shap"' in p.read_text()]
    config = json.loads(config_file.read_text())
    assert config["dataset_type"] == "text/csv"
    assert config["headers"] == ["tenure_months", "monthly_balance", "products_held", "channel"]
    assert config["methods"]["shap"]["num_samples"] == 50
    assert "model_name" not in config["predictor"]
    # What Clarify reads after the dataset stage: the SDK's schema accepts it
    written = job.write_clarify_config(config, "churn-propensity-model-7", tmp_path)
    final = json.loads(written.read_text())
    assert final["predictor"]["model_name"] == "churn-propensity-model-7"
    ANALYSIS_CONFIG_SCHEMA_V1_0.validate(final)


def test_the_metrics_the_check_publishes_are_the_ones_the_alarms_watch(
    templates: dict[str, dict[str, Any]],
) -> None:
    alarms = [
        r["Properties"]
        for r in templates["example-bank-dev-models-00"]["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
        and r["Properties"].get("Namespace") == job.NAMESPACES["explainability"]
    ]
    assert alarms  # the "no results" alarm of the explainability check
    for alarm in alarms:
        dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        assert dimensions == {
            "Endpoint": ENDPOINT,
            "MonitoringSchedule": SCHEDULE,
            **job.EXPLAINABILITY_DIMENSIONS,
        }
        assert alarm["MetricName"].removeprefix("feature_") in {
            "tenure_months",
            "monthly_balance",
            "products_held",
            "channel",
        }


def test_the_governance_pack_checks_the_clarify_step(outdir: Path) -> None:
    # Given the synthesized pipeline, PPS1 and PPS2 pass; the Clarify step without its VPC or
    # its output key fails them on exactly this pipeline
    runner = GovernanceRunner(read_assembly(outdir))
    templates = {s.stack_name: s.template for s in read_assembly(outdir)}
    baseline = runner.findings(templates)
    assert not {f for f in baseline if f[0] in ("Governance-PPS1", "Governance-PPS2")}

    def clarify(definition: dict[str, Any]) -> dict[str, Any]:
        (step,) = (s for s in definition["Steps"] if s["Name"] == EXPLAINABILITY_ANALYSIS_STEP)
        arguments: dict[str, Any] = step["Arguments"]
        return arguments

    for rule, edit in (
        ("Governance-PPS1", lambda d: clarify(d)["NetworkConfig"].pop("VpcConfig")),
        (
            "Governance-PPS1",
            lambda d: clarify(d)["NetworkConfig"].update(
                EnableInterContainerTrafficEncryption=False
            ),
        ),
        ("Governance-PPS2", lambda d: clarify(d)["ProcessingOutputConfig"].pop("KmsKeyId")),
    ):
        mutated = copy.deepcopy(templates)
        edit_definition(PIPELINE, edit)(mutated)
        new = runner.findings(mutated) - baseline
        assert {(r, s) for r, s, _ in new} == {(rule, "example-bank-dev-models-00")}, new


def test_without_the_opt_in_explainability_is_refused_saying_how_to_opt_in() -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(config_data(opt_in=False), DEFAULT_CONFIG)
    message = str(error.value)
    assert "models[0].monitoring.explainability.enabled" in message
    assert "no longer open to new customers" in message
    assert "clarify_existing_customer: true" in message


def test_the_opt_in_is_only_for_the_evidently_engine() -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(config_data(engine="model-monitor"), DEFAULT_CONFIG)
    message = str(error.value)
    assert "clarify_existing_customer" in message
    assert "only with monitoring_engine evidently" in message


def handle_check_run(
    templates: dict[str, dict[str, Any]],
    endpoint: str,
    check: str,
    violations: list[dict[str, str]],
) -> tuple[Any, Any]:
    """The violations handler's result and notifier after the check step of ``endpoint``'s
    ``check`` (the schedule the synthesized endpoint parameter names) completed with
    ``violations``."""
    from governance.events import ProcessingJobStateChange
    from governance.logic.monitoring import ViolationStores, run_violations
    from tests.handlers.fakes import (
        FakeEvidence,
        FakeMonitoringRuns,
        FakeNotifier,
        FakeParameters,
        FakePipelines,
    )

    (parameter,) = (
        json.loads(r["Properties"]["Value"])
        for r in templates["example-bank-dev-models-00"]["Resources"].values()
        if r["Type"] == "AWS::SSM::Parameter"
        and r["Properties"]["Name"].endswith(f"/endpoints/{endpoint}")
    )
    schedule = parameter["monitors"][check]
    report = f"s3://reports/{endpoint}/{check}/exec-1"
    arn = "arn:aws:sagemaker:eu-west-1:555566667777:processing-job/pipelines-exec-1-check"
    event = {
        "version": "0",
        "id": "event-1",
        "detail-type": "SageMaker Processing Job State Change",
        "source": "aws.sagemaker",
        "account": "555566667777",
        "time": "2026-12-02T04:05:00Z",
        "region": REGION,
        "resources": [arn],
        "detail": {
            "ProcessingJobName": "pipelines-exec-1-check",
            "ProcessingJobArn": arn,
            "ProcessingJobStatus": "Completed",
            "ExitMessage": f"CompletedWithViolations: {len(violations)} violation(s)",
            "Environment": {ENV_ENDPOINT_NAME: endpoint, ENV_SCHEDULE_NAME: schedule},
            "ProcessingOutputConfig": {"Outputs": [{"S3Output": {"S3Uri": report}}]},
        },
    }
    evidence = FakeEvidence()
    evidence.documents[f"{report}/constraint_violations.json"] = {"violations": violations}
    notifier = FakeNotifier()
    stores = ViolationStores(
        runs=FakeMonitoringRuns(),
        parameters=FakeParameters(endpoints={endpoint: parameter}),
        evidence=evidence,
        pipelines=FakePipelines(),
        notifier=notifier,
    )
    result = run_violations(ProcessingJobStateChange.model_validate(event), stores)
    return result, notifier


def test_the_violations_handler_records_the_checks_drift_like_model_monitors(
    templates: dict[str, dict[str, Any]],
) -> None:
    # Given the endpoint's parameter as synthesized and a check run that found drift
    violations = job.explainability(
        {"explanations": {"kernel_shap": {"label0": {"global_shap_values": {"a": 0.1, "b": 0.9}}}}},
        {"explanations": {"kernel_shap": {"label0": {"global_shap_values": {"a": 0.9, "b": 0.1}}}}},
        job.Settings(
            check="explainability",
            problem_type="BinaryClassification",
            endpoint_name=ENDPOINT,
            schedule_name=SCHEDULE,
            features=(job.Feature("a", "numeric"), job.Feature("b", "numeric")),
        ),
        0.9,
    ).violations
    # When the handler receives the run's state change
    result, notifier = handle_check_run(templates, ENDPOINT, "explainability", violations)
    # Then it records and alerts an explainability violation, as for Model Monitor's monitor
    assert (result.status, result.monitor_type, result.violation_count) == (
        "recorded",
        "explainability",
        1,
    )
    (detail,) = notifier.details
    assert detail["violations"][0]["checkType"] == "feature_attribution_drift_check"
    assert len(notifier.alerts) == 1


def test_the_report_lists_and_prices_each_job_of_the_check(outdir: Path) -> None:
    from governance_report.assembly import load_assembly
    from governance_report.controls import governed_models

    (model,) = [m for m in governed_models(load_assembly(outdir)) if m.name == MODEL]
    explainability = [m for m in model.monitors if m.monitoring_type == "ModelExplainability"]
    assert [m.name for m in explainability] == [f"{SCHEDULE} (job {n} of 3)" for n in (1, 2, 3)]
    assert {m.engine for m in explainability} == {"Evidently"}
    assert all(m.instance_type and m.max_runtime_seconds for m in explainability)


# One synth of the evidently environment: scheduled first (tests/conftest.py).
pytestmark = pytest.mark.slow

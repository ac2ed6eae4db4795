"""Bias on SageMaker Clarify, on the Evidently engine, for existing Clarify customers.

Under ``clarify_existing_customer: true`` the bias check is a pipeline of three steps, shaped
like explainability's: BiasDataset (the Evidently job writes the window's predictions joined
with ground truth as Clarify's CSV, and the analysis config built at synth by the SDK), then
BiasAnalysis (a SageMaker Clarify processing job hardened as ExplainabilityAnalysis, but
network-isolated: the dataset carries the predicted label, so Clarify calls no endpoint), then
BiasCheck (the Evidently job reads Clarify's analysis.json and publishes the in-job check's
metrics and violations).

One module-scoped synth: the default config's evidently environment with the opt-in, in prod's
region, serving credit-default (bias on gender=female, four checks) there.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from cdk_constructs.compliance.templates import read_assembly
from cdk_constructs.monitoring import clarify_config
from cdk_constructs.monitoring.evidently_engine import (
    BIAS_ANALYSIS_STEP,
    BIAS_DATASET_STEP,
    ENV_ENDPOINT_NAME,
    ENV_MONITORING_TYPE,
    ENV_SCHEDULE_NAME,
    EXPLAINABILITY_ANALYSIS_STEP,
)
from cdk_constructs.monitoring.images import monitor_image_uri
from config import DEFAULT_CONFIG, parse_config
from config.loader import ConfigError
from monitoring_jobs import evidently_check as job
from tests.compliance_mutation.mutations import Where
from tests.compliance_mutation.test_mutations import GovernanceRunner
from tests.compliance_mutation.test_two_engine_mutations import edit_definition
from tests.monitoring_engines.test_clarify_explainability import (
    assert_runs_in_order,
    handle_check_run,
    pipeline_steps,
    read_templates,
    synthesize,
    wired_stages,
)

pytestmark = pytest.mark.slow

MODEL = "credit-default"
ENDPOINT = f"{MODEL}-dev"
SCHEDULE = f"{ENDPOINT}-bias"
REGION = "eu-west-1"
STACK = "example-bank-dev-models-00"
STEP = "BiasCheck"
PIPELINE = Where(
    "dev-models-00", f"{MODEL}/Serving/{MODEL}-evidently/{STEP}Pipeline", "AWS::SageMaker::Pipeline"
)
FEATURES = ["age", "income", "loan_amount", "credit_history_months", "employment_type", "gender"]


def config_data(*, opt_in: bool = True, thresholds: dict[str, Any] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(yaml.safe_load(DEFAULT_CONFIG.read_text()))
    (dev,) = (e for e in data["environments"] if e["name"] == "dev")
    dev["region"] = REGION
    if opt_in:
        dev["clarify_existing_customer"] = True
    data["environments"] = [dev]
    (model,) = (m for m in data["models"] if m["name"] == MODEL)
    model["deployment"]["environments"] = {"dev": {"package_version": 3}}
    if not opt_in:
        model["monitoring"]["explainability"] = {"enabled": False}
    data["models"] = [model]
    if thresholds is not None:
        data["governance"]["bias_thresholds"] = thresholds
    return data


@pytest.fixture(scope="module")
def outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesize(tmp_path_factory.mktemp("clarify-bias"), config_data())


@pytest.fixture(scope="module")
def templates(outdir: Path) -> dict[str, dict[str, Any]]:
    return read_templates(outdir)


@pytest.fixture(scope="module")
def steps(templates: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return pipeline_steps(templates, PIPELINE)


def test_the_pipeline_runs_dataset_clarify_and_check_in_order(
    templates: dict[str, dict[str, Any]],
) -> None:
    names = [BIAS_DATASET_STEP, BIAS_ANALYSIS_STEP, STEP]
    assert_runs_in_order(templates, PIPELINE, names, SCHEDULE)


def test_the_clarify_job_is_hardened_as_explainabilitys_and_network_isolated(
    steps: dict[str, dict[str, Any]], templates: dict[str, dict[str, Any]]
) -> None:
    clarify = steps[BIAS_ANALYSIS_STEP]["Arguments"]
    check = steps[STEP]["Arguments"]
    explainability_pipeline = Where(
        PIPELINE.stack, PIPELINE.path.replace(STEP, "ExplainabilityCheck"), PIPELINE.type
    )
    explainability = pipeline_steps(templates, explainability_pipeline)[
        EXPLAINABILITY_ANALYSIS_STEP
    ]["Arguments"]
    assert clarify["AppSpecification"] == {"ImageUri": monitor_image_uri("clarify", REGION)}
    network = clarify["NetworkConfig"]
    # the predicted label is in the dataset: no shadow endpoint, so no network at all
    assert network["EnableNetworkIsolation"] is True
    assert explainability["NetworkConfig"]["EnableNetworkIsolation"] is False
    assert network["EnableInterContainerTrafficEncryption"] is True
    assert network["VpcConfig"] == check["NetworkConfig"]["VpcConfig"]
    for key in ("ProcessingResources", "RoleArn", "AppSpecification"):
        assert clarify[key] == explainability[key]
    key = check["ProcessingOutputConfig"]["KmsKeyId"]
    assert clarify["ProcessingOutputConfig"]["KmsKeyId"] == key
    assert clarify["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == key
    assert clarify["RoleArn"] == check["RoleArn"]
    assert clarify["StoppingCondition"]["MaxRuntimeInSeconds"] > 0
    # every step names the check: a failed step is an attributed gap
    for step in steps.values():
        environment = step["Arguments"]["Environment"]
        assert environment[ENV_ENDPOINT_NAME] == ENDPOINT
        assert environment[ENV_SCHEDULE_NAME] == SCHEDULE
        assert environment[ENV_MONITORING_TYPE] == "ModelBias"


def test_clarify_reads_what_the_dataset_stage_writes_and_the_check_reads_its_analysis(
    steps: dict[str, dict[str, Any]],
) -> None:
    names = [BIAS_DATASET_STEP, BIAS_ANALYSIS_STEP, STEP]
    stage_one, stage_two, check = wired_stages(steps, names)
    assert stage_one.model_name is None  # no shadow endpoint
    assert stage_one.mlflow_tracking_arn is None  # the dataset stage checks nothing
    assert stage_one.ground_truth_uri.startswith("s3://")
    for stage in (stage_one, stage_two):
        spec = job.settings_from(stage).bias
        assert spec is not None
        assert (spec.label, spec.label_value, spec.facet, spec.facet_value) == (
            "default",
            "0",
            "gender",
            "female",
        )
        assert dict((n, (lo, hi)) for n, lo, hi in spec.thresholds) == {
            "DI": (0.8, 1.25),
            "DPPL": (-0.1, 0.1),
            "CI": (-0.3, 0.3),
        }
    assert (stage_two.check, stage_two.endpoint, stage_two.schedule) == ("bias", ENDPOINT, SCHEDULE)
    # the check step's results are where the violations handler reads them
    assert check["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"].endswith(
        "/bias/exec-1"
    )


def test_the_analysis_config_is_the_sdks_with_the_policys_facet_and_no_predictor(
    outdir: Path,
) -> None:
    from sagemaker.core.clarify import ANALYSIS_CONFIG_SCHEMA_V1_0

    (config_file,) = [
        p for p in outdir.glob("asset.*.json") if '"post_training_bias"' in p.read_text()
    ]
    config = json.loads(config_file.read_text())
    ANALYSIS_CONFIG_SCHEMA_V1_0.validate(config)
    assert config["dataset_type"] == "text/csv"
    assert config["headers"] == [*FEATURES, "default", job.PREDICTED_LABEL_HEADER]
    assert config["label"] == "default"
    assert config["predicted_label"] == job.PREDICTED_LABEL_HEADER
    assert config["label_values_or_threshold"] == [0]
    assert config["facet"] == [{"name_or_index": "gender", "value_or_threshold": ["female"]}]
    assert config["probability_threshold"] == 0.5
    assert "predictor" not in config
    # the metrics the in-job check computes, so both publish the same set
    assert config["methods"]["pre_training_bias"]["methods"] == list(job.PRE_TRAINING_BIAS_METRICS)
    assert config["methods"]["post_training_bias"]["methods"] == list(
        job.POST_TRAINING_BIAS_METRICS
    )
    assert clarify_config.PREDICTED_LABEL_HEADER == job.PREDICTED_LABEL_HEADER
    # what the dataset stage writes where Clarify reads it
    assert job.write_clarify_config(config, None, outdir / "stage").is_file()


def test_the_metrics_the_check_publishes_are_the_ones_the_alarms_watch(
    templates: dict[str, dict[str, Any]],
) -> None:
    alarms = [
        r["Properties"]
        for r in templates[STACK]["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
        and r["Properties"].get("Namespace") == job.NAMESPACES["bias"]
    ]
    assert alarms
    spec = job.BiasSpec("default", "0", "gender", "female")
    for alarm in alarms:
        dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        name = alarm["MetricName"].removeprefix("bias_metric_")
        assert name in job.BIAS_METRICS
        assert dimensions == {
            "Endpoint": ENDPOINT,
            "MonitoringSchedule": SCHEDULE,
            **spec.dimensions(name),
        }


def test_the_violations_handler_records_clarifys_bias_like_the_in_job_checks(
    templates: dict[str, dict[str, Any]],
) -> None:
    # Given a BiasCheck run whose Clarify analysis puts DI outside the policy's interval
    spec = job.BiasSpec("default", "0", "gender", "female", (("DI", 0.8, 1.25),))
    settings = job.Settings(
        "bias",
        "BinaryClassification",
        ENDPOINT,
        SCHEDULE,
        (job.Feature("gender", "categorical"),),
        bias=spec,
    )
    section = {
        "label": "default",
        "label_value_or_threshold": "0",
        "facets": {
            "gender": [{"value_or_threshold": "female", "metrics": [{"name": "DI", "value": 0.6}]}]
        },
    }
    result = job.clarify_bias({"post_training_bias_metrics": section}, settings)
    # When the violations handler receives the run's state change
    handled, notifier = handle_check_run(templates, ENDPOINT, "bias", result.violations)
    # Then it records and alerts a bias drift violation, as for the in-job check
    assert (handled.status, handled.monitor_type, handled.violation_count) == (
        "recorded",
        "bias",
        1,
    )
    (detail,) = notifier.details
    assert detail["violations"][0]["checkType"] == "bias_drift_check"
    assert len(notifier.alerts) == 1


def test_the_governance_pack_checks_the_clarify_bias_step(outdir: Path) -> None:
    # Given the synthesized pipeline, PPS1-3 pass; the Clarify bias step without network
    # isolation, its VPC or its output key fails them on exactly this pipeline
    runner = GovernanceRunner(read_assembly(outdir))
    templates = {s.stack_name: s.template for s in read_assembly(outdir)}
    baseline = runner.findings(templates)
    rules = ("Governance-PPS1", "Governance-PPS2", "Governance-PPS3")
    assert not {f for f in baseline if f[0] in rules}

    def clarify(definition: dict[str, Any]) -> dict[str, Any]:
        (step,) = (s for s in definition["Steps"] if s["Name"] == BIAS_ANALYSIS_STEP)
        arguments: dict[str, Any] = step["Arguments"]
        return arguments

    for expected, edit in (
        (
            {"Governance-PPS3"},
            lambda d: clarify(d)["NetworkConfig"].update(EnableNetworkIsolation=False),
        ),
        (
            {"Governance-PPS1", "Governance-PPS3"},
            lambda d: clarify(d)["NetworkConfig"].pop("VpcConfig"),
        ),
        (
            {"Governance-PPS2", "Governance-PPS3"},
            lambda d: clarify(d)["ProcessingOutputConfig"].pop("KmsKeyId"),
        ),
    ):
        mutated = copy.deepcopy(templates)
        edit_definition(PIPELINE, edit)(mutated)
        new = runner.findings(mutated) - baseline
        assert {(r, s) for r, s, _ in new} == {(r, STACK) for r in expected}, new


def test_the_report_says_bias_and_explainability_run_on_clarify(outdir: Path) -> None:
    from governance_report.assembly import load_assembly
    from governance_report.controls import governed_models

    (model,) = [m for m in governed_models(load_assembly(outdir)) if m.name == MODEL]
    bias = [m for m in model.monitors if m.monitoring_type == "ModelBias"]
    assert [m.name for m in bias] == [f"{SCHEDULE} (job {n} of 3)" for n in (1, 2, 3)]
    for monitor in model.monitors:
        if monitor.monitoring_type in ("ModelBias", "ModelExplainability"):
            assert monitor.computed_by == "on SageMaker Clarify"
        else:
            assert monitor.computed_by is None


@pytest.mark.parametrize("metric", ["CDDPL", "FT"])
def test_metrics_clarify_cannot_compute_here_are_still_refused(metric: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(
            config_data(
                thresholds={"DI": {"min": 0.8, "max": 1.25}, metric: {"min": -0.1, "max": 0.1}}
            ),
            DEFAULT_CONFIG,
        )
    message = str(error.value)
    assert f"governance.bias_thresholds.{metric}" in message
    assert job.UNCOMPUTED_BIAS_METRICS[metric] in message

"""The training pipeline's definition, as the SDK builds it, checked from the JSON itself.

One build per engine form per module (the SDK takes seconds); everything reads its output.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest

from cdk_constructs.monitoring.baselines import BASELINE_PATHS
from cdk_constructs.training import definition as d
from cdk_constructs.training.hardening import hardening, problems, steps
from governance.contracts import reference_data
from governance.logic import approval
from governance.sagemaker import ModelPackage
from tests.conftest import sagemaker_service_model

REGION = "eu-west-1"
FEATURES = ("age", "income", "gender")
SPEC = d.TrainingPipelineSpec(
    pipeline_name="credit-default-training",
    model="credit-default",
    region=REGION,
    problem_type="BinaryClassification",
    columns=("default", *FEATURES),
    column_kinds=("categorical", "numerical", "numerical", "categorical"),
    label="default",
    train_data_key="data/credit/train/",
    validation_data_key="data/credit/validation/",
    image_uri="111122223333.dkr.ecr.eu-west-1.amazonaws.com/credit:1",
    instance_type="ml.m5.xlarge",
    instance_count=1,
    volume_size_gb=30,
    max_runtime_seconds=3600,
    processing_instance_type="ml.m5.xlarge",
    hyperparameters={"max_depth": "5"},
    quality_metric="auc",
    quality_floor=0.75,
    engine="model-monitor",
    owner="credit-risk-analytics",
    risk_tier="high",
    data_classification="confidential",
    model_card_name="credit-default",
    source_revision="unrecorded",
    bias=d.BiasFacet(label_value=0, facet="gender", facet_value="female"),
    shap_baseline_uri="s3://baselines-bucket/shap.csv",
    version_tags={"governance:model": "credit-default", "governance:owner": "credit-risk"},
)


def _built(spec: d.TrainingPipelineSpec) -> tuple[dict[str, Any], d.BuiltDefinition]:
    built = d.build_definition(spec, d.placeholder_deploy_time())
    return json.loads(built.json_text), built


@pytest.fixture(scope="module")
def model_monitor() -> tuple[dict[str, Any], d.BuiltDefinition]:
    return _built(SPEC)


@pytest.fixture(scope="module")
def evidently() -> tuple[dict[str, Any], d.BuiltDefinition]:
    return _built(replace(SPEC, engine="evidently"))


def _step(definition: dict[str, Any], name: str) -> dict[str, Any]:
    return next(dict(s) for s in steps(definition) if s["Name"] == name)


# --- shape: botocore and the SDK -----------------------------------------------------------------

_EXPRESSION_KEYS = {"Get", "Std:Join", "Std:JsonGet"}
# Filled in by SageMaker Pipelines at run time (the SDK pops them from the definition).
_PIPELINE_FILLS = {"TrainingJobName", "ProcessingJobName", "TransformJobName", "ModelName"}
_REQUEST_SHAPE = {
    "Training": "CreateTrainingJob",
    "Processing": "CreateProcessingJob",
    "QualityCheck": "CreateProcessingJob",
    "ClarifyCheck": "CreateProcessingJob",
    "Transform": "CreateTransformJob",
    "Model": "CreateModel",
    "RegisterModel": "CreateModelPackage",
}


def _concrete(value: Any) -> Any:
    """Pipeline expressions (resolved per execution) as a string of the same position."""
    if isinstance(value, dict):
        if value.keys() & _EXPRESSION_KEYS:
            return "s3://resolved-at-run-time/x"
        return {key: _concrete(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_concrete(item) for item in value]
    return value


def _botocore_errors(operation: str, arguments: dict[str, Any]) -> list[str]:
    from botocore.validate import ParamValidator

    model = sagemaker_service_model()
    shape = model.operation_model(operation).input_shape
    report = ParamValidator().validate(_concrete(arguments), shape)
    return [
        line
        for line in report.generate_report().splitlines()
        if line.strip()
        and not line.startswith("Invalid parameters")
        and not any(f'"{name}"' in line for name in _PIPELINE_FILLS)
    ]


def test_the_definition_fits_createpipeline(model_monitor: Any) -> None:
    _, built = model_monitor
    assert (
        _botocore_errors(
            "CreatePipeline",
            {
                "PipelineName": SPEC.pipeline_name,
                "PipelineDefinition": built.json_text,
                "RoleArn": "arn:aws:iam::111122223333:role/pipeline",
                "ClientRequestToken": "a" * 32,
            },
        )
        == []
    )


@pytest.mark.parametrize("engine", ["model_monitor", "evidently"])
def test_every_step_is_a_valid_request_of_its_api(engine: str, request: Any) -> None:
    definition, _ = request.getfixturevalue(engine)
    checked = 0
    for step in steps(definition):
        operation = _REQUEST_SHAPE.get(step["Type"])
        if operation is None:
            continue
        assert _botocore_errors(operation, dict(step["Arguments"])) == [], step["Name"]
        checked += 1
    assert checked >= 9


def test_the_botocore_check_can_fail() -> None:
    errors = _botocore_errors("CreateTrainingJob", {"RoleArn": "x", "ResourceConfig": {}})
    assert any('"OutputDataConfig"' in e for e in errors)
    assert any("RoleArn" in e for e in errors)
    # while the names Pipelines fills in are not reported missing
    assert not any("TrainingJobName" in e for e in errors)


def test_the_definition_round_trips_through_the_sdk(model_monitor: Any) -> None:
    from sagemaker.mlops.workflow.pipeline import PipelineGraph

    definition, built = model_monitor
    # Canonical: loading and dumping changes nothing, and building again gives the same text.
    assert json.dumps(definition, sort_keys=True, indent=1) == built.json_text
    assert d.build_definition(SPEC, d.placeholder_deploy_time()).json_text == built.json_text
    names = [s["Name"] for s in steps(definition)]
    assert len(names) == len(set(names))
    assert PipelineGraph is not None


def test_steps_run_in_the_documented_order(model_monitor: Any) -> None:
    definition, _ = model_monitor
    top = [s["Name"] for s in definition["Steps"]]
    assert top == [
        d.DATA_QUALITY_STEP,
        d.PRE_TRAINING_BIAS_STEP,
        d.TRAIN_STEP,
        d.CREATE_MODEL_STEP,
        d.PREDICT_STEP,
        d.EVALUATE_STEP,
        d.QUALITY_GATE_STEP,
    ]
    gate = _step(definition, d.QUALITY_GATE_STEP)["Arguments"]
    assert [s["Name"] for s in gate["IfSteps"]] == [
        d.POST_TRAINING_BIAS_STEP,
        d.EXPLAINABILITY_STEP,
        d.REGISTER_STEP,
    ]
    assert [s["Name"] for s in gate["ElseSteps"]] == [d.QUALITY_FAIL_STEP]


# --- hardening, parsed from the definition -------------------------------------------------------


@pytest.mark.parametrize("engine", ["model_monitor", "evidently"])
def test_every_job_step_is_hardened(engine: str, request: Any) -> None:
    definition, _ = request.getfixturevalue(engine)
    found = hardening(definition)
    assert {h.step_type for h in found} >= {"Training", "Processing", "ClarifyCheck", "Model"}
    assert problems(definition) == []


def test_only_clarify_shadow_endpoint_checks_run_without_network_isolation(
    model_monitor: Any,
) -> None:
    definition, _ = model_monitor
    exempt = {h.name for h in hardening(definition) if h.exemptions and h.step_type != "Transform"}
    assert exempt == {d.POST_TRAINING_BIAS_STEP, d.EXPLAINABILITY_STEP}
    for name in (d.DATA_QUALITY_STEP, d.PRE_TRAINING_BIAS_STEP, d.EVALUATE_STEP):
        assert _step(definition, name)["Arguments"]["NetworkConfig"]["EnableNetworkIsolation"]


def test_the_hardening_check_fails_an_unhardened_step(model_monitor: Any) -> None:
    definition, _ = model_monitor
    broken = json.loads(json.dumps(definition))
    train = next(s for s in broken["Steps"] if s["Name"] == d.TRAIN_STEP)
    del train["Arguments"]["ResourceConfig"]["VolumeKmsKeyId"]
    train["Arguments"]["EnableNetworkIsolation"] = False
    gate = next(s for s in broken["Steps"] if s["Name"] == d.QUALITY_GATE_STEP)
    explain = next(s for s in gate["Arguments"]["IfSteps"] if s["Name"] == d.EXPLAINABILITY_STEP)
    del explain["Arguments"]["ProcessingOutputConfig"]["KmsKeyId"]
    assert sorted(problems(broken)) == [
        "Explainability: output encrypted with KMS (ProcessingOutputConfig.KmsKeyId)",
        "Train: network isolation (EnableNetworkIsolation)",
        "Train: volume encrypted with KMS (ResourceConfig.VolumeKmsKeyId)",
    ]


def test_deploy_time_values_replace_every_placeholder() -> None:
    deploy = d.DeployTime(
        bucket_name="real-bucket",
        key_arn="arn:aws:kms:eu-west-1:111122223333:key/real",
        training_role_arn="arn:aws:iam::111122223333:role/training",
        processing_role_arn="arn:aws:iam::111122223333:role/processing",
        subnet_ids=["subnet-a", "subnet-b"],
        security_group_id="sg-real",
    )
    built = d.build_definition(SPEC, deploy)
    text = built.json_text + "".join(built.files.values())
    assert "placeholder" not in text
    assert "0000000000000c0de" not in text
    definition = json.loads(built.json_text)
    train = _step(definition, d.TRAIN_STEP)["Arguments"]
    assert train["VpcConfig"] == {
        "SecurityGroupIds": ["sg-real"],
        "Subnets": ["subnet-a", "subnet-b"],
    }
    assert train["RoleArn"] == deploy.training_role_arn
    assert train["OutputDataConfig"]["S3OutputPath"] == "s3://real-bucket/models/credit-default/"


# --- formats and locations: what the gate and the deploy-time check read ------------------------


def _register(definition: dict[str, Any]) -> dict[str, Any]:
    return _step(definition, d.REGISTER_STEP)["Arguments"]


_STEP_OUTPUT_FILES = {
    # What a check step's properties point at: a file in the step's output folder (SDK
    # quality_check_step / clarify_check_step: statistics.json, constraints.json, analysis.json).
    "CalculatedBaselineStatistics": "statistics.json",
    "CalculatedBaselineConstraints": "constraints.json",
    "BaselineUsedForDriftCheckStatistics": "statistics.json",
    "BaselineUsedForDriftCheckConstraints": "constraints.json",
}


def _renderer(definition: dict[str, Any]) -> Any:
    """Render pipeline expressions for one execution (id ``exec123``): a check step's property
    becomes a file in the folder the step writes, so the test sees where evidence really lands."""

    def render(value: Any) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and "Std:Join" in value:
            join = value["Std:Join"]
            return str(join["On"]).join(render(part) for part in join["Values"])
        if isinstance(value, dict) and value.get("Get") == "Execution.PipelineExecutionId":
            return "exec123"
        if isinstance(value, dict) and str(value.get("Get", "")).startswith("Steps."):
            _, name, prop = value["Get"].split(".", 2)
            step = _step(definition, name)
            (output,) = step["Arguments"]["ProcessingOutputConfig"]["Outputs"]
            return f"{render(output['S3Output']['S3Uri'])}/{_STEP_OUTPUT_FILES[prop]}"
        if isinstance(value, dict):
            return {key: render(item) for key, item in value.items()}
        raise AssertionError(f"unexpected expression {value!r}")

    return render


def _as_registered(definition: dict[str, Any]) -> dict[str, Any]:
    """DescribeModelPackage of the version the Register step registers, for one execution."""
    arguments = _register(definition)
    render = _renderer(definition)
    return {
        "ModelPackageGroupName": arguments["ModelPackageGroupName"],
        "ModelPackageVersion": 1,
        "ModelPackageArn": (
            "arn:aws:sagemaker:eu-west-1:111122223333:model-package/credit-default/1"
        ),
        "ModelApprovalStatus": arguments["ModelApprovalStatus"],
        "ModelMetrics": render(arguments["ModelMetrics"]),
        "DriftCheckBaselines": render(arguments["DriftCheckBaselines"]),
    }


def test_registration_is_pending_manual_approval_only(model_monitor: Any) -> None:
    definition, _ = model_monitor
    arguments = _register(definition)
    assert arguments["ModelApprovalStatus"] == "PendingManualApproval"
    assert arguments["ModelPackageGroupName"] == SPEC.model
    assert {"Key": "governance:model", "Value": SPEC.model} in arguments["Tags"]


def test_registration_records_owner_tier_classification_revision_and_execution(
    model_monitor: Any,
) -> None:
    definition, _ = model_monitor
    arguments = _register(definition)
    metadata = arguments["CustomerMetadataProperties"]
    assert metadata[d.METADATA_KEYS["owner"]] == SPEC.owner
    assert metadata[d.METADATA_KEYS["risk_tier"]] == "high"
    assert metadata[d.METADATA_KEYS["data_classification"]] == "confidential"
    assert metadata[d.METADATA_KEYS["source_revision"]] == {
        "Get": f"Parameters.{d.SOURCE_REVISION_PARAMETER}"
    }
    assert metadata[d.METADATA_KEYS["model_card"]] == SPEC.model_card_name
    assert metadata[d.METADATA_KEYS["pipeline_execution"]] == {
        "Get": "Execution.PipelineExecutionArn"
    }
    assert arguments["MetadataProperties"]["GeneratedBy"] == {
        "Get": "Execution.PipelineExecutionArn"
    }


def test_the_gate_finds_every_piece_of_evidence_it_requires(model_monitor: Any) -> None:
    # Given the version the pipeline registers, as DescribeModelPackage would show it
    definition, _ = model_monitor
    package = ModelPackage.model_validate(_as_registered(definition))
    policy_evidence = [
        "model_quality_metrics",
        "bias_report",
        "explainability_report",
        "drift_check_baselines",
    ]
    from governance.contracts.parameters import ApprovalPolicy

    policy = ApprovalPolicy.model_validate(
        {
            "model_name": SPEC.model,
            "model_package_group_name": SPEC.model,
            "model_card_name": SPEC.model,
            "risk_tier": "high",
            "required_evidence": policy_evidence,
            "on_failure": "Rejected",
            "bias_thresholds": {},
            "bias_facet": None,
        }
    )
    # When the gate evaluates it with its own logic
    verdict = approval.evaluate(
        package,
        policy,
        bias_reports=approval.BiasReports(()),
        card=None,
        governed_bucket="governance-placeholder-bucket",
    )
    # Then every evidence check passes (the location check included), and every URI is under
    # the model's governed prefixes
    assert approval.EVIDENCE_LOCATION_CHECK in [c.name for c in verdict.checks]
    assert [c.name for c in verdict.checks if not c.passed] == []
    governed = re.compile(r"s3://governance-placeholder-bucket/baselines/credit-default/exec123/")
    assert all(governed.match(uri) for uri in package.evidence_uris()), package.evidence_uris()


@pytest.mark.parametrize(("engine", "form"), [("model_monitor", "mm"), ("evidently", "ev")])
def test_drift_baselines_are_where_the_deploy_time_check_reads_them(
    engine: str, form: str, request: Any
) -> None:
    definition, _ = request.getfixturevalue(engine)
    registered = _as_registered(definition)
    for monitor, files in BASELINE_PATHS.items():
        for file, path in files.items():
            node: Any = registered
            for part in path.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if form == "ev" and monitor == "data_quality" and file == "constraints":
                assert node is None  # Evidently takes its tests from its report config
                continue
            assert isinstance(node, str), (monitor, file)
            assert node.startswith("s3://"), (monitor, file)


def test_the_evidently_form_points_at_the_reference_summary(evidently: Any) -> None:
    definition, built = evidently
    registered = _as_registered(definition)
    statistics = registered["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"]
    assert statistics["ContentType"] == reference_data.SUMMARY_CONTENT_TYPE
    location = reference_data.parse_location(statistics["S3Uri"], model=SPEC.model)
    assert location.execution_id == "exec123"
    # The snapshot step writes exactly that folder, and ships the snapshot script
    snapshot = _step(definition, d.DATA_QUALITY_STEP)["Arguments"]
    (output,) = snapshot["ProcessingOutputConfig"]["Outputs"]
    folder = _renderer(definition)(output["S3Output"]["S3Uri"])
    assert f"{folder}/{reference_data.SUMMARY_FILE}" == statistics["S3Uri"]
    assert any(key.endswith("/reference_snapshot.py") for key in built.files)
    # and Model Monitor's analyzer is not used for it
    assert (
        snapshot["AppSpecification"]["ImageUri"].split("/")[-1].startswith("sagemaker-scikit-learn")
    )


def test_the_model_monitor_form_uses_the_quality_check_analyzer(model_monitor: Any) -> None:
    definition, _ = model_monitor
    step = _step(definition, d.DATA_QUALITY_STEP)
    assert step["Type"] == "QualityCheck"
    assert step["CheckType"] == "DATA_QUALITY"
    assert "sagemaker-model-monitor-analyzer" in step["Arguments"]["AppSpecification"]["ImageUri"]


def test_the_quality_gate_reads_the_metric_the_evaluation_writes(model_monitor: Any) -> None:
    import numpy as np

    from cdk_constructs.training.scripts import evaluate

    definition, _ = model_monitor
    gate = _step(definition, d.QUALITY_GATE_STEP)["Arguments"]
    (condition,) = gate["Conditions"]
    assert condition["Type"] == "GreaterThanOrEqualTo"
    assert condition["RightValue"] == SPEC.quality_floor
    path = condition["LeftValue"]["Std:JsonGet"]["Path"]
    # The evaluation script writes that path, in Model Monitor's model-quality format
    truth = np.array([0, 1] * 150)
    score = np.where(truth == 1, 0.8, 0.3)
    document = evaluate.statistics("BinaryClassification", truth, score, 0.5)
    node: Any = document
    for part in path.split("."):
        node = node[part]
    assert node == pytest.approx(1.0)
    assert isinstance(document["binary_classification_metrics"]["auc"]["standard_deviation"], float)


def test_below_the_floor_the_fail_step_says_which_check_failed(model_monitor: Any) -> None:
    definition, _ = model_monitor
    message = _step(definition, d.QUALITY_FAIL_STEP)["Arguments"]["ErrorMessage"]
    text = json.dumps(message)
    assert "Quality check failed: auc" in text
    assert "at least 0.75" in text
    assert "nothing was registered" in text


def test_pre_and_post_training_bias_use_the_policys_label_and_facet(model_monitor: Any) -> None:
    from sagemaker.core import clarify

    _, built = model_monitor
    configs = [json.loads(text) for key, text in built.files.items() if key.endswith(".json")]
    bias = [c for c in configs if "facet" in c]
    assert len(bias) == 2  # pre-training and post-training
    for config in configs:
        clarify.ANALYSIS_CONFIG_SCHEMA_V1_0.validate(config)
    for config in bias:
        assert config["label"] == SPEC.label
        assert config["label_values_or_threshold"] == [0]
        assert config["facet"] == [{"name_or_index": "gender", "value_or_threshold": ["female"]}]
        assert config["headers"] == list(SPEC.columns)


def test_retraining_starts_pass_only_declared_parameters(model_monitor: Any) -> None:
    import inspect

    from governance.logic import monitoring

    definition, _ = model_monitor
    declared = {p["Name"] for p in definition["Parameters"]}
    source = inspect.getsource(monitoring.retraining_request)
    passed = set(re.findall(r'"(Trigger\w+)":', source))
    assert passed
    assert passed <= declared


def test_every_execution_is_tracked_as_an_experiment_trial(model_monitor: Any) -> None:
    definition, _ = model_monitor
    assert definition["PipelineExperimentConfig"] == {
        "ExperimentName": {"Get": "Execution.PipelineName"},
        "TrialName": {"Get": "Execution.PipelineExecutionId"},
    }


def test_the_reference_snapshot_script_writes_the_contract_format() -> None:
    import pandas as pd

    from cdk_constructs.training.scripts import reference_snapshot as script

    assert script.REFERENCE_FORMAT == reference_data.REFERENCE_FORMAT
    assert script.REFERENCE_FILE == reference_data.REFERENCE_FILE
    assert script.SUMMARY_FILE == reference_data.SUMMARY_FILE
    frame = pd.DataFrame({"default": [0, 1], "age": [30, 40], "gender": ["f", "m"]})
    data, summary = script.snapshot(
        frame,
        model="credit-default",
        execution_id="exec123",
        label="default",
        kinds=["categorical", "numerical", "categorical"],
    )
    parsed = reference_data.parse_summary(json.dumps(summary))
    assert parsed.row_count == 2
    assert parsed.column_names == ("default", "age", "gender")
    import hashlib

    assert parsed.sha256 == hashlib.sha256(data).hexdigest()


# SDK builds of the training pipeline definitions: scheduled first (tests/conftest.py).
pytestmark = pytest.mark.slow

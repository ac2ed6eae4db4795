"""Mutations on the Evidently engine's environment: batch scoring (TST1-3) and the MLflow App's
private endpoint (MLF2), which the default config does not have.

Like test_mutations.py (which weakens the prod stacks), but on the default config's evidently
environment (``dev``) with an MLflow App named, synthesized alone once for this module:
churn-propensity scores in batch there. Each weakening edits one resource of the templates in
memory, the Governance pack runs on them (``GovernanceChecks.check``), and the named rule must
give a new error finding on exactly the resource the mutation targets, and on no other resource.

A pipeline's inline definition is a JSON text around deploy-time values (``Fn::Join``): a
mutation decodes it with placeholders for those values, edits the decoded request and writes it
back the same way, as a careless edit of ``BatchScoring._transform_request`` would.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cdk_constructs.compliance.templates import read_assembly
from tests.compliance_mutation.mutations import Mutation, Templates, Where, locate, props
from tests.compliance_mutation.test_mutations import Finding, GovernanceRunner
from tests.conftest import cdk_context, default_config_in_one_environment

# The MLflow App the evidently environment's checks log to here (the default config names none)
# (a tracking server: the jobs log to it through the VPC's experiments endpoint; an App's runs
# are relayed from outside the VPC and need no endpoint, tests/monitoring_mlflow)
MLFLOW_APP = "arn:aws:sagemaker:us-east-1:555566667777:mlflow-tracking-server/governance"
ENVIRONMENT = "dev"  # the evidently environment
MODELS = f"{ENVIRONMENT}-models-00"
FOUNDATION = f"{ENVIRONMENT}-foundation"
G = "Governance-"

BATCH_PIPELINE = Where(
    MODELS, "churn-propensity/Serving/Batch/Pipeline", "AWS::SageMaker::Pipeline"
)
CHURN_MODEL = Where(MODELS, "churn-propensity/Serving/Endpoint/Model", "AWS::SageMaker::Model")

MLFLOW_GRANT = Where(MODELS, "EvidentlyEngine/MlflowLogging/Resource", "AWS::IAM::ManagedPolicy")
MLFLOW_ENDPOINT = Where(FOUNDATION, "Network/Resource/Mlflow/Resource", "AWS::EC2::VPCEndpoint")

_PLACEHOLDER = "@@deploy-time-value-{}@@"
_PLACEHOLDERS = re.compile(r"@@deploy-time-value-(\d+)@@")


def edit_definition(
    where: Where, edit: Callable[[dict[str, Any]], None]
) -> Callable[[Templates], None]:
    """Apply ``edit`` to the decoded inline definition of the pipeline at ``where``."""

    def apply(templates: Templates) -> None:
        definition = props(templates, where)["PipelineDefinition"]
        separator, items = definition["PipelineDefinitionBody"]["Fn::Join"]
        parts: list[Any] = []
        rendered: list[str] = []
        for item in items:
            if isinstance(item, str):
                rendered.append(item)
            else:
                rendered.append(_PLACEHOLDER.format(len(parts)))
                parts.append(item)
        decoded = json.loads(separator.join(rendered))
        edit(decoded)
        pieces = _PLACEHOLDERS.split(json.dumps(decoded))
        joined: list[Any] = [
            parts[int(piece)] if number % 2 else piece
            for number, piece in enumerate(pieces)
            if number % 2 or piece
        ]
        definition["PipelineDefinitionBody"] = {"Fn::Join": ["", joined]}

    return apply


def _transform(definition: dict[str, Any]) -> dict[str, Any]:
    (step,) = (s for s in definition["Steps"] if s["Type"] == "Transform")
    arguments: dict[str, Any] = step["Arguments"]
    return arguments


def _volume_key_removed(definition: dict[str, Any]) -> None:
    del _transform(definition)["TransformResources"]["VolumeKmsKeyId"]


def _output_key_removed(definition: dict[str, Any]) -> None:
    del _transform(definition)["TransformOutput"]["KmsKeyId"]


def _capture_removed(definition: dict[str, Any]) -> None:
    del _transform(definition)["DataCaptureConfig"]


def _capture_without_inference_ids(definition: dict[str, Any]) -> None:
    _transform(definition)["DataCaptureConfig"]["GenerateInferenceId"] = False


def _model_not_isolated(templates: Templates) -> None:
    props(templates, CHURN_MODEL)["EnableNetworkIsolation"] = False


def _model_out_of_vpc(templates: Templates) -> None:
    del props(templates, CHURN_MODEL)["VpcConfig"]


def _mlflow_endpoint_removed(templates: Templates) -> None:
    stack, logical_id = locate(templates, MLFLOW_ENDPOINT)
    del templates[stack]["Resources"][logical_id]


def _mlflow_endpoint_on_every_app(templates: Templates) -> None:
    (statement,) = props(templates, MLFLOW_ENDPOINT)["PolicyDocument"]["Statement"]
    statement["Resource"] = "*"


def _mlflow_endpoint_public_dns(templates: Templates) -> None:
    props(templates, MLFLOW_ENDPOINT)["PrivateDnsEnabled"] = False


MUTATIONS = (
    Mutation(
        "batch-transform-volume-unencrypted",
        ("MON-2",),
        "the batch transform's volume loses its KMS key",
        BATCH_PIPELINE,
        f"{G}TST1",
        edit_definition(BATCH_PIPELINE, _volume_key_removed),
    ),
    Mutation(
        "batch-transform-output-unencrypted",
        ("MON-2",),
        "the batch transform's output loses its KMS key",
        BATCH_PIPELINE,
        f"{G}TST1",
        edit_definition(BATCH_PIPELINE, _output_key_removed),
    ),
    Mutation(
        "batch-capture-off",
        ("MON-2",),
        "the batch transform stops capturing its inputs and outputs",
        BATCH_PIPELINE,
        f"{G}TST2",
        edit_definition(BATCH_PIPELINE, _capture_removed),
    ),
    Mutation(
        "batch-capture-without-inference-ids",
        ("MON-2",),
        "the batch capture has no inference ids, so labels cannot be joined",
        BATCH_PIPELINE,
        f"{G}TST2",
        edit_definition(BATCH_PIPELINE, _capture_without_inference_ids),
    ),
    Mutation(
        "batch-model-not-isolated",
        ("MON-2",),
        "the model the batch transform runs loses network isolation",
        BATCH_PIPELINE,
        f"{G}TST3",
        _model_not_isolated,
        reaches=(CHURN_MODEL,),
    ),
    Mutation(
        "batch-model-out-of-vpc",
        ("MON-2",),
        "the model the batch transform runs leaves the VPC",
        BATCH_PIPELINE,
        f"{G}TST3",
        _model_out_of_vpc,
        reaches=(CHURN_MODEL,),
    ),
    Mutation(
        "mlflow-endpoint-removed",
        ("MON-5",),
        "the foundation loses the tracking server's interface endpoint: every logged run fails",
        MLFLOW_GRANT,
        f"{G}MLF2",
        _mlflow_endpoint_removed,
    ),
    Mutation(
        "mlflow-endpoint-on-every-app",
        ("MON-5",),
        "the MLflow endpoint's policy lets its callers reach every App of the account",
        MLFLOW_GRANT,
        f"{G}MLF2",
        _mlflow_endpoint_on_every_app,
        reaches=(MLFLOW_ENDPOINT,),
    ),
    Mutation(
        "mlflow-endpoint-public-dns",
        ("MON-5",),
        "the MLflow endpoint's private DNS is off, so the App's host resolves to the internet",
        MLFLOW_GRANT,
        f"{G}MLF2",
        _mlflow_endpoint_public_dns,
        reaches=(MLFLOW_ENDPOINT,),
    ),
)


@pytest.fixture(scope="module")
def outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import aws_cdk as cdk

    from config import DEFAULT_CONFIG, parse_config
    from stacks.governance_app import build_governance

    data = default_config_in_one_environment(ENVIRONMENT, MLFLOW_APP)
    outdir: Path = tmp_path_factory.mktemp("default-dev-mlflow")
    app = cdk.App(outdir=str(outdir), context=cdk_context(**{"aws:cdk:enable-path-metadata": True}))
    build_governance(app, parse_config(data, DEFAULT_CONFIG))
    app.synth()
    return outdir


@pytest.fixture(scope="module")
def baseline(outdir: Path) -> Templates:
    return {
        p.name.removesuffix(".template.json"): json.loads(p.read_text())
        for p in outdir.glob("*.template.json")
    }


@pytest.fixture(scope="module")
def governance(outdir: Path) -> GovernanceRunner:
    return GovernanceRunner(read_assembly(outdir))


@pytest.fixture(scope="module")
def baseline_findings(governance: GovernanceRunner, baseline: Templates) -> set[Finding]:
    return governance.findings(baseline)


def test_the_baseline_passes_the_rules_the_mutations_break(
    baseline_findings: set[Finding],
) -> None:
    assert not {f for f in baseline_findings if f[0] in {m.rule for m in MUTATIONS}}


def test_the_batch_checks_log_to_the_environments_mlflow_app(baseline: Templates) -> None:
    # The environment names an MLflow App: its batch checks log there like its endpoint checks
    # (tests/monitoring_batch checks the default, which names none)
    from cdk_constructs.monitoring.batch import CHECK_STEPS
    from monitoring_jobs import evidently_check as job
    from tests.monitoring_batch.test_batch_pipeline import _executed, _steps

    steps = _steps(dict(baseline), ENVIRONMENT)
    for step in CHECK_STEPS.values():
        request = _executed(steps[step]["Arguments"])
        args = job.parse_args(request["AppSpecification"]["ContainerArguments"])
        assert args.mlflow_tracking_arn == MLFLOW_APP, step


def test_the_definition_edit_round_trips(baseline: Templates) -> None:
    # A mutation that changes nothing leaves the definition as it was (the edit is faithful).
    mutated = copy.deepcopy(baseline)
    edit_definition(BATCH_PIPELINE, lambda definition: None)(mutated)
    before = props(baseline, BATCH_PIPELINE)["PipelineDefinition"]["PipelineDefinitionBody"]
    after = props(mutated, BATCH_PIPELINE)["PipelineDefinition"]["PipelineDefinitionBody"]
    parts = [item for item in before["Fn::Join"][1] if not isinstance(item, str)]
    assert [item for item in after["Fn::Join"][1] if not isinstance(item, str)] == parts
    text = "".join(i if isinstance(i, str) else "@" for i in before["Fn::Join"][1])
    again = "".join(i if isinstance(i, str) else "@" for i in after["Fn::Join"][1])
    assert json.loads(re.sub(r'"@"', '"x"', text)) == json.loads(re.sub(r'"@"', '"x"', again))


@pytest.mark.parametrize("mutation", [pytest.param(m, id=m.id) for m in MUTATIONS])
def test_the_weakened_resource_gets_a_new_error_finding(
    mutation: Mutation,
    baseline: Templates,
    governance: GovernanceRunner,
    baseline_findings: set[Finding],
) -> None:
    mutated = copy.deepcopy(baseline)
    mutation.apply(mutated)
    new = governance.findings(mutated) - baseline_findings
    stack, logical_id = locate(mutated, mutation.target)
    # The rule finds exactly the weakened resource, and nothing else
    assert {(s, i) for rule, s, i in new if rule == mutation.rule} == {(stack, logical_id)}, (
        f"{mutation.what}: new findings {sorted(new)}"
    )
    reached = {
        locate(baseline, where) for where in mutation.reaches
    }  # (a removed resource can carry no finding)
    assert {(s, i) for _, s, i in new} <= {(stack, logical_id)} | reached, sorted(new)


# One synth of the evidently environment, then the pack per mutation: scheduled first.
pytestmark = pytest.mark.slow

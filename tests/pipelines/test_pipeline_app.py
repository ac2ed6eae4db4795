"""The default app's training pipeline, on the session's one synth of the default config.

credit-default's pipeline is declared in every environment (prod and dev: a registry in each),
so each test checks it in each environment's stacks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from config import load_config
from config.model import Environment, MonitoringEngineName
from governance_report import build_report
from governance_report.assembly import load_assembly
from governance_report.controls import governed_models
from governance_report.render_markdown import render_markdown
from tests.conftest import Assembly, deployments

PIPELINE = "AWS::SageMaker::Pipeline"
CONFIG = load_config()
ENVIRONMENTS = [pytest.param(e, id=e.name) for e in CONFIG.environments]
CHECKS = ("data_quality", "model_quality", "bias", "explainability")


def _training_pipeline(assembly: Assembly) -> dict[str, Any]:
    (pipeline,) = [
        p
        for p in assembly.resources(PIPELINE).values()
        if p["Properties"]["PipelineName"] == "credit-default-training"
    ]
    return pipeline


def _foundation(assembly: Assembly) -> dict[str, Any]:
    (foundation,) = [t for name, t in assembly.templates.items() if name.endswith("foundation")]
    return foundation


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_high_risk_credit_model_gets_its_pipeline(
    default_assembly: Assembly, env: Environment
) -> None:
    assembly = default_assembly.environment(env.name)
    # The environment's pipelines: credit-default's training pipeline (the only model with a
    # training section), each batch-scoring pipeline, and on the Evidently engine one per check
    served = [model for e, model in deployments(CONFIG) if e.name == env.name]
    expected = {"credit-default-training"}
    expected |= {f"{m.name}-{env.name}-batch" for m in served if m.batch is not None}
    if env.monitoring_engine is MonitoringEngineName.EVIDENTLY:
        expected |= {
            f"{m.name}-{env.name}-{check.replace('_', '-')}"
            for m in served
            for check in CHECKS
            if getattr(m.monitoring, check).enabled
        }
    names = {p["Properties"]["PipelineName"] for p in assembly.resources(PIPELINE).values()}
    assert names == expected
    properties = _training_pipeline(assembly)["Properties"]
    assert properties["PipelineName"] == "credit-default-training"
    location = properties["PipelineDefinition"]["PipelineDefinitionS3Location"]
    assert location["Bucket"]["Fn::GetStackOutput"]["OutputName"] == "ArtifactsBucketName"
    assert location["Key"].startswith("pipelines/credit-default-training/")
    role = properties["RoleArn"]["Fn::GetStackOutput"]
    assert role["OutputName"] == "PipelineExecutionRoleArn"
    tags = {t["Key"]: t["Value"] for t in properties["Tags"]}
    assert tags["governance:model"] == "credit-default"
    assert tags["governance:owner"] == "credit-risk-analytics"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_it_runs_on_its_schedule_with_retries_and_dead_letters(
    default_assembly: Assembly, env: Environment
) -> None:
    (schedule,) = [
        s
        for s in default_assembly.environment(env.name)
        .resources("AWS::Scheduler::Schedule")
        .values()
        if "pipeline/credit-default-training" in json.dumps(s["Properties"]["Target"]["Arn"])
    ]
    properties = schedule["Properties"]
    assert properties["ScheduleExpression"] == "cron(0 3 ? * MON *)"
    target = properties["Target"]
    assert "pipeline/credit-default-training" in json.dumps(target["Arn"])
    assert target["RoleArn"]["Fn::GetStackOutput"]["OutputName"] == "PipelineSchedulerRoleArn"
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert "DeadLetterQueue" in json.dumps(target["DeadLetterConfig"])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_violations_handler_retrains_with_the_models_own_pipeline(
    default_assembly: Assembly, env: Environment
) -> None:
    parameters = [
        json.loads(r["Properties"]["Value"])
        for r in default_assembly.environment(env.name).resources("AWS::SSM::Parameter").values()
        if isinstance(r["Properties"].get("Value"), str)
        and '"retraining_pipeline_name"' in r["Properties"]["Value"]
    ]
    by_model = {p["model_name"]: p["retraining_pipeline_name"] for p in parameters}
    # (one parameter per model the environment serves: prod both, dev churn-propensity)
    retraining = {"credit-default": "credit-default-training", "churn-propensity": None}
    served = {m.name for e, m in deployments(CONFIG) if e.name == env.name}
    assert by_model == {name: retraining[name] for name in served}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_data_scientists_start_their_teams_pipelines_but_change_none(
    default_assembly: Assembly, env: Environment
) -> None:
    foundation = _foundation(default_assembly.environment(env.name))
    statements = [
        statement
        for resource in foundation["Resources"].values()
        if resource["Type"] == "AWS::IAM::ManagedPolicy"
        and "DataScientist" in json.dumps(resource["Properties"].get("Roles", []))
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]
    (start,) = [s for s in statements if s.get("Sid") == "StartOwnTeamsPipelines"]
    assert "sagemaker:StartPipelineExecution" in start["Action"]
    assert start["Condition"]["StringEquals"]["aws:ResourceTag/governance:owner"] == (
        "${aws:PrincipalTag/governance:owner}"
    )
    (deny,) = [s for s in statements if s.get("Sid") == "NeverChangePipelines"]
    assert deny["Effect"] == "Deny"
    assert {"sagemaker:UpdatePipeline", "sagemaker:CreatePipeline"} <= set(deny["Action"])
    assert not any(
        "iam:PassRole" in json.dumps(s.get("Action")) and s["Effect"] == "Allow" for s in statements
    )


def test_the_pipeline_rules_pass_on_the_default_app(default_assembly: Assembly) -> None:
    report = json.dumps(default_assembly.report)
    for rule in ("PIP1", "PIP2", "PIP3"):
        assert f"Governance-{rule}" not in report


def test_the_report_shows_each_step_what_it_produces_and_its_hardening(
    default_assembly: Assembly,
) -> None:
    assembly = load_assembly(default_assembly.outdir)
    credit = [m for m in governed_models(assembly) if m.name == "credit-default"]
    assert sorted(m.environment for m in credit) == sorted(e.name for e in CONFIG.environments)
    for model in credit:  # in every environment
        (pipeline,) = model.pipelines
        steps = {step.name: step for step in pipeline.steps}
        assert steps["Train"].hardened is True
        assert steps["PreTrainingBias"].produces == "pre-training bias report (Clarify)"
        assert steps["QualityGate"].hardened is None
        assert all(step.hardened is not False for step in pipeline.steps)
    markdown = render_markdown(build_report(default_assembly.outdir))
    assert "### Training pipeline" in markdown
    assert "credit-default-training" in markdown

"""500 governed models: every AWS limit holds with margin, every pack passes, foundation unchanged.

One synth of a generated config (``bench/measure.py``'s ``generate_config``: the default's two
deployed shapes alternating, so half the models run all four monitors) with every compliance
plugin on. It takes minutes, so it carries the ``scale`` marker, which a plain ``pytest`` leaves out
(pyproject's ``-m 'not scale'``); ``make test`` runs it (``-m ''``; its module goes to one xdist
worker while the other runs the rest of the suite), and so does ``pytest -m scale tests/scale``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from bench.measure import generate_config
from cdk_constructs.compliance import register_compliance_packs
from cdk_constructs.compliance.limits_check import Measurement, load_assembly, measure
from config import load_config
from config.model import GovernanceConfig
from stacks.governance_app import build_governance
from stacks.placement import DEFAULT_RESOURCE_BUDGET
from tests.conftest import CLI_CONTEXT, Assembly, cdk_context

pytestmark = pytest.mark.scale

MODELS = 500
# Every measured value stays at or below this share of its limit: the placement budget keeps
# stacks at 90 % of CloudFormation's 500 resources, and nothing else may come closer.
MARGIN = 0.9
FOUNDATION = "example-bank-prod-foundation"
PACKS = (
    "AwsSolutions",
    "NIST.800.53.R5",
    "HIPAA.Security",
    "PCI.DSS.321",
    "Serverless",
    "Governance",
    "Limits",
)


@dataclass(frozen=True)
class ScaleAssembly:
    outdir: Path
    config: GovernanceConfig
    report: dict[str, Any]
    measurements: list[Measurement]


@pytest.fixture(scope="module")
def scale(tmp_path_factory: pytest.TempPathFactory) -> ScaleAssembly:
    folder = tmp_path_factory.mktemp("scale")
    config = load_config(str(generate_config(MODELS, folder / f"{MODELS}-models.yaml")))
    outdir = folder / "cdk.out"
    app = cdk.App(
        outdir=str(outdir),
        # What `cdk synth` passes, so the foundation compares byte for byte with the session's
        # CLI synth of the default config and the models stacks carry the CLI's CDKMetadata.
        context=cdk_context(**CLI_CONTEXT),
    )
    build_governance(app, config)
    register_compliance_packs(app)
    app.synth()
    report = json.loads((outdir / "validation-report.json").read_text())
    return ScaleAssembly(outdir, config, report, measure(load_assembly(outdir)))


def test_every_model_is_deployed_and_monitored(scale: ScaleAssembly) -> None:
    expected = sum(
        sum(
            getattr(m.monitoring, t).enabled
            for t in ("data_quality", "model_quality", "bias", "explainability")
        )
        for m in scale.config.models
    )
    schedules = endpoints = 0
    for stack in load_assembly(scale.outdir):
        for resource in stack.resources.values():
            schedules += resource["Type"] == "AWS::SageMaker::MonitoringSchedule"
            endpoints += resource["Type"] == "AWS::SageMaker::Endpoint"
    assert endpoints == MODELS
    assert schedules == expected
    assert expected == MODELS // 2 * 4 + MODELS // 2 * 2  # both shapes of the default config


def test_every_limit_holds_with_margin(scale: ScaleAssembly) -> None:
    over = [
        f"{m.limit.key}: {m.value}/{m.allowed} at {m.stack.name} {m.construct_path or ''}"
        for m in scale.measurements
        if m.value > MARGIN * m.allowed
    ]
    assert over == []
    measured = {m.limit.key for m in scale.measurements}
    assert "iam.managed-policies-per-role" in measured
    assert "lambda.function-policy-size" in measured


def test_every_models_stack_is_within_the_placement_budget(scale: ScaleAssembly) -> None:
    stacks = load_assembly(scale.outdir)
    shards = [s for s in stacks if "-models-" in s.name]
    assert len(shards) >= MODELS // 25
    for shard in shards:
        assert len(shard.resources) <= DEFAULT_RESOURCE_BUDGET, shard.name


def test_zero_unacknowledged_findings_in_every_pack(scale: ScaleAssembly) -> None:
    findings = [
        f"{p['pluginName']}: {v['ruleName']} at {c['constructPath']}"
        for p in scale.report["pluginReports"]
        for v in p.get("violations", [])
        for c in v["violatingConstructs"][:3]
    ]
    assert findings == []
    ran = {p["pluginName"] for p in scale.report["pluginReports"]}
    # cdk-nag leaves a pack with nothing to report out of the report; the packs that do
    # report must be ours, and the acknowledged ones must have run.
    assert ran <= set(PACKS) | {"Construct Annotations"}
    assert {"AwsSolutions", "NIST.800.53.R5"} <= ran


def test_foundation_is_byte_identical_to_the_two_model_app(
    scale: ScaleAssembly, default_assembly: Assembly
) -> None:
    name = f"{FOUNDATION}.template.json"
    assert (scale.outdir / name).read_bytes() == (default_assembly.outdir / name).read_bytes()


def test_shared_policies_do_not_grow_with_the_models(
    scale: ScaleAssembly, default_assembly: Assembly
) -> None:
    def largest(measurements: list[Measurement]) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for m in measurements:
            if m.stack.name == FOUNDATION and m.limit.key.startswith(("iam.", "kms.", "s3.")):
                sizes[f"{m.limit.key} {m.logical_id}"] = m.value
        return sizes

    two = largest(measure(load_assembly(default_assembly.outdir)))
    assert two
    assert largest(scale.measurements) == two

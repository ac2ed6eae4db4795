"""The multi-environment example, synthesized once: clean, and what its config says.

Config -> effective policy -> synthesized parameter: each model's approval-policy parameter in
each environment's template is parsed with the approval gate's own parser and compared with the
effective policy the config model derives. Every fixed physical name in the templates is the one
``config.names`` composes (and checks against its service's limit).
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest

from cdk_constructs.compliance import register_compliance_packs, write_pack_manifest
from cdk_constructs.encryption import DataDomain
from config import load_config, names
from config.model import GovernanceConfig
from governance.contracts.parameters import parse_policy
from governance.contracts.vocabulary import Evidence
from governance_report import build_report
from governance_report.scopes import record_inventory
from stacks.governance_app import build_governance
from tests.conftest import REPO, Assembly, cdk_context

EXAMPLE = REPO / "config" / "examples" / "multi-environment.yaml"


@pytest.fixture(scope="module")
def example() -> GovernanceConfig:
    return load_config(EXAMPLE)


@pytest.fixture(scope="module")
def assembly(example: GovernanceConfig, tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    outdir = tmp_path_factory.mktemp("multi-environment.out")
    app = cdk.App(
        outdir=str(outdir),
        context=cdk_context(
            **{
                "@aws-cdk/core:failSynthOnValidationErrors": False,
                "aws:cdk:enable-path-metadata": True,
            }
        ),
    )
    built = build_governance(app, example)
    register_compliance_packs(app)
    app.synth()
    write_pack_manifest(outdir)
    record_inventory(built, [m.name for m in example.models], outdir)
    return Assembly(
        outdir=outdir,
        templates={
            path.name.removesuffix(".template.json"): json.loads(path.read_text())
            for path in outdir.glob("*.template.json")
        },
        report=json.loads((outdir / "validation-report.json").read_text()),
    )


def _stack(environment: str, kind: str) -> str:
    return f"northwind-financial-{environment}-{kind}"


def _of_type(template: dict[str, Any], cfn_type: str) -> list[dict[str, Any]]:
    return [
        r.get("Properties", {}) for r in template["Resources"].values() if r["Type"] == cfn_type
    ]


def test_the_example_synthesizes_with_zero_findings(assembly: Assembly) -> None:
    findings = [
        (report["pluginName"], violation["ruleName"])
        for report in assembly.report["pluginReports"]
        for violation in report.get("violations") or []
    ]
    assert findings == []
    assert set(assembly.templates) == {
        _stack(env, kind) for env in ("dev", "prod") for kind in ("foundation", "models-00")
    }


def test_each_environment_serves_its_version_with_its_sizing(
    assembly: Assembly, example: GovernanceConfig
) -> None:
    for environment in example.environments:
        template = assembly.templates[_stack(environment.name, "models-00")]
        served = {
            p["Containers"][0]["ModelPackageName"]
            for p in _of_type(template, "AWS::SageMaker::Model")
        }
        expected = set()
        for model in example.models_served_in(environment.name):
            assert model.deployment is not None
            entry = model.deployment.serving(environment.name)
            assert entry is not None
            expected.add(
                f"arn:aws:sagemaker:{environment.region}:{environment.account}:model-package/"
                f"{model.name}/{entry.package_version}"
            )
        assert served == expected
        sizes = sorted(
            (v["InstanceType"], v["InitialInstanceCount"])
            for p in _of_type(template, "AWS::SageMaker::EndpointConfig")
            for v in p["ProductionVariants"]
        )
        assert (
            sizes
            == {
                "dev": [("ml.m5.large", 1), ("ml.m5.large", 1), ("ml.m5.xlarge", 1)],
                "prod": [("ml.m5.xlarge", 2), ("ml.m5.xlarge", 3)],
            }[environment.name]
        )


def test_the_policy_parameter_is_the_effective_policy(
    assembly: Assembly, example: GovernanceConfig
) -> None:
    for environment in example.environments:
        template = assembly.templates[_stack(environment.name, "models-00")]
        parameters = {
            p["Name"]: p
            for p in _of_type(template, "AWS::SSM::Parameter")
            if p["Name"].startswith(names.POLICY_PARAMETER_PREFIX)
        }
        for model in example.models:
            # Given the model's effective policy, derived from config alone
            effective = example.governance.effective_approval(model)
            # When the gate parses the synthesized parameter
            parameter = parameters[f"{names.POLICY_PARAMETER_PREFIX}{model.name}"]
            policy = parse_policy(
                json.loads(parameter["Value"]),
                parameter=parameter["Name"],
                group=model.name,
            )
            # Then the gate enforces exactly that policy
            assert tuple(e.value for e in policy.required_evidence) == tuple(
                e.value for e in effective.required_evidence
            )
            assert policy.on_failure.value == effective.on_failure.value
            assert {k: (t.min, t.max) for k, t in policy.bias_thresholds.items()} == {
                k: (t.min, t.max) for k, t in effective.bias_thresholds.items()
            }
            assert (policy.bias_facet is None) == (effective.bias_facet is None)
            assert effective.summary() in parameter["Description"]


def test_effective_policies_follow_tier_and_model_overrides(example: GovernanceConfig) -> None:
    policies = {m.name: example.governance.effective_approval(m) for m in example.models}
    # high risk: bias evidence by its tier, with thresholds and the protected attribute
    credit = policies["credit-default"]
    assert Evidence.BIAS_REPORT in credit.required_evidence
    assert credit.sources[Evidence.BIAS_REPORT] == "governance.approval.risk_tiers.high"
    assert set(credit.bias_thresholds) == {"DI", "DPPL", "CI"}
    assert credit.bias_facet is not None
    assert credit.bias_facet.facet == "gender"
    assert credit.on_failure.value == "PendingManualApproval"
    # medium risk without a protected attribute: no bias report, no thresholds
    fraud = policies["fraud-detection"]
    assert Evidence.BIAS_REPORT not in fraud.required_evidence
    assert Evidence.EXPLAINABILITY_REPORT in fraud.required_evidence
    assert dict(fraud.bias_thresholds) == {}
    assert fraud.bias_facet is None
    # low risk that asks for bias evidence gets it
    claims = policies["claims-severity"]
    assert claims.sources[Evidence.BIAS_REPORT] == "approval.add_evidence"
    assert set(claims.bias_thresholds) == {"DI", "DPPL", "CI"}
    # a waiver removes the evidence and keeps its reason for reviewers
    segment = policies["customer-segment"]
    assert Evidence.DRIFT_CHECK_BASELINES not in segment.required_evidence
    assert segment.waived == (Evidence.DRIFT_CHECK_BASELINES,)
    assert segment.waiver_reason is not None
    assert "batch" in segment.waiver_reason


def _template_names(template: dict[str, Any]) -> set[str]:
    properties = {
        "AWS::SageMaker::ModelPackageGroup": "ModelPackageGroupName",
        "AWS::SageMaker::ModelCard": "ModelCardName",
        "AWS::SSM::Parameter": "Name",
        "AWS::SageMaker::Endpoint": "EndpointName",
        "AWS::SageMaker::MonitoringSchedule": "MonitoringScheduleName",
        "AWS::CloudWatch::Dashboard": "DashboardName",
        "AWS::KMS::Alias": "AliasName",
    }
    return {
        str(props[prop])
        for cfn_type, prop in properties.items()
        for props in _of_type(template, cfn_type)
        if prop in props
    }


def test_every_fixed_name_is_the_one_config_composes_and_checks(
    assembly: Assembly, example: GovernanceConfig
) -> None:
    prefix = example.organisation.prefix
    for environment in example.environments:
        composed = {
            physical.value
            for physical in names.environment_names(prefix, environment.name)
            if physical.rule is not names.STACK_NAME
        }
        for model in example.models:
            composed |= {
                physical.value
                for physical in names.model_names(
                    model.name,
                    environment.name,
                    served=model.deployment is not None
                    and model.deployment.serves_in(environment.name),
                    monitor_types=model.monitoring.enabled_types(),
                )
            }
        synthesized = set().union(
            *(
                _template_names(template)
                for stack, template in assembly.templates.items()
                if stack.startswith(f"{prefix}-{environment.name}-")
            )
        )
        assert synthesized == composed
        assert {s for s in assembly.templates if environment.name in s} <= set(
            names.stack_names(prefix, environment.name)
        )


def test_key_domains_are_the_foundations() -> None:
    assert tuple(d.value for d in DataDomain) == names.KEY_DOMAINS


def test_every_instance_the_example_runs_is_priced_in_its_region(assembly: Assembly) -> None:
    # Issue 10: the built-in price table covers the instance types the examples use in their
    # regions, so the example's cost total is a figure, not "partial".
    report = build_report(assembly.outdir)
    assert report.costs.lines, "the example runs endpoints and monitors"
    assert [(line.model, line.environment) for line in report.costs.lines if not line.price] == []
    assert report.costs.unpriced == ()


# One synth of the example organisation, every pack on: scheduled first (tests/conftest.py).
pytestmark = pytest.mark.slow

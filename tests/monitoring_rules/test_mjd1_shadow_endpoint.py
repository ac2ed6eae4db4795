"""Governance-MJD1 allows exactly one documented exception to network isolation.

A Clarify feature-attribution job must reach the shadow endpoint it creates (SageMaker developer
guide, clarify-vpc), so a ModelExplainabilityJobDefinition may turn isolation off while it runs
in a VPC. Every other job type, and an explainability job outside a VPC, must be isolated.
"""

from __future__ import annotations

from typing import Any

import pytest

from cdk_constructs.compliance.rules.framework import Resource, Verdict
from cdk_constructs.compliance.rules.monitoring import (
    JOB_DEFINITION_TYPES,
    SHADOW_ENDPOINT_JOB_TYPES,
    job_network_isolated,
)
from tests.conftest import Assembly

EXPLAINABILITY = "AWS::SageMaker::ModelExplainabilityJobDefinition"
VPC = {"Subnets": ["subnet-1", "subnet-2"], "SecurityGroupIds": ["sg-1"]}


def _job(cfn_type: str, **network: Any) -> Resource:
    return Resource(path=f"Jobs/{cfn_type}", type=cfn_type, props={"NetworkConfig": network})


def test_the_exception_is_the_feature_attribution_job_only() -> None:
    assert frozenset({EXPLAINABILITY}) == SHADOW_ENDPOINT_JOB_TYPES


@pytest.mark.parametrize("cfn_type", JOB_DEFINITION_TYPES)
def test_isolated_jobs_are_compliant(cfn_type: str) -> None:
    job = _job(cfn_type, EnableNetworkIsolation=True, VpcConfig=VPC)
    assert job_network_isolated(job) is Verdict.COMPLIANT


@pytest.mark.parametrize("cfn_type", [t for t in JOB_DEFINITION_TYPES if t != EXPLAINABILITY])
@pytest.mark.parametrize("isolation", [False, "false", None])
def test_other_job_types_without_isolation_are_non_compliant_even_in_a_vpc(
    cfn_type: str, isolation: Any
) -> None:
    network = {"VpcConfig": VPC}
    if isolation is not None:
        network["EnableNetworkIsolation"] = isolation
    assert job_network_isolated(_job(cfn_type, **network)) is Verdict.NON_COMPLIANT


@pytest.mark.parametrize("isolation", [False, None])
def test_explainability_without_isolation_is_compliant_in_a_vpc(isolation: Any) -> None:
    network: dict[str, Any] = {"VpcConfig": VPC}
    if isolation is not None:
        network["EnableNetworkIsolation"] = isolation
    assert job_network_isolated(_job(EXPLAINABILITY, **network)) is Verdict.COMPLIANT


@pytest.mark.parametrize(
    "vpc",
    [None, {"Subnets": [], "SecurityGroupIds": ["sg-1"]}, {"Subnets": ["subnet-1"]}],
    ids=["no-vpc", "no-subnets", "no-security-groups"],
)
def test_explainability_without_isolation_outside_a_vpc_is_non_compliant(vpc: Any) -> None:
    network: dict[str, Any] = {"EnableNetworkIsolation": False}
    if vpc is not None:
        network["VpcConfig"] = vpc
    assert job_network_isolated(_job(EXPLAINABILITY, **network)) is Verdict.NON_COMPLIANT


def test_explainability_with_a_token_vpc_is_undecidable() -> None:
    job = _job(EXPLAINABILITY, EnableNetworkIsolation=False, VpcConfig={"Fn::If": ["c", VPC, {}]})
    assert job_network_isolated(job) is Verdict.UNDECIDABLE


def test_synthesized_app_uses_exactly_the_exception(default_assembly: Assembly) -> None:
    # Given the default app as synthesized, with the Governance pack run on it
    jobs = {cfn_type: default_assembly.resources(cfn_type) for cfn_type in JOB_DEFINITION_TYPES}
    # Then only the explainability jobs run without isolation, each inside the VPC
    for cfn_type, found in jobs.items():
        assert found, cfn_type
        for job in found.values():
            network = job["Properties"]["NetworkConfig"]
            assert network["EnableNetworkIsolation"] is (cfn_type != EXPLAINABILITY)
            assert network["VpcConfig"]["Subnets"]
            assert network["VpcConfig"]["SecurityGroupIds"]
    # And the pack reports no MJD1 finding (and so needs no acknowledgment for it)
    findings = [
        violation["ruleName"]
        for report in default_assembly.report["pluginReports"]
        for violation in report.get("violations", [])
        if "MJD1" in violation["ruleName"]
    ]
    assert findings == []

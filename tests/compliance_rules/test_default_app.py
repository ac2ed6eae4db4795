"""The Governance pack on the templates the app synthesizes for the default config.

The rules find governed resources by wiring; these tests check that the wiring finds the real
ones (not an empty set that would make every rule vacuous), and that taking the tags away does
not take a resource out of scope.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from cdk_constructs import tags
from cdk_constructs.compliance.governance_pack import GovernanceChecks
from cdk_constructs.compliance.rules import AppIndex
from cdk_constructs.compliance.rules.wiring import (
    AUDIT_BUCKET_VARIABLE,
    LEDGER_TABLE_VARIABLE,
    async_handlers,
    audit_buckets,
    governed_models,
    ledger_tables,
)
from cdk_constructs.compliance.templates import StackTemplate, load_resources, read_assembly
from config import load_config
from tests.compliance_rules import builders as b
from tests.conftest import REPO, Assembly, deployments


@pytest.fixture(scope="module")
def stacks(default_assembly: Assembly) -> list[StackTemplate]:
    return read_assembly(default_assembly.outdir)


@pytest.fixture(scope="module")
def index(stacks: list[StackTemplate]) -> AppIndex:
    loaded = load_resources(stacks)
    return AppIndex(loaded.resources, loaded.stack_metadata)


def _paths(index: AppIndex, resource_type: str, contains: str = "") -> set[str]:
    return {r.path for r in index.of_type(resource_type) if contains in r.path}


def test_the_default_app_has_no_governance_finding(default_assembly: Assembly) -> None:
    # The pack run directly on the templates, and as registered at synth
    report = GovernanceChecks().check_assembly(default_assembly.outdir)
    governance = [
        r for r in default_assembly.report["pluginReports"] if r["pluginName"] == "Governance"
    ]
    assert all(not r.get("violations") for r in governance)
    # What the direct run finds is exactly what the app acknowledges, each with its reason
    acknowledged = {
        (v["ruleName"], c["constructPath"])
        for r in governance
        for v in r.get("suppressedViolations", [])
        for c in v["violatingConstructs"]
    }
    found = {(rule, path) for rule, paths in b.findings_of(report).items() for path in paths}
    assert found == acknowledged
    # (one per environment of the default config)
    assert found == {
        (
            "Governance-IAM2",
            f"example-bank-{env}-foundation/Custom::VpcRestrictDefaultSGCustomResourceProvider/Role",
        )
        for env in (environment.name for environment in load_config().environments)
    }


def test_every_role_has_a_permissions_boundary(default_assembly: Assembly) -> None:
    roles = default_assembly.resources("AWS::IAM::Role")
    # the models stacks' CDK-internal provider roles are part of this check
    assert any("-models-" in path for path in roles)
    unbounded = [
        path for path, role in roles.items() if "PermissionsBoundary" not in role["Properties"]
    ]
    assert unbounded == []


def test_wiring_finds_the_ledger_the_audit_bucket_and_the_handlers(index: AppIndex) -> None:
    assert ledger_tables(index).found == _paths(index, "AWS::DynamoDB::Table", "/Ledger")
    assert audit_buckets(index).found == _paths(index, "AWS::S3::Bucket", "/Audit/")
    handlers = async_handlers(index).found
    assert {p.split("/")[2] for p in handlers} == {
        "ApprovalGate",
        "AuditLedger",
        "MonitoringViolations",
    }


def test_wiring_finds_each_endpoints_model(index: AppIndex) -> None:
    endpoints = index.of_type("AWS::SageMaker::Endpoint")
    assert endpoints
    for endpoint in endpoints:
        assert governed_models(endpoint, index).found == {endpoint.tag(tags.MODEL)}


def test_ledger_handler_reads_the_variables_the_rules_follow() -> None:
    # The rules find the ledger and its archive through the handler's configuration contract
    source = (REPO / "lambda" / "governance" / "ledger.py").read_text()
    named = set(re.findall(r"[\"']([A-Z][A-Z0-9_]+)[\"']", source))
    assert {LEDGER_TABLE_VARIABLE, AUDIT_BUCKET_VARIABLE} <= named


def _edited(
    stacks: list[StackTemplate], edit: Callable[[str, dict[str, Any]], None]
) -> list[StackTemplate]:
    """The stacks with ``edit(logical_id, resource)`` applied to a copy of every resource."""
    edited = []
    for stack in stacks:
        template = copy.deepcopy(dict(stack.template))
        for logical_id, resource in template["Resources"].items():
            edit(logical_id, resource)
        edited.append(dataclasses.replace(stack, template=template))
    return edited


def _drop_tags(logical_id: str, resource: dict[str, Any]) -> None:
    properties = resource.get("Properties", {})
    if isinstance(properties.get("Tags"), list):
        properties["Tags"] = [
            t for t in properties["Tags"] if t["Key"] not in (tags.MODEL, tags.COMPONENT)
        ]


def test_resources_that_lose_their_tags_stay_in_scope(stacks: list[StackTemplate]) -> None:
    # Given: every governance:model and governance:component tag removed, and the high-risk
    # model's bias schedule removed as well
    untagged = _edited(stacks, _drop_tags)
    for stack in untagged:
        resources = stack.template["Resources"]
        for logical_id in [k for k in resources if "ModelBiasSchedule" in k]:
            del resources[logical_id]
    # When
    findings = b.findings_of(GovernanceChecks().check(untagged))
    # Then: the missing tags are findings on the wired resources
    types = {r.path: r.type for r in load_resources(untagged).resources}
    flagged_types = Counter(types[path] for path in b.flagged(findings, "TAG1"))
    config = load_config()
    # each environment's ledger, not its idempotency table
    assert flagged_types["AWS::DynamoDB::Table"] == len(config.environments)
    for served in ("Model", "EndpointConfig", "Endpoint"):
        # every model in every environment that serves it
        assert flagged_types[f"AWS::SageMaker::{served}"] == len(deployments(config))
    # and the untagged high-risk endpoint still needs its four monitors
    (unmonitored,) = b.flagged(findings, "EP1")
    assert "credit-default" in unmonitored


def test_the_audit_policy_is_declared_from_config(stacks: list[StackTemplate]) -> None:
    foundations = [s for s in stacks if s.construct_path.endswith("-foundation")]
    assert len(foundations) == len(load_config().environments)

    # Weakening the bucket below the declaration is a finding
    def shorten(logical_id: str, resource: dict[str, Any]) -> None:
        lock = resource.get("Properties", {}).get("ObjectLockConfiguration")
        if lock:
            lock["Rule"]["DefaultRetention"]["Days"] = 365

    for foundation in foundations:  # every environment's
        declared = foundation.template["Metadata"]["GovernancePolicy"]
        assert declared == {"AuditRetentionDays": 2555, "AuditObjectLockMode": "COMPLIANCE"}
        findings = b.findings_of(GovernanceChecks().check(_edited([foundation], shorten)))
        (weakened,) = b.flagged(findings, "AUD1")
        assert weakened.startswith(f"{foundation.construct_path}/Audit/"), weakened

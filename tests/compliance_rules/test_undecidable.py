"""Tokens and missing optional properties: never a crash, "cannot decide" when it matters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sagemaker as sagemaker

from cdk_constructs import tags
from cdk_constructs.compliance.acknowledgments import acknowledge
from cdk_constructs.compliance.governance_pack import GovernanceChecks, PackReport
from cdk_constructs.compliance.rules import AppIndex, GovernanceRule, Resource, Verdict
from governance_report.gate import failure_reason
from tests.compliance_rules import builders as b


@pytest.fixture(scope="module")
def report() -> PackReport:
    # Given: values only known at deploy time, and resources with only their required props
    app = cdk.App()
    stack = cdk.Stack(app, "Tokens")
    tier = cdk.CfnParameter(stack, "Tier", type="String")
    isolation = cdk.CfnCondition(
        stack, "Isolate", expression=cdk.Fn.condition_equals(tier.value_as_string, "high")
    )
    instance_type = cdk.CfnParameter(stack, "InstanceType", type="String").value_as_string

    b.group(
        stack,
        "TierToken",
        name="tier-token",
        tag_list=b.model_tags("m1", tier=tier.value_as_string),
    )
    # A definite violation (no owner) wins over the unknown tier
    b.group(
        stack,
        "NoOwnerTierToken",
        name="no-owner",
        tag_list=b.model_tags("m2", owner=None, tier=tier.value_as_string),
    )
    b.group(
        stack,
        "ActionToken",
        name="action-token",
        policy={
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "222222222222"},
                    "Action": [cdk.Fn.import_value("SharedAction")],
                    "Resource": "*",
                }
            ]
        },
    )
    # MPG4/MPG5: the only card's model tag and the only rule's group list are tokens
    b.group(stack, "CardToken", name="card-token")
    b.card(stack, "TokenCard", model=cdk.Fn.import_value("CardModel"))
    b.state_change_rule(stack, "TokenRule", names=cdk.Fn.split(",", cdk.Fn.import_value("Groups")))

    model = b.model(stack, "IsolationIf")
    model.enable_network_isolation = cdk.Fn.condition_if(isolation.logical_id, True, False)
    b.endpoint_config(stack, "InstanceTypeToken", key=None, instance_type=instance_type)
    b.data_quality_job(stack, "VolumeTypeToken", volume_key=None, instance_type=instance_type)

    # EP1: a schedule whose endpoint name is imported may be this endpoint's
    endpoint = b.endpoint(stack, "ImportedSchedule", model="m3", tier="low")
    b.monitors(stack, "ImportedSchedule", endpoint, "DataQuality")
    b.schedule(
        stack,
        "Imported",
        endpoint_name=cdk.Fn.import_value("EndpointName"),
        monitoring_type="ModelQuality",
        model="m3",
    )

    # Only required properties: definite findings, no crash
    sagemaker.CfnModel(stack, "BareModel", execution_role_arn=b.ROLE)
    sagemaker.CfnEndpointConfig(
        stack,
        "BareConfig",
        production_variants=[
            sagemaker.CfnEndpointConfig.ProductionVariantProperty(variant_name="v", model_name="m")
        ],
    )
    sagemaker.CfnModelPackageGroup(stack, "BareGroup", model_package_group_name="bare")
    sagemaker.CfnEndpoint(stack, "BareEndpoint", endpoint_config_name="config")
    sagemaker.CfnMonitoringSchedule(
        stack,
        "BareSchedule",
        monitoring_schedule_name="bare",
        monitoring_schedule_config=sagemaker.CfnMonitoringSchedule.MonitoringScheduleConfigProperty(),
    )
    # Plain CfnResource: a JSON-string policy and a tag list that is one token
    cdk.CfnResource(
        stack,
        "RawGroup",
        type="AWS::SageMaker::ModelPackageGroup",
        properties={
            "ModelPackageGroupName": "raw",
            "ModelPackageGroupPolicy": '{"Statement": {"Effect": "Allow", "Principal": '
            '{"AWS": "222222222222"}, "Action": "sagemaker:UpdateModelPackage", "Resource": "*"}}',
            "Tags": cdk.Fn.split(",", cdk.Fn.import_value("Tags")),
        },
    )
    # New rules: a boundary, a trail's logging, a schedule's status, a sampling rate and a
    # ledger key that only exist at deploy time
    b.role(stack, "ImportedBoundary", boundary=cdk.Fn.import_value("Boundary"))
    b.trail(
        stack,
        "LoggingIf",
        validation=True,
        logging=cdk.Fn.condition_if(isolation.logical_id, True, False),
    )
    status = cdk.CfnParameter(stack, "Status", type="String").value_as_string
    b.schedule(
        stack, "StatusToken", endpoint_name="x", monitoring_type="DataQuality", status=status
    )
    sampling = cdk.CfnParameter(stack, "Sampling", type="Number").value_as_number
    b.endpoint_config(stack, "SamplingToken", sampling=sampling)
    b.ledger_table(stack, "KeyToken", key=cdk.Fn.import_value("LedgerKey"))
    # Rules of the claims table: a trail's regions, a group's name, a literal key ARN, alarm
    # actions and a key policy principal known only at deploy time
    multi = b.trail(stack, "RegionsIf", validation=True)
    multi.is_multi_region_trail = cdk.Fn.condition_if(isolation.logical_id, True, False)
    b.group(stack, "NameToken", name=cdk.Fn.import_value("GroupName"), model="m4")
    b.retain(
        logs.CfnLogGroup(
            stack,
            "LiteralKeyArn",
            kms_key_id="arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-3333-4444-555555555555",
        )
    )
    cloudwatch.CfnAlarm(
        stack,
        "ActionsToken",
        comparison_operator="GreaterThanThreshold",
        evaluation_periods=1,
        threshold=0,
        metric_name="Errors",
        namespace="AWS/Lambda",
        period=300,
        statistic="Sum",
        alarm_actions=cdk.Fn.split(",", cdk.Fn.import_value("Actions")),
    )
    key = kms.CfnKey(
        stack,
        "PrincipalToken",
        key_policy={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": cdk.Fn.import_value("KeyUser")},
                    "Action": "kms:Decrypt",
                    "Resource": "*",
                }
            ],
        },
    )
    b.retain(key)
    # When
    return b.check(app)


@pytest.fixture(scope="module")
def findings(report: PackReport) -> b.Findings:
    return b.findings_of(report)


UNDECIDABLE = [
    ("MPG2", "Tokens/TierToken"),
    ("MPG3", "Tokens/ActionToken"),
    ("MPG4", "Tokens/CardToken"),
    ("MPG5", "Tokens/CardToken"),
    ("MDL1", "Tokens/IsolationIf"),
    ("EPC2", "Tokens/InstanceTypeToken"),
    ("MJD4", "Tokens/VolumeTypeToken"),
    ("EP1", "Tokens/ImportedSchedule"),
    ("MPG2", "Tokens/RawGroup"),
    ("IAM1", "Tokens/ImportedBoundary"),
    ("CT2", "Tokens/LoggingIf"),
    ("MS1", "Tokens/StatusToken"),
    ("EPC3", "Tokens/SamplingToken"),
    ("DDB3", "Tokens/KeyToken"),
    ("CT3", "Tokens/RegionsIf"),
    ("MPG6", "Tokens/NameToken"),
    ("KEY1", "Tokens/LiteralKeyArn"),
    ("ALM1", "Tokens/ActionsToken"),
    ("KMS1", "Tokens/PrincipalToken"),
]


@pytest.mark.parametrize(("rule_id", "path"), UNDECIDABLE)
def test_unresolved_value_is_reported_as_undecidable(
    findings: b.Findings, rule_id: str, path: str
) -> None:
    assert path in b.undecided(findings, rule_id)
    assert path not in b.flagged(findings, rule_id)


DEFINITE = [
    ("MPG2", "Tokens/NoOwnerTierToken"),
    ("MDL1", "Tokens/BareModel"),
    ("MDL2", "Tokens/BareModel"),
    ("EPC1", "Tokens/BareConfig"),
    ("EPC2", "Tokens/BareConfig"),
    ("MPG1", "Tokens/BareGroup"),
    ("MPG2", "Tokens/BareGroup"),
    ("MPG3", "Tokens/RawGroup"),
]


@pytest.mark.parametrize(("rule_id", "path"), DEFINITE)
def test_missing_or_known_bad_value_is_a_definite_violation(
    findings: b.Findings, rule_id: str, path: str
) -> None:
    assert path in b.flagged(findings, rule_id)


def test_no_rule_crashed(report: PackReport) -> None:
    errors = [v.rule_name for v in report.violations if "threw an error" in v.description]
    assert errors == []


def test_undecidable_finding_says_why(report: PackReport) -> None:
    descriptions = {v.rule_name: v.description for v in report.violations}
    description = descriptions["Governance-EPC2[Undecidable]"]
    assert description.startswith("Cannot decide at synth time:")
    assert "NIST 800-53: SC-28, SC-12" in description


def test_ungoverned_resources_are_not_applicable(findings: b.Findings) -> None:
    # Untagged endpoint and schedule without type or endpoint: nothing to monitor or match
    every_path = set().union(*findings.values())
    assert "Tokens/BareEndpoint" not in every_path
    assert "Tokens/BareSchedule" not in every_path


def test_model_tag_key_is_the_contract() -> None:
    assert tags.MODEL == "governance:model"


def test_a_failing_rule_is_reported_not_raised() -> None:
    # Given: a custom rule for a type the catalogue does not index, which raises
    def explode(resource: Resource, _index: AppIndex) -> Verdict:
        raise KeyError(resource.path)

    broken = GovernanceRule(
        rule_id="X1",
        resource_types=("AWS::SQS::Queue",),
        title="Broken",
        info="Broken rule.",
        explanation="Used by a test.",
        undecidable="Never.",
        nist_800_53=("SI-11",),
        check=explode,
    )
    app = cdk.App()
    cdk.CfnResource(cdk.Stack(app, "Queues"), "Queue", type="AWS::SQS::Queue")
    # When
    report = b.check(app, rules=[broken])
    # Then
    (violation,) = report.violations
    assert violation.rule_name == "Governance-X1"
    assert violation.description.startswith("Rule threw an error during validation.")
    assert [r.construct_path for r in violation.violating_resources] == ["Queues/Queue"]


def _gate(acknowledged: bool, outdir: Path) -> tuple[str | None, dict[str, Any]]:
    """Synthesize a one-role app with the pack registered; the gate's verdict and the report."""
    app = cdk.App(outdir=str(outdir), context={"@aws-cdk/core:failSynthOnValidationErrors": False})
    stack = cdk.Stack(app, "Gate")
    role = b.role(stack, "ImportedBoundary", boundary=cdk.Fn.import_value("Boundary"))
    if acknowledged:
        acknowledge(
            role,
            "Governance-IAM1[Undecidable]",
            "The boundary is the landing zone's, imported from its stack; reviewed there.",
        )
    cdk.Validations.of(app).add_plugins(GovernanceChecks(app))
    app.synth()
    governance = next(
        r
        for r in json.loads((outdir / "validation-report.json").read_text())["pluginReports"]
        if r["pluginName"] == "Governance"
    )
    return failure_reason(outdir), governance


def test_an_undecidable_finding_fails_the_gate_unless_acknowledged(tmp_path: Path) -> None:
    # Given the same undecidable role, once as is and once acknowledged with a reason
    reason, report = _gate(False, tmp_path / "open")
    # Then silence is never a pass: the open finding fails the synth
    assert reason is not None
    assert "Governance-IAM1" in reason
    assert [v["ruleName"] for v in report["violations"]] == ["Governance-IAM1[Undecidable]"]
    # And acknowledged, it passes with its reason kept in the report
    reason, report = _gate(True, tmp_path / "acknowledged")
    assert reason is None
    assert report["violations"] == []
    (suppressed,) = report["suppressedViolations"]
    assert suppressed["ruleName"] == "Governance-IAM1[Undecidable]"
    assert "landing zone" in suppressed["reason"]

"""Limits checked on every synth: worst-case resolution, measurements and the plugin's findings."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
import yaml
from aws_cdk import aws_iam as iam

from cdk_constructs.compliance.limits_check import (
    PLUGIN_NAME,
    LimitsChecks,
    Resolver,
    StackTemplate,
    measure,
)
from cdk_constructs.compliance.packs import register_compliance_packs
from cdk_constructs.limits import LIMITS, WORST_CASE, QuotaError, Quotas
from config import load_config
from stacks.governance_app import build_governance
from tests.conftest import REPO, Assembly, cdk_context

ARN_PARTS = ("arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":root")


def _stack(tmp_path: Path, name: str, template: dict[str, Any], **env: str) -> StackTemplate:
    path = tmp_path / f"{name}.template.json"
    path.write_text(json.dumps(template))
    return StackTemplate.load(path, **env)


# --- the worst-case model ----------------------------------------------------------------------


def test_worst_case_comes_from_botocore_partitions() -> None:
    import botocore.loaders

    partitions = botocore.loaders.Loader().load_data("endpoints")["partitions"]
    regions = [r for p in partitions for r in p["regions"]]
    assert WORST_CASE.region in regions
    assert len(WORST_CASE.region) == max(len(r) for r in regions)
    assert len(WORST_CASE.partition) == max(len(p["partition"]) for p in partitions)
    assert len(WORST_CASE.account) == 12


def test_pseudo_parameters_resolve_to_their_longest_values(tmp_path: Path) -> None:
    stack = _stack(tmp_path, "S", {"Resources": {}})
    resolved = Resolver([stack]).resolve({"Fn::Join": ["", list(ARN_PARTS)]}, stack)
    assert resolved == f"arn:{WORST_CASE.partition}:iam::{WORST_CASE.account}:root"


def test_generated_names_are_cut_to_the_types_maximum(tmp_path: Path) -> None:
    stack = _stack(
        tmp_path,
        "a-rather-long-stack-name-for-a-governed-environment",
        {"Resources": {"ExecutionRoleWithALongLogicalId0123": {"Type": "AWS::IAM::Role"}}},
    )
    arn = Resolver([stack]).resolve(
        {"Fn::GetAtt": ["ExecutionRoleWithALongLogicalId0123", "Arn"]}, stack
    )
    prefix = f"arn:{WORST_CASE.partition}:iam::{WORST_CASE.account}:role/"
    assert arn.startswith(prefix)
    assert len(arn) == len(prefix) + 64  # IAM role names: at most 64 characters


def test_explicit_names_are_used_as_written(tmp_path: Path) -> None:
    stack = _stack(
        tmp_path,
        "S",
        {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "b"}}}},
    )
    assert Resolver([stack]).resolve({"Fn::GetAtt": ["Bucket", "Arn"]}, stack) == (
        f"arn:{WORST_CASE.partition}:s3:::b"
    )


def test_stack_outputs_select_split_and_mappings_resolve(tmp_path: Path) -> None:
    producer = _stack(
        tmp_path,
        "Producer",
        {
            "Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "r"}}},
            "Outputs": {"RoleArn": {"Value": {"Fn::GetAtt": ["Role", "Arn"]}}},
        },
    )
    consumer = _stack(
        tmp_path,
        "Consumer",
        {
            "Resources": {},
            "Mappings": {"Images": {"eu-west-1": {"uri": "short"}, "x": {"uri": "much-longer"}}},
        },
    )
    resolver = Resolver([producer, consumer])
    output = {"Fn::GetStackOutput": {"StackName": "Producer", "OutputName": "RoleArn"}}
    name = {"Fn::Select": [1, {"Fn::Split": ["/", output]}]}
    assert resolver.resolve(name, consumer) == "r"
    image = {"Fn::FindInMap": ["Images", {"Ref": "AWS::Region"}, "uri"]}
    assert resolver.resolve(image, consumer) == "much-longer"  # the region is unknown
    assert resolver.references(name, consumer) == {("Producer", "Role")}


# --- measurements ------------------------------------------------------------------------------


def _policy(roles: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {
            "PolicyDocument": {"Version": "2012-10-17", "Statement": []},
            "Roles": roles,
        },
    }


def test_managed_policies_per_role_are_counted_across_stacks(tmp_path: Path) -> None:
    # Given a role in one stack and eleven policies attached to it, six from another stack
    role_output = {"Fn::GetStackOutput": {"StackName": "Base", "OutputName": "RoleName"}}
    base = _stack(
        tmp_path,
        "Base",
        {
            "Resources": {
                "Role": {"Type": "AWS::IAM::Role"},
                **{f"P{i}": _policy([{"Ref": "Role"}]) for i in range(5)},
            },
            "Outputs": {"RoleName": {"Value": {"Ref": "Role"}}},
        },
    )
    shard = _stack(
        tmp_path, "Shard", {"Resources": {f"Q{i}": _policy([role_output]) for i in range(6)}}
    )
    # When measured, Then the role carries 11 policies: over the default 10, under a raised 20
    (count,) = [m for m in measure([base, shard]) if m.limit.key == "iam.managed-policies-per-role"]
    assert (count.value, count.allowed, count.breach) == (11, 10, True)
    raised = Quotas.from_context('{"iam.managed-policies-per-role": 20}')
    (count,) = [
        m for m in measure([base, shard], raised) if m.limit.key == "iam.managed-policies-per-role"
    ]
    assert (count.value, count.allowed, count.breach) == (11, 20, False)


def test_rules_on_the_default_bus_are_counted_per_environment(tmp_path: Path) -> None:
    rule = {"Type": "AWS::Events::Rule", "Properties": {"EventPattern": {"source": ["x"]}}}
    stacks = [
        _stack(
            tmp_path,
            f"S{n}",
            {"Resources": {f"R{i}": rule for i in range(200)}},
            account="111122223333",
            region="eu-west-1",
        )
        for n in range(2)
    ]
    (count,) = [m for m in measure(stacks) if m.limit.key == "events.rules-per-bus"]
    assert count.value == 400
    assert count.breach
    assert "111122223333/eu-west-1" in count.message


def test_every_limit_is_measured_on_the_default_app(default_assembly: Assembly) -> None:
    from cdk_constructs.compliance.limits_check import load_assembly

    measured = {m.limit.key for m in measure(load_assembly(default_assembly.outdir))}
    assert measured == set(LIMITS)


def test_each_limit_names_its_source_and_what_to_change() -> None:
    for limit in LIMITS.values():
        assert limit.source, limit.key
        assert limit.fix, limit.key
        assert limit.value > 0


# --- quotas ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"iam.managed-policy-size": 10000}', "not an adjustable AWS quota"),
        ('{"no.such.limit": 1}', "not an adjustable AWS quota"),
        ('{"iam.managed-policies-per-role": 5}', "at least the default 10"),
        ('{"iam.managed-policies-per-role": "20"}', "whole number"),
        ("[20]", "JSON object"),
        ("{not json", "JSON object like"),
    ],
)
def test_bad_quotas_are_refused_with_what_is_allowed(value: str, message: str) -> None:
    with pytest.raises(QuotaError, match=re.escape(message)):
        Quotas.from_context(value)


# --- the plugin --------------------------------------------------------------------------------


def _report(outdir: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((outdir / "validation-report.json").read_text())
    (limits,) = [p for p in report["pluginReports"] if p["pluginName"] == PLUGIN_NAME]
    return limits


def test_a_breach_fails_synth_with_one_clear_message(tmp_path: Path) -> None:
    # Given a managed policy that lists 300 prefixes (about 10,000 characters)
    app = cdk.App(
        outdir=str(tmp_path), context={"@aws-cdk/core:failSynthOnValidationErrors": False}
    )
    stack = cdk.Stack(app, "Big", env=cdk.Environment(account="111122223333", region="eu-west-1"))
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    iam.ManagedPolicy(
        stack,
        "Policy",
        roles=[role],
        statements=[
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[f"arn:aws:s3:::bucket/prefix-{i:04d}/*" for i in range(300)],
            )
        ],
    )
    cdk.Validations.of(app).add_plugins(LimitsChecks())
    app.synth()
    # Then the report holds one error naming the stack, the resource, limit and measured value
    report = _report(tmp_path)
    assert report["conclusion"] == "failure"
    (violation,) = report["violations"]
    assert violation["ruleName"] == "iam.managed-policy-size"
    assert violation["severity"] == "error"
    description = violation["description"]
    for expected in (
        "stack Big",
        "Policy",
        "characters, over the limit of 6,144 characters",
        "reference_iam-quotas",
    ):
        assert expected in description
    assert int(violation["ruleMetadata"]["measured"]) > 6144
    (construct,) = violation["violatingConstructs"]
    assert construct["constructPath"] == "Big/Policy/Resource"


def test_the_default_app_is_within_every_limit(default_assembly: Assembly) -> None:
    report = default_assembly.report["pluginReports"]
    limits = [p for p in report if p["pluginName"] == PLUGIN_NAME]
    assert all(not p.get("violations") for p in limits)


def test_register_refuses_bad_quotas_before_synth() -> None:
    app = cdk.App(context={"quotas": '{"cloudformation.resources": 1000}'})
    with pytest.raises(QuotaError, match="not an adjustable AWS quota"):
        register_compliance_packs(app)


# --- bad input: a model whose dashboard would breach a limit -----------------------------------


def _wide_model_config(tmp_path: Path, features: int) -> Path:
    data = yaml.safe_load((REPO / "config" / "default.yaml").read_text())
    model = data["models"][0]  # credit-default: SHAP baseline configured
    model["dataset_schema"]["features"] = [
        {"name": f"f{index:03d}", "type": "numeric"} for index in range(features)
    ] + [{"name": "gender", "type": "categorical"}]
    model["monitoring"] = {
        "data_quality": {"enabled": False},
        "model_quality": {"enabled": False},
        "bias": {"enabled": False},
        "explainability": {"enabled": True},
    }
    # Without its bias monitor the model cannot produce the bias report its tier asks for.
    model["approval"] = {
        "waive_evidence": ["bias_report"],
        "reason": "this test measures the explainability dashboard only",
    }
    data["models"] = [model]
    # (served in prod only: the other environments would add foundations and nothing to measure)
    data["environments"] = [e for e in data["environments"] if e["name"] == "prod"]
    path = tmp_path / "wide.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_model_too_wide_for_its_dashboard_fails_synth_naming_it(tmp_path: Path) -> None:
    # Given one model with 600 features whose SHAP widget would plot one metric per feature
    config = load_config(str(_wide_model_config(tmp_path, 600)))
    outdir = tmp_path / "out"
    app = cdk.App(
        outdir=str(outdir),
        context=cdk_context(**{"@aws-cdk/core:failSynthOnValidationErrors": False}),
    )
    build_governance(app, config)
    cdk.Validations.of(app).add_plugins(LimitsChecks())
    app.synth()
    # Then the limits check fails synth, naming the model and CloudWatch's widget limit
    violations = _report(outdir)["violations"]
    rules = {v["ruleName"] for v in violations}
    assert "cloudwatch.metrics-per-widget" in rules
    (widget,) = [v for v in violations if v["ruleName"] == "cloudwatch.metrics-per-widget"]
    assert "(model credit-default)" in widget["description"]
    assert "metric count is 601, over the limit of 500" in widget["description"]

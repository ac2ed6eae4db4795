"""The weakenings the gate must catch: one or more per claim of RULES.md's claims table.

Each :class:`Mutation` edits the synthesized templates of the default config in memory (the way
a careless change, a raw override or an Aspect would), names the claim(s) it weakens, and the
error-level finding the registered packs must then report on the weakened resource. The first
eight are the ones issue 12 found passing silently.

Resources are found by construct path (``aws:cdk:path`` metadata), never by logical id, so the
table survives a logical-id change and fails loudly if a construct is renamed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

Templates = MutableMapping[str, dict[str, Any]]  # stack name -> template

FOUNDATION = "foundation"
MODELS = "models-00"


@dataclass(frozen=True)
class Where:
    """One resource, by the end of its construct path and its type."""

    stack: str  # "foundation" or "models-00": the end of the stack name
    path: str  # the construct path after the stack name, e.g. "Keys/artifacts/Resource/Resource"
    type: str


def locate(templates: Templates, where: Where) -> tuple[str, str]:
    """``(stack name, logical id)`` of the one resource at ``where``."""
    found = [
        (stack, logical_id)
        for stack, template in templates.items()
        if stack.endswith(f"-{where.stack}")
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == where.type
        and resource.get("Metadata", {}).get("aws:cdk:path") == f"{stack}/{where.path}"
    ]
    if len(found) != 1:
        raise LookupError(f"{len(found)} resources at {where} (was a construct renamed?)")
    return found[0]


def resource(templates: Templates, where: Where) -> dict[str, Any]:
    stack, logical_id = locate(templates, where)
    found: dict[str, Any] = templates[stack]["Resources"][logical_id]
    return found


def props(templates: Templates, where: Where) -> dict[str, Any]:
    found: dict[str, Any] = resource(templates, where)["Properties"]
    return found


def policies_of(templates: Templates, role: Where) -> Iterator[dict[str, Any]]:
    """Policy documents of the managed policies attached to ``role`` (``Roles: [Ref]``)."""
    stack, logical_id = locate(templates, role)
    for candidate in templates[stack]["Resources"].values():
        if candidate["Type"] != "AWS::IAM::ManagedPolicy":
            continue
        if {"Ref": logical_id} in candidate["Properties"].get("Roles", []):
            yield candidate["Properties"]["PolicyDocument"]


def drop_statements(templates: Templates, role: Where, sid: str) -> None:
    dropped = 0
    for document in policies_of(templates, role):
        before = len(document["Statement"])
        document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != sid]
        dropped += before - len(document["Statement"])
    if not dropped:
        raise LookupError(f"no statement {sid!r} in the policies of {role}")


def add_statement(templates: Templates, role: Where, statement: dict[str, Any]) -> None:
    document = next(policies_of(templates, role), None)
    if document is None:
        raise LookupError(f"no managed policy attached to {role}")
    document["Statement"].append(statement)


def tag_list_without(tag_list: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    kept = [tag for tag in tag_list if tag["Key"] != key]
    if len(kept) == len(tag_list):
        raise LookupError(f"no tag {key}")
    return kept


@dataclass(frozen=True)
class Mutation:
    """A weakening, the claims it breaks and the finding that must appear on ``target``."""

    id: str
    claims: tuple[str, ...]
    what: str
    target: Where
    rule: str
    apply: Callable[[Templates], None]
    #: Other resources the weakening reaches through wiring, where a finding is expected too
    #: (one routing rule serves every group of its stack).
    reaches: tuple[Where, ...] = ()


# -- resources -------------------------------------------------------------------------------

ROLE = "AWS::IAM::Role"
KEY = "AWS::KMS::Key"
BUCKET = "AWS::S3::Bucket"
TRAINING = Where(FOUNDATION, "JobRoles/Training/Resource", ROLE)
DATA_SCIENTIST = Where(FOUNDATION, "Personas/DataScientist/Resource", ROLE)
APPROVER = Where(FOUNDATION, "Personas/ModelApprover/Resource", ROLE)
AUDITOR = Where(FOUNDATION, "Personas/Auditor/Resource", ROLE)
TRAIL_ROLE = Where(FOUNDATION, "Trail/LogsRole/Resource", ROLE)
ARTIFACTS_KEY = Where(FOUNDATION, "Keys/artifacts/Resource/Resource", KEY)
MONITORING_KEY = Where(FOUNDATION, "Keys/monitoring/Resource/Resource", KEY)
MONITORING_ROLE = Where(FOUNDATION, "JobRoles/Monitoring/Resource", ROLE)
MONITORING_GRANTS = Where(
    FOUNDATION, "JobRoles/Monitoring/Grants/Resource", "AWS::IAM::ManagedPolicy"
)
LOGS_KEY = Where(FOUNDATION, "Keys/logs/Resource/Resource", KEY)
AUDIT = Where(FOUNDATION, "Audit/Resource/Resource", BUCKET)
ARTIFACTS = Where(FOUNDATION, "Artifacts/Resource/Resource", BUCKET)
DATA_CAPTURE = Where(FOUNDATION, "DataCapture/Resource/Resource", BUCKET)
DATA_CAPTURE_POLICY = Where(
    FOUNDATION, "DataCapture/Resource/Policy/Resource", "AWS::S3::BucketPolicy"
)
MONITORING_REPORTS = Where(FOUNDATION, "MonitoringReports/Resource/Resource", BUCKET)
ACCESS_LOGS = Where(FOUNDATION, "AccessLogs/Resource/Resource", BUCKET)
LEDGER = Where(FOUNDATION, "Handlers/Ledger/Resource", "AWS::DynamoDB::Table")
TRAIL = Where(FOUNDATION, "Trail/Resource", "AWS::CloudTrail::Trail")
VPC = Where(FOUNDATION, "Network/Resource/Resource", "AWS::EC2::VPC")
FLOW_LOG = Where(FOUNDATION, "Network/Resource/FlowLog/FlowLog", "AWS::EC2::FlowLog")
LEDGER_RULE = Where(FOUNDATION, "Handlers/GovernanceEventsToLedger/Resource", "AWS::Events::Rule")
RUNS_RULE = Where(FOUNDATION, "Handlers/MonitoringRunsToViolations/Resource", "AWS::Events::Rule")
SUBSCRIPTION = Where(
    FOUNDATION, "Alerts/Resource/model-risk@example.com/Resource", "AWS::SNS::Subscription"
)
GATE = Where(FOUNDATION, "Handlers/ApprovalGate/Resource/Resource", "AWS::Lambda::Function")
LEDGER_HANDLER = Where(
    FOUNDATION, "Handlers/AuditLedger/Resource/Resource", "AWS::Lambda::Function"
)
LEDGER_INVOKE = Where(
    FOUNDATION,
    "Handlers/AuditLedger/Resource/EventInvokeConfig/Resource",
    "AWS::Lambda::EventInvokeConfig",
)
GATE_DLQ_ALARM = Where(
    FOUNDATION, "Handlers/ApprovalGate/DeadLetterQueue/Depth/Resource", "AWS::CloudWatch::Alarm"
)
AUC_ALARM = Where(
    MODELS, "credit-default/Serving/Alarms/ModelQuality-auc/Resource", "AWS::CloudWatch::Alarm"
)
CREDIT_GROUP = Where(MODELS, "credit-default/Group/Resource", "AWS::SageMaker::ModelPackageGroup")
CHURN_GROUP = Where(MODELS, "churn-propensity/Group/Resource", "AWS::SageMaker::ModelPackageGroup")
CREDIT_CARD = Where(MODELS, "credit-default/Card/Resource", "AWS::SageMaker::ModelCard")
CREDIT_MODEL = Where(MODELS, "credit-default/Serving/Endpoint/Model", "AWS::SageMaker::Model")
CREDIT_CONFIG = Where(
    MODELS, "credit-default/Serving/Endpoint/EndpointConfig", "AWS::SageMaker::EndpointConfig"
)
CREDIT_ENDPOINT = Where(
    MODELS, "credit-default/Serving/Endpoint/Resource", "AWS::SageMaker::Endpoint"
)
CHURN_ENDPOINT = Where(
    MODELS, "churn-propensity/Serving/Endpoint/Resource", "AWS::SageMaker::Endpoint"
)
BIAS_SCHEDULE = Where(
    MODELS,
    "credit-default/Serving/credit-default-monitors/ModelBiasSchedule",
    "AWS::SageMaker::MonitoringSchedule",
)
DATA_QUALITY_JOB = Where(
    MODELS,
    "credit-default/Serving/credit-default-monitors/DataQualityJobDefinition",
    "AWS::SageMaker::DataQualityJobDefinition",
)


PROCESSING = Where(FOUNDATION, "JobRoles/Processing/Resource", ROLE)
ALERTS = Where(FOUNDATION, "Alerts/Resource/Resource", "AWS::SNS::Topic")
AUDIT_KEY = Where(FOUNDATION, "Keys/audit/Resource/Resource", KEY)
CHURN_POLICY = Where(
    MODELS, "churn-propensity/ApprovalPolicy/Resource/Resource", "AWS::SSM::Parameter"
)
CHURN_AUC_ALARM = Where(
    MODELS, "churn-propensity/Serving/Alarms/ModelQuality-auc/Resource", "AWS::CloudWatch::Alarm"
)
VIOLATIONS_DLQ = Where(
    FOUNDATION, "Handlers/MonitoringViolations/DeadLetterQueue/Default/Resource", "AWS::SQS::Queue"
)
VIOLATIONS_DLQ_ALARM = Where(
    FOUNDATION,
    "Handlers/MonitoringViolations/DeadLetterQueue/Depth/Resource",
    "AWS::CloudWatch::Alarm",
)
STATE_CHANGES = Where(MODELS, "StateChanges/Resource", "AWS::Events::Rule")
ARTIFACTS_POLICY = Where(FOUNDATION, "Artifacts/Resource/Policy/Resource", "AWS::S3::BucketPolicy")


# -- weakenings ------------------------------------------------------------------------------


def _set(where: Where, **values: Any) -> Callable[[Templates], None]:
    def apply(templates: Templates) -> None:
        props(templates, where).update(values)

    return apply


def _delete(where: Where, *keys: str) -> Callable[[Templates], None]:
    def apply(templates: Templates) -> None:
        found = props(templates, where)
        for key in keys:
            if key not in found:
                raise LookupError(f"{where} has no {key}")
            del found[key]

    return apply


def _deny_of_approval_removed(templates: Templates) -> None:
    drop_statements(templates, DATA_SCIENTIST, "NeverApprove")


def _approver_deletes(templates: Templates) -> None:
    drop_statements(templates, APPROVER, "NeverCreateOrDeleteVersions")
    add_statement(
        templates,
        APPROVER,
        {"Effect": "Allow", "Action": "sagemaker:DeleteModelPackage", "Resource": "*"},
    )


def _auditor_writes(templates: Templates) -> None:
    add_statement(
        templates,
        AUDITOR,
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"},
    )


def _key_statement(where: Where, statement: dict[str, Any]) -> Callable[[Templates], None]:
    def apply(templates: Templates) -> None:
        props(templates, where)["KeyPolicy"]["Statement"].append(statement)

    return apply


def _root_may_decrypt(templates: Templates) -> None:
    statements = props(templates, ARTIFACTS_KEY)["KeyPolicy"]["Statement"]
    admin = next(s for s in statements if s.get("Sid") == "KeyAdministration")
    statements.append(
        {
            "Effect": "Allow",
            "Principal": admin["Principal"],
            "Action": "kms:Decrypt",
            "Resource": "*",
        }
    )


def _retention_shortened(templates: Templates) -> None:
    retention = props(templates, AUDIT)["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    retention.pop("Years", None)
    retention["Days"] = 1


def _untagged(where: Where, key: str) -> Callable[[Templates], None]:
    def apply(templates: Templates) -> None:
        found = props(templates, where)
        found["Tags"] = tag_list_without(found["Tags"], key)

    return apply


def _capture_at_zero(templates: Templates) -> None:
    props(templates, CREDIT_CONFIG)["DataCaptureConfig"]["InitialSamplingPercentage"] = 0


def _no_dead_letter(where: Where) -> Callable[[Templates], None]:
    def apply(templates: Templates) -> None:
        for target in props(templates, where)["Targets"]:
            del target["DeadLetterConfig"]

    return apply


def _no_retries(templates: Templates) -> None:
    for target in props(templates, RUNS_RULE)["Targets"]:
        target["RetryPolicy"]["MaximumRetryAttempts"] = 0


def _retention_of(where: Where) -> Callable[[Templates], None]:
    def apply(templates: Templates) -> None:
        found = resource(templates, where)
        found["DeletionPolicy"] = "Delete"
        found["UpdateReplacePolicy"] = "Delete"

    return apply


def _isolation_off(where: Where) -> Callable[[Templates], None]:
    def apply(templates: Templates) -> None:
        props(templates, where)["NetworkConfig"]["EnableNetworkIsolation"] = False

    return apply


def _public_policies_allowed(templates: Templates) -> None:
    block = props(templates, MONITORING_REPORTS)["PublicAccessBlockConfiguration"]
    block.update(BlockPublicPolicy=False, RestrictPublicBuckets=False)


def _flow_log_removed(templates: Templates) -> None:
    stack, logical_id = locate(templates, FLOW_LOG)
    del templates[stack]["Resources"][logical_id]


def _tls_deny_removed(templates: Templates) -> None:
    document = props(templates, DATA_CAPTURE_POLICY)["PolicyDocument"]
    before = len(document["Statement"])
    document["Statement"] = [
        s
        for s in document["Statement"]
        if "aws:SecureTransport" not in str(s.get("Condition"))
        and "s3:TlsVersion" not in str(s.get("Condition"))
    ]
    if len(document["Statement"]) == before:
        raise LookupError("no TLS deny in the data capture bucket policy")


def _inline_policy(templates: Templates, role: Where = TRAIL_ROLE) -> None:
    props(templates, role)["Policies"] = [
        {
            "PolicyName": "Inline",
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}],
            },
        }
    ]


def _tls_floor_removed(templates: Templates) -> None:
    document = props(templates, ARTIFACTS_POLICY)["PolicyDocument"]
    before = len(document["Statement"])
    document["Statement"] = [
        s for s in document["Statement"] if "s3:TlsVersion" not in str(s.get("Condition"))
    ]
    if len(document["Statement"]) == before:
        raise LookupError("no TLS floor in the artifacts bucket policy")


def _policy_parameter_removed(templates: Templates) -> None:
    stack, logical_id = locate(templates, CHURN_POLICY)
    del templates[stack]["Resources"][logical_id]


def _internet_gateway_added(templates: Templates) -> None:
    stack, _ = locate(templates, VPC)
    templates[stack]["Resources"]["MutationInternetGateway"] = {
        "Type": "AWS::EC2::InternetGateway",
        "Metadata": {"aws:cdk:path": f"{stack}/MutationInternetGateway"},
    }


def _ledger_not_routed(templates: Templates) -> None:
    targets = props(templates, STATE_CHANGES)["Targets"]
    kept = [t for t in targets if "AuditLedger" not in json.dumps(t["Arn"])]
    if len(kept) == len(targets):
        raise LookupError("the state-change rule has no audit ledger target")
    props(templates, STATE_CHANGES)["Targets"] = kept


def _dlq_alarm_removed(templates: Templates) -> None:
    stack, logical_id = locate(templates, VIOLATIONS_DLQ_ALARM)
    del templates[stack]["Resources"][logical_id]


def _no_invoke_destination(templates: Templates) -> None:
    _delete(LEDGER_HANDLER, "DeadLetterConfig")(templates)
    stack, logical_id = locate(templates, LEDGER_INVOKE)
    del templates[stack]["Resources"][logical_id]


G = "Governance-"

MUTATIONS: tuple[Mutation, ...] = (
    # -- the eight weakenings issue 12 found passing ---------------------------------------
    Mutation(
        "boundary-removed",
        ("IAM-1",),
        "a role's permissions boundary removed",
        TRAINING,
        f"{G}IAM1",
        _delete(TRAINING, "PermissionsBoundary"),
    ),
    Mutation(
        "persona-approval-deny-removed",
        ("SOD-1",),
        "the data scientist's deny on approving versions removed",
        DATA_SCIENTIST,
        f"{G}SOD1",
        _deny_of_approval_removed,
    ),
    Mutation(
        "object-lock-off",
        ("AUD-1",),
        "the audit bucket's Object Lock turned off",
        AUDIT,
        f"{G}AUD1",
        _delete(AUDIT, "ObjectLockEnabled", "ObjectLockConfiguration"),
    ),
    Mutation(
        "ledger-aws-owned-key",
        ("ENC-1", "AUD-3"),
        "the audit ledger encrypted with an AWS owned key instead of ours",
        LEDGER,
        f"{G}DDB3",
        _delete(LEDGER, "SSESpecification"),
    ),
    Mutation(
        "trail-stops-logging",
        ("AUD-7",),
        "a trail that stops logging",
        TRAIL,
        f"{G}CT2",
        _set(TRAIL, IsLogging=False),
    ),
    Mutation(
        "high-risk-schedule-stopped",
        ("MON-1",),
        "a high-risk model's monitoring schedule set to Stopped",
        BIAS_SCHEDULE,
        f"{G}MS1",
        _set(BIAS_SCHEDULE, MonitoringScheduleStatus="Stopped"),
    ),
    Mutation(
        "capture-at-zero",
        ("SRV-1",),
        "data capture sampling at 0 %",
        CREDIT_CONFIG,
        f"{G}EPC3",
        _capture_at_zero,
    ),
    Mutation(
        "governance-tag-lost",
        ("MON-1", "SRV-1"),
        "a governed endpoint loses its governance:model tag",
        CHURN_ENDPOINT,
        f"{G}TAG1",
        _untagged(CHURN_ENDPOINT, "governance:model"),
    ),
    # -- every other claim enforced at synth -----------------------------------------------
    Mutation(
        "approver-deletes-versions",
        ("SOD-2",),
        "the approver's deny on creating and deleting versions replaced by an allow",
        APPROVER,
        f"{G}SOD2",
        _approver_deletes,
    ),
    Mutation(
        "auditor-writes",
        ("SOD-3",),
        "the auditor may write objects",
        AUDITOR,
        f"{G}SOD3",
        _auditor_writes,
    ),
    Mutation(
        "account-may-use-key",
        ("ENC-3",),
        "the artifacts key policy lets the account (any administrator) decrypt",
        ARTIFACTS_KEY,
        f"{G}KMS1",
        _root_may_decrypt,
    ),
    Mutation(
        "anyone-via-service",
        ("IAM-3",),
        "the monitoring key policy names no principal: anyone in the account, through S3",
        MONITORING_KEY,
        f"{G}KMS1",
        _key_statement(
            MONITORING_KEY,
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "*",
            },
        ),
    ),
    Mutation(
        "retention-shortened",
        ("AUD-2",),
        "the audit bucket's retention shortened to one day",
        AUDIT,
        f"{G}AUD1",
        _retention_shortened,
    ),
    Mutation(
        "ledger-without-recovery",
        ("AUD-3",),
        "point-in-time recovery of the ledger turned off",
        LEDGER,
        f"{G}DDB1",
        _delete(LEDGER, "PointInTimeRecoverySpecification"),
    ),
    Mutation(
        "log-validation-off",
        ("AUD-6",),
        "the trail stops validating log files",
        TRAIL,
        f"{G}CT1",
        _set(TRAIL, EnableLogFileValidation=False),
    ),
    Mutation(
        "model-not-isolated",
        ("NET-1",),
        "a served model loses network isolation",
        CREDIT_MODEL,
        f"{G}MDL1",
        _set(CREDIT_MODEL, EnableNetworkIsolation=False),
    ),
    Mutation(
        "monitoring-job-not-isolated",
        ("MON-2",),
        "a data-quality job loses network isolation",
        DATA_QUALITY_JOB,
        f"{G}MJD1",
        _isolation_off(DATA_QUALITY_JOB),
    ),
    Mutation(
        "ledger-rule-without-dlq",
        ("DLV-1",),
        "the rule feeding the ledger loses its dead-letter queue",
        LEDGER_RULE,
        f"{G}ASY1",
        _no_dead_letter(LEDGER_RULE),
    ),
    Mutation(
        "no-retries",
        ("DLV-4",),
        "the rule feeding the violations handler stops retrying",
        RUNS_RULE,
        f"{G}ASY1",
        _no_retries,
    ),
    Mutation(
        "alert-subscription-without-dlq",
        ("DLV-3",),
        "an alert subscription loses its dead-letter queue",
        SUBSCRIPTION,
        f"{G}ASY2",
        _delete(SUBSCRIPTION, "RedrivePolicy"),
    ),
    Mutation(
        "handler-untraced",
        ("HND-1",),
        "the approval gate is no longer traced",
        GATE,
        f"{G}LMB1",
        _delete(GATE, "TracingConfig"),
    ),
    Mutation(
        "handler-without-dlq",
        ("HND-1", "DLV-1"),
        "the ledger handler loses its dead-letter queue and failure destination",
        LEDGER_HANDLER,
        f"{G}ASY3",
        _no_invoke_destination,
    ),
    Mutation(
        "group-not-retained",
        ("REG-1",),
        "a model package group is deleted with its stack",
        CREDIT_GROUP,
        f"{G}MPG1",
        _retention_of(CREDIT_GROUP),
    ),
    Mutation(
        "group-without-owner",
        ("REG-1",),
        "a model package group loses its owner tag",
        CHURN_GROUP,
        f"{G}MPG2",
        _untagged(CHURN_GROUP, "governance:owner"),
    ),
    Mutation(
        "card-unencrypted",
        ("REG-2",),
        "a model card loses its KMS key",
        CREDIT_CARD,
        f"{G}MC1",
        _delete(CREDIT_CARD, "SecurityConfig"),
    ),
    Mutation(
        "topic-with-aws-managed-key",
        ("ENC-1",),
        "the alerts topic encrypted with the AWS managed alias/aws/sns key",
        ALERTS,
        f"{G}KEY1",
        _set(ALERTS, KmsMasterKeyId="alias/aws/sns"),
    ),
    Mutation(
        "tls-floor-removed",
        ("STO-1",),
        "the artifacts bucket accepts TLS 1.0 and 1.1 (its s3:TlsVersion deny removed)",
        ARTIFACTS,
        f"{G}TLS1",
        _tls_floor_removed,
    ),
    Mutation(
        "key-deleted-with-stack",
        ("STO-4",),
        "the audit key is deleted with its stack",
        AUDIT_KEY,
        f"{G}RET1",
        _retention_of(AUDIT_KEY),
    ),
    Mutation(
        "trail-one-region",
        ("AUD-7",),
        "the trail records one region only",
        TRAIL,
        f"{G}CT3",
        _set(TRAIL, IsMultiRegionTrail=False),
    ),
    Mutation(
        "internet-gateway",
        ("NET-1",),
        "an internet gateway is added",
        Where(FOUNDATION, "MutationInternetGateway", "AWS::EC2::InternetGateway"),
        f"{G}NET1",
        _internet_gateway_added,
    ),
    Mutation(
        "inline-grant-on-job-role",
        ("IAM-2",),
        "a job role gets an inline policy",
        PROCESSING,
        f"{G}IAM2",
        lambda templates: _inline_policy(templates, PROCESSING),
    ),
    Mutation(
        "approval-policy-removed",
        ("REG-3",),
        "a governed group's approval-policy parameter removed",
        CHURN_GROUP,
        f"{G}MPG6",
        _policy_parameter_removed,
    ),
    Mutation(
        "group-unclassified",
        ("REG-1",),
        "a model package group loses its data classification",
        CREDIT_GROUP,
        f"{G}MPG2",
        _untagged(CREDIT_GROUP, "governance:data-classification"),
    ),
    Mutation(
        "alarm-to-foreign-topic",
        ("MON-3", "DLV-2"),
        "a model-quality alarm notifies a topic outside the app",
        CHURN_AUC_ALARM,
        f"{G}ALM1",
        _set(CHURN_AUC_ALARM, AlarmActions=["arn:aws:sns:eu-west-1:999988887777:elsewhere"]),
    ),
    Mutation(
        "dlq-unwatched",
        ("DLV-2", "HND-1"),
        "the violations handler's dead-letter queue loses its depth alarm",
        VIOLATIONS_DLQ,
        f"{G}ASY4",
        _dlq_alarm_removed,
    ),
    Mutation(
        "ledger-not-routed",
        ("DLV-4",),
        "the models stack's state-change rule no longer targets the audit ledger",
        CREDIT_GROUP,
        f"{G}MPG7",
        _ledger_not_routed,
        reaches=(CHURN_GROUP,),
    ),
    # -- claims enforced by the public packs (error level) ---------------------------------
    Mutation(
        "rotation-off",
        ("ENC-2",),
        "a key's automatic rotation turned off",
        LOGS_KEY,
        "AwsSolutions-KMS5",
        _set(LOGS_KEY, EnableKeyRotation=False),
    ),
    Mutation(
        "tls-deny-removed",
        ("STO-1",),
        "the data capture bucket accepts requests without TLS",
        DATA_CAPTURE,
        "AwsSolutions-S10",
        _tls_deny_removed,
    ),
    Mutation(
        "public-access-allowed",
        ("STO-2",),
        "the monitoring reports bucket's public access block lets public policies through "
        "(removing the block entirely leaves S3's default for new buckets, which blocks)",
        MONITORING_REPORTS,
        "AwsSolutions-S2",
        _public_policies_allowed,
    ),
    Mutation(
        "versioning-off",
        ("STO-3",),
        "the artifacts bucket stops versioning",
        ARTIFACTS,
        "NIST.800.53.R5-S3BucketVersioningEnabled",
        _delete(ARTIFACTS, "VersioningConfiguration"),
    ),
    Mutation(
        "access-logs-off",
        ("STO-4",),
        "the audit bucket's server access logging removed",
        AUDIT,
        "AwsSolutions-S1",
        _delete(AUDIT, "LoggingConfiguration"),
    ),
    Mutation(
        "flow-logs-removed",
        ("NET-2",),
        "the VPC's flow log removed",
        VPC,
        "AwsSolutions-VPC7",
        _flow_log_removed,
    ),
    Mutation(
        "inline-grant",
        ("IAM-2",),
        "a role gets an inline policy",
        TRAIL_ROLE,
        "NIST.800.53.R5-IAMNoInlinePolicy",
        _inline_policy,
    ),
    Mutation(
        "dlq-alarm-silent",
        ("DLV-2",),
        "a dead-letter queue's depth alarm notifies nobody",
        GATE_DLQ_ALARM,
        "NIST.800.53.R5-CloudWatchAlarmAction",
        _delete(GATE_DLQ_ALARM, "AlarmActions"),
    ),
    Mutation(
        "mlflow-grant-on-every-app",
        ("MON-4",),
        "the monitoring role may log to (and read) every MLflow App of the account",
        MONITORING_GRANTS,
        f"{G}MLF1",
        lambda templates: add_statement(
            templates,
            MONITORING_ROLE,
            {
                "Effect": "Allow",
                "Action": ["sagemaker-mlflow:LogBatch", "sagemaker-mlflow:SearchRuns"],
                "Resource": "*",
            },
        ),
    ),
    Mutation(
        "monitor-alarm-silent",
        ("MON-3",),
        "a model-quality alarm notifies nobody",
        AUC_ALARM,
        "NIST.800.53.R5-CloudWatchAlarmAction",
        _delete(AUC_ALARM, "AlarmActions"),
    ),
)

# A change that weakens nothing: a description and a cost tag. It must add no finding.
NULL_TARGETS = (ACCESS_LOGS, TRAINING)


def null_mutation(templates: Templates) -> None:
    access_logs = props(templates, ACCESS_LOGS)
    access_logs["Tags"] = [*access_logs.get("Tags", []), {"Key": "mutation", "Value": "null"}]
    props(templates, TRAINING)["Description"] = "Training jobs (description edited)"

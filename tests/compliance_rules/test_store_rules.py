"""Rules closing the claims table's gaps: RET1, KEY1, TLS1, NET1, ALM1, ASY4, IAM2, CT3, MPG6 and
MPG2's data classification; a compliant and a non-compliant resource each, one synth."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm

from cdk_constructs.compliance.rules.registry import GATE_HANDLER, LEDGER_HANDLER
from governance.contracts.vocabulary import POLICY_PARAMETER_PREFIX
from tests.compliance_rules import builders as b

ENV = cdk.Environment(account="111111111111", region="eu-west-1")


def _bucket(
    scope: cdk.Stack,
    construct_id: str,
    key: Any,
    *,
    algorithm: str = "aws:kms",
    logs_to: Any = None,
) -> s3.CfnBucket:
    bucket = s3.CfnBucket(
        scope,
        construct_id,
        bucket_encryption=s3.CfnBucket.BucketEncryptionProperty(
            server_side_encryption_configuration=[
                s3.CfnBucket.ServerSideEncryptionRuleProperty(
                    server_side_encryption_by_default=s3.CfnBucket.ServerSideEncryptionByDefaultProperty(
                        sse_algorithm=algorithm, kms_master_key_id=key
                    )
                )
            ]
        ),
        logging_configuration=s3.CfnBucket.LoggingConfigurationProperty(
            destination_bucket_name=logs_to
        )
        if logs_to is not None
        else None,
    )
    b.retain(bucket)
    return bucket


def _tls_policy(
    scope: cdk.Stack, construct_id: str, bucket: s3.CfnBucket, *conditions: dict[str, Any]
) -> None:
    s3.CfnBucketPolicy(
        scope,
        construct_id,
        bucket=bucket.ref,
        policy_document={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": {"AWS": "*"},
                    "Action": "s3:*",
                    "Resource": [bucket.attr_arn, f"{bucket.attr_arn}/*"],
                    "Condition": condition,
                }
                for condition in conditions
            ],
        },
    )


PLAIN_HTTP = {"Bool": {"aws:SecureTransport": "false"}}
OLD_TLS = {"NumericLessThan": {"s3:TlsVersion": 1.2}}


@pytest.fixture(scope="module")
def findings() -> b.Findings:
    # Given: stores, keys, a network edge, alarms, roles, trails and groups in one stack
    app = cdk.App()
    stack = cdk.Stack(app, "Stores", env=ENV)
    key = kms.CfnKey(stack, "Key", key_policy={"Version": "2012-10-17", "Statement": []})
    b.retain(key)
    kms.CfnKey(stack, "DeletedKey", key_policy={"Version": "2012-10-17", "Statement": []})

    ours = _bucket(stack, "OurKey", key.attr_arn)
    _tls_policy(stack, "OurKeyPolicy", ours, PLAIN_HTTP, OLD_TLS)
    aws_managed = _bucket(stack, "AwsManagedKey", "alias/aws/s3")
    _tls_policy(stack, "AwsManagedPolicy", aws_managed, PLAIN_HTTP)  # no TLS floor
    # A server access log destination must use SSE-S3 (S3 user guide): not KEY1's finding
    log_target = _bucket(stack, "LogTarget", None, algorithm="AES256")
    _bucket(stack, "Logged", key.attr_arn, logs_to=log_target.ref)
    _bucket(stack, "SseS3", None, algorithm="AES256")
    s3.CfnBucket(stack, "NotRetained")

    our_topic = sns.CfnTopic(stack, "OurTopic", kms_master_key_id=key.ref)
    sns.CfnTopic(stack, "AwsTopic", kms_master_key_id="alias/aws/sns")
    sqs.CfnQueue(stack, "OurQueue", kms_master_key_id=key.attr_arn)
    sqs.CfnQueue(stack, "SqsManagedQueue", sqs_managed_sse_enabled=True)
    b.retain(logs.CfnLogGroup(stack, "OurLogs", kms_key_id=key.attr_arn))
    b.retain(logs.CfnLogGroup(stack, "PlainLogs"))

    ec2.CfnInternetGateway(stack, "InternetGateway")
    ec2.CfnVPC(stack, "Vpc", cidr_block="10.0.0.0/16")

    topic = sns.CfnTopic(stack, "Alerts", kms_master_key_id=key.ref)

    def alarm(construct_id: str, actions: list[str] | None) -> None:
        cloudwatch.CfnAlarm(
            stack,
            construct_id,
            comparison_operator="GreaterThanThreshold",
            evaluation_periods=1,
            threshold=0,
            metric_name="ApproximateNumberOfMessagesVisible",
            namespace="AWS/SQS",
            period=300,
            statistic="Maximum",
            alarm_actions=actions,
        )

    # Dead-letter queues of an event rule: one watched by a depth alarm, one not
    watched = sqs.CfnQueue(stack, "WatchedDlq", kms_master_key_id=key.attr_arn)
    unwatched = sqs.CfnQueue(stack, "UnwatchedDlq", kms_master_key_id=key.attr_arn)
    events.CfnRule(
        stack,
        "Rule",
        event_pattern={"source": ["aws.sagemaker"]},
        targets=[
            events.CfnRule.TargetProperty(
                arn=b.TARGET,
                id=f"T{number}",
                dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=queue.attr_arn),
            )
            for number, queue in enumerate((watched, unwatched))
        ],
    )
    cloudwatch.CfnAlarm(
        stack,
        "WatchedDlqDepth",
        comparison_operator="GreaterThanThreshold",
        evaluation_periods=1,
        threshold=0,
        metric_name="ApproximateNumberOfMessagesVisible",
        namespace="AWS/SQS",
        dimensions=[
            cloudwatch.CfnAlarm.DimensionProperty(name="QueueName", value=watched.attr_queue_name)
        ],
        period=300,
        statistic="Maximum",
        alarm_actions=[topic.ref],
    )

    alarm("Notifies", [topic.ref])
    alarm("OtherAppTopic", [our_topic.ref])  # a topic of the app, not the one handlers alert
    alarm("Silent", None)
    alarm("ForeignTopic", ["arn:aws:sns:eu-west-1:999999999999:elsewhere"])

    managed = b.role(stack, "ManagedOnly")
    inline = b.role(stack, "Inline")
    inline.policies = [
        iam.CfnRole.PolicyProperty(
            policy_name="Inline",
            policy_document={
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
            },
        )
    ]
    iam.CfnPolicy(
        stack,
        "InlinePolicyResource",
        policy_name="p",
        roles=[managed.ref],
        policy_document={
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        },
    )

    everywhere = b.trail(stack, "EveryRegion", validation=True)
    everywhere.is_multi_region_trail = True
    b.trail(stack, "OneRegion", validation=True)

    b.group(stack, "WithPolicy", name="with-policy")
    ssm.CfnParameter(
        stack, "Policy", type="String", name=f"{POLICY_PARAMETER_PREFIX}with-policy", value="{}"
    )
    b.group(stack, "WithoutPolicy", name="without-policy")
    b.group(
        stack,
        "Unclassified",
        name="unclassified",
        tag_list=b.model_tags("unclassified", classification=None),
    )
    b.group(
        stack,
        "BadClassification",
        name="bad-class",
        tag_list=b.model_tags("bad-class", classification="top-secret"),
    )
    # MPG7: one group routed to the gate and the ledger (by reference and by ARN), one only
    # to the gate
    gate = b.function(stack, "Gate")
    gate.handler = GATE_HANDLER
    gate.environment = lambda_.CfnFunction.EnvironmentProperty(
        variables={"ALERT_TOPIC_ARN": topic.ref}
    )
    ledger = b.function(stack, "Ledger")
    ledger.handler = LEDGER_HANDLER
    ledger.function_name = "audit-ledger"
    b.group(stack, "Routed", name="routed")
    b.group(stack, "GateOnly", name="gate-only")
    b.state_change_rule(
        stack,
        "RoutedRule",
        names=["routed"],
        targets=[
            events.CfnRule.TargetProperty(
                arn=gate.attr_arn,
                id="Gate",
                dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=b.DLQ),
            ),
            events.CfnRule.TargetProperty(
                arn="arn:aws:lambda:eu-west-1:111111111111:function:audit-ledger",
                id="Ledger",
                dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=b.DLQ),
            ),
        ],
    )
    b.state_change_rule(
        stack,
        "GateOnlyRule",
        names=["gate-only"],
        targets=[
            events.CfnRule.TargetProperty(
                arn=gate.attr_arn,
                id="Gate",
                dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=b.DLQ),
            )
        ],
    )
    # When
    return b.run_pack(app)


CASES = [
    ("RET1", "Stores/Key", "Stores/DeletedKey"),
    ("RET1", "Stores/OurKey", "Stores/NotRetained"),
    ("KEY1", "Stores/OurKey", "Stores/AwsManagedKey"),
    ("KEY1", "Stores/LogTarget", "Stores/SseS3"),
    ("KEY1", "Stores/OurTopic", "Stores/AwsTopic"),
    ("KEY1", "Stores/OurQueue", "Stores/SqsManagedQueue"),
    ("KEY1", "Stores/OurLogs", "Stores/PlainLogs"),
    ("TLS1", "Stores/OurKey", "Stores/AwsManagedKey"),
    ("TLS1", "Stores/OurKey", "Stores/Logged"),
    ("NET1", "Stores/Vpc", "Stores/InternetGateway"),
    ("ALM1", "Stores/Notifies", "Stores/Silent"),
    ("ALM1", "Stores/Notifies", "Stores/ForeignTopic"),
    ("ALM1", "Stores/Notifies", "Stores/OtherAppTopic"),
    ("IAM2", "Stores/ManagedOnly", "Stores/Inline"),
    ("IAM2", "Stores/ManagedOnly", "Stores/InlinePolicyResource"),
    ("CT3", "Stores/EveryRegion", "Stores/OneRegion"),
    ("ASY4", "Stores/WatchedDlq", "Stores/UnwatchedDlq"),
    ("ASY4", "Stores/OurQueue", "Stores/UnwatchedDlq"),
    ("MPG6", "Stores/WithPolicy", "Stores/WithoutPolicy"),
    ("MPG2", "Stores/WithPolicy", "Stores/Unclassified"),
    ("MPG2", "Stores/WithPolicy", "Stores/BadClassification"),
    ("MPG7", "Stores/Routed", "Stores/GateOnly"),
]


@pytest.mark.parametrize(("rule_id", "compliant", "non_compliant"), CASES)
def test_rule_flags_only_the_non_compliant_resource(
    findings: b.Findings, rule_id: str, compliant: str, non_compliant: str
) -> None:
    # Then
    flagged = b.flagged(findings, rule_id)
    assert non_compliant in flagged, flagged
    assert compliant not in flagged, flagged
    assert not b.undecided(findings, rule_id)

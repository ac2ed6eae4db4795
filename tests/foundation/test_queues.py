"""The dead-letter-queue construct: its queue keeps the construct's logical ID, and it owns
exactly one depth alarm."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template

from cdk_constructs.encryption import DataDomain, GovernanceKey
from cdk_constructs.queues import DeadLetterQueue


class _Alerts:
    def __init__(self, topic: sns.Topic) -> None:
        self.topic = topic

    def alarm_action(self) -> cloudwatch.IAlarmAction:
        return cloudwatch_actions.SnsAction(self.topic)


def test_queue_keeps_the_construct_id_and_alarms_once() -> None:
    stack = cdk.Stack(cdk.App(), "Queues")
    key = GovernanceKey(stack, "Key", domain=DataDomain.ALERTS, alias_prefix="test")
    alerts = _Alerts(sns.Topic(stack, "Topic"))
    dlq = DeadLetterQueue(stack, "Failed", key=key, alerts=alerts, what="Tests")

    # The queue is the default child, so its logical ID is what a bare queue "Failed" had.
    bare = cdk.Stack(cdk.App(), "Bare")
    plain = sqs.Queue(bare, "Failed")
    assert stack.resolve(dlq.queue.node.default_child.logical_id) == bare.resolve(  # type: ignore[union-attr]
        plain.node.default_child.logical_id  # type: ignore[union-attr]
    )
    assert dlq.node.default_child is dlq.queue
    with pytest.raises(ValueError, match="already has its depth alarm"):
        dlq.alarm_on_depth(alerts, what="Tests")

    template = Template.from_stack(stack)
    template.resource_count_is("AWS::CloudWatch::Alarm", 1)
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "AlarmDescription": "Tests: events failed and wait in a dead-letter queue",
            "Threshold": 0,
        },
    )
    template.has_resource_properties("AWS::SQS::Queue", {"MessageRetentionPeriod": 1209600})

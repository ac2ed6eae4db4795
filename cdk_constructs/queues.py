"""Dead-letter queues: where failed events and undeliverable messages wait for inspection."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk_constructs.compliance.acknowledgments import acknowledge
from cdk_constructs.encryption import IGovernanceKey

if TYPE_CHECKING:  # alerts.py builds a dead-letter queue itself
    from cdk_constructs.alerts import IAlerts

# A message waits at most 14 days, the longest SQS keeps one (SQS developer guide, quotas:
# MessageRetentionPeriod 60 s to 1,209,600 s).
RETENTION = cdk.Duration.days(14)


class DeadLetterQueue(Construct):
    """A KMS-encrypted, TLS-only queue that keeps failed events for the maximum 14 days.

    ``alerts`` (or a later :meth:`alarm_on_depth`) adds the queue's depth alarm: any message
    waiting for five minutes alerts, with ``what`` saying whose events failed. The queue is the
    construct's default child (id ``Default``), so its logical ID is the construct's own.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: IGovernanceKey,
        alerts: IAlerts | None = None,
        what: str | None = None,
        redrive: sqs.DeadLetterQueue | None = None,
        visibility_timeout: cdk.Duration | None = None,
    ) -> None:
        """``redrive``: a queue a handler consumes (an SQS event source) moves a message it
        could not process there after ``max_receive_count`` receives."""
        super().__init__(scope, construct_id)
        self.queue = sqs.Queue(
            self,
            "Default",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key.key,
            enforce_ssl=True,
            retention_period=RETENTION,
            dead_letter_queue=redrive,
            visibility_timeout=visibility_timeout,
        )
        if redrive is None:
            for rule in ("AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"):
                acknowledge(
                    self.queue,
                    rule,
                    "This queue is a dead-letter queue: failed events stop here for inspection "
                    "and redrive; a dead-letter queue of its own would only move them again.",
                )
        self.depth_alarm: cloudwatch.Alarm | None = None
        if alerts is not None:
            self.alarm_on_depth(alerts, what=what or construct_id)

    def alarm_on_depth(self, alerts: IAlerts, *, what: str) -> cloudwatch.Alarm:
        """Alert ``alerts`` while any message waits in the queue (once per queue)."""
        if self.depth_alarm is not None:
            raise ValueError(f"dead-letter queue {self.node.path} already has its depth alarm")
        self.depth_alarm = cloudwatch.Alarm(
            self,
            "Depth",
            alarm_description=f"{what}: events failed and wait in a dead-letter queue",
            metric=self.queue.metric_approximate_number_of_messages_visible(
                period=cdk.Duration.minutes(5), statistic="Maximum"
            ),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.depth_alarm.add_alarm_action(alerts.alarm_action())
        return self.depth_alarm

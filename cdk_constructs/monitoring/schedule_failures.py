"""Failed schedule starts of the Evidently engine: a ledger record and an alert, never silence.

EventBridge Scheduler sends a start it could not make (after its retry policy, or at once for a
permanent error) to the schedules' dead-letter queue (EventBridge Scheduler user guide,
"Configuring a dead-letter queue"). Issue 13 asks that "a failed or stopped execution is an
alert and a ledger record, never silence"; a start that never happened leaves the same gap. So,
in the stack that owns the queue (the foundation does not change when models are added):

* the ``ScheduleFailures`` handler (``governance.schedule_failures``) consumes the queue through
  an SQS event source (batch size 1) and relays each message as one ``Monitoring Schedule Start
  Failed`` event on the default bus;
* the foundation's ``ScheduleFailuresToViolations`` rule (one per environment, whatever the
  models) sends those to the violations handler, which names the model and check from the
  schedule, records the gap in the ledger and alerts, as for a failed pipeline execution (a role
  of this stack could not publish to the alert topic: its key names every principal);
* a message the handler cannot relay is received again and, after ``MAX_RECEIVE_COUNT``
  receives, redriven to ``ScheduleFailuresUnrecorded``, whose depth alarm is the one that says
  a failed start was not recorded. The schedules' queue itself is drained at once, so its depth
  says nothing; its ``Undrained`` alarm fires when a message outlives every receive the redrive
  allows, i.e. when nothing is receiving it.

The handler's role consumes the queue (with ``kms:Decrypt`` on the queue's key, which is this
stack's) and puts events on the default bus, nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk_constructs.alerts import IAlerts
from cdk_constructs.compliance.acknowledgments import acknowledge
from cdk_constructs.encryption import GovernanceKey, IGovernanceKey
from cdk_constructs.handlers import (
    GovernanceFunction,
    HandlerNetwork,
)
from cdk_constructs.queues import DeadLetterQueue

HANDLER = "governance.schedule_failures.handler"
# Receives before a message the handler keeps failing on moves to the unrecorded queue.
MAX_RECEIVE_COUNT = 5
# Lambda developer guide (with-sqs, "Configuring a queue"): a source queue's visibility timeout
# of at least six times the function's timeout (60 s, GovernanceFunction).
VISIBILITY_TIMEOUT = cdk.Duration.seconds(6 * 60)
# A message still in the schedules' queue after every receive the redrive allows, plus 15
# minutes, was never received at all.
UNDRAINED_AGE = cdk.Duration.seconds(MAX_RECEIVE_COUNT * 6 * 60 + 15 * 60)


class ScheduleFailures(Construct):
    """The schedules' dead-letter queue, its relay handler and the unrecorded queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: GovernanceKey,
        alerts: IAlerts,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
        logs_key: IGovernanceKey,
        queue_id: str = "ScheduleDeadLetters",
        reserved_concurrency: int | None = None,
        powertools_layer_arn: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.unrecorded = DeadLetterQueue(
            scope,
            "ScheduleFailuresUnrecorded",
            key=key,
            alerts=alerts,
            what="Failed starts of Evidently monitoring pipelines that were not relayed to the "
            "violations handler, so neither recorded nor alerted (inspect and redrive)",
        )
        # The queue EventBridge Scheduler writes to (same id and path as before: scope's child).
        self.queue = DeadLetterQueue(
            scope,
            queue_id,
            key=key,
            redrive=sqs.DeadLetterQueue(
                max_receive_count=MAX_RECEIVE_COUNT, queue=self.unrecorded.queue
            ),
            visibility_timeout=VISIBILITY_TIMEOUT,
        ).queue
        # Its depth says nothing (the relay drains it at once), but a message older than the
        # whole redrive cycle means nothing receives it (mapping disabled, function unable to
        # start): the failed start is then neither relayed nor redriven, so alert on its age.
        self.undrained_alarm = cloudwatch.Alarm(
            self,
            "Undrained",
            alarm_description="Failed starts of Evidently monitoring pipelines wait unreceived in "
            "the schedules' dead-letter queue: the ScheduleFailures relay is not consuming it",
            metric=self.queue.metric_approximate_age_of_oldest_message(
                period=cdk.Duration.minutes(5), statistic="Maximum"
            ),
            threshold=UNDRAINED_AGE.to_seconds(),
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.undrained_alarm.add_alarm_action(alerts.alarm_action())
        self.handler = GovernanceFunction(
            self,
            "Handler",
            handler=HANDLER,
            description="Failed schedule starts: relays each to the violations handler",
            environment={"EVENT_BUS_NAME": "default"},
            network=HandlerNetwork(
                vpc=vpc,
                subnets=ec2.SubnetSelection(subnets=list(subnets)),
                security_group=security_group,
            ),
            logs_key=logs_key,
            queue_key=key,
            reserved_concurrency=reserved_concurrency,
            powertools_layer_arn=powertools_layer_arn,
        )
        self.handler.dead_letters.alarm_on_depth(alerts, what="ScheduleFailures handler")
        self.handler.function.add_event_source(
            event_sources.SqsEventSource(self.queue, batch_size=1)
        )
        (mapping,) = [
            child
            for child in self.handler.function.node.children
            if child.node.id.startswith("SqsEventSource")
        ]
        acknowledge(
            mapping,
            "Serverless-LambdaEventSourceMappingDestination",
            "An SQS event source takes no on-failure destination: botocore's lambda model "
            "documents CreateEventSourceMapping DestinationConfig for Kinesis, DynamoDB Streams, "
            "Amazon MSK and self-managed Kafka only. A message this handler keeps failing on is "
            f"redriven by the queue after {MAX_RECEIVE_COUNT} receives to "
            "ScheduleFailuresUnrecorded, whose depth alarm alerts.",
        )
        events.EventBus.from_event_bus_name(self, "DefaultBus", "default").grant_put_events_to(
            self.handler.role
        )

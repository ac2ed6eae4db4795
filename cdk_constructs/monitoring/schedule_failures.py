"""Failed schedule starts of the Evidently engine: a ledger record and an alert, never silence.

EventBridge Scheduler sends a start it could not make (after its retry policy, or at once for a
permanent error) to the schedules' dead-letter queue (EventBridge Scheduler user guide,
"Configuring a dead-letter queue"). Issue 13 asks that "a failed or stopped execution is an
alert and a ledger record, never silence"; a start that never happened leaves the same gap. So,
in the stack that owns the queue (the foundation does not change when models are added):

* the ``ScheduleFailures`` handler (``governance.schedule_failures``) consumes the queue through
  an SQS event source (batch size 1) and puts one ``MonitoringViolation`` governance event per
  message, naming the model and check from the schedule's name; the foundation's
  ``GovernanceEventsToLedger`` rule records it in the audit ledger;
* this stack's ``ScheduleFailureAlerts`` rule sends those events (matched by this queue among
  their resources) to the alert topic, which already lets this account's rules publish;
* a message the handler cannot process is received again and, after ``MAX_RECEIVE_COUNT``
  receives, redriven to ``ScheduleFailuresUnrecorded``; a failed alert delivery lands there too.
  That queue's depth alarm is the one that says something was not recorded or not alerted.

The handler's own role reads the endpoint parameters, consumes the queue (with ``kms:Decrypt``
on the queue's key, which is this stack's) and puts events on the default bus, nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk_constructs.alerts import IAlerts
from cdk_constructs.arns import format_arn
from cdk_constructs.compliance.acknowledgments import acknowledge_wildcards, nag_string
from cdk_constructs.encryption import GovernanceKey, IGovernanceKey
from cdk_constructs.handlers import (
    MAX_EVENT_AGE,
    RETRY_ATTEMPTS,
    GovernanceFunction,
    HandlerNetwork,
)
from cdk_constructs.queues import DeadLetterQueue
from governance.contracts.vocabulary import ENDPOINT_PARAMETER_PREFIX, DetailType, EventSource

HANDLER = "governance.schedule_failures.handler"
# Receives before a message the handler keeps failing on moves to the unrecorded queue.
MAX_RECEIVE_COUNT = 5
# Lambda developer guide (with-sqs, "Configuring a queue"): a source queue's visibility timeout
# of at least six times the function's timeout (60 s, GovernanceFunction).
VISIBILITY_TIMEOUT = cdk.Duration.seconds(6 * 60)
# The alert a failed start sends (EventBridge input transformer over the governance event).
ALERT_FIELDS = {
    "model": "$.detail.modelName",
    "endpoint": "$.detail.endpointName",
    "check": "$.detail.monitorType",
    "schedule": "$.detail.monitoringScheduleName",
    "reason": "$.detail.failureReason",
    "record": "$.detail.recordId",
}


class ScheduleFailures(Construct):
    """The schedules' dead-letter queue, its handler, the alert rule and the unrecorded queue."""

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
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.unrecorded = DeadLetterQueue(
            scope,
            "ScheduleFailuresUnrecorded",
            key=key,
            alerts=alerts,
            what="Failed starts of Evidently monitoring pipelines that were not recorded in the "
            "ledger or not alerted (inspect and redrive)",
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
        self.handler = GovernanceFunction(
            self,
            "Handler",
            handler=HANDLER,
            description="Failed schedule starts: records each in the ledger, alerted by a rule",
            environment={
                "ENDPOINT_PARAMETER_PREFIX": ENDPOINT_PARAMETER_PREFIX,
                "EVENT_BUS_NAME": "default",
            },
            network=HandlerNetwork(
                vpc=vpc,
                subnets=ec2.SubnetSelection(subnets=list(subnets)),
                security_group=security_group,
            ),
            logs_key=logs_key,
            queue_key=key,
        )
        self.handler.dead_letters.alarm_on_depth(alerts, what="ScheduleFailures handler")
        self.handler.function.add_event_source(
            event_sources.SqsEventSource(self.queue, batch_size=1)
        )
        role = self.handler.role
        parameters = format_arn(
            stack,
            service="ssm",
            resource="parameter",
            resource_name=f"{ENDPOINT_PARAMETER_PREFIX.lstrip('/')}*",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadEndpointParameters", actions=["ssm:GetParameter"], resources=[parameters]
            )
        )
        acknowledge_wildcards(
            role,
            resources=[nag_string(stack, parameters)],
            reason="One parameter per governed endpoint is added as models are; the pattern is "
            "limited to the endpoint prefix and read-only (GetParameter).",
        )
        events.EventBus.from_event_bus_name(self, "DefaultBus", "default").grant_put_events_to(role)
        # Alerts: the governance events this handler put for this stack's queue.
        key.grant_to_service(
            "events.amazonaws.com",
            actions=("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"),
            source_arn=format_arn(stack, service="events", resource="rule", resource_name="*"),
        )
        text = (
            "EventBridge Scheduler could not start a monitoring pipeline: there are no "
            "monitoring results for this run, and the model is unmonitored until the cause "
            "is fixed.\n\n"
            f"Model:    {events.EventField.from_path(ALERT_FIELDS['model'])}\n"
            f"Endpoint: {events.EventField.from_path(ALERT_FIELDS['endpoint'])}\n"
            f"Check:    {events.EventField.from_path(ALERT_FIELDS['check'])}\n"
            f"Schedule: {events.EventField.from_path(ALERT_FIELDS['schedule'])}\n\n"
            f"Failure reason: {events.EventField.from_path(ALERT_FIELDS['reason'])}\n\n"
            f"Ledger record: {events.EventField.from_path(ALERT_FIELDS['record'])}"
        )
        self.alert_rule = events.Rule(
            self,
            "ScheduleFailureAlerts",
            description="Failed starts of this stack's monitoring pipelines to the alert topic",
            event_pattern=events.EventPattern(
                source=[EventSource.GOVERNANCE.value],
                detail_type=[DetailType.MONITORING_VIOLATION.value],
                resources=[self.queue.queue_arn],
            ),
            targets=[
                targets.SnsTopic(
                    alerts.topic,
                    message=events.RuleTargetInput.from_text(text),
                    dead_letter_queue=self.unrecorded.queue,
                    retry_attempts=RETRY_ATTEMPTS,
                    max_event_age=MAX_EVENT_AGE,
                )
            ],
        )

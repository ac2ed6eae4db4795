"""Delivery rules (ASY1-3, LMB1): targets and handlers retry, dead-letter, and are traced."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events as events

from tests.compliance_rules import builders as b


def _rule(scope: cdk.Stack, construct_id: str, *targets: events.CfnRule.TargetProperty) -> None:
    events.CfnRule(
        scope,
        construct_id,
        event_pattern={"source": ["sagemaker.governance"]},
        targets=list(targets),
    )


@pytest.fixture(scope="module")
def findings() -> b.Findings:
    # Given
    app = cdk.App()
    stack = cdk.Stack(app, "Delivery")
    _rule(stack, "Delivered", b.target())
    _rule(stack, "NoDeadLetter", b.target(), b.target(dlq=None, index=1))
    no_retries = events.CfnRule.TargetProperty(
        arn=b.TARGET,
        id="Target0",
        dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=b.DLQ),
        retry_policy=events.CfnRule.RetryPolicyProperty(maximum_retry_attempts=0),
    )
    _rule(stack, "NoRetries", no_retries)
    # Omitting RetryPolicy keeps EventBridge's default retries
    default_retries = events.CfnRule.TargetProperty(
        arn=b.TARGET,
        id="Target0",
        dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=b.DLQ),
    )
    _rule(stack, "DefaultRetries", default_retries)

    b.subscription(stack, "Subscription")
    b.subscription(stack, "NoRedrive", dlq=None)
    b.subscription(
        stack, "NoHttpRetries", delivery_policy={"healthyRetryPolicy": {"numRetries": 0}}
    )

    # Handlers: functions an event source invokes asynchronously
    gate = b.function(stack, "Gate")
    b.invoked_by(stack, "GateFromEvents", gate, "events.amazonaws.com")
    b.invoke_config(stack, "GateAsync", gate)
    lost = b.function(stack, "Lost", dlq=None)
    b.invoked_by(stack, "LostFromSns", lost, "sns.amazonaws.com")
    to_destination = b.function(stack, "ToDestination", dlq=None)
    b.invoked_by(stack, "ToDestinationFromS3", to_destination, "s3.amazonaws.com")
    b.invoke_config(stack, "ToDestinationAsync", to_destination, on_failure=b.DLQ)
    never_retried = b.function(stack, "NeverRetried")
    b.invoked_by(stack, "NeverRetriedFromEvents", never_retried, "events.amazonaws.com")
    b.invoke_config(stack, "NeverRetriedAsync", never_retried, retries=0)
    untraced = b.function(stack, "Untraced", tracing="PassThrough")
    _rule(
        stack,
        "ToUntraced",
        events.CfnRule.TargetProperty(
            arn=untraced.attr_arn,
            id="Target0",
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=b.DLQ),
        ),
    )
    # Not invoked asynchronously by anything of the app: not a handler
    b.function(stack, "Internal", dlq=None, tracing=None)
    # When
    return b.run_pack(app)


CASES = [
    ("ASY1", "Delivery/Delivered", "Delivery/NoDeadLetter"),
    ("ASY1", "Delivery/DefaultRetries", "Delivery/NoRetries"),
    ("ASY2", "Delivery/Subscription", "Delivery/NoRedrive"),
    ("ASY2", "Delivery/Subscription", "Delivery/NoHttpRetries"),
    ("ASY3", "Delivery/Gate", "Delivery/Lost"),
    ("ASY3", "Delivery/ToDestination", "Delivery/NeverRetried"),
    ("ASY3", "Delivery/Internal", "Delivery/Lost"),
    ("LMB1", "Delivery/Gate", "Delivery/Untraced"),
    ("LMB1", "Delivery/Internal", "Delivery/Untraced"),
]


@pytest.mark.parametrize(("rule_id", "compliant", "non_compliant"), CASES)
def test_rule_flags_only_the_non_compliant_resource(
    findings: b.Findings, rule_id: str, compliant: str, non_compliant: str
) -> None:
    # Then
    assert non_compliant in b.flagged(findings, rule_id)
    assert compliant not in b.flagged(findings, rule_id) | b.undecided(findings, rule_id)


def test_no_undecidable_findings_for_literal_values(findings: b.Findings) -> None:
    assert [rule for rule in findings if rule.endswith("[Undecidable]")] == []

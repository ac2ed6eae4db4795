"""Rules for asynchronous delivery: nothing a target or handler receives is dropped silently.

AWS's documented defaults (cited per rule) already retry; what loses events is a retry policy
turned off or, once retries are exhausted, no dead-letter queue to land in. Handlers (functions
that an event source of the app invokes asynchronously, see :mod:`.wiring`) are also traced.
"""

from __future__ import annotations

from typing import Any

from cdk_constructs.compliance.rules.framework import (
    UNRESOLVED,
    AppIndex,
    GovernanceRule,
    Ref,
    Resource,
    Verdict,
    as_list,
    combine,
    configured,
    dig,
    is_unresolved,
    per_resource,
    verdict_of,
)
from cdk_constructs.compliance.rules.wiring import (
    EVENT_INVOKE_CONFIG,
    EVENTS_RULE,
    LAMBDA_FUNCTION,
    SNS_SUBSCRIPTION,
    async_handlers,
    invoke_configs,
    json_mapping,
)


def _retries_kept(value: Any) -> Verdict:
    """A retry count left to its default, or set to at least one retry."""
    if value is None:
        return Verdict.COMPLIANT
    if isinstance(value, int) and not isinstance(value, bool):
        return verdict_of(value >= 1)
    return Verdict.UNDECIDABLE


def rule_targets_retry_and_dead_letter(rule: Resource) -> Verdict:
    """Every target has DeadLetterConfig.Arn, and RetryPolicy.MaximumRetryAttempts, if set, is
    at least 1 (EventBridge retries for 24 hours, up to 185 times, when RetryPolicy is absent)."""
    targets = rule.get("Targets")
    if is_unresolved(targets):
        return Verdict.UNDECIDABLE
    verdicts = []
    for target in as_list(targets):
        if is_unresolved(target):
            verdicts.append(Verdict.UNDECIDABLE)
            continue
        verdicts.append(verdict_of(configured(dig(target, "DeadLetterConfig", "Arn"))))
        verdicts.append(_retries_kept(dig(target, "RetryPolicy", "MaximumRetryAttempts")))
    return combine(verdicts)  # a rule without targets delivers nothing: not applicable


def subscription_dead_letters(subscription: Resource) -> Verdict:
    """RedrivePolicy.deadLetterTargetArn is set, and DeliveryPolicy (HTTP/S endpoints) does not
    set healthyRetryPolicy.numRetries to 0 (SNS retries every protocol by default)."""
    redrive = subscription.get("RedrivePolicy")
    if redrive is None:
        return Verdict.NON_COMPLIANT
    policy = json_mapping(redrive)
    if policy is None:
        return Verdict.UNDECIDABLE
    verdicts = [verdict_of(configured(policy.get("deadLetterTargetArn")))]
    delivery = subscription.get("DeliveryPolicy")
    if delivery is not None:
        readable = json_mapping(delivery)
        retries = dig(readable, "healthyRetryPolicy", "numRetries") if readable else None
        verdicts.append(_retries_kept(retries) if readable else Verdict.UNDECIDABLE)
    return combine(verdicts)


def _handler_verdict(function: Resource, index: AppIndex) -> Verdict | None:
    """``None`` when the function is an asynchronously invoked handler, else the verdict."""
    return None if function.path in async_handlers(index).found else Verdict.NOT_APPLICABLE


def handler_dead_letters(function: Resource, index: AppIndex) -> Verdict:
    """An asynchronously invoked function has DeadLetterConfig.TargetArn or an EventInvokeConfig
    with DestinationConfig.OnFailure.Destination, and no EventInvokeConfig sets
    MaximumRetryAttempts to 0 (Lambda retries a failed asynchronous invocation twice by
    default)."""
    not_handler = _handler_verdict(function, index)
    if not_handler is not None:
        return not_handler
    configs = invoke_configs(function, index)
    destinations = [
        configured(config.get("DestinationConfig", "OnFailure", "Destination"))
        for config in configs
    ]
    dead_letter = configured(function.get("DeadLetterConfig", "TargetArn"))
    if dead_letter is True or True in destinations:
        lands = Verdict.COMPLIANT
    elif dead_letter is None or None in destinations:
        lands = Verdict.UNDECIDABLE
    else:
        lands = Verdict.NON_COMPLIANT
    return combine(
        [lands, *(_retries_kept(config.get("MaximumRetryAttempts")) for config in configs)]
    )


def handler_traced(function: Resource, index: AppIndex) -> Verdict:
    """An asynchronously invoked function has TracingConfig.Mode Active."""
    not_handler = _handler_verdict(function, index)
    if not_handler is not None:
        return not_handler
    mode = function.get("TracingConfig", "Mode")
    if is_unresolved(mode):
        return Verdict.UNDECIDABLE
    return verdict_of(mode == "Active")


SQS_QUEUE = "AWS::SQS::Queue"
ALARM = "AWS::CloudWatch::Alarm"
SQS_NAMESPACE = "AWS/SQS"
# Messages waiting in a queue (SQS developer guide, "Available CloudWatch metrics for Amazon
# SQS"): the depth of a dead-letter queue.
DEPTH_METRICS = frozenset({"ApproximateNumberOfMessagesVisible"})


def _dead_letter_targets(index: AppIndex) -> frozenset[str]:
    """Paths of the queues something of the app dead-letters into by reference."""

    def build(built: AppIndex) -> frozenset[str]:
        values: list[Any] = []
        for rule in built.of_type(EVENTS_RULE):
            targets = rule.get("Targets")
            values.extend(dig(t, "DeadLetterConfig", "Arn") for t in as_list(targets))
        for function in built.of_type(LAMBDA_FUNCTION):
            values.append(function.get("DeadLetterConfig", "TargetArn"))
        for config in built.of_type(EVENT_INVOKE_CONFIG):
            values.append(config.get("DestinationConfig", "OnFailure", "Destination"))
        for carrier in (*built.of_type(SNS_SUBSCRIPTION), *built.of_type(SQS_QUEUE)):
            redrive = carrier.get("RedrivePolicy")
            if redrive is not None:
                policy = json_mapping(redrive)
                values.append(policy.get("deadLetterTargetArn") if policy else UNRESOLVED)
        found = {target.path for target in map(built.resolve, values) if target is not None}
        return frozenset(path for path in found if built[path].type == SQS_QUEUE)

    return index.derived("delivery:dead-letter-targets", build)


def _watched_queues(alarm: Resource) -> list[str]:
    """Paths of the queues whose depth ``alarm`` watches with actions (dimension QueueName by
    reference to the queue)."""
    if alarm.get("Namespace") != SQS_NAMESPACE or alarm.get("MetricName") not in DEPTH_METRICS:
        return []
    if not configured(alarm.get("AlarmActions")):
        return []
    watched = []
    for dimension in as_list(alarm.get("Dimensions")):
        value = dig(dimension, "Value")
        if (
            dig(dimension, "Name") == "QueueName"
            and isinstance(value, Ref)
            and value.attribute == "QueueName"
        ):
            watched.append(value.target_path)
    return watched


def _depth_alarms(index: AppIndex) -> dict[str, list[Resource]]:
    """Per queue path, the alarms that watch its depth: one pass over the app's alarms, instead
    of one per dead-letter queue (thousands of alarms at a few hundred models)."""

    def build(built: AppIndex) -> dict[str, list[Resource]]:
        by_queue: dict[str, list[Resource]] = {}
        for alarm in built.of_type(ALARM):
            for path in dict.fromkeys(_watched_queues(alarm)):
                by_queue.setdefault(path, []).append(alarm)
        return by_queue

    return index.derived("delivery:depth-alarms", build)


def dead_letter_queue_watched(queue: Resource, index: AppIndex) -> Verdict:
    """A queue that an event rule target, a function, an invoke configuration, a subscription
    or another queue dead-letters into has a CloudWatch alarm with actions on its depth
    (AWS/SQS ApproximateNumberOfMessagesVisible, dimension QueueName of this queue)."""
    if queue.path not in _dead_letter_targets(index):
        return Verdict.NOT_APPLICABLE
    watched = any(
        alarm.environment.overlaps(queue.environment)
        for alarm in _depth_alarms(index).get(queue.path, ())
    )
    return Verdict.COMPLIANT if watched else Verdict.NON_COMPLIANT


_NOTHING_LOST = ("AU-5", "SI-4", "SI-11")

RULES = (
    GovernanceRule(
        rule_id="ASY1",
        resource_types=(EVENTS_RULE,),
        title="Event rule targets retry and dead-letter",
        info="An EventBridge rule has a target without DeadLetterConfig.Arn, or with "
        "RetryPolicy.MaximumRetryAttempts set to 0.",
        explanation="EventBridge drops an event once a target's retries are exhausted "
        "(24 hours and 185 attempts by default) unless the target has a dead-letter queue; "
        "governance events (approvals, verdicts, monitoring results, alerts) must land "
        "somewhere a person is told about.",
        undecidable="Targets, a dead-letter queue or a retry count is known only at deploy time.",
        nist_800_53=_NOTHING_LOST,
        eu_ai_act="Art. 12 (record-keeping)",
        check=per_resource(rule_targets_retry_and_dead_letter),
    ),
    GovernanceRule(
        rule_id="ASY2",
        resource_types=(SNS_SUBSCRIPTION,),
        title="Notification subscriptions dead-letter",
        info="The SNS subscription has no RedrivePolicy with a deadLetterTargetArn, or its "
        "DeliveryPolicy sets healthyRetryPolicy.numRetries to 0.",
        explanation="SNS retries every delivery, then discards the message unless the "
        "subscription has a dead-letter queue: an alert nobody received must be visible.",
        undecidable="RedrivePolicy or DeliveryPolicy is known only at deploy time.",
        nist_800_53=_NOTHING_LOST,
        check=per_resource(subscription_dead_letters),
    ),
    GovernanceRule(
        rule_id="ASY3",
        resource_types=(LAMBDA_FUNCTION,),
        title="Handlers dead-letter failed asynchronous invocations",
        info="A function invoked asynchronously by the app (EventBridge target, SNS "
        "subscription, S3 notification or an events/sns/s3 invoke permission) has neither "
        "DeadLetterConfig.TargetArn nor an EventInvokeConfig OnFailure destination, or an "
        "EventInvokeConfig sets MaximumRetryAttempts to 0.",
        explanation="Lambda retries a failed asynchronous invocation twice and then discards "
        "the event; a gate, ledger or violation event lost that way leaves an approval "
        "unchecked or a record missing without anyone knowing.",
        undecidable="The dead-letter target, a destination or a retry count is known only "
        "at deploy time.",
        nist_800_53=_NOTHING_LOST,
        sr_11_7="VI (approval controls, audit)",
        eu_ai_act="Art. 12 (record-keeping)",
        check=handler_dead_letters,
    ),
    GovernanceRule(
        rule_id="LMB1",
        resource_types=(LAMBDA_FUNCTION,),
        title="Handlers are traced",
        info="A function invoked asynchronously by the app does not set TracingConfig.Mode "
        "to Active.",
        explanation="X-Ray traces show, per event, what the gate, ledger or violations "
        "handler called and where it failed: the evidence for an investigation of a "
        "missing approval check or record. (Serverless-LambdaTracing is a warning and does "
        "not fail the gate.)",
        undecidable="TracingConfig.Mode is known only at deploy time.",
        nist_800_53=("AU-12", "SI-4"),
        check=handler_traced,
    ),
    GovernanceRule(
        rule_id="ASY4",
        resource_types=(SQS_QUEUE,),
        title="Dead-letter queues are watched",
        info="A queue the app dead-letters into (event rule targets, functions, invoke "
        "configurations, subscriptions, queues) has no CloudWatch alarm with actions on its "
        "ApproximateNumberOfMessagesVisible.",
        explanation="A dead-letter queue keeps what failed, but nobody looks at a queue: an "
        "approval event, ledger record or alert that lands there must raise an alarm, or it "
        "is dropped silently after the queue's retention.",
        undecidable="Never: a queue no literal reference names is not judged.",
        nist_800_53=_NOTHING_LOST,
        sr_11_7="VI (ongoing monitoring)",
        eu_ai_act="Art. 12 (record-keeping)",
        check=dead_letter_queue_watched,
    ),
)

"""The governance alert topic: encrypted, TLS-only, e-mail subscribed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from cdk_constructs.arns import format_arn
from cdk_constructs.encryption import GovernanceKey
from cdk_constructs.queues import DeadLetterQueue

_PUBLISH_KEY_USE = ("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey")


class IAlerts(Protocol):
    """Where alarms and rules send governance alerts."""

    @property
    def topic(self) -> sns.ITopic: ...

    def alarm_action(self) -> cloudwatch.IAlarmAction: ...


def publishing_services(stack: Stack) -> dict[str, str]:
    """Services that publish to the topic directly, and the ARN pattern of what they publish
    for (``aws:SourceArn``): CloudWatch alarms of this account/region.

    The pattern cannot name the alarms themselves: they live in the models stacks, and naming
    them here would make the foundation change with every model. No EventBridge rule targets
    the topic (failed monitoring and batch runs reach it through the violations handler, which
    also writes their ledger record), so EventBridge is not granted publish.
    """
    return {
        "cloudwatch.amazonaws.com": format_arn(
            stack,
            service="cloudwatch",
            resource="alarm",
            resource_name="*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        ),
    }


class GovernanceAlerts(Construct):
    """An SNS topic for governance alerts, encrypted with ``key``, TLS-only, with e-mails.

    The topic policy and the key policy let CloudWatch alarms of this account publish, bounded
    by ``aws:SourceAccount`` and ``aws:SourceArn`` (confused-deputy protection); SNS may use the
    key to redrive undeliverable messages of this topic only.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: GovernanceKey,
        emails: Sequence[str],
        display_name: str = "Model governance alerts",
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.key = key
        self._topic = sns.Topic(
            self,
            "Resource",
            display_name=display_name,
            master_key=key.key,
            enforce_ssl=True,
        )
        for service, source_arn in publishing_services(stack).items():
            key.grant_to_service(service, actions=_PUBLISH_KEY_USE, source_arn=source_arn)
            self._grant_service_publish(service, source_arn=source_arn)
        # SNS encrypts undeliverable messages into the dead-letter queue with this key. The
        # pattern (this account's topics) avoids a cycle: the topic itself uses the key.
        key.grant_to_service(
            "sns.amazonaws.com",
            source_arn=format_arn(stack, service="sns", resource="*"),
        )
        # Undeliverable alerts are kept, not dropped: every subscription redrives here.
        self.undelivered = DeadLetterQueue(self, "Undelivered", key=key)
        for email in emails:
            self._topic.add_subscription(
                subscriptions.EmailSubscription(email, dead_letter_queue=self.undelivered.queue)
            )
        # An alert waiting there is one a subscriber did not get (a bounced or unconfirmed
        # address): the depth alarm goes to the same topic, which still reaches every other
        # subscriber; with a single subscriber it is one more message that may not arrive, and
        # the queue keeps both for 14 days. Rule ASY4: every dead-letter queue is watched.
        self.undelivered.alarm_on_depth(
            self, what="Governance alerts undeliverable to a subscriber"
        )

    @property
    def topic(self) -> sns.Topic:
        return self._topic

    @property
    def topic_arn(self) -> str:
        return self._topic.topic_arn

    def _grant(self, grantee: iam.IGrantable, actions: Sequence[str]) -> iam.Grant:
        """Every grant on the topic, the way aws-cdk-lib's ``Topic.grant_publish`` makes it: in
        the grantee's own policy, or in the topic policy for a principal of another account."""
        return iam.Grant.add_to_principal_or_resource(
            grantee=grantee,
            actions=list(actions),
            resource_arns=[self._topic.topic_arn],
            resource=self._topic,
        )

    def _grant_service_publish(self, service: str, *, source_arn: str) -> iam.Grant:
        """Publish for an AWS service on this account's behalf only: a service principal has no
        policy of its own, so ``_grant`` writes the topic policy (as ``Topic.grant_publish``
        does for a ``ServicePrincipal``), bounded by ``aws:SourceAccount`` and
        ``aws:SourceArn`` (IAM user guide, "The confused deputy problem")."""
        stack = Stack.of(self)
        grant = self._grant(
            iam.ServicePrincipal(service).with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": source_arn},
                }
            ),
            ["sns:Publish"],
        )
        # The statement id names the service in the topic policy.
        for statement in grant.resource_statements:
            statement.sid = f"PublishFrom{service.split('.', maxsplit=1)[0].title()}"
        return grant

    def grant_publish(self, grantee: iam.IGrantable) -> iam.Grant:
        """Publish to the topic; the key grant names the publisher in the key policy."""
        # Not Topic.grant_publish: it also grants kms:GenerateDataKey* on the key, where the
        # key's own grant_encrypt is exact.
        return self.key.grant_encrypt(grantee).combine(self._grant(grantee, ["sns:Publish"]))

    def alarm_action(self) -> cloudwatch.IAlarmAction:
        return cloudwatch_actions.SnsAction(self._topic)


class AlertsReference(Construct):
    """The foundation's alert topic as another stack sees it.

    Its policies stay in the foundation: a rule or alarm here that targets the topic adds
    nothing to them (the foundation already lets this account's alarms and rules publish).
    """

    def __init__(self, scope: Construct, construct_id: str, *, topic_arn: str) -> None:
        super().__init__(scope, construct_id)
        self._topic = sns.Topic.from_topic_arn(self, "Topic", topic_arn)

    @property
    def topic(self) -> sns.ITopic:
        return self._topic

    def alarm_action(self) -> cloudwatch.IAlarmAction:
        return cloudwatch_actions.SnsAction(self._topic)

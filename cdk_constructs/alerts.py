"""The governance alert topic: encrypted, TLS-only, e-mail subscribed."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from cdk_constructs.encryption import GovernanceKey
from cdk_constructs.queues import dead_letter_queue

# Services that publish governance alerts directly (alarms, event rules) need the topic's key.
PUBLISHING_SERVICES = ("cloudwatch.amazonaws.com", "events.amazonaws.com")


class GovernanceAlerts(Construct):
    """An SNS topic for governance alerts, encrypted with ``key``, TLS-only, with e-mails."""

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
        self.key = key
        self.topic = sns.Topic(
            self,
            "Resource",
            display_name=display_name,
            master_key=key.key,
            enforce_ssl=True,
        )
        for service in PUBLISHING_SERVICES:
            key.grant_to_service(
                service, actions=("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey")
            )
        key.grant_to_service("sns.amazonaws.com")
        # Undeliverable alerts are kept, not dropped: every subscription redrives here.
        self.undelivered = dead_letter_queue(self, "Undelivered", key=key)
        for email in emails:
            self.topic.add_subscription(
                subscriptions.EmailSubscription(email, dead_letter_queue=self.undelivered)
            )

    @property
    def topic_arn(self) -> str:
        return self.topic.topic_arn

    def grant_publish(self, grantee: iam.IGrantable) -> iam.Grant:
        """Publish to the topic; the key grant names the publisher in the key policy."""
        self.key.grant_encrypt(grantee)
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["sns:Publish"], resource_arns=[self.topic.topic_arn]
        )

    def alarm_action(self) -> cloudwatch.IAlarmAction:
        return cloudwatch_actions.SnsAction(self.topic)

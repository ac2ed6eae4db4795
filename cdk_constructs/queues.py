"""Dead-letter queues: where failed events and undeliverable messages wait for inspection."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk_constructs.compliance.acknowledgments import acknowledge
from cdk_constructs.encryption import IGovernanceKey


def dead_letter_queue(scope: Construct, construct_id: str, *, key: IGovernanceKey) -> sqs.Queue:
    """A KMS-encrypted, TLS-only queue that keeps failed events for the maximum 14 days."""
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key.key,
        enforce_ssl=True,
        retention_period=cdk.Duration.days(14),
    )
    for rule in ("AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"):
        acknowledge(
            queue,
            rule,
            "This queue is a dead-letter queue: failed events stop here for inspection and "
            "redrive; a dead-letter queue of its own would only move them again.",
        )
    return queue

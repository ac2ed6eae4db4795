"""CloudTrail for management events: who changed which group, version or policy, and when."""

from __future__ import annotations

from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_constructs import defaults
from cdk_constructs.compliance.acknowledgments import acknowledge_in_frameworks
from cdk_constructs.encryption import GovernanceKey
from cdk_constructs.storage import GovernedBucket


class GovernanceTrail(Construct):
    """A multi-region management-event trail with log-file validation.

    Files go to ``bucket`` under ``cloudtrail/`` encrypted with ``key``; events are also sent to
    a KMS-encrypted CloudWatch log group for search and alarms.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: GovernedBucket,
        key: GovernanceKey,
        logs_key: GovernanceKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            encryption_key=logs_key.key,
            retention=defaults.LOG_RETENTION,
            removal_policy=defaults.REMOVAL_POLICY,
        )
        key.grant_to_service(
            "cloudtrail.amazonaws.com",
            actions=("kms:GenerateDataKey", "kms:DescribeKey"),
        )
        self.trail = cloudtrail.Trail(
            self,
            "Resource",
            bucket=bucket.bucket,
            s3_key_prefix="cloudtrail",
            encryption_key=key.key,
            enable_file_validation=True,
            include_global_service_events=True,
            is_multi_region_trail=True,
            management_events=cloudtrail.ReadWriteType.ALL,
            send_to_cloud_watch_logs=True,
            cloud_watch_log_group=self.log_group,
        )
        acknowledge_in_frameworks(
            self.trail,
            "IAMNoInlinePolicy",
            "CDK's Trail construct creates the CloudWatch Logs delivery role itself; its one "
            "inline statement allows CreateLogStream/PutLogEvents on this trail's log group only.",
        )

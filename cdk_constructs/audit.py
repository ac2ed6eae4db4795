"""CloudTrail for management events: who changed which group, version or policy, and when."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_constructs import defaults
from cdk_constructs.arns import format_arn
from cdk_constructs.encryption import GovernanceKey
from cdk_constructs.roles import ManagedPolicyRole
from cdk_constructs.storage import GovernedBucket

S3_KEY_PREFIX = "cloudtrail"


class GovernanceTrail(Construct):
    """A multi-region management-event trail with log-file validation.

    Files go to ``bucket`` under ``cloudtrail/`` encrypted with ``key``; events are also sent to
    a KMS-encrypted CloudWatch log group for search and alarms. The trail is named
    (``trail_name``) so that the bucket policy, the key policy and the log-delivery role's
    trust policy can all require ``aws:SourceArn`` = this trail (the CloudTrail user guide's
    confused-deputy guidance); a generated name would make the trail depend on its own
    bucket policy.

    The trail is written at the CloudFormation level because the L2 ``Trail`` adds the bucket
    statements and the log role itself, without ``aws:SourceArn`` and with an inline policy.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: GovernedBucket,
        key: GovernanceKey,
        logs_key: GovernanceKey,
        trail_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.trail_arn = format_arn(
            stack, service="cloudtrail", resource="trail", resource_name=trail_name
        )
        this_trail = {
            "StringEquals": {"aws:SourceArn": self.trail_arn, "aws:SourceAccount": stack.account}
        }
        principal = iam.ServicePrincipal("cloudtrail.amazonaws.com")

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
            source_arn=self.trail_arn,
        )
        acl_check = bucket.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudTrailAclCheck",
                principals=[principal],
                actions=["s3:GetBucketAcl"],
                resources=[bucket.bucket_arn],
                conditions=this_trail,
            )
        )
        bucket.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudTrailWrite",
                principals=[principal],
                actions=["s3:PutObject"],
                resources=[
                    bucket.bucket.arn_for_objects(f"{S3_KEY_PREFIX}/AWSLogs/{stack.account}/*")
                ],
                conditions={
                    "StringEquals": {
                        **this_trail["StringEquals"],
                        "s3:x-amz-acl": "bucket-owner-full-control",
                    }
                },
            )
        )
        self.logs_role = ManagedPolicyRole(
            self,
            "LogsRole",
            assumed_by=principal.with_conditions(this_trail),
            description="Delivers the governance trail's events to its CloudWatch log group",
        )
        self.logs_role.add_to_policy(
            iam.PolicyStatement(
                sid="DeliverTrailEvents",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        self.trail = cloudtrail.CfnTrail(
            self,
            "Resource",
            trail_name=trail_name,
            is_logging=True,
            s3_bucket_name=bucket.bucket_name,
            s3_key_prefix=S3_KEY_PREFIX,
            kms_key_id=key.key_arn,
            enable_log_file_validation=True,
            include_global_service_events=True,
            is_multi_region_trail=True,
            event_selectors=[
                cloudtrail.CfnTrail.EventSelectorProperty(
                    include_management_events=True, read_write_type="All"
                )
            ],
            cloud_watch_logs_log_group_arn=self.log_group.log_group_arn,
            cloud_watch_logs_role_arn=self.logs_role.role_arn,
        )
        # CloudTrail checks the bucket policy and the role when the trail is created.
        if acl_check.policy_dependable is not None:
            self.trail.node.add_dependency(acl_check.policy_dependable)
        self.trail.node.add_dependency(self.logs_role)
        grants = self.logs_role.grants_policy
        if grants is not None:
            self.trail.node.add_dependency(grants)

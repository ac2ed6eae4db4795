"""Secure defaults in one place, so a reviewer reads them once.

Constructs take these as their defaults; a prop overrides one only where the caller says so.
"""

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3

# Stateful resources outlive the stack: governance evidence must survive a `cdk destroy`.
REMOVAL_POLICY = RemovalPolicy.RETAIN

# KMS: yearly automatic rotation; deletion waits the maximum window so a mistake can be undone.
KEY_ROTATION = True
KEY_PENDING_WINDOW = Duration.days(30)
# Key administrators may manage but never use a key; use is granted per principal. Not
# "kms:Create*" (AWS's default key-administrator statement): on a key it also means
# kms:CreateGrant, and a grant lets its grantee use the key (Service Authorization Reference,
# AWS KMS: the key-level Create* actions are CreateAlias and CreateGrant). Grants CloudFormation
# needs are given to the deploying role by name, through the calling service (DeployerVia*).
KEY_ADMIN_ACTIONS = (
    "kms:CreateAlias",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
)

# S3: private, TLS-only, versioned, owner-enforced.
BLOCK_PUBLIC_ACCESS = s3.BlockPublicAccess.BLOCK_ALL
ENFORCE_SSL = True
MINIMUM_TLS_VERSION = 1.2
OBJECT_OWNERSHIP = s3.ObjectOwnership.BUCKET_OWNER_ENFORCED
NONCURRENT_VERSION_EXPIRATION = Duration.days(365)
ABORT_INCOMPLETE_UPLOAD = Duration.days(7)
INFREQUENT_ACCESS_AFTER = Duration.days(90)
ACCESS_LOG_EXPIRATION = Duration.days(400)

# Logs: kept a year by default (audit records themselves live in the Object-Lock bucket).
LOG_RETENTION = logs.RetentionDays.ONE_YEAR

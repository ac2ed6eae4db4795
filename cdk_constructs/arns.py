"""ARNs the CDK way: ``Stack.format_arn``, with the partition left to CloudFormation.

``Stack.format_arn`` fills in the stack's region and account; its partition is the literal one
the region belongs to when the region is known. The governance templates keep the
``AWS::Partition`` pseudo parameter instead, so a template names no partition it does not have
to (the same template text for a region of any partition).
"""

from __future__ import annotations

from functools import cache

from aws_cdk import ArnFormat, Aws, Stack
from constructs import IConstruct


@cache
def partition() -> str:
    """``Aws.PARTITION``: one static token of aws-cdk-lib, read from the jsii runtime once per
    process instead of once per ARN."""
    return Aws.PARTITION


def format_arn(
    scope: IConstruct,
    *,
    service: str,
    resource: str,
    resource_name: str | None = None,
    region: str | None = None,
    account: str | None = None,
    arn_format: ArnFormat | None = None,
) -> str:
    """``arn:${AWS::Partition}:<service>:<region>:<account>:<resource>[/<resource_name>]``.

    ``region`` and ``account`` default to the stack's; ``""`` leaves them out (S3, IAM).
    """
    return Stack.of(scope).format_arn(
        partition=partition(),
        service=service,
        resource=resource,
        resource_name=resource_name,
        region=region,
        account=account,
        arn_format=arn_format,
    )


def log_group_arn(scope: IConstruct, name: str) -> str:
    """``arn:${AWS::Partition}:logs:<region>:<account>:log-group:<name>`` in ``scope``'s stack;
    ``name`` may end in ``*`` to match the log groups under a prefix."""
    return format_arn(
        scope,
        service="logs",
        resource="log-group",
        resource_name=name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )

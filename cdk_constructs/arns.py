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

from cdk_constructs.identifiers import stack_environment


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

    The string ``Stack.format_arn`` returns (aws-cdk-lib ``Arn.format``: the components joined,
    ``/`` or ``:`` before the resource name as ``arn_format`` says, a leading ``/`` for
    ``SLASH_RESOURCE_SLASH_RESOURCE_NAME``), joined here: the stack's region and account are
    read once per stack (``stack_environment``) and a stack passed as ``scope`` is not looked
    up, so an ARN costs no round trip to the jsii runtime.
    """
    stack = scope if isinstance(scope, Stack) else Stack.of(scope)
    environment = stack_environment(stack)
    separator = ":" if arn_format == ArnFormat.COLON_RESOURCE_NAME else "/"
    leading = "/" if arn_format == ArnFormat.SLASH_RESOURCE_SLASH_RESOURCE_NAME else ""
    arn = (
        f"arn:{partition()}:{service}:"
        f"{environment.region if region is None else region}:"
        f"{environment.account if account is None else account}:{leading}{resource}"
    )
    return arn if resource_name is None else f"{arn}{separator}{resource_name}"


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

"""What the app declares in its templates for the Governance rules to compare against.

The audit retention the organisation requires comes from the config (``governance`` section:
``audit_retention_days``, ``audit_object_lock_mode``). It is written once per stack that holds
audit evidence, in the template's ``Metadata``, so rule AUD1 compares each audit bucket with the
policy instead of with itself: turning Object Lock off or shortening a bucket's retention is a
finding, and changing the policy is a visible config change.

Which roles are read-only (the auditor) is declared the same way, so rule SOD3 can hold them to
it: a write permission added to a declared role is a finding.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CfnElement, Stack
from aws_cdk import aws_iam as iam

from cdk_constructs.compliance.rules.audit import (
    LOCK_MODE,
    LOCK_MODE_STRENGTH,
    POLICY_METADATA,
    RETENTION_DAYS,
)
from cdk_constructs.compliance.rules.duties import READ_ONLY_METADATA


def declare_audit_policy(stack: Stack, *, retention_days: int, object_lock_mode: str) -> None:
    """Record the minimum Object Lock retention of audit evidence in ``stack``'s template.

    :param retention_days: the minimum default retention, in days (at least 1).
    :param object_lock_mode: ``COMPLIANCE`` or ``GOVERNANCE``: the weakest mode allowed.
    """
    whole = isinstance(retention_days, int) and not isinstance(retention_days, bool)
    if not whole or retention_days < 1:
        raise ValueError(
            f"audit retention must be a whole number of days, at least 1 (got {retention_days!r})"
        )
    if object_lock_mode not in LOCK_MODE_STRENGTH:
        allowed = " or ".join(sorted(LOCK_MODE_STRENGTH))
        raise ValueError(f"Object Lock mode must be {allowed} (got {object_lock_mode!r})")
    stack.add_metadata(
        POLICY_METADATA, {RETENTION_DAYS: retention_days, LOCK_MODE: object_lock_mode}
    )


def declare_read_only_roles(stack: Stack, roles: Sequence[iam.IRole]) -> None:
    """Record in ``stack``'s template that ``roles`` are read-only (rule SOD3 holds them to it).

    The roles must be roles this stack creates (``iam.Role``), named by their logical ids.
    """
    logical_ids = []
    for role in roles:
        cfn = role.node.default_child
        if not isinstance(cfn, CfnElement) or Stack.of(cfn) is not stack:
            raise ValueError(
                f"{role.node.path} is not a role created in {stack.node.path}: only a role "
                "the stack creates can be declared read-only there"
            )
        logical_ids.append(stack.get_logical_id(cfn))
    stack.add_metadata(READ_ONLY_METADATA, logical_ids)

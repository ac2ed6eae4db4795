"""What the app declares in its templates for the Governance rules to compare against.

The audit retention the organisation requires comes from the config (``governance`` section:
``audit_retention_days``, ``audit_object_lock_mode``). It is written once per stack that holds
audit evidence, in the template's ``Metadata``, so rule AUD1 compares each audit bucket with the
policy instead of with itself: turning Object Lock off or shortening a bucket's retention is a
finding, and changing the policy is a visible config change.
"""

from __future__ import annotations

from aws_cdk import Stack

from cdk_constructs.compliance.rules.audit import (
    LOCK_MODE,
    LOCK_MODE_STRENGTH,
    POLICY_METADATA,
    RETENTION_DAYS,
)


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

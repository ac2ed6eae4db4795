"""Which partition a region belongs to, and the pseudo parameters that follow from it.

One definition for the config model, the offline IAM evaluator, the limits check and the
report. The table is botocore's own (``endpoints.json``: each partition's ``regionRegex`` and
``dnsSuffix``, the values ``AWS::Partition`` and ``AWS::URLSuffix`` take there).
"""

from __future__ import annotations

from functools import cache

import botocore.session
from botocore.exceptions import UnknownRegionError

DEFAULT_PARTITION = "aws"


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def partition_of(region: str | None) -> str:
    """``AWS::Partition`` in ``region``; ``aws`` for an unknown or unset region."""
    if not region:
        return DEFAULT_PARTITION
    try:
        return str(_session().get_partition_for_region(region))
    except UnknownRegionError:
        return DEFAULT_PARTITION


@cache
def url_suffix_of(region: str | None) -> str:
    """``AWS::URLSuffix`` in ``region`` (the partition's DNS suffix)."""
    resolver = _session()._get_internal_component("endpoint_resolver")
    return str(resolver.get_partition_dns_suffix(partition_of(region)))


def pseudo_parameters(account: str | None, region: str | None) -> dict[str, str]:
    """The pseudo parameters a stack deployed to ``account``/``region`` resolves."""
    values = {"AWS::Partition": partition_of(region), "AWS::URLSuffix": url_suffix_of(region)}
    if region:
        values["AWS::Region"] = region
    if account:
        values["AWS::AccountId"] = account
    return values

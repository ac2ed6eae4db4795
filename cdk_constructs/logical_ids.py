"""The logical id aws-cdk-lib gives a CloudFormation element, computed in Python.

``Stack.allocateLogicalId`` names an element after the ids of its construct path below the
stack (``makeUniqueId``, aws-cdk-lib ``core/lib/private/uniqueid.ts``): the components without
``Default``; a lone component is used as it is (non-alphanumerics removed); otherwise the
components with consecutive duplicates and ``Resource`` left out, non-alphanumerics removed,
joined and cut to 240 characters, followed by the first 8 hex digits, upper case, of the MD5 of
the components joined with ``/``. ``tests/app/test_included.py`` compares this with
aws-cdk-lib's own ids for the paths the app uses and for the edge cases.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

HIDDEN_ID = "Default"
HIDDEN_FROM_HUMAN_ID = "Resource"
HASH_LEN = 8
MAX_HUMAN_LEN = 240
MAX_ID_LEN = 255
_NON_ALPHANUMERIC = re.compile(r"[^A-Za-z0-9]")


def make_unique_id(components: Sequence[str]) -> str:
    """The logical id of the element at ``components`` (construct ids below its stack)."""
    kept = [c for c in components if c != HIDDEN_ID]
    if not kept:
        raise ValueError("a logical id needs at least one path component other than 'Default'")
    unresolved = [c for c in kept if "${Token[" in c]
    if unresolved:
        raise ValueError(f"path components may not be tokens: {', '.join(unresolved)}")
    if len(kept) == 1:
        candidate = _NON_ALPHANUMERIC.sub("", kept[0])
        if len(candidate) <= MAX_ID_LEN:
            return candidate
    digest = hashlib.md5("/".join(kept).encode("utf-8"), usedforsecurity=False).hexdigest()
    human = "".join(
        _NON_ALPHANUMERIC.sub("", c) for c in _without_dupes(kept) if c != HIDDEN_FROM_HUMAN_ID
    )
    return human[:MAX_HUMAN_LEN] + digest[:HASH_LEN].upper()


def _without_dupes(components: Sequence[str]) -> list[str]:
    """Leaves out a component the kept one before it ends with (``Alarms/Alarms`` -> ``Alarms``,
    ``QueueDepth/Depth`` -> ``QueueDepth``), as aws-cdk-lib's ``removeDupes``."""
    kept: list[str] = []
    for component in components:
        if not kept or not kept[-1].endswith(component):
            kept.append(component)
    return kept

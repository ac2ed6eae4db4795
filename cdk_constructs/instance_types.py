"""Facts about SageMaker instance types that both the constructs and the rule pack use."""

from __future__ import annotations

import re

# Instance families with local NVMe storage: SageMaker encrypts it in hardware and rejects a KMS
# key for it. Families whose name has a "d" after the generation (m5d, g4dn, p4de, r6id...) and
# these, which carry instance storage without saying so in the name.
_LOCAL_STORAGE_FAMILIES = frozenset({"g5", "g6", "g6e", "p5", "p5e", "p5en", "trn1", "trn1n"})
_LOCAL_STORAGE_NAME = re.compile(r"[a-z]+\d+[a-z]*d[a-z]*")


def has_nvme_storage(instance_type: str) -> bool:
    """Does ``ml.<family>.<size>`` come with local NVMe storage (m5d, c5d, r5d, g4dn, p3dn...)?"""
    family = instance_type.removeprefix("ml.").split(".")[0]
    return family in _LOCAL_STORAGE_FAMILIES or _LOCAL_STORAGE_NAME.fullmatch(family) is not None

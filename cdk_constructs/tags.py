"""Tag keys that mark governed resources.

Our governance rule pack and the report find a model's resources by these keys, so they are part
of the public contract: every resource that belongs to one governed model carries MODEL. They
are defined once, in the contract module the handlers share (``governance.contracts``).
"""

from governance.contracts.vocabulary import MANAGED_BY_VALUE, MONITORING_INPUT_VALUE, TagKey

MODEL = TagKey.MODEL.value
OWNER = TagKey.OWNER.value
RISK_TIER = TagKey.RISK_TIER.value
DATA_CLASSIFICATION = TagKey.DATA_CLASSIFICATION.value
MONITOR_TYPE = TagKey.MONITOR_TYPE.value
MANAGED_BY = TagKey.MANAGED_BY.value
COMPONENT = TagKey.COMPONENT.value
MONITORING_INPUT = TagKey.MONITORING_INPUT.value
# On an S3 bucket outside the governance buckets: "true" lets the inference role write batch
# transform results and batch data capture there and the monitoring role read them (S3 ABAC, see
# ARCHITECTURE.md "Access model"). Not in the handlers' vocabulary: no handler reads it.
BATCH_OUTPUT = "governance:batch-output"
BATCH_OUTPUT_VALUE = "true"

__all__ = [
    "BATCH_OUTPUT",
    "BATCH_OUTPUT_VALUE",
    "COMPONENT",
    "DATA_CLASSIFICATION",
    "MANAGED_BY",
    "MANAGED_BY_VALUE",
    "MODEL",
    "MONITORING_INPUT",
    "MONITORING_INPUT_VALUE",
    "MONITOR_TYPE",
    "OWNER",
    "RISK_TIER",
]

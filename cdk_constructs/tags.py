"""Tag keys that mark governed resources.

Our governance rule pack and the report find a model's resources by these keys, so they are part
of the public contract: every resource that belongs to one governed model carries MODEL.
"""

MODEL = "governance:model"
OWNER = "governance:owner"
RISK_TIER = "governance:risk-tier"
DATA_CLASSIFICATION = "governance:data-classification"
MONITOR_TYPE = "governance:monitor-type"
MANAGED_BY = "governance:managed-by"
MANAGED_BY_VALUE = "sagemaker-model-governance"
COMPONENT = "governance:component"
# On an S3 bucket outside the governance buckets (ground truth, SHAP baselines): "true" lets the
# monitoring role read it (S3 ABAC, see ARCHITECTURE.md "Access model").
MONITORING_INPUT = "governance:monitoring-input"
MONITORING_INPUT_VALUE = "true"

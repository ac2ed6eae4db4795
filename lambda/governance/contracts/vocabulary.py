"""Names and limits both sides use: event sources and types, parameter prefixes, tag keys,
evidence kinds, the monitor type table and size caps.

Each limit cites where it comes from; a value AWS defines is never restated elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

# --- EventBridge -----------------------------------------------------------------------------


class EventSource(StrEnum):
    SAGEMAKER = "aws.sagemaker"
    GOVERNANCE = "sagemaker.governance"
    """Our own events. Sources starting ``aws.`` are reserved for AWS (EventBridge user guide,
    "Amazon EventBridge events"), so only SageMaker can send the first kind."""


class DetailType(StrEnum):
    MODEL_PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"
    PROCESSING_JOB_STATE_CHANGE = "SageMaker Processing Job State Change"
    PIPELINE_EXECUTION_STATUS_CHANGE = "SageMaker Model Building Pipeline Execution Status Change"
    APPROVAL_VERDICT = "Model Approval Verdict"
    MONITORING_VIOLATION = "Model Monitoring Violation"
    SCHEDULE_START_FAILED = "Monitoring Schedule Start Failed"
    """Relayed by a models stack's schedule-failures handler from EventBridge Scheduler's
    dead-letter queue to the violations handler, which records and alerts it."""


GOVERNANCE_DETAIL_TYPES: Final = (DetailType.APPROVAL_VERDICT, DetailType.MONITORING_VIOLATION)
"""What the governance handlers publish and the audit ledger records."""

RETRAINING_TRIGGER_SOURCE: Final = "sagemaker.governance/monitoring-violation"
"""``TriggerSource`` pipeline parameter of a retraining run started by the violations handler."""

# --- SSM parameters (the handlers' configuration contract) -----------------------------------

POLICY_PARAMETER_PREFIX: Final = "/sagemaker-governance/models/"
"""``<prefix><model package group>``: the approval policy (``contracts.parameters``)."""
ENDPOINT_PARAMETER_PREFIX: Final = "/sagemaker-governance/endpoints/"
"""``<prefix><endpoint name>``: which model and schedules an endpoint belongs to."""

# --- Tags ------------------------------------------------------------------------------------


class TagKey(StrEnum):
    """Keys that mark governed resources; the rule pack and the report find resources by them."""

    MODEL = "governance:model"
    OWNER = "governance:owner"
    RISK_TIER = "governance:risk-tier"
    DATA_CLASSIFICATION = "governance:data-classification"
    MONITOR_TYPE = "governance:monitor-type"
    MANAGED_BY = "governance:managed-by"
    COMPONENT = "governance:component"
    # On an S3 bucket outside the governance buckets (ground truth, SHAP baselines): "true" lets
    # the monitoring role read it (S3 ABAC, see ARCHITECTURE.md "Access model").
    MONITORING_INPUT = "governance:monitoring-input"


MANAGED_BY_VALUE: Final = "sagemaker-model-governance"
MONITORING_INPUT_VALUE: Final = "true"

# --- Approval policy -------------------------------------------------------------------------


class RiskTier(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class DataClassification(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"


class ProblemType(StrEnum):
    """The problem types SageMaker Model Monitor's model-quality job accepts (botocore
    ``MonitoringProblemType`` enum)."""

    BINARY_CLASSIFICATION = "BinaryClassification"
    MULTICLASS_CLASSIFICATION = "MulticlassClassification"
    REGRESSION = "Regression"


class Evidence(StrEnum):
    """What a model's policy may require before an approval stands (in report order)."""

    MODEL_QUALITY_METRICS = "model_quality_metrics"
    BIAS_REPORT = "bias_report"
    EXPLAINABILITY_REPORT = "explainability_report"
    DRIFT_CHECK_BASELINES = "drift_check_baselines"
    MODEL_CARD_APPROVED = "model_card_approved"
    APPROVAL_DESCRIPTION = "approval_description"
    SEPARATE_APPROVER = "separate_approver"


class ApprovalStatus(StrEnum):
    """``ModelApprovalStatus`` (botocore ``ModelApprovalStatus`` enum)."""

    APPROVED = "Approved"
    REJECTED = "Rejected"
    PENDING_MANUAL_APPROVAL = "PendingManualApproval"


class OnFailureStatus(StrEnum):
    """Where the gate sets a version whose approval does not stand."""

    REJECTED = ApprovalStatus.REJECTED.value
    PENDING_MANUAL_APPROVAL = ApprovalStatus.PENDING_MANUAL_APPROVAL.value


class ModelCardStatus(StrEnum):
    """botocore ``ModelCardStatus`` enum."""

    DRAFT = "Draft"
    PENDING_REVIEW = "PendingReview"
    APPROVED = "Approved"
    ARCHIVED = "Archived"


# --- Monitoring ------------------------------------------------------------------------------

# Environment variables SageMaker sets on every Model Monitor processing job (Model Monitor
# developer guide, "Container Contract Inputs"); the Evidently engine's checks set the same ones,
# so the failure handler and the Governance pack read both engines' jobs alike.
ENV_ENDPOINT_NAME = "sagemaker_endpoint_name"
ENV_SCHEDULE_NAME = "sagemaker_monitoring_schedule_name"
# The check's Model Monitor MonitoringType on an Evidently check, so the Governance pack (EP1)
# and the report count the pipeline as the endpoint's monitor.
ENV_MONITORING_TYPE = "governance_monitoring_type"


class MonitorType(StrEnum):
    """The four monitors, as named in config and the endpoint parameter's ``monitors`` map."""

    DATA_QUALITY = "data_quality"
    MODEL_QUALITY = "model_quality"
    BIAS = "bias"
    EXPLAINABILITY = "explainability"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


@dataclass(frozen=True)
class MonitorJobType:
    """How SageMaker and CloudFormation name one monitor type."""

    monitoring_type: str
    """``MonitoringType`` of ``DescribeMonitoringSchedule`` (botocore ``MonitoringType`` enum)."""
    job_definition_resource: str
    """CloudFormation resource type of its job definition."""


MONITOR_JOB_TYPES: Final = MappingProxyType(
    {
        MonitorType.DATA_QUALITY: MonitorJobType(
            "DataQuality", "AWS::SageMaker::DataQualityJobDefinition"
        ),
        MonitorType.MODEL_QUALITY: MonitorJobType(
            "ModelQuality", "AWS::SageMaker::ModelQualityJobDefinition"
        ),
        MonitorType.BIAS: MonitorJobType("ModelBias", "AWS::SageMaker::ModelBiasJobDefinition"),
        MonitorType.EXPLAINABILITY: MonitorJobType(
            "ModelExplainability", "AWS::SageMaker::ModelExplainabilityJobDefinition"
        ),
    }
)


def monitor_type_of(monitoring_type: str) -> MonitorType | None:
    """Our name for a schedule's ``MonitoringType``; ``None`` for a type we do not know."""
    return next(
        (kind for kind, job in MONITOR_JOB_TYPES.items() if job.monitoring_type == monitoring_type),
        None,
    )


DATA_REFERENCE: Final = "data_reference"
"""The Evidently engine's reference-data summary, which the training pipeline registers as
``DriftCheckBaselines.ModelDataQuality.Statistics`` (``contracts.reference_data``), without
Model Monitor's constraints."""

BASELINE_PATHS: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {
        "data_quality": {
            "constraints": "DriftCheckBaselines.ModelDataQuality.Constraints.S3Uri",
            "statistics": "DriftCheckBaselines.ModelDataQuality.Statistics.S3Uri",
        },
        "model_quality": {
            "constraints": "DriftCheckBaselines.ModelQuality.Constraints.S3Uri",
        },
        "bias": {
            "constraints": "DriftCheckBaselines.Bias.PostTrainingConstraints.S3Uri",
        },
        "explainability": {
            "constraints": "DriftCheckBaselines.Explainability.Constraints.S3Uri",
        },
        DATA_REFERENCE: {
            "statistics": "DriftCheckBaselines.ModelDataQuality.Statistics.S3Uri",
        },
    }
)
"""Per baseline kind (a monitor type or ``data_reference``) and file (``constraints`` or
``statistics``): its ``DescribeModelPackage`` response path (botocore sagemaker
``DescribeModelPackageOutput.DriftCheckBaselines``). The deploy-time package check answers with
these as attribute names; the job definitions read them with ``Fn::GetAtt``."""

VIOLATIONS_REPORT_NAME: Final = "constraint_violations.json"
"""What every monitor writes under its execution's output (Model Monitor developer guide,
"Schema for Violations")."""

# --- Size caps -------------------------------------------------------------------------------

MAX_EVIDENCE_BYTES: Final = 20 * 1024 * 1024
"""Largest evidence object read into memory. A Clarify analysis with explanations for a wide
dataset reaches a few MB; far beyond that it is not a report and must not exhaust the function."""
APPROVAL_DESCRIPTION_MAX_CHARS: Final = 1024
"""``ApprovalDescription`` (botocore ``UpdateModelPackage``: length 0-1024)."""
SNS_SUBJECT_MAX_CHARS: Final = 100
"""SNS ``Publish`` ``Subject``: ASCII, no line breaks, at most 100 characters (SNS API)."""
PIPELINE_PARAMETER_MAX_CHARS: Final = 1024
"""``Parameter.Value`` of ``StartPipelineExecution`` (botocore: length 0-1024)."""
MAX_ALERT_VIOLATIONS: Final = 50
MAX_RECORDED_VIOLATIONS: Final = 200
MAX_VIOLATION_DESCRIPTION_CHARS: Final = 500
"""These three keep one alert or violation event under the 256 KB SNS message and EventBridge
entry limits however many features a data-quality report flags."""

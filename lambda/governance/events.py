"""Typed models of the EventBridge events the governance handlers receive, with strict parsing.

Three events are understood:

* ``aws.sagemaker`` / ``SageMaker Model Package State Change``: emitted by the Model Registry on
  every change of a versioned model package. The fields used are ``ModelPackageGroupName``,
  ``ModelPackageVersion``, ``ModelPackageArn``, ``ModelApprovalStatus``, ``ApprovalDescription``,
  ``CreatedBy``/``LastModifiedBy`` (SageMaker ``UserContext``), ``ModelMetrics`` and
  ``DriftCheckBaselines``.
* ``sagemaker.governance`` / ``Model Approval Verdict``: published by the approval gate.
* ``sagemaker.governance`` / ``Model Monitoring Violation``: published by the monitoring-violation
  handler.

Parsing is explicit (no pydantic: the Lambda runtime only has boto3 and Powertools). A malformed
event raises :class:`EventValidationError` naming the field, the value found and what is allowed,
so the failure that lands in the dead-letter queue explains itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from governance.identity import UserContext, parse_user_context

SAGEMAKER_SOURCE: Final = "aws.sagemaker"
GOVERNANCE_SOURCE: Final = "sagemaker.governance"
MODEL_PACKAGE_STATE_CHANGE: Final = "SageMaker Model Package State Change"
APPROVAL_VERDICT: Final = "Model Approval Verdict"
MONITORING_VIOLATION: Final = "Model Monitoring Violation"

APPROVAL_STATUSES: Final = ("Approved", "Rejected", "PendingManualApproval")
VERDICTS: Final = ("passed", "failed")


class EventValidationError(ValueError):
    """The event does not have the shape this handler was built for."""

    def __init__(self, field: str, value: object, expected: str) -> None:
        shown = repr(value)
        if len(shown) > 200:
            shown = shown[:200] + "..."
        super().__init__(f"invalid event field {field!r}: got {shown}; expected {expected}")
        self.field = field
        self.value = value
        self.expected = expected


_MISSING: Final = object()


def _get(mapping: Mapping[str, Any], key: str) -> Any:
    return mapping.get(key, _MISSING)


def _shown(value: object) -> object:
    return "<missing>" if value is _MISSING else value


def _require_mapping(mapping: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
    value = _get(mapping, key)
    if not isinstance(value, Mapping):
        raise EventValidationError(path, _shown(value), "an object")
    return value


def _optional_mapping(mapping: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
    value = mapping.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise EventValidationError(path, value, "an object or absent")
    return value


def _require_str(mapping: Mapping[str, Any], key: str, path: str) -> str:
    value = _get(mapping, key)
    if not isinstance(value, str) or not value.strip():
        raise EventValidationError(path, _shown(value), "a non-empty string")
    return value


def _optional_str(mapping: Mapping[str, Any], key: str, path: str) -> str | None:
    value = mapping.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise EventValidationError(path, value, "a string or absent")
    return value


def _require_choice(
    mapping: Mapping[str, Any], key: str, path: str, allowed: tuple[str, ...]
) -> str:
    value = _get(mapping, key)
    if value not in allowed:
        raise EventValidationError(path, _shown(value), f"one of {', '.join(allowed)}")
    return str(value)


def _require_version(mapping: Mapping[str, Any], key: str, path: str) -> int:
    value = _get(mapping, key)
    # SageMaker sends a JSON number; a digit string is accepted because hand-made test events
    # and replays through other tools sometimes stringify it.
    if isinstance(value, bool):
        raise EventValidationError(path, value, "a positive integer")
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, str) and value.isdigit() and int(value) > 0:
        return int(value)
    raise EventValidationError(path, _shown(value), "a positive integer")


def _optional_scalar_text(mapping: Mapping[str, Any], key: str, path: str) -> str | None:
    value = mapping.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise EventValidationError(path, value, "a string, a number or absent")
    return str(value)


def _require_list(mapping: Mapping[str, Any], key: str, path: str) -> list[Any]:
    value = _get(mapping, key)
    if not isinstance(value, list):
        raise EventValidationError(path, _shown(value), "a list")
    return value


def _user_context(detail: Mapping[str, Any], key: str) -> UserContext | None:
    try:
        return parse_user_context(detail.get(key))
    except ValueError as error:
        raise EventValidationError(f"detail.{key}", detail.get(key), str(error)) from error


@dataclass(frozen=True)
class Envelope:
    """The EventBridge fields common to every event."""

    event_id: str
    source: str
    detail_type: str
    time: str
    account: str | None
    region: str | None


@dataclass(frozen=True)
class ModelPackageStateChange:
    """``SageMaker Model Package State Change`` for a versioned model package."""

    envelope: Envelope
    model_package_group_name: str
    model_package_version: int
    model_package_arn: str
    model_approval_status: str
    approval_description: str | None
    created_by: UserContext | None
    last_modified_by: UserContext | None
    model_metrics: Mapping[str, Any]
    drift_check_baselines: Mapping[str, Any]


@dataclass(frozen=True)
class VerdictCheck:
    """One evidence check of an approval verdict."""

    name: str
    passed: bool
    reason: str


@dataclass(frozen=True)
class ApprovalVerdict:
    """``Model Approval Verdict`` published by the approval gate."""

    envelope: Envelope
    model_package_group_name: str
    model_package_arn: str
    model_package_version: int
    verdict: str
    checks: tuple[VerdictCheck, ...]
    action_taken: str
    evidence_uris: tuple[str, ...]
    source_event_id: str


@dataclass(frozen=True)
class MonitoringViolationItem:
    """One violation from a monitoring job's ``constraint_violations.json``."""

    feature: str
    check_type: str
    description: str
    metric_name: str | None = None
    facet: str | None = None
    facet_value: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class MonitoringViolation:
    """``Model Monitoring Violation`` published by the monitoring-violation handler."""

    envelope: Envelope
    model_package_group_name: str
    model_name: str | None
    endpoint_name: str | None
    monitor_type: str
    processing_job_arn: str | None
    report_uri: str | None
    violations: tuple[MonitoringViolationItem, ...]
    source_event_id: str | None
    record_id: str | None = None
    """Same for every delivery of one job outcome: the ledger's duplicate key when present."""
    outcome: str | None = None
    """``violations``, ``monitoring_failed`` or ``report_unreadable``."""
    monitoring_schedule_name: str | None = None
    violation_count: int | None = None
    violations_truncated: bool = False
    retraining_pipeline_execution_arn: str | None = None
    failure_reason: str | None = None
    report_error: str | None = None


GovernanceEvent = ModelPackageStateChange | ApprovalVerdict | MonitoringViolation


def parse_envelope(raw: object) -> tuple[Envelope, Mapping[str, Any]]:
    """Validate the EventBridge envelope; return it and the ``detail`` object."""
    if not isinstance(raw, Mapping):
        raise EventValidationError("<event>", raw, "an EventBridge event object")
    envelope = Envelope(
        event_id=_require_str(raw, "id", "id"),
        source=_require_str(raw, "source", "source"),
        detail_type=_require_str(raw, "detail-type", "detail-type"),
        time=_require_str(raw, "time", "time"),
        account=_optional_str(raw, "account", "account"),
        region=_optional_str(raw, "region", "region"),
    )
    return envelope, _require_mapping(raw, "detail", "detail")


def parse_model_package_state_change(raw: object) -> ModelPackageStateChange:
    """Parse a ``SageMaker Model Package State Change`` event (and nothing else)."""
    envelope, detail = parse_envelope(raw)
    _expect_kind(envelope, SAGEMAKER_SOURCE, MODEL_PACKAGE_STATE_CHANGE)
    return _model_package_state_change(envelope, detail)


def parse_event(raw: object) -> GovernanceEvent:
    """Parse any event the audit ledger records; unknown kinds are rejected by name."""
    envelope, detail = parse_envelope(raw)
    kind = (envelope.source, envelope.detail_type)
    if kind == (SAGEMAKER_SOURCE, MODEL_PACKAGE_STATE_CHANGE):
        return _model_package_state_change(envelope, detail)
    if kind == (GOVERNANCE_SOURCE, APPROVAL_VERDICT):
        return _approval_verdict(envelope, detail)
    if kind == (GOVERNANCE_SOURCE, MONITORING_VIOLATION):
        return _monitoring_violation(envelope, detail)
    raise EventValidationError(
        "source/detail-type",
        f"{envelope.source} / {envelope.detail_type}",
        f"{SAGEMAKER_SOURCE} / {MODEL_PACKAGE_STATE_CHANGE}, "
        f"{GOVERNANCE_SOURCE} / {APPROVAL_VERDICT}, "
        f"or {GOVERNANCE_SOURCE} / {MONITORING_VIOLATION}",
    )


def _expect_kind(envelope: Envelope, source: str, detail_type: str) -> None:
    if envelope.source != source:
        raise EventValidationError("source", envelope.source, repr(source))
    if envelope.detail_type != detail_type:
        raise EventValidationError("detail-type", envelope.detail_type, repr(detail_type))


def _model_package_state_change(
    envelope: Envelope, detail: Mapping[str, Any]
) -> ModelPackageStateChange:
    return ModelPackageStateChange(
        envelope=envelope,
        model_package_group_name=_require_str(
            detail, "ModelPackageGroupName", "detail.ModelPackageGroupName"
        ),
        model_package_version=_require_version(
            detail, "ModelPackageVersion", "detail.ModelPackageVersion"
        ),
        model_package_arn=_require_str(detail, "ModelPackageArn", "detail.ModelPackageArn"),
        model_approval_status=_require_choice(
            detail, "ModelApprovalStatus", "detail.ModelApprovalStatus", APPROVAL_STATUSES
        ),
        approval_description=_optional_str(
            detail, "ApprovalDescription", "detail.ApprovalDescription"
        ),
        created_by=_user_context(detail, "CreatedBy"),
        last_modified_by=_user_context(detail, "LastModifiedBy"),
        model_metrics=_optional_mapping(detail, "ModelMetrics", "detail.ModelMetrics"),
        drift_check_baselines=_optional_mapping(
            detail, "DriftCheckBaselines", "detail.DriftCheckBaselines"
        ),
    )


def _approval_verdict(envelope: Envelope, detail: Mapping[str, Any]) -> ApprovalVerdict:
    checks = []
    for index, item in enumerate(_require_list(detail, "checks", "detail.checks")):
        path = f"detail.checks[{index}]"
        if not isinstance(item, Mapping):
            raise EventValidationError(path, item, "an object {name, passed, reason}")
        passed = item.get("passed")
        if not isinstance(passed, bool):
            raise EventValidationError(f"{path}.passed", passed, "true or false")
        checks.append(
            VerdictCheck(
                name=_require_str(item, "name", f"{path}.name"),
                passed=passed,
                reason=_optional_str(item, "reason", f"{path}.reason") or "",
            )
        )
    uris = _require_list(detail, "evidenceUris", "detail.evidenceUris")
    for index, uri in enumerate(uris):
        if not isinstance(uri, str):
            raise EventValidationError(f"detail.evidenceUris[{index}]", uri, "a string")
    return ApprovalVerdict(
        envelope=envelope,
        model_package_group_name=_require_str(
            detail, "modelPackageGroupName", "detail.modelPackageGroupName"
        ),
        model_package_arn=_require_str(detail, "modelPackageArn", "detail.modelPackageArn"),
        model_package_version=_require_version(
            detail, "modelPackageVersion", "detail.modelPackageVersion"
        ),
        verdict=_require_choice(detail, "verdict", "detail.verdict", VERDICTS),
        checks=tuple(checks),
        action_taken=_require_str(detail, "actionTaken", "detail.actionTaken"),
        evidence_uris=tuple(uris),
        source_event_id=_require_str(detail, "sourceEventId", "detail.sourceEventId"),
    )


def _monitoring_violation(envelope: Envelope, detail: Mapping[str, Any]) -> MonitoringViolation:
    violations = []
    for index, item in enumerate(_require_list(detail, "violations", "detail.violations")):
        path = f"detail.violations[{index}]"
        if not isinstance(item, Mapping):
            raise EventValidationError(path, item, "an object {feature, checkType, description}")
        violations.append(
            MonitoringViolationItem(
                # Dataset-level checks (e.g. missing columns) have no feature.
                feature=_optional_str(item, "feature", f"{path}.feature") or "",
                check_type=_require_str(item, "checkType", f"{path}.checkType"),
                description=_optional_str(item, "description", f"{path}.description") or "",
                metric_name=_optional_str(item, "metricName", f"{path}.metricName"),
                facet=_optional_str(item, "facet", f"{path}.facet"),
                facet_value=_optional_scalar_text(item, "facetValue", f"{path}.facetValue"),
                label=_optional_scalar_text(item, "label", f"{path}.label"),
            )
        )
    count = detail.get("violationCount")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
        raise EventValidationError("detail.violationCount", count, "a non-negative integer")
    truncated = detail.get("violationsTruncated", False)
    if not isinstance(truncated, bool):
        raise EventValidationError("detail.violationsTruncated", truncated, "true or false")
    return MonitoringViolation(
        envelope=envelope,
        model_package_group_name=_require_str(
            detail, "modelPackageGroupName", "detail.modelPackageGroupName"
        ),
        model_name=_optional_str(detail, "modelName", "detail.modelName"),
        endpoint_name=_optional_str(detail, "endpointName", "detail.endpointName"),
        monitor_type=_require_str(detail, "monitorType", "detail.monitorType"),
        processing_job_arn=_optional_str(detail, "processingJobArn", "detail.processingJobArn"),
        report_uri=_optional_str(detail, "reportUri", "detail.reportUri"),
        violations=tuple(violations),
        source_event_id=_optional_str(detail, "sourceEventId", "detail.sourceEventId"),
        record_id=_optional_str(detail, "recordId", "detail.recordId"),
        outcome=_optional_str(detail, "outcome", "detail.outcome"),
        monitoring_schedule_name=_optional_str(
            detail, "monitoringScheduleName", "detail.monitoringScheduleName"
        ),
        violation_count=count,
        violations_truncated=truncated,
        retraining_pipeline_execution_arn=_optional_str(
            detail, "retrainingPipelineExecutionArn", "detail.retrainingPipelineExecutionArn"
        ),
        failure_reason=_optional_str(detail, "failureReason", "detail.failureReason"),
        report_error=_optional_str(detail, "reportError", "detail.reportError"),
    )

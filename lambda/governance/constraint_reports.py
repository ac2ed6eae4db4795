"""Parse a monitoring execution's ``constraint_violations.json`` into a typed summary.

Pure functions only: no AWS calls, so every malformed report can be tested from bytes.

The four monitor types write the same envelope, ``{"violations": [ ... ]}`` (Clarify adds
``"version": "1.0"``), with different keys per entry (AWS docs, "Schema for Violations
(constraint_violations.json file)", "Bias Drift Violations", "Model Feature Attribution Drift
Violations"):

=================  ===========================================================================
data quality       ``feature_name``, ``constraint_check_type`` (``data_type_check``,
                   ``completeness_check``, ``baseline_drift_check``, ``missing_column_check``,
                   ``extra_column_check``, ``categorical_values_check``), ``description``
model quality      ``metric_name``, ``constraint_check_type`` (the comparison operator, e.g.
                   ``LessThanThreshold``), ``description``
bias drift         ``facet``, ``facet_value``, ``metric_name`` (e.g. ``CI``, ``DPPL``),
                   ``constraint_check_type`` (``bias_drift_check``), ``description``
explainability     ``label``, ``metric_name`` (``shap``), ``constraint_check_type``
                   (``feature_attribution_drift_check``), ``description``
=================  ===========================================================================

The parser keys on the fields present rather than on the monitor type, so a report is read the
same way whichever schedule produced it; what the violation is *about* (its subject) is the
feature, facet, label or metric, in that order of precedence.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

REPORT_FILE_NAME = "constraint_violations.json"

# Keys that name what a violation is about, in order of precedence (see the module docstring).
SUBJECT_KEYS = ("feature_name", "facet", "label", "metric_name")

# A report of this size means thousands of features; beyond it we refuse rather than risk the
# Lambda's memory on something that is not a Model Monitor report.
MAX_REPORT_BYTES = 10 * 1024 * 1024


class ReportError(ValueError):
    """The report exists in some form but cannot be understood; the message says why."""


@dataclass(frozen=True, slots=True)
class Violation:
    """One violated constraint, normalised across monitor types."""

    subject: str
    check_type: str
    description: str
    metric_name: str | None = None
    facet_value: str | None = None
    subject_kind: str = "feature_name"

    @property
    def headline(self) -> str:
        """A one-line, human-readable name for what was violated."""
        if self.subject_kind == "facet":
            value = f"={self.facet_value}" if self.facet_value is not None else ""
            return f"{self.metric_name or 'bias metric'} for facet {self.subject}{value}"
        if self.subject_kind == "label":
            return f"{self.metric_name or 'attribution'} for label {self.subject}"
        return self.subject

    def as_event_detail(self) -> dict[str, str]:
        """The ledger's shape: ``feature``, ``checkType``, ``description`` (+ optional context)."""
        detail = {
            "feature": self.subject,
            "checkType": self.check_type,
            "description": self.description,
        }
        if self.metric_name is not None:
            detail["metricName"] = self.metric_name
        if self.subject_kind == "facet":
            detail["facet"] = self.subject
            if self.facet_value is not None:
                detail["facetValue"] = self.facet_value
        if self.subject_kind == "label":
            detail["label"] = self.subject
        return detail


def parse_constraint_violations(payload: bytes) -> tuple[Violation, ...]:
    """Parse the raw bytes of a ``constraint_violations.json``; raise ReportError if unusable."""
    if len(payload) > MAX_REPORT_BYTES:
        raise ReportError(
            f"{REPORT_FILE_NAME} is {len(payload)} bytes; at most {MAX_REPORT_BYTES} are read"
        )
    try:
        document = json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ReportError(f"{REPORT_FILE_NAME} is not UTF-8 text: {error}") from error
    except json.JSONDecodeError as error:
        raise ReportError(f"{REPORT_FILE_NAME} is not valid JSON: {error}") from error
    if not isinstance(document, Mapping):
        raise ReportError(
            f"{REPORT_FILE_NAME} must be a JSON object with a 'violations' list, "
            f"got {type(document).__name__}"
        )
    entries = document.get("violations")
    if not isinstance(entries, list):
        shown = "(missing)" if "violations" not in document else type(entries).__name__
        raise ReportError(f"{REPORT_FILE_NAME}: field 'violations' must be a list, got {shown}")
    return tuple(_parse_entry(index, entry) for index, entry in enumerate(entries))


def _parse_entry(index: int, entry: object) -> Violation:
    where = f"{REPORT_FILE_NAME}: violations[{index}]"
    if not isinstance(entry, Mapping):
        raise ReportError(f"{where} must be an object, got {type(entry).__name__}")
    check_type = _required_text(entry, "constraint_check_type", where)
    description = entry.get("description", "")
    if not isinstance(description, str):
        raise ReportError(f"{where}.description must be a string, got {type(description).__name__}")
    subject_kind = next((key for key in SUBJECT_KEYS if key in entry), None)
    if subject_kind is None:
        raise ReportError(
            f"{where} names no subject; expected one of {', '.join(SUBJECT_KEYS)}, "
            f"got keys {sorted(entry)}"
        )
    subject = _required_text(entry, subject_kind, where)
    metric_name = _required_text(entry, "metric_name", where) if "metric_name" in entry else None
    return Violation(
        subject=subject,
        check_type=check_type,
        description=description,
        metric_name=metric_name,
        facet_value=_facet_value(entry.get("facet_value"), where),
        subject_kind=subject_kind,
    )


def _required_text(entry: Mapping[str, object], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        shown = "(missing)" if key not in entry else repr(value)
        raise ReportError(f"{where}.{key} must be a non-empty string, got {shown}")
    return value


def _facet_value(value: object, where: str) -> str | None:
    # Clarify takes value_or_threshold as a list of values or a number, and echoes it back.
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise ReportError(f"{where}.facet_value must be a string, number or list, got a bool")
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Sequence) and all(isinstance(item, str | int | float) for item in value):
        return ",".join(str(item) for item in value)
    raise ReportError(f"{where}.facet_value must be a string, number or list, got {value!r}")

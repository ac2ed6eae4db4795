"""A monitoring execution's ``constraint_violations.json``, read into one shape for all monitors.

The four monitor types write the same envelope, ``{"violations": [ ... ]}`` (Clarify adds
``"version": "1.0"``), with different keys per entry (Model Monitor developer guide, "Schema for
Violations", "Bias Drift Violations", "Model Feature Attribution Drift Violations"):

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

Entries are read by the keys present, not by monitor type; what a violation is *about* (its
subject) is the feature, facet, label or metric, in that order of precedence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Final, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator

from governance.contracts.errors import Expect, explain
from governance.contracts.parameters import Text
from governance.contracts.vocabulary import VIOLATIONS_REPORT_NAME
from governance.events import ViolationItem

SUBJECT_KEYS: Final = ("feature_name", "facet", "label", "metric_name")


def _facet_value(value: object) -> object:
    # Clarify takes value_or_threshold as a list of values or a number, and echoes it back.
    if isinstance(value, bool):
        raise ValueError("a string, a number or a list of them")
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Sequence) and not isinstance(value, str):
        if not all(isinstance(item, str | int | float) for item in value):
            raise ValueError("a string, a number or a list of them")
        return ",".join(str(item) for item in value)
    return value


FacetValue = Annotated[
    str, BeforeValidator(_facet_value), Expect("a string, a number or a list of them")
]


class ReportFormatError(ValueError):
    """The report is JSON but not a constraint violations report; the message says why."""


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
        """A one-line name for what was violated."""
        if self.subject_kind == "facet":
            value = f"={self.facet_value}" if self.facet_value is not None else ""
            return f"{self.metric_name or 'bias metric'} for facet {self.subject}{value}"
        if self.subject_kind == "label":
            return f"{self.metric_name or 'attribution'} for label {self.subject}"
        return self.subject

    def as_item(self, *, max_description: int | None = None) -> ViolationItem:
        """The violation event's shape, the description cut to ``max_description``."""
        description = self.description
        if max_description is not None and len(description) > max_description:
            description = description[: max_description - 3] + "..."
        return ViolationItem(
            feature=self.subject,
            check_type=self.check_type,
            description=description,
            metric_name=self.metric_name,
            facet=self.subject if self.subject_kind == "facet" else None,
            facet_value=self.facet_value if self.subject_kind == "facet" else None,
            label=self.subject if self.subject_kind == "label" else None,
        )


class _Entry(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    constraint_check_type: Text
    description: str = ""
    feature_name: Text | None = None
    facet: Text | None = None
    label: Text | None = None
    metric_name: Text | None = None
    facet_value: FacetValue | None = None

    @model_validator(mode="after")
    def _has_subject(self) -> Self:
        if all(getattr(self, key) is None for key in SUBJECT_KEYS):
            raise ValueError(f"an entry naming one of {', '.join(SUBJECT_KEYS)}")
        return self

    def violation(self) -> Violation:
        kind = next(key for key in SUBJECT_KEYS if getattr(self, key) is not None)
        return Violation(
            subject=getattr(self, kind),
            check_type=self.constraint_check_type,
            description=self.description,
            metric_name=self.metric_name,
            facet_value=self.facet_value,
            subject_kind=kind,
        )


class _Report(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    violations: list[_Entry]


def parse_constraint_violations(document: object) -> tuple[Violation, ...]:
    """Read a decoded ``constraint_violations.json``; ReportFormatError if it is unusable."""
    try:
        report = _Report.model_validate(document)
    except ValidationError as error:
        raise ReportFormatError(
            f"{VIOLATIONS_REPORT_NAME} is not a constraint violations report: "
            + "; ".join(explain(error, _Report))
        ) from None
    return tuple(entry.violation() for entry in report.violations)

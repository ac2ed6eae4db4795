"""Bias metrics from a SageMaker Clarify ``analysis.json``, compared with the policy's thresholds.

Clarify writes one section per stage, each keyed by facet (the sensitive attribute) and then
listing one entry per facet value (or threshold bucket)::

    {
      "pre_training_bias_metrics": {
        "label": "default", "label_value_or_threshold": "0",
        "facets": {"gender": [{"value_or_threshold": "female",
                               "metrics": [{"name": "CI", "description": "...", "value": 0.1}]}]}
      },
      "post_training_bias_metrics": { same shape, metrics such as DI, DPPL, ... }
    }

A metric Clarify could not compute has ``"value": null`` (and sometimes an ``"error"``); that is
a failure rather than skipped, because an absent number proves nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Final, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator

from governance.contracts.errors import Expect, explain
from governance.contracts.parameters import BiasFacet, Threshold

SECTIONS: Final = ("post_training_bias_metrics", "pre_training_bias_metrics")


class BiasReportFormatError(ValueError):
    """The document is JSON but not a Clarify bias analysis."""


def _text(value: object) -> object:
    # Clarify stringifies most values but writes numbers where the analysis config had them.
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _finite_or_none(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


LooseText = Annotated[str, BeforeValidator(_text), Expect("a string or a number")]
MetricNumber = Annotated[float | None, BeforeValidator(_finite_or_none)]


class _Analysis(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Metric(_Analysis):
    name: str
    value: MetricNumber = None


class _FacetGroup(_Analysis):
    value_or_threshold: LooseText | None = None
    metrics: list[_Metric]


class _Section(_Analysis):
    label: LooseText | None = None
    label_value_or_threshold: LooseText | None = None
    facets: dict[str, list[_FacetGroup]]


class _BiasAnalysis(_Analysis):
    post_training_bias_metrics: _Section | None = None
    pre_training_bias_metrics: _Section | None = None

    @model_validator(mode="after")
    def _has_a_section(self) -> Self:
        if self.post_training_bias_metrics is None and self.pre_training_bias_metrics is None:
            raise ValueError(f"a Clarify bias analysis with {' or '.join(SECTIONS)}")
        return self


@dataclass(frozen=True)
class MetricValue:
    section: str
    facet: str
    facet_value: str
    name: str
    value: float | None


@dataclass(frozen=True)
class SectionLabel:
    section: str
    label: str | None
    label_value: str | None


@dataclass(frozen=True)
class BiasAssessment:
    failures: tuple[str, ...]
    observations: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


def extract_metrics(report: object) -> tuple[list[MetricValue], list[SectionLabel]]:
    """Every metric value in the report, plus the label each section was computed for."""
    try:
        analysis = _BiasAnalysis.model_validate(report)
    except ValidationError as error:
        raise BiasReportFormatError("; ".join(explain(error, _BiasAnalysis))) from None
    values: list[MetricValue] = []
    labels: list[SectionLabel] = []
    for name in SECTIONS:
        section: _Section | None = getattr(analysis, name)
        if section is None:
            continue
        labels.append(SectionLabel(name, section.label, section.label_value_or_threshold))
        for facet, groups in section.facets.items():
            for group in groups:
                values.extend(
                    MetricValue(name, facet, group.value_or_threshold or "", m.name, m.value)
                    for m in group.metrics
                )
    return values, labels


def same_value(reported: str | None, configured: str | int | float) -> bool:
    """Clarify stringifies label and facet values ("0", "1.0", "female"); compare leniently."""
    if reported is None:
        return False
    if reported.strip() == str(configured).strip():
        return True
    try:
        return float(reported) == float(configured)
    except ValueError:
        return False


def assess(
    reports: Sequence[object],
    thresholds: Mapping[str, Threshold],
    facet: BiasFacet | None,
) -> BiasAssessment:
    """Compare every configured metric for the configured facet (or all facets) with policy.

    Raises BiasReportFormatError when a report is not a Clarify bias analysis.
    """
    values: list[MetricValue] = []
    labels: list[SectionLabel] = []
    for report in reports:
        report_values, report_labels = extract_metrics(report)
        values.extend(report_values)
        labels.extend(report_labels)

    failures: list[str] = []
    observations: list[str] = []
    if facet is not None:
        failures.extend(_label_mismatches(labels, facet))
        values = [
            v
            for v in values
            if v.facet == facet.facet and same_value(v.facet_value, facet.facet_value)
        ]
    scope = f"{facet.facet}={facet.facet_value}" if facet else "any facet"

    for metric, threshold in thresholds.items():
        matching = [v for v in values if v.name == metric]
        if not matching:
            failures.append(f"{metric} not reported for {scope}")
            continue
        for value in matching:
            where = f"{value.facet}={value.facet_value}"
            if value.value is None:
                failures.append(f"{metric} has no value for {where} (Clarify could not compute it)")
            elif not threshold.contains(value.value):
                failures.append(f"{metric}={value.value:.4g} outside {threshold} for {where}")
            else:
                observations.append(f"{metric}={value.value:.4g} within {threshold} for {where}")
    return BiasAssessment(tuple(failures), tuple(observations))


def _label_mismatches(labels: list[SectionLabel], facet: BiasFacet) -> list[str]:
    mismatches = []
    for label in labels:
        if label.label is not None and label.label != facet.label:
            mismatches.append(
                f"{label.section} computed for label {label.label!r}, policy expects "
                f"{facet.label!r}"
            )
        if label.label_value is not None and not same_value(label.label_value, facet.label_value):
            mismatches.append(
                f"{label.section} computed for label value {label.label_value!r}, policy "
                f"expects {facet.label_value!r}"
            )
    return mismatches

"""Read bias metrics from a SageMaker Clarify ``analysis.json`` and compare them with policy.

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
reported as a failure rather than skipped, because an absent number proves nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from governance.policy import BiasFacet, Threshold

SECTIONS: Final = ("post_training_bias_metrics", "pre_training_bias_metrics")


class BiasReportFormatError(ValueError):
    """The document is JSON but not a Clarify bias analysis."""


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
    if not isinstance(report, Mapping):
        raise BiasReportFormatError("the document is not a JSON object")
    present = [name for name in SECTIONS if name in report]
    if not present:
        raise BiasReportFormatError(
            "the document has neither pre_training_bias_metrics nor post_training_bias_metrics"
        )
    values: list[MetricValue] = []
    labels: list[SectionLabel] = []
    for section_name in present:
        section = report[section_name]
        if not isinstance(section, Mapping) or not isinstance(section.get("facets"), Mapping):
            raise BiasReportFormatError(f"{section_name}.facets is missing or not an object")
        labels.append(
            SectionLabel(
                section_name,
                _optional_text(section.get("label")),
                _optional_text(section.get("label_value_or_threshold")),
            )
        )
        for facet, groups in section["facets"].items():
            if not isinstance(groups, list):
                raise BiasReportFormatError(f"{section_name}.facets.{facet} is not a list")
            for group in groups:
                values.extend(_group_metrics(section_name, str(facet), group))
    return values, labels


def _group_metrics(section: str, facet: str, group: object) -> list[MetricValue]:
    where = f"{section}.facets.{facet}"
    if not isinstance(group, Mapping) or not isinstance(group.get("metrics"), list):
        raise BiasReportFormatError(f"{where} entry has no metrics list")
    facet_value = _optional_text(group.get("value_or_threshold")) or ""
    values = []
    for metric in group["metrics"]:
        if not isinstance(metric, Mapping) or not isinstance(metric.get("name"), str):
            raise BiasReportFormatError(f"{where} has a metric without a name")
        values.append(
            MetricValue(section, facet, facet_value, metric["name"], _finite(metric.get("value")))
        )
    return values


def _optional_text(value: object) -> str | None:
    return None if value is None else str(value)


def _finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


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

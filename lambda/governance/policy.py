"""Per-model governance policy, read from SSM Parameter Store and validated on load.

Contract with the CDK side
--------------------------
One SSM ``String`` parameter per governed model package group, named
``<POLICY_PARAMETER_PREFIX><model-package-group-name>`` (e.g.
``/sagemaker-governance/models/credit-default``). Its value is a JSON object::

    {
      "model_name": "credit-default",
      "model_package_group_name": "credit-default",
      "model_card_name": "credit-default",
      "risk_tier": "high",                      # high | medium | low
      "required_evidence": ["model_quality_metrics", "bias_report", "explainability_report",
                            "drift_check_baselines", "model_card_approved",
                            "approval_description", "separate_approver"],   # any subset
      "on_failure": "Rejected",                 # Rejected | PendingManualApproval
      "bias_thresholds": {"DI": {"min": 0.8, "max": 1.25}, "DPPL": {"min": -0.1, "max": 0.1}},
      "bias_facet": {"label": "default", "label_value": 0,
                     "facet": "gender", "facet_value": "female"}           # or null
    }

Every key is required (``bias_thresholds`` may be ``{}``; ``bias_facet`` may be ``null``, meaning
every facet and facet value in the report is checked). Unknown keys are rejected so that a typo
(``bias_treshold``) cannot silently switch a control off. ``model_package_group_name`` must match
the group named by the parameter. A threshold needs ``min``, ``max`` or both.

Errors name the parameter, the field, the bad value and what is allowed. A missing parameter
means the group is not governed: :class:`UnknownModelGroupError`.

The handlers read with ``ssm:GetParameter`` and cache each validated policy for the life of the
execution environment (a cold start picks up changes), which keeps the SSM call off the hot path
and within the API's throughput limits.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from governance.aws_clients import AwsClient, ClientError, error_code

RISK_TIERS: Final = ("high", "medium", "low")
EVIDENCE_KINDS: Final = (
    "model_quality_metrics",
    "bias_report",
    "explainability_report",
    "drift_check_baselines",
    "model_card_approved",
    "approval_description",
    "separate_approver",
)
ON_FAILURE_STATUSES: Final = ("Rejected", "PendingManualApproval")
_FIELDS: Final = (
    "model_name",
    "model_package_group_name",
    "model_card_name",
    "risk_tier",
    "required_evidence",
    "on_failure",
    "bias_thresholds",
    "bias_facet",
)
_FACET_FIELDS: Final = ("label", "label_value", "facet", "facet_value")


class PolicyError(Exception):
    """Base class for policy problems."""


class UnknownModelGroupError(PolicyError):
    """No policy parameter exists for the model package group."""

    def __init__(self, group: str, parameter_name: str) -> None:
        super().__init__(
            f"model package group {group!r} is not governed: "
            f"SSM parameter {parameter_name!r} does not exist"
        )
        self.group = group
        self.parameter_name = parameter_name


class PolicyValidationError(PolicyError):
    """The policy parameter exists but its value breaks the contract."""

    def __init__(self, source: str, field: str, value: object, allowed: str) -> None:
        super().__init__(
            f"invalid governance policy {source}: field {field!r} is {value!r}; allowed: {allowed}"
        )
        self.source = source
        self.field = field
        self.value = value
        self.allowed = allowed


@dataclass(frozen=True)
class Threshold:
    """Inclusive bounds for one Clarify bias metric."""

    min: float | None
    max: float | None

    def contains(self, value: float) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def __str__(self) -> str:
        low = "-inf" if self.min is None else f"{self.min:g}"
        high = "+inf" if self.max is None else f"{self.max:g}"
        return f"[{low}, {high}]"


@dataclass(frozen=True)
class BiasFacet:
    """Which label and facet (sensitive attribute) value the thresholds apply to."""

    label: str
    label_value: str | int | float
    facet: str
    facet_value: str | int | float


@dataclass(frozen=True)
class ModelPolicy:
    model_name: str
    model_package_group_name: str
    model_card_name: str
    risk_tier: str
    required_evidence: tuple[str, ...]
    on_failure: str
    bias_thresholds: Mapping[str, Threshold]
    bias_facet: BiasFacet | None

    def requires(self, evidence: str) -> bool:
        return evidence in self.required_evidence


def parse_policy(raw: object, *, source: str, expected_group: str | None = None) -> ModelPolicy:
    """Validate a decoded policy document. ``source`` names it in error messages."""

    def fail(field: str, value: object, allowed: str) -> PolicyValidationError:
        return PolicyValidationError(source, field, value, allowed)

    if not isinstance(raw, Mapping):
        raise fail("<root>", raw, "a JSON object with keys " + ", ".join(_FIELDS))
    unknown = sorted(set(raw) - set(_FIELDS))
    if unknown:
        raise fail(unknown[0], raw[unknown[0]], "only the keys " + ", ".join(_FIELDS))
    missing = [name for name in _FIELDS if name not in raw]
    if missing:
        raise fail(missing[0], "<missing>", "the key is required")

    def text(field: str) -> str:
        value = raw[field]
        if not isinstance(value, str) or not value.strip():
            raise fail(field, value, "a non-empty string")
        return value

    def choice(field: str, allowed: tuple[str, ...]) -> str:
        value = raw[field]
        if value not in allowed:
            raise fail(field, value, " | ".join(allowed))
        return str(value)

    group = text("model_package_group_name")
    if expected_group is not None and group != expected_group:
        raise fail(
            "model_package_group_name",
            group,
            f"{expected_group!r} (the group named by the parameter)",
        )

    evidence = raw["required_evidence"]
    if not isinstance(evidence, list):
        raise fail("required_evidence", evidence, "a list, subset of " + ", ".join(EVIDENCE_KINDS))
    for item in evidence:
        if item not in EVIDENCE_KINDS:
            raise fail("required_evidence", item, " | ".join(EVIDENCE_KINDS))

    return ModelPolicy(
        model_name=text("model_name"),
        model_package_group_name=group,
        model_card_name=text("model_card_name"),
        risk_tier=choice("risk_tier", RISK_TIERS),
        # Kept in the canonical order so reports and descriptions are stable.
        required_evidence=tuple(kind for kind in EVIDENCE_KINDS if kind in evidence),
        on_failure=choice("on_failure", ON_FAILURE_STATUSES),
        bias_thresholds=_parse_thresholds(raw["bias_thresholds"], fail),
        bias_facet=_parse_facet(raw["bias_facet"], fail),
    )


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _parse_thresholds(raw: object, fail: Any) -> dict[str, Threshold]:
    if not isinstance(raw, Mapping):
        raise fail("bias_thresholds", raw, 'an object like {"DI": {"min": 0.8, "max": 1.25}}')
    thresholds: dict[str, Threshold] = {}
    for metric, bounds in raw.items():
        field = f"bias_thresholds.{metric}"
        if not isinstance(bounds, Mapping) or not bounds or set(bounds) - {"min", "max"}:
            raise fail(field, bounds, 'an object with "min", "max" or both')
        low = bounds.get("min")
        high = bounds.get("max")
        for key, value in (("min", low), ("max", high)):
            if value is not None and _number(value) is None:
                raise fail(f"{field}.{key}", value, "a finite number")
        threshold = Threshold(_number(low), _number(high))
        if (
            threshold.min is not None
            and threshold.max is not None
            and threshold.min > threshold.max
        ):
            raise fail(field, dict(bounds), "min <= max")
        thresholds[str(metric)] = threshold
    return thresholds


def _parse_facet(raw: object, fail: Any) -> BiasFacet | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or set(raw) != set(_FACET_FIELDS):
        raise fail("bias_facet", raw, "null or an object with keys " + ", ".join(_FACET_FIELDS))
    for key in ("label", "facet"):
        if not isinstance(raw[key], str) or not raw[key]:
            raise fail(f"bias_facet.{key}", raw[key], "a non-empty string")
    for key in ("label_value", "facet_value"):
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise fail(f"bias_facet.{key}", value, "a string or a number")
    return BiasFacet(
        label=raw["label"],
        label_value=raw["label_value"],
        facet=raw["facet"],
        facet_value=raw["facet_value"],
    )


class PolicyStore:
    """Loads and caches policies from SSM for the life of the execution environment."""

    def __init__(self, ssm_client: AwsClient, prefix: str) -> None:
        if not prefix:
            raise ValueError("POLICY_PARAMETER_PREFIX must be a non-empty parameter path prefix")
        self._ssm = ssm_client
        self._prefix = prefix
        self._cache: dict[str, ModelPolicy] = {}

    def parameter_name(self, group: str) -> str:
        return f"{self._prefix}{group}"

    def get(self, group: str) -> ModelPolicy:
        """The validated policy for ``group``.

        Raises UnknownModelGroupError or PolicyValidationError. Misses are not cached, so a group
        onboarded after the cold start is picked up on its first event.
        """
        cached = self._cache.get(group)
        if cached is not None:
            return cached
        name = self.parameter_name(group)
        try:
            response = self._ssm.get_parameter(Name=name)
        except ClientError as error:
            if error_code(error) == "ParameterNotFound":
                raise UnknownModelGroupError(group, name) from error
            raise
        value = response["Parameter"]["Value"]
        try:
            document = json.loads(value)
        except json.JSONDecodeError as error:
            raise PolicyValidationError(
                f"SSM parameter {name!r}", "<value>", value[:200], f"valid JSON ({error})"
            ) from error
        policy = parse_policy(document, source=f"SSM parameter {name!r}", expected_group=group)
        self._cache[group] = policy
        return policy

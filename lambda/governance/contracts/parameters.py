"""The two SSM contracts: a model's approval policy and an endpoint's governance parameter.

The app writes both at synth (one ``String`` parameter each); the handlers read them at run time.
Unknown keys are refused, so a typo (``bias_treshold``) cannot switch a control off silently.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, ClassVar, Self, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from governance.contracts.errors import Expect, InvalidParameterError, explain
from governance.contracts.vocabulary import Evidence, MonitorType, OnFailureStatus, RiskTier

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
"""A non-empty string (surrounding whitespace does not count)."""
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
"""A finite JSON number; ``"0.8"`` or ``true`` are refused rather than coerced."""


def _scalar(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("a string or a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("a string or a finite number")
    return value


Scalar = Annotated[str | int | float, BeforeValidator(_scalar), Expect("a string or a number")]
"""A label or facet value as Clarify takes it."""


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    named_by: ClassVar[str]
    """The field that must equal the name the parameter is stored under."""


_D = TypeVar("_D", bound=_Document)


class Threshold(_Document):
    """Inclusive bounds for one Clarify bias metric; at least one is set."""

    min: Number | None = None
    max: Number | None = None

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        if self.min is None and self.max is None:
            raise ValueError('an object with "min", "max" or both')
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min <= max (got min {self.min:g} > max {self.max:g})")
        return self

    def contains(self, value: float) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def __str__(self) -> str:
        low = "-inf" if self.min is None else f"{self.min:g}"
        high = "+inf" if self.max is None else f"{self.max:g}"
        return f"[{low}, {high}]"


class BiasFacet(_Document):
    """Which label and facet (sensitive attribute) value the bias thresholds apply to."""

    label: Text
    label_value: Scalar
    facet: Text
    facet_value: Scalar


class ApprovalPolicy(_Document):
    """``<POLICY_PARAMETER_PREFIX><group>``: what the approval gate requires of a version.

    Every key is required; ``bias_thresholds`` may be ``{}`` and ``bias_facet`` ``null``
    (every facet in the report is then checked).
    """

    named_by = "model_package_group_name"

    model_name: Text
    model_package_group_name: Text
    model_card_name: Text
    risk_tier: RiskTier
    required_evidence: tuple[Evidence, ...]
    on_failure: OnFailureStatus
    bias_thresholds: dict[Text, Threshold]
    bias_facet: BiasFacet | None

    @model_validator(mode="after")
    def _canonical_order(self) -> Self:
        # Reports and descriptions list checks in one stable order whatever the document says.
        ordered = tuple(kind for kind in Evidence if kind in self.required_evidence)
        object.__setattr__(self, "required_evidence", ordered)
        return self

    def requires(self, evidence: Evidence) -> bool:
        return evidence in self.required_evidence


class EndpointGovernance(_Document):
    """``<ENDPOINT_PARAMETER_PREFIX><endpoint>``: the model, schedules and retraining pipeline
    behind an endpoint, for the violations handler."""

    named_by = "endpoint_name"

    model_name: Text
    model_package_group_name: Text
    endpoint_name: Text
    monitors: dict[MonitorType, Text]
    """Enabled monitors only, monitor type to schedule name."""
    retraining_pipeline_name: Text | None = None

    def monitor_type_for_schedule(self, schedule_name: str) -> MonitorType | None:
        return next((kind for kind, name in self.monitors.items() if name == schedule_name), None)


def parse_policy(
    value: str | Mapping[str, object], *, parameter: str, group: str
) -> ApprovalPolicy:
    """Validate a policy parameter's value (JSON text, or already decoded) for ``group``."""
    return _parse(ApprovalPolicy, value, parameter, named=group)


def parse_endpoint_governance(
    value: str | Mapping[str, object], *, parameter: str, endpoint: str
) -> EndpointGovernance:
    """Validate an endpoint parameter's value for ``endpoint``."""
    return _parse(EndpointGovernance, value, parameter, named=endpoint)


def _parse(model: type[_D], value: str | Mapping[str, object], parameter: str, *, named: str) -> _D:
    try:
        if isinstance(value, str):
            document = model.model_validate_json(value)
        else:
            document = model.model_validate(value)
    except ValidationError as error:
        raise InvalidParameterError(
            f"invalid governance parameter {parameter!r}", explain(error, model)
        ) from None
    # A document copied under another parameter name would govern the wrong resource.
    found = getattr(document, model.named_by)
    if found != named:
        raise InvalidParameterError(
            f"SSM parameter {parameter!r}",
            [
                f"field {model.named_by!r}: got {found!r}; expected {named!r} "
                "(the name the parameter is stored under)"
            ],
        )
    return document

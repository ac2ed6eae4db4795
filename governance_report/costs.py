"""Monthly cost estimate of the declared monitors and endpoints, from a dated, cited price table.

Months are 730 hours (365 days / 12), as AWS pricing pages count them.

- Endpoint: hourly hosting price x instances x 730 h.
- Monitor: hourly processing price x instances x hours per run x runs per month, where hours per
  run is the job's ``MaxRuntimeInSeconds`` (an upper bound) capped at the time between two runs:
  "MaxRuntimeInSeconds cannot exceed the frequency of the job" (SageMaker API Reference,
  MonitoringStoppingCondition). So one schedule never bills more than 730 instance-hours a month.

Prices come from ``prices.json`` (or a table the user supplies in the same format); an instance
type, use or region the table lacks is "not estimated", never a guess, and the total says
"partial" with how many items are missing.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from governance_report.controls import BATCH_TRANSFORM, Endpoint, GovernedModel, Monitor

HOURS_PER_MONTH = 730.0
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
WEEKS_PER_MONTH = DAYS_PER_MONTH / 7
DEFAULT_MAX_RUNTIME_SECONDS = 3600.0
PRICES_FILE = Path(__file__).with_name("prices.json")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")

Use = Literal["hosting", "processing", "transform"]


class PriceTableError(Exception):
    """A price table file that cannot be used, with the field and what is allowed."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriceSource(_Strict):
    as_of: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="date the prices were read")
    cite: str = Field(min_length=10, description="what the figures are and who published them")
    url: str = Field(pattern=r"^https://", description="where a reader can check them")


class Price(_Strict):
    region: str = Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    use: Use
    instance_type: str = Field(pattern=r"^ml\.[a-z0-9-]+\.[a-z0-9]+$")
    usd_per_hour: float = Field(gt=0)
    source: str


class PriceTable(_Strict):
    currency: Literal["USD"] = "USD"
    kind: str = Field(min_length=1)
    note: str = ""
    sources: dict[str, PriceSource] = Field(min_length=1)
    prices: list[Price] = Field(min_length=1)

    def price(self, region: str | None, use: Use, instance_type: str | None) -> Price | None:
        if region is None or instance_type is None:
            return None
        return next(
            (
                p
                for p in self.prices
                if p.region == region and p.use == use and p.instance_type == instance_type
            ),
            None,
        )

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(sorted({p.region for p in self.prices}))

    @property
    def as_of_range(self) -> str:
        dates = sorted({s.as_of for s in self.sources.values()})
        return dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}"


def load_prices(path: Path = PRICES_FILE) -> PriceTable:
    """Read a price table; a bad file gets one error naming the field and what is allowed."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PriceTableError(f"price table {path}: cannot read it ({error.strerror})") from error
    except json.JSONDecodeError as error:
        raise PriceTableError(f"price table {path}: not JSON ({error})") from error
    try:
        table = PriceTable.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise PriceTableError(
            f"price table {path}: {where}: {first['msg']} (got {first.get('input')!r})"
        ) from error
    unknown = sorted({p.source for p in table.prices} - set(table.sources))
    if unknown:
        raise PriceTableError(
            f"price table {path}: prices cite unknown source(s) {unknown}; "
            f"declared sources: {sorted(table.sources)}"
        )
    return table


# --------------------------------------------------------------------------- schedules


@dataclass(frozen=True)
class Frequency:
    label: str
    runs_per_month: float | None  # None: the expression is not one of the forms we understand
    # Shortest time between two runs, when known: a run can never bill longer than this.
    min_interval_hours: float | None = None


UNKNOWN = Frequency("unknown frequency", None)


def _int(text: str) -> int | None:
    text = text.strip().upper()
    if text in _DAYS:
        return _DAYS.index(text) + 1
    return int(text) if text.isdigit() else None


def _expand(field: str, low: int, high: int) -> list[int] | None:
    """The values of [low, high] a cron field selects; ``None`` if not understood."""
    if field in ("*", "?"):
        return list(range(low, high + 1))
    values: set[int] = set()
    for part in field.split(","):
        start_text, slash, step_text = part.partition("/")
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                return None
            start = low if start_text == "*" else _int(start_text)
            if start is None:
                return None
            values.update(range(start, high + 1, int(step_text)))
        elif "-" in part:
            first_text, _, last_text = part.partition("-")
            first, last = _int(first_text), _int(last_text)
            if first is None or last is None or last < first:
                return None
            values.update(range(first, last + 1))
        elif (value := _int(part)) is not None:
            values.add(value)
        else:
            return None
    return sorted(v for v in values if low <= v <= high) or None


def _daily_gap_hours(minutes: list[int], hours: list[int]) -> float:
    """Shortest gap between two runs of a schedule that fires at these times every day."""
    times = sorted(h * 60 + m for h in hours for m in minutes)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    gaps.append(times[0] + 24 * 60 - times[-1])  # to the first run of the next day
    return min(gaps) / 60


def _label(times: float, period: str) -> str:
    if times == 1:
        return {"day": "daily", "week": "weekly", "month": "monthly"}[period]
    return f"{times:g} times a {period}"


def frequency(expression: str) -> Frequency:  # noqa: PLR0911, PLR0912 - one branch per cron form
    """Runs per 730-hour month of an AWS 6-field cron expression (``cron(0 * ? * * *)``)."""
    text = expression.strip()
    if text.upper() == "NOW":
        return Frequency("one-time run", 1)
    match = re.fullmatch(r"cron\((.*)\)", text)
    fields = match.group(1).split() if match else []
    if len(fields) != 6 or any(c in text.upper() for c in "LW#"):
        return UNKNOWN
    minute_field, hour_field, day_of_month, month, day_of_week, year = fields
    if month != "*" or year not in ("*", "?"):
        return UNKNOWN
    minutes, hours = _expand(minute_field, 0, 59), _expand(hour_field, 0, 23)
    if minutes is None or hours is None:
        return UNKNOWN
    per_day = len(minutes) * len(hours)
    gap = _daily_gap_hours(minutes, hours)
    if day_of_month in ("*", "?") and day_of_week in ("*", "?"):
        step = re.fullmatch(r"(?:\*|\d+)/(\d+)", hour_field)
        if per_day == 24 and len(minutes) == 1:
            label = "hourly"
        elif len(minutes) == 1 and step:
            label = f"every {step.group(1)} hours"
        elif len(hours) == 24 and len(minutes) > 1 and gap < 1:
            label = f"every {gap * 60:g} minutes"
        else:
            label = _label(per_day, "day")
        return Frequency(label, per_day * DAYS_PER_MONTH, gap)
    if day_of_month == "?":
        weekdays = _expand(day_of_week, 1, 7)
        if weekdays is None:
            return UNKNOWN
        runs = per_day * len(weekdays)
        return Frequency(_label(runs, "week"), runs * WEEKS_PER_MONTH, gap)
    if day_of_week == "?":
        month_days = _expand(day_of_month, 1, 31)
        if month_days is None:
            return UNKNOWN
        runs = per_day * len(month_days)
        return Frequency(_label(runs, "month"), float(runs), gap)
    return UNKNOWN


# --------------------------------------------------------------------------- estimate


@dataclass(frozen=True)
class CostLine:
    model: str
    environment: str
    region: str | None
    kind: Literal["monitor", "endpoint"]
    item: str
    instance_type: str | None
    instance_count: float | None
    price: Price | None
    billed_hours: float | None  # instance-hours per month per instance
    monthly: float | None
    basis: str  # the formula with its numbers, for a reviewer to check
    note: str = ""


@dataclass(frozen=True)
class Subtotal:
    """A sum that says how much of it is known."""

    amount: float
    items: int
    unpriced: int

    @property
    def complete(self) -> bool:
        return self.unpriced == 0


@dataclass(frozen=True)
class CostEstimate:
    lines: tuple[CostLine, ...]
    prices: PriceTable
    price_file: str

    def subtotal(
        self, *, kind: str | None = None, model: str | None = None, environment: str | None = None
    ) -> Subtotal:
        lines = [
            line
            for line in self.lines
            if (kind is None or line.kind == kind)
            and (model is None or line.model == model)
            and (environment is None or line.environment == environment)
        ]
        return Subtotal(
            amount=sum(line.monthly for line in lines if line.monthly is not None),
            items=len(lines),
            unpriced=sum(1 for line in lines if line.monthly is None),
        )

    @property
    def total(self) -> Subtotal:
        return self.subtotal()

    @property
    def unpriced(self) -> tuple[CostLine, ...]:
        return tuple(line for line in self.lines if line.monthly is None)

    @property
    def regions_without_prices(self) -> tuple[str, ...]:
        used = {line.region for line in self.lines if line.region}
        return tuple(sorted(used - set(self.prices.regions)))


def describe(subtotal: Subtotal, currency: str = "USD") -> str:
    """``1,234.56 USD``; ``partial: 12.00 USD (1 of 3 not priced)``; ``not estimated``."""
    if subtotal.items == 0:
        return f"0.00 {currency} (nothing to price)"
    if subtotal.unpriced == subtotal.items:
        return f"not estimated ({subtotal.unpriced} of {subtotal.items} not priced)"
    amount = f"{subtotal.amount:,.2f} {currency}"
    if subtotal.unpriced:
        return f"partial: {amount} ({subtotal.unpriced} of {subtotal.items} not priced)"
    return amount


def money(value: float | None, currency: str = "USD") -> str:
    """``1,234.56 USD``, or an em dash when there is no figure."""
    return "—" if value is None else f"{value:,.2f} {currency}"


def _missing_price(use: str, instance_type: str | None, region: str | None) -> str:
    if instance_type is None:
        return "instance type not literal"
    if region is None:
        return "environment has no region"
    return f"no {use} price for {instance_type} in {region} in the table"


def use_is_transform(monitor: Monitor) -> bool:
    return monitor.monitoring_type == BATCH_TRANSFORM


def _monitor_line(model: GovernedModel, monitor: Monitor, prices: PriceTable) -> CostLine:
    notes = []
    runtime = monitor.max_runtime_seconds
    if runtime is None:
        runtime = DEFAULT_MAX_RUNTIME_SECONDS
        notes.append(
            "transform runtime unknown (CreateTransformJob has no stopping condition): 1 h per "
            "run assumed"
            if use_is_transform(monitor)
            else "no MaxRuntimeInSeconds: 1 h per run assumed"
        )
    schedule = frequency(monitor.schedule_expression)
    hours_per_run = runtime / 3600
    if schedule.min_interval_hours is not None and hours_per_run > schedule.min_interval_hours:
        notes.append(
            f"runtime {hours_per_run:g} h capped at the {schedule.min_interval_hours:g} h "
            "between runs"
        )
        hours_per_run = schedule.min_interval_hours
    count = monitor.instance_count if monitor.instance_count is not None else 1.0
    if monitor.instance_count is None:
        notes.append("instance count not literal: 1 assumed")
    # A batch transform is billed as batch transform instance-hours, a check as processing.
    use: Use = "transform" if monitor.monitoring_type == BATCH_TRANSFORM else "processing"
    price = prices.price(model.region, use, monitor.instance_type)
    if price is None:
        notes.append(_missing_price(use, monitor.instance_type, model.region))
    hours: float | None = None
    if schedule.runs_per_month is None:
        notes.append(f"unknown frequency ({monitor.schedule_expression or 'no schedule'})")
    else:
        hours = min(hours_per_run * schedule.runs_per_month, HOURS_PER_MONTH)
    monthly = None if hours is None or price is None else price.usd_per_hour * count * hours
    runs = "?" if schedule.runs_per_month is None else f"{schedule.runs_per_month:,.1f}"
    return CostLine(
        model=model.name,
        environment=model.environment,
        region=model.region,
        kind="monitor",
        item=(
            f"batch transform {monitor.name}"
            if use_is_transform(monitor)
            else f"{monitor.monitoring_type} monitor"
        ),
        instance_type=monitor.instance_type,
        instance_count=count,
        price=price,
        billed_hours=hours,
        monthly=monthly,
        basis=(
            f"{price.usd_per_hour if price else '?'} x {count:g} x {hours_per_run:g} h x "
            f"{runs} runs ({schedule.label})"
        ),
        note="; ".join(notes),
    )


def _endpoint_lines(
    model: GovernedModel, endpoint: Endpoint, prices: PriceTable
) -> Iterable[CostLine]:
    for variant in endpoint.variants:
        item = f"endpoint {endpoint.name}, variant {variant.name}"
        if variant.serverless:
            yield CostLine(
                model.name,
                model.environment,
                model.region,
                "endpoint",
                item,
                None,
                None,
                None,
                None,
                None,
                "serverless",
                "serverless variant: billed per request, not estimated",
            )
            continue
        price = prices.price(model.region, "hosting", variant.instance_type)
        count = variant.instance_count
        notes = []
        if price is None:
            notes.append(_missing_price("hosting", variant.instance_type, model.region))
        if count is None:
            notes.append("instance count not literal")
        monthly = (
            None if price is None or count is None else price.usd_per_hour * count * HOURS_PER_MONTH
        )
        yield CostLine(
            model=model.name,
            environment=model.environment,
            region=model.region,
            kind="endpoint",
            item=item,
            instance_type=variant.instance_type,
            instance_count=count,
            price=price,
            billed_hours=HOURS_PER_MONTH,
            monthly=monthly,
            basis=(
                f"{price.usd_per_hour if price else '?'} x "
                f"{'?' if count is None else f'{count:g}'} x {HOURS_PER_MONTH:g} h"
            ),
            note="; ".join(notes),
        )


def estimate(
    models: Sequence[GovernedModel], prices: PriceTable, price_file: str = "built-in table"
) -> CostEstimate:
    lines: list[CostLine] = []
    for model in models:
        for endpoint in model.endpoints:
            lines.extend(_endpoint_lines(model, endpoint, prices))
        lines.extend(_monitor_line(model, monitor, prices) for monitor in model.monitors)
    return CostEstimate(tuple(lines), prices, price_file)

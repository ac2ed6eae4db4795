"""Monthly cost estimate of the declared monitors and endpoints, from a dated price table.

Monitor: hourly processing price x instance count x max runtime hours per run (the job's
``StoppingCondition``, an upper bound) x runs per month (from the schedule's cron expression).
Endpoint: hourly hosting price x instance count x 730 h. Months have 30 days for schedules.
Nothing is fetched: prices come from ``prices.json``, whose date and sources the report prints.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from governance_report.model import GovernedModel

HOURS_PER_MONTH = 730
DAYS_PER_MONTH = 30
DEFAULT_MAX_RUNTIME_SECONDS = 3600.0
PRICES_FILE = Path(__file__).with_name("prices.json")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@dataclass(frozen=True)
class PriceTable:
    as_of: str
    region: str
    currency: str
    kind: str
    note: str
    sources: tuple[str, ...]
    hosting_per_hour: Mapping[str, float]
    processing_per_hour: Mapping[str, float]


def load_prices(path: Path = PRICES_FILE) -> PriceTable:
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return PriceTable(
        as_of=str(raw["as_of"]),
        region=str(raw["region"]),
        currency=str(raw.get("currency", "USD")),
        kind=str(raw.get("kind", "on-demand list prices")),
        note=str(raw.get("note", "")),
        sources=tuple(str(s) for s in raw.get("sources", [])),
        hosting_per_hour={k: float(v) for k, v in raw["sagemaker_hosting_per_hour"].items()},
        processing_per_hour={k: float(v) for k, v in raw["sagemaker_processing_per_hour"].items()},
    )


# --------------------------------------------------------------------------- schedules


@dataclass(frozen=True)
class Frequency:
    label: str
    runs_per_month: float | None  # None: the expression is not one of the forms we understand


UNKNOWN = Frequency("unknown frequency", None)


def _count(field: str, low: int, high: int) -> int | None:
    """How many values of [low, high] a cron field selects; ``None`` if not understood."""
    if field in ("*", "?"):
        return high - low + 1
    total = 0
    for part in field.split(","):
        start_text, slash, step_text = part.partition("/")
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                return None
            start = low if start_text == "*" else _int(start_text)
            if start is None:
                return None
            total += len(range(start, high + 1, int(step_text)))
        elif "-" in part:
            first_text, _, last_text = part.partition("-")
            first, last = _int(first_text), _int(last_text)
            if first is None or last is None or last < first:
                return None
            total += last - first + 1
        elif _int(part) is not None:
            total += 1
        else:
            return None
    return total


def _int(text: str) -> int | None:
    text = text.strip().upper()
    if text in _DAYS:
        return _DAYS.index(text) + 1
    return int(text) if text.isdigit() else None


def frequency(expression: str) -> Frequency:  # noqa: PLR0911 - one return per cron form
    """Runs per 30-day month of an AWS 6-field cron expression (``cron(0 * ? * * *)``)."""
    text = expression.strip()
    if text.upper() == "NOW":
        return Frequency("one-time run", 1)
    match = re.fullmatch(r"cron\((.*)\)", text)
    fields = match.group(1).split() if match else []
    if len(fields) != 6:
        return UNKNOWN
    minutes, hours, day_of_month, month, day_of_week, year = fields
    if month != "*" or year not in ("*", "?"):
        return UNKNOWN
    per_hour = _count(minutes, 0, 59)
    per_day = _count(hours, 0, 23)
    if per_hour is None or per_day is None or any(c in text.upper() for c in "LW#"):
        return UNKNOWN
    runs_per_day = per_hour * per_day
    if day_of_month in ("*", "?") and day_of_week in ("*", "?"):
        step = re.fullmatch(r"(?:\*|\d+)/(\d+)", hours)
        if per_hour == 1 and per_day == 24:
            label = "hourly"
        elif per_hour == 1 and step:
            label = f"every {step.group(1)} hours"
        else:
            label = _label(runs_per_day, "day")
        return Frequency(label, runs_per_day * DAYS_PER_MONTH)
    if day_of_month == "?":
        weekdays = _count(day_of_week, 1, 7)
        if weekdays is None:
            return UNKNOWN
        return Frequency(
            _label(runs_per_day * weekdays, "week"), runs_per_day * weekdays * DAYS_PER_MONTH / 7
        )
    if day_of_week == "?":
        month_days = _count(day_of_month, 1, 31)
        if month_days is None:
            return UNKNOWN
        return Frequency(_label(runs_per_day * month_days, "month"), runs_per_day * month_days)
    return UNKNOWN


def _label(times: float, period: str) -> str:
    if times == 1:
        return {"day": "daily", "week": "weekly", "month": "monthly"}[period]
    return f"{times:g} times a {period}"


# --------------------------------------------------------------------------- estimate


@dataclass(frozen=True)
class CostLine:
    model: str
    kind: str  # "monitor" | "endpoint"
    item: str
    instance_type: str | None
    instance_count: float | None
    hourly_price: float | None
    billed_hours: float | None  # instance-hours per month per instance
    monthly: float | None
    basis: str  # the formula with its numbers, for a reviewer to check
    note: str = ""


@dataclass(frozen=True)
class CostEstimate:
    lines: tuple[CostLine, ...]
    prices: PriceTable
    regions: tuple[str, ...]

    @property
    def total(self) -> float:
        return sum(line.monthly for line in self.lines if line.monthly is not None)

    @property
    def unpriced(self) -> tuple[CostLine, ...]:
        return tuple(line for line in self.lines if line.monthly is None)

    def total_for(self, kind: str) -> float:
        return sum(line.monthly for line in self.lines if line.kind == kind and line.monthly)

    @property
    def region_warning(self) -> str | None:
        other = [r for r in self.regions if r != self.prices.region]
        if not other:
            return None
        return (
            f"The price table covers {self.prices.region}; this assembly deploys to "
            f"{', '.join(other)}. Figures are indicative only for those regions."
        )


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _monitor_line(model: str, monitor: Any, prices: PriceTable) -> CostLine:
    runtime = monitor.max_runtime_seconds
    notes = []
    if runtime is None:
        runtime = DEFAULT_MAX_RUNTIME_SECONDS
        notes.append("no StoppingCondition: 1 h per run assumed")
    hours_per_run = runtime / 3600
    schedule = frequency(monitor.schedule_expression)
    price = prices.processing_per_hour.get(monitor.instance_type or "")
    count = monitor.instance_count if monitor.instance_count is not None else 1.0
    if monitor.instance_count is None:
        notes.append("instance count not literal: 1 assumed")
    if schedule.runs_per_month is None:
        notes.append(f"unknown frequency ({monitor.schedule_expression or 'no schedule'})")
    if monitor.instance_type is None:
        notes.append("instance type not literal")
    elif price is None:
        notes.append(f"no list price for {monitor.instance_type} processing in the table")
    hours = None if schedule.runs_per_month is None else hours_per_run * schedule.runs_per_month
    monthly = None if hours is None or price is None else price * count * hours
    basis = (
        f"{price if price is not None else '?'} x {count:g} x {hours_per_run:g} h x "
        f"{'?' if schedule.runs_per_month is None else f'{schedule.runs_per_month:g}'} runs "
        f"({schedule.label})"
    )
    return CostLine(
        model=model,
        kind="monitor",
        item=f"{monitor.name} ({monitor.monitoring_type})",
        instance_type=monitor.instance_type,
        instance_count=count,
        hourly_price=price,
        billed_hours=hours,
        monthly=monthly,
        basis=basis,
        note="; ".join(notes),
    )


def _endpoint_lines(model: str, endpoint: Any, prices: PriceTable) -> Iterable[CostLine]:
    for variant in endpoint.variants:
        item = f"{endpoint.name} / {variant.name}"
        if variant.serverless:
            yield CostLine(
                model,
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
        price = prices.hosting_per_hour.get(variant.instance_type or "")
        count = variant.instance_count
        notes = []
        if variant.instance_type is None:
            notes.append("instance type not literal")
        elif price is None:
            notes.append(f"no list price for {variant.instance_type} hosting in the table")
        if count is None:
            notes.append("instance count not literal")
        monthly = None if price is None or count is None else price * count * HOURS_PER_MONTH
        yield CostLine(
            model=model,
            kind="endpoint",
            item=item,
            instance_type=variant.instance_type,
            instance_count=count,
            hourly_price=price,
            billed_hours=HOURS_PER_MONTH,
            monthly=monthly,
            basis=(
                f"{price if price is not None else '?'} x "
                f"{'?' if count is None else f'{count:g}'} x {HOURS_PER_MONTH} h"
            ),
            note="; ".join(notes),
        )


def estimate(
    models: Iterable[GovernedModel], prices: PriceTable, regions: Iterable[str] = ()
) -> CostEstimate:
    lines: list[CostLine] = []
    for model in models:
        for monitor in model.monitors:
            lines.append(_monitor_line(model.name, monitor, prices))
        for endpoint in model.endpoints:
            lines.extend(_endpoint_lines(model.name, endpoint, prices))
    return CostEstimate(tuple(lines), prices, tuple(sorted(set(regions))))


def money(value: float | None, currency: str = "USD") -> str:
    """``1,234.56 USD``, or an em dash when there is no figure."""
    return "—" if value is None or math.isnan(value) else f"{_money(value)} {currency}"

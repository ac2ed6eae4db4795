"""The schedule expressions EventBridge Scheduler accepts (no aws_cdk import: config uses it)."""

from __future__ import annotations

import re

# Schedule expressions EventBridge Scheduler accepts (EventBridge Scheduler user guide, "Schedule
# types on EventBridge Scheduler"): at(yyyy-mm-ddThh:mm:ss), rate(value unit) with unit minute(s),
# hour(s) or day(s), and cron(minutes hours day-of-month month day-of-week year) where one of the
# two day fields is '?'.
_AT = re.compile(r"at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)")
_RATE = re.compile(r"rate\((?P<value>\d+) (?P<unit>minute|minutes|hour|hours|day|days)\)")
_CRON = re.compile(r"cron\((?P<fields>[^()]+)\)")
SCHEDULE_FORMS = (
    "'rate(N unit)' with unit minute(s), hour(s) or day(s) (singular when N is 1), "
    "'cron(minutes hours day-of-month month day-of-week year)' with '?' in one of the two day "
    "fields, or 'at(yyyy-mm-ddThh:mm:ss)' for one run"
)
SCHEDULE_SOURCE = "EventBridge Scheduler user guide, schedule types"


def schedule_expression_problem(expression: str) -> str | None:  # noqa: PLR0911 - one per form
    """Why EventBridge Scheduler would refuse ``expression``, or None."""
    if _AT.fullmatch(expression):
        return None
    rate = _RATE.fullmatch(expression)
    if rate is not None:
        value = int(rate["value"])
        if value < 1:
            return f"a rate must be a positive number ({SCHEDULE_FORMS})"
        if (value == 1) != (not rate["unit"].endswith("s")):
            return f"use the singular unit exactly when the value is 1 ({SCHEDULE_FORMS})"
        return None
    cron = _CRON.fullmatch(expression)
    if cron is not None:
        fields = cron["fields"].split()
        if len(fields) != 6:
            return f"a cron expression has 6 fields, not {len(fields)} ({SCHEDULE_FORMS})"
        if (fields[2] == "?") == (fields[4] == "?"):
            return f"exactly one of day-of-month and day-of-week must be '?' ({SCHEDULE_FORMS})"
        return None
    return f"EventBridge Scheduler accepts {SCHEDULE_FORMS}"

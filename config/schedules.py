"""The schedule expressions SageMaker Model Monitor accepts, and nothing else.

``ScheduleConfig.ScheduleExpression`` is a free string in botocore's shape (1-256 characters); the
forms SageMaker accepts are written in that member's documentation and on the developer guide's
page "The cron expression for monitoring schedule" (model-monitor-schedule-expression):

* hourly: ``cron(0 * ? * * *)``;
* daily at an hour: ``cron(0 [00-23] ? * * *)``;
* every N hours from an hour: ``cron(0 [00-23]/[01-24] ? * * *)``;
* ``NOW``: one run, immediately, not recurring; it requires ``DataAnalysisStartTime`` and
  ``DataAnalysisEndTime`` (botocore's documentation of those members), which a governed
  endpoint's recurring monitor does not set, so config refuses it.

Any other cron (every 15 minutes, weekdays only, a minute other than 0) passes CloudFormation's
schema and then fails in SageMaker at deploy time, so config refuses it with the forms in words.
"""

from __future__ import annotations

import re

from config.api_constraints import ApiParameter

SCHEDULE_EXPRESSION = ApiParameter(
    "sagemaker",
    "CreateMonitoringSchedule",
    "MonitoringScheduleConfig.ScheduleConfig.ScheduleExpression",
)
HOURLY = "cron(0 * ? * * *)"
# Hourly (*), daily at an hour (H) or every N hours from an hour (H/N); minute 0, any day.
_CRON = re.compile(r"cron\(0 (?:\*|(?P<hour>\d{1,2})(?:/(?P<interval>\d{1,2}))?) \? \* \* \*\)")

FORMS = (
    f"hourly '{HOURLY}', daily at hour H 'cron(0 H ? * * *)' (H from 0 to 23), or every N "
    "hours from hour H 'cron(0 H/N ? * * *)' (H from 0 to 23, N from 1 to 24)"
)


def source() -> str:
    """Where the accepted forms are documented (botocore is read on first use, not import)."""
    return (
        "SageMaker developer guide, model-monitor-schedule-expression; "
        f"{SCHEDULE_EXPRESSION.source}"
    )


def schedule_problem(expression: str) -> str | None:
    """Why SageMaker would refuse ``expression`` as a recurring monitor's schedule, or None."""
    if expression == "NOW":
        return (
            "'NOW' runs a monitor once, immediately, and SageMaker requires "
            "DataAnalysisStartTime and DataAnalysisEndTime with it; a governed endpoint needs a "
            f"recurring schedule: {FORMS}"
        )
    match = _CRON.fullmatch(expression)
    if match is None:
        return SCHEDULE_EXPRESSION.violation(expression) or (
            f"SageMaker Model Monitor accepts only {FORMS}"
        )
    hour, interval = match["hour"], match["interval"]
    if hour is not None and not 0 <= int(hour) <= 23:
        return f"the hour must be 0 to 23 ({FORMS})"
    if interval is not None and not 1 <= int(interval) <= 24:
        return f"the interval must be 1 to 24 hours ({FORMS})"
    return None


def schedule_interval_hours(expression: str) -> int | None:
    """Hours between two runs of an accepted schedule; None for any other expression."""
    if schedule_problem(expression) is not None:
        return None
    match = _CRON.fullmatch(expression)
    if match is None:
        return None
    if match["hour"] is None:
        return 1
    return int(match["interval"]) if match["interval"] is not None else 24


def check_schedule(expression: str) -> str:
    """``expression`` unchanged, or ValueError with the accepted forms and their source."""
    problem = schedule_problem(expression)
    if problem is not None:
        raise ValueError(f"{problem} [{source()}]")
    return expression

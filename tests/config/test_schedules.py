"""Monitoring schedules: exactly the cron forms SageMaker Model Monitor documents."""

from __future__ import annotations

import pytest

from config.api_constraints import documentation
from config.schedules import SCHEDULE_EXPRESSION, check_schedule, schedule_problem


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 * ? * * *)",  # hourly
        "cron(0 12 ? * * *)",  # daily at noon UTC (documented example)
        "cron(0 0 ? * * *)",  # daily at midnight UTC (documented example)
        "cron(0 00 ? * * *)",  # the documented [00-23] form
        "cron(0 23 ? * * *)",
        "cron(0 17/12 ? * * *)",  # every 12 hours from 5 PM (documented example)
        "cron(0 0/2 ? * * *)",  # every two hours from midnight (documented example)
        "cron(0 0/24 ? * * *)",
        "cron(0 5/1 ? * * *)",
    ],
)
def test_documented_forms_are_accepted(expression: str) -> None:
    assert schedule_problem(expression) is None


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("cron(0/15 * ? * * *)", "accepts only"),  # every 15 minutes
        ("cron(30 * ? * * *)", "accepts only"),  # not on the hour
        ("cron(0 9 ? * MON-FRI *)", "accepts only"),  # weekdays only
        ("cron(0 9 1 * ? *)", "accepts only"),  # monthly
        ("cron(0 24 ? * * *)", "the hour must be 0 to 23"),
        ("cron(0 3/25 ? * * *)", "the interval must be 1 to 24 hours"),
        ("cron(0 3/0 ? * * *)", "the interval must be 1 to 24 hours"),
        ("rate(1 hour)", "accepts only"),
        ("cron(0  * ? * * *)", "accepts only"),
        ("NOW", "DataAnalysisStartTime and DataAnalysisEndTime"),
        ("x" * 257, "the API allows at most 256"),
    ],
)
def test_other_crons_are_refused_with_the_forms_in_words(expression: str, reason: str) -> None:
    problem = schedule_problem(expression)
    assert problem is not None
    assert reason in problem
    with pytest.raises(ValueError, match="model-monitor-schedule-expression") as error:
        check_schedule(expression)
    assert "cron(0 H/N ? * * *)" in str(error.value) or "256" in str(error.value)


def test_the_forms_are_the_ones_botocore_documents() -> None:
    # The accepted forms are quoted from the ScheduleExpression member's documentation.
    text = documentation(SCHEDULE_EXPRESSION)
    for documented in (
        "cron(0 * ? * * *)",
        "cron(0 [00-23] ? * * *)",
        "cron(0 [00-23]/[01-24] ? * * *)",
        "NOW",
    ):
        assert documented in text

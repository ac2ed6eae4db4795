"""Config fields that depend on the account and the schedule: handler concurrency, the
Powertools layer, ground-truth offsets and monitoring-job runtimes. Bad values stop at the
loader with the field path, the value and what is allowed."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from config import DEFAULT_CONFIG, ConfigError, parse_config
from config.model import GROUND_TRUTH_MONITORS, max_runtime_limit, offset_seconds
from config.schedules import schedule_interval_hours

SOURCE = Path("org.yaml")
HOURLY = {"schedule": "cron(0 * ? * * *)"}
GOV_LAYER = (
    "arn:aws-us-gov:lambda:us-gov-west-1:165093116878:layer:"
    "AWSLambdaPowertoolsPythonV3-python314-x86_64:27"
)


@pytest.fixture(scope="module")
def default_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEFAULT_CONFIG.read_text())
    return data


def _with(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(data)
    *parents, last = path.split(".")
    node: Any = changed
    for part in parents:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    node[last] = value
    return changed


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, SOURCE)
    return str(caught.value)


# -- schedules and offsets (pure helpers) ------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "hours"),
    [
        ("cron(0 * ? * * *)", 1),
        ("cron(0 12 ? * * *)", 24),
        ("cron(0 0 ? * * *)", 24),
        ("cron(0 17/12 ? * * *)", 12),
        ("cron(0 0/2 ? * * *)", 2),
        ("NOW", None),
    ],
)
def test_interval_of_each_documented_schedule_form(expression: str, hours: int | None) -> None:
    assert schedule_interval_hours(expression) == hours


@pytest.mark.parametrize(
    ("offset", "seconds"),
    [("-P1D", -86400), ("-PT6H", -21600), ("-PT30M", -1800), ("-PT0H", 0), ("-P8D", -691200)],
)
def test_offsets_in_the_documented_forms(offset: str, seconds: int) -> None:
    assert offset_seconds(offset) == seconds


@pytest.mark.parametrize("offset", ["P1D", "-1D", "-P1W", "-P1DT2H", "-PT1.5H", "-P1234567890123D"])
def test_other_offsets_are_refused(offset: str) -> None:
    with pytest.raises(ValueError, match="negative ISO 8601 duration"):
        offset_seconds(offset)


def test_runtime_limit_follows_the_api_note() -> None:
    # botocore MonitoringStoppingCondition: hourly data quality / explainability up to 3600 s,
    # hourly model quality / bias up to 1800 s; never above 86,400 s.
    hourly = "cron(0 * ? * * *)"
    assert max_runtime_limit("data_quality", hourly) == 3600
    assert max_runtime_limit("explainability", hourly) == 3600
    assert {max_runtime_limit(m, hourly) for m in GROUND_TRUTH_MONITORS} == {1800}
    assert max_runtime_limit("data_quality", "cron(0 3 ? * * *)") == 86400
    assert max_runtime_limit("model_quality", "cron(0 3/6 ? * * *)") == 10800


# -- what the loader accepts and refuses ---------------------------------------------------------


def test_defaults_leave_concurrency_unreserved_and_runtimes_within_schedule(
    default_data: dict[str, Any],
) -> None:
    config = parse_config(default_data, SOURCE)
    assert config.environments[0].handlers.reserved_concurrency is None
    assert config.environments[0].handlers.powertools_layer_arn is None
    for model in config.models:
        assert model.deployment is not None
        for monitor in ("data_quality", "model_quality", "bias", "explainability"):
            schedule = getattr(model.monitoring, monitor).schedule
            runtime = model.monitor_max_runtime_seconds(monitor)
            assert 60 <= runtime <= min(3600, max_runtime_limit(monitor, schedule))


def test_hourly_model_quality_gets_half_an_hour_by_default(default_data: dict[str, Any]) -> None:
    data = _with(default_data, "models.1.monitoring.model_quality", HOURLY)
    churn = parse_config(data, SOURCE).models[1]
    assert churn.monitor_max_runtime_seconds("model_quality") == 1800
    assert churn.monitor_max_runtime_seconds("data_quality") == 3600


def test_configured_runtime_applies_to_every_monitor(default_data: dict[str, Any]) -> None:
    data = _with(default_data, "models.0.deployment.monitor_max_runtime_seconds", 1200)
    credit = parse_config(data, SOURCE).models[0]
    assert {credit.monitor_max_runtime_seconds(m) for m in ("data_quality", "bias")} == {1200}


def test_runtime_longer_than_an_hourly_model_quality_schedule_is_refused(
    default_data: dict[str, Any],
) -> None:
    data = _with(default_data, "models.1.monitoring.model_quality", HOURLY)
    data = _with(data, "models.1.deployment.monitor_max_runtime_seconds", 3600)
    hourly_window = {"start_time_offset": "-PT2H", "end_time_offset": "-PT1H"}
    data = _with(data, "models.1.deployment.ground_truth_window", hourly_window)
    message = _error(data)
    assert "models[1].deployment.monitor_max_runtime_seconds" in message
    assert "(got 3600)" in message
    assert "at most 1800 seconds" in message


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ({"start_time_offset": "-P1D", "end_time_offset": "-P2D"}, "must be earlier than"),
        ({"start_time_offset": "-1 day"}, "'-1 day'"),
        ({"start_time_offset": "-P1D", "end_time_offset": "-PT23H"}, "shorter than"),
    ],
    ids=["reversed", "not-iso", "shorter-than-daily-interval"],
)
def test_bad_ground_truth_windows_are_refused(
    default_data: dict[str, Any], window: dict[str, str], expected: str
) -> None:
    message = _error(_with(default_data, "models.0.deployment.ground_truth_window", window))
    assert "models[0].deployment.ground_truth_window" in message or "models[0]" in message
    assert expected in message


def test_reserved_concurrency_must_be_positive(default_data: dict[str, Any]) -> None:
    message = _error(_with(default_data, "environments.0.handlers", {"reserved_concurrency": 0}))
    assert "environments[0].handlers.reserved_concurrency" in message
    assert "greater than or equal to 1" in message


def test_layer_arn_must_be_a_layer_version_arn(default_data: dict[str, Any]) -> None:
    data = _with(default_data, "environments.0.handlers", {"powertools_layer_arn": "powertools"})
    message = _error(data)
    assert "environments[0].handlers.powertools_layer_arn" in message
    assert "'powertools'" in message


def test_layer_must_be_in_the_environment_region(default_data: dict[str, Any]) -> None:
    data = _with(default_data, "environments.0.handlers", {"powertools_layer_arn": GOV_LAYER})
    message = _error(data)
    assert "us-gov-west-1" in message
    assert "eu-west-1" in message


def test_govcloud_needs_an_explicit_layer(default_data: dict[str, Any]) -> None:
    # Powertools publishes SSM parameters for its layer only in the aws partition. The SDK has
    # no Model Monitor image there, so the environment governs the registry only.
    data = _with(default_data, "environments.0.region", "us-gov-west-1")
    for model in data["models"]:
        del model["deployment"]
        model.pop("batch", None)  # batch scoring serves the deployment's version
    message = _error(data)
    assert "handlers.powertools_layer_arn is required in region us-gov-west-1" in message
    assert "aws-us-gov" in message
    data = _with(data, "environments.0.handlers", {"powertools_layer_arn": GOV_LAYER})
    assert parse_config(data, SOURCE).environments[0].handlers.powertools_layer_arn == GOV_LAYER

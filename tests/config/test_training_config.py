"""A model's ``training`` section: each bad value stops with the field, the value and the rule."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from config import DEFAULT_CONFIG
from config.loader import ConfigError, parse_config

SOURCE = Path("org.yaml")


@pytest.fixture(scope="module")
def default_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEFAULT_CONFIG.read_text())
    return data


def _credit(data: dict[str, Any]) -> dict[str, Any]:
    model: dict[str, Any] = data["models"][0]
    assert model["name"] == "credit-default"
    return model


def _error(data: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> str:
    changed = copy.deepcopy(data)
    change(_credit(changed))
    with pytest.raises(ConfigError) as raised:
        parse_config(changed, SOURCE)
    return str(raised.value)


def test_the_default_credit_model_has_a_training_pipeline(default_data: dict[str, Any]) -> None:
    config = parse_config(copy.deepcopy(default_data), SOURCE)
    credit = config.models[0]
    assert credit.training is not None
    assert credit.retraining_pipeline_name == "credit-default-training"
    assert config.models[1].training is None


def _xgboost(model: dict[str, Any]) -> None:
    model["training"]["algorithm"] = {"framework": "xgboost", "version": "1.7-1"}


@pytest.mark.parametrize(
    ("change", "path", "expected"),
    [
        (
            lambda m: m["training"]["quality_floor"].update(metric="rmse"),
            "models[0].training.quality_floor.metric",
            ("is not a model-quality metric of a BinaryClassification model", "auc", "'rmse'"),
        ),
        (
            lambda m: m["training"].update(schedule="cron(0 3 * * *)"),
            "models[0].training.schedule",
            ("a cron expression has 6 fields, not 5", "EventBridge Scheduler"),
        ),
        (
            lambda m: m["training"].update(schedule="rate(1 days)"),
            "models[0].training.schedule",
            ("singular unit",),
        ),
        (
            lambda m: m["training"].update(train_data="models/credit-default/"),
            "models[0].training.train_data",
            ("under the artifacts bucket's data/ prefix", "'models/credit-default/'"),
        ),
        (
            lambda m: m["training"].update(instance_type="ml.m5.huge"),
            "models[0].training.instance_type",
            ("TrainingInstanceType", "'ml.m5.huge'"),
        ),
        (
            _xgboost,
            "models[0].dataset_schema.features[4].type",
            ("'categorical'", "reads numeric CSV only", "image_uri"),
        ),
        (
            lambda m: m["training"].update(algorithm={"framework": "xgboost"}),
            "models[0].training.algorithm",
            ("needs a version",),
        ),
        (
            lambda m: m["training"].update(
                algorithm={"framework": "xgboost", "version": "1.7-1", "image_uri": "x"}
            ),
            "models[0].training.algorithm",
            ("either framework", "or image_uri"),
        ),
    ],
)
def test_bad_training_input_names_field_value_and_rule(
    default_data: dict[str, Any],
    change: Callable[[dict[str, Any]], None],
    path: str,
    expected: tuple[str, ...],
) -> None:
    message = _error(default_data, change)
    assert f"{path}:" in message, message
    for part in expected:
        assert part in message, message
    assert "Traceback" not in message


def test_a_text_facet_value_with_a_numeric_algorithm_is_refused(
    default_data: dict[str, Any],
) -> None:
    def numeric_features_text_facet(model: dict[str, Any]) -> None:
        _xgboost(model)
        for feature in model["dataset_schema"]["features"]:
            feature["type"] = "numeric"

    message = _error(default_data, numeric_features_text_facet)
    # (the numeric facet's own rule may speak first; either way the field and value are named)
    assert "models[0].bias.facet_value:" in message
    assert "'female'" in message


def test_an_image_the_sdk_cannot_resolve_for_the_region_is_refused(
    default_data: dict[str, Any],
) -> None:
    def unknown_version(model: dict[str, Any]) -> None:
        model["training"]["algorithm"] = {"framework": "xgboost", "version": "0.1-9"}
        for feature in model["dataset_schema"]["features"]:
            feature["type"] = "numeric"
        model["bias"].update(facet_value=1)

    message = _error(default_data, unknown_version)
    assert "models[0].training.algorithm:" in message
    assert "no xgboost 0.1-9 image in eu-west-1" in message
    assert "environment 'prod'" in message

"""Bias and explainability analysis configs of the Model Monitor Clarify jobs."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from cdk_constructs.monitoring.clarify_config import (
    ANALYSIS_CONFIG_FILENAME,
    BiasSettings,
    ClarifyConfigError,
    ExplainabilitySettings,
    _frozen,
    analysis_config_file,
    build_bias_analysis_config,
    build_explainability_analysis_config,
    write_analysis_config,
)
from cdk_constructs.props import MonitoredModel, MonitorSchedule
from config import DEFAULT_CONFIG, ConfigError, parse_config
from governance.contracts.vocabulary import ProblemType

REPO_ROOT = Path(__file__).resolve().parents[2]


def _with_bias(model: MonitoredModel, **changes: Any) -> MonitoredModel:
    """A copy of ``model`` whose bias facet is changed, as the engine may be given props that
    did not come through the configuration model."""
    assert model.bias is not None
    return dataclasses.replace(model, bias=dataclasses.replace(model.bias, **changes))


def _config_error(model_name: str, **bias: Any) -> str:
    """The message the configuration model gives when ``model_name``'s bias section changes."""
    data = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    (model,) = [m for m in data["models"] if m["name"] == model_name]
    model["bias"].update(bias)
    with pytest.raises(ConfigError) as caught:
        parse_config(data, DEFAULT_CONFIG)
    return str(caught.value)


def _feature_names(model: MonitoredModel) -> list[str]:
    return list(model.dataset.feature_names)


# --- bias ----------------------------------------------------------------------------------


def test_bias_config_names_facet_label_value_and_headers(high_risk: MonitoredModel) -> None:
    # Given the default config's high-risk model (facet gender=female, favourable label 0)
    # When its bias-drift analysis config is built
    config = build_bias_analysis_config(high_risk)

    # Then it holds exactly the keys Model Monitor reads for bias drift
    assert config == {
        "label": "default",
        "label_values_or_threshold": [0],
        "facet": [{"name_or_index": "gender", "value_or_threshold": ["female"]}],
        "headers": [*_feature_names(high_risk), "default"],
    }
    assert config["headers"][-1] == high_risk.dataset.label


def test_bias_config_passes_sdk_schema(high_risk: MonitoredModel, clarify_sdk: ModuleType) -> None:
    config = build_bias_analysis_config(high_risk)

    # The processing-job schema needs dataset_type and methods, which Model Monitor supplies.
    document = {
        "dataset_type": "text/csv",
        "methods": {"post_training_bias": {"methods": "all"}},
        **config,
    }
    clarify_sdk.ANALYSIS_CONFIG_SCHEMA_V1_0.validate(document)


def test_bias_settings_group_variable_and_endpoint_input(high_risk: MonitoredModel) -> None:
    settings = BiasSettings(
        group_variable="employment_type", probability_threshold=0.7, inference_attribute="0"
    )

    config = build_bias_analysis_config(high_risk, settings=settings)

    assert config["group_variable"] == "employment_type"
    assert "probability_threshold" not in config  # a job input attribute, not a config key
    assert settings.endpoint_input_attributes() == {
        "inference_attribute": "0",
        "probability_threshold_attribute": 0.7,
    }
    assert BiasSettings().endpoint_input_attributes() == {}


def test_without_bias_section_is_rejected(without_bias: MonitoredModel) -> None:
    # The one check of the props (MonitoredModel.facet), not a second one here
    with pytest.raises(ValueError, match=r"MonitoredModel\.bias is required") as caught:
        build_bias_analysis_config(without_bias)

    message = str(caught.value)
    assert repr(without_bias.name) in message
    assert "(got None)" in message
    # And a model whose bias monitor is on cannot be built without its facet at all
    hourly = MonitorSchedule(
        expression="cron(0 * ? * * *)", max_runtime_seconds=1800, interval_hours=1
    )
    with pytest.raises(ValueError, match=r"MonitoredModel\.bias is required"):
        dataclasses.replace(without_bias, monitors={**without_bias.monitors, "bias": hourly})


# The facet, the label and their values are checked once, by the configuration model.


def test_unknown_facet_column_is_rejected() -> None:
    message = _config_error("credit-default", facet="postcode")

    assert "models[0].bias.facet" in message
    assert "'postcode'" in message
    assert "gender" in message  # the allowed feature names are listed


def test_label_column_as_facet_is_rejected() -> None:
    # Clarify needs a feature as facet, not the label column.
    assert re.search(r"bias\.facet.*'default'", _config_error("credit-default", facet="default"))


def test_bias_label_must_be_the_dataset_label() -> None:
    message = _config_error("credit-default", label="income")
    assert re.search(r"bias\.label: .*'default'.*'income'", message), message


def test_text_facet_is_rejected() -> None:
    data = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    (model,) = [m for m in data["models"] if m["name"] == "credit-default"]
    for feature in model["dataset_schema"]["features"]:
        if feature["name"] == "gender":
            feature["type"] = "text"
    with pytest.raises(ConfigError, match=r"bias\.facet: is a text feature.*'gender'"):
        parse_config(data, DEFAULT_CONFIG)


def test_numeric_facet_needs_numeric_threshold(high_risk: MonitoredModel) -> None:
    message = _config_error("credit-default", facet="age", facet_value="old")
    assert re.search(r"bias\.facet_value: .*'age'.*'old'", message), message

    config = build_bias_analysis_config(_with_bias(high_risk, facet="age", facet_value=40))
    assert config["facet"] == [{"name_or_index": "age", "value_or_threshold": [40]}]


def test_regression_label_value_must_be_a_threshold() -> None:
    data = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    (model,) = [m for m in data["models"] if m["name"] == "credit-default"]
    model["problem_type"] = ProblemType.REGRESSION.value
    model["bias"]["label_value"] = "good"
    model.setdefault("deployment", {})["model_quality_floor"] = {"metric": "r2", "minimum": 0.5}
    with pytest.raises(ConfigError, match=r"bias\.label_value: .*'good'"):
        parse_config(data, DEFAULT_CONFIG)


def test_unknown_group_variable_is_rejected(high_risk: MonitoredModel) -> None:
    with pytest.raises(ClarifyConfigError, match=r"group_variable .*'region'"):
        build_bias_analysis_config(high_risk, settings=BiasSettings(group_variable="region"))


def test_schema_failure_in_bias_config_names_the_value(high_risk: MonitoredModel) -> None:
    # Given a label value the SDK schema rejects (only reachable by bypassing validation)
    model = _with_bias(high_risk, label_value={"not": "a scalar"})

    # When / Then the schema error is reported with the model, the key and the value
    with pytest.raises(ClarifyConfigError) as caught:
        build_bias_analysis_config(model)

    message = str(caught.value)
    assert "'credit-default'" in message
    assert "label_values_or_threshold" in message
    assert "{'not': 'a scalar'}" in message


# --- explainability --------------------------------------------------------------------------


def test_explainability_config_has_shap_predictor_and_feature_headers(
    high_risk: MonitoredModel, clarify_sdk: ModuleType
) -> None:
    config = build_explainability_analysis_config(high_risk)

    # Headers are the endpoint's inputs: features only, in schema order, no label.
    assert config["headers"] == _feature_names(high_risk)
    assert high_risk.dataset.label not in config["headers"]
    assert config["methods"] == {
        "shap": {
            "num_samples": 100,
            "agg_method": "mean_abs",
            "use_logit": False,
            "save_local_shap_values": False,
        }
    }
    # The monitor explains the monitored endpoint's model: no model name is pinned.
    assert config["predictor"] == {
        "content_type": "text/csv",
        "accept_type": "text/csv",
        "instance_type": "ml.m5.xlarge",
        "initial_instance_count": 1,
    }
    clarify_sdk.ANALYSIS_CONFIG_SCHEMA_V1_0.validate({"dataset_type": "text/csv", **config})


def test_explainability_inline_baseline_and_options(high_risk: MonitoredModel) -> None:
    row = (35, 42000.0, 10000, 48, "salaried", "female")
    settings = ExplainabilitySettings(
        baseline=(row,),
        num_samples=256,
        agg_method="median",
        seed=7,
        label_headers=("probability",),
    )

    config = build_explainability_analysis_config(high_risk, settings=settings)

    shap = config["methods"]["shap"]
    assert shap["baseline"] == [list(row)]
    assert (shap["num_samples"], shap["agg_method"], shap["seed"]) == (256, "median", 7)
    assert "num_clusters" not in shap
    assert config["predictor"]["label_headers"] == ["probability"]


def test_explainability_s3_baseline_or_clusters(high_risk: MonitoredModel) -> None:
    s3 = ExplainabilitySettings(baseline="s3://bucket/credit-default/baseline.csv")
    clustered = ExplainabilitySettings(num_clusters=10)

    assert build_explainability_analysis_config(high_risk, settings=s3)["methods"]["shap"][
        "baseline"
    ] == ("s3://bucket/credit-default/baseline.csv")
    shap = build_explainability_analysis_config(high_risk, settings=clustered)["methods"]["shap"]
    assert shap["num_clusters"] == 10
    assert "baseline" not in shap


def test_baseline_with_wrong_width_is_rejected(high_risk: MonitoredModel) -> None:
    # Given a baseline whose second row also carries the label (7 values for 6 features)
    good = (35, 42000, 10000, 48, "salaried", "female")
    settings = ExplainabilitySettings(baseline=(good, (*good, 0)))

    with pytest.raises(ClarifyConfigError) as caught:
        build_explainability_analysis_config(high_risk, settings=settings)

    message = str(caught.value)
    assert "'credit-default'" in message
    assert "baseline[1]" in message
    assert "[35, 42000, 10000, 48, 'salaried', 'female', 0]" in message
    assert "has 7 values but the model has 6 features" in message
    assert "age, income, loan_amount, credit_history_months, employment_type, gender" in message


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"baseline": "https://example.com/b.csv"}, "s3://"),
        ({"baseline": ((1,),), "num_clusters": 3}, "not both"),
        ({"baseline": ()}, "at least one row"),
        ({"agg_method": "max"}, "mean_abs"),
        ({"num_samples": 0}, "greater than or equal to 1"),
    ],
)
def test_invalid_explainability_settings(changes: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        ExplainabilitySettings(**changes)


def test_schema_failure_in_explainability_config_names_the_value(
    high_risk: MonitoredModel,
) -> None:
    # Given settings that skipped validation, so a bad value reaches the SDK schema
    settings = ExplainabilitySettings.model_construct(
        **{**ExplainabilitySettings().model_dump(), "num_samples": "many"}
    )

    with pytest.raises(ClarifyConfigError) as caught:
        build_explainability_analysis_config(high_risk, settings=settings)

    error = caught.value
    assert error.model == "credit-default"
    assert error.field == "explainability analysis config.methods.shap.num_samples"
    assert error.value == "many"
    assert "'many' should be instance of 'int'" in str(error)


# --- writing -------------------------------------------------------------------------------


def test_write_analysis_config_is_byte_for_byte_deterministic(
    high_risk: MonitoredModel, tmp_path: Path
) -> None:
    config = build_bias_analysis_config(high_risk)
    reordered = dict(reversed(list(config.items())))

    first = write_analysis_config(config, tmp_path / "a")
    second = write_analysis_config(build_bias_analysis_config(high_risk), tmp_path / "b")
    third = write_analysis_config(reordered, tmp_path / "c")

    assert first == tmp_path / "a" / ANALYSIS_CONFIG_FILENAME
    assert first.read_bytes() == second.read_bytes() == third.read_bytes()
    text = first.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert json.loads(text) == config
    assert list(json.loads(text)) == sorted(config)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [ANALYSIS_CONFIG_FILENAME]


def test_write_analysis_config_overwrites_and_rejects_nan(tmp_path: Path) -> None:
    write_analysis_config({"b": 1, "a": [2]}, tmp_path)
    path = write_analysis_config({"a": 1}, tmp_path)
    assert path.read_bytes() == b'{\n  "a": 1\n}\n'

    with pytest.raises(ValueError, match="not valid JSON"):
        write_analysis_config({"probability_threshold": float("nan")}, tmp_path)
    assert path.read_bytes() == b'{\n  "a": 1\n}\n'


def test_analysis_config_file_is_one_file_per_content(
    high_risk: MonitoredModel, tmp_path: Path
) -> None:
    # Given two configs with the same content (built twice, keys in another order) and another
    config = build_bias_analysis_config(high_risk)
    same = dict(reversed(list(build_bias_analysis_config(high_risk).items())))
    other = {**config, "label": "another"}

    # When each is written through analysis_config_file
    first = analysis_config_file(config, tmp_path)
    second = analysis_config_file(same, tmp_path)
    third = analysis_config_file(other, tmp_path)

    # Then equal content has one path (so aws-cdk-lib stages it once), in a directory named by
    # its SHA-256, with the bytes write_analysis_config writes; other content has its own
    assert first == second != third
    assert first.name == ANALYSIS_CONFIG_FILENAME
    text = write_analysis_config(config, tmp_path / "plain").read_bytes()
    assert first.read_bytes() == text
    assert first.parent.name == hashlib.sha256(text.removesuffix(b"\n")).hexdigest()
    assert json.loads(third.read_text(encoding="utf-8"))["label"] == "another"
    # A file removed behind its back is written again.
    first.unlink()
    assert analysis_config_file(config, tmp_path).read_bytes() == text


def test_analysis_config_file_without_base_uses_one_process_directory(
    high_risk: MonitoredModel,
) -> None:
    config = build_bias_analysis_config(high_risk)
    path = analysis_config_file(config)
    assert analysis_config_file(dict(config)) == path
    assert path.parent.parent.name.startswith("clarify-config-")


def test_schema_failure_is_reported_for_every_model_that_has_it(
    high_risk: MonitoredModel,
) -> None:
    # Given two models with the same config the SDK schema rejects
    bad = _with_bias(high_risk, label_value={"not": "a scalar"})
    other = dataclasses.replace(
        bad, identity=dataclasses.replace(bad.identity, name="credit-default-copy")
    )

    # When / Then each is refused with its own name (a failure is never remembered as a pass)
    for model in (bad, other, bad):
        with pytest.raises(ClarifyConfigError) as caught:
            build_bias_analysis_config(model)
        assert caught.value.model == model.name


def test_schema_pass_is_remembered_by_type_and_value() -> None:
    # The key that remembers a passed document keeps apart what the schema tells apart.
    assert _frozen({"a": [1, "x"]}) == _frozen({"a": [1, "x"]})
    assert _frozen({"a": [1]}) != _frozen({"a": (1,)})
    assert _frozen({"a": 1}) != _frozen({"a": 1.0}) != _frozen({"a": True})
    assert _frozen({"a": object()}) is None


# --- the SDK stays out of Lambda and out of import time ----------------------------------------


def test_modules_import_without_the_sdk() -> None:
    code = (
        "import sys\n"
        "import cdk_constructs.monitoring.clarify_config, cdk_constructs.monitoring.images\n"
        "leaked = sorted(m for m in sys.modules if m.split('.')[0] == 'sagemaker')\n"
        "assert not leaked, leaked\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True, timeout=60)


def test_lambda_code_never_imports_the_sdk() -> None:
    offenders = [
        str(path.relative_to(REPO_ROOT))
        for path in (REPO_ROOT / "lambda").rglob("*.py")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.lstrip().startswith(("import sagemaker", "from sagemaker"))
    ]
    assert offenders == []

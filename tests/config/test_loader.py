"""The config loader accepts the embedded default and rejects bad configs with clear errors."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from config import DEFAULT_CONFIG, ConfigError, load_config, parse_config
from governance.contracts.vocabulary import RiskTier

Mutation = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="module")
def default_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEFAULT_CONFIG.read_text())
    return data


def test_default_config_is_realistic() -> None:
    config = load_config()
    assert len(config.models) >= 2
    high = [m for m in config.models if m.risk_tier is RiskTier.HIGH]
    assert high, "the default needs a high-risk model"
    assert high[0].bias is not None
    assert high[0].bias.facet in {f.name for f in high[0].dataset_schema.features}
    assert {m.risk_tier for m in config.models} != {RiskTier.HIGH}
    assert config.governance.bias_thresholds["DI"].min == 0.8


def _set(path: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[last]

    return mutate


def _duplicate_model(data: dict[str, Any]) -> None:
    data["models"].append(copy.deepcopy(data["models"][0]))


# Bad values checked on parsed data (the YAML-level traps and the full entry point are in
# test_bad_input.py). (id, mutation, text the error must contain: field path and bad value)
BAD_CONFIGS: list[tuple[str, Mutation, list[str]]] = [
    ("missing-field", _delete("models.0.owner"), ["models[0].owner", "is required (missing)"]),
    ("wrong-enum", _set("models.0.risk_tier", "extreme"), ["models[0].risk_tier", "'extreme'"]),
    (
        "threshold-out-of-range",
        _set("governance.bias_thresholds.DPPL", {"min": -0.1, "max": 3}),
        ["governance.bias_thresholds.DPPL", "outside the metric's range [-1.0, 1.0]"],
    ),
    (
        "duplicate-model-names",
        _duplicate_model,
        ["models[2].name", "already the name of entry [0]", "'credit-default'"],
    ),
    (
        "bad-region",
        _set("environments.0.region", "mars-east-1"),
        ["environments[0].region", "mars-east-1", "eu-west-1"],
    ),
    (
        "bad-email",
        _set("governance.alert_emails", ["not-an-email"]),
        ["governance.alert_emails[0]", "not-an-email"],
    ),
    ("empty-model-list", _set("models", []), ["models", "at least 1"]),
    (
        "wrong-type",
        _set("governance.audit_retention_days", "seven years"),
        ["governance.audit_retention_days", "seven years"],
    ),
    (
        "facet-not-a-column",
        _set("models.0.bias.facet", "postcode"),
        ["models[0].bias.facet", "'postcode'", "columns"],
    ),
    (
        "bias-label-not-the-dataset-label",
        _set("models.0.bias.label", "income"),
        ["models[0].bias.label", "'income'", "'default'"],
    ),
    (
        "model-quality-without-ground-truth",
        _delete("models.1.deployment.ground_truth_s3_uri"),
        ["models[1].deployment.ground_truth_s3_uri", "is required"],
    ),
    (
        "inverted-threshold",
        _set("governance.bias_thresholds.DI", {"min": 1.2, "max": 0.8}),
        ["governance.bias_thresholds.DI", "must not exceed"],
    ),
    (
        "feature-name-too-long-for-a-metric",
        _set("models.1.dataset_schema.features.0.name", "f" * 240),
        ["models[1].dataset_schema.features[0].name", "PutMetricAlarm MetricName"],
    ),
    (
        "too-many-organisation-tags",
        _set("organisation.tags", {f"tag-{i}": "x" for i in range(44)}),
        ["organisation.tags", "has 44 tags; at most 43", "AddTags Tags"],
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [pytest.param(m, e, id=i) for i, m, e in BAD_CONFIGS],
)
def test_bad_config_names_field_value_and_allowed(
    default_data: dict[str, Any], mutate: Mutation, expected: list[str]
) -> None:
    # Given the default config with one defect
    data = copy.deepcopy(default_data)
    mutate(data)
    # When it is validated
    with pytest.raises(ConfigError) as error:
        parse_config(data, Path("org.yaml"))
    # Then the message names the file, the field path and the bad value
    message = str(error.value)
    assert "org.yaml" in message
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    assert "Traceback" not in message


def test_absent_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config file not found: .*absent\.yaml"):
        load_config(tmp_path / "absent.yaml")


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    directory = tmp_path / "a-directory.yaml"
    directory.mkdir()
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(directory)


def test_invalid_yaml_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("models: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(path)


def test_every_error_is_reported_at_once(default_data: dict[str, Any]) -> None:
    data = copy.deepcopy(default_data)
    data["models"][0]["risk_tier"] = "extreme"
    data["environments"][0]["account"] = "abc"
    with pytest.raises(ConfigError) as error:
        parse_config(data, Path("org.yaml"))
    message = str(error.value)
    assert message.count("\n  - ") == 2
    assert "models[0].risk_tier" in message
    assert "environments[0].account" in message


def test_duplicate_key_is_an_error_with_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("organisation:\n  name: A\n  tags: {}\n  name: B\n")
    with pytest.raises(ConfigError, match=r"organisation.name: duplicate key \(lines 2 and 4\)"):
        load_config(path)


def test_anchors_and_aliases_still_load(tmp_path: Path) -> None:
    # A merge key repeats keys by design; aliases reuse nodes: neither is a duplicate.
    text = DEFAULT_CONFIG.read_text()
    text = text.replace(
        "    consumer_accounts:",
        "    consumer_accounts: &shared",
    ).replace(
        "    # No protected attribute:",
        "    consumer_accounts: *shared\n    # No protected attribute:",
    )
    path = tmp_path / "anchors.yaml"
    path.write_text(text)
    config = load_config(path)
    assert config.models[1].consumer_accounts == config.models[0].consumer_accounts


def test_the_readmes_smallest_model_entry_is_valid(default_data: dict[str, Any]) -> None:
    readme = (DEFAULT_CONFIG.parents[1] / "README.md").read_text()
    block = readme.split("The smallest model entry:\n\n```yaml\n", 1)[1].split("```", 1)[0]
    data = copy.deepcopy(default_data)
    data["models"] = yaml.safe_load(block)["models"]
    (model,) = parse_config(data, Path("README.md")).models
    assert model.deployment is None


def test_a_config_loads_without_importing_the_sdk() -> None:
    # The regions with monitor images come from the SDK's bundled table, read by path: a config
    # is checked (and a refused one reported) without the SDK's seconds of imports.
    code = (
        "import sys\n"
        "from config import load_config\n"
        "assert load_config().environments\n"
        "leaked = sorted(m for m in sys.modules if m.startswith('sagemaker.'))\n"
        "assert not leaked, leaked[:5]\n"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, timeout=60)

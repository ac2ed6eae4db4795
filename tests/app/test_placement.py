"""Models spread over stacks in config order, within a resource budget per stack."""

from __future__ import annotations

from collections import Counter

import pytest

from config import load_config
from config.model import ModelConfig, MonitoringEngineName
from stacks.placement import (
    CLOUDFORMATION_RESOURCE_LIMIT,
    EVIDENTLY_STACK_OVERHEAD,
    STACK_OVERHEAD,
    estimate_resources,
    shard_models,
    stack_overhead,
)
from tests.conftest import Assembly

CONFIG = load_config()
BIAS_METRICS = len(CONFIG.governance.bias_thresholds)


def _models(count: int) -> list[ModelConfig]:
    shapes = CONFIG.models
    return [
        shapes[i % len(shapes)].model_copy(update={"name": f"model-{i:03d}"}) for i in range(count)
    ]


def test_estimate_matches_what_synth_produces(default_assembly: Assembly) -> None:
    # Given the synthesized default app (two environments), count resources under each model's
    # construct scope per environment
    actual: Counter[tuple[str, str]] = Counter()
    overhead: Counter[str] = Counter()
    for stack, template in default_assembly.templates.items():
        if "-models-" not in stack:
            continue
        for resource in template["Resources"].values():
            parts = resource.get("Metadata", {}).get("aws:cdk:path", "").split("/")
            if len(parts) > 2 and parts[1] in {m.name for m in CONFIG.models}:
                actual[(stack, parts[1])] += 1
            else:
                overhead[stack] += 1
    assert set(overhead) == {f"example-bank-{e.name}-models-00" for e in CONFIG.environments}
    # Then the placement's estimate is exact for every model as each environment deploys it,
    # and for each stack's overhead (the evidently environment's engine resources included)
    for environment in CONFIG.environments:
        stack = f"example-bank-{environment.name}-models-00"
        models = [
            m.for_environment(environment, partition="aws", region="r", account="a")
            for m in CONFIG.models
        ]
        for model in models:
            expected = estimate_resources(model, bias_metrics=BIAS_METRICS)
            assert expected == actual[(stack, model.name)], (stack, model.name)
        evidently = environment.monitoring_engine is MonitoringEngineName.EVIDENTLY
        engine = EVIDENTLY_STACK_OVERHEAD if evidently else 0
        # (the CLI's AWS::CDK::Metadata included: the default synth is `cdk synth`)
        assert "CDKMetadata" in default_assembly.templates[stack]["Resources"]
        assert overhead[stack] == stack_overhead(models, engine_overhead=engine), stack
    # The default trains one model and scores one in batch (the Evidently stack resources)
    assert stack_overhead(CONFIG.models) == STACK_OVERHEAD + 2 + EVIDENTLY_STACK_OVERHEAD


def test_shards_keep_order_and_stay_within_budget() -> None:
    models = _models(120)
    shards = shard_models(models, per_stack=25, bias_metrics=BIAS_METRICS)
    assert [m.name for s in shards for m in s.models] == [m.name for m in models]
    for shard in shards:
        size = stack_overhead(shard.models) + sum(
            estimate_resources(m, bias_metrics=BIAS_METRICS) for m in shard.models
        )
        assert size <= 450 < CLOUDFORMATION_RESOURCE_LIMIT
        assert len(shard.models) <= 25
    assert [s.construct_id for s in shards] == [f"Models{i:02d}" for i in range(len(shards))]


def test_count_limit_applies_to_small_models() -> None:
    registry_only = [m.model_copy(update={"deployment": None}) for m in _models(60)]
    shards = shard_models(registry_only, per_stack=25)
    assert [len(s.models) for s in shards] == [25, 25, 10]


def test_appending_a_model_never_moves_existing_ones() -> None:
    before = {
        m.name: s.index for s in shard_models(_models(50), 25, bias_metrics=3) for m in s.models
    }
    after = {
        m.name: s.index for s in shard_models(_models(51), 25, bias_metrics=3) for m in s.models
    }
    assert all(after[name] == index for name, index in before.items())


def test_per_stack_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        shard_models(_models(2), 0)


def test_a_model_too_big_for_any_stack_is_refused() -> None:
    with pytest.raises(ValueError, match="alone needs about"):
        shard_models(_models(1), 25, bias_metrics=300)


def test_shard_rules_are_named_after_their_stack_within_eventbridge_rules() -> None:
    from stacks.foundation_stack import shard_rule_name

    assert shard_rule_name("acme-prod-models-07") == "acme-prod-models-07-state-changes"
    with pytest.raises(ValueError, match="at most 64 letters"):
        shard_rule_name(f"{'a' * 50}-models-07")

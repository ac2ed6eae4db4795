"""Models spread over stacks in config order, so appending never moves a model."""

from __future__ import annotations

import pytest

from config import load_config
from config.model import ModelConfig
from stacks.placement import shard_models


def _models(count: int) -> list[ModelConfig]:
    template = load_config().models[1]
    return [template.model_copy(update={"name": f"model-{i:03d}"}) for i in range(count)]


def test_shards_respect_the_limit_and_keep_order() -> None:
    shards = shard_models(_models(120), per_stack=25)
    assert [len(s.models) for s in shards] == [25, 25, 25, 25, 20]
    assert [m.name for s in shards for m in s.models] == [f"model-{i:03d}" for i in range(120)]
    assert [s.construct_id for s in shards] == [f"Models{i:02d}" for i in range(5)]


def test_appending_a_model_never_moves_existing_ones() -> None:
    before = {m.name: s.index for s in shard_models(_models(50), 25) for m in s.models}
    after = {m.name: s.index for s in shard_models(_models(51), 25) for m in s.models}
    assert all(after[name] == index for name, index in before.items())


def test_per_stack_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        shard_models(_models(2), 0)

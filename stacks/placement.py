"""Spread governed models over several stacks (CloudFormation allows 500 resources each)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from config.model import ModelConfig


@dataclass(frozen=True)
class ModelShard:
    """The models one registry/monitoring stack holds; ``index`` is stable for a model list."""

    index: int
    models: tuple[ModelConfig, ...]

    @property
    def construct_id(self) -> str:
        return f"Models{self.index:02d}"


def shard_models(models: Sequence[ModelConfig], per_stack: int) -> list[ModelShard]:
    """Place models in stacks of at most ``per_stack``, in config order.

    Order is kept so that appending a model to the config never moves an existing one to another
    stack (moving would replace its retained resources).
    """
    if per_stack < 1:
        raise ValueError(f"per_stack must be at least 1 (got {per_stack})")
    return [
        ModelShard(index=i // per_stack, models=tuple(models[i : i + per_stack]))
        for i in range(0, len(models), per_stack)
    ]

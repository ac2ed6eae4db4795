"""Organisation governance configuration: the typed model and its YAML loader."""

from config.loader import DEFAULT_CONFIG, ConfigError, load_config, parse_config
from config.model import (
    EffectiveApproval,
    Environment,
    GovernanceConfig,
    ModelConfig,
)
from governance.contracts.vocabulary import RiskTier

__all__ = [
    "DEFAULT_CONFIG",
    "ConfigError",
    "EffectiveApproval",
    "Environment",
    "GovernanceConfig",
    "ModelConfig",
    "RiskTier",
    "load_config",
    "parse_config",
]

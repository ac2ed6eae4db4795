"""Shared fixtures: the default governance config and the (slow to import) SageMaker SDK."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

from cdk_constructs.props import MonitoredModel
from config import GovernanceConfig, ModelConfig, RiskTier, load_config
from stacks.props import monitored_model


@pytest.fixture(scope="module", autouse=True)
def clarify_sdk() -> ModuleType:
    """``sagemaker.core.clarify``, imported once per module (2-3 s the first time).

    Autouse, so the import shows up in module setup instead of in whichever test runs first.
    """
    return importlib.import_module("sagemaker.core.clarify")


@pytest.fixture(scope="module")
def governance_config() -> GovernanceConfig:
    return load_config()


@pytest.fixture(scope="module")
def high_risk_model(governance_config: GovernanceConfig) -> ModelConfig:
    return next(m for m in governance_config.models if m.risk_tier is RiskTier.HIGH)


@pytest.fixture(scope="module")
def model_without_bias(governance_config: GovernanceConfig) -> ModelConfig:
    return next(m for m in governance_config.models if m.bias is None)


@pytest.fixture(scope="module")
def high_risk(high_risk_model: ModelConfig, governance_config: GovernanceConfig) -> MonitoredModel:
    """What the monitoring engine is given of the high-risk model."""
    return monitored_model(high_risk_model, governance_config.governance)


@pytest.fixture(scope="module")
def without_bias(
    model_without_bias: ModelConfig, governance_config: GovernanceConfig
) -> MonitoredModel:
    return monitored_model(model_without_bias, governance_config.governance)

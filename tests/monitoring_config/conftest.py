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


def _in_prod(model: ModelConfig, config: GovernanceConfig) -> ModelConfig:
    """``model`` as the default config's prod environment (Model Monitor, every model served)
    deploys it."""
    prod = next(e for e in config.environments if e.name == "prod")
    assert prod.region is not None
    assert prod.account is not None
    served = model.for_environment(prod, partition="aws", region=prod.region, account=prod.account)
    assert served.deployment is not None, f"{model.name} is not served in prod"
    return served


@pytest.fixture(scope="module")
def high_risk_model(governance_config: GovernanceConfig) -> ModelConfig:
    model = next(m for m in governance_config.models if m.risk_tier is RiskTier.HIGH)
    return _in_prod(model, governance_config)


@pytest.fixture(scope="module")
def model_without_bias(governance_config: GovernanceConfig) -> ModelConfig:
    model = next(m for m in governance_config.models if m.bias is None)
    return _in_prod(model, governance_config)


@pytest.fixture(scope="module")
def high_risk(high_risk_model: ModelConfig, governance_config: GovernanceConfig) -> MonitoredModel:
    """What the monitoring engine is given of the high-risk model."""
    return monitored_model(high_risk_model, governance_config.governance)


@pytest.fixture(scope="module")
def without_bias(
    model_without_bias: ModelConfig, governance_config: GovernanceConfig
) -> MonitoredModel:
    return monitored_model(model_without_bias, governance_config.governance)

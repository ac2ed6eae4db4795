"""Environments are first-class: per environment a version (or none) and its own sizing."""

from __future__ import annotations

import pytest
import yaml

from config import DEFAULT_CONFIG, load_config, names, parse_config
from config.model import Environment, GovernanceConfig, ModelConfig
from tests.conftest import REPO

EXAMPLE = REPO / "config" / "examples" / "multi-environment.yaml"


@pytest.fixture(scope="module")
def example() -> GovernanceConfig:
    return load_config(EXAMPLE)


def _model(config: GovernanceConfig, name: str) -> ModelConfig:
    return next(m for m in config.models if m.name == name)


def _in(config: GovernanceConfig, model: str, environment: str) -> ModelConfig:
    env = config.environment(environment)
    assert env.partition is not None
    assert env.region is not None
    assert env.account is not None
    return _model(config, model).for_environment(
        env, partition=env.partition, region=env.region, account=env.account
    )


def test_each_environment_serves_its_own_version_in_its_own_account_and_region(
    example: GovernanceConfig,
) -> None:
    dev = _in(example, "credit-default", "dev").deployment
    prod = _in(example, "credit-default", "prod").deployment
    assert dev is not None
    assert prod is not None
    assert dev.model_package_arn == (
        "arn:aws:sagemaker:us-east-1:222233334444:model-package/credit-default/12"
    )
    assert prod.model_package_arn == (
        "arn:aws:sagemaker:eu-west-1:111122223333:model-package/credit-default/9"
    )
    assert dev.environments == {}
    assert prod.environments == {}


def test_sizing_is_overridden_per_environment_and_inherited_otherwise(
    example: GovernanceConfig,
) -> None:
    dev = _in(example, "credit-default", "dev").deployment
    prod = _in(example, "credit-default", "prod").deployment
    assert dev is not None
    assert prod is not None
    # dev overrides instance type and capture; prod overrides the count
    assert (dev.instance_type, dev.initial_instance_count, dev.data_capture_percentage) == (
        "ml.m5.large",
        1,
        100,
    )
    assert (prod.instance_type, prod.initial_instance_count, prod.data_capture_percentage) == (
        "ml.m5.xlarge",
        2,
        50,
    )
    # what no environment overrides is the deployment's
    assert dev.monitor_max_runtime_seconds == prod.monitor_max_runtime_seconds == 1800
    assert dev.ground_truth_s3_uri == prod.ground_truth_s3_uri


def test_an_environment_mapped_to_null_or_left_out_serves_nothing(
    example: GovernanceConfig,
) -> None:
    assert _in(example, "claims-severity", "dev").deployment is not None
    assert _in(example, "claims-severity", "prod").deployment is None  # prod: null
    assert _in(example, "customer-segment", "prod").deployment is None  # no deployment
    assert [m.name for m in example.models_served_in("prod")] == [
        "credit-default",
        "fraud-detection",
    ]


def test_partition_comes_from_the_region() -> None:
    # Outside the aws partition the Powertools layer must be named (no public SSM parameter).
    cn_layer = "arn:aws-cn:lambda:cn-north-1:498634801083:layer:AWSLambdaPowertoolsPythonV3:1"
    gov_layer = (
        "arn:aws-us-gov:lambda:us-gov-west-1:165093116878:layer:AWSLambdaPowertoolsPythonV3:1"
    )
    cn = Environment(name="cn", region="cn-north-1", handlers={"powertools_layer_arn": cn_layer})
    gov = Environment(
        name="gov", region="us-gov-west-1", handlers={"powertools_layer_arn": gov_layer}
    )
    assert cn.partition == "aws-cn"
    assert gov.partition == "aws-us-gov"
    assert Environment(name="any").partition is None


def test_an_open_environment_gets_the_arn_from_the_stacks_values() -> None:
    # Given a model that names its version per environment, and an environment without account
    # or region (the stacks pass CloudFormation's pseudo parameters for those)
    data = load_config().models[0].model_dump(mode="json")
    data["deployment"].update(model_package_arn="", environments={"any": {"package_version": 4}})
    model = ModelConfig.model_validate(data)
    open_env = Environment(name="any")
    # When the model is resolved there, Then the ARN is built from the stack's values
    deployment = model.for_environment(open_env, partition="P", region="R", account="A").deployment
    assert deployment is not None
    assert deployment.model_package_arn == "arn:P:sagemaker:R:A:model-package/credit-default/4"
    # And an environment it does not name serves nothing
    other = Environment(name="other")
    assert model.for_environment(other, partition="P", region="R", account="A").deployment is None


def test_a_single_arn_serves_every_environment_unchanged() -> None:
    # Given the one-environment form (about that shape): the default config cut to prod, whose
    # credit-default names its version by deployment.model_package_arn
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data["environments"] = data["environments"][:1]
    deployment = data["models"][0]["deployment"]
    version = deployment.pop("environments")["prod"]["package_version"]
    deployment["model_package_arn"] = (
        f"arn:aws:sagemaker:eu-west-1:111122223333:model-package/credit-default/{version}"
    )
    config = parse_config({**data, "models": data["models"][:1]}, DEFAULT_CONFIG)
    env = config.environments[0]
    model = config.models[0]
    assert model.deployment is not None
    resolved = model.for_environment(env, partition="x", region="y", account="z").deployment
    assert resolved is not None
    assert resolved.model_package_arn == model.deployment.model_package_arn


def test_environments_in_different_regions_of_one_account_do_not_collide(
    example: GovernanceConfig,
) -> None:
    data = example.model_dump(mode="json")
    data["environments"][0]["account"] = data["environments"][1]["account"]
    GovernanceConfig.model_validate(data)  # same account, other region: fine


def test_the_names_two_environments_would_share_are_three_per_model(
    example: GovernanceConfig,
) -> None:
    # The count: four models in one account and region clash on 12 names.
    shared = names.shared_names([m.name for m in example.models])
    assert len(shared) == 12
    assert "model card fraud-detection" in shared

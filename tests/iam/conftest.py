"""The synthesized default app read as one account's IAM, once per session."""

from __future__ import annotations

import pytest

from cdk_constructs.compliance.iam.account import Account
from cdk_constructs.compliance.iam.assembly import CloudAssembly
from cdk_constructs.compliance.iam.expectations import Scenario
from cdk_constructs.compliance.iam.vocabulary import ServiceAuthorizationReference
from tests.conftest import Assembly


@pytest.fixture(scope="session")
def cloud_assembly(default_assembly: Assembly) -> CloudAssembly:
    """The default config's first environment (prod): one account, as the expectations read it;
    the second environment (dev, the evidently engine) is another account."""
    from config import load_config

    prod = load_config().environments[0]
    loaded = CloudAssembly.load(default_assembly.outdir)
    return CloudAssembly(
        stacks={
            name: stack for name, stack in loaded.stacks.items() if stack.account == prod.account
        }
    )


@pytest.fixture(scope="session")
def account(cloud_assembly: CloudAssembly) -> Account:
    return Account.from_assembly(cloud_assembly)


@pytest.fixture(scope="session")
def sar() -> ServiceAuthorizationReference:
    return ServiceAuthorizationReference()


@pytest.fixture(scope="session")
def scenario(account: Account) -> Scenario:
    from config import load_config

    config = load_config()
    explained = [
        model
        for model in config.models
        if model.deployment is not None
        and model.deployment.explainability is not None
        and model.monitoring.explainability.enabled
    ]
    model = explained[0]
    deployment = model.deployment
    assert deployment is not None
    assert deployment.explainability is not None
    return Scenario.from_account(
        account,
        retraining_pipeline=model.retraining_pipeline_name,
        consumer_account=model.consumer_accounts[0] if model.consumer_accounts else None,
        shap_baseline_uri=deployment.explainability.baseline_s3_uri,
    )

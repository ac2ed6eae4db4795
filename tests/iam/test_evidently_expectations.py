"""The Evidently engine's roles against their expectation rows, on the two-engine example.

The default config has no Evidently engine, so the ``evidently-*`` rows of ``CALLS`` skip in
test_expectations. Here the prod environment of config/examples/two-engines.yaml (Model Monitor
for its endpoints, batch scoring through the Evidently engine's pipelines) is synthesized alone,
once, and every Evidently engine role must have rows that allow and forbid, each decided as the
row expects.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from cdk_constructs.compliance.iam.account import Account
from cdk_constructs.compliance.iam.assembly import CloudAssembly
from cdk_constructs.compliance.iam.expectations import (
    CALLS,
    Call,
    Expect,
    Scenario,
    evaluate_call,
)
from config import parse_config
from tests.conftest import REPO, cdk_context

TWO_ENGINES = REPO / "config" / "examples" / "two-engines.yaml"
EVIDENTLY_ROWS = [call for call in CALLS if call.id.startswith("evidently-")]


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Account:
    import aws_cdk as cdk

    from stacks.governance_app import build_governance

    data = copy.deepcopy(yaml.safe_load(TWO_ENGINES.read_text()))
    prod = data["environments"][0]["name"]
    data["environments"] = data["environments"][:1]  # prod only: one account
    for model in data["models"]:
        serving = model.get("deployment", {}).get("environments")
        if serving:
            model["deployment"]["environments"] = {prod: serving[prod]} if prod in serving else {}
    config = parse_config(data, TWO_ENGINES)
    outdir: Path = tmp_path_factory.mktemp("two-engines-prod")
    app = cdk.App(outdir=str(outdir), context=cdk_context(**{"aws:cdk:enable-path-metadata": True}))
    build_governance(app, config)
    app.synth()
    return Account.from_assembly(CloudAssembly.load(outdir))


@pytest.fixture(scope="module")
def scenario(account: Account) -> Scenario:
    return Scenario.from_account(account)


def test_every_evidently_engine_role_has_allow_and_deny_rows(account: Account) -> None:
    roles = {role.path for role in account.roles if "/EvidentlyEngine/" in f"/{role.path}"}
    assert roles, "the prod environment of the example has no Evidently engine"
    for role in roles:
        rows = {call.expect for call in EVIDENTLY_ROWS if account.role(call.who).path == role}
        assert rows == {Expect.ALLOW, Expect.DENY}, role


@pytest.mark.parametrize("call", [pytest.param(call, id=call.id) for call in EVIDENTLY_ROWS])
def test_evidently_row(call: Call, account: Account, scenario: Scenario) -> None:
    assert not scenario.missing(call.needs)
    outcome = evaluate_call(call, scenario, account)
    assert outcome.as_expected, outcome.explain()

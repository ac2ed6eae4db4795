"""The Evidently engine's roles against their expectation rows, on the default config.

The default config's prod account runs an Evidently engine for churn-propensity's batch scoring
(its endpoints are on Model Monitor), so every ``evidently-*`` row of ``CALLS`` is evaluated on
the session's default synth (the ``account`` and ``scenario`` fixtures, prod's account), never
skipped: every Evidently engine role must have rows that allow and forbid, each decided as the
row expects.
"""

from __future__ import annotations

import pytest

from cdk_constructs.compliance.iam.account import Account
from cdk_constructs.compliance.iam.expectations import (
    CALLS,
    Call,
    Expect,
    Scenario,
    evaluate_call,
)

EVIDENTLY_ROWS = [call for call in CALLS if call.id.startswith("evidently-")]


def test_every_evidently_engine_role_has_allow_and_deny_rows(account: Account) -> None:
    roles = {role.path for role in account.roles if "/EvidentlyEngine/" in f"/{role.path}"}
    assert roles, "the prod environment of the default config has no Evidently engine"
    for role in roles:
        rows = {call.expect for call in EVIDENTLY_ROWS if account.role(call.who).path == role}
        assert rows == {Expect.ALLOW, Expect.DENY}, role


@pytest.mark.parametrize("call", [pytest.param(call, id=call.id) for call in EVIDENTLY_ROWS])
def test_evidently_row(call: Call, account: Account, scenario: Scenario) -> None:
    # test_expectations.test_call skips a row whose needs the app lacks: these may not skip
    assert not scenario.missing(call.needs), scenario.missing(call.needs)
    outcome = evaluate_call(call, scenario, account)
    assert outcome.as_expected, outcome.explain()

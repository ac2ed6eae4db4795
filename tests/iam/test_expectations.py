"""Required and forbidden calls per role, evaluated against the synthesized policies.

Each row of ``CALLS`` (cdk_constructs/compliance/iam/expectations.py) cites the AWS document
that requires or forbids it. A row that fails today because of a defect another stream is
fixing is a strict xfail naming the issue item and the branch: when the fix merges, the mark
must go (strict xfail then fails loudly).
"""

from __future__ import annotations

import pytest

from cdk_constructs.compliance.iam.account import Account
from cdk_constructs.compliance.iam.expectations import (
    CALLS,
    Call,
    Expect,
    Scenario,
    calls_by_id,
    evaluate_call,
)
from cdk_constructs.compliance.iam.vocabulary import (
    GLOBAL_CONDITION_KEYS,
    ServiceAuthorizationReference,
)


def _case(call: Call) -> object:
    marks = [pytest.mark.xfail(strict=True, reason=call.known_defect)] if call.known_defect else []
    return pytest.param(call, id=call.id, marks=marks)


@pytest.mark.parametrize("call", [_case(call) for call in CALLS])
def test_call(call: Call, account: Account, scenario: Scenario) -> None:
    missing = scenario.missing(call.needs)
    if missing:
        pytest.skip(f"the synthesized app has no {', '.join(missing)}")
    outcome = evaluate_call(call, scenario, account)
    assert outcome.as_expected, outcome.explain()


@pytest.mark.parametrize("call", [pytest.param(call, id=call.id) for call in CALLS])
def test_call_uses_only_keys_aws_sends(call: Call, sar: ServiceAuthorizationReference) -> None:
    # A row may not pass on a context key the service never puts in the request: the key must
    # be global or listed by the SAR for the action.
    action = sar.action(call.action)
    for key in call.context:
        assert key.lower() in GLOBAL_CONDITION_KEYS or sar.key_applies(action, key), (
            f"{call.id}: {key} is not in the request context of {call.action}"
        )


def test_every_workload_and_persona_has_required_and_forbidden_rows() -> None:
    roles = {
        "JobRoles/Training",
        "JobRoles/Processing",
        "JobRoles/Monitoring",
        "JobRoles/Inference",
        "Handlers/ApprovalGate/Role",
        "Handlers/AuditLedger/Role",
        "Handlers/MonitoringViolations/Role",
        "Personas/DataScientist",
        "Personas/ModelApprover",
        "Personas/Auditor",
    }
    for role in roles:
        expectations = {call.expect for call in CALLS if call.who == role}
        assert expectations == {Expect.ALLOW, Expect.DENY}, role
    monitors = {call.id.split("/")[0] for call in CALLS if call.id.startswith("monitor-")}
    assert monitors == {
        "monitor-data-quality",
        "monitor-model-quality",
        "monitor-bias",
        "monitor-explainability",
    }


def test_every_row_cites_a_source_and_has_a_unique_id() -> None:
    assert len(calls_by_id()) == len(CALLS)
    for call in CALLS:
        assert call.source, call.id
        assert call.why, call.id
        assert call.known_defect is None or call.known_defect.startswith(
            ("issue 9 item", "not in issue 9")
        ), call.id


def test_auditor_is_read_only(account: Account, sar: ServiceAuthorizationReference) -> None:
    # Every action an auditor's identity policies allow is Read or List in the SAR, except
    # kms:Decrypt: the SAR files it under Write, but reading SSE-KMS evidence needs it.
    auditor = account.role("Personas/Auditor")
    writes = sorted(
        action.qualified
        for policy in auditor.identity_policies
        for statement in policy.statements
        if statement.effect == "Allow"
        for pattern in statement.actions or ("*",)
        for action in sar.actions(pattern)
        if action.access_level not in ("Read", "List") and action.qualified != "kms:Decrypt"
    )
    assert writes == []


def test_a_broken_policy_fails_its_row(account: Account, scenario: Scenario) -> None:
    # The table can fail: the same row against a role without the grant is denied.
    call = calls_by_id()["approval-gate/describe-version"]
    moved = Call(**{**call.__dict__, "who": "Personas/MlopsEngineer", "id": "probe"})
    assert evaluate_call(call, scenario, account).as_expected
    mlops_denied = evaluate_call(
        Call(**{**moved.__dict__, "who": "JobRoles/Training"}), scenario, account
    )
    assert not mlops_denied.as_expected


def test_every_role_the_app_emits_has_required_and_forbidden_rows(
    account: Account, scenario: Scenario
) -> None:
    # CDK-internal roles (custom-resource providers and the like) included: a role that
    # appears in the synthesized app without rows here has never been shown to work through
    # the permissions boundary, nor to be limited to what its handler calls. Rows for parts
    # the app does not have (their ``needs`` unmet, e.g. an Evidently engine) are left out.
    rows = [call for call in CALLS if not scenario.missing(call.needs)]
    covered = {
        role.path
        for call in rows
        if not call.who.startswith("service:") and call.who != "consumer"
        for role in [account.role(call.who)]
    }
    expectations: dict[str, set[Expect]] = {}
    for call in rows:
        if call.who.startswith("service:") or call.who == "consumer":
            continue
        expectations.setdefault(account.role(call.who).path, set()).add(call.expect)
    missing = sorted(role.path for role in account.roles if role.path not in covered)
    assert not missing, f"roles without rows in the expectations table: {missing}"
    one_sided = sorted(
        path for path, found in expectations.items() if found != {Expect.ALLOW, Expect.DENY}
    )
    assert not one_sided, f"roles without both a required and a forbidden row: {one_sided}"

"""Mutation suite: every weakening of a promised control fails the gate.

Given the templates the app synthesizes for the default config (the session's one synth), each
weakening of ``MUTATIONS`` is applied in memory, the registered packs run, and the weakened
resource must carry an error-level finding the unmutated baseline does not have.

- Our Governance pack runs on template JSON directly (``GovernanceChecks.check``).
- The public cdk-nag packs run on the construct tree, so the mutated templates are loaded with
  ``cloudformation_include`` into a fresh app with the same packs registered: one synth for the
  baseline and one for all public-pack weakenings together (they touch different resources).
  The included app carries none of the app's acknowledgments, which is why every finding is
  compared with the included baseline, never counted. Only the stacks the weakenings target
  (prod's foundation and models stacks) are included: the stacks are included apart, so a public
  rule, which reads its own stack, cannot find anything in another (dev's stacks stay out).
- Controls that cannot fail for the wrong reason: a null mutation (a description and a cost tag)
  adds no finding; a weakening adds no finding to a resource it did not touch; the real
  baseline has no unacknowledged Governance finding.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from cdk_constructs.compliance.governance_pack import GovernanceChecks
from cdk_constructs.compliance.rules import CLAIMS, PACK_NAME
from cdk_constructs.compliance.templates import StackTemplate, read_assembly
from tests.compliance_mutation.mutations import (
    FOUNDATION,
    MODELS,
    MUTATIONS,
    NULL_TARGETS,
    Mutation,
    Templates,
    locate,
    null_mutation,
)
from tests.conftest import Assembly

Finding = tuple[str, str, str]  # rule (without [detail]), stack name, logical id
ResourceKey = tuple[str, str]

# The weakenings issue 12 found passing without a finding.
ISSUE_12 = (
    "boundary-removed",
    "persona-approval-deny-removed",
    "object-lock-off",
    "ledger-aws-owned-key",
    "trail-stops-logging",
    "high-risk-schedule-stopped",
    "capture-at-zero",
    "governance-tag-lost",
)


def _is_governance(mutation: Mutation) -> bool:
    return mutation.rule.startswith(f"{PACK_NAME}-")


def _base_rule(rule_name: str) -> str:
    return rule_name.split("[", 1)[0]


def _touched(before: Templates, after: Templates) -> set[ResourceKey]:
    changed: set[ResourceKey] = set()
    for stack, template in before.items():
        mutated = after[stack]["Resources"]
        for logical_id in set(template["Resources"]) | set(mutated):
            if template["Resources"].get(logical_id) != mutated.get(logical_id):
                changed.add((stack, logical_id))
    return changed


@dataclass
class Batch:
    mutations: list[Mutation]
    touched: set[ResourceKey]
    # Where each mutation's finding must appear (a weakening may add the resource it targets).
    targets: dict[str, ResourceKey]


def _batches(baseline: Templates, mutations: Iterable[Mutation]) -> list[Batch]:
    """Mutations grouped so that no two in a group touch or target the same resource."""
    batches: list[Batch] = []
    for mutation in mutations:
        mutated = copy.deepcopy(baseline)
        mutation.apply(mutated)
        target = locate(mutated, mutation.target)
        reached = {locate(mutated, where) for where in mutation.reaches}
        footprint = _touched(baseline, mutated) | {target} | reached
        batch = next((b for b in batches if not b.touched & footprint), None)
        if batch is None:
            batches.append(Batch([mutation], footprint, {mutation.id: target}))
        else:
            batch.mutations.append(mutation)
            batch.touched |= footprint
            batch.targets[mutation.id] = target
    return batches


class GovernanceRunner:
    def __init__(self, stacks: list[StackTemplate]) -> None:
        self._stacks = stacks
        self._names = {stack.template_path: stack.stack_name for stack in stacks}

    def findings(self, templates: Templates) -> set[Finding]:
        stacks = [replace(s, template=templates[s.stack_name]) for s in self._stacks]
        report = GovernanceChecks().check(stacks)
        return {
            (_base_rule(v.rule_name), self._names[r.template_path], r.resource_logical_id)
            for v in report.violations
            if v.severity == "error"
            for r in v.violating_resources
        }


_OUTPUT = re.compile(r'\{"Fn::GetStackOutput": \{[^{}]*\}\}')


def _includable(template: dict[str, Any]) -> dict[str, Any]:
    """The template as ``CfnInclude`` reads it: no bootstrap-version check (the including
    stack has its own), and cross-stack outputs (which it cannot parse) as placeholders. No
    public rule the suite relies on reads the value of a cross-stack reference."""
    text = _OUTPUT.sub('"resolved-by-the-mutation-suite"', json.dumps(template))
    included: dict[str, Any] = json.loads(text)
    included.get("Parameters", {}).pop("BootstrapVersion", None)
    included.get("Rules", {}).pop("CheckBootstrapVersion", None)
    return included


def public_findings(templates: Templates, outdir: Path) -> set[Finding]:
    """Error-level findings of the registered public packs on ``templates``' targeted stacks
    (the foundation and models stacks the mutations name)."""
    import aws_cdk as cdk
    from aws_cdk import cloudformation_include as cfn_include

    from cdk_constructs.compliance.packs import PUBLIC_PACKS

    outdir.mkdir(parents=True)
    app = cdk.App(
        outdir=str(outdir / "cdk.out"),
        context={"@aws-cdk/core:failSynthOnValidationErrors": False},
    )
    targeted = {name: t for name, t in templates.items() if name.endswith((FOUNDATION, MODELS))}
    assert len(targeted) == 2, sorted(templates)
    for name, template in targeted.items():
        path = outdir / f"{name}.json"
        path.write_text(json.dumps(_includable(template)))
        cfn_include.CfnInclude(cdk.Stack(app, name), "T", template_file=str(path))
    cdk.Validations.of(app).add_plugins(*(pack(app) for pack in PUBLIC_PACKS))
    app.synth()
    report = json.loads((outdir / "cdk.out" / "validation-report.json").read_text())
    found: set[Finding] = set()
    for plugin in report["pluginReports"]:
        for violation in plugin["violations"]:
            if violation["severity"] != "error":
                continue
            for construct in violation["violatingConstructs"]:
                stack, _, logical_id = construct["constructPath"].split("/", 2)
                found.add((_base_rule(violation["ruleName"]), stack, logical_id))
    return found


@dataclass(frozen=True)
class Outcome:
    """What one mutation produced: the findings new in its batch, and where it reached."""

    new: set[Finding]
    touched: set[ResourceKey]
    target: ResourceKey


@pytest.fixture(scope="module")
def baseline(default_assembly: Assembly) -> Templates:
    return copy.deepcopy(default_assembly.templates)


@pytest.fixture(scope="module")
def governance(default_assembly: Assembly) -> GovernanceRunner:
    return GovernanceRunner(read_assembly(default_assembly.outdir))


NULL = "null"


@pytest.fixture(scope="module")
def outcomes(
    baseline: Templates,
    governance: GovernanceRunner,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Outcome]:
    """Each mutation's outcome by id; ``NULL`` is the null mutation run with the public packs
    (the Governance pack's null run is its own test)."""
    results: dict[str, Outcome] = {}
    root = tmp_path_factory.mktemp("mutations")
    null_footprint = {locate(baseline, where) for where in NULL_TARGETS}

    governance_baseline = governance.findings(baseline)
    for batch in _batches(baseline, [m for m in MUTATIONS if _is_governance(m)]):
        mutated = copy.deepcopy(baseline)
        for mutation in batch.mutations:
            mutation.apply(mutated)
        new = governance.findings(mutated) - governance_baseline
        for mutation in batch.mutations:
            results[mutation.id] = Outcome(new, batch.touched, batch.targets[mutation.id])

    # One synth for the baseline, one per batch of public-pack weakenings (with the null one).
    public_baseline = public_findings(baseline, root / "baseline")
    public = _batches(baseline, [m for m in MUTATIONS if not _is_governance(m)])
    for number, batch in enumerate(public):
        assert not batch.touched & null_footprint, "the null mutation's resources are targeted"
        mutated = copy.deepcopy(baseline)
        for mutation in batch.mutations:
            mutation.apply(mutated)
        null_mutation(mutated)
        touched = batch.touched | null_footprint
        new = public_findings(mutated, root / f"batch{number}") - public_baseline
        for mutation in batch.mutations:
            results[mutation.id] = Outcome(new, touched, batch.targets[mutation.id])
        if number == 0:
            results[NULL] = Outcome(new, touched, next(iter(null_footprint)))
    return results


@pytest.mark.parametrize("mutation", [pytest.param(m, id=m.id) for m in MUTATIONS])
def test_the_weakened_resource_gets_a_new_error_finding(
    mutation: Mutation, outcomes: dict[str, Outcome]
) -> None:
    outcome = outcomes[mutation.id]
    stack, logical_id = outcome.target
    assert (mutation.rule, stack, logical_id) in outcome.new, (
        f"{mutation.what}: no new {mutation.rule} on {mutation.target.path}; "
        f"new findings in its batch: {sorted(outcome.new)}"
    )


def test_a_weakening_adds_no_finding_where_it_did_not_reach(
    outcomes: dict[str, Outcome],
) -> None:
    # Cross-resource rules follow wiring, so a finding may only appear on a resource the batch
    # touched or targeted; anything else would be a rule failing for the wrong reason.
    stray = {
        finding
        for outcome in outcomes.values()
        for finding in outcome.new
        if (finding[1], finding[2]) not in outcome.touched
    }
    assert not stray, sorted(stray)


def test_null_mutation_adds_no_finding(
    baseline: Templates, governance: GovernanceRunner, outcomes: dict[str, Outcome]
) -> None:
    mutated = copy.deepcopy(baseline)
    null_mutation(mutated)
    null_footprint = {locate(baseline, where) for where in NULL_TARGETS}
    assert null_footprint <= _touched(baseline, mutated)
    # Our pack, on its own run
    assert governance.findings(mutated) == governance.findings(baseline)
    # The public packs, in the run of the first public batch
    on_null = {f for f in outcomes[NULL].new if (f[1], f[2]) in null_footprint}
    assert not on_null, sorted(on_null)


def test_the_baseline_has_no_unacknowledged_governance_finding(
    default_assembly: Assembly,
) -> None:
    reports = [
        report
        for report in default_assembly.report["pluginReports"]
        if report["pluginName"] == PACK_NAME
    ]
    assert all(not report["violations"] for report in reports), reports


def _all_mutations() -> tuple[Mutation, ...]:
    """These and the weakenings of resources only the two-engine example has (its module
    imports this one, so it is read here, not at import)."""
    from tests.compliance_mutation import test_two_engine_mutations

    return (*MUTATIONS, *test_two_engine_mutations.MUTATIONS)


def test_every_claim_enforced_at_synth_has_a_weakening() -> None:
    weakened = {claim for mutation in _all_mutations() for claim in mutation.claims}
    missing = sorted(
        claim.claim_id for claim in CLAIMS if claim.rules and claim.claim_id not in weakened
    )
    assert not missing, f"claims with rules but no weakening in MUTATIONS: {missing}"


def test_each_weakening_expects_a_rule_its_claims_name() -> None:
    claims = {claim.claim_id: claim for claim in CLAIMS}
    for mutation in _all_mutations():
        for claim_id in mutation.claims:
            assert mutation.rule in claims[claim_id].rules, (mutation.id, claim_id)


def test_the_issue_weakenings_are_in_the_table() -> None:
    assert set(ISSUE_12) <= {mutation.id for mutation in MUTATIONS}
    assert len({mutation.id for mutation in MUTATIONS}) == len(MUTATIONS)


# The packs over every mutation's templates: scheduled first (tests/conftest.py).
pytestmark = pytest.mark.slow

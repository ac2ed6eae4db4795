"""The claims → rules table: each promise is quoted, each rule exists and fails the gate."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cdk_constructs.compliance.packs import PUBLIC_PACKS, write_pack_manifest
from cdk_constructs.compliance.public_rules import ERROR, public_rule_levels
from cdk_constructs.compliance.rules import CLAIMS, PACK_NAME, RULES, Claim
from tests.conftest import REPO

# The controls issue 12 names; each must be in the table.
NAMED_CONTROLS = {
    "Separation of duties",
    "Encryption with our keys",
    "Immutability of audit evidence",
    "Monitoring in place and running",
    "Nothing dropped silently",
    "Boundaries on every role",
}


def _normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.claim_id)
def test_the_claim_is_quoted_from_its_document(claim: Claim) -> None:
    document = _normalised((REPO / claim.source).read_text())
    assert _normalised(claim.quote) in document, (
        f"{claim.claim_id}: {claim.source} no longer says {claim.quote!r}; re-review the claim "
        "in cdk_constructs/compliance/rules/claims.py"
    )


def test_claim_ids_are_unique_and_the_named_controls_are_covered() -> None:
    ids = [claim.claim_id for claim in CLAIMS]
    assert len(ids) == len(set(ids))
    assert {claim.control for claim in CLAIMS} >= NAMED_CONTROLS


def test_governance_rules_named_by_claims_exist() -> None:
    ours = {rule.finding_id for rule in RULES}
    named = {r for claim in CLAIMS for r in claim.rules if r.startswith(f"{PACK_NAME}-")}
    assert named - ours == set()


def test_public_rules_named_by_claims_fail_the_gate_in_a_registered_pack() -> None:
    levels = public_rule_levels()
    registered = {pack().read_pack_name for pack in PUBLIC_PACKS}
    for claim in CLAIMS:
        for rule in claim.rules:
            if rule.startswith(f"{PACK_NAME}-"):
                continue
            assert levels.get(rule) == ERROR, (
                f"{claim.claim_id}: {rule} is not an error-level rule of the pinned cdk-nag "
                f"(level: {levels.get(rule)})"
            )
            assert rule.rsplit("-", 1)[0] in registered, f"{rule}: its pack is not registered"


def test_the_catalogue_reader_finds_known_levels() -> None:
    # So that the test above cannot pass on an empty or misread catalogue
    levels = public_rule_levels()
    assert levels["AwsSolutions-KMS5"] == ERROR
    assert levels["Serverless-LambdaTracing"] == "warning"
    assert len(levels) > 300


def test_a_claim_without_rules_says_what_enforces_it_or_what_is_missing() -> None:
    for claim in CLAIMS:
        if not claim.rules:
            assert claim.elsewhere or claim.gap, claim.claim_id


def test_every_governance_rule_serves_a_claim() -> None:
    served = {r for claim in CLAIMS for r in claim.rules}
    assert {rule.finding_id for rule in RULES} - served == set()


def test_the_pack_manifest_carries_the_claims(tmp_path: Path) -> None:
    # The governance report renders from cdk.out alone: the claims travel in the manifest
    manifest = json.loads(write_pack_manifest(tmp_path).read_text())
    by_id = {claim["claimId"]: claim for claim in manifest["claims"]}
    assert set(by_id) == {claim.claim_id for claim in CLAIMS}
    assert by_id["IAM-1"]["rules"] == ["Governance-IAM1", "Governance-PIP2"]
    assert by_id["IAM-1"]["status"] == "enforced"

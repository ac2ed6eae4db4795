"""The audit ledger: records, chain, duplicates and contention against fakes; the DynamoDB and
S3 stores, the handler and the verifier end to end against moto."""

from __future__ import annotations

import itertools
import json
import runpy
import sys
from typing import Any

import pytest

from governance.__main__ import main
from governance.contracts.errors import InvalidEventError
from governance.data_access.ledger_store import DynamoDbLedgerStore, S3LedgerArchive
from governance.events import ModelPackageStateChange, parse_event, parse_governance_event
from governance.ledger import build_handler
from governance.logic import ledger
from governance.logic.ledger import LedgerStores, run_ledger, state_change_actors
from governance.sagemaker import ModelPackage

from .conftest import (
    AUDIT_BUCKET,
    CREDIT_DEFAULT_POLICY,
    GROUP,
    LEDGER_SETTINGS,
    LEDGER_TABLE,
    Aws,
    FakeLambdaContext,
    load_event,
    moto_client,
)
from .fakes import FakeArchive, FakeLedgerStore, FakeParameters, FakeRegistry

LIFECYCLE = [
    "state_change_pending_registration",
    "approval_bias_over_threshold",
    "governance_approval_verdict_failed",
    "state_change_rejected_by_gate",
    "governance_monitoring_violation",
]


def store(stores: LedgerStores) -> FakeLedgerStore:
    assert isinstance(stores.store, FakeLedgerStore)
    return stores.store


def archive(stores: LedgerStores) -> FakeArchive:
    assert isinstance(stores.archive, FakeArchive)
    return stores.archive


def registry(stores: LedgerStores) -> FakeRegistry:
    assert isinstance(stores.registry, FakeRegistry)
    return stores.registry


def record(stores: LedgerStores, name: str, **changes: Any) -> dict[str, Any]:
    """Let the ledger record a fixture; state changes find their package as it was then."""
    event = load_event(name)
    event.update(changes)
    if event["source"] == "aws.sagemaker":
        registry(stores).put(event["detail"])
    return run_ledger(parse_governance_event(event), stores, sleep=lambda _: None)


def record_lifecycle(stores: LedgerStores) -> list[dict[str, Any]]:
    for name in LIFECYCLE:
        record(stores, name)
    return list(store(stores).chain(GROUP))


# --- Records and chain (fakes) ---------------------------------------------------------------


def test_every_event_becomes_a_chained_record(ledger_stores: LedgerStores) -> None:
    # Given a version's life: registered, approved, failed by the gate, set back, then monitored
    # When the ledger receives each event
    records = record_lifecycle(ledger_stores)

    # Then each is one record, numbered 1..5 and chained by hash from the genesis value
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert records[0]["prev_hash"] == ledger.GENESIS_HASH
    for previous, current in itertools.pairwise(records):
        assert current["prev_hash"] == previous["hash"]
    for each in records:
        assert each["hash"] == ledger.record_hash(each)
        assert each["governed"] is True
        assert each["pk"] == GROUP
    assert ledger.verify_chain(records).intact

    # And each says who did what, from which status to which, why, and with what evidence
    registered, approved, verdict, rejected, violation = records
    assert (registered["from_status"], registered["to_status"]) == (None, "PendingManualApproval")
    assert (approved["from_status"], approved["to_status"]) == ("PendingManualApproval", "Approved")
    assert (rejected["from_status"], rejected["to_status"]) == ("Approved", "Rejected")
    assert "AWSReservedSSO_ModelApprover" in approved["actor"]
    assert "governance-approval-gate-role" in rejected["actor"]
    assert "user-profile d-7hq2kx0vbn4c/dana-lee" in approved["registrant"]
    assert approved["description"].startswith("Reviewed evaluation, bias and explainability")
    assert any(uri.endswith("clarify-bias/analysis.json") for uri in approved["evidence_uris"])
    assert approved["event_id"] == load_event("approval_bias_over_threshold")["id"]
    # And each state change names the pipeline execution that registered the version
    assert approved["produced_by_execution"] == (
        "arn:aws:sagemaker:eu-west-1:123456789012:pipeline/credit-default-training/"
        "execution/b7c8d9e0f1a2"
    )
    assert registered["produced_by_execution"].endswith("/execution/a1b2c3d4e5f6")
    assert verdict["produced_by_execution"] is None
    assert violation["produced_by_execution"] is None
    assert {each["schema_version"] for each in records} == {ledger.SCHEMA_VERSION}
    assert approved["event_source"] == "aws.sagemaker"
    assert approved["event_time"] == "2026-11-12T09:41:07Z"
    assert verdict["kind"] == "approval_verdict"
    assert verdict["verdict"]["verdict"] == "failed"
    assert verdict["verdict"]["action_taken"] == "status_set_to_Rejected"
    assert verdict["description"].startswith("bias_thresholds: DI=0.72 outside")
    assert (verdict["from_status"], verdict["to_status"]) == (None, None)
    assert violation["kind"] == "monitoring_violation"
    assert violation["description"].startswith("2 violation(s): annual_income: baseline_drift")
    assert violation["monitoring"]["endpoint_name"] == "credit-default-prod"
    assert violation["evidence_uris"][0].endswith("constraint_violations.json")
    # And each record is mirrored byte for byte under its zero-padded seq
    objects = archive(ledger_stores).objects
    assert sorted(objects) == [f"ledger/{GROUP}/{n:012d}.json" for n in range(1, 6)]
    for each in records:
        assert objects[f"ledger/{GROUP}/{each['seq']:012d}.json"].decode() == (
            ledger.canonical_json(each)
        )


def test_redelivered_event_is_recorded_once(ledger_stores: LedgerStores) -> None:
    # Given an approval already recorded
    first = record(ledger_stores, "approval_full_evidence")

    # When the same event arrives again (the idempotency record expired, or was never written)
    second = record(ledger_stores, "approval_full_evidence")

    # Then the duplicate marker recognises it: one record, reported as a duplicate
    assert (first["result"], second["result"]) == ("recorded", "duplicate")
    assert second["seq"] == first["seq"] == 1
    assert len(list(store(ledger_stores).chain(GROUP))) == 1


@pytest.mark.parametrize(
    "fixture", ["governance_approval_verdict_failed", "governance_monitoring_violation"]
)
def test_republished_outcome_with_a_new_event_id_is_recorded_once(
    ledger_stores: LedgerStores, fixture: str
) -> None:
    # Given a verdict / monitoring outcome recorded
    record(ledger_stores, fixture)

    # When its producer retries and publishes the same outcome under a new EventBridge id
    result = record(ledger_stores, fixture, id="3b4c5d6e-7f80-4912-a3b4-c5d6e7f80912")

    # Then the stable key (sourceEventId / recordId) keeps it to one record
    assert result["result"] == "duplicate"
    assert len(list(store(ledger_stores).chain(GROUP))) == 1


def test_unknown_group_is_recorded_as_ungoverned(ledger_stores: LedgerStores) -> None:
    # Given an event from a group without a policy parameter
    result = record(ledger_stores, "approval_unknown_group")

    # Then it is recorded all the same, in its own chain, flagged governed=false, and says why
    assert result["governed"] is False
    assert "is not governed" in result["notGovernedBecause"]
    [recorded] = store(ledger_stores).chain("fraud-scoring-sandbox")
    assert recorded["governed"] is False
    assert recorded["to_status"] == "Approved"


def test_invalid_policy_still_records_and_says_why(ledger_stores: LedgerStores) -> None:
    assert isinstance(ledger_stores.parameters, FakeParameters)
    ledger_stores.parameters.policies[GROUP] = {**CREDIT_DEFAULT_POLICY, "risk_tier": "critical"}
    result = record(ledger_stores, "approval_full_evidence")
    assert result["governed"] is False
    assert "field 'risk_tier': got 'critical'" in result["notGovernedBecause"]


def test_malformed_events_raise_naming_the_field() -> None:
    missing_arn = load_event("malformed_missing_package_arn")
    foreign = load_event("governance_monitoring_violation")
    foreign["detail-type"] = "Model Retraining Started"
    with pytest.raises(InvalidEventError, match=r"detail\.ModelPackageArn"):
        parse_governance_event(missing_arn)
    with pytest.raises(InvalidEventError, match="Model Retraining Started"):
        parse_governance_event(foreign)


# --- Who did it (the documented event names nobody) ------------------------------------------


def _without_identities(name: str) -> dict[str, Any]:
    event = load_event(name)
    event["detail"].pop("CreatedBy", None)
    event["detail"].pop("LastModifiedBy", None)
    return event


def _package(name: str, **changes: Any) -> ModelPackage:
    return ModelPackage.model_validate({**load_event(name)["detail"], **changes})


def test_actor_is_read_from_the_package_when_the_event_names_nobody() -> None:
    # Given the documented event (no CreatedBy/LastModifiedBy) and the package still Approved
    change = parse_event(_without_identities("approval_full_evidence"), ModelPackageStateChange)

    # When the actors are resolved from DescribeModelPackage
    actors = state_change_actors(change, _package("approval_full_evidence"))

    # Then the approver and the registrant come from the package
    assert "AWSReservedSSO_ModelApprover" in actors.actor
    assert "user-profile d-7hq2kx0vbn4c/dana-lee" in actors.registrant


def test_actor_is_unknown_with_the_reason_when_the_package_moved_on() -> None:
    # Given the gate reverted the approval before the ledger read the package
    change = parse_event(_without_identities("approval_full_evidence"), ModelPackageStateChange)
    reverted = _package(
        "approval_full_evidence",
        ModelApprovalStatus="Rejected",
        LastModifiedBy={"IamIdentity": {"Arn": "arn:aws:sts::1:assumed-role/gate-role/gate"}},
    )

    # When the actors are resolved
    actors = state_change_actors(change, reverted)

    # Then the approver is not guessed from the gate's change, and the record says why
    assert actors.actor.startswith("<unknown: the version is now Rejected, changed by")
    assert "gate-role" in actors.actor
    assert "dana-lee" in actors.registrant


def test_package_that_cannot_be_read_is_recorded_with_the_reason(
    ledger_stores: LedgerStores,
) -> None:
    # Given a package the ledger may not read (e.g. deleted since)
    event = _without_identities("approval_full_evidence")
    registry(ledger_stores).unreadable[event["detail"]["ModelPackageArn"]] = "ValidationException"

    # When the event is recorded
    run_ledger(parse_governance_event(event), ledger_stores)

    # Then the record exists and its actor says why nobody is named
    [recorded] = store(ledger_stores).chain(GROUP)
    assert recorded["actor"] == (
        "<unknown: DescribeModelPackage arn:aws:sagemaker:eu-west-1:123456789012:"
        "model-package/credit-default/1: ValidationException>"
    )


def test_version_without_generated_by_is_recorded_as_none_recorded(
    ledger_stores: LedgerStores,
) -> None:
    # Given a version registered outside the governed pipeline (no MetadataProperties)
    event = load_event("approval_full_evidence")
    del event["detail"]["MetadataProperties"]

    # When its state change is recorded
    record(ledger_stores, "approval_full_evidence", detail=event["detail"])

    # Then the record says explicitly that no producing execution is recorded
    [recorded] = store(ledger_stores).chain(GROUP)
    assert recorded["produced_by_execution"] == ledger.NO_EXECUTION_RECORDED
    assert ledger.verify_chain([recorded]).intact


def test_generated_by_that_is_not_an_execution_is_not_taken_for_one() -> None:
    # Given a version whose GeneratedBy names something other than a pipeline execution
    package = _package("approval_full_evidence", MetadataProperties={"GeneratedBy": "laptop"})

    # When the producing execution is read
    produced_by = ledger.producing_execution(package)

    # Then none is recorded, and the record shows what was there
    assert produced_by == "<none recorded: GeneratedBy is 'laptop', not a pipeline execution ARN>"


def test_unreadable_package_records_why_no_execution_is_named(
    ledger_stores: LedgerStores,
) -> None:
    event = load_event("approval_full_evidence")
    registry(ledger_stores).unreadable[event["detail"]["ModelPackageArn"]] = "AccessDenied"

    run_ledger(parse_governance_event(event), ledger_stores)

    [recorded] = store(ledger_stores).chain(GROUP)
    assert recorded["produced_by_execution"].startswith("<none recorded: DescribeModelPackage")


def test_schema_1_records_without_the_field_still_verify() -> None:
    # Given a chain written before the field existed (schema 1: no produced_by_execution)
    first: dict[str, Any] = {"pk": GROUP, "seq": 1, "prev_hash": ledger.GENESIS_HASH}
    first.update(schema_version=1, kind="model_package_state_change")
    first["hash"] = ledger.record_hash(first)

    # Then it verifies as stored
    assert ledger.verify_chain([first]).intact


# --- Contention and partial failures (fakes) ------------------------------------------------


def test_lost_race_rereads_the_head_and_retries(ledger_stores: LedgerStores) -> None:
    # Given a competing writer that appends the registration while we prepare the approval
    competitor = {"pending": True}

    def compete() -> None:
        if competitor.pop("pending", False):
            record(ledger_stores, "state_change_pending_registration")

    store(ledger_stores).before_append = compete

    # When we append the approval
    result = record(ledger_stores, "approval_full_evidence")

    # Then our first write lost seq 1, the retry took seq 2, and the chain is intact
    assert store(ledger_stores).transactions == 3
    assert result["seq"] == 2
    records = list(store(ledger_stores).chain(GROUP))
    assert [r["event_id"] for r in records] == [
        load_event("state_change_pending_registration")["id"],
        load_event("approval_full_evidence")["id"],
    ]
    assert records[1]["from_status"] == "PendingManualApproval"
    assert ledger.verify_chain(records).intact


def test_persistent_contention_gives_up_with_a_clear_error(ledger_stores: LedgerStores) -> None:
    # Given a group where every attempt loses to another writer
    counter = itertools.count()
    waits: list[float] = []

    def always_first() -> None:
        registration = load_event("state_change_pending_registration")
        registration["id"] = f"competitor-{next(counter)}"
        store(ledger_stores).before_append = None
        run_ledger(parse_governance_event(registration), ledger_stores)
        store(ledger_stores).before_append = always_first

    store(ledger_stores).before_append = always_first

    # When / Then the append stops after a bounded number of attempts (EventBridge retries)
    with pytest.raises(ledger.LedgerContentionError, match="after 8 attempts"):
        run_ledger(
            parse_governance_event(load_event("approval_full_evidence")),
            ledger_stores,
            sleep=waits.append,
        )
    # And it backed off between attempts, with jitter within a growing bound
    assert len(waits) == ledger.MAX_APPEND_ATTEMPTS
    assert all(0 <= wait <= 0.05 * 2**attempt for attempt, wait in enumerate(waits))


def test_retry_after_failed_mirror_completes_the_mirror(ledger_stores: LedgerStores) -> None:
    # Given the record was written but mirroring it failed
    archive(ledger_stores).failing_puts = 1
    with pytest.raises(RuntimeError, match="S3 unavailable"):
        record(ledger_stores, "approval_full_evidence")

    # When the event is retried
    result = record(ledger_stores, "approval_full_evidence")

    # Then it is not recorded twice, and the mirror object now exists
    assert result["result"] == "duplicate"
    [recorded] = store(ledger_stores).chain(GROUP)
    assert json.loads(archive(ledger_stores).objects[result["objectKey"]]) == json.loads(
        ledger.canonical_json(recorded)
    )


def test_stopped_monitoring_run_is_described(ledger_stores: LedgerStores) -> None:
    event = load_event("governance_monitoring_violation")
    event["detail"].update(outcome="monitoring_stopped", violations=[], failureReason=None)
    run_ledger(parse_governance_event(event), ledger_stores)
    [recorded] = store(ledger_stores).chain(GROUP)
    assert recorded["description"] == "monitoring job stopped: no reason given"
    assert recorded["action"] == "data_quality monitoring monitoring_stopped"


# --- Verification (pure) ---------------------------------------------------------------------


def test_tampered_record_breaks_its_own_hash(ledger_stores: LedgerStores) -> None:
    records = record_lifecycle(ledger_stores)
    records[1]["description"] = "Approved after review"
    result = ledger.verify_chain(records)
    assert (result.broken_seq, result.problem) == (2, "hash mismatch")
    assert "chain broken at seq 2: hash mismatch" in str(result)


def test_tampering_that_rehashes_breaks_the_next_link(ledger_stores: LedgerStores) -> None:
    records = record_lifecycle(ledger_stores)
    records[2]["description"] = "all checks passed"
    records[2]["hash"] = ledger.record_hash(records[2])
    result = ledger.verify_chain(records)
    assert (result.broken_seq, result.problem) == (4, "prev_hash mismatch")


def test_deleted_record_is_a_gap(ledger_stores: LedgerStores) -> None:
    records = record_lifecycle(ledger_stores)
    del records[1]
    result = ledger.verify_chain(records)
    assert (result.broken_seq, result.problem) == (2, "gap in seq")
    assert "seq 2 is missing, next record is seq 3" in str(result)


# --- End to end (moto) -----------------------------------------------------------------------


def _tamper(aws: Aws, seq: int, **changes: str) -> None:
    names = {f"#k{i}": key for i, key in enumerate(changes)}
    values = {f":v{i}": {"S": value} for i, value in enumerate(changes.values())}
    aws.dynamodb.update_item(
        TableName=LEDGER_TABLE,
        Key={"pk": {"S": GROUP}, "seq": {"N": str(seq)}},
        UpdateExpression="SET " + ", ".join(f"#k{i} = :v{i}" for i in range(len(changes))),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


def _record_lifecycle_in_moto(aws: Aws, context: FakeLambdaContext) -> list[dict[str, Any]]:
    handler = build_handler(LEDGER_SETTINGS, moto_client)
    for name in LIFECYCLE:
        handler(load_event(name), context)
    return aws.ledger_items()


def test_lifecycle_is_chained_in_dynamodb_and_locked_in_s3(
    aws: Aws, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the approved version in the registry
    aws.register(load_event("approval_bias_over_threshold"))

    # When the ledger handler receives the lifecycle
    records = _record_lifecycle_in_moto(aws, lambda_context)

    # Then the chain is intact, the approval's actor read from the package
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert ledger.verify_chain(records).intact
    assert "AWSReservedSSO_ModelApprover" in records[1]["actor"]
    # And every record is in the audit bucket, under the bucket's default Object Lock retention
    listed = aws.s3.list_objects_v2(Bucket=AUDIT_BUCKET, Prefix=f"ledger/{GROUP}/")["Contents"]
    assert [o["Key"] for o in listed] == [f"ledger/{GROUP}/{n:012d}.json" for n in range(1, 6)]
    head = aws.s3.head_object(Bucket=AUDIT_BUCKET, Key=f"ledger/{GROUP}/{1:012d}.json")
    assert head.get("ObjectLockMode") == "COMPLIANCE"
    body = aws.s3.get_object(Bucket=AUDIT_BUCKET, Key=f"ledger/{GROUP}/{2:012d}.json")["Body"]
    assert body.read().decode() == ledger.canonical_json(records[1])
    # And the verifier reads all pages and says so
    assert main(["verify-ledger", "--table", LEDGER_TABLE, "--group", GROUP], aws.dynamodb) == 0
    assert "chain intact: 5 record(s)" in capsys.readouterr().out
    paged = list(DynamoDbLedgerStore(aws.dynamodb, LEDGER_TABLE).chain(GROUP, page_size=2))
    assert paged == records


def test_documented_event_gets_its_actor_from_the_registry(
    aws: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given an approved package in the registry and the event as documented, naming nobody
    aws.register(load_event("approval_full_evidence"))

    # When the ledger records it
    build_handler(LEDGER_SETTINGS, moto_client)(
        _without_identities("approval_full_evidence"), lambda_context
    )

    # Then DescribeModelPackage supplied who approved and who registered
    [recorded] = aws.ledger_items()
    assert "AWSReservedSSO_ModelApprover" in recorded["actor"]
    assert "dana-lee" in recorded["registrant"]


def test_redelivered_event_returns_the_stored_result(
    aws: Aws, lambda_context: FakeLambdaContext
) -> None:
    handler = build_handler(LEDGER_SETTINGS, moto_client)
    first = handler(load_event("governance_approval_verdict_failed"), lambda_context)
    second = handler(load_event("governance_approval_verdict_failed"), lambda_context)
    assert second == first
    assert len(aws.ledger_items()) == 1


@pytest.mark.filterwarnings("ignore:Disabling idempotency")
def test_duplicate_marker_holds_in_dynamodb_without_the_idempotency_layer(
    aws: Aws, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_IDEMPOTENCY_DISABLED", "1")
    handler = build_handler(LEDGER_SETTINGS, moto_client)
    handler(load_event("governance_monitoring_violation"), lambda_context)
    result = handler(load_event("governance_monitoring_violation"), lambda_context)
    assert (result["result"], result["seq"]) == ("duplicate", 1)
    assert len(aws.ledger_items()) == 1


class RacingDynamoDB:
    """Lets another writer append to the same group just before our first transaction."""

    def __init__(self, real: Any, competitor: Any) -> None:
        self._real = real
        self._competitor = competitor
        self.transactions = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def transact_write_items(self, **kwargs: Any) -> Any:
        self.transactions += 1
        if self._competitor is not None:
            competitor, self._competitor = self._competitor, None
            competitor()
        return self._real.transact_write_items(**kwargs)


def test_dynamodb_refuses_a_taken_seq_and_the_append_retries(aws: Aws) -> None:
    # Given a competing writer that takes seq 1 just before our transaction
    stores = LedgerStores(
        parameters=FakeParameters(policies={GROUP: CREDIT_DEFAULT_POLICY}),
        registry=FakeRegistry(
            unreadable={load_event("approval_full_evidence")["detail"]["ModelPackageArn"]: "x"}
        ),
        store=DynamoDbLedgerStore(aws.dynamodb, LEDGER_TABLE),
        archive=S3LedgerArchive(aws.s3, bucket=AUDIT_BUCKET, prefix="ledger/"),
    )
    racing = RacingDynamoDB(
        aws.dynamodb,
        lambda: run_ledger(
            parse_governance_event(load_event("governance_approval_verdict_failed")), stores
        ),
    )
    racing_stores = LedgerStores(
        stores.parameters,
        stores.registry,
        DynamoDbLedgerStore(racing, LEDGER_TABLE),
        stores.archive,
    )

    # When we append
    result = run_ledger(
        parse_governance_event(load_event("approval_full_evidence")),
        racing_stores,
        sleep=lambda _: None,
    )

    # Then the conditional put refused seq 1 and the retry took seq 2
    assert racing.transactions == 2
    assert result["seq"] == 2
    assert ledger.verify_chain(aws.ledger_items()).intact


@pytest.mark.filterwarnings("ignore:'governance.__main__' found in sys.modules")
def test_verify_cli_names_a_tampered_record(
    aws: Aws,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a recorded lifecycle with record 4 tampered with
    _record_lifecycle_in_moto(aws, lambda_context)
    _tamper(aws, 4, actor="someone else")
    argv = ["governance", "verify-ledger", "--table", LEDGER_TABLE, "--group", GROUP]
    monkeypatch.setattr(sys, "argv", [*argv, "--region", "eu-west-1"])

    # When `python -m governance verify-ledger ...` runs (its own client, from the environment)
    with pytest.raises(SystemExit) as exited:
        runpy.run_module("governance", run_name="__main__")

    # Then it exits non-zero naming the first broken link
    assert exited.value.code == 1
    assert "chain broken at seq 4: hash mismatch" in capsys.readouterr().err

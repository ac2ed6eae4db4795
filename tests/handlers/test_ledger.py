"""The audit ledger against moto: records, hash chain, S3 mirror, duplicates, races, tampering."""

from __future__ import annotations

import itertools
import json
import runpy
import sys
from typing import Any

import pytest

from governance import ledger
from governance.__main__ import main
from governance.events import EventValidationError, parse_event

from .conftest import AUDIT_BUCKET, GROUP, LEDGER_TABLE, Aws, FakeLambdaContext, load_event

LIFECYCLE = [
    "state_change_pending_registration",
    "approval_bias_over_threshold",
    "governance_approval_verdict_failed",
    "state_change_rejected_by_gate",
    "governance_monitoring_violation",
]


def _record_lifecycle(aws: Aws, context: FakeLambdaContext) -> list[dict[str, Any]]:
    for name in LIFECYCLE:
        ledger.handler(load_event(name), context)
    return aws.ledger_items()


def test_every_event_becomes_a_chained_record(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    # Given a version's life: registered, approved, failed by the gate, set back, then monitored
    # (the handler building its own clients from the environment, as on a cold start)
    ledger.reset()

    # When the ledger receives each event
    records = _record_lifecycle(aws, lambda_context)

    # Then each is one record, numbered 1..5 and chained by hash from the genesis value
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert records[0]["prev_hash"] == ledger.GENESIS_HASH
    for previous, current in itertools.pairwise(records):
        assert current["prev_hash"] == previous["hash"]
    for record in records:
        assert record["hash"] == ledger.record_hash(record)
        assert record["governed"] is True
        assert record["pk"] == GROUP
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


def test_records_are_mirrored_to_the_audit_bucket(
    aws: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given the lifecycle recorded
    records = _record_lifecycle(aws, lambda_context)

    # When the audit bucket is read
    listed = aws.s3.list_objects_v2(Bucket=AUDIT_BUCKET, Prefix=f"ledger/{GROUP}/")["Contents"]

    # Then each record is there, under its zero-padded seq, byte-for-byte the canonical record
    assert [o["Key"] for o in listed] == [f"ledger/{GROUP}/{n:012d}.json" for n in range(1, 6)]
    for record in records:
        obj = aws.s3.get_object(
            Bucket=AUDIT_BUCKET, Key=f"ledger/{GROUP}/{record['seq']:012d}.json"
        )
        assert obj["ContentType"] == "application/json"
        assert obj["Body"].read().decode() == ledger.canonical_json(record)
    # And the bucket's default Object Lock retention applies without the ledger asking for it
    head = aws.s3.head_object(Bucket=AUDIT_BUCKET, Key=f"ledger/{GROUP}/{1:012d}.json")
    assert head.get("ObjectLockMode") == "COMPLIANCE"


def test_redelivered_event_is_recorded_once(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    # Given an approval already recorded
    first = ledger.handler(load_event("approval_full_evidence"), lambda_context)

    # When EventBridge delivers it again
    second = ledger.handler(load_event("approval_full_evidence"), lambda_context)

    # Then there is still one record and the same result
    assert second == first
    assert len(aws.ledger_items()) == 1


@pytest.mark.filterwarnings("ignore:Disabling idempotency")
def test_duplicate_marker_holds_without_the_idempotency_layer(
    aws: Aws, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Powertools idempotency is out of the picture (e.g. its record expired)
    monkeypatch.setenv("POWERTOOLS_IDEMPOTENCY_DISABLED", "1")
    ledger.handler(load_event("approval_full_evidence"), lambda_context)

    # When the same event arrives again
    result = ledger.handler(load_event("approval_full_evidence"), lambda_context)

    # Then the transaction's marker recognises it: one record, reported as a duplicate
    assert result["result"] == "duplicate"
    assert result["seq"] == 1
    assert len(aws.ledger_items()) == 1


@pytest.mark.parametrize(
    "fixture", ["governance_approval_verdict_failed", "governance_monitoring_violation"]
)
def test_republished_outcome_with_a_new_event_id_is_recorded_once(
    aws: Aws, lambda_context: FakeLambdaContext, fixture: str
) -> None:
    # Given a verdict / monitoring outcome recorded
    ledger.handler(load_event(fixture), lambda_context)

    # When its producer retries and publishes the same outcome under a new EventBridge id
    again = load_event(fixture)
    again["id"] = "3b4c5d6e-7f80-4912-a3b4-c5d6e7f80912"
    result = ledger.handler(again, lambda_context)

    # Then the stable key (sourceEventId / recordId) keeps it to one record
    assert result["result"] == "duplicate"
    assert len(aws.ledger_items()) == 1


def test_unknown_group_is_recorded_as_ungoverned(
    aws: Aws, lambda_context: FakeLambdaContext, caplog: pytest.LogCaptureFixture
) -> None:
    # Given an event from a group without a policy parameter
    event = load_event("approval_unknown_group")

    # When the ledger receives it
    result = ledger.handler(event, lambda_context)

    # Then it is recorded all the same, in its own chain, flagged governed=false
    assert result["governed"] is False
    [record] = list(ledger.read_chain(aws.dynamodb, LEDGER_TABLE, "fraud-scoring-sandbox"))
    assert record["governed"] is False
    assert record["to_status"] == "Approved"


def test_malformed_event_raises_naming_the_field(
    aws: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given events the ledger cannot interpret
    missing_arn = load_event("malformed_missing_package_arn")
    foreign = load_event("governance_monitoring_violation")
    foreign["detail-type"] = "Model Retraining Started"

    # When / Then each raises an error naming what is wrong, and nothing is recorded
    with pytest.raises(EventValidationError, match=r"detail\.ModelPackageArn"):
        ledger.handler(missing_arn, lambda_context)
    with pytest.raises(EventValidationError, match="Model Retraining Started"):
        ledger.handler(foreign, lambda_context)
    assert aws.ledger_items() == []


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


def test_verify_cli_reports_an_intact_chain(
    aws: Aws, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a recorded lifecycle
    _record_lifecycle(aws, lambda_context)

    # When the CLI verifies the group
    code = main(["verify-ledger", "--table", LEDGER_TABLE, "--group", GROUP], aws.dynamodb)

    # Then it exits 0 and says how many records it checked
    assert code == 0
    assert "chain intact: 5 record(s)" in capsys.readouterr().out


def test_chain_is_read_across_query_pages(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    # Given five records
    expected = _record_lifecycle(aws, lambda_context)

    # When they are read two per page
    records = list(ledger.read_chain(aws.dynamodb, LEDGER_TABLE, GROUP, page_size=2))

    # Then all five come back in order
    assert records == expected
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]


def test_tampered_record_is_named_by_verify(
    aws: Aws, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a recorded lifecycle in which someone rewrites record 2's reason
    _record_lifecycle(aws, lambda_context)
    _tamper(aws, 2, description="Approved after review")

    # When the CLI verifies the group
    code = main(["verify-ledger", "--table", LEDGER_TABLE, "--group", GROUP], aws.dynamodb)

    # Then it fails and names seq 2 and why
    assert code == 1
    assert "chain broken at seq 2: hash mismatch" in capsys.readouterr().err


def test_tampering_that_rehashes_breaks_the_next_link(
    aws: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given record 3 rewritten and re-hashed to look self-consistent
    records = _record_lifecycle(aws, lambda_context)
    forged = {**records[2], "description": "all checks passed"}
    _tamper(aws, 3, description="all checks passed", hash=ledger.record_hash(forged))

    # When the chain is verified
    result = ledger.verify_chain(aws.ledger_items())

    # Then record 4, whose prev_hash no longer matches, is the broken link
    assert not result.intact
    assert (result.broken_seq, result.problem) == (4, "prev_hash mismatch")


def test_deleted_record_is_a_gap(aws: Aws, lambda_context: FakeLambdaContext) -> None:
    # Given record 2 deleted from the table
    _record_lifecycle(aws, lambda_context)
    aws.dynamodb.delete_item(TableName=LEDGER_TABLE, Key={"pk": {"S": GROUP}, "seq": {"N": "2"}})

    # When the chain is verified
    result = ledger.verify_chain(aws.ledger_items())

    # Then the gap at seq 2 is reported
    assert (result.broken_seq, result.problem) == (2, "gap in seq")
    assert "seq 2 is missing, next record is seq 3" in str(result)


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


def test_lost_race_rereads_the_head_and_retries(aws: Aws) -> None:
    # Given a competing writer that appends the registration while we prepare the approval
    target = ledger.LedgerTarget(LEDGER_TABLE, AUDIT_BUCKET, "ledger/")

    def competitor() -> None:
        ledger.append_event(
            parse_event(load_event("state_change_pending_registration")),
            governed=True,
            target=target,
            dynamodb_client=aws.dynamodb,
            s3_client=aws.s3,
        )

    racing = RacingDynamoDB(aws.dynamodb, competitor)

    # When we append the approval
    result = ledger.append_event(
        parse_event(load_event("approval_full_evidence")),
        governed=True,
        target=target,
        dynamodb_client=racing,
        s3_client=aws.s3,
        sleep=lambda _: None,
    )

    # Then our first write lost seq 1, the retry took seq 2, and the chain is intact
    assert racing.transactions == 2
    assert result.seq == 2
    records = aws.ledger_items()
    assert [r["event_id"] for r in records] == [
        load_event("state_change_pending_registration")["id"],
        load_event("approval_full_evidence")["id"],
    ]
    assert records[1]["from_status"] == "PendingManualApproval"
    assert ledger.verify_chain(records).intact


class FailingPutS3:
    """moto S3, except that the first put_object fails."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.failures_left = 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def put_object(self, **kwargs: Any) -> Any:
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("S3 unavailable")
        return self._real.put_object(**kwargs)


def test_retry_after_failed_mirror_completes_the_mirror(aws: Aws) -> None:
    # Given the record was written but mirroring it to S3 failed
    target = ledger.LedgerTarget(LEDGER_TABLE, AUDIT_BUCKET, "ledger/")
    event = parse_event(load_event("approval_full_evidence"))
    s3 = FailingPutS3(aws.s3)
    with pytest.raises(RuntimeError, match="S3 unavailable"):
        ledger.append_event(
            event, governed=True, target=target, dynamodb_client=aws.dynamodb, s3_client=s3
        )

    # When the event is retried
    result = ledger.append_event(
        event, governed=True, target=target, dynamodb_client=aws.dynamodb, s3_client=s3
    )

    # Then it is not recorded twice, and the mirror object now exists
    assert result.status == "duplicate"
    [record] = aws.ledger_items()
    body = aws.s3.get_object(Bucket=AUDIT_BUCKET, Key=result.object_key)["Body"].read()
    assert json.loads(body) == json.loads(ledger.canonical_json(record))


def test_persistent_contention_gives_up_with_a_clear_error(aws: Aws) -> None:
    # Given a group where every attempt loses to another writer
    target = ledger.LedgerTarget(LEDGER_TABLE, AUDIT_BUCKET, "ledger/")
    counter = iter(range(100))

    class AlwaysBeaten(RacingDynamoDB):
        def transact_write_items(self, **kwargs: Any) -> Any:
            event = load_event("state_change_pending_registration")
            event["id"] = f"competitor-{next(counter)}"
            ledger.append_event(
                parse_event(event),
                governed=True,
                target=target,
                dynamodb_client=aws.dynamodb,
                s3_client=aws.s3,
            )
            return self._real.transact_write_items(**kwargs)

    # When / Then the append stops after a bounded number of attempts (EventBridge retries)
    with pytest.raises(ledger.LedgerContentionError, match="after 8 attempts"):
        ledger.append_event(
            parse_event(load_event("approval_full_evidence")),
            governed=True,
            target=target,
            dynamodb_client=AlwaysBeaten(aws.dynamodb, None),
            s3_client=aws.s3,
            sleep=lambda _: None,
        )


@pytest.mark.filterwarnings("ignore:'governance.__main__' found in sys.modules")
def test_python_dash_m_governance_runs_the_verifier(
    aws: Aws,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a recorded lifecycle with record 4 tampered with
    _record_lifecycle(aws, lambda_context)
    _tamper(aws, 4, actor="someone else")
    argv = ["governance", "verify-ledger", "--table", LEDGER_TABLE, "--group", GROUP]
    monkeypatch.setattr(sys, "argv", [*argv, "--region", "eu-west-1"])

    # When `python -m governance verify-ledger ...` runs (its own client, from the environment)
    with pytest.raises(SystemExit) as exited:
        runpy.run_module("governance", run_name="__main__")

    # Then it exits non-zero naming the first broken link
    assert exited.value.code == 1
    assert "chain broken at seq 4: hash mismatch" in capsys.readouterr().err

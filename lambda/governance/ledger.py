"""Audit ledger: an append-only, hash-chained record of every governance event per model group.

Handler: ``governance.ledger.handler``.

Triggers (EventBridge):

* ``aws.sagemaker`` / ``SageMaker Model Package State Change``
* ``sagemaker.governance`` / ``Model Approval Verdict`` (from the approval gate)
* ``sagemaker.governance`` / ``Model Monitoring Violation`` (from the violation handler)

Environment: ``LEDGER_TABLE_NAME``, ``AUDIT_BUCKET_NAME``, ``AUDIT_PREFIX`` (default ``ledger/``),
``POLICY_PARAMETER_PREFIX``, ``IDEMPOTENCY_TABLE_NAME``, ``POWERTOOLS_SERVICE_NAME``.

DynamoDB table ``LEDGER_TABLE_NAME``: partition key ``pk`` (S), sort key ``seq`` (N). It holds

* ledger records: ``pk`` = model package group name, ``seq`` = 1, 2, 3, ... without gaps;
* duplicate markers: ``pk`` = ``event#<key>``, ``seq`` = 0, where the key is the EventBridge
  ``id``, or for our own producers their stable id (``verdict:<sourceEventId>``,
  ``monitoring:<recordId>``, see :func:`duplicate_key`); ``record_pk``/``record_seq`` point at the
  record the event produced;
* version state: ``pk`` = ``version#<model package ARN>``, ``seq`` = 0, ``status`` = the status in
  the version's latest record (gives ``from_status`` without scanning the chain).

Group names cannot contain ``#`` (SageMaker allows ``[a-zA-Z0-9-]``), so the three never collide.

Each record carries ``prev_hash`` (the previous record's ``hash``; :data:`GENESIS_HASH` for
``seq`` 1) and ``hash`` = SHA-256 of the canonical JSON (sorted keys, no whitespace, UTF-8) of
every other field. Appending is one DynamoDB transaction: the record (``attribute_not_exists``,
so a concurrent writer that took the same ``seq`` makes us re-read the head and retry), the
duplicate marker (``attribute_not_exists``, so an event already recorded is not recorded again)
and the version state. The record is then mirrored to
``s3://AUDIT_BUCKET_NAME/AUDIT_PREFIX<group>/<seq, 12 digits>.json`` where the bucket's default
Object Lock retention protects it. A retry after a failed mirror finds the marker and re-mirrors.

Events are recorded in arrival order; ``from_status`` is the status of the version's previous
record in that order (EventBridge does not guarantee delivery order).

:func:`verify_chain` checks a chain; ``python -m governance verify-ledger`` runs it against the
table.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from governance import environment
from governance.aws_clients import (
    AwsClient,
    ClientError,
    client,
    error_code,
    from_dynamodb,
    to_dynamodb,
)
from governance.events import (
    ApprovalVerdict,
    GovernanceEvent,
    ModelPackageStateChange,
    MonitoringViolation,
    parse_event,
)
from governance.evidence import all_uris
from governance.identity import describe_identity
from governance.policy import PolicyStore, PolicyValidationError, UnknownModelGroupError

logger = Logger()

GENESIS_HASH: Final = "0" * 64
SCHEMA_VERSION: Final = 1
MAX_APPEND_ATTEMPTS: Final = 8
GATE_ACTOR: Final = "sagemaker.governance approval gate"
MONITOR_ACTOR: Final = "sagemaker.governance model monitoring"


class LedgerContentionError(RuntimeError):
    """Too many concurrent writers on one group; the event is retried by EventBridge."""


# --------------------------------------------------------------------------------------------
# Hashing and verification (pure)
# --------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """JSON-ready value; DynamoDB returns numbers as Decimal, records only hold integers."""
    if isinstance(value, Decimal):
        if value != value.to_integral_value():
            raise TypeError(f"ledger records hold integers only, got {value}")
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        raise TypeError(f"ledger records hold integers only, got {value}")
    return value


def canonical_json(record: Mapping[str, Any]) -> str:
    return json.dumps(_plain(record), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_hash(record: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON of every field except ``hash`` itself."""
    content = {key: value for key, value in record.items() if key != "hash"}
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainVerification:
    intact: bool
    records_checked: int
    broken_seq: int | None = None
    problem: str | None = None
    """``gap in seq``, ``prev_hash mismatch`` or ``hash mismatch``."""
    detail: str | None = None

    def __str__(self) -> str:
        if self.intact:
            return f"chain intact: {self.records_checked} record(s)"
        return f"chain broken at seq {self.broken_seq}: {self.problem} ({self.detail})"


def verify_chain(records: Iterable[Mapping[str, Any]]) -> ChainVerification:
    """Verify records in ascending ``seq`` order; report the first broken link."""
    expected_seq = 1
    previous_hash = GENESIS_HASH
    checked = 0
    for record in records:
        seq = int(record.get("seq", -1))
        if seq != expected_seq:
            detail = (
                f"seq {expected_seq} is missing, next record is seq {seq}"
                if seq > expected_seq
                else f"expected seq {expected_seq}, found seq {seq} again or out of order"
            )
            return ChainVerification(False, checked, expected_seq, "gap in seq", detail)
        if record.get("prev_hash") != previous_hash:
            return ChainVerification(
                False,
                checked,
                seq,
                "prev_hash mismatch",
                f"prev_hash {record.get('prev_hash')} != hash of seq {seq - 1} {previous_hash}"
                if seq > 1
                else f"prev_hash {record.get('prev_hash')} != genesis {GENESIS_HASH}",
            )
        computed = record_hash(record)
        if record.get("hash") != computed:
            return ChainVerification(
                False,
                checked,
                seq,
                "hash mismatch",
                f"stored {record.get('hash')}, computed {computed}",
            )
        previous_hash = computed
        expected_seq += 1
        checked += 1
    return ChainVerification(True, checked)


def read_chain(
    dynamodb_client: AwsClient, table_name: str, group: str, *, page_size: int | None = None
) -> Iterator[dict[str, Any]]:
    """A group's records in ascending ``seq`` order, across query pages, numbers as ``int``."""
    paginator = dynamodb_client.get_paginator("query")
    pages = paginator.paginate(
        PaginationConfig={"PageSize": page_size} if page_size else {},
        TableName=table_name,
        KeyConditionExpression="pk = :pk AND seq >= :first",
        ExpressionAttributeValues={":pk": {"S": group}, ":first": {"N": "1"}},
        ScanIndexForward=True,
        ConsistentRead=True,
    )
    for page in pages:
        for item in page.get("Items", []):
            record: dict[str, Any] = _plain(from_dynamodb(item))
            yield record


# --------------------------------------------------------------------------------------------
# Building records from events (pure)
# --------------------------------------------------------------------------------------------


def record_content(event: GovernanceEvent) -> dict[str, Any]:
    """The event-specific fields of a record (who, what, status, reason, evidence, verdict)."""
    envelope = event.envelope
    content: dict[str, Any] = {
        "event_id": envelope.event_id,
        "event_source": envelope.source,
        "event_detail_type": envelope.detail_type,
        "event_time": envelope.time,
        "model_package_group_name": event.model_package_group_name,
        "model_package_arn": None,
        "model_package_version": None,
        "to_status": None,
        "description": None,
        "evidence_uris": [],
        "verdict": None,
        "monitoring": None,
    }
    if isinstance(event, ModelPackageStateChange):
        actor = event.last_modified_by or event.created_by
        content.update(
            kind="model_package_state_change",
            action=f"model package status {event.model_approval_status}",
            actor=describe_identity(actor),
            registrant=describe_identity(event.created_by),
            model_package_arn=event.model_package_arn,
            model_package_version=event.model_package_version,
            to_status=event.model_approval_status,
            description=event.approval_description,
            evidence_uris=all_uris(event.model_metrics, event.drift_check_baselines),
        )
    elif isinstance(event, ApprovalVerdict):
        failed = [check for check in event.checks if not check.passed]
        content.update(
            kind="approval_verdict",
            action=f"approval gate verdict {event.verdict}",
            actor=GATE_ACTOR,
            model_package_arn=event.model_package_arn,
            model_package_version=event.model_package_version,
            description="; ".join(f"{c.name}: {c.reason}" for c in failed) or "all checks passed",
            evidence_uris=list(event.evidence_uris),
            verdict={
                "verdict": event.verdict,
                "action_taken": event.action_taken,
                "source_event_id": event.source_event_id,
                "checks": [
                    {"name": c.name, "passed": c.passed, "reason": c.reason} for c in event.checks
                ],
            },
        )
    else:
        content.update(_monitoring_content(event))
    return content


def _monitoring_content(event: MonitoringViolation) -> dict[str, Any]:
    if event.outcome == "monitoring_failed":
        description = f"monitoring job failed: {event.failure_reason or 'no reason given'}"
    elif event.outcome == "report_unreadable":
        description = f"violation report unreadable: {event.report_error or 'no reason given'}"
    else:
        count = (
            event.violation_count if event.violation_count is not None else len(event.violations)
        )
        summary = "; ".join(f"{v.feature or '<dataset>'}: {v.check_type}" for v in event.violations)
        more = " (list truncated)" if event.violations_truncated else ""
        description = f"{count} violation(s){more}: {summary}"
    return {
        "kind": "monitoring_violation",
        "action": f"{event.monitor_type} monitoring {event.outcome or 'violations'}",
        "actor": MONITOR_ACTOR,
        "description": description,
        "evidence_uris": [event.report_uri] if event.report_uri else [],
        "monitoring": {
            "record_id": event.record_id,
            "outcome": event.outcome,
            "monitor_type": event.monitor_type,
            "model_name": event.model_name,
            "endpoint_name": event.endpoint_name,
            "monitoring_schedule_name": event.monitoring_schedule_name,
            "processing_job_arn": event.processing_job_arn,
            "retraining_pipeline_execution_arn": event.retraining_pipeline_execution_arn,
            "source_event_id": event.source_event_id,
            "violation_count": event.violation_count,
            "violations_truncated": event.violations_truncated,
            "violations": [
                {
                    key: value
                    for key, value in (
                        ("feature", v.feature),
                        ("check_type", v.check_type),
                        ("description", v.description),
                        ("metric_name", v.metric_name),
                        ("facet", v.facet),
                        ("facet_value", v.facet_value),
                        ("label", v.label),
                    )
                    if value is not None
                }
                for v in event.violations
            ],
        },
    }


def duplicate_key(event: GovernanceEvent) -> str:
    """What makes two deliveries "the same event" for the ledger.

    EventBridge retries keep the event ``id``. Our own producers may publish one outcome twice
    under new ids when they retry after a partial failure, so their stable keys are used:
    ``recordId`` for monitoring outcomes, the source approval event for gate verdicts.
    """
    if isinstance(event, MonitoringViolation) and event.record_id:
        return f"monitoring:{event.record_id}"
    if isinstance(event, ApprovalVerdict):
        return f"verdict:{event.source_event_id}"
    return event.envelope.event_id


# --------------------------------------------------------------------------------------------
# Appending (DynamoDB + S3 through the clients passed in)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerTarget:
    table_name: str
    bucket_name: str
    prefix: str

    def object_key(self, group: str, seq: int) -> str:
        return f"{self.prefix}{group}/{seq:012d}.json"


@dataclass(frozen=True)
class AppendResult:
    status: str
    """``recorded`` or ``duplicate``."""
    group: str
    seq: int
    hash: str
    object_key: str


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _head(dynamodb_client: AwsClient, table: str, group: str) -> dict[str, Any] | None:
    response = dynamodb_client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND seq >= :first",
        ExpressionAttributeValues={":pk": {"S": group}, ":first": {"N": "1"}},
        ScanIndexForward=False,
        Limit=1,
        ConsistentRead=True,
    )
    items = response.get("Items", [])
    return from_dynamodb(items[0]) if items else None


def _get(dynamodb_client: AwsClient, table: str, pk: str, seq: int) -> dict[str, Any] | None:
    response = dynamodb_client.get_item(
        TableName=table,
        Key={"pk": {"S": pk}, "seq": {"N": str(seq)}},
        ConsistentRead=True,
    )
    item = response.get("Item")
    return from_dynamodb(item) if item else None


def append_event(
    event: GovernanceEvent,
    *,
    governed: bool,
    target: LedgerTarget,
    dynamodb_client: AwsClient,
    s3_client: AwsClient,
    now: Callable[[], str] = _utc_now,
    sleep: Callable[[float], None] = time.sleep,
) -> AppendResult:
    """Append one event to its group's chain (once per event id) and mirror it to S3."""
    group = event.model_package_group_name
    content = record_content(event)
    marker_pk = f"event#{duplicate_key(event)}"
    version_pk = (
        f"version#{event.model_package_arn}" if isinstance(event, ModelPackageStateChange) else None
    )

    for attempt in range(MAX_APPEND_ATTEMPTS):
        head = _head(dynamodb_client, target.table_name, group)
        seq = int(head["seq"]) + 1 if head else 1
        from_status = None
        if version_pk is not None:
            state = _get(dynamodb_client, target.table_name, version_pk, 0)
            from_status = state.get("status") if state else None
        record: dict[str, Any] = {
            **content,
            "pk": group,
            "seq": seq,
            "prev_hash": str(head["hash"]) if head else GENESIS_HASH,
            "schema_version": SCHEMA_VERSION,
            "recorded_at": now(),
            "from_status": from_status,
            "governed": governed,
        }
        record["hash"] = record_hash(record)

        writes = [
            _conditional_put(target.table_name, record),
            _conditional_put(
                target.table_name,
                {
                    "pk": marker_pk,
                    "seq": 0,
                    "record_pk": group,
                    "record_seq": seq,
                    "recorded_at": record["recorded_at"],
                },
            ),
        ]
        if version_pk is not None:
            writes.append(
                {
                    "Put": {
                        "TableName": target.table_name,
                        "Item": to_dynamodb(
                            {
                                "pk": version_pk,
                                "seq": 0,
                                "status": content["to_status"],
                                "record_seq": seq,
                            }
                        ),
                    }
                }
            )
        try:
            dynamodb_client.transact_write_items(TransactItems=writes)
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                return _already_recorded(event, target, dynamodb_client, s3_client)
            # Lost the race for this seq (or a transaction conflict): re-read the head.
            logger.info("ledger append contended", extra={"attempt": attempt, "reasons": reasons})
            sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 - jitter, not crypto
            continue
        _mirror(s3_client, target, record)
        return AppendResult("recorded", group, seq, record["hash"], target.object_key(group, seq))

    raise LedgerContentionError(
        f"could not append event {event.envelope.event_id} to group {group!r} "
        f"after {MAX_APPEND_ATTEMPTS} attempts"
    )


def _conditional_put(table: str, item: dict[str, Any]) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": table,
            "Item": to_dynamodb(item),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def _mirror(s3_client: AwsClient, target: LedgerTarget, record: Mapping[str, Any]) -> None:
    s3_client.put_object(
        Bucket=target.bucket_name,
        Key=target.object_key(str(record["pk"]), int(record["seq"])),
        Body=canonical_json(record).encode("utf-8"),
        ContentType="application/json",
        # Object Lock buckets refuse writes without an integrity checksum.
        ChecksumAlgorithm="SHA256",
    )


def _already_recorded(
    event: GovernanceEvent,
    target: LedgerTarget,
    dynamodb_client: AwsClient,
    s3_client: AwsClient,
) -> AppendResult:
    marker = _get(dynamodb_client, target.table_name, f"event#{duplicate_key(event)}", 0)
    if marker is None:  # pragma: no cover - the marker's existence made the transaction fail
        raise RuntimeError(f"duplicate marker for {event.envelope.event_id} vanished")
    group, seq = str(marker["record_pk"]), int(marker["record_seq"])
    record = _get(dynamodb_client, target.table_name, group, seq)
    if record is None:  # pragma: no cover - written in the same transaction as the marker
        raise RuntimeError(f"record {group}/{seq} for event {event.envelope.event_id} is missing")
    key = target.object_key(group, seq)
    # The first delivery may have failed between the transaction and the mirror. Without
    # s3:ListBucket a missing object answers 403, so anything but "present" means re-mirror; a
    # real denial then fails on the put and the event is retried.
    try:
        s3_client.head_object(Bucket=target.bucket_name, Key=key)
    except ClientError as error:
        if error_code(error) not in {"404", "NoSuchKey", "NotFound", "403", "AccessDenied"}:
            raise
        _mirror(s3_client, target, record)
    logger.info("event already recorded", extra={"group": group, "seq": seq})
    return AppendResult("duplicate", group, seq, str(record["hash"]), key)


def governance_status(policies: PolicyStore, group: str) -> bool:
    """Whether the group has a valid policy. The ledger records either way."""
    try:
        policies.get(group)
    except UnknownModelGroupError as error:
        logger.warning("recording an event for an ungoverned group", extra={"error": str(error)})
        return False
    except PolicyValidationError as error:
        logger.error("the group's policy is invalid; recording anyway", extra={"error": str(error)})
        return False
    return True


# --------------------------------------------------------------------------------------------
# Lambda adapter
# --------------------------------------------------------------------------------------------

IDEMPOTENCY_EXPIRY_SECONDS: Final = 24 * 60 * 60


@dataclass(frozen=True)
class LedgerSettings:
    table_name: str
    bucket_name: str
    prefix: str
    policy_parameter_prefix: str
    idempotency_table_name: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LedgerSettings:
        env = os.environ if environ is None else environ
        return cls(
            table_name=environment.required(env, "LEDGER_TABLE_NAME"),
            bucket_name=environment.required(env, "AUDIT_BUCKET_NAME"),
            prefix=environment.optional(env, "AUDIT_PREFIX", "ledger/"),
            policy_parameter_prefix=environment.required(env, "POLICY_PARAMETER_PREFIX"),
            idempotency_table_name=environment.required(env, "IDEMPOTENCY_TABLE_NAME"),
        )


@dataclass
class _Runtime:
    process: Callable[..., dict[str, Any]]
    config: IdempotencyConfig


_runtime: _Runtime | None = None


def configure(
    *,
    settings: LedgerSettings | None = None,
    dynamodb_client: AwsClient | None = None,
    s3_client: AwsClient | None = None,
    ssm_client: AwsClient | None = None,
) -> None:
    """Build the per-cold-start runtime; tests call it to inject clients or settings."""
    global _runtime  # noqa: PLW0603 - one runtime per execution environment is the point
    settings = settings or LedgerSettings.from_env()
    dynamodb = dynamodb_client or client("dynamodb")
    s3 = s3_client or client("s3")
    policies = PolicyStore(ssm_client or client("ssm"), settings.policy_parameter_prefix)
    target = LedgerTarget(settings.table_name, settings.bucket_name, settings.prefix)
    config = IdempotencyConfig(
        event_key_jmespath="id",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=IDEMPOTENCY_EXPIRY_SECONDS,
    )
    persistence = DynamoDBPersistenceLayer(
        table_name=settings.idempotency_table_name, boto3_client=dynamodb
    )

    def process(event: dict[str, Any]) -> dict[str, Any]:
        parsed = parse_event(event)
        governed = governance_status(policies, parsed.model_package_group_name)
        result = append_event(
            parsed, governed=governed, target=target, dynamodb_client=dynamodb, s3_client=s3
        )
        return {
            "result": result.status,
            "modelPackageGroupName": result.group,
            "seq": result.seq,
            "hash": result.hash,
            "objectKey": result.object_key,
            "governed": governed,
        }

    idempotent_process = idempotent_function(
        data_keyword_argument="event", persistence_store=persistence, config=config
    )(process)
    _runtime = _Runtime(idempotent_process, config)


def reset() -> None:
    """Forget the runtime (tests: each test gets fresh clients and caches)."""
    global _runtime  # noqa: PLW0603
    _runtime = None


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Validate before idempotency so a malformed event fails with a message naming the field.
    parsed = parse_event(event)
    logger.append_keys(
        source_event_id=parsed.envelope.event_id,
        model_package_group_name=parsed.model_package_group_name,
    )
    if _runtime is None:
        configure()
    assert _runtime is not None  # noqa: S101 - narrows the type for mypy
    _runtime.config.register_lambda_context(context)
    return _runtime.process(event=event)

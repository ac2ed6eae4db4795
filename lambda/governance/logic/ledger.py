"""The audit ledger's decisions: what a record says, how records chain, how an append retries.

Each record carries ``prev_hash`` (the previous record's ``hash``; :data:`GENESIS_HASH` for
``seq`` 1) and ``hash`` = SHA-256 of the canonical JSON (sorted keys, no whitespace, UTF-8) of
every other field. Events are recorded in arrival order; ``from_status`` is the status of the
version's previous record in that order (EventBridge does not guarantee delivery order).

Schema 2 adds ``produced_by_execution`` (state changes: the pipeline execution that registered
the version, from ``MetadataProperties.GeneratedBy``, or why none is named; other kinds:
``null``). Schema 1 records lack the field and still verify: a hash covers the fields stored.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from governance.contracts.errors import InvalidParameterError
from governance.data_access.ledger_store import (
    AlreadyRecordedError,
    LedgerArchive,
    LedgerStore,
    SeqTakenError,
    plain,
)
from governance.data_access.parameters import GovernanceParameters, UnknownModelGroupError
from governance.data_access.registry import ModelRegistry, PackageUnreadableError
from governance.events import (
    ApprovalVerdictEvent,
    GovernanceEvent,
    ModelPackageStateChange,
    MonitoringOutcome,
    MonitoringViolationEvent,
    event_time,
)
from governance.sagemaker import ModelPackage, UserContext, describe_user, known, s3_uris

GENESIS_HASH: Final = "0" * 64
SCHEMA_VERSION: Final = 2
MAX_APPEND_ATTEMPTS: Final = 8
GATE_ACTOR: Final = "sagemaker.governance approval gate"
MONITOR_ACTOR: Final = "sagemaker.governance model monitoring"
NO_EXECUTION_RECORDED: Final = "<none recorded>"
_PIPELINE_EXECUTION_ARN: Final = re.compile(
    r"arn:[\w-]+:sagemaker:[^:]*:\d{12}:pipeline/[^/]+/execution/[^/]+"
)


class LedgerContentionError(RuntimeError):
    """Too many concurrent writers on one group; the event is retried by EventBridge."""


# --- Hash chain ------------------------------------------------------------------------------


def canonical_json(record: Mapping[str, Any]) -> str:
    return json.dumps(plain(record), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


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
    for checked, record in enumerate(records):
        seq = int(record.get("seq", -1))
        if seq != expected_seq:
            detail = (
                f"seq {expected_seq} is missing, next record is seq {seq}"
                if seq > expected_seq
                else f"expected seq {expected_seq}, found seq {seq} again or out of order"
            )
            return ChainVerification(False, checked, expected_seq, "gap in seq", detail)
        if record.get("prev_hash") != previous_hash:
            against = (
                f"hash of seq {seq - 1} {previous_hash}" if seq > 1 else f"genesis {GENESIS_HASH}"
            )
            return ChainVerification(
                False,
                checked,
                seq,
                "prev_hash mismatch",
                f"prev_hash {record.get('prev_hash')} != {against}",
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
    return ChainVerification(True, expected_seq - 1)


# --- What a record says ----------------------------------------------------------------------


@dataclass(frozen=True)
class Actors:
    """Who made a state change and who registered the version, as far as can be shown."""

    actor: str
    registrant: str


def state_change_actors(
    change: ModelPackageStateChange, package: ModelPackage | None, unreadable: str | None = None
) -> Actors:
    """The package (``DescribeModelPackage``, as the gate reads it) names who changed it last.

    The documented event carries no ``CreatedBy``/``LastModifiedBy``, so the package is read.
    Its ``LastModifiedBy`` is this change's actor only while the package still has the status
    the event reports; after a later change (e.g. the gate's revert) the actor comes from the
    event if it says, and is otherwise recorded as unknown, with the reason.
    """
    detail = change.detail
    registrant: UserContext | None = known(package.created_by) if package else None
    registrant = registrant or known(detail.created_by)
    if package is None:
        actor = known(detail.last_modified_by) or known(detail.created_by)
        reason = f"<unknown: {unreadable}>"
        return Actors(_described(actor, reason), _described(registrant, reason))
    if package.model_approval_status == detail.model_approval_status:
        actor = known(package.last_modified_by) or known(package.created_by)
        return Actors(_described(actor, "<unknown>"), _described(registrant, "<unknown>"))
    actor = known(detail.last_modified_by)
    reason = (
        f"<unknown: the version is now {package.model_approval_status}, changed by "
        f"{describe_user(package.last_modified_by)} after this event>"
    )
    return Actors(_described(actor, reason), _described(registrant, "<unknown>"))


def producing_execution(package: ModelPackage | None, unreadable: str | None = None) -> str:
    """The pipeline execution that registered the version (``MetadataProperties.GeneratedBy``),
    or :data:`NO_EXECUTION_RECORDED`, with why, when the package does not name one."""
    if package is None:
        return f"{NO_EXECUTION_RECORDED[:-1]}: {unreadable or 'the package was not read'}>"
    generated_by = package.generated_by()
    if generated_by is None:
        return NO_EXECUTION_RECORDED
    if not _PIPELINE_EXECUTION_ARN.fullmatch(generated_by):
        return (
            f"{NO_EXECUTION_RECORDED[:-1]}: GeneratedBy is {generated_by!r}, "
            "not a pipeline execution ARN>"
        )
    return generated_by


def _described(user: UserContext | None, otherwise: str) -> str:
    return user.describe() if user is not None else otherwise


def record_content(
    event: GovernanceEvent, actors: Actors | None = None, produced_by: str | None = None
) -> dict[str, Any]:
    """The event-specific fields of a record (who, what, status, reason, evidence, verdict,
    and for a state change the pipeline execution that produced the version)."""
    content: dict[str, Any] = {
        "event_id": event.id,
        "event_source": str(event.source),
        "event_detail_type": str(event.detail_type),
        "event_time": event_time(event),
        "model_package_group_name": event.detail.model_package_group_name,
        "model_package_arn": None,
        "model_package_version": None,
        "to_status": None,
        "description": None,
        "evidence_uris": [],
        "verdict": None,
        "monitoring": None,
        "produced_by_execution": None,
    }
    if isinstance(event, ModelPackageStateChange):
        detail = event.detail
        who = actors or state_change_actors(event, None, "the package was not read")
        content.update(
            kind="model_package_state_change",
            action=f"model package status {detail.model_approval_status}",
            actor=who.actor,
            registrant=who.registrant,
            model_package_arn=detail.model_package_arn,
            model_package_version=detail.model_package_version,
            to_status=str(detail.model_approval_status),
            description=detail.approval_description,
            evidence_uris=s3_uris(detail.model_metrics, detail.drift_check_baselines),
            produced_by_execution=produced_by or producing_execution(None),
        )
    elif isinstance(event, ApprovalVerdictEvent):
        content.update(_verdict_content(event))
    else:
        content.update(_monitoring_content(event))
    return content


def _verdict_content(event: ApprovalVerdictEvent) -> dict[str, Any]:
    verdict = event.detail
    failed = [check for check in verdict.checks if not check.passed]
    content: dict[str, Any] = {
        "kind": "approval_verdict",
        "action": f"approval gate verdict {verdict.verdict}",
        "actor": GATE_ACTOR,
        "model_package_arn": verdict.model_package_arn,
        "model_package_version": verdict.model_package_version,
        "description": "; ".join(f"{c.name}: {c.reason}" for c in failed) or "all checks passed",
        "evidence_uris": list(verdict.evidence_uris),
        "verdict": {
            "verdict": str(verdict.verdict),
            "action_taken": verdict.action_taken,
            "source_event_id": verdict.source_event_id,
            "checks": [
                {"name": c.name, "passed": c.passed, "reason": c.reason} for c in verdict.checks
            ],
        },
    }
    if verdict.approver is not None:
        # Who approved, as the gate saw it: the state-change record may not know after a revert.
        content["verdict"]["approver"] = verdict.approver
        content["verdict"]["registrant"] = verdict.registrant
    return content


_OUTCOME_DESCRIPTIONS: Final = {
    MonitoringOutcome.MONITORING_FAILED: ("monitoring job failed", "failure_reason"),
    MonitoringOutcome.MONITORING_STOPPED: ("monitoring job stopped", "failure_reason"),
    MonitoringOutcome.REPORT_UNREADABLE: ("violation report unreadable", "report_error"),
}


def _monitoring_content(event: MonitoringViolationEvent) -> dict[str, Any]:
    detail = event.detail
    if detail.outcome in _OUTCOME_DESCRIPTIONS:
        what, field = _OUTCOME_DESCRIPTIONS[detail.outcome]
        description = f"{what}: {getattr(detail, field) or 'no reason given'}"
    else:
        count = (
            detail.violation_count if detail.violation_count is not None else len(detail.violations)
        )
        summary = "; ".join(
            f"{v.feature or '<dataset>'}: {v.check_type}" for v in detail.violations
        )
        more = " (list truncated)" if detail.violations_truncated else ""
        description = f"{count} violation(s){more}: {summary}"
    content: dict[str, Any] = {
        "kind": "monitoring_violation",
        "action": f"{detail.monitor_type} monitoring {detail.outcome}",
        "actor": MONITOR_ACTOR,
        "description": description,
        "evidence_uris": [detail.report_uri] if detail.report_uri else [],
        "monitoring": {
            "record_id": detail.record_id,
            "outcome": str(detail.outcome),
            "monitor_type": str(detail.monitor_type),
            "model_name": detail.model_name,
            "endpoint_name": detail.endpoint_name,
            "monitoring_schedule_name": detail.monitoring_schedule_name,
            "processing_job_arn": detail.processing_job_arn,
            "retraining_pipeline_execution_arn": detail.retraining_pipeline_execution_arn,
            "source_event_id": detail.source_event_id,
            "violation_count": detail.violation_count,
            "violations_truncated": detail.violations_truncated,
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
                for v in detail.violations
            ],
        },
    }
    if detail.pipeline_execution_arn is not None:
        # Only on pipeline-execution records, so earlier records keep their exact content.
        content["monitoring"]["pipeline_execution_arn"] = detail.pipeline_execution_arn
    return content


def duplicate_key(event: GovernanceEvent) -> str:
    """What makes two deliveries "the same event" for the ledger.

    EventBridge retries keep the event ``id``. Our producers may publish one outcome twice under
    new ids when they retry after a partial failure, so their stable keys are used: ``recordId``
    for monitoring outcomes, the source approval event for gate verdicts.
    """
    if isinstance(event, MonitoringViolationEvent) and event.detail.record_id:
        return f"monitoring:{event.detail.record_id}"
    if isinstance(event, ApprovalVerdictEvent):
        return f"verdict:{event.detail.source_event_id}"
    return event.id


# --- Appending -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AppendResult:
    status: str
    """``recorded`` or ``duplicate``."""
    group: str
    seq: int
    hash: str
    object_key: str


def utc_timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def append(
    content: Mapping[str, Any],
    *,
    duplicate_key: str,
    governed: bool,
    store: LedgerStore,
    archive: LedgerArchive,
    now: Callable[[], str] = utc_timestamp,
    sleep: Callable[[float], None] = time.sleep,
) -> AppendResult:
    """Append one record to its group's chain (once per duplicate key) and mirror it.

    A writer that loses the race for a ``seq`` re-reads the head and tries again, with jittered
    back-off, at most :data:`MAX_APPEND_ATTEMPTS` times. A retry after a failed mirror finds the
    duplicate marker and mirrors again.
    """
    group = str(content["model_package_group_name"])
    arn = content.get("model_package_arn")
    tracks_status = content.get("kind") == "model_package_state_change" and arn is not None
    for attempt in range(MAX_APPEND_ATTEMPTS):
        head = store.head(group)
        record: dict[str, Any] = {
            **content,
            "pk": group,
            "seq": int(head["seq"]) + 1 if head else 1,
            "prev_hash": str(head["hash"]) if head else GENESIS_HASH,
            "schema_version": SCHEMA_VERSION,
            "recorded_at": now(),
            "from_status": store.version_status(str(arn)) if tracks_status else None,
            "governed": governed,
        }
        record["hash"] = record_hash(record)
        try:
            store.append(
                record,
                duplicate_key=duplicate_key,
                version_status=str(content["to_status"]) if tracks_status else None,
            )
        except AlreadyRecordedError:
            return _already_recorded(duplicate_key, store, archive)
        except SeqTakenError:
            sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 - jitter, not crypto
            continue
        key = archive.object_key(group, record["seq"])
        archive.put(key, canonical_json(record).encode("utf-8"))
        return AppendResult("recorded", group, record["seq"], record["hash"], key)
    raise LedgerContentionError(
        f"could not append {duplicate_key} to group {group!r} after {MAX_APPEND_ATTEMPTS} attempts"
    )


def _already_recorded(
    duplicate_key: str, store: LedgerStore, archive: LedgerArchive
) -> AppendResult:
    record = store.recorded(duplicate_key)
    group, seq = str(record["pk"]), int(record["seq"])
    key = archive.object_key(group, seq)
    # The first delivery may have failed between the transaction and the mirror.
    if not archive.has(key):
        archive.put(key, canonical_json(record).encode("utf-8"))
    return AppendResult("duplicate", group, seq, str(record["hash"]), key)


# --- Sequence ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerStores:
    parameters: GovernanceParameters
    registry: ModelRegistry
    store: LedgerStore
    archive: LedgerArchive


def run_ledger(
    event: GovernanceEvent,
    stores: LedgerStores,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Record one event; a small JSON result."""
    group = event.detail.model_package_group_name
    governed, why_not = is_governed(stores.parameters, group)
    actors = produced_by = None
    if isinstance(event, ModelPackageStateChange):
        try:
            package = stores.registry.describe_package(event.detail.model_package_arn)
        except PackageUnreadableError as error:
            actors = state_change_actors(event, None, str(error))
            produced_by = producing_execution(None, str(error))
        else:
            actors = state_change_actors(event, package)
            produced_by = producing_execution(package)
    result = append(
        record_content(event, actors, produced_by),
        duplicate_key=duplicate_key(event),
        governed=governed,
        store=stores.store,
        archive=stores.archive,
        sleep=sleep,
    )
    return {
        "result": result.status,
        "modelPackageGroupName": result.group,
        "seq": result.seq,
        "hash": result.hash,
        "objectKey": result.object_key,
        "governed": governed,
        **({"notGovernedBecause": why_not} if why_not else {}),
    }


def is_governed(parameters: GovernanceParameters, group: str) -> tuple[bool, str | None]:
    """Whether the group has a valid policy (and why not). The ledger records either way."""
    try:
        parameters.approval_policy(group)
    except (UnknownModelGroupError, InvalidParameterError) as error:
        return False, str(error)
    return True, None

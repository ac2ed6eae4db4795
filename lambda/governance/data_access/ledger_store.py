"""The audit ledger's two stores: the DynamoDB table and its Object-Lock S3 mirror.

Table layout (partition key ``pk`` string, sort key ``seq`` number):

* records: ``pk`` = model package group, ``seq`` = 1, 2, 3, ... without gaps;
* duplicate markers: ``pk`` = ``event#<duplicate key>``, ``seq`` = 0, pointing at the record
  (``record_pk``, ``record_seq``) the event produced;
* version state: ``pk`` = ``version#<model package ARN>``, ``seq`` = 0, ``status`` = the status
  in the version's latest record.

Group names cannot contain ``#`` (SageMaker allows ``[a-zA-Z0-9-]``), so the three never collide.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any, Protocol

from governance.data_access.aws import (
    AwsClient,
    ClientError,
    error_code,
    from_dynamodb,
    to_dynamodb,
)


class SeqTakenError(Exception):
    """Another writer appended to the group first (or the transaction conflicted)."""


class AlreadyRecordedError(Exception):
    """The event's duplicate marker exists: it was recorded before."""


def marker_pk(duplicate_key: str) -> str:
    return f"event#{duplicate_key}"


def version_pk(model_package_arn: str) -> str:
    return f"version#{model_package_arn}"


class LedgerStore(Protocol):
    def head(self, group: str) -> dict[str, Any] | None:
        """The group's record with the highest ``seq`` (strongly consistent)."""
        ...

    def version_status(self, model_package_arn: str) -> str | None: ...

    def append(
        self, record: Mapping[str, Any], *, duplicate_key: str, version_status: str | None
    ) -> None:
        """Write record, duplicate marker and version state in one transaction.

        SeqTakenError if the record's ``seq`` exists, AlreadyRecordedError if the marker does.
        """
        ...

    def recorded(self, duplicate_key: str) -> dict[str, Any]:
        """The record an already-recorded event produced."""
        ...

    def chain(self, group: str, *, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """The group's records in ascending ``seq``, numbers as ``int``."""
        ...


class LedgerArchive(Protocol):
    def object_key(self, group: str, seq: int) -> str: ...

    def has(self, key: str) -> bool: ...

    def put(self, key: str, body: bytes) -> None: ...


def plain(value: Any) -> Any:
    """JSON-ready value; DynamoDB returns numbers as Decimal, records only hold integers."""
    if isinstance(value, Decimal):
        if value != value.to_integral_value():
            raise TypeError(f"ledger records hold integers only, got {value}")
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, float):
        raise TypeError(f"ledger records hold integers only, got {value}")
    return value


class DynamoDbLedgerStore:
    def __init__(self, dynamodb_client: AwsClient, table_name: str) -> None:
        self._dynamodb = dynamodb_client
        self._table = table_name

    def head(self, group: str) -> dict[str, Any] | None:
        response = self._dynamodb.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND seq >= :first",
            ExpressionAttributeValues={":pk": {"S": group}, ":first": {"N": "1"}},
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = response.get("Items", [])
        return plain(from_dynamodb(items[0])) if items else None

    def version_status(self, model_package_arn: str) -> str | None:
        state = self._get(version_pk(model_package_arn), 0)
        return str(state["status"]) if state and state.get("status") is not None else None

    def append(
        self, record: Mapping[str, Any], *, duplicate_key: str, version_status: str | None
    ) -> None:
        marker = {
            "pk": marker_pk(duplicate_key),
            "seq": 0,
            "record_pk": record["pk"],
            "record_seq": record["seq"],
            "recorded_at": record["recorded_at"],
        }
        writes = [self._put_new(dict(record)), self._put_new(marker)]
        if version_status is not None:
            state = {
                "pk": version_pk(str(record["model_package_arn"])),
                "seq": 0,
                "status": version_status,
                "record_seq": record["seq"],
            }
            writes.append({"Put": {"TableName": self._table, "Item": to_dynamodb(state)}})
        try:
            self._dynamodb.transact_write_items(TransactItems=writes)
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                raise AlreadyRecordedError(duplicate_key) from error
            raise SeqTakenError(f"{record['pk']}/{record['seq']}: {reasons}") from error

    def recorded(self, duplicate_key: str) -> dict[str, Any]:
        marker = self._get(marker_pk(duplicate_key), 0)
        if marker is None:  # pragma: no cover - the marker's existence failed the transaction
            raise RuntimeError(f"duplicate marker for {duplicate_key} vanished")
        group, seq = str(marker["record_pk"]), int(marker["record_seq"])
        record = self._get(group, seq)
        if record is None:  # pragma: no cover - written in the same transaction as the marker
            raise RuntimeError(f"record {group}/{seq} for {duplicate_key} is missing")
        return plain(record)  # type: ignore[no-any-return]

    def chain(self, group: str, *, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        pages = self._dynamodb.get_paginator("query").paginate(
            PaginationConfig={"PageSize": page_size} if page_size else {},
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND seq >= :first",
            ExpressionAttributeValues={":pk": {"S": group}, ":first": {"N": "1"}},
            ScanIndexForward=True,
            ConsistentRead=True,
        )
        for page in pages:
            for item in page.get("Items", []):
                record: dict[str, Any] = plain(from_dynamodb(item))
                yield record

    def _get(self, pk: str, seq: int) -> dict[str, Any] | None:
        response = self._dynamodb.get_item(
            TableName=self._table,
            Key={"pk": {"S": pk}, "seq": {"N": str(seq)}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return from_dynamodb(item) if item else None

    def _put_new(self, item: dict[str, Any]) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table,
                "Item": to_dynamodb(item),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }


class S3LedgerArchive:
    """``s3://<bucket>/<prefix><group>/<seq, 12 digits>.json``, protected by the bucket's
    default Object Lock retention."""

    def __init__(self, s3_client: AwsClient, *, bucket: str, prefix: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket
        self._prefix = prefix

    def object_key(self, group: str, seq: int) -> str:
        return f"{self._prefix}{group}/{seq:012d}.json"

    def has(self, key: str) -> bool:
        # Without s3:ListBucket a missing object answers 403: anything but "present" is absent,
        # and a real denial then fails on the put.
        try:
            self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error_code(error) in {"404", "NoSuchKey", "NotFound", "403", "AccessDenied"}:
                return False
            raise
        return True

    def put(self, key: str, body: bytes) -> None:
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=body,
            ContentType="application/json",
            # Object Lock buckets refuse writes without an integrity checksum.
            ChecksumAlgorithm="SHA256",
        )

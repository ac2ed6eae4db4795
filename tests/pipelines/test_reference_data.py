"""The reference-data contract the training pipeline writes and the Evidently engine reads."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from cdk_constructs.monitoring.baselines import BASELINE_PATHS
from governance.contracts.errors import ContractError
from governance.contracts.reference_data import (
    BASELINES_PREFIX,
    POINTER_PATH,
    REFERENCE_FORMAT,
    SUMMARY_CONTENT_TYPE,
    drift_check_pointer,
    parse_location,
    parse_summary,
    reference_key,
)
from stacks.foundation_stack import BASELINES_PREFIX as FOUNDATION_BASELINES_PREFIX

CSV = b"age,income,approved\n34,52000,1\n51,31000,0\n"


def summary(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "format": REFERENCE_FORMAT,
        "model": "credit-risk",
        "execution_id": "abc123def456",
        "columns": [
            {"name": "age", "dtype": "int64", "kind": "numerical"},
            {"name": "income", "dtype": "int64", "kind": "numerical"},
            {"name": "approved", "dtype": "int64", "kind": "categorical"},
        ],
        "row_count": 2,
        "sha256": hashlib.sha256(CSV).hexdigest(),
        "label": "approved",
        "created": "2026-12-02T05:00:00Z",
    }
    document.update(overrides)
    return document


def test_layout_is_under_the_foundations_baselines_prefix() -> None:
    assert BASELINES_PREFIX == FOUNDATION_BASELINES_PREFIX
    assert reference_key("credit-risk", "abc123") == (
        "baselines/credit-risk/abc123/reference/summary.json"
    )
    assert reference_key("credit-risk", "abc123", "reference.csv").endswith(
        "/reference/reference.csv"
    )


def test_the_pointer_is_what_the_deploy_time_check_reads() -> None:
    assert f"{POINTER_PATH}.S3Uri" == BASELINE_PATHS["data_quality"]["statistics"]
    uri = "s3://governed/baselines/credit-risk/abc123/reference/summary.json"
    assert drift_check_pointer(uri) == {"ContentType": SUMMARY_CONTENT_TYPE, "S3Uri": uri}


def test_a_valid_summary_round_trips() -> None:
    parsed = parse_summary(json.dumps(summary()))
    assert parsed.column_names == ("age", "income", "approved")
    assert parsed.key() == "baselines/credit-risk/abc123def456/reference/summary.json"
    assert parse_summary(parsed.model_dump_json()) == parsed


@pytest.mark.parametrize(
    ("overrides", "field", "expected"),
    [
        ({"format": "governance-reference/2"}, "format", "governance-reference/1"),
        ({"label": "outcome"}, "<root>", "label 'outcome' is not among"),
        ({"row_count": 0}, "row_count", "a positive integer"),
        ({"sha256": "ABC"}, "sha256", "64 lowercase hexadecimal digits"),
        ({"model": "a/b"}, "model", "letters, digits and hyphens"),
        ({"created": "2026-12-02T05:00:00"}, "created", "timezone"),
        ({"extra": 1}, "extra", "not allowed"),
    ],
)
def test_a_bad_summary_names_the_field_and_what_is_allowed(
    overrides: dict[str, Any], field: str, expected: str
) -> None:
    with pytest.raises(ContractError) as raised:
        parse_summary(summary(**overrides))
    message = str(raised.value)
    assert repr(field) in message or field in message
    assert expected in message


def test_repeated_columns_are_refused() -> None:
    columns = summary()["columns"] + [{"name": "age", "dtype": "int64", "kind": "numerical"}]
    with pytest.raises(ContractError, match="repeated: age"):
        parse_summary(summary(columns=columns))


def test_a_summary_copied_to_another_folder_is_refused() -> None:
    location = parse_location(
        "s3://governed/baselines/credit-risk/other-run/reference/summary.json"
    )
    with pytest.raises(ContractError, match="execution_id"):
        parse_summary(summary(), location=location)
    assert parse_summary(summary(execution_id="other-run"), location=location)


@pytest.mark.parametrize(
    "uri",
    [
        "s3://governed/baselines/credit-risk/abc/reference/reference.csv",
        "s3://governed/work/credit-risk/abc/reference/summary.json",
        "s3://governed/baselines/credit-risk/abc/summary.json",
        "https://governed/baselines/credit-risk/abc/reference/summary.json",
    ],
)
def test_locations_outside_the_layout_are_refused(uri: str) -> None:
    with pytest.raises(ContractError, match="expected s3://<bucket>/baselines/"):
        parse_location(uri)


def test_a_location_of_another_model_is_refused() -> None:
    uri = "s3://governed/baselines/fraud/abc/reference/summary.json"
    with pytest.raises(ContractError, match="expected one under baselines/credit-risk/"):
        parse_location(uri, model="credit-risk")

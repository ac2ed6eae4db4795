"""The pure helpers rules share: three-valued decisions over resolved CloudFormation values."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from cdk_constructs.compliance.rules.framework import (
    Environment,
    Ref,
    Verdict,
    all_of,
    combine,
    configured,
    dig,
    flag,
    is_intrinsic,
)
from cdk_constructs.compliance.rules.monitoring import has_local_storage

PARAMETER = {"Ref": "Parameter"}
CONDITIONAL = {"Fn::If": ["Condition", "a", {"Ref": "AWS::NoValue"}]}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), ("true", True), ("False", False), (None, False), (PARAMETER, None), (3, None)],
)
def test_flag(value: Any, expected: bool | None) -> None:
    assert flag(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("arn:aws:kms:eu-west-1:1:key/k", True),
        ("", False),
        ([], False),
        (None, False),
        ({"Ref": "AWS::NoValue"}, False),
        ({"Fn::GetAtt": ["Key", "Arn"]}, True),
        (Ref("S/Key", "AWS::KMS::Key", "Arn"), True),
        (CONDITIONAL, None),
    ],
)
def test_configured(value: Any, expected: bool | None) -> None:
    assert configured(value) is expected


def test_dig_stops_at_an_unresolved_value() -> None:
    assert dig({"A": PARAMETER}, "A", "B") == PARAMETER
    assert dig({"A": {"B": 1}}, "A", "B") == 1
    assert dig({"A": "text"}, "A", "B") is None


@pytest.mark.parametrize(
    ("instance_type", "expected"),
    [
        ("ml.m5.xlarge", False),
        ("ml.m5d.xlarge", True),
        ("ml.g4dn.xlarge", True),
        ("ml.p4de.24xlarge", True),
        ("ml.g5.2xlarge", True),
        ("ml.c7i.large", False),
        (None, False),
        (PARAMETER, None),
    ],
)
def test_local_storage_instance_types(instance_type: Any, expected: bool | None) -> None:
    assert has_local_storage(instance_type) is expected


def test_three_valued_and() -> None:
    assert all_of(True, None, False) is False
    assert all_of(True, None) is None
    assert all_of(True, True) is True


def test_a_definite_violation_beats_cannot_decide() -> None:
    assert combine([Verdict.UNDECIDABLE, Verdict.NON_COMPLIANT]) is Verdict.NON_COMPLIANT
    assert combine([Verdict.COMPLIANT, Verdict.UNDECIDABLE]) is Verdict.UNDECIDABLE
    assert combine([]) is Verdict.NOT_APPLICABLE


def test_environments_overlap_unless_both_are_known_and_differ() -> None:
    prod = Environment("", "222222222222", "eu-west-1")
    assert prod.overlaps(Environment("", None, None))
    assert not prod.overlaps(Environment("", "111111111111", "eu-west-1"))
    assert not prod.overlaps(Environment("Pipeline/Prod", "222222222222", "eu-west-1"))


class _Uncountable(Mapping[str, Any]):
    """Properties whose length is dear to count (resolved lazily, as the Governance pack's)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        raise AssertionError("counted the keys of a mapping whose first key is not a function")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (PARAMETER, True),
        (CONDITIONAL, True),
        ({"Condition": "IsProd"}, True),
        ({"Ref": "A", "Other": 1}, False),
        ({}, False),
        ({"Name": {"Ref": "A"}}, False),
        ("Ref", False),
        (_Uncountable({"AlarmActions": [], "Tags": []}), False),
        (_Uncountable({}), False),
    ],
)
def test_is_intrinsic_reads_the_first_key_before_counting(value: Any, expected: bool) -> None:
    assert is_intrinsic(value) is expected
    assert dig(_Uncountable({"Role": {"Arn": "a"}}), "Role", "Arn") == "a"

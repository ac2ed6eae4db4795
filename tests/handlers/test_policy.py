"""Per-model policy: validation errors name field, value and what is allowed; SSM loading."""

from __future__ import annotations

import json
from typing import Any

import pytest

from governance.policy import (
    PolicyStore,
    PolicyValidationError,
    Threshold,
    UnknownModelGroupError,
    parse_policy,
)

from .conftest import CREDIT_DEFAULT_POLICY, POLICY_PREFIX, Aws


def test_valid_policy_is_parsed() -> None:
    policy = parse_policy(CREDIT_DEFAULT_POLICY, source="test", expected_group="credit-default")
    assert policy.risk_tier == "high"
    assert policy.bias_thresholds["DI"] == Threshold(0.8, 1.25)
    assert policy.bias_facet is not None
    assert policy.bias_facet.facet_value == "female"
    assert policy.requires("separate_approver")


@pytest.mark.parametrize(
    ("change", "field", "allowed"),
    [
        ({"risk_tier": "critical"}, "risk_tier", "high | medium | low"),
        ({"on_failure": "Approved"}, "on_failure", "Rejected | PendingManualApproval"),
        ({"required_evidence": ["bias_reprot"]}, "required_evidence", "model_quality_metrics |"),
        (
            {"bias_thresholds": {"DI": {"min": 1.3, "max": 1.25}}},
            "bias_thresholds.DI",
            "min <= max",
        ),
        ({"bias_thresholds": {"DI": {"min": "0.8"}}}, "bias_thresholds.DI.min", "a finite number"),
        ({"bias_thresholds": {"DI": {}}}, "bias_thresholds.DI", '"min", "max" or both'),
        ({"bias_facet": {"facet": "gender"}}, "bias_facet", "null or an object with keys"),
        ({"model_card_name": ""}, "model_card_name", "a non-empty string"),
        ({"model_package_group_name": "churn"}, "model_package_group_name", "'credit-default'"),
        ({"bias_treshold": {}}, "bias_treshold", "only the keys"),
    ],
)
def test_invalid_policy_names_field_value_and_allowed(
    change: dict[str, Any], field: str, allowed: str
) -> None:
    with pytest.raises(PolicyValidationError) as caught:
        parse_policy(
            {**CREDIT_DEFAULT_POLICY, **change}, source="p", expected_group="credit-default"
        )
    assert caught.value.field == field
    assert f"field {field!r}" in str(caught.value)
    assert allowed in str(caught.value)


def test_missing_key_is_named() -> None:
    document = {k: v for k, v in CREDIT_DEFAULT_POLICY.items() if k != "on_failure"}
    with pytest.raises(PolicyValidationError, match="'on_failure' is '<missing>'"):
        parse_policy(document, source="p")


def test_store_loads_caches_and_reports_unknown_groups(aws: Aws) -> None:
    # Given a store over SSM with the credit-default policy
    store = PolicyStore(aws.ssm, POLICY_PREFIX)

    # When the policy is read, then changed in SSM, then read again
    first = store.get("credit-default")
    aws.put_policy("credit-default", {**CREDIT_DEFAULT_POLICY, "risk_tier": "low"})
    second = store.get("credit-default")

    # Then the cold-start cache serves the first version
    assert first is second
    assert first.risk_tier == "high"
    # And an unknown group is reported with the parameter looked for
    with pytest.raises(UnknownModelGroupError, match="/sagemaker-governance/models/churn"):
        store.get("churn")


def test_store_rejects_a_value_that_is_not_json(aws: Aws) -> None:
    aws.put_policy("credit-default", json.dumps(CREDIT_DEFAULT_POLICY)[:-1])
    with pytest.raises(PolicyValidationError, match="valid JSON"):
        PolicyStore(aws.ssm, POLICY_PREFIX).get("credit-default")

"""The contracts shared with the app: SSM documents, error messages, and names and limits
checked against AWS's own machine-readable sources (botocore, cfn-lint's provider schemas)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

import cfnlint
import pytest
from botocore.stub import Stubber

from governance.contracts.errors import InvalidParameterError
from governance.contracts.parameters import Threshold, parse_endpoint_governance, parse_policy
from governance.contracts.vocabulary import (
    APPROVAL_DESCRIPTION_MAX_CHARS,
    MONITOR_JOB_TYPES,
    PIPELINE_PARAMETER_MAX_CHARS,
    ApprovalStatus,
    ModelCardStatus,
    MonitorType,
    OnFailureStatus,
    monitor_type_of,
)
from governance.data_access.notifier import sns_subject
from governance.data_access.parameters import SsmGovernanceParameters, UnknownModelGroupError
from governance.sagemaker import ProcessingJobStatus
from tests.conftest import sagemaker_service_model

from .conftest import CREDIT_DEFAULT_POLICY, moto_client

SAGEMAKER = sagemaker_service_model()
PARAMETER = "/sagemaker-governance/models/credit-default"


def test_valid_policy_is_parsed_in_canonical_order() -> None:
    document = {**CREDIT_DEFAULT_POLICY, "required_evidence": ["separate_approver", "bias_report"]}
    policy = parse_policy(document, parameter=PARAMETER, group="credit-default")
    assert policy.risk_tier == "high"
    assert policy.bias_thresholds["DI"] == Threshold(min=0.8, max=1.25)
    assert policy.bias_facet is not None
    assert policy.bias_facet.facet_value == "female"
    assert policy.required_evidence == ("bias_report", "separate_approver")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"risk_tier": "critical"}, "field 'risk_tier': got 'critical'; expected one of high,"),
        (
            {"on_failure": "Approved"},
            "field 'on_failure': got 'Approved'; expected one of Rejected, PendingManualApproval",
        ),
        (
            {"required_evidence": ["bias_reprot"]},
            "field 'required_evidence[0]': got 'bias_reprot'; "
            "expected one of model_quality_metrics,",
        ),
        (
            {"bias_thresholds": {"DI": {"min": 1.3, "max": 1.25}}},
            "field 'bias_thresholds.DI': got {'min': 1.3, 'max': 1.25}; expected min <= max",
        ),
        (
            {"bias_thresholds": {"DI": {"min": "0.8"}}},
            "field 'bias_thresholds.DI.min': got '0.8'; expected a number",
        ),
        (
            {"bias_thresholds": {"DI": {}}},
            'field \'bias_thresholds.DI\': got {}; expected an object with "min", "max" or both',
        ),
        (
            {"bias_facet": {"facet": "gender"}},
            "field 'bias_facet.label': got <missing>; expected a non-empty string",
        ),
        (
            {"bias_facet": {**CREDIT_DEFAULT_POLICY["bias_facet"], "label_value": True}},
            "field 'bias_facet.label_value': got True; expected a string or a number",
        ),
        ({"model_card_name": " "}, "field 'model_card_name': got ' '; expected a non-empty string"),
        (
            {"model_package_group_name": "churn"},
            "field 'model_package_group_name': got 'churn'; expected 'credit-default'",
        ),
        ({"bias_treshold": {}}, "field 'bias_treshold' is not allowed; allowed: model_name"),
    ],
)
def test_invalid_policy_names_field_value_and_allowed(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        parse_policy(
            {**CREDIT_DEFAULT_POLICY, **change}, parameter=PARAMETER, group="credit-default"
        )
    assert PARAMETER in str(caught.value)
    assert problem in str(caught.value)


def test_missing_key_and_bad_json_are_named() -> None:
    document = {k: v for k, v in CREDIT_DEFAULT_POLICY.items() if k != "on_failure"}
    with pytest.raises(InvalidParameterError, match="'on_failure': got <missing>; expected one of"):
        parse_policy(document, parameter=PARAMETER, group="credit-default")
    with pytest.raises(InvalidParameterError, match="the value is not valid JSON"):
        parse_policy(json.dumps(CREDIT_DEFAULT_POLICY)[:-1], parameter=PARAMETER, group="g")


ENDPOINT = {
    "model_name": "credit-default",
    "model_package_group_name": "credit-default",
    "endpoint_name": "credit-default-prod",
    "monitors": {"bias": "credit-default-prod-model-bias"},
    "retraining_pipeline_name": None,
}
ENDPOINT_PARAMETER = "/sagemaker-governance/endpoints/credit-default-prod"


def test_endpoint_parameter_maps_schedules_to_monitor_types() -> None:
    governance = parse_endpoint_governance(
        json.dumps(ENDPOINT), parameter=ENDPOINT_PARAMETER, endpoint="credit-default-prod"
    )
    assert governance.monitor_type_for_schedule("credit-default-prod-model-bias") is (
        MonitorType.BIAS
    )
    assert governance.monitor_type_for_schedule("someone-elses-schedule") is None
    assert governance.retraining_pipeline_name is None


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"model_name": ""}, "field 'model_name': got ''; expected a non-empty string"),
        (
            {"monitors": {"drift": "x"}},
            "field 'monitors.drift': got 'drift'; expected a key that is one of data_quality, "
            "model_quality, bias, explainability",
        ),
        ({"monitors": {"bias": ""}}, "field 'monitors.bias': got ''; expected a non-empty string"),
        ({"monitors": ["bias"]}, "field 'monitors': got ['bias']; expected an object"),
        ({"retraining_pipeline_name": 3}, "field 'retraining_pipeline_name': got 3;"),
        ({"endpoint_name": "other-prod"}, "got 'other-prod'; expected 'credit-default-prod'"),
        ({"retrain_pipeline": "x"}, "field 'retrain_pipeline' is not allowed; allowed: model_name"),
    ],
)
def test_invalid_endpoint_parameter_names_field_value_and_allowed(
    change: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        parse_endpoint_governance(
            json.dumps({**ENDPOINT, **change}),
            parameter=ENDPOINT_PARAMETER,
            endpoint="credit-default-prod",
        )
    assert ENDPOINT_PARAMETER in str(caught.value)
    assert problem in str(caught.value)


def test_policies_are_cached_and_unknown_groups_named() -> None:
    # Given SSM answering one policy, then a different one, then "not found"
    ssm = moto_client("ssm")
    store = SsmGovernanceParameters(ssm)
    with Stubber(ssm) as stub:
        stub.add_response(
            "get_parameter",
            {"Parameter": {"Value": json.dumps(CREDIT_DEFAULT_POLICY)}},
            {"Name": PARAMETER},
        )
        stub.add_client_error(
            "get_parameter",
            "ParameterNotFound",
            expected_params={"Name": ("/sagemaker-governance/models/churn")},
        )
        # When the policy is read twice and an unknown group once
        first = store.approval_policy("credit-default")
        second = store.approval_policy("credit-default")
        with pytest.raises(UnknownModelGroupError, match="/sagemaker-governance/models/churn"):
            store.approval_policy("churn")
        stub.assert_no_pending_responses()
    # Then the cold-start cache served the second read without calling SSM
    assert first is second


# --- Names and limits, checked against AWS's machine-readable sources ------------------------


@pytest.mark.parametrize(
    ("ours", "shape"),
    [
        (ApprovalStatus, "ModelApprovalStatus"),
        (ModelCardStatus, "ModelCardStatus"),
        (ProcessingJobStatus, "ProcessingJobStatus"),
    ],
)
def test_enums_match_the_botocore_model(ours: type[StrEnum], shape: str) -> None:
    assert [member.value for member in ours] == SAGEMAKER.shape_for(shape).enum


def test_on_failure_statuses_are_approval_statuses_other_than_approved() -> None:
    assert {s.value for s in OnFailureStatus} == {s.value for s in ApprovalStatus} - {"Approved"}


def test_monitor_job_types_match_botocore_and_cloudformation() -> None:
    providers = Path(cfnlint.__file__).parent / "data" / "schemas" / "providers" / "eu-west-1.json"
    resource_types = set(json.loads(providers.read_text()))
    assert sorted(j.monitoring_type for j in MONITOR_JOB_TYPES.values()) == sorted(
        SAGEMAKER.shape_for("MonitoringType").enum
    )
    assert set(MONITOR_JOB_TYPES) == set(MonitorType)
    for kind, job in MONITOR_JOB_TYPES.items():
        assert job.job_definition_resource in resource_types
        assert monitor_type_of(job.monitoring_type) is kind
    assert monitor_type_of("Drift") is None


def test_length_limits_match_the_botocore_model() -> None:
    update = SAGEMAKER.operation_model("UpdateModelPackage").input_shape
    assert update.members["ApprovalDescription"].metadata["max"] == APPROVAL_DESCRIPTION_MAX_CHARS
    start = SAGEMAKER.operation_model("StartPipelineExecution").input_shape
    value = start.members["PipelineParameters"].member.members["Value"]
    assert value.metadata["max"] == PIPELINE_PARAMETER_MAX_CHARS


def test_sns_subjects_are_cleaned_to_what_sns_accepts() -> None:
    subject = sns_subject("Modèle\napproval " + "x" * 200)
    assert subject.isascii()
    assert subject.isprintable()
    assert len(subject) == 100
    assert subject.startswith("Mod?le?approval")

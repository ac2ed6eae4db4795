"""Validating the SageMaker event and the per-endpoint governance parameter."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from governance.monitoring_events import (
    EndpointConfigError,
    MalformedEventError,
    MonitorType,
    Outcome,
    parse_endpoint_governance,
    parse_processing_job_event,
)

from .conftest import ENDPOINTS, load_fixture

PARAMETER = "/sagemaker-governance/endpoints/credit-default-prod"


def test_full_event_yields_schedule_endpoint_output_and_outcome() -> None:
    # Given a processing-job event that carries the monitoring fields
    event = load_fixture("event-data-quality-violations.json")
    # When it is parsed
    change = parse_processing_job_event(event)
    # Then everything the handler needs is there without calling SageMaker
    assert change.schedule_name == "credit-default-prod-data-quality"
    assert change.endpoint_name == "credit-default-prod"
    assert change.output_s3_uri is not None
    assert change.output_s3_uri.endswith("/credit-default-prod-data-quality/2026/11/29/14")
    assert change.outcome is Outcome.VIOLATIONS
    assert not change.needs_description


def test_minimal_event_asks_for_a_description_and_merges_it() -> None:
    # Given an event shaped like the documented example (no exit message, schedule or output)
    change = parse_processing_job_event(load_fixture("event-bias-violations.json"))
    assert change.needs_description
    # When the DescribeProcessingJob response is merged in
    described = change.with_description(load_fixture("describe-processing-job-bias.json"))
    # Then the outcome and schedule come from the description
    assert described.outcome is Outcome.VIOLATIONS
    assert described.schedule_name == "credit-default-prod-model-bias"
    assert described.endpoint_name is None
    assert not described.needs_description


@pytest.mark.parametrize(
    ("status", "exit_message", "outcome"),
    [
        ("Completed", "CompletedWithViolations: Job completed successfully with 3 violations.",
         Outcome.VIOLATIONS),
        ("Completed", "Completed: Job completed successfully with no violations.",
         Outcome.NO_VIOLATIONS),
        ("Failed", None, Outcome.MONITORING_FAILED),
        ("Stopped", None, Outcome.NOT_FINISHED),
        ("InProgress", None, Outcome.NOT_FINISHED),
    ],
)  # fmt: skip
def test_outcome_follows_status_and_exit_message(
    status: str, exit_message: str | None, outcome: Outcome
) -> None:
    event = load_fixture("event-data-quality-violations.json")
    event["detail"]["ProcessingJobStatus"] = status
    event["detail"].pop("ExitMessage")
    if exit_message is not None:
        event["detail"]["ExitMessage"] = exit_message
    assert parse_processing_job_event(event).outcome is outcome


def _without(path: list[str]) -> dict[str, Any]:
    event = load_fixture("event-data-quality-violations.json")
    target = event
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return event


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (load_fixture("event-malformed.json"), "'detail.ProcessingJobStatus'"),
        (_without(["id"]), "event field 'id' must be a non-empty string, got (missing)"),
        (_without(["detail"]), "event field 'detail' must be an object, got (missing)"),
        (_without(["detail", "ProcessingJobName"]), "'detail.ProcessingJobName'"),
        ({**_without(["detail", "ProcessingJobArn"]), "resources": []}, "processing-job ARN"),
        ({**load_fixture("event-data-quality-violations.json"), "detail-type": "Other"}, "allowed"),
        ([], "must be a JSON object"),
    ],
)
def test_malformed_events_name_the_field(event: Any, message: str) -> None:
    with pytest.raises(MalformedEventError) as raised:
        parse_processing_job_event(event)
    assert message in str(raised.value)


def test_job_arn_falls_back_to_resources() -> None:
    # Given an event whose detail omits the ARN (it is always in resources)
    event = _without(["detail", "ProcessingJobArn"])
    # Then the resource ARN is used
    assert parse_processing_job_event(event).job_arn == event["resources"][0]


def test_wrongly_typed_environment_is_rejected() -> None:
    event = load_fixture("event-data-quality-violations.json")
    event["detail"]["Environment"] = {"sagemaker_endpoint_name": 7}
    with pytest.raises(MalformedEventError, match="'Environment' must map names to strings"):
        parse_processing_job_event(event)


def governance_json(**changes: Any) -> str:
    document = copy.deepcopy(ENDPOINTS["credit-default-prod"])
    document.update(changes)
    return json.dumps(document)


def test_valid_parameter_maps_schedules_to_monitor_types() -> None:
    # Given the parameter the CDK stack writes for an endpoint
    governance = parse_endpoint_governance(
        governance_json(), parameter_name=PARAMETER, expected_endpoint="credit-default-prod"
    )
    # Then schedules resolve to monitor types and the pipeline is known
    assert governance.monitor_type_for_schedule("credit-default-prod-model-bias") is (
        MonitorType.BIAS
    )
    assert governance.monitor_type_for_schedule("someone-elses-schedule") is None
    assert governance.retraining_pipeline_name == "credit-default-retrain"


def test_null_retraining_pipeline_is_allowed() -> None:
    governance = parse_endpoint_governance(
        governance_json(retraining_pipeline_name=None),
        parameter_name=PARAMETER,
        expected_endpoint="credit-default-prod",
    )
    assert governance.retraining_pipeline_name is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "is not valid JSON"),
        ("[]", "must be a JSON object"),
        (governance_json(model_name=""), "field 'model_name' must be a non-empty string, got ''"),
        (
            governance_json(monitors={"drift": "x"}),
            "field 'monitors.drift' is not a monitor type; allowed: data_quality, "
            "model_quality, bias, explainability",
        ),
        (governance_json(monitors={"bias": ""}), "field 'monitors.bias' must be a schedule name"),
        (governance_json(monitors=["bias"]), "field 'monitors' must be an object"),
        (governance_json(retraining_pipeline_name=3), "'retraining_pipeline_name' must be"),
        (governance_json(endpoint_name="other-prod"), "is 'other-prod' but the parameter is for"),
        (governance_json(retrain_pipeline="x"), "field(s) retrain_pipeline not allowed; allowed:"),
    ],
)
def test_invalid_parameter_names_field_value_and_allowed(raw: str, message: str) -> None:
    with pytest.raises(EndpointConfigError) as raised:
        parse_endpoint_governance(
            raw, parameter_name=PARAMETER, expected_endpoint="credit-default-prod"
        )
    assert PARAMETER in str(raised.value)
    assert message in str(raised.value)


def test_schedule_monitoring_types_map_to_ours() -> None:
    assert MonitorType.from_schedule_monitoring_type("ModelExplainability") is (
        MonitorType.EXPLAINABILITY
    )
    with pytest.raises(MalformedEventError, match="allowed: DataQuality"):
        MonitorType.from_schedule_monitoring_type("Drift")

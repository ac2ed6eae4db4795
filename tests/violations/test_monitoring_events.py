"""The processing-job state change: parsing, what a run's status means, filling the gaps."""

from __future__ import annotations

from typing import Any

import pytest

from governance.contracts.errors import InvalidEventError
from governance.events import ProcessingJobStateChange, parse_event
from governance.logic.monitoring import (
    RunStatus,
    clean_from_event,
    job_arn_of,
    needs_description,
    run_status,
)
from governance.sagemaker import ProcessingJob

from .conftest import load_fixture


def parse(event: Any) -> ProcessingJobStateChange:
    return parse_event(event, ProcessingJobStateChange)


def test_full_event_yields_schedule_endpoint_output_and_status() -> None:
    # Given a processing-job event that carries the monitoring fields
    change = parse(load_fixture("event-data-quality-violations.json"))
    # Then everything the handler needs is there without calling SageMaker
    job = change.detail
    assert job.schedule_name == "credit-default-prod-data-quality"
    assert job.endpoint_name == "credit-default-prod"
    assert job.output_s3_uri is not None
    assert job.output_s3_uri.endswith("/credit-default-prod-data-quality/2026/11/29/14")
    assert run_status(job) is RunStatus.VIOLATIONS
    assert not needs_description(job)


def test_minimal_event_asks_for_a_description_and_merges_it() -> None:
    # Given an event shaped like the documented example (no exit message, schedule or output)
    job = parse(load_fixture("event-bias-violations.json")).detail
    assert needs_description(job)
    # When the DescribeProcessingJob response is merged in
    described = job.completed_from(
        ProcessingJob.model_validate(load_fixture("describe-processing-job-bias.json"))
    )
    # Then the status and schedule come from the description, the event's values kept
    assert run_status(described) is RunStatus.VIOLATIONS
    assert described.schedule_name == "credit-default-prod-model-bias"
    assert described.processing_job_name == job.processing_job_name
    assert described.endpoint_name is None
    assert not needs_description(described)


def test_failed_and_stopped_runs_need_only_their_schedule() -> None:
    stopped = parse(load_fixture("event-stopped-execution.json")).detail
    assert run_status(stopped) is RunStatus.STOPPED
    assert not needs_description(stopped)
    minimal = parse(load_fixture("event-failed-execution-minimal.json")).detail
    assert run_status(minimal) is RunStatus.FAILED
    assert needs_description(minimal)


@pytest.mark.parametrize(
    ("status", "exit_message", "expected"),
    [
        ("Completed", "CompletedWithViolations: Job completed successfully with 3 violations.",
         RunStatus.VIOLATIONS),
        ("Completed", "Completed: Job completed successfully with no violations.",
         RunStatus.CLEAN),
        ("Completed", None, RunStatus.CLEAN),
        ("Failed", None, RunStatus.FAILED),
        ("Stopped", None, RunStatus.STOPPED),
        ("Stopping", None, RunStatus.NOT_FINISHED),
        ("InProgress", None, RunStatus.NOT_FINISHED),
    ],
)  # fmt: skip
def test_run_status_follows_job_status_and_exit_message(
    status: str, exit_message: str | None, expected: RunStatus
) -> None:
    event = load_fixture("event-data-quality-violations.json")
    event["detail"]["ProcessingJobStatus"] = status
    event["detail"].pop("ExitMessage")
    if exit_message is not None:
        event["detail"]["ExitMessage"] = exit_message
    job = parse(event).detail
    assert run_status(job) is expected
    # Only a completed run whose exit message says clean is known clean from the event alone
    assert clean_from_event(job) is (expected is RunStatus.CLEAN and exit_message is not None)


def _without(path: list[str]) -> dict[str, Any]:
    event = load_fixture("event-data-quality-violations.json")
    target = event
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return event


def _with_status(status: str) -> dict[str, Any]:
    event = load_fixture("event-data-quality-violations.json")
    event["detail"]["ProcessingJobStatus"] = status
    return event


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (load_fixture("event-malformed.json"), "field 'detail.ProcessingJobStatus': got <missing>"),
        (_without(["id"]), "field 'id': got <missing>; expected a string"),
        (_without(["detail"]), "field 'detail': got <missing>"),
        (_without(["detail", "ProcessingJobName"]), "field 'detail.ProcessingJobName'"),
        (
            {**load_fixture("event-data-quality-violations.json"), "detail-type": "Other"},
            "field 'detail-type': got 'Other'; expected one of SageMaker Processing Job State",
        ),
        (
            _with_status("Exploded"),
            "field 'detail.ProcessingJobStatus': got 'Exploded'; expected one of InProgress,",
        ),
        ([], "expected an EventBridge event object"),
    ],
)
def test_malformed_events_name_the_field(event: Any, message: str) -> None:
    with pytest.raises(InvalidEventError) as raised:
        parse(event)
    assert message in str(raised.value)


def test_job_arn_falls_back_to_resources_and_must_be_a_processing_job() -> None:
    event = _without(["detail", "ProcessingJobArn"])
    assert job_arn_of(parse(event)) == event["resources"][0]
    with pytest.raises(
        InvalidEventError, match=r"'detail.ProcessingJobArn' \(or 'resources\[0\]'\)"
    ):
        job_arn_of(parse({**event, "resources": []}))


def test_wrongly_typed_environment_is_rejected() -> None:
    event = load_fixture("event-data-quality-violations.json")
    event["detail"]["Environment"] = {"sagemaker_endpoint_name": 7}
    with pytest.raises(InvalidEventError, match=r"'detail.Environment.sagemaker_endpoint_name'"):
        parse(event)

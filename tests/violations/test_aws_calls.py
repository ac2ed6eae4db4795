"""The AWS-facing functions against botocore's Stubber: request shapes and error handling.

moto has no monitoring schedules, and S3 errors other than NoSuchKey are awkward to provoke in
it; the Stubber checks each request against the real API model instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from governance.constraint_reports import ReportError
from governance.monitoring_events import (
    MalformedEventError,
    MonitorType,
    parse_processing_job_event,
)
from governance.violations import Settings, read_report, resolve_execution

from .conftest import ENDPOINTS, PARAMETER_PREFIX, SESSION, load_fixture

SETTINGS = Settings(
    endpoint_parameter_prefix=PARAMETER_PREFIX,
    alert_topic_arn="arn:aws:sns:eu-west-1:111122223333:alerts",
    idempotency_table_name="idempotency",
)
REPORT_URI = (
    "s3://reports/monitoring/credit-default-prod/dq/2026/11/29/14/constraint_violations.json"
)


@pytest.fixture
def stubbed() -> Iterator[dict[str, Any]]:
    clients = {name: SESSION.client(name) for name in ("s3", "sagemaker", "ssm")}
    stubbers = {name: Stubber(client) for name, client in clients.items()}
    for stubber in stubbers.values():
        stubber.activate()
    yield {"clients": clients, "stubbers": stubbers}
    for stubber in stubbers.values():
        stubber.assert_no_pending_responses()
        stubber.deactivate()


@pytest.mark.parametrize("code", ["AccessDenied", "NoSuchKey", "NoSuchBucket"])
def test_permanent_s3_errors_become_report_errors(stubbed: dict[str, Any], code: str) -> None:
    # Given S3 refuses the report for a reason retrying cannot fix
    stubbed["stubbers"]["s3"].add_client_error(
        "get_object",
        service_error_code=code,
        expected_params={
            "Bucket": "reports",
            "Key": "monitoring/credit-default-prod/dq/2026/11/29/14/constraint_violations.json",
        },
    )
    # When it is read, Then the failure is a ReportError naming the object and the code
    with pytest.raises(ReportError, match=f"cannot read {REPORT_URI}: {code}"):
        read_report(stubbed["clients"]["s3"], REPORT_URI)


def test_transient_s3_errors_propagate_for_a_retry(stubbed: dict[str, Any]) -> None:
    # Given S3 is throttling
    stubbed["stubbers"]["s3"].add_client_error("get_object", service_error_code="SlowDown")
    # When the report is read, Then the ClientError propagates so the event is retried
    with pytest.raises(ClientError):
        read_report(stubbed["clients"]["s3"], REPORT_URI)


def test_schedule_missing_from_the_parameter_is_typed_by_describe(stubbed: dict[str, Any]) -> None:
    # Given an execution of a schedule the endpoint parameter does not list
    event = load_fixture("event-data-quality-violations.json")
    event["detail"]["Environment"]["sagemaker_monitoring_schedule_name"] = "adhoc-model-quality"
    change = parse_processing_job_event(event)
    stubbed["stubbers"]["ssm"].add_response(
        "get_parameter",
        {"Parameter": {"Value": json.dumps(ENDPOINTS["credit-default-prod"])}},
        {"Name": f"{PARAMETER_PREFIX}credit-default-prod"},
    )
    stubbed["stubbers"]["sagemaker"].add_response(
        "describe_monitoring_schedule",
        {
            "MonitoringScheduleArn": "arn:aws:sagemaker:eu-west-1:111122223333:"
            "monitoring-schedule/adhoc-model-quality",
            "MonitoringScheduleName": "adhoc-model-quality",
            "MonitoringScheduleStatus": "Scheduled",
            "MonitoringType": "ModelQuality",
            "CreationTime": "2026-11-29T10:00:00Z",
            "LastModifiedTime": "2026-11-29T10:00:00Z",
            "MonitoringScheduleConfig": {"MonitoringJobDefinitionName": "adhoc-mq"},
            "EndpointName": "credit-default-prod",
        },
        {"MonitoringScheduleName": "adhoc-model-quality"},
    )
    # When the execution is resolved
    execution = resolve_execution(
        change,
        "adhoc-model-quality",
        settings=SETTINGS,
        sagemaker=stubbed["clients"]["sagemaker"],
        ssm=stubbed["clients"]["ssm"],
    )
    # Then the schedule's own monitoring type is used
    assert execution.monitor_type is MonitorType.MODEL_QUALITY
    assert execution.governance.model_name == "credit-default"


def test_schedule_without_endpoint_raises_naming_job_and_schedule(
    stubbed: dict[str, Any],
) -> None:
    # Given a job whose environment and schedule both lack the endpoint (a batch-transform monitor)
    event = load_fixture("event-data-quality-violations.json")
    del event["detail"]["Environment"]["sagemaker_endpoint_name"]
    change = parse_processing_job_event(event)
    stubbed["stubbers"]["sagemaker"].add_response(
        "describe_monitoring_schedule",
        {
            "MonitoringScheduleArn": "arn:aws:sagemaker:eu-west-1:111122223333:"
            "monitoring-schedule/batch-dq",
            "MonitoringScheduleName": "batch-dq",
            "MonitoringScheduleStatus": "Scheduled",
            "CreationTime": "2026-11-29T10:00:00Z",
            "LastModifiedTime": "2026-11-29T10:00:00Z",
            "MonitoringScheduleConfig": {"MonitoringJobDefinitionName": "batch-dq"},
        },
        {"MonitoringScheduleName": "batch-dq"},
    )
    # When resolved, Then the error names the job and the schedule
    with pytest.raises(MalformedEventError, match=r"processing job model-monitoring-.*batch-dq"):
        resolve_execution(
            change,
            "batch-dq",
            settings=SETTINGS,
            sagemaker=stubbed["clients"]["sagemaker"],
            ssm=stubbed["clients"]["ssm"],
        )

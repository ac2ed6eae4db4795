"""The violations handler: decisions against fakes, then a few runs end to end against moto."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from moto import mock_aws

from governance import violations
from governance.contracts.errors import InvalidEventError, InvalidParameterError
from governance.data_access.notifier import EventRejectedError
from governance.data_access.parameters import UnknownEndpointError
from governance.events import ProcessingJobStateChange, parse_event
from governance.lambda_runtime import ConfigurationError
from governance.logic.monitoring import HandlerResult, record_id, run_violations
from governance.violations import ViolationSettings, build_handler

from .conftest import (
    PARAMETER_PREFIX,
    RETRAINING_PIPELINE,
    SESSION,
    Aws,
    Monitoring,
    load_fixture,
)


def only(items: list[Any]) -> Any:
    assert len(items) == 1, items
    return items[0]


def handle(monitoring: Monitoring, event: dict[str, Any]) -> HandlerResult:
    return run_violations(parse_event(event, ProcessingJobStateChange), monitoring.stores)


# --- Decisions (fakes) -----------------------------------------------------------------------


def test_data_quality_violations_alert_record_and_retrain(monitoring: Monitoring) -> None:
    # Given a data-quality execution that completed with violations, its report readable,
    # and an endpoint with a retraining pipeline
    event = load_fixture("event-data-quality-violations.json")
    report_uri = monitoring.put_report("report-data-quality.json", event)
    job_arn = event["detail"]["ProcessingJobArn"]

    # When the handler's logic runs
    result = handle(monitoring, event)

    # Then one retraining execution is started, with a token derived from the job outcome
    start = only(monitoring.pipelines.requests)
    assert start.pipeline_name == RETRAINING_PIPELINE
    assert start.client_request_token == record_id(job_arn, "Completed")
    assert dict(start.parameters) == {
        "TriggerSource": "sagemaker.governance/monitoring-violation",
        "TriggerMonitorType": "data_quality",
        "TriggerProcessingJobArn": job_arn,
        "TriggerReportUri": report_uri,
    }
    # And the event carried everything, so SageMaker was not asked to describe anything
    assert monitoring.runs.calls == []

    # And the alert names model, endpoint, monitor, each violation, the report and the run
    alert = only(monitoring.notifier.alerts)
    assert alert.subject == "Monitoring: 3 data quality violation(s) on credit-default-prod"
    for expected in (
        "Model:                credit-default",
        "Endpoint:             credit-default-prod",
        "Monitor:              data quality (schedule credit-default-prod-data-quality)",
        "1. credit_amount [baseline_drift_check]: Baseline drift distance: 0.2431 exceeds "
        "threshold: 0.1",
        "2. age [data_type_check]: Data type match requirement is not met.",
        "3. employment_duration [completeness_check]:",
        f"Report:               {report_uri}",
        "https://s3.console.aws.amazon.com/s3/object/sagemaker-governance-monitoring-"
        "111122223333-eu-west-1?region=eu-west-1&prefix=monitoring-reports/",
        "https://eu-west-1.console.aws.amazon.com/sagemaker/home?region=eu-west-1"
        "#/processing-jobs/model-monitoring-202611291400-8c2f1e0a7b6d4c3e9f10a2b4",
        "Retraining: started pipeline credit-default-retrain, execution "
        f"{result.pipeline_execution_arn}",
    ):
        assert expected in alert.message
    assert alert.attributes["monitor_type"] == "data_quality"

    # And the violation event has the agreed shape
    entry = only(monitoring.notifier.events)
    assert (entry["Source"], entry["DetailType"]) == (
        "sagemaker.governance",
        "Model Monitoring Violation",
    )
    assert entry["Resources"] == [job_arn]
    detail = entry["Detail"]
    assert detail["modelPackageGroupName"] == "credit-default"
    assert detail["modelName"] == "credit-default"
    assert detail["endpointName"] == "credit-default-prod"
    assert detail["monitorType"] == "data_quality"
    assert detail["processingJobArn"] == job_arn
    assert detail["reportUri"] == report_uri
    assert detail["sourceEventId"] == event["id"]
    assert detail["outcome"] == "violations"
    assert detail["recordId"] == record_id(job_arn, "Completed")
    assert detail["retrainingPipelineExecutionArn"] == result.pipeline_execution_arn
    assert detail["violations"][0] == {
        "feature": "credit_amount",
        "checkType": "baseline_drift_check",
        "description": "Baseline drift distance: 0.2431 exceeds threshold: 0.1",
    }
    assert [v["feature"] for v in detail["violations"]] == [
        "credit_amount",
        "age",
        "employment_duration",
    ]
    assert "failureReason" not in detail
    assert "reportError" not in detail

    # And the result says what was done
    assert (result.status, result.violation_count) == ("recorded", 3)


def test_model_quality_violations_without_pipeline_start_nothing(monitoring: Monitoring) -> None:
    # Given a model-quality execution with violations on an endpoint without a pipeline
    event = load_fixture("event-model-quality-violations.json")
    monitoring.put_report("report-model-quality.json", event)

    # When handled
    result = handle(monitoring, event)

    # Then the metrics are reported and no pipeline is started
    assert monitoring.pipelines.requests == []
    assert result.pipeline_execution_arn is None
    message = only(monitoring.notifier.alerts).message
    assert (
        "1. auc [LessThanThreshold]: Metric auc with 0.6812 +/- 0.0039 was LessThanThreshold"
        in (message)
    )
    assert "Retraining: no retraining pipeline is configured for this endpoint." in message
    detail = only(monitoring.notifier.details)
    assert detail["monitorType"] == "model_quality"
    assert detail["modelName"] == "churn"
    assert detail["retrainingPipelineExecutionArn"] is None
    assert detail["violations"][1] == {
        "feature": "f1",
        "checkType": "LessThanThreshold",
        "description": "Metric f1 with 0.5403 +/- 0.0061 was LessThanThreshold '0.62'",
        "metricName": "f1",
    }


def test_bias_violations_from_a_minimal_event_are_resolved_through_sagemaker(
    monitoring: Monitoring,
) -> None:
    # Given a bias event without exit message, schedule, environment or output (as documented),
    # with DescribeProcessingJob / DescribeMonitoringSchedule answering the rest
    event = load_fixture("event-bias-violations.json")
    described = load_fixture("describe-processing-job-bias.json")
    monitoring.put_report_at(
        "report-bias.json", described["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    )

    # When handled
    result = handle(monitoring, event)

    # Then the job and its schedule were described to find the endpoint and the output
    assert monitoring.runs.calls == [
        ("DescribeProcessingJob", event["detail"]["ProcessingJobName"]),
        ("DescribeMonitoringSchedule", "credit-default-prod-model-bias"),
    ]
    assert result.monitor_type == "bias"
    # And facet, value and metric reach both the alert and the record
    assert "1. CI for facet age=40 [bias_drift_check]: Value 0.0751544567666083" in (
        only(monitoring.notifier.alerts).message
    )
    detail = only(monitoring.notifier.details)
    assert detail["violations"][1] == {
        "feature": "age",
        "checkType": "bias_drift_check",
        "description": "Value -0.0791244970125596 does not meet the constraint requirement",
        "metricName": "DPPL",
        "facet": "age",
        "facetValue": "40",
    }
    # And retraining is started for bias drift too
    assert len(monitoring.pipelines.started) == 1


def test_explainability_violations_are_reported_per_label(monitoring: Monitoring) -> None:
    event = load_fixture("event-explainability-violations.json")
    monitoring.put_report("report-explainability.json", event)
    handle(monitoring, event)
    alert = only(monitoring.notifier.alerts)
    assert alert.subject == "Monitoring: 1 explainability violation(s) on credit-default-prod"
    assert "1. shap for label label0 [feature_attribution_drift_check]:" in alert.message
    detail = only(monitoring.notifier.details)
    assert detail["monitorType"] == "explainability"
    assert detail["violations"][0]["label"] == "label0"


def test_completed_without_violations_is_skipped_without_side_effects(
    monitoring: Monitoring,
) -> None:
    result = handle(monitoring, load_fixture("event-completed-no-violations.json"))
    assert (result.status, result.reason) == ("skipped", "completed without violations")
    assert monitoring.notifier.alerts == monitoring.notifier.events == []
    assert monitoring.runs.calls == []
    assert monitoring.parameters.reads == []


@pytest.mark.parametrize("status", ["InProgress", "Stopping"])
def test_unfinished_statuses_are_skipped(monitoring: Monitoring, status: str) -> None:
    event = load_fixture("event-data-quality-violations.json")
    event["detail"]["ProcessingJobStatus"] = status
    result = handle(monitoring, event)
    assert result.status == "skipped"
    assert monitoring.notifier.alerts == monitoring.notifier.events == []


def test_processing_job_that_is_not_monitoring_is_skipped(monitoring: Monitoring) -> None:
    # Given a finished processing job with no monitoring schedule (e.g. a pipeline step)
    event = load_fixture("event-bias-violations.json")
    name = event["detail"]["ProcessingJobName"]
    monitoring.runs.jobs[name] = {
        "ProcessingJobName": name,
        "ProcessingJobStatus": "Completed",
        "ExitMessage": "done",
    }
    # When handled, Then it is skipped after one describe, with no side effects
    result = handle(monitoring, event)
    assert result.reason == "not a Model Monitor execution (no monitoring schedule)"
    assert monitoring.notifier.alerts == monitoring.notifier.events == []


def test_completed_run_without_an_exit_message_is_clean_and_says_so(
    monitoring: Monitoring,
) -> None:
    event = load_fixture("event-bias-violations.json")
    name = event["detail"]["ProcessingJobName"]
    described = load_fixture("describe-processing-job-bias.json")
    del described["ExitMessage"]
    monitoring.runs.jobs[name] = described
    result = handle(monitoring, event)
    assert result.reason == "completed without violations (no ExitMessage: treated as clean)"
    assert monitoring.notifier.alerts == []


def test_failed_execution_alerts_that_monitoring_failed(monitoring: Monitoring) -> None:
    # Given a monitoring execution that failed
    result = handle(monitoring, load_fixture("event-failed-execution.json"))

    # Then the alert says monitoring itself failed, with the reason
    alert = only(monitoring.notifier.alerts)
    assert alert.subject == "Monitoring FAILED: data quality on churn-prod"
    assert "the model is unmonitored until the cause is fixed" in alert.message
    assert "Failure reason: AlgorithmError: Error: Encountered an error while parsing" in (
        alert.message
    )
    assert "Report:" not in alert.message
    # And the record has no violations, the failure reason and no report
    detail = only(monitoring.notifier.details)
    assert detail["outcome"] == "monitoring_failed"
    assert detail["monitorType"] == "data_quality"
    assert detail["violations"] == []
    assert detail["failureReason"].startswith("AlgorithmError:")
    assert detail["reportUri"] is None
    # And no report is read and nothing is retrained
    assert monitoring.evidence.reads == []
    assert monitoring.pipelines.requests == []
    assert result.reason == "monitoring_failed"


def test_failed_run_from_the_documented_event_is_found_through_describe(
    monitoring: Monitoring,
) -> None:
    # Given a failed run whose event carries no schedule (the documented shape): the schedule
    # only comes from DescribeProcessingJob
    event = load_fixture("event-failed-execution-minimal.json")
    assert "MonitoringScheduleArn" not in event["detail"]

    # When handled
    result = handle(monitoring, event)

    # Then the run is attributed to its endpoint and monitor, alerted and recorded
    assert result.reason == "monitoring_failed"
    assert result.monitor_type == "bias"
    assert result.endpoint_name == "credit-default-prod"
    alert = only(monitoring.notifier.alerts)
    assert alert.subject == "Monitoring FAILED: bias on credit-default-prod"
    assert "Failure reason: ClientError:" in alert.message
    detail = only(monitoring.notifier.details)
    assert (detail["outcome"], detail["monitoringScheduleName"]) == (
        "monitoring_failed",
        "credit-default-prod-model-bias",
    )


def test_stopped_execution_is_alerted_and_recorded_not_skipped(monitoring: Monitoring) -> None:
    # Given a data-quality run stopped before it finished
    event = load_fixture("event-stopped-execution.json")

    # When handled
    result = handle(monitoring, event)

    # Then it is a gap in monitoring: alerted and recorded, with the reason, no report, no retrain
    assert (result.status, result.reason) == ("recorded", "monitoring_stopped")
    alert = only(monitoring.notifier.alerts)
    assert alert.subject == "Monitoring STOPPED: data quality on credit-default-prod"
    assert "was STOPPED before it finished" in alert.message
    assert "Failure reason: Processing job stopped by customer request." in alert.message
    detail = only(monitoring.notifier.details)
    assert detail["outcome"] == "monitoring_stopped"
    assert detail["failureReason"] == "Processing job stopped by customer request."
    assert detail["recordId"] == record_id(event["detail"]["ProcessingJobArn"], "Stopped")
    assert monitoring.pipelines.requests == []


def test_corrupt_report_is_recorded_as_unreadable_and_not_raised(monitoring: Monitoring) -> None:
    # Given a violations execution whose report is not JSON
    event = load_fixture("event-corrupt-report.json")
    uri = monitoring.put_report("report-data-quality.json", event)
    from governance.data_access.evidence import EvidenceUnreadableError

    monitoring.evidence.documents[uri] = EvidenceUnreadableError(f"{uri} is not valid JSON (x)")

    # When handled
    result = handle(monitoring, event)

    # Then it returns (retrying cannot fix the file) but nothing is lost: alert + record
    assert (result.status, result.reason) == ("recorded", "report_unreadable")
    alert = only(monitoring.notifier.alerts)
    assert alert.subject.startswith("Monitoring report unreadable: data quality")
    assert f"Report error: {uri} is not valid JSON" in alert.message
    detail = only(monitoring.notifier.details)
    assert detail["outcome"] == "report_unreadable"
    assert detail["reportError"] == f"{uri} is not valid JSON (x)"
    assert detail["violations"] == []
    # And unknown violations do not trigger retraining
    assert monitoring.pipelines.requests == []


@pytest.mark.parametrize(
    ("document", "error"),
    [
        ({"violations": []}, "lists no violations"),
        ({"violations": "all of them"}, "field 'violations': got 'all of them'; expected a list"),
    ],
)
def test_report_that_contradicts_the_exit_message_is_recorded(
    monitoring: Monitoring, document: object, error: str
) -> None:
    event = load_fixture("event-corrupt-report.json")
    monitoring.put_report("report-data-quality.json", event)
    monitoring.evidence.documents[next(iter(monitoring.evidence.documents))] = document
    handle(monitoring, event)
    assert error in only(monitoring.notifier.details)["reportError"]


def test_unknown_endpoint_raises_naming_endpoint_and_parameter(monitoring: Monitoring) -> None:
    # Given violations on an endpoint that has no governance parameter
    # When handled, Then it raises (so the event is retried and lands in the DLQ)
    with pytest.raises(UnknownEndpointError) as raised:
        handle(monitoring, load_fixture("event-unknown-endpoint.json"))
    assert "'fraud-scoring-prod'" in str(raised.value)
    assert f"{PARAMETER_PREFIX}fraud-scoring-prod" in str(raised.value)
    assert monitoring.notifier.alerts == monitoring.notifier.events == []


def test_invalid_endpoint_parameter_raises_naming_the_field(monitoring: Monitoring) -> None:
    monitoring.parameters.endpoints["churn-prod"] = {
        **monitoring.parameters.endpoints["churn-prod"],  # type: ignore[dict-item]
        "monitors": {"data-quality": "churn-prod-data-quality"},
    }
    with pytest.raises(InvalidParameterError, match=r"'monitors\.data-quality'.*data_quality"):
        handle(monitoring, load_fixture("event-model-quality-violations.json"))


def test_schedule_missing_from_the_parameter_is_typed_by_describe(monitoring: Monitoring) -> None:
    # Given an execution of a schedule the endpoint parameter does not list
    event = load_fixture("event-data-quality-violations.json")
    event["detail"]["Environment"]["sagemaker_monitoring_schedule_name"] = "adhoc-model-quality"
    monitoring.put_report("report-model-quality.json", event)
    monitoring.runs.schedules["adhoc-model-quality"] = {
        "MonitoringScheduleName": "adhoc-model-quality",
        "MonitoringType": "ModelQuality",
        "EndpointName": "credit-default-prod",
    }
    # When handled, Then the schedule's own monitoring type is used
    assert handle(monitoring, event).monitor_type == "model_quality"


def test_schedule_without_endpoint_raises_naming_job_and_schedule(monitoring: Monitoring) -> None:
    # Given a job whose environment and schedule both lack the endpoint (a batch-transform monitor)
    event = load_fixture("event-data-quality-violations.json")
    del event["detail"]["Environment"]["sagemaker_endpoint_name"]
    event["detail"]["Environment"]["sagemaker_monitoring_schedule_name"] = "batch-dq"
    monitoring.runs.schedules["batch-dq"] = {"MonitoringScheduleName": "batch-dq"}
    with pytest.raises(InvalidEventError, match=r"processing job model-monitoring-.*batch-dq"):
        handle(monitoring, event)


def test_malformed_event_raises_naming_the_field() -> None:
    with pytest.raises(InvalidEventError, match=r"'detail\.ProcessingJobStatus': got <missing>"):
        parse_event(load_fixture("event-malformed.json"), ProcessingJobStateChange)


def test_second_sagemaker_event_for_the_same_outcome_uses_the_same_keys(
    monitoring: Monitoring,
) -> None:
    # Given SageMaker's second event for the same job outcome (new event id, same job + status)
    event = load_fixture("event-data-quality-violations.json")
    duplicate = load_fixture("event-data-quality-violations-duplicate.json")
    assert duplicate["id"] != event["id"]
    monitoring.put_report("report-data-quality.json", event)

    # When both run (say the idempotency record had expired)
    handle(monitoring, event)
    handle(monitoring, duplicate)

    # Then the record key and the pipeline token are the same, so the ledger records once and
    # SageMaker starts one execution
    first, second = monitoring.notifier.details
    assert first["recordId"] == second["recordId"]
    assert len(monitoring.pipelines.started) == 1


def test_long_reports_are_bounded_in_alert_and_record(monitoring: Monitoring) -> None:
    # Given a report flagging 260 features
    event = load_fixture("event-missing-report.json")
    uri = monitoring.put_report("report-data-quality.json", event)
    monitoring.evidence.documents[uri] = {
        "violations": [
            {"feature_name": f"f{i}", "constraint_check_type": "baseline_drift_check",
             "description": "d" * 900}
            for i in range(260)
        ]
    }  # fmt: skip
    # When handled
    handle(monitoring, event)
    # Then both messages stay within limits and say how many were left out
    assert "... and 210 more in the report." in only(monitoring.notifier.alerts).message
    detail = only(monitoring.notifier.details)
    assert detail["violationCount"] == 260
    assert detail["violationsTruncated"] is True
    assert len(detail["violations"]) == 200
    assert detail["violations"][0]["description"].endswith("...")
    assert len(detail["violations"][0]["description"]) == 500


# --- Settings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "environment variable 'ENDPOINT_PARAMETER_PREFIX': got <missing>"),
        (
            {
                "ENDPOINT_PARAMETER_PREFIX": "gov",
                "ALERT_TOPIC_ARN": "x",
                "IDEMPOTENCY_TABLE_NAME": "t",
            },
            "environment variable 'ENDPOINT_PARAMETER_PREFIX': got 'gov'; expected an SSM "
            "parameter path that starts and ends with '/'",
        ),
        (
            {
                "ENDPOINT_PARAMETER_PREFIX": "/g/",
                "ALERT_TOPIC_ARN": "x",
                "IDEMPOTENCY_TABLE_NAME": "t",
            },
            "environment variable 'ALERT_TOPIC_ARN': got 'x'; expected an SNS topic ARN",
        ),
    ],
)
def test_settings_reject_a_bad_environment(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        ViolationSettings.from_environment(env)
    assert message in str(raised.value)


# --- End to end (moto) -----------------------------------------------------------------------


def test_violations_reach_sns_the_bus_and_the_pipeline(aws: Aws, context: LambdaContext) -> None:
    # Given a data-quality execution with violations and its report in S3
    event = load_fixture("event-data-quality-violations.json")
    report_uri = aws.put_report("report-data-quality.json", event)
    job_arn = event["detail"]["ProcessingJobArn"]

    # When the handler receives the event
    result = build_handler(aws.settings, aws.client)(event, context)

    # Then SageMaker started the pipeline (moto validated the request), SNS carried the alert
    # with its filterable attributes, and the bus the violation event
    execution_arn = result["pipeline_execution_arn"]
    assert only(aws.pipeline_executions())["PipelineExecutionArn"] == execution_arn
    start = only(aws.sagemaker.calls_to("StartPipelineExecution"))
    assert start["ClientRequestToken"] == record_id(job_arn, "Completed")
    alert = only(aws.alerts())
    assert alert["Subject"] == "Monitoring: 3 data quality violation(s) on credit-default-prod"
    assert alert["MessageAttributes"]["monitor_type"]["Value"] == "data_quality"
    assert report_uri in alert["Message"]
    ledger = only(aws.ledger_events())
    assert (ledger["source"], ledger["detail-type"]) == (
        "sagemaker.governance",
        "Model Monitoring Violation",
    )
    assert ledger["resources"] == [job_arn]
    assert ledger["detail"]["reportUri"] == report_uri


def test_missing_report_in_s3_is_recorded_as_unreadable(aws: Aws, context: LambdaContext) -> None:
    event = load_fixture("event-missing-report.json")
    build_handler(aws.settings, aws.client)(event, context)
    detail = only(aws.ledger_events())["detail"]
    assert detail["reportError"] == f"{detail['reportUri']} could not be read (NoSuchKey)"
    assert "NoSuchKey" in only(aws.alerts())["Message"]


def test_redelivered_event_is_recorded_once(aws: Aws, context: LambdaContext) -> None:
    # Given a violations event delivered twice (EventBridge at-least-once delivery)
    event = load_fixture("event-data-quality-violations.json")
    aws.put_report("report-data-quality.json", event)
    handler = build_handler(aws.settings, aws.client)

    # When both deliveries are handled
    first = handler(event, context)
    second = handler(event, context)

    # Then the second returns the stored result and no side effect is repeated
    assert second == first
    assert len(aws.alerts()) == 1
    assert len(aws.ledger_events()) == 1
    assert len(aws.sagemaker.calls_to("StartPipelineExecution")) == 1
    assert aws.dynamodb.scan(TableName="governance-idempotency")["Count"] == 1


def test_second_sagemaker_event_is_held_back_by_the_idempotency_key(
    aws: Aws, context: LambdaContext
) -> None:
    event = load_fixture("event-data-quality-violations.json")
    aws.put_report("report-data-quality.json", event)
    handler = build_handler(aws.settings, aws.client)
    handler(event, context)
    handler(load_fixture("event-data-quality-violations-duplicate.json"), context)
    assert only(aws.ledger_events())["detail"]["sourceEventId"] == event["id"]
    assert len(aws.pipeline_executions()) == 1


def test_clean_run_writes_no_idempotency_record(aws: Aws, context: LambdaContext) -> None:
    result = build_handler(aws.settings, aws.client)(
        load_fixture("event-completed-no-violations.json"), context
    )
    assert result["status"] == "skipped"
    assert aws.sagemaker.calls == []
    assert aws.dynamodb.scan(TableName="governance-idempotency")["Count"] == 0


def test_rejected_event_is_retried_with_the_same_pipeline_token(
    aws: Aws, context: LambdaContext
) -> None:
    # Given the bus rejects the violation event on the first attempt
    event = load_fixture("event-data-quality-violations.json")
    aws.put_report("report-data-quality.json", event)
    real_events = aws.clients["events"]

    class RejectingEvents:
        def put_events(self, **kwargs: Any) -> dict[str, Any]:
            return {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}],
            }

    aws.clients["events"] = RejectingEvents()
    with pytest.raises(EventRejectedError, match="InternalFailure: try again"):
        build_handler(aws.settings, aws.client)(event, context)
    assert aws.alerts() == []

    # When the retry runs with a working bus
    aws.clients["events"] = real_events
    build_handler(aws.settings, aws.client)(event, context)

    # Then the idempotency record did not block the retry, and the start reused its token
    assert len(aws.ledger_events()) == 1
    tokens = {c["ClientRequestToken"] for c in aws.sagemaker.calls_to("StartPipelineExecution")}
    # (SageMaker starts one execution per token; moto does not model that, so the token is
    # what is checked)
    assert tokens == {record_id(event["detail"]["ProcessingJobArn"], "Completed")}


def test_entry_point_builds_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, context: LambdaContext
) -> None:
    # Given the environment the stack sets, and real (moto) clients for everything
    with mock_aws():
        sns = SESSION.client("sns")
        sqs = SESSION.client("sqs")
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        SESSION.client("dynamodb").create_table(
            TableName="idem",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        SESSION.client("ssm").put_parameter(
            Name="/gov/churn-prod",
            Type="String",
            Value=json.dumps(
                {
                    "model_name": "churn",
                    "model_package_group_name": "churn",
                    "endpoint_name": "churn-prod",
                    "monitors": {"data_quality": "churn-prod-data-quality"},
                }
            ),
        )
        for name, value in {
            "ENDPOINT_PARAMETER_PREFIX": "/gov/",
            "ALERT_TOPIC_ARN": topic,
            "IDEMPOTENCY_TABLE_NAME": "idem",
            "POWERTOOLS_SERVICE_NAME": "MonitoringViolations",
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("EVENT_BUS_NAME", raising=False)
        violations._from_environment.cache_clear()
        try:
            # When the Lambda entry point handles a failed execution
            result = violations.handler(load_fixture("event-failed-execution.json"), context)
        finally:
            violations._from_environment.cache_clear()
        # Then it was wired from the environment and published to the topic
        assert result["reason"] == "monitoring_failed"
        assert sqs.receive_message(QueueUrl=queue).get("Messages")

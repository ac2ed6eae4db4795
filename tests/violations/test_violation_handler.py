"""The handler end to end against moto: what lands on SNS, on the bus, and in SageMaker."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from moto import mock_aws

from governance import violations
from governance.monitoring_events import EndpointConfigError, MalformedEventError
from governance.violations import (
    LEDGER_DETAIL_TYPE,
    LEDGER_SOURCE,
    ConfigurationError,
    LedgerPublishError,
    Settings,
    UnknownEndpointError,
    record_id,
)

from .conftest import PARAMETER_PREFIX, RETRAINING_PIPELINE, Aws, load_fixture


def only(items: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(items) == 1, items
    return items[0]


def test_data_quality_violations_alert_record_and_retrain(aws: Aws, context: LambdaContext) -> None:
    # Given a data-quality execution that completed with violations, its report in S3,
    # and an endpoint with a retraining pipeline
    event = load_fixture("event-data-quality-violations.json")
    report_uri = aws.put_report("report-data-quality.json", event)
    job_arn = event["detail"]["ProcessingJobArn"]

    # When the handler receives the event
    result = aws.handler()(event, context)

    # Then one retraining execution is started, with a token derived from the job outcome
    execution_arn = result["pipeline_execution_arn"]
    assert only(aws.pipeline_executions())["PipelineExecutionArn"] == execution_arn
    start = only(aws.sagemaker.calls_to("StartPipelineExecution"))
    assert start["PipelineName"] == RETRAINING_PIPELINE
    assert start["ClientRequestToken"] == record_id(job_arn, "Completed")
    assert {p["Name"]: p["Value"] for p in start["PipelineParameters"]} == {
        "TriggerSource": "sagemaker.governance/monitoring-violation",
        "TriggerMonitorType": "data_quality",
        "TriggerProcessingJobArn": job_arn,
        "TriggerReportUri": report_uri,
    }
    # And the event carried everything, so SageMaker was not asked to describe anything
    assert aws.sagemaker.calls_to("DescribeProcessingJob") == []

    # And the SNS summary names model, endpoint, monitor, each violation, the report and the run
    alert = only(aws.alerts())
    assert alert["Subject"] == "Model Monitor: 3 data quality violation(s) on credit-default-prod"
    message = alert["Message"]
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
        f"Retraining: started pipeline credit-default-retrain, execution {execution_arn}",
    ):
        assert expected in message
    assert alert["MessageAttributes"]["monitor_type"]["Value"] == "data_quality"

    # And the ledger event has the agreed shape
    ledger = only(aws.ledger_events())
    assert ledger["source"] == LEDGER_SOURCE
    assert ledger["detail-type"] == LEDGER_DETAIL_TYPE
    assert ledger["resources"] == [job_arn]
    detail = ledger["detail"]
    assert detail["modelPackageGroupName"] == "credit-default"
    assert detail["modelName"] == "credit-default"
    assert detail["endpointName"] == "credit-default-prod"
    assert detail["monitorType"] == "data_quality"
    assert detail["processingJobArn"] == job_arn
    assert detail["reportUri"] == report_uri
    assert detail["sourceEventId"] == event["id"]
    assert detail["outcome"] == "violations"
    assert detail["retrainingPipelineExecutionArn"] == execution_arn
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
    assert result["status"] == "recorded"
    assert result["violation_count"] == 3


def test_model_quality_violations_without_pipeline_start_nothing(
    aws: Aws, context: LambdaContext
) -> None:
    # Given a model-quality execution with violations on an endpoint without a pipeline
    event = load_fixture("event-model-quality-violations.json")
    aws.put_report("report-model-quality.json", event)

    # When handled
    result = aws.handler()(event, context)

    # Then the metrics are reported and no pipeline is started
    assert aws.sagemaker.calls_to("StartPipelineExecution") == []
    assert result["pipeline_execution_arn"] is None
    message = only(aws.alerts())["Message"]
    assert (
        "1. auc [LessThanThreshold]: Metric auc with 0.6812 +/- 0.0039 was LessThanThreshold"
        in (message)
    )
    assert "Retraining: no retraining pipeline is configured for this endpoint." in message
    detail = only(aws.ledger_events())["detail"]
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
    aws: Aws, context: LambdaContext
) -> None:
    # Given a bias event without exit message, schedule, environment or output (as documented),
    # with DescribeProcessingJob / DescribeMonitoringSchedule answering the rest
    event = load_fixture("event-bias-violations.json")
    described = load_fixture("describe-processing-job-bias.json")
    aws.put_report_at(
        "report-bias.json", described["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    )

    # When handled
    result = aws.handler()(event, context)

    # Then the job and its schedule were described to find the endpoint and the output
    assert aws.sagemaker.calls_to("DescribeProcessingJob") == [
        {"ProcessingJobName": event["detail"]["ProcessingJobName"]}
    ]
    assert aws.sagemaker.calls_to("DescribeMonitoringSchedule") == [
        {"MonitoringScheduleName": "credit-default-prod-model-bias"}
    ]
    assert result["monitor_type"] == "bias"
    # And facet, value and metric reach both the alert and the ledger
    assert (
        "1. CI for facet age=40 [bias_drift_check]: Value 0.0751544567666083"
        in (only(aws.alerts())["Message"])
    )
    detail = only(aws.ledger_events())["detail"]
    assert detail["violations"][1] == {
        "feature": "age",
        "checkType": "bias_drift_check",
        "description": "Value -0.0791244970125596 does not meet the constraint requirement",
        "metricName": "DPPL",
        "facet": "age",
        "facetValue": "40",
    }
    # And retraining is started for bias drift too
    assert len(aws.pipeline_executions()) == 1


def test_explainability_violations_are_reported_per_label(aws: Aws, context: LambdaContext) -> None:
    # Given an explainability execution with a feature-attribution drift violation
    event = load_fixture("event-explainability-violations.json")
    aws.put_report("report-explainability.json", event)

    # When handled
    aws.handler()(event, context)

    # Then the label and method are named
    alert = only(aws.alerts())
    assert alert["Subject"] == (
        "Model Monitor: 1 explainability violation(s) on credit-default-prod"
    )
    assert "1. shap for label label0 [feature_attribution_drift_check]:" in alert["Message"]
    detail = only(aws.ledger_events())["detail"]
    assert detail["monitorType"] == "explainability"
    assert detail["violations"][0]["label"] == "label0"


def test_completed_without_violations_is_skipped_without_side_effects(
    aws: Aws, context: LambdaContext
) -> None:
    # Given an execution that completed cleanly
    event = load_fixture("event-completed-no-violations.json")

    # When handled
    result = aws.handler()(event, context)

    # Then nothing is published, recorded, described or started
    assert result["status"] == "skipped"
    assert result["reason"] == "completed without violations"
    assert aws.alerts() == []
    assert aws.ledger_events() == []
    assert aws.sagemaker.calls == []
    # And no idempotency record is written for an event that needs nothing
    assert aws.clients.dynamodb.scan(TableName="governance-idempotency")["Count"] == 0


@pytest.mark.parametrize("status", ["InProgress", "Stopping", "Stopped"])
def test_unfinished_statuses_are_skipped(aws: Aws, context: LambdaContext, status: str) -> None:
    event = load_fixture("event-data-quality-violations.json")
    event["detail"]["ProcessingJobStatus"] = status
    result = aws.handler()(event, context)
    assert result["status"] == "skipped"
    assert aws.alerts() == []
    assert aws.ledger_events() == []


def test_processing_job_that_is_not_monitoring_is_skipped(aws: Aws, context: LambdaContext) -> None:
    # Given a finished processing job with no monitoring schedule (e.g. a pipeline step)
    event = load_fixture("event-bias-violations.json")
    name = event["detail"]["ProcessingJobName"]
    aws.sagemaker.processing_jobs[name] = {
        "ProcessingJobName": name,
        "ProcessingJobStatus": "Completed",
        "ExitMessage": "done",
    }
    # When handled
    result = aws.handler()(event, context)
    # Then it is skipped after one describe, with no side effects
    assert result["reason"] == "not a Model Monitor execution (no monitoring schedule)"
    assert aws.alerts() == []
    assert aws.ledger_events() == []


def test_failed_execution_alerts_that_monitoring_failed(aws: Aws, context: LambdaContext) -> None:
    # Given a monitoring execution that failed
    event = load_fixture("event-failed-execution.json")

    # When handled
    result = aws.handler()(event, context)

    # Then the alert says monitoring itself failed, with the reason
    alert = only(aws.alerts())
    assert alert["Subject"] == "Model Monitor FAILED: data quality on churn-prod"
    assert "the model is unmonitored until the cause is fixed" in alert["Message"]
    assert (
        "Failure reason: AlgorithmError: Error: Encountered an error while parsing"
        in (alert["Message"])
    )
    # And the ledger records it with no violations and the failure reason
    detail = only(aws.ledger_events())["detail"]
    assert detail["outcome"] == "monitoring_failed"
    assert detail["monitorType"] == "data_quality"
    assert detail["violations"] == []
    assert detail["failureReason"].startswith("AlgorithmError:")
    assert detail["reportUri"] is None
    assert "Report:" not in alert["Message"]
    # And no report is read and nothing is retrained
    assert aws.sagemaker.calls_to("StartPipelineExecution") == []
    assert result["reason"] == "monitoring_failed"


def test_corrupt_report_is_recorded_as_unreadable_and_not_raised(
    aws: Aws, context: LambdaContext
) -> None:
    # Given a violations execution whose report is truncated JSON
    event = load_fixture("event-corrupt-report.json")
    report_uri = aws.put_report("report-corrupt.json", event)

    # When handled
    result = aws.handler()(event, context)

    # Then it returns (retrying cannot fix the file) but nothing is lost: alert + ledger event
    assert result["status"] == "recorded"
    assert result["reason"] == "report_unreadable"
    alert = only(aws.alerts())
    assert alert["Subject"].startswith("Model Monitor report unreadable: data quality")
    assert "Report error: constraint_violations.json is not valid JSON" in alert["Message"]
    assert report_uri in alert["Message"]
    detail = only(aws.ledger_events())["detail"]
    assert detail["outcome"] == "report_unreadable"
    assert detail["reportError"].startswith("constraint_violations.json is not valid JSON")
    assert detail["violations"] == []
    # And unknown violations do not trigger retraining
    assert aws.pipeline_executions() == []


def test_missing_report_is_recorded_as_unreadable(aws: Aws, context: LambdaContext) -> None:
    # Given a violations execution whose report object does not exist
    event = load_fixture("event-missing-report.json")

    # When handled
    aws.handler()(event, context)

    # Then the alert and the ledger say which object could not be read and why
    detail = only(aws.ledger_events())["detail"]
    assert detail["reportError"] == f"cannot read {detail['reportUri']}: NoSuchKey"
    assert "NoSuchKey" in only(aws.alerts())["Message"]


def test_report_listing_no_violations_contradicts_exit_message(
    aws: Aws, context: LambdaContext
) -> None:
    # Given an execution that says it found violations but whose report lists none
    event = load_fixture("event-corrupt-report.json")
    output = event["detail"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    bucket, prefix = output.removeprefix("s3://").split("/", 1)
    aws.s3.put_object(
        Bucket=bucket, Key=f"{prefix}/constraint_violations.json", Body=b'{"violations": []}'
    )
    # When handled
    aws.handler()(event, context)
    # Then the contradiction is recorded rather than dropped
    detail = only(aws.ledger_events())["detail"]
    assert "lists no violations" in detail["reportError"]


def test_unknown_endpoint_raises_naming_endpoint_and_parameter(
    aws: Aws, context: LambdaContext
) -> None:
    # Given violations on an endpoint that has no governance parameter
    event = load_fixture("event-unknown-endpoint.json")

    # When handled, Then it raises (so the event is retried and lands in the DLQ)
    with pytest.raises(UnknownEndpointError) as raised:
        aws.handler()(event, context)
    assert "'fraud-scoring-prod'" in str(raised.value)
    assert f"{PARAMETER_PREFIX}fraud-scoring-prod" in str(raised.value)
    # And nothing was published
    assert aws.alerts() == []
    assert aws.ledger_events() == []


def test_invalid_endpoint_parameter_raises_naming_the_field(
    aws: Aws, context: LambdaContext
) -> None:
    # Given an endpoint parameter with a typo in a field name
    aws.ssm.put_parameter(
        Name=f"{PARAMETER_PREFIX}churn-prod",
        Type="String",
        Overwrite=True,
        Value='{"model_name": "churn", "model_package_group_name": "churn", '
        '"endpoint_name": "churn-prod", "monitors": {"data-quality": "churn-prod-data-quality"},'
        ' "retraining_pipeline_name": null}',
    )
    event = load_fixture("event-model-quality-violations.json")
    # When handled, Then the error names the parameter, field and allowed values
    with pytest.raises(EndpointConfigError, match=r"monitors\.data-quality.*allowed: data_quality"):
        aws.handler()(event, context)


def test_malformed_event_raises_naming_the_field(aws: Aws, context: LambdaContext) -> None:
    # Given an event without ProcessingJobStatus
    event = load_fixture("event-malformed.json")
    # When handled, Then the error names the missing field
    with pytest.raises(MalformedEventError, match=r"'detail\.ProcessingJobStatus'"):
        aws.handler()(event, context)
    assert aws.alerts() == []


def test_redelivered_event_is_recorded_once(aws: Aws, context: LambdaContext) -> None:
    # Given a violations event delivered twice (EventBridge at-least-once delivery)
    event = load_fixture("event-data-quality-violations.json")
    aws.put_report("report-data-quality.json", event)
    handler = aws.handler()

    # When both deliveries are handled
    first = handler(event, context)
    second = handler(event, context)

    # Then the second returns the stored result and no side effect is repeated
    assert second == first
    assert len(aws.alerts()) == 1
    assert len(aws.ledger_events()) == 1
    assert len(aws.sagemaker.calls_to("StartPipelineExecution")) == 1
    assert len(aws.pipeline_executions()) == 1
    assert aws.clients.dynamodb.scan(TableName="governance-idempotency")["Count"] == 1


def test_second_sagemaker_event_for_the_same_outcome_is_recorded_once(
    aws: Aws, context: LambdaContext
) -> None:
    # Given SageMaker's second event for the same job outcome (new event id, same job + status)
    event = load_fixture("event-data-quality-violations.json")
    duplicate = load_fixture("event-data-quality-violations-duplicate.json")
    assert duplicate["id"] != event["id"]
    aws.put_report("report-data-quality.json", event)
    handler = aws.handler()

    # When both are handled
    handler(event, context)
    handler(duplicate, context)

    # Then the outcome is alerted, recorded and retrained once, under the first event's id
    assert len(aws.alerts()) == 1
    assert only(aws.ledger_events())["detail"]["sourceEventId"] == event["id"]
    assert len(aws.pipeline_executions()) == 1


def test_failure_after_retraining_retries_with_the_same_token(
    aws: Aws, context: LambdaContext
) -> None:
    # Given the bus rejects the ledger entry on the first attempt
    event = load_fixture("event-data-quality-violations.json")
    aws.put_report("report-data-quality.json", event)
    real_events = aws.clients.events

    class RejectingEvents:
        def put_events(self, **kwargs: Any) -> dict[str, Any]:
            return {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}],
            }

    object.__setattr__(aws.clients, "events", RejectingEvents())

    # When the first attempt runs, Then it raises so the event is retried
    with pytest.raises(LedgerPublishError, match="InternalFailure: try again"):
        aws.handler()(event, context)
    assert aws.alerts() == []

    # When the retry runs with a working bus
    object.__setattr__(aws.clients, "events", real_events)
    aws.handler()(event, context)

    # Then the idempotency record did not block the retry, and the pipeline start reused its token
    assert len(aws.ledger_events()) == 1
    tokens = {
        call["ClientRequestToken"] for call in aws.sagemaker.calls_to("StartPipelineExecution")
    }
    assert tokens == {record_id(event["detail"]["ProcessingJobArn"], "Completed")}


def test_long_reports_are_bounded_in_alert_and_ledger(aws: Aws, context: LambdaContext) -> None:
    # Given a report flagging 260 features
    event = load_fixture("event-missing-report.json")
    output = event["detail"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    bucket, prefix = output.removeprefix("s3://").split("/", 1)
    entries = [
        {"feature_name": f"f{i}", "constraint_check_type": "baseline_drift_check",
         "description": "d" * 900}
        for i in range(260)
    ]  # fmt: skip
    aws.s3.put_object(
        Bucket=bucket,
        Key=f"{prefix}/constraint_violations.json",
        Body=json.dumps({"violations": entries}).encode(),
    )
    # When handled
    aws.handler()(event, context)
    # Then both messages stay within limits and say how many were left out
    message = only(aws.alerts())["Message"]
    assert "... and 210 more in the report." in message
    detail = only(aws.ledger_events())["detail"]
    assert detail["violationCount"] == 260
    assert detail["violationsTruncated"] is True
    assert len(detail["violations"]) == 200
    assert detail["violations"][0]["description"].endswith("...")


def test_entry_point_builds_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, context: LambdaContext
) -> None:
    # Given the environment the CDK stack sets, and real (moto) clients for everything
    with mock_aws():
        region = "eu-west-1"
        sns = boto3.client("sns", region_name=region)
        sqs = boto3.client("sqs", region_name=region)
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        boto3.client("dynamodb", region_name=region).create_table(
            TableName="idem",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        boto3.client("ssm", region_name=region).put_parameter(
            Name="/gov/churn-prod",
            Type="String",
            Value=json.dumps(
                {
                    "model_name": "churn",
                    "model_package_group_name": "churn",
                    "endpoint_name": "churn-prod",
                    "monitors": {"data_quality": "churn-prod-data-quality"},
                    "retraining_pipeline_name": None,
                }
            ),
        )
        for name, value in {
            "ENDPOINT_PARAMETER_PREFIX": "/gov/",
            "ALERT_TOPIC_ARN": topic,
            "IDEMPOTENCY_TABLE_NAME": "idem",
            "POWERTOOLS_SERVICE_NAME": "governance-violations",
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("EVENT_BUS_NAME", raising=False)
        violations._cold_start_handler.cache_clear()
        try:
            # When the Lambda entry point handles a failed execution
            result = violations.handler(load_fixture("event-failed-execution.json"), context)
        finally:
            violations._cold_start_handler.cache_clear()
        # Then it was wired from the environment and published to the topic
        assert result["reason"] == "monitoring_failed"
        assert sqs.receive_message(QueueUrl=queue).get("Messages")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "missing environment variable(s) ENDPOINT_PARAMETER_PREFIX, ALERT_TOPIC_ARN"),
        (
            {
                "ENDPOINT_PARAMETER_PREFIX": "gov",
                "ALERT_TOPIC_ARN": "x",
                "IDEMPOTENCY_TABLE_NAME": "t",
            },
            "must start and end with '/', got 'gov'",
        ),
        (
            {
                "ENDPOINT_PARAMETER_PREFIX": "/g/",
                "ALERT_TOPIC_ARN": "x",
                "IDEMPOTENCY_TABLE_NAME": "t",
            },
            "ALERT_TOPIC_ARN must be an SNS topic ARN, got 'x'",
        ),
    ],
)
def test_settings_reject_a_bad_environment(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env(env)
    assert message in str(raised.value)


def test_settings_default_the_bus() -> None:
    settings = Settings.from_env(
        {
            "ENDPOINT_PARAMETER_PREFIX": "/g/",
            "ALERT_TOPIC_ARN": "arn:aws:sns:eu-west-1:111122223333:alerts",
            "IDEMPOTENCY_TABLE_NAME": "t",
        }
    )
    assert settings.event_bus_name == "default"

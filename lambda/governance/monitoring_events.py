"""Typed models for what the violation handler reads: the SageMaker event and endpoint config.

Pure functions only. Everything that enters from outside (the EventBridge event, the per-endpoint
SSM parameter) is validated here, and a failure names the field, the value and what is allowed.

Event relied on: ``source = "aws.sagemaker"``, ``detail-type = "SageMaker Processing Job State
Change"`` (AWS docs, "Events that Amazon SageMaker AI sends to Amazon EventBridge"). Its
``detail`` mirrors ``DescribeProcessingJob``: ``ProcessingJobName``, ``ProcessingJobArn``,
``ProcessingJobStatus`` (``InProgress | Completed | Failed | Stopping | Stopped``), and where
present ``ExitMessage``, ``FailureReason``, ``MonitoringScheduleArn``, ``Environment`` and
``ProcessingOutputConfig.Outputs[].S3Output.S3Uri``. The documented example omits the last
four, so they are optional here and the handler falls back to ``DescribeProcessingJob``.

A Model Monitor execution that found violations ends ``Completed`` with an ``ExitMessage``
starting ``CompletedWithViolations:`` (the monitoring execution status of the same name), e.g.
``"CompletedWithViolations: Job completed successfully with 3 violations."``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

EVENT_SOURCE = "aws.sagemaker"
EVENT_DETAIL_TYPE = "SageMaker Processing Job State Change"
VIOLATIONS_EXIT_PREFIX = "CompletedWithViolations"

# Environment variables SageMaker sets on every Model Monitor processing job (AWS docs, "Container
# Contract Inputs" for bring-your-own monitoring containers).
ENV_ENDPOINT_NAME = "sagemaker_endpoint_name"
ENV_SCHEDULE_NAME = "sagemaker_monitoring_schedule_name"


class MalformedEventError(ValueError):
    """The event is not a processing-job state change we can act on."""


class EndpointConfigError(ValueError):
    """The per-endpoint governance parameter is unusable; the message names field and value."""


class MonitorType(StrEnum):
    """The four Model Monitor types, as named in the endpoint parameter's ``monitors`` map."""

    DATA_QUALITY = "data_quality"
    MODEL_QUALITY = "model_quality"
    BIAS = "bias"
    EXPLAINABILITY = "explainability"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")

    @classmethod
    def from_schedule_monitoring_type(cls, value: str) -> MonitorType:
        """Map ``DescribeMonitoringSchedule.MonitoringType`` to our name."""
        try:
            return _API_MONITORING_TYPES[value]
        except KeyError:
            allowed = ", ".join(sorted(_API_MONITORING_TYPES))
            raise MalformedEventError(
                f"monitoring schedule type {value!r} is not known; allowed: {allowed}"
            ) from None


_API_MONITORING_TYPES = {
    "DataQuality": MonitorType.DATA_QUALITY,
    "ModelQuality": MonitorType.MODEL_QUALITY,
    "ModelBias": MonitorType.BIAS,
    "ModelExplainability": MonitorType.EXPLAINABILITY,
}


class Outcome(StrEnum):
    """What a finished processing job means for governance."""

    VIOLATIONS = "violations"
    NO_VIOLATIONS = "no_violations"
    MONITORING_FAILED = "monitoring_failed"
    NOT_FINISHED = "not_finished"


@dataclass(frozen=True, slots=True)
class ProcessingJobStateChange:
    """The fields of a processing-job state change the handler uses.

    Optional fields are ``None`` when the event omits them; ``with_description`` fills them
    from ``DescribeProcessingJob``.
    """

    event_id: str
    region: str
    job_name: str
    job_arn: str
    status: str
    exit_message: str | None = None
    failure_reason: str | None = None
    monitoring_schedule_arn: str | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    output_s3_uri: str | None = None

    @property
    def is_final(self) -> bool:
        return self.status in ("Completed", "Failed")

    @property
    def needs_description(self) -> bool:
        """Whether the event lacks something the handler needs for a finished job."""
        if not self.is_final:
            return False
        missing_exit = self.status == "Completed" and self.exit_message is None
        has_schedule = (
            self.monitoring_schedule_arn is not None or ENV_SCHEDULE_NAME in self.environment
        )
        return missing_exit or not has_schedule or self.output_s3_uri is None

    @property
    def schedule_name(self) -> str | None:
        if name := self.environment.get(ENV_SCHEDULE_NAME):
            return name
        if self.monitoring_schedule_arn:
            return self.monitoring_schedule_arn.rsplit("/", 1)[-1]
        return None

    @property
    def endpoint_name(self) -> str | None:
        return self.environment.get(ENV_ENDPOINT_NAME) or None

    @property
    def outcome(self) -> Outcome:
        if self.status == "Failed":
            return Outcome.MONITORING_FAILED
        if self.status != "Completed":
            return Outcome.NOT_FINISHED
        if (self.exit_message or "").startswith(VIOLATIONS_EXIT_PREFIX):
            return Outcome.VIOLATIONS
        return Outcome.NO_VIOLATIONS

    def with_description(self, description: Mapping[str, Any]) -> ProcessingJobStateChange:
        """Fill the gaps from a ``DescribeProcessingJob`` response; the event's values win."""
        described = _job_fields(description, where="DescribeProcessingJob")
        return ProcessingJobStateChange(
            event_id=self.event_id,
            region=self.region,
            job_name=self.job_name,
            job_arn=self.job_arn,
            status=self.status,
            exit_message=self.exit_message or described.get("exit_message"),
            failure_reason=self.failure_reason or described.get("failure_reason"),
            monitoring_schedule_arn=(
                self.monitoring_schedule_arn or described.get("monitoring_schedule_arn")
            ),
            environment={**described.get("environment", {}), **self.environment},
            output_s3_uri=self.output_s3_uri or described.get("output_s3_uri"),
        )


def parse_processing_job_event(event: object) -> ProcessingJobStateChange:
    """Validate an EventBridge event and return its typed form; raise MalformedEventError."""
    if not isinstance(event, Mapping):
        raise MalformedEventError(f"event must be a JSON object, got {type(event).__name__}")
    source = event.get("source")
    detail_type = event.get("detail-type")
    if source != EVENT_SOURCE or detail_type != EVENT_DETAIL_TYPE:
        raise MalformedEventError(
            f"event source/detail-type {source!r}/{detail_type!r} is not handled; "
            f"allowed: {EVENT_SOURCE!r}/{EVENT_DETAIL_TYPE!r}"
        )
    event_id = _text(event, "id", "event")
    region = _text(event, "region", "event")
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise MalformedEventError(
            f"event field 'detail' must be an object, got {_shown(event, 'detail')}"
        )
    job_name = _text(detail, "ProcessingJobName", "detail")
    status = _text(detail, "ProcessingJobStatus", "detail")
    job_arn = detail.get("ProcessingJobArn")
    if job_arn is None:
        resources = event.get("resources")
        job_arn = resources[0] if isinstance(resources, list) and resources else None
    if not isinstance(job_arn, str) or ":processing-job/" not in job_arn:
        raise MalformedEventError(
            "event field 'detail.ProcessingJobArn' (or 'resources[0]') must be a processing-job "
            f"ARN, got {job_arn!r}"
        )
    described = _job_fields(detail, where="detail")
    return ProcessingJobStateChange(
        event_id=event_id,
        region=region,
        job_name=job_name,
        job_arn=job_arn,
        status=status,
        exit_message=described.get("exit_message"),
        failure_reason=described.get("failure_reason"),
        monitoring_schedule_arn=described.get("monitoring_schedule_arn"),
        environment=described.get("environment", {}),
        output_s3_uri=described.get("output_s3_uri"),
    )


def _job_fields(job: Mapping[str, Any], *, where: str) -> dict[str, Any]:
    """Read the optional processing-job fields shared by the event detail and the API."""
    found: dict[str, Any] = {}
    for key, name in (
        ("ExitMessage", "exit_message"),
        ("FailureReason", "failure_reason"),
        ("MonitoringScheduleArn", "monitoring_schedule_arn"),
    ):
        value = job.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise MalformedEventError(
                f"{where} field {key!r} must be a string, got {type(value).__name__}"
            )
        found[name] = value
    environment = job.get("Environment")
    if environment is not None:
        if not isinstance(environment, Mapping) or not all(
            isinstance(value, str) for value in environment.values()
        ):
            raise MalformedEventError(
                f"{where} field 'Environment' must map names to strings, got {environment!r}"
            )
        found["environment"] = dict(environment)
    if (uri := _first_s3_output(job.get("ProcessingOutputConfig"))) is not None:
        found["output_s3_uri"] = uri
    return found


def _first_s3_output(output_config: object) -> str | None:
    # A monitoring job has exactly one output: the execution's result location.
    if not isinstance(output_config, Mapping):
        return None
    outputs = output_config.get("Outputs")
    if not isinstance(outputs, list):
        return None
    for output in outputs:
        s3_output = output.get("S3Output") if isinstance(output, Mapping) else None
        uri = s3_output.get("S3Uri") if isinstance(s3_output, Mapping) else None
        if isinstance(uri, str) and uri.startswith("s3://"):
            return uri
    return None


@dataclass(frozen=True, slots=True)
class EndpointGovernance:
    """The per-endpoint SSM parameter written by the CDK monitoring stack."""

    model_name: str
    model_package_group_name: str
    endpoint_name: str
    monitors: Mapping[MonitorType, str]
    retraining_pipeline_name: str | None

    def monitor_type_for_schedule(self, schedule_name: str) -> MonitorType | None:
        return next((kind for kind, name in self.monitors.items() if name == schedule_name), None)


_GOVERNANCE_FIELDS = (
    "model_name",
    "model_package_group_name",
    "endpoint_name",
    "monitors",
    "retraining_pipeline_name",
)


def parse_endpoint_governance(
    raw: str, *, parameter_name: str, expected_endpoint: str
) -> EndpointGovernance:
    """Validate the JSON value of ``<prefix><endpoint>``; raise EndpointConfigError."""
    where = f"SSM parameter {parameter_name}"
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as error:
        raise EndpointConfigError(f"{where} is not valid JSON: {error}") from error
    if not isinstance(document, Mapping):
        raise EndpointConfigError(f"{where} must be a JSON object, got {type(document).__name__}")
    unknown = sorted(set(document) - set(_GOVERNANCE_FIELDS))
    if unknown:
        raise EndpointConfigError(
            f"{where}: field(s) {', '.join(unknown)} not allowed; "
            f"allowed: {', '.join(_GOVERNANCE_FIELDS)}"
        )
    model_name = _config_text(document, "model_name", where)
    group_name = _config_text(document, "model_package_group_name", where)
    endpoint_name = _config_text(document, "endpoint_name", where)
    if endpoint_name != expected_endpoint:
        raise EndpointConfigError(
            f"{where}: field 'endpoint_name' is {endpoint_name!r} but the parameter is for "
            f"endpoint {expected_endpoint!r}"
        )
    pipeline = document.get("retraining_pipeline_name")
    if pipeline is not None and (not isinstance(pipeline, str) or not pipeline.strip()):
        raise EndpointConfigError(
            f"{where}: field 'retraining_pipeline_name' must be a non-empty string or null, "
            f"got {pipeline!r}"
        )
    return EndpointGovernance(
        model_name=model_name,
        model_package_group_name=group_name,
        endpoint_name=endpoint_name,
        monitors=_monitors(document.get("monitors"), where),
        retraining_pipeline_name=pipeline,
    )


def _monitors(value: object, where: str) -> dict[MonitorType, str]:
    allowed = ", ".join(kind.value for kind in MonitorType)
    if not isinstance(value, Mapping):
        raise EndpointConfigError(
            f"{where}: field 'monitors' must be an object mapping monitor type to schedule "
            f"name, got {value!r}"
        )
    monitors: dict[MonitorType, str] = {}
    for key, schedule in value.items():
        if key not in {kind.value for kind in MonitorType}:
            raise EndpointConfigError(
                f"{where}: field 'monitors.{key}' is not a monitor type; allowed: {allowed}"
            )
        if not isinstance(schedule, str) or not schedule.strip():
            raise EndpointConfigError(
                f"{where}: field 'monitors.{key}' must be a schedule name, got {schedule!r}"
            )
        monitors[MonitorType(key)] = schedule
    return monitors


def _config_text(document: Mapping[str, Any], key: str, where: str) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not value.strip():
        shown = "(missing)" if key not in document else repr(value)
        raise EndpointConfigError(f"{where}: field {key!r} must be a non-empty string, got {shown}")
    return value


def _text(mapping: Mapping[str, Any], key: str, where: str) -> str:
    value = mapping.get(key)
    if not isinstance(value, str) or not value.strip():
        prefix = "" if where == "event" else f"{where}."
        raise MalformedEventError(
            f"event field '{prefix}{key}' must be a non-empty string, got {_shown(mapping, key)}"
        )
    return value


def _shown(mapping: Mapping[str, Any], key: str) -> str:
    return "(missing)" if key not in mapping else repr(mapping[key])

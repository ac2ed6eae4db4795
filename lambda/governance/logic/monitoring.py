"""The violations handler's decisions: what a finished monitoring run means, and what to say.

A monitoring run (a Model Monitor execution, or a check of the Evidently engine, which keeps the
same contract) is a processing job. It ends ``Completed`` with an ``ExitMessage``
starting ``CompletedWithViolations`` when it found violations (the monitoring execution status
of the same name), ``Completed`` otherwise, or ``Failed`` / ``Stopped``, which leave the model
unmonitored for the period: those are alerted and recorded too, never silenced.

The Evidently engine and batch scoring run their checks in SageMaker Pipelines. A pipeline
execution that ends Failed or Stopped without a check's processing job saying so (the batch
transform failed, a step could not start its job, the execution was stopped between steps) is a
gap as well: :func:`run_pipeline_outcome` alerts and records it the same way, once per execution.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Final
from urllib.parse import quote

from governance.contracts.errors import InvalidEventError
from governance.contracts.parameters import EndpointGovernance
from governance.contracts.vocabulary import (
    MAX_ALERT_VIOLATIONS,
    MAX_RECORDED_VIOLATIONS,
    MAX_VIOLATION_DESCRIPTION_CHARS,
    MONITOR_JOB_TYPES,
    PIPELINE_PARAMETER_MAX_CHARS,
    RETRAINING_TRIGGER_SOURCE,
    VIOLATIONS_REPORT_NAME,
    DetailType,
    MonitorType,
    monitor_type_of,
)
from governance.data_access.evidence import EvidenceReader, EvidenceUnreadableError
from governance.data_access.monitoring_runs import MonitoringRuns
from governance.data_access.notifier import Alert, Notifier
from governance.data_access.parameters import GovernanceParameters, UnknownEndpointError
from governance.data_access.pipelines import Pipelines, PipelineStart
from governance.events import (
    MonitoringOutcome,
    MonitoringViolationDetail,
    PipelineExecutionStatusChange,
    ProcessingJobStateChange,
    ScheduleStartFailedEvent,
    ScheduleStartFailure,
    governance_entry,
)
from governance.logic.constraint_violations import (
    ReportFormatError,
    Violation,
    parse_constraint_violations,
)
from governance.sagemaker import (
    MonitoringSchedule,
    PipelineExecutionStatus,
    PipelineExecutionStep,
    ProcessingJob,
    ProcessingJobStatus,
)

VIOLATIONS_EXIT_PREFIX: Final = "CompletedWithViolations"
_GAP_OUTCOMES: Final = {
    ProcessingJobStatus.FAILED: MonitoringOutcome.MONITORING_FAILED,
    ProcessingJobStatus.STOPPED: MonitoringOutcome.MONITORING_STOPPED,
}


class RunStatus(StrEnum):
    """What a processing job's status and exit message say about a monitoring run."""

    NOT_FINISHED = "not_finished"
    CLEAN = "clean"
    VIOLATIONS = "violations"
    FAILED = "failed"
    STOPPED = "stopped"


def run_status(job: ProcessingJob) -> RunStatus:
    status = job.processing_job_status
    if status is ProcessingJobStatus.FAILED:
        return RunStatus.FAILED
    if status is ProcessingJobStatus.STOPPED:
        return RunStatus.STOPPED
    if status is not ProcessingJobStatus.COMPLETED:
        return RunStatus.NOT_FINISHED
    if (job.exit_message or "").startswith(VIOLATIONS_EXIT_PREFIX):
        return RunStatus.VIOLATIONS
    return RunStatus.CLEAN


def clean_from_event(job: ProcessingJob) -> bool:
    """Known from the event alone to need nothing: completed, and the exit message says clean."""
    return run_status(job) is RunStatus.CLEAN and job.exit_message is not None


def needs_description(job: ProcessingJob) -> bool:
    """Whether the event lacks what the handler needs for a finished job (the documented
    event carries neither exit message, schedule nor output)."""
    if run_status(job) is RunStatus.NOT_FINISHED:
        return False
    completed = job.processing_job_status is ProcessingJobStatus.COMPLETED
    incomplete = completed and (job.exit_message is None or job.output_s3_uri is None)
    return incomplete or job.schedule_name is None


def record_id(job_arn: str, status: str) -> str:
    """Stable identity of one job outcome; also the pipeline's ClientRequestToken (32-128)."""
    return hashlib.sha256(f"{job_arn}#{status}".encode()).hexdigest()


@dataclass(frozen=True)
class MonitoringExecution:
    """A finished monitoring execution, tied to its endpoint's governance parameter."""

    job: ProcessingJob
    job_arn: str
    event_id: str
    region: str
    governance: EndpointGovernance
    monitor_type: MonitorType
    schedule_name: str

    @property
    def report_uri(self) -> str | None:
        output = self.job.output_s3_uri
        return f"{output.rstrip('/')}/{VIOLATIONS_REPORT_NAME}" if output else None

    @property
    def record_id(self) -> str:
        return record_id(self.job_arn, self.job.processing_job_status)


@dataclass(frozen=True)
class RunAssessment:
    """What one finished execution comes to: violations, a gap in monitoring, or an unusable
    report."""

    outcome: MonitoringOutcome
    violations: tuple[Violation, ...] = ()
    failure_reason: str | None = None
    report_error: str | None = None


@dataclass(frozen=True, slots=True)
class HandlerResult:
    status: str
    reason: str
    processing_job_arn: str | None = None
    endpoint_name: str | None = None
    monitor_type: str | None = None
    violation_count: int = 0
    pipeline_execution_arn: str | None = None
    """The retraining execution this outcome started."""
    monitoring_pipeline_execution_arn: str | None = None
    """The monitoring pipeline execution this outcome is about (pipeline status changes)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def gap_assessment(job: ProcessingJob) -> RunAssessment:
    """A failed or stopped run: no results for the period."""
    return RunAssessment(
        _GAP_OUTCOMES[ProcessingJobStatus(job.processing_job_status)],
        failure_reason=job.failure_reason or "(SageMaker gave no FailureReason)",
    )


def assess_report(exit_message: str | None, report: object) -> RunAssessment:
    """What a decoded report means for a run that said it found violations."""
    try:
        violations = parse_constraint_violations(report)
    except ReportFormatError as error:
        return RunAssessment(MonitoringOutcome.REPORT_UNREADABLE, report_error=str(error))
    if not violations:
        return RunAssessment(
            MonitoringOutcome.REPORT_UNREADABLE,
            report_error=(
                f"the job's exit message is {exit_message!r} but {VIOLATIONS_REPORT_NAME} "
                "lists no violations"
            ),
        )
    return RunAssessment(MonitoringOutcome.VIOLATIONS, violations=violations)


def _shown_report_uri(execution: MonitoringExecution, assessment: RunAssessment) -> str | None:
    # A run that failed or stopped writes no report; linking to where it would be only misleads.
    if assessment.failure_reason is not None:
        return None
    return execution.report_uri


def violation_detail(
    execution: MonitoringExecution, assessment: RunAssessment, pipeline_execution_arn: str | None
) -> MonitoringViolationDetail:
    governance = execution.governance
    return MonitoringViolationDetail(
        record_id=execution.record_id,
        outcome=assessment.outcome,
        model_package_group_name=governance.model_package_group_name,
        model_name=governance.model_name,
        endpoint_name=governance.endpoint_name,
        monitor_type=execution.monitor_type,
        monitoring_schedule_name=execution.schedule_name,
        processing_job_arn=execution.job_arn,
        report_uri=_shown_report_uri(execution, assessment),
        violations=tuple(
            violation.as_item(max_description=MAX_VIOLATION_DESCRIPTION_CHARS)
            for violation in assessment.violations[:MAX_RECORDED_VIOLATIONS]
        ),
        violation_count=len(assessment.violations),
        violations_truncated=len(assessment.violations) > MAX_RECORDED_VIOLATIONS,
        retraining_pipeline_execution_arn=pipeline_execution_arn,
        source_event_id=execution.event_id,
        failure_reason=assessment.failure_reason,
        report_error=assessment.report_error,
    )


def console_domain(arn: str) -> str:
    partition = arn.split(":")[1] if arn.count(":") >= 5 else "aws"
    return {
        "aws-cn": "console.amazonaws.cn",
        "aws-us-gov": "console.amazonaws-us-gov.com",
    }.get(partition, "console.aws.amazon.com")


def report_console_url(uri: str, *, region: str, job_arn: str) -> str:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return (
        f"https://s3.{console_domain(job_arn)}/s3/object/{bucket}"
        f"?region={region}&prefix={quote(key)}"
    )


def processing_job_console_url(job_name: str, *, region: str, job_arn: str) -> str:
    return (
        f"https://{region}.{console_domain(job_arn)}/sagemaker/home?region={region}"
        f"#/processing-jobs/{quote(job_name)}"
    )


def _headline(execution: MonitoringExecution, assessment: RunAssessment) -> tuple[str, str]:
    monitor = execution.monitor_type.label
    endpoint = execution.governance.endpoint_name
    count = len(assessment.violations)
    unmonitored = (
        "There are no monitoring results for this period: the model is unmonitored "
        "until the cause is fixed."
    )
    if assessment.outcome is MonitoringOutcome.VIOLATIONS:
        return (
            f"Monitoring: {count} {monitor} violation(s) on {endpoint}",
            f"Monitoring found {count} {monitor} violation(s) on endpoint {endpoint}.",
        )
    if assessment.outcome is MonitoringOutcome.MONITORING_FAILED:
        return (
            f"Monitoring FAILED: {monitor} on {endpoint}",
            f"The {monitor} monitoring execution for endpoint {endpoint} FAILED. {unmonitored}",
        )
    if assessment.outcome is MonitoringOutcome.MONITORING_STOPPED:
        return (
            f"Monitoring STOPPED: {monitor} on {endpoint}",
            f"The {monitor} monitoring execution for endpoint {endpoint} was STOPPED before it "
            f"finished. {unmonitored}",
        )
    return (
        f"Monitoring report unreadable: {monitor} on {endpoint}",
        f"The {monitor} monitoring execution for endpoint {endpoint} reported violations, "
        "but its report could not be read, so they are unknown.",
    )


def _alert_attributes(
    outcome: MonitoringOutcome, monitor_type: MonitorType, governance: EndpointGovernance
) -> dict[str, str]:
    """The SNS message attributes every monitoring alert carries (subscription filters)."""
    return {
        "outcome": outcome.value,
        "monitor_type": monitor_type.value,
        "endpoint_name": governance.endpoint_name,
        "model_package_group_name": governance.model_package_group_name,
    }


def violation_alert(
    execution: MonitoringExecution, assessment: RunAssessment, pipeline_execution_arn: str | None
) -> Alert:
    """A summary a person can act on from their inbox, without opening the console first."""
    governance = execution.governance
    subject, headline = _headline(execution, assessment)
    job, region, arn = execution.job, execution.region, execution.job_arn
    lines = [
        headline,
        "",
        f"Model:                {governance.model_name}",
        f"Model package group:  {governance.model_package_group_name}",
        f"Endpoint:             {governance.endpoint_name}",
        f"Monitor:              {execution.monitor_type.label} "
        f"(schedule {execution.schedule_name})",
        f"Processing job:       {arn}",
        "Job console:          "
        + processing_job_console_url(job.processing_job_name, region=region, job_arn=arn),
    ]
    if (report_uri := _shown_report_uri(execution, assessment)) is not None:
        lines.append(f"Report:               {report_uri}")
        lines.append(
            "Report console:       " + report_console_url(report_uri, region=region, job_arn=arn)
        )
    if assessment.failure_reason is not None:
        lines += ["", f"Failure reason: {assessment.failure_reason}"]
    if assessment.report_error is not None:
        lines += ["", f"Report error: {assessment.report_error}"]
    count = len(assessment.violations)
    if assessment.violations:
        lines += ["", "Violations:"]
        for number, violation in enumerate(assessment.violations[:MAX_ALERT_VIOLATIONS], start=1):
            shown = violation.as_item(max_description=MAX_VIOLATION_DESCRIPTION_CHARS)
            lines.append(
                f"  {number}. {violation.headline} [{shown.check_type}]: {shown.description}"
            )
        if count > MAX_ALERT_VIOLATIONS:
            lines.append(f"  ... and {count - MAX_ALERT_VIOLATIONS} more in the report.")
    lines.append("")
    if pipeline_execution_arn is not None:
        lines.append(
            f"Retraining: started pipeline {governance.retraining_pipeline_name}, "
            f"execution {pipeline_execution_arn}"
        )
    elif assessment.outcome is MonitoringOutcome.VIOLATIONS:
        lines.append("Retraining: no retraining pipeline is configured for this endpoint.")
    lines.append(f"Source event: {execution.event_id}")
    return Alert(
        subject=subject,
        message="\n".join(lines),
        attributes=_alert_attributes(assessment.outcome, execution.monitor_type, governance),
    )


def retraining_request(execution: MonitoringExecution, pipeline_name: str) -> PipelineStart:
    token = execution.record_id
    kind = execution.monitor_type
    return PipelineStart(
        pipeline_name=pipeline_name,
        display_name=f"{kind.value.replace('_', '-')}-violation-{token[:16]}",
        description=(
            f"Started by {RETRAINING_TRIGGER_SOURCE}: {kind.label} violations on endpoint "
            f"{execution.governance.endpoint_name} "
            f"(processing job {execution.job.processing_job_name})"
        ),
        parameters={
            "TriggerSource": RETRAINING_TRIGGER_SOURCE,
            "TriggerMonitorType": kind.value,
            "TriggerProcessingJobArn": execution.job_arn,
            "TriggerReportUri": (execution.report_uri or "")[:PIPELINE_PARAMETER_MAX_CHARS],
        },
        client_request_token=token,
    )


# --- Sequence ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ViolationStores:
    runs: MonitoringRuns
    parameters: GovernanceParameters
    evidence: EvidenceReader
    pipelines: Pipelines
    notifier: Notifier


def job_arn_of(change: ProcessingJobStateChange) -> str:
    arn = change.job_arn
    if arn is None or ":processing-job/" not in arn:
        raise InvalidEventError(
            "invalid ProcessingJobStateChange event",
            [
                f"field 'detail.ProcessingJobArn' (or 'resources[0]'): got {arn!r}; "
                "expected a processing-job ARN"
            ],
        )
    return arn


def run_violations(change: ProcessingJobStateChange, stores: ViolationStores) -> HandlerResult:
    """Everything the handler does for one processing-job state change."""
    job_arn = job_arn_of(change)
    job = change.detail

    def skipped(reason: str) -> HandlerResult:
        return HandlerResult(status="skipped", reason=reason, processing_job_arn=job_arn)

    if run_status(job) is RunStatus.NOT_FINISHED:
        return skipped(f"status {job.processing_job_status} is not a finished monitoring execution")
    if clean_from_event(job):
        return skipped("completed without violations")
    if needs_description(job):
        job = job.completed_from(stores.runs.describe_job(job.processing_job_name))
    schedule_name = job.schedule_name
    if schedule_name is None:
        return skipped("not a Model Monitor execution (no monitoring schedule)")
    if run_status(job) is RunStatus.CLEAN:
        # Model Monitor containers always write an exit message; say so if one is missing.
        unsaid = "" if job.exit_message is not None else " (no ExitMessage: treated as clean)"
        return skipped(f"completed without violations{unsaid}")

    execution = _resolve(change, job, job_arn, schedule_name, stores)
    if run_status(job) in (RunStatus.FAILED, RunStatus.STOPPED):
        assessment = gap_assessment(job)
    else:
        assessment = _assess_violations(execution, stores.evidence)
    pipeline_arn = None
    pipeline = execution.governance.retraining_pipeline_name
    if assessment.outcome is MonitoringOutcome.VIOLATIONS and pipeline:
        pipeline_arn = stores.pipelines.start(retraining_request(execution, pipeline))
    # The record before the alert: if the alert fails, the retry re-puts the same recordId,
    # which the ledger drops, rather than leaving an alert with no record.
    detail = violation_detail(execution, assessment, pipeline_arn)
    stores.notifier.put_event(governance_entry(DetailType.MONITORING_VIOLATION, detail, job_arn))
    stores.notifier.alert(violation_alert(execution, assessment, pipeline_arn))
    return HandlerResult(
        status="recorded",
        reason=assessment.outcome.value,
        processing_job_arn=job_arn,
        endpoint_name=execution.governance.endpoint_name,
        monitor_type=execution.monitor_type.value,
        violation_count=len(assessment.violations),
        pipeline_execution_arn=pipeline_arn,
    )


def _resolve(
    change: ProcessingJobStateChange,
    job: ProcessingJob,
    job_arn: str,
    schedule_name: str,
    stores: ViolationStores,
) -> MonitoringExecution:
    """The endpoint, its governance parameter and the monitor type of an execution."""
    schedule: MonitoringSchedule | None = None
    endpoint_name = job.endpoint_name
    if endpoint_name is None:
        # Clarify jobs need not carry the endpoint in their environment; the schedule does.
        schedule = stores.runs.describe_schedule(schedule_name)
        endpoint_name = schedule.endpoint_name
        if not endpoint_name:
            raise InvalidEventError(
                "unattributable monitoring execution",
                [
                    f"cannot tell which endpoint processing job {job.processing_job_name} "
                    f"monitors: its Environment has no sagemaker_endpoint_name and schedule "
                    f"{schedule_name} has no EndpointName"
                ],
            )
    governance = stores.parameters.endpoint(endpoint_name)
    monitor_type = governance.monitor_type_for_schedule(schedule_name)
    if monitor_type is None:
        # A schedule the parameter does not list (e.g. created by hand): ask SageMaker its type.
        schedule = schedule or stores.runs.describe_schedule(schedule_name)
        monitor_type = monitor_type_of(schedule.monitoring_type or "")
        if monitor_type is None:
            known_types = MONITOR_JOB_TYPES.values()
            raise InvalidEventError(
                "unattributable monitoring execution",
                [
                    f"schedule {schedule_name} has MonitoringType {schedule.monitoring_type!r}; "
                    f"expected one of {', '.join(j.monitoring_type for j in known_types)}"
                ],
            )
    return MonitoringExecution(
        job=job,
        job_arn=job_arn,
        event_id=change.id,
        region=change.region,
        governance=governance,
        monitor_type=monitor_type,
        schedule_name=schedule_name,
    )


def _assess_violations(execution: MonitoringExecution, evidence: EvidenceReader) -> RunAssessment:
    uri = execution.report_uri
    if uri is None:
        return RunAssessment(
            MonitoringOutcome.REPORT_UNREADABLE,
            report_error=f"the processing job has no S3 output, so no {VIOLATIONS_REPORT_NAME}",
        )
    try:
        report = evidence.read_json(uri)
    except EvidenceUnreadableError as error:
        return RunAssessment(MonitoringOutcome.REPORT_UNREADABLE, report_error=str(error))
    return assess_report(execution.job.exit_message, report)


# --- Monitoring pipelines (Evidently engine, batch scoring) -----------------------------------

_PIPELINE_GAPS: Final = {
    PipelineExecutionStatus.FAILED: MonitoringOutcome.MONITORING_FAILED,
    PipelineExecutionStatus.STOPPED: MonitoringOutcome.MONITORING_STOPPED,
}


@dataclass(frozen=True)
class MonitoringPipeline:
    """A governed monitoring pipeline: its parameter and the checks one execution runs."""

    governance: EndpointGovernance
    checks: tuple[MonitorType, ...]
    kind: str
    """``batch scoring`` or ``monitoring check``, for people."""


def monitoring_pipeline(name: str, parameters: GovernanceParameters) -> MonitoringPipeline | None:
    """Which governed monitoring a pipeline named ``name`` runs, or None when it runs none.

    A batch-scoring pipeline is named like its parameter (``<model>-<env>-batch``) and runs
    every check the parameter lists; an Evidently check pipeline is named like the Model Monitor
    schedule it replaces (``<endpoint>-<check>``), which the endpoint's parameter lists.
    """
    try:
        governance = parameters.endpoint(name)
    except UnknownEndpointError:
        pass
    else:
        return MonitoringPipeline(governance, tuple(governance.monitors), "batch scoring")
    for monitor_type in MonitorType:
        suffix = "-" + monitor_type.value.replace("_", "-")
        endpoint = name.removesuffix(suffix)
        if endpoint == name or not endpoint:
            continue
        try:
            governance = parameters.endpoint(endpoint)
        except UnknownEndpointError:
            continue
        kind = governance.monitor_type_for_schedule(name)
        if kind is not None:
            return MonitoringPipeline(governance, (kind,), "monitoring check")
    return None


def unreported_steps(steps: list[PipelineExecutionStep]) -> list[PipelineExecutionStep] | None:
    """The failed or stopped steps no processing-job state change reports, or None when every
    one that ended so ran a processing job (whose own event the handler records)."""
    ended = [step for step in steps if step.ended_unsuccessfully]
    if ended and all(step.processing_job_arn for step in ended):
        return None
    return [step for step in ended if not step.processing_job_arn]


def pipeline_failure_reason(
    status: PipelineExecutionStatus, steps: list[PipelineExecutionStep]
) -> str:
    if not steps:
        return f"the execution ended {status.value} before any step failed or stopped"
    return "; ".join(
        f"step {step.step_name} {step.step_status}: "
        f"{step.failure_reason or '(SageMaker gave no FailureReason)'}"
        for step in steps
    )


def _unmonitored_alert(
    pipeline: MonitoringPipeline,
    detail: MonitoringViolationDetail,
    *,
    subject: str,
    headline: str,
    where: list[str],
    source: str,
) -> Alert:
    """The alert about a monitoring pipeline that produced no results: what happened, the
    model it leaves unmonitored, where it happened, the reason and the source it came from."""
    governance = pipeline.governance
    lines = [
        f"{headline} the model is unmonitored until the cause is fixed.",
        "",
        f"Model:                {governance.model_name}",
        f"Model package group:  {governance.model_package_group_name}",
        f"Endpoint:             {governance.endpoint_name}",
        f"Checks without results: {', '.join(kind.label for kind in pipeline.checks)}",
        *where,
        "",
        f"Failure reason: {detail.failure_reason}",
        "",
        source,
    ]
    return Alert(
        subject=subject,
        message="\n".join(lines),
        attributes=_alert_attributes(detail.outcome, detail.monitor_type, governance),
    )


def pipeline_gap_alert(
    change: PipelineExecutionStatusChange,
    pipeline: MonitoringPipeline,
    detail: MonitoringViolationDetail,
) -> Alert:
    status = change.detail.current_pipeline_execution_status.value.upper()
    name = change.detail.pipeline_name
    return _unmonitored_alert(
        pipeline,
        detail,
        subject=f"Monitoring {status}: pipeline {name}",
        headline=f"The {pipeline.kind} pipeline {name} execution {status} before its checks "
        "reported. There are no monitoring results for this period:",
        where=[f"Pipeline execution:   {change.detail.pipeline_execution_arn}"],
        source=f"Source event: {change.id}",
    )


def run_pipeline_outcome(
    change: PipelineExecutionStatusChange, stores: ViolationStores
) -> HandlerResult:
    """Everything the handler does for one pipeline execution status change."""
    execution = change.detail
    arn = execution.pipeline_execution_arn
    status = execution.current_pipeline_execution_status

    def skipped(reason: str) -> HandlerResult:
        return HandlerResult(status="skipped", reason=reason, monitoring_pipeline_execution_arn=arn)

    outcome = _PIPELINE_GAPS.get(status)
    if outcome is None:
        return skipped(f"status {status.value} is not a failed or stopped execution")
    pipeline = monitoring_pipeline(execution.pipeline_name, stores.parameters)
    if pipeline is None:
        return skipped(f"pipeline {execution.pipeline_name} runs no governed monitoring")
    steps = unreported_steps(stores.runs.execution_steps(arn))
    if steps is None:
        return skipped(
            "every failed or stopped step ran a processing job, whose own state change is recorded"
        )
    monitor_type = pipeline.checks[0]
    detail = MonitoringViolationDetail(
        record_id=record_id(arn, status.value),
        outcome=outcome,
        model_package_group_name=pipeline.governance.model_package_group_name,
        model_name=pipeline.governance.model_name,
        endpoint_name=pipeline.governance.endpoint_name,
        monitor_type=monitor_type,
        monitoring_schedule_name=pipeline.governance.monitors[monitor_type],
        pipeline_execution_arn=arn,
        violations=(),
        violation_count=0,
        source_event_id=change.id,
        failure_reason=(
            f"{pipeline_failure_reason(status, steps)}. No results this run for: "
            + ", ".join(kind.label for kind in pipeline.checks)
        ),
    )
    # The record before the alert, as for processing jobs.
    stores.notifier.put_event(governance_entry(DetailType.MONITORING_VIOLATION, detail, arn))
    stores.notifier.alert(pipeline_gap_alert(change, pipeline, detail))
    return HandlerResult(
        status="recorded",
        reason=outcome.value,
        endpoint_name=pipeline.governance.endpoint_name,
        monitor_type=monitor_type.value,
        monitoring_pipeline_execution_arn=arn,
    )


# --- Failed schedule starts (EventBridge Scheduler dead letters) ----------------------------


def schedule_failure_record_id(failure: ScheduleStartFailure) -> str:
    """The same for every delivery of one failed start (the ledger's duplicate key)."""
    return record_id(failure.schedule_arn, failure.execution_id)


def schedule_failure_reason(failure: ScheduleStartFailure) -> str:
    when = f" at {failure.scheduled_time}" if failure.scheduled_time else ""
    retries = [] if failure.retry_attempts is None else [f"{failure.retry_attempts} retries"]
    if failure.exhausted_retry_condition:
        retries.append(f"gave up on {failure.exhausted_retry_condition}")
    else:
        # EventBridge Scheduler sets EXHAUSTED_RETRY_CONDITION for retryable errors only.
        retries.append("not retryable")
    return (
        f"EventBridge Scheduler could not start the pipeline of schedule "
        f"{failure.schedule_name}{when} ({', '.join(retries)}): {failure.error_code}: "
        f"{failure.error_message or '(no ERROR_MESSAGE)'}"
    )


def schedule_failure_alert(
    failure: ScheduleStartFailure, pipeline: MonitoringPipeline, detail: MonitoringViolationDetail
) -> Alert:
    return _unmonitored_alert(
        pipeline,
        detail,
        subject=f"Monitoring NOT STARTED: schedule {failure.schedule_name}",
        headline=f"EventBridge Scheduler could not start the {pipeline.kind} pipeline "
        f"{failure.schedule_name}. There are no monitoring results for this run:",
        where=[
            f"Schedule:             {failure.schedule_arn}",
            f"Scheduled time:       {failure.scheduled_time or '(not given)'}",
        ],
        source=f"Dead-letter message: {failure.message_id} in {failure.queue_arn}",
    )


def run_schedule_start_failure(
    change: ScheduleStartFailedEvent, stores: ViolationStores
) -> HandlerResult:
    """A start EventBridge Scheduler could not make: the same record and alert as a failed
    execution (outcome ``monitoring_failed``, no execution). The schedule is named like the
    pipeline it starts, so its name finds the model as for a pipeline execution."""
    failure = change.detail
    pipeline = monitoring_pipeline(failure.schedule_name, stores.parameters)
    if pipeline is None:
        raise InvalidEventError(
            "unattributable schedule dead letter",
            [
                f"schedule {failure.schedule_name} (from {failure.schedule_arn}) names no "
                "governed monitoring pipeline: no endpoint parameter lists it as a check "
                "(<endpoint>-<check>) and no batch-scoring parameter has its name"
            ],
        )
    monitor_type = pipeline.checks[0]
    detail = MonitoringViolationDetail(
        record_id=schedule_failure_record_id(failure),
        outcome=MonitoringOutcome.MONITORING_FAILED,
        model_package_group_name=pipeline.governance.model_package_group_name,
        model_name=pipeline.governance.model_name,
        endpoint_name=pipeline.governance.endpoint_name,
        monitor_type=monitor_type,
        monitoring_schedule_name=pipeline.governance.monitors[monitor_type],
        violations=(),
        violation_count=0,
        source_event_id=change.id,
        failure_reason=(
            f"{schedule_failure_reason(failure)}. No results this run for: "
            + ", ".join(kind.label for kind in pipeline.checks)
        ),
    )
    # The record before the alert, as for processing jobs.
    stores.notifier.put_event(
        governance_entry(DetailType.MONITORING_VIOLATION, detail, failure.schedule_arn)
    )
    stores.notifier.alert(schedule_failure_alert(failure, pipeline, detail))
    return HandlerResult(
        status="recorded",
        reason=MonitoringOutcome.MONITORING_FAILED.value,
        endpoint_name=pipeline.governance.endpoint_name,
        monitor_type=monitor_type.value,
    )

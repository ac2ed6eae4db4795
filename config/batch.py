"""A model's ``batch`` section: scheduled batch scoring, kept and checked like endpoint traffic.

Validated once here; the stack maps it to the batch construct's props
(``cdk_constructs/monitoring/batch.py``). Sources of each rule:

* ``instance_type``: botocore's ``CreateTransformJob`` ``TransformResources.InstanceType`` enum
  (``TransformInstanceType``), read from the pinned botocore by :mod:`config.api_constraints`;
  ``instance_count`` 1-20 (botocore ``TransformInstanceCount`` min 1; 20 is the app's
  guard-rail on cost, as for endpoints); ``check_instance_type`` and ``check_max_runtime_seconds``
  from ``CreateProcessingJob`` (the check steps are processing jobs).
* ``schedule``: the expressions EventBridge Scheduler accepts (user guide, "Schedule types on
  EventBridge Scheduler": ``rate``, ``cron`` with six fields, ``at``), recurring only (``at`` runs
  once, and a monitored batch needs a cadence), with an interval the app can derive: the
  "no results" alarm's period is that interval and it fires after two of them, which CloudWatch
  must be able to evaluate (PutMetricAlarm: ``Period`` x ``EvaluationPeriods`` at most seven
  days), so 1 to 84 hours.
* ``capture_s3_uri``: required. Batch data capture (``CreateTransformJob`` ``DataCaptureConfig``:
  ``DestinationS3Uri``, ``KmsKeyId``, ``GenerateInferenceId``; developer guide
  model-monitor-data-capture-batch) is what the checks read: without it nothing is checked.
* S3 locations: every location names the model as a path segment, and none lies inside another
  (a transform writing under its input would score its own results on the next run; results
  mixed with capture manifests would be read as captured data). Which buckets the shared roles
  may use is the access model's (ARCHITECTURE.md): inputs and ground truth in buckets tagged
  ``governance:monitoring-input=true``, results and capture in buckets tagged
  ``governance:batch-output=true``.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from cdk_constructs.pipelines.schedules import SCHEDULE_SOURCE, schedule_expression_problem
from config.api_constraints import ApiParameter
from config.issues import Issue

TRANSFORM_INSTANCE_TYPE = ApiParameter(
    "sagemaker", "CreateTransformJob", "TransformResources.InstanceType"
)
TRANSFORM_INSTANCE_COUNT = ApiParameter(
    "sagemaker", "CreateTransformJob", "TransformResources.InstanceCount"
)
CAPTURE_DESTINATION = ApiParameter(
    "sagemaker", "CreateTransformJob", "DataCaptureConfig.DestinationS3Uri"
)
CHECK_INSTANCE_TYPE = ApiParameter(
    "sagemaker", "CreateProcessingJob", "ProcessingResources.ClusterConfig.InstanceType"
)
CHECK_MAX_RUNTIME = ApiParameter(
    "sagemaker", "CreateProcessingJob", "StoppingCondition.MaxRuntimeInSeconds"
)

# Two intervals of the "no results" alarm within CloudWatch's seven-day evaluation limit.
MAX_INTERVAL_HOURS = 84
BATCH_S3_RULE = "an s3:// URI of a bucket and a prefix, e.g. s3://bucket/prefix/"
_S3_URI = re.compile(r"s3://(?P<bucket>[a-z0-9.\-]{3,63})/(?P<key>.+)")
_HOURS = re.compile(r"(?P<start>\d{1,2})(?:/(?P<step>\d{1,2}))?")
_NUMBER = re.compile(r"\d{1,2}")


def _s3_prefix(value: str) -> str:
    if not _S3_URI.fullmatch(value):
        raise ValueError(f"must be {BATCH_S3_RULE}")
    return value if value.endswith("/") else f"{value}/"


S3Prefix = Annotated[str, AfterValidator(_s3_prefix)]
"""An S3 prefix, normalised to end with ``/`` (so prefixes compare as folders)."""


def interval_hours(expression: str) -> int | None:  # noqa: PLR0911 - one per form
    """Hours between two runs of a recurring EventBridge Scheduler expression, when the app can
    derive them: ``rate(N hour(s)|day(s))``, ``rate(N minutes)`` in whole hours, or a cron with
    one minute, any month and year, and either every hour (``*``), every N hours (``H/N``), or
    one hour every day (day-of-month and day-of-week ``*``/``?``). None otherwise."""
    rate = re.fullmatch(r"rate\((\d+) (minute|hour|day)s?\)", expression)
    if rate is not None:
        value, unit = int(rate[1]), rate[2]
        minutes = value * {"minute": 1, "hour": 60, "day": 1440}[unit]
        return minutes // 60 if minutes % 60 == 0 and minutes >= 60 else None
    cron = re.fullmatch(r"cron\(([^()]+)\)", expression)
    if cron is None:
        return None
    minute, hour, day_of_month, month, day_of_week, year = (cron[1].split() + [""] * 6)[:6]
    if not _NUMBER.fullmatch(minute) or month != "*" or year not in ("*", ""):
        return None
    if {day_of_month, day_of_week} - {"*", "?"}:
        return None
    if hour == "*":
        return 1
    hours = _HOURS.fullmatch(hour)
    if hours is None:
        return None
    return int(hours["step"]) if hours["step"] else 24


def schedule_problem(expression: str) -> str | None:
    """Why ``expression`` cannot be a batch model's cadence, or None."""
    problem = schedule_expression_problem(expression)
    if problem is not None:
        return f"{problem} [{SCHEDULE_SOURCE}]"
    if expression.startswith("at("):
        return (
            "is a one-time schedule; batch scoring is monitored per run and needs a recurring "
            "cadence: rate(N hours|days) or a cron expression"
        )
    hours = interval_hours(expression)
    if hours is None or not 1 <= hours <= MAX_INTERVAL_HOURS:
        return (
            "must be a recurring cadence of 1 to "
            f"{MAX_INTERVAL_HOURS} hours the app can derive the interval of (its 'no results' "
            "alarm fires after two intervals and CloudWatch evaluates at most seven days, "
            "PutMetricAlarm): rate(N hours), rate(N days) up to 3, rate(N minutes) in whole "
            "hours, or cron(M * * * ? *), cron(M H/N * * ? *), cron(M H * * ? *)"
        )
    return None


def _schedule(value: str) -> str:
    problem = schedule_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


class BatchScoring(BaseModel):
    """Scheduled batch scoring of a model with the version its deployment serves.

    Per environment that serves the model, a SageMaker Pipeline (started by EventBridge
    Scheduler) runs a hardened transform job with batch data capture, then the Evidently
    data-quality check and, with ``ground_truth_s3_uri``, the model-quality check.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    input_s3_uri: S3Prefix = Field(description="CSV records to score, features only")
    output_s3_uri: S3Prefix = Field(description="where the transform writes its results")
    capture_s3_uri: S3Prefix | None = Field(
        default=None,
        description="batch data capture destination (required; the checks read it)",
    )
    schedule: Annotated[str, AfterValidator(_schedule)] = Field(
        description="EventBridge Scheduler cadence, e.g. cron(0 2 * * ? *)"
    )
    instance_type: Annotated[str, AfterValidator(TRANSFORM_INSTANCE_TYPE.check)] = "ml.m5.xlarge"
    instance_count: Annotated[
        int, Field(ge=1, le=20), AfterValidator(TRANSFORM_INSTANCE_COUNT.check)
    ] = 1
    ground_truth_s3_uri: S3Prefix | None = Field(
        default=None, description="labels by inference id; enables the model-quality check"
    )
    ground_truth_lookback_hours: int = Field(
        default=192,
        ge=1,
        le=2160,
        description="model quality joins labels with the predictions captured this far back",
    )
    check_instance_type: Annotated[str, AfterValidator(CHECK_INSTANCE_TYPE.check)] = "ml.m5.xlarge"
    check_max_runtime_seconds: Annotated[
        int, Field(ge=60), AfterValidator(CHECK_MAX_RUNTIME.check)
    ] = 3600

    @property
    def interval_hours(self) -> int:
        hours = interval_hours(self.schedule)
        if hours is None:  # pragma: no cover - refused by the validator
            raise ValueError(f"no interval for {self.schedule!r}")
        return hours

    @property
    def checks(self) -> tuple[str, ...]:
        return ("data_quality", "model_quality") if self.ground_truth_s3_uri else ("data_quality",)

    def issues(self, model_name: str) -> list[Issue]:
        """Cross-field problems, each at its field (paths relative to the model)."""
        issues: list[Issue] = []
        if self.capture_s3_uri is None:
            issues.append(
                Issue(
                    ("batch", "capture_s3_uri"),
                    "is required: the batch checks read what the transform job captures "
                    "(CreateTransformJob DataCaptureConfig.DestinationS3Uri); allowed: "
                    f"{BATCH_S3_RULE} in a bucket tagged governance:batch-output=true",
                )
            )
        elif problem := CAPTURE_DESTINATION.violation(self.capture_s3_uri):
            issues.append(Issue(("batch", "capture_s3_uri"), problem, self.capture_s3_uri))
        locations = {
            "input_s3_uri": self.input_s3_uri,
            "output_s3_uri": self.output_s3_uri,
            "capture_s3_uri": self.capture_s3_uri,
            "ground_truth_s3_uri": self.ground_truth_s3_uri,
        }
        present = {field: uri for field, uri in locations.items() if uri is not None}
        for field, uri in present.items():
            key = uri.split("/", 3)[3]
            if model_name not in key.split("/"):
                issues.append(
                    Issue(
                        ("batch", field),
                        f"must be under a prefix named after the model: the batch roles are "
                        f"shared by every model, so each model's locations carry its name as a "
                        f"path segment; allowed: s3://<bucket>/.../{model_name}/...",
                        uri,
                    )
                )
        for field, uri in present.items():
            for other, other_uri in present.items():
                if field != other and uri.startswith(other_uri):
                    issues.append(
                        Issue(
                            ("batch", field),
                            f"lies inside {other} {other_uri!r}; allowed: a prefix that does "
                            "not overlap the batch section's other locations (a transform "
                            "writing under its input scores its own results on the next run, "
                            "and results mixed with capture manifests read as captured data)",
                            uri,
                        )
                    )
        return issues

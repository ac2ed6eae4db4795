"""The reference-data snapshot: the data-quality baseline of the replacement monitoring engine.

Model Monitor's data-quality monitor compares traffic with ``statistics.json`` and
``constraints.json`` written by its analyzer. The replacement engine (Evidently AI reports run in
SageMaker processing jobs) compares traffic with a *reference dataset* instead, so the training
pipeline pins one: a copy of the rows the version was trained on, plus a summary that says what
the copy is. Both the pipeline that writes it and the engine that reads it import this module;
neither restates a path or a field.

Layout, under the artifacts bucket's governed baselines prefix, one folder per execution::

    baselines/<model>/<pipeline execution id>/reference/reference.csv
    baselines/<model>/<pipeline execution id>/reference/summary.json

How a registered version points to it: ``DriftCheckBaselines.ModelDataQuality.Statistics`` is
the S3 URI of ``summary.json`` with ``ContentType`` ``application/json`` (CreateModelPackage,
``DriftCheckBaselines.ModelDataQuality.Statistics`` is a ``MetricsSource``: ContentType, S3Uri,
optional ContentDigest). That is the member the API defines for a version's data-quality
baseline statistics and the one the deploy-time check already reads
(``BASELINE_PATHS['data_quality']['statistics']``), so nothing new is needed to find it; the
summary's ``format`` field (:data:`REFERENCE_FORMAT`) tells a reader it is this summary and not a
Model Monitor ``statistics.json``. The summary names the CSV (same folder) and pins it by
SHA-256, so the engine refuses a reference that changed after registration.
``Constraints`` is not set for this engine: Evidently takes its tests from the report config.

Only the standard library and pydantic (see :mod:`governance.contracts`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Final, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from governance.contracts.errors import ContractError, Expect, explain

BASELINES_PREFIX: Final = "baselines/"
"""The artifacts bucket's prefix for drift-check baselines (processing role: read-write,
monitoring role: read). ``stacks.foundation_stack.BASELINES_PREFIX`` is this value (tested)."""
REFERENCE_FOLDER: Final = "reference"
REFERENCE_FILE: Final = "reference.csv"
SUMMARY_FILE: Final = "summary.json"
REFERENCE_FORMAT: Final = "governance-reference/1"
SUMMARY_CONTENT_TYPE: Final = "application/json"
"""``ContentType`` of the ``MetricsSource`` that points at the summary."""
REFERENCE_CONTENT_TYPE: Final = "text/csv"
POINTER_PATH: Final = "DriftCheckBaselines.ModelDataQuality.Statistics"
"""Where DescribeModelPackage shows the summary's location (``.S3Uri``, ``.ContentType``)."""

# A path segment written by us: SageMaker model package group names (1-63 characters, letters,
# digits and hyphens, botocore sagemaker EntityName) and pipeline execution ids (the last part of
# a PipelineExecutionArn: lowercase letters and digits) both fit; '/' never does.
_SEGMENT = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,254})")
_SHA256 = re.compile(r"[0-9a-f]{64}")

Segment = Annotated[
    str,
    StringConstraints(pattern=f"^{_SEGMENT.pattern}$"),
    Expect("letters, digits and hyphens, starting with a letter or digit, at most 255"),
]
Sha256 = Annotated[
    str,
    StringConstraints(pattern=f"^{_SHA256.pattern}$"),
    Expect("64 lowercase hexadecimal digits (a SHA-256 digest)"),
]
ColumnName = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class ColumnKind(StrEnum):
    """How the engine treats a column: Evidently's column types (``ColumnMapping``:
    numerical, categorical, text and datetime features)."""

    NUMERICAL = "numerical"
    CATEGORICAL = "categorical"
    TEXT = "text"
    DATETIME = "datetime"


class Column(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: ColumnName
    dtype: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    """The pandas dtype the snapshot was read with (``str(frame[name].dtype)``: int64, float64,
    object, bool, datetime64[ns], category, ...), so the engine reads traffic the same way."""
    kind: ColumnKind


class ReferenceSummary(BaseModel):
    """``summary.json``: what the pinned ``reference.csv`` next to it holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["governance-reference/1"] = Field(default=REFERENCE_FORMAT)
    model: Segment
    """The governed model (its model package group name)."""
    execution_id: Segment
    """The pipeline execution that wrote the snapshot."""
    columns: tuple[Column, ...] = Field(min_length=1)
    """In file order; ``reference.csv`` has a header row with exactly these names."""
    row_count: Annotated[int, Field(gt=0, strict=True)]
    """Data rows of ``reference.csv`` (the header not counted)."""
    sha256: Sha256
    """Of the bytes of ``reference.csv`` as stored."""
    label: ColumnName
    """The label column (one of ``columns``)."""
    created: Annotated[
        AwareDatetime, Expect("an ISO 8601 date and time with a timezone (2026-12-02T05:00:00Z)")
    ]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        names = [column.name for column in self.columns]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"unique column names (repeated: {', '.join(duplicates)})")
        if self.label not in names:
            raise ValueError(
                f"a label that is one of the columns (label {self.label!r} is not among "
                f"{', '.join(names)})"
            )
        return self

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def key(self, file: str = SUMMARY_FILE) -> str:
        return reference_key(self.model, self.execution_id, file)


def reference_prefix(model: str, execution_id: str) -> str:
    """``baselines/<model>/<execution id>/reference/`` (a key prefix of the artifacts bucket)."""
    for what, value in (("model", model), ("execution id", execution_id)):
        if not _SEGMENT.fullmatch(value):
            raise ContractError(
                "reference data location",
                [
                    f"{what}: got {value!r}; expected letters, digits and hyphens, starting "
                    "with a letter or digit, at most 255"
                ],
            )
    return f"{BASELINES_PREFIX}{model}/{execution_id}/{REFERENCE_FOLDER}/"


def reference_key(model: str, execution_id: str, file: str = SUMMARY_FILE) -> str:
    if file not in (REFERENCE_FILE, SUMMARY_FILE):
        raise ContractError(
            "reference data location",
            [f"file: got {file!r}; expected {REFERENCE_FILE} or {SUMMARY_FILE}"],
        )
    return reference_prefix(model, execution_id) + file


_URI = re.compile(
    rf"s3://(?P<bucket>[^/]+)/{BASELINES_PREFIX}(?P<model>[^/]+)/(?P<execution>[^/]+)/"
    rf"{REFERENCE_FOLDER}/(?P<file>[^/]+)"
)


class ReferenceLocation(BaseModel):
    """A summary's S3 URI taken apart."""

    model_config = ConfigDict(frozen=True)

    bucket: str
    model: str
    execution_id: str

    def uri(self, file: str = SUMMARY_FILE) -> str:
        return f"s3://{self.bucket}/{reference_key(self.model, self.execution_id, file)}"


def parse_location(uri: str, *, model: str | None = None) -> ReferenceLocation:
    """Where a version's ``DriftCheckBaselines.ModelDataQuality.Statistics.S3Uri`` points, if it
    is a summary under the governed layout (of ``model``, when given); ContractError otherwise."""
    expected = (
        f"s3://<bucket>/{BASELINES_PREFIX}<model>/<execution id>/{REFERENCE_FOLDER}/{SUMMARY_FILE}"
    )
    match = _URI.fullmatch(uri)
    if (
        match is None
        or match["file"] != SUMMARY_FILE
        or not _SEGMENT.fullmatch(match["model"])
        or not _SEGMENT.fullmatch(match["execution"])
    ):
        raise ContractError(
            "reference data location", [f"{POINTER_PATH}.S3Uri: got {uri!r}; expected {expected}"]
        )
    if model is not None and match["model"] != model:
        raise ContractError(
            "reference data location",
            [
                f"{POINTER_PATH}.S3Uri: got {uri!r}, a reference of model {match['model']!r}; "
                f"expected one under {BASELINES_PREFIX}{model}/"
            ],
        )
    return ReferenceLocation(
        bucket=match["bucket"], model=match["model"], execution_id=match["execution"]
    )


def parse_summary(
    value: str | bytes | Mapping[str, object], *, location: ReferenceLocation | None = None
) -> ReferenceSummary:
    """Validate ``summary.json``; with ``location``, it must describe the snapshot stored there
    (same model and execution), so a summary copied elsewhere is refused."""
    try:
        if isinstance(value, str | bytes):
            summary = ReferenceSummary.model_validate_json(value)
        else:
            summary = ReferenceSummary.model_validate(value)
    except ValidationError as error:
        raise ContractError(
            f"invalid reference summary ({REFERENCE_FORMAT})", explain(error, ReferenceSummary)
        ) from None
    if location is not None:
        problems = [
            f"field {field!r}: got {found!r}; expected {wanted!r} (the folder it is stored in)"
            for field, found, wanted in (
                ("model", summary.model, location.model),
                ("execution_id", summary.execution_id, location.execution_id),
            )
            if found != wanted
        ]
        if problems:
            raise ContractError(f"reference summary at {location.uri()}", problems)
    return summary


def drift_check_pointer(summary_uri: str) -> dict[str, str]:
    """The ``MetricsSource`` to register as ``DriftCheckBaselines.ModelDataQuality.Statistics``."""
    parse_location(summary_uri)
    return {"ContentType": SUMMARY_CONTENT_TYPE, "S3Uri": summary_uri}

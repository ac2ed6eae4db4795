"""In-memory fakes of the data-access interfaces, for tests of the handlers' decisions.

Each fake keeps what was asked of it so a test can assert on it, and behaves like its AWS
counterpart where the logic depends on it: the ledger store refuses a taken ``seq`` or a second
duplicate marker as the DynamoDB transaction does, the pipelines start one execution per token.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from governance.contracts.parameters import (
    ApprovalPolicy,
    EndpointGovernance,
    parse_endpoint_governance,
    parse_policy,
)
from governance.contracts.vocabulary import (
    ENDPOINT_PARAMETER_PREFIX,
    POLICY_PARAMETER_PREFIX,
    ApprovalStatus,
    ModelCardStatus,
)
from governance.data_access.evidence import EvidenceUnreadableError
from governance.data_access.ledger_store import AlreadyRecordedError, SeqTakenError
from governance.data_access.notifier import Alert, sns_subject
from governance.data_access.parameters import UnknownEndpointError, UnknownModelGroupError
from governance.data_access.pipelines import PipelineStart
from governance.data_access.registry import PackageUnreadableError
from governance.sagemaker import (
    ModelCardVersion,
    ModelPackage,
    MonitoringSchedule,
    PipelineExecutionStep,
    ProcessingJob,
)


@dataclass
class FakeParameters:
    policies: dict[str, Mapping[str, Any] | str] = field(default_factory=dict)
    endpoints: dict[str, Mapping[str, Any] | str] = field(default_factory=dict)
    reads: list[str] = field(default_factory=list)

    def approval_policy(self, group: str) -> ApprovalPolicy:
        name = f"{POLICY_PARAMETER_PREFIX}{group}"
        self.reads.append(name)
        if group not in self.policies:
            raise UnknownModelGroupError(f"model package group {group!r} is not governed: {name}")
        return parse_policy(self.policies[group], parameter=name, group=group)

    def endpoint(self, endpoint_name: str) -> EndpointGovernance:
        name = f"{ENDPOINT_PARAMETER_PREFIX}{endpoint_name}"
        self.reads.append(name)
        if endpoint_name not in self.endpoints:
            raise UnknownEndpointError(f"endpoint {endpoint_name!r} has no parameter {name!r}")
        return parse_endpoint_governance(
            self.endpoints[endpoint_name], parameter=name, endpoint=endpoint_name
        )


@dataclass
class FakeRegistry:
    packages: dict[str, dict[str, Any]] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)
    updates: list[tuple[str, str, str]] = field(default_factory=list)
    approver_after_update: dict[str, Any] = field(
        default_factory=lambda: {"IamIdentity": {"Arn": GATE_ROLE}}
    )

    def put(self, detail: Mapping[str, Any]) -> None:
        """Register the package a state change describes, in the state the event reports."""
        self.packages[str(detail["ModelPackageArn"])] = copy.deepcopy(dict(detail))

    def describe_package(self, arn: str) -> ModelPackage:
        if arn in self.unreadable or arn not in self.packages:
            code = self.unreadable.get(arn, "ValidationException")
            raise PackageUnreadableError(f"DescribeModelPackage {arn}: {code}", code=code)
        return ModelPackage.model_validate(self.packages[arn])

    def set_approval(self, arn: str, status: ApprovalStatus, description: str) -> None:
        self.updates.append((arn, str(status), description))
        self.packages[arn].update(
            ModelApprovalStatus=str(status),
            ApprovalDescription=description,
            LastModifiedBy=self.approver_after_update,
        )


GATE_ROLE = "arn:aws:sts::123456789012:assumed-role/governance-approval-gate-role/gate"


@dataclass
class FakeModelCards:
    versions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add_version(self, name: str, status: str, last_modified_by: Any = None) -> None:
        history = self.versions.setdefault(name, [])
        history.append(
            {
                "ModelCardName": name,
                "ModelCardVersion": len(history) + 1,
                "ModelCardStatus": status,
                "CreatedBy": {"IamIdentity": {"Arn": DEPLOYER_ROLE}},
                "LastModifiedBy": last_modified_by,
            }
        )

    def describe(self, name: str, version: int | None = None) -> ModelCardVersion | None:
        history = self.versions.get(name)
        if not history:
            return None
        chosen = history[-1] if version is None else history[version - 1]
        return ModelCardVersion.model_validate(chosen)

    def version_statuses(self, name: str) -> list[tuple[int, ModelCardStatus]]:
        return [
            (v["ModelCardVersion"], ModelCardStatus(v["ModelCardStatus"]))
            for v in self.versions.get(name, [])
        ]


DEPLOYER_ROLE = "arn:aws:sts::123456789012:assumed-role/cdk-deploy-role/AWSCloudFormation"


@dataclass
class FakeEvidence:
    documents: dict[str, object] = field(default_factory=dict)
    """URI to a decoded document, or to an exception to raise."""
    reads: list[str] = field(default_factory=list)

    def read_json(self, uri: str) -> Any:
        self.reads.append(uri)
        if uri not in self.documents:
            raise EvidenceUnreadableError(f"{uri} could not be read (NoSuchKey)")
        document = self.documents[uri]
        if isinstance(document, Exception):
            raise document
        return copy.deepcopy(document)


@dataclass
class FakeNotifier:
    alerts: list[Alert] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    failing_alerts: int = 0
    """How many of the next alerts fail, as a throttled SNS would."""
    failing_events: int = 0

    def alert(self, alert: Alert) -> None:
        if self.failing_alerts:
            self.failing_alerts -= 1
            raise RuntimeError("SNS unavailable")
        self.alerts.append(replace_subject(alert))

    def put_event(self, entry: Mapping[str, Any]) -> None:
        if self.failing_events:
            self.failing_events -= 1
            raise RuntimeError("EventBridge rejected the entry")
        self.events.append(copy.deepcopy(dict(entry)))

    @property
    def details(self) -> list[dict[str, Any]]:
        return [event["Detail"] for event in self.events]


def replace_subject(alert: Alert) -> Alert:
    # What SNS would carry: the subject as the notifier cleans it.
    return Alert(sns_subject(alert.subject), alert.message, dict(alert.attributes))


@dataclass
class FakeLedgerStore:
    """The ledger table's transaction semantics, in memory."""

    records: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    markers: dict[str, tuple[str, int]] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    before_append: Callable[[], None] | None = None
    """Runs before every transaction: lets a test play a competing writer."""
    transactions: int = 0

    def head(self, group: str) -> dict[str, Any] | None:
        chain = self.records.get(group, {})
        return copy.deepcopy(chain[max(chain)]) if chain else None

    def version_status(self, model_package_arn: str) -> str | None:
        return self.statuses.get(model_package_arn)

    def append(
        self, record: Mapping[str, Any], *, duplicate_key: str, version_status: str | None
    ) -> None:
        if self.before_append is not None:
            self.before_append()
        self.transactions += 1
        group, seq = str(record["pk"]), int(record["seq"])
        if duplicate_key in self.markers:
            raise AlreadyRecordedError(duplicate_key)
        if seq in self.records.get(group, {}):
            raise SeqTakenError(f"{group}/{seq}")
        self.records.setdefault(group, {})[seq] = copy.deepcopy(dict(record))
        self.markers[duplicate_key] = (group, seq)
        if version_status is not None:
            self.statuses[str(record["model_package_arn"])] = version_status

    def recorded(self, duplicate_key: str) -> dict[str, Any]:
        group, seq = self.markers[duplicate_key]
        return copy.deepcopy(self.records[group][seq])

    def chain(self, group: str, *, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        for seq in sorted(self.records.get(group, {})):
            yield copy.deepcopy(self.records[group][seq])


@dataclass
class FakeArchive:
    objects: dict[str, bytes] = field(default_factory=dict)
    failing_puts: int = 0

    def object_key(self, group: str, seq: int) -> str:
        return f"ledger/{group}/{seq:012d}.json"

    def has(self, key: str) -> bool:
        return key in self.objects

    def put(self, key: str, body: bytes) -> None:
        if self.failing_puts:
            self.failing_puts -= 1
            raise RuntimeError("S3 unavailable")
        self.objects[key] = body


@dataclass
class FakeMonitoringRuns:
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    executions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """``ListPipelineExecutionSteps`` answers by execution ARN (botocore's step shape)."""
    calls: list[tuple[str, str]] = field(default_factory=list)

    def describe_job(self, name: str) -> ProcessingJob:
        self.calls.append(("DescribeProcessingJob", name))
        return ProcessingJob.model_validate(self.jobs[name])

    def describe_schedule(self, name: str) -> MonitoringSchedule:
        self.calls.append(("DescribeMonitoringSchedule", name))
        return MonitoringSchedule.model_validate(self.schedules[name])

    def execution_steps(self, execution_arn: str) -> list[PipelineExecutionStep]:
        self.calls.append(("ListPipelineExecutionSteps", execution_arn))
        return [PipelineExecutionStep.model_validate(s) for s in self.executions[execution_arn]]


@dataclass
class FakePipelines:
    started: dict[str, PipelineStart] = field(default_factory=dict)
    """By client request token: SageMaker starts one execution per token."""
    requests: list[PipelineStart] = field(default_factory=list)

    def start(self, request: PipelineStart) -> str:
        self.requests.append(request)
        self.started.setdefault(request.client_request_token, request)
        pipeline = f"arn:aws:sagemaker:eu-west-1:111122223333:pipeline/{request.pipeline_name}"
        return f"{pipeline}/execution/{request.client_request_token[:12]}"

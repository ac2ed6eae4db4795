"""The deploy-time package check: refuses unless Approved and baselined, and always answers.

Requests are CloudFormation custom resource request fixtures (events/); the registry is moto's
(DescribeModelPackage) through the handler's own data access, or an in-memory fake for the
decisions; the answer is captured where the function would PUT it.
"""

from __future__ import annotations

import copy
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from cdk_constructs.monitoring import baselines as construct
from governance.contracts import vocabulary
from governance.contracts.errors import InvalidEventError
from governance.data_access.custom_resource import put_response
from governance.events import PackageBaselinesRequest, parse_event
from governance.logic import package_baselines as check
from governance.package_baselines import PackageBaselinesSettings, build_handler
from tests.conftest import boto3_session
from tests.handlers.conftest import FakeLambdaContext
from tests.handlers.fakes import FakeRegistry

EVENTS = Path(__file__).with_name("events")
ACCOUNT = "111122223333"
GROUP = "credit-default"
ALL_MONITORS = ["data_quality", "model_quality", "bias", "explainability"]


def _json_file(kind: str, content: str) -> dict[str, str]:
    return {"ContentType": "application/json", "S3Uri": f"s3://example-bank-ml/{kind}/{content}"}


FULL_BASELINES: dict[str, Any] = {
    "ModelDataQuality": {
        "Constraints": _json_file("dq", "constraints.json"),
        "Statistics": _json_file("dq", "statistics.json"),
    },
    "ModelQuality": {"Constraints": _json_file("mq", "constraints.json")},
    "Bias": {"PostTrainingConstraints": _json_file("bias", "analysis_config.json")},
    "Explainability": {"Constraints": _json_file("shap", "analysis_config.json")},
}


def request(kind: str, **properties: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{kind}.json").read_text())
    event["ResourceProperties"].update(properties)
    return event


class Registry:
    """moto's model registry with helpers to register versions."""

    def __init__(self) -> None:
        self.client = boto3_session("eu-west-1").client("sagemaker")
        self.client.create_model_package_group(ModelPackageGroupName=GROUP)

    def register(self, status: str, baselines: dict[str, Any] | None = None) -> str:
        arn: str = self.client.create_model_package(
            ModelPackageGroupName=GROUP,
            ModelApprovalStatus=status,
            InferenceSpecification={
                "Containers": [{"Image": f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/m:1"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            **({"DriftCheckBaselines": baselines} if baselines else {}),
        )["ModelPackageArn"]
        return arn

    def describe(self, arn: str) -> Any:
        return self.client.describe_model_package(ModelPackageName=arn)


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
    with mock_aws():
        yield Registry()


class Answers:
    """Where the function would PUT its answers."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def put(self, url: str, body: bytes) -> None:
        assert len(body) <= check.MAX_RESPONSE_BYTES
        self.sent.append((url, json.loads(body)))

    @property
    def only(self) -> dict[str, Any]:
        (answer,) = self.sent
        return answer[1]


def _handle(event: dict[str, Any], client: Any, answers: Answers) -> dict[str, Any]:
    """The Lambda handler with ``client`` as every boto3 client, answering into ``answers``."""
    handle = build_handler(PackageBaselinesSettings(), lambda service: client, answers)
    return handle(event, FakeLambdaContext())  # type: ignore[arg-type]


def _respond(event: dict[str, Any], registry: Registry) -> dict[str, Any]:
    answers = Answers()
    _handle(event, registry.client, answers)
    (url, body) = answers.sent[0]
    assert url == event["ResponseURL"]
    assert (body["StackId"], body["RequestId"], body["LogicalResourceId"]) == (
        event["StackId"],
        event["RequestId"],
        event["LogicalResourceId"],
    )
    return body


# -- Create / Update ------------------------------------------------------------------------


def test_approved_version_with_its_baselines_is_accepted(registry: Registry) -> None:
    # Given an approved version with every drift-check baseline
    arn = registry.register("Approved", FULL_BASELINES)
    # When CloudFormation creates the check for all four monitors
    body = _respond(request("create", ModelPackageArn=arn), registry)
    # Then it answers SUCCESS with each baseline URI under its response path
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == arn
    data = body["Data"]
    assert data["ModelApprovalStatus"] == "Approved"
    assert data["DriftCheckBaselines.ModelDataQuality.Statistics.S3Uri"] == (
        "s3://example-bank-ml/dq/statistics.json"
    )
    assert data["DriftCheckBaselines.Explainability.Constraints.S3Uri"] == (
        "s3://example-bank-ml/shap/analysis_config.json"
    )
    paths = {p for monitor in ALL_MONITORS for p in vocabulary.BASELINE_PATHS[monitor].values()}
    assert paths <= set(data)


@pytest.mark.parametrize("status", ["PendingManualApproval", "Rejected"])
def test_a_version_that_is_not_approved_is_refused_with_a_clear_reason(
    registry: Registry, status: str
) -> None:
    arn = registry.register(status, FULL_BASELINES)
    body = _respond(request("create", ModelPackageArn=arn), registry)
    assert body["Status"] == "FAILED"
    # The reason is what the stack events show
    assert body["Reason"].startswith(f"Model package {arn} is {status}, not Approved")
    assert "deployment.model_package_arn" in body["Reason"]
    assert body["Data"] == {}


def test_missing_baselines_are_named(registry: Registry) -> None:
    # Given an approved version without model-quality and explainability baselines
    partial = {k: v for k, v in FULL_BASELINES.items() if k in {"ModelDataQuality", "Bias"}}
    arn = registry.register("Approved", partial)
    body = _respond(request("create", ModelPackageArn=arn), registry)
    assert body["Status"] == "FAILED"
    assert "model_quality (DriftCheckBaselines.ModelQuality.Constraints.S3Uri)" in body["Reason"]
    assert (
        "explainability (DriftCheckBaselines.Explainability.Constraints.S3Uri)" in (body["Reason"])
    )
    assert "data_quality" not in body["Reason"]


def test_only_the_enabled_monitors_need_baselines(registry: Registry) -> None:
    arn = registry.register("Approved", {"ModelDataQuality": FULL_BASELINES["ModelDataQuality"]})
    body = _respond(request("create", ModelPackageArn=arn, MonitorTypes=["data_quality"]), registry)
    assert body["Status"] == "SUCCESS"
    assert set(body["Data"]) == {
        "ModelApprovalStatus",
        "ModelPackageArn",
        "DriftCheckBaselines.ModelDataQuality.Constraints.S3Uri",
        "DriftCheckBaselines.ModelDataQuality.Statistics.S3Uri",
    }


def test_approval_is_checked_even_without_monitors(registry: Registry) -> None:
    arn = registry.register("PendingManualApproval")
    body = _respond(request("create", ModelPackageArn=arn, MonitorTypes=[]), registry)
    assert body["Status"] == "FAILED"


def test_an_unknown_version_is_refused(registry: Registry) -> None:
    arn = f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:model-package/{GROUP}/9"
    body = _respond(request("create", ModelPackageArn=arn), registry)
    assert body["Status"] == "FAILED"
    assert f"DescribeModelPackage of {arn} failed (ValidationException" in body["Reason"]


def test_a_new_version_replaces_the_check(registry: Registry) -> None:
    registry.register("Approved", FULL_BASELINES)
    new = registry.register("Approved", FULL_BASELINES)
    event = request("update")
    assert event["ResourceProperties"]["ModelPackageArn"] == new
    body = _respond(event, registry)
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == new  # CloudFormation then deletes the old one


def test_a_refused_update_keeps_the_current_resource(registry: Registry) -> None:
    current = registry.register("Approved", FULL_BASELINES)
    registry.register("PendingManualApproval", FULL_BASELINES)
    body = _respond(request("update"), registry)
    assert body["Status"] == "FAILED"
    assert body["PhysicalResourceId"] == current


# -- Delete and bad requests ----------------------------------------------------------------------


class _NoRegistry:
    def describe_model_package(self, **request: Any) -> Any:
        raise AssertionError(f"Delete must not describe {request}")


def test_delete_succeeds_without_reading_the_registry() -> None:
    answers = Answers()
    event = request("delete")
    _handle(event, _NoRegistry(), answers)
    assert answers.only["Status"] == "SUCCESS"
    assert answers.only["PhysicalResourceId"] == event["PhysicalResourceId"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e: e["ResourceProperties"].pop("ModelPackageArn"), "ModelPackageArn"),
        (lambda e: e["ResourceProperties"].update(MonitorTypes=["drift"]), "'drift'"),
        (lambda e: e.update(RequestType="Replace"), "'Replace'"),
    ],
    ids=["no-arn", "unknown-monitor", "unknown-request-type"],
)
def test_a_malformed_request_is_still_answered(mutate: Any, message: str) -> None:
    event = request("create")
    mutate(event)
    with pytest.raises(InvalidEventError, match=message):
        parse_event(event, PackageBaselinesRequest)
    answers = Answers()
    result = _handle(event, _NoRegistry(), answers)
    assert result["status"] == "FAILED"
    assert answers.only["Status"] == "FAILED"
    # The stack events show which field is wrong, with the value and what is allowed
    assert "malformed" in answers.only["Reason"]
    assert message in answers.only["Reason"]


def test_a_malformed_delete_still_succeeds() -> None:
    # Given a Delete without its properties: a stack must always be deletable
    event = request("delete")
    del event["ResourceProperties"]
    answers = Answers()
    _handle(event, _NoRegistry(), answers)
    assert answers.only["Status"] == "SUCCESS"
    assert answers.only["PhysicalResourceId"] == event["PhysicalResourceId"]


def test_a_request_without_a_response_url_raises() -> None:
    event = request("create")
    del event["ResponseURL"]
    answers = Answers()
    with pytest.raises(InvalidEventError, match="field 'ResponseURL': got <missing>"):
        _handle(event, _NoRegistry(), answers)
    assert answers.sent == []


def test_an_oversized_answer_becomes_a_refusal() -> None:
    parsed = parse_event(request("create"), PackageBaselinesRequest)
    huge = check.Response(
        status="SUCCESS", physical_resource_id="p", data={"x": "s3://b/" + "k" * 5000}
    )
    body = json.loads(check.response_body(parsed, huge))
    assert body["Status"] == "FAILED"
    assert "larger than 4096 bytes" in body["Reason"]


# -- the Lambda entry point and the HTTPS answer ---------------------------------------------------


def test_handler_reads_the_registry_and_answers(registry: Registry) -> None:
    arn = registry.register("PendingManualApproval", FULL_BASELINES)
    answers = Answers()
    result = _handle(request("create", ModelPackageArn=arn), registry.client, answers)
    assert answers.only["Status"] == "FAILED"
    assert "not Approved" in answers.only["Reason"]
    assert result == {
        "status": "FAILED",
        "physical_resource_id": arn,
        "reason": answers.only["Reason"],
    }


# -- the decisions, on an in-memory registry ------------------------------------------------


def _fake_registry(status: str, baselines: dict[str, Any]) -> tuple[FakeRegistry, str]:
    arn = f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:model-package/{GROUP}/3"
    registry = FakeRegistry()
    registry.put(
        {
            "ModelPackageGroupName": GROUP,
            "ModelPackageVersion": 3,
            "ModelPackageArn": arn,
            "ModelApprovalStatus": status,
            "DriftCheckBaselines": baselines,
        }
    )
    return registry, arn


def test_the_check_names_each_missing_baseline_of_the_requested_monitors() -> None:
    # Given an approved version with only data-quality baselines
    registry, arn = _fake_registry(
        "Approved", {"ModelDataQuality": FULL_BASELINES["ModelDataQuality"]}
    )
    parsed = parse_event(request("create", ModelPackageArn=arn), PackageBaselinesRequest)
    # When the check decides for all four monitors
    response = check.check(parsed, registry)
    # Then it refuses naming the three missing families, keeping the requested order
    assert response.status == "FAILED"
    assert response.reason.index("model_quality") < response.reason.index("bias (")
    assert "explainability (DriftCheckBaselines.Explainability" in response.reason
    assert "data_quality (" not in response.reason


def test_an_unreadable_version_is_refused_with_the_aws_error_code() -> None:
    registry = FakeRegistry()
    arn = f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:model-package/{GROUP}/7"
    registry.unreadable[arn] = "AccessDeniedException"
    parsed = parse_event(request("create", ModelPackageArn=arn), PackageBaselinesRequest)
    response = check.check(parsed, registry)
    assert response.status == "FAILED"
    assert f"DescribeModelPackage of {arn} failed (AccessDeniedException" in response.reason


class _Recorder(http.server.BaseHTTPRequestHandler):
    received: list[tuple[str, str | None, bytes]] = []

    def do_PUT(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append((self.path, self.headers.get("Content-Type"), self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_the_answer_is_a_put_without_content_type() -> None:
    # A pre-signed S3 URL is signed without a content type; CloudFormation's own helper sends
    # an empty one. Checked against a local recorder on the loopback interface.
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    body = b'{"Status": "SUCCESS"}'
    put_response(f"http://127.0.0.1:{server.server_port}/response?sig=1", body)
    thread.join(timeout=5)
    server.server_close()
    assert _Recorder.received == [("/response?sig=1", "", body)]


# -- one table of response paths ----------------------------------------------------------------


def test_the_construct_reads_the_attributes_the_function_writes() -> None:
    # One table, defined in the contract module both sides import.
    assert construct.BASELINE_PATHS is vocabulary.BASELINE_PATHS
    assert check.BASELINE_PATHS is vocabulary.BASELINE_PATHS
    # Every monitor type and the Evidently reference have a path the construct can read.
    assert set(vocabulary.BASELINE_PATHS) == set(construct.BASELINE_KINDS)


def test_fixture_requests_carry_what_the_construct_sends() -> None:
    # The construct sends ModelPackageArn and MonitorTypes; the fixtures must too.
    for kind in ("create", "update", "delete"):
        parsed = parse_event(copy.deepcopy(request(kind)), PackageBaselinesRequest)
        assert parsed.monitor_types == tuple(ALL_MONITORS)


def test_architecture_describes_the_check_as_built() -> None:
    architecture = (Path(__file__).resolve().parents[2] / "ARCHITECTURE.md").read_text()
    # The resource type, the handler module and the timeout the construct uses are documented.
    assert f"`{construct.RESOURCE_TYPE}`" in architecture
    handler_module = construct.HANDLER.rsplit(".", 1)[0].replace(".", "/")
    assert f"`lambda/{handler_module}.py`" in architecture
    minutes = {5: "five"}[int(construct.SERVICE_TIMEOUT.to_minutes())]
    assert f"fails after {minutes} minutes (`ServiceTimeout`)" in architecture
    # Each drift-check baseline family the function requires is named.
    for family in ("ModelDataQuality", "ModelQuality", "Bias.PostTrainingConstraints"):
        assert family in architecture

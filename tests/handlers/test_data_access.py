"""The boto3 side of each data-access interface, against botocore's Stubber: every request is
checked against the real API model, and each AWS error lands where the logic expects it."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from botocore.stub import Stubber

from governance.contracts.vocabulary import ApprovalStatus, ModelCardStatus
from governance.data_access.evidence import EvidenceUnreadableError, S3EvidenceReader
from governance.data_access.model_cards import SageMakerModelCards
from governance.data_access.notifier import Alert, AwsNotifier, EventRejectedError
from governance.data_access.pipelines import PipelineStart, SageMakerPipelines
from governance.data_access.registry import PackageUnreadableError, SageMakerRegistry

from .conftest import moto_client

URI = "s3://reports/monitoring/credit-default-prod/dq/2026/11/29/14/constraint_violations.json"
OBJECT = {"Bucket": "reports", "Key": URI.removeprefix("s3://reports/")}
CARD = "credit-default"
PACKAGE = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/credit-default/1"


@pytest.fixture
def stubs() -> Iterator[dict[str, Stubber]]:
    stubbers = {name: Stubber(moto_client(name)) for name in ("s3", "sagemaker", "sns", "events")}
    for stubber in stubbers.values():
        stubber.activate()
    yield stubbers
    for stubber in stubbers.values():
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def _body(data: bytes, length: int | None = None) -> dict[str, Any]:
    return {
        "Body": StreamingBody(io.BytesIO(data), len(data)),
        "ContentLength": len(data) if length is None else length,
    }


# --- Evidence --------------------------------------------------------------------------------


def test_json_is_read_and_decoded(stubs: dict[str, Stubber]) -> None:
    stubs["s3"].add_response("get_object", _body(b'{"violations": []}'), OBJECT)
    assert S3EvidenceReader(moto_client("s3")).read_json(URI) == {"violations": []}


@pytest.mark.parametrize("code", ["AccessDenied", "NoSuchKey", "NoSuchBucket", "403"])
def test_permanent_s3_errors_make_the_evidence_unreadable(
    stubs: dict[str, Stubber], code: str
) -> None:
    stubs["s3"].add_client_error("get_object", service_error_code=code, expected_params=OBJECT)
    with pytest.raises(EvidenceUnreadableError, match=f"{URI} could not be read \\({code}\\)"):
        S3EvidenceReader(moto_client("s3")).read_json(URI)


def test_transient_s3_errors_propagate_for_a_retry(stubs: dict[str, Stubber]) -> None:
    stubs["s3"].add_client_error("get_object", service_error_code="SlowDown")
    with pytest.raises(ClientError):
        S3EvidenceReader(moto_client("s3")).read_json(URI)


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (_body(b"x" * 20, length=21), "is 21 bytes, over 20"),
        (_body(b"x" * 21, length=20), "is over 20 bytes"),
        (_body(b"\xff\xfe not text"), "is not UTF-8 text (invalid start byte)"),
        (_body(b'{"violations": '), "is not valid JSON (Expecting value at line 1 column 16)"),
    ],
)
def test_objects_that_are_not_small_json_are_unreadable(
    stubs: dict[str, Stubber], response: dict[str, Any], message: str
) -> None:
    stubs["s3"].add_response("get_object", response, OBJECT)
    with pytest.raises(EvidenceUnreadableError) as caught:
        S3EvidenceReader(moto_client("s3"), max_bytes=20).read_json(URI)
    assert str(caught.value) == f"{URI} {message}"


def test_a_uri_that_is_not_s3_is_unreadable() -> None:
    with pytest.raises(EvidenceUnreadableError, match="'https://x/y' is not an s3://bucket/key"):
        S3EvidenceReader(moto_client("s3")).read_json("https://x/y")


# --- Model cards -----------------------------------------------------------------------------

CARD_METADATA = {
    "ModelCardArn": f"arn:aws:sagemaker:eu-west-1:123456789012:model-card/{CARD}",
    "ModelCardName": CARD,
    "ModelCardVersion": 2,
    "Content": "",
    "ModelCardStatus": "Approved",
    "CreationTime": "2026-11-01T09:00:00Z",
    "CreatedBy": {},
    "LastModifiedBy": {"IamIdentity": {"Arn": "arn:aws:sts::123456789012:assumed-role/r/maria"}},
}


def test_cards_are_described_without_their_content(stubs: dict[str, Stubber]) -> None:
    # MetadataOnly: no kms:Decrypt on the card key is needed to read status and authors
    stubs["sagemaker"].add_response(
        "describe_model_card",
        CARD_METADATA,
        {"ModelCardName": CARD, "IncludedData": "MetadataOnly", "ModelCardVersion": 2},
    )
    card = SageMakerModelCards(moto_client("sagemaker")).describe(CARD, 2)
    assert card is not None
    assert card.model_card_status is ModelCardStatus.APPROVED
    assert card.last_modified_by is not None
    assert card.last_modified_by.iam_arn == "arn:aws:sts::123456789012:assumed-role/r/maria"


def test_a_missing_card_is_none(stubs: dict[str, Stubber]) -> None:
    stubs["sagemaker"].add_client_error("describe_model_card", "ResourceNotFound")
    assert SageMakerModelCards(moto_client("sagemaker")).describe(CARD) is None


def test_card_versions_are_read_across_pages(stubs: dict[str, Stubber]) -> None:
    def summary(version: int, status: str) -> dict[str, Any]:
        return {
            "ModelCardName": CARD,
            "ModelCardArn": CARD_METADATA["ModelCardArn"],
            "ModelCardStatus": status,
            "ModelCardVersion": version,
            "CreationTime": "2026-11-01T09:00:00Z",
        }

    request = {"ModelCardName": CARD, "SortBy": "Version", "SortOrder": "Ascending"}
    stubs["sagemaker"].add_response(
        "list_model_card_versions",
        {"ModelCardVersionSummaryList": [summary(1, "Draft")], "NextToken": "t"},
        request,
    )
    stubs["sagemaker"].add_response(
        "list_model_card_versions",
        {"ModelCardVersionSummaryList": [summary(2, "Approved")]},
        {**request, "NextToken": "t"},
    )
    assert SageMakerModelCards(moto_client("sagemaker")).version_statuses(CARD) == [
        (1, ModelCardStatus.DRAFT),
        (2, ModelCardStatus.APPROVED),
    ]


# --- Registry --------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["ValidationException", "AccessDeniedException"])
def test_packages_that_cannot_be_read_say_why(stubs: dict[str, Stubber], code: str) -> None:
    stubs["sagemaker"].add_client_error("describe_model_package", code)
    with pytest.raises(PackageUnreadableError, match=f"DescribeModelPackage {PACKAGE}: {code}"):
        SageMakerRegistry(moto_client("sagemaker")).describe_package(PACKAGE)


def test_throttled_package_reads_propagate(stubs: dict[str, Stubber]) -> None:
    stubs["sagemaker"].add_client_error("describe_model_package", "ThrottlingException")
    with pytest.raises(ClientError):
        SageMakerRegistry(moto_client("sagemaker")).describe_package(PACKAGE)


def test_approval_is_set_with_status_and_description(stubs: dict[str, Stubber]) -> None:
    stubs["sagemaker"].add_response(
        "update_model_package",
        {"ModelPackageArn": PACKAGE},
        {
            "ModelPackageArn": PACKAGE,
            "ModelApprovalStatus": "Rejected",
            "ApprovalDescription": "withdrawn",
        },
    )
    SageMakerRegistry(moto_client("sagemaker")).set_approval(
        PACKAGE, ApprovalStatus.REJECTED, "withdrawn"
    )


# --- Notifier and pipelines ------------------------------------------------------------------

TOPIC = "arn:aws:sns:eu-west-1:123456789012:alerts"


def _notifier() -> AwsNotifier:
    return AwsNotifier(
        sns_client=moto_client("sns"),
        events_client=moto_client("events"),
        topic_arn=TOPIC,
        bus_name="governance",
    )


def test_alerts_carry_a_clean_subject_and_their_attributes(stubs: dict[str, Stubber]) -> None:
    stubs["sns"].add_response(
        "publish",
        {"MessageId": "1"},
        {
            "TopicArn": TOPIC,
            "Subject": "?bersicht?x",
            "Message": "body",
            "MessageAttributes": {"outcome": {"DataType": "String", "StringValue": "violations"}},
        },
    )
    _notifier().alert(Alert("Übersicht\nx", "body", {"outcome": "violations"}))


def test_rejected_entries_raise_naming_the_error(stubs: dict[str, Stubber]) -> None:
    entry = {
        "Source": "sagemaker.governance",
        "DetailType": "Model Approval Verdict",
        "Detail": {"verdict": "passed"},
        "Resources": [PACKAGE],
    }
    stubs["events"].add_response(
        "put_events",
        {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "Throttled", "ErrorMessage": "slow"}]},
        {
            "Entries": [
                {**entry, "Detail": json.dumps(entry["Detail"]), "EventBusName": "governance"}
            ]
        },
    )
    with pytest.raises(EventRejectedError, match="Model Approval Verdict event on bus governance"):
        _notifier().put_event(entry)


def test_pipeline_start_is_a_valid_request(stubs: dict[str, Stubber]) -> None:
    request = PipelineStart(
        pipeline_name="credit-default-retrain",
        display_name="data-quality-violation-0123456789abcdef",
        description="Started by sagemaker.governance/monitoring-violation",
        parameters={"TriggerSource": "sagemaker.governance/monitoring-violation"},
        client_request_token="0" * 64,
    )
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:pipeline/credit-default-retrain/execution/x"
    stubs["sagemaker"].add_response(
        "start_pipeline_execution",
        {"PipelineExecutionArn": arn},
        {
            "PipelineName": request.pipeline_name,
            "PipelineExecutionDisplayName": request.display_name,
            "PipelineExecutionDescription": request.description,
            "PipelineParameters": [
                {"Name": "TriggerSource", "Value": "sagemaker.governance/monitoring-violation"}
            ],
            "ClientRequestToken": request.client_request_token,
        },
    )
    assert SageMakerPipelines(moto_client("sagemaker")).start(request) == arn

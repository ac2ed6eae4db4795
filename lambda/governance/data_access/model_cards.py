"""Model cards: a card's versions and who changed each (metadata only, no card content)."""

from __future__ import annotations

from typing import Protocol

from governance.contracts.vocabulary import ModelCardStatus
from governance.data_access.aws import AwsClient, ClientError, error_code
from governance.sagemaker import ModelCardVersion

_NOT_FOUND_CODES = frozenset({"ResourceNotFound", "ValidationException"})


class ModelCards(Protocol):
    def describe(self, name: str, version: int | None = None) -> ModelCardVersion | None:
        """The card (its latest version unless ``version``); ``None`` if it does not exist."""
        ...

    def version_statuses(self, name: str) -> list[tuple[int, ModelCardStatus]]:
        """Every version of the card with its status, in ascending version order."""
        ...


class SageMakerModelCards:
    def __init__(self, sagemaker_client: AwsClient) -> None:
        self._sagemaker = sagemaker_client

    def describe(self, name: str, version: int | None = None) -> ModelCardVersion | None:
        # MetadataOnly leaves out the content, so reading status and authors needs no
        # kms:Decrypt on the card's key (DescribeModelCard IncludedData, botocore model).
        request: dict[str, object] = {"ModelCardName": name, "IncludedData": "MetadataOnly"}
        if version is not None:
            request["ModelCardVersion"] = version
        try:
            response = self._sagemaker.describe_model_card(**request)
        except ClientError as error:
            if error_code(error) in _NOT_FOUND_CODES:
                return None
            raise
        return ModelCardVersion.model_validate(response)

    def version_statuses(self, name: str) -> list[tuple[int, ModelCardStatus]]:
        pages = self._sagemaker.get_paginator("list_model_card_versions").paginate(
            ModelCardName=name, SortBy="Version", SortOrder="Ascending"
        )
        return [
            (int(summary["ModelCardVersion"]), ModelCardStatus(summary["ModelCardStatus"]))
            for page in pages
            for summary in page.get("ModelCardVersionSummaryList", [])
        ]

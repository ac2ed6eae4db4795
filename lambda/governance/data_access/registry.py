"""The model registry: read a model package version, set its approval status."""

from __future__ import annotations

from typing import Protocol

from governance.contracts.vocabulary import ApprovalStatus
from governance.data_access.aws import AwsClient, ClientError, error_code
from governance.sagemaker import ModelPackage

# DescribeModelPackage answers ValidationException for a version that does not exist.
_UNREADABLE_CODES = frozenset({"ValidationException", "ResourceNotFound", "AccessDeniedException"})


class PackageUnreadableError(Exception):
    """The version does not exist (any more) or may not be read; retrying will not help."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code
        """The AWS error code (``ValidationException`` for a version that does not exist)."""


class ModelRegistry(Protocol):
    def describe_package(self, arn: str) -> ModelPackage:
        """``DescribeModelPackage``; PackageUnreadableError when it cannot be read."""
        ...

    def set_approval(self, arn: str, status: ApprovalStatus, description: str) -> None: ...


class SageMakerRegistry:
    def __init__(self, sagemaker_client: AwsClient) -> None:
        self._sagemaker = sagemaker_client

    def describe_package(self, arn: str) -> ModelPackage:
        try:
            response = self._sagemaker.describe_model_package(ModelPackageName=arn)
        except ClientError as error:
            code = error_code(error)
            if code in _UNREADABLE_CODES:
                raise PackageUnreadableError(
                    f"DescribeModelPackage {arn}: {code}", code=code
                ) from error
            raise
        return ModelPackage.model_validate(response)

    def set_approval(self, arn: str, status: ApprovalStatus, description: str) -> None:
        self._sagemaker.update_model_package(
            ModelPackageArn=arn,
            ModelApprovalStatus=status.value,
            ApprovalDescription=description,
        )

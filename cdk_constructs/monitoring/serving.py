"""Serve one approved model package version on a private, encrypted, data-capturing endpoint."""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct, IDependable

from cdk_constructs import plain
from cdk_constructs.encryption import IGovernanceKey
from cdk_constructs.identifiers import identifier
from cdk_constructs.instance_types import has_nvme_storage
from cdk_constructs.props import ServedModel
from cdk_constructs.storage import IGovernedBucket

# SageMaker endpoint names: alphanumerics and hyphens, at most 63 characters.
_ENDPOINT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
VARIANT_NAME = "AllTraffic"
DATA_CAPTURE_PREFIX = "endpoints"


def endpoint_name_for(model_name: str, environment: str) -> str:
    """``<model>-<environment>``, from resolved strings only (never from tokens).

    Raises ValueError when the result is not a valid SageMaker endpoint name.
    """
    name = f"{model_name}-{environment}"
    if not _ENDPOINT_NAME.fullmatch(name):
        raise ValueError(
            f"endpoint name {name!r} (model {model_name!r} + environment {environment!r}) is not "
            "a SageMaker endpoint name; allowed: letters, digits and hyphens, at most 63 "
            "characters, so shorten the model or environment name"
        )
    return name


class GovernedEndpoint(Construct):
    """A SageMaker endpoint serving ``served.model_package_arn``.

    Defaults: the model container runs with network isolation inside the given subnets and
    security group; the endpoint config encrypts the instance storage volume with
    ``storage_key`` (omitted for NVMe instance types, see below) and captures every request and
    response at ``served.data_capture_percentage`` to
    ``s3://<data capture bucket>/endpoints/<endpoint name>/``, encrypted with the data-capture
    bucket's key. Model and endpoint config get CloudFormation-generated names (they are
    replaced on change); the endpoint name is ``<model>-<environment>`` so monitors, alarms and
    people can find it.

    Nothing is granted here: ``execution_role`` is shared by every endpoint of an environment,
    so it must already read the model artifacts and write ``endpoints/*`` of the data-capture
    bucket (the foundation grants its inference role exactly that, by prefix). A grant per
    endpoint would grow a shared policy with every model.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        served: ServedModel,
        execution_role: iam.IRole,
        subnets: Sequence[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
        storage_key: IGovernanceKey,
        data_capture: IGovernedBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        identity = served.identity
        if not subnets:
            raise ValueError(f"model {identity.name!r}: subnets must name at least one subnet")
        self.served = served
        self.endpoint_name = endpoint_name_for(identity.name, served.environment)
        self.execution_role = execution_role
        self.data_capture = data_capture
        self.capture_prefix = f"{DATA_CAPTURE_PREFIX}/{self.endpoint_name}/"
        self.capture_s3_uri = data_capture.s3_uri(self.capture_prefix)
        governed = plain.tags(identity.tags())

        # Props as plain data (cdk_constructs/plain.py): the same L1s, built in Node.
        self.sagemaker_model = plain.create(
            sagemaker.CfnModel,
            self,
            "Model",
            {
                "executionRoleArn": identifier(execution_role, "role_arn"),
                "containers": [{"modelPackageName": served.model_package_arn}],
                "enableNetworkIsolation": True,
                "vpcConfig": {
                    "subnets": [identifier(subnet, "subnet_id") for subnet in subnets],
                    "securityGroupIds": [identifier(security_group, "security_group_id")],
                },
                "tags": governed,
            },
        )
        # The execution role's policy must exist before SageMaker validates the model.
        self._model_node = self.sagemaker_model.node
        self._model_node.add_dependency(execution_role)

        # SageMaker rejects a KmsKeyId for instance types with local NVMe storage: those volumes
        # are encrypted in hardware (AES-256 on the instance) and cannot use a KMS key.
        self.storage_encrypted = not has_nvme_storage(served.instance_type)
        self.endpoint_config = plain.create(
            sagemaker.CfnEndpointConfig,
            self,
            "EndpointConfig",
            {
                "kmsKeyId": storage_key.key_arn if self.storage_encrypted else None,
                "productionVariants": [
                    {
                        "variantName": VARIANT_NAME,
                        "modelName": self.sagemaker_model.attr_model_name,
                        "instanceType": served.instance_type,
                        "initialInstanceCount": served.initial_instance_count,
                        "initialVariantWeight": 1,
                    }
                ],
                "dataCaptureConfig": {
                    "enableCapture": True,
                    "initialSamplingPercentage": served.data_capture_percentage,
                    "destinationS3Uri": self.capture_s3_uri,
                    "kmsKeyId": data_capture.key.key_arn,
                    "captureOptions": [{"captureMode": "Input"}, {"captureMode": "Output"}],
                    "captureContentTypeHeader": {"csvContentTypes": ["text/csv"]},
                },
                "tags": governed,
            },
        )

        self.endpoint = plain.create(
            sagemaker.CfnEndpoint,
            self,
            "Resource",
            {
                "endpointName": self.endpoint_name,
                "endpointConfigName": self.endpoint_config.attr_endpoint_config_name,
                "tags": plain.tags(identity.governance_tags()),
            },
        )

    def serve_after(self, *dependencies: IDependable) -> None:
        """Create the served model only after ``dependencies`` (the model's node is read from
        the jsii runtime once per endpoint)."""
        self._model_node.add_dependency(*dependencies)

    @property
    def endpoint_arn(self) -> str:
        return self.endpoint.attr_endpoint_arn

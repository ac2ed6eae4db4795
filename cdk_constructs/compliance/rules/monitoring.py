"""Rules for Model Monitor and Clarify job definitions (the four monitor types)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdk_constructs.compliance.rules.framework import (
    GovernanceRule,
    Resource,
    Verdict,
    combine,
    configured,
    flag,
    is_unresolved,
    per_resource,
    verdict_of,
)
from cdk_constructs.instance_types import has_nvme_storage

# Resource type → (MonitoringType it serves, name of its output config property).
JOB_DEFINITIONS: dict[str, tuple[str, str]] = {
    "AWS::SageMaker::DataQualityJobDefinition": ("DataQuality", "DataQualityJobOutputConfig"),
    "AWS::SageMaker::ModelQualityJobDefinition": ("ModelQuality", "ModelQualityJobOutputConfig"),
    "AWS::SageMaker::ModelBiasJobDefinition": ("ModelBias", "ModelBiasJobOutputConfig"),
    "AWS::SageMaker::ModelExplainabilityJobDefinition": (
        "ModelExplainability",
        "ModelExplainabilityJobOutputConfig",
    ),
}
JOB_DEFINITION_TYPES = tuple(JOB_DEFINITIONS)


def has_local_storage(instance_type: Any) -> bool | None:
    """Does ``ml.<family>.<size>`` come with NVMe instance storage? ``None`` if unknown."""
    if instance_type is None:
        return False  # serverless variants have no instance type
    if not isinstance(instance_type, str):
        return None
    return has_nvme_storage(instance_type)


def volume_key_verdict(key: Any, instance_types: list[Any]) -> Verdict:
    """A storage volume key is required unless an instance type has hardware-encrypted storage."""
    local = [has_local_storage(t) for t in instance_types]
    if True in local:
        return Verdict.NOT_APPLICABLE
    decision = configured(key)
    if decision is False and None in local:
        return Verdict.UNDECIDABLE
    return verdict_of(decision)


# The one documented exception to network isolation: a Clarify feature-attribution job creates a
# shadow endpoint and must call it, so "the network isolation option of the SageMaker Clarify
# job must be turned off" (SageMaker developer guide, clarify-vpc; the shadow endpoint's life
# cycle is in clarify-processing-job-configure-how-it-works). Bias drift reads the captured
# predictions and needs no endpoint, so it stays isolated like the Model Monitor jobs.
SHADOW_ENDPOINT_JOB_TYPES = frozenset({"AWS::SageMaker::ModelExplainabilityJobDefinition"})


def job_network_isolated(job: Resource) -> Verdict:
    """NetworkConfig.EnableNetworkIsolation is true; a feature-attribution job may turn it off
    only while it runs in a VPC (NetworkConfig.VpcConfig with Subnets and SecurityGroupIds)."""
    isolated = flag(job.get("NetworkConfig", "EnableNetworkIsolation"))
    if job.type not in SHADOW_ENDPOINT_JOB_TYPES or isolated is not False:
        return verdict_of(isolated)
    return job_in_vpc(job)


def job_inter_container_encrypted(job: Resource) -> Verdict:
    """NetworkConfig.EnableInterContainerTrafficEncryption is true."""
    return verdict_of(flag(job.get("NetworkConfig", "EnableInterContainerTrafficEncryption")))


def job_in_vpc(job: Resource) -> Verdict:
    """NetworkConfig.VpcConfig has Subnets and SecurityGroupIds."""
    return vpc_verdict(job.get("NetworkConfig", "VpcConfig"))


def vpc_verdict(vpc: Any) -> Verdict:
    if vpc is None:
        return Verdict.NON_COMPLIANT
    if is_unresolved(vpc) or not isinstance(vpc, Mapping):
        return Verdict.UNDECIDABLE
    return combine(verdict_of(configured(vpc.get(key))) for key in ("Subnets", "SecurityGroupIds"))


def job_volume_encrypted(job: Resource) -> Verdict:
    """JobResources.ClusterConfig.VolumeKmsKeyId is set (unless the instance has NVMe storage)."""
    cluster = job.get("JobResources", "ClusterConfig")
    if is_unresolved(cluster):
        return Verdict.UNDECIDABLE
    return volume_key_verdict(
        job.get("JobResources", "ClusterConfig", "VolumeKmsKeyId"),
        [job.get("JobResources", "ClusterConfig", "InstanceType")],
    )


def job_output_encrypted(job: Resource) -> Verdict:
    """<Type>JobOutputConfig.KmsKeyId is set."""
    _, output_config = JOB_DEFINITIONS[job.type]
    return verdict_of(configured(job.get(output_config, "KmsKeyId")))


_JOBS = "Model Monitor / Clarify job definitions"
_NETWORK_CONTROLS = ("SC-7", "AC-4")

RULES = (
    GovernanceRule(
        rule_id="MJD1",
        resource_types=JOB_DEFINITION_TYPES,
        title=f"{_JOBS} run with network isolation",
        info="The monitoring job definition does not set "
        "NetworkConfig.EnableNetworkIsolation to true (a feature-attribution job definition may "
        "set it to false only while it runs in a VPC).",
        explanation="Monitoring jobs read captured inference data and ground truth; an "
        "isolated container cannot send it anywhere. The one exception is documented by AWS: a "
        "Clarify feature-attribution (ModelExplainability) job must reach the shadow endpoint it "
        "creates, so its isolation is off and it must instead run in the VPC (clarify-vpc).",
        undecidable="NetworkConfig.EnableNetworkIsolation, or a feature-attribution job's "
        "VpcConfig, is a token.",
        nist_800_53=_NETWORK_CONTROLS,
        eu_ai_act="Art. 15 (cybersecurity)",
        check=per_resource(job_network_isolated),
    ),
    GovernanceRule(
        rule_id="MJD2",
        resource_types=JOB_DEFINITION_TYPES,
        title=f"{_JOBS} encrypt inter-container traffic",
        info="The monitoring job definition does not set "
        "NetworkConfig.EnableInterContainerTrafficEncryption to true.",
        explanation="Distributed monitoring and Clarify jobs exchange data between instances; "
        "encrypting that traffic protects it in transit.",
        undecidable="NetworkConfig.EnableInterContainerTrafficEncryption is a token.",
        nist_800_53=("SC-8", "SC-8(1)"),
        check=per_resource(job_inter_container_encrypted),
    ),
    GovernanceRule(
        rule_id="MJD3",
        resource_types=JOB_DEFINITION_TYPES,
        title=f"{_JOBS} run in a VPC",
        info="The monitoring job definition has no NetworkConfig.VpcConfig with Subnets and "
        "SecurityGroupIds.",
        explanation="Running in the private VPC keeps data access on VPC endpoints under the "
        "platform's network controls.",
        undecidable="NetworkConfig.VpcConfig is conditional.",
        nist_800_53=_NETWORK_CONTROLS,
        check=per_resource(job_in_vpc),
    ),
    GovernanceRule(
        rule_id="MJD4",
        resource_types=JOB_DEFINITION_TYPES,
        title=f"{_JOBS} encrypt their storage volume with a KMS key",
        info="The monitoring job definition has no JobResources.ClusterConfig.VolumeKmsKeyId "
        "(and its instance type has no hardware-encrypted NVMe storage).",
        explanation="The job's volume holds copies of captured inference data.",
        undecidable="The volume key is missing and the instance type is a token, so it cannot "
        "be told whether the instance has hardware-encrypted NVMe storage.",
        nist_800_53=("SC-28", "SC-12"),
        check=per_resource(job_volume_encrypted),
    ),
    GovernanceRule(
        rule_id="MJD5",
        resource_types=JOB_DEFINITION_TYPES,
        title=f"{_JOBS} encrypt their output with a KMS key",
        info="The monitoring job definition's <Type>JobOutputConfig has no KmsKeyId.",
        explanation="Monitoring reports and constraint violations are model-risk evidence; a "
        "customer managed key keeps access to them reviewable.",
        undecidable="<Type>JobOutputConfig.KmsKeyId is conditional.",
        nist_800_53=("SC-28", "SC-12"),
        check=per_resource(job_output_encrypted),
    ),
)

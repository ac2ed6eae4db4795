"""Monitoring job definition rules (MJD1-5), on each of the four job definition types."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sagemaker as sagemaker

from tests.compliance_rules import builders as b


def _clarify_jobs(scope: cdk.Stack) -> None:
    """A compliant and an all-wrong bias and explainability job (the Clarify image)."""
    for secure in (True, False):
        key = b.KEY if secure else None
        bias = sagemaker.CfnModelBiasJobDefinition
        bias(
            scope,
            "Bias" if secure else "OpenBias",
            role_arn=b.ROLE,
            model_bias_app_specification=bias.ModelBiasAppSpecificationProperty(
                config_uri="s3://config/analysis.json", image_uri=b.IMAGE
            ),
            model_bias_job_input=bias.ModelBiasJobInputProperty(
                ground_truth_s3_input=bias.MonitoringGroundTruthS3InputProperty(s3_uri="s3://gt"),
                endpoint_input=bias.EndpointInputProperty(
                    endpoint_name="endpoint", local_path="/opt/ml/processing/input"
                ),
            ),
            model_bias_job_output_config=bias.MonitoringOutputConfigProperty(
                kms_key_id=key,
                monitoring_outputs=[
                    bias.MonitoringOutputProperty(
                        s3_output=bias.S3OutputProperty(local_path="/out", s3_uri="s3://r/bias")
                    )
                ],
            ),
            job_resources=bias.MonitoringResourcesProperty(
                cluster_config=bias.ClusterConfigProperty(
                    instance_count=1,
                    instance_type="ml.m5.xlarge",
                    volume_size_in_gb=20,
                    volume_kms_key_id=key,
                )
            ),
            network_config=bias.NetworkConfigProperty(
                enable_network_isolation=secure,
                enable_inter_container_traffic_encryption=secure,
                vpc_config=bias.VpcConfigProperty(
                    security_group_ids=b.SECURITY_GROUPS, subnets=b.SUBNETS
                )
                if secure
                else None,
            ),
        )
        explain = sagemaker.CfnModelExplainabilityJobDefinition
        explain(
            scope,
            "Explainability" if secure else "OpenExplainability",
            role_arn=b.ROLE,
            model_explainability_app_specification=explain.ModelExplainabilityAppSpecificationProperty(
                config_uri="s3://config/analysis.json", image_uri=b.IMAGE
            ),
            model_explainability_job_input=explain.ModelExplainabilityJobInputProperty(
                endpoint_input=explain.EndpointInputProperty(
                    endpoint_name="endpoint", local_path="/opt/ml/processing/input"
                ),
            ),
            model_explainability_job_output_config=explain.MonitoringOutputConfigProperty(
                kms_key_id=key,
                monitoring_outputs=[
                    explain.MonitoringOutputProperty(
                        s3_output=explain.S3OutputProperty(local_path="/out", s3_uri="s3://r/x")
                    )
                ],
            ),
            job_resources=explain.MonitoringResourcesProperty(
                cluster_config=explain.ClusterConfigProperty(
                    instance_count=1,
                    instance_type="ml.m5.xlarge",
                    volume_size_in_gb=20,
                    volume_kms_key_id=key,
                )
            ),
            network_config=explain.NetworkConfigProperty(
                enable_network_isolation=secure,
                enable_inter_container_traffic_encryption=secure,
                vpc_config=explain.VpcConfigProperty(
                    security_group_ids=b.SECURITY_GROUPS, subnets=b.SUBNETS
                )
                if secure
                else None,
            ),
        )


def _model_quality_jobs(scope: cdk.Stack) -> None:
    mq = sagemaker.CfnModelQualityJobDefinition
    for secure in (True, False):
        key = b.KEY if secure else None
        mq(
            scope,
            "ModelQuality" if secure else "OpenModelQuality",
            role_arn=b.ROLE,
            model_quality_app_specification=mq.ModelQualityAppSpecificationProperty(
                image_uri=b.IMAGE, problem_type="BinaryClassification"
            ),
            model_quality_job_input=mq.ModelQualityJobInputProperty(
                ground_truth_s3_input=mq.MonitoringGroundTruthS3InputProperty(s3_uri="s3://gt"),
                endpoint_input=mq.EndpointInputProperty(
                    endpoint_name="endpoint", local_path="/opt/ml/processing/input"
                ),
            ),
            model_quality_job_output_config=mq.MonitoringOutputConfigProperty(
                kms_key_id=key,
                monitoring_outputs=[
                    mq.MonitoringOutputProperty(
                        s3_output=mq.S3OutputProperty(local_path="/out", s3_uri="s3://r/mq")
                    )
                ],
            ),
            job_resources=mq.MonitoringResourcesProperty(
                cluster_config=mq.ClusterConfigProperty(
                    instance_count=1,
                    instance_type="ml.m5.xlarge",
                    volume_size_in_gb=20,
                    volume_kms_key_id=key,
                )
            ),
            network_config=mq.NetworkConfigProperty(
                enable_network_isolation=secure,
                enable_inter_container_traffic_encryption=secure,
                vpc_config=mq.VpcConfigProperty(
                    security_group_ids=b.SECURITY_GROUPS, subnets=b.SUBNETS
                )
                if secure
                else None,
            ),
        )


@pytest.fixture(scope="module")
def findings() -> b.Findings:
    # Given
    app = cdk.App()
    jobs = cdk.Stack(app, "Jobs")
    b.data_quality_job(jobs, "DataQuality")
    b.data_quality_job(jobs, "NotIsolated", isolated=False)
    b.data_quality_job(jobs, "PlainTraffic", encrypt_traffic=False)
    b.data_quality_job(jobs, "NoVpc", vpc=False)
    b.data_quality_job(jobs, "PlainVolume", volume_key=None)
    b.data_quality_job(jobs, "NvmeVolume", volume_key=None, instance_type="ml.m5d.xlarge")
    b.data_quality_job(jobs, "PlainOutput", output_key=None)
    _model_quality_jobs(jobs)
    _clarify_jobs(jobs)
    # When
    return b.run_pack(app)


_SECURE_OPEN = [
    ("Jobs/ModelQuality", "Jobs/OpenModelQuality"),
    ("Jobs/Bias", "Jobs/OpenBias"),
    ("Jobs/Explainability", "Jobs/OpenExplainability"),
]
CASES = [
    ("MJD1", "Jobs/DataQuality", "Jobs/NotIsolated"),
    ("MJD2", "Jobs/DataQuality", "Jobs/PlainTraffic"),
    ("MJD3", "Jobs/DataQuality", "Jobs/NoVpc"),
    ("MJD4", "Jobs/DataQuality", "Jobs/PlainVolume"),
    ("MJD4", "Jobs/NvmeVolume", "Jobs/PlainVolume"),
    ("MJD5", "Jobs/DataQuality", "Jobs/PlainOutput"),
    *(
        (rule_id, secure, open_)
        for rule_id in ("MJD1", "MJD2", "MJD3", "MJD4", "MJD5")
        for secure, open_ in _SECURE_OPEN
    ),
]


@pytest.mark.parametrize(("rule_id", "compliant", "non_compliant"), CASES)
def test_rule_flags_only_the_non_compliant_resource(
    findings: b.Findings, rule_id: str, compliant: str, non_compliant: str
) -> None:
    # Then
    assert non_compliant in b.flagged(findings, rule_id)
    assert compliant not in b.flagged(findings, rule_id) | b.undecided(findings, rule_id)


def test_no_undecidable_findings_for_literal_values(findings: b.Findings) -> None:
    assert [rule for rule in findings if rule.endswith("[Undecidable]")] == []

"""Minimal L1 resources for governance rule tests, compliant unless told otherwise."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from cdk_constructs import tags
from cdk_constructs.compliance.governance_pack import GovernanceChecks, PackReport
from cdk_constructs.compliance.rules import PACK_NAME, RULES, UNDECIDABLE_FINDING, GovernanceRule

KEY = "arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-3333-4444-555555555555"
DLQ = "arn:aws:sqs:eu-west-1:111111111111:governance-dlq"
TARGET = "arn:aws:lambda:eu-west-1:111111111111:function:approval-gate"
SUBNETS = ["subnet-0123456789abcdef0"]
SECURITY_GROUPS = ["sg-0123456789abcdef0"]
ROLE = "arn:aws:iam::111111111111:role/monitoring"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-model-monitor-analyzer"
STATE_CHANGE = "SageMaker Model Package State Change"

Findings = dict[str, set[str]]


def check(app: cdk.App, rules: Iterable[GovernanceRule] = RULES) -> PackReport:
    """Synthesize ``app`` (no plugins registered) and run the pack on its templates."""
    return GovernanceChecks(rules=rules).check_assembly(app.synth().directory)


def run_pack(app: cdk.App) -> Findings:
    """Run the pack on the app's templates: ruleName → violating construct paths."""
    return findings_of(check(app))


def findings_of(report: PackReport) -> Findings:
    return {
        v.rule_name: {r.construct_path for r in v.violating_resources if r.construct_path}
        for v in report.violations
    }


def flagged(findings: Findings, rule_id: str) -> set[str]:
    return findings.get(f"{PACK_NAME}-{rule_id}", set())


def undecided(findings: Findings, rule_id: str) -> set[str]:
    return findings.get(f"{PACK_NAME}-{rule_id}[{UNDECIDABLE_FINDING}]", set())


def model_tags(
    model: str | None, *, owner: str | None = "team-a", tier: str | None = "high", **extra: str
) -> list[cdk.CfnTag]:
    values = {tags.MODEL: model, tags.OWNER: owner, tags.RISK_TIER: tier, **extra}
    return [cdk.CfnTag(key=k, value=v) for k, v in values.items() if v is not None]


def retain(resource: cdk.CfnResource) -> cdk.CfnResource:
    resource.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
    return resource


def group(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    model: str | None = None,
    tag_list: list[cdk.CfnTag] | None = None,
    retained: bool = True,
    policy: Any = None,
) -> sagemaker.CfnModelPackageGroup:
    resource = sagemaker.CfnModelPackageGroup(
        scope,
        construct_id,
        model_package_group_name=name,
        model_package_group_policy=policy,
        tags=tag_list if tag_list is not None else model_tags(model or name),
    )
    if retained:
        retain(resource)
    return resource


def card(
    scope: Construct, construct_id: str, *, model: Any, key: str | None = KEY
) -> sagemaker.CfnModelCard:
    return sagemaker.CfnModelCard(
        scope,
        construct_id,
        model_card_name=f"{construct_id.lower()}-card",
        model_card_status="Draft",
        content=sagemaker.CfnModelCard.ContentProperty(
            model_overview=sagemaker.CfnModelCard.ModelOverviewProperty(
                model_description="Scores loan applications."
            )
        ),
        security_config=sagemaker.CfnModelCard.SecurityConfigProperty(kms_key_id=key)
        if key
        else None,
        tags=[cdk.CfnTag(key=tags.MODEL, value=model)],
    )


def target(*, dlq: str | None = DLQ, index: int = 0) -> events.CfnRule.TargetProperty:
    return events.CfnRule.TargetProperty(
        arn=TARGET,
        id=f"Target{index}",
        dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=dlq) if dlq else None,
        retry_policy=events.CfnRule.RetryPolicyProperty(maximum_retry_attempts=8),
    )


def state_change_rule(
    scope: Construct,
    construct_id: str,
    *,
    names: Any = None,
    targets: Any = None,
    state: str | None = None,
    detail_type: str = STATE_CHANGE,
) -> events.CfnRule:
    pattern: dict[str, Any] = {"source": ["aws.sagemaker"], "detail-type": [detail_type]}
    if names is not None:
        pattern["detail"] = {"ModelPackageGroupName": names}
    return events.CfnRule(
        scope,
        construct_id,
        event_pattern=pattern,
        state=state,
        targets=targets if targets is not None else [target()],
    )


def model(
    scope: Construct, construct_id: str, *, isolated: Any = True, vpc: bool = True
) -> sagemaker.CfnModel:
    return sagemaker.CfnModel(
        scope,
        construct_id,
        execution_role_arn=ROLE,
        primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(image=IMAGE),
        enable_network_isolation=isolated,
        vpc_config=sagemaker.CfnModel.VpcConfigProperty(
            subnets=SUBNETS, security_group_ids=SECURITY_GROUPS
        )
        if vpc
        else None,
    )


def endpoint_config(
    scope: Construct,
    construct_id: str,
    *,
    instance_type: str = "ml.m5.large",
    key: str | None = KEY,
    capture: bool = True,
    capture_key: str | None = KEY,
    capture_modes: tuple[str, ...] = ("Input", "Output"),
    enable_capture: Any = True,
) -> sagemaker.CfnEndpointConfig:
    data_capture = sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
        capture_options=[
            sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode=m) for m in capture_modes
        ],
        destination_s3_uri="s3://capture-bucket/capture",
        initial_sampling_percentage=100,
        enable_capture=enable_capture,
        kms_key_id=capture_key,
    )
    return sagemaker.CfnEndpointConfig(
        scope,
        construct_id,
        production_variants=[
            sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name="AllTraffic",
                model_name="model",
                initial_instance_count=1,
                instance_type=instance_type,
            )
        ],
        kms_key_id=key,
        data_capture_config=data_capture if capture else None,
    )


def endpoint(
    scope: Construct,
    construct_id: str,
    *,
    model: str | None,
    tier: str | None = None,
    name: str | None = None,
) -> sagemaker.CfnEndpoint:
    endpoint_tags = [] if model is None else model_tags(model, tier=tier)
    return sagemaker.CfnEndpoint(
        scope,
        construct_id,
        endpoint_config_name="config",
        endpoint_name=name,
        tags=endpoint_tags,
    )


def schedule(
    scope: Construct,
    construct_id: str,
    *,
    endpoint_name: Any,
    monitoring_type: str | None,
    job_definition_name: str = "job-definition",
    model: str | None = None,
) -> sagemaker.CfnMonitoringSchedule:
    return sagemaker.CfnMonitoringSchedule(
        scope,
        construct_id,
        endpoint_name=endpoint_name,
        monitoring_schedule_name=f"{construct_id.lower()}-schedule",
        monitoring_schedule_config=sagemaker.CfnMonitoringSchedule.MonitoringScheduleConfigProperty(
            monitoring_type=monitoring_type,
            monitoring_job_definition_name=job_definition_name,
            schedule_config=sagemaker.CfnMonitoringSchedule.ScheduleConfigProperty(
                schedule_expression="cron(0 * ? * * *)"
            ),
        ),
        tags=[cdk.CfnTag(key=tags.MODEL, value=model)] if model else None,
    )


def monitors(scope: Construct, prefix: str, target: sagemaker.CfnEndpoint, *kinds: str) -> None:
    for kind in kinds:
        schedule(
            scope,
            f"{prefix}{kind}",
            endpoint_name=target.attr_endpoint_name,
            monitoring_type=kind,
        )


def data_quality_job(
    scope: Construct,
    construct_id: str,
    *,
    isolated: Any = True,
    encrypt_traffic: Any = True,
    vpc: bool = True,
    volume_key: str | None = KEY,
    output_key: str | None = KEY,
    instance_type: Any = "ml.m5.xlarge",
    name: str | None = None,
) -> sagemaker.CfnDataQualityJobDefinition:
    jd = sagemaker.CfnDataQualityJobDefinition
    return jd(
        scope,
        construct_id,
        job_definition_name=name,
        role_arn=ROLE,
        data_quality_app_specification=jd.DataQualityAppSpecificationProperty(image_uri=IMAGE),
        data_quality_job_input=jd.DataQualityJobInputProperty(
            endpoint_input=jd.EndpointInputProperty(
                endpoint_name="endpoint", local_path="/opt/ml/processing/input"
            )
        ),
        data_quality_job_output_config=jd.MonitoringOutputConfigProperty(
            kms_key_id=output_key,
            monitoring_outputs=[
                jd.MonitoringOutputProperty(
                    s3_output=jd.S3OutputProperty(
                        local_path="/opt/ml/processing/output", s3_uri="s3://reports/dq"
                    )
                )
            ],
        ),
        job_resources=jd.MonitoringResourcesProperty(
            cluster_config=jd.ClusterConfigProperty(
                instance_count=1,
                instance_type=instance_type,
                volume_size_in_gb=20,
                volume_kms_key_id=volume_key,
            )
        ),
        network_config=jd.NetworkConfigProperty(
            enable_network_isolation=isolated,
            enable_inter_container_traffic_encryption=encrypt_traffic,
            vpc_config=jd.VpcConfigProperty(security_group_ids=SECURITY_GROUPS, subnets=SUBNETS)
            if vpc
            else None,
        ),
    )


def ledger_table(
    scope: Construct,
    construct_id: str,
    *,
    component: str | None = "audit-ledger",
    pitr: Any = True,
    protected: Any = True,
    retained: bool = True,
) -> dynamodb.CfnTable:
    table_tags = [cdk.CfnTag(key=tags.MANAGED_BY, value=tags.MANAGED_BY_VALUE)]
    if component:
        table_tags.append(cdk.CfnTag(key="governance:component", value=component))
    table = dynamodb.CfnTable(
        scope,
        construct_id,
        key_schema=[dynamodb.CfnTable.KeySchemaProperty(attribute_name="pk", key_type="HASH")],
        attribute_definitions=[
            dynamodb.CfnTable.AttributeDefinitionProperty(attribute_name="pk", attribute_type="S")
        ],
        billing_mode="PAY_PER_REQUEST",
        point_in_time_recovery_specification=dynamodb.CfnTable.PointInTimeRecoverySpecificationProperty(
            point_in_time_recovery_enabled=pitr
        ),
        deletion_protection_enabled=protected,
        tags=table_tags,
    )
    if retained:
        retain(table)
    return table


def trail(scope: Construct, construct_id: str, *, validation: Any) -> cloudtrail.CfnTrail:
    return cloudtrail.CfnTrail(
        scope,
        construct_id,
        is_logging=True,
        s3_bucket_name="audit-trail-bucket",
        enable_log_file_validation=validation,
    )

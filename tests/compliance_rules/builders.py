"""Minimal L1 resources for governance rule tests, compliant unless told otherwise."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
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
    model: str | None,
    *,
    owner: str | None = "team-a",
    tier: str | None = "high",
    classification: str | None = "confidential",
    **extra: str,
) -> list[cdk.CfnTag]:
    values = {
        tags.MODEL: model,
        tags.OWNER: owner,
        tags.RISK_TIER: tier,
        tags.DATA_CLASSIFICATION: classification,
        **extra,
    }
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
    sampling: Any = 100,
    model_name: Any = "model",
    tag_list: list[cdk.CfnTag] | None = None,
) -> sagemaker.CfnEndpointConfig:
    data_capture = sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
        capture_options=[
            sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode=m) for m in capture_modes
        ],
        destination_s3_uri="s3://capture-bucket/capture",
        initial_sampling_percentage=sampling,
        enable_capture=enable_capture,
        kms_key_id=capture_key,
    )
    return sagemaker.CfnEndpointConfig(
        scope,
        construct_id,
        production_variants=[
            sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name="AllTraffic",
                model_name=model_name,
                initial_instance_count=1,
                instance_type=instance_type,
            )
        ],
        kms_key_id=key,
        data_capture_config=data_capture if capture else None,
        tags=tag_list,
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
    status: str | None = None,
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
        monitoring_schedule_status=status,
    )


def monitors(
    scope: Construct,
    prefix: str,
    target: sagemaker.CfnEndpoint,
    *kinds: str,
    model: str | None = None,
) -> None:
    for kind in kinds:
        schedule(
            scope,
            f"{prefix}{kind}",
            endpoint_name=target.attr_endpoint_name,
            monitoring_type=kind,
            model=model,
        )


def package_arn(group_name: str, version: int = 1) -> str:
    return f"arn:aws:sagemaker:eu-west-1:111111111111:model-package/{group_name}/{version}"


def served_endpoint(
    scope: Construct,
    prefix: str,
    *,
    package: str,
    model: str | None,
    sampling: Any = 100,
) -> sagemaker.CfnEndpoint:
    """A model of ``package`` behind a config and an endpoint, wired by references, each
    tagged ``governance:model=<model>`` (untagged when ``model`` is ``None``)."""
    tag_list = [cdk.CfnTag(key=tags.MODEL, value=model)] if model else None
    served = sagemaker.CfnModel(
        scope,
        f"{prefix}Model",
        execution_role_arn=ROLE,
        containers=[sagemaker.CfnModel.ContainerDefinitionProperty(model_package_name=package)],
        enable_network_isolation=True,
        vpc_config=sagemaker.CfnModel.VpcConfigProperty(
            subnets=SUBNETS, security_group_ids=SECURITY_GROUPS
        ),
        tags=tag_list,
    )
    config = endpoint_config(
        scope,
        f"{prefix}Config",
        model_name=served.attr_model_name,
        sampling=sampling,
        tag_list=tag_list,
    )
    return sagemaker.CfnEndpoint(
        scope,
        f"{prefix}Endpoint",
        endpoint_config_name=config.attr_endpoint_config_name,
        tags=tag_list,
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
    endpoint_name: Any = "endpoint",
    model: str | None = None,
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
                endpoint_name=endpoint_name, local_path="/opt/ml/processing/input"
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
        tags=[cdk.CfnTag(key=tags.MODEL, value=model)] if model else None,
    )


def ledger_table(
    scope: Construct,
    construct_id: str,
    *,
    component: str | None = "audit-ledger",
    pitr: Any = True,
    protected: Any = True,
    retained: bool = True,
    key: Any = "ours",
) -> dynamodb.CfnTable:
    """``key``: "ours" (a KMS key of the stack), "aws-managed" (SSE on, no key), "aws-owned"
    (no SSESpecification), or a key id/ARN/alias."""
    table_tags = [cdk.CfnTag(key=tags.MANAGED_BY, value=tags.MANAGED_BY_VALUE)]
    if component:
        table_tags.append(cdk.CfnTag(key="governance:component", value=component))
    if key == "ours":
        key = kms.CfnKey(scope, f"{construct_id}Key", enable_key_rotation=True).attr_arn
    sse = None
    if key == "aws-managed":
        sse = dynamodb.CfnTable.SSESpecificationProperty(sse_enabled=True)
    elif key != "aws-owned":
        sse = dynamodb.CfnTable.SSESpecificationProperty(
            sse_enabled=True, sse_type="KMS", kms_master_key_id=key
        )
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
        sse_specification=sse,
        tags=table_tags,
    )
    if retained:
        retain(table)
    return table


def trail(
    scope: Construct,
    construct_id: str,
    *,
    validation: Any,
    logging: Any = True,
    bucket: Any = "audit-trail-bucket",
) -> cloudtrail.CfnTrail:
    return cloudtrail.CfnTrail(
        scope,
        construct_id,
        is_logging=logging,
        s3_bucket_name=bucket,
        enable_log_file_validation=validation,
    )


ASSUME_LAMBDA = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def managed_policy(
    scope: Construct, construct_id: str, *, name: str | None = None
) -> iam.CfnManagedPolicy:
    return iam.CfnManagedPolicy(
        scope,
        construct_id,
        managed_policy_name=name,
        policy_document={
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": "iam:CreateRole", "Resource": "*"}],
        },
    )


def role(scope: Construct, construct_id: str, *, boundary: Any = None) -> iam.CfnRole:
    return iam.CfnRole(
        scope,
        construct_id,
        assume_role_policy_document=ASSUME_LAMBDA,
        permissions_boundary=boundary,
    )


def raw_role(scope: Construct, construct_id: str) -> cdk.CfnResource:
    """A role the way CDK's CustomResourceProvider writes it: a plain CfnResource."""
    return cdk.CfnResource(
        scope,
        construct_id,
        type="AWS::IAM::Role",
        properties={"AssumeRolePolicyDocument": ASSUME_LAMBDA},
    )


def function(
    scope: Construct,
    construct_id: str,
    *,
    dlq: Any = DLQ,
    tracing: str | None = "Active",
    variables: dict[str, Any] | None = None,
) -> lambda_.CfnFunction:
    return lambda_.CfnFunction(
        scope,
        construct_id,
        code=lambda_.CfnFunction.CodeProperty(zip_file="def handler(event, context): pass"),
        handler="index.handler",
        runtime="python3.13",
        role=ROLE,
        dead_letter_config=lambda_.CfnFunction.DeadLetterConfigProperty(target_arn=dlq)
        if dlq
        else None,
        tracing_config=lambda_.CfnFunction.TracingConfigProperty(mode=tracing) if tracing else None,
        environment=lambda_.CfnFunction.EnvironmentProperty(variables=variables)
        if variables
        else None,
    )


def invoked_by(
    scope: Construct, construct_id: str, target: lambda_.CfnFunction, principal: str
) -> lambda_.CfnPermission:
    return lambda_.CfnPermission(
        scope,
        construct_id,
        action="lambda:InvokeFunction",
        function_name=target.attr_arn,
        principal=principal,
    )


def invoke_config(
    scope: Construct,
    construct_id: str,
    target: lambda_.CfnFunction,
    *,
    retries: int | None = 2,
    on_failure: str | None = None,
) -> lambda_.CfnEventInvokeConfig:
    return lambda_.CfnEventInvokeConfig(
        scope,
        construct_id,
        function_name=target.ref,
        qualifier="$LATEST",
        maximum_retry_attempts=retries,
        destination_config=lambda_.CfnEventInvokeConfig.DestinationConfigProperty(
            on_failure=lambda_.CfnEventInvokeConfig.OnFailureProperty(destination=on_failure)
        )
        if on_failure
        else None,
    )


def subscription(
    scope: Construct, construct_id: str, *, dlq: str | None = DLQ, delivery_policy: Any = None
) -> sns.CfnSubscription:
    return sns.CfnSubscription(
        scope,
        construct_id,
        protocol="email",
        endpoint="model-risk@example.com",
        topic_arn="arn:aws:sns:eu-west-1:111111111111:governance-alerts",
        redrive_policy={"deadLetterTargetArn": dlq} if dlq else None,
        delivery_policy=delivery_policy,
    )


def audit_bucket(
    scope: Construct,
    construct_id: str,
    *,
    locked: bool = True,
    mode: str = "COMPLIANCE",
    days: int | None = 2555,
    years: int | None = None,
    algorithm: str = "aws:kms",
    key: Any = None,
) -> s3.CfnBucket:
    """A bucket as an audit bucket is declared; ``key`` defaults to a KMS key of the stack."""
    if key is None and algorithm.startswith("aws:kms"):
        key = kms.CfnKey(scope, f"{construct_id}Key", enable_key_rotation=True).attr_arn
    return s3.CfnBucket(
        scope,
        construct_id,
        object_lock_enabled=locked,
        object_lock_configuration=s3.CfnBucket.ObjectLockConfigurationProperty(
            object_lock_enabled="Enabled",
            rule=s3.CfnBucket.ObjectLockRuleProperty(
                default_retention=s3.CfnBucket.DefaultRetentionProperty(
                    mode=mode, days=days, years=years
                )
            ),
        )
        if locked
        else None,
        bucket_encryption=s3.CfnBucket.BucketEncryptionProperty(
            server_side_encryption_configuration=[
                s3.CfnBucket.ServerSideEncryptionRuleProperty(
                    server_side_encryption_by_default=s3.CfnBucket.ServerSideEncryptionByDefaultProperty(
                        sse_algorithm=algorithm, kms_master_key_id=key
                    )
                )
            ]
        ),
    )

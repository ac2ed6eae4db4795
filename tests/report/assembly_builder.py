"""A hand-written cloud assembly for the report's edge cases (intrinsics in odd places,
unpriced instance types, plugin reports the app does not produce today).

Shapes follow the CloudFormation resource reference (AWS::SageMaker::*, AWS::CloudWatch::Alarm,
AWS::Events::Rule, AWS::SSM::Parameter) and what ``cdk synth`` writes: manifest.json, one
template per stack, validation-report.json as cdk-nag 3 plugins report it, and the app's
governance-inventory.json (models live under ``<stack>/<model name>/``). What the app really
synthesizes is tested on its own templates (tests/report/test_synthesized_report.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from governance_report.inventory import (
    Inventory,
    InventoryEnvironment,
    InventoryModel,
    InventoryResource,
    concern_of,
    write_inventory,
)

FOUNDATION = "acme-prod-foundation"
MODELS = "acme-prod-models-1"
HOME = "111122223333"
CONSUMER = "444455556666"
KEY = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
TOPIC = {"Fn::ImportValue": "acme-prod-foundation:AlertsTopicArn"}
SCRIPT_REASON = "Shared by the central events account <script>alert('x')</script> for now."
ACK_REASON_IAM = "Wildcard limited to the monitoring prefix; each job writes under its own key."
ACK_REASON_S3 = "Replication is handled by the backup account's organisation-wide AWS Backup plan."
MPG5_REASON = "The state-change rule for this group lives in the central events account."
GOVERNANCE_RULES = ["Governance-MPG1", "Governance-MPG5", "Governance-MC1", "Governance-EP1"]


def tags(model: str, **extra: str) -> list[dict[str, Any]]:
    values = {"governance:model": model, **extra}
    return [{"Key": k, "Value": v} for k, v in values.items()]


def resource(
    cfn_type: str, path: str, properties: dict[str, Any], **attributes: Any
) -> dict[str, Any]:
    return {
        "Type": cfn_type,
        "Properties": properties,
        **attributes,
        "Metadata": {"aws:cdk:path": path},
    }


def policy(model: str, evidence: list[str], thresholds: dict[str, Any]) -> str:
    return json.dumps(
        {
            "model_name": model,
            "model_package_group_name": model,
            "model_card_name": model,
            "risk_tier": "high",
            "required_evidence": evidence,
            "on_failure": "Rejected",
            "bias_thresholds": thresholds,
            "bias_facet": None,
        }
    )


def job_definition(
    cfn_type: str, path: str, *, instance_type: str, count: int, runtime: int | None
) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "RoleArn": {"Fn::ImportValue": "acme-prod-foundation:MonitoringRoleArn"},
        "JobResources": {
            "ClusterConfig": {
                "InstanceCount": count,
                "InstanceType": instance_type,
                "VolumeSizeInGB": 20,
                "VolumeKmsKeyId": KEY,
            }
        },
        "NetworkConfig": {"EnableNetworkIsolation": True},
    }
    if runtime is not None:
        properties["StoppingCondition"] = {"MaxRuntimeInSeconds": runtime}
    return resource(cfn_type, path, properties)


def schedule(path: str, model: str, job: str, kind: str, cron: str) -> dict[str, Any]:
    return resource(
        "AWS::SageMaker::MonitoringSchedule",
        path,
        {
            "MonitoringScheduleName": f"{model}-{kind.lower()}",
            "MonitoringScheduleConfig": {
                "MonitoringJobDefinitionName": {"Fn::GetAtt": [job, "JobDefinitionName"]},
                "MonitoringType": kind,
                "ScheduleConfig": {"ScheduleExpression": cron},
            },
            "Tags": tags(model, **{"governance:monitor-type": kind}),
        },
    )


def models_template() -> dict[str, Any]:
    m = MODELS
    credit = "credit-default"
    churn = "churn-propensity"
    owner = {"governance:owner": "credit-risk-analytics", "governance:risk-tier": "high"}
    resources = {
        # ---- credit-default: shared read-only with a consumer account, fully monitored
        "CreditGroup": resource(
            "AWS::SageMaker::ModelPackageGroup",
            f"{m}/credit-default/Registry/Group",
            {
                "ModelPackageGroupName": credit,
                "ModelPackageGroupDescription": "Retail credit default, 12 months",
                "ModelPackageGroupPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "ReadOnlyConsumers",
                            "Effect": "Allow",
                            "Principal": {"AWS": [f"arn:aws:iam::{CONSUMER}:root"]},
                            "Action": [
                                "sagemaker:DescribeModelPackage",
                                "sagemaker:ListModelPackages",
                            ],
                            "Resource": [
                                f"arn:aws:sagemaker:eu-west-1:{HOME}:model-package/{credit}/*"
                            ],
                        }
                    ],
                },
                "Tags": tags(
                    credit,
                    **owner,
                    **{"governance:data-classification": "confidential"},
                ),
            },
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
        ),
        "CreditCard": resource(
            "AWS::SageMaker::ModelCard",
            f"{m}/credit-default/Card",
            {
                "ModelCardName": credit,
                "ModelCardStatus": "PendingReview",
                "Content": {"model_overview": {"model_description": "PD model"}},
                "SecurityConfig": {"KmsKeyId": KEY},
                "Tags": tags(credit),
            },
        ),
        "CreditPolicy": resource(
            "AWS::SSM::Parameter",
            f"{m}/credit-default/Policy",
            {
                "Type": "String",
                "Name": f"/sagemaker-governance/models/{credit}",
                "Value": policy(
                    credit,
                    ["model_quality_metrics", "bias_report", "separate_approver"],
                    {"DI": {"min": 0.8, "max": 1.25}, "DPPL": {"min": -0.1, "max": 0.1}},
                ),
            },
        ),
        "CreditModel": resource(
            "AWS::SageMaker::Model",
            f"{m}/credit-default/Model",
            {
                "ExecutionRoleArn": {"Fn::ImportValue": "acme-prod-foundation:InferenceRole"},
                "EnableNetworkIsolation": True,
                "VpcConfig": {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]},
                "Tags": tags(credit),
            },
        ),
        "CreditEndpointConfig": resource(
            "AWS::SageMaker::EndpointConfig",
            f"{m}/credit-default/EndpointConfig",
            {
                "KmsKeyId": KEY,
                "ProductionVariants": [
                    {
                        "VariantName": "AllTraffic",
                        "ModelName": {"Fn::GetAtt": ["CreditModel", "ModelName"]},
                        "InitialInstanceCount": 2,
                        "InstanceType": "ml.m5.xlarge",
                    }
                ],
                "DataCaptureConfig": {
                    "InitialSamplingPercentage": 50,
                    "DestinationS3Uri": "s3://capture/credit-default",
                    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
                    "KmsKeyId": KEY,
                },
            },
        ),
        "CreditEndpoint": resource(
            "AWS::SageMaker::Endpoint",
            f"{m}/credit-default/Endpoint",
            {
                "EndpointName": "credit-default-prod",
                "EndpointConfigName": {
                    "Fn::GetAtt": ["CreditEndpointConfig", "EndpointConfigName"]
                },
                "Tags": tags(credit, **owner),
            },
        ),
        "CreditDataQualityJob": job_definition(
            "AWS::SageMaker::DataQualityJobDefinition",
            f"{m}/credit-default/DataQuality/Job",
            instance_type="ml.m5.xlarge",
            count=1,
            runtime=1800,
        ),
        "CreditDataQuality": schedule(
            f"{m}/credit-default/DataQuality/Schedule",
            credit,
            "CreditDataQualityJob",
            "DataQuality",
            "cron(0 * ? * * *)",
        ),
        "CreditBiasJob": job_definition(
            "AWS::SageMaker::ModelBiasJobDefinition",
            f"{m}/credit-default/ModelBias/Job",
            instance_type="ml.m5.xlarge",
            count=2,
            runtime=None,
        ),
        "CreditBias": schedule(
            f"{m}/credit-default/ModelBias/Schedule",
            credit,
            "CreditBiasJob",
            "ModelBias",
            "cron(0 3 ? * * *)",
        ),
        # Untagged: attributed through its reference to the tagged schedule.
        "CreditDataQualityAlarm": resource(
            "AWS::CloudWatch::Alarm",
            f"{m}/credit-default/DataQuality/ViolationsAlarm",
            {
                "AlarmName": "credit-default-data-quality-violations",
                "Namespace": "aws/sagemaker/Endpoints/data-metrics",
                "MetricName": "feature_baseline_drift_income",
                "Dimensions": [
                    {"Name": "Endpoint", "Value": "credit-default-prod"},
                    {
                        "Name": "MonitoringSchedule",
                        "Value": {"Fn::GetAtt": ["CreditDataQuality", "MonitoringScheduleName"]},
                    },
                ],
                "Statistic": "Maximum",
                "Period": 3600,
                "EvaluationPeriods": 1,
                "Threshold": 0.1,
                "ComparisonOperator": "GreaterThanThreshold",
                "AlarmActions": [TOPIC],
            },
        ),
        # Untagged: attributed through the group name in its pattern.
        "CreditStateChange": resource(
            "AWS::Events::Rule",
            f"{m}/credit-default/Registry/StateChange",
            {
                "EventPattern": {
                    "source": ["aws.sagemaker"],
                    "detail-type": ["SageMaker Model Package State Change"],
                    "detail": {"ModelPackageGroupName": [credit]},
                },
                "State": "ENABLED",
                "Targets": [
                    {
                        "Arn": "arn:aws:lambda:eu-west-1:111122223333:function:approval-gate",
                        "Id": "Target0",
                        "DeadLetterConfig": {"Arn": "arn:aws:sqs:eu-west-1:111122223333:dlq"},
                    }
                ],
            },
        ),
        # ---- churn-propensity: not shared, card without a customer key, unpriced instance
        "ChurnGroup": resource(
            "AWS::SageMaker::ModelPackageGroup",
            f"{m}/churn-propensity/Registry/Group",
            {
                "ModelPackageGroupName": churn,
                "Tags": tags(
                    churn,
                    **{"governance:owner": "customer-analytics", "governance:risk-tier": "low"},
                ),
            },
            DeletionPolicy="Delete",
        ),
        "ChurnCard": resource(
            "AWS::SageMaker::ModelCard",
            f"{m}/churn-propensity/Card",
            {"ModelCardName": churn, "ModelCardStatus": "Draft", "Tags": tags(churn)},
        ),
        "ChurnEndpointConfig": resource(
            "AWS::SageMaker::EndpointConfig",
            f"{m}/churn-propensity/EndpointConfig",
            {
                "EndpointConfigName": "churn-propensity-config",
                "ProductionVariants": [
                    {
                        "VariantName": "AllTraffic",
                        "ModelName": "churn-propensity",
                        "InitialInstanceCount": 1,
                        "InstanceType": "ml.c5.large",
                    }
                ],
            },
        ),
        "ChurnEndpoint": resource(
            "AWS::SageMaker::Endpoint",
            f"{m}/churn-propensity/Endpoint",
            {
                "EndpointName": "churn-propensity-prod",
                "EndpointConfigName": "churn-propensity-config",
                "Tags": tags(churn),
            },
        ),
    }
    return {"Resources": resources}


def foundation_template() -> dict[str, Any]:
    f = FOUNDATION
    return {
        "Resources": {
            "Keysartifacts": resource(
                "AWS::KMS::Key",
                f"{f}/Keys/artifacts/Resource",
                {"EnableKeyRotation": True, "KeyPolicy": {"Statement": []}},
                DeletionPolicy="Retain",
            ),
            "Alerts": resource(
                "AWS::SNS::Topic",
                f"{f}/Alerts/Resource",
                {"KmsMasterKeyId": {"Fn::GetAtt": ["Keysartifacts", "Arn"]}},
            ),
            "Undelivered": resource("AWS::SQS::Queue", f"{f}/Alerts/Undelivered", {}),
        }
    }


def violation(rule: str, path: str, description: str) -> dict[str, Any]:
    return {
        "ruleName": rule,
        "description": description,
        "severity": "error",
        "violatingConstructs": [
            {"constructPath": path, "constructFqn": "aws-cdk-lib.CfnResource", "stackTraces": []}
        ],
    }


def acknowledged(pack: str, rule: str, path: str, reason: str) -> dict[str, Any]:
    return {
        **violation(rule, path, f"{rule} description"),
        "acknowledgedId": f"{pack}::{rule}",
        "reason": reason,
        "acknowledgedAt": path,
    }


def validation_report() -> dict[str, Any]:
    return {
        "version": "55.0.0",
        "title": "Validation Report",
        "pluginReports": [
            {
                "pluginName": "AwsSolutions",
                "conclusion": "failure",
                "violations": [
                    violation(
                        "AwsSolutions-SQS3",
                        f"{FOUNDATION}/Alerts/Undelivered",
                        "The SQS queue is not used as a dead-letter queue.",
                    )
                ],
                "suppressedViolations": [
                    acknowledged(
                        "AwsSolutions",
                        "AwsSolutions-IAM5[Resource::arn:aws:s3:::monitoring/*]",
                        f"{FOUNDATION}/Roles/Monitoring/DefaultPolicy",
                        ACK_REASON_IAM,
                    ),
                    acknowledged(
                        "AwsSolutions",
                        "AwsSolutions-S1",
                        f"{FOUNDATION}/AccessLogs/Resource",
                        ACK_REASON_S3,
                    ),
                ],
            },
            {
                "pluginName": "NIST.800.53.R5",
                "conclusion": "success",
                "violations": [],
                "suppressedViolations": [
                    acknowledged(
                        "NIST.800.53.R5",
                        "NIST.800.53.R5-S3BucketReplicationEnabled",
                        f"{FOUNDATION}/AccessLogs/Resource",
                        ACK_REASON_S3,
                    )
                ],
            },
            {
                "pluginName": "Governance",
                "conclusion": "failure",
                "metadata": {"ruleIds": ",".join(GOVERNANCE_RULES)},
                "violations": [
                    violation(
                        "Governance-EP1",
                        f"{MODELS}/churn-propensity/Endpoint",
                        "The endpoint has no monitoring schedule.",
                    )
                ],
                "suppressedViolations": [
                    acknowledged(
                        "Governance",
                        "Governance-MPG5",
                        f"{MODELS}/churn-propensity/Registry/Group",
                        SCRIPT_REASON,
                    )
                ],
            },
        ],
    }


def manifest(*stacks: str) -> dict[str, Any]:
    artifacts: dict[str, Any] = {
        "Tree": {"type": "cdk:tree", "properties": {"file": "tree.json"}},
    }
    for stack in stacks:
        artifacts[f"{stack}.assets"] = {"type": "cdk:asset-manifest", "properties": {}}
        artifacts[stack] = {
            "type": "aws:cloudformation:stack",
            "environment": f"aws://{HOME}/eu-west-1",
            "properties": {"templateFile": f"{stack}.template.json"},
        }
    return {"version": "55.0.0", "artifacts": artifacts}


MODEL_NAMES = ("credit-default", "churn-propensity")


def inventory(templates: dict[str, dict[str, Any]]) -> Inventory:
    """What the app records from construct scopes, derived from these templates' paths."""
    resources = []
    models: dict[str, InventoryModel] = {}
    for stack, template in templates.items():
        for logical_id, raw in template["Resources"].items():
            path = raw["Metadata"]["aws:cdk:path"]
            parts = path.split("/")[1:]
            owner = parts[0] if parts and parts[0] in MODEL_NAMES else None
            if owner:
                models[owner] = InventoryModel(owner, "prod", stack, f"{stack}/{owner}")
            resources.append(
                InventoryResource(
                    stack=stack,
                    logical_id=logical_id,
                    type=raw["Type"],
                    path=path,
                    environment="prod",
                    concern=concern_of(raw["Type"], parts[1:] if owner else parts),
                    models=(owner,) if owner else (),
                )
            )
    return Inventory(
        (InventoryEnvironment("prod", HOME, "eu-west-1", tuple(templates)),),
        tuple(models[name] for name in sorted(models)),
        tuple(resources),
    )


def write_assembly(
    folder: Path,
    *,
    templates: dict[str, dict[str, Any]] | None = None,
    report: dict[str, Any] | None = None,
    with_report: bool = True,
    with_inventory: bool = True,
) -> Path:
    """Write manifest, templates, inventory and (unless told not to) the validation report."""
    folder.mkdir(parents=True, exist_ok=True)
    if templates is None:
        templates = {FOUNDATION: foundation_template(), MODELS: models_template()}
    (folder / "manifest.json").write_text(json.dumps(manifest(*templates)))
    for stack, template in templates.items():
        (folder / f"{stack}.template.json").write_text(json.dumps(template))
    if with_inventory:
        write_inventory(inventory(templates), folder)
    if with_report:
        content = report if report is not None else validation_report()
        (folder / "validation-report.json").write_text(json.dumps(content))
    return folder

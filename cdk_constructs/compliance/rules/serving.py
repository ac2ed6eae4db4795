"""Rules for serving: models, endpoint configs, the monitors every governed endpoint needs, and
the governance tags of resources wired to a governed model.

An endpoint is governed when it carries ``governance:model`` or when it serves a version of a
governed group's package (see :mod:`.wiring`); removing the tag does not take it out of scope.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdk_constructs import tags
from cdk_constructs.compliance.rules.framework import (
    UNKNOWN_KEY,
    AppIndex,
    GovernanceRule,
    Ref,
    Resource,
    Verdict,
    as_list,
    combine,
    configured,
    dig,
    flag,
    is_intrinsic,
    is_unresolved,
    per_resource,
    verdict_of,
)
from cdk_constructs.compliance.rules.monitoring import (
    JOB_DEFINITION_TYPES,
    JOB_DEFINITIONS,
    volume_key_verdict,
    vpc_verdict,
)
from cdk_constructs.compliance.rules.pipelines import scheduled_monitors
from cdk_constructs.compliance.rules.registry import MODEL_PACKAGE_GROUP, RISK_TIERS
from cdk_constructs.compliance.rules.wiring import (
    AUDIT_LEDGER_COMPONENT,
    DYNAMODB_TABLE,
    ENDPOINT,
    ENDPOINT_CONFIG,
    MONITORING_SCHEDULE,
    governed_models,
    ledger_tables,
)
from cdk_constructs.compliance.rules.wiring import SAGEMAKER_MODEL as MODEL

# A schedule in these states runs no monitoring job (CloudFormation's
# AWS::SageMaker::MonitoringSchedule MonitoringScheduleStatus: Pending|Failed|Scheduled|Stopped).
NOT_RUNNING = frozenset({"Stopped", "Failed"})

ALWAYS_MONITORED = ("DataQuality", "ModelQuality")
HIGH_RISK_MONITORED = ("ModelBias", "ModelExplainability")
_TIER_ORDER = ("low", "medium", "high")


def model_network_isolated(model: Resource) -> Verdict:
    """EnableNetworkIsolation is true."""
    return verdict_of(flag(model.get("EnableNetworkIsolation")))


def model_in_vpc(model: Resource) -> Verdict:
    """VpcConfig has Subnets and SecurityGroupIds."""
    return vpc_verdict(model.get("VpcConfig"))


def endpoint_config_captures_data(config: Resource) -> Verdict:
    """DataCaptureConfig enabled, encrypted with KmsKeyId, capturing Input and Output."""
    capture = config.get("DataCaptureConfig")
    if capture is None:
        return Verdict.NON_COMPLIANT
    if is_unresolved(capture):
        return Verdict.UNDECIDABLE
    return combine(
        [
            # The SageMaker API enables capture when EnableCapture is omitted.
            verdict_of(flag(dig(capture, "EnableCapture"), default=True)),
            verdict_of(configured(dig(capture, "KmsKeyId"))),
            verdict_of(_captures_both_directions(dig(capture, "CaptureOptions"))),
        ]
    )


def _captures_both_directions(options: Any) -> bool | None:
    if is_unresolved(options):
        return None
    modes = [dig(option, "CaptureMode") for option in as_list(options)]
    if {"Input", "Output"} <= set(m for m in modes if isinstance(m, str)):
        return True
    return None if any(is_unresolved(m) for m in modes) else False


def endpoint_config_encrypted(config: Resource) -> Verdict:
    """KmsKeyId is set, unless a variant's instance type has hardware-encrypted NVMe storage."""
    variants = [
        *as_list(config.get("ProductionVariants")),
        *as_list(config.get("ShadowProductionVariants")),
    ]
    instance_types = [
        dig(v, "InstanceType") if isinstance(v, Mapping) or is_unresolved(v) else None
        for v in variants
    ]
    return volume_key_verdict(config.get("KmsKeyId"), instance_types)


def endpoint_config_samples(config: Resource) -> Verdict:
    """DataCaptureConfig.InitialSamplingPercentage is above 0 (when capture is configured)."""
    capture = config.get("DataCaptureConfig")
    if capture is None:
        return Verdict.NOT_APPLICABLE  # no capture at all is EPC1's finding
    percentage = dig(capture, "InitialSamplingPercentage")
    if isinstance(percentage, int | float) and not isinstance(percentage, bool):
        return verdict_of(percentage > 0)
    return Verdict.UNDECIDABLE if is_unresolved(percentage) else Verdict.NON_COMPLIANT


def schedule_running(schedule: Resource) -> Verdict:
    """MonitoringScheduleStatus is absent (a new schedule starts Scheduled), Pending or
    Scheduled: not Stopped or Failed."""
    status = schedule.get("MonitoringScheduleStatus")
    if status is None:
        return Verdict.COMPLIANT
    if is_unresolved(status):
        return Verdict.UNDECIDABLE
    return verdict_of(status not in NOT_RUNNING)


def risk_tier(endpoint: Resource, model: str | set[str], index: AppIndex) -> str | None:
    """The strictest risk tier the endpoint or its models' groups declare; ``None`` if unknown.

    The models' groups may live in another account (a central registry), so every group of the
    app tagged with (or named after) one of the models counts, whatever its environment.
    """
    models = {model} if isinstance(model, str) else model
    by_model = index.keyed("groups-by-model", (MODEL_PACKAGE_GROUP,), _group_model)
    groups = [
        group
        for name in sorted(models)
        for group in by_model.get(name, ())
        if group.environment.stage_path == endpoint.environment.stage_path
    ]
    declared = [endpoint.tag(tags.RISK_TIER), *(group.tag(tags.RISK_TIER) for group in groups)]
    declared = [tier for tier in declared if tier is not None]
    if not declared or any(not isinstance(t, str) or t not in RISK_TIERS for t in declared):
        return None
    return str(max(declared, key=_TIER_ORDER.index))


def required_monitors(tier: str | None) -> tuple[str, ...]:
    """Unknown risk is treated as high: all four monitors."""
    if tier in {"low", "medium"}:
        return ALWAYS_MONITORED
    return ALWAYS_MONITORED + HIGH_RISK_MONITORED


def _job_name(job: Resource) -> Any:
    name = job.get("JobDefinitionName")
    return name if isinstance(name, str) else None


def monitoring_type(schedule: Resource, index: AppIndex) -> str | None:
    """MonitoringType, or the type of the job definition the schedule names; ``None`` if unknown."""
    declared = schedule.get("MonitoringScheduleConfig", "MonitoringType")
    if isinstance(declared, str):
        return declared
    if declared is not None:
        return None
    job_name = schedule.get("MonitoringScheduleConfig", "MonitoringJobDefinitionName")
    if not isinstance(job_name, str):
        return None  # Ref of a job definition is its ARN, so only a literal name can match
    jobs = index.keyed("jobs-by-name", JOB_DEFINITION_TYPES, _job_name)
    for job in jobs.get(job_name, ()):
        if job.environment.overlaps(schedule.environment):
            return JOB_DEFINITIONS[job.type][0]
    return None


def _group_model(group: Resource) -> str | None:
    """The model a group governs: its governance:model tag, else (untagged) its name."""
    tagged = group.tag(tags.MODEL)
    if tagged is None:
        tagged = group.get("ModelPackageGroupName")
    return tagged if isinstance(tagged, str) else None


def _may_belong_to(schedule: Resource, models: set[str]) -> bool:
    schedule_model = schedule.tag(tags.MODEL)
    if schedule_model is None or is_unresolved(schedule_model):
        return True
    return isinstance(schedule_model, str) and schedule_model in models


def endpoint_models(endpoint: Resource, index: AppIndex) -> set[str] | None:
    """The governed models of an endpoint: its governance:model tag and the models its
    variants serve (empty: not governed; ``None``: cannot be told)."""
    tagged = endpoint.tag(tags.MODEL)
    wired = governed_models(endpoint, index)
    models = set(wired.found)
    if isinstance(tagged, str):
        models.add(tagged)
    elif tagged is not None:
        return None
    if not models and wired.unsure:
        return None
    return models


def _schedule_target(schedule: Resource) -> Any:
    """How a schedule names its endpoint: a GetAtt EndpointName (Ref of an endpoint is its
    ARN, which no EndpointName takes), the exact literal name, or a deploy-time value."""
    target = schedule.get("EndpointName")
    if isinstance(target, Ref):
        return ("ref", target.target_path) if target.attribute == "EndpointName" else None
    if isinstance(target, str):
        return ("name", target)
    return UNKNOWN_KEY if is_intrinsic(target) else None


def endpoint_monitored(endpoint: Resource, index: AppIndex) -> Verdict:
    """Schedules for DataQuality and ModelQuality, plus ModelBias and ModelExplainability
    when a model is high-risk, target this endpoint by exact name or reference; the endpoint
    is governed when tagged governance:model or when it serves a governed group's package."""
    models = endpoint_models(endpoint, index)
    if models is None:
        return Verdict.UNDECIDABLE
    if not models:
        return Verdict.NOT_APPLICABLE
    schedules = index.keyed("schedules-by-endpoint", (MONITORING_SCHEDULE,), _schedule_target)
    name = endpoint.get("EndpointName")
    targeting = [
        *schedules.get(("ref", endpoint.path), ()),
        *(schedules.get(("name", name), ()) if isinstance(name, str) else ()),
    ]
    found: set[str] = set()
    unsure = False
    for schedule in targeting:
        if schedule.environment.overlaps(endpoint.environment):
            kind = monitoring_type(schedule, index)
            found.update([kind] if kind else [])
            unsure = unsure or kind is None
    # An unknown endpoint name on a schedule that may be this model's
    unsure = unsure or any(
        schedule.environment.overlaps(endpoint.environment) and _may_belong_to(schedule, models)
        for schedule in schedules.get(UNKNOWN_KEY, ())
    )
    if isinstance(name, str):
        # The Evidently engine's checks: scheduled pipelines whose processing step names this
        # endpoint and its MonitoringType (rules/pipelines.py).
        where = (name, endpoint.environment.account, endpoint.environment.region)
        found.update(scheduled_monitors(index).get(where, set()))
    missing = set(required_monitors(risk_tier(endpoint, models, index))) - found
    if not missing:
        return Verdict.COMPLIANT
    return Verdict.UNDECIDABLE if unsure else Verdict.NON_COMPLIANT


def carries_governance_tag(resource: Resource, index: AppIndex) -> Verdict:
    """A SageMaker model, endpoint config, endpoint, schedule or job definition wired to a
    governed model carries governance:model naming that model; the table the ledger handler
    writes carries governance:component=audit-ledger."""
    if resource.type == DYNAMODB_TABLE:
        if resource.path not in ledger_tables(index).found:
            return Verdict.NOT_APPLICABLE
        return _tag_is(resource.tag(tags.COMPONENT), {AUDIT_LEDGER_COMPONENT})
    wired = governed_models(resource, index)
    tagged = resource.tag(tags.MODEL)
    if not wired.found:
        if wired.unsure and tagged is None:
            return Verdict.UNDECIDABLE  # it may serve a governed model and is untagged
        return Verdict.NOT_APPLICABLE
    return _tag_is(tagged, set(wired.found))


def _tag_is(value: Any, expected: set[str]) -> Verdict:
    if is_unresolved(value):
        return Verdict.UNDECIDABLE
    return verdict_of(value in expected)


RULES = (
    GovernanceRule(
        rule_id="MDL1",
        resource_types=(MODEL,),
        title="Models run with network isolation",
        info="The SageMaker model does not set EnableNetworkIsolation to true.",
        explanation="An isolated inference container cannot make outbound calls, so model "
        "code cannot leak inference data or pull unreviewed dependencies at run time.",
        undecidable="EnableNetworkIsolation is a token.",
        nist_800_53=("SC-7", "AC-4"),
        eu_ai_act="Art. 15 (cybersecurity)",
        check=per_resource(model_network_isolated),
    ),
    GovernanceRule(
        rule_id="MDL2",
        resource_types=(MODEL,),
        title="Models run in a VPC",
        info="The SageMaker model has no VpcConfig with Subnets and SecurityGroupIds.",
        explanation="Hosting in the private VPC keeps model traffic under the platform's "
        "network controls and VPC endpoints.",
        undecidable="VpcConfig is conditional.",
        nist_800_53=("SC-7",),
        check=per_resource(model_in_vpc),
    ),
    GovernanceRule(
        rule_id="EPC1",
        resource_types=(ENDPOINT_CONFIG,),
        title="Endpoint configs capture inference data, encrypted",
        info="The endpoint config does not capture both Input and Output with "
        "DataCaptureConfig (enabled, with a KmsKeyId).",
        explanation="Captured requests and responses are what the data-quality, model-quality, "
        "bias and explainability monitors analyse, and the record of what the model did; they "
        "contain inference data and must be encrypted with a customer managed key.",
        undecidable="DataCaptureConfig (or its EnableCapture, KmsKeyId or CaptureOptions) is "
        "a token.",
        nist_800_53=("AU-2", "AU-12", "SI-4", "SC-28"),
        sr_11_7="V (ongoing monitoring, outcomes analysis)",
        eu_ai_act="Art. 12 (record-keeping), Art. 72 (post-market monitoring)",
        check=per_resource(endpoint_config_captures_data),
    ),
    GovernanceRule(
        rule_id="EPC2",
        resource_types=(ENDPOINT_CONFIG,),
        title="Endpoint configs encrypt instance storage with a KMS key",
        info="The endpoint config has no KmsKeyId (and no variant uses an instance type with "
        "hardware-encrypted NVMe storage, where a key is not allowed).",
        explanation="The hosting instance's volume holds the model artefacts.",
        undecidable="KmsKeyId is missing and a variant's instance type is a token, so it "
        "cannot be told whether a key is allowed.",
        nist_800_53=("SC-28", "SC-12"),
        check=per_resource(endpoint_config_encrypted),
    ),
    GovernanceRule(
        rule_id="EP1",
        resource_types=(ENDPOINT,),
        title="Endpoints of governed models are monitored",
        info="An endpoint tagged governance:model lacks a MonitoringSchedule (or a scheduled "
        "SageMaker pipeline check of the Evidently engine) for DataQuality and ModelQuality, "
        "or (risk tier high or unknown) for ModelBias and ModelExplainability.",
        explanation="Deployed models drift; model risk management requires ongoing monitoring "
        "of input data and prediction quality, and for high-risk models of bias and feature "
        "attribution. Schedules match the endpoint by exact EndpointName or a "
        "GetAtt EndpointName reference, in any stack of the same account and region.",
        undecidable="The endpoint's governance:model tag, a schedule's EndpointName or its "
        "MonitoringType is a token, so the endpoint's monitors cannot be counted.",
        nist_800_53=("CA-7", "SI-4"),
        sr_11_7="V (ongoing monitoring)",
        eu_ai_act="Art. 72 (post-market monitoring), Art. 10 (bias), Art. 13 (transparency)",
        check=endpoint_monitored,
    ),
    GovernanceRule(
        rule_id="EPC3",
        resource_types=(ENDPOINT_CONFIG,),
        title="Endpoint configs sample captured data",
        info="The endpoint config's DataCaptureConfig.InitialSamplingPercentage is 0.",
        explanation="Capture that samples nothing gives the monitors nothing to analyse: "
        "every schedule runs on empty data while the endpoint looks monitored.",
        undecidable="InitialSamplingPercentage is known only at deploy time.",
        nist_800_53=("CA-7", "SI-4", "AU-12"),
        sr_11_7="V (ongoing monitoring)",
        eu_ai_act="Art. 72 (post-market monitoring)",
        check=per_resource(endpoint_config_samples),
    ),
    GovernanceRule(
        rule_id="MS1",
        resource_types=(MONITORING_SCHEDULE,),
        title="Monitoring schedules are running",
        info="The monitoring schedule's MonitoringScheduleStatus is Stopped or Failed.",
        explanation="A stopped schedule still counts as a monitor in the template, but no "
        "job runs: drift, quality and bias go unobserved.",
        undecidable="MonitoringScheduleStatus is known only at deploy time.",
        nist_800_53=("CA-7", "SI-4"),
        sr_11_7="V (ongoing monitoring)",
        eu_ai_act="Art. 72 (post-market monitoring)",
        check=per_resource(schedule_running),
    ),
    GovernanceRule(
        rule_id="TAG1",
        resource_types=(
            MODEL,
            ENDPOINT_CONFIG,
            ENDPOINT,
            MONITORING_SCHEDULE,
            *JOB_DEFINITION_TYPES,
            DYNAMODB_TABLE,
        ),
        title="Resources wired to a governed model or the ledger carry its governance tag",
        info="A resource that serves or monitors a governed group's package lacks a "
        "governance:model tag naming that model, or the table the ledger handler writes "
        "lacks governance:component=audit-ledger.",
        explanation="Access to a model's resources is scoped by these tags and the report "
        "and tag-scoped rules find resources by them: a resource that lost or changed its "
        "tag would escape them. The wiring (package ARN, endpoint config, endpoint name, "
        "handler variables) says what the tag must be.",
        undecidable="A tag value, or a reference on the way to the served package, is known "
        "only at deploy time.",
        nist_800_53=("CM-8", "AC-3", "AC-16"),
        sr_11_7="VI (model inventory)",
        check=carries_governance_tag,
    ),
)

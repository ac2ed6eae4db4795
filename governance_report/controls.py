"""Per model and environment: the controls the assembly declares, read through the inventory.

Ownership comes from ``governance-inventory.json`` (construct scopes), never from tags or
references; templates supply each resource's properties. Names are what a reviewer knows:
the physical name when the template sets one, else the construct id under the model's scope.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from governance_report.assembly import Assembly, Resource
from governance_report.intrinsics import (
    as_list,
    dig,
    literal,
    number,
    references,
    resolve,
    show,
)
from governance_report.inventory import Inventory, InventoryResource

OWNER_TAG = "governance:owner"
RISK_TIER_TAG = "governance:risk-tier"
DATA_CLASSIFICATION_TAG = "governance:data-classification"
MONITOR_TYPE_TAG = "governance:monitor-type"

JOB_DEFINITION_TYPES = {
    "AWS::SageMaker::DataQualityJobDefinition": "DataQuality",
    "AWS::SageMaker::ModelQualityJobDefinition": "ModelQuality",
    "AWS::SageMaker::ModelBiasJobDefinition": "ModelBias",
    "AWS::SageMaker::ModelExplainabilityJobDefinition": "ModelExplainability",
}
MONITOR_TYPES = tuple(JOB_DEFINITION_TYPES.values())
_ACCOUNT = re.compile(r"^\d{12}$")
_ARN_ACCOUNT = re.compile(r"^arn:[^:]+:[^:]*:[^:]*:(\d{12}):")
# Construct ids CDK adds below the construct a person named.
_PLUMBING = {"Resource", "Default"}


def human_name(resource: Resource, scope: str, name_property: str | None = None) -> str:
    """The physical name when literal, else the construct path below ``scope`` without CDK's
    ``Resource``/``Default`` leaves (``Alarms/FeatureDrift-age``), never a logical id."""
    if name_property:
        name = literal(resource.prop(name_property))
        if name:
            return name
    path = resource.path
    if path and scope and path.startswith(scope + "/"):
        parts = [p for p in path.removeprefix(scope + "/").split("/") if p not in _PLUMBING]
        if parts:
            return "/".join(parts)
    if path:
        parts = [p for p in path.split("/")[1:] if p not in _PLUMBING]
        if parts:
            return "/".join(parts)
    return resource.logical_id


def construct_id(resource: Resource, name_property: str | None = None) -> str:
    """The physical name when literal, else the id its author gave the construct
    (``FeatureDrift-age``): enough where a table already says which model it is."""
    if name_property:
        name = literal(resource.prop(name_property))
        if name:
            return name
    parts = [p for p in resource.path.split("/")[1:] if p not in _PLUMBING]
    return parts[-1] if parts else resource.logical_id


@dataclass(frozen=True)
class Grant:
    principals: tuple[str, ...]
    accounts: tuple[str, ...]
    actions: tuple[str, ...]
    effect: str


@dataclass(frozen=True)
class RegistryGroup:
    name: str
    deletion_policy: str | None
    grants: tuple[Grant, ...]
    home_account: str | None
    path: str

    @property
    def consumer_accounts(self) -> tuple[str, ...]:
        """Accounts other than the group's own that an Allow statement names."""
        return tuple(
            sorted(
                {
                    account
                    for grant in self.grants
                    if grant.effect == "Allow"
                    for account in grant.accounts
                    if account != self.home_account
                }
            )
        )

    @property
    def shared_actions(self) -> tuple[str, ...]:
        return tuple(
            sorted({a for grant in self.grants if grant.effect == "Allow" for a in grant.actions})
        )

    @property
    def denied_actions(self) -> tuple[str, ...]:
        return tuple(
            sorted({a for grant in self.grants if grant.effect == "Deny" for a in grant.actions})
        )


@dataclass(frozen=True)
class ModelCard:
    name: str
    status: str
    kms_key: str | None
    path: str


@dataclass(frozen=True)
class BiasFacet:
    attribute: str
    value: str

    @property
    def text(self) -> str:
        return f"{self.attribute} = {self.value}" if self.value else self.attribute


@dataclass(frozen=True)
class ApprovalPolicy:
    parameter_name: str
    required_evidence: tuple[str, ...]
    on_failure: str
    bias_thresholds: Mapping[str, Mapping[str, float | None]]
    bias_facet: BiasFacet | None = None
    risk_tier: str = ""
    problem: str | None = None


@dataclass(frozen=True)
class Variant:
    name: str
    model_name: str
    instance_type: str | None
    instance_count: float | None
    serverless: bool


@dataclass(frozen=True)
class Endpoint:
    name: str
    config_name: str
    variants: tuple[Variant, ...]
    kms_key: str | None
    data_capture_percent: str | None
    path: str


@dataclass(frozen=True)
class HostedModel:
    name: str
    network_isolation: str
    vpc: bool
    path: str


EVIDENTLY_JOB_PREFIX = "Evidently pipeline "
# The checks SageMaker Clarify computes for Model Monitor, which the Evidently engine computes
# in its job or, for existing Clarify customers, on Clarify.
CLARIFY_MONITORING_TYPES = frozenset({"ModelBias", "ModelExplainability"})
# A batch-scoring pipeline's steps (cdk_constructs/monitoring/batch.py): its transform and the
# Evidently checks that follow it.
BATCH_JOB_PREFIX = "Batch pipeline "
BATCH_TRANSFORM = "BatchTransform"


@dataclass(frozen=True)
class Monitor:
    name: str
    monitoring_type: str
    schedule_expression: str
    job_definition: str
    instance_type: str | None
    instance_count: float | None
    volume_gb: float | None
    max_runtime_seconds: float | None
    path: str
    # The protected attribute a bias monitor's Clarify analysis config checks, when readable.
    facet: BiasFacet | None = None
    # A pipeline check with a SageMaker Clarify processing step (the Evidently engine's checks
    # for existing Clarify customers).
    clarify_step: bool = False

    @property
    def engine(self) -> str:
        """Which monitoring engine runs it: Model Monitor or the Evidently engine."""
        if self.job_definition.startswith(BATCH_JOB_PREFIX):
            return (
                "batch scoring" if self.monitoring_type == BATCH_TRANSFORM else "batch, Evidently"
            )
        return (
            "Evidently"
            if self.job_definition.startswith(EVIDENTLY_JOB_PREFIX)
            else ("Model Monitor")
        )

    @property
    def computed_by(self) -> str | None:
        """Where a bias or explainability check's results are computed: "on SageMaker
        Clarify" (Model Monitor's bias and explainability jobs run Clarify's image; the
        Evidently engine's pipelines with a Clarify step) or "in-job" (the Evidently job
        computes Clarify's bias metrics itself); None for other checks."""
        if self.monitoring_type not in CLARIFY_MONITORING_TYPES:
            return None
        if self.job_definition.startswith(EVIDENTLY_JOB_PREFIX) and not self.clarify_step:
            return "in-job"
        return "on SageMaker Clarify"


@dataclass(frozen=True)
class Alarm:
    name: str
    description: str
    metric: str
    namespace: str
    threshold: str
    comparison: str
    actions: tuple[str, ...]
    path: str


@dataclass(frozen=True)
class EventRule:
    name: str
    state: str
    detail_types: tuple[str, ...]
    targets: int
    has_dead_letter_queue: bool
    shared: bool
    path: str


@dataclass(frozen=True)
class PipelineStep:
    name: str
    step_type: str
    produces: str
    hardening: str
    """"hardened", "n/a", or the missing controls."""
    hardened: bool | None


@dataclass(frozen=True)
class TrainingPipeline:
    name: str
    definition: str
    """Where the definition is kept (bucket and key), or "inline"."""
    steps: tuple[PipelineStep, ...]
    """Empty when the definition could not be read from the assembly."""
    path: str


# What each step of the governed training pipeline produces (cdk_constructs.training.definition).
_PRODUCES = {
    "QualityCheck": "data-quality statistics and constraints (Model Monitor analyzer)",
    "Training": "the trained model (models/)",
    "Model": "a SageMaker model of the trained artefact",
    "Transform": "predictions for the held-out data",
    "Condition": "the quality gate: continue only at or above the floor",
    "Fail": "fails the execution and says why; nothing is registered",
    "RegisterModel": "a PendingManualApproval version with its evidence",
}
_CLARIFY_PRODUCES = {
    "DATA_BIAS": "pre-training bias report (Clarify)",
    "MODEL_BIAS": "post-training bias report (Clarify)",
    "MODEL_EXPLAINABILITY": "SHAP explainability report (Clarify)",
}


def _produces(step: Mapping[str, Any]) -> str:
    kind = str(step.get("Type"))
    if kind == "ClarifyCheck":
        return _CLARIFY_PRODUCES.get(str(step.get("CheckType")), "Clarify check")
    if kind == "Processing":
        outputs = as_list(dig(step, "Arguments", "ProcessingOutputConfig", "Outputs"))
        names = [str(o.get("OutputName")) for o in outputs if isinstance(o, Mapping)]
        return "outputs: " + ", ".join(names) if names else "processing job"
    return _PRODUCES.get(kind, kind)


def _training_pipeline(resource: Resource, assembly: Assembly) -> TrainingPipeline | None:
    """The pipeline as a training pipeline; ``None`` for one that trains nothing (a monitoring
    engine's scheduled checks), whose definition is readable and has no training step."""
    from cdk_constructs.pipelines.contract import DEFINITION_METADATA_KEY
    from cdk_constructs.training.hardening import hardening, steps

    location = resource.prop("PipelineDefinition", "PipelineDefinitionS3Location")
    record = resource.metadata.get(DEFINITION_METADATA_KEY)
    text: str | None = None
    if isinstance(location, Mapping):
        where = f"s3://{show(location.get('Bucket'))}/{show(location.get('Key'))}"
        file = record.get("file") if isinstance(record, Mapping) else None
        if isinstance(file, str):
            text = assembly.staged_file(resource.stack, resource.depends_on, file)
    else:
        from cdk_constructs.compliance.rules.pipelines import definition_text

        where = "inline"
        # Deploy-time values (keys, roles) become a stand-in: the steps stay readable.
        text = definition_text(resource.prop("PipelineDefinition", "PipelineDefinitionBody"))
    try:
        definition = json.loads(text) if text else None
    except ValueError:
        definition = None
    rows: list[PipelineStep] = []
    if isinstance(definition, Mapping) and not any(
        step.get("Type") == "Training" for step in steps(definition)
    ):
        return None
    if isinstance(definition, Mapping):
        checked = {h.name: h for h in hardening(definition)}
        for step in steps(definition):
            found = checked.get(str(step.get("Name")))
            if found is None:
                hardened, summary = None, "n/a (no job)"
            elif found.problems:
                hardened = False
                summary = "missing: " + "; ".join(p.split(": ", 1)[1] for p in found.problems)
            else:
                hardened = True
                summary = "hardened" + (
                    " (exempt: " + "; ".join(found.exemptions) + ")" if found.exemptions else ""
                )
            rows.append(
                PipelineStep(
                    str(step.get("Name")), str(step.get("Type")), _produces(step), summary, hardened
                )
            )
    return TrainingPipeline(
        name=show(resource.prop("PipelineName")) or resource.logical_id,
        definition=where,
        steps=tuple(rows),
        path=resource.label,
    )


@dataclass
class GovernedModel:
    """One model in one environment."""

    name: str
    environment: str
    account: str | None = None
    region: str | None = None
    owner: str = ""
    risk_tier: str = ""
    data_classification: str = ""
    groups: list[RegistryGroup] = field(default_factory=list)
    cards: list[ModelCard] = field(default_factory=list)
    policies: list[ApprovalPolicy] = field(default_factory=list)
    endpoints: list[Endpoint] = field(default_factory=list)
    hosted_models: list[HostedModel] = field(default_factory=list)
    monitors: list[Monitor] = field(default_factory=list)
    alarms: list[Alarm] = field(default_factory=list)
    event_rules: list[EventRule] = field(default_factory=list)
    pipelines: list[TrainingPipeline] = field(default_factory=list)
    resource_count: int = 0
    shared_resource_count: int = 0
    concerns: dict[str, int] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.name, self.environment)

    @property
    def policy(self) -> ApprovalPolicy | None:
        return next((p for p in self.policies if p.problem is None), None)

    @property
    def protected_attribute(self) -> BiasFacet | None:
        """What the approval gate checks, else what the bias monitor checks."""
        policy = self.policy
        if policy is not None and policy.bias_facet is not None:
            return policy.bias_facet
        return next((m.facet for m in self.monitors if m.facet is not None), None)

    @property
    def scheduled_monitor_types(self) -> tuple[str, ...]:
        return tuple(t for t in MONITOR_TYPES if any(m.monitoring_type == t for m in self.monitors))


# --------------------------------------------------------------------------- readers


def _statement_grant(statement: Mapping[str, Any], pseudo: Mapping[str, str]) -> Grant:
    principal = statement.get("Principal")
    raw = principal.get("AWS") if isinstance(principal, dict) else principal
    principals = []
    accounts = set()
    for value in as_list(raw):
        text = resolve(value, pseudo)
        principals.append(text if text is not None else show(value))
        if text is None:
            continue
        if _ACCOUNT.match(text):
            accounts.add(text)
        elif match := _ARN_ACCOUNT.match(text):
            accounts.add(match.group(1))
    return Grant(
        principals=tuple(principals),
        accounts=tuple(sorted(accounts)),
        actions=tuple(show(a) for a in as_list(statement.get("Action"))),
        effect=show(statement.get("Effect")) or "Allow",
    )


def _json_value(value: Any, pseudo: Mapping[str, str]) -> Any:
    """A property that holds JSON (an object, or a JSON string, possibly joined from parts)."""
    if isinstance(value, dict) and not any(str(k).startswith("Fn::") for k in value):
        return value
    text = resolve(value, pseudo)
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _registry_group(
    resource: Resource, home: str | None, pseudo: Mapping[str, str]
) -> RegistryGroup:
    policy = _json_value(resource.prop("ModelPackageGroupPolicy"), pseudo)
    statements = [s for s in as_list(dig(policy, "Statement")) if isinstance(s, dict)]
    return RegistryGroup(
        name=show(resource.prop("ModelPackageGroupName")) or resource.logical_id,
        deletion_policy=resource.deletion_policy,
        grants=tuple(_statement_grant(s, pseudo) for s in statements),
        home_account=home,
        path=resource.label,
    )


def _facet(raw: Any) -> BiasFacet | None:
    """A protected attribute from the policy's ``bias_facet`` (object or plain name)."""
    if isinstance(raw, str) and raw.strip():
        return BiasFacet(raw.strip(), "")
    if not isinstance(raw, dict):
        return None
    name = raw.get("facet") or raw.get("name") or raw.get("attribute") or raw.get("name_or_index")
    value = raw.get("facet_value", raw.get("value", raw.get("value_or_threshold")))
    if name is None:
        return None
    return BiasFacet(str(name), show(value) if value is not None else "")


def _thresholds(raw: Any) -> dict[str, dict[str, float | None]]:
    """``{"DI": {"min": .8, "max": 1.25}}``, ``{"DI": [.8, 1.25]}`` or a list of rows."""
    found: dict[str, dict[str, float | None]] = {}
    if isinstance(raw, list):
        raw = {
            str(row.get("metric") or row.get("name")): row
            for row in raw
            if isinstance(row, dict) and (row.get("metric") or row.get("name"))
        }
    if not isinstance(raw, dict):
        return found
    for metric, bounds in raw.items():
        if isinstance(bounds, dict):
            found[str(metric)] = {
                "min": number(bounds.get("min")),
                "max": number(bounds.get("max")),
            }
        elif isinstance(bounds, list) and len(bounds) == 2:
            found[str(metric)] = {"min": number(bounds[0]), "max": number(bounds[1])}
    return found


def _evidence(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, dict):  # {"bias_report": true, ...}
        return tuple(str(k) for k, v in raw.items() if v)
    return tuple(str(e) for e in as_list(raw) if e)


def approval_policy(resource: Resource, pseudo: Mapping[str, str]) -> ApprovalPolicy:
    """The effective approval policy a model's SSM parameter holds (what the gate reads)."""
    name = show(resource.prop("Name")) or resource.logical_id
    data = _json_value(resource.prop("Value"), pseudo)
    if not isinstance(data, dict):
        return ApprovalPolicy(
            name, (), "", {}, problem=f"value is not a JSON object: {show(resource.prop('Value'))}"
        )
    return ApprovalPolicy(
        parameter_name=name,
        required_evidence=_evidence(data.get("required_evidence")),
        on_failure=show(data.get("on_failure")),
        bias_thresholds=_thresholds(data.get("bias_thresholds")),
        bias_facet=_facet(
            data.get("bias_facet") or data.get("protected_attribute") or data.get("facet")
        ),
        risk_tier=show(data.get("risk_tier")),
    )


def is_approval_policy(resource: Resource) -> bool:
    """An SSM parameter whose value is a JSON object naming required evidence."""
    if resource.type != "AWS::SSM::Parameter":
        return False
    value = resource.prop("Value")
    text = value if isinstance(value, str) else show(value)
    return "required_evidence" in text


def _find_named(
    resources: Mapping[str, Resource], ref: Any, cfn_type: str, name_property: str
) -> Resource | None:
    """The resource of ``cfn_type`` that ``ref`` names, by reference or by literal name."""
    for logical_id in references(ref):
        found = resources.get(logical_id)
        if found is not None and found.type == cfn_type:
            return found
    name = literal(ref)
    if name is None:
        return None
    return next(
        (
            r
            for r in resources.values()
            if r.type == cfn_type and literal(r.prop(name_property)) == name
        ),
        None,
    )


def _endpoint(resource: Resource, stack: Mapping[str, Resource], scope: str) -> Endpoint:
    config_ref = resource.prop("EndpointConfigName")
    config = _find_named(stack, config_ref, "AWS::SageMaker::EndpointConfig", "EndpointConfigName")
    variants: list[Variant] = []
    kms_key = capture = None
    if config is not None:
        for v in as_list(config.prop("ProductionVariants")):
            if not isinstance(v, dict):
                continue
            variants.append(
                Variant(
                    name=show(v.get("VariantName")),
                    model_name=show(v.get("ModelName")),
                    instance_type=literal(v.get("InstanceType")),
                    instance_count=number(v.get("InitialInstanceCount")),
                    serverless="ServerlessConfig" in v,
                )
            )
        kms_key = show(config.prop("KmsKeyId")) or None
        if config.prop("DataCaptureConfig") is not None:
            enabled = config.prop("DataCaptureConfig", "EnableCapture")
            if enabled is not False and show(enabled).lower() != "false":
                capture = show(config.prop("DataCaptureConfig", "InitialSamplingPercentage")) or "?"
    return Endpoint(
        name=show(resource.prop("EndpointName")) or human_name(resource, scope),
        config_name=human_name(config, scope, "EndpointConfigName")
        if config is not None
        else show(config_ref),
        variants=tuple(variants),
        kms_key=kms_key,
        data_capture_percent=capture,
        path=resource.label,
    )


_APP_SPEC = {
    "AWS::SageMaker::ModelBiasJobDefinition": "ModelBiasAppSpecification",
    "AWS::SageMaker::ModelExplainabilityJobDefinition": "ModelExplainabilityAppSpecification",
}


def _clarify_facet(job: Resource, assembly: Assembly) -> BiasFacet | None:
    spec = _APP_SPEC.get(job.type)
    if spec is None:
        return None
    config = assembly.asset_json(job.prop(spec, "ConfigUri"))
    facets = [f for f in as_list(dig(config, "facet")) if isinstance(f, dict)]
    if not facets:
        return None
    first = facets[0]
    values = as_list(first.get("value_or_threshold"))
    return BiasFacet(show(first.get("name_or_index")), ", ".join(show(v) for v in values))


def _monitor(
    resource: Resource, stack: Mapping[str, Resource], scope: str, assembly: Assembly
) -> Monitor:
    config = resource.prop("MonitoringScheduleConfig") or {}
    job_ref = dig(config, "MonitoringJobDefinitionName")
    job: Resource | None = None
    for cfn_type in JOB_DEFINITION_TYPES:
        job = job or _find_named(stack, job_ref, cfn_type, "JobDefinitionName")
    if job is not None:
        cluster = job.prop("JobResources", "ClusterConfig")
        stopping = job.prop("StoppingCondition")
        job_label = human_name(job, scope, "JobDefinitionName")
    else:  # an inline MonitoringJobDefinition (or a definition outside this assembly)
        inline = dig(config, "MonitoringJobDefinition")
        cluster = dig(inline, "MonitoringResources", "ClusterConfig")
        stopping = dig(inline, "StoppingCondition")
        job_label = "inline" if inline is not None else show(job_ref)
    monitoring_type = (
        show(dig(config, "MonitoringType"))
        or (JOB_DEFINITION_TYPES.get(job.type, "") if job is not None else "")
        or resource.tags.get(MONITOR_TYPE_TAG, "")
        or "unknown"
    )
    return Monitor(
        name=show(resource.prop("MonitoringScheduleName")) or human_name(resource, scope),
        monitoring_type=monitoring_type,
        schedule_expression=show(dig(config, "ScheduleConfig", "ScheduleExpression")),
        job_definition=job_label,
        instance_type=literal(dig(cluster, "InstanceType")),
        instance_count=number(dig(cluster, "InstanceCount")),
        volume_gb=number(dig(cluster, "VolumeSizeInGB")),
        max_runtime_seconds=number(dig(stopping, "MaxRuntimeInSeconds")),
        path=resource.label,
        facet=_clarify_facet(job, assembly) if job is not None else None,
    )


def _pipeline_monitors(
    schedule: Resource, stack: Mapping[str, Resource], scope: str
) -> list[Monitor]:
    """The scheduled checks of an EventBridge Scheduler schedule that starts a SageMaker
    pipeline with an inline definition: each processing step that names its MonitoringType
    (the Evidently engine's single check; a batch-scoring pipeline's checks, after its transform
    step, which is listed too). Empty for any other schedule."""
    from cdk_constructs.compliance.rules.batch import body_transform_steps
    from cdk_constructs.compliance.rules.pipelines import definition_steps, is_clarify_step
    from governance.contracts.vocabulary import ENV_MONITORING_TYPE, ENV_SCHEDULE_NAME

    arn = literal(schedule.prop("Target", "Arn"))
    if arn is None or ":pipeline/" not in arn:
        return []
    pipeline = _find_named(stack, arn.rsplit("/", 1)[1], "AWS::SageMaker::Pipeline", "PipelineName")
    if pipeline is None:
        return []
    name = show(pipeline.prop("PipelineName"))
    body = pipeline.prop("PipelineDefinition", "PipelineDefinitionBody")
    transforms = (body_transform_steps(body) or ([], []))[0]
    prefix = BATCH_JOB_PREFIX if transforms else EVIDENTLY_JOB_PREFIX
    expression = show(schedule.prop("ScheduleExpression"))
    found = [
        Monitor(
            name=name,
            monitoring_type=BATCH_TRANSFORM,
            schedule_expression=expression,
            job_definition=f"{prefix}{name}",
            instance_type=literal(dig(step, "TransformResources", "InstanceType")),
            instance_count=number(dig(step, "TransformResources", "InstanceCount")),
            volume_gb=None,
            max_runtime_seconds=None,  # CreateTransformJob has no stopping condition
            path=schedule.label,
        )
        for step in transforms
    ]
    typed = [
        step
        for step in definition_steps(body) or []
        if isinstance((step.get("Environment") or {}).get(ENV_MONITORING_TYPE), str)
    ]
    clarify_step = any(is_clarify_step(step) for step in typed)
    for position, step in enumerate(typed, start=1):
        environment = step.get("Environment") or {}
        kind = environment[ENV_MONITORING_TYPE]
        cluster = dig(step, "ProcessingResources", "ClusterConfig")
        check = environment.get(ENV_SCHEDULE_NAME)
        base = (
            (check if isinstance(check, str) and transforms else None)
            or show(schedule.prop("Name"))
            or human_name(schedule, scope)
        )
        # One check run as several jobs (explainability: dataset, Clarify, check): each job is
        # listed and priced, named by its place in the run.
        several = not transforms and len(typed) > 1
        found.append(
            Monitor(
                name=f"{base} (job {position} of {len(typed)})" if several else base,
                monitoring_type=kind,
                schedule_expression=expression,
                job_definition=f"{prefix}{name}",
                instance_type=literal(dig(cluster, "InstanceType")),
                instance_count=number(dig(cluster, "InstanceCount")),
                volume_gb=number(dig(cluster, "VolumeSizeInGB")),
                max_runtime_seconds=number(dig(step, "StoppingCondition", "MaxRuntimeInSeconds")),
                path=schedule.label,
                clarify_step=clarify_step,
            )
        )
    return found


def _alarm(resource: Resource) -> Alarm:
    return Alarm(
        name=construct_id(resource, "AlarmName"),
        description=show(resource.prop("AlarmDescription")),
        metric=show(resource.prop("MetricName"))
        or ("metric math" if resource.prop("Metrics") else ""),
        namespace=show(resource.prop("Namespace")),
        threshold=show(resource.prop("Threshold")),
        comparison=show(resource.prop("ComparisonOperator")),
        actions=tuple(show(a) for a in as_list(resource.prop("AlarmActions"))),
        path=resource.label,
    )


def _event_rule(resource: Resource, shared: bool) -> EventRule:
    pattern = resource.prop("EventPattern")
    if isinstance(pattern, str):
        try:
            pattern = json.loads(pattern)
        except json.JSONDecodeError:
            pattern = None
    targets = [t for t in as_list(resource.prop("Targets")) if isinstance(t, dict)]
    return EventRule(
        name=construct_id(resource, "Name"),
        state=show(resource.prop("State")) or "ENABLED",
        detail_types=tuple(show(d) for d in as_list(dig(pattern, "detail-type"))),
        targets=len(targets),
        has_dead_letter_queue=bool(targets) and all("DeadLetterConfig" in t for t in targets),
        shared=shared,
        path=resource.label,
    )


def _add(  # noqa: PLR0912, PLR0917 - one branch per resource type; private helper
    model: GovernedModel,
    resource: Resource,
    entry: InventoryResource,
    scope: str,
    assembly: Assembly,
    stack: Mapping[str, Resource],
) -> None:
    shared = len(entry.models) > 1 or not entry.path.startswith(scope + "/")
    model.concerns[entry.concern] = model.concerns.get(entry.concern, 0) + 1
    if shared:
        model.shared_resource_count += 1
    else:
        model.resource_count += 1
        model.owner = model.owner or resource.tags.get(OWNER_TAG, "")
        model.risk_tier = model.risk_tier or resource.tags.get(RISK_TIER_TAG, "")
        model.data_classification = model.data_classification or resource.tags.get(
            DATA_CLASSIFICATION_TAG, ""
        )
    stack_info = assembly.stack(resource.stack)
    pseudo = stack_info.pseudo if stack_info is not None else {}
    match resource.type:
        case "AWS::SageMaker::ModelPackageGroup":
            model.groups.append(_registry_group(resource, model.account, pseudo))
        case "AWS::SageMaker::ModelCard":
            model.cards.append(
                ModelCard(
                    name=show(resource.prop("ModelCardName")) or human_name(resource, scope),
                    status=show(resource.prop("ModelCardStatus")),
                    kms_key=show(resource.prop("SecurityConfig", "KmsKeyId")) or None,
                    path=resource.label,
                )
            )
        case "AWS::SSM::Parameter" if is_approval_policy(resource):
            model.policies.append(approval_policy(resource, pseudo))
        case "AWS::SageMaker::Endpoint":
            model.endpoints.append(_endpoint(resource, stack, scope))
        case "AWS::SageMaker::Model":
            model.hosted_models.append(
                HostedModel(
                    name=show(resource.prop("ModelName")) or human_name(resource, scope),
                    network_isolation=show(resource.prop("EnableNetworkIsolation")) or "false",
                    vpc=resource.prop("VpcConfig") is not None,
                    path=resource.label,
                )
            )
        case "AWS::SageMaker::MonitoringSchedule":
            model.monitors.append(_monitor(resource, stack, scope, assembly))
        case "AWS::Scheduler::Schedule":
            model.monitors.extend(_pipeline_monitors(resource, stack, scope))
        case "AWS::CloudWatch::Alarm" if not shared:
            model.alarms.append(_alarm(resource))
        case "AWS::Events::Rule":
            model.event_rules.append(_event_rule(resource, shared))
        case "AWS::SageMaker::Pipeline" if (
            trained := _training_pipeline(resource, assembly)
        ) is not None:
            model.pipelines.append(trained)
        case _:
            pass


def _policies_outside_scope(
    assembly: Assembly, inventory: Inventory, model: GovernedModel
) -> list[ApprovalPolicy]:
    """A policy parameter the app keeps outside the model's scope (e.g. one per risk tier)
    that names the model, or else its risk tier, in the same environment."""
    found: dict[str, list[ApprovalPolicy]] = {"model": [], "tier": []}
    for stack_name in next(
        (e.stacks for e in inventory.environments if e.name == model.environment), ()
    ):
        stack = assembly.stack(stack_name)
        if stack is None:
            continue
        for resource in stack.resources:
            if not is_approval_policy(resource):
                continue
            data = _json_value(resource.prop("Value"), stack.pseudo)
            if not isinstance(data, dict):
                continue
            names = {data.get("model_name"), data.get("model_package_group_name")}
            if model.name in names:
                found["model"].append(approval_policy(resource, stack.pseudo))
            elif (
                not names - {None} and model.risk_tier and data.get("risk_tier") == model.risk_tier
            ):
                found["tier"].append(approval_policy(resource, stack.pseudo))
    return found["model"] or found["tier"]


def governed_models(assembly: Assembly) -> list[GovernedModel]:
    """One entry per model and environment, in model then environment order (config order)."""
    inventory = assembly.inventory
    if inventory is None:
        return []
    templates = {s.name: s.by_logical_id() for s in assembly.stacks}
    environments = {e.name: e for e in inventory.environments}
    order = {name: i for i, name in enumerate(inventory.environment_names)}
    models: list[GovernedModel] = []
    for entry in inventory.models:
        env = environments.get(entry.environment)
        model = GovernedModel(
            entry.name,
            entry.environment,
            account=env.account if env else None,
            region=env.region if env else None,
        )
        for owned in inventory.resources_of(entry.name, entry.environment):
            stack = templates.get(owned.stack, {})
            resource = stack.get(owned.logical_id)
            if resource is not None:
                _add(model, resource, owned, entry.path, assembly, stack)
        if not model.policies:
            model.policies += _policies_outside_scope(assembly, inventory, model)
        policy = model.policy
        if policy is not None and policy.risk_tier and not model.risk_tier:
            model.risk_tier = policy.risk_tier
        models.append(model)
    return sorted(models, key=lambda m: (m.name, order.get(m.environment, len(order))))


def models_by_name(models: Sequence[GovernedModel]) -> dict[str, list[GovernedModel]]:
    grouped: dict[str, list[GovernedModel]] = {}
    for model in models:
        grouped.setdefault(model.name, []).append(model)
    return grouped

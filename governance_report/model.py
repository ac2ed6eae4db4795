"""Parse a CDK cloud assembly (``cdk.out``) into typed, render-ready dataclasses.

Only the files ``cdk synth`` writes are read (``manifest.json``, each stack's template and
``validation-report.json``): no app import, no AWS call. Templates may hold CloudFormation
intrinsics anywhere; :func:`show` renders them readably (``Ref(Foo)``) instead of failing.

A model's resources are found by the ``governance:model`` tag (see ``cdk_constructs/tags.py``),
by the approval-policy parameter's name, and by references from or to a resource already known
to belong to the model (an untagged endpoint config referenced by a tagged endpoint).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Duplicated from cdk_constructs.tags on purpose: the report reads cdk.out alone, without the app.
MODEL_TAG = "governance:model"
OWNER_TAG = "governance:owner"
RISK_TIER_TAG = "governance:risk-tier"
DATA_CLASSIFICATION_TAG = "governance:data-classification"
MONITOR_TYPE_TAG = "governance:monitor-type"
POLICY_PARAMETER_PREFIX = "/sagemaker-governance/models/"
GOVERNANCE_PACK = "Governance"

STACK_ARTIFACT = "aws:cloudformation:stack"
JOB_DEFINITION_TYPES = {
    "AWS::SageMaker::DataQualityJobDefinition": "DataQuality",
    "AWS::SageMaker::ModelQualityJobDefinition": "ModelQuality",
    "AWS::SageMaker::ModelBiasJobDefinition": "ModelBias",
    "AWS::SageMaker::ModelExplainabilityJobDefinition": "ModelExplainability",
}
_ACCOUNT = re.compile(r"^\d{12}$")
_ARN_ACCOUNT = re.compile(r"^arn:[^:]*:[^:]*:[^:]*:(\d{12}):")


class AssemblyError(Exception):
    """The folder is not a readable cloud assembly."""


# --------------------------------------------------------------------------- intrinsics


def show(value: Any) -> str:  # noqa: PLR0911 - one return per JSON kind
    """A template value as text a reviewer can read; intrinsics become ``Ref(Foo)`` etc."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list):
        return ", ".join(show(item) for item in value)
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, arg),) = value.items()
            return _show_intrinsic(str(key), arg)
        return ", ".join(f"{key}={show(item)}" for key, item in value.items())
    return str(value)


_PUBLISHED_OUTPUT = re.compile(
    r"^PublishOutput(?:Ref|FnGetAtt)?(?P<name>.+?)(?P<hash>[0-9A-F]{8}){1,2}$"
)


def _show_cross_stack(arg: Any) -> str:
    """``Fn::GetStackOutput`` / ``Fn::ImportValue`` as "<stack>: <what>", without CDK's hashes."""
    if isinstance(arg, dict):
        stack = show(arg.get("StackName", "?"))
        output = show(arg.get("OutputName", "?"))
    else:
        stack, output = "another stack", show(arg)
    match = _PUBLISHED_OUTPUT.match(output)
    what = re.sub(r"[0-9A-F]{8}", ".", match.group("name")) if match else output
    return f"{what} (from {stack})"


def _show_intrinsic(key: str, arg: Any) -> str:  # noqa: PLR0911 - one return per intrinsic
    if key == "Ref":
        return f"Ref({show(arg)})"
    if key == "Fn::GetAtt":
        parts = arg if isinstance(arg, list) else str(arg).split(".", 1)
        return f"GetAtt({'.'.join(show(part) for part in parts)})"
    if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
        return show(arg[0]).join(show(part) for part in arg[1])
    if key == "Fn::Sub":
        template = arg[0] if isinstance(arg, list) and arg else arg
        return f"Sub({show(template)})"
    if key in {"Fn::GetStackOutput", "Fn::ImportValue"}:
        return _show_cross_stack(arg)
    if key.startswith("Fn::"):
        return f"{key[4:]}({show(arg)})"
    return f"{key}={show(arg)}"


def literal(value: Any) -> str | None:
    """The value when it is a plain scalar; ``None`` for intrinsics and missing values."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int | float):
        return str(value)
    return None


def number(value: Any) -> float | None:
    """A plain number (CloudFormation often writes numbers as strings); else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def dig(value: Any, *keys: str) -> Any:
    """``value[k1][k2]...`` or ``None`` when a level is missing or not an object."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def references(value: Any) -> set[str]:
    """Logical ids that ``value`` points at through ``Ref`` / ``Fn::GetAtt`` / ``Fn::Sub``."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str) and not item.startswith("AWS::"):
                found.add(item)
            elif key == "Fn::GetAtt":
                target = item[0] if isinstance(item, list) and item else str(item).split(".")[0]
                if isinstance(target, str):
                    found.add(target)
            elif key == "Fn::Sub":
                template = item[0] if isinstance(item, list) and item else item
                if isinstance(template, str):
                    found |= {
                        name.split(".")[0]
                        for name in re.findall(r"\$\{([^}!]+)\}", template)
                        if not name.startswith("AWS::")
                    }
                found |= references(item[1:] if isinstance(item, list) else None)
            else:
                found |= references(item)
    return found


# --------------------------------------------------------------------------- assembly


@dataclass(frozen=True)
class Resource:
    stack: str
    logical_id: str
    type: str
    properties: Mapping[str, Any]
    deletion_policy: str | None
    path: str
    tags: Mapping[str, str]

    def prop(self, *keys: str) -> Any:
        return dig(self.properties, *keys)

    @property
    def label(self) -> str:
        """The construct path when CDK recorded one, else ``stack/logical id``."""
        return self.path or f"{self.stack}/{self.logical_id}"


@dataclass(frozen=True)
class Stack:
    name: str
    template_file: str
    account: str | None
    region: str | None
    resources: tuple[Resource, ...]


@dataclass(frozen=True)
class Finding:
    pack: str
    rule: str
    description: str
    severity: str
    construct_paths: tuple[str, ...]


@dataclass(frozen=True)
class Acknowledgment:
    pack: str
    rule: str
    construct_paths: tuple[str, ...]
    reason: str
    acknowledged_at: str


@dataclass(frozen=True)
class PackReport:
    name: str
    conclusion: str
    findings: tuple[Finding, ...]
    acknowledgments: tuple[Acknowledgment, ...]
    # The pack's full rule list, when its report publishes one (needed to list passed rules).
    rule_ids: tuple[str, ...] | None


@dataclass(frozen=True)
class ValidationReport:
    packs: tuple[PackReport, ...]

    def pack(self, name: str) -> PackReport | None:
        return next((p for p in self.packs if p.name == name), None)


@dataclass(frozen=True)
class Assembly:
    folder: Path
    stacks: tuple[Stack, ...]
    validation: ValidationReport | None
    validation_problem: str | None = None

    @property
    def resources(self) -> Iterable[Resource]:
        for stack in self.stacks:
            yield from stack.resources


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise AssemblyError(f"{path} is not valid JSON: {error}") from error


def _tags(properties: Mapping[str, Any]) -> dict[str, str]:
    raw = properties.get("Tags")
    if isinstance(raw, dict):  # AWS::SSM::Parameter and a few others use a map
        return {str(k): show(v) for k, v in raw.items()}
    tags: dict[str, str] = {}
    for item in as_list(raw):
        if isinstance(item, dict) and isinstance(item.get("Key"), str):
            tags[item["Key"]] = show(item.get("Value"))
    return tags


def _environment(artifact: Mapping[str, Any]) -> tuple[str | None, str | None]:
    env = artifact.get("environment")
    if isinstance(env, str) and env.startswith("aws://"):
        account, _, region = env.removeprefix("aws://").partition("/")
        return (
            account if _ACCOUNT.match(account) else None,
            region if region and "unknown" not in region else None,
        )
    return None, None


def _stack(folder: Path, name: str, artifact: Mapping[str, Any]) -> Stack:
    template_file = str(dig(artifact, "properties", "templateFile") or f"{name}.template.json")
    path = folder / template_file
    if not path.is_file():
        raise AssemblyError(f"stack {name}: template {template_file} not found in {folder}")
    template = _read_json(path)
    resources = []
    raw_resources = template.get("Resources") if isinstance(template, dict) else None
    for logical_id, raw in (raw_resources or {}).items():
        if not isinstance(raw, dict):
            continue
        properties = raw.get("Properties")
        properties = properties if isinstance(properties, dict) else {}
        resources.append(
            Resource(
                stack=name,
                logical_id=str(logical_id),
                type=str(raw.get("Type", "")),
                properties=properties,
                deletion_policy=literal(raw.get("DeletionPolicy")),
                path=str(dig(raw, "Metadata", "aws:cdk:path") or ""),
                tags=_tags(properties),
            )
        )
    account, region = _environment(artifact)
    return Stack(name, template_file, account, region, tuple(resources))


def _paths(entry: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(
        str(c.get("constructPath", ""))
        for c in as_list(entry.get("violatingConstructs"))
        if isinstance(c, dict)
    )


def _rule_ids(plugin: Mapping[str, Any]) -> tuple[str, ...] | None:
    for found in (plugin.get("ruleIds"), dig(plugin, "metadata", "ruleIds")):
        raw = found
        if isinstance(found, str):
            try:
                raw = json.loads(found)
            except json.JSONDecodeError:
                raw = [part.strip() for part in found.split(",") if part.strip()]
        if isinstance(raw, list):
            return tuple(str(rule) for rule in raw)
    return None


def parse_validation_report(raw: Any) -> ValidationReport:
    packs = []
    for plugin in as_list(dig(raw, "pluginReports")):
        if not isinstance(plugin, dict):
            continue
        name = str(plugin.get("pluginName", "unknown"))
        findings = tuple(
            Finding(
                pack=name,
                rule=str(v.get("ruleName", "")),
                description=str(v.get("description", "")),
                severity=str(v.get("severity", "")),
                construct_paths=_paths(v),
            )
            for v in as_list(plugin.get("violations"))
            if isinstance(v, dict)
        )
        acknowledgments = tuple(
            Acknowledgment(
                pack=name,
                rule=str(s.get("ruleName", "")),
                construct_paths=_paths(s),
                reason=str(s.get("reason", "")),
                acknowledged_at=str(s.get("acknowledgedAt", "")),
            )
            for s in as_list(plugin.get("suppressedViolations"))
            if isinstance(s, dict)
        )
        packs.append(
            PackReport(
                name=name,
                conclusion=str(plugin.get("conclusion", "")),
                findings=findings,
                acknowledgments=acknowledgments,
                rule_ids=_rule_ids(plugin),
            )
        )
    return ValidationReport(tuple(packs))


def load_assembly(folder: Path) -> Assembly:
    """Read ``folder`` (a ``cdk.out``). Raises :class:`AssemblyError` when it is not one."""
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise AssemblyError(
            f"{folder} is not a CDK cloud assembly: manifest.json not found "
            "(run `cdk synth` first, or pass --assembly <cdk.out folder>)"
        )
    manifest = _read_json(manifest_path)
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    stacks = tuple(
        _stack(folder, name, artifact)
        for name, artifact in sorted((artifacts or {}).items())
        if isinstance(artifact, dict) and artifact.get("type") == STACK_ARTIFACT
    )
    report_path = folder / "validation-report.json"
    validation: ValidationReport | None = None
    problem: str | None = None
    if not report_path.is_file():
        problem = (
            "validation-report.json is missing: the compliance packs did not run (or wrote no "
            "report) for this assembly, so no findings or acknowledgments are shown."
        )
    else:
        try:
            validation = parse_validation_report(_read_json(report_path))
        except AssemblyError as error:
            problem = f"validation-report.json could not be read: {error}"
    return Assembly(folder, stacks, validation, problem)


# --------------------------------------------------------------------------- per-model view


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
            sorted(
                {
                    action
                    for grant in self.grants
                    if grant.effect == "Allow"
                    for action in grant.actions
                }
            )
        )


@dataclass(frozen=True)
class ModelCard:
    name: str
    status: str
    kms_key: str | None
    path: str


@dataclass(frozen=True)
class ApprovalPolicy:
    parameter_name: str
    required_evidence: tuple[str, ...]
    on_failure: str
    bias_thresholds: Mapping[str, Mapping[str, float | None]]
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


@dataclass(frozen=True)
class Alarm:
    name: str
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
    path: str


@dataclass
class GovernedModel:
    name: str
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
    resource_count: int = 0


def _key(resource: Resource) -> tuple[str, str]:
    return (resource.stack, resource.logical_id)


def _policy_model_name(resource: Resource) -> str | None:
    if resource.type != "AWS::SSM::Parameter":
        return None
    name = literal(resource.prop("Name"))
    if name and name.startswith(POLICY_PARAMETER_PREFIX):
        return name.removeprefix(POLICY_PARAMETER_PREFIX) or None
    return None


def _group_names_in_pattern(resource: Resource) -> set[str]:
    pattern = resource.prop("EventPattern")
    if isinstance(pattern, str):
        try:
            pattern = json.loads(pattern)
        except json.JSONDecodeError:
            return set()
    names = dig(pattern, "detail", "ModelPackageGroupName")
    return {n for n in as_list(names) if isinstance(n, str)}


def assign_owners(assembly: Assembly) -> dict[tuple[str, str], set[str]]:  # noqa: PLR0912
    """Which governed model(s) each resource belongs to, keyed by (stack, logical id)."""
    owners: dict[tuple[str, str], set[str]] = {}
    by_stack: dict[str, dict[str, Resource]] = {}
    group_owner: dict[str, str] = {}
    for resource in assembly.resources:
        by_stack.setdefault(resource.stack, {})[resource.logical_id] = resource
        model = resource.tags.get(MODEL_TAG) or _policy_model_name(resource)
        if model:
            owners.setdefault(_key(resource), set()).add(model)
            name = literal(resource.prop("ModelPackageGroupName"))
            if resource.type == "AWS::SageMaker::ModelPackageGroup" and name:
                group_owner[name] = model
    for resource in assembly.resources:
        if resource.type == "AWS::Events::Rule" and _key(resource) not in owners:
            models = {group_owner[n] for n in _group_names_in_pattern(resource) if n in group_owner}
            if models:
                owners[_key(resource)] = models
    # Untagged resources inherit through references within a stack, in both directions:
    # a tagged endpoint's config, a job definition a tagged schedule runs, an alarm on a monitor.
    changed = True
    while changed:
        changed = False
        for stack, resources in by_stack.items():
            for resource in resources.values():
                refs = {r for r in references(resource.properties) if r in resources}
                mine = owners.get((stack, resource.logical_id))
                for ref in refs:
                    theirs = owners.get((stack, ref))
                    if mine and not theirs and resources[ref].type != "AWS::SSM::Parameter":
                        if _shared_infrastructure(resources[ref]):
                            continue
                        owners[(stack, ref)] = set(mine)
                        changed = True
                    elif theirs and not mine and not _shared_infrastructure(resource):
                        owners[(stack, resource.logical_id)] = mine = set(theirs)
                        changed = True
    return owners


def _shared_infrastructure(resource: Resource) -> bool:
    """Resources many models use (keys, roles, topics): never attributed to one model."""
    return not (
        resource.type.startswith("AWS::SageMaker::")
        or resource.type in ("AWS::CloudWatch::Alarm", "AWS::Events::Rule")
    )


def _statement_grant(statement: Mapping[str, Any]) -> Grant:
    principal = statement.get("Principal")
    raw = principal.get("AWS") if isinstance(principal, dict) else principal
    principals = tuple(show(p) for p in as_list(raw))
    accounts = []
    for p in principals:
        if _ACCOUNT.match(p):
            accounts.append(p)
        elif match := _ARN_ACCOUNT.match(p):
            accounts.append(match.group(1))
    return Grant(
        principals=principals,
        accounts=tuple(sorted(set(accounts))),
        actions=tuple(show(a) for a in as_list(statement.get("Action"))),
        effect=show(statement.get("Effect")) or "Allow",
    )


def _registry_group(resource: Resource, home_account: str | None) -> RegistryGroup:
    policy = resource.prop("ModelPackageGroupPolicy")
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except json.JSONDecodeError:
            policy = None
    statements = [s for s in as_list(dig(policy, "Statement")) if isinstance(s, dict)]
    return RegistryGroup(
        name=show(resource.prop("ModelPackageGroupName")) or resource.logical_id,
        deletion_policy=resource.deletion_policy,
        grants=tuple(_statement_grant(s) for s in statements),
        home_account=home_account,
        path=resource.label,
    )


def _approval_policy(resource: Resource) -> ApprovalPolicy:
    name = show(resource.prop("Name"))
    value = resource.prop("Value")
    if not isinstance(value, str):
        return ApprovalPolicy(name, (), "", {}, problem=f"value is not literal JSON: {show(value)}")
    try:
        data = json.loads(value)
    except json.JSONDecodeError as error:
        return ApprovalPolicy(name, (), "", {}, problem=f"value is not JSON: {error}")
    if not isinstance(data, dict):
        return ApprovalPolicy(name, (), "", {}, problem="value is not a JSON object")
    thresholds: dict[str, dict[str, float | None]] = {}
    for metric, bounds in (data.get("bias_thresholds") or {}).items():
        if isinstance(bounds, dict):
            thresholds[str(metric)] = {
                "min": number(bounds.get("min")),
                "max": number(bounds.get("max")),
            }
    return ApprovalPolicy(
        parameter_name=name,
        required_evidence=tuple(str(e) for e in as_list(data.get("required_evidence"))),
        on_failure=show(data.get("on_failure")),
        bias_thresholds=thresholds,
    )


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


def _endpoint(resource: Resource, stack: Mapping[str, Resource]) -> Endpoint:
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
            capture = show(config.prop("DataCaptureConfig", "InitialSamplingPercentage")) or "?"
    return Endpoint(
        name=show(resource.prop("EndpointName")) or resource.logical_id,
        config_name=(show(config.prop("EndpointConfigName")) or config.logical_id)
        if config is not None
        else show(config_ref),
        variants=tuple(variants),
        kms_key=kms_key,
        data_capture_percent=capture,
        path=resource.label,
    )


def _monitor(resource: Resource, stack: Mapping[str, Resource]) -> Monitor:
    config = resource.prop("MonitoringScheduleConfig") or {}
    job_ref = dig(config, "MonitoringJobDefinitionName")
    job: Resource | None = None
    for cfn_type in JOB_DEFINITION_TYPES:
        job = job or _find_named(stack, job_ref, cfn_type, "JobDefinitionName")
    if job is not None:
        cluster = job.prop("JobResources", "ClusterConfig")
        stopping = job.prop("StoppingCondition")
        job_label = show(job.prop("JobDefinitionName")) or job.logical_id
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
        name=show(resource.prop("MonitoringScheduleName")) or resource.logical_id,
        monitoring_type=monitoring_type,
        schedule_expression=show(dig(config, "ScheduleConfig", "ScheduleExpression")),
        job_definition=job_label,
        instance_type=literal(dig(cluster, "InstanceType")),
        instance_count=number(dig(cluster, "InstanceCount")),
        volume_gb=number(dig(cluster, "VolumeSizeInGB")),
        max_runtime_seconds=number(dig(stopping, "MaxRuntimeInSeconds")),
        path=resource.label,
    )


def _alarm(resource: Resource) -> Alarm:
    return Alarm(
        name=show(resource.prop("AlarmName")) or resource.logical_id,
        metric=show(resource.prop("MetricName"))
        or ("metric math" if resource.prop("Metrics") else ""),
        namespace=show(resource.prop("Namespace")),
        threshold=show(resource.prop("Threshold")),
        comparison=show(resource.prop("ComparisonOperator")),
        actions=tuple(show(a) for a in as_list(resource.prop("AlarmActions"))),
        path=resource.label,
    )


def _event_rule(resource: Resource) -> EventRule:
    pattern = resource.prop("EventPattern")
    if isinstance(pattern, str):
        try:
            pattern = json.loads(pattern)
        except json.JSONDecodeError:
            pattern = None
    targets = [t for t in as_list(resource.prop("Targets")) if isinstance(t, dict)]
    return EventRule(
        name=show(resource.prop("Name")) or resource.logical_id,
        state=show(resource.prop("State")) or "ENABLED",
        detail_types=tuple(show(d) for d in as_list(dig(pattern, "detail-type"))),
        targets=len(targets),
        has_dead_letter_queue=bool(targets) and all("DeadLetterConfig" in t for t in targets),
        path=resource.label,
    )


def governed_models(assembly: Assembly) -> list[GovernedModel]:
    """One entry per governed model, in name order, with the controls declared for it."""
    owners = assign_owners(assembly)
    models: dict[str, GovernedModel] = {}
    stacks = {s.name: {r.logical_id: r for r in s.resources} for s in assembly.stacks}
    accounts = {s.name: s.account for s in assembly.stacks}
    for resource in assembly.resources:
        for name in sorted(owners.get(_key(resource), ())):
            model = models.setdefault(name, GovernedModel(name))
            model.resource_count += 1
            model.owner = model.owner or resource.tags.get(OWNER_TAG, "")
            model.risk_tier = model.risk_tier or resource.tags.get(RISK_TIER_TAG, "")
            model.data_classification = model.data_classification or resource.tags.get(
                DATA_CLASSIFICATION_TAG, ""
            )
            stack = stacks[resource.stack]
            match resource.type:
                case "AWS::SageMaker::ModelPackageGroup":
                    model.groups.append(_registry_group(resource, accounts[resource.stack]))
                case "AWS::SageMaker::ModelCard":
                    model.cards.append(
                        ModelCard(
                            name=show(resource.prop("ModelCardName")) or resource.logical_id,
                            status=show(resource.prop("ModelCardStatus")),
                            kms_key=show(resource.prop("SecurityConfig", "KmsKeyId")) or None,
                            path=resource.label,
                        )
                    )
                case "AWS::SSM::Parameter" if _policy_model_name(resource):
                    model.policies.append(_approval_policy(resource))
                case "AWS::SageMaker::Endpoint":
                    model.endpoints.append(_endpoint(resource, stack))
                case "AWS::SageMaker::Model":
                    model.hosted_models.append(
                        HostedModel(
                            name=show(resource.prop("ModelName")) or resource.logical_id,
                            network_isolation=show(resource.prop("EnableNetworkIsolation"))
                            or "false",
                            vpc=resource.prop("VpcConfig") is not None,
                            path=resource.label,
                        )
                    )
                case "AWS::SageMaker::MonitoringSchedule":
                    model.monitors.append(_monitor(resource, stack))
                case "AWS::CloudWatch::Alarm":
                    model.alarms.append(_alarm(resource))
                case "AWS::Events::Rule":
                    model.event_rules.append(_event_rule(resource))
                case _:
                    pass
    return [models[name] for name in sorted(models)]


# --------------------------------------------------------------------------- our pack


def base_rule(rule_name: str) -> str:
    """``Governance-MDL1[Undecidable]`` → ``Governance-MDL1``."""
    return rule_name.split("[", 1)[0]


@dataclass(frozen=True)
class GovernancePackStatus:
    ran: bool
    rule_ids: tuple[str, ...] | None  # None: the report does not list the pack's rules
    with_findings: tuple[str, ...]
    acknowledged: tuple[str, ...]

    @property
    def passed(self) -> tuple[str, ...]:
        """Rules with neither an open finding nor an acknowledged one."""
        if self.rule_ids is None:
            return ()
        flagged = set(self.with_findings) | set(self.acknowledged)
        return tuple(r for r in sorted(self.rule_ids) if base_rule(r) not in flagged)


GOVERNANCE_PACK_MANIFEST = "governance-pack.json"


def read_pack_manifest(folder: Path) -> tuple[str, ...] | None:
    """Rule ids the app registered (``governance-pack.json``), or None when it wrote none.

    cdk-nag leaves a pack with nothing to report out of validation-report.json, so the app
    writes this manifest to say that the pack ran and which rules it holds.
    """
    path = folder / GOVERNANCE_PACK_MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return _rule_ids(data) if isinstance(data, dict) else None


def governance_pack_status(
    validation: ValidationReport | None, registered: tuple[str, ...] | None = None
) -> GovernancePackStatus:
    pack = validation.pack(GOVERNANCE_PACK) if validation is not None else None
    if pack is None:
        if registered is not None and validation is not None:
            # Registered and ran, but had nothing to report: every rule passed.
            return GovernancePackStatus(True, registered, (), ())
        return GovernancePackStatus(False, None, (), ())
    return GovernancePackStatus(
        ran=True,
        rule_ids=pack.rule_ids if pack.rule_ids is not None else registered,
        with_findings=tuple(sorted({base_rule(f.rule) for f in pack.findings})),
        acknowledged=tuple(sorted({base_rule(a.rule) for a in pack.acknowledgments})),
    )

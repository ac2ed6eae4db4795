"""Every physical name the app gives an AWS resource, composed from config, with its rule.

Names a human or a handler must find are fixed (stack, endpoint, schedule, dashboard, parameter,
model package group, model card, key alias); everything else gets a CloudFormation-generated name.
Each fixed name is composed from config strings here, checked against the limit of the API that
creates it, and compared with the synthesized templates by ``tests/config`` so the two never drift.

Two environments that may share an account and region would both create the account-wide,
region-wide names that carry no environment (model package group, model card, approval-policy
parameter): :func:`shared_names` lists them for the collision check.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import cdk_constructs  # noqa: F401  (puts the handlers' contract module, lambda/, on the path)
from config.api_constraints import ApiParameter, documentation
from governance.contracts.vocabulary import ENDPOINT_PARAMETER_PREFIX, POLICY_PARAMETER_PREFIX

KEY_DOMAINS = ("artifacts", "data-capture", "monitoring", "audit", "logs", "alerts")
"""The foundation's KMS key domains (``cdk_constructs.encryption.DataDomain``; a test compares)."""


@dataclass(frozen=True)
class DocumentedRule:
    """A naming rule AWS states only in prose (botocore ships it as documentation, not shape).

    ``phrases`` are quoted from that documentation; a test checks they are still there, so a
    changed rule is noticed on the next botocore upgrade.
    """

    parameter: ApiParameter
    pattern: str
    max_length: int
    words: str
    phrases: tuple[str, ...]

    @property
    def source(self) -> str:
        return f"{self.parameter.source} (documentation)"

    def documented(self) -> bool:
        text = documentation(self.parameter)
        return all(phrase in text for phrase in self.phrases)

    def violation(self, value: str) -> str | None:
        if len(value) > self.max_length:
            return f"is {len(value)} characters long; AWS allows at most {self.max_length}"
        if not re.fullmatch(self.pattern, value):
            return f"must be {self.words}"
        return None


STACK_NAME = DocumentedRule(
    parameter=ApiParameter("cloudformation", "CreateStack", "StackName"),
    pattern=r"[A-Za-z][A-Za-z0-9-]*",
    max_length=128,
    words="letters, digits and hyphens, starting with a letter, at most 128 characters",
    phrases=(
        "can contain only alphanumeric characters (case sensitive) and hyphens",
        "must start with an alphabetical character",
        "can't be longer than 128 characters",
    ),
)
DASHBOARD_NAME = DocumentedRule(
    parameter=ApiParameter("cloudwatch", "PutDashboard", "DashboardName"),
    pattern=r"[A-Za-z0-9_-]+",
    max_length=255,
    words="letters, digits, hyphens and underscores, at most 255 characters",
    phrases=("The maximum length is 255", 'valid characters are A-Z, a-z, 0-9, "-", and "_"'),
)
ENDPOINT_NAME = ApiParameter("sagemaker", "CreateEndpoint", "EndpointName")
SCHEDULE_NAME = ApiParameter("sagemaker", "CreateMonitoringSchedule", "MonitoringScheduleName")
GROUP_NAME = ApiParameter("sagemaker", "CreateModelPackageGroup", "ModelPackageGroupName")
CARD_NAME = ApiParameter("sagemaker", "CreateModelCard", "ModelCardName")
PARAMETER_NAME = ApiParameter("ssm", "PutParameter", "Name")
KEY_ALIAS = ApiParameter("kms", "CreateAlias", "AliasName")

Rule = ApiParameter | DocumentedRule


@dataclass(frozen=True)
class PhysicalName:
    """One fixed name: what it names, the name, the rule it must meet and what it is made of."""

    kind: str
    value: str
    rule: Rule
    model: str | None
    environment: str

    def violation(self) -> str | None:
        return self.rule.violation(self.value)


def stack_names(prefix: str, environment: str, shards: int = 1) -> list[str]:
    """``<prefix>-<env>-foundation`` and ``<prefix>-<env>-models-NN`` (NN from 00)."""
    return [f"{prefix}-{environment}-foundation"] + [
        f"{prefix}-{environment}-models-{index:02d}" for index in range(max(shards, 1))
    ]


def endpoint_name(model: str, environment: str) -> str:
    return f"{model}-{environment}"


def schedule_name(model: str, environment: str, monitor_type: str) -> str:
    return f"{endpoint_name(model, environment)}-{monitor_type.replace('_', '-')}"


def training_pipeline_name(model: str) -> str:
    """``<model>-training``: the model's governed training pipeline (one per account and region,
    like its package group; CreatePipeline PipelineName allows 256 characters)."""
    return f"{model}-training"


def dashboard_name(model: str, environment: str) -> str:
    return f"{endpoint_name(model, environment)}-monitoring"


def environment_names(prefix: str, environment: str) -> list[PhysicalName]:
    """The names one environment's foundation gives: its stacks and its key aliases.

    The models stacks are numbered; ``-models-99`` stands for the longest (two digits).
    """
    names = [
        PhysicalName("CloudFormation stack name", name, STACK_NAME, None, environment)
        for name in (f"{prefix}-{environment}-foundation", f"{prefix}-{environment}-models-99")
    ]
    names += [
        PhysicalName(
            "KMS key alias", f"alias/{prefix}-{environment}/{domain}", KEY_ALIAS, None, environment
        )
        for domain in KEY_DOMAINS
    ]
    return names


def model_names(
    model: str, environment: str, *, served: bool, monitor_types: Sequence[str]
) -> list[PhysicalName]:
    """The names one model gets in one environment: registry names, and serving names if served."""
    names = [
        PhysicalName("model package group name", model, GROUP_NAME, model, environment),
        PhysicalName("model card name", model, CARD_NAME, model, environment),
        PhysicalName(
            "approval-policy parameter name",
            f"{POLICY_PARAMETER_PREFIX}{model}",
            PARAMETER_NAME,
            model,
            environment,
        ),
    ]
    if not served:
        return names
    endpoint = endpoint_name(model, environment)
    names += [
        PhysicalName("endpoint name", endpoint, ENDPOINT_NAME, model, environment),
        PhysicalName(
            "endpoint parameter name",
            f"{ENDPOINT_PARAMETER_PREFIX}{endpoint}",
            PARAMETER_NAME,
            model,
            environment,
        ),
        PhysicalName(
            "dashboard name",
            dashboard_name(model, environment),
            DASHBOARD_NAME,
            model,
            environment,
        ),
    ]
    names += [
        PhysicalName(
            "monitoring schedule name",
            schedule_name(model, environment, monitor_type),
            SCHEDULE_NAME,
            model,
            environment,
        )
        for monitor_type in monitor_types
    ]
    return names


def shared_names(models: Sequence[str]) -> list[str]:
    """Names without the environment in them: two environments in one account and region clash."""
    return [
        name
        for model in models
        for name in (
            f"model package group {model}",
            f"model card {model}",
            f"parameter {POLICY_PARAMETER_PREFIX}{model}",
        )
    ]

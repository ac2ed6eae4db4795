"""The synthesized app as the IAM of one account: roles with their policies, resource policies.

``Account.from_assembly`` resolves every stack, attaches each identity policy to its roles
(``ManagedPolicyArns``, ``Roles`` of managed and inline policies, a role's own ``Policies``),
finds each role's permissions boundary, and indexes resource policies (key, bucket, topic,
queue, model package group, Lambda permissions, trust policies) by the ARNs they protect.
``Account.authorize`` then evaluates one request with exactly the policies AWS would consult.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cdk_constructs.compliance.iam.assembly import CloudAssembly
from cdk_constructs.compliance.iam.errors import IamCheckError
from cdk_constructs.compliance.iam.evaluator import (
    ContextValue,
    Evaluation,
    Principal,
    Request,
    ResourcePolicyKind,
    evaluate,
    glob_match,
)
from cdk_constructs.compliance.iam.intrinsics import ResolvedResource, Resolver
from cdk_constructs.compliance.iam.policy import PolicyDocument
from cdk_constructs.compliance.iam.sites import (
    PolicySite,
    SiteKind,
    collect_policy_sites,
    construct_path,
)

#: The AWS managed policy the CDK bootstrap gives its CloudFormation execution role by default
#: (``cdk bootstrap --cloudformation-execution-policies``, default AdministratorAccess).
ADMINISTRATOR_ACCESS = PolicyDocument.of(
    {"Effect": "Allow", "Action": "*", "Resource": "*"}, name="AdministratorAccess"
)

#: AWS managed policies the app's CDK-internal roles attach by ARN, with their documented
#: content, so those roles are evaluated like any other (keyed by the ARN after the partition).
#: AWSLambdaBasicExecutionRole: AWS Managed Policy Reference Guide,
#: https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaBasicExecutionRole.html
#: (attached by CDK's CustomResourceProvider, e.g. Custom::VpcRestrictDefaultSG's role).
AWS_MANAGED_POLICIES: Mapping[str, PolicyDocument] = {
    ":iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": PolicyDocument.of(
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        },
        name="AWSLambdaBasicExecutionRole",
    ),
}


def aws_managed_policy(arn: str) -> PolicyDocument | None:
    """The documented content of an AWS managed policy of :data:`AWS_MANAGED_POLICIES`."""
    _, _, rest = arn.partition(":")  # drop "arn"
    _, _, rest = rest.partition(":")  # drop the partition
    return AWS_MANAGED_POLICIES.get(f":{rest}")


@dataclass(frozen=True)
class Role:
    """An IAM role of the app with everything IAM evaluates for its sessions."""

    stack: str
    logical_id: str
    path: str
    name: str
    arn: str
    trust: PolicyDocument
    identity_policies: tuple[PolicyDocument, ...]
    boundary: PolicyDocument | None
    #: Managed policies attached by ARN that the assembly does not declare (AWS managed ones).
    external_policies: tuple[str, ...] = ()
    #: A permissions boundary named by ARN that the assembly does not declare: its content is
    #: unknown, so :meth:`Account.authorize` refuses to evaluate the role unless told to.
    unresolved_boundary: str | None = None

    @property
    def principal(self) -> Principal:
        return Principal.role(self.arn)


@dataclass(frozen=True)
class _ResourcePolicy:
    site: PolicySite
    patterns: tuple[str, ...]

    @property
    def kind(self) -> ResourcePolicyKind:
        return (
            ResourcePolicyKind.KMS_KEY
            if self.site.kind is SiteKind.KEY
            else (ResourcePolicyKind.GENERIC)
        )


@dataclass(frozen=True)
class Account:
    """Roles and resource policies of a synthesized app, ready to answer "is this allowed?"."""

    resolver: Resolver
    sites: tuple[PolicySite, ...]
    roles: tuple[Role, ...]
    _resource_policies: tuple[_ResourcePolicy, ...] = field(repr=False, default=())
    #: ``resource_policy`` answers by ARN, and the index it answers from (built on first use).
    _attached: dict[str, tuple[PolicyDocument, ResourcePolicyKind] | None] = field(
        repr=False, compare=False, default_factory=dict
    )
    _index: list[_PolicyIndex] = field(repr=False, compare=False, default_factory=list)

    @classmethod
    def from_assembly(cls, assembly: CloudAssembly) -> Account:
        resolver = Resolver(assembly)
        sites = tuple(collect_policy_sites(resolver))
        return cls(
            resolver=resolver,
            sites=sites,
            roles=tuple(_roles(resolver, sites)),
            _resource_policies=tuple(
                _ResourcePolicy(site, site.protects)
                for site in sites
                if site.kind.is_resource_policy
            ),
        )

    # -- lookups ----------------------------------------------------------------------------

    def role(self, path: str) -> Role:
        """The role whose construct path is ``path`` (``Personas/Auditor``) or ends with it."""
        matches = [role for role in self.roles if _path_matches(role.path, path)]
        if len(matches) != 1:
            known = ", ".join(sorted(role.path for role in self.roles))
            raise IamCheckError(f"{len(matches)} roles match {path!r}; roles: {known}")
        return matches[0]

    def resource(self, path: str, resource_type: str | None = None) -> ResolvedResource:
        """A resource by construct path (or logical id), optionally of one type."""
        matches: list[ResolvedResource] = []
        for stack in self.resolver.assembly:
            for logical_id, resource in stack.resources.items():
                if resource_type is not None and resource["Type"] != resource_type:
                    continue
                resource_path = construct_path(resource, stack.name, logical_id)
                if logical_id == path or _path_matches(resource_path, path):
                    matches.append(self.resolver.resource(stack.name, logical_id))
        if len(matches) != 1:
            raise IamCheckError(
                f"{len(matches)} resources match {path!r}"
                + (f" of type {resource_type}" if resource_type else "")
            )
        return matches[0]

    def resources_of_type(
        self, resource_type: str
    ) -> list[tuple[ResolvedResource, dict[str, Any]]]:
        """Every created resource of a type with its resolved properties."""
        found = []
        for stack in self.resolver.assembly:
            for logical_id, resource in stack.resources.items():
                if resource["Type"] == resource_type and self.resolver.is_created(
                    stack.name, logical_id
                ):
                    found.append(
                        (
                            self.resolver.resource(stack.name, logical_id),
                            self.resolver.resolved_properties(stack.name, logical_id),
                        )
                    )
        return found

    def resource_policy(
        self, resource_arn: str
    ) -> tuple[PolicyDocument, ResourcePolicyKind] | None:
        """The policy attached to ``resource_arn`` (trust policies excluded), if any: the first
        (in site order) with a pattern that matches the ARN."""
        if resource_arn in self._attached:
            return self._attached[resource_arn]
        if not self._index:
            self._index.append(_PolicyIndex.of(self._resource_policies))
        position = self._index[0].first_match(resource_arn)
        found = None
        if position is not None:
            policy = self._resource_policies[position]
            found = (policy.site.document, policy.kind)
        self._attached[resource_arn] = found
        return found

    def trust_policy(self, role_arn: str) -> PolicyDocument | None:
        for role in self.roles:
            if role.arn == role_arn:
                return role.trust
        return None

    # -- evaluation -------------------------------------------------------------------------

    def authorize(
        self,
        principal: Role | Principal,
        action: str,
        resource: str,
        context: Mapping[str, ContextValue] | None = None,
        *,
        identity_policies: Sequence[PolicyDocument] | None = None,
        resource_account: str | None = None,
        without_unknown_boundary: bool = False,
    ) -> Evaluation:
        """Would ``principal`` be allowed ``action`` on ``resource`` with this context?

        For a :class:`Role` its identity policies and boundary are used; for another principal
        (a service, a consumer account, the deployer) pass ``identity_policies`` as needed.
        ``sts:AssumeRole`` on a role of the app is evaluated against that role's trust policy.
        """
        if isinstance(principal, Role):
            if principal.unresolved_boundary is not None and not without_unknown_boundary:
                raise IamCheckError(
                    f"{principal.path}: permissions boundary {principal.unresolved_boundary} is "
                    "not declared in the assembly, so it cannot be evaluated"
                )
            who = principal.principal
            identity = list(principal.identity_policies)
            boundary = principal.boundary
        else:
            who, identity, boundary = principal, list(identity_policies or ()), None
        request = Request(who, action, resource, dict(context or {}), resource_account)
        attached: tuple[PolicyDocument, ResourcePolicyKind] | None
        if action.lower() == "sts:assumerole":
            trust = self.trust_policy(resource)
            attached = (trust, ResourcePolicyKind.GENERIC) if trust is not None else None
        else:
            attached = self.resource_policy(resource)
        return evaluate(
            request,
            identity_policies=identity,
            boundary=boundary,
            resource_policy=attached[0] if attached else None,
            resource_policy_kind=attached[1] if attached else ResourcePolicyKind.GENERIC,
        )


_WILDCARDS = re.compile(r"[*?]")


@dataclass(frozen=True)
class _PolicyIndex:
    """Resource-policy patterns by what they can match: exact ARNs in a dict, wildcard patterns
    by their literal prefix (the text before the first ``*`` or ``?``), so finding the policy
    of an ARN costs a few lookups, not a match against every pattern of the app (which grows
    with the number of models). Same answer as trying every pattern in site order."""

    exact: Mapping[str, int]
    #: prefix length -> literal prefix -> [(site position, pattern)]
    wildcard: Mapping[int, Mapping[str, Sequence[tuple[int, str]]]]

    @classmethod
    def of(cls, policies: Sequence[_ResourcePolicy]) -> _PolicyIndex:
        exact: dict[str, int] = {}
        wildcard: dict[int, dict[str, list[tuple[int, str]]]] = {}
        for position, policy in enumerate(policies):
            if policy.site.kind is SiteKind.TRUST:
                continue
            for pattern in policy.patterns:
                found = _WILDCARDS.search(pattern)
                if found is None:
                    exact.setdefault(pattern, position)
                    continue
                prefix = pattern[: found.start()]
                wildcard.setdefault(len(prefix), {}).setdefault(prefix, []).append(
                    (position, pattern)
                )
        return cls(exact, wildcard)

    def first_match(self, arn: str) -> int | None:
        candidates = [self.exact[arn]] if arn in self.exact else []
        for length, by_prefix in self.wildcard.items():
            for position, pattern in by_prefix.get(arn[:length], ()):
                if glob_match(pattern, arn):
                    candidates.append(position)
        return min(candidates, default=None)


def _path_matches(resource_path: str, wanted: str) -> bool:
    """``Personas/Auditor`` matches ``Personas/Auditor/Resource`` and ``.../Resource/Resource``;
    ``Default`` is a construct's default child too (``DeadLetterQueue/Default/Resource``)."""
    stripped = resource_path
    while stripped.endswith(("/Resource", "/Default")):
        stripped = stripped.rsplit("/", 1)[0]
    return stripped == wanted or stripped.endswith(f"/{wanted}") or resource_path == wanted


def _boundary(
    arn: Any, managed_by_arn: Mapping[str | None, PolicySite]
) -> tuple[PolicyDocument | None, str | None]:
    """``(the boundary's document, None)``, or ``(None, its ARN)`` when the assembly does not
    declare it, or ``(None, None)`` without a boundary."""
    if arn is None:
        return None, None
    if arn in managed_by_arn:
        return managed_by_arn[arn].document, None
    return None, str(arn)


def _roles(resolver: Resolver, sites: Sequence[PolicySite]) -> list[Role]:
    managed_by_arn = {site.arn: site for site in sites if site.kind is SiteKind.MANAGED}
    attached_by_role: dict[str, list[PolicyDocument]] = {}
    for site in sites:
        if site.kind in (SiteKind.MANAGED, SiteKind.INLINE):
            for role_name in site.roles:
                attached_by_role.setdefault(role_name, []).append(site.document)
    trust_by_role = {
        (site.stack, site.logical_id): site.document
        for site in sites
        if site.kind is SiteKind.TRUST
    }
    roles: list[Role] = []
    for stack in resolver.assembly:
        for logical_id, resource in stack.resources.items():
            if resource["Type"] != "AWS::IAM::Role" or not resolver.is_created(
                stack.name, logical_id
            ):
                continue
            identity = resolver.resource(stack.name, logical_id)
            props = resolver.resolved_properties(stack.name, logical_id)
            policies = list(attached_by_role.get(identity.name, []))
            external: list[str] = []
            for arn in props.get("ManagedPolicyArns", []):
                known = aws_managed_policy(arn) if arn not in managed_by_arn else None
                if arn in managed_by_arn:
                    policies.append(managed_by_arn[arn].document)
                elif known is not None:
                    policies.append(known)
                else:
                    external.append(arn)
            boundary, unresolved = _boundary(props.get("PermissionsBoundary"), managed_by_arn)
            roles.append(
                Role(
                    stack=stack.name,
                    logical_id=logical_id,
                    path=construct_path(resource, stack.name, logical_id),
                    name=identity.name,
                    arn=identity.attributes["Arn"],
                    trust=trust_by_role[(stack.name, logical_id)],
                    identity_policies=tuple(policies),
                    boundary=boundary,
                    external_policies=tuple(external),
                    unresolved_boundary=unresolved,
                )
            )
    return roles

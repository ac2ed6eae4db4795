"""Who registered and who approved a model package, and whether they are different people.

SageMaker records a ``UserContext`` on a model package: ``CreatedBy`` (the registrant) and
``LastModifiedBy`` (whoever made the latest change, i.e. the approver when the change is the
approval). A ``UserContext`` carries a Studio user profile (``UserProfileName``, ``DomainId``)
and/or an ``IamIdentity`` (``Arn``, ``PrincipalId``, ``SourceIdentity``).

Comparison rules (the first rule both sides can answer decides; see ARCHITECTURE.md,
"Separation of duties"):

1. A side with no usable identity fails the check: separation of duties cannot be shown, and an
   unprovable control is a failed control, not a pass.
2. ``SourceIdentity`` on both sides: compare it. It is set once per role session by the identity
   provider and survives role chaining, so it is the strongest statement of the human behind it.
3. ``UserProfileName`` on both sides: compare ``DomainId`` + profile. Studio users commonly share
   one execution role whose session name is fixed, so the IAM ARN would make different people
   look identical; the profile is the person.
4. ``IamIdentity.Arn`` on both sides: compare the normalised principal. An STS assumed-role ARN
   ``arn:aws:sts::<acct>:assumed-role/<role>/<session>`` becomes role + session (for SSO roles the
   session name is the user's name). IAM names are case-insensitive, so comparison is too. If one
   side only names the role (no session), the two cannot be told apart and count as the same.
5. Anything else (e.g. one side has only a profile, the other only an IAM ARN): not comparable,
   the check fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class UserContext:
    """SageMaker ``UserContext`` (``CreatedBy`` / ``LastModifiedBy``)."""

    user_profile_arn: str | None = None
    user_profile_name: str | None = None
    domain_id: str | None = None
    iam_arn: str | None = None
    principal_id: str | None = None
    source_identity: str | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.user_profile_name or self.iam_arn or self.source_identity)


@dataclass(frozen=True)
class IamPrincipal:
    """An IAM ARN reduced to what identifies a caller."""

    account: str
    kind: str
    """``role`` (session or bare role), ``user``, ``federated-user``, ``root`` or ``other``."""
    name: str
    session: str | None = None

    def __str__(self) -> str:
        base = f"{self.kind}:{self.account}:{self.name}"
        return f"{base}/{self.session}" if self.session else base


@dataclass(frozen=True)
class SeparationResult:
    passed: bool
    reason: str


def parse_user_context(raw: object) -> UserContext | None:
    """Parse a ``UserContext`` from an API response or event; ``None`` when absent or empty."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ValueError("a UserContext object or absent")
    iam = raw.get("IamIdentity") or {}
    if not isinstance(iam, Mapping):
        raise ValueError("IamIdentity to be an object")
    context = UserContext(
        user_profile_arn=_text(raw, "UserProfileArn"),
        user_profile_name=_text(raw, "UserProfileName"),
        domain_id=_text(raw, "DomainId"),
        iam_arn=_text(iam, "Arn"),
        principal_id=_text(iam, "PrincipalId"),
        source_identity=_text(iam, "SourceIdentity"),
    )
    return None if context.is_empty else context


def _text(mapping: Mapping[str, Any], key: str) -> str | None:
    value = mapping.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key} to be a string")
    return value.strip() or None


def normalise_iam_arn(arn: str) -> IamPrincipal:  # noqa: PLR0911 - one return per ARN form
    """Reduce an IAM/STS ARN to account, principal kind, name and session."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return IamPrincipal(account="", kind="other", name=arn.casefold())
    service, account, resource = parts[2], parts[4], parts[5]
    if service == "sts" and resource.startswith("assumed-role/"):
        _, _, rest = resource.partition("/")
        role, _, session = rest.partition("/")
        return IamPrincipal(account, "role", role.casefold(), session.casefold() or None)
    if service == "iam" and resource.startswith("role/"):
        # Role ARNs may carry a path; assumed-role ARNs never do, so compare the last segment.
        return IamPrincipal(account, "role", resource.rsplit("/", 1)[-1].casefold())
    if service == "iam" and resource.startswith("user/"):
        return IamPrincipal(account, "user", resource.rsplit("/", 1)[-1].casefold())
    if service == "sts" and resource.startswith("federated-user/"):
        return IamPrincipal(account, "federated-user", resource.split("/", 1)[1].casefold())
    if service == "iam" and resource == "root":
        return IamPrincipal(account, "root", "root")
    return IamPrincipal(account, "other", resource.casefold())


def _same_principal(a: IamPrincipal, b: IamPrincipal) -> bool:
    if (a.account, a.kind, a.name) != (b.account, b.kind, b.name):
        return False
    # A bare role ARN cannot be told apart from any session of that role.
    return a.session is None or b.session is None or a.session == b.session


def describe_identity(context: UserContext | None) -> str:
    """A one-line, human-readable identity for alerts and the ledger."""
    if context is None or context.is_empty:
        return "<unknown>"
    parts = []
    if context.user_profile_name:
        domain = f"{context.domain_id}/" if context.domain_id else ""
        parts.append(f"user-profile {domain}{context.user_profile_name}")
    if context.iam_arn:
        parts.append(context.iam_arn)
    if context.source_identity:
        parts.append(f"source-identity {context.source_identity}")
    return " | ".join(parts)


def check_separation(  # noqa: PLR0911 - one return per documented rule
    registrant: UserContext | None, approver: UserContext | None
) -> SeparationResult:
    """Whether the approver is provably a different person from the registrant."""
    if registrant is None or registrant.is_empty:
        return SeparationResult(False, "registrant identity (CreatedBy) is missing")
    if approver is None or approver.is_empty:
        return SeparationResult(False, "approver identity (LastModifiedBy) is missing")

    if registrant.source_identity and approver.source_identity:
        if registrant.source_identity.casefold() == approver.source_identity.casefold():
            return SeparationResult(
                False, f"approver and registrant share source identity {approver.source_identity}"
            )
        return SeparationResult(True, "approver and registrant have different source identities")

    if registrant.user_profile_name and approver.user_profile_name:
        same_domain = (
            registrant.domain_id is None
            or approver.domain_id is None
            or registrant.domain_id == approver.domain_id
        )
        if same_domain and registrant.user_profile_name == approver.user_profile_name:
            return SeparationResult(
                False,
                f"approver is the registrant (user profile {approver.user_profile_name})",
            )
        return SeparationResult(True, "approver and registrant have different user profiles")

    if registrant.iam_arn and approver.iam_arn:
        registrant_principal = normalise_iam_arn(registrant.iam_arn)
        approver_principal = normalise_iam_arn(approver.iam_arn)
        if _same_principal(registrant_principal, approver_principal):
            return SeparationResult(False, f"approver is the registrant ({approver_principal})")
        return SeparationResult(
            True, f"approver {approver_principal} differs from registrant {registrant_principal}"
        )

    return SeparationResult(
        False,
        "no comparable identity: registrant is "
        f"{describe_identity(registrant)}, approver is {describe_identity(approver)}",
    )

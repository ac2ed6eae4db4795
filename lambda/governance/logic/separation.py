"""Whether the person who approved is provably not the person who registered.

Rules, in order; the first rule both sides can answer decides (ARCHITECTURE.md, "Separation of
duties"):

1. A side with no usable identity fails: separation that cannot be shown is a failed control.
2. ``SourceIdentity`` on both sides: compare it (set once per role session by the identity
   provider, it survives role chaining).
3. ``UserProfileName`` on both sides: compare ``DomainId`` + profile (Studio users often share
   one execution role with a fixed session name, so the ARN cannot tell them apart).
4. ``IamIdentity.Arn`` on both sides: compare the normalised principal (role + session for an
   assumed role; case-insensitive). A bare role cannot be told apart from its sessions.
5. Anything else is not comparable and fails.
"""

from __future__ import annotations

from dataclasses import dataclass

from governance.sagemaker import UserContext, describe_user, known


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
class Separation:
    passed: bool
    reason: str


def normalise_iam_arn(arn: str) -> IamPrincipal:  # noqa: PLR0911 - one return per ARN form
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return IamPrincipal(account="", kind="other", name=arn.casefold())
    service, account, resource = parts[2], parts[4], parts[5]
    if service == "sts" and resource.startswith("assumed-role/"):
        role, _, session = resource.removeprefix("assumed-role/").partition("/")
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
    return a.session is None or b.session is None or a.session == b.session


def check_separation(  # noqa: PLR0911 - one return per rule
    registrant: UserContext | None,
    approver: UserContext | None,
    *,
    approver_role: str = "approver",
    approver_field: str = "LastModifiedBy",
) -> Separation:
    """``approver_role`` / ``approver_field`` name the approver in reasons (package or card)."""
    registrant, approver = known(registrant), known(approver)
    if registrant is None:
        return Separation(False, "registrant identity (CreatedBy) is missing")
    if approver is None:
        return Separation(False, f"{approver_role} identity ({approver_field}) is missing")

    if registrant.source_identity and approver.source_identity:
        if registrant.source_identity.casefold() == approver.source_identity.casefold():
            return Separation(
                False,
                f"{approver_role} and registrant share source identity {approver.source_identity}",
            )
        return Separation(True, f"{approver_role} and registrant have different source identities")

    if registrant.profile and approver.profile:
        same_domain = (
            registrant.domain_id is None
            or approver.domain_id is None
            or registrant.domain_id == approver.domain_id
        )
        if same_domain and registrant.profile == approver.profile:
            return Separation(
                False, f"{approver_role} is the registrant (user profile {approver.profile})"
            )
        return Separation(True, f"{approver_role} and registrant have different user profiles")

    if registrant.iam_arn and approver.iam_arn:
        registered_by = normalise_iam_arn(registrant.iam_arn)
        approved_by = normalise_iam_arn(approver.iam_arn)
        if _same_principal(registered_by, approved_by):
            return Separation(False, f"{approver_role} is the registrant ({approved_by})")
        return Separation(
            True, f"{approver_role} {approved_by} differs from registrant {registered_by}"
        )

    return Separation(
        False,
        f"no comparable identity: registrant is {describe_user(registrant)}, "
        f"{approver_role} is {describe_user(approver)}",
    )

"""Separation of duties and key use, read from the synthesized policies with the IAM evaluator.

These rules do not look for a statement of a known shape: they ask the offline IAM evaluator
(:mod:`cdk_constructs.compliance.iam`) what a role or a stranger *could do*, with exactly the
policies AWS would consult (the role's identity policies, its permissions boundary, the key or
resource policy), so any way of weakening a control is seen: a deny removed, a wildcard added,
a boundary widened, a key policy opened to the account.

- **SOD1, SOD2** apply to every role of the app, whatever it is called or tagged. The
  requests are built for every governed model package group of the app (its ARN and its own
  tags as ``aws:ResourceTag``/``aws:RequestTag``, the owning team as the caller's
  ``aws:PrincipalTag``), i.e. the context in which a team member would try: a role that may
  register a version in a group must not be able to approve one there, no role may register a
  version as already Approved, and a role that may approve must not create or delete versions.
  "Must not" is checked as README.md promises it, with explicit denies "which no later grant
  can override": the forbidden request is evaluated with the role's policies *plus* an
  ``sagemaker:*`` grant (as if a broad managed policy were attached later), so only an explicit
  deny or the permissions boundary keeps it forbidden. Removing the deny is a finding even
  while no allow happens to exist.
- **SOD3** applies to the roles the app declares read-only (the template's
  ``Metadata.GovernanceReadOnlyRoles``, written by
  :func:`cdk_constructs.compliance.declarations.declare_read_only_roles`): their identity
  policies allow only actions whose Service Authorization Reference access level is Read or
  List (``kms:Decrypt`` excepted: reading SSE-KMS evidence needs it).
- **KMS1** applies to every key: a principal the key policy does not name (an administrator of
  the key's own account, or of another account) cannot use the key, directly or through any
  AWS service.

Model cards: approving a card is ``UpdateModelCard`` with ``ModelCardStatus`` Approved, and
SageMaker has no condition key for the card status (Service Authorization Reference), so IAM
cannot tell approving a card from editing it. Who approved a card is checked by the approval
gate at run time (issue 9 item 14), not here.

A value the evaluator cannot resolve (a parameter, an import of something outside the app)
makes a rule ``[Undecidable]``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from cdk_constructs import tags
from cdk_constructs.compliance.iam.account import ADMINISTRATOR_ACCESS, Account, Role
from cdk_constructs.compliance.iam.assembly import DEFAULT_ACCOUNT, DEFAULT_REGION, CloudAssembly
from cdk_constructs.compliance.iam.assembly import StackTemplate as IamStack
from cdk_constructs.compliance.iam.errors import IamCheckError
from cdk_constructs.compliance.iam.evaluator import Principal, action_matches, glob_match
from cdk_constructs.compliance.iam.policy import PolicyDocument
from cdk_constructs.compliance.iam.vocabulary import ServiceAuthorizationReference
from cdk_constructs.compliance.rules.framework import AppIndex, GovernanceRule, Resource, Verdict
from cdk_constructs.compliance.rules.wiring import KMS_KEY, MODEL_PACKAGE_GROUP

IAM_ROLE = "AWS::IAM::Role"

# Template Metadata key: logical ids of the roles the app promises are read-only.
READ_ONLY_METADATA = "GovernanceReadOnlyRoles"
# SageMaker's ModelApprovalStatus values (botocore sagemaker service model, ModelApprovalStatus).
APPROVED = "Approved"
PENDING = "PendingManualApproval"
APPROVAL_STATUS_KEY = "sagemaker:ModelApprovalStatus"
# Access levels of the Service Authorization Reference that change nothing.
READ_LEVELS = frozenset({"Read", "List"})
# Reading SSE-KMS objects and encrypted SageMaker resources needs kms:Decrypt (access level
# Write in the SAR): S3 user guide, UsingKMSEncryption.
READ_ONLY_EXCEPTIONS = frozenset({"kms:decrypt"})
# What using a key means (KMS developer guide, "Key policies": cryptographic operations and
# grants); a stranger may do none of it.
KEY_USE_ACTIONS = (
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:CreateGrant",
)
# Services the app's keys are used through (kms:ViaService is <service>.<region>.amazonaws.com).
KEY_SERVICES = ("s3", "sagemaker", "dynamodb", "sns", "sqs", "logs", "lambda", "events", "ssm")
# Principals no key policy of the app should name: an IAM administrator of the key's account
# and one of a foreign account (AWS's documentation account ids; never a real principal).
_STRANGER_ROLE = "governance-check-unnamed-administrator"
_FOREIGN_ACCOUNT = "999988887777"


@dataclass(frozen=True)
class _App:
    """The app as one IAM account, and how the pack's stacks map to its stack names."""

    account: Account
    stack_names: Mapping[str, str]  # stack construct path -> stack name
    groups: tuple[_Group, ...] = ()
    resource_documents: tuple[PolicyDocument, ...] = ()
    # (role ARN, identity policy count, action) -> could anything allow it
    could: dict[tuple[str, int, str], bool] = field(default_factory=dict)


def _iam_app(index: AppIndex) -> _App:
    def build(built: AppIndex) -> _App:
        stacks = built.templates
        assembly = CloudAssembly(
            stacks={
                stack.stack_name: IamStack(
                    name=stack.stack_name,
                    account=stack.environment.account or DEFAULT_ACCOUNT,
                    region=stack.environment.region or DEFAULT_REGION,
                    template=stack.template,
                )
                for stack in stacks
            }
        )
        account = Account.from_assembly(assembly)
        return _App(
            account,
            {stack.construct_path: stack.stack_name for stack in stacks},
            _all_groups(account),
            tuple(site.document for site in account.sites if site.kind.is_resource_policy),
        )

    return index.derived("duties:iam", build)


def _role(resource: Resource, app: _App) -> Role | None:
    stack = app.stack_names.get(resource.stack)
    for role in app.account.roles:
        if role.stack == stack and role.logical_id == resource.logical_id:
            return role
    return None


@dataclass(frozen=True)
class _Group:
    """A governed model package group as requests see it."""

    arn: str
    name: str
    tags: Mapping[str, str]

    def version(self, number: int) -> str:
        return self.arn.replace(":model-package-group/", ":model-package/") + f"/{number}"

    def context(self, status: str | None = None) -> dict[str, str]:
        """The group's tags as resource and request tags, its owner as the caller's team."""
        context = {f"aws:ResourceTag/{k}": v for k, v in self.tags.items()}
        context.update({f"aws:RequestTag/{k}": v for k, v in self.tags.items()})
        owner = self.tags.get(tags.OWNER)
        if owner is not None:
            context[f"aws:PrincipalTag/{tags.OWNER}"] = owner
        if status is not None:
            context[APPROVAL_STATUS_KEY] = status
        return context


def _groups(app: _App, role: Role) -> list[_Group]:
    """Governed groups the role's account holds."""
    account = role.arn.split(":")[4]
    return [group for group in app.groups if group.arn.split(":")[4] == account]


def _all_groups(account: Account) -> tuple[_Group, ...]:
    found = []
    for resource, props in account.resources_of_type(MODEL_PACKAGE_GROUP):
        arn = resource.attributes.get("ModelPackageGroupArn")
        raw_tags = props.get("Tags") or []
        group_tags = {
            str(tag["Key"]): str(tag["Value"])
            for tag in raw_tags
            if isinstance(tag, Mapping) and "Key" in tag and "Value" in tag
        }
        if arn is not None:
            found.append(_Group(arn, resource.name, group_tags))
    return tuple(found)


def _could_allow(app: _App, role: Role, action: str) -> bool:
    """Could anything grant ``action`` to ``role``: an Allow of its identity policies, or of a
    resource policy (a group's), matching the action? Only then is the request evaluated; the
    answer is the evaluator's, this only skips requests nothing could allow."""
    key = (role.arn, len(role.identity_policies), action)
    if key not in app.could:
        app.could[key] = _allows_somewhere(
            (*role.identity_policies, *app.resource_documents), action
        )
    return app.could[key]


def _allows_somewhere(documents: Iterable[PolicyDocument], action: str) -> bool:
    return any(
        statement.effect == "Allow"
        and (
            any(action_matches(pattern, action) for pattern in statement.actions or ())
            or (
                statement.not_actions is not None
                and not any(action_matches(p, action) for p in statement.not_actions)
            )
        )
        for document in documents
        for statement in document.statements
    )


# A broad grant attached later (AmazonSageMakerFullAccess, say): the duties must survive it.
LATER_GRANT = PolicyDocument.of(
    {"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}, name="a later sagemaker:* grant"
)


def later_granted(role: Role) -> Role:
    """``role`` with :data:`LATER_GRANT` attached: what only a deny or the boundary forbids."""
    return replace(role, identity_policies=(*role.identity_policies, LATER_GRANT))


def _may(
    app: _App, role: Role, action: str, resources: Iterable[str], context: Callable[[], Any]
) -> bool:
    """Is ``action`` allowed on every one of ``resources`` (as AWS authorizes it)? The request
    context is built only for a request something could allow (14,000 of 81,500 at 500 models)."""
    if not _could_allow(app, role, action):
        return False
    request_context = context()
    return all(
        app.account.authorize(
            role, action, resource, request_context, without_unknown_boundary=True
        ).allowed
        for resource in resources
    )


def _registers(app: _App, role: Role, group: _Group, status: str) -> bool:
    # CreateModelPackage is authorized on the group and on the new version (SAR, sagemaker).
    return _may(
        app,
        role,
        "sagemaker:CreateModelPackage",
        (group.arn, group.version(99)),
        partial(group.context, status),
    )


def _approves(app: _App, role: Role, group: _Group) -> bool:
    return _may(
        app,
        role,
        "sagemaker:UpdateModelPackage",
        (group.version(1),),
        partial(group.context, APPROVED),
    )


def _role_verdict(resource: Resource, index: AppIndex) -> tuple[_App, Role] | Verdict:
    if not index.peers(resource, MODEL_PACKAGE_GROUP):
        return Verdict.NOT_APPLICABLE  # no governed group this role could act on
    try:
        app = _iam_app(index)
        role = _role(resource, app)
    except IamCheckError:
        return Verdict.UNDECIDABLE
    if role is None:
        return Verdict.NOT_APPLICABLE  # a role the template does not create (a condition)
    return app, role


def _unless_unknown_boundary(role: Role, verdict: Verdict) -> Verdict:
    """A role evaluated without its (undeclared) boundary: a finding may be the boundary's to
    prevent, so it cannot be decided; compliance without the boundary holds with it."""
    if verdict is Verdict.NON_COMPLIANT and role.unresolved_boundary is not None:
        return Verdict.UNDECIDABLE
    return verdict


def registrants_cannot_approve(resource: Resource, index: AppIndex) -> Verdict:
    """For every governed model package group: the role may not CreateModelPackage with
    ModelApprovalStatus Approved; and if it may register a version (PendingManualApproval),
    neither UpdateModelPackage to Approved nor CreateModelPackage as Approved is allowed even
    with a later sagemaker:* grant added (an explicit deny or the boundary must forbid them).
    Evaluated through its identity policies, its permissions boundary and the group's policy."""
    found = _role_verdict(resource, index)
    if isinstance(found, Verdict):
        return found
    app, role = found
    try:
        groups = _groups(app, role)
        for group in groups:
            if _registers(app, role, group, APPROVED):
                return _unless_unknown_boundary(role, Verdict.NON_COMPLIANT)
            registrant = _registers(app, role, group, PENDING)
            if registrant and _approves(app, later_granted(role), group):
                return _unless_unknown_boundary(role, Verdict.NON_COMPLIANT)
            if registrant and _registers(app, later_granted(role), group, APPROVED):
                return _unless_unknown_boundary(role, Verdict.NON_COMPLIANT)
    except IamCheckError:
        return Verdict.UNDECIDABLE
    return Verdict.COMPLIANT if groups else Verdict.NOT_APPLICABLE


def approvers_cannot_create_or_delete(resource: Resource, index: AppIndex) -> Verdict:
    """For every governed model package group: if the role may UpdateModelPackage to Approved,
    CreateModelPackage (any status), DeleteModelPackage and DeleteModelPackageGroup there stay
    denied even with a later sagemaker:* grant added (an explicit deny or the boundary)."""
    found = _role_verdict(resource, index)
    if isinstance(found, Verdict):
        return found
    app, role = found
    try:
        groups = _groups(app, role)
        for group in groups:
            if not _approves(app, role, group):
                continue
            broad = later_granted(role)
            lifecycle = (
                _registers(app, broad, group, PENDING)
                or _may(
                    app,
                    broad,
                    "sagemaker:DeleteModelPackage",
                    (group.version(1),),
                    group.context,
                )
                or _may(
                    app, broad, "sagemaker:DeleteModelPackageGroup", (group.arn,), group.context
                )
            )
            if lifecycle:
                return _unless_unknown_boundary(role, Verdict.NON_COMPLIANT)
    except IamCheckError:
        return Verdict.UNDECIDABLE
    return Verdict.COMPLIANT if groups else Verdict.NOT_APPLICABLE


def _declared_read_only(resource: Resource, index: AppIndex) -> bool:
    declared = index.stack_metadata(resource).get(READ_ONLY_METADATA)
    return isinstance(declared, list) and resource.logical_id in declared


def _sar(index: AppIndex) -> ServiceAuthorizationReference:
    return index.derived("duties:sar", lambda _: ServiceAuthorizationReference())


def writes_of(role: Role, sar: ServiceAuthorizationReference) -> list[str]:
    """Actions the role's identity policies allow that are not Read or List (as patterns that
    cannot be read as actions: ``NotAction``, unknown actions)."""
    found: list[str] = []
    for policy in role.identity_policies:
        for statement in policy.statements:
            if statement.effect != "Allow":
                continue
            if statement.not_actions is not None:
                found.extend(f"NotAction {a}" for a in statement.not_actions)
                continue
            for pattern in statement.actions or ():
                actions = sar.actions(pattern)
                if not actions:
                    found.append(pattern)
                found.extend(
                    action.qualified
                    for action in actions
                    if action.access_level not in READ_LEVELS
                    and action.qualified.lower() not in READ_ONLY_EXCEPTIONS
                )
    return found


def read_only_roles_only_read(resource: Resource, index: AppIndex) -> Verdict:
    """A role the template's Metadata.GovernanceReadOnlyRoles declares read-only: every action
    its identity policies allow has access level Read or List in the Service Authorization
    Reference (kms:Decrypt excepted), and no statement uses NotAction."""
    if not _declared_read_only(resource, index):
        return Verdict.NOT_APPLICABLE
    found = _role_verdict(resource, index)
    if isinstance(found, Verdict):
        return found
    _, role = found
    return Verdict.NON_COMPLIANT if writes_of(role, _sar(index)) else Verdict.COMPLIANT


def _strangers(key_arn: str) -> list[tuple[Principal, str]]:
    """An unnamed administrator of the key's account and one of a foreign account."""
    _, partition, _, _, account, _ = key_arn.split(":", 5)
    return [
        (Principal.role(f"arn:{partition}:iam::{account}:role/{_STRANGER_ROLE}"), account),
        (Principal.role(f"arn:{partition}:iam::{_FOREIGN_ACCOUNT}:role/{_STRANGER_ROLE}"), account),
    ]


def _contexts(region: str, caller: str) -> list[dict[str, str]]:
    contexts: list[dict[str, str]] = [{}]
    for service in KEY_SERVICES:
        contexts.append(
            {
                "kms:ViaService": f"{service}.{region}.amazonaws.com",
                "kms:CallerAccount": caller,
                "kms:GrantIsForAWSResource": "true",
            }
        )
    return contexts


def key_used_only_by_named_principals(resource: Resource, index: AppIndex) -> Verdict:
    """No principal the key policy does not name can use the key: an administrator
    (AdministratorAccess) of the key's own account, or of a foreign account, is denied
    Decrypt, Encrypt, GenerateDataKey(WithoutPlaintext), ReEncryptFrom/To and CreateGrant,
    directly and through each service the app uses keys with (kms:ViaService)."""
    try:
        app = _iam_app(index)
        stack = app.stack_names.get(resource.stack)
        key = app.account.resolver.resource(stack or "", resource.logical_id)
        arn = key.arn
        if arn is None:
            return Verdict.UNDECIDABLE
        region = arn.split(":")[3]
        attached = app.account.resource_policy(arn)
        for principal, key_account in _strangers(arn):
            caller = principal.account or key_account
            actions = _actions_open_to(attached[0] if attached else None, principal)
            for context in _contexts(region, caller) if actions else ():
                for action in actions:
                    allowed = app.account.authorize(
                        principal,
                        action,
                        arn,
                        context,
                        identity_policies=[ADMINISTRATOR_ACCESS],
                        resource_account=key_account,
                    ).allowed
                    if allowed:
                        return Verdict.NON_COMPLIANT
    except IamCheckError:
        return Verdict.UNDECIDABLE
    return Verdict.COMPLIANT


def _actions_open_to(policy: PolicyDocument | None, stranger: Principal) -> list[str]:
    """The key-use actions some Allow of the key policy could grant ``stranger``: one naming
    every principal, the stranger's account or a pattern it matches (or using NotPrincipal).
    KMS requires the key policy to allow a request (KMS developer guide, "Key policies"), so
    only these are worth evaluating; which of them are allowed is the evaluator's answer."""
    if policy is None:
        return []
    account = stranger.account or ""
    names = {"*", account, f"arn:{stranger.partition}:iam::{account}:root"}
    open_actions: list[str] = []
    for statement in policy.statements:
        if statement.effect != "Allow":
            continue
        if statement.not_principals is None:
            aws = (statement.principals or {}).get("AWS", ())
            arns = [stranger.arn, stranger.session_arn or ""]
            if not any(p in names or any(glob_match(p, a) for a in arns) for p in aws):
                continue
        for action in KEY_USE_ACTIONS:
            granted = any(action_matches(a, action) for a in statement.actions or ()) or (
                statement.not_actions is not None
                and not any(action_matches(a, action) for a in statement.not_actions)
            )
            if granted and action not in open_actions:
                open_actions.append(action)
    return open_actions


_SOD = ("AC-5", "AC-6", "AC-6(1)")

RULES: Sequence[GovernanceRule] = (
    GovernanceRule(
        rule_id="SOD1",
        resource_types=(IAM_ROLE,),
        title="Registrants cannot approve, and nobody registers a version as Approved",
        info="The role may register a model version as Approved, or may register versions in "
        "a governed model package group without an explicit deny (or boundary) that keeps it "
        "from approving them, whatever SageMaker permission is granted later.",
        explanation="Approval is the independent review of a model before it may be served "
        "(SR 11-7 effective challenge): whoever builds and registers a model must not be the "
        "one who approves it, and no version may skip review by being created Approved.",
        undecidable="A policy, boundary or group ARN the role depends on is known only at "
        "deploy time.",
        nist_800_53=_SOD,
        sr_11_7="V (effective challenge), VI (approval controls)",
        eu_ai_act="Art. 14 (human oversight), Art. 17 (quality management)",
        check=registrants_cannot_approve,
    ),
    GovernanceRule(
        rule_id="SOD2",
        resource_types=(IAM_ROLE,),
        title="Approvers cannot create or delete versions",
        info="The role may approve model versions of a governed group, and nothing but an "
        "allow that is missing today (no explicit deny, no boundary) keeps it from creating or "
        "deleting versions or deleting the group.",
        explanation="An approver who could also register or delete versions could approve "
        "their own work or remove the evidence of a rejected one.",
        undecidable="A policy, boundary or group ARN the role depends on is known only at "
        "deploy time.",
        nist_800_53=_SOD,
        sr_11_7="V (effective challenge), VI (approval controls)",
        eu_ai_act="Art. 14 (human oversight)",
        check=approvers_cannot_create_or_delete,
    ),
    GovernanceRule(
        rule_id="SOD3",
        resource_types=(IAM_ROLE,),
        title="Read-only personas only read",
        info="A role the app declares read-only (Metadata GovernanceReadOnlyRoles, e.g. the "
        "auditor) is allowed an action whose Service Authorization Reference access level is "
        "not Read or List (kms:Decrypt excepted), or has an Allow with NotAction.",
        explanation="The auditor reviews the registry and the audit evidence; an auditor who "
        "can change either is no longer an independent reviewer.",
        undecidable="A policy the role depends on is known only at deploy time.",
        nist_800_53=("AC-5", "AC-6", "AU-9(4)"),
        sr_11_7="VI (internal audit)",
        check=read_only_roles_only_read,
    ),
    GovernanceRule(
        rule_id="KMS1",
        resource_types=(KMS_KEY,),
        title="Keys are used only by the principals their policy names",
        info="An IAM administrator of the key's account, or of another account, who is not "
        "named in the key policy could use the key (decrypt, encrypt, generate data keys, "
        "re-encrypt or create grants), directly or through an AWS service.",
        explanation="Key policies let the account administer a key but not use it: who may "
        "read governed data is then decided by the key policy (each role named), not by "
        "whoever holds broad IAM permissions in the account.",
        undecidable="The key policy or a principal it names is known only at deploy time.",
        nist_800_53=("SC-12", "SC-28", "AC-6"),
        check=key_used_only_by_named_principals,
    ),
)

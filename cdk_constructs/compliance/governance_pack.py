"""``GovernanceChecks``: our cdk-nag 3 pack for model governance, run as a validation plugin.

    cdk.Validations.of(app).add_plugins(GovernanceChecks(app))

The rules themselves are pure functions in :mod:`cdk_constructs.compliance.rules`; this module
turns the construct tree into the snapshots they read and reports their verdicts through
cdk-nag. A verdict of "cannot decide" becomes the finding ``Governance-<id>[Undecidable]``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any, cast

import aws_cdk as cdk
import cdk_nag
import jsii
from constructs import IConstruct

from cdk_constructs.compliance.rules import (
    INDEXED_TYPES,
    PACK_NAME,
    RULES,
    UNDECIDABLE_FINDING,
    AppIndex,
    Environment,
    GovernanceRule,
    Ref,
    Resource,
    Verdict,
)

_POLICY_NAMES = {
    cdk.CfnDeletionPolicy.RETAIN: "Retain",
    cdk.CfnDeletionPolicy.RETAIN_EXCEPT_ON_CREATE: "RetainExceptOnCreate",
    cdk.CfnDeletionPolicy.DELETE: "Delete",
    cdk.CfnDeletionPolicy.SNAPSHOT: "Snapshot",
}


class GovernanceChecks(cdk_nag.NagPack):
    """Model governance rules (see RULES.md) as a cdk-nag 3 validation plugin.

    :param scope: the app (only needed for ``write_suppressions_to_cloud_formation``).
    :param verbose: findings carry the rule's explanation and controls, not just what is wrong.
        Default: ``True``, because reviewers read the report without the catalogue at hand.
    :param rules: the rules to run. Default: every rule of the catalogue.
    """

    def __init__(
        self,
        scope: IConstruct | None = None,
        *,
        verbose: bool = True,
        write_suppressions_to_cloud_formation: bool | None = None,
        rules: Iterable[GovernanceRule] = RULES,
    ) -> None:
        super().__init__(
            scope,
            verbose=verbose,
            write_suppressions_to_cloud_formation=write_suppressions_to_cloud_formation,
        )
        self._pack_name = PACK_NAME
        self._rules_by_type: dict[str, list[GovernanceRule]] = {}
        for rule in rules:
            for resource_type in rule.resource_types:
                self._rules_by_type.setdefault(resource_type, []).append(rule)
        self._index: AppIndex | None = None
        self._snapshots: Snapshots = {}

    @property
    def name(self) -> str:
        return PACK_NAME

    @property
    def rule_ids(self) -> list[str]:
        return sorted({r.finding_id for rules in self._rules_by_type.values() for r in rules})

    def validate_scope(self, scope: IConstruct) -> cdk.PolicyValidationPluginReport:
        # Called for every validation run (``validate`` delegates here): the tree may have
        # changed since the last one, so the cross-resource index is rebuilt lazily.
        self._index = None
        self._snapshots = {}
        return super().validate_scope(scope)

    def _check_resource(self, node: cdk.CfnResource) -> None:
        if self._index is None:
            types = INDEXED_TYPES | self._rules_by_type.keys()
            self._index, self._snapshots = build_index(node.node.root, types)
        # jsii hands back the same Python object for a construct, so most resources are found
        # (or skipped) without another call into the JavaScript runtime.
        found = self._snapshots.get(id(node))
        resource = found[1] if found is not None and found[0] is node else None
        if resource is None:
            if node.cfn_resource_type not in self._rules_by_type:
                return
            resource = self._index[node.node.path]
        for rule in self._rules_by_type.get(resource.type, ()):
            finding = _finding(rule, node, resource, self._index)
            if finding is not None:
                # The protocol declares settable members; cdk-nag only reads them.
                self._apply_rule(cast(cdk_nag.IApplyRule, finding))


def _finding(
    rule: GovernanceRule, node: cdk.CfnResource, resource: Resource, index: AppIndex
) -> _Finding | None:
    """What to report for ``rule`` on ``resource``; ``None`` when there is nothing to report.

    cdk-nag 3 records violations only, so compliant and not-applicable verdicts are not sent
    to it (each rule sent costs several calls between the Python and JavaScript runtimes).
    """
    try:
        verdict = rule.check(resource, index)
    except Exception as error:
        # Re-raised inside cdk-nag, which reports "Rule threw an error" for this rule.
        return _Finding(rule, node, error)
    if verdict in (Verdict.COMPLIANT, Verdict.NOT_APPLICABLE):
        return None
    return _Finding(rule, node, verdict)


@jsii.implements(cdk_nag.IApplyRule)
class _Finding:
    """A rule's verdict on one resource, in the shape cdk-nag calls back into."""

    def __init__(
        self, rule: GovernanceRule, node: cdk.CfnResource, outcome: Verdict | Exception
    ) -> None:
        self._rule = rule
        self._node = node
        self._outcome = outcome

    @property
    def rule_suffix_override(self) -> str | None:
        return self._rule.rule_id

    @property
    def info(self) -> str:
        if self._outcome is Verdict.UNDECIDABLE:
            return f"Cannot decide at synth time: {self._rule.undecidable}"
        return self._rule.info

    @property
    def explanation(self) -> str:
        return f"{self._rule.explanation} Controls: {self._rule.controls()}."

    @property
    def level(self) -> cdk_nag.NagMessageLevel:
        return cdk_nag.NagMessageLevel.ERROR

    @property
    def node(self) -> cdk.CfnResource:
        return self._node

    def rule(self, _node: cdk.CfnResource) -> cdk_nag.NagRuleCompliance | list[str]:
        if isinstance(self._outcome, Exception):
            raise self._outcome
        if self._outcome is Verdict.UNDECIDABLE:
            return [UNDECIDABLE_FINDING]
        return cdk_nag.NagRuleCompliance(self._outcome.value)


Snapshots = dict[int, tuple[cdk.CfnResource, Resource]]


def build_index(
    root: IConstruct, types: Collection[str] = INDEXED_TYPES
) -> tuple[AppIndex, Snapshots]:
    """Snapshot every resource of ``types`` (default: those the catalogue checks or looks up),
    in every stack under ``root``.

    Also returns the snapshots keyed by ``id()`` of their construct (kept alongside, so the id
    stays valid).
    """
    snapshots: Snapshots = {}
    environments: dict[int, tuple[cdk.Stack, Environment]] = {}
    for construct in root.node.find_all():
        if not isinstance(construct, cdk.CfnResource):
            continue
        resource_type = construct.cfn_resource_type
        if resource_type in types:
            resource = snapshot(construct, environments, resource_type=resource_type)
            snapshots[id(construct)] = (construct, resource)
    return AppIndex(resource for _, resource in snapshots.values()), snapshots


def snapshot(
    node: cdk.CfnResource,
    environments: dict[int, tuple[cdk.Stack, Environment]] | None = None,
    *,
    resource_type: str | None = None,
) -> Resource:
    """The resource as rules see it: CloudFormation-shaped, resolved, references kept.

    ``environments`` caches each stack's environment across calls; ``resource_type`` saves
    asking for it again.
    """
    stack = cdk.Stack.of(node)
    options = node.cfn_options
    deletion_policy = options.deletion_policy
    update_replace_policy = options.update_replace_policy
    return Resource(
        path=node.node.path,
        type=resource_type or node.cfn_resource_type,
        props=_properties(node, stack),
        environment=_environment(stack, {} if environments is None else environments),
        deletion_policy=_POLICY_NAMES.get(deletion_policy) if deletion_policy else None,
        update_replace_policy=_POLICY_NAMES.get(update_replace_policy)
        if update_replace_policy
        else None,
    )


def _environment(stack: cdk.Stack, cache: dict[int, tuple[cdk.Stack, Environment]]) -> Environment:
    cached = cache.get(id(stack))
    if cached is not None and cached[0] is stack:
        return cached[1]
    stage = cdk.Stage.of(stack)
    environment = Environment(
        stage_path=stage.node.path if stage is not None else "",
        account=_literal_or_none(stack.account),
        region=_literal_or_none(stack.region),
    )
    cache[id(stack)] = (stack, environment)
    return environment


def _literal_or_none(value: str) -> str | None:
    return None if cdk.Token.is_unresolved(value) else value


# Stands in for a reference while the properties are resolved and rendered in CDK.
_PLACEHOLDER = "@@governance-reference@@"


def _properties(node: cdk.CfnResource, stack: cdk.Stack) -> Mapping[str, Any]:
    """Resolve then render, in the order CDK's own synth does (rendering validates types and
    accepts intrinsics, not tokens); references to resources are swapped out and back."""
    references: list[Ref] = []
    try:
        marked = _mark_references(node._cfn_properties, references)
        rendered = node._render_properties(stack.resolve(marked))
    except Exception as error:
        # A rule must see "unknown", never crash the synth. The same properties would fail
        # CDK's own rendering too; rules report "cannot decide".
        return {"Fn::Unresolvable": str(error)}
    restored: Mapping[str, Any] = _restore_references(rendered, references)
    return restored


def _mark_references(value: Any, references: list[Ref]) -> Any:
    if isinstance(value, str):
        # Tokens are encoded in strings as ${Token[...]}; checking locally saves a jsii call.
        reference = _reference(value) if "Token[" in value else None
        if reference is None:
            return value
        references.append(reference)
        return f"{_PLACEHOLDER}{len(references) - 1}"
    if isinstance(value, list):
        return [_mark_references(item, references) for item in value]
    if isinstance(value, Mapping):
        return {key: _mark_references(item, references) for key, item in value.items()}
    return value


def _reference(value: str) -> Ref | None:
    """A whole-string reference to a CfnResource (``Ref`` or ``Fn::GetAtt``), if it is one."""
    reference = cdk.Tokenization.reverse(value, fail_concat=False)
    if not isinstance(reference, cdk.Reference):
        return None
    target = reference.target
    if not isinstance(target, cdk.CfnResource):
        return None
    return Ref(
        target_path=target.node.path,
        target_type=target.cfn_resource_type,
        attribute=reference.display_name,
    )


def _restore_references(value: Any, references: list[Ref]) -> Any:
    if isinstance(value, str) and value.startswith(_PLACEHOLDER):
        return references[int(value.removeprefix(_PLACEHOLDER))]
    if isinstance(value, list):
        return [_restore_references(item, references) for item in value]
    if isinstance(value, Mapping):
        return {key: _restore_references(item, references) for key, item in value.items()}
    return value

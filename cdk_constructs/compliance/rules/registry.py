"""Rules for the model registry: model package groups, their cards and their event rules."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from cdk_constructs import tags
from cdk_constructs.compliance.rules.framework import (
    UNKNOWN_KEY,
    AppIndex,
    GovernanceRule,
    Ref,
    Resource,
    Verdict,
    all_of,
    as_list,
    combine,
    configured,
    dig,
    is_unresolved,
    literal_str,
    per_resource,
    verdict_of,
)
from cdk_constructs.compliance.rules.wiring import (
    LAMBDA_FUNCTION,
    NOTHING,
    UNSURE,
    function_paths,
)
from governance.contracts.vocabulary import POLICY_PARAMETER_PREFIX, DataClassification

MODEL_PACKAGE_GROUP = "AWS::SageMaker::ModelPackageGroup"
MODEL_CARD = "AWS::SageMaker::ModelCard"
EVENTS_RULE = "AWS::Events::Rule"

RISK_TIERS = frozenset({"high", "medium", "low"})
# The classifications the config accepts (governance.contracts.vocabulary.DataClassification).
DATA_CLASSIFICATIONS = frozenset(c.value for c in DataClassification)

# What another account may do with a shared group: read it, and create a model from one of its
# packages in its own account. Anything else (UpdateModelPackage approves, Delete*, Put*...) or
# any wildcard is a violation. Compared case-insensitively, as IAM does.
READ_ONLY_SHARING_ACTIONS = (
    "sagemaker:DescribeModelPackage",
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:ListModelPackages",
    "sagemaker:CreateModel",
)
_READ_ONLY = frozenset(action.lower() for action in READ_ONLY_SHARING_ACTIONS)

SSM_PARAMETER = "AWS::SSM::Parameter"
# The handlers' entry points (lambda/governance/approval_gate.py and ledger.py): the contract
# by which the approval gate and the ledger handler are found, whatever their names.
GATE_HANDLER = "governance.approval_gate.handler"
LEDGER_HANDLER = "governance.ledger.handler"

STATE_CHANGE_SOURCE = "aws.sagemaker"
STATE_CHANGE_DETAIL_TYPE = "SageMaker Model Package State Change"


def group_retained(group: Resource) -> Verdict:
    """DeletionPolicy Retain (or RetainExceptOnCreate) and UpdateReplacePolicy Retain."""
    retained_on_delete = group.deletion_policy in {"Retain", "RetainExceptOnCreate"}
    return verdict_of(retained_on_delete and group.update_replace_policy == "Retain")


def group_tagged(group: Resource) -> Verdict:
    """governance:model and governance:owner set, governance:risk-tier one of high|medium|low,
    governance:data-classification one of public|internal|confidential|restricted."""
    wanted = (
        (tags.MODEL, _non_empty),
        (tags.OWNER, _non_empty),
        (tags.RISK_TIER, lambda value: isinstance(value, str) and value in RISK_TIERS),
        (
            tags.DATA_CLASSIFICATION,
            lambda value: isinstance(value, str) and value in DATA_CLASSIFICATIONS,
        ),
    )
    return combine(_tag_verdict(group.tag(key), valid) for key, valid in wanted)


def _non_empty(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _tag_verdict(value: Any, valid: Callable[[Any], bool]) -> Verdict:
    if is_unresolved(value):
        return Verdict.UNDECIDABLE
    return verdict_of(valid(value))


def group_has_approval_policy(group: Resource, index: AppIndex) -> Verdict:
    """An AWS::SSM::Parameter named <POLICY_PARAMETER_PREFIX><group name> (the approval
    policy the approval gate reads) is declared where the group is deployed."""
    name = group.get("ModelPackageGroupName")
    if not isinstance(name, str):
        return Verdict.UNDECIDABLE
    by_name = index.keyed("parameters-by-name", (SSM_PARAMETER,), _parameter_key)
    named = by_name.get(f"{POLICY_PARAMETER_PREFIX}{name}", [])
    if any(parameter.environment.overlaps(group.environment) for parameter in named):
        return Verdict.COMPLIANT
    unsure = any(
        parameter.environment.overlaps(group.environment)
        for parameter in by_name.get(UNKNOWN_KEY, [])
    )
    return Verdict.UNDECIDABLE if unsure else Verdict.NON_COMPLIANT


def _parameter_key(parameter: Resource) -> Any:
    name = parameter.get("Name")
    return name if isinstance(name, str) else UNKNOWN_KEY


def group_sharing_read_only(group: Resource) -> Verdict:
    """Allow statements of ModelPackageGroupPolicy grant only the read-only sharing actions
    (no wildcard, NotAction or NotPrincipal; a "*" principal only with an aws:PrincipalOrgID,
    aws:PrincipalOrgPaths or aws:PrincipalAccount condition)."""
    policy = group.get("ModelPackageGroupPolicy")
    if policy is None:
        return Verdict.NOT_APPLICABLE
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return Verdict.NON_COMPLIANT  # CloudFormation would reject it too
    if not isinstance(policy, Mapping) or is_unresolved(policy):
        return Verdict.UNDECIDABLE
    statements = policy.get("Statement")
    if is_unresolved(statements):
        return Verdict.UNDECIDABLE
    return combine(_statement_verdict(s) for s in as_list(statements))


def _statement_verdict(statement: Any) -> Verdict:
    if not isinstance(statement, Mapping) or is_unresolved(statement):
        return Verdict.UNDECIDABLE
    effect = statement.get("Effect")
    if effect == "Deny":
        return Verdict.COMPLIANT
    if effect != "Allow":
        return Verdict.UNDECIDABLE
    if "NotAction" in statement or "NotPrincipal" in statement:
        return Verdict.NON_COMPLIANT
    if _is_public(statement.get("Principal")) and not _limited_to_organisation(statement):
        return Verdict.NON_COMPLIANT
    verdicts = []
    for action in as_list(statement.get("Action")):
        if not isinstance(action, str):
            verdicts.append(Verdict.UNDECIDABLE)
        else:
            verdicts.append(verdict_of(action.lower() in _READ_ONLY))
    return combine(verdicts) if verdicts else Verdict.NON_COMPLIANT


def _is_public(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return any(p == "*" for p in as_list(principal.get("AWS")))
    return False


# Condition keys that limit a "*" principal to the organisation or named accounts.
_PRINCIPAL_SCOPING_KEYS = frozenset(
    {"aws:principalorgid", "aws:principalorgpaths", "aws:principalaccount"}
)


def _limited_to_organisation(statement: Mapping[str, Any]) -> bool:
    condition = statement.get("Condition")
    if not isinstance(condition, Mapping):
        return False
    return any(
        isinstance(keys, Mapping)
        and any(str(key).lower() in _PRINCIPAL_SCOPING_KEYS for key in keys)
        for operator, keys in condition.items()
        if not str(operator).startswith("ForAnyValue:") and "IfExists" not in str(operator)
    )


def _card_model(card: Resource) -> Any:
    model = card.tag(tags.MODEL)
    if is_unresolved(model):
        return UNKNOWN_KEY
    return model if isinstance(model, str) else None


def group_has_model_card(group: Resource, index: AppIndex) -> Verdict:
    """A model card tagged with the group's governance:model value exists in a stack of the
    same account and region."""
    model = group.tag(tags.MODEL)
    if model is None:
        return Verdict.NOT_APPLICABLE  # untagged groups are reported by MPG2
    if not isinstance(model, str):
        return Verdict.UNDECIDABLE
    cards = index.keyed("cards-by-model", (MODEL_CARD,), _card_model)
    if any(card.environment.overlaps(group.environment) for card in cards.get(model, ())):
        return Verdict.COMPLIANT
    if any(card.environment.overlaps(group.environment) for card in cards.get(UNKNOWN_KEY, ())):
        return Verdict.UNDECIDABLE
    return Verdict.NON_COMPLIANT


def card_encrypted(card: Resource) -> Verdict:
    """SecurityConfig.KmsKeyId is set."""
    return verdict_of(configured(card.get("SecurityConfig", "KmsKeyId")))


def _is_state_change_pattern(pattern: Mapping[str, Any]) -> bool | None:
    source = pattern.get("source")
    detail_type = pattern.get("detail-type")
    if is_unresolved(source) or is_unresolved(detail_type):
        return None
    return STATE_CHANGE_SOURCE in as_list(source) and STATE_CHANGE_DETAIL_TYPE in as_list(
        detail_type
    )


def event_pattern(rule: Resource) -> Mapping[str, Any] | None:
    """The rule's pattern as a mapping (``{}`` if none, ``None`` if unresolvable)."""
    pattern = rule.get("EventPattern")
    if pattern is None:
        return {}
    if isinstance(pattern, str):
        try:
            pattern = json.loads(pattern)
        except ValueError:
            return None
    if not isinstance(pattern, Mapping) or is_unresolved(pattern):
        return None
    return pattern


def matches_state_changes(rule: Resource) -> bool | None:
    """Does the rule route SageMaker model package state-change events?"""
    pattern = event_pattern(rule)
    return None if pattern is None else _is_state_change_pattern(pattern)


def targets_have_dlq(rule: Resource) -> bool | None:
    """At least one target, and every target has DeadLetterConfig.Arn."""
    targets = rule.get("Targets")
    if is_unresolved(targets):
        return None
    decisions = [configured(dig(t, "DeadLetterConfig", "Arn")) for t in as_list(targets)]
    return all_of(*decisions) if decisions else False


def _on_default_bus(bus: Any) -> bool | None:
    """SageMaker sends its events to the default bus only."""
    if bus is None or isinstance(bus, Ref):
        return bus is None  # a reference names a custom bus of the app
    if isinstance(bus, str):
        return bus == "default" or bus.endswith(":event-bus/default")
    return None


def _route_base(rule: Resource) -> bool | None:
    """Could the rule deliver a state change at all (whatever the group)? Enabled, on the
    default bus, matching state changes, and every target with a dead-letter queue."""
    state = rule.get("State")
    enabled = None if is_unresolved(state) else state != "DISABLED"
    pattern = event_pattern(rule)
    return all_of(
        enabled,
        _on_default_bus(rule.get("EventBusName")),
        None if pattern is None else _is_state_change_pattern(pattern),
        targets_have_dlq(rule),
    )


def _route_keys(rule: Resource) -> list[Any]:
    """Which groups the rule's ``detail.ModelPackageGroupName`` filter selects: ``ALL_GROUPS``,
    each exact literal name, and ``UNKNOWN_KEY`` when the filter is only known at deploy time
    (content filters such as ``{"prefix": ...}`` are not exact and never select a name)."""
    if _route_base(rule) is False:
        return []
    pattern = event_pattern(rule)
    detail = pattern.get("detail", {}) if pattern is not None else None
    if not isinstance(detail, Mapping) or is_unresolved(detail):
        return [UNKNOWN_KEY]
    names = detail.get("ModelPackageGroupName")
    if names is None:
        return [ALL_GROUPS]
    if is_unresolved(names):
        return [UNKNOWN_KEY]
    entries = as_list(names)
    keys: list[Any] = [("name", entry) for entry in entries if isinstance(entry, str)]
    if any(is_unresolved(entry) for entry in entries):
        keys.append(UNKNOWN_KEY)
    return keys


ALL_GROUPS = ("all-groups",)


def group_has_state_change_rule(group: Resource, index: AppIndex) -> Verdict:
    """An enabled EventBridge rule on the default bus matches source aws.sagemaker, detail-type
    'SageMaker Model Package State Change' and the group's exact name (or has no name filter),
    and has at least one target, every one with DeadLetterConfig.Arn."""
    if group.tag(tags.MODEL) is None:
        return Verdict.NOT_APPLICABLE  # ungoverned groups are reported by MPG2
    decisions = [all_of(_route_base(rule), selected) for rule, selected in _selecting(group, index)]
    if True in decisions:
        return Verdict.COMPLIANT
    return Verdict.UNDECIDABLE if None in decisions else Verdict.NON_COMPLIANT


def _selecting(group: Resource, index: AppIndex) -> list[tuple[Resource, bool | None]]:
    """State-change rules deployable next to ``group`` and whether each selects it (``None``:
    cannot be told)."""
    routes = index.keyed("state-change-routes", (EVENTS_RULE,), _route_keys)
    group_name = literal_str(group.get("ModelPackageGroupName"))
    selecting: list[tuple[Resource, bool | None]]
    if group_name is None:
        # Only a rule for every group can be shown to select a group whose name is unknown.
        selecting = [(rule, True) for rule in routes.get(ALL_GROUPS, ())]
        maybe = [rule for key, rules in routes.items() if key != ALL_GROUPS for rule in rules]
        selecting += [(rule, None) for rule in maybe]
    else:
        selecting = [
            *((rule, True) for rule in routes.get(("name", group_name), ())),
            *((rule, True) for rule in routes.get(ALL_GROUPS, ())),
            *((rule, None) for rule in routes.get(UNKNOWN_KEY, ())),
        ]
    return [(rule, sel) for rule, sel in selecting if rule.environment.overlaps(group.environment)]


def _handler_functions(index: AppIndex, handler: str) -> frozenset[str]:
    """Functions whose code entry point (``Handler``) is one of ``lambda/governance``'s (one
    pass over the app's functions, not one per governed group)."""

    def build(built: AppIndex) -> frozenset[str]:
        return frozenset(
            function.path
            for function in built.of_type(LAMBDA_FUNCTION)
            if function.get("Handler") == handler
        )

    return index.derived(f"registry:handler-functions:{handler}", build)


def group_reaches_gate_and_ledger(group: Resource, index: AppIndex) -> Verdict:
    """The state-change rules that deliver the group's changes (MPG5's) target, between them,
    the approval gate and the audit ledger handler: functions whose Handler is
    governance.approval_gate.handler and governance.ledger.handler, named by reference, name
    or ARN."""
    if group.tag(tags.MODEL) is None:
        return Verdict.NOT_APPLICABLE
    reached = NOTHING
    undecided = False
    for rule, selected in _selecting(group, index):
        delivers = all_of(_route_base(rule), selected)
        if delivers is False:
            continue
        undecided = undecided or delivers is None
        targets = rule.get("Targets")
        if is_unresolved(targets):
            reached = reached | UNSURE
            continue
        for target in as_list(targets):
            reached = reached | function_paths(dig(target, "Arn"), rule, index)
    needed = [_handler_functions(index, handler) for handler in (GATE_HANDLER, LEDGER_HANDLER)]
    if all(paths & reached.found for paths in needed) and not undecided:
        return Verdict.COMPLIANT
    return Verdict.UNDECIDABLE if reached.unsure or undecided else Verdict.NON_COMPLIANT


RULES = (
    GovernanceRule(
        rule_id="MPG1",
        resource_types=(MODEL_PACKAGE_GROUP,),
        title="Model package groups are retained",
        info="The model package group is not retained: set DeletionPolicy and "
        "UpdateReplacePolicy to Retain.",
        explanation="The registry is the model inventory and holds the approval history; "
        "deleting or replacing a group with its stack destroys that record.",
        undecidable="Never: retention policies are always literal.",
        nist_800_53=("AU-11", "CM-8", "SI-12"),
        sr_11_7="VI (model inventory, documentation)",
        eu_ai_act="Art. 18 (documentation keeping)",
        check=per_resource(group_retained),
    ),
    GovernanceRule(
        rule_id="MPG2",
        resource_types=(MODEL_PACKAGE_GROUP,),
        title="Model package groups name their model, owner, risk tier and data classification",
        info="The model package group lacks governance:model / governance:owner tags, a "
        "governance:risk-tier of high|medium|low or a governance:data-classification of "
        "public|internal|confidential|restricted.",
        explanation="Every inventoried model needs an accountable owner and a risk tier, which "
        "set the depth of validation and monitoring the other rules require, and the "
        "classification of the data it was trained on, which sets who may see its evidence.",
        undecidable="A governance tag value is a token; the owner or risk tier cannot be "
        "checked at synth time.",
        nist_800_53=("CM-8", "RA-2", "PM-5"),
        sr_11_7="VI (model inventory; roles and responsibilities)",
        eu_ai_act="Art. 9 (risk management system)",
        check=per_resource(group_tagged),
    ),
    GovernanceRule(
        rule_id="MPG3",
        resource_types=(MODEL_PACKAGE_GROUP,),
        title="Cross-account group policies are read-only",
        info="The ModelPackageGroupPolicy allows more than "
        + ", ".join(READ_ONLY_SHARING_ACTIONS)
        + " (or uses a wildcard, NotAction or a public principal).",
        explanation="Consumer accounts may read a shared group and create models from it, but "
        "approving (UpdateModelPackage), deleting or re-registering must stay with the owning "
        "account's approvers.",
        undecidable="A policy statement, effect or action is a token; the grant cannot be "
        "checked at synth time.",
        nist_800_53=("AC-3", "AC-6", "AC-21"),
        sr_11_7="VI (controls over model changes)",
        check=per_resource(group_sharing_read_only),
    ),
    GovernanceRule(
        rule_id="MPG4",
        resource_types=(MODEL_PACKAGE_GROUP,),
        title="Every governed group has a model card",
        info="No AWS::SageMaker::ModelCard tagged with this group's governance:model value "
        "exists in the app (same account and region).",
        explanation="The model card documents purpose, intended use, limitations and "
        "evaluation; a registered model without one cannot be reviewed.",
        undecidable="The group's or a card's governance:model tag is a token; the pair cannot "
        "be matched at synth time.",
        nist_800_53=("SA-5", "CM-8", "PL-2"),
        sr_11_7="IV (model development documentation), VI (documentation)",
        eu_ai_act="Art. 11 (technical documentation), Art. 13 (transparency)",
        check=group_has_model_card,
    ),
    GovernanceRule(
        rule_id="MPG5",
        resource_types=(MODEL_PACKAGE_GROUP,),
        title="Every governed group's state changes reach targets with a DLQ",
        info="No enabled EventBridge rule matches source aws.sagemaker, detail-type "
        "'SageMaker Model Package State Change' and this group's exact name (or all groups), "
        "with every target having DeadLetterConfig.Arn.",
        explanation="Approvals are gated and recorded by handlers fed from these events; an "
        "event nobody receives, or that is dropped after retries, leaves an approval "
        "unchecked and unaudited.",
        undecidable="The group name, a rule's pattern, state or targets is a token; routing "
        "cannot be checked at synth time.",
        nist_800_53=("AU-2", "AU-5", "AU-12", "SI-4"),
        sr_11_7="VI (approval controls, audit)",
        eu_ai_act="Art. 12 (record-keeping), Art. 14 (human oversight)",
        check=group_has_state_change_rule,
    ),
    GovernanceRule(
        rule_id="MPG6",
        resource_types=(MODEL_PACKAGE_GROUP,),
        title="Every governed group has its approval policy",
        info="No AWS::SSM::Parameter named <POLICY_PARAMETER_PREFIX><group name> (the approval "
        "policy: required evidence and thresholds) is declared where the group is deployed.",
        explanation="The approval gate reads the group's policy to decide whether an approval "
        "stands; without it the gate fails closed at run time and every approval is reverted, "
        "so a group without its policy is a registry no one can approve into.",
        undecidable="The group's name, or a parameter's name, is known only at deploy time.",
        nist_800_53=("CM-3", "CA-2"),
        sr_11_7="V (model validation), VI (approval controls)",
        eu_ai_act="Art. 17 (quality management system)",
        check=group_has_approval_policy,
    ),
    GovernanceRule(
        rule_id="MPG7",
        resource_types=(MODEL_PACKAGE_GROUP,),
        title="Every governed group's state changes reach the approval gate and the ledger",
        info="The state-change rules that deliver the group's changes do not target both the "
        "approval gate (Handler governance.approval_gate.handler) and the audit ledger handler "
        "(governance.ledger.handler).",
        explanation="A rule with dead-lettered targets (MPG5) still governs nothing if its "
        "targets are not the handlers: an approval would go unchecked and unrecorded.",
        undecidable="A rule's targets or group filter are known only at deploy time.",
        nist_800_53=("AU-2", "AU-12", "CM-3"),
        sr_11_7="VI (approval controls, audit)",
        eu_ai_act="Art. 12 (record-keeping), Art. 14 (human oversight)",
        check=group_reaches_gate_and_ledger,
    ),
    GovernanceRule(
        rule_id="MC1",
        resource_types=(MODEL_CARD,),
        title="Model cards are encrypted with a KMS key",
        info="The model card has no SecurityConfig.KmsKeyId.",
        explanation="Cards hold evaluation results and risk ratings; a customer managed key "
        "keeps their access reviewable and revocable.",
        undecidable="SecurityConfig.KmsKeyId is conditional; encryption cannot be checked.",
        nist_800_53=("SC-28", "SC-12"),
        check=per_resource(card_encrypted),
    ),
)

"""Acknowledge a rule finding on one construct, with the reason a reviewer will read."""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
from constructs import IConstruct

MIN_REASON_LENGTH = 40
_POLICY_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge ``rule`` (e.g. ``AwsSolutions-IAM5[Resource::*]``) on ``scope``.

    The id is namespaced with the pack (``AwsSolutions::AwsSolutions-IAM5[...]``) so the reason
    stays in ``validation-report.json``. Reasons must say why *this* resource is fine; short
    boilerplate is refused.
    """
    _acknowledge_all(scope, [rule], reason)


def _acknowledge_all(scope: IConstruct, rules: list[str], reason: str) -> None:
    """Acknowledge ``rules`` on ``scope`` with one call into the jsii runtime (synth speed)."""
    acknowledgments = []
    for rule in rules:
        pack, sep, _ = rule.partition("-")
        if not sep or not pack:
            raise ValueError(f"rule must look like '<Pack>-<Rule>' (got {rule!r})")
        if len(reason.strip()) < MIN_REASON_LENGTH:
            raise ValueError(
                f"acknowledgment of {rule} on {scope.node.path} needs a specific reason of at "
                f"least {MIN_REASON_LENGTH} characters (got {reason!r})"
            )
        acknowledgments.append(cdk.Acknowledgment(id=f"{pack}::{rule}", reason=reason))
    if acknowledgments:
        cdk.Validations.of(scope).acknowledge(*acknowledgments)


def _flatten(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        return f"<{logical_id}.{attribute}>"
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_flatten(part) for part in parts)
    if isinstance(value, dict) and len(value) == 1 and "Fn::GetStackOutput" in value:
        # cdk-nag's flattenCfnReference falls back to JSON.stringify for any other intrinsic
        # (cdk-nag 3.0.2, lib/utils/flatten-cfn-reference.js): compact, keys in order.
        return json.dumps(value, separators=(",", ":"))
    raise ValueError(f"cannot render {value!r} the way cdk-nag names findings")


def nag_string(stack: cdk.Stack, value: str) -> str:
    """Render a (possibly tokenised) string the way cdk-nag writes it in finding ids.

    ``arn:${Token[AWS.Partition]}:...`` becomes ``arn:<AWS::Partition>:...`` and a bucket's
    ``Arn`` attribute ``<Bucket1234.Arn>``, so an acknowledgment names exactly one finding.
    """
    # cdk-nag writes an IAM policy variable ``${aws:PrincipalTag/x}`` as ``<aws:PrincipalTag/x>``.
    return _POLICY_VARIABLE.sub(r"<\1>", _flatten(stack.resolve(value)))


def acknowledge_wildcards(
    scope: IConstruct,
    *,
    actions: list[str] | tuple[str, ...] = (),
    resources: list[str] | tuple[str, ...] = (),
    reason: str,
) -> None:
    """Acknowledge AwsSolutions-IAM5 for each wildcard action and resource, one id each.

    cdk-nag 3 has no prefix matching, so every finding is named; the caller passes exactly the
    wildcards its statements contain, keeping the acknowledgment as narrow as the grant.
    """
    rules = [f"AwsSolutions-IAM5[Action::{action}]" for action in actions if "*" in action]
    rules += [f"AwsSolutions-IAM5[Resource::{r}]" for r in resources if "*" in r]
    _acknowledge_all(scope, rules, reason)


# Packs that share a rule name; an acknowledgment of one rule applies the same reason to each.
CONTROL_FRAMEWORK_PACKS = ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")


def acknowledge_in_frameworks(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge ``rule`` (e.g. ``S3BucketReplicationEnabled``) in each control framework."""
    _acknowledge_all(scope, [f"{pack}-{rule}" for pack in CONTROL_FRAMEWORK_PACKS], reason)

"""The identifiers of shared references (an ARN or id token), read once per object.

Reading ``role.role_arn`` on an aws-cdk object is a round trip to the jsii runtime (Node). A
models stack reads the same foundation role's ARN, subnets' ids and security group's id for every
model and every monitor; at 500 models those reads were a tenth of the per-model synth cost
(``bench/scale.py``). These attributes are fixed for the object's life: aws-cdk sets them in the
constructor (``Role.fromRoleArn``, ``Subnet.fromSubnetAttributes``,
``SecurityGroup.fromSecurityGroupId``, ``Topic.fromTopicArn``, or the resource's own
``Ref``/``GetAtt`` token), so a value read once stays right; so is a stack's region. Entries go
away with the object (weak keys), so one process can build many apps.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Literal

from aws_cdk import Stack, Token

Identifier = Literal["role_arn", "subnet_id", "security_group_id", "topic_arn", "function_arn"]

_READ: weakref.WeakKeyDictionary[object, dict[str, str]] = weakref.WeakKeyDictionary()


def identifier(reference: object, attribute: Identifier) -> str:
    """``getattr(reference, attribute)``, read from the jsii runtime once per object."""
    known = _READ.setdefault(reference, {})
    if attribute not in known:
        value = getattr(reference, attribute)
        if not isinstance(value, str):
            raise TypeError(f"{attribute} of {reference!r} is {value!r}; expected a string")
        known[attribute] = value
    return known[attribute]


@dataclass(frozen=True)
class StackEnvironment:
    """A stack's region and account as aws-cdk gives them: literal, or the pseudo-parameter
    tokens of a region-agnostic stack (``known_region`` is then ``None``)."""

    region: str
    account: str
    known_region: str | None


_ENVIRONMENTS: weakref.WeakKeyDictionary[Stack, StackEnvironment] = weakref.WeakKeyDictionary()


def stack_environment(stack: Stack) -> StackEnvironment:
    """``stack``'s region and account, read from the jsii runtime once per stack (a stack's
    environment is fixed when it is created)."""
    known = _ENVIRONMENTS.get(stack)
    if known is None:
        region = stack.region
        known = _ENVIRONMENTS[stack] = StackEnvironment(
            region=region,
            account=stack.account,
            known_region=None if Token.is_unresolved(region) else region,
        )
    return known


def known_region(stack: Stack) -> str | None:
    """``stack.region`` when it is a literal region, ``None`` for a region-agnostic stack."""
    return stack_environment(stack).known_region

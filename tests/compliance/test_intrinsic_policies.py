"""cdk_constructs.intrinsics: one evaluator, five policies for what cannot be known offline."""

from __future__ import annotations

from typing import Any

import pytest

from cdk_constructs.intrinsics import (
    NO_VALUE,
    Absent,
    Evaluator,
    Placeholder,
    Strict,
    Symbolic,
    UnknownPolicy,
    WorstCaseLength,
)

PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::NoValue": NO_VALUE}
# A fragment with one part only a deployment knows (the parameter Env has no value here).
FRAGMENT: dict[str, Any] = {
    "Fn::Join": [":", ["arn", {"Ref": "AWS::Partition"}, {"Ref": "Env"}]],
}


class _PseudoEvaluator(Evaluator[dict[str, Any]]):
    def reference(self, scope: dict[str, Any], name: Any, value: Any, depth: int) -> Any:
        if name in scope:
            return scope[name]
        return self.unknown(scope, f"Ref to {name}", value, depth)


def _evaluate(policy: UnknownPolicy, value: Any, **options: Any) -> Any:
    return _PseudoEvaluator(policy, **options).evaluate(PSEUDO, value)


def test_the_functions_evaluate_the_same_way_under_every_policy() -> None:
    value = {
        "List": [
            {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Name}/*", "Name": "x"},
            {"Fn::Sub": ["${AWS::Region}-${Suffix}", {"Suffix": "a"}]},
            {"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]},
            {"Ref": "AWS::NoValue"},
            {"Fn::Base64": "hi"},
            {"Fn::ToJsonString": {"k": [1]}},
            {"Fn::GetAZs": "eu-west-1"},
        ],
        "Gone": {"Ref": "AWS::NoValue"},
    }
    for policy in (Strict(ValueError), Placeholder(), WorstCaseLength(3), Symbolic(), Absent()):
        assert _evaluate(policy, value) == {
            "List": [
                # Two keys: not an intrinsic, so the object is kept with its values evaluated.
                {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Name}/*", "Name": "x"},
                "eu-west-1-a",
                "b",
                "aGk=",
                '{"k":[1]}',
                ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
            ]
        }


def test_each_policy_decides_what_an_unknown_becomes() -> None:
    with pytest.raises(ValueError, match=r"Ref to Env"):
        _evaluate(Strict(ValueError), FRAGMENT)
    assert _evaluate(Placeholder(), FRAGMENT) == "arn:aws:<unresolved:Ref to Env>"
    assert _evaluate(WorstCaseLength(5), FRAGMENT) == "arn:aws:UUUUU"
    # Symbolic keeps the intrinsic, its arguments evaluated, and so the enclosing Join too.
    assert _evaluate(Symbolic(), FRAGMENT) == "arn:aws:" + '{"Ref":"Env"}'
    assert _PseudoEvaluator(Absent()).known(PSEUDO, FRAGMENT) is None


def test_functions_left_out_are_unknown() -> None:
    kept = _evaluate(Symbolic(), FRAGMENT, functions=("Ref",))
    assert kept == {"Fn::Join": [":", ["arn", "aws", {"Ref": "Env"}]]}
    with pytest.raises(ValueError, match=r"Fn::Cidr is not supported"):
        _evaluate(Strict(ValueError), {"Fn::Cidr": ["10.0.0.0/16", 2, 8]})


def test_nesting_beyond_the_limit_is_an_error() -> None:
    deep: Any = "x"
    for _ in range(10):
        deep = [deep]
    with pytest.raises(ValueError, match="nest too deeply"):
        _evaluate(Placeholder(), deep, max_depth=5)

"""The pack reads synthesized templates: references across stacks and Stages, raw overrides."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker

from cdk_constructs.compliance.rules import AppIndex, Ref, Resource
from cdk_constructs.compliance.templates import load_resources, read_assembly, read_templates
from tests.compliance_rules import builders as b
from tests.conftest import cdk_context

PROD = cdk.Environment(account="222222222222", region="eu-west-1")


@pytest.fixture(scope="module")
def assembly() -> Path:
    # Given: a key in one stack used by a card in another stack of the same environment, a
    # raw override that weakens a model, and the same model in a Stage; cdk.json's flags, so
    # cross-stack references take the form `cdk synth` gives them
    app = cdk.App(context=cdk_context())
    keys = cdk.Stack(app, "Keys", env=PROD)
    key = kms.Key(keys, "CardKey", enable_key_rotation=True)
    cards = cdk.Stack(app, "Cards", env=PROD)
    card = b.card(cards, "Card", model="credit-risk")
    card.security_config = sagemaker.CfnModelCard.SecurityConfigProperty(kms_key_id=key.key_arn)

    overridden = b.model(cards, "Overridden")
    overridden.add_property_override("EnableNetworkIsolation", False)

    stage = cdk.Stage(app, "Staging", env=PROD)
    staged = cdk.Stack(stage, "Registry")
    b.group(staged, "Group", name="credit-risk")
    # When
    return Path(app.synth().directory)


@pytest.fixture(scope="module")
def resources(assembly: Path) -> dict[str, Resource]:
    return {r.path: r for r in load_resources(read_assembly(assembly)).resources}


def _template(assembly: Path, name: str) -> dict[str, Any]:
    return dict(json.loads((assembly / f"{name}.template.json").read_text()))


def test_cross_stack_reference_is_followed_through_get_stack_output(
    assembly: Path, resources: dict[str, Resource]
) -> None:
    # The consumer's template holds CDK 2.275's cross-stack form, not a plain Ref
    raw = _template(assembly, "Cards")["Resources"]["Card"]["Properties"]
    assert "Fn::GetStackOutput" in raw["SecurityConfig"]["KmsKeyId"]
    # Then: the rule sees the key itself
    key_id = resources["Cards/Card"].get("SecurityConfig", "KmsKeyId")
    assert key_id == Ref("Keys/CardKey/Resource", "AWS::KMS::Key", "Arn")


def test_raw_overrides_are_seen(resources: dict[str, Resource]) -> None:
    assert resources["Cards/Overridden"].get("EnableNetworkIsolation") is False
    findings = b.findings_of(
        b.GovernanceChecks().check(read_templates([str(p) for p in _paths(resources)]))
    )
    assert "Cards/Overridden" in b.flagged(findings, "MDL1")


def _paths(resources: dict[str, Resource]) -> set[str]:
    return {r.template_path for r in resources.values()}


def test_stack_environment_and_stage_come_from_the_manifest(
    resources: dict[str, Resource],
) -> None:
    card = resources["Cards/Card"]
    staged = resources["Staging/Registry/Group"]
    assert (card.environment.account, card.environment.region) == ("222222222222", "eu-west-1")
    assert card.environment.stage_path == ""
    assert staged.environment.stage_path == "Staging"
    # A card outside the Stage never documents the Stage's group
    index = AppIndex(resources.values())
    assert index.peers(staged, "AWS::SageMaker::ModelCard") == []


def test_findings_name_the_template_and_logical_id(resources: dict[str, Resource]) -> None:
    report = b.GovernanceChecks().check(read_templates(_paths(resources)))
    (violation,) = [v for v in report.violations if v.rule_name == "Governance-MDL1"]
    (where,) = [r for r in violation.violating_resources if r.construct_path == "Cards/Overridden"]
    assert where.resource_logical_id == "Overridden"
    assert Path(where.template_path).name == "Cards.template.json"


def test_an_unknown_export_stays_unresolved(tmp_path: Path) -> None:
    # Given: a template alone (no manifest), importing a value no stack exports
    template = {
        "Resources": {
            "Card": {
                "Type": "AWS::SageMaker::ModelCard",
                "Properties": {"SecurityConfig": {"KmsKeyId": {"Fn::ImportValue": "Missing"}}},
            }
        }
    }
    path = tmp_path / "Lonely.template.json"
    path.write_text(json.dumps(template))
    # When
    (card,) = load_resources(read_templates([str(path)])).resources
    # Then: known only at deploy time, and attributed to the stack by its file name
    assert card.get("SecurityConfig", "KmsKeyId") == {"Fn::ImportValue": "Missing"}
    assert card.path == "Lonely/Card"


def test_a_plugin_handed_a_stage_template_knows_its_stage(resources: dict[str, Resource]) -> None:
    # What aws-cdk-lib hands the plugin: template paths, here one in the Stage's nested assembly
    staged = resources["Staging/Registry/Group"].template_path
    (stack,) = read_templates([staged])
    assert stack.environment.stage_path == "Staging"
    assert stack.construct_path == "Staging/Registry"


class _NoValueResolver:
    """Resolves like the pack's resolver, except that ``{"Ref": "AWS::NoValue"}`` is no value
    and ``{"Ref": "Role"}`` a reference, so a property can drop out of the mapping."""

    def __init__(self) -> None:
        self.resolved: list[Any] = []

    def resolve(self, stack: Any, value: Any) -> Any:
        from cdk_constructs.intrinsics import NO_VALUE

        self.resolved.append(value)
        if value == {"Ref": "AWS::NoValue"}:
            return NO_VALUE
        return {**value, "seen": True} if isinstance(value, dict) else value


def test_properties_resolve_one_key_at_a_time_as_the_whole_mapping_would() -> None:
    """A rule reading ``Tags`` resolves ``Tags`` only; counting keys resolves only the function
    calls (the only values that can resolve to no value); the mapping reads as a whole
    resolution minus the dropped keys."""
    from cdk_constructs.compliance.templates import _ResolvedProperties

    raw = {
        "Tags": [{"Key": "a", "Value": "b"}],
        "Role": {"Ref": "Role"},
        "Gone": {"Ref": "AWS::NoValue"},
        "Nested": {"A": 1, "B": 2},
    }
    resolver = _NoValueResolver()
    props = _ResolvedProperties(resolver, None, raw)  # type: ignore[arg-type]
    assert props["Tags"] == [{"Key": "a", "Value": "b"}]
    assert resolver.resolved == [raw["Tags"]]
    assert len(props) == 3
    assert resolver.resolved == [raw["Tags"], {"Ref": "Role"}, {"Ref": "AWS::NoValue"}]
    assert list(props) == ["Tags", "Role", "Nested"]
    assert props.get("Gone") is None
    assert "Gone" not in props
    assert props.get("Missing") is None
    assert dict(props) == {
        "Tags": [{"Key": "a", "Value": "b"}],
        "Role": {"Ref": "Role", "seen": True},
        "Nested": {"A": 1, "B": 2, "seen": True},
    }


def test_properties_that_are_an_intrinsic_resolve_as_a_whole() -> None:
    from cdk_constructs.compliance.templates import _ResolvedProperties

    raw = {"Fn::If": ["Cond", {"A": 1}, {"Ref": "AWS::NoValue"}]}
    resolver = _NoValueResolver()
    props = _ResolvedProperties(resolver, None, raw)  # type: ignore[arg-type]
    assert dict(props) == {**raw, "seen": True}
    assert len(props) == 2
    assert resolver.resolved == [raw]


def test_an_output_read_by_many_consumers_resolves_the_same_for_each(tmp_path: Path) -> None:
    # Given a key exported by one stack and used by cards in two others, and an output whose
    # value stays an intrinsic (a parameter: known only at deploy time)
    app = cdk.App(outdir=str(tmp_path), context=cdk_context())
    keys = cdk.Stack(app, "Keys", env=PROD)
    key = kms.Key(keys, "CardKey", enable_key_rotation=True)
    unknown = cdk.CfnParameter(keys, "KeyAlias").value_as_string
    for name in ("CardsA", "CardsB"):
        cards = cdk.Stack(app, name, env=PROD)
        for card_id, key_id in (("Card", key.key_arn), ("Other", unknown)):
            card = b.card(cards, card_id, model="credit-risk")
            card.security_config = sagemaker.CfnModelCard.SecurityConfigProperty(kms_key_id=key_id)
    # When both consumers' properties are read (the first read of an output is remembered)
    found = {
        r.path: r for r in load_resources(read_assembly(Path(app.synth().directory))).resources
    }
    # Then each sees the key itself, and the deploy-time value as an intrinsic of its own
    expected = Ref("Keys/CardKey/Resource", "AWS::KMS::Key", "Arn")
    assert [found[f"{n}/Card"].get("SecurityConfig", "KmsKeyId") for n in ("CardsA", "CardsB")] == [
        expected,
        expected,
    ]
    first, second = (
        found[f"{n}/Other"].get("SecurityConfig", "KmsKeyId") for n in ("CardsA", "CardsB")
    )
    assert first == second == {"Ref": "KeyAlias"}
    assert first is not second

"""The inventory reads construct scopes from the synthesized tree (governance_report/scopes.py):
every resource of a stack's own template, by its scope, whatever the synth's options."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from governance_report.inventory import Inventory
from governance_report.scopes import EnvironmentScope, TreeError, build_inventory

MODEL = "credit-default"


def _synth(outdir: Path, context: dict[str, object]) -> tuple[Inventory, EnvironmentScope]:
    app = cdk.App(outdir=str(outdir), context=context)
    stack = cdk.Stack(
        app, "org-prod-models-00", env=cdk.Environment(account="111122223333", region="eu-west-1")
    )
    model = cdk.Resource(stack, MODEL)
    sns.Topic(model, "Alerts")
    # a plain CfnResource, as a custom resource is: aws-cdk-lib records no tree attributes for it
    cdk.CfnResource(
        model,
        "Baselines",
        type="Custom::PackageBaselines",
        properties={"ServiceToken": "arn:aws:lambda:eu-west-1:111122223333:function:f"},
    )
    sqs.Queue(stack, "DeadLetters")
    nested = cdk.NestedStack(stack, "Nested")
    sqs.Queue(nested, "Elsewhere")  # the nested stack's template, not this one's
    app.synth()
    scope = EnvironmentScope(
        name="prod", account="111122223333", region="eu-west-1", stacks=[stack]
    )
    return build_inventory([scope], [MODEL, "churn-propensity"], outdir), scope


@pytest.mark.parametrize(
    "context",
    [
        {"aws:cdk:enable-path-metadata": True},
        # no paths in the templates, and the tree split into forest files of 5 nodes
        {"aws:cdk:enable-path-metadata": False, "@aws-cdk/core.TreeMetadata:maxNodes": 5},
    ],
    ids=["path metadata", "no path metadata, fragmented tree"],
)
def test_every_resource_of_the_stack_is_attributed_by_its_scope(
    tmp_path: Path, context: dict[str, object]
) -> None:
    inventory, _ = _synth(tmp_path, context)
    template = json.loads((tmp_path / "org-prod-models-00.template.json").read_text())
    by_path = {r.path.removeprefix("org-prod-models-00/"): r for r in inventory.resources}
    assert {r.logical_id for r in inventory.resources} == {
        logical_id
        for logical_id, r in template["Resources"].items()
        if r["Type"] != "AWS::CDK::Metadata"
    }
    baselines = by_path[f"{MODEL}/Baselines"]
    assert (baselines.type, baselines.models) == ("Custom::PackageBaselines", (MODEL,))
    assert template["Resources"][baselines.logical_id]["Type"] == "Custom::PackageBaselines"
    assert by_path[f"{MODEL}/Alerts/Resource"].models == (MODEL,)
    # the stack's own queue serves every model of the stack (here one)
    assert by_path["DeadLetters/Resource"].models == (MODEL,)
    assert not any("Elsewhere" in path for path in by_path)
    assert [m.name for m in inventory.models] == [MODEL]
    if context.get("@aws-cdk/core.TreeMetadata:maxNodes"):
        assert list(tmp_path.glob("trees-*.json")), "the tree was not fragmented"


def test_a_template_resource_the_tree_does_not_account_for_stops_the_inventory(
    tmp_path: Path,
) -> None:
    _, scope = _synth(tmp_path, {"aws:cdk:enable-path-metadata": True})
    path = tmp_path / "org-prod-models-00.template.json"
    template = json.loads(path.read_text())
    template["Resources"]["Stray1234"] = {"Type": "AWS::SQS::Queue"}
    path.write_text(json.dumps(template))
    with pytest.raises(TreeError, match=r"org-prod-models-00 .*Stray1234"):
        build_inventory([scope], [MODEL], tmp_path)

"""An environment without account or region still synthesizes, with per-region images."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from config import load_config
from stacks.governance_app import build_governance
from tests.conftest import cdk_context


@pytest.fixture(scope="module")
def models_template() -> dict[str, Any]:
    base = load_config()
    agnostic = base.model_copy(
        update={
            "environments": [
                base.environments[0].model_copy(update={"account": None, "region": None})
            ]
        }
    )
    app = cdk.App(context=cdk_context())
    (built,) = build_governance(app, agnostic)
    (models_stack,) = built.model_stacks
    template: dict[str, Any] = Template.from_stack(models_stack).to_json()
    return template


def test_monitor_images_come_from_a_region_mapping(models_template: dict[str, Any]) -> None:
    mappings = models_template.get("Mappings", {})
    assert len(mappings) == 2  # model-monitor and clarify images
    for mapping in mappings.values():
        assert "eu-west-1" in mapping
        assert len(mapping) > 20
    job = next(
        r
        for r in models_template["Resources"].values()
        if r["Type"] == "AWS::SageMaker::DataQualityJobDefinition"
    )
    image = job["Properties"]["DataQualityAppSpecification"]["ImageUri"]
    assert "Fn::FindInMap" in json.dumps(image)
    assert json.dumps(image).count("AWS::Region") == 1

"""The default app against a variant in which every field a platform team may edit has changed.

Identity stays (organisation, environment and model names, account, region, monitoring engine,
shard size); all else changes: descriptions, owners, tiers, features, policies, schedules,
deployments in every environment, batch scoring, handler settings. Then:

* no create-only property of a named or retained resource differs. Such a change makes
  CloudFormation replace the resource: a named one cannot be replaced (the new one would need
  the same name) and a retained one would be orphaned. Create-only properties come from the
  CloudFormation provider schemas that cfn-lint bundles (``createOnlyProperties``).
* each environment's handler settings reach its functions.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from cdk_constructs.handlers import POWERTOOLS_VERSION, powertools_layer_parameter
from config import DEFAULT_CONFIG, parse_config
from tests.conftest import REPO, Assembly, cdk_context

REGION = "eu-west-1"
RETAIN = {"Retain", "RetainExceptOnCreate"}
Templates = dict[str, dict[str, Any]]


def layer(region: str) -> str:
    """Powertools' published layer in ``region`` (a function uses a layer of its own region)."""
    return (
        f"arn:aws:lambda:{region}:017000801446:layer:"
        "AWSLambdaPowertoolsPythonV3-python314-x86_64:40"
    )


def variant_data() -> dict[str, Any]:
    """The default config with every editable field changed (identity fields kept)."""
    data: dict[str, Any] = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data = copy.deepcopy(data)
    data["organisation"]["tags"] = {"cost-centre": "ml-platform-2", "owner": "risk-office"}
    for environment in data["environments"]:
        environment["handlers"] = {
            "reserved_concurrency": 7,
            "powertools_layer_arn": layer(environment["region"]),
        }
    governance = data["governance"]
    governance["approval"] = {
        "required_evidence": ["model_quality_metrics", "separate_approver"],
        "on_failure": "PendingManualApproval",
    }
    governance["bias_thresholds"] = {
        "DI": {"min": 0.75, "max": 1.3},
        "DPPL": {"min": -0.2, "max": 0.2},
    }
    governance["audit_retention_days"] = 3650
    governance["audit_object_lock_mode"] = "GOVERNANCE"
    governance["alert_emails"] = ["risk-desk@example.com"]
    for model in data["models"]:
        name = model["name"]
        model["description"] = f"Rewritten description of {name}, after the annual review."
        model["owner"] = {"team": "model-risk-office", "email": "mro@example.com"}
        model["data_classification"] = "restricted"
        model["intended_uses"] = "Revised intended uses."
        model["dataset_schema"]["features"].append({"name": "region_code", "type": "categorical"})
        model["consumer_accounts"] = ["777788889999"]
        deployment = model["deployment"]
        for serving in deployment["environments"].values():  # every environment it serves
            serving["package_version"] = 42
            if "instance_type" in serving:
                serving["instance_type"] = "ml.c5.xlarge"
        deployment["instance_type"] = "ml.c5.2xlarge"
        deployment["initial_instance_count"] = 3
        deployment["data_capture_percentage"] = 10
        deployment["ground_truth_s3_uri"] = f"s3://new-ground-truth/{name}/"
        deployment["monitor_instance_type"] = "ml.c5.xlarge"
        deployment["monitor_max_runtime_seconds"] = 1200
        deployment["ground_truth_window"] = {"start_time_offset": "-P3D", "end_time_offset": "-P2D"}
        deployment["retraining_pipeline_name"] = f"{name}-retrain-v2"
        deployment["output"] = {"probability_threshold": 0.6}
        # (explainability stays off where it is: the evidently environment cannot run it)
        explained = model["monitoring"].get("explainability", {}).get("enabled", True)
        model["monitoring"] = {
            "data_quality": {"schedule": "cron(0 0/6 ? * * *)"},
            "model_quality": {"schedule": "cron(0 4 ? * * *)"},
            "bias": {"schedule": "cron(0 5 ? * * *)", "enabled": model.get("bias") is not None},
            "explainability": {"schedule": "cron(0 6 ? * * *)", "enabled": explained},
        }
    credit, churn = data["models"]
    credit["bias"]["facet_value"] = "male"
    credit["deployment"]["explainability"]["num_samples"] = 50
    churn["risk_tier"] = "medium"
    churn["deployment"]["model_quality_floor"] = {"metric": "f1", "minimum": 0.5}
    churn["batch"] = {
        "input_s3_uri": "s3://example-bank-batch-input/churn-propensity/v2/",
        "output_s3_uri": "s3://example-bank-batch-output/churn-propensity/scores-v2/",
        "capture_s3_uri": "s3://example-bank-batch-output/churn-propensity/capture-v2/",
        "schedule": "cron(0 4 * * ? *)",
        "instance_type": "ml.c5.xlarge",
        "instance_count": 2,
        "ground_truth_s3_uri": "s3://new-ground-truth/churn-propensity/batch/",
    }
    return data


@pytest.fixture(scope="module")
def variant_templates(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    import aws_cdk as cdk

    from stacks.governance_app import build_governance

    config = parse_config(variant_data(), Path("variant.yaml"))
    outdir = tmp_path_factory.mktemp("variant.out")
    app = cdk.App(outdir=str(outdir), context=cdk_context())
    build_governance(app, config)
    app.synth()
    return {
        path.name.removesuffix(".template.json"): json.loads(path.read_text())
        for path in outdir.glob("*.template.json")
    }


# -- create-only properties of named or retained resources ---------------------------------------


def create_only_properties(cfn_type: str) -> list[str]:
    """``createOnlyProperties`` of ``cfn_type`` in cfn-lint's bundled provider schemas."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, cfn_type).schema
    return list(schema.get("createOnlyProperties", []))


def _at(properties: Mapping[str, Any], pointer: str) -> Any:
    node: Any = {"properties": properties}
    for part in pointer.strip("/").split("/"):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def is_named(resource: Mapping[str, Any], create_only: list[str]) -> bool:
    """Does the resource set a physical name (a create-only ``...Name`` property)?"""
    properties = resource.get("Properties", {})
    return any(
        pointer.count("/") == 2
        and pointer.endswith("Name")
        and _at(properties, pointer) is not None
        for pointer in create_only
    )


def is_retained(resource: Mapping[str, Any]) -> bool:
    return bool({resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")} & RETAIN)


def create_only_changes(before: Templates, after: Templates) -> tuple[list[str], list[str]]:
    """(changes, what was checked): create-only values of named or retained resources."""
    changes: list[str] = []
    checked: list[str] = []
    for stack, template in before.items():
        later = after.get(stack, {}).get("Resources", {})
        for logical_id, resource in template["Resources"].items():
            if logical_id not in later or resource["Type"].startswith("Custom::"):
                continue
            create_only = create_only_properties(resource["Type"])
            if not (is_named(resource, create_only) or is_retained(resource)):
                continue
            checked.append(f"{resource['Type']} {stack}/{logical_id}")
            for pointer in create_only:
                old = _at(resource.get("Properties", {}), pointer)
                new = _at(later[logical_id].get("Properties", {}), pointer)
                if old != new:
                    changes.append(
                        f"{stack}/{logical_id} ({resource['Type']}) {pointer}: "
                        f"{json.dumps(old)[:80]} -> {json.dumps(new)[:80]}"
                    )
    return changes, checked


def test_no_create_only_property_of_a_named_or_retained_resource_changes(
    default_assembly: Assembly, variant_templates: Templates
) -> None:
    # Given the default app and the variant with every editable field changed
    changes, checked = create_only_changes(default_assembly.templates, variant_templates)
    # Then the check looked at every kind of named or retained resource the app declares
    kinds = {entry.split(" ")[0] for entry in checked}
    assert kinds >= {
        "AWS::SageMaker::ModelPackageGroup",
        "AWS::SageMaker::ModelCard",
        "AWS::SageMaker::Endpoint",
        "AWS::SageMaker::MonitoringSchedule",
        "AWS::SSM::Parameter",
        "AWS::CloudWatch::Dashboard",
        "AWS::S3::Bucket",
        "AWS::KMS::Key",
        "AWS::DynamoDB::Table",
    }
    # And none of their create-only properties follows an editable config field
    assert changes == []


def test_the_check_sees_a_create_only_change() -> None:
    # Given a retained, named group whose description (create-only) follows the config
    group = {
        "Type": "AWS::SageMaker::ModelPackageGroup",
        "DeletionPolicy": "Retain",
        "Properties": {"ModelPackageGroupName": "m", "ModelPackageGroupDescription": "old"},
    }
    edited = copy.deepcopy(group)
    edited["Properties"]["ModelPackageGroupDescription"] = "new"
    # When the description is edited, Then the change is reported
    changes, checked = create_only_changes(
        {"s": {"Resources": {"Group": group}}}, {"s": {"Resources": {"Group": edited}}}
    )
    assert checked == ["AWS::SageMaker::ModelPackageGroup s/Group"]
    assert changes == [
        "s/Group (AWS::SageMaker::ModelPackageGroup) "
        '/properties/ModelPackageGroupDescription: "old" -> "new"'
    ]


def test_unnamed_resources_may_be_replaced() -> None:
    # A job definition has no name: replacing it is how it changes (every property create-only)
    job = {"Type": "AWS::SageMaker::DataQualityJobDefinition", "Properties": {"RoleArn": "a"}}
    edited = {"Type": job["Type"], "Properties": {"RoleArn": "b"}}
    changes, checked = create_only_changes(
        {"s": {"Resources": {"Job": job}}}, {"s": {"Resources": {"Job": edited}}}
    )
    assert (changes, checked) == ([], [])


# -- handler settings -----------------------------------------------------------------------------


def _handlers(templates: Templates) -> dict[str, list[dict[str, Any]]]:
    """The governance functions by environment region, after checking each environment's
    foundation has its three (approval gate, audit ledger, monitoring violations) and that a
    models stack has none but the Evidently engine's ScheduleFailures relay."""
    per_stack = {
        stack: [
            r["Properties"]
            for r in template["Resources"].values()
            if r["Type"] == "AWS::Lambda::Function"
            and str(r["Properties"].get("Handler", "")).startswith("governance.")
            and r["Properties"]["Handler"] != "governance.package_baselines.handler"
        ]
        for stack, template in templates.items()
    }
    environments = variant_data()["environments"]
    regions = {f"example-bank-{e['name']}-": e["region"] for e in environments}
    foundations = {f"{prefix}foundation" for prefix in regions}
    assert foundations <= {stack for stack, found in per_stack.items() if found}
    assert all(len(per_stack[stack]) == 3 for stack in foundations), per_stack.keys()
    by_region: dict[str, list[dict[str, Any]]] = {}
    for stack, found in per_stack.items():
        if stack not in foundations:
            assert {p["Handler"] for p in found} <= {"governance.schedule_failures.handler"}
        (region,) = [r for prefix, r in regions.items() if stack.startswith(prefix)]
        by_region.setdefault(region, []).extend(found)
    return by_region


def test_configured_concurrency_and_layer_reach_every_handler(variant_templates: Templates) -> None:
    handlers = _handlers(variant_templates)
    assert len(handlers) == len(variant_data()["environments"])  # (in different regions)
    for region, functions in handlers.items():
        for properties in functions:
            assert properties["ReservedConcurrentExecutions"] == 7
            assert properties["Layers"] == [layer(region)]


def test_default_handlers_reserve_nothing_and_use_the_pinned_layer(
    default_assembly: Assembly,
) -> None:
    handlers = _handlers(default_assembly.templates)
    parameter = "/aws/service/powertools/python/x86_64/python3.14/3.37.0"
    assert powertools_layer_parameter() == parameter
    for properties in [p for functions in handlers.values() for p in functions]:
        assert "ReservedConcurrentExecutions" not in properties
        assert properties["Layers"] == [f"{{{{resolve:ssm:{parameter}}}}}"]


def _package_checks(templates: Templates) -> dict[str, list[dict[str, Any]]]:
    """The deploy-time package check's functions, by stack."""
    return {
        stack: found
        for stack, template in templates.items()
        if (
            found := [
                r["Properties"]
                for r in template["Resources"].values()
                if r["Type"] == "AWS::Lambda::Function"
                and r["Properties"].get("Handler") == "governance.package_baselines.handler"
            ]
        )
    }


def test_the_package_check_runs_with_the_configured_layer(
    variant_templates: Templates, default_assembly: Assembly
) -> None:
    # Its handler imports Powertools like the others, so it needs the same layer
    regions = {f"example-bank-{e['name']}-": e["region"] for e in variant_data()["environments"]}
    checks = _package_checks(variant_templates)
    assert checks
    for stack, functions in checks.items():
        (region,) = [r for prefix, r in regions.items() if stack.startswith(prefix)]
        assert [p["Layers"] for p in functions] == [[layer(region)]]
    parameter = powertools_layer_parameter()
    defaults = _package_checks(default_assembly.templates)
    assert defaults
    for functions in defaults.values():
        for properties in functions:
            assert properties["Layers"] == [f"{{{{resolve:ssm:{parameter}}}}}"]
            assert properties["Environment"]["Variables"] == {
                "POWERTOOLS_SERVICE_NAME": "PackageBaselinesProvider"
            }


@pytest.mark.parametrize("pins", ["requirements-dev.txt", "constraints.txt"])
def test_layer_version_is_the_pinned_library(pins: str) -> None:
    pinned = {
        line.split("==")[0].strip().lower().replace("_", "-"): line.split("==")[1].strip()
        for line in (REPO / pins).read_text().splitlines()
        if "==" in line and not line.lstrip().startswith("#")
    }
    assert pinned["aws-lambda-powertools"] == POWERTOOLS_VERSION


# One synth of the whole variant app: scheduled first (tests/conftest.py).
pytestmark = pytest.mark.slow

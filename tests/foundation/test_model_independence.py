"""The foundation does not depend on the model list: same template for 2 models or 300.

Adding, removing or reordering models must leave the foundation's template byte-identical, so
adding a model never redeploys the foundation or any persona's policy. (The comparison leaves
out the CLI's ``CDKMetadata`` resource, which names constructs and plugins, never models.)

Here the two-model app is compared with the models reordered, one removed, and 30 models (two
registry stacks per environment, so a registry-stack boundary is crossed). The comparison at
300 models (tests/scale/test_foundation_at_300.py) and the 500-model scale test, which checks
the same with every model deployed and monitored, carry the ``scale`` marker: ``make test`` runs
them, a plain ``pytest`` leaves them out (pyproject's addopts).
"""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest

from config import load_config
from config.model import GovernanceConfig
from stacks.governance_app import build_governance
from tests.conftest import CLI_CONTEXT, Assembly, cdk_context

# Three synths of the app (two variants and the organisation-level change), about ten seconds
# in all: first among the modules that read the session's synth (tests/conftest.py).
pytestmark = pytest.mark.slow

# Every environment's foundation (prod on Model Monitor, dev on the Evidently engine)
FOUNDATIONS = [
    f"example-bank-{e.name}-foundation.template.json" for e in load_config().environments
]


def foundation_text(template: bytes) -> str:
    """The template as written, less the CLI's version-reporting resource: its Analytics name
    the validation plugins registered, which the session's `cdk synth` has and these variants
    (synthesized without the packs, for speed) have not. Key order and values are kept."""
    document = json.loads(template)
    document["Resources"].pop("CDKMetadata")
    return json.dumps(document, indent=1)


def synth_foundations(config: GovernanceConfig, outdir: Path) -> dict[str, str]:
    # What the CLI passes, so the session's default synth (`cdk synth`) is the reference and
    # the default config is not synthesized twice.
    app = cdk.App(outdir=str(outdir), context=cdk_context(**CLI_CONTEXT))
    build_governance(app, config)
    app.synth()
    return {name: foundation_text((outdir / name).read_bytes()) for name in FOUNDATIONS}


def grown(config: GovernanceConfig, count: int) -> GovernanceConfig:
    """``count`` models: the config's own, reordered (reversed) and as configured, then renamed
    copies of them that are registered only.

    Training pipelines live in the models stacks and their roles in the foundation are scoped
    by tag and prefix; only the config's own models keep their training section (each
    definition is an SDK build of about a second, made once per process for a model)."""
    shapes = config.models[::-1]
    copies = []
    for index in range(len(shapes), count):
        shape = shapes[index % len(shapes)]
        name = f"{shape.name}-{index:03d}"
        copies.append(shape.model_copy(update={"name": name, "deployment": None, "training": None}))
    return config.model_copy(update={"models": [*shapes, *copies]})


@pytest.fixture(scope="module")
def foundations(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> dict[str, dict[str, str]]:
    config = load_config()
    # Every variant keeps the organisation's set of consumer accounts (the default's one), the
    # only thing models contribute to the foundation (read access to registered artifacts).
    with_consumers = [m for m in config.models if m.consumer_accounts]
    # The config's own models reordered, then registered copies up to 30: reordering and
    # adding models, across a registry-stack boundary (25 models per stack).
    assert config.models_per_stack < 30
    variants = {
        "reordered, 30 models": grown(config, 30),
        "one removed": config.model_copy(update={"models": with_consumers}),
    }
    synthesized = {
        name: synth_foundations(variant, tmp_path_factory.mktemp("foundation"))
        for name, variant in variants.items()
    }
    # The default config (two deployed models), as the session synthesized it; asked for after
    # the variants, so this module's own synths run while the CLI's does.
    default_assembly: Assembly = request.getfixturevalue("default_assembly")
    return {
        "two deployed models": {
            name: foundation_text((default_assembly.outdir / name).read_bytes())
            for name in FOUNDATIONS
        },
        **synthesized,
    }


def test_foundation_is_byte_identical_for_any_model_list(
    foundations: dict[str, dict[str, str]],
) -> None:
    reference = foundations["two deployed models"]
    for name, templates in foundations.items():
        for foundation in FOUNDATIONS:  # in every environment
            assert templates[foundation] == reference[foundation], (
                f"the foundation {foundation} changed for: {name}"
            )


def test_foundation_changes_with_organisation_level_inputs(
    tmp_path_factory: pytest.TempPathFactory, foundations: dict[str, dict[str, str]]
) -> None:
    # The comparison can fail: an organisation-level input (alert e-mails) changes it. (The
    # variant's models are registered only, which the test above shows cannot change the
    # foundation: the one with consumer accounts keeps the organisation's set, the synth is
    # the foundations' and the registries' alone.)
    config = load_config()
    policy = config.governance.model_copy(update={"alert_emails": ["someone@example.com"]})
    registered = [
        m.model_copy(update={"deployment": None, "batch": None, "training": None})
        for m in config.models
        if m.consumer_accounts
    ]
    changed = synth_foundations(
        config.model_copy(update={"governance": policy, "models": registered}),
        tmp_path_factory.mktemp("changed"),
    )
    for foundation in FOUNDATIONS:
        assert changed[foundation] != foundations["two deployed models"][foundation], foundation


def test_models_stacks_grant_nothing_on_foundation_roles(default_assembly: Assembly) -> None:
    # A policy in a models stack attached to a foundation role would grow with the models.
    for stack, template in default_assembly.templates.items():
        if "-models-" not in stack:
            continue
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] in {"AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"}:
                roles = json.dumps(resource["Properties"].get("Roles", []))
                assert "Fn::GetStackOutput" not in roles, f"{stack}/{logical_id}"


@pytest.mark.parametrize("foundation", FOUNDATIONS)
def test_models_stacks_read_only_the_foundations_named_outputs(
    default_assembly: Assembly, foundation: str
) -> None:
    # Each environment's models stacks read their own foundation's named outputs
    name = foundation.removesuffix(".template.json")
    published = set(default_assembly.templates[name]["Outputs"])
    assert not [o for o in published if o.startswith("PublishOutput")]
    used = set()
    models_stacks = name.replace("-foundation", "-models-")
    for stack, template in default_assembly.templates.items():
        if stack.startswith(models_stacks):
            text = json.dumps(template)
            used |= {o for o in published if f'"OutputName": "{o}"' in text}
            assert name in text  # (the references name this environment's foundation)
    assert used
    assert used <= published

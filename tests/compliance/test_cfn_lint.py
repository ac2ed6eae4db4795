"""cfn-lint finds no errors in any synthesized template."""

from __future__ import annotations

import json

import pytest
from cfnlint.api import ManualArgs
from cfnlint.config import ConfigMixIn
from cfnlint.decode.decode import decode_str
from cfnlint.rules import Match, Rules
from cfnlint.runner import Runner, run_template_by_data

from tests.conftest import Assembly

# W3005: CDK adds explicit DependsOn that cfn-lint considers redundant (documented, harmless).
IGNORED = ["W3005"]


def _regions(default_assembly: Assembly) -> dict[str, str]:
    """Each stack's region, as the cloud assembly's manifest records its environment."""
    manifest = json.loads((default_assembly.outdir / "manifest.json").read_text())
    return {
        name: str(artifact["environment"]).rsplit("/", 1)[-1]
        for name, artifact in manifest["artifacts"].items()
        if artifact.get("type") == "aws:cloudformation:stack"
    }


@pytest.fixture(scope="module")
def rules() -> Rules:
    """cfn-lint's rules, loaded once for every template as its CLI does for several files
    (``cfnlint.api.lint`` loads them again on each call, about half a CPU second)."""
    return Runner(ConfigMixIn(**ManualArgs(ignore_checks=IGNORED))).rules


def lint(text: str, region: str, rules: Rules) -> list[Match]:
    """``cfnlint.api.lint`` of ``text`` in ``region`` with ``rules``, W3005 ignored."""
    template, errors = decode_str(text)
    if errors:
        return errors
    config = ConfigMixIn(**ManualArgs(regions=[region], ignore_checks=IGNORED))
    return list(run_template_by_data(template, config, rules))


def test_templates_lint_clean(default_assembly: Assembly, rules: Rules) -> None:
    assert default_assembly.templates
    regions = _regions(default_assembly)
    # The default config deploys to two regions: each template is linted against its own
    # region's resource specifications.
    assert len(set(regions.values())) > 1, regions
    problems: list[str] = []
    for name, template in default_assembly.templates.items():
        results = lint(json.dumps(template), regions[name], rules)
        problems += [
            f"{name}: {m.rule.id} {m.message} ({m.path})"
            for m in results
            if m.rule.id.startswith("E")
        ]
    assert problems == []


def test_cfn_lint_would_catch_an_error(rules: Rules) -> None:
    # (with the rules and settings the templates are linted with)
    broken = {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"Nope": 1}}}}
    results = lint(json.dumps(broken), "eu-west-1", rules)
    assert any(m.rule.id.startswith("E3") for m in results)


# Schema validation of every template takes about ten CPU seconds: scheduled first.
pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.slow]

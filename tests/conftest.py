"""Session-wide test settings: offline AWS, quiet jsii, and one synth of the default app."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from config.model import Environment, GovernanceConfig, ModelConfig

# Before aws_cdk is imported anywhere: dummy credentials, a region, no built-in CFN validator
# (the end-to-end CLI test keeps one synth with it on), and no Node end-of-life banner.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    }
)
os.environ.setdefault("CDK_VALIDATION", "false")

REPO = Path(__file__).resolve().parents[1]


def cdk_context(**overrides: Any) -> dict[str, Any]:
    """cdk.json's feature flags, so tests synthesize what `cdk synth` does."""
    context: dict[str, Any] = json.loads((REPO / "cdk.json").read_text())["context"]
    context.update(overrides)
    return context


@dataclass(frozen=True)
class Assembly:
    """The synthesized default app: templates by stack name and the validation report."""

    outdir: Path
    templates: dict[str, dict[str, Any]]
    report: dict[str, Any]

    def resources(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {
            f"{stack}/{logical_id}": resource
            for stack, template in self.templates.items()
            for logical_id, resource in template["Resources"].items()
            if resource["Type"] == cfn_type
        }

    def environment(self, name: str) -> Assembly:
        """The stacks of the default config's environment ``name`` only (its foundation and
        models stacks), for a test about one environment's resources; ``report`` stays whole."""
        from config import load_config

        prefix = f"{load_config().organisation.prefix}-{name}-"
        templates = {s: t for s, t in self.templates.items() if s.startswith(prefix)}
        assert templates, f"the assembly has no stacks of environment {name!r}"
        return Assembly(outdir=self.outdir, templates=templates, report=self.report)


def deployments(config: GovernanceConfig) -> list[tuple[Environment, ModelConfig]]:
    """Every model each environment serves, as that environment deploys it
    (``ModelConfig.for_environment`` with the environment's partition, region and account)."""
    served: list[tuple[Environment, ModelConfig]] = []
    for environment in config.environments:
        assert environment.partition
        assert environment.region
        assert environment.account
        for model in config.models:
            deployed = model.for_environment(
                environment,
                partition=environment.partition,
                region=environment.region,
                account=environment.account,
            )
            if deployed.deployment is not None:
                served.append((environment, deployed))
    return served


def _synth_default(outdir: Path) -> None:
    """Synthesize the default config into ``outdir`` as the CLI would, packs on, report written."""
    import aws_cdk as cdk

    from cdk_constructs.compliance import register_compliance_packs, write_pack_manifest
    from config import load_config
    from governance_report.scopes import record_inventory
    from stacks.governance_app import build_governance

    app = cdk.App(
        outdir=str(outdir),
        # Path metadata as the CLI writes it, so tests can attribute resources to constructs.
        context=cdk_context(
            **{
                "@aws-cdk/core:failSynthOnValidationErrors": False,
                "aws:cdk:enable-path-metadata": True,
            }
        ),
    )
    config = load_config()
    built = build_governance(app, config)
    register_compliance_packs(app)
    app.synth()
    write_pack_manifest(outdir)
    record_inventory(built, [m.name for m in config.models], outdir)


@pytest.fixture(scope="session")
def default_assembly(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    """The default config synthesized once per test run, compliance packs on, report written.

    Under pytest-xdist the workers share one synth: the first to need it synthesizes into the
    run's common temporary folder under an exclusive lock, the others wait and read it (the
    synth is the most expensive fixture, and the tests only read its output).
    """
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        outdir = tmp_path_factory.mktemp("cdk.out")
        _synth_default(outdir)
    else:
        shared = tmp_path_factory.getbasetemp().parent
        outdir = shared / "default-cdk.out"
        with (shared / "default-cdk.out.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            done = shared / "default-cdk.out.done"
            if not done.exists():
                shutil.rmtree(outdir, ignore_errors=True)  # a synth that failed half-way
                outdir.mkdir()
                _synth_default(outdir)
                done.touch()
    templates = {
        path.name.removesuffix(".template.json"): json.loads(path.read_text())
        for path in outdir.glob("*.template.json")
    }
    report = json.loads((outdir / "validation-report.json").read_text())
    return Assembly(outdir=outdir, templates=templates, report=report)

"""The default config's evidently environment (dev) with an MLflow App named, synthesized once.

The default config names no App, so these tests synthesize one that does: dev alone, the
models it serves, every compliance pack on (the validation report is read, not raised).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cdk_context, default_config_in_one_environment

ENVIRONMENT = "dev"
# In dev's own account and region (the config requires it)
MLFLOW_APP = "arn:aws:sagemaker:us-east-1:555566667777:mlflow-app/app-governance01"
FOUNDATION = f"example-bank-{ENVIRONMENT}-foundation"


@dataclass(frozen=True)
class AppSynth:
    outdir: Path
    templates: dict[str, dict[str, Any]]
    report: dict[str, Any]

    def resources(self, stack: str, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.templates[stack]["Resources"].items()
            if resource["Type"] == cfn_type
        }

    def at(self, stack: str, path: str) -> tuple[str, dict[str, Any]]:
        """The one resource of ``stack`` whose construct path ends with ``path``."""
        (found,) = (
            (logical_id, resource)
            for logical_id, resource in self.templates[stack]["Resources"].items()
            if resource.get("Metadata", {}).get("aws:cdk:path", "").endswith(path)
        )
        return found


def app_config_data() -> dict[str, Any]:
    return default_config_in_one_environment(ENVIRONMENT, MLFLOW_APP)


@pytest.fixture(scope="session")
def app_synth(tmp_path_factory: pytest.TempPathFactory) -> AppSynth:
    import aws_cdk as cdk

    from cdk_constructs.compliance import register_compliance_packs
    from config import DEFAULT_CONFIG, parse_config
    from stacks.governance_app import build_governance

    outdir: Path = tmp_path_factory.mktemp("dev-mlflow-app")
    app = cdk.App(
        outdir=str(outdir),
        context=cdk_context(
            **{
                "@aws-cdk/core:failSynthOnValidationErrors": False,
                "aws:cdk:enable-path-metadata": True,
            }
        ),
    )
    build_governance(app, parse_config(app_config_data(), DEFAULT_CONFIG))
    register_compliance_packs(app)
    app.synth()
    templates = {
        p.name.removesuffix(".template.json"): json.loads(p.read_text())
        for p in outdir.glob("*.template.json")
    }
    report = json.loads((outdir / "validation-report.json").read_text())
    return AppSynth(outdir=outdir, templates=templates, report=report)

"""Time the Governance pack: inside an in-process synth of a generated N-model config, and alone
on the assembly that synth wrote.

Usage: `.venv/bin/python bench/governance_pack.py [--models 50] [--runs 3]`. Prints the
wall-clock seconds of building the app, of synth with every pack registered, of the Governance
pack's ``validate`` inside it, and the median of the pack run alone on the written templates.
Figures are quoted in notes, never asserted by tests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CDK_VALIDATION", "false")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
sys.path[:0] = [str(REPO), str(REPO / "bench")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    import aws_cdk as cdk
    from measure import generate_config

    from cdk_constructs.compliance import register_compliance_packs
    from cdk_constructs.compliance.governance_pack import GovernanceChecks
    from config import load_config
    from stacks.governance_app import build_governance

    work = Path(tempfile.mkdtemp(prefix="governance-pack-"))
    config = generate_config(args.models, work / f"{args.models}-models.yaml")
    spent: list[float] = []
    validate = GovernanceChecks.validate

    def timed(self: GovernanceChecks, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return validate(self, context)
        finally:
            spent.append(time.perf_counter() - start)

    GovernanceChecks.validate = timed  # type: ignore[method-assign]
    context = json.loads((REPO / "cdk.json").read_text())["context"]
    context.update(
        {"aws:cdk:enable-path-metadata": True, "@aws-cdk/core:failSynthOnValidationErrors": False}
    )
    start = time.perf_counter()
    app = cdk.App(outdir=str(work / "cdk.out"), context=context)
    build_governance(app, load_config(str(config)))
    register_compliance_packs(app)
    built = time.perf_counter()
    assembly = app.synth()
    synthesized = time.perf_counter()
    GovernanceChecks.validate = validate  # type: ignore[method-assign]

    alone = []
    for _ in range(args.runs):
        run_start = time.perf_counter()
        report = GovernanceChecks().check_assembly(assembly.directory)
        alone.append(time.perf_counter() - run_start)
    resources = sum(
        len(json.loads(path.read_text())["Resources"])
        for path in Path(assembly.directory).glob("*.template.json")
    )
    print(
        f"{args.models} models, {resources} resources: build {built - start:.1f} s, synth with "
        f"all packs {synthesized - built:.1f} s, of which Governance pack {sum(spent):.2f} s; "
        f"pack alone on the templates: median {statistics.median(alone):.2f} s "
        f"{[round(t, 2) for t in alone]}, {len(report.violations)} findings"
    )


if __name__ == "__main__":
    main()

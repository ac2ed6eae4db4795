"""Measure synth time, test-suite time and the size of the synthesized app.

Usage: `make bench` or `.venv/bin/python bench/measure.py [--synth-runs N] [--test-runs N]
[--config PATH]`. Prints a table and writes bench/results/latest.json. Figures are medians of
wall-clock seconds on this machine; they are quoted in issue notes, never asserted by tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
ENV = {
    **os.environ,
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "CDK_DISABLE_VERSION_CHECK": "1",
    "CDK_CLI_NOTICES": "false",
}


def _timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=REPO, env=ENV, check=True, capture_output=True, text=True)
    return time.perf_counter() - start


def synth_once(outdir: Path, config: str | None) -> float:
    command = [str(REPO / "node_modules/.bin/cdk"), "synth", "--quiet", "--no-notices"]
    command += ["-o", str(outdir)]
    if config:
        command += ["-c", f"config={config}"]
    return _timed(command)


def generate_config(count: int, path: Path) -> Path:
    """A config with ``count`` models deployed in the default's first environment (prod, Model
    Monitor), alternating the default's two shapes; the other environments are left out (each
    environment's stacks are built alike, so one shows the limits)."""
    import yaml

    data = yaml.safe_load((REPO / "config" / "default.yaml").read_text())
    environment = data["environments"][0]["name"]
    data["environments"] = data["environments"][:1]
    shapes = data["models"]
    models = []
    for i in range(count):
        shape = shapes[i % len(shapes)]
        model = json.loads(json.dumps(shape))
        model["name"] = f"{shape['name']}-{i:03d}"
        if "batch" in model:  # its locations name the model
            model["batch"] = {
                key: value.replace(f"/{shape['name']}/", f"/{model['name']}/")
                if isinstance(value, str)
                else value
                for key, value in model["batch"].items()
            }
        if i >= len(shapes):
            # One training pipeline and one batch-scoring pipeline per shape: each definition is
            # built at synth (the training one by the sagemaker SDK, seconds each), and pipelines
            # add no per-model limit the copies would probe.
            model.pop("training", None)
            model.pop("batch", None)
        # Every model served in that environment, in its shape's version (of its own group)
        served = model["deployment"]["environments"]
        model["deployment"]["environments"] = {environment: served[environment]}
        models.append(model)
    data["models"] = models
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def resources_per_model(outdir: Path) -> dict[str, int]:
    """Resources under each model's construct scope (``<stack>/<model>/...``)."""
    counts: Counter[str] = Counter()
    for path in outdir.glob("*-models-*.template.json"):
        for resource in json.loads(path.read_text())["Resources"].values():
            construct_path = resource.get("Metadata", {}).get("aws:cdk:path", "")
            parts = construct_path.split("/")
            if len(parts) > 2:
                counts[parts[1]] += 1
    return {k: v for k, v in counts.items() if "-" in k}


def assembly_size(outdir: Path) -> dict[str, Any]:
    templates = sorted(outdir.glob("*.template.json"))
    per_stack: dict[str, int] = {}
    types: Counter[str] = Counter()
    for path in templates:
        resources = json.loads(path.read_text())["Resources"]
        per_stack[path.name.removesuffix(".template.json")] = len(resources)
        types.update(r["Type"] for r in resources.values())
    return {
        "templates": len(templates),
        "resources": sum(per_stack.values()),
        "resources_per_stack": per_stack,
        "largest_stack_resources": max(per_stack.values(), default=0),
        "resource_types": dict(types.most_common()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--synth-runs", type=int, default=5)
    parser.add_argument("--test-runs", type=int, default=3)
    parser.add_argument("--config", default=None, help="config file (default: embedded)")
    parser.add_argument(
        "--scale-models",
        type=int,
        default=50,
        help="also synthesize a generated config with this many deployed models (0: skip)",
    )
    args = parser.parse_args()

    outdir = REPO / "bench" / "results" / "cdk.out"
    synth = [synth_once(outdir, args.config) for _ in range(args.synth_runs)]
    size = assembly_size(outdir)
    tests = [
        _timed(
            [str(REPO / ".venv/bin/python"), "-m", "pytest", "-q", "-n", "2", "--dist", "loadfile"]
        )
        for _ in range(args.test_runs)
    ]
    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    per_model = resources_per_model(outdir)
    scale: dict[str, Any] | None = None
    if args.scale_models:
        generated = generate_config(
            args.scale_models, REPO / "bench" / "results" / f"{args.scale_models}-models.yaml"
        )
        scale_out = REPO / "bench" / "results" / "scale.out"
        seconds = synth_once(scale_out, str(generated))
        scale_size = assembly_size(scale_out)
        scale = {
            "deployed_models": args.scale_models,
            "synth_seconds": round(seconds, 2),
            "templates": scale_size["templates"],
            "resources": scale_size["resources"],
            "largest_stack_resources": scale_size["largest_stack_resources"],
        }
    result = {
        "machine": f"{machine}, Python {platform.python_version()}",
        "config": args.config or "config/default.yaml",
        "synth_seconds": {
            "median": round(statistics.median(synth), 2),
            "runs": [round(s, 2) for s in synth],
        },
        "test_suite_seconds": (
            {"median": round(statistics.median(tests), 1), "runs": [round(t, 1) for t in tests]}
            if tests
            else None
        ),
        "resources_per_deployed_model": per_model,
        "scale": scale,
        **size,
    }
    (REPO / "bench" / "results" / "latest.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"synth (cdk CLI, validation on): median {result['synth_seconds']['median']} s {synth}")
    if tests:
        print(f"test suite: median {result['test_suite_seconds']['median']} s")
    print(f"templates: {size['templates']}, resources: {size['resources']}")
    for stack, count in size["resources_per_stack"].items():
        print(f"  {stack}: {count} resources")
    for model, count in per_model.items():
        print(f"  model {model}: {count} resources in its models stack")
    if scale:
        print(
            f"{scale['deployed_models']} deployed models: synth {scale['synth_seconds']} s, "
            f"{scale['templates']} templates, {scale['resources']} resources, largest stack "
            f"{scale['largest_stack_resources']}"
        )


if __name__ == "__main__":
    main()

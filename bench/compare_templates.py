"""Do two cloud assemblies deploy the same resources? For synth-cost changes that must not.

Usage::

    .venv/bin/python bench/compare_templates.py synth [--config PATH] OUT   # cdk synth into OUT
    .venv/bin/python bench/compare_templates.py compare BEFORE AFTER        # exit 1 on a change

``compare`` reads each stack template of both assemblies (``manifest.json``) and compares, as
JSON, what CloudFormation acts on: every resource's logical id, ``Type``, ``Properties``,
``Condition``, ``DependsOn`` and policies, and the ``Outputs``, ``Mappings``, ``Parameters``,
``Conditions`` and ``Rules`` sections. Left out: the ``AWS::CDK::Metadata`` resource (the
analytics) and each resource's ``Metadata`` (construct path, asset path), which CloudFormation
ignores; the stacks, their templates' names and each resource's stack must match. A resource
that changes any compared key would be updated or replaced on the next deploy.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SECTIONS = ("Outputs", "Mappings", "Parameters", "Conditions", "Rules")
IGNORED_RESOURCE_KEYS = frozenset({"Metadata"})


def synth(outdir: Path, config: Path | None, repo: Path = REPO) -> None:
    """``cdk synth`` of ``repo``'s app (the default config, or ``config``) into ``outdir``."""
    command = [
        str(repo / "node_modules" / ".bin" / "cdk"),
        "synth",
        "--quiet",
        "--no-notices",
        "--output",
        str(outdir),
    ]
    if config is not None:
        command += ["--context", f"config={config.resolve()}"]
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    env.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    subprocess.run(command, cwd=repo, env=env, check=True)


def deployed(outdir: Path) -> dict[str, dict[str, Any]]:
    """Per stack artifact: what CloudFormation acts on in its template (see the module doc)."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    stacks: dict[str, dict[str, Any]] = {}
    for name, artifact in sorted(manifest["artifacts"].items()):
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        template_file = artifact["properties"]["templateFile"]
        template = json.loads((outdir / template_file).read_text())
        resources = {
            logical_id: {k: v for k, v in resource.items() if k not in IGNORED_RESOURCE_KEYS}
            for logical_id, resource in template.get("Resources", {}).items()
            if resource.get("Type") != "AWS::CDK::Metadata"
        }
        stacks[name] = {
            "templateFile": template_file,
            "Resources": resources,
            **{section: template.get(section) for section in SECTIONS},
        }
    return stacks


def differences(before: Path, after: Path) -> list[str]:
    """Every difference between the two assemblies' deployed content, one line each."""
    old, new = deployed(before), deployed(after)
    found: list[str] = []
    for name in sorted(old.keys() - new.keys()):
        found.append(f"stack {name}: only in {before}")
    for name in sorted(new.keys() - old.keys()):
        found.append(f"stack {name}: only in {after}")
    for name in sorted(old.keys() & new.keys()):
        a, b = old[name], new[name]
        if a["templateFile"] != b["templateFile"]:
            found.append(f"stack {name}: template {a['templateFile']} -> {b['templateFile']}")
        for section in SECTIONS:
            if a[section] != b[section]:
                found.append(f"stack {name}: {section} differ")
        ra, rb = a["Resources"], b["Resources"]
        for logical_id in sorted(ra.keys() - rb.keys()):
            found.append(f"stack {name}: resource {logical_id} removed")
        for logical_id in sorted(rb.keys() - ra.keys()):
            found.append(f"stack {name}: resource {logical_id} added")
        for logical_id in sorted(ra.keys() & rb.keys()):
            if ra[logical_id] != rb[logical_id]:
                keys = sorted(
                    k
                    for k in ra[logical_id].keys() | rb[logical_id].keys()
                    if ra[logical_id].get(k) != rb[logical_id].get(k)
                )
                found.append(f"stack {name}: resource {logical_id} differs in {', '.join(keys)}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    synth_parser = commands.add_parser("synth")
    synth_parser.add_argument("--config", type=Path)
    synth_parser.add_argument("--repo", type=Path, default=REPO)
    synth_parser.add_argument("outdir", type=Path)
    compare_parser = commands.add_parser("compare")
    compare_parser.add_argument("before", type=Path)
    compare_parser.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "synth":
        synth(args.outdir, args.config, args.repo)
        return 0
    found = differences(args.before, args.after)
    for line in found:
        print(line)
    stacks = deployed(args.after)
    print(
        f"{len(stacks)} stacks, {sum(len(s['Resources']) for s in stacks.values())} resources: "
        + (f"{len(found)} differences" if found else "the same")
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

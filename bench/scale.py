"""Synth at scale: the app against a floor of the same templates as raw ``CfnResource``s.

Usage: ``.venv/bin/python bench/scale.py [--models 50 200 500] [--repeat N]``.

For each model count it generates a config (``measure.generate_config``: the default config's
two deployed-model shapes, alternating) and, in one paired run, synthesizes

- the app (``build_governance`` + every compliance plugin: five public cdk-nag packs, the
  Governance pack, the limits check), and
- the floor: every template the app produced, rebuilt as raw ``CfnResource``s (same logical
  ids, properties, outputs, mappings) under the same five public packs and the same
  acknowledgments, i.e. what synth costs without our constructs,

each in its own process, and reports wall-clock seconds, the peak memory of the process tree
(Python + the jsii Node runtime), templates, resources, and the largest policy of each stack
against its limit. Results go to ``bench/results/scale.json``. Figures are measurements of this
machine, quoted in notes, never asserted by tests.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
ENV = {
    **os.environ,
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "CDK_VALIDATION": "false",
    "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "eu-west-1"),
}
POLICY_LIMITS = (
    "iam.managed-policy-size",
    "iam.role-trust-policy-size",
    "iam.role-inline-policies-size",
    "kms.key-policy-size",
    "s3.bucket-policy-size",
    "sns.topic-policy-size",
    "sqs.queue-policy-size",
    "sagemaker.model-package-group-policy-size",
    "lambda.function-policy-size",
)


def _peak_tree_rss(pid: int, stop: threading.Event, peak: list[int]) -> None:
    import psutil  # type: ignore[import-untyped]

    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    while not stop.is_set():
        try:
            processes = [root, *root.children(recursive=True)]
            total = 0
            for process in processes:
                try:
                    total += process.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
            peak[0] = max(peak[0], total)
        except psutil.NoSuchProcess:
            return
        stop.wait(0.2)


def run_child(args: list[str]) -> dict[str, Any]:
    """Run ``bench/scale.py <args>`` in a new process; wall seconds, CPU seconds (user + system
    of the child and the jsii Node runtime it reaps: far steadier than wall time on a shared
    machine) and peak tree memory."""
    command = [sys.executable, str(Path(__file__).resolve()), *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, env=ENV)
    stop, peak = threading.Event(), [0]
    sampler = threading.Thread(target=_peak_tree_rss, args=(process.pid, stop, peak))
    sampler.start()
    code = process.wait()
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    stop.set()
    sampler.join()
    if code != 0:
        raise SystemExit(f"{' '.join(args)} failed with exit status {code}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "peak_mib": round(peak[0] / 2**20),
    }


def _pair(app: dict[str, Any], floor: dict[str, Any]) -> dict[str, Any]:
    """One app run and the floor run after it, with their ratios."""
    return {
        "app": app,
        "floor": floor,
        "ratio": round(app["seconds"] / floor["seconds"], 2),
        "cpu_ratio": round(app["cpu_seconds"] / floor["cpu_seconds"], 2),
        # the synth alone, without the inventory and report that `cdk synth` adds after it
        "ratio_before_report": round(
            (app["seconds"] - app["phases"]["inventory_and_report"]) / floor["seconds"], 2
        ),
    }


def _context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((REPO / "cdk.json").read_text())["context"]
    context.update(
        {"@aws-cdk/core:failSynthOnValidationErrors": False, "aws:cdk:enable-path-metadata": True}
    )
    return context


def _count_jsii_calls() -> list[int]:
    """Count messages to the jsii runtime (each a round trip between Python and Node)."""
    from jsii._kernel.providers import process

    calls = [0]
    send = process._NodeProcess.send

    def counted(self: Any, request: Any, response_type: Any) -> Any:
        calls[0] += 1
        return send(self, request, response_type)

    process._NodeProcess.send = counted  # type: ignore[method-assign]
    return calls


def _cpu() -> tuple[float, float]:
    """CPU seconds so far of this Python process and of its children (the jsii Node runtime)."""
    import psutil

    me = psutil.Process()
    own = me.cpu_times()
    node = 0.0
    for child in me.children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        node += times.user + times.system
    return own.user + own.system, node


def _cpu_phase(
    name: str, before: tuple[float, float], after: tuple[float, float]
) -> dict[str, float]:
    return {
        f"{name}_cpu_python": round(after[0] - before[0], 1),
        f"{name}_cpu_node": round(after[1] - before[1], 1),
    }


def synth_app(config: Path, outdir: Path, *, governance: bool = True) -> None:
    """Child: the app, as ``cdk synth`` runs it (app.py's ``main``): build, every compliance
    plugin (or all but the Governance pack, to see its share), synth, then the governance
    inventory and report. Writes ``bench-phases.json`` into ``outdir``."""
    start = time.perf_counter()
    sys.path[:0] = [str(REPO), str(REPO / "lambda")]
    import aws_cdk as cdk

    from cdk_constructs.compliance import register_compliance_packs, write_pack_manifest
    from cdk_constructs.compliance.limits_check import LimitsChecks
    from cdk_constructs.compliance.packs import PUBLIC_PACKS
    from config import load_config
    from governance_report.gate import conclude
    from governance_report.scopes import record_inventory
    from stacks.governance_app import build_governance

    calls = _count_jsii_calls()
    loaded = load_config(str(config))
    imported, imported_cpu = time.perf_counter(), _cpu()
    app = cdk.App(outdir=str(outdir), context=_context())
    built_app = build_governance(app, loaded)
    built, build_calls, built_cpu = time.perf_counter(), calls[0], _cpu()
    if governance:
        register_compliance_packs(app)
    else:
        cdk.Validations.of(app).add_plugins(*(p(app) for p in PUBLIC_PACKS), LimitsChecks())
    app.synth()
    write_pack_manifest(outdir)
    done, done_cpu, synth_calls = time.perf_counter(), _cpu(), calls[0]
    record_inventory(built_app, [m.name for m in loaded.models], outdir)
    with contextlib.redirect_stdout(io.StringIO()):  # the report prints where it is
        conclude(outdir, prices=None, table=None, synth_error=None)
    reported, reported_cpu = time.perf_counter(), _cpu()
    phases = {
        "imports_and_config": round(imported - start, 1),
        "build": round(built - imported, 1),
        "build_jsii_calls": build_calls,
        "synth_and_packs": round(done - built, 1),
        "synth_jsii_calls": synth_calls - build_calls,
        "inventory_and_report": round(reported - done, 1),
        "inventory_and_report_jsii_calls": calls[0] - synth_calls,
        # CPU seconds of this process (Python) and of the jsii Node runtime, per phase; the
        # process started before the clock did, so imports are counted from zero.
        **_cpu_phase("imports_and_config", (0.0, 0.0), imported_cpu),
        **_cpu_phase("build", imported_cpu, built_cpu),
        **_cpu_phase("synth_and_packs", built_cpu, done_cpu),
        **_cpu_phase("inventory_and_report", done_cpu, reported_cpu),
    }
    (outdir / "bench-phases.json").write_text(json.dumps(phases) + "\n")


def synth_floor(source: Path, outdir: Path, *, governance: bool = False) -> None:
    """Child: the app's templates as raw CfnResources under the same public packs (and, with
    ``governance``, the Governance pack too: the floor if "the same packs" counts ours). Writes
    ``bench-phases.json`` into ``outdir``."""
    start = time.perf_counter()
    sys.path[:0] = [str(REPO), str(REPO / "lambda")]
    import aws_cdk as cdk

    from cdk_constructs.compliance.packs import PUBLIC_PACKS

    calls = _count_jsii_calls()
    imported, imported_cpu = time.perf_counter(), _cpu()

    acknowledged: dict[tuple[str, str], set[str]] = {}
    report = json.loads((source / "validation-report.json").read_text())
    for plugin in report.get("pluginReports", []):
        for suppressed in plugin.get("suppressedViolations", []):
            for construct in suppressed.get("violatingConstructs", []):
                resource = construct.get("cloudFormationResource") or {}
                template_name = str(resource.get("templatePath", ""))
                key = (
                    Path(template_name.removesuffix(".template.json")).name,
                    str(resource.get("logicalId")),
                )
                acknowledged.setdefault(key, set()).add(str(suppressed["acknowledgedId"]))

    manifest = json.loads((source / "manifest.json").read_text())
    app = cdk.App(outdir=str(outdir), context=_context())
    for name, artifact in sorted(manifest["artifacts"].items()):
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        environment = str(artifact["environment"]).removeprefix("aws://")
        account, _, region = environment.partition("/")
        template = json.loads((source / artifact["properties"]["templateFile"]).read_text())
        stack = cdk.Stack(
            app,
            name,
            env=cdk.Environment(account=account, region=region),
            synthesizer=cdk.DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
        )
        for logical_id, resource in template.get("Resources", {}).items():
            if resource["Type"] == "AWS::CDK::Metadata":
                continue
            element = cdk.CfnResource(
                stack,
                logical_id,
                type=resource["Type"],
                properties=resource.get("Properties"),
            )
            element.override_logical_id(logical_id)
            for rule in sorted(acknowledged.get((name, logical_id), ())):
                reason = "Acknowledged in the app with a specific reason (bench floor)."
                cdk.Validations.of(element).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))
        for output_id, output in template.get("Outputs", {}).items():
            cdk.CfnOutput(
                stack, output_id, value=cdk.Token.as_string(output["Value"])
            ).override_logical_id(output_id)
        for mapping_id, mapping in template.get("Mappings", {}).items():
            cdk.CfnMapping(stack, mapping_id, mapping=mapping)
    built, build_calls, built_cpu = time.perf_counter(), calls[0], _cpu()
    cdk.Validations.of(app).add_plugins(*(pack(app) for pack in PUBLIC_PACKS))
    if governance:
        from cdk_constructs.compliance.governance_pack import GovernanceChecks

        cdk.Validations.of(app).add_plugins(GovernanceChecks(app))
    app.synth()
    done, done_cpu = time.perf_counter(), _cpu()
    phases = {
        "imports": round(imported - start, 1),
        "build": round(built - imported, 1),
        "build_jsii_calls": build_calls,
        "synth_and_packs": round(done - built, 1),
        "synth_jsii_calls": calls[0] - build_calls,
        **_cpu_phase("imports", (0.0, 0.0), imported_cpu),
        **_cpu_phase("build", imported_cpu, built_cpu),
        **_cpu_phase("synth_and_packs", built_cpu, done_cpu),
    }
    (outdir / "bench-phases.json").write_text(json.dumps(phases) + "\n")


def summarize(outdir: Path) -> dict[str, Any]:
    """Templates, resources and the largest policy per stack (against its limit)."""
    sys.path[:0] = [str(REPO), str(REPO / "lambda")]
    from cdk_constructs.compliance.limits_check import load_assembly, measure

    stacks = load_assembly(outdir)
    measurements = measure(stacks)
    largest: dict[str, dict[str, Any]] = {}
    for m in measurements:
        if m.limit.key not in POLICY_LIMITS:
            continue
        share = m.value / m.allowed
        current = largest.get(m.stack.name)
        if current is None or share > current["share"]:
            largest[m.stack.name] = {
                "limit": m.limit.key,
                "resource": m.construct_path or m.logical_id,
                "measured": m.value,
                "allowed": m.allowed,
                "share": round(share, 3),
            }
    worst: dict[str, dict[str, Any]] = {}
    for m in measurements:
        share = m.value / m.allowed
        if m.limit.key not in worst or share > worst[m.limit.key]["share"]:
            worst[m.limit.key] = {
                "measured": m.value,
                "allowed": m.allowed,
                "share": round(share, 3),
            }
    return {
        "templates": len(stacks),
        "resources": sum(len(s.resources) for s in stacks),
        "largest_stack_resources": max(len(s.resources) for s in stacks),
        "largest_policy_per_stack": largest,
        "closest_to_each_limit": worst,
        "breaches": [m.message for m in measurements if m.breach],
    }


def _print_run(run: dict[str, Any], args: argparse.Namespace) -> None:
    """One model count's figures, as the run goes."""
    app, floor, pairs, count = run["app"], run["floor"], run["pairs"], run["models"]
    print(
        f"{count} models: app {app['seconds']} s ({app['cpu_seconds']} s CPU) / "
        f"{app['peak_mib']} MiB, floor {floor['seconds']} s ({floor['cpu_seconds']} s CPU) / "
        f"{floor['peak_mib']} MiB, ratio {run['ratio']} (CPU {run['cpu_ratio']}; before the "
        f"inventory and report {run['ratio_before_report']}; median of {len(pairs)} pairs, "
        f"best against best {run['best_ratio']}); "
        f"{run['templates']} templates, {run['resources']} resources, largest stack "
        f"{run['largest_stack_resources']}; breaches: {len(run['breaches'])}; app phases "
        f"{app['phases']}; floor phases {floor['phases']}",
        flush=True,
    )
    if args.governance_floor:
        print(
            "  against a floor that also runs the Governance pack: "
            f"{[p['ratio_to_floor_with_governance_pack'] for p in pairs]} (median "
            f"{run['median_ratio_to_floor_with_governance_pack']}; floor seconds "
            f"{[p['floor_with_governance_pack']['seconds'] for p in pairs]})",
            flush=True,
        )
    if args.governance_split:
        bare = run["app_without_governance_pack"]
        print(
            f"  without the Governance pack: app {bare['seconds']} s, ratio "
            f"{run['ratio_without_governance_pack']}; phases {bare['phases']}",
            flush=True,
        )
    for stack, policy in run["largest_policy_per_stack"].items():
        print(
            f"  {stack}: {policy['limit']} {policy['measured']:,}/{policy['allowed']:,} "
            f"({policy['resource']})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, nargs="+", default=[50, 200, 500])
    parser.add_argument(
        "--governance-split",
        action="store_true",
        help="also synthesize the app without the Governance pack, to report that pack's share",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="pairs per model count, app and floor alternating; with more than one, the ratio "
        "is the median of the pairs' ratios (each pair is one app run and the floor run right "
        "after it), and the best app run against the best floor run is reported beside it",
    )
    parser.add_argument(
        "--governance-floor",
        action="store_true",
        help="also time a floor that runs the Governance pack besides the public packs, and "
        "report the app against it (for the question whether the floor's 'same packs' include "
        "ours; the quoted ratio stays the public-pack floor's)",
    )
    parser.add_argument(
        "--child",
        choices=["app", "app-no-governance", "floor", "floor-governance"],
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--outdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child in {"app", "app-no-governance"}:
        synth_app(args.config, args.outdir, governance=args.child == "app")
        return
    if args.child in {"floor", "floor-governance"}:
        synth_floor(args.source, args.outdir, governance=args.child == "floor-governance")
        return

    sys.path.insert(0, str(REPO / "bench"))
    from measure import generate_config

    RESULTS.mkdir(parents=True, exist_ok=True)
    runs = []
    for count in args.models:
        config = generate_config(count, RESULTS / f"scale-{count}.yaml")
        app_out, floor_out = (
            RESULTS / f"scale-{count}.app.out",
            RESULTS / f"scale-{count}.floor.out",
        )
        pairs = []
        for _ in range(max(args.repeat, 1)):
            app = run_child(["--child", "app", "--config", str(config), "--outdir", str(app_out)])
            floor = run_child(
                ["--child", "floor", "--source", str(app_out), "--outdir", str(floor_out)]
            )
            app["phases"] = json.loads((app_out / "bench-phases.json").read_text())
            floor["phases"] = json.loads((floor_out / "bench-phases.json").read_text())
            pairs.append(_pair(app, floor))
            if args.governance_floor:
                child = ["--child", "floor-governance", "--source", str(app_out)]
                with_ours = run_child([*child, "--outdir", str(floor_out)])
                pairs[-1]["floor_with_governance_pack"] = with_ours
                pairs[-1]["ratio_to_floor_with_governance_pack"] = round(
                    app["seconds"] / with_ours["seconds"], 2
                )
            print(f"  pair {len(pairs)}: {json.dumps(pairs[-1])}", flush=True)
        # The median pair: the quoted figures are one real run of each, not a mix of runs.
        middle = sorted(pairs, key=lambda pair: pair["ratio"])[(len(pairs) - 1) // 2]
        app, floor = middle["app"], middle["floor"]
        run: dict[str, Any] = {
            "models": count,
            **middle,
            "pairs": pairs,
            # The fastest of each side: what each costs with the least interference from the
            # rest of the machine.
            "best_ratio": round(
                min(p["app"]["seconds"] for p in pairs) / min(p["floor"]["seconds"] for p in pairs),
                2,
            ),
            **summarize(app_out),
        }
        if args.governance_floor:
            ours = sorted(p["ratio_to_floor_with_governance_pack"] for p in pairs)
            run["median_ratio_to_floor_with_governance_pack"] = ours[(len(ours) - 1) // 2]
        if args.governance_split:
            bare_out = RESULTS / f"scale-{count}.app-no-governance.out"
            bare = run_child(
                ["--child", "app-no-governance", "--config", str(config), "--outdir", str(bare_out)]
            )
            bare["phases"] = json.loads((bare_out / "bench-phases.json").read_text())
            run["app_without_governance_pack"] = bare
            run["ratio_without_governance_pack"] = round(bare["seconds"] / floor["seconds"], 2)
        runs.append(run)
        _print_run(run, args)
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {os.getloadavg()}",
        "runs": runs,
    }
    (RESULTS / "scale.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

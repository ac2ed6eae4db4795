"""What CI costs: `.ci/run`'s stages on a fresh clone, each timed in wall and CPU seconds.

Usage: ``python3 bench/ci_time.py [--ref main] [--keep]``.

Clones ``--ref`` of this repository into a new temporary folder (so nothing of this work tree,
its venv, node_modules, wheelhouse or caches is reused), then runs the parts of ``.ci/run`` one
after another: ``make setup`` (venv, npm ci, the Evidently wheelhouse), ``make lint``, ``make
typecheck``, ``make unit`` and ``make ci`` (``make test`` runs typecheck beside unit, so its
wall time is below the sum of those two). pip's and npm's download caches and the job-venv
cache (``XDG_CACHE_HOME``) point into the temporary folder too, so the figures are those of a
machine that has never built the project. CPU seconds are user + system of every process a
stage started (``RUSAGE_CHILDREN``), far steadier than wall time on a shared machine. Results
go to ``bench/results/ci.json``.
Figures are measurements of this machine, quoted in notes, never asserted by tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
STAGES = ("setup", "lint", "typecheck", "unit", "ci")


def _run(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with log.open("w") as out:
        code = subprocess.run(
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, check=False
        ).returncode
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code != 0:
        raise SystemExit(f"{' '.join(command)} failed with exit status {code}; see {log}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="HEAD", help="the commit to clone (default: HEAD)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="ci-time-"))
    clone = root / "repo"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    subprocess.run(["git", "checkout", "--quiet", args.ref], cwd=clone, check=True)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True, check=True
    ).stdout.strip()
    cache = root / "cache"
    env = {
        **os.environ,
        "PIP_CACHE_DIR": str(cache / "pip"),
        "npm_config_cache": str(cache / "npm"),
        "XDG_CACHE_HOME": str(cache),
    }
    stages: dict[str, dict[str, float]] = {}
    load_before = os.getloadavg()
    try:
        for stage in STAGES:
            stages[stage] = _run(["make", stage], clone, env, root / f"{stage}.log")
            print(f"{stage}: {stages[stage]}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    result = {
        "commit": commit,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "stages": stages,
        "total_seconds": round(sum(s["seconds"] for s in stages.values()), 1),
        "total_cpu_seconds": round(sum(s["cpu_seconds"] for s in stages.values()), 1),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ci.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Build a Lambda layer zip from a pinned lock, reproducibly (``make mlflow-layer``).

Every distribution of the lock is downloaded as a wheel for the function's runtime (CPython
3.14, manylinux x86_64: Lambda python3.14 on x86_64) and installed without dependencies under
``python/``, where Lambda puts a layer's Python packages on the path (Lambda developer guide,
packaging-layers: "python" for every Python runtime). The zip is reproducible, so the CDK
asset hash only changes when the lock does: entries sorted, one fixed timestamp and mode,
no byte-code caches, no console scripts (their shebangs name the builder's interpreter).
The lock itself is kept in the zip (``python/requirements.lock``) for synth to compare.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

# ZIP timestamps start at 1980 (APPNOTE 4.4.6); one fixed time for every entry.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
LOCK_IN_LAYER = "python/requirements.lock"
_PLATFORM = ("--platform", "manylinux2014_x86_64", "--implementation", "cp")


def _pip(*args: str) -> None:
    # This interpreter's pip with arguments built here from the lock's path (no shell).
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet", *args],
        check=True,
    )


def build(lock: Path, out: Path, *, python_version: str) -> Path:
    with tempfile.TemporaryDirectory(prefix="layer-") as work:
        wheels = Path(work) / "wheels"
        root = Path(work) / "layer"
        target = root / "python"
        common = ("--only-binary=:all:", *_PLATFORM, "--python-version", python_version)
        _pip("download", "--no-deps", *common, "--dest", str(wheels), "-r", str(lock))
        _pip(
            "install",
            "--no-deps",
            "--no-index",
            "--no-compile",
            "--find-links",
            str(wheels),
            *common,
            "--target",
            str(target),
            "-r",
            str(lock),
        )
        shutil.rmtree(target / "bin", ignore_errors=True)
        for cache in sorted(target.rglob("__pycache__"), reverse=True):
            shutil.rmtree(cache)
        shutil.copyfile(lock, root / LOCK_IN_LAYER)
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_suffix(".tmp")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            files = [p for p in root.rglob("*") if p.is_file()]
            for path in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
                info = zipfile.ZipInfo(path.relative_to(root).as_posix(), FIXED_TIME)
                info.external_attr = 0o100644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes(), compresslevel=9)
        partial.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--python-version", default="3.14")
    args = parser.parse_args(argv)
    built = build(args.lock, args.out, python_version=args.python_version)
    print(f"{built}: {built.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

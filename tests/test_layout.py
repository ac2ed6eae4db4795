"""The requested layout works: `cdk_constructs/` must not shadow the `constructs` library."""

from __future__ import annotations

import ast
import sysconfig
from pathlib import Path

import constructs

from tests.conftest import REPO


def test_constructs_library_loads_from_site_packages() -> None:
    # Given the project has a cdk_constructs/ package at its root
    # When the constructs library is imported
    # Then it is the installed library, not a folder of this repo
    site_packages = Path(sysconfig.get_paths()["purelib"]).resolve()
    assert Path(constructs.__file__).resolve().is_relative_to(site_packages)
    assert hasattr(constructs, "Construct")


def test_no_top_level_constructs_folder_can_shadow_the_library() -> None:
    assert not (REPO / "constructs").exists()
    assert (REPO / "cdk_constructs" / "__init__.py").is_file()


def test_requested_shape_is_present() -> None:
    for name in ("app.py", "cdk.json", "requirements.txt", "stacks", "cdk_constructs", "lambda"):
        assert (REPO / name).exists(), name


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_constructs_never_read_the_configuration_model() -> None:
    # Stacks map the config to narrow props (stacks/props.py); constructs take only those.
    offenders = {
        str(path.relative_to(REPO)): sorted(
            m for m in _imported_modules(path) if m == "config" or m.startswith("config.")
        )
        for path in sorted((REPO / "cdk_constructs").rglob("*.py"))
    }
    assert {path: found for path, found in offenders.items() if found} == {}


def test_constructs_never_import_the_rule_pack() -> None:
    # The rules judge what the constructs build; shared facts live outside the rule pack.
    rules = "cdk_constructs.compliance.rules"
    offenders = {
        str(path.relative_to(REPO)): sorted(
            m for m in _imported_modules(path) if m == rules or m.startswith(f"{rules}.")
        )
        for path in sorted((REPO / "cdk_constructs").rglob("*.py"))
        if "compliance" not in path.relative_to(REPO / "cdk_constructs").parts
    }
    assert {path: found for path, found in offenders.items() if found} == {}


def _aws_cdk_modules(path: Path) -> set[str]:
    """aws_cdk modules a file imports, counting `from aws_cdk import aws_x` as aws_cdk.aws_x."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "aws_cdk"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "aws_cdk":
                continue
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names if a.name.startswith("aws_")}
    return found


def test_mypy_follows_every_aws_cdk_module_the_code_imports() -> None:
    # pyproject skips aws_cdk modules the code does not import (mypy would analyze all ~300);
    # a module the code imports but mypy skips would be silently unchecked (Any).
    import tomllib

    mypy = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mypy"]
    followed = {
        module
        for override in mypy["overrides"]
        if override.get("follow_imports") == "normal"
        for module in override["module"]
    }
    imported: set[str] = set()
    for entry in mypy["files"]:
        root = REPO / entry
        for path in [root] if root.is_file() else sorted(root.rglob("*.py")):
            imported |= _aws_cdk_modules(path)
    assert imported, "no aws_cdk import found: the scan is broken"
    assert sorted(imported - followed) == [], "add these to pyproject's followed aws_cdk modules"
    assert sorted(followed - imported) == [], "no longer imported: remove from the followed list"

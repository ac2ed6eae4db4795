"""The public packs' rule ids and levels, read from the pinned cdk-nag's own catalogue.

cdk-nag ships its ``RULES.md`` inside the jsii bundle of the Python package
(``cdk_nag/_jsii/cdk-nag@<version>.jsii.tgz``, member ``package/RULES.md``). Reading it there,
rather than copying rule ids by hand, ties the claims table to the version ``constraints.txt``
pins: a rule renamed or removed upstream fails the claims test after an upgrade.

Only error-level rules fail the gate: a warning is reported but never fails ``cdk synth`` once
the app has acknowledgments (aws-cdk-lib then recomputes a report's success from its errors).
"""

from __future__ import annotations

import importlib.util
import re
import tarfile
from functools import cache
from pathlib import Path

ERROR = "error"
WARNING = "warning"

# Sections of cdk-nag's RULES.md whose tables list bare rule names, and the prefix cdk-nag puts
# in front of them in findings.
_BARE_ID_SECTIONS = {"Serverless": "Serverless-"}
_CELL = re.compile(r"^\|\s*(?:\[(?P<linked>[^\]]+)\]\([^)]*\)|(?P<plain>[A-Za-z0-9.\-]+))\s*\|")


def _catalogue_text() -> str:
    spec = importlib.util.find_spec("cdk_nag")
    if spec is None or spec.origin is None:
        raise RuntimeError("cdk-nag is not installed (see requirements.txt)")
    bundles = sorted((Path(spec.origin).parent / "_jsii").glob("cdk-nag@*.jsii.tgz"))
    if len(bundles) != 1:
        raise RuntimeError(f"expected one cdk-nag jsii bundle, found {bundles}")
    with tarfile.open(bundles[0]) as bundle:
        member = bundle.extractfile("package/RULES.md")
        if member is None:
            raise RuntimeError(f"{bundles[0]} has no package/RULES.md")
        return member.read().decode("utf-8")


@cache
def public_rule_levels() -> dict[str, str]:
    """Rule id as findings name it (``AwsSolutions-KMS5``) → ``error`` or ``warning``."""
    levels: dict[str, str] = {}
    section = ""
    level: str | None = None
    for line in _catalogue_text().splitlines():
        if line.startswith("## "):
            section, level = line[3:].strip(), None
        elif line.startswith("### "):
            heading = line[4:].strip().lower()
            level = {"errors": ERROR, "warnings": WARNING}.get(heading)
        elif level is not None and section != "Additional Rules":
            match = _CELL.match(line)
            if match is None:
                continue
            rule = (match.group("linked") or match.group("plain") or "").strip()
            if not rule or set(rule) <= {"-"} or rule == "Rule ID":
                continue
            prefix = _BARE_ID_SECTIONS.get(section, "")
            levels[rule if "-" in rule else f"{prefix}{rule}"] = level
    return levels

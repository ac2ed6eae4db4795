"""The README's Node.js statement is what the pinned jsii runtime itself enforces."""

from __future__ import annotations

import re
from datetime import date
from importlib.metadata import version
from importlib.resources import files

from tests.conftest import REPO

_RELEASE = re.compile(r'new NodeRelease\((\d+),\{endOfLife:new Date\("(\d{4}-\d{2}-\d{2})"\)')
_EXTENDED_MONTHS = re.compile(r"DEFAULT_EXTENDED_SUPPORT_MONTHS=(\d+)")


def _jsii_support_ends() -> dict[int, date]:
    """Node major -> last day jsii supports it, from the runtime bundled in the jsii package."""
    bundle = files("jsii").joinpath("_embedded/jsii/bin__jsii-runtime.js").read_text()
    (months,) = {int(m) for m in _EXTENDED_MONTHS.findall(bundle)}
    ends = {}
    for major, end_of_life in _RELEASE.findall(bundle):
        eol = date.fromisoformat(end_of_life)
        month = eol.month - 1 + months
        ends[int(major)] = eol.replace(year=eol.year + month // 12, month=month % 12 + 1)
    return ends


def test_readme_states_the_node_versions_jsii_supports() -> None:
    readme = (REPO / "README.md").read_text()
    ends = _jsii_support_ends()
    assert f"jsii {version('jsii')}" in readme
    for major in (22, 24):
        assert f"**Node {major}** until {ends[major].isoformat()}" in readme
    assert f"jsii support ended on {ends[20].isoformat()}" in readme

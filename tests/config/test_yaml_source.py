"""The config's YAML is parsed by libyaml when PyYAML has it, with the same result as PyYAML's
pure-Python parser, and a document libyaml refuses is reported as the pure-Python parser does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from config import yaml_source
from config.yaml_source import YamlInt, load_yaml

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted([REPO / "config" / "default.yaml", *(REPO / "config" / "examples").glob("*.yaml")])

pytestmark = pytest.mark.skipif(
    yaml_source._FastLoader is None, reason="PyYAML was built without libyaml"
)


def _typed(value: Any) -> Any:
    """``value`` with every scalar's type (and a YamlInt's source text) made comparable."""
    if isinstance(value, dict):
        return {_typed(k): _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    if isinstance(value, YamlInt):
        return ("YamlInt", int(value), value.yaml_source)
    return (type(value).__name__, value)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_libyaml_reads_each_config_as_the_pure_python_parser_does(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    fast = yaml_source._load(yaml_source._FastLoader, text)  # type: ignore[arg-type]
    pure = yaml_source._load(yaml_source._Loader, text)
    assert _typed(fast) == _typed(pure)
    assert _typed(load_yaml(text)) == _typed(pure)


def test_an_account_written_with_a_leading_zero_keeps_its_source_text() -> None:
    data = load_yaml("account: 012345670123\nplain: 7\n")
    assert isinstance(data["account"], YamlInt)
    assert (int(data["account"]), data["account"].yaml_source) == (1402433619, "012345670123")


def test_a_refused_document_is_reported_with_the_offending_line() -> None:
    """libyaml's marks have no snippet; the error comes from the pure-Python parser."""
    with pytest.raises(yaml.YAMLError) as error:
        load_yaml("models:\n  - name: a\n    tags: [unclosed\n")
    assert "tags: [unclosed" in str(error.value)


def test_a_duplicate_key_names_both_lines() -> None:
    with pytest.raises(
        yaml_source.DuplicateKeyError, match=r"a\.b: duplicate key \(lines 2 and 3\)"
    ):
        load_yaml("a:\n  b: 1\n  b: 2\n")

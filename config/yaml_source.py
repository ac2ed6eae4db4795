"""Read a config file's YAML without its traps: duplicate keys and numbers that were meant as text.

PyYAML implements YAML 1.1, where a mapping that repeats a key silently keeps the last value and
an unquoted ``012345670123`` is the octal number 1402433619. Both are config mistakes that the
typed model cannot see once the YAML is parsed, so this module catches duplicate keys while the
document is still a node tree, and keeps each integer's source text so the model can tell the
writer that an account id was read as a number, and which one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode


class YamlInt(int):
    """An int from YAML that remembers how it was written (``012345670123`` -> 1402433619)."""

    yaml_source: str

    def __new__(cls, value: int, source: str) -> YamlInt:
        number = super().__new__(cls, value)
        number.yaml_source = source
        return number


class DuplicateKeyError(Exception):
    """A mapping repeats a key; the message names the path, the key and both lines."""


class _Loader(yaml.SafeLoader):
    pass


# libyaml's parser (PyYAML's CSafeLoader: the same YAML 1.1 resolver and constructors, the
# parsing in C) reads a 500-model config in a tenth of the pure-Python parser's time. Its error
# marks carry no source snippet, so a document it refuses is parsed again by the pure-Python
# loader, whose error shows the offending line.
_FastLoader: type[Any] | None = None
if hasattr(yaml, "CSafeLoader"):

    class _CLoader(yaml.CSafeLoader):
        pass

    _FastLoader = _CLoader


def _construct_int(loader: Any, node: Node) -> YamlInt:
    if not isinstance(node, ScalarNode):  # pragma: no cover - the int tag is only on scalars
        raise yaml.constructor.ConstructorError(None, None, "an int must be a scalar", None)
    return YamlInt(loader.construct_yaml_int(node), str(node.value))


for _loader in (_Loader, _FastLoader):
    if _loader is not None:
        _loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def load_yaml(text: str) -> Any:
    """Parse ``text`` (YAML 1.1, safe types); DuplicateKeyError if any mapping repeats a key."""
    if _FastLoader is not None:
        try:
            return _load(_FastLoader, text)
        except yaml.YAMLError:
            pass  # the pure-Python loader says where, with the line itself
    return _load(_Loader, text)


def _load(loader_class: type[Any], text: str) -> Any:
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        for problem in _duplicates(node, "", set()):
            raise DuplicateKeyError(problem)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _duplicates(node: Node, path: str, seen: set[int]) -> Iterator[str]:
    # Aliases reuse nodes; visiting each once also ends recursive anchors.
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, MappingNode):
        first_line: dict[object, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            line = key_node.start_mark.line + 1
            if key is not None and key != "<<":
                if key in first_line:
                    where = f"{path}." if path else ""
                    yield (
                        f"{where}{key}: duplicate key (lines {first_line[key]} and {line}); "
                        "YAML would silently keep only the last one, so remove or rename one"
                    )
                    continue
                first_line[key] = line
            child = f"{path}.{key}" if path else str(key)
            yield from _duplicates(value_node, child, seen)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicates(item, f"{path}[{index}]", seen)

"""Config text → raw values, with bounded cost: hostile YAML or TOML is one clear error.

A config file (or an override value) is parsed by :func:`parse_yaml` or :func:`parse_toml`, which
refuse, each with one :class:`ConfigTextError` line:

- YAML aliases that would expand into more than :data:`MAX_NODES` values ("billion laughs": a few
  lines of anchors and aliases that the copy, merge and structure steps after loading would expand
  exponentially), and aliases that refer to their own ancestor (recursive values);
- nesting deeper than :data:`MAX_DEPTH` (PyYAML's composer and ``tomllib`` recurse, so thousands of
  levels would otherwise end in a ``RecursionError`` traceback);
- text longer than :data:`MAX_CHARS`.

The bounds are far beyond any real config (ego_cl's whole resolved config has about 150 values
and 3 levels).
"""

from __future__ import annotations

import sys
from typing import Any

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "MAX_CHARS",
    "MAX_DEPTH",
    "MAX_NODES",
    "ConfigTextError",
    "check_depth",
    "parse_toml",
    "parse_yaml",
]

MAX_DEPTH = 64
"""Deepest nesting of mappings and sequences a config may have."""

MAX_NODES = 100_000
"""Most values a YAML document may expand to once its aliases are followed."""

MAX_CHARS = 4_000_000
"""Longest config text (about 4 MB)."""


class ConfigTextError(ValueError):
    """Config text that is malformed or exceeds a bound (the message is one line)."""


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with a depth bound while composing and an expansion bound after it."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    # the scanner's work per token grows with the flow depth (quadratic in all), so the depth
    # bound is enforced while scanning, before any deep structure is tokenised
    def fetch_flow_collection_start(self, token_class: Any) -> None:
        if self.flow_level >= MAX_DEPTH:
            raise ConfigTextError(f"nested deeper than {MAX_DEPTH} levels")
        super().fetch_flow_collection_start(token_class)

    def add_indent(self, column: int) -> bool:
        if len(self.indents) >= MAX_DEPTH:
            raise ConfigTextError(f"nested deeper than {MAX_DEPTH} levels")
        return super().add_indent(column)

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise ConfigTextError(f"nested deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self) -> Any:
        node = super().compose_document()
        _measure(node, 1, {}, set())
        return node


def _measure(
    node: yaml.Node, level: int, sizes: dict[int, tuple[int, int]], open_: set[int]
) -> tuple[int, int]:
    """``(values, height)`` of ``node`` with every alias expanded; raises beyond the bounds.

    Memoised by node identity, so the work is linear in the document's text, not in its expansion.
    """
    if level > MAX_DEPTH:
        raise ConfigTextError(f"nested deeper than {MAX_DEPTH} levels (through aliases)")
    key = id(node)
    if key in open_:
        raise ConfigTextError("an alias refers to a value that contains it (recursive value)")
    if key not in sizes:
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        open_.add(key)
        measured = [_measure(child, level + 1, sizes, open_) for child in children]
        open_.discard(key)
        size = 1 + sum(s for s, _ in measured)
        height = 1 + max((h for _, h in measured), default=0)
        sizes[key] = (size, height)
    size, height = sizes[key]
    if size > MAX_NODES:
        raise ConfigTextError(f"aliases expand to more than {MAX_NODES} values")
    if level + height - 1 > MAX_DEPTH:
        raise ConfigTextError(f"nested deeper than {MAX_DEPTH} levels (through aliases)")
    return size, height


def _check_length(text: str) -> None:
    if len(text) > MAX_CHARS:
        raise ConfigTextError(f"longer than {MAX_CHARS} characters")


def parse_yaml(text: str) -> Any:
    """Parse YAML safely within the bounds (no Python objects, bounded expansion and depth).

    Raises:
        ConfigTextError: A bound is exceeded.
        yaml.YAMLError: The text is not YAML.

    Example:
        >>> parse_yaml("a: &x [1, 2]\\nb: *x")
        {'a': [1, 2], 'b': [1, 2]}
    """
    _check_length(text)
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def parse_toml(text: str) -> dict[str, Any]:
    """Parse TOML within the depth bound.

    Raises:
        ConfigTextError: A bound is exceeded.
        tomllib.TOMLDecodeError: The text is not TOML.
    """
    _check_length(text)
    try:
        raw = tomllib.loads(text)
    except RecursionError:
        raise ConfigTextError(f"nested deeper than {MAX_DEPTH} levels") from None
    check_depth(raw)
    return raw


def check_depth(value: Any) -> None:
    """Refuse mappings/lists nested deeper than :data:`MAX_DEPTH` (iterative: never recurses).

    Raises:
        ConfigTextError: Too deep.
    """
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if level > MAX_DEPTH:
            raise ConfigTextError(f"nested deeper than {MAX_DEPTH} levels")
        stack.extend((child, level + 1) for child in children)

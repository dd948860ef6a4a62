"""One bounded YAML loader for every file mockverse reads (configs, specs, lifecycle tables).

YAML aliases let a small file name a huge document (nine levels of nine-item aliases are 387
million values: an "alias bomb"). PyYAML shares the aliased objects, but anything that walks the
result (validation, serialisation, generation) expands them. So the document is composed first
(libyaml when available), the size it expands to is counted without expanding it (each node's
size memoised), and a document whose aliases add more than ``ALIAS_NODES`` values is refused,
naming the JSON pointer of the part that expands and the limit, before any object is built.
"""

from __future__ import annotations

import copy
import functools
from importlib import resources
from typing import Any

import yaml

ALIAS_NODES = 100_000   # values aliases may add to a document beyond those written out
MAX_DEPTH = 200         # nesting levels of a YAML document

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YAMLLimitError(yaml.YAMLError):
    """A YAML document past a limit: ``pointer`` (JSON pointer) is where, ``limit`` the bound."""

    def __init__(self, pointer: str, message: str, limit: int) -> None:
        super().__init__(f"{pointer}: {message}")
        self.pointer, self.message, self.limit = pointer, message, limit


def load(text: str) -> Any:
    """Parse one YAML document with the safe loader, refusing alias bombs and absurd nesting."""
    loader = _LOADER(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise YAMLLimitError("/", f"the document nests deeper than Python can read (limit {MAX_DEPTH})",
                                 MAX_DEPTH) from None
        if node is None:
            return None
        if "*" in text:   # without an asterisk there is no alias to expand
            _check(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def bundled(name: str) -> Any:
    """A YAML file shipped in ``mockverse/builtin`` (``config.yaml``, ``lifecycle.yaml``), parsed once per
    process: every app built in it reads the same file; each call gets a copy of its own to change."""
    return copy.deepcopy(_bundled(name))


@functools.cache
def _bundled(name: str) -> Any:
    return load(resources.files("mockverse.builtin").joinpath(name).read_text("utf-8"))


def _check(root: yaml.Node) -> None:
    """Raise YAMLLimitError when aliases expand the document by more than ALIAS_NODES values."""
    sizes: dict[int, int] = {}
    distinct = _measure(root, sizes, set(), 0)
    if sizes[id(root)] - len(sizes) <= ALIAS_NODES:
        return
    parts: list[str] = []
    node = root
    while True:   # down to the deepest part that alone expands past the limit
        child = next(((key, value) for key, value in _children(node) if sizes.get(id(value), 0) > ALIAS_NODES), None)
        if child is None:
            break
        parts.append(child[0])
        node = child[1]
    pointer = "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts) if parts else "/"
    raise YAMLLimitError(pointer, f"YAML aliases expand this document to {sizes[id(root)]:,} values from "
                         f"{distinct:,} written; at most {ALIAS_NODES:,} may come from aliases", ALIAS_NODES)


def _measure(node: yaml.Node, sizes: dict[int, int], open_: set[int], depth: int) -> int:
    """Fill ``sizes`` with each node's expanded size (memoised per node, so shared aliases are
    counted without being walked again); returns how many distinct nodes there are."""
    if depth > MAX_DEPTH:
        raise YAMLLimitError("/", f"the document nests deeper than {MAX_DEPTH} levels", MAX_DEPTH)
    key = id(node)
    if key in sizes:
        return 0
    if key in open_:   # a recursive alias: counted once, as its anchor
        return 0
    open_.add(key)
    distinct, size = 1, 1
    for _, child in _children(node):
        distinct += _measure(child, sizes, open_, depth + 1)
        size += sizes.get(id(child), 1)
    open_.discard(key)
    sizes[key] = size
    return distinct


def _children(node: yaml.Node) -> list[tuple[str, yaml.Node]]:
    """(pointer token, node) of a node's values (mapping keys count as values too)."""
    if isinstance(node, yaml.MappingNode):
        out: list[tuple[str, yaml.Node]] = []
        for k, v in node.value:
            name = str(k.value) if isinstance(k, yaml.ScalarNode) else "?"
            out.append((name, v))
            if not isinstance(k, yaml.ScalarNode):
                out.append((name, k))
        return out
    if isinstance(node, yaml.SequenceNode):
        return [(str(i), v) for i, v in enumerate(node.value)]
    return []

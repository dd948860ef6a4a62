"""The layers point down: world, reality, fidelity, openapi, store (and ai) never import the HTTP
layer, the protocols or the web framework; protocols never import http. Checked on every import
statement of every module, including those inside functions and TYPE_CHECKING blocks."""

from __future__ import annotations

import ast
from pathlib import Path

import mockverse

PACKAGE = Path(mockverse.__file__).resolve().parent
LOWER = ("world", "reality", "fidelity", "openapi", "store", "ai")
UPPER = ("mockverse.http", "mockverse.protocols", "mockverse.cli", "starlette", "uvicorn")
FORBIDDEN = {**{layer: UPPER for layer in LOWER}, "protocols": ("mockverse.http", "mockverse.cli")}
# top-level modules the lower layers may use: they import nothing from the layers above
SHARED = ("ids", "cache", "config", "timeutil", "problems", "progress", "logs")


def imported_names(path: Path) -> list[tuple[int, str]]:
    """Every module an ``import`` or ``from ... import`` in ``path`` names, with its line."""
    return names_in(path.read_text(), ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))


def names_in(source: str, module: str) -> list[tuple[int, str]]:
    """The imported names of ``source``, the text of ``module`` (relative imports made absolute)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")[: -node.level]
                base = ".".join([*parts, base] if base else parts)
            names += [(node.lineno, base)] + [(node.lineno, f"{base}.{a.name}") for a in node.names]
    return names


def upward_imports() -> list[str]:
    found = []
    for layer, forbidden in FORBIDDEN.items():
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            for line, name in imported_names(path):
                if any(name == f or name.startswith(f + ".") for f in forbidden):
                    found.append(f"{path.relative_to(PACKAGE)}:{line} imports {name}")
    for name in SHARED:
        path = PACKAGE / f"{name}.py"
        if path.exists():
            for line, imported in imported_names(path):
                if any(imported == f or imported.startswith(f + ".") for f in UPPER):
                    found.append(f"{name}.py:{line} imports {imported}")
    return sorted(set(found))


def test_no_lower_layer_imports_a_higher_one():
    assert upward_imports() == []


def test_the_walker_sees_upward_imports_in_functions_and_relative_ones():
    source = "def f():\n    from mockverse.http.errors import Problem\nfrom ..protocols import tcp\n"
    names = names_in(source, "mockverse.reality.serve")
    assert (2, "mockverse.http.errors") in names
    assert (3, "mockverse.protocols.tcp") in names

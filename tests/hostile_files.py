"""Hostile files written on demand, for tests/openapi/test_hostile.py and `make bench` (peak memory)."""

from __future__ import annotations

import json
from pathlib import Path


def alias_bomb(path: Path) -> Path:
    """Nine levels of nine-item aliases under lifecycle_effects: 387 million values from 12 lines."""
    lines = ["consistency:", "  personas:", "    lifecycle_effects:", f"      a0: &a0 [{', '.join(['lol'] * 9)}]"]
    lines += [f"      a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    path.write_text("\n".join(lines) + "\n")
    return path


def spec_document(paths: dict, schemas: dict) -> dict:
    """An OpenAPI 3.0 document of these paths and component schemas."""
    return {"openapi": "3.0.3", "info": {"title": "hostile", "version": "1"}, "paths": paths,
            "components": {"schemas": schemas}}


def item_path(ref: str) -> dict:
    """A GET of one item by integer id, answering the named component schema."""
    return {"get": {"parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                    "responses": {"200": {"description": "ok", "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}}}}


def wide_dag(path: Path) -> Path:
    """Thing -> S0 -> ... -> S30, each schema referencing the next four times, every field required."""
    schemas: dict = {"Thing": {"type": "object", "properties": {"id": {"type": "integer"},
                                                                "root": {"$ref": "#/components/schemas/S0"}}}}
    for i in range(30):
        props = {f"p{k}": {"$ref": f"#/components/schemas/S{i + 1}"} for k in range(4)}
        schemas[f"S{i}"] = {"type": "object", "properties": props, "required": list(props)}
    schemas["S30"] = {"type": "object", "properties": {"leaf": {"type": "string"}}}
    path.write_text(json.dumps(spec_document({"/things/{id}": item_path("Thing")}, schemas)))
    return path


def many_paths(path: Path, n: int = 10_000) -> Path:
    """A spec with ``n`` item paths over one small schema."""
    schemas = {"R": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}}
    path.write_text(json.dumps(spec_document({f"/r{i}/{{id}}": item_path("R") for i in range(n)}, schemas)))
    return path


def huge_enum(path: Path, n: int = 700_000) -> Path:
    """A spec of about 10 MB, nearly all of it one enum."""
    schemas = {"Thing": {"type": "object", "properties": {
        "id": {"type": "integer"}, "kind": {"type": "string", "enum": [f"value-{i:07d}" for i in range(n)]}}}}
    path.write_text(json.dumps(spec_document({"/things/{id}": item_path("Thing")}, schemas)))
    return path

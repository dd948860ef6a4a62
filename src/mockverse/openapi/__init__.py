"""OpenAPI loading and the entity world inferred from it (pure: no HTTP, no store)."""

from .infer import EntityType, InferredWorld, Relationship, infer_world
from .loader import (
    Operation,
    Parameter,
    Response,
    Spec,
    SpecError,
    bench_load,
    is_json_media_type,
    is_nullable,
    load_spec,
    merge_all_of,
)
from .words import singular, snake

__all__ = [
    "EntityType",
    "InferredWorld",
    "Operation",
    "Parameter",
    "Relationship",
    "Response",
    "Spec",
    "SpecError",
    "bench_load",
    "infer_world",
    "is_json_media_type",
    "is_nullable",
    "load_spec",
    "merge_all_of",
    "singular",
    "snake",
]

"""Schema similarity: normalise two JSON/OpenAPI schemas, then score every node of their union.

``node = T × (0.60 + 0.15·[required equal] + 0.10·[nullable equal] + 0.10·E + 0.05·F)`` and the
driver value is the mean over the nodes of both trees (FIDELITY.md "Schema similarity").

Normalising makes equivalent spellings equal: local ``$ref`` resolved against the given
document (a ``$ref`` met again inside itself is cut there and compared shallowly), ``allOf``
merged, ``nullable: true`` / ``type: [..., "null"]`` / a null ``anyOf``/``oneOf`` branch read
alike, annotations ignored because only the keywords below are read at all. An ``allOf``
is nullable when any part says so (the usual OpenAPI 3.0 ``allOf: [$ref] + nullable`` idiom);
``oneOf``/``anyOf`` of bare types is read as the type list it spells (``type: [a, b]``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote

import orjson
from genson import SchemaBuilder

from .base import DriverResult, Exclusions, Finding, child_path, items_path, size_confidence, skipped

MAX_DEPTH = 64  # deeper than this the schema is cut, as if recursive
MAX_NODES = 20_000  # a document that expands to more nodes is cut there (shared refs can explode)

_SCALAR_TYPES = frozenset({"string", "integer", "number", "boolean", "object", "array", "null"})
# How much of a node each disagreement costs, inside T (they sum to 0.40 with 0.60 kept).
_REQUIRED, _NULLABLE, _ENUM, _FORMAT = 0.15, 0.10, 0.10, 0.05


@dataclass(slots=True)
class SchemaNode:
    """One normalised schema: types without "null", and the parts the node formula reads."""

    types: frozenset[str] = frozenset()
    nullable: bool = False
    enum: frozenset[bytes] | None = None
    format: str | None = None
    properties: dict[str, SchemaNode] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    items: SchemaNode | None = None
    variants: tuple[SchemaNode, ...] = ()
    recursive: bool = False


ANY = SchemaNode()


def infer_schema(samples: list[Any]) -> dict[str, Any]:
    """A JSON Schema that the sample bodies satisfy, inferred with genson."""
    builder = SchemaBuilder()
    for body in samples:
        builder.add_object(body)
    return builder.to_schema()


def normalise_schema(schema: Any) -> SchemaNode:
    """The normal form of a JSON Schema / OpenAPI schema object; refs resolve against ``schema``."""
    return _Normaliser(schema).node(schema, (), 0, "$")


def schema_similarity(
    mock: dict[str, Any] | None,
    real: dict[str, Any] | None,
    exclusions: Exclusions,
    *,
    mock_inferred_from: int | None = None,
    real_inferred_from: int | None = None,
) -> DriverResult:
    """Score the mock's schema against the real one; ``*_inferred_from`` counts samples behind a side."""
    if mock is None or real is None:
        side = "mock" if mock is None else "real"
        return skipped(f"no {side} schema or samples given")
    tally = compare_nodes(normalise_schema(mock), normalise_schema(real), exclusions)
    details = {
        "nodes": round(tally.count, 3),
        "mock_source": _source(mock_inferred_from),
        "real_source": _source(real_inferred_from),
    }
    if tally.count == 0:
        return skipped("every schema node is excluded", details)
    sizes = [n for n in (mock_inferred_from, real_inferred_from) if n is not None]
    if not sizes:
        confidence = 1.0
    elif len(sizes) == 1:
        confidence = size_confidence(sizes[0])
    else:
        confidence = size_confidence(sizes[0], sizes[1])
    findings = [replace(f, loss=f.loss / tally.count) for f in tally.findings]
    return DriverResult(value=tally.total / tally.count, details=details, findings=findings, confidence=confidence)


def _source(inferred_from: int | None) -> str:
    return "declared" if inferred_from is None else f"inferred from {inferred_from} samples"


# -- normalising ----------------------------------------------------------------------------


class _Normaliser:
    """Builds ``SchemaNode`` trees from one schema document, resolving its local refs."""

    def __init__(self, document: Any) -> None:
        self.document = document
        self.built = 0

    def node(self, schema: Any, refs: tuple[str, ...], depth: int, where: str) -> SchemaNode:
        """Normalise ``schema``; ``refs`` are the refs being expanded above it (for cycle cuts)."""
        if schema is True or schema is False or schema is None:
            return SchemaNode()  # boolean schemas carry no type to compare
        if not isinstance(schema, dict):
            raise ValueError(f"schema at {where} must be an object, got {type(schema).__name__}")
        self.built += 1
        if depth > MAX_DEPTH or self.built > MAX_NODES:
            return replace(self._shallow(schema), recursive=True)
        if "$ref" in schema:
            ref = schema["$ref"]
            target = self.resolve(ref)
            if ref in refs:
                return self._cut(target, refs, where)
            inner = self.node(target, refs + (ref,), depth + 1, where)
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            return _merge([inner, self.node(rest, refs, depth + 1, where)]) if _constrains(rest) else inner
        if isinstance(schema.get("allOf"), list):
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            parts = [self.node(p, refs, depth + 1, where) for p in schema["allOf"]]
            return _merge(parts + [self.node(rest, refs, depth + 1, where)])
        alternatives = _alternatives(schema)
        if alternatives is not None:
            return self._union(schema, alternatives, refs, depth, where)
        return self._plain(schema, refs, depth, where)

    def resolve(self, ref: Any) -> Any:
        """The schema a local ``$ref`` (``#/components/schemas/User``) points at."""
        if not isinstance(ref, str) or not (ref == "#" or ref.startswith("#/")):
            raise ValueError(f"$ref {ref!r} is not a local reference such as '#/components/schemas/User'")
        target = self.document
        for raw in ref[2:].split("/") if ref != "#" else []:
            token = unquote(raw).replace("~1", "/").replace("~0", "~")
            if isinstance(target, dict) and token in target:
                target = target[token]
            elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
                target = target[int(token)]
            else:
                raise ValueError(f"$ref {ref!r} does not resolve inside the given schema")
        return target

    def _cut(self, target: Any, refs: tuple[str, ...], where: str) -> SchemaNode:
        """A ref met again inside itself: keep its own type, nullability, enum and format only."""
        node = self.node(target, refs, MAX_DEPTH, where)
        types = frozenset().union(*(v.types for v in node.variants)) if node.variants else node.types
        return replace(node, types=_numeric(types), properties={}, items=None, variants=(), recursive=True)

    def _union(self, schema: dict, alternatives: list, refs: tuple[str, ...], depth: int, where: str) -> SchemaNode:
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
        own = self.node(rest, refs, depth + 1, where)
        variants = []
        nullable = own.nullable
        for alternative in alternatives:
            node = self.node(alternative, refs, depth + 1, where)
            if _is_null_only(node):
                nullable = True
            else:
                variants.append(_merge([own, node]) if _constrains(rest) else node)
        if not variants:
            return replace(own, nullable=True)
        if len(variants) == 1:
            return replace(variants[0], nullable=variants[0].nullable or nullable)
        if all(_bare(v) for v in variants):
            types = frozenset().union(*(v.types for v in variants))
            return SchemaNode(types=_numeric(types), nullable=nullable or any(v.nullable for v in variants))
        variants = [replace(v, nullable=v.nullable or nullable) for v in variants]
        return SchemaNode(nullable=nullable, variants=tuple(variants))

    def _plain(self, schema: dict, refs: tuple[str, ...], depth: int, where: str) -> SchemaNode:
        node = self._shallow(schema)
        properties = schema.get("properties")
        if isinstance(properties, dict):
            node.properties = {
                str(k): self.node(v, refs, depth + 1, child_path(where, str(k))) for k, v in properties.items()
            }
        required = schema.get("required")
        if isinstance(required, list):
            node.required = frozenset(r for r in required if isinstance(r, str))
        items = schema.get("items")
        if isinstance(items, dict) or items is True:
            node.items = self.node(items, refs, depth + 1, items_path(where))
        elif isinstance(items, list) and items:
            node.items = self.node({"anyOf": items}, refs, depth + 1, items_path(where))
        return node

    def _shallow(self, schema: Any) -> SchemaNode:
        """Type, nullability, enum and format of a schema, without its children."""
        if not isinstance(schema, dict):
            return SchemaNode()
        raw = schema.get("type")
        names = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
        types = {t for t in names if t in _SCALAR_TYPES}
        nullable = "null" in types or schema.get("nullable") is True
        types.discard("null")
        enum = None
        values = [schema["const"]] if "const" in schema else schema.get("enum")
        if isinstance(values, list):
            if any(v is None for v in values):
                nullable = True
            enum = frozenset(_canonical(v) for v in values if v is not None)
        if not types:
            if isinstance(schema.get("properties"), dict):
                types.add("object")
            elif "items" in schema:
                types.add("array")
        fmt = schema.get("format")
        return SchemaNode(
            types=_numeric(frozenset(types)),
            nullable=nullable,
            enum=enum,
            format=fmt if isinstance(fmt, str) else None,
        )


def _alternatives(schema: dict) -> list | None:
    """The ``oneOf``/``anyOf`` alternatives of a schema, or None when it has neither."""
    found = [a for key in ("oneOf", "anyOf") if isinstance(schema.get(key), list) for a in schema[key]]
    return found if found or "oneOf" in schema or "anyOf" in schema else None


def _constrains(schema: dict) -> bool:
    """Whether a schema fragment says anything the node formula reads."""
    keys = ("type", "nullable", "enum", "const", "format", "properties", "required", "items", "allOf", "anyOf", "oneOf")
    return any(k in schema for k in keys)


def _is_null_only(node: SchemaNode) -> bool:
    """A schema that admits only null (``{type: null}``): it spells nullability, nothing else."""
    return node.nullable and not node.types and not node.properties and node.items is None and not node.variants and (
        node.enum is None or not node.enum
    )


def _bare(node: SchemaNode) -> bool:
    """A typed schema that says nothing but its type: alternatives of these are a type list."""
    return bool(node.types) and node == SchemaNode(types=node.types, nullable=node.nullable)


def _numeric(types: frozenset[str]) -> frozenset[str]:
    """``integer`` next to ``number`` adds nothing: every integer is a number."""
    return types - {"integer"} if "number" in types else types


def _canonical(value: Any) -> bytes:
    """A hashable, order-independent spelling of an enum value."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def _merge(parts: list[SchemaNode]) -> SchemaNode:
    """The ``allOf`` of normalised schemas: constraints intersected, properties and required united."""
    merged = SchemaNode()
    typed = [p.types for p in parts if p.types]
    if typed:
        widened = [t | {"integer"} if "number" in t else t for t in typed]
        common = frozenset.intersection(*widened)
        merged.types = _numeric(common) if common else typed[0]
    merged.nullable = any(p.nullable for p in parts)
    enums = [p.enum for p in parts if p.enum is not None]
    merged.enum = frozenset.intersection(*enums) if enums else None
    merged.format = next((p.format for p in parts if p.format), None)
    for part in parts:
        for key, child in part.properties.items():
            other = merged.properties.get(key)
            merged.properties[key] = child if other is None else _merge([other, child])
        merged.required |= part.required
        if part.items is not None:
            merged.items = part.items if merged.items is None else _merge([merged.items, part.items])
        if part.variants and not merged.variants:
            merged.variants = part.variants
        merged.recursive = merged.recursive or part.recursive
    if merged.variants:
        base = replace(merged, variants=())
        merged.variants = tuple(_merge([base, v]) for v in merged.variants)
    return merged


# -- comparing ------------------------------------------------------------------------------


@dataclass(slots=True)
class Tally:
    """Sum of node scores, number of nodes, and findings with losses in node units."""

    total: float = 0.0
    count: float = 0.0
    findings: list[Finding] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.total += other.total
        self.count += other.count
        self.findings.extend(other.findings)


def compare_nodes(mock: SchemaNode, real: SchemaNode, exclusions: Exclusions, path: str = "$") -> Tally:
    """Score every node of the union of two normalised trees (the root counts as a node)."""
    if exclusions.matches(path):
        return Tally()
    return _compare(mock, real, path, True, True, exclusions)


def _compare(m: SchemaNode, r: SchemaNode, path: str, m_req: bool, r_req: bool, ex: Exclusions) -> Tally:
    if m.variants or r.variants:
        return _compare_variants(m, r, path, m_req, r_req, ex)
    t = type_agreement(m.types, r.types)
    if t == 0.0:
        count = union_count(m, r, path, ex)
        finding = Finding(path, "type-mismatch", _type_message(path, m, r), _type_name(m), _type_name(r), count)
        return Tally(0.0, count, [finding])
    tally = Tally()
    losses = []
    if t < 1.0:
        losses.append(Finding(path, "type-mismatch", _type_message(path, m, r), _type_name(m), _type_name(r), 1.0 - t))
    if m_req != r_req:
        said = (
            "required in the mock but optional in reality" if m_req else "optional in the mock but required in reality"
        )
        losses.append(Finding(path, "required-differs", f"{path} is {said}", m_req, r_req, t * _REQUIRED))
    if m.nullable != r.nullable:
        said = (
            "nullable in the mock but not in reality"
            if m.nullable
            else "never null in the mock but nullable in reality"
        )
        losses.append(Finding(path, "nullable-differs", f"{path} is {said}", m.nullable, r.nullable, t * _NULLABLE))
    e = enum_agreement(m.enum, r.enum)
    if e < 1.0:
        message = f"{path} allows different values (enum agreement {e:.2f})"
        values = _enum_values(m.enum), _enum_values(r.enum)
        losses.append(Finding(path, "enum-differs", message, *values, t * _ENUM * (1 - e)))
    if m.format != r.format:
        message = f"{path} has format {m.format or 'none'} in the mock but {r.format or 'none'} in reality"
        losses.append(Finding(path, "format-differs", message, m.format, r.format, t * _FORMAT))
    tally.total = 1.0 - sum(f.loss for f in losses) if losses else 1.0
    tally.count = 1.0
    tally.findings = losses
    if m.recursive or r.recursive:
        return tally
    for key in sorted(m.properties.keys() | r.properties.keys()):
        sub = child_path(path, key)
        if ex.matches(sub):
            continue
        mc, rc = m.properties.get(key), r.properties.get(key)
        if mc is not None and rc is not None:
            tally.add(_compare(mc, rc, sub, key in m.required, key in r.required, ex))
        else:
            present = mc if mc is not None else rc
            count = subtree_count(present, sub, ex) if present is not None else 0.0
            code = "extra-in-mock" if mc is not None else "missing-in-mock"
            said = "only in the mock" if mc is not None else "missing in the mock"
            tally.add(
                Tally(0.0, count, [Finding(sub, code, f"{sub} is {said}", _type_name(mc), _type_name(rc), count)])
            )
    if m.items is not None or r.items is not None:
        sub = items_path(path)
        if not ex.matches(sub):
            tally.add(_compare(m.items or ANY, r.items or ANY, sub, True, True, ex))
    return tally


def _compare_variants(m: SchemaNode, r: SchemaNode, path: str, m_req: bool, r_req: bool, ex: Exclusions) -> Tally:
    """Symmetric best match: each alternative on either side is paired with its closest partner."""
    ms, rs = m.variants or (m,), r.variants or (r,)
    grid = [[_compare(a, b, path, m_req, r_req, ex) for b in rs] for a in ms]
    pairs = [max(row, key=_ratio) for row in grid]
    pairs += [max((grid[i][j] for i in range(len(ms))), key=_ratio) for j in range(len(rs))]
    share = 1.0 / len(pairs)
    merged: dict[tuple[str | None, str], Finding] = {}
    for pair in pairs:
        for f in pair.findings:
            key = (f.path, f.code)
            if key in merged:
                merged[key].loss += f.loss * share
            else:
                merged[key] = replace(f, loss=f.loss * share)
    total = sum(p.total for p in pairs) / len(pairs)
    count = sum(p.count for p in pairs) / len(pairs)
    return Tally(total, count, list(merged.values()))


def _ratio(tally: Tally) -> float:
    return tally.total / tally.count if tally.count else 1.0


def type_agreement(a: frozenset[str], b: frozenset[str]) -> float:
    """T: 1 for equal type sets, 0.5 for integer vs number or one side untyped, else Jaccard."""
    if a == b:
        return 1.0
    if not a or not b:
        return 0.5
    if {t.replace("integer", "number") for t in a} == {t.replace("integer", "number") for t in b}:
        return 0.5
    return len(a & b) / len(a | b)


def enum_agreement(a: frozenset[bytes] | None, b: frozenset[bytes] | None) -> float:
    """E: 1 when neither side has an enum, otherwise the Jaccard of the two value sets."""
    if a is None and b is None:
        return 1.0
    a, b = a or frozenset(), b or frozenset()
    union = a | b
    return len(a & b) / len(union) if union else 1.0


def subtree_count(node: SchemaNode, path: str, ex: Exclusions) -> float:
    """How many nodes a schema contributes (alternatives count as their mean)."""
    if node.variants:
        return sum(subtree_count(v, path, ex) for v in node.variants) / len(node.variants)
    count = 1.0
    if node.recursive:
        return count
    for key, child in node.properties.items():
        sub = child_path(path, key)
        if not ex.matches(sub):
            count += subtree_count(child, sub, ex)
    if node.items is not None and not ex.matches(items_path(path)):
        count += subtree_count(node.items, items_path(path), ex)
    return count


def union_count(m: SchemaNode | None, r: SchemaNode | None, path: str, ex: Exclusions) -> float:
    """Nodes in the union of two trees: a path on both sides counts once."""
    if m is None or r is None:
        present = m if m is not None else r
        return subtree_count(present, path, ex) if present is not None else 0.0
    if m.variants or r.variants or m.recursive or r.recursive:
        return max(subtree_count(m, path, ex), subtree_count(r, path, ex))
    count = 1.0
    for key in m.properties.keys() | r.properties.keys():
        sub = child_path(path, key)
        if not ex.matches(sub):
            count += union_count(m.properties.get(key), r.properties.get(key), sub, ex)
    if (m.items is not None or r.items is not None) and not ex.matches(items_path(path)):
        count += union_count(m.items, r.items, items_path(path), ex)
    return count


def _type_name(node: SchemaNode | None) -> str | None:
    """``integer``, ``string|null``, ``any``: how findings show a node's type."""
    if node is None:
        return None
    if node.variants:
        return " | ".join(sorted({_type_name(v) or "any" for v in node.variants}))
    names = sorted(node.types) or ["any"]
    return "|".join(names + (["null"] if node.nullable else []))


def _type_message(path: str, m: SchemaNode, r: SchemaNode) -> str:
    return f"{path} is {_type_name(m)} in the mock but {_type_name(r)} in reality"


def _enum_values(enum: frozenset[bytes] | None) -> list[Any] | None:
    return None if enum is None else [orjson.loads(v) for v in sorted(enum)]

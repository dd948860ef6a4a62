"""OpenAPI schemas as JSON Schema 2020-12, and cached validators for them.

OpenAPI 3.0 differs from JSON Schema in a few keywords: ``nullable: true`` adds ``null``
to the type (and to an ``enum``), ``exclusiveMinimum: true`` is a flag on ``minimum``,
``example``/``discriminator``/``xml`` are annotations. ``readOnly`` properties are not
required in requests and ``writeOnly`` ones not in responses. OpenAPI 3.1 schemas are
JSON Schema already; the same conversion leaves them as they are. Recursive schemas stay
recursive: the copy shares its cycles.
"""

from __future__ import annotations

from typing import Any

import regex
from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema import _keywords as keywords

_ANNOTATIONS = ("nullable", "x-nullable", "discriminator", "xml", "externalDocs", "example")
_DEFINITION_KEYS = ("$defs", "definitions", "components", "$id", "$schema")
_VALIDATORS: dict[tuple[int, str], tuple[Any, Draft202012Validator]] = {}
_PATTERNS: dict[str, Any] = {}
_FITS: dict[tuple[int, type, object], bool] = {}   # (schema id, type, scalar or repr) -> fits
_FITS_MOST = 100_000
_FITS_TEXT = 2_000   # the longest repr of an object or array whose answer is remembered
_QUICK: dict[int, tuple[Any, Any]] = {}   # id(converted schema) -> (the schema, its compiled jsonschema-rs or None)


def matches(pattern: str, text: str) -> bool:
    """Whether ``text`` matches ``pattern`` as ECMA-262 reads it (``\\p{L}`` included, which Python's ``re``
    refuses), via ``regex``; a pattern neither understands constrains nothing rather than failing every value."""
    compiled = _PATTERNS.get(pattern, False)
    if compiled is False:
        try:
            compiled = regex.compile(pattern)
        except (regex.error, TypeError):
            compiled = None
        _PATTERNS[pattern] = compiled
    return compiled is None or compiled.search(text) is not None


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict) -> Any:
    """``pattern`` as ECMA-262 reads it (see :func:`matches`)."""
    if isinstance(instance, str) and not matches(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _passes(validator: Any, instance: Any, subschema: Any, index: int) -> bool:
    """Whether ``instance`` is valid under one alternative, stopping at its first error (errors are lazy)."""
    return next(iter(validator.descend(instance, subschema, schema_path=index)), None) is None


def _any_of(validator: Any, any_of: list, instance: Any, schema: dict) -> Any:
    """``anyOf``: an instance some alternative accepts costs one first-error walk per alternative tried;
    only an instance none accepts has every alternative's errors collected (the library's own keyword)."""
    if not any(_passes(validator, instance, sub, i) for i, sub in enumerate(any_of)):
        yield from keywords.anyOf(validator, any_of, instance, schema)


def _one_of(validator: Any, one_of: list, instance: Any, schema: dict) -> Any:
    """``oneOf``: an instance exactly one alternative accepts yields nothing after a first-error walk of
    each; any other instance gets the library's own keyword, so its errors are the library's exactly."""
    accepted = 0
    for i, sub in enumerate(one_of):
        accepted += _passes(validator, instance, sub, i)
        if accepted > 1:
            break
    if accepted != 1:
        yield from keywords.oneOf(validator, one_of, instance, schema)


Validator = validators.extend(Draft202012Validator, {"pattern": _pattern, "anyOf": _any_of, "oneOf": _one_of})


def make_validator(json_schema: Any) -> Any:
    """A 2020-12 validator (formats checked, ECMA patterns) for an already converted schema."""
    return Validator(json_schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def to_json_schema(schema: Any, direction: str = "response", memo: dict[int, Any] | None = None) -> Any:
    """``schema`` as JSON Schema 2020-12 for a ``request`` or a ``response`` body."""
    memo = {} if memo is None else memo
    if isinstance(schema, list):
        return [to_json_schema(s, direction, memo) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if id(schema) in memo:
        return memo[id(schema)]
    out: dict = {}
    memo[id(schema)] = out
    for key, value in schema.items():
        if key in _ANNOTATIONS or key.startswith("x-"):
            continue
        if key in ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas"):
            out[key] = ({k: to_json_schema(v, direction, memo) for k, v in value.items()}
                        if isinstance(value, dict) else value)
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and isinstance(value, bool):
            bound = schema.get("minimum" if key == "exclusiveMinimum" else "maximum")
            if value and isinstance(bound, (int, float)):
                out[key] = bound
        elif key in ("enum", "const", "default", "examples"):
            out[key] = value
        else:
            out[key] = to_json_schema(value, direction, memo)
    if schema.get("exclusiveMinimum") is True and "minimum" in out:
        del out["minimum"]
    if schema.get("exclusiveMaximum") is True and "maximum" in out:
        del out["maximum"]
    if schema.get("nullable") is True or schema.get("x-nullable") is True:
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = types + ["null"] if "null" not in types else types
            if "enum" in out and None not in out["enum"]:
                out["enum"] = list(out["enum"]) + [None]
        else:   # nullable beside $ref/allOf/oneOf: null, or what the rest says
            kept = {k: v for k, v in out.items() if k in _DEFINITION_KEYS}
            rest = {k: v for k, v in out.items() if k not in _DEFINITION_KEYS}
            out.clear()
            out.update({**kept, "anyOf": [{"type": "null"}, rest]})
    required = out.get("required")
    if isinstance(required, list):
        hidden = _marked(schema, "readOnly" if direction == "request" else "writeOnly")
        out["required"] = [r for r in required if r not in hidden]
    return out


def _marked(schema: dict, keyword: str, depth: int = 0) -> set[str]:
    """The properties ``schema`` marks ``keyword`` (``readOnly``), its own or those of its ``allOf`` parts:
    ``required: [id]`` beside ``allOf: [{$ref: Fields}, {properties: {id: {readOnly: true}}}]``."""
    props = schema.get("properties")
    out = {name for name, prop in props.items() if isinstance(prop, dict) and prop.get(keyword)} \
        if isinstance(props, dict) else set()
    for part in schema.get("allOf") or () if depth < 8 else ():
        if isinstance(part, dict):
            out |= _marked(part, keyword, depth + 1)
    return out


def validator_for(schema: dict | None, direction: str = "response") -> Draft202012Validator | None:
    """A (cached) validator for an OpenAPI schema object, checking formats too."""
    if not schema:
        return None
    key = (id(schema), direction)
    hit = _VALIDATORS.get(key)
    if hit is not None and hit[0] is schema:
        return hit[1]
    validator = make_validator(to_json_schema(schema, direction))
    _VALIDATORS[key] = (schema, validator)   # the schema is kept alive, so its id is never reused
    return validator


def fits(value: object, schema: dict | None) -> bool:
    """Whether ``value`` is valid for ``schema`` as a response value; the answer is remembered per schema (a
    pure function of the two: schemas are not changed once loaded, like the validators' cache), for a
    scalar by its value, for a small object or array by its ``repr`` (which tells ``1``, ``1.0`` and ``True``
    apart, as validation does)."""
    validator = validator_for(schema)
    if validator is None:
        return True
    key: tuple[int, type, object] = (id(schema), type(value), value)
    if value is not None and not isinstance(value, (str, int, float, bool)):
        text = repr(value)
        if len(text) > _FITS_TEXT:
            return bool(validator.is_valid(value))
        key = (id(schema), type(value), text)
    known = _FITS.get(key)
    if known is None:
        if len(_FITS) >= _FITS_MOST:
            _FITS.clear()
        known = _FITS[key] = bool(validator.is_valid(value))
    return known


def quickly_valid(validator: Draft202012Validator, instance: Any) -> bool:
    """True when ``instance`` is certainly valid for ``validator``'s schema, by jsonschema-rs (compiled, formats
    checked: as strict as this module's validator or stricter); False means "ask ``validator``", which alone
    says what is wrong, and which also answers for a schema jsonschema-rs cannot compile (a pattern only
    ``regex`` reads)."""
    schema = validator.schema
    hit = _QUICK.get(id(schema))
    if hit is None or hit[0] is not schema:
        import jsonschema_rs  # here: a server that never checks does not load it

        try:
            compiled = jsonschema_rs.Draft202012Validator(_acyclic(schema), validate_formats=True)
        except (ValueError, TypeError, jsonschema_rs.ValidationError):
            compiled = None
        hit = _QUICK[id(schema)] = (schema, compiled)
    try:
        return hit[1] is not None and bool(hit[1].is_valid(instance))
    except ValueError:   # a value it cannot read (a number past its range): the validator answers
        return False


_OPEN = 1 << 30   # a depth past any schema's: "refers to no schema it is inside"


def _acyclic(schema: Any) -> Any:
    """A converted schema as a JSON document spells it: each cycle (a schema that holds itself, as
    :func:`to_json_schema` keeps them) becomes a ``$ref`` into ``$defs``."""
    names: dict[int, str] = {}
    defs: dict[str, Any] = {}
    closed: dict[int, Any] = {}   # copies of subtrees holding no schema they are inside: one copy each, shared

    def walk(node: Any, active: dict[int, int]) -> tuple[Any, int]:
        """``node`` copied, with a ``$ref`` wherever it would hold one of the schemas it is inside; and the
        depth of the outermost of those it refers to (past the deepest when none: the copy is shared)."""
        if isinstance(node, list):
            items = [walk(n, active) for n in node]
            return [n for n, _ in items], min((r for _, r in items), default=_OPEN)
        if not isinstance(node, dict):
            return node, _OPEN
        if id(node) in active:
            return {"$ref": f"#/$defs/{names.setdefault(id(node), f'cycle{len(names)}')}"}, active[id(node)]
        if id(node) in closed:
            return closed[id(node)], _OPEN
        active[id(node)] = len(active)
        parts = {k: walk(v, active) for k, v in node.items()}
        del active[id(node)]
        out = {k: v for k, (v, _) in parts.items()}
        reach = min((r for _, r in parts.values()), default=_OPEN)
        if id(node) in names:
            defs[names[id(node)]] = out
        if reach == _OPEN:
            closed[id(node)] = out
        return out, reach

    root, _ = walk(schema, {})
    if defs and isinstance(root, dict):
        root = {**root, "$defs": {**root.get("$defs", {}), **defs}}
    return root

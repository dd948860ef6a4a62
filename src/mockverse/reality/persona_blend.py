"""Blend a real body into the persona world: the persona's identity and links stay, the rest blends.

An entity operation's synthetic body is the persona world. A real body (recorded or from the
upstream) is folded into it entity by entity:

- identity fields (id, foreign keys, created/updated stamps) and which entities an array holds
  stay the persona's, so every endpoint agrees on what exists and how it links; an entity the
  persona world does not have (a 404 there) stays a 404 at every ratio below 1;
- the ``kept`` fields (those the world derives and derives from: totals, counts, the quantities
  and prices they add up) stay the persona's too, so an order's total is the same wherever it is
  shown, whether or not the response embeds its items;
- real entities are matched by id; the root object of an item answer is matched whatever id
  the real side gives (it is the same resource, perhaps recorded for another id);
- each entity's other fields blend by blend.py's rules with the entity's id as the request key,
  so order 3001 blends to the same values inside ``/users/3``, in ``/users/3/orders`` and at
  ``/orders/3001`` — the coherence promise holds at every ratio.

Every decision is U(seed, key, path) < r with U independent of r, so the result is deterministic
and monotone in r like blend.py's; persona-kept fields are recorded as synthetic decisions.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from jsonschema import Draft202012Validator

from mockverse.ids import unit_draw
from mockverse.openapi.jsonschema import validator_for
from mockverse.reality.blend import (
    REAL,
    SYNTHETIC,
    Decision,
    blend,
    blend_response,
    is_identity_key,
    snap_ratio,
)

_MISSING = object()
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_REPAIRS = 64


def blend_in_persona_world(
    syn_status: int,
    synthetic: Any,
    real_status: int,
    real: Any,
    r: float,
    *,
    seed: str,
    request_key: str,
    schema: dict | None = None,
    kept: frozenset[str] = frozenset(),
    id_keys: tuple[str, ...] = (),
) -> tuple[int, Any, list[Decision]]:
    """Blend two responses of an entity operation at ratio r, keeping the persona's identity.

    A 404 of the persona world against a success of the real side stays the 404 (rule
    ``persona-absent``): entities outside the persona's world never appear. Other bodies that
    are not entities (or not the same shape), different status classes and the ends r = 0 and
    r = 1 go to ``blend_response`` unchanged.
    """
    r = snap_ratio(r)
    if r < 1.0 and syn_status == 404 and real_status < 400:
        return syn_status, synthetic, [Decision("#status", "persona-absent", SYNTHETIC, None, r)]
    if r in (0.0, 1.0) or syn_status // 100 != real_status // 100 or not _same_entity_shape(synthetic, real):
        return blend_response(syn_status, synthetic, real_status, real, r, seed=seed, request_key=request_key,
                              schema=schema, id_keys=id_keys)
    u = unit_draw(seed, request_key + "#status")  # the status draw blend_response makes
    take_real = u < r
    walker = _PersonaBlender(r, seed, kept)
    body: dict | list = walker.entity(synthetic, real, "$") if isinstance(synthetic, dict) \
        else walker.entities(synthetic, real, "$")
    validator = validator_for(schema)
    if validator is not None:
        body = walker.repair(body, synthetic, validator)
    status_decision = Decision("#status", "status-select", REAL if take_real else SYNTHETIC, u, r)
    return (real_status if take_real else syn_status), body, [status_decision, *walker.decisions]


def _scalar_id(value: Any) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool)


def _is_entity(value: Any) -> bool:
    """An object with a scalar id."""
    return isinstance(value, dict) and _scalar_id(value.get("id"))


def _holds_entities(value: Any) -> bool:
    """An entity, or a non-empty array of entities."""
    return _is_entity(value) or (isinstance(value, list) and bool(value) and all(_is_entity(v) for v in value))


def _same_entity_shape(synthetic: Any, real: Any) -> bool:
    """True for two entities, or two arrays of entities (either may be empty)."""
    if isinstance(synthetic, dict):
        return _is_entity(synthetic) and isinstance(real, dict)
    return (isinstance(synthetic, list) and isinstance(real, list) and all(_is_entity(v) for v in synthetic)
            and all(_is_entity(v) for v in real))


def _id_key(value: Any) -> str:
    """Ids compare as text, so an upstream's ``"3001"`` matches the persona's ``3001``."""
    return str(value)


def _child(path: str, key: Any) -> str:
    """``$.a`` for plain keys, ``$["odd key"]`` otherwise (blend.py's spelling)."""
    if isinstance(key, str) and _PLAIN_KEY.fullmatch(key):
        return f"{path}.{key}"
    return f"{path}[{orjson.dumps(str(key)).decode()}]"


def _element(path: str, entity_id: Any) -> str:
    """An array element addressed by id, as blend.py addresses aligned entities."""
    return f"{path}[?(@.id=={orjson.dumps(entity_id).decode()})]"


class _PersonaBlender:
    """One blend inside the persona world; collects every decision with its absolute path."""

    def __init__(self, r: float, seed: str, kept: frozenset[str] = frozenset()) -> None:
        self.r = r
        self.seed = seed
        self.kept = kept
        self.decisions: list[Decision] = []

    def keep(self, path: str, rule: str) -> None:
        """Record a persona-kept value: no draw, the synthetic side."""
        self.decisions.append(Decision(path, rule, SYNTHETIC, None, self.r))

    def entity(self, syn: dict, real: Any, path: str) -> dict:
        """Blend one entity: identity kept, nested entities by id, other fields by blend.py."""
        if not isinstance(real, dict):
            self.keep(path, "persona-unmatched")
            return syn
        nested = {k for k in syn if _holds_entities(syn[k]) or (k in real and _holds_entities(real[k]))}
        identity = {k for k in syn if k not in nested and (is_identity_key(k) or k in self.kept)}
        plain_syn = {k: v for k, v in syn.items() if k not in nested and k not in identity}
        plain_real = {k: v for k, v in real.items()
                      if k not in nested and not is_identity_key(k) and k not in self.kept and not _holds_entities(v)}
        blended, decisions = blend(plain_syn, plain_real, self.r, seed=self.seed,
                                   request_key=f"entity:{_id_key(syn['id'])}")
        for d in decisions:
            self.decisions.append(Decision(path + d.path[1:], d.rule, d.source, d.u, d.r))
        out: dict[Any, Any] = {}
        for key, value in syn.items():
            if key in identity:
                out[key] = value
                self.keep(_child(path, key), "persona-derived" if key in self.kept else "persona-identity")
            elif key in nested:
                out[key] = self.nested(value, real.get(key, _MISSING), _child(path, key))
            elif key in blended:
                out[key] = blended[key]
        for key, value in blended.items():
            if key not in out:
                out[key] = value
        for key in real:
            if key not in syn and (key in nested or is_identity_key(key) or _holds_entities(real[key])):
                self.keep(_child(path, key), "persona-links")  # a link the persona does not have
        return out

    def nested(self, syn: Any, real: Any, path: str) -> Any:
        """A nested entity (matched only by the same id) or array of entities."""
        if _is_entity(syn):
            if isinstance(real, dict) and _id_key(real.get("id")) == _id_key(syn["id"]):
                return self.entity(syn, real, path)
            self.keep(path, "persona-unmatched")
            return syn
        if isinstance(syn, list) and all(_is_entity(v) for v in syn):
            return self.entities(syn, real if isinstance(real, list) else [], path)
        self.keep(path, "persona-links")
        return syn

    def entities(self, syn: list, real: list, path: str) -> list:
        """The persona's entities in the persona's order, each blended with the real one of its id."""
        by_id = {_id_key(item["id"]): item for item in real if _is_entity(item)}
        out = []
        ids = set()
        for item in syn:
            ids.add(_id_key(item["id"]))
            out.append(self.entity(item, by_id.get(_id_key(item["id"]), _MISSING), _element(path, item["id"])))
        for item in real:
            if _is_entity(item) and _id_key(item["id"]) not in ids:
                self.keep(_element(path, item["id"]), "persona-links")  # real-only: not the persona's link
        return out

    def repair(self, body: Any, synthetic: Any, validator: Draft202012Validator) -> Any:
        """Replace each subtree that breaks the schema with the persona's own, deepest first.

        Errors the synthetic body has too are not the blend's doing and are left alone.
        """
        baseline = {(tuple(e.absolute_path), e.message) for e in validator.iter_errors(synthetic)}
        copied = False
        for _ in range(MAX_REPAIRS):
            errors = [e for e in validator.iter_errors(body) if (tuple(e.absolute_path), e.message) not in baseline]
            if not errors:
                return body
            if not copied:
                body, copied = orjson.loads(orjson.dumps(body)), True
            location = tuple(max(errors, key=lambda e: len(e.absolute_path)).absolute_path)
            while location and not (_has(synthetic, location) and _has(body, location)):
                location = location[:-1]
            path = _path_of(body, location)
            self.decisions = [d for d in self.decisions if not _within(d.path, path)]
            self.decisions.append(Decision(path, "schema-repair", SYNTHETIC, None, self.r))
            if not location:
                return synthetic
            _set(body, location, orjson.loads(orjson.dumps(_get(synthetic, location))))
        return synthetic


def _has(value: Any, location: tuple) -> bool:
    for step in location:
        if isinstance(value, dict) and step in value:
            value = value[step]
        elif isinstance(value, list) and isinstance(step, int) and 0 <= step < len(value):
            value = value[step]
        else:
            return False
    return True


def _get(value: Any, location: tuple) -> Any:
    for step in location:
        value = value[step]
    return value


def _set(value: Any, location: tuple, new: Any) -> None:
    for step in location[:-1]:
        value = value[step]
    value[location[-1]] = new


def _path_of(body: Any, location: tuple) -> str:
    """The decision path of a location: keys as ``.name``, entities by id, other elements by index."""
    path, value = "$", body
    for step in location:
        if isinstance(value, list):
            item = value[step]
            path = _element(path, item["id"]) if _is_entity(item) else f"{path}[{step}]"
        else:
            path = _child(path, step)
        value = value[step]
    return path


def _within(path: str, root: str) -> bool:
    return path == root or (path.startswith(root) and path[len(root)] in ".[#")

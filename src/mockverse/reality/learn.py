"""Reality-aware generation: synthetic values drawn from what the upstream was recorded saying.

With ``consistency.personas.reality_aware_generation: true`` the workspace's recordings of the
upstream (recorded, proxied or imported from HAR) are read, per entity type and field, into a
``Profile``: enum frequencies, the empirical distribution of numbers (range and shape), the
formats and lengths of strings, the lengths of arrays of plain values and how often optional
fields are present. Generated entities then take their values from it:

* every draw is ``U(seed, entity ref, "learned", field path)`` from blake2b, so an entity has
  the same values on every endpoint, request, restart and worker;
* ids, foreign keys, links, created/updated stamps, embedded entities, the lifecycle state and
  the fields the world derives (totals, counts and what they add up) are never touched, so the
  world stays coherent;
* a value the user set stands.

The profile is derived data: computed from the recordings, cached per workspace and store
version (every recording bumps the version, so a new recording invalidates it), never stored.
A field is learnt per entity type rather than per operation, so that ``GET /users/3`` and the
user embedded in ``GET /orders/3001`` agree; every operation that shows the type feeds it.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mockverse.cache import LRU
from mockverse.ids import unit_draw
from mockverse.reality.blend import is_identity_key
from mockverse.store import Store, StoreUnavailable
from mockverse.world.derive import derivation_fields
from mockverse.world.model import EntityType, WorldModel

MIN_SEEN = 5  # a field seen fewer times than this is not learnt
MAX_CATEGORIES = 20  # more distinct strings than this is never an enum
MAX_PLACES = 6
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_RUNS = re.compile(r"[A-Za-z]+|[0-9]+")
_UNTOUCHED = frozenset({"lifecycle_state"})


@dataclass(slots=True)
class FieldStats:
    """What the recordings showed at one field of one entity type."""

    present: int = 0
    numbers: list[float] = field(default_factory=list)
    integers: bool = True
    places: int = 0
    strings: Counter = field(default_factory=Counter)
    trues: int = 0
    falses: int = 0
    lengths: list[int] = field(default_factory=list)


@dataclass(slots=True)
class LearnedField:
    """A field's learnt distribution, ready to draw from."""

    kind: str  # number | enum | text | boolean | array
    presence: float
    numbers: list[float] = field(default_factory=list)
    integers: bool = True
    places: int = 0
    choices: list[tuple[str, float]] = field(default_factory=list)  # value, cumulative share
    templates: list[str] = field(default_factory=list)
    shapes: frozenset[str] = frozenset()
    shortest: int = 0
    longest: int = 0
    true_rate: float = 0.0
    lengths: list[int] = field(default_factory=list)


Profile = dict[str, dict[tuple[str, ...], LearnedField]]  # entity type -> field path -> distribution


def shape(text: str) -> str:
    """A string's format with every run of letters written ``a`` and of digits ``9``: ``+9 9 9``."""
    return _RUNS.sub(lambda m: "a" if m.group().isalpha() else "9", text)


def learn(model: WorldModel, recordings: list[dict]) -> Profile:
    """The profile of every entity type that recorded upstream answers show."""
    stats: dict[str, dict[tuple[str, ...], FieldStats]] = {}
    objects: Counter = Counter()
    for recording in recordings:
        if recording.get("method", "GET").upper() != "GET" or not 200 <= int(recording.get("status", 0)) < 300:
            continue
        if recording.get("body_kind", "json") != "json":
            continue
        found = route_entity(model, str(recording.get("route") or ""))
        if found is None:
            continue
        entity, many = found
        body = recording.get("body")
        for item in (body if many and isinstance(body, list) else [body] if not many else []):
            if isinstance(item, dict):
                _visit(model, entity, item, stats, objects)
    return {name: _finish(fields, objects[name]) for name, fields in stats.items()}


def route_entity(model: WorldModel, route: str) -> tuple[EntityType, bool] | None:
    """The entity type an operation answers with, and whether it answers with a list of them:
    ``/users`` and ``/users/{id}/orders`` are lists, ``/users/{id}`` is one."""
    segments = [s for s in route.split("/") if s]
    for entity in model.types.values():
        base = [s for s in (entity.config.path or "").split("/") if s]
        if not base or segments[: len(base)] != base:
            continue
        rest = segments[len(base):]
        if not rest:
            return entity, True
        if not rest[0].startswith("{"):
            continue
        if len(rest) == 1:
            return entity, False
        if len(rest) == 2:
            child = next((c for c in entity.children.values() if c.segment == rest[1]), None)
            if child is not None:
                return child, True
    return None


def _visit(model: WorldModel, entity: EntityType, obj: dict, stats: dict, objects: Counter) -> None:
    """Count one entity's fields; embedded parents and children count for their own types."""
    objects[entity.name] += 1
    embeds = model.embed_names(entity)
    fields = stats.setdefault(entity.name, {})
    for key, value in obj.items():
        if key in embeds:
            kind, rel = embeds[key]
            target = entity.children.get(rel) if kind == "children" and rel else entity.parent
            for item in (value if isinstance(value, list) else [value]):
                if target is not None and isinstance(item, dict):
                    _visit(model, target, item, stats, objects)
            continue
        _record(fields, (key,), value)


def _record(fields: dict, path: tuple[str, ...], value: Any) -> None:
    """Add one value at ``path``; plain objects add each of their fields."""
    if isinstance(value, dict):
        for key, sub in value.items():
            _record(fields, (*path, key), sub)
        return
    acc = fields.setdefault(path, FieldStats())
    acc.present += 1
    if isinstance(value, bool):
        if value:
            acc.trues += 1
        else:
            acc.falses += 1
    elif isinstance(value, (int, float)):
        if math.isfinite(value):
            acc.numbers.append(float(value))
            acc.integers = acc.integers and isinstance(value, int)
            acc.places = max(acc.places, _places(value))
    elif isinstance(value, str):
        acc.strings[value] += 1
    elif isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
        acc.lengths.append(len(value))


def _places(value: float) -> int:
    """Digits after the decimal point as the upstream wrote them (at most ``MAX_PLACES``)."""
    if isinstance(value, int):
        return 0
    text = repr(value)
    return min(MAX_PLACES, len(text.split(".", 1)[1])) if "." in text and "e" not in text else MAX_PLACES


def _finish(fields: dict[tuple[str, ...], FieldStats], objects: int) -> dict[tuple[str, ...], LearnedField]:
    """Turn counts into distributions, keeping the fields seen often enough."""
    out: dict[tuple[str, ...], LearnedField] = {}
    for path, acc in fields.items():
        counts = {"number": len(acc.numbers), "string": sum(acc.strings.values()),
                  "boolean": acc.trues + acc.falses, "array": len(acc.lengths)}
        kind, seen = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
        if seen < MIN_SEEN:
            continue
        presence = min(1.0, acc.present / objects) if objects and len(path) == 1 else 1.0
        if kind == "number":
            out[path] = LearnedField("number", presence, numbers=sorted(acc.numbers), integers=acc.integers,
                                     places=acc.places)
        elif kind == "boolean":
            out[path] = LearnedField("boolean", presence, true_rate=acc.trues / seen)
        elif kind == "array":
            out[path] = LearnedField("array", presence, lengths=sorted(acc.lengths))
        elif len(acc.strings) <= MAX_CATEGORIES and len(acc.strings) * 2 <= seen:
            ranked = sorted(acc.strings.items(), key=lambda kv: (-kv[1], kv[0]))
            running, choices = 0, []
            for value, count in ranked:
                running += count
                choices.append((value, running / seen))
            out[path] = LearnedField("enum", presence, choices=choices)
        else:
            texts = sorted(acc.strings)
            out[path] = LearnedField("text", presence, templates=texts, shapes=frozenset(map(shape, texts)),
                                     shortest=min(map(len, texts)), longest=max(map(len, texts)))
    return out


def draw(learned: LearnedField, current: Any, *key: object) -> Any:
    """A value from the learnt distribution for the entity and path in ``key``; ``current`` is
    the generator's value (kept when it already looks like the upstream's)."""
    u = unit_draw(*key)
    if learned.kind == "number":
        values = learned.numbers
        spot = u * (len(values) - 1)
        low = int(spot)
        high = min(low + 1, len(values) - 1)
        value = values[low] + (spot - low) * (values[high] - values[low])
        return round(value) if learned.integers else round(value, learned.places)
    if learned.kind == "boolean":
        return u < learned.true_rate
    if learned.kind == "enum":
        index = bisect.bisect_right([share for _, share in learned.choices], u)
        return learned.choices[min(index, len(learned.choices) - 1)][0]
    if learned.kind == "array":
        if not isinstance(current, list) or not current:
            return current
        length = learned.lengths[min(int(u * len(learned.lengths)), len(learned.lengths) - 1)]
        return [current[i % len(current)] for i in range(length)]
    fits = isinstance(current, str) and learned.shortest <= len(current) <= learned.longest
    if fits and shape(current) in learned.shapes:
        return current
    template = learned.templates[min(int(u * len(learned.templates)), len(learned.templates) - 1)]
    return _like(template, *key)


def _like(template: str, *key: object) -> str:
    """A string of the template's format and length with new letters and digits: never the recorded text."""
    out = []
    for index, char in enumerate(template):
        if char.isdigit():
            out.append(str(int(unit_draw(*key, index) * 10)))
        elif char.isalpha() and char.isascii():
            letter = _LETTERS[int(unit_draw(*key, index) * 26)]
            out.append(letter.upper() if char.isupper() else letter)
        else:
            out.append(char)
    return "".join(out)


class Learner:
    """Lays a workspace's learnt profile over generated entities; profiles cached per store version."""

    def __init__(self, model: WorldModel, store: Store) -> None:
        self.model = model
        self.store = store
        self.profiles = LRU(64)
        self.skip = derivation_fields(model) | _UNTOUCHED

    def profile(self, workspace: str, version: int) -> Profile:
        """The workspace's profile at a store version, learnt from its recordings once."""
        key = (workspace, version)
        hit = self.profiles.get(key)
        if hit is None:
            try:
                recordings = [value for _, _, value in self.store.entries(workspace, "recording")]
            except StoreUnavailable:
                return {}  # the store is down: generate as without recordings, and learn when it is back
            hit = self.profiles.put(key, learn(self.model, recordings))
        return hit

    def __call__(self, workspace: str, version: int, seed: str, entity: EntityType, id: object, data: dict,
                 given: dict | None) -> dict:
        """``data`` with every learnt field of ``entity`` drawn from the profile (deterministically per entity)."""
        fields = self.profile(workspace, version).get(entity.name)
        if not fields:
            return data
        ref = f"{entity.name}:{id}"
        embeds = self.model.embed_names(entity)
        required = set(entity.schema.get("required") or ())
        out = dict(data)
        for path, learned in fields.items():
            top = path[0]
            if top in (given or {}) or top in self.skip or top in embeds or top in (entity.id_field, entity.fk):
                continue
            if any(is_identity_key(part) for part in path):
                continue
            optional = len(path) == 1 and top in out and top not in required
            if optional and unit_draw(seed, ref, "learned-presence", top) >= learned.presence:
                del out[top]
                continue
            _set(out, path, lambda current, p=path, f=learned: draw(f, current, seed, ref, "learned", *p))
        return out


def _set(data: dict, path: tuple[str, ...], change: Any) -> None:
    """Replace the value at ``path`` (copying the objects on the way) when the generator made one."""
    node = data
    for key in path[:-1]:
        inner = node.get(key)
        if not isinstance(inner, dict):
            return
        node[key] = node = dict(inner)
    if path[-1] in node:
        node[path[-1]] = change(node[path[-1]])

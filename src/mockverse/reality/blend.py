"""Blend a synthetic and a real JSON body at reality ratio r, one traceable decision per choice.

The rules are FIDELITY.md's "Blending at ratio r". Every choice rests on a draw
``U = unit_draw(seed, request_key, json_path)`` that does not depend on r, and the real
side wins when ``U < r``: the same request always gives the same bytes, and raising r
only ever moves a field from the synthetic side towards the real one.

Paths look like ``$.items[2].price``; elements of id-aligned entity arrays are addressed
by their key, ``$.items[?(@.id==42)].price`` (or ``@.sku``, ``@.uuid``, ...), so their draws do
not depend on where they land. Group draws append a suffix to the object's path:
``#identity``, ``#money``, ``#length``, ``#variant``.

The operation's schema, when given, guides the walk: a property marked
``x-mockverse-id: true`` is the key arrays of such objects align by, ``type: integer`` keeps a
number whole, ``uniqueItems`` keeps an array free of repeats, and two objects that match
different ``oneOf``/``anyOf`` alternatives are selected whole. Without a schema the same
holds by the values' own evidence: the usual key names, integers, arrays that were free of
repeats on both sides, and discriminators (``type``, ``kind``, ...) that disagree.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

import orjson
from jsonschema import Draft202012Validator

from mockverse.ids import unit_draw
from mockverse.openapi import merge_all_of
from mockverse.openapi.jsonschema import make_validator, to_json_schema

SYNTHETIC = "synthetic"
REAL = "real"
SNAP_TOLERANCE = 1e-6
BIG_INT = 2**53

_STRUCTURAL_RULES = frozenset({"array-length", "unique-items-drop"})
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DECIMAL_TEXT = re.compile(r"-?\d+(?:\.\d+)?")

_IDENTITY_NAMES = frozenset({"id", "ID", "_id", "uuid", "guid", "href", "uri", "url", "self", "sku", "SKU"})
_IDENTITY_SUFFIX = re.compile(
    r"(?:_id|_ids|_uuid|-id|_ID|_ref|_key|_sku|[a-z0-9](?:Id|Ids|ID|IDs|Uuid|Ref|Key|Sku))$"
)
# The fields an array of entities aligns by, in order of preference (after a schema's own mark).
ENTITY_KEYS = ("id", "uuid", "_id", "sku", "key", "code")
ID_MARK = "x-mockverse-id"
# Properties that say which alternative of a oneOf an object is.
_DISCRIMINATORS = ("type", "kind", "object", "_type", "@type", "__typename", "variant", "resource_type")
_LIFECYCLE_STAMP = re.compile(
    r"(?:date|last)?(?:created|updated|modified|creation|create|update)(?:at|on|time|date|timestamp)?"
)
_NOMINAL_NUMBER = re.compile(
    r"(?:^|_)(?:code|number|version|year|zip|zipcode|postcode|phone|port|type|kind|status|state"
    r"|timestamp|epoch|ts|at|date|key|ref|sku)$"
    r"|(?:Code|Number|Version|Year|Zip|Type|Kind|Status|State|Timestamp|At|Date|Key|Ref|Sku)$"
)
_TIME_NAME = re.compile(r"(?:^|_)time$|Time$")
_EPOCH_FLOOR = 1_000_000_000

_CURRENCY_KEYS = ("currency", "currency_code", "currencyCode")
_AMOUNT_NAMES = frozenset(
    {
        "amount",
        "total",
        "price",
        "value",
        "subtotal",
        "tax",
        "fee",
        "fees",
        "balance",
        "cost",
        "discount",
        "net",
        "gross",
        "shipping",
    }
)
_AMOUNT_SUFFIX = re.compile(
    r"(?:_amount|Amount|_total|Total|_price|Price|_cost|Cost|_fee|Fee|_balance|Balance|_cents|Cents)$"
)
# ISO 4217 minor units that differ from the usual 2.
_MINOR_UNITS = {
    **dict.fromkeys(
        (
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}


@dataclass(frozen=True, slots=True)
class Decision:
    """One choice of the blender: where, by which rule, which side it took, the draw and the ratio."""

    path: str
    rule: str
    source: str
    u: float | None
    r: float


class _Missing:
    """The absence of a value on one side (a key or an element that side does not have)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


@dataclass(slots=True)
class _Node:
    """Where an output subtree came from, so schema repair can swap in either side's original."""

    path: str
    synthetic: Any
    real: Any
    children: dict[Any, _Node] = field(default_factory=dict)


def snap_ratio(r: float) -> float:
    """Check that r is a number in [0, 1] and snap it to 0 or 1 when within 1e-6 of an end."""
    if isinstance(r, bool) or not isinstance(r, (int, float)) or not math.isfinite(r):
        raise ValueError(f"the reality ratio must be a number from 0 to 1, got {r!r}")
    if abs(r) <= SNAP_TOLERANCE:
        return 0.0
    if abs(r - 1.0) <= SNAP_TOLERANCE:
        return 1.0
    if r < 0.0 or r > 1.0:
        raise ValueError(f"the reality ratio must be a number from 0 to 1, got {r!r}")
    return float(r)


def is_identity_key(key: object) -> bool:
    """True for fields that name an entity: id, foreign keys, links and created/updated stamps."""
    if not isinstance(key, str):
        return False
    if key in _IDENTITY_NAMES or _IDENTITY_SUFFIX.search(key):
        return True
    return _LIFECYCLE_STAMP.fullmatch(key.lower().replace("_", "").replace("-", "")) is not None


def is_nominal_number_key(key: object, synthetic: Any, real: Any) -> bool:
    """True when a number under this key is a label (code, version, year, timestamp), not a quantity."""
    if not isinstance(key, str):
        return False
    if is_identity_key(key) or _NOMINAL_NUMBER.search(key):
        return True
    return bool(_TIME_NAME.search(key)) and min(abs(synthetic), abs(real)) >= _EPOCH_FLOOR


def blend(
    synthetic: Any,
    real: Any,
    r: float,
    *,
    seed: str,
    request_key: str,
    schema: dict | None = None,
    id_keys: tuple[str, ...] = (),
) -> tuple[Any, list[Decision]]:
    """Blend two JSON bodies at ratio r; r = 0 gives ``synthetic`` and r = 1 gives ``real`` unchanged.

    ``id_keys`` are id fields the world model inferred (a spec world's ``isbn``): entity arrays
    align by them before the usual names."""
    r = snap_ratio(r)
    if r == 0.0:
        return synthetic, [Decision("$", "snap", SYNTHETIC, None, 0.0)]
    if r == 1.0:
        return real, [Decision("$", "snap", REAL, None, 1.0)]
    blender = _Blender(r, seed, request_key, id_keys)
    value, node = blender.value(synthetic, real, "$", None, schema)
    if schema is not None:
        canonical = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
        value = blender.repair(value, node, _validator(canonical))
    return value, blender.decisions


def blend_response(
    syn_status: int,
    syn_body: Any,
    real_status: int,
    real_body: Any,
    r: float,
    *,
    seed: str,
    request_key: str,
    schema: dict | None = None,
    id_keys: tuple[str, ...] = (),
) -> tuple[int, Any, list[Decision]]:
    """Blend two responses: different status classes are selected whole, same classes blend bodies.

    One draw, ``unit_draw(seed, request_key + "#status")``, picks the status (and, when the
    classes differ, the whole response); its decision has path ``#status``.
    """
    r = snap_ratio(r)
    if r == 0.0:
        return syn_status, syn_body, [Decision("$", "snap", SYNTHETIC, None, 0.0)]
    if r == 1.0:
        return real_status, real_body, [Decision("$", "snap", REAL, None, 1.0)]
    u = unit_draw(seed, request_key + "#status")
    take_real = u < r
    status_decision = Decision("#status", "status-select", REAL if take_real else SYNTHETIC, u, r)
    if syn_status // 100 != real_status // 100:
        if take_real:
            return real_status, real_body, [status_decision]
        return syn_status, syn_body, [status_decision]
    body, decisions = blend(syn_body, real_body, r, seed=seed, request_key=request_key, schema=schema, id_keys=id_keys)
    return (real_status if take_real else syn_status), body, [status_decision, *decisions]


def real_share(decisions: list[Decision]) -> float:
    """The fraction of leaf decisions that took the real side (0.0 when there are none)."""
    leaves = [d for d in decisions if d.rule not in _STRUCTURAL_RULES]
    if not leaves:
        return 0.0
    return sum(1 for d in leaves if d.source == REAL) / len(leaves)


class _Blender:
    """One blend at a fixed ratio: walks both bodies and records every decision it makes."""

    def __init__(self, r: float, seed: str, request_key: str, id_keys: tuple[str, ...] = ()) -> None:
        self.r = r
        self.seed = seed
        self.request_key = request_key
        self.id_keys = id_keys
        self.decisions: list[Decision] = []

    def draw(self, path: str) -> float:
        """The uniform draw for a path; it depends on seed, request key and path, never on r."""
        return unit_draw(self.seed, self.request_key, path)

    def record(self, path: str, rule: str, take_real: bool, u: float | None) -> None:
        """Append a decision; ``take_real`` says which side it took."""
        self.decisions.append(Decision(path, rule, REAL if take_real else SYNTHETIC, u, self.r))

    def select(self, synthetic: Any, real: Any, path: str, rule: str) -> tuple[Any, _Node]:
        """Take one side whole by the path's own draw."""
        u = self.draw(path)
        take_real = u < self.r
        self.record(path, rule, take_real, u)
        return (real if take_real else synthetic), _Node(path, synthetic, real)

    def value(self, synthetic: Any, real: Any, path: str, key: object, schema: Any = None) -> tuple[Any, _Node]:
        """Blend two values found at the same path; ``key`` is their field name, ``schema`` theirs if known."""
        kind = _kind(synthetic)
        if kind != _kind(real):
            return self.select(synthetic, real, path, "select-type")
        if kind == "object":
            return self.object(synthetic, real, path, schema)
        if kind == "array":
            return self.array(synthetic, real, path, schema)
        if kind == "number":
            whole = _says_integer(schema) or isinstance(synthetic, int)
            return self.number(synthetic, real, path, key, min_places=0, whole=whole)
        return self.select(synthetic, real, path, "select")

    def number(
        self, synthetic: Any, real: Any, path: str, key: object, *, min_places: int, whole: bool = False
    ) -> tuple[Any, _Node]:
        """Interpolate a quantity (a whole number when ``whole`` or both are integers); select labels,
        big integers and non-finite values."""
        if is_nominal_number_key(key, synthetic, real):
            return self.select(synthetic, real, path, "select")
        if any(isinstance(v, int) and abs(v) > BIG_INT for v in (synthetic, real)):
            return self.select(synthetic, real, path, "select-bigint")
        if any(isinstance(v, float) and not math.isfinite(v) for v in (synthetic, real)):
            return self.select(synthetic, real, path, "select")
        whole = whole or _both_int(synthetic, real)
        u = self.draw(path)
        self.record(path, "interpolate-int" if whole else "interpolate-decimal", u < self.r, u)
        return _interpolate_number(synthetic, real, self.r, u, min_places, whole), _Node(path, synthetic, real)

    def decimal_text(self, synthetic: str, real: str, path: str) -> tuple[str, _Node]:
        """Interpolate two decimal strings (money written as text) keeping their precision."""
        u = self.draw(path)
        self.record(path, "interpolate-decimal", u < self.r, u)
        places = max(_places(Decimal(synthetic)), _places(Decimal(real)))
        scaled = _lerp(Fraction(Decimal(synthetic)), Fraction(Decimal(real)), self.r) * 10**places
        return format(Decimal(_stochastic_round(scaled, u)).scaleb(-places), "f"), _Node(path, synthetic, real)

    def object(self, synthetic: dict, real: dict, path: str, schema: Any = None) -> tuple[Any, _Node]:
        """Deep-merge two objects: identity and money groups first, then key by key.

        Two objects that are different alternatives of a ``oneOf`` are never mixed: one is taken whole.
        """
        if _other_variant(synthetic, real, schema):
            return self.select(synthetic, real, path, "select-variant")
        props = _properties(schema, synthetic)
        node = _Node(path, synthetic, real)
        chosen: dict[Any, Any] = {}
        keys = [*synthetic, *(k for k in real if k not in synthetic)]
        handled = self.identity_group(synthetic, real, path, keys, chosen, node)
        handled |= self.money_group(synthetic, real, path, [k for k in keys if k not in handled], chosen, node)
        for key in keys:
            if key in handled:
                continue
            child_path = _child_path(path, key)
            if key in synthetic and key in real:
                sub = props.get(key) if isinstance(key, str) else None
                chosen[key], node.children[key] = self.value(synthetic[key], real[key], child_path, key, sub)
                continue
            u = self.draw(child_path)
            take_real = u < self.r
            self.record(child_path, "key-presence", take_real, u)
            if key in real and take_real:
                chosen[key], node.children[key] = real[key], _Node(child_path, MISSING, real[key])
            elif key in synthetic and not take_real:
                chosen[key], node.children[key] = synthetic[key], _Node(child_path, synthetic[key], MISSING)
        return {k: chosen[k] for k in keys if k in chosen}, node

    def identity_group(self, synthetic: dict, real: dict, path: str, keys: list, chosen: dict, node: _Node) -> set:
        """Move every identity field of an object together, by the one draw at ``path#identity``."""
        group = [k for k in keys if is_identity_key(k)]
        if group:
            self.take_group(synthetic, real, path, group, "#identity", "identity", chosen, node)
        return set(group)

    def money_group(self, synthetic: dict, real: dict, path: str, keys: list, chosen: dict, node: _Node) -> set:
        """Interpolate amounts of one currency; otherwise select (amounts, currency) together."""
        currency_keys = [k for k in keys if k in _CURRENCY_KEYS]
        amount_keys = [k for k in keys if _is_amount_key(k) and _amount_like(synthetic, real, k)]
        if not currency_keys or not amount_keys:
            return set()
        currency = _currency(synthetic)
        if currency is None or currency != _currency(real):
            group = currency_keys + amount_keys
            self.take_group(synthetic, real, path, group, "#money", "money-pair", chosen, node)
            return set(group)
        handled = set()
        min_places = _MINOR_UNITS.get(currency, 2)
        for key in amount_keys:
            if key not in synthetic or key not in real:
                continue
            a, b = synthetic[key], real[key]
            child_path = _child_path(path, key)
            if _is_number(a) and _is_number(b):
                chosen[key], node.children[key] = self.number(a, b, child_path, None, min_places=min_places)
                handled.add(key)
            elif _is_decimal_text(a) and _is_decimal_text(b):
                chosen[key], node.children[key] = self.decimal_text(a, b, child_path)
                handled.add(key)
        return handled

    def take_group(
        self, synthetic: dict, real: dict, path: str, group: list, suffix: str, rule: str, chosen: dict, node: _Node
    ) -> None:
        """Take all ``group`` keys from the side picked by the draw at ``path + suffix``."""
        u = self.draw(path + suffix)
        take_real = u < self.r
        side = real if take_real else synthetic
        for key in group:
            child_path = _child_path(path, key)
            self.record(child_path, rule, take_real, u)
            if key in side:
                chosen[key] = side[key]
                node.children[key] = _Node(child_path, synthetic.get(key, MISSING), real.get(key, MISSING))

    def array(self, synthetic: list, real: list, path: str, schema: Any = None) -> tuple[list, _Node]:
        """Align arrays of entities by their key (id, uuid, sku, ...); treat any other array positionally."""
        items = _items_schema(schema)
        key = entity_key(synthetic, real, items, self.id_keys) if synthetic or real else None
        if key is not None:
            return self.entities(synthetic, real, path, key, items)
        return self.positional(synthetic, real, path, _keeps_unique(schema, synthetic, real), items)

    def entities(
        self, synthetic: list, real: list, path: str, key: str = "id", items: Any = None
    ) -> tuple[list, _Node]:
        """Align two entity arrays by ``key``: matches blend, the rest are kept with their side's odds.

        Order: an element placed by the real side (real-only, or matched with its identity
        draw on the real side) sits at (j + 1/2)/len(real), its index j in the real array;
        any other at (i + 1/2)/len(synthetic). Sorting by that position (ties: real first)
        keeps each side's own order and interleaves the two runs deterministically.
        """
        node = _Node(path, synthetic, real)
        syn_index = {item[key]: i for i, item in enumerate(synthetic)}
        real_index = {item[key]: j for j, item in enumerate(real)}
        placed: list[tuple[Fraction, int, int, Any, _Node]] = []
        for j, item in enumerate(real):
            item_path = _entity_path(path, item[key], key)
            if item[key] in syn_index:
                i = syn_index[item[key]]
                value, child = self.value(synthetic[i], item, item_path, None, items)
                if self.draw(item_path + "#identity") < self.r:
                    placed.append((Fraction(2 * j + 1, 2 * len(real)), 0, j, value, child))
                else:
                    placed.append((Fraction(2 * i + 1, 2 * len(synthetic)), 1, i, value, child))
                continue
            u = self.draw(item_path)
            self.record(item_path, "array-align", u < self.r, u)
            if u < self.r:
                placed.append((Fraction(2 * j + 1, 2 * len(real)), 0, j, item, _Node(item_path, MISSING, item)))
        for i, item in enumerate(synthetic):
            if item[key] in real_index:
                continue
            item_path = _entity_path(path, item[key], key)
            u = self.draw(item_path)
            self.record(item_path, "array-align", u < self.r, u)
            if u >= self.r:
                placed.append((Fraction(2 * i + 1, 2 * len(synthetic)), 1, i, item, _Node(item_path, item, MISSING)))
        placed.sort(key=lambda entry: entry[:3])
        out = []
        for position, (*_, value, child) in enumerate(placed):
            out.append(value)
            node.children[position] = child
        return out, node

    def positional(
        self, synthetic: list, real: list, path: str, unique: bool = False, items: Any = None
    ) -> tuple[list, _Node]:
        """Interpolate the length, then take each slot whole from one side.

        With ``unique`` a slot whose pick repeats an earlier element takes the other side's
        element instead, and is left out when that repeats too.
        """
        node = _Node(path, synthetic, real)
        length = len(synthetic)
        if len(synthetic) != len(real):
            u = self.draw(path + "#length")
            self.record(path, "array-length", u < self.r, u)
            length = _stochastic_round(_lerp(Fraction(len(synthetic)), Fraction(len(real)), self.r), u)
        out: list = []
        seen: set[bytes] = set()
        for index in range(length):
            slot_path = f"{path}[{index}]"
            if index < len(synthetic) and index < len(real):
                value, child = self.select(synthetic[index], real[index], slot_path, "select")
                other = real[index] if value is synthetic[index] else synthetic[index]
            elif index < len(synthetic):
                value, child, other = synthetic[index], _Node(slot_path, synthetic[index], MISSING), MISSING
                self.record(slot_path, "array-slot", False, None)
            else:
                value, child, other = real[index], _Node(slot_path, MISSING, real[index]), MISSING
                self.record(slot_path, "array-slot", True, None)
            if unique and _canonical(value) in seen:
                if other is MISSING or _canonical(other) in seen:
                    self.record(slot_path, "unique-items-drop", False, None)
                    continue
                self.record(slot_path, "unique-items", other is child.real, None)
                value = other
            if unique:
                seen.add(_canonical(value))
            node.children[len(out)] = child
            out.append(value)
        return out, node

    def repair(self, value: Any, root: _Node, validator: Draft202012Validator) -> Any:
        """Replace each subtree that fails the schema with one side's original, deepest first."""
        box = [value]
        settled: list[tuple] = []
        while True:
            errors = [e for e in validator.iter_errors(box[0]) if not _under_any(tuple(e.absolute_path), settled)]
            if not errors:
                return box[0]
            deepest = max(errors, key=lambda e: len(e.absolute_path))
            node, location = _find_node(root, tuple(deepest.absolute_path))
            u = self.draw(node.path + "#identity")
            order = [(REAL, node.real), (SYNTHETIC, node.synthetic)]
            if u >= self.r:
                order.reverse()
            candidates = [(side, subtree) for side, subtree in order if subtree is not MISSING]
            source, subtree = candidates[-1]
            for side, candidate in candidates:
                _replace(box, location, candidate)
                if not any(_under(tuple(e.absolute_path), location) for e in validator.iter_errors(box[0])):
                    source, subtree = side, candidate
                    break
            _replace(box, location, subtree)
            node.children.clear()
            settled.append(location)
            self.decisions = [d for d in self.decisions if not _path_within(d.path, node.path)]
            self.decisions.append(Decision(node.path, "schema-repair", source, u, self.r))


def _kind(value: Any) -> str:
    """The JSON type of a value (int, float and Decimal are all "number")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float, Decimal)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def _is_number(value: Any) -> bool:
    """True for JSON numbers (not booleans)."""
    return _kind(value) == "number"


def _both_int(a: Any, b: Any) -> bool:
    """True when both values are plain integers, so the blend must stay an integer."""
    return isinstance(a, int) and isinstance(b, int)


def _is_decimal_text(value: Any) -> bool:
    """True for amounts written as text, such as ``"90.50"``."""
    return isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value) is not None


def _is_amount_key(key: object) -> bool:
    """True for the names money objects give their amounts (amount, total, price, value, ...)."""
    return isinstance(key, str) and (key in _AMOUNT_NAMES or _AMOUNT_SUFFIX.search(key) is not None)


def _amount_like(synthetic: dict, real: dict, key: Any) -> bool:
    """True when every side that has ``key`` holds a number or a decimal string there."""
    return all(_is_number(side[key]) or _is_decimal_text(side[key]) for side in (synthetic, real) if key in side)


def _currency(obj: dict) -> str | None:
    """The object's currency code, upper-cased, or None when it has none."""
    for key in _CURRENCY_KEYS:
        if isinstance(obj.get(key), str):
            return obj[key].upper()
    return None


def _places(value: Decimal) -> int:
    """Digits after the decimal point as written (``Decimal("90.50")`` has 2)."""
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _exact(value: int | float | Decimal) -> tuple[Fraction, int]:
    """A number as an exact fraction and the decimal places it was written with."""
    if isinstance(value, int):
        return Fraction(value), 0
    text = Decimal(repr(value)) if isinstance(value, float) else value
    return Fraction(text), _places(text)


def _lerp(m: Fraction, x: Fraction, r: float) -> Fraction:
    """``m + r·(x − m)`` computed exactly."""
    return m + Fraction(r) * (x - m)


def _stochastic_round(value: Fraction, u: float) -> int:
    """Round up when the fractional part exceeds u: unbiased over u and monotone in value."""
    whole = math.floor(value)
    return whole + (1 if value - whole > u else 0)


def _interpolate_number(
    synthetic: Any, real: Any, r: float, u: float, min_places: int, whole: bool = False
) -> int | float | Decimal:
    """Interpolate two quantities; integers (or ``whole``) stay integers, decimals keep the inputs' precision."""
    (m, m_places), (x, x_places) = _exact(synthetic), _exact(real)
    if whole or _both_int(synthetic, real):
        return _stochastic_round(_lerp(m, x, r), u)
    places = max(m_places, x_places, min_places)
    result = Decimal(_stochastic_round(_lerp(m, x, r) * 10**places, u)).scaleb(-places)
    if isinstance(synthetic, Decimal) or isinstance(real, Decimal):
        return result
    return float(result)


def _entity_ids(items: list, key: str = "id") -> list | None:
    """The keys of an array of entities (objects with unique str/int values at ``key``), else None."""
    ids = []
    for item in items:
        if not isinstance(item, dict) or isinstance(item.get(key), bool) or not isinstance(item.get(key), (str, int)):
            return None
        ids.append(item[key])
    return ids if len(set(ids)) == len(ids) else None


def entity_key(synthetic: list, real: list, items: Any = None, inferred: tuple[str, ...] = ()) -> str | None:
    """The field two arrays of entities align by: a property the item schema marks with
    ``x-mockverse-id: true``, else an ``inferred`` id field, else the first of ``ENTITY_KEYS``,
    whichever is unique on every element of both."""
    marked = [
        name for name, sub in _properties(items, None).items() if isinstance(sub, dict) and sub.get(ID_MARK) is True
    ]
    for key in (*marked, *inferred, *ENTITY_KEYS):
        if _entity_ids(synthetic, key) is not None and _entity_ids(real, key) is not None:
            return key
    return None


def _canonical(value: Any) -> bytes:
    """A value as sorted JSON bytes, so equal values compare equal."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def _flat(schema: Any) -> dict:
    """A schema object with ``allOf`` merged, or {} for anything that is not one."""
    return merge_all_of(schema) if isinstance(schema, dict) else {}


def _says_integer(schema: Any) -> bool:
    """True when a schema allows integers and no other numbers."""
    kind = _flat(schema).get("type")
    kinds = [kind] if isinstance(kind, str) else kind if isinstance(kind, list) else []
    return "integer" in kinds and "number" not in kinds


def _items_schema(schema: Any) -> Any:
    """The ``items`` schema of an array schema, if any."""
    items = _flat(schema).get("items")
    return items if isinstance(items, dict) else None


def _alternatives(schema: Any) -> list[dict]:
    """The ``oneOf``/``anyOf`` alternatives of a schema, each with the shared part merged in."""
    flat = _flat(schema)
    branches = [b for b in (*(flat.get("oneOf") or ()), *(flat.get("anyOf") or ())) if isinstance(b, dict)]
    base = {k: v for k, v in flat.items() if k not in ("oneOf", "anyOf")}
    return [merge_all_of({"allOf": [base, b]}) if base else merge_all_of(b) for b in branches]


def _matching(alternatives: list[dict], value: Any) -> int | None:
    """The index of the first alternative ``value`` is valid against, or None."""
    for index, alternative in enumerate(alternatives):
        try:
            validator = _validator(_canonical(alternative))
        except (orjson.JSONEncodeError, TypeError):
            return None
        if validator.is_valid(value):
            return index
    return None


def _properties(schema: Any, value: Any) -> dict:
    """The property schemas of an object schema (of the alternative ``value`` matches, if it has any)."""
    alternatives = _alternatives(schema)
    flat = _flat(schema)
    if alternatives and value is not None:
        index = _matching(alternatives, value)
        if index is not None:
            flat = alternatives[index]
    props = flat.get("properties")
    return props if isinstance(props, dict) else {}


def _other_variant(synthetic: dict, real: dict, schema: Any) -> bool:
    """True when two objects are different alternatives of one type.

    With a schema: the schema's ``discriminator`` disagrees, or each object matches another
    ``oneOf``/``anyOf`` alternative (a schema without alternatives has one shape). Without
    one: a discriminator-like field (``type``, ``kind``, ``object``, ...) disagrees and so do
    the objects' sets of keys, as a card payment and a PayPal payment do.
    """
    flat = _flat(schema)
    if flat:
        named = flat.get("discriminator")
        if isinstance(named, dict) and isinstance(named.get("propertyName"), str):
            a, b = synthetic.get(named["propertyName"]), real.get(named["propertyName"])
            if isinstance(a, str) and isinstance(b, str) and a != b:
                return True
        alternatives = _alternatives(schema)
        if len(alternatives) < 2:
            return False
        a, b = _matching(alternatives, synthetic), _matching(alternatives, real)
        return a is not None and b is not None and a != b
    if synthetic.keys() == real.keys():
        return False
    for key in _DISCRIMINATORS:
        a, b = synthetic.get(key), real.get(key)
        if isinstance(a, str) and isinstance(b, str):
            return a != b
    return False


def _keeps_unique(schema: Any, synthetic: list, real: list) -> bool:
    """Whether a blended array must hold no repeats: the schema says ``uniqueItems``, or both
    sides are lists of distinct strings (tags, scopes, roles)."""
    flag = _flat(schema).get("uniqueItems")
    if isinstance(flag, bool):
        return flag
    sides = (synthetic, real)
    return all(all(isinstance(v, str) for v in side) and len(set(side)) == len(side) for side in sides)


def _child_path(path: str, key: Any) -> str:
    """``$.a`` for plain keys, ``$["odd key"]`` otherwise."""
    if isinstance(key, str) and _PLAIN_KEY.fullmatch(key):
        return f"{path}.{key}"
    return f"{path}[{orjson.dumps(str(key)).decode()}]"


def _entity_path(path: str, entity_id: str | int, key: str = "id") -> str:
    """An array element addressed by its key, so its draws do not depend on its position."""
    return f"{path}[?(@.{key}=={orjson.dumps(entity_id).decode()})]"


def _path_within(path: str, root: str) -> bool:
    """True when ``path`` is ``root`` or addresses something inside it."""
    return path == root or (path.startswith(root) and path[len(root)] in ".[#")


def _under(location: tuple, root: tuple) -> bool:
    """True when an instance location is ``root`` or inside it."""
    return location[: len(root)] == root


def _under_any(location: tuple, roots: list[tuple]) -> bool:
    """True when an instance location is inside any of ``roots``."""
    return any(_under(location, root) for root in roots)


def _find_node(root: _Node, location: tuple) -> tuple[_Node, tuple]:
    """The deepest node along ``location`` and the part of the location it sits at."""
    node = root
    walked: tuple = ()
    for step in location:
        child = node.children.get(step)
        if child is None:
            break
        node, walked = child, (*walked, step)
    return node, walked


def _replace(box: list, location: tuple, value: Any) -> None:
    """Put ``value`` at ``location`` in the output held by ``box`` (``()`` is the root)."""
    if not location:
        box[0] = value
        return
    container = box[0]
    for step in location[:-1]:
        container = container[step]
    container[location[-1]] = value


@lru_cache(maxsize=128)
def _validator(schema_bytes: bytes) -> Draft202012Validator:
    """A 2020-12 validator for a schema, given as canonical JSON bytes so it can be cached."""
    return make_validator(to_json_schema(orjson.loads(schema_bytes)))

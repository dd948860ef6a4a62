"""Deterministic field generation from a schema and the field's meaning.

A value is a pure function of (seed, entity ref, field path): Faker is reseeded from a
blake2b hash of those before each value, so the same inputs give the same value in every
process. Field names carry meaning (``email`` derives from the name fields beside it,
``currency`` is an ISO code, ``*_at`` a timestamp in the entity's time), and schema
constraints (enum, format, bounds, lengths) are honoured.
"""

from __future__ import annotations

import functools
import math
import re
import threading
import unicodedata
import uuid
from datetime import datetime, timedelta
from typing import Any

from faker import Faker

from mockverse.ids import stable_hash, unit_draw
from mockverse.openapi.loader import merge_all_of
from mockverse.timeutil import format_rfc3339
from mockverse.world.pattern import matching_string

PERSON_TYPES = {"user", "customer", "person", "account", "member", "contact", "owner", "employee",
                "author", "subscriber", "recipient", "lead", "profile", "buyer", "seller", "patient"}
MAX_DEPTH = 6
SOFT_DEPTH = 8      # deeper than this, objects get only their required fields and arrays their minimum
HARD_DEPTH = 32     # a schema that requires itself forever is cut here (recursive schemas terminate)
_FUTURE = {"next", "expires", "expire", "expiry", "expiration", "due", "until", "renewal", "renews", "deadline"}
_MONEY = {"price", "amount", "total", "cost", "balance", "fee", "subtotal", "tax", "value", "net", "gross"}

_PRODUCTS = ["Ergonomic Office Chair", "Wireless Keyboard", "Noise-Cancelling Headphones", "Stainless Water Bottle",
             "Recycled Notebook A5", "USB-C Charging Cable", "Standing Desk Mat", "LED Desk Lamp",
             "Ceramic Coffee Mug", "Laptop Sleeve 14\"", "Bluetooth Speaker", "Gel Ink Pens (12)",
             "Monitor Stand", "Wool Running Socks", "Cotton T-Shirt", "Yoga Mat", "Cast Iron Skillet",
             "French Press", "Backpack 25L", "Paperback Novel"]
_DEVICES = {
    "ios": (["iPhone 13", "iPhone 14", "iPhone 15", "iPhone 15 Pro", "iPad Air"], ["16.7", "17.4", "17.6", "18.1"]),
    "android": (["Pixel 7", "Pixel 8", "Galaxy S23", "Galaxy A54", "OnePlus 11"], ["13", "14", "15"]),
    "web": (["Chrome", "Firefox", "Safari", "Edge"], ["129", "130", "131"]),
    "macos": (["MacBook Air", "MacBook Pro", "iMac"], ["14.6", "15.1"]),
    "windows": (["Surface Laptop", "ThinkPad X1", "Dell XPS 13"], ["10", "11"]),
}


# The currency a persona pays in, by its country (ISO 3166 code or English name): orders, payments
# and billing follow it unless the config gives the field its own choices.
_EURO = ("AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PT",
         "SI", "SK")
CURRENCY_BY_COUNTRY = {"US": "USD", "GB": "GBP", "UK": "GBP", "CA": "CAD", "AU": "AUD", "NZ": "NZD", "JP": "JPY",
                       "CH": "CHF", "SE": "SEK", "NO": "NOK", "DK": "DKK", "PL": "PLN", "IN": "INR", "BR": "BRL",
                       "MX": "MXN", **{code: "EUR" for code in _EURO}}
_COUNTRY_NAMES = {"united states": "US", "usa": "US", "united states of america": "US", "united kingdom": "GB",
                  "england": "GB", "scotland": "GB", "wales": "GB", "great britain": "GB", "germany": "DE",
                  "france": "FR", "spain": "ES", "italy": "IT", "netherlands": "NL", "ireland": "IE", "belgium": "BE",
                  "austria": "AT", "portugal": "PT", "finland": "FI", "greece": "GR", "canada": "CA",
                  "australia": "AU", "japan": "JP", "switzerland": "CH", "sweden": "SE", "norway": "NO",
                  "denmark": "DK", "poland": "PL", "india": "IN", "brazil": "BR", "mexico": "MX",
                  "new zealand": "NZ"}


def currency_of(person: dict) -> str | None:
    """The currency of a person's country (``address.country: GB`` -> GBP), or None when unknown."""
    for holder in (person, *(v for v in person.values() if isinstance(v, dict))):
        for key, value in holder.items():
            if "country" in _words(key) and isinstance(value, str):
                code = value.strip().upper() if len(value.strip()) <= 3 else _COUNTRY_NAMES.get(value.strip().lower())
                if code in CURRENCY_BY_COUNTRY:
                    return CURRENCY_BY_COUNTRY[code]
    return None


def _words(name: str) -> list[str]:
    """``createdAt`` / ``created_at`` / ``Created-At`` -> ["created", "at"]."""
    return list(_split_words(name))


@functools.lru_cache(maxsize=4096)
def _split_words(name: str) -> tuple[str, ...]:
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return tuple(w for w in re.split(r"[^A-Za-z0-9]+", name.lower()) if w)


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _local(text: str) -> str:
    """A name as (part of) the local part of an email address: ASCII letters, digits, ' and -, as a name
    a user sends may hold anything (spaces, commas, control characters)."""
    return re.sub(r"[^a-z0-9'-]", "", _ascii(text)).strip("'-")


def schema_types(schema: dict) -> set[str]:
    """The JSON types a schema allows (``nullable`` and ``type: [..]`` both understood)."""
    t = schema.get("type")
    types = set(t) if isinstance(t, list) else ({t} if t else set())
    if not types:
        if "properties" in schema:
            types = {"object"}
        elif "items" in schema:
            types = {"array"}
        elif "enum" in schema and schema["enum"]:
            types = {type(schema["enum"][0]).__name__.replace("str", "string").replace("int", "integer")
                     .replace("float", "number").replace("bool", "boolean")}
    return types


def merge_schema(schema: dict, depth: int = 0) -> dict:
    """Flatten ``allOf`` (the OpenAPI layer's one ``merge_all_of``, each part flattened first) and pick
    the first ``oneOf``/``anyOf`` branch that is not null, so generation sees one object schema."""
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return schema if isinstance(schema, dict) else {}
    if "allOf" in schema:
        parts = [merge_schema(part, depth + 1) for part in schema["allOf"] if isinstance(part, dict)]
        return merge_all_of({**schema, "allOf": parts})
    for key in ("oneOf", "anyOf"):
        if key in schema:
            branches = [b for b in schema[key] if isinstance(b, dict) and b.get("type") != "null"]
            if branches:
                base = {k: v for k, v in schema.items() if k != key}
                return merge_schema({**base, **branches[0]}, depth + 1)
    return schema


class Generator:
    """Generates values for one world seed. Reads are computed on worker threads, so the Faker it
    re-seeds for every value is one per thread (a shared one would mix two threads' seeds)."""

    def __init__(self, seed: str) -> None:
        self.seed = seed
        self.local = threading.local()

    def _fake(self, *parts: object) -> Faker:
        fake = getattr(self.local, "fake", None)
        if fake is None:
            fake = self.local.fake = Faker("en_US")
        fake.seed_instance(stable_hash(self.seed, *parts))
        return fake

    def draw(self, *parts: object) -> float:
        return unit_draw(self.seed, *parts)

    def choice(self, options: list | dict, *parts: object) -> Any:
        """Pick one of ``options`` (a list, or a dict of weights) by a stable draw."""
        u = self.draw(*parts)
        if isinstance(options, dict):
            total = sum(options.values())
            acc = 0.0
            for value, weight in options.items():
                acc += weight / total
                if u < acc:
                    return value
            return list(options)[-1]
        return options[int(u * len(options))]

    def uuid(self, *parts: object) -> str:
        return str(
            uuid.UUID(int=stable_hash(self.seed, *parts) << 64 | stable_hash(self.seed, "lo", *parts), version=4)
        )

    # -- objects ----------------------------------------------------------------------------
    def object(self, schema: dict, ref: str, path: str, ctx: dict, depth: int = 0,
               given: dict | None = None) -> dict:
        """Generate every property of an object schema; name-derived fields agree with each other.

        ``given`` holds values a user supplied: they are kept as they are and generated fields
        beside them agree with them (a device model fits the given platform)."""
        schema = merge_schema(schema)
        props: dict = schema.get("properties", {}) or {}
        if depth > SOFT_DEPTH:
            required = schema.get("required") or []
            props = {k: v for k, v in props.items() if k in required}
        given = given or {}
        siblings: dict[str, Any] = dict(given)
        out: dict[str, Any] = {}
        for name, sub in props.items():
            if name in given:
                out[name] = given[name]
            elif isinstance(sub, dict):
                out[name] = siblings[name] = self.value(sub, ref, f"{path}.{name}", name, ctx, siblings, depth + 1)
        self._agree(out, ref, path, ctx, set(given))
        _count_open(out, set(given))
        for name, value in given.items():
            out.setdefault(name, value)
        return out

    def _agree(self, out: dict, ref: str, path: str, ctx: dict, fixed: set[str]) -> None:
        """Make values that mean the same thing agree: full name from first and last, email and
        username from the name. Fields in ``fixed`` (user-supplied) are never changed."""
        first = next((k for k in out if _words(k) in (["first", "name"], ["given", "name"], ["firstname"])), None)
        last = next(
            (k for k in out if _words(k) in (["last", "name"], ["family", "name"], ["surname"], ["lastname"])), None
        )
        if first and last:
            person = (str(out[first]), str(out[last]))
        elif ctx.get("person") and "name" in out and isinstance(out["name"], str):
            parts = out["name"].split(" ", 1)
            person = (parts[0], parts[-1])
        elif ctx.get("person") and (named := next((k for k in out if _words(k) in (["full", "name"], ["fullname"],
                                                                                   ["display", "name"])
                                                   and isinstance(out[k], str)), None)):
            parts = out[named].split(" ", 1)
            person = (parts[0], parts[-1])
        else:
            person = None
        if not person:
            return
        full = f"{person[0]} {person[1]}"
        for key in out:
            if key in fixed:
                continue
            words = _words(key)
            if words in (["name"], ["full", "name"], ["fullname"], ["display", "name"]) and isinstance(out[key], str):
                out[key] = full
            elif "email" in words and isinstance(out[key], str):
                domain = self._fake(ref, path, "domain").free_email_domain()
                sep = self.choice([".", "_", ""], ref, path, "sep")
                local = sep.join(part for part in (_local(person[0]), _local(person[1])) if part)
                out[key] = f"{local or 'user' + str(int(self.draw(ref, path, 'e') * 9000) + 1000)}@{domain}"
            elif words in (["username"], ["user", "name"], ["login"], ["handle"]) and isinstance(out[key], str):
                out[key] = (
                    f"{_ascii(person[0])[:1]}{_ascii(person[1])}{int(self.draw(ref, path, 'u') * 90) + 10}".replace(
                        " ", ""
                    )
                )

    # -- one value --------------------------------------------------------------------------
    def value(self, schema: dict, ref: str, path: str, name: str, ctx: dict, siblings: dict | None = None,
              depth: int = 0) -> Any:
        """One value for ``schema`` at ``path`` of entity ``ref``."""
        schema = merge_schema(schema)
        if depth > HARD_DEPTH or (depth > SOFT_DEPTH and _null_allowed(schema)):
            return None
        if "const" in schema:
            return schema["const"]
        rule = ctx.get("fields", {}).get(name)
        if rule is not None:
            return self.choice(rule, ref, path)
        if schema.get("enum"):
            options = [v for v in schema["enum"] if v is not None] or schema["enum"]
            if "currency" in _words(name):   # the persona's currency, else one per entity (its amounts share it)
                mine = ctx.get("currency")
                return mine if mine is not None and mine in options else self.choice(options, ref, "currency")
            return self.choice(options, ref, path)
        types = schema_types(schema) - {"null"}
        kind = "integer" if "integer" in types else next(iter(sorted(types)), "string")
        if kind == "object":
            return self.object(schema, ref, path, {**ctx, "person": False}, depth)
        if kind == "array":
            items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
            low = int(schema.get("minItems", 1 if depth <= SOFT_DEPTH else 0))
            most = 3 if depth <= 3 else 1   # nested lists stay short: a page of pages of pages is noise
            high = max(low, min(int(schema.get("maxItems", most)), low + most)) if depth <= SOFT_DEPTH else low
            n = low + int(self.draw(ref, path, "len") * (high - low + 1))
            values = [self.value(items, ref, f"{path}[{i}]", name, ctx, None, depth + 1) for i in range(n)]
            if schema.get("uniqueItems"):
                unique: list = []
                for item in values:
                    if item not in unique:
                        unique.append(item)
                values = unique if len(unique) >= low else values
            return values
        if kind == "boolean":
            return self.draw(ref, path) < 0.5
        if kind in ("integer", "number"):
            return self._number(schema, kind, ref, path, name)
        return self._string(schema, ref, path, name, ctx, siblings or {})

    def _number(self, schema: dict, kind: str, ref: str, path: str, name: str) -> int | float:
        words = set(_words(name))
        money = bool(words & {"price", "amount", "total", "cost", "balance", "fee", "subtotal", "tax"})
        if words & {"quantity", "qty"}:
            default = (1, 5)
        elif money:
            default = (5, 250)
        elif words & {"age"}:
            default = (18, 80)
        elif words & {"count", "total", "number", "num"}:
            default = (0, 50)
        else:
            default = (1, 1000)
        low = schema.get("minimum", default[0] if "maximum" not in schema else min(default[0], schema["maximum"]))
        high = schema.get("maximum", max(low, default[1]))
        step_in = 1 if kind == "integer" else 0.01
        exclusive_low, exclusive_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        if exclusive_low is True:                       # OpenAPI 3.0: a flag on minimum
            low = low + step_in
        elif isinstance(exclusive_low, (int, float)) and not isinstance(exclusive_low, bool):
            low = max(low, exclusive_low + step_in) if "minimum" in schema else exclusive_low + step_in
        if exclusive_high is True:
            high = high - step_in
        elif isinstance(exclusive_high, (int, float)) and not isinstance(exclusive_high, bool):
            high = min(high, exclusive_high - step_in) if "maximum" in schema else exclusive_high - step_in
        high = max(low, high)
        u = self.draw(ref, path)
        if kind == "integer":
            value = int(math.floor(low + u * (high - low + 1)))
            value = min(value, int(high))
            step = schema.get("multipleOf")
            if isinstance(step, (int, float)) and not isinstance(step, bool) and step > 0:
                value = int(math.ceil(low / step) * step) + int(step) * int(u * max(0, (high - low) // step))
                return int(min(value, math.floor(high / step) * step))
            return value
        number = round(low + u * (high - low), 2)
        step = schema.get("multipleOf")
        if isinstance(step, (int, float)) and not isinstance(step, bool) and step > 0:
            number = round(math.floor(number / step) * step, 10)
            number = number if number >= low else round(math.ceil(low / step) * step, 10)
        return number

    def _string(self, schema: dict, ref: str, path: str, name: str, ctx: dict, siblings: dict) -> str:
        words = _words(name)
        fmt = schema.get("format", "")
        fake = self._fake(ref, path)
        value: str
        if (
            fmt == "date-time"
            or (words and words[-1] == "at")
            or words[-2:] in (["timestamp"],)
            or "timestamp" in words
        ):
            value = format_rfc3339(self.moment(ref, path, ctx))
            pattern = schema.get("pattern")
            if isinstance(pattern, str) and not _search(pattern, value):
                millis = value[:-1] + ".000Z"
                value = next(
                    (v for v in (millis, value[:-1] + "+00:00", millis[:-1] + "+00:00") if _search(pattern, v)), value
                )
        elif fmt == "time":
            value = self.moment(ref, path, ctx).strftime("%H:%M:%S")
        elif fmt == "duration":
            value = f"P{1 + int(self.draw(ref, path) * 89)}D"
        elif fmt == "byte":
            value = f"{stable_hash(self.seed, ref, path):016x}".encode().hex()[:24]
        elif fmt in ("int32", "int64", "integer", "decimal", "double", "float", "number") or (
                words and words[-1] in _MONEY and (siblings.keys() & {"currency", "currency_code", "currencyCode"}
                                                   or _search(str(schema.get("pattern") or "^$"), "12.50"))):
            value = f"{5 + self.draw(ref, path) * 245:.2f}" if fmt not in ("int32", "int64", "integer") \
                else str(1 + int(self.draw(ref, path) * 999))
        elif fmt == "date" or (words and words[-1] in ("date", "on", "day")):
            value = self.moment(ref, path, ctx).date().isoformat()
        elif fmt == "uuid" or "uuid" in words or "guid" in words:
            value = self.uuid(ref, path)
        elif fmt == "email" or "email" in words:
            value = fake.email()
        elif (
            fmt in ("uri", "url", "uri-reference")
            or words
            and words[-1] in ("url", "uri", "href", "link", "website", "homepage")
        ):
            media = ("avatar", "image", "picture", "photo", "thumbnail", "cover", "logo")
            kind = "avatars" if set(words) & set(media) or any(m in path.lower() for m in media) else "r"
            value = f"https://cdn.example.com/{kind}/{stable_hash(self.seed, ref, path) % 10**10:010d}" \
                if kind == "avatars" else _entity_url(ref)
        elif fmt in ("ipv4",):
            value = fake.ipv4_public()
        elif fmt == "ipv6":
            value = fake.ipv6()
        elif fmt == "hostname":
            value = fake.domain_name()
        elif words in (["first", "name"], ["given", "name"], ["firstname"]):
            value = fake.first_name()
        elif words in (["last", "name"], ["family", "name"], ["surname"], ["lastname"]):
            value = fake.last_name()
        elif words in (["name"], ["full", "name"], ["fullname"], ["display", "name"]):
            value = f"{fake.first_name()} {fake.last_name()}" if ctx.get("person") and words != ["name"] \
                else fake.name() if ctx.get("person") else fake.catch_phrase()
        elif "phone" in words or "mobile" in words:
            value = fake.numerify("+1-%##-555-0###")
        elif words in (["street"], ["address", "line1"], ["line1"], ["street", "address"], ["address"]):
            value = fake.street_address()
        elif "city" in words:
            value = fake.city()
        elif words[-1:] in (["zip"], ["zipcode"], ["postcode"]) or words[-2:] == ["postal", "code"]:
            value = fake.postcode()
        elif "country" in words:
            value = fake.current_country_code() if schema.get("maxLength") == 2 or "code" in words else "United States"
        elif words in (["state"], ["region"], ["province"]):
            value = fake.state_abbr()
        elif "company" in words or "organization" in words or "organisation" in words:
            value = fake.company()
        elif "currency" in words:
            value = ctx.get("currency") or self.choice(["USD", "EUR", "GBP"], ref, "currency")
        elif words[:1] == ["product"] or words == ["title"] and "item" in ref:
            value = self.choice(_PRODUCTS, ref, path)
        elif "sku" in words:
            value = fake.bothify("SKU-??-#####").upper()
        elif words == ["model"] and siblings.get("platform") in _DEVICES:
            value = self.choice(_DEVICES[siblings["platform"]][0], ref, path)
        elif words[:1] == ["os"] and siblings.get("platform") in _DEVICES:
            value = self.choice(_DEVICES[siblings["platform"]][1], ref, path)
        elif "token" in words or "secret" in words:
            value = f"{stable_hash(self.seed, ref, path):016x}{stable_hash(self.seed, path, ref):016x}"
        elif words in (["username"], ["login"], ["handle"]):
            value = fake.user_name()
        elif words[-1:] in (
            ["description"],
            ["bio"],
            ["about"],
            ["summary"],
            ["body"],
            ["text"],
            ["comment"],
            ["notes"],
            ["message"],
        ):
            value = fake.paragraph(nb_sentences=2)
        elif words[-1:] in (["title"], ["subject"], ["headline"]):
            value = fake.sentence(nb_words=5).rstrip(".")
        elif words[-1:] in (["id"], ["key"], ["code"], ["number"], ["reference"]):
            value = fake.bothify("??########").upper()
        elif words[-1:] in (["version"]):
            value = f"{1 + int(self.draw(ref, path) * 4)}.{int(self.draw(ref, path, 1) * 10)}"
        elif isinstance(schema.get("example"), str) and schema["example"]:
            value = schema["example"]   # the spec's own example says more than a random word
        else:
            value = fake.word() if schema.get("maxLength", 99) < 20 else " ".join(fake.words(nb=2)).capitalize()
        value = self._fit(value, schema, ref, path)
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and not _search(pattern, value):
            example = schema.get("example")
            if isinstance(example, str) and _search(pattern, example):
                return example
            matched = matching_string(pattern, lambda i: self.draw(ref, path, "re", i),
                                      int(schema.get("minLength", 0)), schema.get("maxLength"))
            value = matched if matched is not None else value
        return value

    def _fit(self, value: str, schema: dict, ref: str, path: str) -> str:
        """Honour minLength/maxLength without breaking what the value means more than needed."""
        low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
        if high is not None and len(value) > int(high):
            value = value[: int(high)]
        if len(value) < low:
            filler = f"{stable_hash(self.seed, ref, path, 'pad'):020d}"
            while len(value) < low:
                value += filler
            value = value[: max(low, len(value) if high is None else min(len(value), int(high)))]
        return value

    def moment(self, ref: str, path: str, ctx: dict) -> datetime:
        """A timestamp for a field of an entity: its own creation time for ``created*``,
        otherwise between its creation and now (never in the future)."""
        created: datetime = ctx["created_at"]
        now: datetime = ctx["now"]
        field = path.rsplit(".", 1)[-1].lower()
        if field.startswith("created") or field in ("registered_at", "signed_up_at", "signup_at", "createdat"):
            return created
        if set(_words(path.rsplit(".", 1)[-1])) & _FUTURE:
            return now + timedelta(seconds=int(self.draw(ref, path) * 60 * 86400))
        span = max(0.0, (now - created).total_seconds())
        return created + timedelta(seconds=int(self.draw(ref, path) * span))


_CLOSED = {"solved", "closed", "resolved", "done", "completed", "cancelled", "canceled", "archived"}


def _count_open(out: dict, fixed: set[str]) -> None:
    """A count of open things agrees with the things listed beside it: ``open_tickets`` is the number of
    ``tickets`` whose ``status`` is not a closed one (solved, closed, resolved, ...)."""
    for key, value in out.items():
        words = _words(key)
        if key in fixed or not isinstance(value, int) or isinstance(value, bool) or words[:1] != ["open"]:
            continue
        listed = next((out[k] for k in out if _words(k) == words[1:] and isinstance(out[k], list)), None)
        if listed is not None and all(isinstance(item, dict) and "status" in item for item in listed):
            out[key] = sum(1 for item in listed if str(item["status"]).lower() not in _CLOSED)


def _null_allowed(schema: dict) -> bool:
    """Whether null is a valid value of ``schema`` (``nullable`` or a ``null`` type)."""
    return schema.get("nullable") is True or "null" in schema_types(schema)


def _search(pattern: str, value: str) -> bool:
    """``re.search`` that treats a pattern Python cannot compile as matching."""
    try:
        return re.search(pattern, value) is not None
    except re.error:
        return True


def _entity_url(ref: str) -> str:
    """The web address of an entity (``track:4iV5`` -> ``https://www.example.com/tracks/4iV5``): every
    link field of one entity names the same place; a route's own links name the route."""
    kind, _, rest = ref.partition(":")
    rest = rest.split("#", 1)[0]
    if kind == "route":
        path = rest.split(" ", 1)[-1].lstrip("/")
        return f"https://api.example.com/{path}"
    return f"https://www.example.com/{kind}s/{rest}".replace(" ", "")


def generated_size(schema: dict, limit: int, memo: dict | None = None) -> int:
    """How many values generating ``schema`` builds at most (objects, lists and leaves), by the
    generator's own rules (optional fields dropped past SOFT_DEPTH, short lists, HARD_DEPTH cut).
    Memoised per (schema, depth) in ``memo`` (share it across the schemas of one document), so a
    wide DAG of references is measured without being expanded; counting stops just past ``limit``."""
    memo = {} if memo is None else memo

    def size(node: Any, depth: int) -> int:
        if not isinstance(node, dict):
            return 1
        key = (id(node), depth)
        if key in memo:
            return memo[key]
        merged = merge_schema(node)
        total = 1
        if depth <= HARD_DEPTH and not (depth > SOFT_DEPTH and _null_allowed(merged)) \
                and "const" not in merged and not merged.get("enum"):
            types = schema_types(merged) - {"null"}
            kind = "integer" if "integer" in types else next(iter(sorted(types)), "string")
            if kind == "object":
                props = merged.get("properties") or {}
                if depth > SOFT_DEPTH:
                    props = {k: v for k, v in props.items() if k in (merged.get("required") or [])}
                for sub in props.values():
                    total += size(sub, depth + 1)
                    if total > limit:
                        break
            elif kind == "array":
                low = _int(merged.get("minItems"), 1 if depth <= SOFT_DEPTH else 0)
                most = 3 if depth <= 3 else 1
                high = max(low, min(_int(merged.get("maxItems"), most), low + most)) if depth <= SOFT_DEPTH else low
                items = merged.get("items") if isinstance(merged.get("items"), dict) else {}
                total += min(high, limit + 1) * size(items, depth + 1)
        memo[key] = min(total, limit + 1)
        return memo[key]

    return size(schema, 0)


def _int(value: Any, default: int) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 else default

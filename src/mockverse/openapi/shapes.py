"""Shapes of OpenAPI schemas as inference reads them: properties, ids, lists, envelopes, unions.

Pure functions of a schema (``allOf`` merged through ``merge_all_of``): what object an answer
carries, which property holds an entity's id, which array a list answer holds, which kinds a
``oneOf`` union has.
"""

from __future__ import annotations

from .loader import merge_all_of
from .words import camel, loose, singular, snake

NON_ID_FORMATS = frozenset(
    {"date", "date-time", "time", "email", "uri", "url", "hostname", "ipv4", "ipv6", "byte", "binary", "password"}
)
ENVELOPE_KEYS = ("data", "result", "item", "record", "payload", "resource", "object")
LIST_KEYS = ("items", "data", "results", "records", "entries", "values", "list")
# Words of an envelope's fields that page or count the list it holds (``total_count``, ``next_cursor``, ``has_more``).
LIST_META_WORDS = frozenset(
    {"total", "count", "page", "pages", "limit", "offset", "cursor", "next", "previous", "prev", "more", "first",
     "last", "links", "link", "meta", "metadata", "iterator", "done", "size", "object", "url", "href", "token",
     "start", "end", "after", "before", "ok"}
)


def properties_of(schema: object) -> dict:
    """The properties of a schema with ``allOf`` merged in."""
    if not isinstance(schema, dict):
        return {}
    props = merge_all_of(schema).get("properties")
    return props if isinstance(props, dict) else {}


def type_of(schema: dict) -> str | None:
    """The one non-null JSON type a schema declares, if any."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else None
    return kind if isinstance(kind, str) else None


def object_alternative(schema: dict) -> dict:
    """The schema itself, or the one non-null alternative of a nullable ``oneOf``/``anyOf`` wrapper."""
    flat = merge_all_of(schema)
    if properties_of(flat):
        return flat
    shapes = [a for a in (*(flat.get("oneOf") or ()), *(flat.get("anyOf") or ()))
              if isinstance(a, dict) and properties_of(a)]
    return shapes[0] if len(shapes) == 1 else flat


def variants_of(schema: dict) -> list[dict]:
    """The non-null ``oneOf``/``anyOf`` alternatives of a schema, each with ``allOf`` merged."""
    flat = merge_all_of(schema)
    return [merge_all_of(a) for a in (*(flat.get("oneOf") or ()), *(flat.get("anyOf") or ()))
            if isinstance(a, dict) and type_of(merge_all_of(a)) != "null" and merge_all_of(a).get("type") != "null"]


def non_null(schema: dict) -> dict:
    """A ``oneOf: [null, X]`` wrapper read as X (keeping the wrapper's description); other schemas as they are."""
    flat = merge_all_of(schema)
    variants = variants_of(flat)
    if "properties" in flat or len(variants) != 1 or len(variants) == len(flat.get("oneOf") or flat.get("anyOf") or ()):
        return flat
    return {**variants[0], **({"description": flat["description"]} if "description" in flat else {})}


def object_variants(schema: dict) -> list[dict]:
    """The object alternatives of a union entity schema (``oneOf`` of channel kinds); empty for other schemas."""
    flat = merge_all_of(schema)
    if properties_of(flat):
        return []
    return [v for v in variants_of(flat) if properties_of(v)]


def field_schema(schema: dict, name: str) -> dict:
    """One property of an object schema (or of the first kind of a union that has it), ``allOf`` merged."""
    for shape in (schema, *object_variants(schema)):
        prop = properties_of(shape).get(name)
        if isinstance(prop, dict):
            return merge_all_of(prop)
    return {}


def is_objectish(schema: object) -> bool:
    """Whether a schema describes an object (or a union of objects)."""
    if not isinstance(schema, dict):
        return False
    flat = merge_all_of(schema)
    return type_of(flat) == "object" or "properties" in flat or any(k in flat for k in ("oneOf", "anyOf"))


def scalar_type(schema: dict) -> str | None:
    """"string" or "integer" for a schema that could hold an id; None otherwise."""
    kind = type_of(schema)
    if kind == "number":
        kind = "integer"
    if kind not in ("string", "integer"):
        return None
    if str(schema.get("format", "")).lower() in NON_ID_FORMATS:
        return None
    return kind


def is_enum(schema: dict) -> bool:
    """Whether a schema is a closed set of several values (a status, not an id)."""
    enum = schema.get("enum")
    return isinstance(enum, list) and len([v for v in enum if v is not None]) > 1


def tag_value(schema: dict) -> str | None:
    """The single value of a schema's ``type`` discriminator property (``type: {enum: [user]}``)."""
    tag = properties_of(schema).get("type")
    if not isinstance(tag, dict):
        return None
    if "const" in tag and isinstance(tag["const"], str):
        return tag["const"]
    enum = tag.get("enum")
    if isinstance(enum, list) and len(enum) == 1 and isinstance(enum[0], str):
        return enum[0]
    return None


def id_field_of(schema: object, name: str, id_param: str | None) -> str | None:
    """The property of ``schema`` (or of every kind of a union schema) holding the id of a ``name`` entity."""
    variants = object_variants(schema) if isinstance(schema, dict) else []
    if variants:
        keys = {id_field_of(v, name, id_param) for v in variants}
        return keys.pop() if len(keys) == 1 else None
    props = properties_of(schema)
    last = name.split("_")[-1]
    candidates = [id_param] if id_param else []
    candidates += ["id", f"{name}_id", camel(name) + "Id", f"{last}_id", f"{last}Id", "uuid", "sid", "uid", "guid"]
    keyed = snake(id_param or "")
    if name and keyed.startswith(name + "_"):
        candidates.append(keyed[len(name) + 1:])   # {event_type_name} keys event types by their name
    by_loose = {loose(str(k)): k for k in props}
    for candidate in candidates:
        key = candidate if candidate in props else by_loose.get(loose(candidate))
        prop = props.get(key) if key is not None else None
        if isinstance(prop, dict) and scalar_type(merge_all_of(prop)):
            return key
    return None


def list_items(schema: object, hints: tuple[str, ...] = (), depth: int = 0) -> dict | None:
    """The item schema of a list response (a bare array or a page/envelope around one)."""
    if not isinstance(schema, dict) or depth > 2:
        return None
    flat = merge_all_of(schema)
    if type_of(flat) == "array" or "items" in flat and "properties" not in flat:
        items = flat.get("items")
        return items if is_objectish(items) else None
    props = flat.get("properties") or {}
    arrays = {k: v for k, v in props.items() if isinstance(v, dict) and type_of(merge_all_of(v)) == "array"}
    for key in (*hints, *LIST_KEYS):
        if key in arrays:
            return list_items(arrays[key], (), depth + 1)
    if len(arrays) == 1:
        return list_items(next(iter(arrays.values())), (), depth + 1)
    if not arrays:
        objects = [v for v in props.values() if is_objectish(v) and "properties" in merge_all_of(v)]
        if len(objects) == 1:
            return list_items(objects[0], hints, depth + 1)
    return None


def unwrap_item(schema: object, name: str, key: str | None = None, depth: int = 0) -> dict | None:
    """The entity object inside an item response, looking through ``data``-style envelopes.

    With side-loaded arrays (``{accounts, statuses, notification_groups}``) it is the items
    that carry the path's ``key`` (``group_key``).
    """
    if not isinstance(schema, dict) or depth > 2:
        return None
    if id_field_of(schema, name, None):
        return schema
    props = properties_of(schema)
    for prop in (*ENVELOPE_KEYS, name, camel(name)):
        inner = props.get(prop)
        if isinstance(inner, dict) and is_objectish(inner) and type_of(merge_all_of(inner)) != "array":
            found = unwrap_item(inner, name, key, depth + 1)
            if found is not None:
                return found
    if key and key in props:
        return schema
    lists = answer_lists(schema)
    keyed = [shape for _, shape in (*lists, *answer_objects(schema))
             if lists and key and key != "id" and key in properties_of(shape)]
    if len(keyed) == 1:
        return keyed[0]
    items = list_items(schema)
    if items is not None and id_field_of(items, name, None):
        return items  # some APIs answer a single item as a one-element list
    return schema if props else None


def answer_objects(schema: dict | None) -> list[tuple[str, dict]]:
    """(property, object schema) for each object a method's answer carries (``{ok, user: {...}}``)."""
    out = []
    for prop, value in properties_of(schema).items():
        shape = object_alternative(value) if isinstance(value, dict) else None
        if shape is None or type_of(merge_all_of(value)) == "array":
            continue
        if properties_of(shape) or object_variants(shape):
            out.append((str(prop), shape))
    return out


def answer_lists(schema: dict | None) -> list[tuple[str, dict]]:
    """(property, item schema) for each array of objects a method's answer carries (``{ok, channels: [...]}``)."""
    out = []
    for prop, value in properties_of(schema).items():
        flat = merge_all_of(value) if isinstance(value, dict) else {}
        items = flat.get("items") if type_of(flat) == "array" else None
        if isinstance(items, dict) and (properties_of(items) or object_variants(items)):
            out.append((str(prop), items))
    return out


def required_of(schema: dict) -> set[str]:
    """The required properties of an object schema (of every kind, for a union)."""
    shapes = [schema, *object_variants(schema)]
    return {str(k) for shape in shapes for k in (merge_all_of(shape).get("required") or ())}


def is_facet(schema: object, segment: str) -> bool:
    """Whether the answer at a literal ``segment`` is one object of its own, not a list envelope.

    An envelope holds its array of objects under the path's word or a generic key (``{orders: [...]}``
    at ``/users/{id}/orders``, ``{data: [...]}``), and its other fields page or count that list
    (``total``, ``next_cursor``); an object with fields of its own (``support_tier``, or plain values
    such as ``{names: [...]}`` of a repo's topics) whose arrays of objects are named otherwise
    (``tickets``) is a facet of whatever it sits under (``/users/{id}/support``).
    """
    flat = merge_all_of(schema) if isinstance(schema, dict) else {}
    props = {str(k): v for k, v in properties_of(flat).items() if isinstance(v, dict)}
    if not props or type_of(flat) == "array":
        return False
    word = _last_word(segment)
    held = {k for k, v in props.items() if list_items(v) is not None or "properties" in merge_all_of(v)}
    if any(k in LIST_KEYS or _last_word(k) == word for k in held):
        return False
    return any(k not in held and not set(snake(k).split("_")) & LIST_META_WORDS for k in props)


def _last_word(name: str) -> str:
    """The singular last word of a name (``top-tracks`` -> ``track``), as lists name what they hold."""
    return singular(snake(name)).rsplit("_", 1)[-1]

"""Entities of a world in the shape of an operation's response schema.

An entity is generated once from its own schema; a response may want it bare, inside an
envelope (``{data: {...}}``), as a variant (Spotify's ``SimplifiedTrackObject``), or as a
page (``{items: [...], total, limit, offset}``). The renderer finds where the entity (or
the list of them) sits in the response schema, generates everything around it from the
schema, and fills the entity from the world: the entity's own values wherever they fit
the response's property schema, and related entities wherever the spec embeds them
(``track.album`` is the track's album, ``album.tracks.items`` its tracks). Fields the
entity lacks are generated with the same keys, so every variant agrees on them.
"""

from __future__ import annotations

import math
from typing import Any

from mockverse.openapi import is_nullable, merge_all_of, singular, snake
from mockverse.openapi.jsonschema import fits
from mockverse.world.derive import key_field
from mockverse.world.generate import merge_schema, schema_types
from mockverse.world.model import EntityType, sample_id
from mockverse.world.specworld import DeepLink, Embed, admits, prop_at

MAX_EMBED_DEPTH = 2
_ENVELOPE_KEYS = ("data", "result", "item", "record", "payload", "resource", "object", "entity")
_LIST_KEYS = ("items", "data", "results", "records", "entries", "values", "list", "elements")
_TOTAL = {"total", "total_items", "total_count", "item_count", "total_results", "count", "total_records",
          "total_size", "totalcount", "totalitems", "itemcount"}
_ON_PAGE = {"items_on_page", "page_items", "returned", "size"}
_PAGES = {"total_pages", "page_count", "pages", "pagecount", "totalpages"}
_PER_PAGE = {"limit", "page_size", "per_page", "pagesize", "perpage", "max_results"}
_OFFSET = {"offset", "start", "skip"}
_PAGE = {"page", "page_number", "current_page", "pagenumber"}
MISSING = object()
ITEM = "[]"   # a slot path's step into the one item of an array (a list of envelopes of lists)
_identity = id   # the builtin, where a parameter is named ``id``


def _key(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out).replace("-", "_")


def _object(schema: dict | None) -> dict:
    return merge_schema(schema) if isinstance(schema, dict) else {}


def _props(schema: dict | None) -> dict:
    props = _object(schema).get("properties")
    return props if isinstance(props, dict) else {}


def _named(target: EntityType, value: Any) -> object:
    """The id of ``target`` an object names by its id field (``{"id": 1}``), parsed; None otherwise."""
    if not isinstance(value, dict) or value.get(target.id_field) is None:
        return None
    return target.parse_id(value[target.id_field])


def embedded_id(view: Any, entity: EntityType, id: object, data: dict, embed: Embed) -> object:
    """The id of the one entity an embed shows: the one the body names by id when it exists, else the
    parent, else the one its sibling key names (``owner`` beside ``owner_id``), else a stable choice."""
    target = embed.target
    chosen = _named(target, data.get(embed.field))
    if chosen is not None and view.get(target, chosen) is not None:
        return chosen   # the body names the entity ({"type": {"id": 1}}): show that one
    if target is entity.parent:
        return data.get(entity.fk)
    named = (f"{embed.field}_id", f"{embed.field}Id")   # the key that names this embed (not a reply's)
    ref = next((r for r in entity.references if r.target is target and not r.many and r.field in named), None)
    if ref is not None and ref.key is not None:   # it holds the entity's key, not its id
        return target.linked_id(data.get(ref.field), view, ref.key)
    return data.get(ref.field) if ref else sample_id(view, target, f"{entity.name}:{id}", embed.field)


def _pick(targets: list[EntityType], value: Any) -> EntityType:
    """Of a polymorphic link's types, the one a generated object's ``type`` tag names (else the first)."""
    tag = value.get("type") if isinstance(value, dict) else None
    if isinstance(tag, str):
        for target in targets:
            if target.name == singular(snake(tag)):
                return target
    return targets[0]


def _same_kind(a: Any, b: Any) -> bool:
    """Whether two JSON values have the same JSON type (a world value may replace a generated one)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return isinstance(a, int) == isinstance(b, int) or isinstance(b, float)
    return type(a) is type(b)


def _nullable(schema: dict) -> bool:
    """Whether a property schema admits null (any spelling)."""
    return "null" in schema_types(_object(schema)) or is_nullable(schema)


def _parent_fields_left_out(entity: EntityType, data: dict, flat: dict) -> set[str]:
    """The fields naming the parent of an entity made without one (its key, the object embedding the
    parent) that its schema neither lets be null nor requires: left out of its body, as optional ones are."""
    if entity.parent is None or entity.fk is None or entity.fk not in data or data[entity.fk] is not None:
        return set()
    names = {entity.fk, *(e.field for e in entity.embeds if e.target is entity.parent and e.inner is None)}
    props, required = flat.get("properties") or {}, set(flat.get("required") or ())
    return {n for n in names if isinstance(props.get(n), dict) and not _nullable(props[n]) and n not in required}


def is_array(schema: dict | None) -> bool:
    return isinstance(schema, dict) and "array" in schema_types(merge_all_of(schema))


def _branches(schema: dict) -> list[dict]:
    """The schema and each of its oneOf/anyOf alternatives."""
    flat = merge_all_of(schema)
    return [schema, *(b for b in (*(flat.get("oneOf") or ()), *(flat.get("anyOf") or ())) if isinstance(b, dict))]


def is_variant(schema: dict | None, entity: EntityType) -> bool:
    """Whether a schema object represents ``entity`` (its own schema, an embedded variant, a same-named component)."""
    if not isinstance(schema, dict):
        return False
    if id(schema) in entity.variants:
        return True
    parts = merge_all_of(schema).get("allOf") or schema.get("allOf") or ()
    return any(isinstance(p, dict) and id(p) in entity.variants for p in parts)


def entity_slots(schema: dict | None, entity: EntityType, depth: int = 0,
                 strict: bool = False) -> list[list[str]] | None:
    """Where ``entity`` sits inside ``schema``: ``[[]]`` for the schema itself, ``[["data"]]`` in an
    envelope, several paths when a wrapper holds it twice (``track`` and ``item``); None if nowhere.
    Unless ``strict``, an object with the entity's id field counts as the entity."""
    if not isinstance(schema, dict) or depth > 3:
        return None
    if any(is_variant(b, entity) for b in _branches(schema)):
        return [[]]   # the entity itself, or one alternative of a nullable/polymorphic wrapper
    props = _props(schema)
    found = [[name] for name, sub in props.items() if isinstance(sub, dict) and not is_array(sub)
             and any(is_variant(b, entity) for b in _branches(sub))]
    if found:
        return found
    if not strict and entity.id_field in props and not is_array(props[entity.id_field]):
        return [[]]
    for name in (*_ENVELOPE_KEYS, entity.name, entity.segment):
        sub = props.get(name)
        if isinstance(sub, dict) and not is_array(sub):
            inner = entity_slots(sub, entity, depth + 1, strict)
            if inner:
                return [[name, *path] for path in inner]
    return None


def list_slot(schema: dict | None, entity: EntityType, depth: int = 0,
              strict: bool = False) -> tuple[list[str], dict] | None:
    """The path to the array of ``entity`` items in a list response and the item schema, or None."""
    if not isinstance(schema, dict) or depth > 3:
        return None
    flat = _object(schema)
    if is_array(flat):
        items = flat.get("items")
        return ([], items) if isinstance(items, dict) and (entity_slots(items, entity, 0, strict)
                                                           or _values_of(items, entity)) else None
    props = flat.get("properties") or {}
    arrays = {k: v for k, v in props.items() if is_array(v) and isinstance(merge_all_of(v).get("items"), dict)}
    matching = [k for k, v in arrays.items() if entity_slots(merge_all_of(v)["items"], entity, 0, strict)
                or _values_of(merge_all_of(v)["items"], entity)]
    for name in (*_LIST_KEYS, entity.segment, entity.name + "s"):
        if name in matching:
            return [name], merge_all_of(arrays[name])["items"]
    if matching:
        return [matching[0]], merge_all_of(arrays[matching[0]])["items"]
    for name, sub in arrays.items():
        inner = _enveloped_list(merge_all_of(sub)["items"], entity, depth, strict)
        if inner is not None:   # a list of envelopes that each hold only a list of the entity: one holds the page
            return [name, ITEM, *inner[0]], inner[1]
    for name, sub in props.items():
        if isinstance(sub, dict) and not is_array(sub) and "object" in schema_types(_object(sub)):
            inner = list_slot(sub, entity, depth + 1, strict)
            if inner is not None:
                return [name, *inner[0]], inner[1]
    return None


def _values_of(items: dict, entity: EntityType) -> bool:
    """Whether an array's items are the values of a type identified by its value (the ``tags`` of ``GET /tags``)."""
    source = entity.inferred
    own = source.schema if source is not None and source.origin == "value" else None
    return isinstance(own, dict) and items is (own.get("properties") or {}).get(entity.id_field)


def _free_list(schema: dict) -> tuple[list[str], dict] | None:
    """The one array of an envelope whose items are objects declaring no properties (``{recipients:
    [{type: object}]}``): a list of the entity the operation lists, each shown with its own fields."""
    props = _props(schema)
    free = [(name, merge_all_of(sub)["items"]) for name, sub in props.items() if is_array(sub)
            and isinstance(merge_all_of(sub).get("items"), dict) and schema_types(_object(merge_all_of(sub)["items"]))
            == {"object"} and not _props(merge_all_of(sub)["items"])]
    return ([free[0][0]], free[0][1]) if len(free) == 1 else None


def _enveloped_list(schema: dict, entity: EntityType, depth: int, strict: bool) -> tuple[list[str], dict] | None:
    """The list slot of an object whose one property is a list of ``entity`` (``{recipients: [...]}``)."""
    props = _props(schema)
    if len(props) != 1 or not is_array(next(iter(props.values()))):
        return None
    return list_slot(schema, entity, depth + 1, strict)


class Renderer:
    """Renders entities of one WorldView into response schemas."""

    def __init__(self, view: Any) -> None:
        self.view = view
        self.gen = view.gen

    def _ctx(self, entity: EntityType | None, data: dict | None) -> dict:
        created = self.view.created_at_of(entity, data) if entity is not None and data else self.view.now
        return {"created_at": created, "now": self.view.now, "person": bool(entity and entity.person),
                "fields": {n: r.choices for n, r in entity.config.fields.items()} if entity else {}}

    # -- one entity ------------------------------------------------------------------------------
    def entity(self, entity: EntityType, id: object, schema: dict | None, depth: int = 0) -> dict | None:
        """The entity ``id`` shaped as ``schema`` (wherever the schema holds it), or None if it does not exist."""
        def build() -> Any:
            data = self.view.get(entity, id)
            return None if data is None else self._entity(entity, id, data, schema, depth)
        return self.view.cached(("render", entity.name, id, _identity(schema) if schema is not None else None, depth),
                                build)

    def _entity(self, entity: EntityType, id: object, data: dict, schema: dict | None, depth: int) -> Any:
        slots = entity_slots(schema, entity)
        if slots is None and (is_array(schema) or list_slot(schema, entity) is not None):
            return self.page(entity, [id], schema, f"{entity.name}:{id}", datas=[data], depth=depth)  # a list of one
        if schema is not None and not _holds_objects(schema, False):   # a scalar answer: what the schema says
            return self.gen.value(schema, f"{entity.name}:{id}", "$", entity.name, self._ctx(entity, data))
        slots = slots or [[]]
        if slots == [[]]:
            return self.shape(entity, id, data, schema, depth)
        return self._around(schema or {}, slots, lambda sub: self.shape(entity, id, data, sub, depth),
                            f"{entity.name}:{id}", entity, data)

    def shape(self, entity: EntityType, id: object, data: dict, schema: dict | None, depth: int = 0) -> Any:
        """The entity's data in the shape of an object schema (the entity's own schema when None)."""
        if schema is None:
            schema = entity.schema
        flat = self._branch(schema, entity, data)
        props = flat.get("properties") or {}
        ref = f"{entity.name}:{id}"
        if not props:
            return {k: v for k, v in data.items() if k in entity.schema.get("properties", {})}
        own = entity.schema.get("properties", {})
        gone = {name for name in own if name not in data and name not in (flat.get("required") or ())}
        gone |= _parent_fields_left_out(entity, data, flat)
        if gone & set(props):   # fields a replace removed (or the world left out) stay out where optional
            props = {k: v for k, v in props.items() if k not in gone}
            flat = {**flat, "properties": props}
        embeds = {e.field: e for e in entity.embeds}
        given: dict[str, Any] = {}
        removed = self._removed(entity, id, data, props)
        for name, sub in props.items():
            if not isinstance(sub, dict):
                continue
            if name in removed:
                given[name] = None   # a write removed it: null where the schema allows, else left out
                continue
            if name in embeds and embeds[name].many and self._written(entity, id, name, data, sub):
                given[name] = data[name]   # a client's own list (a pipeline's stages): shown as it was written
                continue
            if name in embeds and depth < MAX_EMBED_DEPTH:
                value = self._embedded(entity, id, data, embeds[name], sub, depth)
                if value is not MISSING:
                    given[name] = value
                    continue
            elif name in embeds and _nullable(sub):
                given[name] = None   # deeper than entities are embedded: empty where the schema allows it
                continue
            elif name in embeds and depth == MAX_EMBED_DEPTH:
                value = self._capped(entity, id, data, embeds[name], sub)
                if value is not MISSING:
                    given[name] = value
                    continue
            counted = self._count(entity, id, name, sub) if depth < MAX_EMBED_DEPTH else None
            if counted is not None:
                given[name] = counted  # derived from the children, like an order's total: it always agrees
            elif name in data and own.get(name) is sub:
                given[name] = data[name]
            elif name in data and fits(data[name], sub):
                cut = _within(data[name], sub)
                given[name] = cut if fits(cut, sub) else data[name]
        body = self.gen.object(flat, ref, "$", self._ctx(entity, data), given=given)
        more = flat.get("additionalProperties")
        if more not in (None, False) and isinstance(body, dict):
            body.update({k: v for k, v in _written_extras(data, own, props).items()
                         if not isinstance(more, dict) or fits(v, more)})
        for link in entity.deep:
            leaf = prop_at(flat, ".".join(link.path)) or {}
            if is_array(leaf) and not link.path[-1].endswith("[]"):
                leaf = merge_all_of(leaf).get("items") or {}
            self._fill(entity, id, data, body, link, link.path, ref, depth, leaf)
        return body

    def _removed(self, entity: EntityType, id: object, data: dict, props: dict) -> set[str]:
        """The properties a write set to null (a JSON Patch ``remove``) that the entity no longer holds."""
        if self.view.snap.version <= 0 or all(name in data for name in props):
            return set()   # no write yet, or nothing missing
        stored = self.view.stored(entity, id)
        return {k for k, v in stored.data.items() if v is None and k not in data} if stored is not None else set()

    def _written(self, entity: EntityType, id: object, name: str, data: dict, sub: dict) -> bool:
        """Whether a write gave the field ``name`` itself, in a value its schema holds."""
        stored = self.view.stored(entity, id)
        return stored is not None and name in stored.data and fits(data.get(name), sub)

    # -- links below the top level ---------------------------------------------------------------
    def _fill(self, entity: EntityType, id: object, data: dict, node: Any, link: DeepLink,
              path: list[str], key: str, depth: int, leaf: dict) -> None:
        """Put entities of the world at ``path`` inside a rendered body (ids, or embedded objects)."""
        if not isinstance(node, dict) or not path:
            return
        part, rest = path[0].removesuffix("[]"), path[1:]
        value = node.get(part)
        if value is None:
            return
        if isinstance(value, list):
            if rest:   # copies on the way down: an embedded body may be a cached one, shared with other renders
                value = node[part] = [dict(item) if isinstance(item, dict) else item for item in value]
                for index, item in enumerate(value):
                    self._fill(entity, id, data, item, link, rest, f"{key}.{part}[{index}]", depth, leaf)
                return
            node[part] = [v for v in (self._linked(entity, id, data, link, old, f"{key}.{part}[{i}]", depth, leaf)
                                      for i, old in enumerate(value)) if v is not None] or value[:0]
            return
        if rest:
            if isinstance(value, dict):
                value = node[part] = dict(value)
            self._fill(entity, id, data, value, link, rest, f"{key}.{part}", depth, leaf)
            return
        named = next((node[k] for k in (f"{part}_id", f"{part}Id") if link.embed and node.get(k) is not None), None)
        linked = self._linked(entity, id, data, link, value, f"{key}.{part}", depth, leaf, named)
        if linked is not None:
            node[part] = linked

    def _linked(self, entity: EntityType, id: object, data: dict, link: DeepLink, old: Any, key: str,
                depth: int, leaf: dict, named: object = None) -> Any:
        """The world's value for one generated link value ``old``: an existing id, or that entity's fields
        (the one its sibling key ``named`` names: ``user`` beside ``user_id``)."""
        target = _pick(link.targets, old)
        if link.embed and not isinstance(old, dict):
            return None
        if not link.embed and (isinstance(old, (dict, list)) or isinstance(old, str) == target.integer_ids):
            return None   # the generated value's type is not the target's id type: leave it as the schema says
        chosen = target.parse_id(named) if named is not None else None
        target_id: object
        if chosen is not None and self.view.get(target, chosen) is not None:
            target_id = chosen
        elif target is entity.parent:
            target_id = data.get(entity.fk)
        elif target is entity:
            target_id = self._other(entity, id, data, (key, "deep"), always=True)
        else:
            target_id = sample_id(self.view, target, key, "deep")
        if target_id is None:
            return None
        if not link.embed:
            return target_id
        if depth < MAX_EMBED_DEPTH and leaf:
            rendered = self.entity(target, target_id, leaf, depth + 1)
            if isinstance(rendered, dict):
                return rendered
        fields = self.view.get(target, target_id) or {}
        declared = _props(leaf)
        shown = {k: fields[k] for k in old if k in fields and _same_kind(fields[k], old[k])
                 and (not isinstance(declared.get(k), dict) or fits(fields[k], declared[k]))}
        return {**old, **shown, target.id_field: target_id} if target.id_field in old else None

    def _count(self, entity: EntityType, id: object, name: str, sub: dict) -> int | None:
        """``total_tracks`` / ``task_count`` / ``recipient_count``: how many children the entity has."""
        if not {"integer", "number"} & schema_types(_object(sub)):
            return None
        words = _key(name).split("_")
        noun = "_".join(w for w in words if w not in ("total", "count", "number", "of", "num"))
        if noun == "_".join(words):
            return None
        for relationship, child in entity.children.items():
            names = {child.name, child.name + "s", child.segment.lower(), _key(child.segment)}
            if noun in names or noun.rstrip("s") == child.name:
                count = len(self.view.child_ids(entity, id, relationship))
                return count if fits(count, sub) else None
        return None

    def _branch(self, schema: dict, entity: EntityType, data: dict | None = None) -> dict:
        """The object schema to render: the oneOf/anyOf alternative that is this entity (the one its stored
        fields fit, when it has several shapes), else the first."""
        flat = merge_all_of(schema)
        shapes = [a for a in (*(flat.get("oneOf") or ()), *(flat.get("anyOf") or ()))
                  if isinstance(a, dict) and is_variant(a, entity)]
        if shapes:
            chosen = next((a for a in shapes if data is None or admits(a, data)), shapes[0])
            base = {k: v for k, v in flat.items() if k not in ("oneOf", "anyOf")}
            return merge_schema({**base, **chosen})
        return _object(schema)

    def _embedded(self, entity: EntityType, id: object, data: dict, embed: Embed, sub: dict, depth: int) -> Any:
        """The related entities an embedding property shows, rendered in that property's schema."""
        target = embed.target
        key = (f"{entity.name}:{id}", embed.field)
        if embed.inner is None and not _holds_objects(sub, embed.many):   # the response names them by id here
            return self._named_by_id(entity, id, data, embed, sub, key)
        if not embed.many:
            chosen = _named(target, data.get(embed.field))
            named = chosen is not None and self.view.get(target, chosen) is not None
            if target is entity is not entity.parent and _nullable(sub) and not named:
                target_id = self._other(entity, id, data, key)   # a reblog, a reply: only some entities have one
            else:
                target_id = embedded_id(self.view, entity, id, data, embed)
            if target_id is None:
                return None if _nullable(sub) else MISSING
            body = self.entity(target, target_id, sub, depth + 1)
            return MISSING if body is None else body
        ids = self._related_ids(entity, id, data, target, key, sub)
        if embed.inner is None:
            items = merge_all_of(sub).get("items") if is_array(sub) else None
            if not isinstance(items, dict):
                return MISSING
            rendered = [self.entity(target, i, items, depth + 1) for i in ids]
            return [r for r in rendered if r is not None]
        return self.page(target, ids, sub, f"{key[0]}#{embed.field}", depth=depth + 1)

    def _capped(self, entity: EntityType, id: object, data: dict, embed: Embed, sub: dict) -> Any:
        """An embed as deep as entities are embedded, where the schema wants one: the embedded entity's own
        fields, its own embeds left out where optional (so it agrees with the entity and goes no deeper);
        MISSING for a page, a list or an envelope, which keep the generated value."""
        if embed.many or embed.inner is not None:
            return MISSING
        if not _holds_objects(sub, False):
            return self._named_by_id(entity, id, data, embed, sub, (f"{entity.name}:{id}", embed.field))
        target = embed.target
        if entity_slots(sub, target) != [[]]:
            return MISSING   # the entity inside an envelope: generated, as deeper than embeds go
        target_id = embedded_id(self.view, entity, id, data, embed)
        fields = self.view.get(target, target_id) if target_id is not None else None
        if fields is None:
            return MISSING
        flat = self._branch(sub, target, fields)
        deeper = {e.field for e in target.embeds} - set(flat.get("required") or ())
        props = {k: v for k, v in (flat.get("properties") or {}).items() if k not in deeper}
        return self.shape(target, target_id, fields, {**flat, "properties": props}, MAX_EMBED_DEPTH + 1)

    def _named_by_id(self, entity: EntityType, id: object, data: dict, embed: Embed, sub: dict,
                     key: tuple) -> Any:
        """An embedding property whose response schema holds ids, not objects: the same entities by id."""
        if embed.many:
            related = self._related_ids(entity, id, data, embed.target, key, sub)
            shown = [i for i in related if self.view.get(embed.target, i) is not None]
            return shown if fits(shown, sub) else MISSING
        target_id = embedded_id(self.view, entity, id, data, embed)
        return self._id_or_key(embed.target, target_id, sub)

    def _id_or_key(self, target: EntityType, target_id: object, sub: dict) -> Any:
        """How a property of schema ``sub`` names an entity: its id where the id fits, else the key a path
        addresses it by (an ``owner`` string holds the owner's ``login``); MISSING when neither fits."""
        if target_id is None:
            return MISSING
        if fits(target_id, sub):
            return target_id
        key = key_field(target)
        value = (self.view.get(target, target_id) or {}).get(key) if key is not None else None
        return value if value is not None and fits(value, sub) else MISSING

    def _other(self, entity: EntityType, id: object, data: dict, key: tuple, always: bool = False) -> object:
        """Another existing entity of the same type (a sibling under the same parent) for half of the
        entities (for all of them when ``always``), None for the rest."""
        if not always and self.gen.draw(*key, "self") < 0.5:
            return None
        if entity.parent is not None:
            siblings = [s for s in self.view.child_ids(entity.parent, data.get(entity.fk), entity.relationship)
                        if s != id]
            return siblings[int(self.gen.draw(*key, "sibling") * len(siblings))] if siblings else None
        for attempt in range(3):
            other = sample_id(self.view, entity, *key, attempt)
            if other is not None and other != id:
                return other
        return None

    def _related_ids(self, entity: EntityType, id: object, data: dict, target: EntityType,
                     key: tuple, schema: dict) -> list:
        if target.parent is entity:
            return self.view.child_ids(entity, id, target.relationship)
        ref = next((r for r in entity.references if r.target is target and r.many), None)
        if ref is not None and isinstance(data.get(ref.field), list):
            held = data[ref.field]
            return [target.linked_id(v, self.view, ref.key) for v in held] if ref.key else list(held)
        return self.sample(target, key, schema)

    def sample(self, target: EntityType, key: tuple, schema: dict | None = None, most: int = 3) -> list:
        """A stable selection of existing entities of ``target`` (for non-parent lists and embeds)."""
        items = merge_all_of(schema or {})
        low = int(items.get("minItems", 1)) if isinstance(items.get("minItems"), int) else 1
        high = max(low, min(int(items.get("maxItems", most)) if isinstance(items.get("maxItems"), int) else most, most))
        n = low + int(self.gen.draw(*key, "n") * (high - low + 1))
        out: list = []
        for attempt in range(n * 3):
            if len(out) >= n:
                break
            value = sample_id(self.view, target, *key, attempt)
            if value is not None and value not in out:
                out.append(value)
        return out

    # -- lists -------------------------------------------------------------------------------------
    def page(self, entity: EntityType, ids: list, schema: dict | None, ref: str, *, total: int | None = None,
             per_page: int | None = None, offset: int = 0, datas: list[dict] | None = None, depth: int = 0) -> Any:
        """A list response: the entities (``ids`` or their ``datas``) placed where the schema lists them,
        the paging fields around them agreeing with ``total``, ``per_page`` and ``offset``."""
        if not isinstance(schema, dict):
            return MISSING
        slot = list_slot(schema, entity) or _free_list(schema)
        if slot is None:
            if not is_array(schema):
                return MISSING
            slot = ([], merge_all_of(schema).get("items") or {})
        path, item_schema = slot
        rows = datas if datas is not None else [d for d in (self.view.get(entity, i) for i in ids) if d is not None]
        slots = entity_slots(item_schema, entity)
        inner = slots or [[]]
        rendered = []
        for index, data in enumerate(rows):
            id = data.get(entity.id_field)
            if not _holds_objects(item_schema, False):   # a list of ids (or names) of the entities
                rendered.append(id if fits(id, item_schema) else
                                self.gen.value(item_schema, f"{entity.name}:{id}", f"$[{index}]", "item",
                                               self._ctx(entity, data)))
            elif slots == [[]] and self.view.is_current(entity, id, data):
                rendered.append(self.entity(entity, id, item_schema, depth))   # shared with its item reads
            elif inner == [[]]:
                rendered.append(self.shape(entity, id, data, item_schema, depth))
            else:
                rendered.append(
                    self._around(
                        item_schema,
                        inner,
                        lambda sub, d=data, i=id: self.shape(entity, i, d, sub, depth),
                        f"{entity.name}:{id}#item",
                        entity,
                        data,
                    )
                )
        if not path:
            return rendered
        count = len(rendered) if total is None else total
        size = per_page or max(len(rendered), 1)
        body = self._around(schema, [path], lambda sub: rendered, ref, None, None)
        _paging(body, schema, path, count, size, offset, len(rendered))
        self._twins(entity, body, schema, path, ref, depth)
        return body

    def _twins(self, entity: EntityType, body: Any, schema: dict, path: list[str], ref: str, depth: int) -> None:
        """Other arrays of the same envelope that list the same type (``ancestors`` beside ``descendants``)
        hold entities of the world too, never generated ones."""
        if len(path) != 1 or not isinstance(body, dict):
            return
        for name, sub in _props(schema).items():
            items = merge_all_of(sub).get("items") if name != path[0] and is_array(sub) else None
            if name in body and isinstance(items, dict) and entity_slots(items, entity, strict=True) == [[]]:
                ids = self.sample(entity, (ref, name), sub)
                body[name] = [r for r in (self.entity(entity, i, items, depth) for i in ids) if r is not None]

    def _around(self, schema: dict, slots: list[list[str]], inner: Any, ref: str,
                entity: EntityType | None, data: dict | None) -> Any:
        """Generate ``schema`` with the value ``inner(sub_schema)`` at each slot path."""
        def build(node: dict, paths: list[list[str]], at: str) -> Any:
            if [] in paths:
                return inner(node)
            if paths[0][0] == ITEM:   # the one item of an array that holds the slot
                items = _object(node).get("items")
                return [build(items if isinstance(items, dict) else {}, [p[1:] for p in paths], f"{at}[0]")]
            flat = self._branch(node, entity, data) if entity is not None else _object(node)
            props = flat.get("properties") or {}
            given = _envelope_keys(entity, data, props) if entity is not None and data is not None else {}
            for name in dict.fromkeys(p[0] for p in paths):
                sub = props.get(name)
                if isinstance(sub, dict):
                    given[name] = build(sub, [p[1:] for p in paths if p[0] == name], f"{at}.{name}")
            return self.gen.object(flat, ref, at, self._ctx(entity, data), given=given)
        return build(schema, slots, "$")


def _envelope_keys(entity: EntityType, data: dict, props: dict) -> dict:
    """The fields of an envelope around one entity that repeat its named key or its parent key
    (``{ok, channel, ts, message}``: the message's ``ts`` and its channel), as the entity holds them; a generic
    ``id`` beside the entity is the envelope's own."""
    keys = {entity.id_field: data.get(entity.id_field)} if entity.id_field != "id" else {}
    if entity.parent is not None and entity.fk is not None:
        keys.update(dict.fromkeys(entity.fk_spellings(), data.get(entity.fk)))
    return {name: value for name, value in keys.items()
            if value is not None and isinstance(props.get(name), dict) and fits(value, props[name])}


def _written_extras(data: dict, own: dict, props: dict) -> dict:
    """Fields a write gave an entity beyond its schema (a registered persona's ``traits``), shown where
    the response schema declares that it carries more (``additionalProperties``); never the engine's own
    ``created_at`` or markers."""
    return {k: v for k, v in data.items() if k not in own and k not in props and k != "created_at"
            and not k.startswith("$")}


def _holds_objects(schema: dict, many: bool) -> bool:
    """Whether a property schema holds embedded objects (``many``: an array of them), or may: one
    that states no type, or offers an object among its alternatives."""
    flat = merge_all_of(schema)
    if many:
        if not is_array(flat):
            return False
        items = flat.get("items")
        return not isinstance(items, dict) or _holds_objects(items, False)
    if any(_holds_objects(b, False) for b in (*(flat.get("oneOf") or ()), *(flat.get("anyOf") or ()))
           if isinstance(b, dict)):
        return True
    types = schema_types(flat) - {"null"}
    return not types or "object" in types


def _within(value: Any, schema: dict, depth: int = 0) -> Any:
    """``value`` cut to what ``schema`` declares: a stored field shown in a narrower schema (a playlist's
    full ``items`` page where a summary declares ``{href, total}``) shows only the declared properties."""
    flat = merge_all_of(schema)
    if depth > 8 or flat.get("oneOf") or flat.get("anyOf"):
        return value
    if isinstance(value, dict) and isinstance(flat.get("properties"), dict) and flat["properties"]:
        props = flat["properties"]
        return {k: _within(v, props[k], depth + 1) if isinstance(props[k], dict) else v
                for k, v in value.items() if k in props}
    items = flat.get("items")
    if isinstance(value, list) and isinstance(items, dict):
        return [_within(v, items, depth + 1) for v in value]
    return value


def _paging(body: Any, schema: dict, path: list[str], total: int, per_page: int, offset: int, shown: int) -> None:
    """Make the paging fields of an envelope agree with the list it carries."""
    values = {"total": total, "on_page": shown, "pages": max(1, math.ceil(total / per_page)) if per_page else 1,
              "per_page": per_page, "offset": offset, "page": offset // per_page + 1 if per_page else 1}

    def visit(node: Any, node_schema: dict, depth: int) -> None:
        if not isinstance(node, dict) or depth > 2:
            return
        props = _props(node_schema)
        for name, value in list(node.items()):
            sub: dict = props[name] if isinstance(props.get(name), dict) else {}
            key = _key(name)
            kind = next((k for k, names in (("total", _TOTAL), ("on_page", _ON_PAGE), ("pages", _PAGES),
                                             ("per_page", _PER_PAGE), ("offset", _OFFSET), ("page", _PAGE))
                         if key in names), None)
            if kind and isinstance(value, (int, float)) and not isinstance(value, bool):
                if fits(values[kind], sub):
                    node[name] = values[kind]
            elif key in ("next", "next_page", "next_cursor") and total <= offset + shown and fits(None, sub):
                node[name] = None
            elif key in ("previous", "prev", "previous_page", "prev_cursor") and offset == 0 and fits(None, sub):
                node[name] = None
            elif isinstance(value, dict) and (depth > 0 or name != (path[0] if path else None)):
                visit(value, sub, depth + 1)
    visit(body, schema, 0)

"""Writes through a world view: create, update and delete an entity, its parent key checked and its
links to its parent and persona recorded beside it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from mockverse.openapi import is_nullable, snake
from mockverse.openapi.jsonschema import fits
from mockverse.openapi.shapes import field_schema, properties_of, required_of, type_of
from mockverse.problems import Problem
from mockverse.store import KeyClaimed, Store, StoredEntity
from mockverse.timeutil import format_rfc3339
from mockverse.world import graph as persona_graph
from mockverse.world import memberships, numbers
from mockverse.world.derived_fields import owner_parts
from mockverse.world.generate import millis_number, moment_number
from mockverse.world.model import EntityType, WorldModel, key_text

if TYPE_CHECKING:
    from mockverse.world.view import WorldView

MAX_SCHEMA_DEPTH = 8   # nesting of allOf/anyOf/oneOf a request schema's requirements are looked for in
REPLACED = "$replaced"   # in a created entity's stored fields: a PUT replaced them (no generated ones beside)
# names of the property that holds an object's own value (a topic's ``value``, a note's ``text``, a branch's
# ``label``), in this order
VALUE_NAMES = ("value", "text", "name", "title", "label", "content", "body", "ref", "key", "slug")
# words of a property that records when its object was last set (``last_set``, ``updated_at``, ``modified``)
SET_WORDS = frozenset({"set", "updated", "modified", "changed", "edited"})
SCALARS = (str, int, float, bool)


def parentless(entity: EntityType, stored: StoredEntity | None) -> bool:
    """Whether a stored record is of an entity without a parent: made without one, or detached from it
    (its parent key stored null)."""
    return (stored is not None and not stored.deleted and entity.fk is not None
            and entity.fk in stored.data and stored.data[entity.fk] is None)


def _detached(entity: EntityType, data: dict, field: str) -> dict:
    """An update's fields with the parent key null (``{"team_id": null}``): the entity leaves its parent, when
    its schema lets that key be null; else a 422 naming the key."""
    prop = (entity.schema.get("properties") or {}).get(entity.fk or "")
    if entity.parent is None or entity.fk is None or not isinstance(prop, dict) or not is_nullable(prop):
        parent = entity.parent.name if entity.parent is not None else "parent"
        raise Problem(422, "Invalid body", f"'{field}' cannot be null: every {entity.name} belongs to a {parent}",
                      field=field)
    return {**data, entity.fk: None}


def parent_spellings(entity: EntityType) -> list[str]:
    """The request fields that can name a type's parent: its key in any spelling (``user_id``, ``userId``),
    and the field embedding the parent as an object (``"service": {"id": ...}``)."""
    if entity.parent is None:
        return []
    embeds = [e.field for e in entity.embeds if e.target is entity.parent and e.inner is None and not e.many]
    return list(dict.fromkeys([*entity.fk_spellings(), *embeds]))


def parent_required(entity: EntityType, schema: dict | None) -> bool:
    """Whether a create's request schema, as written, requires some spelling of the parent key: in its
    ``required``, in every ``anyOf``/``oneOf`` branch's, or in a one-property envelope's. A create whose
    request need not name the parent makes an entity without one (a Kong plugin set for no consumer)."""
    return entity.parent is not None and _requires(schema, set(parent_spellings(entity)), 0)


def _requires(schema: object, names: set[str], depth: int) -> bool:
    """Whether ``schema`` requires one of ``names`` (see :func:`parent_required`)."""
    if not isinstance(schema, dict) or depth > MAX_SCHEMA_DEPTH:
        return False
    required = schema.get("required")
    if isinstance(required, list) and names & set(required):
        return True
    if any(_requires(part, names, depth + 1) for part in schema.get("allOf") or []):
        return True
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches and all(_requires(b, names, depth + 1) for b in branches):
            return True
    if isinstance(schema.get("items"), dict):   # a bulk create: what each item of the array requires
        return _requires(schema["items"], names, depth + 1)
    props = schema.get("properties")
    if isinstance(props, dict) and len(props) == 1 and isinstance(required, list) and list(props) == required:
        return _requires(next(iter(props.values())), names, depth + 1)   # {"article": {...}}
    return False


def _named_parent(view: WorldView, entity: EntityType, data: dict, under: tuple[EntityType, object] | None) -> object:
    """The parent a create names through another entity: one its keys name (or its path, ``under``) whose
    own parent is of the parent's type (a stage instance's ``channel_id``: that channel's guild); else None."""
    candidates = [*persona_graph.named_by(view, entity, data), *([under] if under is not None else [])]
    for other, id in candidates:
        if other.parent is not entity.parent or other.fk is None:   # a sibling it names (a reply's) counts too
            continue
        found = view.get(other, id)
        if found is not None and found.get(other.fk) is not None:
            return found[other.fk]
    return None


def _parent_from(view: WorldView, entity: EntityType, data: dict, persona: str | None, required: bool,
                 named: dict | None = None, under: tuple[EntityType, object] | None = None) -> dict:
    """Normalise the parent key (any spelling, string or number) and check the parent exists. A create
    (``named``: every field it was given, its id too) without one takes the parent the fields or the path
    name through another entity; else, unless ``required``, the entity has none (its key reads null)."""
    if entity.parent is None:
        return data
    data = dict(data)
    given = [s for s in entity.fk_spellings() if s in data]
    raw = data[given[0]] if given else None
    for spelling in given:
        data.pop(spelling)
    if isinstance(raw, dict):   # {"service": {"id": ...}}: the object that names the parent by its id
        raw = raw.get(entity.parent.id_field)
    if raw is None and persona and persona.startswith(f"{entity.parent.name}:"):
        raw = persona.split(":", 1)[1]
    if raw is None and named is not None:
        raw = _named_parent(view, entity, named, under)
    if raw is None and given and named is None:   # an update naming no parent: the entity leaves it
        return _detached(entity, data, given[0])
    if raw is None:
        if required:
            raise Problem(422, "Missing parent", f"'{entity.fk}' is required: every {entity.name} belongs "
                              f"to a {entity.parent.name}", field=entity.fk)
        if named is not None and entity.fk is not None:   # no parent: its key and its embedding field null
            data = {**dict.fromkeys(parent_spellings(entity)[len(entity.fk_spellings()):]), **data, entity.fk: None}
        return data
    parent_id = entity.parent.valid_id(raw)
    if parent_id is None and (isinstance(raw, int) or entity.parent.integer_ids):
        raise Problem(422, "Invalid id", f"{str(raw)[:40]!r} is not a {entity.parent.name} id: it must be "
                          f"{entity.parent.id_rule()}", field=given[0] if given else entity.fk)
    if parent_id is None or view.get(entity.parent, parent_id) is None:
        raise Problem(
            422,
            "Unknown parent",
            f"{entity.parent.name} {raw!r} does not exist",
            field=given[0] if given else entity.fk,
        )
    data[entity.fk] = parent_id
    return data


def create(view: WorldView, entity: EntityType, data: dict, *, id: object = None, persona: str | None = None,
           parent_required: bool = True, under: tuple[EntityType, object] | None = None) -> dict:
    """Create (or register) an entity; it links to its parent and persona by its keys, and to ``under``
    (the entity the request's path names, when that is not its parent). Without a parent named, directly
    or through another entity, it is made without one unless ``parent_required``."""
    if persona is not None:
        view.resolve(persona)
    data = keys_linked(view, entity, data)
    scalars = {name: data[name] for name in object_scalars(entity, data) if _value_key(entity, name, data[name])}
    own = {k: v for k, v in data.items() if k not in (entity.id_field, REPLACED, *scalars)}
    named = {**data, **({entity.id_field: id} if id is not None else {})}
    data = _parent_from(view, entity, own, persona, parent_required, named, under)
    if under is not None:   # a URL reference to the entity the path named names it (read as its URL)
        data = {**{ref.field: under[1] for ref in entity.url_links if ref.target is under[0]}, **data}
    _keys_held(view, entity, data, data)
    if entity.member_of is not None:   # a membership names its member; one that exists is answered again
        data, existing = memberships.adding(view, entity, data, named)
        if existing is not None:
            return existing
        if id is None and entity.parent is None:   # without a parent, the member's own slot
            id = memberships.slot(view, entity, data[memberships.MEMBER])
    workspace = view.snap.workspace
    if id is not None:
        parsed = entity.valid_id(id)
        if parsed is None:
            raise Problem(422, "Invalid id", f"entity_id {str(id)[:40]!r} is not a valid {entity.name} id: "
                              f"it must be {entity.id_rule()}", field="entity_id")
        id = parsed
    unique_keys(view, entity, id, data)
    _unique_within_parent(view, entity, id, data)
    _renumbered(view, entity, id, {}, data)
    while id is None:
        id = entity.new_id(view.store.next_id(workspace, entity.name))
        if view.stored(entity, id) is not None or _defaults_held(view, entity, id, data):
            id = None
    data.setdefault("created_at", format_rfc3339(view.now))
    generated = view.origin(entity, id) is not None
    mode = "replace" if generated else "created"
    if generated:
        data.pop("created_at")
    elif entity.number is not None and entity.number.field not in data and data.get(entity.fk) is not None:
        data[entity.number.field] = numbers.next_number(view, entity, data[entity.fk])   # the parent's next
    if scalars:   # written into the objects the entity will have, as a change would write them
        shown = view.base_with(entity, id, StoredEntity(entity.name, str(id), data, mode, False)) or {}
        data = {**data, **scalars_placed(entity, scalars, shown, view.now)}
    links = [*persona_graph.links_for(view, entity, id, data, persona, under), *entity.key_links(id, data)]
    _put_claiming(view, entity, id, data, mode, links)
    fresh = view.engine.view(workspace)
    created = fresh.get(entity, id)
    assert created is not None, "an entity just stored reads back"
    view.engine.events.emit(workspace, f"{entity.name}.created", ref=f"{entity.name}:{id}", entity=created,
                            at=format_rfc3339(fresh.now), persona=fresh.persona(entity, created))
    return created


def _keys_held(view: WorldView, entity: EntityType, given: dict, context: dict) -> None:
    """Refuse (422) a link holding a key of its target (a member's user ``identity``) that names no entity the
    written one may link (``context``: its fields as they will read): a key names an entity that exists, unless
    it is the default the field's schema gives (a message ``from`` `system`)."""
    for ref in entity.references:
        value = given.get(ref.field)
        if ref.key is None or value is None:
            continue
        for raw in value if ref.many and isinstance(value, list) else [value]:
            if raw != ref.default and entity.keyed_target(view, context, ref, raw) is None:
                raise Problem(422, "Invalid body", f"{ref.field} {str(raw)[:60]!r} is no {ref.target.name}'s "
                              f"{ref.key}: give the {ref.key} of a {ref.target.name} that exists", field=ref.field)


def unique_keys(view: WorldView, entity: EntityType, id: object, data: dict, at: str = "") -> None:
    """Refuse (409, naming the field, after ``at`` where the body holds it, and the entity holding it) a write
    giving an alternative key field (``uid``, ``name``, ``slug``) a value another entity holds, generated or
    written: a key names one entity (of one owner, for a key a composite path scopes: ``/repos/{owner}/{repo}``).
    Each check is one decode and one indexed store read (:meth:`EntityType.key_holder`), never a scan."""
    scope = owner_parts(view, entity, id, data if id is None else {**(view.get(entity, id) or {}), **data})
    accept = None if scope is None else lambda other, fields: owner_parts(view, entity, other, fields) == scope
    for name in entity.keys:
        text = key_text(data.get(name)) if name in data else None
        holder = entity.key_holder(view, name, text, accept) if text is not None else None
        if holder is not None and holder != id:
            raise _key_conflict(entity, name, text, holder, at)


def _key_conflict(entity: EntityType, name: str, text: object, holder: object, at: str = "") -> Problem:
    """The 409 for a write giving key field ``name`` the value ``text`` that entity ``holder`` holds."""
    return Problem(409, "Conflict", f"{entity.name} {holder} already has {name} {text!r}: {name} must be "
                   f"one no other {entity.name} holds", field=f"{at}{name}", extra={"held_by": holder})


def _put_claiming(view: WorldView, entity: EntityType, id: object, data: dict, mode: str,
                  links: list[tuple[str, str, str]]) -> None:
    """Store the entity with its ``links``; a key another writer took since :func:`unique_keys` looked (the
    store checks it in the write itself, so two workers never both take one) is the same 409."""
    try:
        view.store.put_entity(view.snap.workspace, entity.name, str(id), data, mode, links)
    except KeyClaimed as claimed:
        name = entity.claimed_key(data, claimed.key)
        if name is None:
            raise
        holder = entity.parse_id(claimed.holder.removeprefix(f"{entity.name}:"))
        raise _key_conflict(entity, name, key_text(data.get(name)), holder) from None


KEYS_INDEXED = "keys:indexed"   # the setting marking a workspace whose stored entities are linked from their keys


def index_keys(model: WorldModel, store: Store) -> int:
    """Link each stored entity from the key values its data gives it (:meth:`EntityType.key_links`) in every
    workspace not yet marked :data:`KEYS_INDEXED` (a store written before keys were indexed), then mark it, so a
    key written then is found and claimed like one written now; runs once per workspace. How many it linked."""
    keyed = [entity for entity in model.types.values() if entity.keys]
    linked = 0
    for workspace in store.workspaces() if keyed else []:
        if store.get_setting(workspace, KEYS_INDEXED):
            continue
        stored = [(entity, id) for entity in keyed for id in store.stored_ids(workspace, entity.name)]
        linked += sum(_index_entity(store, workspace, entity, id) for entity, id in stored)
        if stored:
            store.put_setting(workspace, KEYS_INDEXED, True)
    return linked


def _index_entity(store: Store, workspace: str, entity: EntityType, id: str) -> bool:
    """Add the key links a stored entity's data gives it and it lacks (its other links kept); False when it has
    them, is deleted, or another entity holds its key (the first one stored keeps it)."""
    stored = store.get_entity(workspace, entity.name, id)
    if stored is None or stored.deleted:
        return False
    me = f"{entity.name}:{id}"
    links = [(parent, rel, child) for parent, rel, child in store.links_of(workspace, me) if child == me]
    missing = [link for link in entity.key_links(id, stored.data) if link not in links]
    if not missing:
        return False
    try:
        store.put_entity(workspace, entity.name, id, stored.data, stored.mode, [*links, *missing])
    except KeyClaimed:
        return False
    return True


def _defaults_held(view: WorldView, entity: EntityType, id: object, data: dict) -> bool:
    """Whether a key the new entity ``id`` would take from its id (a key field ``data`` does not give) is one a
    write gave another entity: the id is skipped, so no two entities share a key."""
    serial = entity.codec.decode(id)
    return serial is not None and any(
        entity.key_holder(view, name, text) is not None
        for name, codec in entity.keys.items() if name not in data and (text := key_text(codec.encode(serial))))


def _unique_within_parent(view: WorldView, entity: EntityType, id: object, data: dict) -> None:
    """Refuse (409) a child whose key among its parent's children (a member's ``user.id``) a sibling holds:
    the key names one child of a parent, never two."""
    value = entity.scoped_text(data)
    parent_id = data.get(entity.fk) if entity.fk else None
    if value is None or parent_id is None or entity.parent is None or entity.scoped is None:
        return
    holder = entity.by_scoped_key(view, parent_id, value)
    if holder is not None and holder != id:
        path = ".".join(entity.scoped.path)
        raise Problem(409, "Conflict", f"{entity.parent.name} {parent_id} already has a {entity.name} with "
                      f"{path} {value}: {path} must be one no other {entity.name} of it holds", field=path,
                      extra={"held_by": holder})


def _renumbered(view: WorldView, entity: EntityType, id: object, current: dict, data: dict) -> None:
    """Check a write (a create's, or a change from ``current``) of an entity's number within its parent (``number``
    of ``/issues/{index}``): a whole number from 1 (else 422 naming it) that no sibling has (else 409); the entity
    then answers at it."""
    key = entity.number
    if key is None or key.field not in data or data[key.field] == current.get(key.field):
        return
    number = data[key.field]
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise Problem(422, "Invalid body", f"{key.field} must be an integer from 1: the {entity.name}'s number "
                      f"within its {entity.parent.name if entity.parent else 'parent'}", field=key.field)
    parent_id = data.get(entity.fk, current.get(entity.fk)) if entity.fk else None
    holder = numbers.find(view, entity, parent_id, number) if parent_id is not None else None
    if holder is not None and holder != id:
        raise Problem(409, "Conflict", f"{entity.name} {holder} already has {key.field} {number} in "
                      f"{entity.parent.name if entity.parent else 'its parent'} {parent_id}: {key.field} must be "
                      f"one no sibling has", field=key.field, extra={"held_by": holder})


def value_property(schema: dict) -> str | None:
    """The property of an object schema that holds the object's own value, so that a scalar written for the
    whole object is written there: the first of :data:`VALUE_NAMES` it has as a scalar, else its only
    required scalar property, else its only scalar property; None when no property is the value."""
    props = {name: sub for name, sub in properties_of(schema).items()
             if isinstance(sub, dict) and type_of(sub) in ("string", "integer", "number", "boolean")}
    named = [name for name in VALUE_NAMES if name in props]
    required = [name for name in props if name in required_of(schema)]
    for names in (named[:1], required, list(props)):
        if len(names) == 1:
            return names[0]
    return None


def set_stamp(schema: dict, now: datetime) -> dict:
    """The properties of an object schema that record when it was last set (a word of :data:`SET_WORDS` in
    the name: ``last_set``, ``updated_at``) and hold a moment (:func:`moment_at`), at ``now``."""
    out: dict[str, Any] = {}
    for name, sub in properties_of(schema).items():
        if not isinstance(sub, dict) or not SET_WORDS & set(snake(name).split("_")):
            continue
        value = moment_at(name, sub, now)
        if value is not None and fits(value, sub):
            out[name] = value
    return out


def moment_at(name: str, schema: dict, now: datetime) -> Any:
    """``now`` as the property ``name`` of this schema holds a moment: RFC 3339 for a date-time, the day for a
    date, Unix seconds (milliseconds where it says so) for a number the schema calls a time (its format or
    description, or a name the world generates moments for); None for any other (a count, a flag, a string)."""
    kind, fmt = type_of(schema), schema.get("format")
    if kind == "string":
        return format_rfc3339(now) if fmt == "date-time" else now.date().isoformat() if fmt == "date" else None
    if kind not in ("integer", "number") or not moment_number(name, schema):
        return None
    seconds = now.timestamp() * (1000 if millis_number(name, schema) else 1)
    return int(seconds) if kind == "integer" else seconds


def object_scalars(entity: EntityType, data: dict) -> set[str]:
    """The fields of ``data`` that give a scalar where the entity's schema holds an object (``topic=Hello``);
    not a reference or an embedded entity, which a scalar names by its key (``milestone=3``)."""
    out = set()
    linked = {e.field for e in entity.embeds} | {r.field for r in entity.references}
    for name, value in data.items():
        if name in linked:
            continue
        sub = field_schema(entity.schema, name)
        if isinstance(value, SCALARS) and type_of(sub) in ("object", None) and properties_of(sub) \
                and not fits(value, sub):
            out.add(name)
    return out


def keys_linked(view: WorldView, entity: EntityType, data: dict) -> dict:
    """``data`` with a scalar given for a field that embeds one entity (``milestone: 3`` where a pull shows
    its milestone object) written as the object naming that entity by its id, when one exists by it."""
    out = dict(data)
    for embed in entity.embeds:
        value = data.get(embed.field)
        if embed.many or embed.inner is not None or not isinstance(value, SCALARS) or isinstance(value, bool):
            continue
        id = embed.target.parse_id(str(value))
        if id is not None and view.get(embed.target, id) is not None:
            out[embed.field] = {embed.target.id_field: id}
    return out


def scalars_placed(entity: EntityType, data: dict, current: dict, now: datetime) -> dict:
    """``data`` with each scalar given for an object-typed field written into that object's value property
    (:func:`value_property`), its other fields kept from ``current`` and its :func:`set_stamp` fields set to
    ``now``; a 422 naming the field and its shape when the object has no value property the scalar fits."""
    out = dict(data)
    for name in object_scalars(entity, data):
        sub, key = field_schema(entity.schema, name), _value_key(entity, name, data[name])
        shown = current.get(name)
        before = shown if isinstance(shown, dict) else {}
        placed = {**before, key: data[name], **set_stamp(sub, now)}
        if not fits(placed, sub):
            raise _shape_problem(name, sub, key)
        out[name] = placed
    return out


def _value_key(entity: EntityType, name: str, value: object) -> str:
    """The :func:`value_property` of the entity's object field ``name``; a 422 when it has none or ``value``
    does not fit it (checked before anything is written, so a refused create stores nothing)."""
    sub = field_schema(entity.schema, name)
    key = value_property(sub)
    if key is None or not fits(value, properties_of(sub)[key]):
        raise _shape_problem(name, sub, key)
    return key


def _shape_problem(name: str, sub: dict, key: str | None) -> Problem:
    """The 422 for a scalar that cannot be written into the object field ``name``: the shape it allows."""
    shape = ", ".join(properties_of(sub))
    alone = f" or as its {key} alone ({type_of(properties_of(sub)[key])})" if key is not None else ""
    return Problem(422, "Invalid body", f"{name} is an object {{{shape}}}: give it as an object{alone}", field=name)


def update(view: WorldView, entity: EntityType, id: object, data: dict, *, replace: bool) -> dict:
    """Change an entity's stored fields (a PATCH merges, a PUT replaces); the entity as it reads now."""
    current = view.get(entity, id)
    if current is None:
        raise Problem(404, "Not found", f"{entity.name} {id} does not exist", field="id")
    data = scalars_placed(entity, keys_linked(view, entity, data), current, view.now)
    own = {k: v for k, v in data.items() if k not in (entity.id_field, REPLACED)}
    data = _parent_from(view, entity, own, None, required=False)
    _keys_held(view, entity, data, {**current, **data})
    unique_keys(view, entity, id, data)
    if entity.scoped is not None and entity.scoped.field in data:
        _unique_within_parent(view, entity, id, {**current, **data})
    _renumbered(view, entity, id, current, data)
    stored = view.stored(entity, id)
    if stored is not None and stored.mode == "created":
        new = {**data, REPLACED: True} if replace else {**stored.data, **data}
        new.setdefault("created_at", stored.data.get("created_at"))
        if entity.fk and entity.fk not in new:
            new[entity.fk] = stored.data.get(entity.fk)
        mode = "created"
    else:
        new = dict(data) if replace else {**(stored.data if stored else {}), **data}
        # a PATCH after a PUT keeps the PUT's replacement: the fields it removed stay removed
        mode = "replace" if replace or (stored is not None and stored.mode == "replace") else "patch"
    effective = {**current, **new}
    _put_claiming(view, entity, id, new, mode,
                  [*persona_graph.links_for(view, entity, id, effective, None), *entity.key_links(id, new)])
    updated = view.engine.view(view.snap.workspace).get(entity, id)
    assert updated is not None, "an entity just stored reads back"
    return updated


def delete(view: WorldView, entity: EntityType, id: object) -> None:
    """Delete an entity (a tombstone over a generated one); what lies below it goes with it."""
    if view.get(entity, id) is None:
        raise Problem(404, "Not found", f"{entity.name} {id} does not exist", field="id")
    for kind, key in [(entity, id), *memberships.held_by(view, entity, id)]:
        stored = view.stored(kind, key)
        view.store.delete_entity(view.snap.workspace, kind.name, str(key), stored.mode if stored else "generated")


def facet_type(entity: EntityType, facet: str) -> str:
    """The store's type name of one facet's written fields (``user#billing``): a record beside the entity's,
    so a facet write changes only what reads that facet."""
    return f"{entity.name}#{facet}"


def facet_written(view: WorldView, entity: EntityType, id: object, facet: str) -> StoredEntity | None:
    """The fields written to an entity's facet (or its deletion), or None if it was never written."""
    return view.store.get_entity(view.snap.workspace, facet_type(entity, facet), str(id))


def write_facet(view: WorldView, entity: EntityType, id: object, facet: str, data: dict, *,
                replace: bool, shared: dict) -> None:
    """Store the fields written to an entity's facet: a PUT replaces those written before, a PATCH or POST
    merges over them; ``shared`` (fields the facet shares with its entity) is written to the entity too,
    so the facet and its entity keep agreeing."""
    if view.get(entity, id) is None:
        raise Problem(404, "Not found", f"{entity.name} {id} does not exist", field="id")
    if shared:
        update(view, entity, id, shared, replace=False)
    before = facet_written(view, entity, id, facet)
    kept = before.data if before is not None and not before.deleted and not replace else {}
    view.store.put_entity(view.snap.workspace, facet_type(entity, facet), str(id), {**kept, **data},
                          "replace" if replace else "patch", [])


def delete_facet(view: WorldView, entity: EntityType, id: object, facet: str) -> None:
    """Delete what was written to an entity's facet: its reads answer 404, or generated ones, until written again."""
    if view.get(entity, id) is None:
        raise Problem(404, "Not found", f"{entity.name} {id} does not exist", field="id")
    before = facet_written(view, entity, id, facet)
    view.store.delete_entity(view.snap.workspace, facet_type(entity, facet), str(id),
                             before.mode if before is not None else "generated")

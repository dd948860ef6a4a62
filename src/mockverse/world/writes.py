"""Writes through a world view: create, update and delete an entity, its parent key checked and its
links to its parent and persona recorded beside it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mockverse.problems import Problem
from mockverse.timeutil import format_rfc3339
from mockverse.world import graph as persona_graph
from mockverse.world.model import EntityType

if TYPE_CHECKING:
    from mockverse.world.view import WorldView

REPLACED = "$replaced"   # in a created entity's stored fields: a PUT replaced them (no generated ones beside)


def _parent_from(view: WorldView, entity: EntityType, data: dict, persona: str | None, required: bool) -> dict:
    """Normalise the parent key (any spelling, string or number) and check the parent exists."""
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
    if raw is None:
        if required:
            raise Problem(422, "Missing parent", f"'{entity.fk}' is required: every {entity.name} belongs "
                              f"to a {entity.parent.name}", field=entity.fk)
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


def create(view: WorldView, entity: EntityType, data: dict, *, id: object = None, persona: str | None = None) -> dict:
    """Create (or register) an entity; it links to its parent and persona by its keys."""
    if persona is not None:
        view.resolve(persona)
    own = {k: v for k, v in data.items() if k not in (entity.id_field, REPLACED)}
    data = _parent_from(view, entity, own, persona, required=True)
    workspace = view.snap.workspace
    if id is None:
        while True:
            id = entity.new_id(view.store.next_id(workspace, entity.name))
            if view.stored(entity, id) is None:
                break
    else:
        parsed = entity.valid_id(id)
        if parsed is None:
            raise Problem(422, "Invalid id", f"entity_id {str(id)[:40]!r} is not a valid {entity.name} id: "
                              f"it must be {entity.id_rule()}", field="entity_id")
        id = parsed
    data.setdefault("created_at", format_rfc3339(view.now))
    generated = view.origin(entity, id) is not None
    mode = "replace" if generated else "created"
    if generated:
        data.pop("created_at")
    links = persona_graph.links_for(view, entity, id, data, persona)
    view.store.put_entity(workspace, entity.name, str(id), data, mode, links)
    fresh = view.engine.view(workspace)
    created = fresh.get(entity, id)
    assert created is not None, "an entity just stored reads back"
    view.engine.events.emit(workspace, f"{entity.name}.created", ref=f"{entity.name}:{id}", entity=created,
                            at=format_rfc3339(fresh.now), persona=fresh.persona(entity, created))
    return created


def update(view: WorldView, entity: EntityType, id: object, data: dict, *, replace: bool) -> dict:
    """Change an entity's stored fields (a PATCH merges, a PUT replaces); the entity as it reads now."""
    current = view.get(entity, id)
    if current is None:
        raise Problem(404, "Not found", f"{entity.name} {id} does not exist", field="id")
    own = {k: v for k, v in data.items() if k not in (entity.id_field, REPLACED)}
    data = _parent_from(view, entity, own, None, required=False)
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
    view.store.put_entity(view.snap.workspace, entity.name, str(id), new, mode,
                          persona_graph.links_for(view, entity, id, effective, None))
    updated = view.engine.view(view.snap.workspace).get(entity, id)
    assert updated is not None, "an entity just stored reads back"
    return updated


def delete(view: WorldView, entity: EntityType, id: object) -> None:
    """Delete an entity (a tombstone over a generated one); what lies below it goes with it."""
    if view.get(entity, id) is None:
        raise Problem(404, "Not found", f"{entity.name} {id} does not exist", field="id")
    stored = view.stored(entity, id)
    view.store.delete_entity(view.snap.workspace, entity.name, str(id), stored.mode if stored else "generated")

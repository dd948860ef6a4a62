"""Fields computed over an entity's base: derivations (sums, counts, a parent's value, a
paid status) and the effects of the lifecycle state of the persona it belongs to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mockverse.world.derive import ABSENT, KeyPart, derived_value, paid_status, went_through
from mockverse.world.generate import currency_of
from mockverse.world.lists import edge_of
from mockverse.world.model import EntityType
from mockverse.world.persona import Personas
from mockverse.world.render import embedded_id

if TYPE_CHECKING:
    from mockverse.world.view import WorldView


def currency_above(view: WorldView, entity: EntityType, parent_id: object) -> str | None:
    """The currency of the persona above an entity (its country's), or None without one."""
    if entity.parent is None or parent_id is None or view.engine.personas is None:
        return None
    parent = view.get(entity.parent, parent_id)
    owner = persona_of(view, entity.parent, parent) if parent is not None else None
    return currency_of(owner[2]) if owner is not None else None


def derive(view: WorldView, entity: EntityType, id: object, data: dict) -> dict:
    """The entity's derived fields (its composite name, its config's ``derive`` rules) computed over ``data``."""
    data = composite_names(view, entity, id, data)
    if not entity.config.derive:
        return data
    data = dict(data)
    for field, rule in entity.config.derive.items():
        parent = kids = None
        if rule.parent:
            if entity.parent is None:
                continue
            parent = view.get(entity.parent, data.get(entity.fk))
        elif rule.paid_by:
            status = data.get(field)
            value = paid_status(rule, status, _paid_check(view, entity, id, rule.paid_by))
            if value != status:
                stored = view.stored(entity, id)
                if stored is None or field not in stored.data:   # a status the user gave stands
                    data[field] = value
            continue
        else:
            edge = rule.count or rule.sum
            kids = view.children(entity, id, edge) if edge else []
            if rule.sum and not kids:
                # nothing to sum: a value the user gave stands, otherwise the sum of nothing
                stored = view.stored(entity, id)
                if stored is not None and field in stored.data:
                    continue
        value = derived_value(rule, kids, parent)
        if value is not ABSENT:
            data[field] = value
    return data


def composite_names(view: WorldView, entity: EntityType, id: object, data: dict) -> dict:
    """The fields spelling an entity's composite path key (``full_name``: ``owner/name``): its key values
    joined by ``/`` as they read now (a renamed entity or owner renames it), unless a write set the field."""
    rule = entity.composite
    if rule is None or not rule.fields:
        return data
    values = [key_value(view, entity, id, data, part) for part in rule.parts]
    if not all(isinstance(value, str) and value for value in values):
        return data
    stored = view.stored(entity, id)
    given = stored.data if stored is not None else {}
    joined = "/".join(str(value) for value in values)
    return {**data, **{name: joined for name in rule.fields if name not in given}}


def owner_parts(view: WorldView, entity: EntityType, id: object, data: dict) -> tuple | None:
    """The values of the leading parts of an entity's composite key (the owner's login of ``owner/name``), which
    scope its own key: two owners may each have a repository of one name. None when the type has no such key, or
    when an entity not yet stored (``id`` None) does not name them itself (its owner is chosen later)."""
    rule = entity.composite
    if rule is None or len(rule.parts) < 2:
        return None
    leading = rule.parts[:-1]
    if id is None and not all(_named_in(entity, data, part) for part in leading):
        return None
    values = tuple(key_value(view, entity, id, data, part) for part in leading)
    return None if None in values else values


def _named_in(entity: EntityType, data: dict, part: KeyPart) -> bool:
    """Whether ``data`` itself names the entity a key part is read from (its embed, its reference or its parent)."""
    field = part.embed.field if part.embed else part.reference.field if part.reference else \
        entity.fk if part.parent else part.key
    return field is not None and data.get(field) is not None


def key_value(view: WorldView, entity: EntityType, id: object, data: dict, part: KeyPart) -> object:
    """One part of a composite key: the entity's own key field, or that of the entity the part names."""
    if part.embed is not None:
        target, target_id = part.embed.target, embedded_id(view, entity, id, data, part.embed)
    elif part.reference is not None:
        target, target_id = part.reference.target, data.get(part.reference.field)
    elif part.parent and entity.parent is not None:
        target, target_id = entity.parent, data.get(entity.fk)
    else:
        return data.get(part.key)
    parsed = target.parse_id(target_id) if target_id is not None else None
    related = view.get(target, parsed) if parsed is not None else None
    return related.get(part.key) if related is not None else None


def _paid_check(view: WorldView, entity: EntityType, id: object, relationship: str) -> Callable[[], bool]:
    """Whether the entity was paid, asked only when its status needs it."""
    return lambda: _paid(view, entity, id, relationship)


def _paid(view: WorldView, entity: EntityType, id: object, relationship: str) -> bool:
    """Whether any child over ``relationship`` (a payment) went through: its status is not ``failed``.
    Reads the children's own fields (before derivations), so it never re-enters ``entity``."""
    child = entity.children.get(relationship)
    if child is None:
        return True
    return went_through(_statuses(view, entity, id, child, relationship))


def _statuses(view: WorldView, entity: EntityType, id: object, child: EntityType, relationship: str) -> Iterator[Any]:
    """The ``status`` of each child over one edge, from its own fields. A generated child nobody
    changed has its status drawn alone (as the generator draws it), without building the child."""
    parent = view._base(entity, id)
    if parent is not None and view.origin(entity, id) is not None:
        times = view.child_times(entity, id, view.created_at_of(entity, parent), child)
        for k in range(1, len(times) + 1):
            cid = child.child_id(id, k)
            if view.stored(child, cid) is None:
                yield _drawn(view, child, cid, "status", times[k - 1])
            elif (kid := view._base(child, cid)) is not None and kid.get(child.fk) == id:
                yield kid.get("status")
    for ref in view.store.linked(view.snap.workspace, f"{entity.name}:{id}", relationship):
        kid = view._base(child, child.parse_id(ref.split(":", 1)[1]))
        if kid is not None and kid.get(child.fk) == id:
            yield kid.get("status")


def _drawn(view: WorldView, entity: EntityType, id: object, name: str, created: datetime) -> Any:
    """One field of a generated entity, drawn as ``_generate`` draws it (a choice or a schema value)."""
    schema = (entity.schema.get("properties") or {}).get(name)
    if not isinstance(schema, dict):
        return None
    ctx = {"created_at": created, "now": view.now, "person": entity.person, "currency": None,
           "fields": {n: rule.choices for n, rule in entity.config.fields.items()}}
    return view.gen.value(schema, f"{entity.name}:{id}", f"$.{name}", name, ctx, {}, 1)


def shape(view: WorldView, personas: Personas, entity: EntityType, id: object, data: dict) -> dict:
    """Lifecycle on the world: a persona carries its state; its entities get their state's effects."""
    if personas.is_persona(entity):
        life = personas.lifecycle(view, entity, id, data)
        data = {**data, "lifecycle_state": life.state.value}
        return personas.apply(entity.name, data, life, view.now)
    if entity.name not in personas.config.effects:
        return data
    owner = persona_of(view, entity, data)
    if owner is None:
        return data
    life = personas.lifecycle(view, *owner)
    return personas.apply(entity.name, data, life, view.now, latest=is_latest(view, entity, data))


def persona_of(view: WorldView, entity: EntityType, data: dict) -> tuple[EntityType, object, dict] | None:
    """The persona an entity belongs to (walking up its parents), or None."""
    personas = view.engine.personas
    while personas is not None and not personas.is_persona(entity):
        if entity.parent is None:
            return None
        parent = view.get(entity.parent, data.get(entity.fk))
        if parent is None:
            return None
        entity, data = entity.parent, parent
    return (entity, data.get(entity.id_field), data) if personas is not None else None


def is_latest(view: WorldView, entity: EntityType, data: dict) -> bool:
    """Is this the most recent entity of its kind for its persona (the last child at every level)?
    Looks at sibling ids only, so it never re-enters the entity being computed."""
    personas = view.engine.personas
    while entity.parent is not None and not (personas and personas.is_persona(entity)):
        siblings = view.child_ids(entity.parent, data.get(entity.fk), edge_of(entity))
        if not siblings or siblings[-1] != data.get(entity.id_field):
            return False
        parent = view._base(entity.parent, data.get(entity.fk))
        if parent is None:
            return False
        entity, data = entity.parent, parent
    return True

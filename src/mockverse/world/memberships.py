"""Memberships: a child type whose entities are a top-level type's (an org's ``members`` are ``user``\\ s).

Each generated child is a distinct entity of the top-level type, chosen by a stable draw per parent (the
``k``-th child of a parent is the root entity ``start + k``, wrapping, so no two children of one parent are
the same entity), and its fields are that entity's fields: the list and the entity's own item path answer
one body. A membership made by a write stores the entity it names (:data:`MEMBER`); deleting it ends the
membership, not the entity. A membership is found by the key of its entity, among its parent's children.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mockverse.problems import Problem
from mockverse.world.model import EntityType

if TYPE_CHECKING:
    from mockverse.world.view import WorldView

MEMBER = "$member"   # in a created membership's stored fields: the id of the entity it makes a member


def root_id(view: WorldView, entity: EntityType, id: object) -> object:
    """The id of the top-level entity membership ``id`` makes a member (None when it makes none)."""
    root = entity.member_of
    assert root is not None, f"{entity.name} is a membership"
    stored = view.stored(entity, id)
    if stored is not None and stored.mode == "created":
        return root.parse_id(stored.data.get(MEMBER))
    split = entity.split_id(id) if entity.parent is not None else (None, entity.root_index(id))
    parent_id, k = split if split is not None else (None, None)
    population = int(root.config.population or 0)
    if k is None or k > population:
        return None
    return root.root_id((_start(view, entity, parent_id) + k - 1) % population + 1)


def _start(view: WorldView, entity: EntityType, parent_id: object) -> int:
    """Where a parent's members start among the top-level entities (a stable draw per parent)."""
    population = int(entity.member_of.config.population or 0) if entity.member_of is not None else 0
    return int(view.gen.draw(entity.name, str(parent_id), "members") * population)


def slot(view: WorldView, entity: EntityType, member: object) -> object:
    """The id of a membership without a parent that makes ``member`` a member, so it is found without a scan: the
    one the generator gives it (the inverse of :func:`root_id`); for a member a write made (above the generated
    ones), the id of the same serial. None for no id of the member type."""
    root = entity.member_of
    assert root is not None and entity.parent is None, f"{entity.name} is a membership without a parent"
    serial, population = root.codec.decode(member), int(root.config.population or 0)
    if serial is None or serial < 1:
        return None
    if serial > population:
        return entity.root_id(serial)
    return entity.root_id((serial - 1 - _start(view, entity, None)) % population + 1)


def fields(view: WorldView, entity: EntityType, id: object, base: dict) -> dict | None:
    """A membership's fields: its entity's own (so both answer one body), with the key to its parent."""
    root = entity.member_of
    assert root is not None, f"{entity.name} is a membership"
    member = root_id(view, entity, id)
    data = view.get(root, member) if member is not None else None
    if data is None or entity.fk is None:
        return data
    return {**data, entity.fk: base.get(entity.fk)}


def root_of_key(view: WorldView, root: EntityType, raw: str) -> object:
    """The id of the top-level entity ``raw`` names, by its id or an alternative key (None if none)."""
    parsed = root.parse_id(raw)
    if parsed is not None and view.get(root, parsed) is not None:
        return parsed
    return root.by_key(view, raw) if root.keys else None


def find(view: WorldView, entity: EntityType, parent_id: object, member: object) -> object:
    """The id of the membership of ``parent_id`` that makes ``member`` a member (None if there is none): a scan
    of that parent's own children, bounded by their count (without a parent: the one its :func:`slot` holds)."""
    if entity.parent is None:
        id = slot(view, entity, member)
        data = view.get(entity, id) if id is not None else None
        return id if data is not None and root_id(view, entity, id) == member else None
    assert entity.relationship is not None, f"{entity.name} has an edge from its parent"
    for cid in view.child_ids(entity.parent, parent_id, entity.relationship):
        if root_id(view, entity, cid) == member:
            return cid
    return None


def adding(view: WorldView, entity: EntityType, data: dict, named: dict) -> tuple[dict, dict | None]:
    """The stored fields of a membership a create makes (its member: the one it was given, else the one its
    fields name by the member type's id or keys), and the existing membership of that member of that parent if
    there is one (None if not); 422 when the fields name no existing member."""
    root = entity.member_of
    assert root is not None, f"{entity.name} is a membership"
    member: object = root.parse_id(data.get(MEMBER))
    names = list(dict.fromkeys([root.id_field, *root.keys]))
    for name in names:
        raw = named.get(name)
        if member is None and isinstance(raw, (str, int)) and not isinstance(raw, bool):
            member = root_of_key(view, root, str(raw))
    if member is None or view.get(root, member) is None:
        raise Problem(422, "Invalid body", f"a {entity.name} names an existing {root.name} by "
                      f"{' or '.join(names)}", field=names[-1])
    parent_id = data.get(entity.fk) if entity.fk else None
    found = find(view, entity, parent_id, member) if parent_id is not None or entity.parent is None else None
    return {**data, MEMBER: member}, view.get(entity, found) if found is not None else None


def held_by(view: WorldView, member_type: EntityType, member: object) -> list[tuple[EntityType, object]]:
    """The memberships without a parent that make ``member`` a member (one per such type at most): they end with it
    (a membership under a parent ends by itself, its fields being gone)."""
    out: list[tuple[EntityType, object]] = []
    for entity in view.model.types.values():
        if entity.member_of is member_type and entity.parent is None:
            id = find(view, entity, None, member)
            if id is not None:
                out.append((entity, id))
    return out


def join(view: WorldView, entity: EntityType, parent_id: object, member: object) -> object:
    """Make ``member`` a member of ``parent_id`` (once: an existing membership stays); the membership's id."""
    found = find(view, entity, parent_id, member)
    if found is not None:
        return found
    view.create(entity, {**({entity.fk: parent_id} if entity.fk else {}), MEMBER: member})
    return find(view.engine.view(view.snap.workspace), entity, parent_id, member)

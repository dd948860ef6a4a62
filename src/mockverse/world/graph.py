"""The persona graph: edges out of an entity (children, parent, registered links), breadth-first
traversal over them, and the links a written entity makes from its keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mockverse.openapi.words import key_names
from mockverse.problems import Problem
from mockverse.world.model import EntityType

if TYPE_CHECKING:
    from mockverse.world.engine import WorldView


def neighbours(view: WorldView, entity: EntityType, id: object, data: dict,
               records: set[str] | None = None) -> list[tuple[str, EntityType, object, dict]]:
    """Edges out of one entity: children over each named edge, the parent over the reverse
    edge, and links a user registered. Message records (types marked ``record``: webhooks,
    tcp messages) are left out unless ``records`` names their type or edge (None: all kept)."""
    def hidden(rel: str, other: EntityType) -> bool:
        return (records is not None and getattr(other, "record", False)
                and other.name not in records and rel not in records)

    out: list[tuple[str, EntityType, object, dict]] = []
    seen: set[str] = set()
    for rel, child in entity.children.items():
        if hidden(rel, child):
            continue
        for kid in view.children(entity, id, rel):
            out.append((rel, child, kid[child.id_field], kid))
            seen.add(f"{child.name}:{kid[child.id_field]}")
    if entity.parent is not None:
        parent = view.get(entity.parent, data.get(entity.fk))
        if parent is not None:
            out.append((f"belongs_to_{entity.parent.name}", entity.parent, parent[entity.parent.id_field], parent))
            seen.add(f"{entity.parent.name}:{parent[entity.parent.id_field]}")
    me = f"{entity.name}:{id}"
    for parent_ref, rel, child_ref in view.store.links_of(view.snap.workspace, me):
        other, name = (child_ref, rel) if parent_ref == me else (parent_ref, "linked_from")
        if other in seen:
            continue
        kind, _, raw = other.partition(":")
        other_type = view.model.types.get(kind)
        if other_type is None or hidden(name, other_type):
            continue
        oid = other_type.parse_id(raw)
        odata = view.get(other_type, oid) if oid is not None else None   # None: a parentless_ref
        if odata is not None:
            out.append((name if parent_ref == me else f"belongs_to_{kind}", other_type, oid, odata))
            seen.add(other)
    return out

def traverse(view: WorldView, ref: str, type: str | None = None, relationship: str | None = None,
          depth: int = 1, limit: int = 1000) -> dict:
    """Breadth-first traversal from ``ref`` up to ``depth`` edges, optionally only over edges
    named ``relationship``; nodes of ``type`` (or all) are returned with the edges walked.
    Message records are walked only when ``type`` or ``relationship`` names them."""
    if "persona_graph" in view.engine.off:
        key = "consistency.enabled" if "consistency" in view.engine.off else "consistency.persona_graph.enabled"
        raise Problem(409, "Persona graph off", f"the persona graph is switched off ({key}: false); "
                          "entities are still served by their routes", field="ref")
    entity, id, data = view.resolve(ref)
    root = f"{entity.name}:{id}"
    nodes: list[dict] = []
    edges: list[dict] = []
    visited = {root}
    frontier = [(entity, id, data)]
    for distance in range(1, depth + 1):
        nxt = []
        for e, i, d in frontier:
            for rel, other, oid, odata in neighbours(view, e, i, d, {n for n in (type, relationship) if n}):
                if relationship and rel != relationship:
                    continue
                oref = f"{other.name}:{oid}"
                edges.append({"from": f"{e.name}:{i}", "to": oref, "relationship": rel})
                if oref in visited:
                    continue
                visited.add(oref)
                nxt.append((other, oid, odata))
                if type is None or other.name == type:
                    nodes.append({"ref": oref, "type": other.name, "id": oid, "distance": distance,
                                  "relationship": rel, "data": odata})
                if len(nodes) >= limit:
                    return {"root": root, "depth": depth, "nodes": nodes, "edges": edges, "truncated": True}
        frontier = nxt
    return {"root": root, "depth": depth, "nodes": nodes, "edges": edges, "truncated": False}


def named_by(view: WorldView, entity: EntityType, data: dict) -> list[tuple[EntityType, object]]:
    """The entities of other types a written entity's fields name: by its references (``author`` ->
    user), and by the key spellings of every type (``product_id``, ``productId``)."""
    out: list[tuple[EntityType, object]] = []
    for ref in entity.references:
        if not ref.many and ref.field in data:
            out.append((ref.target, ref.target.linked_id(data[ref.field], view, ref.key)))
    for other in view.model.types.values():
        if other is entity.parent or other is entity:
            continue
        out.extend((other, other.parse_id(data[name])) for name in key_names(other.name)[1:] if name in data)
    return list(dict.fromkeys((other, id) for other, id in out if id is not None))


def parentless_ref(entity: EntityType) -> str:
    """The ref the entities of a child type made without a parent are linked from, in creation order
    (``plugin:``: no entity has an empty id)."""
    return f"{entity.name}:"


def links_for(view: WorldView, entity: EntityType, id: object, data: dict, persona: str | None,
              under: tuple[EntityType, object] | None = None) -> list[tuple[str, str, str]]:
    """The links a written entity makes: from its parent (from its type's :func:`parentless_ref` when its
    key is null), from every other type its keys name (``product_id``, ``productId``), from the entity
    its path named (``under``) and from the persona it was created for."""
    me = f"{entity.name}:{id}"
    links: list[tuple[str, str, str]] = []
    relationship = entity.relationship
    if entity.parent is not None and relationship is not None and entity.fk is not None and entity.fk in data:
        parent = data[entity.fk]
        links.append((f"{entity.parent.name}:{parent}" if parent is not None else parentless_ref(entity),
                      relationship, me))
    for other in view.model.types.values():
        if other is entity.parent or other is entity:
            continue
        for spelling in key_names(other.name)[1:]:
            value = other.parse_id(data.get(spelling)) if spelling in data else None
            if value is not None:
                links.append((f"{other.name}:{value}", f"has_{entity.segment}", me))
    if under is not None:
        links.append((f"{under[0].name}:{under[1]}", f"has_{entity.segment}", me))
    if persona:
        links.append((persona, f"has_{entity.segment}", me))
    return list(dict.fromkeys(links))

"""The persona graph: edges out of an entity (children, parent, registered links), breadth-first
traversal over them, and the links a written entity makes from its keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
        odata = view.get(other_type, oid)
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


def links_for(view: WorldView, entity: EntityType, id: object, data: dict,
              persona: str | None) -> list[tuple[str, str, str]]:
    """The links a written entity makes: from its parent, from every other type its keys name
    (``product_id``, ``productId``), and from the persona it was created for."""
    me = f"{entity.name}:{id}"
    links = []
    if entity.parent is not None and data.get(entity.fk) is not None:
        links.append((f"{entity.parent.name}:{data[entity.fk]}", entity.relationship, me))
    for other in view.model.types.values():
        if other is entity.parent or other is entity:
            continue
        for spelling in (
            f"{other.name}_id",
            other.name.split("_")[0] + "".join(w.title() for w in other.name.split("_")[1:]) + "Id",
        ):
            value = other.parse_id(data.get(spelling)) if spelling in data else None
            if value is not None:
                links.append((f"{other.name}:{value}", f"has_{entity.segment}", me))
    if persona:
        links.append((persona, f"has_{entity.segment}", me))
    return list(dict.fromkeys(links))  # type: ignore[arg-type]  # relationship names are set for every child type

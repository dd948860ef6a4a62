"""Lists of a type and of one entity's children: the children over an edge, every entity of a
type in a stable order, and the counts and pages of child types from the index
(``world/index.py``), kept up to date by the changes a workspace makes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from mockverse.store import Read, setting_tags
from mockverse.world import graph as persona_graph
from mockverse.world import timeline
from mockverse.world.index import ChildIndex, Touched, build_index
from mockverse.world.model import EntityType

if TYPE_CHECKING:
    from mockverse.world.view import WorldView


def child_ids(view: WorldView, entity: EntityType, id: object, relationship: str) -> list:
    """Ids of the children over one edge, in order, from base data (no derivations, no effects)."""
    return view.cached(("ci", entity.name, id, relationship), lambda: _child_ids(view, entity, id, relationship))


def _child_ids(view: WorldView, entity: EntityType, id: object, relationship: str) -> list:
    """The children's ids over one edge: generated ones that still belong to it, then linked ones."""
    child = entity.children[relationship]
    out: list = []
    parent = view._base(entity, id)
    if parent is not None and view.origin(entity, id) is not None:
        for k in range(1, len(view.child_times(entity, id, view.created_at_of(entity, parent), child)) + 1):
            cid = child.child_id(id, k)
            if _untouched_child(view, entity, id, child, cid, k):
                out.append(cid)
                continue
            kid = view._base(child, cid)
            if kid is not None and kid.get(child.fk) == id:
                out.append(cid)
    for ref in view.store.linked(view.snap.workspace, f"{entity.name}:{id}", relationship):
        cid = child.parse_id(ref.split(":", 1)[1])
        kid = view._base(child, cid) if cid not in out else None
        if kid is not None and kid.get(child.fk) == id:
            out.append(cid)
    return out


def _untouched_child(view: WorldView, entity: EntityType, id: object, child: EntityType, cid: object,
                     k: int) -> bool:
    """Whether the ``k``-th generated child of an existing parent is certainly in its list without
    generating its fields: nobody changed it (no stored record) and nothing else may set its parent key
    (no learnt fields, the key is neither its id field nor an alternative key), so its base would be the
    generated one, whose key is this parent by construction."""
    if view.engine.learner is not None or not child.fk or child.fk in (child.id_field, *child.keys):
        return False
    if child.split_id(cid) != (id, k) or entity.parse_id(id) != id:
        return False
    return view.stored(child, cid) is None


def children(view: WorldView, entity: EntityType, id: object, relationship: str) -> list[dict]:
    """The children of one entity over one edge: generated ones in order, then linked ones."""
    child = entity.children.get(relationship)
    if child is None:
        return []
    return view.cached(("c", entity.name, id, relationship),
                       lambda: _children(view, entity, id, child, relationship))


def _children(view: WorldView, entity: EntityType, id: object, child: EntityType, relationship: str) -> list[dict]:
    """The children over one edge, built: generated ones in order, then linked ones."""
    out: list[dict] = []
    seen: set = set()
    generated = view.origin(entity, id) if view.get(entity, id) is not None else None
    if generated is not None:
        created = view.created_at_of(entity, view.get(entity, id) or {})
        ids = [child.child_id(id, k) for k in range(1, len(view.child_times(entity, id, created, child)) + 1)]
        read_ahead(view, child, ids)
        for cid in ids:
            kid = view.get(child, cid)
            if kid is not None and kid.get(child.fk) == id:
                out.append(kid)
                seen.add(cid)
    for ref in view.store.linked(view.snap.workspace, f"{entity.name}:{id}", relationship):
        cid = child.parse_id(ref.split(":", 1)[1])
        if cid in seen:
            continue
        kid = view.get(child, cid)
        if kid is not None and kid.get(child.fk) == id:
            out.append(kid)
            seen.add(cid)
    return out


def read_ahead(view: WorldView, entity: EntityType, ids: list) -> None:
    """Fetch in one store batch what building these entities reads one by one: the stored records
    (of those the type's listing, once read, says have one) and the links to their children, for
    each entity not already cached."""
    if view.snap.version <= 0:
        return
    known = view._stored_ids(entity.name)
    reads: list[Read] = []
    for id in ids:
        entry = view.engine.entities.get(view._key("e", entity.name, id))
        if entry is not None and view.engine.changes.fresh(entry):
            continue
        if known is None or str(id) in known:
            reads.append(("get_entity", (entity.name, str(id))))
        reads.extend(("linked", (f"{entity.name}:{id}", rel)) for rel in entity.children)
    view.store.read_ahead(view.snap.workspace, reads)


def all_of(view: WorldView, entity: EntityType) -> Callable[[], Any]:
    """Iterate every existing entity of a type, lazily, in a stable order."""
    def walk():
        """Every existing entity of the type: generated ones by position, then created ones."""
        if entity.parent is None:
            deleted = {entity.parse_id(i) for i in view.store.deleted_ids(view.snap.workspace, entity.name)}
            for index in range(1, (entity.config.population or 0) + 1):
                id = entity.root_id(index)
                if id not in deleted:
                    data = view.get(entity, id)
                    if data is not None:
                        yield data
            for raw in view.store.created_ids(view.snap.workspace, entity.name):
                data = view.get(entity, entity.parse_id(raw))
                if data is not None:
                    yield data
        else:
            for parent in all_of(view, entity.parent)():
                yield from children(view, entity.parent, parent[entity.parent.id_field], entity.relationship)
            for id in unrooted_ids(view, entity):
                data = view.get(entity, id)
                if data is not None:
                    yield data
    return walk


def count(view: WorldView, entity: EntityType) -> int:
    """How many entities of a type exist, without building them: a top-level type from its
    population, tombstones and created ones; a child type from the index (``_indexed_count``)."""
    workspace = view.snap.workspace
    if entity.parent is None:
        deleted = len([i for i in view.store.deleted_ids(workspace, entity.name)
                       if entity.root_index(entity.parse_id(i)) is not None])
        return (entity.config.population or 0) - deleted + len(view.store.created_ids(workspace, entity.name))
    return _indexed_count(view, entity) + len(unrooted_ids(view, entity))


def parentless_ids(view: WorldView, entity: EntityType) -> list:
    """Ids of the entities of a child type made without a parent, in the order they were made: lists of
    the type show them after every other. One store read of their links, cached until one is written."""
    if entity.parent is None or entity.relationship is None:
        return []
    relationship = entity.relationship
    return view.cached(("parentless", entity.name), lambda: [
        id for id in (entity.parse_id(ref.split(":", 1)[1]) for ref in view.store.linked(
            view.snap.workspace, persona_graph.parentless_ref(entity), relationship)) if id is not None])


def unrooted_ids(view: WorldView, entity: EntityType) -> list:
    """Ids of the entities of a child type with no top-level entity above them: made without a parent,
    or below one that was (level by level, from the top), in the order lists show them."""
    _, chain = lineage(entity)
    out: list = []
    for depth, kind in enumerate(chain):
        for id in parentless_ids(view, kind):
            out.extend([id] if kind is entity else descendant_ids(view, kind, id, chain[depth + 1:]))
    return out


def page(view: WorldView, entity: EntityType, page: int, per_page: int) -> list[dict]:
    """The ``page``-th page (1-based) of ``per_page`` entities of a type, in its stable order."""
    return rows(view, entity, (page - 1) * per_page, page * per_page)


def rows(view: WorldView, entity: EntityType, start: int, stop: int) -> list[dict]:
    """The entities at positions ``start`` to ``stop`` (exclusive) of the type's stable order;
    a top-level type without deletions builds only those."""
    if stop <= start:
        return []
    if entity.parent is not None:
        return _indexed_rows(view, entity, start, stop)
    if entity.parent is None and not view.store.deleted_ids(view.snap.workspace, entity.name):
        population = entity.config.population or 0
        ids = [entity.root_id(i) for i in range(start + 1, min(population, stop) + 1)]
        read_ahead(view, entity, ids)
        out = [d for d in (view.get(entity, i) for i in ids) if d is not None]
        if len(out) < stop - start:
            created = view.store.created_ids(view.snap.workspace, entity.name)
            skip = max(0, start - population)
            for raw in created[skip: skip + stop - start - len(out)]:
                data = view.get(entity, entity.parse_id(raw))
                if data is not None:
                    out.append(data)
        return out
    out = []
    for i, data in enumerate(all_of(view, entity)()):
        if i >= stop:
            break
        if i >= start:
            out.append(data)
    return out


def child_index(view: WorldView, entity: EntityType) -> ChildIndex:
    """The index of a child type under the top-level type above it (``/orders`` and ``/order_items``
    per user) in the unchanged world at this clock position, built on first use from the
    timelines alone (shared by every workspace with the same seed and clock)."""
    pristine = view.pristine()
    key = (*pristine.snap.world, entity.name)
    index = view.engine.indexes.get(key)
    if index is None:
        root, chain = lineage(entity)
        with view.engine.indexing:
            index = view.engine.indexes.get(key) or view.engine.indexes.put(key, build_index(
                root.config.population or 0, lambda position: generated_count(pristine, root, chain, position),
                entity.segment))
    return index


def generated_count(view: WorldView, root: EntityType, chain: list[EntityType], position: int) -> int:
    """How many entities of ``chain[-1]`` the generator places under the ``position``-th
    top-level entity, from the timelines down ``chain`` (its child types, in order): draws only."""
    id = root.root_id(position)
    created = timeline.whole_seconds(view.root_created_at(root, id))   # as its record's created_at reads
    segments = None
    personas, head = view.engine.personas, chain[0].config
    if head.count is None and head.paced_by_lifecycle and personas is not None and personas.is_persona(root):
        segments = personas.generated_segments(view, f"{root.name}:{id}", created)
    offsets = view.generated_offsets(root, id, created, chain[0], segments)
    return _generated_below(view, chain, id, created, offsets)


def _generated_below(view: WorldView, chain: list[EntityType], parent_id: object, parent_created: datetime,
                     offsets: list[int]) -> int:
    """How many ``chain[-1]`` entities lie under children at ``offsets`` of ``chain[0]``'s parent."""
    if len(chain) == 1:
        return len(offsets)
    child, total = chain[0], 0
    for k, at in enumerate(offsets, start=1):
        id = child.child_id(parent_id, k)
        created = timeline.whole_seconds(parent_created + timedelta(microseconds=at))
        total += _generated_below(view, chain[1:], id, created, view.generated_offsets(child, id, created, chain[1]))
    return total


def differences(view: WorldView, entity: EntityType) -> Touched:
    """The top-level entities whose descendants of ``entity``'s type this workspace's changes made
    differ from the index, exactly counted. Kept per workspace and clock position, and brought up
    to date by the changes since: each write recounts the few entities it touched, O(log N) each."""
    index = child_index(view, entity)
    if view.snap.version == 0:
        return Touched(index.parents)
    key = (*view.snap.world, entity.name)
    engine = view.engine
    with engine.differing:
        tick, kept = engine.changes.tick, engine.differences.get(key)
        changed = engine.changes.since(view.snap.workspace, kept[0]) if kept is not None else None
        if kept is None or changed is None:
            touched, tags = view.tagged(lambda: _find_touched(view, entity, index))
        else:
            touched = kept[1]
            _, tags = view.tagged(lambda: _recount(view, entity, index, touched, _roots_changed(view, entity, changed)))
        touched.deps.update(tags)   # what a count or a page read from it depends on
        engine.differences.put(key, (tick, touched))
    view.note_all(touched.deps)
    return touched


def _find_touched(view: WorldView, entity: EntityType, index: ChildIndex) -> Touched:
    """Every top-level entity whose descendants of ``entity``'s type may differ from the index
    (it, or an entity below it, has a stored record or lifecycle), recounted."""
    root, chain = lineage(entity)
    workspace = view.snap.workspace
    view.note(setting_tags(f"lifecycle:{root.name}:")[1])   # a lifecycle set later re-paces its persona
    ids: set[object] = {root.parse_id(raw) for raw in view.store.stored_ids(workspace, root.name)}
    prefix = f"lifecycle:{root.name}:"
    ids.update(root.parse_id(key[len(prefix):]) for key in view.store.setting_keys(workspace, prefix))
    for kind in chain:
        for raw in view.store.stored_ids(workspace, kind.name):
            ids.update(_roots_above(view, kind, kind.parse_id(raw)))
    touched = Touched(index.parents)
    positions = {root.root_index(id) for id in ids if id is not None}
    _recount(view, entity, index, touched, {p for p in positions if p is not None})
    return touched


def _roots_changed(view: WorldView, entity: EntityType, tags: list[str]) -> set[int]:
    """Positions of the top-level entities above what the change ``tags`` name (a record, its
    links, a persona's lifecycle) of ``entity``'s lineage."""
    root, chain = lineage(entity)
    kinds = {kind.name: kind for kind in (root, *chain)}
    ids: set[object] = set()
    for tag in tags:
        kind, _, raw = tag.partition(":")
        if kind in ("e", "l"):
            name, _, raw = raw.partition(":")
            if name in kinds:
                ids.update(_roots_above(view, kinds[name], kinds[name].parse_id(raw)))
        elif kind == "g" and raw.startswith(f"lifecycle:{root.name}:"):
            ids.add(root.parse_id(raw.split(":", 2)[2]))
    return {p for p in (root.root_index(id) for id in ids if id is not None) if p is not None}


def _roots_above(view: WorldView, entity: EntityType, id: object) -> set[object]:
    """The top-level ids above one entity: by its generated id's parent, and by its record's key."""
    if id is None:
        return set()
    if entity.parent is None:
        return {id}
    above: set[object] = set()
    split = entity.split_id(id)
    if split is not None:
        above |= _roots_above(view, entity.parent, split[0])
    stored = view.store.untagged.get_entity(view.snap.workspace, entity.name, str(id))
    if stored is not None and entity.fk and stored.data.get(entity.fk) is not None:
        above |= _roots_above(view, entity.parent, entity.parent.parse_id(stored.data[entity.fk]))
    return above


def _recount(view: WorldView, entity: EntityType, index: ChildIndex, touched: Touched, positions: set[int]) -> None:
    """Set the differences from the index of the top-level entities at ``positions`` to what they hold now."""
    root, chain = lineage(entity)
    for position in positions:
        exact = len(descendant_ids(view, root, root.root_id(position), chain))
        touched.set(position, exact - index.generated(position))


def descendant_ids(view: WorldView, entity: EntityType, id: object, chain: list[EntityType]) -> list:
    """Ids of the ``chain[-1]`` entities below one entity, down ``chain`` (its child types, in
    order), in the stable order lists show them (each child's own below it, in turn)."""
    ids = child_ids(view, entity, id, edge_of(chain[0]))
    if len(chain) == 1:
        return ids
    return [below for kid in ids for below in descendant_ids(view, chain[0], kid, chain[1:])]


def _created_roots(view: WorldView, entity: EntityType) -> Iterator[object]:
    """Ids of the top-level entities users created above ``entity``'s type (after the generated ones)."""
    root, _ = lineage(entity)
    for raw in view.store.created_ids(view.snap.workspace, root.name):
        yield root.parse_id(raw)


def _indexed_count(view: WorldView, entity: EntityType) -> int:
    """How many entities of a child type exist: the index, the touched top-level entities'
    differences, and what lies under created top-level entities."""
    index, touched = child_index(view, entity), differences(view, entity)
    root, chain = lineage(entity)
    total = index.prefix[index.parents] + touched.shift(index.parents)
    for id in _created_roots(view, entity):
        total += len(descendant_ids(view, root, id, chain))
    return total


def _indexed_rows(view: WorldView, entity: EntityType, start: int, stop: int) -> list[dict]:
    """The entities at positions ``start`` to ``stop``: the index finds the first one's top-level entity."""
    root, chain = lineage(entity)
    index, touched = child_index(view, entity), differences(view, entity)
    position, skip = touched.locate(index, start)
    want = stop - start
    ids: list = []
    while position <= index.parents and len(ids) < want:
        if touched.count(index, position) > 0:
            kids = descendant_ids(view, root, root.root_id(position), chain)
            ids.extend(kids[skip: skip + want - len(ids)])
            skip = 0
        position += 1
    for id in _created_roots(view, entity) if len(ids) < want else ():
        kids = descendant_ids(view, root, id, chain)
        if skip >= len(kids):
            skip -= len(kids)
            continue
        ids.extend(kids[skip: skip + want - len(ids)])
        skip = 0
        if len(ids) >= want:
            break
    if len(ids) < want:
        ids.extend(unrooted_ids(view, entity)[skip: skip + want - len(ids)])
    read_ahead(view, entity, ids)
    return [data for data in (view.get(entity, id) for id in ids) if data is not None]


def parent_of(entity: EntityType) -> EntityType:
    """The parent type of a child type: the callers walk child types only."""
    assert entity.parent is not None, f"{entity.name} is not a child type"
    return entity.parent


def lineage(entity: EntityType) -> tuple[EntityType, list[EntityType]]:
    """The top-level type above a child type, and the child types from below it down to ``entity``."""
    chain = [entity]
    while (parent := parent_of(chain[0])).parent is not None:
        chain.insert(0, parent)
    return parent, chain


def edge_of(entity: EntityType) -> str:
    """The edge from a child type's parent to it: every child type has one."""
    relationship = entity.relationship
    assert relationship is not None, f"{entity.name} is not a child type"
    return relationship

"""Message records: what a protocol sent about a persona, kept in the world's graph.

Each message a protocol (webhooks, TCP) sends about a persona is kept as a *record*: an entity
of a record type hung under the persona type (``user`` --has_webhooks--> ``webhook``), stored
like an entity a user created, so ``GET /api/v1/consistency/graph/user:123?type=webhook`` lists
what was sent about that persona. A record type generates nothing, exists only while its
protocol is configured, and shows in a persona's mock body only if the spec's schema has a
property of its name (bodies embed what the schema asks for, nothing else). Graph walks and TCP
``related`` skip records unless ``type`` or ``relationship`` names them, so reading a persona's
graph never grows it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from mockverse.config import EntityConfig
from mockverse.timeutil import format_rfc3339
from mockverse.world.model import EntityType, WorldModel

if TYPE_CHECKING:
    from mockverse.world.engine import ConsistencyEngine


class RecordType(EntityType):
    """An entity type whose entities are only ever stored records: the generator makes none,
    and their ids (1, 2, 3, ... per workspace) never collide with generated ones. Marked
    ``record`` so graph walks leave them out unless asked for by type or edge."""

    record: ClassVar[bool] = True

    def split_id(self, id: object) -> tuple[object, int] | None:
        return None

    def new_id(self, counter: int) -> object:
        return counter


def _persona_type(model: WorldModel) -> EntityType | None:
    return next((t for t in model.types.values() if t.parent is None and t.person), None)


def ensure_record_type(model: WorldModel, name: str, relationship: str,
                       persona: EntityType | None = None) -> RecordType | None:
    """Add the record type ``name`` under the persona type (``persona``, else the first
    person-like top-level type) over the edge ``relationship``; idempotent. None when the
    world has no persona type, or already has a type of that name of its own."""
    existing = model.types.get(name)
    if isinstance(existing, RecordType):
        return existing
    parent = persona or _persona_type(model)
    if existing is not None or parent is None:
        return None
    segment = relationship.removeprefix("has_")
    fk = f"{parent.name}_id"
    config = EntityConfig.model_validate(
        {"path": f"/{segment}", "schema": name, "count": [0, 0],
         "parent": {"type": parent.name, "field": fk, "relationship": relationship}})
    schema = {"type": "object", "properties": {"id": {"type": "integer"}, fk: {}, "created_at": {"type": "string"}}}
    entity = RecordType(name, config, schema, segment, parent=parent, parent_field=fk, parent_relationship=relationship)
    parent.children[relationship] = entity
    model.types[name] = entity
    return entity


def record(engine: ConsistencyEngine, workspace: str, type_name: str, persona_ref: str,
           data: dict[str, Any]) -> dict | None:
    """Store one record of ``type_name`` about ``persona_ref`` (``user:123``), linked to it, and
    return it (with its ``id``); None when the type is not a record type or the ref is not a
    persona of it. ``created_at`` defaults to the workspace's virtual now. Emits no event."""
    entity = engine.model.types.get(type_name)
    if not isinstance(entity, RecordType) or entity.parent is None or entity.relationship is None \
            or entity.fk is None:
        return None
    kind, _, raw = persona_ref.partition(":")
    persona_id = entity.parent.parse_id(raw) if kind == entity.parent.name else None
    if persona_id is None:
        return None
    id = entity.new_id(engine.store.next_id(workspace, entity.name))
    stored = {**data, "id": id, entity.fk: persona_id}
    stored.setdefault("created_at", format_rfc3339(engine.clock(workspace).now))
    me = f"{entity.name}:{id}"
    engine.store.put_entity(workspace, entity.name, str(id), stored, "created",
                            [(f"{entity.parent.name}:{persona_id}", entity.relationship, me)])
    return stored

"""Entity types of a world and the edges between them, built from config and schemas."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from mockverse.config import EntityConfig, WorldConfig
from mockverse.world.generate import PERSON_TYPES, merge_schema, schema_types

if TYPE_CHECKING:
    from mockverse.openapi import InferredWorld, Spec


class WorldError(ValueError):
    """The world definition does not fit the spec (e.g. a schema name that does not exist)."""


INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1


@dataclass
class EntityType:
    """One entity type: its config, its item schema, its parent and children."""

    name: str
    config: EntityConfig
    schema: dict
    segment: str                                    # last segment of its collection path: "orders"
    parent: EntityType | None = None
    children: dict[str, EntityType] = field(default_factory=dict)   # relationship -> child type
    integer_ids: bool = True
    max_generated_id: int = 0
    id_field: str = "id"                            # the property that holds the id ("username", "projectId")
    embeds_by_name: ClassVar[bool] = True           # children/parent embedded under their names (built-in world)

    @property
    def person(self) -> bool:
        return self.name in PERSON_TYPES

    @property
    def fk(self) -> str | None:
        """The canonical foreign-key field to the parent (``user_id``)."""
        return self.config.parent.field if self.config.parent else None

    @property
    def relationship(self) -> str | None:
        """The edge name from the parent, ``has_<segment>`` unless the config names it."""
        if self.config.parent is None:
            return None
        return self.config.parent.relationship or f"has_{self.segment}"

    def fk_spellings(self) -> list[str]:
        """Every spelling of the parent key accepted on input: ``user_id``, ``userId``."""
        if not self.parent:
            return []
        p = self.parent.name
        camel = p.split("_")[0] + "".join(w.title() for w in p.split("_")[1:]) + "Id"
        return list(dict.fromkeys(name for name in (self.fk, f"{p}_id", camel) if name))

    def parse_id(self, raw: object) -> int | str | None:
        """An id from a path or a body, in this type's id type (integers: 0 to 2^63-1, so a read of
        an id no entity can have finds nothing); None when it cannot be one. Writes also check
        :meth:`valid_id`."""
        if self.integer_ids:
            if isinstance(raw, bool):
                return None
            if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 19:
                raw = int(raw)
            return raw if isinstance(raw, int) and 0 <= raw <= INT64_MAX else None
        return str(raw) if isinstance(raw, (str, int)) and not isinstance(raw, bool) and str(raw) else None

    def valid_id(self, raw: object) -> int | str | None:
        """The id a write may store: parsed, and for integer ids within :meth:`id_range`; else None."""
        id = self.parse_id(raw)
        if not isinstance(id, int) or not self.integer_ids:
            return id
        low, high = self.id_range()
        return id if low <= id <= high else None

    def id_range(self) -> tuple[int, int]:
        """The integer ids this type takes: positive, within a signed 64-bit integer (what SQLite and
        most backends store), narrowed by the id schema's ``format: int32``, ``minimum`` and ``maximum``."""
        schema = (self.schema.get("properties") or {}).get(self.id_field) if isinstance(self.schema, dict) else None
        schema = schema if isinstance(schema, dict) else {}
        low, high = 1, INT64_MAX if schema.get("format") != "int32" else INT32_MAX
        minimum, maximum = schema.get("minimum"), schema.get("maximum")
        if isinstance(minimum, int) and not isinstance(minimum, bool) and 0 <= minimum <= high:
            low = minimum
        if isinstance(maximum, int) and not isinstance(maximum, bool) and low <= maximum < high:
            high = maximum
        return low, high

    def id_rule(self) -> str:
        """What an id of this type must be, for error messages."""
        if not self.integer_ids:
            return "a non-empty string"
        low, high = self.id_range()
        return f"an integer from {low} to {high}"

    # -- id scheme: a generated child's id encodes its parent, so the parent is computed ----------
    def root_id(self, index: int) -> object:
        """The id of the ``index``-th (1-based) generated entity of a top-level type."""
        return index

    def root_index(self, id: object) -> int | None:
        """Which generated top-level entity ``id`` is (1-based), or None if not a generated id."""
        if not isinstance(id, int) or not 1 <= id <= (self.config.population or 0):
            return None
        return id

    def child_id(self, parent_id: object, k: int) -> object:
        """The id of the ``k``-th (1-based) generated child of ``parent_id``."""
        return parent_id * self.config.id_multiplier + k  # type: ignore[operator]  # built-in ids are ints; spec worlds override

    def split_id(self, id: object) -> tuple[object, int] | None:
        """(parent id, k) for an id the generator could have made, else None; O(1), no lookups."""
        if not isinstance(id, int) or id < 1 or self.parent is None:
            return None
        parent_id, k = divmod(id, self.config.id_multiplier)
        if k < 1 or parent_id > self.parent.max_generated_id:
            return None
        return parent_id, k

    def new_id(self, counter: int) -> object:
        """The id of the ``counter``-th created entity: above every id the generator can produce."""
        return self.max_generated_id + counter

    def complete(self, view: object, id: object, data: dict, given: dict | None) -> dict:
        """Fields the world decides once the schema's fields are generated; the built-in world has none."""
        return data

    def link(self, view: object, id: object, data: dict) -> dict:
        """References to other entities, filled on the entity's full read (never while its base data,
        which sibling lists and parent checks need, is generated); the built-in world has none."""
        return data


@dataclass
class WorldModel:
    """All entity types of the served world."""

    types: dict[str, EntityType]
    epoch: datetime
    links: list[dict] = field(default_factory=list)    # every relationship and how the world uses it
    title: str | None = None
    excluded: dict = field(default_factory=dict)        # types and relationships the config dropped

    @classmethod
    def from_spec(cls, spec: Spec, inferred: InferredWorld, world: WorldConfig) -> WorldModel:
        """The world of a user's spec: the inferred entity types and relationships, corrected by
        the config's ``world`` section (see :class:`SpecWorldBuilder`)."""
        from mockverse.world.specworld import SpecWorldBuilder

        return SpecWorldBuilder(spec, inferred, world).build()

    @classmethod
    def build(cls, world: WorldConfig, schemas: dict[str, dict]) -> WorldModel:
        types: dict[str, EntityType] = {}
        for name, cfg in world.entities.items():
            if cfg.schema_ is None or cfg.schema_ not in schemas:
                raise WorldError(f"world.entities.{name}.schema: no schema '{cfg.schema_}' in the spec; "
                                 f"known: {', '.join(sorted(schemas))}")
            schema = merge_schema(schemas[cfg.schema_])
            id_schema = (schema.get("properties") or {}).get("id", {})
            integer = "integer" in schema_types(merge_schema(id_schema)) if id_schema else True
            segment = (cfg.path or "").rstrip("/").rsplit("/", 1)[-1]
            types[name] = EntityType(name, cfg, schema, segment, integer_ids=integer)
        for entity in types.values():
            if entity.config.parent and entity.relationship:
                parent = types[entity.config.parent.type]
                entity.parent = parent
                parent.children[entity.relationship] = entity
        for entity in types.values():
            entity.max_generated_id = _max_generated(entity)
        return cls(types, world.epoch)

    def edges(self) -> list[str]:
        """Names of the graph's edges: children, ``has_<segment>`` links, ``belongs_to_<type>``."""
        types = self.types.values()
        return sorted({rel for t in types for rel in t.children} | {f"has_{t.segment}" for t in types}
                      | {f"belongs_to_{t.name}" for t in types})

    def describe(self, operations: list[tuple[str, str]] | None = None) -> dict:
        """The world as inferred and configured: entity types (where they are served, how many,
        their id scheme, their parent) and every relationship with its evidence and its use.
        ``operations`` (method, path) attach paths to the built-in world's types."""
        out = []
        for entity in self.types.values():
            source = getattr(entity, "inferred", None)
            codec = getattr(entity, "codec", None)
            ops = (
                list(source.operations)
                if source is not None
                else [
                    f"{m} {p}"
                    for m, p in operations or []
                    if p == entity.config.path or p.startswith(f"{entity.config.path}/")
                ]
            )
            cfg = entity.config
            row = {
                "name": entity.name,
                "origin": source.origin if source is not None else "config",
                "collection_path": source.collection_path if source is not None else cfg.path,
                "item_path": source.item_path if source is not None else None,
                "schema": source.schema_name if source is not None else cfg.schema_,
                "id_field": entity.id_field,
                "id_param": source.id_param if source is not None else None,
                "id_scheme": codec.describe() if codec is not None else "integer",
                "id_example": entity.root_id(1) if entity.parent is None else None,
                "parent": (
                    {"type": entity.parent.name, "field": entity.fk, "relationship": entity.relationship}
                    if entity.parent is not None
                    else None
                ),
                "population": cfg.population if entity.parent is None else None,
                "per_parent": (list(cfg.count) if cfg.count else f"one every {_days(cfg.every)}")
                if entity.parent
                else None,
                "estimated_total": _estimate(entity),
                "references": [
                    {"field": r.field, "target": r.target.name, "many": r.many}
                    for r in getattr(entity, "references", [])
                ],
                "embeds": [
                    {"field": e.field + (f".{e.inner}" if e.inner else ""), "target": e.target.name}
                    for e in getattr(entity, "embeds", [])
                ] + [
                    {"field": ".".join(d.path), "target": d.targets[0].name}
                    for d in getattr(entity, "deep", [])
                    if d.embed and len(d.path) == 2 and len(d.targets) == 1 and "[" not in "".join(d.path)
                ],
                "operations": ops,
            }
            out.append(row)
        return {"title": self.title, "entity_types": out, "relationships": list(self.links), "excluded": self.excluded}

    def by_segment(self, segment: str) -> EntityType | None:
        return next((t for t in self.types.values() if t.segment == segment), None)

    def embed_names(self, entity: EntityType) -> dict[str, tuple[str, str | None]]:
        """Property names that embed related entities: ``orders`` -> ("children", "has_orders"),
        ``user`` -> ("parent", None)."""
        names: dict[str, tuple[str, str | None]] = {}
        if not entity.embeds_by_name:
            return names  # a spec world embeds by its schemas' shapes (see world.render)
        for rel, child in entity.children.items():
            names[rel.removeprefix("has_")] = ("children", rel)
            names[child.segment] = ("children", rel)
        if entity.parent:
            names[entity.parent.name] = ("parent", None)
        return names


def _max_generated(entity: EntityType) -> int:
    if entity.parent is None:
        return int(entity.config.population or 0)
    return (_max_generated(entity.parent) + 1) * entity.config.id_multiplier - 1


def _estimate(entity: EntityType) -> int | None:
    """About how many generated entities a type has (children: the mean count per parent)."""
    if entity.parent is None:
        return int(entity.config.population or 0)
    parent = _estimate(entity.parent)
    if parent is None or entity.config.count is None:
        return None
    low, high = entity.config.count
    return round(parent * (low + high) / 2)


def _days(span: object) -> str:
    seconds = int(span.total_seconds()) if hasattr(span, "total_seconds") else 0
    return f"{seconds // 86400}d" if seconds % 86400 == 0 else f"{seconds}s"

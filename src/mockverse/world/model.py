"""Entity types of a world and the edges between them, built from config and schemas."""

from __future__ import annotations

from dataclasses import dataclass, field

from mockverse.config import EntityConfig, WorldConfig
from mockverse.world.generate import PERSON_TYPES, merge_schema, schema_types


class WorldError(ValueError):
    """The world definition does not fit the spec (e.g. a schema name that does not exist)."""


@dataclass
class EntityType:
    """One entity type: its config, its item schema, its parent and children."""

    name: str
    config: EntityConfig
    schema: dict
    segment: str                                    # last segment of its collection path: "orders"
    parent: "EntityType | None" = None
    children: dict[str, "EntityType"] = field(default_factory=dict)   # relationship -> child type
    integer_ids: bool = True
    max_generated_id: int = 0

    @property
    def person(self) -> bool:
        return self.name in PERSON_TYPES

    @property
    def fk(self) -> str | None:
        """The canonical foreign-key field to the parent (``user_id``)."""
        return self.config.parent.field if self.config.parent else None

    @property
    def relationship(self) -> str | None:
        return self.config.parent.relationship if self.config.parent else None

    def fk_spellings(self) -> list[str]:
        """Every spelling of the parent key accepted on input: ``user_id``, ``userId``."""
        if not self.parent:
            return []
        p = self.parent.name
        camel = p.split("_")[0] + "".join(w.title() for w in p.split("_")[1:]) + "Id"
        return list(dict.fromkeys([self.fk, f"{p}_id", camel]))

    def parse_id(self, raw: object) -> int | str | None:
        """An id from a path or a body, in this type's id type; None when it cannot be one."""
        if self.integer_ids:
            if isinstance(raw, bool):
                return None
            if isinstance(raw, int):
                return raw
            if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) < 19:
                return int(raw)
            return None
        return str(raw) if isinstance(raw, (str, int)) and not isinstance(raw, bool) and str(raw) else None

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
        return parent_id * self.config.id_multiplier + k  # type: ignore[operator]

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


@dataclass
class WorldModel:
    """All entity types of the served world."""

    types: dict[str, EntityType]
    epoch: object

    @classmethod
    def build(cls, world: WorldConfig, schemas: dict[str, dict]) -> "WorldModel":
        types: dict[str, EntityType] = {}
        for name, cfg in world.entities.items():
            if cfg.schema_ not in schemas:
                raise WorldError(f"world.entities.{name}.schema: no schema '{cfg.schema_}' in the spec; "
                                 f"known: {', '.join(sorted(schemas))}")
            schema = merge_schema(schemas[cfg.schema_])
            id_schema = (schema.get("properties") or {}).get("id", {})
            integer = "integer" in schema_types(merge_schema(id_schema)) if id_schema else True
            types[name] = EntityType(name, cfg, schema, cfg.path.rstrip("/").rsplit("/", 1)[-1], integer_ids=integer)
        for entity in types.values():
            if entity.config.parent:
                parent = types[entity.config.parent.type]
                entity.parent = parent
                parent.children[entity.config.parent.relationship] = entity
        for entity in types.values():
            entity.max_generated_id = _max_generated(entity)
        return cls(types, world.epoch)

    def by_segment(self, segment: str) -> EntityType | None:
        return next((t for t in self.types.values() if t.segment == segment), None)

    def embed_names(self, entity: EntityType) -> dict[str, tuple[str, str | None]]:
        """Property names that embed related entities: ``orders`` -> ("children", "has_orders"),
        ``user`` -> ("parent", None)."""
        names: dict[str, tuple[str, str | None]] = {}
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

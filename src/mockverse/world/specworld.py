"""The world of a spec (the built-in one too): inferred entity types and relationships made into a world model.

Rules (the world view, ``GET /api/v1/consistency/world``, shows how each was applied):

* **Population.** A top-level type has 50 generated entities (``world.entities.<type>.
  population``); a child type has ``count: [0, 4]`` per parent (``[1, 4]`` when a list method naming the
  parent says its list is never empty: ``minItems: 1``).
* **One parent per child type**, the strongest candidate that keeps the parent graph
  acyclic: (3) a foreign key confirmed by path nesting (``/Projects/{projectId}/Tasks`` and
  ``Task.projectId``), or a type that only exists under another's path
  (``/subscriptions/{id}/transactions``); (2) path nesting plus an embedded single object of
  the parent (``/albums/{id}/tracks`` and ``Track.album``); (1) a foreign key the schema
  requires and does not allow to be null. Ties go to the higher confidence. A child must
  have a parent in the engine, so an optional foreign key is a *reference* instead: it is
  filled with the id of an entity that exists (of the right parent when the target is
  itself a child: a time entry's ``taskId`` is a task of its own project).
* **Ids** keep the spec's spelling and shape: the inferred id field (``username``,
  ``projectId``) holds the id, rendered by a codec from :mod:`mockverse.world.idscheme`.
  Dangling types (named by a foreign key but not defined) get ids too, so the key holds one.
  An item path also answers at an alternative key: a field its parameter names (``service_id_or_name``) or
  describes, or the one whose schema is the parameter's own (a client-chosen ``uid``); generated entities get
  unique key values from a key codec, created ones keep the client's (a nullable one left out stays null).
* **Shapes.** A type's own collection list (its items, or the one object a collection path is
  declared to answer) is a variant of it, and its enums become the type's, so list and item
  agree; an envelope around one object of the type (``{token: {...}}``) is not the type; a type
  of several ``oneOf`` shapes has every shape's properties; a type with no ``id`` property is
  keyed by the property its path parameter names (``/env/{key}``). Ids whose own schema says
  nothing take the shape of the objects embedding them, or the prefix the type's examples show.
* **Embeds** inside an object (``repo_transfer.doer``, through a nullable ``oneOf``) are deep links;
  an embedded object whose id field cannot hold the target's ids (integers for string ids), or
  whose target's own schema has no such field, is reported, not filled; so is a key whose own
  ``pattern`` refuses the target's ids. A property named with a dot (``"project.created"``) is
  one property, not a path.
* **Own parent.** A child's single link named for its parent's type, or for a type of the parent's
  schema (an issue's ``repository``, a label's ``repository_id`` under its repo), holds that parent,
  not another entity; unless the parent key is a field named for a role (``creator_id``), beside
  which a ``user_id`` is another role.
* **Keyed links.** A link that holds a key of its target other than its id (inference read it in its
  description: a member's ``identity`` is its user's; or the field is named for one of the target's keys, whole
  or by its last word) holds that key as the target's own fields do, so it resolves at the target's item path;
  a write giving a value no target within reach holds (a user of the member's own service) is a 422.
* **Values.** A type of values a path lists (``GET /tags``) has 20 entities, so its unpaged list
  shows every one.
* **Corrections** come from ``world``: ``entities.<name>`` pins what inference decides for a
  type (path, schema, parent, id_field, id_multiplier, population, count or every, delay,
  fields, derive) or adds a type (path + schema); ``exclude`` drops types or relationship
  ids; ``relationships`` adds ``{source, target, field}`` references.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass
from typing import Any

from mockverse.config import EntityConfig, ParentLink, WorldConfig
from mockverse.openapi import EntityType as InferredType
from mockverse.openapi import InferredWorld, Relationship, Spec, is_nullable, merge_all_of, singular, snake
from mockverse.openapi.infer import _URL_REFERENCE, _schema_base_name, key_param, membership_roots
from mockverse.openapi.loader import SpecError, to_pointer
from mockverse.openapi.paths import described_fields, param_stem
from mockverse.openapi.words import key_names
from mockverse.problems import did_you_mean
from mockverse.world.derive import composite_name
from mockverse.world.generate import generated_size, merge_schema, schema_types
from mockverse.world.idscheme import IdCodec, codec_for
from mockverse.world.model import EntityType, ScopedKey, WorldError, WorldModel, _max_generated, api_base
from mockverse.world.numbers import NumberKey, detect

DEFAULT_POPULATION = 50
DEFAULT_COUNT = (0, 4)
VALUE_POPULATION = 20   # a vocabulary of values (tags): every one fits on the first page of its unpaged list
ID_MULTIPLIER = 100
PERSONA_PREFERENCE = ("user", "customer", "account", "member", "person", "profile", "employee", "contact")
HANDLE_WORDS = ("username", "login", "user_name", "handle", "screen_name", "login_name")   # one person's key
SCHEMA_VALUES = 50_000   # values one response or entity schema may generate (a wide DAG of $refs fans out)


@dataclass
class Reference:
    """A field that holds the id (or ids) of another entity, filled with ones that exist."""

    field: str
    target: EntityType
    many: bool
    nullable: bool
    relationship: str
    parent: bool = False    # holds the entity's own parent (an issue's ``repository_id`` under its repo)
    key: str | None = None  # the target's key field it holds instead of its id (a member's ``identity``)
    default: object = None  # a value its schema gives as the default, which names no entity (``system``)


@dataclass
class Embed:
    """A property that embeds another entity (``track.album``) or a page of them (``album.tracks.items``)."""

    field: str
    target: EntityType
    inner: str | None
    many: bool


@dataclass
class DeepLink:
    """A key or an embedded object below the top level (``message_reference.message_id``,
    ``items[].track``) that holds other entities: filled with them wherever a body shows it."""

    path: list[str]
    targets: list[EntityType]
    embed: bool


# --- building the world ------------------------------------------------------------------------


@functools.cache
def _default_config() -> EntityConfig:
    return EntityConfig.model_construct()


def _entity_config(values: dict[str, Any]) -> EntityConfig:
    """An EntityConfig of these values over the defaults, without validation: a shallow copy of one
    default instance (a 10,000-type spec would otherwise deep-copy every default 10,000 times)."""
    return _default_config().model_copy(update=values)


def check_schema_sizes(spec: Spec) -> None:
    """A SpecError (file, JSON pointer, limit) for the first schema whose generated value would hold
    more than SCHEMA_VALUES values: component schemas, then each operation's success response."""
    memo: dict = {}
    places = [(["components", "schemas", name], schema) for name, schema in spec.schemas.items()]
    for op in spec.operations:
        success = op.success()
        if success is not None and isinstance(success.schema, dict):
            places.append((["paths", op.path, op.method.lower(), "responses", success.status, "content",
                            success.media_type or "application/json", "schema"], success.schema))
    for parts, schema in places:
        if isinstance(schema, dict) and generated_size(schema, SCHEMA_VALUES, memo) > SCHEMA_VALUES:
            raise SpecError(spec.source, to_pointer(parts), f"a value of this schema would hold more than "
                            f"{SCHEMA_VALUES:,} values (its references fan out); the limit is {SCHEMA_VALUES:,}")


def _suggest(name: str, known: list[str]) -> str:
    return did_you_mean(name, known) or f"; known: {', '.join(sorted(known)[:20])}"


def prop_at(schema: dict | None, path: str) -> dict | None:
    """The schema of a dotted property path (``tracks.items``, ``items[].track``) inside ``schema``; a step
    through a ``oneOf``/``anyOf`` (a nullable object: ``[null, Rsvp]``) reads its shapes' properties."""
    node: Any = schema
    for part in path.split("."):
        many = part.endswith("[]")
        name = part.removesuffix("[]")
        props = (merge_all_of(node).get("properties") or _shapes_properties(node)) if isinstance(node, dict) else None
        node = props.get(name) if isinstance(props, dict) else None
        if not isinstance(node, dict):
            return None
        if many:
            node = merge_all_of(node).get("items")
    return node if isinstance(node, dict) else None


def _is_array(schema: dict | None) -> bool:
    return isinstance(schema, dict) and "array" in schema_types(merge_all_of(schema))


def _nested(relationship: Relationship) -> bool:
    return any(e.startswith("path nesting") for e in relationship.evidence)


def held_key(holds: str, field: str, target: EntityType) -> str | None:
    """The key field of ``target`` a link holds instead of its id: the one inference read in its description
    (a member's ``identity``: the user's), else the one the field is named for, whole or by its last word
    (``identity``, ``author_username``); only a key the target's item path answers at, so the link resolves."""
    named = snake(field)
    for key in (holds, field, named, named.rsplit("_", 1)[-1]):
        if key in target.keys and key != target.id_field:
            return key
    return None


_DESCRIBED_DEFAULT = re.compile(r"\bdefault(?: value)? is:?\s*`([^`]+)`", re.IGNORECASE)


def described_default(schema: dict) -> object:
    """The default a property's schema gives (``default``, else "The default value is `system`" in its
    description); None when it gives none."""
    if schema.get("default") is not None:
        return schema["default"]
    found = _DESCRIBED_DEFAULT.search(str(schema.get("description") or ""))
    return found.group(1) if found else None


class SpecWorldBuilder:
    """Turns an InferredWorld (plus the config's corrections) into a WorldModel."""

    def __init__(self, spec: Spec, inferred: InferredWorld, world: WorldConfig) -> None:
        self.spec = spec
        self.world = world
        self.inferred = inferred
        self.types: dict[str, EntityType] = {}
        self.sources: dict[str, InferredType] = {}
        self.usage: dict[str, tuple[str, str]] = {}     # relationship id -> (how it is used, note)
        self._pinned: set[str] = set()                  # inferred types whose path or schema the config pins
        self._invented: set[str] = set()                # types whose schema has no id property of their own

    def build(self) -> WorldModel:
        check_schema_sizes(self.spec)
        excluded_types, excluded_links = self._exclusions()
        self.sources = {n: t for n, t in self.inferred.entity_types.items() if n not in excluded_types}
        for name, override in self.world.entities.items():
            self._configured_type(name, override)
        relationships = [r for r in self.inferred.relationships if r.id not in excluded_links
                         and r.source in self.sources and r.target in self.sources]
        relationships += self._configured_relationships()
        self._self_embeds = {(r.source, r.field) for r in relationships if r.kind == "embeds" and r.source == r.target}
        self._envelopes: dict[str, tuple[str, dict]] = {}
        for name in self._order(list(self.sources)):
            self.types[name] = self._entity(name)
        self._choose_parents(relationships)
        self._memberships()
        for entity in self.types.values():
            entity.number = self._number(entity)
        for entity in self.types.values():
            entity.max_generated_id = _max_generated(entity)
        for entity in self.types.values():
            self._references(entity, relationships)
            self._embeds(entity, relationships)
        for entity in self.types.values():
            entity.scoped = self._scoped_key(entity)
        self._variants(relationships)
        for entity in self.types.values():
            entity.composite = composite_name(entity)
        for r in relationships:
            if r.field is None and _nested(r) and r.id not in self.usage:
                self.usage[r.id] = ("related", f"the nested path lists a stable selection of existing {r.target} "
                                               f"entities (each {r.target} has one parent elsewhere)")
        links = [{**r.to_dict(), "used_as": self.usage.get(r.id, ("reported", ""))[0],
                  "note": self.usage.get(r.id, ("", ""))[1]} for r in relationships]
        excluded = {"types": sorted(excluded_types), "relationships": sorted(excluded_links)}
        return WorldModel(dict(self.types), self.world.epoch, links=links, title=self.spec.title, excluded=excluded,
                          base_url=api_base(self.spec.document))

    def _memberships(self) -> None:
        """Mark the types whose entities are a top-level type's (see ``membership_roots``): the root must be
        top-level in the world, with a population to choose members from."""
        for name, root_name in membership_roots(self.inferred).items():
            entity, root = self.types.get(name), self.types.get(root_name)
            if entity is None or root is None or root.parent is not None or not root.config.population:
                continue
            if entity.parent is not None and entity.fk:
                entity.member_of = root
            elif entity.parent is None:   # one member per entity of the root, at most
                entity.member_of = root
                population = min(entity.config.population or 0, root.config.population)
                entity.config = entity.config.model_copy(update={"population": population})

    # -- corrections ---------------------------------------------------------------------------
    def _exclusions(self) -> tuple[set[str], set[str]]:
        types, links = set(), set()
        known_links = [r.id for r in self.inferred.relationships]
        for i, name in enumerate(self.world.exclude):
            if name in self.inferred.entity_types:
                types.add(name)
            elif name in known_links:
                links.add(name)
            else:
                raise WorldError(f"world.exclude[{i}]: '{name}' is neither an inferred entity type nor a "
                                 f"relationship id{_suggest(name, list(self.inferred.entity_types) + known_links)}")
        return types, links

    def _configured_type(self, name: str, override: EntityConfig) -> None:
        """Add a type the config declares (path + schema), or pin an inferred type's path and schema."""
        inferred = self.sources.get(name)
        if inferred is None and (override.path is None or override.schema_ is None):
            known = list(self.sources)
            raise WorldError(f"world.entities.{name}: not an inferred entity type{_suggest(name, known)} "
                             "(to add a type, give its 'path' and 'schema')")
        if override.schema_ is not None and override.schema_ not in self.spec.schemas:
            raise WorldError(f"world.entities.{name}.schema: no schema '{override.schema_}' in the spec"
                             f"{_suggest(override.schema_, list(self.spec.schemas))}")
        if inferred is not None and override.path is None and override.schema_ is None:
            return
        path = (override.path or "").rstrip("/") or "/" if override.path is not None else None
        item = self._item_path(path) if path is not None else None
        if inferred is not None:
            self._pinned.add(name)
            self.sources[name] = dataclasses.replace(
                inferred, collection_path=path or inferred.collection_path,
                item_path=item or inferred.item_path,
                id_param=item.rsplit("{", 1)[1].rstrip("}") if item else inferred.id_param,
                schema=self.spec.schemas[override.schema_] if override.schema_ else inferred.schema,
                schema_name=override.schema_ or inferred.schema_name,
                id_field=override.id_field or inferred.id_field)
            return
        assert path is not None and override.schema_ is not None, "a configured type has a path and a schema"
        ops = [f"{op.method} {op.path}" for op in self.spec.operations if op.path in (path, item)]
        self.sources[name] = InferredType(name=name, collection_path=path, item_path=item,
                                          id_param=item.rsplit("{", 1)[1].rstrip("}") if item else None,
                                          id_field=override.id_field or "id", operations=ops,
                                          schema=self.spec.schemas[override.schema_], origin="config",
                                          schema_name=override.schema_)

    def _inferred_schema(self, name: str) -> dict | None:
        """The schema inference read a type's relationships from (a pinned schema may lack its embeds)."""
        inferred = self.inferred.entity_types.get(name)
        return inferred.schema if inferred is not None and name in self._pinned else self.sources[name].schema

    def _item_path(self, path: str) -> str | None:
        """The item path right below a collection path (``/orders/{id}`` of ``/orders``), if the spec has one."""
        return next((op.path for op in self.spec.operations if op.path.startswith(path + "/{")
                     and op.path.count("/") == path.count("/") + 1), None)

    def _configured_relationships(self) -> list[Relationship]:
        out: list[Relationship] = []
        for i, link in enumerate(self.world.relationships):
            for end in ("source", "target"):
                name = getattr(link, end)
                if name not in self.sources:
                    raise WorldError(f"world.relationships[{i}].{end}: '{name}' is not an entity type"
                                     f"{_suggest(name, list(self.sources))}")
            rid = f"{link.source}.{link.field}->{link.target}"
            out = [r for r in out if r.id != rid]
            out.append(Relationship(id=rid, source=link.source, target=link.target, kind=link.kind, field=link.field,
                                    evidence=["declared in the config (world.relationships)"], confidence=1.0,
                                    dangling=self.sources[link.target].dangling))
        return out

    def _order(self, names: list[str]) -> list[str]:
        """Types in a stable order, the most person-like first (the persona type is the first person)."""
        def rank(name: str) -> tuple:
            preference = PERSONA_PREFERENCE.index(name) if name in PERSONA_PREFERENCE else len(PERSONA_PREFERENCE)
            return (self.sources[name].origin != "path", preference, name)
        return sorted(names, key=rank)

    # -- types ---------------------------------------------------------------------------------
    def _entity(self, name: str) -> EntityType:
        source = self.sources[name]
        override = self.world.entities.get(name)
        id_field = (override.id_field if override and override.id_field else None) or source.id_field or "id"
        wrapped = _envelope(source.schema, id_field)
        if wrapped is not None and (name, wrapped[0]) in self._self_embeds:
            self._envelopes[name] = wrapped   # {token: {...}} whose token is "the same type": the entity is inside
        schema_of: Any = self._envelopes[name][1] if name in self._envelopes else source.schema
        schema: dict[str, Any] = dict(merge_schema(schema_of)) if isinstance(schema_of, dict) else {"type": "object"}
        props = dict(schema.get("properties") or _shapes_properties(schema_of if isinstance(schema_of, dict)
                                                                      else self._item_schema(source)))
        if not isinstance(schema_of, dict) and not props:   # no body of its own: the objects its collection lists
            props = dict(_props_of(self._collection_items(source) or {}))
        param = source.id_param
        if id_field not in props and param is not None and param in props and not (override and override.id_field):
            id_field = param   # /env/{key} of an object with a ``key`` and no ``id``: keyed by it
        if id_field not in props:
            props[id_field] = {"type": "integer" if source.id_type == "integer" else "string"}
            self._invented.add(name)   # no id of its own (a guild member): the world's handle, never shown
        schema["properties"] = props
        declared = schema_types(merge_all_of(props[id_field])) - {"null"}
        id_type = "integer" if declared == {"integer"} else source.id_type   # the body's schema wins over a path key
        codec = codec_for(name, id_type, self._id_evidence(source, id_field, props[id_field]), id_field)
        path = source.collection_path or source.item_path or f"/{name}"
        literals = [s for s in path.split("/") if s and not s.startswith("{")]
        values: dict[str, Any] = {"path": path, "schema_": source.schema_name or name,
                                  "population": DEFAULT_POPULATION, "id_multiplier": ID_MULTIPLIER}
        if source.origin == "value":
            values["population"] = VALUE_POPULATION
        if override is not None:
            values.update({k: getattr(override, k) for k in override.model_fields_set
                           if k not in ("parent", "path", "schema_", "id_field")})
        config = _entity_config(values)
        return EntityType(name=name, config=config, schema=schema, segment=literals[-1] if literals else name,
                              integer_ids=codec.kind == "integer", id_field=id_field, codec=codec, inferred=source,
                              keys=self._keys(name, source, props, id_field))

    def _index(self) -> None:
        """Operations by path and relationships by target, indexed once (a spec of 10,000 paths)."""
        self._by_path: dict[str, list] = {}
        self._by_target: dict[str, list[Relationship]] = {}
        for op in self.spec.operations:
            self._by_path.setdefault(op.path, []).append(op)
        for r in self.inferred.relationships:
            self._by_target.setdefault(r.target, []).append(r)

    def _keys(self, name: str, source: InferredType, props: dict, id_field: str) -> dict[str, IdCodec]:
        """A codec per string field the item path's parameter names as an alternative key
        (``service_id_or_name``), names by another word for a person's handle (``username``: ``login``),
        its description says it holds (``name of the repo``, ``either the `sid` or the `unique_name```),
        or whose schema is the parameter's own (svix's ``{app_id}`` and ``uid``)."""
        named = key_param(source.id_param)
        wanted = named[1] if named else [source.id_param or id_field]
        if not named and wanted[0] not in props and wanted[0] in HANDLE_WORDS:
            wanted = [w for w in HANDLE_WORDS if w in props][:1]   # /users/{username} of a User keyed by login
        described = self._described_keys(source, props)
        if described:   # addressed by a name, it answers to its handle too (an organization's ``username``)
            described += [w for w in HANDLE_WORDS if w in props]
        shaped = [] if named else self._param_shaped_keys(source, props, id_field)
        wanted += [f for f in described + shaped if f not in wanted]
        out: dict[str, IdCodec] = {}
        for key in wanted:
            prop = merge_all_of(props.get(key) or {})
            if key != id_field and key in props and schema_types(prop) - {"null"} == {"string"}:
                out[key] = codec_for(f"{name}.{key}", "string", [prop], key)
        return out

    def _scoped_key(self, entity: EntityType) -> ScopedKey | None:
        """The link its item path's parameter names (``{user_id}`` of a guild member embedding its ``user``, a
        ``Sid`` described as "the `sid` or the `identity`" of a member whose ``identity`` holds a user's key):
        a key of the entity among its parent's children, not across the type."""
        source, parent = entity.inferred, entity.parent
        param = source.id_param if source is not None else None
        if source is None or parent is None or param is None or param in (entity.id_field, *entity.keys) \
                or entity.number is not None and entity.number.param == param:
            return None
        only = entity.name in self._invented
        stem = param_stem(param)
        for e in entity.embeds:
            if not e.many and e.inner is None and e.target not in (entity, parent) and stem in (e.field, e.target.name):
                return ScopedKey(e.field, [e.field, e.target.id_field], e.target, embed=True, only=only)
        described, shown = set(self._param_fields(source)), entity.schema.get("properties") or {}
        for r in entity.references:   # a key the body shows
            if not r.many and r.target not in (entity, parent) and r.field in shown and r.field in (param, *described):
                return ScopedKey(r.field, [r.field], r.target, embed=False, only=only, key=r.key)
        return None

    def _param_fields(self, source: InferredType) -> list[str]:
        """The fields the item path parameter's description names as what it holds (``either the `sid` or the
        `identity```), as written."""
        out: list[str] = []
        for op in self._ops_at(source.item_path or ""):
            out += [f for p in op.parameters if p.location == "path" and p.name == source.id_param
                    for f in described_fields(p.description)]
        return list(dict.fromkeys(out))

    def _param_shaped_keys(self, source: InferredType, props: dict, id_field: str) -> list[str]:
        """The string property whose schema is the item path parameter's own (a client-chosen ``uid`` beside the
        server's ``id``): the only one with the parameter's example, else the only one with its pattern and length
        bounds; none when the id property itself has that schema (the parameter is the id) or for another's key."""
        params = [merge_all_of(p.schema) for op in self._ops_at(source.item_path or "") for p in op.parameters
                  if p.location == "path" and p.name == source.id_param and isinstance(p.schema, dict)]
        param = next((p for p in params if {"example", "pattern"} & set(p)), None)   # the operation that says most
        if param is None:
            return []
        links = {r.field for r in self.inferred.relationships if r.source == source.name}

        def same(prop: dict, keys: tuple[str, ...]) -> bool:
            return all(prop.get(k) == param.get(k) for k in keys) and any(param.get(k) is not None for k in keys)

        shapes = {name: merge_all_of(raw) for name, raw in props.items() if isinstance(raw, dict)}
        if id_field in shapes and (same(shapes[id_field], ("example",))
                                   or same(shapes[id_field], ("pattern", "minLength", "maxLength"))):
            return []
        strings = [name for name, prop in shapes.items() if name != id_field and name not in links
                   and schema_types(prop) - {"null"} == {"string"}]
        by_example = [name for name in strings if same(shapes[name], ("example",))]
        by_bounds = [name for name in strings if "pattern" in param
                     and same(shapes[name], ("pattern", "minLength", "maxLength"))]
        return next((found for found in (by_example, by_bounds) if len(found) == 1), [])

    def _described_keys(self, source: InferredType, props: dict) -> list[str]:
        """The properties the item path parameter's description names as what it holds (matched by name, else
        by name ignoring case), but not one that holds another entity's key (a member's user ``identity``)."""
        lower = {p.lower(): p for p in props}
        links = {r.field for r in self.inferred.relationships if r.source == source.name}   # another's key
        out = [f if f in props else lower.get(f.lower(), "") for f in self._param_fields(source)]
        return [f for f in dict.fromkeys(out) if f and f not in links]

    def _id_evidence(self, source: InferredType, id_field: str, id_schema: dict) -> list[dict]:
        """Schemas that carry this type's ids: its id property, its path parameter, keys pointing at it."""
        evidence = [merge_all_of(id_schema)]
        for op in self._ops_at(source.item_path or ""):
            evidence += [merge_all_of(p.schema) for p in op.parameters
                         if p.location == "path" and p.name == source.id_param and p.schema]
        for r in self._by_target.get(source.name, []):
            if r.field and r.kind != "embeds" and r.source in self.inferred.entity_types:
                prop = prop_at(self.inferred.entity_types[r.source].schema, r.field)
                if _is_array(prop):
                    prop = merge_all_of(prop or {}).get("items")
                if isinstance(prop, dict):
                    evidence.append(merge_all_of(prop))
        if not {"format", "pattern", "example"} & set(evidence[0]):
            evidence += self._embedded_ids(source, id_field, schema_types(evidence[0]) - {"null"})
        if "example" not in evidence[0]:
            evidence += [{"example": v} for v in self._example_ids(source, id_field)[:1]]
        return [e for e in evidence if isinstance(e, dict)]

    def _example_ids(self, source: InferredType, id_field: str) -> list[object]:
        """Ids the spec's examples of this type show: the schema's own ``example`` object, then the
        examples of its item path's response (bare, or one envelope deep)."""
        found: list[object] = []
        schema = source.schema if isinstance(source.schema, dict) else {}
        candidates: list[object] = [merge_all_of(schema).get("example")]
        for op in self._ops_at(source.item_path or ""):
            success = op.success() if op.method.upper() == "GET" else None
            candidates += list(success.examples.values()) if success is not None else []
        for value in candidates:
            inner = [value] + (list(value.values()) if isinstance(value, dict) else [])
            for obj in inner:
                if isinstance(obj, dict) and isinstance(obj.get(id_field), (str, int)) and \
                        not isinstance(obj.get(id_field), bool):
                    found.append(obj[id_field])
                    break
        return found

    def _embedded_ids(self, source: InferredType, id_field: str, kinds: set[str]) -> list[dict]:
        """The id schemas of objects that embed this type elsewhere (a message's ``interaction.id``, a
        snowflake): evidence for a type whose own id property says nothing of its shape."""
        out: list[dict] = []
        for r in self._by_target.get(source.name, []):
            if r.kind != "embeds" or not r.field or r.source not in self.inferred.entity_types:
                continue
            prop = prop_at(self.inferred.entity_types[r.source].schema, r.field)
            if _is_array(prop):
                prop = merge_all_of(prop or {}).get("items")
            props = merge_all_of(prop).get("properties") if isinstance(prop, dict) else None
            raw = props.get(id_field) if isinstance(props, dict) else None
            key = merge_all_of(raw) if isinstance(raw, dict) else None
            if key is not None and (not kinds or kinds == schema_types(key) - {"null"}):
                out.append(key)
        return out

    def _number(self, entity: EntityType) -> NumberKey | None:
        """The per-parent number its item path takes (``/repos/{owner}/{repo}/issues/{index}``: ``number``), when
        that path lies under its parent's item path and its last parameter names an integer property."""
        source = self.sources[entity.name]
        param, item = source.id_param, source.item_path
        parent_item = self.sources[entity.parent.name].item_path if entity.parent is not None else None
        if param is None or item is None or parent_item is None or not item.startswith(parent_item + "/") \
                or not item.endswith(f"/{{{param}}}"):
            return None
        schemas = [p.schema for op in self._ops_at(item) for p in op.parameters
                   if p.location == "path" and p.name == param and isinstance(p.schema, dict)]
        field = detect(param, schemas, entity.schema.get("properties") or {}, entity.id_field, entity.fk)
        return NumberKey(field, param) if field is not None else None

    # -- parents -------------------------------------------------------------------------------
    def _choose_parents(self, relationships: list[Relationship]) -> None:
        chosen: dict[str, tuple[str, str | None, str]] = {}
        for name, override in self.world.entities.items():
            if "parent" in override.model_fields_set:
                if override.parent is None:
                    chosen[name] = ("", None, "config")
                    continue
                if override.parent.type not in self.types:
                    raise WorldError(f"world.entities.{name}.parent.type: '{override.parent.type}' is not an entity "
                                     f"type{_suggest(override.parent.type, list(self.types))}")
                chosen[name] = (override.parent.type, override.parent.field, "config")
        candidates = sorted(self._parent_candidates(relationships), key=lambda c: (-c[0], -c[1], c[2], c[3]))
        for _, _, child, parent, fk, rid in candidates:
            if child in chosen or self._ancestor(parent, child, chosen):
                continue
            chosen[child] = (parent, fk, rid)
        for child, (parent, fk, rid) in chosen.items():
            if not parent:
                continue
            entity, parent_type = self.types[child], self.types[parent]
            if self._ancestor(parent, child, {k: v for k, v in chosen.items() if k != child}):
                raise WorldError(f"world.entities.{child}.parent: {parent} is already below {child} (a cycle)")
            child_override = self.world.entities.get(child)
            entity.parent = parent_type
            entity.parent_field = fk or self.sources[child].parent_keys.get(parent) or f"{parent}_id"
            entity.parent_relationship = (child_override.parent.relationship if child_override and child_override.parent
                                          and child_override.parent.relationship else f"has_{child}")
            parent_type.children[entity.parent_relationship] = entity
            values = dict(entity.config)
            values["parent"] = ParentLink.model_construct(type=parent, field=entity.parent_field,
                                                          relationship=entity.parent_relationship)
            fields_set = child_override.model_fields_set if child_override else set()
            if "population" not in fields_set:
                values["population"] = None
            if "count" not in fields_set and "every" not in fields_set:
                source = self.sources[child]
                fewest = source.min_children if parent in source.parent_keys else 0   # a list never empty
                values["count"] = (max(DEFAULT_COUNT[0], fewest), DEFAULT_COUNT[1])
            entity.config = _entity_config(values)
            if fk and entity.parent_field not in entity.schema.get("properties", {}):
                entity.schema["properties"][entity.parent_field] = {"type": "string"}
            rid = self._confirmed(child, parent, entity.parent_field, relationships) if rid == "config" else rid
            if rid is not None:
                self.usage[rid] = ("parent", f"{child} is generated as a child of {parent}")

    @staticmethod
    def _confirmed(child: str, parent: str, fk: str | None, relationships: list[Relationship]) -> str | None:
        """The inferred relationship a configured parent agrees with (its key, or its nesting), if any."""
        return next((r.id for r in relationships if r.source == child and r.target == parent
                     and r.kind == "belongs_to" and r.field == fk), None) or \
            next((r.id for r in relationships if r.source == parent and r.target == child
                  and r.kind == "has_many" and r.field is None and _nested(r)), None)

    def _parent_candidates(self, relationships: list[Relationship]) -> list[tuple]:
        """(strength, confidence, child, parent, foreign key or None, relationship id) for each candidate link."""
        out = []
        embeds = {(r.source, r.target) for r in relationships if r.kind == "embeds" and r.field
                  and "." not in r.field and not _is_array(prop_at(self.sources[r.source].schema, r.field))}
        for r in relationships:
            if r.source == r.target or self.sources[r.target].dangling and r.kind == "belongs_to":
                continue
            if any(e.startswith("suggested by the LLM") for e in r.evidence):
                continue   # an LLM proposal (mockverse.ai.relations) is a reference, never re-parents a type
            top_field = r.field is not None and "." not in r.field and "[" not in r.field
            if r.kind == "belongs_to" and top_field:
                child, parent = r.source, r.target
                if _nested(r):
                    strength = 3
                elif self._required_key(self.sources[child].schema, r.field or ""):
                    strength = 1
                else:
                    continue
                out.append((strength, r.confidence, child, parent, r.field, r.id))
            elif r.kind == "has_many" and r.field is None and _nested(r):
                parent, child = r.source, r.target
                if self.sources[parent].dangling:
                    continue
                own_item = self.sources[child].item_path
                parent_item = self.sources[parent].item_path or "\0"
                if own_item is None or own_item.startswith(parent_item + "/"):
                    out.append((3, r.confidence, child, parent, None, r.id))
                elif (child, parent) in embeds:
                    out.append((2, r.confidence, child, parent, None, r.id))
        return out

    @staticmethod
    def _required_key(schema: dict | None, field_name: str) -> bool:
        flat = merge_all_of(schema) if isinstance(schema, dict) else {}
        prop = (flat.get("properties") or {}).get(field_name)
        return field_name in (flat.get("required") or []) and isinstance(prop, dict) and not is_nullable(prop)

    @staticmethod
    def _ancestor(name: str, child: str, chosen: dict) -> bool:
        """Whether ``child`` is ``name`` or one of its ancestors under ``chosen``."""
        seen = set()
        while name and name not in seen:
            if name == child:
                return True
            seen.add(name)
            name = chosen.get(name, ("", None, ""))[0]
        return False

    # -- references and embeds -----------------------------------------------------------------
    def _references(self, entity: EntityType, relationships: list[Relationship]) -> None:
        by_field: dict[str, Relationship] = {}
        for r in relationships:
            if r.source != entity.name or r.kind == "embeds" or not r.field:
                continue
            if ("." in r.field or "[" in r.field) and r.field not in entity.schema.get("properties", {}):
                self._deep(entity, r, embed=False)   # below the top level (a name with a dot may be one property)
                continue
            if r.field == entity.parent_field and entity.parent is not None and r.target == entity.parent.name:
                continue
            if r.field == entity.id_field:
                continue
            if r.holds == "url":
                self._url_link(entity, r)
                continue
            if r.field not in by_field or r.confidence > by_field[r.field].confidence:
                if r.field in by_field:
                    self.usage.setdefault(by_field[r.field].id, ("reported", f"{r.id} is more likely for that field"))
                by_field[r.field] = r
        props = entity.schema.get("properties", {})
        for name, r in sorted(by_field.items()):
            target = self.types[r.target]
            prop = props.get(name)
            many = _is_array(prop)
            scalar = merge_all_of(merge_all_of(prop).get("items") or {}) if many and prop else merge_all_of(prop or {})
            kinds = schema_types(scalar) - {"null"}
            wanted = {"integer", "number"} if target.integer_ids and not held_key(r.holds, name, target) \
                else {"string"}
            if prop is not None and kinds and not kinds & wanted:
                self.usage[r.id] = (
                    "reported",
                    f"not filled: {entity.name}.{name} is {sorted(kinds)[0]}, "
                    f"{target.name} ids are {'integers' if target.integer_ids else 'strings'}",
                )
                continue
            codec = target.keys.get(held_key(r.holds, name, target) or "", target.codec)
            if not _accepts(scalar, codec.encode(1)):
                self.usage[r.id] = (
                    "reported",
                    f"not filled: {target.name} ids do not fit {entity.name}.{name}'s schema",
                )
                continue
            many = many or r.kind != "belongs_to" and prop is None
            own = self._names_parent(entity, name, target, many)
            key = None if own else held_key(r.holds, name, target)
            entity.references.append(Reference(name, entity.parent if own and entity.parent else target, many,
                                               bool(prop) and is_nullable(prop) and name not in
                                               (entity.schema.get("required") or []), r.id, own, key,
                                               described_default(scalar)))
            self.usage[r.id] = ("reference", f"{entity.name}.{name} holds the id of its own parent" if own else
                                f"{entity.name}.{name} holds the {key} of {target.name} entities that exist" if key
                                else f"{entity.name}.{name} holds ids of {target.name} entities that exist")

    def _url_link(self, entity: EntityType, r: Relationship) -> None:
        """``issue_url``: a field holding the address of an entity that exists (its own parent when the field
        is named for the parent's type), built from the target's item path on every read."""
        target, name = self.types[r.target], r.field or ""
        prop = (entity.schema.get("properties") or {}).get(name)
        if not isinstance(prop, dict) or schema_types(merge_all_of(prop)) - {"null"} != {"string"} \
                or not target.inferred or not target.inferred.item_path:
            self.usage[r.id] = ("reported", f"not filled: {entity.name}.{name} is no string, or {target.name} "
                                            f"has no item path")
            return
        match = _URL_REFERENCE.match(name)
        stem = match.group(1) if match else name
        own = self._names_parent(entity, stem, target, False)
        entity.url_links.append(Reference(name, entity.parent if own and entity.parent else target, False,
                                          is_nullable(prop) and name not in (entity.schema.get("required") or []),
                                          r.id, own))
        self.usage[r.id] = ("reference", f"{entity.name}.{name} holds the URL of its own parent" if own else
                            f"{entity.name}.{name} holds URLs of {target.name} entities that exist")

    def _embeds(self, entity: EntityType, relationships: list[Relationship]) -> None:
        for r in relationships:
            if r.source != entity.name or r.kind != "embeds" or not r.field:
                continue
            literal = r.field in entity.schema.get("properties", {})   # one property named with a dot
            parts = [r.field] if literal else r.field.split(".")
            if entity.name in self._envelopes and self._envelopes[entity.name][0] == r.field:
                self.usage[r.id] = ("reported", f"{entity.name}.{r.field} is the envelope around the entity itself")
                continue
            if not self._holds_ids(entity, r.field, self.types[r.target], r.id):
                continue
            inner = prop_at(entity.schema, r.field) if len(parts) == 2 else None
            one = inner is not None and not _is_array(inner) and bool(merge_all_of(inner).get("properties"))
            if not literal and (len(parts) > 2 or "[" in r.field or one):
                self._deep(entity, r, embed=True)   # one object inside another (repo_transfer.doer), not a page
                continue
            prop = entity.schema["properties"].get(parts[0]) or prop_at(self._inferred_schema(entity.name), parts[0])
            many = len(parts) == 2 or _is_array(prop)
            own = self._names_parent(entity, parts[0], self.types[r.target], many)
            target = entity.parent if own and entity.parent else self.types[r.target]
            entity.embeds.append(Embed(parts[0], target, parts[1] if len(parts) == 2 else None, many))
            if parts[0] not in (entity.schema.get("required") or []):
                entity.schema["properties"].pop(parts[0], None)  # rendered from the world, never generated here
            self.usage.setdefault(r.id, ("embed", f"{entity.name}.{parts[0]} shows its own parent" if own else
                                         f"{entity.name}.{parts[0]} shows {r.target} entities of the world"))

    @staticmethod
    def _names_parent(entity: EntityType, field: str, target: EntityType, many: bool) -> bool:
        """Whether a link of ``entity`` names its own parent: one value, of the parent's type or of a type of
        the parent's schema, in a field named for that type (an issue's ``repository`` under its repo), unless
        the entity's own parent key is a field named for a role (``creator``)."""
        parent = entity.parent
        if parent is None or many or target is entity:
            return False
        schema = parent.inferred.schema_name if parent.inferred is not None else None
        twin = target is parent or (schema is not None and target.inferred is not None
                                    and target.inferred.schema_name == schema)
        names = {*key_names(parent.name), *key_names(target.name)}
        role = entity.fk in (entity.schema.get("properties") or {}) and entity.fk not in names
        return twin and field in names and not role   # beside a ``creator`` key, a ``user`` is another role

    def _listed_items(self, entity: EntityType) -> dict | None:
        """The item schema its own collection GET lists (a create request's shape, named for another
        use), when it describes the entity: most of its properties are the entity's."""
        path = entity.inferred.collection_path if entity.inferred is not None else None
        op = next((o for o in self._ops_at(path) if o.method.upper() == "GET"), None) if path else None
        success = op.success() if op is not None else None
        schema = success.schema if success is not None and isinstance(success.schema, dict) else None
        items = _list_items(schema) if schema is not None else None
        if items is None and schema is not None and schema_types(merge_all_of(schema)) == {"object"}:
            items = schema   # a collection path declared to answer one entity (a spec error): it shows one
        names = set(merge_all_of(items).get("properties") or {}) if items is not None else set()
        own = set(entity.schema.get("properties") or {})
        return items if names and len(names & own) * 2 > len(names) else None

    def _collection_items(self, source: InferredType) -> dict | None:
        """The item schema its collection path's GET lists (the item path without its trailing parameters:
        ``/user/starred`` of ``/user/starred/{owner}/{repo}`` lists repositories), if any."""
        path = source.collection_path or re.sub(r"(/\{[^/]*\})+$", "", source.item_path or "")
        op = next((o for o in self._ops_at(path) if o.method.upper() == "GET"), None) if path else None
        success = op.success() if op is not None else None
        return _list_items(success.schema) if success is not None and isinstance(success.schema, dict) else None

    def _item_schema(self, source: InferredType) -> dict:
        """The schema its item path's GET answers with (for a type inferred without one)."""
        op = next((o for o in self._ops_at(source.item_path or "") if o.method.upper() == "GET"), None)
        success = op.success() if op is not None else None
        return success.schema if success is not None and isinstance(success.schema, dict) else {}

    def _ops_at(self, path: str) -> list:
        """The operations of one path (indexed once)."""
        if not hasattr(self, "_by_path"):
            self._index()
        return self._by_path.get(path, [])

    def _holds_ids(self, entity: EntityType, path: str, target: EntityType, rid: str) -> bool:
        """Whether the objects embedded at ``path`` can carry ``target``'s ids: an integer id field
        (a template's own numbering) never holds string ids, so it is not that type (reported)."""
        prop = prop_at(entity.schema, path)
        if _is_array(prop):
            prop = merge_all_of(prop or {}).get("items")
        props = merge_all_of(prop).get("properties") if isinstance(prop, dict) else None
        key = props.get(target.id_field) if isinstance(props, dict) else None
        own = target.inferred.schema if target.inferred is not None and target.name not in self._envelopes else None
        declared = (merge_all_of(own).get("properties") or _shapes_properties(own)) if isinstance(own, dict) else {}
        if isinstance(key, dict) and declared and target.id_field not in declared:
            self.usage[rid] = ("reported", f"not embedded: {entity.name}.{path}.{target.id_field} is no "
                                           f"{target.name} id ({target.name}'s own schema has no {target.id_field})")
            return False
        kinds = schema_types(merge_all_of(key)) - {"null"} if isinstance(key, dict) else set()
        wanted = {"integer", "number"} if target.integer_ids else {"string"}
        if not kinds or kinds & wanted:
            return True
        self.usage[rid] = ("reported", f"not embedded: {entity.name}.{path}.{target.id_field} is {sorted(kinds)[0]}, "
                                       f"{target.name} ids are {'integers' if target.integer_ids else 'strings'}")
        return False

    def _deep(self, entity: EntityType, r: Relationship, embed: bool) -> None:
        """Record a link below the top level of ``entity``'s bodies (several targets: polymorphic)."""
        assert r.field is not None, "a deep link names its field"
        path = r.field.split(".")
        target = self.types[r.target]
        leaf = prop_at(entity.schema, r.field) if not embed else None
        leaf = merge_all_of(leaf or {}).get("items") if _is_array(leaf) else leaf
        if isinstance(leaf, dict) and not _accepts(merge_all_of(leaf), target.codec.encode(1)):
            self.usage[r.id] = ("reported",
                                f"not filled: {target.name} ids do not fit {entity.name}.{r.field}'s schema")
            return
        link = next((d for d in entity.deep if d.path == path and d.embed == embed), None)
        if link is None:
            entity.deep.append(DeepLink(path, [target], embed))
        elif target not in link.targets:
            link.targets.append(target)
        what = "shows" if embed else "holds ids of"
        self.usage.setdefault(r.id, ("embed" if embed else "reference",
                                     f"{entity.name}.{r.field} {what} {r.target} entities of the world"))

    def _variants(self, relationships: list[Relationship]) -> None:
        """The schema objects that represent each type: its own, embedded variants, same-named components."""
        for entity in self.types.values():
            if entity.name in self._envelopes:
                entity.variants.add(id(self._envelopes[entity.name][1]))
            elif entity.inferred is not None and isinstance(entity.inferred.schema, dict):
                entity.variants.add(id(entity.inferred.schema))
        for comp, schema in self.spec.schemas.items():
            base = singular(_schema_base_name(comp))
            if base in self.types and isinstance(schema, dict):
                self.types[base].variants.add(id(schema))
        for entity in self.types.values():
            items = self._listed_items(entity)
            if items is not None:
                entity.variants.add(id(items))
                _tighten(entity.schema, items)
        targets_of: dict[tuple[str, str], set[str]] = {}
        for r in relationships:
            if r.kind == "embeds" and r.field:
                targets_of.setdefault((r.source, r.field), set()).add(r.target)
        for r in relationships:
            if r.kind != "embeds" or not r.field:
                continue
            only = len(targets_of[(r.source, r.field)]) == 1   # every shape of the field is that type
            source = self._inferred_schema(r.source)
            prop = prop_at(source, r.field.replace("[]", ""))  # the array's item schema is taken below
            prop = merge_all_of(prop or {}).get("items") if _is_array(prop) else prop
            if not isinstance(prop, dict):
                continue
            branches = [prop, *(prop.get("oneOf") or []), *(prop.get("anyOf") or [])]
            target = self.types[r.target]
            for branch in branches:
                if not isinstance(branch, dict) or branch.get("oneOf") or branch.get("anyOf"):
                    continue
                if schema_types(merge_all_of(branch)) == {"null"}:
                    continue   # the null alternative of a nullable embed represents nothing
                if branch is prop and (prop.get("oneOf") or prop.get("anyOf")):
                    continue
                name = self.spec.schema_name(branch)
                if only or name is None or singular(_schema_base_name(name)) == r.target or _tag(branch) == r.target:
                    target.variants.add(id(branch))
        for name in self._envelopes:
            wrapper = self.sources[name].schema
            self.types[name].variants.discard(id(wrapper))   # the envelope holds the entity; it is not one
        for entity in self.types.values():
            self._discriminate(entity)

    def _discriminate(self, entity: EntityType) -> None:
        """A type of several ``oneOf`` shapes told apart by an enum (a channel's ``type``: 0 for a text
        channel, 10 for a thread) draws that field from every shape's values, so each entity is one shape
        and shows that shape wherever it is rendered (its item path and a list of only that shape)."""
        if entity.inferred is None or not isinstance(entity.inferred.schema, dict):
            return
        own = variant_shapes(entity.inferred.schema)
        entity.variants.update(id(b) for b in own if entity.id_field in _props_of(b))   # each shape is the type
        items = self._listed_items(entity)
        shapes = list({id(b): b for b in own + (variant_shapes(items) if items else [])
                       if id(b) in entity.variants}.values())
        if len(shapes) < 2:
            return
        props = entity.schema.get("properties") or {}
        for name, prop in list(props.items()):
            values = [_enum_of(p) for p in (_props_of(b).get(name) for b in shapes) if isinstance(p, dict)]
            if len(values) < 2 or any(v is None for v in values) or _enum_of(prop) is None:
                continue
            union = list(dict.fromkeys(v for vs in values if vs for v in vs if not isinstance(v, (dict, list))))
            if len(union) > len(_enum_of(prop) or []):
                flat = merge_all_of(prop)
                props[name] = {**{k: v for k, v in flat.items() if k not in ("oneOf", "anyOf", "const")},
                               "enum": union}


def variant_shapes(schema: dict | None) -> list[dict]:
    """The ``oneOf``/``anyOf`` alternatives of a schema (the shapes one entity may take)."""
    flat = merge_all_of(schema) if isinstance(schema, dict) else {}
    return [b for b in (*(flat.get("oneOf") or ()), *(flat.get("anyOf") or ())) if isinstance(b, dict)]


def _props_of(schema: dict) -> dict:
    """The properties of an object schema (after ``allOf``)."""
    props = merge_all_of(schema).get("properties")
    return props if isinstance(props, dict) else {}


def admits(schema: dict | None, data: dict) -> bool:
    """Whether an entity's stored fields fit the enums of an object schema (a thread's ``type`` 10 is no
    text channel's ``type``): the shape that shows the entity as it is, never a regenerated discriminator."""
    for name, prop in (_props_of(schema) if isinstance(schema, dict) else {}).items():
        values = _enum_of(prop) if isinstance(prop, dict) else None
        value = data.get(name)
        if values is None or value is None:
            continue
        if not all(v in values for v in (value if isinstance(value, list) else [value])):
            return False
    return True


def _envelope(schema: dict | None, id_field: str) -> tuple[str, dict] | None:
    """(property, inner schema) when ``schema`` lacks ``id_field`` and exactly one of its properties is an
    object that has it: an envelope around one object (``{token: {id, ...}}``)."""
    props = merge_all_of(schema).get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict) or id_field in props:
        return None
    inner = [(name, prop) for name, prop in props.items() if isinstance(prop, dict) and not _is_array(prop)
             and id_field in (merge_all_of(prop).get("properties") or {})]
    return inner[0] if len(inner) == 1 else None


def _shapes_properties(schema: dict) -> dict:
    """The properties of a polymorphic schema with none of its own (``oneOf`` shapes of an invite):
    every shape's, the first shape's spelling of each winning."""
    out: dict = {}
    flat = merge_all_of(schema)
    for branch in (*(flat.get("oneOf") or ()), *(flat.get("anyOf") or ())):
        props = merge_schema(branch).get("properties") if isinstance(branch, dict) else None
        for name, prop in (props or {}).items():
            out.setdefault(name, prop)
    return out


def _enum_of(prop: dict) -> list | None:
    """The enum of a property, or of its array items."""
    flat = merge_all_of(prop)
    if isinstance(flat.get("enum"), list):
        return flat["enum"]
    raw = flat.get("items")
    items = merge_all_of(raw) if _is_array(flat) and isinstance(raw, dict) else {}
    return items["enum"] if isinstance(items.get("enum"), list) else None


def _tighten(schema: dict, variant: dict) -> None:
    """Give an entity's own properties the enums another schema of it declares (a list's ``provider``
    enum beside the item's free string), so one value fits every response that shows the entity."""
    props = schema.get("properties")
    theirs = merge_all_of(variant).get("properties")
    if not isinstance(props, dict) or not isinstance(theirs, dict):
        return
    for name, prop in list(props.items()):
        other = theirs.get(name)
        enum = _enum_of(other) if isinstance(other, dict) else None
        if not isinstance(prop, dict) or enum is None or _enum_of(prop) is not None:
            continue
        flat = merge_all_of(prop)
        if _is_array(flat) and isinstance(flat.get("items"), dict):
            props[name] = {**flat, "items": {**merge_all_of(flat["items"]), "enum": enum}}
        elif not _is_array(flat) and not _is_array(other):
            props[name] = {**flat, "enum": enum}


def _list_items(schema: dict | None) -> dict | None:
    """The item schema of a list response: a bare array, or the one array of objects of an envelope."""
    flat = merge_all_of(schema) if isinstance(schema, dict) else {}
    if _is_array(flat):
        items = flat.get("items")
        return items if isinstance(items, dict) else None
    arrays = [merge_all_of(p).get("items") for p in (flat.get("properties") or {}).values()
              if isinstance(p, dict) and _is_array(p)]
    arrays = [a for a in arrays if isinstance(a, dict) and "object" in schema_types(merge_all_of(a))]
    return arrays[0] if len(arrays) == 1 else None


def _tag(schema: dict) -> str | None:
    """The single value of a schema's ``type`` property (Spotify's ``type: {enum: [track]}``)."""
    tag = (merge_all_of(schema).get("properties") or {}).get("type")
    enum = tag.get("enum") if isinstance(tag, dict) else None
    return singular(snake(enum[0])) if isinstance(enum, list) and len(enum) == 1 and isinstance(enum[0], str) else None


def _accepts(schema: dict, value: object) -> bool:
    """Whether a scalar schema's length and pattern bounds admit ``value`` (ids of a codec)."""
    if not isinstance(value, str):
        return True
    if isinstance(schema.get("maxLength"), int) and len(value) > schema["maxLength"]:
        return False
    if isinstance(schema.get("minLength"), int) and len(value) < schema["minLength"]:
        return False
    pattern = schema.get("pattern")
    try:
        return not isinstance(pattern, str) or re.search(pattern, value) is not None
    except re.error:
        return True

"""``mockverse check``: does the mock of a spec hang together? The harness users run in CI.

The world is built in process (in-memory store, no socket) and walked through its own HTTP
API, the way a client would walk it:

* **served**: every operation is called (path parameters filled with ids of entities that
  exist: the world's samples, the ids of its top-level types, ids found in list bodies);
  any 5xx is a finding.
* **schema**: every 2xx JSON body validates against the operation's response schema.
* **links**: every field the world model treats as a link (a parent key, a reference, an
  embedded entity) whose value appears in a body resolves at the target type's item path
  to the same entity (200, same id); so does every URL the world builds from its paths (an
  entity's own ``url``, a URL reference such as ``issue_url``), its API base stripped, and each
  URL of a ``links`` map answers 200.
* **nested**: a list under a parent (``/parents/{id}/children``) holds children whose key
  points back at that parent (so does a child's own link named for the parent's type or for a
  type of its schema: an issue's embedded ``repository`` under a repo) and which equal what
  their own item path answers; an entity listed under another type's entity names it in its URL
  reference (``issue_url`` of a comment listed under that issue); a path under an entity with a composite
  key (``/repos/{owner}/{repo}/...``) asked with another entity's leading part (another owner's login)
  answers 404.
* **item_list**: the entities of other lists equal what their item path answers.
* **writes**: each create answers the new entity, whose written fields a later GET reads
  back; each PUT/PATCH changes what a later GET answers.
* **members**: a list of a type that is another, top-level type's schema (an org's members are users)
  holds entities of that type: each equals what the top-level type's item path answers at its key.
* **determinism**: a second, fresh build answers the same bytes to sampled GETs.

Work is bounded (``SAMPLES`` ids per path, ``LIST_ITEMS`` entities per list) so that a
large spec checks in seconds. Each finding names the operation and a JSON pointer.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

import httpx
import orjson
from jsonschema.exceptions import relevance

from mockverse.http.operations import FacetWriteOp, ItemOp, MethodOp
from mockverse.http.writes import created_ids_field, is_json_patch
from mockverse.in_process import World
from mockverse.openapi import singular, snake
from mockverse.openapi.jsonschema import fits, quickly_valid, validator_for
from mockverse.openapi.loader import Operation, is_json_media_type, merge_all_of, to_pointer
from mockverse.openapi.paths import path_shape
from mockverse.openapi.rpc import flag_fields, rpc_kind, rpc_namespace
from mockverse.openapi.shapes import properties_of
from mockverse.openapi.words import key_names
from mockverse.world.derive import KeyPart, key_part_params
from mockverse.world.derived_fields import key_value
from mockverse.world.generate import Generator, merge_schema, schema_types
from mockverse.world.model import EntityType
from mockverse.world.numbers import path_value
from mockverse.world.render import entity_slots, list_slot
from mockverse.world.urls import links_map_field, self_url_fields
from mockverse.world.writes import SCALARS, value_property

CATEGORIES = ("served", "schema", "links", "nested", "item_list", "writes", "members", "determinism")
SAMPLES = 3              # ids tried per path, parents tried per nested list
LIST_ITEMS = 3           # entities of a list body looked at
LINKS_PER_BODY = 12      # link values resolved per body
SCOPE_CANDIDATES = 20     # entities seen that a linked key is looked for among (a user of the right service)
DETERMINISM_GETS = 20    # GETs replayed against the second build
WORLD_VIEW = "GET /api/v1/consistency/world"
_FORM = "application/x-www-form-urlencoded"
PATCHED_FIELDS = 2       # fields a generated JSON Patch replaces
_SCALARS = frozenset({"string", "integer", "number", "boolean"})
CLIENT_URL, CLIENT_AGENT = "http://testserver", "testclient"   # what the world's requests say of their client


class CheckError(Exception):
    """The spec cannot be built into a world (one line for the user)."""


@dataclass
class Finding:
    """One failed check: its category, the operation, a JSON pointer into the body and what is wrong."""

    category: str
    operation: str
    pointer: str
    message: str

    def to_dict(self) -> dict:
        """The finding as JSON."""
        return {"category": self.category, "operation": self.operation, "pointer": self.pointer,
                "message": self.message}

    def line(self) -> str:
        """The finding as one line of the text report."""
        return f"{self.operation} {self.pointer}: {self.message}"


@dataclass
class Report:
    """Passed/total per category, the findings and the timings of one check."""

    spec: str | None
    title: str = ""
    seed: str = "42"
    operations: int = 0
    exercised: int = 0
    status_5xx: int = 0
    counts: dict[str, list[int]] = field(default_factory=lambda: {c: [0, 0] for c in CATEGORIES})
    findings: list[Finding] = field(default_factory=list)
    unchecked: list[Finding] = field(default_factory=list)    # checks the spec itself prevents (its own errors)
    relationships: list[dict] = field(default_factory=list)
    types: list[dict] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def record(self, category: str, ok: bool, operation: str = "", pointer: str = "/", message: str = "") -> bool:
        """Count one check; a failed one becomes a finding."""
        self.counts[category][1] += 1
        if ok:
            self.counts[category][0] += 1
        else:
            self.findings.append(Finding(category, operation, pointer, message))
        return ok

    def score(self, category: str | None = None) -> float:
        """passed/total of a category (or of every check); 1.0 when there was nothing to check."""
        passed, total = self.counts[category] if category else [sum(v[i] for v in self.counts.values()) for i in (0, 1)]
        return passed / total if total else 1.0

    def to_dict(self) -> dict:
        """The stable machine-readable report (``--json``)."""
        def entry(passed: int, total: int) -> dict:
            """passed, total and their ratio (1.0 when nothing was checked)."""
            return {"passed": passed, "total": total, "score": round(passed / total, 4) if total else 1.0}
        overall = [sum(v[i] for v in self.counts.values()) for i in (0, 1)]
        return {"spec": self.spec, "title": self.title, "seed": self.seed,
                "operations": {"total": self.operations, "exercised": self.exercised},
                "status_5xx": self.status_5xx,
                "scores": {c: entry(*self.counts[c]) for c in CATEGORIES}, "overall": entry(*overall),
                "findings": [f.to_dict() for f in self.findings],
                "unchecked": [f.to_dict() for f in self.unchecked], "entity_types": self.types,
                "relationships": self.relationships,
                "timings": {k: round(v, 3) for k, v in self.timings.items()}}

    def text(self, limit: int = 15) -> str:
        """The report for a terminal: a score per category, then the findings (``limit`` per category)."""
        lines = [f"mockverse check: {self.title or self.spec or 'built-in world'} (seed {self.seed})",
                 f"  operations exercised {self.exercised}/{self.operations}, 5xx responses {self.status_5xx}", ""]
        for c in CATEGORIES:
            passed, total = self.counts[c]
            lines.append(f"  {c:<12} {passed:>5}/{total:<5} {self.score(c) * 100:6.1f}%")
        passed, total = (sum(v[i] for v in self.counts.values()) for i in (0, 1))
        lines.append(f"  {'overall':<12} {passed:>5}/{total:<5} {self.score() * 100:6.1f}%")
        for c in CATEGORIES:
            mine = [f for f in self.findings if f.category == c]
            if mine:
                lines += ["", f"{c} findings ({len(mine)}):"] + [f"  {f.line()}" for f in mine[:limit]]
                if len(mine) > limit:
                    lines.append(f"  ... and {len(mine) - limit} more (--json lists them all)")
        if self.unchecked:
            lines += ["", f"unchecked, the spec's own errors ({len(self.unchecked)}):"]
            lines += [f"  {f.line()}" for f in self.unchecked[:limit]]
        lines += ["", "timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in self.timings.items())]
        return "\n".join(lines)


# -- building a world --------------------------------------------------------------------------------


def _value_path(key: str, value: object, prop: object, embeds: dict[str, str]) -> tuple[list[str], object]:
    """Where a written field reads back, and its schema: a scalar written for an object field (``topic=Hello``)
    reads back in that object's value property (``topic.value``), or, for a field embedding one entity
    (``embeds``: field -> the target's id field), as that entity's id (``milestone.id``)."""
    if not isinstance(prop, dict) or not isinstance(value, SCALARS) or fits(value, prop):
        return [key], prop
    if key in embeds:
        return [key, embeds[key]], properties_of(prop).get(embeds[key])
    inner = value_property(merge_schema(prop))
    return ([key, inner], properties_of(prop)[inner]) if inner is not None else ([key], prop)


def _text(value: object) -> str:
    """A parameter value as a query string or header carries it (booleans as ``true``/``false``)."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def build_world(spec: str | None, seed: str) -> World:
    """The world of ``spec`` (None: the built-in world) on an in-memory store, its app built; CheckError if it
    cannot be built."""
    try:
        world = World.from_spec(spec, seed=seed, auth_check=False)   # the world's coherence, not auth
        world.asgi_app()
    except Exception as exc:  # noqa: BLE001 - any failure to build is one line for the user, never a traceback
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckError(message if spec and spec in message else f"{spec or 'built-in world'}: "
                         f"{type(exc).__name__}: {message}") from None
    return world


def client_of(world: World) -> httpx.Client:
    """A client of the world in this process, as a test client asks: redirects followed, its host and agent."""
    return world.client(base_url=CLIENT_URL, follow_redirects=True, headers={"user-agent": CLIENT_AGENT})


def run_check(spec: str | None = None, seed: str = "42") -> Report:
    """Build the world of ``spec`` twice and check it (see the module notes)."""
    started = time.perf_counter()
    world = build_world(spec, seed)
    app = world.asgi_app()
    report = Report(spec=spec, seed=seed, title=app.state.spec.title)
    report.timings["load"] = time.perf_counter() - started
    checking = time.perf_counter()
    with world, client_of(world) as client:
        checker = Checker(app, client, report)
        checker.reads()
        checker.writes()
    rebuilt = time.perf_counter()
    again = build_world(spec, seed)
    with again, client_of(again) as second:
        checker.determinism(second)
    report.timings["rebuild"] = time.perf_counter() - rebuilt
    report.timings["check"] = time.perf_counter() - checking
    return report


# -- the world as the checker sees it ----------------------------------------------------------------


@dataclass
class _Type:
    """What the checker knows of one entity type: where it is served and which fields are links."""

    name: str
    id_field: str
    item_path: str | None
    collection_path: str | None
    parent: str | None
    parent_field: str | None
    links: list[tuple[str, str | None, str, bool]]    # (field, inner key or None, target, embedded?)
    schema: dict
    id_param: str | None = None                        # the item path's key, when a field of that name holds it
    schema_name: str | None = None                     # the spec's schema the type's entities are
    id_paths: tuple[str, ...] = ()                     # further item paths, keyed by the id
    held: dict[str, str] = field(default_factory=dict)  # link field -> the target's key it holds (``identity``)

    def keys(self) -> list[str]:
        """The fields a value addressing one entity may sit in: its id, else the field its item path is keyed by."""
        return list(dict.fromkeys(k for k in (self.id_field, self.id_param) if k))


@dataclass
class _Call:
    operation: str
    url: str
    status: int
    raw: bytes
    body: Any
    location: str | None = None


def _op_name(op: Operation) -> str:
    """``GET /pets/{petId}``: how findings name an operation."""
    return f"{op.method.upper()} {op.path}"


def path_tokens(path: str) -> list[str]:
    """The segments of a path template."""
    return [t for t in path.split("/") if t]


def path_param(token: str) -> str | None:
    """The parameter name of a ``{name}`` segment, else None."""
    return token[1:-1] if token.startswith("{") and token.endswith("}") and len(token) > 2 else None


def same_id(a: object, b: object) -> bool:
    """Whether two scalar ids are the same (``7`` and ``"7"`` are: paths carry ids as text)."""
    return a is not None and b is not None and not isinstance(a, (dict, list)) and str(a) == str(b)


class Checker:
    """One check run over one app (see :func:`run_check`)."""

    def __init__(self, app: Any, client: httpx.Client, report: Report) -> None:
        """The world as described by its model: types, their item and collection paths, their links."""
        self.client = client
        self.report = report
        self.spec = app.state.spec
        self.engine = app.state.engine
        self.model = self.engine.model
        self.by_path = app.state.mock.by_path
        self.parts: dict[tuple[str, str], dict[str, tuple[EntityType, KeyPart]]] = {}
        self.gen = Generator(f"check:{report.seed}")
        self.ctx = {"created_at": self.model.epoch, "now": self.model.epoch, "person": False, "fields": {}}
        ops = [(op.method.upper(), op.path) for op in self.spec.operations]
        description = self.model.describe(ops)
        report.relationships = [{k: r.get(k) for k in ("source", "field", "target", "kind")}
                                for r in description["relationships"]]
        report.types = [{"name": row["name"], "schema": row["schema"], "parent": (row["parent"] or {}).get("type")}
                        for row in description["entity_types"]]
        self.types = {row["name"]: self._type(row) for row in description["entity_types"]}
        self.searches: dict[str, str] = {}      # list paths the world serves with entities found elsewhere
        by_id = {path_shape(path): t.name for t in self.types.values() for path in t.id_paths}
        self.item_paths = {**by_id, **{path_shape(t.item_path): t.name for t in self.types.values() if t.item_path}}
        self.collections = {t.collection_path: t.name for t in self.types.values() if t.collection_path}
        self.ids: dict[str, list] = {name: [] for name in self.types}
        self.parent_of: dict[tuple[str, str], object] = {}
        self.gets: dict[str, Operation] = {}   # each path's GET (the first the spec declares)
        for op in self.spec.operations:
            if op.method.upper() == "GET":
                self.gets.setdefault(op.path, op)
        self.roots: dict[str, _Type | None] = {}   # root_of, by type name
        self.schema_twins: dict[str, frozenset[str]] = {}   # twins, by type name
        self.numbers: dict[tuple[str, str], object] = {}   # (type, id) -> the key its item path takes
        self.statuses: dict[str, list[int]] = {}
        self.replay: list[_Call] = []
        self.resolved: dict[tuple[str, str, str | None], tuple[bool, str]] = {}
        self.followed: dict[str, _Call] = {}      # answers to the URLs bodies hold, by path
        self.validated: set[tuple[str, str]] = set()
        self.unparented: set[tuple[str, str]] = set()   # created entities no parent a client knows addresses
        report.operations = len(self.spec.operations)
        self.facet_writes = {(method, path) for path, methods in app.state.mock.by_path.items()
                             for method, typed in methods.items() if isinstance(typed, FacetWriteOp)}
        self.updating = _rpc_updates(app.state.mock.by_path)
        self.current = {t.inferred.current_path: name for name, t in self.model.types.items()   # /user -> user
                        if t.inferred is not None and t.inferred.current_path and "{" not in t.inferred.current_path}
        self.current.update({path: typed.entity.name for path, methods in self.by_path.items()   # /me -> user
                             if isinstance(typed := methods.get("GET"), ItemOp) and typed.id_param is None})

    def _type(self, row: dict) -> _Type:
        """A type of the world description as the checker uses it."""
        item = row["item_path"] or self._derived_item_path(row["collection_path"])
        links: list[tuple[str, str | None, str, bool]] = [(r["field"], None, r["target"], False)
                                                          for r in row["references"]]
        entity = self.model.types.get(row["name"])
        whole = {e.field for e in getattr(entity, "embeds", []) if e.inner is None}
        for e in row["embeds"]:
            outer, _, inner = ("", "", "") if e["field"] in whole else e["field"].partition(".")
            links.append((outer or e["field"], inner or None, e["target"], True))   # a name may hold a dot
        parent = row["parent"] or {}
        return _Type(row["name"], row["id_field"], item, row["collection_path"], parent.get("type"),
                     parent.get("field"), links, getattr(entity, "schema", None) or {}, row.get("id_param"),
                     row.get("schema"), tuple(row.get("id_paths") or ()),
                     {r["field"]: r["key"] for r in row["references"] if r.get("key")})

    def _derived_item_path(self, collection: str | None) -> str | None:
        """An item path the world serves under a collection path (``/users`` -> ``/users/{id}``)."""
        if not collection:
            return None
        for op in self.spec.operations:
            rest = op.path[len(collection):] if op.path.startswith(collection + "/") else ""
            if op.method.upper() == "GET" and rest.count("/") == 1 and path_param(rest[1:]):
                return op.path
        return None

    # -- binding path parameters to entity types --------------------------------------------------
    def bind(self, path: str) -> dict[str, str]:
        """Which entity type each path parameter names (``{projectId}`` -> project)."""
        tokens, bound = path_tokens(path), {}
        for i, token in enumerate(tokens):
            name = path_param(token)
            if name is None:
                continue
            prefix = "/" + "/".join(tokens[:i + 1])
            owner = self.item_paths.get(path_shape(prefix)) or self.collections.get("/" + "/".join(tokens[:i]))
            if owner is None and i and not path_param(tokens[i - 1]):
                owner = next((t.name for t in self.types.values() if t.collection_path
                              and path_tokens(t.collection_path)[-1:] == [tokens[i - 1]]), None) or \
                    next((t.name for t in self.types.values() if t.item_path
                          and path_tokens(t.item_path)[-2:-1] == [tokens[i - 1]]), None)
            if owner is None and i and not path_param(tokens[i - 1]) and singular(snake(tokens[i - 1])) in self.types:
                owner = singular(snake(tokens[i - 1]))   # a type served at no path of its own, named by the segment
            if owner is not None:
                bound[name] = owner
        return bound

    def listed_type(self, path: str) -> str | None:
        """The entity type a path ending in a literal lists (its collection path or its last segment)."""
        tokens = path_tokens(path)
        if not tokens or path_param(tokens[-1]):
            return None
        if path in self.collections:
            return self.collections[path]
        return next((t.name for t in self.types.values() if t.collection_path
                     and path_tokens(t.collection_path)[-1:] == tokens[-1:]), self.searches.get(path))

    # -- ids that exist --------------------------------------------------------------------------
    def learn(self, type_name: str, id: object, parent: object = None) -> None:
        """Remember an id that exists (and its parent, when a nested list showed it)."""
        if id is None or isinstance(id, (dict, list, bool)):
            return
        if id not in self.ids[type_name]:
            self.ids[type_name].append(id)
        if parent is not None:
            self.parent_of.setdefault((type_name, str(id)), parent)

    def seed_ids(self) -> None:
        """Ids from the world view's samples, else the world's own id scheme for top-level types."""
        call = self.get_raw(WORLD_VIEW, "/api/v1/consistency/world")
        self.report.record("served", call.status < 500, WORLD_VIEW, "/", f"answered {call.status}")
        if call.status >= 500:
            self.report.status_5xx += 1
        if call.status == 200 and isinstance(call.body, dict):
            self.searches = {row["path"]: row["target"] for row in call.body.get("served") or []
                             if row.get("method") == "GET" and row.get("target") in self.types}
            for row in call.body.get("entity_types") or []:
                for sample in row.get("sample") or []:
                    if row.get("name") in self.types:
                        self.learn(row["name"], sample.get("id"), sample.get("parent_id"))
        for name, entity in self.model.types.items():
            if name in self.types and entity.parent is None and not self.ids[name]:
                for i in range(1, min(SAMPLES, entity.config.population or 0) + 1):
                    self.learn(name, entity.root_id(i))

    def parent(self, type_name: str, id: object) -> object:
        """The parent id of an entity: known from a list or a sample, else read from the engine's entity API."""
        key = (type_name, str(id))
        if key not in self.parent_of:
            self.parent_of[key] = self.world_parent(type_name, id)
        return self.parent_of[key]

    def world_parent(self, type_name: str, id: object) -> object:
        """The parent id the engine's entity API gives an entity (None when it has none or is unknown)."""
        data = self.world_data(type_name, id)
        field = self.types[type_name].parent_field
        return data.get(field) if data is not None and field else None

    def world_data(self, type_name: str, id: object) -> dict | None:
        """An entity's fields as the engine's entity API gives them (None when it is unknown)."""
        call = self.get_raw("GET /api/v1/consistency/entities/{type}/{id}",
                            f"/api/v1/consistency/entities/{quote(type_name)}/{quote(str(id), safe='')}")
        data = call.body.get("data") if call.status == 200 and isinstance(call.body, dict) else None
        return data if isinstance(data, dict) else None

    def ancestors(self, type_name: str, id: object) -> dict[str, object]:
        """Ids of an entity and of each of its ancestors, by type."""
        out: dict[str, object] = {type_name: id}
        entity = self.types[type_name]
        while entity.parent and id is not None and entity.parent not in out:
            id = self.parent(entity.name, id)
            if id is None:
                break
            out[entity.parent] = id
            entity = self.types[entity.parent]
        return out

    def fill(self, op: Operation, bound: dict[str, str], known: dict[str, object]) -> dict[str, str]:
        """Values for every path parameter of ``op``: ``known`` ids by type, else generated from the schema."""
        values = {}
        parts = self.key_parts(op)
        for p in op.parameters:
            if p.location != "path":
                continue
            type_name = bound.get(p.name)
            part = self.part_key(*parts[p.name], known) if p.name in parts else None
            if part is not None:
                values[p.name] = str(part)
            elif type_name in known:
                values[p.name] = str(self.path_key(type_name, p.name, known[type_name], bound))
            elif type_name and self.ids[type_name]:
                values[p.name] = str(self.path_key(type_name, p.name, self.ids[type_name][0], bound))
            else:
                values[p.name] = str(self.scalar(p.schema, f"path.{p.name}"))
        parent_key = self.parent_key(op)
        for p in op.parameters:   # ?user=U1 at /users.info: the id of the entity the query names
            type_name = self.query_type(p.name) if p.location == "query" else None
            if type_name is None or not (p.required or op.path == self.types[type_name].item_path
                                         or rpc_kind(op.path) in ("update", "delete")
                                         or parent_key == (p.name, type_name)):
                continue
            id = known.get(type_name, next(iter(self.ids[type_name]), None))
            if id is not None:
                values[p.name] = str(id)
        return values

    def path_key(self, type_name: str, param: str, id: object, bound: dict[str, str]) -> object:
        """What a client puts in ``{param}`` to address one entity: its number within its parent where the
        path takes that (``/repos/{owner}/{repo}/issues/{index}``: the issue's ``number``), its key among its
        parent's children where the path names the parent and takes that (``/guilds/{guild_id}/members/{user_id}``:
        the member's ``user.id``; its world id is no key a client knows), else its id."""
        entity = self.model.types.get(type_name)
        if entity is None:
            return id
        numbered = entity.number is not None and entity.number.param == param
        scoped = entity.scoped is not None and entity.inferred is not None and entity.inferred.id_param == param \
            and entity.parent is not None and entity.parent.name in bound.values()
        if not numbered and not scoped:
            return id
        key = (type_name, str(id))
        if key not in self.numbers:
            data = self.world_data(type_name, id)
            self.numbers[key] = path_value(entity, param, data) if data is not None else None
        found = self.numbers[key]
        return found if found is not None else id

    def key_parts(self, op: Operation) -> dict[str, tuple[EntityType, KeyPart]]:
        """The path parameters of ``op`` that are leading parts of a composite key (``{owner}`` of
        ``/repos/{owner}/{repo}``), each with the entity type it is a part of and the part, as the world binds them."""
        route = (op.method.upper(), op.path)
        if route not in self.parts:
            typed = self.by_path.get(op.path, {}).get(route[0])
            named = dict(typed.bound) if typed is not None else {}
            self.parts[route] = {name: (named[own], part)
                                 for name, (own, part) in key_part_params(op.path, named.get).items()}
        return self.parts[route]

    def part_key(self, entity: EntityType, part: KeyPart, known: dict[str, object]) -> object:
        """What a client puts in a leading part of an entity's composite key (``{owner}``: the login of the repo's
        owner), read from the entity the path names (the known one, else the first seen); None when unknown."""
        id = known.get(entity.name, next(iter(self.ids.get(entity.name) or []), None))
        return self.part_value(entity, id, part) if id is not None else None

    def part_value(self, entity: EntityType, id: object, part: KeyPart) -> object:
        """One part of an entity's composite key as the world holds it now (None for an entity it has not)."""
        view = self.engine.view("default")
        parsed = entity.parse_id(id)
        data = view.get(entity, parsed) if parsed is not None else None
        return key_value(view, entity, parsed, data, part) if data is not None else None

    def wrong_parts(self, op: Operation, values: dict[str, str]) -> None:
        """Each leading part of a composite key that holds another entity's part (``/repos/{another owner}/{repo}``)
        answers 404, never the entity of the right one."""
        for name, (entity, part) in self.key_parts(op).items():
            wrong = next((str(v) for v in (self.part_value(entity, i, part) for i in self.ids.get(entity.name, []))
                          if v is not None and str(v) != values[name]), values[name] + "x")
            call = self.call(op, {**values, name: wrong})
            self.report.record("nested", call.status == 404, call.operation, "/",
                               f"{name} {wrong!r} is not the {entity.name}'s, but {call.url} answered {call.status}, "
                               "not 404")

    def parent_key(self, op: Operation) -> tuple[str, str] | None:
        """(query parameter, parent type) of a list method that names the listed type's parent in its query
        (``conversations.history?channel=``): the method form of a nested path."""
        rpc = op.method.upper() == "GET" and rpc_namespace(op.path) is not None
        listed = self.listed_type(op.path) if rpc else None
        parent = self.types[listed].parent if listed is not None else None
        if parent is None or parent not in self.model.types:
            return None
        names = key_names(parent)
        return next(((p.name, parent) for p in op.parameters if p.location == "query" and p.name in names), None)

    def query_type(self, name: str) -> str | None:
        """The entity type a query parameter names by its spelling (``user``, ``user_id``, ``userId``)."""
        return next((t for t, entity in self.model.types.items() if t in self.types and name in key_names(t)),
                    None)

    def contexts(self, op: Operation, bound: dict[str, str], limit: int = SAMPLES) -> list[dict[str, object]]:
        """Up to ``limit`` assignments of ids (by type) for ``op``'s path, deepest bound type first."""
        tokens = [path_param(t) for t in path_tokens(op.path)]
        deepest = next((bound[t] for t in reversed(tokens) if t and t in bound), None) or \
            (self.parent_key(op) or (None, None))[1]
        if deepest is None:
            return [{}]
        listed = self.listed_type(op.path)
        ids = []
        if listed is not None and self.types[listed].parent == deepest:   # parents known to have children first
            ids = list(dict.fromkeys(p for (t, _), p in self.parent_of.items() if t == listed and p is not None))
        ids = list(dict.fromkeys(ids + self.ids[deepest]))[:limit]
        return [self.ancestors(deepest, i) for i in ids] or [{}]

    # -- values ----------------------------------------------------------------------------------
    def scalar(self, schema: dict | None, path: str) -> object:
        """A value for a parameter: its example, default or first enum value, else a generated one."""
        flat = merge_schema(schema) if isinstance(schema, dict) else {"type": "string"}
        for key in ("example", "default"):
            if flat.get(key) is not None and not isinstance(flat[key], (dict, list)):
                return flat[key]
        if flat.get("enum"):
            return flat["enum"][0]
        value = self.gen.value(flat, "check", path, path.rsplit(".", 1)[-1], self.ctx)
        if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
            return ",".join(_text(v) for v in value)   # an array parameter, form style
        return orjson.dumps(value).decode() if isinstance(value, (dict, list)) else value

    def body(self, op: Operation, purpose: str, entity: _Type | None = None) -> Any:
        """A request body generated from the request schema (read-only properties left out), deterministically;
        a JSON Patch of ``entity`` when the request schema is one."""
        if not isinstance(op.request_schema, dict):
            return None
        verbs = _patch_verbs(op.request_schema)
        if entity is not None and verbs:
            return self.patch(op, entity, verbs, purpose)
        return _writable(self.gen.value(op.request_schema, "check", f"{purpose}:{op.path}", "body", self.ctx),
                         op.request_schema)

    def patch(self, op: Operation, entity: _Type, verbs: list[str], purpose: str) -> list[dict]:
        """A JSON Patch (RFC 6902) as a client writes one: the entity's first plain writable fields set
        to generated values (``replace``, else ``add``), each addressed by a JSON Pointer."""
        verb = next((v for v in ("replace", "add") if v in verbs), None)
        props = merge_all_of(entity.schema).get("properties") or {} if isinstance(entity.schema, dict) else {}
        out: list[dict] = []
        for name, prop in sorted(props.items()):
            flat = merge_schema(prop) if isinstance(prop, dict) else {}
            plain = schema_types(flat) & _SCALARS and not flat.get("format") and not flat.get("readOnly")
            if verb is None or len(out) >= PATCHED_FIELDS or not plain or name in (entity.id_field,
                                                                                   entity.parent_field):
                continue
            value = self.gen.value(flat, "check", f"{purpose}:{op.path}", name, self.ctx)
            out.append({"op": verb, "path": to_pointer([name]), "value": value})
        return out

    def media(self, op: Operation) -> str | None:
        """The request media type to send: JSON when the operation takes it, else form, else the first."""
        item = (self.spec.document.get("paths") or {}).get(op.path) or {}
        content = ((item.get(op.method.lower()) or {}).get("requestBody") or {}).get("content") or {}
        kinds = list(content) if isinstance(content, dict) else []
        return next((k for k in kinds if is_json_media_type(k)), next((k for k in kinds if k.startswith(_FORM)),
                                                                      kinds[0] if kinds else None))

    # -- calls -----------------------------------------------------------------------------------
    def get_raw(self, operation: str, url: str) -> _Call:
        """A GET of the engine's own API (not an operation of the spec)."""
        response = self.client.get(url)
        return _Call(operation, url, response.status_code, response.content, _json(response))

    def call(self, op: Operation, values: dict[str, str], body: Any = None) -> _Call:
        """Call ``op`` with path values, its required query and header parameters, and ``body``."""
        url = "/".join(quote(values[name], safe="") if (name := path_param(t)) is not None and name in values else t
                       for t in op.path.split("/"))
        query: dict[str, str] = {}
        headers: dict[str, str] = {}
        for p in op.parameters:
            if p.location == "query" and p.name in values:
                query[p.name] = values[p.name]
            elif p.required and p.location in ("query", "header"):
                value = _text(self.scalar(p.schema, f"{p.location}.{p.name}"))
                (query if p.location == "query" else headers)[p.name] = value
        kwargs: dict[str, Any] = {"params": query, "headers": headers}
        if body is not None:
            media = self.media(op) or "application/json"
            if media.startswith(_FORM) and isinstance(body, dict):
                kwargs["data"] = {k: v if isinstance(v, str) else orjson.dumps(v).decode() for k, v in body.items()}
            else:
                kwargs["content"] = orjson.dumps(body)
                headers["content-type"] = "application/json"
        response = self.client.request(op.method.upper(), url, **kwargs)
        url += "?" + urlencode(query) if query else ""   # what a replay asks again, its query included
        call = _Call(_op_name(op), url, response.status_code, response.content, _json(response),
                     response.headers.get("location"))
        self.statuses.setdefault(call.operation, []).append(call.status)
        if call.status >= 500:
            self.report.status_5xx += 1
        elif 200 <= call.status < 300 and call.body is not None and (call.operation, url) not in self.validated:
            self.validated.add((call.operation, url))   # a GET repeated for a link or a list is validated once
            self.validate(op, call)
        return call

    def validate(self, op: Operation, call: _Call) -> None:
        """A 2xx JSON body against the operation's response schema for that status."""
        response = op.responses.get(str(call.status)) or op.responses.get(f"{str(call.status)[0]}XX") or op.success()
        validator = validator_for(response.schema) if response is not None and response.schema else None
        if validator is None:
            return
        try:
            error = None if quickly_valid(validator, call.body) else \
                min(validator.iter_errors(call.body), key=relevance, default=None)
        except re.error as exc:   # a spec error (ECMA-only syntax such as \p{L}): the body cannot be checked
            self.report.unchecked.append(Finding("schema", call.operation, "/", f"the response schema cannot be "
                                                 f"checked: pattern {exc.pattern!r} is not a Python regex ({exc})"))
            return
        pointer = to_pointer(list(error.absolute_path)) if error else "/"
        self.report.record("schema", error is None, call.operation, pointer,
                           _short(error.message) if error else "")

    # -- reads -----------------------------------------------------------------------------------
    def reads(self) -> None:
        """Every GET and HEAD, shallow paths first (lists feed ids to deeper paths)."""
        self.seed_ids()
        gets = [op for op in self.spec.operations if op.method.upper() in ("GET", "HEAD")]
        for op in sorted(gets, key=lambda o: (o.path.count("{"), o.path)):
            self.guarded(op, self.read, op)

    def guarded(self, op: Operation, step: Callable[..., Any], *args: Any) -> None:
        """One operation's checks; a schema too deeply nested to walk is reported as unchecked, not a crash."""
        try:
            step(*args)
        except RecursionError:
            self.report.unchecked.append(Finding("served", _op_name(op), "/", "checking this operation recursed "
                                                 "too deeply (a cyclic or very deep schema)"))

    def read(self, op: Operation) -> None:
        """GET an operation with up to SAMPLES id assignments and inspect each 2xx body."""
        bound = self.bind(op.path)
        tried = op.method.upper() != "GET" or not self.key_parts(op)
        for known in self.contexts(op, bound):
            values = self.fill(op, bound, known)
            call = self.call(op, values)
            if not tried and 200 <= call.status < 300:
                tried = True
                self.wrong_parts(op, values)
            if op.method.upper() == "GET" and len(self.replay) < DETERMINISM_GETS and \
                    200 <= call.status < 300 and all(c.operation != call.operation for c in self.replay):
                self.replay.append(call)
            if 200 <= call.status < 300 and call.body is not None:
                self.inspect(op, bound, known, call)

    def inspect(self, op: Operation, bound: dict[str, str], known: dict[str, object], call: _Call) -> None:
        """Links in an item body; links, back-pointers and item agreement in a list body."""
        last = path_param(path_tokens(op.path)[-1]) if path_tokens(op.path) else None
        if last is not None and last in bound:
            entity = self.types[bound[last]]
            found = find_by_id(call.body, entity.id_field, known.get(entity.name))
            if found is not None:
                self.links(call.operation, found[0], found[1], entity, budget=[LINKS_PER_BODY])
            return
        listed = self.listed_type(op.path)
        if listed is None:
            return
        entity = self.types[listed]
        listing = self.listing(op, call.body, entity)
        if listing is None:
            return
        pointer, inner = listing[0], listing[2]
        items = [(i, item) for i, item in enumerate(listing[1]) if isinstance(item, dict)]   # (index, entity)
        params = [t for t in (path_param(x) for x in path_tokens(op.path)) if t is not None and t in bound]
        owner = bound[params[-1]] if params else (self.parent_key(op) or (None, None))[1]
        nested = owner is not None and owner == entity.parent and known.get(owner) is not None
        owner_id = known.get(owner) if owner is not None else None
        budget = [LINKS_PER_BODY]
        for n, (i, item) in enumerate(items):
            id = item.get(entity.id_field)
            self.learn(listed, id, owner_id if nested else None)
            if n >= LIST_ITEMS:
                continue
            at = pointer + [i] + inner
            self.links(call.operation, at, item, entity, budget)
            if nested and entity.parent_field and entity.parent_field in item:
                self.report.record("nested", same_id(item[entity.parent_field], owner_id), call.operation,
                                   to_pointer(at + [entity.parent_field]),
                                   f"{item[entity.parent_field]!r} does not point back at {owner} {owner_id!r}")
            elif nested and id is not None and self.item_op(entity) is None and not self.membership(entity):
                parent = self.world_parent(listed, id)   # no key shown, no item read
                self.report.record("nested", same_id(parent, owner_id), call.operation, to_pointer(at),
                                   f"{entity.name} {id!r} belongs to {owner} {parent!r}, not {owner_id!r}")
            if nested and owner is not None:
                self.embedded_parent(call.operation, at, item, entity, owner, owner_id)
            elif owner is not None and owner_id is not None:
                self.url_parent(call.operation, at, item, entity, owner, owner_id)
            if nested or not self.membership(entity):
                self.agree("nested" if nested else "item_list", call.operation, at, item, entity,
                           {**known, listed: id} if nested else self.ancestors(listed, id))
            self.same_person(call.operation, at, item, entity)
        if nested and items:
            self.outsider(call.operation, entity, known, owner_id, {str(i.get(entity.id_field)) for _, i in items})

    def embedded_parent(self, operation: str, at: list, item: dict, entity: _Type, owner: str,
                        owner_id: object) -> None:
        """A listed child's own link to its parent (``repository`` of an issue under a repo, an id or an
        embedded object) names the parent it is listed under."""
        for name, _, target, embedded in self.parent_links(entity, owner):
            value = item.get(name)
            if value is None or isinstance(value, list):
                continue
            for pointer, id in _link_values(value, at + [name], None, self.types[target].id_field, embedded):
                self.report.record("nested", same_id(id, owner_id), operation, to_pointer(pointer),
                                   f"{id!r} is not the {owner} {owner_id!r} this list is under")

    def url_parent(self, operation: str, at: list, item: dict, entity: _Type, owner: str, owner_id: object) -> None:
        """An entity listed under another type's entity (comments under an issue) whose URL reference names
        that type (``issue_url``) names the entity it is listed under."""
        model = self.model.types.get(entity.name)
        for ref in model.url_links if model is not None else []:
            value = item.get(ref.field)
            if ref.target.name != owner or value in (None, ""):
                continue
            ok, detail = self.resolve_url(owner, value, (self.types[owner].id_field, owner_id))
            self.report.record("nested", ok, operation, to_pointer(at + [ref.field]),
                               f"{value!r} is not the {owner} {owner_id!r} this list is under: {detail}")

    def parent_links(self, entity: _Type, owner: str) -> list[tuple[str, str | None, str, bool]]:
        """The links of a child naming its parent, besides its parent key: a top-level field named for the
        parent's type, or for a type of the parent's schema, that links to that type (none when the parent
        key is a field named for a role)."""
        twins = self.twins(owner)
        props = merge_all_of(entity.schema).get("properties") or {} if isinstance(entity.schema, dict) else {}
        named = {n for t in twins for n in key_names(t)}
        if entity.parent_field in props and entity.parent_field not in named:
            return []   # the parent shown under a role (``creator``): a field named for its type is another role
        return [link for link in entity.links if link[2] in twins and link[1] is None
                and link[0] != entity.parent_field and link[0] in {*key_names(owner), *key_names(link[2])}]

    def twins(self, owner: str) -> frozenset[str]:
        """A type's name and those of the types of its schema (worked out once per type)."""
        if owner not in self.schema_twins:
            schema = self.types[owner].schema_name
            self.schema_twins[owner] = frozenset(t.name for t in self.types.values()
                                                 if t.name == owner or (schema and t.schema_name == schema))
        return self.schema_twins[owner]

    def outsider(self, operation: str, entity: _Type, known: dict, owner_id: object, listed: set[str]) -> None:
        """A membership check of the parent answers 404 for a child of another parent (one not in its list)."""
        item_op = self.item_op(entity)
        member = _membership(item_op) if item_op is not None else None
        other = next((id for id in self.ids[entity.name] if str(id) not in listed
                      and self.parent_of.get((entity.name, str(id))) is not None
                      and not same_id(self.parent_of[(entity.name, str(id))], owner_id)), None)
        if item_op is None or member is None or other is None:
            return
        call = self.call(item_op, self.fill(item_op, self.bind(item_op.path), {**known, entity.name: other}))
        self.report.record("nested", call.status == 404, operation, "/",
                           f"{entity.name} {other!r} is not in this list, but {_op_name(item_op)} answered "
                           f"{call.status}, not 404")

    def listing(self, op: Operation, body: Any, entity: _Type) -> tuple[list, list, list] | None:
        """(pointer, items, path in each item) of the entity list in a list body: at the slot the world fills
        with the type (not another array that happens to hold ids: an audit log's entries beside its users),
        else the first array of objects with the type's id field; items that each embed the entity at one
        place (``{channels: [{latest: message}]}``) list the entities there."""
        model_type = self.model.types.get(entity.name)
        success = op.success()
        schema = success.schema if success is not None else None
        if model_type is None or not isinstance(schema, dict):
            found = _find_list(body, entity.id_field)
            return (*found, []) if found is not None else None
        slot = list_slot(schema, model_type)
        if slot is None:
            found = _find_list(body, entity.id_field)
            return (*found, []) if found is not None else None
        node = body
        for part in slot[0]:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, list):
            return None
        inner = entity_slots(slot[1], model_type, strict=True)
        if inner is not None and len(inner) == 1 and inner[0]:
            return list(slot[0]), [_at(item, inner[0]) for item in node], inner[0]   # a channel's ``latest`` message
        return list(slot[0]), node, []

    def agree(self, category: str, operation: str, at: list, item: dict, entity: _Type, known: dict) -> None:
        """A list's entity equals what its own item path answers (on the keys both show)."""
        item_op = self.item_op(entity)
        if item_op is None or known.get(entity.name) is None:
            return
        call = self.call(item_op, self.fill(item_op, self.bind(item_op.path), known))
        member = _membership(item_op)
        if member is not None:   # a membership check: its bodiless success says "in the list", nothing more
            self.report.record(category, call.status == member, operation, to_pointer(at),
                               f"{entity.name} {known[entity.name]!r} is listed, but {_op_name(item_op)} "
                               f"answered {call.status}, not {member}")
            return
        found = find_by_id(call.body, entity.id_field, known[entity.name]) if call.status == 200 else None
        if found is None and call.status == 200 and isinstance(call.body, dict) and not shows_key(item_op, entity):
            found = ([], call.body)   # an item path whose schema has no id field: its body is the entity's fields
        if found is None:
            self.report.record(category, False, operation, to_pointer(at),
                               f"{entity.name} {known[entity.name]!r}: {_op_name(item_op)} answered {call.status}"
                               + ("" if call.status != 200 else " without that entity"))
            return
        diff = _difference(item, found[1], at)
        self.report.record(category, diff is None, operation, to_pointer(diff[0]) if diff else "/",
                           f"list has {_short(repr(diff[1]))}, {_op_name(item_op)} has {_short(repr(diff[2]))}"
                           if diff else "")

    def same_person(self, operation: str, at: list, item: dict, entity: _Type) -> None:
        """A listed entity of another top-level type's schema (a member, a collaborator: a ``User``) is that
        type's entity: its item path, asked with the key the item shows (``login``), answers the same body."""
        root = self.root_of(entity)
        item_op = self.item_op(root) if root is not None else None
        model = self.model.types.get(root.name) if root is not None else None
        if root is None or item_op is None or model is None:
            return
        key = next((item[k] for k in (*model.keys, root.id_field) if isinstance(item.get(k), (str, int))), None)
        if key is None:
            return
        call = self.call(item_op, self.fill(item_op, self.bind(item_op.path), {root.name: key}))
        body = call.body if call.status == 200 and isinstance(call.body, dict) else None
        diff = _difference(item, body, at) if body is not None else (at, f"{root.name} {key!r}", call.status)
        self.report.record("members", diff is None, operation, to_pointer(diff[0]) if diff else "/",
                           f"list has {_short(repr(diff[1]))}, {_op_name(item_op)} has {_short(repr(diff[2]))}"
                           if diff else "")

    def membership(self, entity: _Type) -> bool:
        """Whether the world serves a type as memberships: each shows the top-level entity it makes a member (its
        id), so which parent's membership a body outside its parent's list is, the body does not say."""
        model = self.model.types.get(entity.name)
        return model is not None and model.member_of is not None

    def root_of(self, entity: _Type) -> _Type | None:
        """The top-level type whose entities a type's are (same schema, served at an item path of its own): the
        one with the shortest item path; None when the type is one itself or there is none."""
        if entity.name not in self.roots:
            self.roots[entity.name] = self._root_of(entity)
        return self.roots[entity.name]

    def _root_of(self, entity: _Type) -> _Type | None:
        """:meth:`root_of`, worked out once per type."""
        if not entity.schema_name:
            return None
        roots = sorted((t for t in self.types.values() if t.schema_name == entity.schema_name and t.parent is None
                        and t.item_path and self.item_op(t) is not None),
                       key=lambda t: (len(path_tokens(t.item_path or "")), t.name))
        return roots[0] if roots and roots[0].name != entity.name else None

    def item_op(self, entity: _Type) -> Operation | None:
        """The GET of a type's item path, if the spec has one."""
        return self.gets.get(entity.item_path or "")

    def links(self, operation: str, at: list, obj: dict, entity: _Type, budget: list[int]) -> None:
        """Each link value of an entity object resolves to the same entity of the target type."""
        self.url_links(operation, at, obj, entity)
        fields = ([(entity.parent_field, None, entity.parent, False)] if entity.parent and entity.parent_field else [])
        for name, inner, target, embedded in fields + entity.links:
            value = obj.get(name)
            if value is None or target not in self.types:
                continue
            for pointer, id in _link_values(value, at + [name], inner, self.types[target].id_field, embedded):
                if budget[0] <= 0:
                    return
                budget[0] -= 1
                ok, detail = self.resolve(target, id, entity.held.get(name))
                self.report.record("links", ok, operation, to_pointer(pointer),
                                   f"{target} {id!r} does not resolve: {detail}")

    def url_links(self, operation: str, at: list, obj: dict, entity: _Type) -> None:
        """Each URL an entity object holds as a link (``issue_url``) or as its own address (``url``), its API
        base stripped, answers 200 with an entity of the target type (the same entity for its own address);
        each URL of its ``links`` map answers 200. Bounded by the fields of the type, apart from the budget of
        id links."""
        model = self.model.types.get(entity.name)
        if model is None:
            return
        own = next(((k, obj[k]) for k in [*entity.keys(), *model.keys] if _scalar(obj.get(k))), None)
        fields = [(name, entity.name, own) for name in self_url_fields(model)]
        fields += [(ref.field, ref.target.name, None) for ref in model.url_links if ref.target.name in self.types]
        for name, target, key in fields:
            value = obj.get(name)
            if value in (None, ""):
                continue   # an empty URL names nothing (a comment on no pull request)
            ok, detail = self.resolve_url(target, value, key)
            self.report.record("links", ok, operation, to_pointer(at + [name]), f"{value!r} is no {target}: {detail}")
        field = links_map_field(model)
        urls = obj.get(field) if field is not None else None
        for name, value in (urls.items() if isinstance(urls, dict) else []):
            call, detail = self.follow(value)
            ok = call is not None and call.status == 200
            detail = detail if call is None else f"GET answered {call.status}"
            self.report.record("links", ok, operation, to_pointer(at + [field, name]),
                               f"{value!r} does not list {name}: {detail}")

    def follow(self, url: object) -> tuple[_Call | None, str]:
        """The answer to GET of an absolute URL on the API's base, its base stripped (cached); None and why
        when the URL is not on that base."""
        base = self.model.base_url
        if not isinstance(url, str) or not url.startswith(base + "/"):
            return None, f"not a URL on the API's base {base}"
        path = url[len(base):]
        if path not in self.followed:
            self.followed[path] = self.get_raw(f"GET {path}", path)
        return self.followed[path], ""

    def resolve_url(self, target: str, url: object, key: tuple[str, object] | None) -> tuple[bool, str]:
        """Whether an absolute URL on the API's base reads an entity of ``target`` (the one whose field
        ``key[0]`` is ``key[1]``, if given): a client follows it with the base stripped."""
        call, detail = self.follow(url)
        if call is None:
            return False, detail
        model = self.model.types[target]
        fields = [*self.types[target].keys(), *model.keys]
        found = None if call.status != 200 else find_by_id(call.body, *key) if key is not None else \
            next((n for n in (_find_id(call.body, f) for f in fields) if n is not None), None)
        return found is not None, f"GET answered {call.status}" + (" with another entity" if call.status == 200 else "")

    def resolve(self, target: str, id: object, held: str | None = None) -> tuple[bool, str]:
        """Whether ``target`` ``id`` exists: its item path answers 200 with that entity, or the bodiless
        status of a membership check (cached). A link holding the target's key ``held`` (a user's ``identity``)
        is followed as a client follows it: the item path at that key answers the entity whose ``held`` it is."""
        key = (target, str(id), held)
        if key in self.resolved:
            return self.resolved[key]
        entity = self.types[target]
        item_op = self.item_op(entity)
        if item_op is None:   # served nowhere by itself (a dangling or list-only type): the engine must know it
            result = self.known(target, id)
        else:
            known = self.ancestors(target, id)
            call = self.call(item_op, self.fill(item_op, self.bind(item_op.path), known))
            member = _membership(item_op)
            found = find_by_id(call.body, held or entity.id_field, id) if call.status == 200 else None
            if member is not None:
                result = (call.status == member, f"{_op_name(item_op)} answered {call.status}, not {member}")
            elif found is None and call.status == 200 and not shows_key(item_op, entity):
                result = self.known(target, id)   # the answer cannot name the entity: its 200 (not 404) is all
            else:
                result = (found is not None, f"{_op_name(item_op)} answered {call.status}"
                          + (" with another entity" if call.status == 200 else ""))
        self.resolved[key] = result
        return result

    def known(self, target: str, id: object) -> tuple[bool, str]:
        """Whether the engine's entity API knows ``target`` ``id`` (for an entity no body of its own names)."""
        call = self.get_raw("GET /api/v1/consistency/entities/{type}/{id}",
                            f"/api/v1/consistency/entities/{quote(target)}/{quote(str(id), safe='')}")
        return call.status == 200, f"the world has no such entity ({call.status})"

    # -- writes ----------------------------------------------------------------------------------
    def writes(self) -> None:
        """Creates read back, updates change later reads; then every other write, DELETEs last."""
        done: set[str] = set()
        for op in self.spec.operations:
            listed = self.listed_type(op.path) if op.method.upper() == "POST" else None
            if listed is None or not self._creates(op, self.types[listed]):
                continue
            done.add(_op_name(op))
            done.update(_op_name(u) for u in self._updates(self.types[listed]))
            self.guarded(op, self.round_trips, op, self.types[listed])
        changed: set[str] = set()   # types whose update methods ran (after their first create)
        for op, entity in self.rpc_creates():
            done.add(_op_name(op))
            done.update(_op_name(u) for u in self.rpc_updates(entity))
            self.guarded(op, self.rpc_round_trips, op, entity, entity.name not in changed)
            changed.add(entity.name)
        rest = [op for op in self.spec.operations
                if op.method.upper() not in ("GET", "HEAD") and _op_name(op) not in done]
        for op in sorted(rest, key=lambda o: o.method.upper() == "DELETE"):
            facet = (op.method.upper(), op.path) in self.facet_writes and op.method.upper() != "DELETE"
            self.guarded(op, self.facet_round_trip if facet else self.other_write, op)
        for op in self.spec.operations:
            statuses = self.statuses.get(_op_name(op), [])
            if statuses:
                self.report.exercised += 1
            self.report.record("served", bool(statuses) and max(statuses) < 500, _op_name(op), "/",
                               f"answered {sorted({s for s in statuses if s >= 500})}" if statuses else "never called")

    def round_trips(self, op: Operation, entity: _Type) -> None:
        """Create an entity, then PUT/PATCH it (or, without a create or when the update's path names a parent
        the created one has not, an entity that exists)."""
        created = self.create(op, entity)
        for update in self._updates(entity):
            existing = self.ids[entity.name]
            if created is not None and (entity.name, str(created[entity.name])) in self.unparented and \
                    entity.parent in self.bind(update.path).values():
                created = None
            target = created or (self.ancestors(entity.name, existing[0]) if existing else None)
            if target is not None:
                self.update(update, entity, target)

    def other_write(self, op: Operation) -> None:
        """Any other write (an action, a DELETE): called once with a generated body; an RPC method changing
        an entity names one that exists (by its key field), as a client's call would."""
        bound = self.bind(op.path)
        body = self.body(op, "call")
        if rpc_kind(op.path) in ("update", "delete") and isinstance(body, dict):
            body = {**body, **{name: str(self.ids[t][0]) for name in body
                               if (t := self.query_type(name)) is not None and self.ids[t]}}
        self.call(op, self.fill(op, bound, self.contexts(op, bound)[0]), body)

    def facet_round_trip(self, op: Operation) -> None:
        """A write to a facet of an entity (``PATCH /guilds/{id}/widget``): its GET then shows the written
        fields its schema holds (a write giving none of them is called, not counted)."""
        bound = self.bind(op.path)
        values = self.fill(op, bound, self.contexts(op, bound)[0])
        body = self.body(op, "facet")
        call = self.call(op, values, body)
        read_op = next((o for o in self.spec.operations if o.method.upper() == "GET" and o.path == op.path), None)
        success = read_op.success() if read_op is not None else None
        props = (merge_schema(success.schema).get("properties") or {}) if success and success.schema else {}
        written = {k: v for k, v in body.items() if isinstance(props.get(k), dict) and fits(v, props[k])} \
            if isinstance(body, dict) else {}
        if read_op is None or not written:
            return
        name = _op_name(op)
        if not 200 <= call.status < 300:
            self.report.record("writes", False, name, "/", f"answered {call.status}: "
                                                           f"{_short(call.raw.decode(errors='replace'))}")
            return
        read = self.call(read_op, values)
        shown = read.body if read.status == 200 and isinstance(read.body, dict) else {}
        wrong = next((k for k in sorted(written) if not _equal(written[k], shown.get(k))), None)
        self.report.record("writes", wrong is None, name, to_pointer([wrong] if wrong else []),
                           f"wrote {_short(repr(written.get(wrong or '')))}, then {_op_name(read_op)} answered "
                           f"{read.status} with {_short(repr(shown.get(wrong or '')))}")

    def rpc_creates(self) -> list[tuple[Operation, _Type]]:
        """RPC create methods (``POST /things.create``, ``POST /chat.postMessage``) and the type each answers."""
        out = []
        for op in self.spec.operations:
            entity = self.answered_type(op) if op.method.upper() == "POST" and rpc_kind(op.path) == "create" else None
            if entity is not None:
                out.append((op, entity))
        return out

    def answered_type(self, op: Operation) -> _Type | None:
        """The type of the entity an RPC method's answer holds (``{ok, thing: {...}}``) among those the spec
        reads (an item or a list method of its own); of several, the one sharing the method's namespace."""
        success = op.success()
        schema = success.schema if success is not None else None
        held = [t for t in self.types.values() if (t.item_path or t.collection_path) and t.name in self.model.types
                and entity_slots(schema, self.model.types[t.name], strict=True)]
        namespace = rpc_namespace(op.path)
        same = [t for t in held if namespace in (rpc_namespace(t.item_path), rpc_namespace(t.collection_path))]
        return next(iter(same + held), None)

    def rpc_updates(self, entity: _Type) -> list[Operation]:
        """The RPC update methods of a type (``POST /things.rename``, ``POST /things.users.update``): those the
        world serves as changing one entity of it, naming the entity by a key parameter (query or body)."""
        return [op for op in self.spec.operations if self.updating.get((op.method.upper(), op.path)) == entity.name
                and self.rpc_key(op, entity) is not None]

    def rpc_key(self, op: Operation, entity: _Type) -> str | None:
        """The parameter (query or body field) an RPC method names one entity of ``entity`` by."""
        names = key_names(entity.name) if entity.name in self.model.types else ()
        props = merge_all_of(op.request_schema).get("properties") or {} if isinstance(op.request_schema, dict) \
            else {}
        given = [p.name for p in op.parameters if p.location == "query"] + list(props)
        return next((n for n in names if n in given), None)

    def rpc_round_trips(self, op: Operation, entity: _Type, change: bool) -> None:
        """Create an entity by an RPC method and read it back, then (``change``) alter it by each update method."""
        created = self.create(op, entity)
        existing = self.ids[entity.name]
        target = created or ({entity.name: existing[0]} if existing else None)
        if target is None or not change:
            return
        for update in self.rpc_updates(entity):
            self.rpc_update(update, entity, target)

    def rpc_update(self, op: Operation, entity: _Type, target: dict[str, object]) -> None:
        """Call an RPC update method on an entity (its key parameter naming it); its item method then reads
        the written fields, and the flags its verb states (``archive``: ``is_archived``)."""
        key = self.rpc_key(op, entity) or ""
        id = str(target[entity.name])
        fields = merge_all_of(op.request_schema).get("properties") or {} if isinstance(op.request_schema, dict) \
            else {}
        body = self.body(op, "update", entity)
        if key in fields:
            body = {**(body if isinstance(body, dict) else {}), key: id}
        call = self.call(op, {} if key in fields else {key: id}, body)
        if not 200 <= call.status < 300:
            self.report.record("writes", False, _op_name(op), "/", f"answered {call.status}: "
                                                                    f"{_short(call.raw.decode(errors='replace'))}")
            return
        props = merge_all_of(entity.schema).get("properties") or {} if isinstance(entity.schema, dict) else {}
        written = {k: v for k, v in body.items() if k != key} if isinstance(body, dict) else {}
        self.read_back(_op_name(op), entity, target, {**written, **flag_fields(op.path, props)},
                       _find_entity(call.body, entity, target[entity.name]))

    def _creates(self, op: Operation, entity: _Type) -> bool:
        """Whether a POST creates ``entity``: at its collection path, under the caller's own entity (``/user/repos``),
        or under its parent's item."""
        if op.path == entity.collection_path or op.path.rsplit("/", 1)[0] in self.current:
            return True
        params = [p for p in (path_param(t) for t in path_tokens(op.path)) if p]
        return bool(params) and entity.parent is not None and self.bind(op.path).get(params[-1]) == entity.parent

    def _updates(self, entity: _Type) -> list[Operation]:
        """The PUT and PATCH operations of a type's item path (none of a membership's: they add one, as a call)."""
        if self.membership(entity):
            return []
        return [op for op in self.spec.operations
                if op.path == entity.item_path and op.method.upper() in ("PUT", "PATCH")]

    def create(self, op: Operation, entity: _Type) -> dict[str, object] | None:
        """POST a generated body; the answer names the new entity (in its body, else by its ``Location``)
        and its item path reads the written fields."""
        bound = self.bind(op.path)
        body = self.body(op, "create", entity)
        contexts = self.contexts(op, bound, SCOPE_CANDIDATES if entity.held else SAMPLES) if bound else [{}]
        known = next((k for k in contexts if self.in_reach(entity, body, k)), contexts[0])
        root = self.root_of(entity) if self.membership(entity) and isinstance(body, dict) else None
        if root is not None and self.ids[root.name]:   # a membership names who it makes a member, one that exists
            body = {**body, root.id_field: self.ids[root.name][0]}
        bulk = _bulk(body)
        body = [self.linked(item, entity, known) for item in body] if bulk else self.linked(body, entity, known)
        sent = body[0] if bulk else body   # of a bulk create, the first entity is the one read back
        call = self.call(op, self.fill(op, bound, known), body)
        name = _op_name(op)
        if not 200 <= call.status < 300:
            answer = _short(call.raw.decode(errors="replace"))
            self.report.record("writes", False, name, "/", f"answered {call.status}: {answer}")
            return None
        top = _unwrap(call.body, {}, entity)
        id = next((top[k] for k in entity.keys() if isinstance(top.get(k), (str, int))), None)
        if id is None:   # no key of its own: the one Location names, else one inside the answer
            id = self._located(entity, call.location) or next(
                (v for v in (_find_id(call.body, k) for k in entity.keys()) if v is not None), None)
        if id is None and bulk:   # a bulk create's summary: the first of the ids it lists (``persisted_recipients``)
            id = _bulk_id(call.body, entity)
        if id is None:   # a key the client chose itself (``{"branch_id": ...}``) is the one it reads back by
            chosen = _written(sent, {}, entity)
            id = next((chosen[k] for k in entity.keys() if isinstance(chosen.get(k), (str, int))), None)
        if id is None:
            self.report.record("writes", False, name, "/", f"the answer holds no {entity.name} "
                                                           f"{' or '.join(entity.keys())} and no Location of one")
            return None
        target = {**known, entity.name: id}
        listed = None
        if self._unaddressed(entity, {*known, *bound.values()}, top):
            self.unparented.add((entity.name, str(id)))
            listed = next((o for o in self.spec.operations if o.method.upper() == "GET" and o.path == op.path), None)
        self.read_back(name, entity, target, sent, _find_entity(call.body, entity, id), listed)
        self.callers(op, entity, top, id)
        return target

    def callers(self, op: Operation, entity: _Type, top: dict, id: object) -> None:
        """A create at a path under the caller's own entity (``POST /user/repos``) is the caller's: its link to
        that type (a key, an embedded owner) names the entity the caller's path answers, and the list at the
        create's path shows it and no entity another one owns."""
        prefix, name = op.path.rsplit("/", 1)[0], _op_name(op)
        owner = self.types.get(self.current.get(prefix, ""))
        if owner is None:
            return
        links = [(f, inner, embedded) for f, inner, target, embedded in entity.links if target == owner.name]
        if entity.parent == owner.name and entity.parent_field:
            links.insert(0, (entity.parent_field, None, False))
        declared = entity.schema.get("properties") or {}
        links = [lk for lk in links if lk[2] or lk[0] in declared and (declared[lk[0]] or {}).get("type") != "array"]
        me = self.get_raw(f"GET {prefix}", prefix).body
        mine = next((me[k] for k in owner.keys() if isinstance(me, dict) and me.get(k) is not None), None)
        shown = [lk for lk in links if lk[0] in top]
        many = any(isinstance(top[lk[0]], list) for lk in shown)   # a DM's recipients: the others, not the caller
        link = None if many else shown[0] if shown else links[0] if links else None
        if link is not None:
            named = self.owners(top, link, owner)
            self.report.record("writes", named == [mine], name, f"/{link[0]}",
                               f"the caller's own {owner.name} ({prefix}) is {mine!r}; the created {entity.name} "
                               f"names {named!r}")
        if not any(o.method.upper() == "GET" and o.path == op.path for o in self.spec.operations):
            return
        listed = _find_list(self.get_raw(f"GET {op.path}", op.path).body, entity.id_field)
        rows = [row for row in (listed[1] if listed else []) if isinstance(row, dict)]
        others = [row.get(entity.id_field) for row in rows if link is not None and link[0] in row
                  and self.owners(row, link, owner) != [mine]]
        self.report.record("writes", any(same_id(row.get(entity.id_field), id) for row in rows) and not others,
                           f"GET {op.path}", "/", f"the caller's list shows {entity.name}s of others {others[:3]!r}"
                           if others else f"the {entity.name} {id!r} made by {name} is not in the caller's list")

    @staticmethod
    def owners(row: dict, link: tuple[str, str | None, bool], owner: _Type) -> list[object]:
        """The ids of ``owner``'s type one link field of a row names."""
        field, inner, embedded = link
        return [v for _, v in _link_values(row.get(field), [field], inner, owner.id_field, embedded)]

    def _unaddressed(self, entity: _Type, known: set[str], answer: dict) -> bool:
        """Whether a created entity has no parent a client knows (``known``: the types its path names, and
        their ancestors; nor does its answer name one that exists) while its item path needs one: the client
        reads it back from the list it was made in."""
        item = self.item_op(entity)
        if entity.parent is None or entity.parent in known or item is None or \
                entity.parent not in self.bind(item.path).values():
            return False
        named = answer.get(entity.parent_field or "")
        return named is None or isinstance(named, (dict, list)) or not self.known(entity.parent, named)[0]

    def _located(self, entity: _Type, location: str | None) -> str | None:
        """The key a create's ``Location`` header gives, when it names an item at the type's item path."""
        if not location or not entity.item_path:
            return None
        template, tokens = path_tokens(entity.item_path), path_tokens(urlsplit(location).path)
        if len(tokens) < len(template) or path_param(template[-1]) is None:
            return None
        tokens = tokens[len(tokens) - len(template):]   # a server mounted under a prefix
        if any(path_param(t) is None and t != v for t, v in zip(template, tokens, strict=True)):
            return None
        return unquote(tokens[-1])

    def linked(self, body: Any, entity: _Type, known: dict[str, object]) -> Any:
        """A generated body whose parent key and references name entities that exist (as a client's would),
        in the shape the request gives them: an id, an array of ids, or an object keyed by the id."""
        if not isinstance(body, dict):
            return body
        inner = _unwrap(body, {}, entity)
        keys = [(entity.parent_field, entity.parent, False)] if entity.parent_field and entity.parent else []
        keys += [(name, target, embedded) for name, sub, target, embedded in entity.links if sub is None]
        for name, target, embedded in keys:
            spelled = next((k for k in inner if snake(str(k)) == snake(name)), None) if name in entity.held else None
            if spelled is not None:   # a key of the target (a user's ``identity``, ``Identity`` in a form)
                inner[spelled] = self.held_value(entity, name, known, inner[spelled])
                continue
            if name not in inner or target not in self.types:
                continue
            id = known.get(target) or next(iter(self.ids[target]), None)
            value = inner[name]
            shaped = isinstance(value, dict) or isinstance(value, list) and value and isinstance(value[0], dict)
            if id is not None and (shaped or not embedded):   # an embed the request names otherwise: left as is
                inner[name] = _keyed(value, id, self.types[target].id_field)
        return body

    def held_value(self, entity: _Type, name: str, known: dict[str, object], value: object) -> object:
        """The key of a target entity a client links in ``entity``'s field ``name`` (a user's ``identity``), as it
        finds one: among the targets listed under the parent ``known`` names (the member's service's users), one
        no sibling holds already where that key names the entity among its parent's children; else ``value``."""
        target, held = next(t for n, _, t, _ in entity.links if n == name), entity.held[name]
        parent = self.types[target].parent
        if parent is not None and parent not in known:
            return value
        reach = self.ancestors(parent, known[parent]) if parent is not None else {}
        model = self.model.types.get(entity.name)
        scoped = model is not None and model.scoped is not None and model.scoped.field == name
        taken = {str(i.get(name)) for i in self.listed(entity.name, known)} if scoped else set()
        free = (i.get(held) for i in self.listed(target, reach))
        return next((v for v in free if v is not None and str(v) not in taken), value)

    def in_reach(self, entity: _Type, body: Any, known: dict[str, object]) -> bool:
        """Whether a client creating ``entity`` under the parents ``known`` names finds a target for each key its
        ``body`` links (a user of that service for a member's ``identity``), as one creating it there must."""
        inner = _unwrap(body, {}, entity) if isinstance(body, dict) else {}
        named = {snake(str(k)) for k in inner}
        return all(self.held_value(entity, name, known, None) is not None
                   for name in entity.held if snake(name) in named)

    def listed(self, type_name: str, known: dict[str, object]) -> list[dict]:
        """The entities the first page of a type's collection path lists under the parents ``known`` names."""
        entity = self.types[type_name]
        op = self.gets.get(entity.collection_path or "")
        call = self.call(op, self.fill(op, self.bind(op.path), known)) if op is not None else None
        found = _find_list(call.body, entity.id_field) if call is not None and call.status == 200 else None
        return [item for item in found[1] if isinstance(item, dict)] if found is not None else []

    def update(self, op: Operation, entity: _Type, target: dict[str, object]) -> None:
        """PUT/PATCH a generated body on an entity (drawn for that entity, as a client gives each entity its own
        values: two entities never get the same key); a later GET reads the written fields."""
        body = self.linked(self.body(op, f"{op.method}:{target[entity.name]}", entity), entity, target)
        call = self.call(op, self.fill(op, self.bind(op.path), target), body)
        if not 200 <= call.status < 300:
            self.report.record("writes", False, _op_name(op), "/", f"answered {call.status}: "
                                                                    f"{_short(call.raw.decode(errors='replace'))}")
            return
        self.read_back(_op_name(op), entity, target, body, _find_entity(call.body, entity, target[entity.name]))

    def read_back(self, operation: str, entity: _Type, target: dict[str, object], body: Any,
                  answered: tuple[list, dict] | None, listed: Operation | None = None) -> None:
        """The written fields (those the entity's schema has) equal what GET of the item answers (of its list,
        when the spec reads no item; of ``listed``, the list it was made in, when it has no parent to address
        its item by). A field the server derives (the write's own answer already stated its value, and the GET
        agrees) is no failure, nor is a value the entity's schema cannot hold (the request schema typed the
        field otherwise)."""
        item_op = listed or self.item_op(entity) or next((op for op in self.spec.operations
                                                           if op.method.upper() == "GET"
                                                           and op.path == entity.collection_path), None)
        if item_op is None:
            self.report.unchecked.append(Finding("writes", operation, "/", f"the spec reads no {entity.name} "
                                                 "(no GET of its item or its list) to read the write back from"))
            return
        call = self.call(item_op, self.fill(item_op, self.bind(item_op.path), target))
        member = _membership(item_op)
        if member is not None:   # a membership check: its bodiless success says the written one is in the list
            self.report.record("writes", call.status == member, operation, "/", f"then {_op_name(item_op)} of "
                               f"{entity.name} {target[entity.name]!r} answered {call.status}, not {member}")
            return
        found = _find_entity(call.body, entity, target[entity.name]) if call.status == 200 else None
        if found is None and call.status == 200 and item_op.path == entity.item_path:
            found = _keyless(call.body, entity)
        success = item_op.success()
        unreadable = _unreadable(item_op, entity, call) if found is None else None
        if unreadable is not None:
            self.report.unchecked.append(Finding("writes", operation, "/", unreadable))
            return
        if found is None:
            self.report.record("writes", False, operation, "/", f"then {_op_name(item_op)} of {entity.name} "
                                                                 f"{target[entity.name]!r} answered {call.status}"
                                                                 + (" without it" if call.status == 200 else ""))
            return
        read = found[1]
        written = _written(body, read, entity)
        props = merge_all_of(entity.schema).get("properties") or {} if isinstance(entity.schema, dict) else {}
        shown = _declared(success.schema if success is not None else None, found[0])
        model = self.model.types.get(entity.name)
        embeds = {e.field: e.target.id_field for e in model.embeds if not e.many and e.inner is None} if model \
            else {}
        for key, value in sorted(written.items()):
            prop = props.get(key)
            hidden = not isinstance(prop, dict) or bool(merge_schema(prop).get("writeOnly")) or \
                (shown is not None and key not in shown)   # the read's schema has no such field to show
            path, prop = _value_path(key, value, prop, embeds)
            got = _at(read, path)
            if key == entity.id_field or (key not in read and hidden) or (isinstance(prop, dict)
                                                                          and not fits(value, prop)):
                continue
            derived = answered is not None and len(path) == 1 and key in answered[1] \
                and _equal(answered[1][key], read.get(key))   # an object's value property is the write's own
            if not _equal(value, got) and not derived:
                self.report.record("writes", False, operation, to_pointer(path),
                                   f"wrote {_short(repr(value))}, then {_op_name(item_op)} read {_short(repr(got))}")
                return
        self.report.record("writes", True)

    # -- determinism -----------------------------------------------------------------------------
    def determinism(self, second: httpx.Client) -> None:
        """The sampled GETs answer the same bytes from a second, fresh build."""
        for call in self.replay:
            again = second.get(call.url, headers=self.required_headers(call.operation))
            same = again.status_code == call.status and again.content == call.raw
            diff = None if same else _difference(call.body, _json(again), [])
            self.report.record("determinism", same, call.operation, to_pointer(diff[0]) if diff else "/",
                               f"first build {_short(repr(diff[1]))}, second {_short(repr(diff[2]))}" if diff
                               else f"status {call.status} then {again.status_code}")

    def required_headers(self, operation: str) -> dict[str, str]:
        """The required headers of an operation, as the first build was sent them."""
        op = next(o for o in self.spec.operations if _op_name(o) == operation)
        return {p.name: _text(self.scalar(p.schema, f"header.{p.name}")) for p in op.parameters
                if p.required and p.location == "header"}



# -- bodies ------------------------------------------------------------------------------------------


def _rpc_updates(by_path: dict[str, dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(method, path) -> type of the RPC methods the world serves as updating one entity: the checker calls
    the methods the mock classified (the type their answer holds, else their namespace's), as a client would."""
    return {(method, path): typed.entity.name for path, methods in by_path.items() for method, typed in methods.items()
            if isinstance(typed, MethodOp) and typed.does == "update"}


def _membership(op: Operation) -> int | None:
    """The status of a membership check's answer (``GET /orgs/{org}/members/{username}``: 204 when the
    child is in the parent's list, 404 when not): the operation's only success, which has no body; else None."""
    successes = [r for r in op.responses.values() if r.status.isdigit() and r.status.startswith("2")]
    if len(successes) != 1 or successes[0].schema is not None or successes[0].status == "200":
        return None
    return int(successes[0].status)


def shows_key(op: Operation, entity: _Type) -> bool:
    """Whether an operation's success schema has the type's id field (at the top or one envelope deep)."""
    success = op.success()
    schema = success.schema if success is not None else None
    props = merge_all_of(schema).get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict) or entity.id_field in props:
        return True
    return any(isinstance(p, dict) and entity.id_field in (merge_all_of(p).get("properties") or {})
               for p in props.values())


def _json(response: Any) -> Any:
    """A JSON response body, parsed (None for other bodies)."""
    if not is_json_media_type(response.headers.get("content-type")) or not response.content:
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None


def _short(text: str, limit: int = 160) -> str:
    """Text cut to a length a finding can quote."""
    return text if len(text) <= limit else text[:limit] + "..."


def _writable(value: Any, schema: dict | None, depth: int = 0) -> Any:
    """``value`` without the properties its schema marks ``readOnly`` (a request sends none of them)."""
    if not isinstance(value, dict) or not isinstance(schema, dict) or depth > 6:
        return value
    props = merge_schema(schema).get("properties") or {}
    return {k: _writable(v, props.get(k), depth + 1) for k, v in value.items()
            if not (isinstance(props.get(k), dict) and merge_schema(props[k]).get("readOnly"))}


def walk_body(body: Any, depth: int = 4) -> list[tuple[list, Any]]:
    """(pointer parts, node) for the body and the objects and arrays inside it, breadth first."""
    out: list[tuple[list, Any]] = []
    frontier: list[tuple[list, Any]] = [([], body)]
    for _ in range(depth + 1):
        nxt: list[tuple[list, Any]] = []
        for parts, node in frontier:
            out.append((parts, node))
            items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
            nxt += [(parts + [k], v) for k, v in items if isinstance(v, (dict, list))]
        frontier = nxt
    return out


def _at(body: Any, path: list[str]) -> Any:
    """The value at a path of object keys in a body (None where it has none)."""
    for part in path:
        body = body.get(part) if isinstance(body, dict) else None
    return body


def find_by_id(body: Any, id_field: str, id: object) -> tuple[list, dict] | None:
    """The object in ``body`` whose ``id_field`` is ``id`` (the entity inside an envelope)."""
    if id is None:
        return None
    return next(((p, n) for p, n in walk_body(body) if isinstance(n, dict) and same_id(n.get(id_field), id)), None)


def _scalar(value: object) -> bool:
    """Whether a value can key an entity: a string or a number, not null, a bool or a structure."""
    return value is not None and not isinstance(value, (bool, dict, list))


def _find_id(body: Any, id_field: str) -> object:
    """The id of the entity a create answered (the first object carrying ``id_field``)."""
    return next((n[id_field] for _, n in walk_body(body, 2) if isinstance(n, dict)
                 and n.get(id_field) is not None and not isinstance(n[id_field], (dict, list))), None)


def _bulk(body: Any) -> bool:
    """Whether a create's request body is a bulk one: an array of the objects to create (not a JSON Patch)."""
    return isinstance(body, list) and bool(body) and all(isinstance(item, dict) for item in body) \
        and not is_json_patch(body)


def _bulk_id(body: Any, entity: _Type) -> object:
    """The first id a bulk create's summary lists under a field naming the created entities
    (``ids``, ``recipient_ids``, ``persisted_recipients``), as a client of it reads them."""
    return next((n[0] for p, n in walk_body(body, 2) if isinstance(n, list) and n and p and isinstance(p[-1], str)
                 and isinstance(n[0], (str, int)) and created_ids_field(p[-1], entity.name)), None)


def _find_list(body: Any, id_field: str) -> tuple[list, list] | None:
    """The array of entities in a list body (bare, or under an envelope key)."""
    return next(((p, n) for p, n in walk_body(body, 3) if isinstance(n, list) and n and isinstance(n[0], dict)
                 and id_field in n[0]), None)


def _link_values(value: Any, at: list, inner: str | None, id_field: str, embedded: bool) -> list[tuple[list, object]]:
    """(pointer parts, id) for each id a link field holds: a scalar, an array of ids, embedded objects."""
    if inner is not None:
        value = value.get(inner) if isinstance(value, dict) else None
        at = at + [inner]
    values = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
    out = []
    for i, v in values[:SAMPLES]:
        where = at if i is None else at + [i]
        if embedded or isinstance(v, dict):
            if isinstance(v, dict) and v.get(id_field) is not None and not isinstance(v[id_field], (dict, list)):
                out.append((where + [id_field], v[id_field]))
        elif v is not None and not isinstance(v, (dict, list, bool)):
            out.append((where, v))
    return out


def _patch_verbs(schema: dict) -> list[str]:
    """The operations a JSON Patch request schema (an array of ``{op, path}`` objects) allows; [] for any other."""
    flat = merge_schema(schema)
    items = flat.get("items") if "array" in schema_types(flat) else None
    props = merge_schema(items).get("properties") or {} if isinstance(items, dict) else {}
    if not {"op", "path"} <= set(props):
        return []
    op = merge_schema(props["op"]) if isinstance(props["op"], dict) else {}
    return [v for v in op.get("enum") or ("add", "remove", "replace", "move", "copy", "test") if isinstance(v, str)]


def _written(body: Any, read: dict, entity: _Type) -> dict:
    """The top-level fields a write sets: a JSON Patch's ``add`` and ``replace`` of one-token pointers,
    else the body's own fields (see :func:`_unwrap`)."""
    if isinstance(body, list):
        return {unquote_pointer(o["path"]): o.get("value") for o in body
                if isinstance(o, dict) and o.get("op") in ("add", "replace") and isinstance(o.get("path"), str)
                and o["path"].count("/") == 1}
    return _unwrap(body, read, entity)


def unquote_pointer(pointer: str) -> str:
    """The one key a one-token JSON Pointer (``/a~1b``) names."""
    return pointer[1:].replace("~1", "/").replace("~0", "~")


def _keyed(value: Any, id: object, id_field: str) -> Any:
    """``id`` in the shape a request gives a key: an array of them, an object holding it, or itself."""
    if isinstance(value, list):
        return [_keyed(value[0], id, id_field)] if value else [id]
    if isinstance(value, dict):
        return {**value, id_field: id} if id_field in value else value
    return id


def _find_entity(body: Any, entity: _Type, value: object) -> tuple[list, dict] | None:
    """The object in ``body`` that one of ``entity``'s keys (its id, its path key) names ``value``."""
    return next((found for found in (find_by_id(body, k, value) for k in entity.keys()) if found is not None), None)


def _unreadable(read: Operation, entity: _Type, call: _Call) -> str | None:
    """Why a read the spec offers cannot show a write back (the spec's limit, not the mock's), else None:
    it declares no body, or its answer holds no list of the entity. A list without the written entity is the
    mock's failure, not the spec's: a list with no paging parameters of its own shows every entity to a client."""
    success = read.success()
    if call.status != 200:
        return None
    if success is None or not success.schema:
        return f"{_op_name(read)} declares no body: the spec gives a client nothing to read the write back from"
    if read.path == entity.item_path:
        return None
    listing = next((found for found in (_find_list(call.body, k) for k in entity.keys()) if found), None)
    if listing is None:
        return f"{_op_name(read)} answers no list of {entity.name} to read the write back from"
    return None


def _declared(schema: dict | None, at: list) -> set[str] | None:
    """The property names a response schema declares for the object at ``at`` (None: it says nothing,
    or allows any)."""
    node: Any = schema
    for part in at:
        flat = merge_schema(node) if isinstance(node, dict) else {}
        node = flat.get("items") if isinstance(part, int) else (flat.get("properties") or {}).get(part)
    flat = merge_schema(node) if isinstance(node, dict) else {}
    props = flat.get("properties")
    if not isinstance(props, dict) or not props or flat.get("additionalProperties") not in (None, False):
        return None
    return set(props)


def _keyless(body: Any, entity: _Type) -> tuple[list, dict] | None:
    """The entity an item path answered without any of its keys in the body (``GET /segments/51`` showing
    ``{name, conditions}``): the path named it, so the object is that entity."""
    inner = _unwrap(body, {}, entity)
    if not isinstance(body, dict) or any(k in inner for k in entity.keys()):
        return None
    return ([] if inner is body else list(body)), inner


def _unwrap(body: Any, read: dict, entity: _Type) -> dict:
    """The written fields: the body itself, or the object inside a one-key wrapper (``{"article": {...}}``)."""
    if not isinstance(body, dict):
        return {}
    if len(body) == 1:
        (key, inner), = body.items()
        if isinstance(inner, dict) and key not in read:
            return inner
    return body


def _equal(a: Any, b: Any) -> bool:
    """JSON equality where ``1`` equals ``1.0`` but never ``true``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return a == b


def _difference(a: Any, b: Any, at: list) -> tuple[list, Any, Any] | None:
    """The first place two bodies disagree, on the keys both have: (pointer parts, one value, the other)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in a:
            if key in b:
                diff = _difference(a[key], b[key], at + [key])
                if diff:
                    return diff
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return at, f"{len(a)} items", f"{len(b)} items"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            diff = _difference(x, y, at + [i])
            if diff:
                return diff
        return None
    return None if _equal(a, b) or _same_reference(a, b) or _same_reference(b, a) else (at, a, b)


def _same_reference(scalar: Any, obj: Any) -> bool:
    """A reference spelled as a bare id at one path and as ``{"id": ...}`` at another (the spec declares
    each spelling): both name the same entity."""
    if not isinstance(obj, dict) or len(obj) != 1 or isinstance(scalar, (dict, list, bool)) or scalar is None:
        return False
    (key, value), = obj.items()
    return (key.lower().endswith("id") or key in ("key", "name", "slug")) and _equal(value, scalar)

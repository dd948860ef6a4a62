"""Mock routes: every operation of the loaded spec, answered from the persona world.

One endpoint per path reads top to bottom: the typed operation (:mod:`~mockverse.http.operations`)
-> its request checks -> the workspace's world view -> Prism's ``Prefer`` (:mod:`~mockverse.http.prefer`)
-> the reality continuum when it is active, else the world's own answer: a cached read
(:mod:`~mockverse.http.reads`) or a write (:mod:`~mockverse.http.writes`) -> one
:class:`~mockverse.http.served.Served` value, which the request journal records. Reads are cached as
serialised bytes (``http/read_cache.py``), each kept while nothing it read has changed, so a repeated
read of an unchanged entity is a dictionary hit.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from mockverse.http.conventions import BUILD_BUDGET, preference_of
from mockverse.http.errors import Problem
from mockverse.http.operations import PARAM, ItemOp, ListOp, Operation, PathTables, classify_path
from mockverse.http.pathtable import path_routes
from mockverse.http.prefer import preferred
from mockverse.http.read_cache import ReadAnswers
from mockverse.http.reads import Reads, safe_name
from mockverse.http.served import SERVED, WORKSPACE, Served
from mockverse.http.shapes import Shape
from mockverse.http.validation import RequestRules, Scheme, error_response
from mockverse.http.writes import Writes
from mockverse.world.engine import Budget, ConsistencyEngine, WorldView
from mockverse.world.model import EntityType

__all__ = ["MockRoutes", "Operation", "RealityHook", "starlette_path", "workspace_of"]

WORKERS = 8         # threads computing reads at once (cache misses), off the event loop
HEAVY = 2           # of which json-server list queries (filters, sorts, embeds) at most; more wait for none: 503
# scope state: the workspace version at which the stubs layer found no stubs; a read answered at another
# version (or with stubs about) never enters the fast path, which skips the stubs layer
FAST_OK = "mockverse.fast_ok"


class RealityHook(Protocol):
    """What the reality continuum plugs into the mock path (see ``mockverse.reality``)."""

    def active(self, view: WorldView, request: Request) -> bool:
        """Cheap: does this request need more than the synthetic answer (ratio > 0, record mode)?"""

    async def respond(self, request: Request, op: Operation, view: WorldView,
                      synthetic: Callable[[], Awaitable[Response]]) -> Response:
        """The final response: synthetic, recorded, upstream or blended, with its trace headers."""


class MockRoutes:
    """Builds the Starlette routes of the spec and answers them through the engine."""

    def __init__(self, engine: ConsistencyEngine, operations: list, max_body_bytes: int,
                 schemes: dict[str, Scheme] | None = None, auth_check: bool = True, *,
                 texts: Any = None, reality: RealityHook | None = None) -> None:
        self.engine = engine
        self.max_body_bytes = max_body_bytes
        self.cached = ReadAnswers(engine)
        self.reality = reality
        self.texts = texts    # ai.text_writer.TextService: free-text fields of a fresh read (X-Mockverse-Text)
        tables = PathTables.of(engine.model)
        self.by_path: dict[str, dict[str, Operation]] = {}
        per_path: dict[str, list] = {}
        for op in operations:
            per_path.setdefault(op.path, []).append(op)
        for path, ops in per_path.items():
            self.by_path[path] = classify_path(ops, tables)
        self.reads = Reads(Shape())
        self.reads.items = {typed.entity.name: typed for methods in self.by_path.values()
                            for typed in methods.values()
                            if isinstance(typed, ItemOp) and typed.method == "GET" and typed.id_param}
        self.writes = Writes(engine, self.reads, max_body_bytes)
        self.declared = {(op.method.upper(), op.path): op for op in operations}   # for Prefer (conventions)
        self.rules = {key: RequestRules(op, schemes or {}, auth_check) for key, op in self.declared.items()}
        self.workers: anyio.CapacityLimiter | None = None   # made on first use, inside the event loop
        self.heavy: anyio.CapacityLimiter | None = None

    def routes(self) -> list[BaseRoute]:
        out = []
        # literal segments before parameters, so /recipients/count is not read as /recipients/{id}
        ordered = sorted(self.by_path.items(), key=lambda kv: [bool(PARAM.match(t)) for t in kv[0].split("/") if t])
        for path, methods in ordered:
            async def endpoint(request: Request, _methods: dict = methods) -> Response:
                return await self.handle(request, _methods)
            out.append((starlette_path(path), endpoint, sorted(methods)))
        return path_routes(out)

    # -- the endpoint -----------------------------------------------------------------------------
    async def handle(self, request: Request, methods: dict[str, Operation]) -> Response:
        """One request: its operation, its checks, then the served answer (or the problem it raised)."""
        op = methods.get(request.method) or (methods.get("GET") if request.method == "HEAD" else None)
        if op is None:
            raise Problem(405, "Method not allowed", f"{request.method} is not an operation of this path",
                          field="method", allowed=sorted(methods))
        view: WorldView | None = None
        try:
            view = self.engine.view(workspace_of(request))
            self.rules[(op.method, op.path)].check(request)
            return (await self.serve(op, request, view)).response(request)
        except Problem as problem:
            response = error_response(self.declared.get((op.method, op.path)), problem, self._error_body(op))
            if view is not None:   # a problem inside a workspace says which, like every answer from it
                response.headers[WORKSPACE] = view.workspace
                request.scope.setdefault("state", {})[SERVED] = Served.of(response, view.workspace)
            return response

    async def serve(self, op: Operation, request: Request, view: WorldView) -> Served:
        """The answer to a request that passed its checks: preferred, through reality, or the world's own."""
        preference = preference_of(request)
        if preference is not None:   # Prism's Prefer: a declared response instead of the world's answer
            chosen = await preferred(op, self.declared.get((op.method, op.path)), request, view, preference,
                                     self.max_body_bytes)
            if chosen is not None:
                return chosen
        if self.reality is not None and self.reality.active(view, request):
            async def synthetic() -> Response:
                return (await self.synthetic(op, request, view, realistic=True)).response(request)
            return Served.of(await self.reality.respond(request, op, view, synthetic), view.workspace)
        return await self.synthetic(op, request, view)

    async def synthetic(self, op: Operation, request: Request, view: WorldView, realistic: bool = False) -> Served:
        """The persona world's own answer: a cached read, or a write applied to the store."""
        if request.method not in ("GET", "HEAD"):
            return await self.writes.write(op, request, view)
        path, query = request.url.path, request.url.query
        seen, entry = view, self.cached.get(view, path, query)
        if entry is not None:
            served: Served = entry.value
        else:
            served = await self.offload(op, request, view)
            keep = True   # False: LLM text still to be written, so the next read computes (and asks) again
            if self.texts is not None:   # LLM text asked for, waited on within its budget (ai/text_writer.py)
                seen, reply = await self.texts.finish_read(view, served.reply(),
                                                           lambda fresh: self.read(op, request, fresh).reply())
                served = served.annotated(reply).at(seen.workspace)
                keep = self.texts.cacheable(reply)
            entry = self.cached.put(seen, path, query, served) if keep else None
        version = seen.snap.version
        fast_ok = request.scope.get("state", {}).get(FAST_OK, version) == version   # no stubs about
        if entry is not None and not realistic and request.method == "GET" and fast_ok \
                and self.rules[(op.method, op.path)].open:
            self.cached.put_direct(seen, path, query, entry)
        return served.at(view.workspace)   # the base world's bytes, shared, said of this workspace

    def read(self, op: Operation, request: Request, view: WorldView) -> Served:
        """A read of ``op`` computed now (no cache)."""
        return self.reads.read(op, request, view)

    def _error_body(self, op: Operation) -> Callable[[dict], Any]:
        """A body generator for a declared error schema: deterministic per operation and status."""
        def generate(schema: dict) -> Any:
            epoch = self.engine.model.epoch
            ctx = {"created_at": epoch, "now": epoch, "person": False, "fields": {}}
            return self.engine.generator(self.engine.base_seed).value(schema, f"error:{op.method} {op.path}", "$",
                                                                      "body", ctx)
        return generate

    async def offload(self, op: Operation, request: Request, view: WorldView) -> Served:
        """A read computed on a worker thread within its work budget (``BUILD_BUDGET`` entities built),
        so the event loop keeps serving other clients. At most ``HEAVY`` json-server list queries run
        at once; another is a 503 with ``Retry-After`` rather than a wait behind them."""
        if self.workers is None or self.heavy is None:
            self.workers, self.heavy = anyio.CapacityLimiter(WORKERS), anyio.CapacityLimiter(HEAVY)
        view.budget = Budget(BUILD_BUDGET)
        heavy = isinstance(op, ListOp) and self.reads.wants_query(op, request) and self.reads.lists.check(op, request)
        if not heavy:
            return await anyio.to_thread.run_sync(self.read, op, request, view, limiter=self.workers)
        try:
            self.heavy.acquire_nowait()
        except anyio.WouldBlock:
            raise Problem(503, "Server busy", f"{HEAVY} list queries are being computed; retry in a second",
                          field="query", headers={"Retry-After": "1"}) from None
        try:
            return await anyio.to_thread.run_sync(self.read, op, request, view, limiter=self.workers)
        finally:
            self.heavy.release()


    # -- bodies for other protocols (webhooks, TCP) ---------------------------------------------
    def item_body(self, view: WorldView, entity: EntityType, id: object) -> Any:
        """What ``GET`` of the entity's item path answers (``GET /users/{id}``), rendered exactly as
        a read renders it; the entity's own fields when the spec has no item path; None if missing."""
        return self.reads.item_body(view, entity, id, self.reads.items.get(entity.name))


def workspace_of(request: Request) -> str:
    """The workspace of a request: the X-Mockverse-Workspace header, ?workspace= (or ?workspace_id=), or "default"."""
    return (request.headers.get("x-mockverse-workspace") or request.query_params.get("workspace")
            or request.query_params.get("workspace_id") or "default")


def starlette_path(path: str) -> str:
    """OpenAPI path params may hold characters Starlette's router does not take: rename them."""
    return re.sub(r"\{([^}]+)\}", lambda m: "{" + safe_name(m.group(1)) + "}", path)

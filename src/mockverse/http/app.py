"""The ASGI app: mock routes of the loaded spec, the /api/v1 admin API, problem errors,
CORS, the request journal and one log line per request."""

from __future__ import annotations

import contextlib
import gc
import itertools
import logging
import os
import secrets
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response

from mockverse.ai.provider import Artefacts, build_llm
from mockverse.ai.relations import start_relations
from mockverse.ai.text_writer import TextService, run_id, stored_text
from mockverse.config import DEFAULT_TEXT_FIELDS, Config, ConfigError, builtin_spec_path, load_config
from mockverse.http import admin, ai_api, fidelity_api, reality_api, stubs, webhooks_api, workspaces_api, world_api
from mockverse.http.admin import AdminAPI, Journal
from mockverse.http.admin_schema import openapi_routes
from mockverse.http.ai_api import AIAPI
from mockverse.http.connections import ConnectionLimits, fitting_cap
from mockverse.http.dashboard import dashboard_routes
from mockverse.http.errors import Problem, problem_response
from mockverse.http.fidelity_api import FidelityAPI
from mockverse.http.mock import MockRoutes
from mockverse.http.read_cache import ReadAnswers
from mockverse.http.reality import RealityService
from mockverse.http.reality_api import RealityAPI
from mockverse.http.security import TOKEN_ENV, AdminAuth, AdminGuard, admin_token, is_admin_path
from mockverse.http.served import SERVED
from mockverse.http.simulation import Simulation, parse_rules
from mockverse.http.storewait import StoreWait
from mockverse.http.stubs import STUB_ID, SpecRoutes, StubLayer, StubsAPI
from mockverse.http.validation import security_schemes
from mockverse.http.webhooks_api import WebhooksAPI
from mockverse.http.wiremock_admin import WireMockAdmin
from mockverse.http.workspaces_api import WorkspacesAPI
from mockverse.http.world_api import world_routes
from mockverse.logs import setup_logging
from mockverse.openapi import infer_world
from mockverse.openapi.loader import Spec, load_spec
from mockverse.protocols.tcp import TCPListener
from mockverse.protocols.webhooks import WallClock, Webhooks
from mockverse.reality.learn import Learner
from mockverse.reality.record_modes import apply_record_mode
from mockverse.reality.recordings import normal_query
from mockverse.store import StoreUnavailable, open_store
from mockverse.stubbing import StubBook
from mockverse.world.engine import ConsistencyEngine
from mockverse.world.free_text import TextLayer
from mockverse.world.lifecycle import LifecycleError
from mockverse.world.model import WorldModel
from mockverse.world.persona import Personas
from mockverse.world.writes import index_keys

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx

# Every module with /api/v1 routes: their OPENAPI_PATHS make GET /api/v1/openapi.json (add new ones here).
OPENAPI_MODULES = [admin, reality_api, fidelity_api, world_api, ai_api, webhooks_api, workspaces_api, stubs]

log = logging.getLogger("mockverse")
# httpx logs each upstream request's full URL at INFO, query credentials (api_key=...) included: not in our logs
logging.getLogger("httpx").setLevel(logging.WARNING)
SETTINGS_ENV = "MOCKVERSE_SETTINGS"


@dataclass(frozen=True)
class Settings:
    """What the command line decided; passed to worker processes through the environment."""

    config: str | None = None
    spec: str | None = None
    store: str | None = None
    seed: str | None = None
    host: str | None = None
    port: int | None = None
    log_level: str | None = None
    admin_token: str | None = None
    record_upstream: str | None = None       # `mockverse record --upstream URL`
    record_mode: str | None = None           # `mockverse record --record-mode once|new_episodes|none|all`
    log_format: str | None = None            # `--log-format text|json`
    tcp_port: int | None = None              # `--tcp-port`: the newline-delimited JSON listener
    auth_check: bool | None = None           # `--no-auth-check`: False serves operations whatever their security
    workers: int = 1                         # `--workers`: several processes share the TCP port (SO_REUSEPORT)
    allow_hosts: tuple[str, ...] = ()        # `--allow-host`: more names the admin API answers (server.allowed_hosts)
    allow_upstreams: tuple[str, ...] = ()    # `--allow-upstream`: upstreams PUT /api/v1/reality may set
    redis_volatile: bool = False             # `--redis-volatile`: serve from a Redis that persists nothing

    def to_env(self) -> str:
        return orjson.dumps(asdict(self)).decode()

    @classmethod
    def from_env(cls) -> Settings:
        raw = os.environ.get(SETTINGS_ENV)
        if not raw:
            return cls()
        data = orjson.loads(raw)
        return cls(**{**data, "allow_hosts": tuple(data.get("allow_hosts", ())),
                      "allow_upstreams": tuple(data.get("allow_upstreams", ()))})


def resolve_config(settings: Settings) -> Config:
    """The config after the file and the command line are applied (command line wins)."""
    overrides: dict[str, Any] = {}
    if settings.store:
        overrides["store"] = settings.store
    if settings.seed is not None:
        overrides["seed"] = settings.seed
    given = (("host", settings.host), ("port", settings.port), ("log_level", settings.log_level),
             ("log_format", settings.log_format))
    server: dict[str, Any] = {k: v for k, v in given if v is not None}
    token = settings.admin_token or os.environ.get(TOKEN_ENV) or None
    if token is not None:
        server["admin_token"] = token
    if settings.tcp_port is not None:
        server["tcp_port"] = settings.tcp_port
    if settings.auth_check is not None:
        server["auth_check"] = settings.auth_check
    if server:
        overrides["server"] = server
    if settings.record_upstream:
        overrides = apply_record_mode(overrides, settings.record_upstream, settings.record_mode)
    config = load_config(settings.config, builtin_world=settings.spec is None, overrides=overrides)
    if not settings.allow_hosts and not settings.allow_upstreams:
        return config
    # the command line's lists extend the file's (and are checked by the same validators)
    server["allowed_hosts"] = [*config.server.allowed_hosts, *settings.allow_hosts]
    overrides["server"] = server
    reality = overrides.setdefault("reality_continuum", {})
    reality["allowed_upstreams"] = [*config.reality_continuum.allowed_upstreams, *settings.allow_upstreams]
    return load_config(settings.config, builtin_world=settings.spec is None, overrides=overrides)


class SplitCORS:
    """Pure ASGI middleware: CORS for the mock routes as ``server.cors`` says (permissive by
    default: browsers are their clients); none on the admin paths unless origins are listed."""

    def __init__(self, app: Any, mock: dict[str, Any] | None, admin_origins: list[str]) -> None:
        self.mock = CORSMiddleware(app, **mock) if mock is not None else app
        self.admin = (CORSMiddleware(app, allow_origins=admin_origins, allow_methods=["*"], allow_headers=["*"],
                                     expose_headers=(mock or {}).get("expose_headers", ()))
                      if admin_origins else app)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        admin = scope["type"] == "http" and is_admin_path(scope["path"])
        await (self.admin if admin else self.mock)(scope, receive, send)


class RequestLog:
    """Pure ASGI middleware, outermost: times each request, logs one line and adds mock requests
    to the journal. A repeated plain GET that ``answers`` holds (``read_cache.ReadAnswers``) is
    answered here, before routing."""

    def __init__(self, app: Any, journal: Journal, off: list[str] | None = None,
                 answers: ReadAnswers | None = None) -> None:
        self.app = app
        self.journal = journal
        self.answers = answers
        # what the config switched off, said on every response (X-Mockverse-Off: consistency, persona_graph)
        self.off = [(b"x-mockverse-off", ", ".join(off).encode())] if off else []
        self.ids = itertools.count(1)
        self.prefix = secrets.token_hex(4)  # request ids: unique per process start, cheap per request

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = f"{self.prefix}{next(self.ids):08x}"
        scope.setdefault("state", {})["request_id"] = request_id
        hit = await self.answers.lookup(scope) if self.answers is not None and scope["method"] == "GET" else None
        if hit is not None:
            await self.cached(scope, send, start, request_id, *hit)
            return
        meta: dict[str, Any] = {"status": 500, "headers": []}
        sent: list[bytes] = []       # references to the response body chunks, up to the journal's limit
        received: list[bytes] = []   # and to the request body chunks
        limit = self.journal.body_limit
        kept = [0, 0]                # bytes referenced: request, response

        async def capture(message: dict) -> None:
            if message["type"] == "http.response.start":
                meta["status"] = message["status"]
                headers = message.setdefault("headers", [])
                meta["headers"] = headers
                headers.append((b"x-mockverse-request-id", request_id.encode()))
                headers.extend(self.off)
            elif message["type"] == "http.response.body" and message.get("body") and kept[1] < limit:
                sent.append(message["body"])
                kept[1] += len(message["body"])
            await send(message)

        async def listen() -> dict:
            message = await receive()
            if message["type"] == "http.request" and message.get("body") and kept[0] < limit:
                received.append(message["body"])
                kept[0] += len(message["body"])
            return message

        try:
            await self.app(scope, listen, capture)
        finally:
            served = scope["state"].get(SERVED)
            headers = meta["headers"]
            workspace, source = (served.workspace, served.source) if served is not None else _said(headers)
            self.done(scope, start, request_id, meta["status"], headers, workspace, source, _joined(received),
                      _joined(sent))

    async def cached(self, scope: dict, send: Any, start: float, request_id: str, status: int, body: bytes,
                     headers: list, workspace: str, source: str | None) -> None:
        """Send a read cache answer, then log and journal it like any other."""
        headers.append((b"x-mockverse-request-id", request_id.encode()))
        headers.extend(self.off)
        try:
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        finally:
            self.done(scope, start, request_id, status, headers, workspace, source, None, body or None)

    def done(self, scope: dict, start: float, request_id: str, status: int, headers: list,
             workspace: str | None, source: str | None, received: bytes | None, sent: bytes | None) -> None:
        ms = (time.perf_counter() - start) * 1000
        path = scope.get("path", "")
        query = normal_query(scope.get("query_string", b"").decode("latin-1"))  # api_key=[redacted]
        if log.isEnabledFor(logging.INFO):
            log.info("%s %s%s -> %d %.1fms ws=%s source=%s", scope["method"], path, f"?{query}" if query else "",
                     status, ms, workspace or "-", source or "-",
                     extra={"method": scope["method"], "path": path, "query": query, "status": status,
                            "ms": round(ms, 3), "workspace": workspace, "source": source, "request_id": request_id})
        if self.journal.enabled and not path.startswith(("/api/v1", "/__mockverse", "/__admin")):
            self.journal.add({"id": request_id, "time": time.time(), "method": scope["method"], "path": path,
                              "query": query, "workspace": workspace, "status": status,
                              "latency_ms": round(ms, 3), "source": source,
                              "stub": scope["state"].get(STUB_ID), "request_headers": scope.get("headers"),
                              "request_body": received, "response_headers": headers,
                              "response_body": sent})


def _said(headers: list) -> tuple[str | None, str | None]:
    """(workspace, source) an answer not served by a mock route says in its headers (stubs, the fast path)."""
    workspace = source = None
    for name, value in headers:
        if name == b"x-mockverse-workspace":
            workspace = value.decode("latin-1")
        elif name == b"x-mockverse-source":
            source = value.decode("latin-1")
    return workspace, source


def _joined(chunks: list[bytes]) -> bytes | None:
    """A body from its chunks: the one chunk itself (no copy) in the common case."""
    if not chunks:
        return None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _problem_handler(request: Request, exc: Exception) -> Response:
    if isinstance(exc, Problem):
        return problem_response(exc)
    if type(exc) is StoreUnavailable:
        return problem_response(
            Problem(
                503,
                "Store unavailable",
                "the state store cannot be reached; generated reads still work, retry this once it is back",
                field="store",
            ),
            {"Retry-After": "1"},
        )
    if isinstance(exc, StoreUnavailable):   # busy, read-only, full or damaged: the message names the store file
        return problem_response(Problem(exc.status, exc.title, str(exc), field="store"),
                                {"Retry-After": exc.retry_after} if exc.retry_after else None)
    if isinstance(exc, HTTPException):
        if exc.status_code == 404:
            return problem_response(
                Problem(
                    404, "No route", f"no operation matches {request.method} {_short(request.url.path)}", field="path"
                )
            )
        if exc.status_code == 405:
            return problem_response(Problem(405, "Method not allowed", f"{request.method} is not an operation of "
                                            f"{_short(request.url.path)}", field="method"), dict(exc.headers or {}))
        return problem_response(Problem(exc.status_code, "HTTP error", str(exc.detail)))
    log.error("unexpected error on %s %s", request.method, _short(request.url.path), exc_info=exc)
    return problem_response(
        Problem(500, "Internal error", "the server failed on this request; the log has the details")
    )


def _short(path: str, limit: int = 200) -> str:
    """A path as error details quote it: a 20 KB path is not echoed back whole."""
    return path if len(path) <= limit else f"{path[:limit]}... ({len(path)} characters)"


def build_personas(config: Config, model: WorldModel) -> Personas | None:
    """Personas of the world: the configured type, else the first person-like top-level type."""
    name = config.consistency.personas.type
    if name is not None and name not in model.types:
        raise ConfigError("consistency.personas.type", f"'{name}' is not an entity type; known: {sorted(model.types)}")
    if not config.consistency.enabled:
        return None
    persona = (
        model.types[name] if name else next((t for t in model.types.values() if t.parent is None and t.person), None)
    )
    try:
        return Personas(config.consistency.personas, persona)
    except LifecycleError as exc:
        head, dot, rest = exc.field.partition(".")           # rules[2].after -> lifecycle_rules[2].after
        name, bracket, index = head.partition("[")
        raise ConfigError(f"consistency.personas.{_LIFECYCLE_KEYS.get(name, name)}{bracket}{index}{dot}{rest}",
                          exc.message) from None


# lifecycle.yaml's parts -> the keys of consistency.personas that give them
_LIFECYCLE_KEYS = {"default_state": "default_lifecycle_state", "mix": "lifecycle_mix", "rules": "lifecycle_rules",
                   "effects": "lifecycle_effects", "rates": "lifecycle_rates"}


def world_key(spec: Spec, config: Config) -> tuple[str, str] | None:
    """What names the world an app serves, for sharing generated values between apps of one process: the
    spec's bytes and the config but for where it is stored and served. None with an ``ai:`` section, whose
    applied relation proposals (kept in the store) change the world model."""
    if config.ai is not None or not spec.digest:
        return None
    return spec.digest, config.model_dump_json(exclude={"store", "server"})


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector held off while an app is built: a spec of 10,000 paths allocates some
    700,000 tracked objects, most of which live as long as the app, and the collections they set off cost
    about as much CPU as the rest of the build (the garbage a build leaves goes by reference counting)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@collector_paused()
def create_app(settings: Settings | None = None, *, wall_clock: WallClock | None = None,
               webhook_transport: httpx.AsyncBaseTransport | None = None) -> Starlette:
    """Build the app for ``settings`` (the built-in world when no spec is given). ``wall_clock`` (the
    clock the webhook dispatcher and the LLM text cooldown run on) and ``webhook_transport`` are for
    running in process: a clock moved by hand, a receiver app."""
    settings = settings or Settings()
    config = resolve_config(settings)
    token = admin_token(config)  # before anything opens: refuse a non-loopback bind without a token
    spec = load_spec(settings.spec or builtin_spec_path())
    store = open_store(config.store, volatile=settings.redis_volatile)
    llm = build_llm(config.ai)   # None without an ai: section: every AI feature then uses its fallback
    mode = config.ai.mode if config.ai else "frozen"
    # the world inferred from the spec (the built-in one too), corrected by the config's world section;
    # unsettled id fields get LLM proposals, and applied ones join the inferred world
    relations = start_relations(spec, infer_world(spec), store, config.ai, llm)
    model = WorldModel.from_spec(spec, relations.extend(relations.inferred), config.world)
    index_keys(model, store)   # a store written before keys were indexed: its written keys are found and claimed
    # free-text fields laid over the world; missing LLM text is written by a bounded background queue
    artefacts = Artefacts(store, mode)
    # without an ai: section the fallback text is the text: no store reads for LLM text on any entity
    text_layer = TextLayer(config.ai.text_fields if config.ai else DEFAULT_TEXT_FIELDS,
                           stored_text(artefacts) if config.ai else None,
                           run=run_id(config.ai), contexts=config.ai is not None)
    # synthetic values learnt from the workspace's recordings
    learner = Learner(model, store) if config.consistency.personas.reality_aware_generation else None
    engine = ConsistencyEngine(model, store, config.seed, personas=build_personas(config, model),
                               texts=text_layer, off=config.consistency.off(), learner=learner,
                               world=world_key(spec, config))
    journal = Journal(config.server.journal_size)
    texts = TextService(engine, text_layer, llm, artefacts, config.ai,
                        clock=wall_clock.time if wall_clock is not None else time.monotonic)
    # the reality continuum: ratio per request, recorded/upstream tiers, traces, recordings API
    reality = RealityService(engine, config.reality_continuum, max_body_bytes=config.server.max_body_bytes)
    mock = MockRoutes(engine, spec.operations, config.server.max_body_bytes,
                      schemes=security_schemes(spec.document), auth_check=config.server.auth_check,
                      texts=texts, reality=reality)
    webhooks = Webhooks(
        engine, mock.item_body, config.webhooks, clock=wall_clock, transport=webhook_transport
    )  # listens to engine.events
    server = config.server
    cap = fitting_cap(server.max_connections, listeners=1 if server.tcp_port is None else 2)
    limits = ConnectionLimits(header_timeout=server.header_timeout.total_seconds(),
                              keep_alive_timeout=server.keep_alive_timeout.total_seconds(), max_connections=cap)
    tcp = (TCPListener(engine, mock.item_body, server.host, server.tcp_port, reuse_port=settings.workers > 1,
                       idle_timeout=server.tcp_idle_timeout.total_seconds(), line_timeout=limits.header_timeout,
                       max_connections=cap)
           if server.tcp_port is not None else None)
    limit = config.server.max_body_bytes
    book = StubBook(store, engine.setting)   # stubs per workspace, in the store; answered before the world
    routes = (openapi_routes(m.OPENAPI_PATHS for m in OPENAPI_MODULES)
              + AIAPI(engine, llm, mode, limit).routes()
              + world_routes(model, spec, engine, mock, relations=relations, texts=texts)
              + AdminAPI(engine, journal, limit).routes()
              + WorkspacesAPI(engine, limit).routes()
              + RealityAPI(reality, spec.operations, limit).routes()
              + FidelityAPI(engine, mock, journal, limit, exclude=config.fidelity.exclude,
                            weights=config.fidelity.weights).routes()
              + dashboard_routes()
              + WebhooksAPI(webhooks).routes()
              + StubsAPI(engine, book, journal, limit).routes()
              + WireMockAdmin(engine, book, journal, limit).routes()
              + mock.routes())

    middleware = [Middleware(RequestLog, journal=journal, off=engine.off, answers=mock.cached)]
    simulated = parse_rules(config.simulation)   # per-route delays and faults, outside the request log
    if simulated:
        middleware.insert(0, Middleware(Simulation, rules=simulated, seed_of=engine.workspace_seed))
    middleware.append(Middleware(AdminGuard, host=server.host, port=server.port, allowed_hosts=server.allowed_hosts,
                                 cors_origins=server.admin_cors_origins))
    cors = server.cors
    mock_cors = (dict(allow_origins=cors.allow_origins, allow_methods=cors.allow_methods,
                      allow_headers=cors.allow_headers, expose_headers=cors.expose_headers) if cors.enabled else None)
    middleware.append(Middleware(SplitCORS, mock=mock_cors, admin_origins=server.admin_cors_origins))
    if token is not None:
        middleware.append(Middleware(AdminAuth, token=token))
    # a write that found the store locked runs again, for at most store_busy_timeout
    middleware.append(Middleware(StoreWait, budget=server.store_busy_timeout.total_seconds()))
    # innermost, so stub answers get CORS headers; the read cache middleware never serves a workspace
    # with stubs (mock.FAST_OK), so stubs still come before the read cache and the world
    middleware.append(Middleware(StubLayer, book=book, engine=engine, spec_routes=SpecRoutes(mock),
                                 max_body_bytes=limit))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        url = f"http://{config.server.host}:{config.server.port}"
        log.info("mockverse serving '%s' (%d operations, %d entity types) on %s; dashboard %s/__mockverse/; "
                 "store %s; seed %s", spec.title, len(spec.operations), len(model.types), url, url, config.store,
                 config.seed)
        if token is not None:
            log.info("admin API writes (POST/PUT/PATCH/DELETE /api/v1/...) require the admin bearer token")
        if tcp is not None:
            await tcp.start()
        await webhooks.start()   # the delivery dispatcher: pending deliveries resume
        await texts.start()
        yield
        await texts.aclose()
        if tcp is not None:
            await tcp.close()
        await webhooks.aclose()
        await reality.aclose()
        await store.aclose()
        store.close()
        log.info("mockverse stopped; store closed")

    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                    exception_handlers={Exception: _problem_handler, HTTPException: _problem_handler,
                                        Problem: _problem_handler,
                                        StoreUnavailable: _problem_handler})
    app.state.engine, app.state.config, app.state.spec, app.state.journal = engine, config, spec, journal
    app.state.reality = reality
    app.state.mock = mock
    app.state.stubs = book
    app.state.llm = llm
    app.state.limits = limits   # for the protocol class uvicorn runs (mockverse.http.connections)
    return app


def app_from_env() -> Starlette:
    """Factory for uvicorn workers: the settings come from ``MOCKVERSE_SETTINGS``."""
    settings = Settings.from_env()
    if not logging.getLogger().handlers:  # a spawned worker: log like the single-process server does
        config = resolve_config(settings)
        setup_logging(config.server.log_level, config.server.log_format)
    return create_app(settings)

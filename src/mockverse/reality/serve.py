"""The reality continuum in the mock path: pick the source by ratio, blend, fall back, trace.

``RealityService`` is the ``RealityHook`` of ``http/mock.py``. Per request it resolves the
ratio r (header > route rule > schedule > default, on the workspace's virtual clock), and
the band of r picks the real side: below 0.3 none (synthetic), below 0.7 the matching
recording, from 0.7 the live upstream, falling back to the recording and then to synthetic
when the upstream is missing, failing or slower than its timeout. Bodies blend inside the
persona world (``persona_blend``). Every answer says where it came from in
``X-Mockverse-Source`` and ``X-Mockverse-Reality``, and its decisions are kept in a bounded
trace ring under the request id. Writes stay synthetic outside record mode.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections import OrderedDict
from urllib.parse import urlsplit, urlunsplit
from dataclasses import asdict, dataclass, field
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Awaitable, Callable

import httpx
import orjson
from starlette.requests import Request
from starlette.responses import Response

from mockverse.config import ConfigError, RealismConfig, RealityConfig
from mockverse.http.errors import PROBLEM, Problem, is_decimal, problem_response
from mockverse.ids import unit_draw
from mockverse.reality.blend import REAL, Decision
from mockverse.reality.persona_blend import blend_in_persona_world
from mockverse.world.derive import derivation_fields, settle
from mockverse.reality.ratio import (
    HEADER,
    RealitySettings,
    SettingsError,
    band,
    parse_settings,
    resolve_ratio,
    settings_to_dict,
)
from mockverse.cache import LRU
from mockverse.reality.recorder import RECORD_MODES, Recorder, Recording, body_bytes, make_recording, record_action
from mockverse.reality.recorder import REDACTED, normal_query
from mockverse.store import StoreUnavailable
from mockverse.timeutil import format_rfc3339, parse_duration

if TYPE_CHECKING:  # the hook is handed these; reality does not import the HTTP or world layers at run time
    from mockverse.http.mock import MockOperation
    from mockverse.world.engine import ConsistencyEngine, WorldView

SETTING = "reality"
SOURCE = "X-Mockverse-Source"
REALITY = "X-Mockverse-Reality"
FALLBACK = "X-Mockverse-Fallback"
BLENDED_WITH = "X-Mockverse-Blended-With"
MAX_UPSTREAM_BYTES = 10 * 1024 * 1024
MAX_LATENCY = 30.0
TRACE_SIZE = 1000
TRACE_DECISIONS = 5000            # per request kept in its trace
TRACE_BUDGET = 250_000            # decisions across the ring

# Request headers forwarded to the upstream; everything else (cookies, hop-by-hop, the mock's own) stays here.
_FORWARD = frozenset({
    "accept", "accept-language", "authorization", "cache-control", "content-type", "idempotency-key",
    "if-match", "if-modified-since", "if-none-match", "if-unmodified-since", "user-agent", "x-api-key",
    "x-request-id", "x-correlation-id",
})
# Upstream response headers passed to the client when the upstream's answer is served as it is.
_PASS_BACK = frozenset({
    "content-type", "cache-control", "etag", "last-modified", "location", "link", "x-total-count", "retry-after",
    "content-language", "expires", "vary",
})
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def format_ratio(r: float) -> str:
    """A ratio as headers write it: ``0``, ``0.5``, ``0.55``, ``1``."""
    text = f"{r:.6f}".rstrip("0").rstrip(".")
    return text or "0"


# -- settings -------------------------------------------------------------------------------------
def config_settings(config: RealityConfig) -> RealitySettings:
    """The config's ``reality_continuum`` section as RealitySettings (ratio 0 when not enabled).

    Raises ConfigError naming the field, e.g. ``reality_continuum.routes[0].pattern``.
    """
    data: dict[str, Any] = {"upstream": config.upstream, "timeout": parse_duration(config.timeout).total_seconds()}
    if config.enabled:
        data["default_ratio"] = config.default_ratio
        data["routes"] = [{"pattern": rule.pattern, "ratio": rule.ratio} for rule in config.routes]
        if config.schedule is not None:
            data["schedule"] = {k: v for k, v in config.schedule.model_dump().items() if v is not None}
    try:
        return parse_settings(data)
    except SettingsError as exc:
        raise ConfigError(f"reality_continuum.{exc.field}", exc.message) from None


@dataclass(frozen=True)
class WorkspaceReality:
    """A workspace's effective reality settings, what it stored over the config, and whether any
    request of it can need more than the synthetic answer."""

    settings: RealitySettings
    overrides: dict | None
    active: bool


# -- realism ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Realism:
    """How responses are timed and failed: ``latency`` and ``errors`` models, or None for none.

    ``latency`` is ``("recorded",)``, ``("fixed", s)``, ``("normal", mean_s, stddev_s)`` or
    ``("lognormal", median_s, sigma)``; ``errors`` is ``("recorded",)`` or ``("rate", rate, status)``.
    """

    latency: tuple | None = None
    errors: tuple | None = None

    @property
    def on(self) -> bool:
        return self.latency is not None or self.errors is not None


def parse_realism(config: RealismConfig) -> Realism:
    """Check the ``realism`` section; raises ConfigError naming the field."""
    return Realism(_latency_model(config.latency), _error_model(config.errors))


def _seconds(value: Any, field: str) -> float:
    """A duration such as ``120ms`` or ``1.5s``; a bare number is refused (milliseconds or seconds?)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ConfigError(field, f"{value!r} has no unit; write {value:g}ms or {value:g}s")
    try:
        return parse_duration(value).total_seconds()
    except ValueError as exc:
        raise ConfigError(field, f"{exc}; e.g. 200ms or 1.5s") from None


def _latency_model(value: Any) -> tuple | None:
    where = "reality_continuum.realism.latency"
    example = "'recorded', {fixed: 120ms}, {normal: {mean: 100ms, stddev: 20ms}} or {lognormal: {median: 80ms, sigma: 0.5}}"
    if value is None:
        return None
    if value == "recorded":
        return ("recorded",)
    if not isinstance(value, dict) or len(value) != 1:
        raise ConfigError(where, f"must be one of {example}")
    kind, spec = next(iter(value.items()))
    if kind == "fixed":
        return ("fixed", _seconds(spec, f"{where}.fixed"))
    if kind in ("normal", "lognormal"):
        keys = ("mean", "stddev") if kind == "normal" else ("median", "sigma")
        if not isinstance(spec, dict) or set(spec) != set(keys):
            raise ConfigError(f"{where}.{kind}", f"needs exactly the keys {' and '.join(keys)}, e.g. {example}")
        first = _seconds(spec[keys[0]], f"{where}.{kind}.{keys[0]}")
        if kind == "normal":
            return ("normal", first, _seconds(spec["stddev"], f"{where}.normal.stddev"))
        sigma = spec["sigma"]
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not 0 <= sigma <= 5:
            raise ConfigError(f"{where}.lognormal.sigma", f"must be a number from 0 to 5, got {sigma!r}")
        return ("lognormal", first, float(sigma))
    raise ConfigError(where, f"unknown latency model '{kind}'; use {example}")


def _error_model(value: Any) -> tuple | None:
    where = "reality_continuum.realism.errors"
    if value is None:
        return None
    if value == "recorded":
        return ("recorded",)
    if not isinstance(value, dict) or "rate" not in value or not set(value) <= {"rate", "status"}:
        raise ConfigError(where, "must be 'recorded' or {rate: 0.02, status: 503}")
    rate, status = value["rate"], value.get("status", 503)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ConfigError(f"{where}.rate", f"must be a number from 0 to 1, got {rate!r}")
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise ConfigError(f"{where}.status", f"must be an HTTP error status from 400 to 599, got {status!r}")
    return ("rate", float(rate), status)


def _is_error(status: int) -> bool:
    return status >= 500 or status == 429


def realism_delay(model: tuple | None, seed: str, key: str, latencies: list[float] | None) -> float | None:
    """Seconds to take for a request, drawn deterministically from its key; None for no model."""
    if model is None:
        return None
    u = unit_draw(seed, key, "latency")
    if model[0] == "recorded":
        if not latencies:
            return None
        ordered = sorted(latencies)
        seconds = ordered[min(int(u * len(ordered)), len(ordered) - 1)] / 1000.0
    elif model[0] == "fixed":
        seconds = model[1]
    elif model[0] == "uniform":
        seconds = model[1] + u * (model[2] - model[1])
    else:
        z = NormalDist().inv_cdf(min(max(u, 1e-9), 1 - 1e-9))
        seconds = model[1] + model[2] * z if model[0] == "normal" else model[1] * math.exp(model[2] * z)
    return min(max(seconds, 0.0), MAX_LATENCY)


def realism_error(model: tuple | None, seed: str, key: str, statuses: list[int] | None) -> int | None:
    """The error status a request fails with, drawn deterministically from its key, or None."""
    if model is None:
        return None
    u = unit_draw(seed, key, "error")
    if model[0] == "rate":
        return model[2] if u < model[1] else None
    errors = sorted(s for s in statuses or () if _is_error(s))
    if not errors or u >= len(errors) / len(statuses or ()):
        return None
    return errors[min(int(unit_draw(seed, key, "error-status") * len(errors)), len(errors) - 1)]


# -- upstream ---------------------------------------------------------------------------------------
@dataclass
class Exchange:
    """A complete answer of the upstream."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    latency_ms: float
    url: str

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)


@dataclass
class Failure:
    """Why there is no usable upstream answer: a short ``reason`` code and a sentence."""

    reason: str
    detail: str
    latency_ms: float = 0.0


class Upstream:
    """The one HTTP client to the configured upstream: explicit timeouts, no redirects followed,
    no proxy settings from the environment, bodies capped, every failure returned not raised."""

    def __init__(self, max_bytes: int = MAX_UPSTREAM_BYTES) -> None:
        self.max_bytes = max_bytes
        self.client: httpx.AsyncClient | None = None

    def url(self, base: str, raw_path: str, query: str) -> httpx.URL | None:
        """The upstream URL for a request path: the base URL's origin and path prefix, the
        request's path and query. None if the result would name another origin."""
        origin = httpx.URL(base)
        prefix = origin.raw_path.split(b"?", 1)[0].decode("ascii").rstrip("/")
        path = raw_path if raw_path.startswith("/") else "/" + raw_path
        url = httpx.URL(f"{origin.scheme}://{origin.netloc.decode('ascii')}{prefix}{path}" + (f"?{query}" if query else ""))
        same = (url.scheme, url.host, url.port) == (origin.scheme, origin.host, origin.port)
        return url if same else None

    async def call(self, url: httpx.URL, method: str, headers: list[tuple[str, str]], content: bytes | None,
                   timeout: float) -> Exchange | Failure:
        """One request, bounded by ``timeout`` seconds from start to the last byte."""
        if self.client is None:
            self.client = httpx.AsyncClient(trust_env=False, follow_redirects=False, timeout=timeout,
                                            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50))
        started = time.perf_counter()

        def failed(reason: str, detail: str) -> Failure:
            return Failure(reason, detail, round((time.perf_counter() - started) * 1000, 3))

        try:
            async with asyncio.timeout(timeout):
                async with self.client.stream(method, url, headers=headers, content=content,
                                              timeout=httpx.Timeout(timeout)) as response:
                    length = response.headers.get("content-length", "")
                    if is_decimal(length) and int(length) > self.max_bytes:
                        return failed("upstream-too-large", f"the upstream announced {length} bytes; the cap is "
                                                            f"{self.max_bytes}")
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > self.max_bytes:
                            return failed("upstream-too-large", f"the upstream body passed the cap of "
                                                                f"{self.max_bytes} bytes")
                    return Exchange(response.status_code, list(response.headers.multi_items()), bytes(body),
                                    round((time.perf_counter() - started) * 1000, 3), str(url))
        except (TimeoutError, httpx.TimeoutException):
            return failed("upstream-timeout", f"no complete answer within {timeout:g}s")
        except httpx.ConnectError as exc:
            return failed("upstream-unreachable", f"cannot connect: {exc}" if str(exc) else "cannot connect")
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.DecodingError) as exc:
            return failed("upstream-protocol-error", f"the upstream answer was broken: {exc}")
        except (httpx.HTTPError, OSError, ValueError) as exc:
            return failed("upstream-error", f"{type(exc).__name__}: {exc}")

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None


# -- answers and traces -----------------------------------------------------------------------------
@dataclass
class Answer:
    """One side of a blend: status, bytes, headers and the parsed JSON body (``json`` False when
    the body is not JSON)."""

    status: int
    body: bytes
    headers: dict[str, str]
    data: Any = None
    json: bool = True


class TraceRing:
    """The traces of recent requests, by request id, bounded in count and in decisions held."""

    def __init__(self, size: int = TRACE_SIZE, budget: int = TRACE_BUDGET) -> None:
        self.size = size
        self.budget = budget
        self.held = 0
        self.traces: OrderedDict[str, dict] = OrderedDict()

    def add(self, trace: dict) -> None:
        self.traces[trace["request_id"]] = trace
        self.held += len(trace["decisions"])
        while self.traces and (len(self.traces) > self.size or self.held > self.budget):
            _, old = self.traces.popitem(last=False)
            self.held -= len(old["decisions"])

    def get(self, request_id: str) -> dict | None:
        trace = self.traces.get(request_id)
        if trace is None:
            return None
        out = dict(trace)
        out["decisions"] = [asdict(d) if isinstance(d, Decision) else d for d in trace["decisions"]]
        return out


# -- the hook ---------------------------------------------------------------------------------------
class RealityService:
    """The reality continuum for one app: settings per workspace, the upstream client, the
    recorder, realism and the trace ring. Plugs into MockRoutes as ``mock.reality``."""

    def __init__(self, engine: ConsistencyEngine, config: RealityConfig, *, max_body_bytes: int = 1_048_576,
                 upstream: Upstream | None = None) -> None:
        self.engine = engine
        self.config = config
        self.base = config_settings(config)
        self.base_data = settings_to_dict(self.base)
        self.record_mode = bool(config.enabled and config.record)
        if self.record_mode and not self.base.upstream:
            raise ConfigError("reality_continuum.upstream", "record mode needs the upstream URL to record")
        self.realism = parse_realism(config.realism)
        self.max_body_bytes = max_body_bytes
        self.upstream = upstream or Upstream()
        self.recorder = Recorder(engine.store)
        self.states = LRU(4096)
        self.traces = TraceRing()
        self.once_seen = LRU(4096)  # record mode `once`: whether each workspace had recordings at first sight
        self.derived = derivation_fields(engine.model)  # fields that stay the persona's in a blend
        self.id_keys = tuple(dict.fromkeys(t.id_field for t in engine.model.types.values() if t.id_field))
        engine.events.subscribe(self._forget)

    def _forget(self, event: dict) -> None:
        """A reset workspace is seen afresh: record mode `once` asks again whether it has recordings."""
        if event["type"] == "workspace.reset":
            self.once_seen.pop(event["workspace"], None)

    # -- settings ----------------------------------------------------------------------------------
    def workspace(self, view: WorldView) -> WorkspaceReality:
        """The workspace's effective settings; cached per store version, so on the hot path this
        is one dictionary lookup."""
        key = view.snap.key
        state = self.states.get(key)
        if state is not None:
            return state
        overrides = None
        if not view.degraded:
            try:
                overrides = self.engine.store.get_setting(view.workspace, SETTING)
            except StoreUnavailable:
                return self._state(self.base, None)
        settings = self.base
        if overrides:
            try:
                settings = parse_settings({**self.base_data, **overrides})
            except SettingsError:
                settings = self.base  # stored by an older version and no longer valid: the config applies
        state = self._state(settings, overrides or None)
        return self.states.put(key, state) if not view.degraded else state

    def _state(self, settings: RealitySettings, overrides: dict | None) -> WorkspaceReality:
        schedule = settings.schedule
        can_be_real = (settings.default_ratio > 0 or any(rule.ratio > 0 for rule in settings.routes)
                       or (schedule is not None and max(schedule.from_ratio, schedule.to_ratio) > 0))
        return WorkspaceReality(settings, overrides, can_be_real or self.record_mode or self.realism.on)

    def put_settings(self, view: WorldView, data: Any) -> WorkspaceReality:
        """Validate and store a workspace's settings over the config; effective on the next request.
        Raises SettingsError naming the field."""
        current = self.workspace(view).settings.upstream
        if isinstance(data, dict) and current and data.get("upstream") == shown_url(current) != current:
            data = {**data, "upstream": current}  # the redacted URL GET showed, sent back: keep the real one
        given = parse_settings(data)  # checks keys and values of what was sent
        parse_settings({**self.base_data, **data})  # and that the result is usable as a whole
        normal = settings_to_dict(given)
        self.engine.store.put_setting(view.workspace, SETTING, {k: normal[k] for k in data})
        return self.workspace(self.engine.view(view.workspace))

    def reset_settings(self, view: WorldView) -> WorkspaceReality:
        """Forget a workspace's stored settings: the config applies again."""
        self.engine.store.put_setting(view.workspace, SETTING, None)
        return self.workspace(self.engine.view(view.workspace))

    def describe(self, view: WorldView) -> dict:
        """What ``GET /api/v1/reality`` shows: the effective settings and where they come from."""
        state = self.workspace(view)
        return {"workspace": view.workspace, "enabled": self.config.enabled, "record": self.record_mode,
                "settings": _shown(settings_to_dict(state.settings)), "overrides": _shown(state.overrides),
                "config": _shown(self.base_data), "realism": {"latency": self.config.realism.latency,
                                                      "errors": self.config.realism.errors}}

    def resolve(self, view: WorldView, path: str, header: str | None = None) -> dict:
        """The ratio for a path now, with the explanation of ``resolve_ratio``."""
        state = self.workspace(view)
        ratio, why = resolve_ratio(path, state.settings, now=view.now, clock_start=view.clock_start, header=header)
        return {"workspace": view.workspace, "path": path, **why, "now": _iso(view.now),
                "clock_start": _iso(view.clock_start), "upstream": shown_url(state.settings.upstream),
                "record": self.record_mode}

    def trace(self, request_id: str) -> dict | None:
        return self.traces.get(request_id)

    async def aclose(self) -> None:
        await self.upstream.aclose()

    # -- the hook ---------------------------------------------------------------------------------
    def active(self, view: WorldView, request: Request) -> bool:
        """Cheap: a ratio header, or a workspace whose ratio can be above 0, record mode or realism."""
        return "x-mockverse-reality" in request.headers or self.workspace(view).active

    async def respond(self, request: Request, op: MockOperation, view: WorldView,
                      synthetic: Callable[[], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        state = self.workspace(view)
        try:
            r, why = resolve_ratio(request.url.path, state.settings, now=view.now, clock_start=view.clock_start,
                                   header=request.headers.get(HEADER))
        except SettingsError as exc:
            raise Problem(400, "Invalid reality ratio", exc.message, field=exc.field) from None
        query = request.url.query
        key = f"{request.method} {request.url.path}?{query}"
        request_id = request.scope.get("state", {}).get("request_id")
        own_id = request_id is None
        if own_id:
            request_id = secrets.token_hex(8)
        trace: dict[str, Any] = {
            "request_id": request_id, "method": request.method, "path": request.url.path, "query": normal_query(query),
            "workspace": view.workspace, "route": f"{op.method} {op.path}", "ratio": r, "ratio_reason": why,
            "band": band(r), "source": None, "fallbacks": [], "decisions": [], "upstream": None, "recording": None,
            "realism": None, "record_mode": self.record_mode,
        }
        if self.record_mode:
            trace["ratio"], trace["band"] = 1.0, "upstream"
            response = await self._record(request, op, view, trace, synthetic)
        else:
            response = await self._realistic(request, op, view, state, r, key, trace, synthetic, started)
        response.headers[REALITY] = format_ratio(trace["ratio"])
        response.headers["X-Mockverse-Workspace"] = view.workspace
        if own_id:
            response.headers["X-Mockverse-Request-Id"] = request_id
        trace["source"] = response.headers.get(SOURCE)
        trace["status"] = response.status_code
        trace["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 3)
        if len(trace["decisions"]) > TRACE_DECISIONS:
            trace["decisions_truncated"] = len(trace["decisions"])
            trace["decisions"] = trace["decisions"][:TRACE_DECISIONS]
        self.traces.add(trace)
        return response

    async def _realistic(self, request: Request, op: MockOperation, view: WorldView, state: WorkspaceReality,
                         r: float, key: str, trace: dict, synthetic: Callable[[], Awaitable[Response]],
                         started: float) -> Response:
        """Serve at ratio r, then time (and maybe fail) the answer like the real thing."""
        seed = view.snap.seed
        stats = None
        if self.realism.latency == ("recorded",) or self.realism.errors == ("recorded",):
            stats = self._safe(lambda: self.recorder.stats(view.workspace, view.snap.version, op.method, op.path))
        error = realism_error(self.realism.errors, seed, key, stats.statuses if stats else None)
        delay = realism_delay(self.realism.latency, seed, key, stats.latencies if stats else None)
        if self.realism.on:
            trace["realism"] = {"latency_s": delay, "error_status": error,
                                "learned_from": len(stats.statuses) if stats else 0}
        if error is not None:
            response = problem_response(Problem(error, "Simulated error", f"realism: this request fails with {error} like the "
                               "upstream does at this rate", extra={"realism": True}))
            response.headers[SOURCE] = "realism-error"
        else:
            response = await self._serve(request, op, view, state, r, key, trace, synthetic)
        if delay:
            remaining = delay - (time.perf_counter() - started)
            if remaining > 0:
                await asyncio.sleep(remaining)
        return response

    async def _serve(self, request: Request, op: MockOperation, view: WorldView, state: WorkspaceReality,
                     r: float, key: str, trace: dict, synthetic: Callable[[], Awaitable[Response]]) -> Response:
        tier = band(r)
        if request.method != "GET" or tier == "synthetic":
            if request.method in _WRITES and tier != "synthetic":
                trace["fallbacks"].append({"tier": tier, "reason": "writes-stay-synthetic",
                                           "detail": "writes change the persona world; only record mode sends "
                                                     "them upstream"})
            elif request.method != "GET" and tier != "synthetic":
                trace["fallbacks"].append({"tier": tier, "reason": "head-synthetic", "detail": "HEAD is answered "
                                                                                              "from the world"})
            return self._synthetic(await _or_problem(synthetic), trace)
        syn = await self._synthetic_answer(synthetic)
        if tier == "upstream":
            real = await self._from_upstream(request, op, view, state, trace)
            if isinstance(real, Exchange):
                if r == 1.0:
                    trace["decisions"] = [Decision("$", "snap", REAL, None, 1.0)]
                    return self._passthrough(real, "upstream")
                answer = _answer(real.status, real.body, dict((k.lower(), v) for k, v in real.headers))
                return self._blend(syn, answer, r, "upstream", op, view, key, trace)
        recording = self._recording(request, op, view, trace)
        if recording is not None and (r < 1.0 or recording.match != "route"):
            trace["recording"] = {"id": recording.id, "match": recording.match,
                                  "source": recording.value.get("source")}
            answer = _answer(recording.value["status"], body_bytes(recording.value),
                             dict(recording.value.get("headers") or {}))
            if r == 1.0:
                trace["decisions"] = [Decision("$", "snap", REAL, None, 1.0)]
                return self._finish(_response(answer, answer.headers), "recorded", trace, blended_with=None)
            return self._blend(syn, answer, r, "recorded", op, view, key, trace)
        if recording is not None:
            trace["fallbacks"].append({"tier": "recorded", "reason": "no-recording",
                                       "detail": f"only a recording of another {op.path} (id "
                                                 f"{recording.id}); at r = 1 a recording stands in for its own "
                                                 "path only"})
        elif not any(f["tier"] == "recorded" for f in trace["fallbacks"]):
            trace["fallbacks"].append({"tier": "recorded", "reason": "no-recording",
                                       "detail": f"no recording of {request.method} {op.path}"})
        return self._synthetic(_response(syn, syn.headers), trace)

    async def _from_upstream(self, request: Request, op: MockOperation, view: WorldView, state: WorkspaceReality,
                             trace: dict) -> Exchange | None:
        """The upstream's answer when it is usable for blending; else None with the reason traced."""
        result = await self._call(request, state.settings, trace)
        if isinstance(result, Exchange):
            if result.status >= 500:
                result = Failure(f"upstream-status-{result.status}", f"the upstream answered {result.status}",
                                 result.latency_ms)
            elif result.body.strip() and not _parses(result.body):
                result = Failure("upstream-not-json", "the upstream answer is not JSON", result.latency_ms)
        if isinstance(result, Failure):
            trace["fallbacks"].append({"tier": "upstream", "reason": result.reason, "detail": result.detail})
            return None
        self._remember(request, op, view, result, "proxy", trace)
        return result

    async def _call(self, request: Request, settings: RealitySettings, trace: dict,
                    content: bytes | None = None) -> Exchange | Failure:
        """Send the request to the configured upstream (never a host from the request)."""
        if not settings.upstream:
            failure = Failure("no-upstream", "no upstream URL is configured for this workspace")
            trace["upstream"] = {"reason": failure.reason}
            return failure
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        url = self.upstream.url(settings.upstream, raw_path.decode("latin-1"), request.url.query)
        if url is None:
            failure = Failure("upstream-url-refused", "the request path would leave the upstream's origin")
            trace["upstream"] = {"reason": failure.reason}
            return failure
        headers = [(k, v) for k, v in request.headers.items() if k in _FORWARD]
        result = await self.upstream.call(url, request.method, headers, content, settings.timeout)
        trace["upstream"] = {"url": shown_url(str(url)), "latency_ms": result.latency_ms,
                             **({"status": result.status} if isinstance(result, Exchange) else
                                {"reason": result.reason, "detail": result.detail})}
        return result

    async def _record(self, request: Request, op: MockOperation, view: WorldView, trace: dict,
                      synthetic: Callable[[], Awaitable[Response]]) -> Response:
        """Record mode: proxy to the upstream, store the exchange, answer with the upstream's response;
        or, as the record mode says (``record_action``), replay the request's recording or refuse it."""
        mode = self.config.record_mode
        episode = None
        if view.degraded and (mode == "none" or (mode == "once" and self.once_seen.get(view.workspace) is not False)):
            raise StoreUnavailable("replaying needs the recordings in the store")  # never fall through to the upstream
        if mode != "all" and not view.degraded:
            episode = self._safe(lambda: self.recorder.episode(view.workspace, view.snap.version, request.method,
                                                               request.url.path, request.url.query))
            had = self.once_seen.get(view.workspace)  # `once`: did this workspace have recordings when first served?
            if had is None:
                had = self.once_seen.put(view.workspace, bool(self._safe(
                    lambda: self.recorder.has_recordings(view.workspace, view.snap.version))))
            action = record_action(mode, had, episode is not None)
            trace["record_action"] = action
            if action == "replay":
                trace["recording"] = {"id": episode.id, "match": "exact", "source": episode.value.get("source")}
                trace["decisions"] = [Decision("$", "snap", REAL, None, 1.0)]
                answer = _answer(episode.value["status"], body_bytes(episode.value),
                                 dict(episode.value.get("headers") or {}))
                return self._finish(_response(answer, answer.headers), "recorded", trace, blended_with=None)
            if action == "refuse":
                query = f"?{request.url.query}" if request.url.query else ""
                response = problem_response(Problem(409, "Not recorded", f"record mode '{mode}' replays recordings only, and "
                                   f"workspace '{view.workspace}' has no recording of {request.method} "
                                   f"{request.url.path[:200]}{query[:200]} (matched on method, path and query); "
                                   "the upstream was not called. Record it with --record-mode new_episodes or all",
                                   field="record_mode", allowed=list(RECORD_MODES)))
                response.headers[SOURCE] = "unrecorded"
                return response
        content = await self._request_body(request) if request.method in _WRITES else None
        result = await self._call(request, self.base, trace, content)
        if isinstance(result, Exchange):
            self._remember(request, op, view, result, "record", trace, content)
            trace["decisions"] = [Decision("$", "snap", REAL, None, 1.0)]
            return self._passthrough(result, "upstream")
        trace["fallbacks"].append({"tier": "upstream", "reason": result.reason, "detail": result.detail})
        if request.method == "GET":
            recording = self._recording(request, op, view, trace)
            if recording is not None and recording.match != "route":
                trace["recording"] = {"id": recording.id, "match": recording.match,
                                      "source": recording.value.get("source")}
                answer = _answer(recording.value["status"], body_bytes(recording.value),
                                 dict(recording.value.get("headers") or {}))
                return self._finish(_response(answer, answer.headers), "recorded", trace, blended_with=None)
            trace["fallbacks"].append({"tier": "recorded", "reason": "no-recording",
                                       "detail": f"no recording of {request.method} {request.url.path}"})
        return self._synthetic(await _or_problem(synthetic), trace)

    async def _request_body(self, request: Request) -> bytes:
        """The request body, capped like every body the mock reads."""
        length = request.headers.get("content-length")
        if length is not None and (not is_decimal(length) or int(length) > self.max_body_bytes):
            raise Problem(413, "Body too large", f"the request body is larger than {self.max_body_bytes} bytes",
                          field="body")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise Problem(413, "Body too large", f"the request body is larger than {self.max_body_bytes} bytes",
                              field="body")
            chunks.append(chunk)
        raw = b"".join(chunks)
        request._body = raw  # Starlette replays a cached body to later readers (the synthetic fallback)
        return raw

    def _remember(self, request: Request, op: MockOperation, view: WorldView, exchange: Exchange, source: str,
                  trace: dict, content: bytes | None = None) -> None:
        """Keep an upstream exchange as a recording (a failed store write is traced, not raised)."""
        recording = make_recording(
            method=request.method, route=op.path, path=request.url.path, query=request.url.query,
            status=exchange.status, headers=exchange.headers, body=exchange.body, latency_ms=exchange.latency_ms,
            source=source, request_headers=request.headers.items(), request_body=content)
        try:
            if source == "proxy":
                if exchange.status < 500 and recording["body_kind"] == "json":
                    seq = self.recorder.remember(view.workspace, view.snap.version, recording)
                    trace["recorded"] = seq
            else:
                trace["recorded"] = self.recorder.record(view.workspace, recording)
        except StoreUnavailable:
            trace["fallbacks"].append({"tier": "record", "reason": "store-unavailable",
                                       "detail": "the exchange could not be stored"})

    def _recording(self, request: Request, op: MockOperation, view: WorldView, trace: dict) -> Recording | None:
        if view.degraded:
            trace["fallbacks"].append({"tier": "recorded", "reason": "store-unavailable",
                                       "detail": "recordings live in the store, which cannot be reached"})
            return None
        return self._safe(lambda: self.recorder.lookup(view.workspace, view.snap.version, request.method, op.path,
                                                       request.url.path, request.url.query))

    @staticmethod
    def _safe(read: Callable[[], Any]) -> Any:
        try:
            return read()
        except StoreUnavailable:
            return None

    # -- building answers ---------------------------------------------------------------------------
    async def _synthetic_answer(self, synthetic: Callable[[], Awaitable[Response]]) -> Answer:
        """The persona world's answer, problems included (a 404 here may be a 200 upstream)."""
        try:
            response = await synthetic()
        except Problem as problem:
            return _answer(problem.status, orjson.dumps(problem.body()), {"content-type": PROBLEM})
        headers = {k: v for k, v in response.headers.items() if k != "content-length"}
        return _answer(response.status_code, bytes(response.body), headers)

    def _synthetic(self, response: Response, trace: dict) -> Response:
        if not trace["decisions"]:
            trace["decisions"] = [Decision("$", "band" if trace["ratio"] > 0 else "snap", "synthetic", None,
                                           trace["ratio"])]
        return self._finish(response, "synthetic", trace, blended_with=None)

    def _passthrough(self, exchange: Exchange, source: str) -> Response:
        """The upstream's answer as it came: status, body byte for byte, the safe headers."""
        headers = {k: v for k, v in exchange.headers if k.lower() in _PASS_BACK}
        response = Response(exchange.body, status_code=exchange.status, headers=headers, media_type=None)
        response.headers[SOURCE] = source
        return response

    def _blend(self, syn: Answer, real: Answer, r: float, tier: str, op: MockOperation, view: WorldView, key: str,
               trace: dict) -> Response:
        """Blend the synthetic and the real answer at r inside the persona world."""
        if not syn.json or not real.json:
            trace["fallbacks"].append({"tier": tier, "reason": "not-json", "detail": "only JSON bodies blend"})
            return self._synthetic(_response(syn, syn.headers), trace)
        status, body, decisions = blend_in_persona_world(syn.status, syn.data, real.status, real.data, r,
                                                         seed=view.snap.seed, request_key=key, schema=op.schema,
                                                         kept=self.derived, id_keys=self.id_keys)
        shown = op.entity.children.get(op.relationship) if op.kind == "children" and op.entity else op.entity
        if shown is not None and op.kind in ("item", "collection", "children"):
            body = settle(self.engine.model, shown, body)  # derived fields agree with what the body embeds
        trace["decisions"] = decisions
        whole = syn.status // 100 != real.status // 100
        if whole and decisions[0].source == REAL:
            return self._finish(_response(real, real.headers), tier, trace, blended_with=None)
        if whole:
            return self._finish(_response(syn, syn.headers), "synthetic", trace, blended_with=None)
        headers = dict(syn.headers)
        headers["content-type"] = "application/json"
        response = Response(orjson.dumps(body), status_code=status, headers=headers, media_type=None)
        return self._finish(response, "blend", trace, blended_with=tier)

    def _finish(self, response: Response, source: str, trace: dict, *, blended_with: str | None) -> Response:
        response.headers[SOURCE] = source
        if blended_with:
            response.headers[BLENDED_WITH] = blended_with
        reasons = [f["reason"] for f in trace["fallbacks"]]
        if reasons:
            response.headers[FALLBACK] = ", ".join(dict.fromkeys(reasons))
        if source != "synthetic" and source != "blend":
            for name in ("x-mockverse-persona", "x-mockverse-lifecycle"):
                if name in response.headers:
                    del response.headers[name]
        return response


async def _or_problem(synthetic: Callable[[], Awaitable[Response]]) -> Response:
    """The synthetic response, with a Problem it raises answered (so it too gets the reality headers)."""
    try:
        return await synthetic()
    except Problem as problem:
        return problem_response(problem)


def _answer(status: int, body: bytes, headers: dict[str, str]) -> Answer:
    if not body.strip():
        return Answer(status, body, headers, None, True)
    try:
        return Answer(status, body, headers, orjson.loads(body), True)
    except orjson.JSONDecodeError:
        return Answer(status, body, headers, None, False)


def _parses(body: bytes) -> bool:
    try:
        orjson.loads(body)
        return True
    except orjson.JSONDecodeError:
        return False


def _response(answer: Answer, headers: dict[str, str]) -> Response:
    kept = {k: v for k, v in headers.items() if k.lower() != "content-length" and
            (k.lower().startswith("x-mockverse-") or k.lower() in _PASS_BACK)}
    return Response(answer.body, status_code=answer.status, headers=kept, media_type=None)


def _iso(value: Any) -> str:
    return format_rfc3339(value)


def shown_url(url: str | None) -> str | None:
    """A URL as the API and traces show it: its userinfo (a password, or a token standing as the user
    name, as in ``https://sk_live_...@api.example.com``) and credentials in its query (``api_key=``,
    ``token=``, ...) replaced by ``[redacted]``."""
    if not url:
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username or ''}:{REDACTED}@{netloc.rpartition('@')[2]}"
    elif "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
    return urlunsplit((parts.scheme, netloc, parts.path, normal_query(parts.query), parts.fragment))


def public_base(url: str) -> str:
    """The upstream as a recording's URL names it: scheme, host, port and path, never its userinfo
    or query (where credentials live)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def _shown(settings: dict | None) -> dict | None:
    """Reality settings as the API shows them: the upstream URL's credentials redacted."""
    if not settings or not isinstance(settings.get("upstream"), str):
        return settings
    return {**settings, "upstream": shown_url(settings["upstream"])}

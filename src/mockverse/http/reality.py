"""The reality continuum in the mock path: pick the source by ratio, blend, fall back, trace.

``RealityService`` is the ``RealityHook`` of ``http/mock.py``: per request it resolves the ratio r
(header > route rule > schedule > default, on the workspace's virtual clock) with the policy of
``reality/continuum.py``, and the band of r picks the real side: below 0.3 none (synthetic), below
0.7 the matching recording, from 0.7 the live upstream, falling back to the recording and then to
synthetic when the upstream is missing, failing or slower than its timeout. Bodies blend inside the
persona world (``persona_blend``). Every answer says where it came from in ``X-Mockverse-Source``
and ``X-Mockverse-Reality``, and its decisions are kept in a bounded trace ring under the request
id. Writes stay synthetic outside record mode.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from mockverse.cache import LRU
from mockverse.config import ConfigError, RealityConfig
from mockverse.http.errors import PROBLEM, Problem, is_decimal, problem_response
from mockverse.reality.blend import REAL, Decision
from mockverse.reality.continuum import (
    BLENDED_WITH,
    FALLBACK,
    FORWARDED_HEADERS,
    PASSED_BACK_HEADERS,
    REALITY,
    SETTING,
    SOURCE,
    TRACE_DECISIONS,
    WRITE_METHODS,
    Answer,
    Exchange,
    Failure,
    TraceRing,
    Upstream,
    WorkspaceReality,
    config_settings,
    format_ratio,
    iso_time,
    parse_realism,
    realism_delay,
    realism_error,
    shown_settings,
    shown_url,
)
from mockverse.reality.persona_blend import blend_in_persona_world
from mockverse.reality.ratio import (
    HEADER,
    RealitySettings,
    SettingsError,
    band,
    parse_settings,
    resolve_ratio,
    settings_to_dict,
)
from mockverse.reality.record_modes import RECORD_MODES, record_action
from mockverse.reality.recorder import Recorder, Recording
from mockverse.reality.recordings import body_bytes, make_recording, normal_query
from mockverse.store import StoreUnavailable
from mockverse.world.derive import derivation_fields, with_derived_fields

if TYPE_CHECKING:
    from mockverse.http.operations import Operation
    from mockverse.world.engine import ConsistencyEngine, WorldView


class RealityService:
    """The reality continuum for one app: settings per workspace, the upstream client, the
    recorder, realism and the trace ring. Plugs into MockRoutes as ``mock.reality``."""

    def __init__(self, engine: ConsistencyEngine, config: RealityConfig, *, max_body_bytes: int = 1_048_576,
                 upstream: Upstream | None = None, clock: Callable[[], float] = time.perf_counter,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
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
        # the clock a request's own time is measured on and how realism's latency is waited out (a test's
        # still clock and a sleep that notes the wait make the wait exact, and nothing sleeps)
        self.clock = clock
        self.sleep = sleep
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
                overrides = self.engine.setting(view.workspace, SETTING, view.snap.version)
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
        return {
            "workspace": view.workspace,
            "enabled": self.config.enabled,
            "record": self.record_mode,
            "settings": shown_settings(settings_to_dict(state.settings)),
            "overrides": shown_settings(state.overrides),
            "config": shown_settings(self.base_data),
            "realism": {"latency": self.config.realism.latency, "errors": self.config.realism.errors},
        }

    def resolve(self, view: WorldView, path: str, header: str | None = None) -> dict:
        """The ratio for a path now, with the explanation of ``resolve_ratio``."""
        state = self.workspace(view)
        ratio, why = resolve_ratio(path, state.settings, now=view.now, clock_start=view.clock_start, header=header)
        return {"workspace": view.workspace, "path": path, **why, "now": iso_time(view.now),
                "clock_start": iso_time(view.clock_start), "upstream": shown_url(state.settings.upstream),
                "record": self.record_mode}

    def trace(self, request_id: str) -> dict | None:
        return self.traces.get(request_id)

    async def aclose(self) -> None:
        await self.upstream.aclose()

    # -- the hook ---------------------------------------------------------------------------------
    def active(self, view: WorldView, request: Request) -> bool:
        """Cheap: a ratio header, or a workspace whose ratio can be above 0, record mode or realism."""
        return "x-mockverse-reality" in request.headers or self.workspace(view).active

    async def respond(self, request: Request, op: Operation, view: WorldView,
                      synthetic: Callable[[], Awaitable[Response]]) -> Response:
        started = self.clock()
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
        trace["elapsed_ms"] = round((self.clock() - started) * 1000, 3)
        if len(trace["decisions"]) > TRACE_DECISIONS:
            trace["decisions_truncated"] = len(trace["decisions"])
            trace["decisions"] = trace["decisions"][:TRACE_DECISIONS]
        self.traces.add(trace)
        return response

    async def _realistic(self, request: Request, op: Operation, view: WorldView, state: WorkspaceReality,
                         r: float, key: str, trace: dict, synthetic: Callable[[], Awaitable[Response]],
                         started: float) -> Response:
        """Serve at ratio r, then time (and maybe fail) the answer like the real thing."""
        seed = view.snap.seed
        stats = None
        if self.realism.latency == ("recorded",) or self.realism.errors == ("recorded",):
            stats = self._unless_store_down(
                lambda: self.recorder.stats(view.workspace, view.snap.version, op.method, op.path))
        error = realism_error(self.realism.errors, seed, key, stats.statuses if stats else None)
        delay = realism_delay(self.realism.latency, seed, key, stats.latencies if stats else None)
        if self.realism.on:
            trace["realism"] = {"latency_s": delay, "error_status": error,
                                "learned_from": len(stats.statuses) if stats else 0}
        if error is not None:
            response = problem_response(
                Problem(
                    error,
                    "Simulated error",
                    f"realism: this request fails with {error} like the upstream does at this rate",
                    extra={"realism": True},
                )
            )
            response.headers[SOURCE] = "realism-error"
        else:
            response = await self._serve(request, op, view, state, r, key, trace, synthetic)
        if delay:
            remaining = delay - (self.clock() - started)
            if remaining > 0:
                await self.sleep(remaining)
        return response

    async def _serve(self, request: Request, op: Operation, view: WorldView, state: WorkspaceReality,
                     r: float, key: str, trace: dict, synthetic: Callable[[], Awaitable[Response]]) -> Response:
        tier = band(r)
        if request.method != "GET" or tier == "synthetic":
            if request.method in WRITE_METHODS and tier != "synthetic":
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

    async def _from_upstream(self, request: Request, op: Operation, view: WorldView, state: WorkspaceReality,
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
        headers = [(k, v) for k, v in request.headers.items() if k in FORWARDED_HEADERS]
        result = await self.upstream.call(url, request.method, headers, content, settings.timeout)
        trace["upstream"] = {"url": shown_url(str(url)), "latency_ms": result.latency_ms,
                             **({"status": result.status} if isinstance(result, Exchange) else
                                {"reason": result.reason, "detail": result.detail})}
        return result

    async def _record(self, request: Request, op: Operation, view: WorldView, trace: dict,
                      synthetic: Callable[[], Awaitable[Response]]) -> Response:
        """Record mode: proxy to the upstream, store the exchange, answer with the upstream's response;
        or, as the record mode says (``record_action``), replay the request's recording or refuse it."""
        mode = self.config.record_mode
        episode = None
        if view.degraded and (mode == "none" or (mode == "once" and self.once_seen.get(view.workspace) is not False)):
            raise StoreUnavailable("replaying needs the recordings in the store")  # never fall through to the upstream
        if mode != "all" and not view.degraded:
            episode = self._unless_store_down(lambda: self.recorder.episode(
                view.workspace, view.snap.version, request.method, request.url.path, request.url.query))
            had = self.once_seen.get(view.workspace)  # `once`: did this workspace have recordings when first served?
            if had is None:
                had = self.once_seen.put(view.workspace, bool(self._unless_store_down(
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
                response = problem_response(
                    Problem(
                        409,
                        "Not recorded",
                        f"record mode '{mode}' replays recordings only, and "
                        f"workspace '{view.workspace}' has no recording of {request.method} "
                        f"{request.url.path[:200]}{query[:200]} (matched on method, path and query); "
                        "the upstream was not called. Record it with --record-mode new_episodes or all",
                        field="record_mode",
                        allowed=list(RECORD_MODES),
                    )
                )
                response.headers[SOURCE] = "unrecorded"
                return response
        content = await self._request_body(request) if request.method in WRITE_METHODS else None
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

    def _remember(self, request: Request, op: Operation, view: WorldView, exchange: Exchange, source: str,
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

    def _recording(self, request: Request, op: Operation, view: WorldView, trace: dict) -> Recording | None:
        if view.degraded:
            trace["fallbacks"].append({"tier": "recorded", "reason": "store-unavailable",
                                       "detail": "recordings live in the store, which cannot be reached"})
            return None
        return self._unless_store_down(lambda: self.recorder.lookup(
            view.workspace, view.snap.version, request.method, op.path, request.url.path, request.url.query))

    @staticmethod
    def _unless_store_down(read: Callable[[], Any]) -> Any:
        """What ``read`` returns, or None when the store is unavailable (the recorded tier is skipped)."""
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
        headers = {k: v for k, v in exchange.headers if k.lower() in PASSED_BACK_HEADERS}
        response = Response(exchange.body, status_code=exchange.status, headers=headers, media_type=None)
        response.headers[SOURCE] = source
        return response

    def _blend(self, syn: Answer, real: Answer, r: float, tier: str, op: Operation, view: WorldView, key: str,
               trace: dict) -> Response:
        """Blend the synthetic and the real answer at r inside the persona world."""
        if not syn.json or not real.json:
            trace["fallbacks"].append({"tier": tier, "reason": "not-json", "detail": "only JSON bodies blend"})
            return self._synthetic(_response(syn, syn.headers), trace)
        status, body, decisions = blend_in_persona_world(syn.status, syn.data, real.status, real.data, r,
                                                         seed=view.snap.seed, request_key=key, schema=op.schema,
                                                         kept=self.derived, id_keys=self.id_keys)
        shown = op.shown
        if shown is not None and op.kind in ("item", "collection", "children"):
            body = with_derived_fields(self.engine.model, shown, body)  # derived fields agree with what the body embeds
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
            (k.lower().startswith("x-mockverse-") or k.lower() in PASSED_BACK_HEADERS)}
    return Response(answer.body, status_code=answer.status, headers=kept, media_type=None)

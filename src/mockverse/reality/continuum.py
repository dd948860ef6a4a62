"""The reality continuum's policy, free of HTTP: settings per workspace, the realism models, the
upstream client, answers and the trace ring. ``http/reality.py`` applies it to each request.

Per request the service resolves the
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
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from mockverse.config import ConfigError, RealismConfig, RealityConfig
from mockverse.ids import unit_draw
from mockverse.problems import is_decimal
from mockverse.reality.blend import Decision
from mockverse.reality.ratio import (
    RealitySettings,
    SettingsError,
    parse_settings,
)
from mockverse.reality.recordings import REDACTED, normal_query
from mockverse.timeutil import format_rfc3339, parse_duration

if TYPE_CHECKING:
    import httpx

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
FORWARDED_HEADERS = frozenset({
    "accept", "accept-language", "authorization", "cache-control", "content-type", "idempotency-key",
    "if-match", "if-modified-since", "if-none-match", "if-unmodified-since", "user-agent", "x-api-key",
    "x-request-id", "x-correlation-id",
})
# Upstream response headers passed to the client when the upstream's answer is served as it is.
PASSED_BACK_HEADERS = frozenset({
    "content-type", "cache-control", "etag", "last-modified", "location", "link", "x-total-count", "retry-after",
    "content-language", "expires", "vary",
})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


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
    example = (
        "'recorded', {fixed: 120ms}, {normal: {mean: 100ms, stddev: 20ms}} or {lognormal: {median: 80ms, sigma: 0.5}}"
    )
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
    no proxy settings from the environment, bodies capped, every failure returned not raised. httpx is
    imported by the methods that call it, so a server that never calls an upstream does not load it."""

    def __init__(self, max_bytes: int = MAX_UPSTREAM_BYTES) -> None:
        self.max_bytes = max_bytes
        self.client: httpx.AsyncClient | None = None

    def url(self, base: str, raw_path: str, query: str) -> httpx.URL | None:
        """The upstream URL for a request path: the base URL's origin and path prefix, the
        request's path and query. None if the result would name another origin."""
        import httpx

        origin = httpx.URL(base)
        prefix = origin.raw_path.split(b"?", 1)[0].decode("ascii").rstrip("/")
        path = raw_path if raw_path.startswith("/") else "/" + raw_path
        url = httpx.URL(
            f"{origin.scheme}://{origin.netloc.decode('ascii')}{prefix}{path}" + (f"?{query}" if query else "")
        )
        same = (url.scheme, url.host, url.port) == (origin.scheme, origin.host, origin.port)
        return url if same else None

    async def call(self, url: httpx.URL, method: str, headers: list[tuple[str, str]], content: bytes | None,
                   timeout: float) -> Exchange | Failure:
        """One request, bounded by ``timeout`` seconds from start to the last byte."""
        import httpx

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
def iso_time(value: Any) -> str:
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


def shown_settings(settings: dict | None) -> dict | None:
    """Reality settings as the API shows them: the upstream URL's credentials redacted."""
    if not settings or not isinstance(settings.get("upstream"), str):
        return settings
    return {**settings, "upstream": shown_url(settings["upstream"])}

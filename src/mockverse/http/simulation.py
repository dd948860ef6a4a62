"""WireMock-style latency and faults per route, from the config's ``simulation.routes``.

A rule matches requests by ``"GET /orders/*"`` (or a path alone, any method) with the route
patterns of the reality continuum; the most specific rule wins. Its ``delay`` uses the latency
models of ``reality.continuum`` (``fixed``, ``normal``, ``lognormal``) and its ``fault`` fails a share
``rate`` of the requests at the connection: ``empty_response`` closes it without a byte,
``connection_reset`` sends a TCP RST, ``malformed_chunk`` starts a chunked 200 and breaks it.

Every draw is deterministic: blake2b of (workspace seed, method, path and query, request key).
The request key is the ``X-Mockverse-Request-Key`` header when sent, else the number of times
this process has seen that same request (1, 2, ...): a retry draws anew, and a fresh server
given the same requests fails the same ones. The admin API and dashboard are never touched.

ASGI does not hand an app its socket, so ``mockverse serve`` runs uvicorn with
:class:`FaultableHTTP`, which puts each connection's transport in the request scope's state.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

if TYPE_CHECKING:  # uvicorn types its auto choice as a bare asyncio.Protocol; both choices share this API
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as AutoHTTPProtocol
else:
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

from mockverse.cache import LRU
from mockverse.config import ConfigError, RealismConfig, SimulationConfig
from mockverse.ids import unit_draw
from mockverse.reality.continuum import parse_realism, realism_delay
from mockverse.reality.ratio import CompiledPattern, SettingsError, compile_pattern

log = logging.getLogger("mockverse")
TRANSPORT = "mockverse.transport"
KEY_HEADER = b"x-mockverse-request-key"
DELAY_HEADER = b"x-mockverse-delay"
NEVER = ("/api/v1", "/__mockverse", "/__admin")   # the admin APIs and the dashboard: never delayed, failed or stubbed
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_MALFORMED = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
              b"5\r\n{\"id\"\r\nzz\r\n")   # one good chunk, then a chunk-size line that is not hexadecimal


class SimulatedFault(ConnectionResetError):
    """Raised where no socket is at hand (an app embedded in-process): the client sees an error."""


@dataclass(frozen=True)
class RouteRule:
    """One ``simulation.routes`` entry, checked: method (None: any), path pattern, delay model, fault."""

    method: str | None
    pattern: CompiledPattern
    delay: tuple | None
    fault: str | None
    rate: float


def parse_rules(config: SimulationConfig) -> list[RouteRule]:
    """Check ``simulation.routes``; raises ConfigError naming the field (``simulation.routes[0].delay``)."""
    rules = []
    for index, route in enumerate(config.routes):
        where = f"simulation.routes[{index}]"
        verb, _, path = route.pattern.strip().rpartition(" ")
        method = verb.strip().upper() or None
        if method is not None and method not in _METHODS and method != "*":
            raise ConfigError(f"{where}.pattern", f"'{method}' is not an HTTP method; use one of {', '.join(_METHODS)} "
                              "or leave it out, e.g. 'GET /orders/*'")
        try:
            compiled = compile_pattern(path)
        except SettingsError as exc:
            raise ConfigError(f"{where}.pattern", exc.message) from None
        if path.startswith(NEVER):
            raise ConfigError(f"{where}.pattern", "delays and faults never apply to /api/v1, /__mockverse or /__admin")
        try:
            delay = parse_realism(RealismConfig(latency=route.delay)).latency if route.delay is not None else None
        except ConfigError as exc:
            raise ConfigError(exc.field.replace("reality_continuum.realism.latency", f"{where}.delay"),
                              exc.message.replace("'recorded', ", "")) from None
        if delay is not None and delay[0] == "recorded":
            raise ConfigError(
                f"{where}.delay", "use {fixed: 200ms}, {normal: {mean, stddev}} or {lognormal: {median, sigma}}"
            )
        fault = route.fault
        rules.append(RouteRule(None if method == "*" else method, compiled, delay,
                               fault.type if fault else None, fault.rate if fault else 0.0))
    return rules


def match_rule(rules: list[RouteRule], method: str, path: str) -> RouteRule | None:
    """The most specific rule for the request (a rule naming the method beats one that does not)."""
    best, best_key = None, None
    for rule in rules:
        if rule.method not in (None, method) or not rule.pattern.matches(path):
            continue
        key = (rule.pattern.specificity, rule.method is not None)
        if best_key is None or key > best_key:
            best, best_key = rule, key
    return best


def format_ms(seconds: float) -> str:
    """A delay as the header writes it: milliseconds, ``200`` or ``87.312``."""
    return f"{seconds * 1000:.3f}".rstrip("0").rstrip(".") or "0"


class Simulation:
    """Pure ASGI middleware, outside the request log: delays, then fails or serves, matched requests."""

    def __init__(self, app: Any, rules: list[RouteRule], seed_of: Any) -> None:
        self.app = app
        self.rules = rules
        self.seed_of = seed_of        # workspace name -> its seed
        self.seen: LRU = LRU(100_000)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        rule = None
        if scope["type"] == "http" and not path.startswith(NEVER):
            rule = match_rule(self.rules, scope["method"], path)
        if rule is None:
            await self.app(scope, receive, send)
            return
        workspace, key = "default", None
        for name, value in scope["headers"]:
            if name == b"x-mockverse-workspace":
                workspace = value.decode("latin-1")
            elif name == KEY_HEADER:
                key = value.decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        if "workspace=" in query:
            workspace = (parse_qs(query).get("workspace") or [workspace])[0]
        request = f"{scope['method']} {path}?{query}"
        if key is None:   # how many times this process saw the request: its digest, not a 20 KB path, is kept
            seen = hashlib.blake2b(f"{workspace}\n{request}".encode(), digest_size=16).digest()
            count = self.seen.get(seen, 0) + 1
            self.seen.put(seen, count)
            key = str(count)
        seed = self.seed_of(workspace)
        delay = realism_delay(rule.delay, seed, f"{request}#{key}", None)
        fault = rule.fault if unit_draw(seed, f"{request}#{key}", "fault") < rule.rate else None
        if delay:
            await asyncio.sleep(delay)
        if fault is not None:
            log.info("%s -> simulated fault %s (request key %s)", request[:300], fault, key[:80])
            await break_connection(fault, scope, receive)
            return
        stamp = format_ms(delay or 0.0).encode()

        async def stamped(message: dict) -> None:
            if message["type"] == "http.response.start" and delay is not None:
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (DELAY_HEADER, stamp)]
            await send(message)

        await self.app(scope, receive, stamped)


async def break_connection(fault: str, scope: dict, receive: Any, garbage: bytes = b"") -> None:
    """Break the connection as ``fault`` says (``connection_reset``, ``empty_response``, ``malformed_chunk``,
    ``random_data``: ``garbage`` then close), then wait until the server has seen it go."""
    transport = (scope.get("state") or {}).get(TRANSPORT)
    if transport is None:
        raise SimulatedFault(f"simulated {fault} (no socket to break: the app is not served by mockverse serve)")
    if fault == "malformed_chunk":
        transport.write(_MALFORMED)
        transport.close()
    elif fault == "connection_reset":
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        if fault == "random_data":
            transport.write(garbage)
        transport.close()
    try:
        async with asyncio.timeout(5):
            while (await receive())["type"] != "http.disconnect":
                pass
    except TimeoutError:
        pass


class FaultableHTTP(AutoHTTPProtocol):
    """uvicorn's HTTP protocol, with the connection's transport in every request's scope state
    (what :class:`Simulation` breaks a connection with)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # asyncio types a BaseTransport; uvicorn's protocols take a Transport, as here
        super().connection_made(transport)
        self.app_state = {**self.app_state, TRANSPORT: transport}

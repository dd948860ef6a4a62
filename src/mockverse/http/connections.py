"""Connection limits uvicorn does not have: a deadline for a request's head, an idle deadline
for a connection that never sends anything, and a cap on open connections.

uvicorn closes a keep-alive connection ``timeout_keep_alive`` after its last response, but a
connection that sends nothing, or a head one byte at a time, is kept forever; enough of them
use up the process's file descriptors and the server answers nobody. Here a head must
arrive within ``server.header_timeout`` once it has begun (else ``408`` and close), a fresh
connection that sends nothing is closed after ``server.keep_alive_timeout`` (as an idle
keep-alive one is), and past ``server.max_connections`` a new connection gets ``503`` and is
closed at once, with a log line saying so. The keep-alive timeout is longer than clients'
own (httpx 5 s; most HTTP clients 60 s or less), so a client never reuses a connection the
server is closing under it. The limits reach worker processes through ``LIMITS_ENV``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import time
from dataclasses import asdict, dataclass
from typing import ClassVar

import orjson

from mockverse.http.simulation import FaultableHTTP

log = logging.getLogger("mockverse")
LIMITS_ENV = "MOCKVERSE_CONNECTION_LIMITS"
FD_RESERVE = 64          # descriptors kept for the store, logs, upstream and webhook clients
FD_TARGET = 65_536       # the soft open-file limit asked for at start (up to the hard limit)
_TIMEOUT_408 = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/problem+json\r\nconnection: close\r\n"
                b"content-length: %d\r\n\r\n%s")
_BUSY_503 = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\nretry-after: 1\r\n"
             b"connection: close\r\ncontent-length: %d\r\n\r\n%s")


@dataclass(frozen=True)
class ConnectionLimits:
    """The limits every server process applies to its connections."""

    header_timeout: float = 10.0
    keep_alive_timeout: float = 75.0
    max_connections: int = 4096

    def to_env(self) -> str:
        return orjson.dumps(asdict(self)).decode()

    @classmethod
    def from_env(cls) -> ConnectionLimits:
        raw = os.environ.get(LIMITS_ENV)
        return cls(**orjson.loads(raw)) if raw else cls()


def raise_fd_limit(target: int = FD_TARGET) -> int:
    """Raise the soft open-file limit toward ``target`` as far as the hard limit allows (a
    1,024 soft limit is common and a few hundred slow clients would use it up); the limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = target if hard == resource.RLIM_INFINITY else min(target, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the open-file limit from %d to %d: %s", soft, wanted, exc)
            return soft
        log.info("open-file limit raised from %d to %d", soft, wanted)
        return wanted
    return soft


def fitting_cap(max_connections: int, listeners: int) -> int:
    """``max_connections`` lowered, when it must be, so every listener's cap fits the open-file limit."""
    fd_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if fd_limit == resource.RLIM_INFINITY:
        return max_connections
    fits = max(1, (fd_limit - FD_RESERVE) // max(1, listeners))
    if fits < max_connections:
        log.warning("server.max_connections lowered from %d to %d per listener to fit the open-file limit (%d)",
                    max_connections, fits, fd_limit)
        return fits
    return max_connections


class CapLog:
    """One log line when a connection cap is first hit, then at most one every ``every`` seconds."""

    def __init__(self, what: str, every: float = 10.0) -> None:
        self.what, self.every = what, every
        self.last = -every
        self.refused = 0

    def refused_one(self, cap: int) -> None:
        self.refused += 1
        now = time.monotonic()
        if now - self.last >= self.every:
            log.warning("connection cap reached: %d open %s connections (server.max_connections); refused %d new "
                        "connection(s) with 503 since the last report", cap, self.what, self.refused)
            self.last, self.refused = now, 0


def problem_bytes(status: int, title: str, detail: str, field: str) -> bytes:
    """A problem JSON body, for answers written straight to a socket."""
    return orjson.dumps({"type": f"urn:mockverse:problem:{title.lower().replace(' ', '-')}", "title": title,
                         "status": status, "detail": detail, "field": field})


class GuardedHTTP(FaultableHTTP):
    """uvicorn's HTTP protocol with the head deadline, the idle deadline of a fresh connection and
    the connection cap."""

    limits: ClassVar[ConnectionLimits | None] = None
    cap_log: ClassVar[CapLog] = CapLog("HTTP")

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # asyncio types a BaseTransport; uvicorn's protocols take a Transport, as here
        limits = GuardedHTTP.limits = GuardedHTTP.limits or ConnectionLimits.from_env()
        self.header_timeout = limits.header_timeout
        self.refused = len(self.connections) >= limits.max_connections
        self.head_deadline: asyncio.TimerHandle | None = None
        self.idle_deadline: asyncio.TimerHandle | None = None
        if self.refused:
            self.cap_log.refused_one(limits.max_connections)
            body = problem_bytes(503, "Too many connections", f"the server has {limits.max_connections} open "
                                 "connections (server.max_connections); retry shortly", "connection")
            transport.write(_BUSY_503 % (len(body), body))
            transport.close()
            return
        super().connection_made(transport)
        self.idle_deadline = self.loop.call_later(limits.keep_alive_timeout, self.idle_expired)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.refused:
            return
        self.cancel_deadlines()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.idle_deadline is not None:
            self.idle_deadline.cancel()
            self.idle_deadline = None
        if self.head_deadline is None and self.between_requests():
            self.head_deadline = self.loop.call_later(self.header_timeout, self.head_expired)
        super().data_received(data)
        if self.head_deadline is not None and not self.between_requests():
            self.head_deadline.cancel()
            self.head_deadline = None

    def between_requests(self) -> bool:
        """Whether no request's head has been completely read since the last response."""
        return self.cycle is None or self.cycle.response_complete

    def head_expired(self) -> None:
        self.head_deadline = None
        if self.transport.is_closing() or not self.between_requests():
            return
        timeout = self.header_timeout
        body = problem_bytes(408, "Request timeout", f"the request's head did not arrive within {timeout:g}s "
                             "(server.header_timeout)", "connection")
        self.transport.write(_TIMEOUT_408 % (len(body), body))
        self.transport.close()

    def idle_expired(self) -> None:
        self.idle_deadline = None
        if not self.transport.is_closing() and self.between_requests() and self.head_deadline is None:
            self.transport.close()

    def cancel_deadlines(self) -> None:
        for handle in (self.head_deadline, self.idle_deadline):
            if handle is not None:
                handle.cancel()
        self.head_deadline = self.idle_deadline = None

"""Many requests at once against real servers, cheaply: chains of calls run on threads over a bounded pool of
keep-alive ``http.client`` connections per server. A burst of thousands of writes is about the server's
concurrency, not the client's; this client spends a fraction of the CPU per request of an async httpx client,
so the server under test gets the machine."""

from __future__ import annotations

import http.client
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson


@dataclass(frozen=True)
class Call:
    """One request: the server's base URL, method, path (with query), a JSON body or none, and headers."""

    url: str
    method: str
    path: str
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """A response's status and body."""

    status: int
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self) -> Any:
        return orjson.loads(self.body)


class _Pools:
    """Up to ``size`` keep-alive connections per server, each used by one call at a time."""

    def __init__(self, size: int, timeout: float) -> None:
        self.size, self.timeout = size, timeout
        self.idle: dict[str, queue.Queue[http.client.HTTPConnection]] = {}
        self.lock = threading.Lock()

    def _pool(self, url: str) -> queue.Queue[http.client.HTTPConnection]:
        with self.lock:
            if url not in self.idle:
                parts = urlsplit(url)
                self.idle[url] = queue.Queue()
                for _ in range(self.size):
                    self.idle[url].put(http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port,
                                                                  timeout=self.timeout))
            return self.idle[url]

    def send(self, call: Call) -> Reply:
        """The call over a connection of its server's pool (waiting for a free one)."""
        pool = self._pool(call.url)
        connection = pool.get()
        try:
            body = None if call.json is None else orjson.dumps(call.json)
            headers = {"content-type": "application/json", **call.headers} if body is not None else call.headers
            connection.request(call.method, call.path, body=body, headers=headers)
            response = connection.getresponse()
            return Reply(response.status, response.read())
        finally:
            pool.put(connection)

    def close(self) -> None:
        for pool in self.idle.values():
            while not pool.empty():
                pool.get().close()


def run_chains(chains: Sequence[Sequence[Call]], connections: int, timeout: float = 60) -> list[list[Reply]]:
    """Each chain's calls one after another, the chains at the same time (at most ``connections`` calls per
    server in flight); the replies of each chain in order. A thread per chain, or per connection when every
    chain is a single call."""
    pools = _Pools(connections, timeout)
    servers = len({call.url for chain in chains for call in chain})
    single = all(len(chain) <= 1 for chain in chains)
    workers = min(len(chains), connections * servers) if single else len(chains)
    try:
        with ThreadPoolExecutor(max_workers=max(workers, 1)) as threads:
            return list(threads.map(lambda chain: [pools.send(call) for call in chain], chains))
    finally:
        pools.close()

"""Waiting for a busy store without stalling the event loop.

A SQLite write that finds another connection holding the write lock gives up after a short
wait (``StoreBusy``) instead of blocking the loop. This middleware then runs the request
again after an asynchronous pause, replaying the body it already read, as long as the
request has committed nothing (so trying again cannot apply anything twice) and the budget
lasts; past it the client gets the 503 with ``Retry-After`` the store error maps to.
Reads and other clients are served meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from mockverse.store import ACTIVITY, Activity

PAUSES = (0.02, 0.05, 0.1, 0.2, 0.25)  # between tries (the last repeats)


class StoreWait:
    """Pure ASGI middleware: retries a request whose store write found the lock taken."""

    def __init__(self, app: Any, budget: float) -> None:
        """``budget``: seconds a request may spend retrying (``server.store_busy_timeout``); then the 503."""
        self.app = app
        self.budget = budget

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received: list[dict] = []
        deadline = time.monotonic() + self.budget
        tries = 0
        while True:
            activity = Activity()
            token = ACTIVITY.set(activity)
            attempt = _Attempt(receive, send, received, activity, retry_allowed=time.monotonic() < deadline)
            try:
                await self.app(scope, attempt.receive, attempt.send)
            finally:
                activity.live = False
                ACTIVITY.reset(token)
            if not attempt.swallowed:
                return
            await asyncio.sleep(PAUSES[min(tries, len(PAUSES) - 1)])
            tries += 1


class _Attempt:
    """One run of the request: replays the body read so far, holds back a response start until it
    knows whether this is a busy-store 503 it may swallow and try again."""

    def __init__(self, receive: Any, send: Any, received: list[dict], activity: Activity, retry_allowed: bool) -> None:
        self.upstream_receive, self.upstream_send = receive, send
        self.received, self.replay = received, list(received)
        self.activity, self.retry_allowed = activity, retry_allowed
        self.start: dict | None = None
        self.swallowed = False

    async def receive(self) -> dict:
        if self.replay:
            return self.replay.pop(0)
        message = await self.upstream_receive()
        if message["type"] == "http.request":
            self.received.append(message)
        return message

    async def send(self, message: dict) -> None:
        if self.swallowed:
            return
        if message["type"] == "http.response.start" and message["status"] == 503:
            self.start = message   # held until we know whether it is a busy store we may try again
            return
        if self.start is not None:
            if self.retry_allowed and self.activity.busy and self.activity.commits == 0:
                self.swallowed = True
                return
            start, self.start = self.start, None
            await self.upstream_send(start)
        await self.upstream_send(message)

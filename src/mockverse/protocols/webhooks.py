"""Webhooks: world events POSTed to the configured URLs, signed, retried and recorded.

Events are the world's occurrences (:mod:`mockverse.world.occurrences`): a lifecycle set over
the API, an entity created over the API, and, when the virtual clock moves, what happened to
every *watched* persona. A persona is watched once a user set it up (set its lifecycle or
metadata, created it or created an entity under it) or the config names its lifecycle.

Each event has a deterministic id (blake2b of workspace, type, entity and virtual moment) that
is claimed once in the store, so a repeated clock move, two workers or two instances never
deliver it twice. It is claimed only once its deliveries exist: until then it is *in flight*, a
record another process finishes if its publisher stops. Deliveries are store log entries (kind
``webhook``) with every attempt; the queue of pending ones is a store setting whose items are
leased atomically by one dispatcher.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import secrets
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from mockverse.config import ConfigError, WebhookConfig
from mockverse.problems import did_you_mean
from mockverse.store import StoreUnavailable
from mockverse.timeutil import format_rfc3339, parse_rfc3339
from mockverse.world.engine import ConsistencyEngine
from mockverse.world.occurrences import PAYMENT, Occurrence, Occurrences, Render
from mockverse.world.records import RecordType, ensure_record_type, record

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("mockverse.webhooks")

KIND = "webhook"                    # the store log of deliveries
QUEUE = "webhooks:pending"          # setting: {delivery id: {"due", "sub", "lease", "until"}}
WATCHED = "webhooks:watched"        # setting: {persona ref: 1}
CLAIMED = "webhooks:event:"         # setting prefix: one per event id ever published
PUBLISHING = "webhooks:publishing"  # setting: {event id: the event, "owner", "until"} while it is in flight
HOLD = 60.0                         # seconds before another process may finish an event left in flight
RECORD, EDGE = "webhook", "has_webhooks"
STATUSES = ("pending", "delivered", "failed")


def sign(secret: str, body: bytes) -> str:
    """The ``X-Mockverse-Signature`` value: ``sha256=`` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def event_id(workspace: str, type: str, key: str, at: str) -> str:
    """The id of one event: the same occurrence always gets the same id, in every process."""
    digest = hashlib.blake2b("\x1f".join((workspace, type, key, at)).encode(), digest_size=16).hexdigest()
    return f"evt_{digest}"


def _unsigned(secret_env: str | None) -> str:
    """Why a delivery goes out without a signature: no secret configured, or its variable unset."""
    return f"unsigned: {'no secret_env configured' if not secret_env else secret_env + ' is not set'}"


def _wall(ts: float) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class WallClock:
    """The dispatcher's wall time: retry gaps, leases and in-flight holds are measured on it.
    Tests hand in a clock they move by hand, so a retry gap is exact and nothing sleeps."""

    def time(self) -> float:
        return time.time()

    async def wait(self, event: asyncio.Event, until: float) -> None:
        """Return once ``event`` is set or this clock reads ``until``."""
        try:
            await asyncio.wait_for(event.wait(), timeout=max(0.005, until - self.time()))
        except TimeoutError:
            pass


class Webhooks:
    """Turns world events into deliveries and delivers them (one dispatcher task per process)."""

    def __init__(self, engine: ConsistencyEngine, render: Render, subscriptions: list[WebhookConfig],
                 poll_seconds: float = 0.5, clock: WallClock | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.engine, self.subs = engine, list(subscriptions)
        self.occurrences = Occurrences(engine, render, lambda type: bool(self.wanted(type)))
        self.poll = poll_seconds
        self.clock = clock or WallClock()
        self.transport = transport    # None: real HTTP; tests may hand in an in-process receiver
        self.secrets = [(os.environ.get(s.secret_env) or None) if s.secret_env else None for s in self.subs]
        self.worker = secrets.token_hex(6)
        self.busy: set[int] = set()
        self.tasks: set[asyncio.Task] = set()
        self._task: asyncio.Task | None = None
        self._claiming: asyncio.Future | None = None
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.client: httpx.AsyncClient | None = None
        self.record_type: RecordType | None = None
        if not self.subs:
            return
        self._check_events()
        personas = engine.personas
        self.record_type = ensure_record_type(engine.model, RECORD, EDGE, personas.type if personas else None)
        if self.record_type is None:
            log.warning("webhook deliveries are not linked in the graph: the world has no persona type, "
                        "or a '%s' entity type of its own", RECORD)
        for i, sub in enumerate(self.subs):
            if sub.secret_env and self.secrets[i] is None:
                log.warning("webhooks[%d] (%s): %s is not set, so its deliveries go unsigned", i, sub.url,
                            sub.secret_env)
        engine.events.subscribe(self.on_event)

    def _check_events(self) -> None:
        for i, sub in enumerate(self.subs):
            for j, name in enumerate(sub.events):
                kind = name.removesuffix(".created")
                if kind != name and kind not in self.engine.model.types:
                    hint = did_you_mean(kind, self.engine.model.types, "; did you mean '{}.created'?")
                    raise ConfigError(f"webhooks.{i}.events.{j}", f"'{kind}' is not an entity type of this world"
                                      f"{hint} Types: {', '.join(sorted(self.engine.model.types))}")

    def wanted(self, type: str) -> list[int]:
        return [i for i, sub in enumerate(self.subs) if type in sub.events]

    def event_types(self) -> list[str]:
        return sorted({e for sub in self.subs for e in sub.events})

    # -- events of the world -------------------------------------------------------------------
    def on_event(self, event: dict) -> None:
        """The engine's listener: never lets a webhook problem fail the request that caused it."""
        try:
            self._handle(event)
        except StoreUnavailable:
            log.warning("webhook event %s in workspace %s not recorded: the store is unavailable",
                        event.get("type"), event.get("workspace"))
        except Exception:
            log.exception("webhook event %s in workspace %s not recorded", event.get("type"), event.get("workspace"))

    def _handle(self, event: dict) -> None:
        workspace, kind = event["workspace"], event["type"]
        if kind == "clock.moved":
            before, after = parse_rfc3339(event["before"]), parse_rfc3339(event["after"])
            found = self.occurrences.clock_moved(workspace, self.watched(workspace), before, after)
            self._publish_all(workspace, found)
        elif kind == "persona.lifecycle_changed":
            self.watch(workspace, event["ref"])
            self._publish_all(workspace, self.occurrences.lifecycle_set(workspace, event["ref"], event.get("step")))
        elif kind == "persona.metadata_changed":
            self.watch(workspace, event["ref"])
        elif kind.endswith(".created"):
            if isinstance(self.engine.model.types.get(kind.removesuffix(".created")), RecordType):
                return  # a protocol's own message record (a TCP message): not a world event
            if event.get("persona"):
                self.watch(workspace, event["persona"])
            self._created(workspace, event)

    def watch(self, workspace: str, ref: str) -> None:
        """Add a persona to the workspace's watched set (read first: a known one costs no write)."""
        if ref in (self.engine.store.get_setting(workspace, WATCHED) or {}):
            return
        self.engine.store.update_setting(workspace, WATCHED, lambda old: {**(old or {}), ref: 1})

    def watched(self, workspace: str) -> list[str]:
        personas = self.engine.personas
        configured = list(personas.configured) if personas else []
        return sorted({*configured, *(self.engine.store.get_setting(workspace, WATCHED) or {})})

    def _created(self, workspace: str, event: dict) -> None:
        kind, _, raw = event["ref"].partition(":")
        wanted = {f"{kind}.created"} | ({"payment.failed", "payment.succeeded"} if kind == PAYMENT else set())
        if not any(self.wanted(t) for t in wanted):
            return
        view = self.engine.view(workspace)
        entity = self.engine.model.types[kind]
        id = entity.parse_id(raw)
        at = parse_rfc3339(event["at"])
        persona = event.get("persona") or event["ref"]
        self._publish_all(workspace, self.occurrences.appeared(view, entity, id, at, persona))


    # -- publishing ------------------------------------------------------------------------------
    def _publish_all(self, workspace: str, occurrences: list[Occurrence]) -> None:
        published = [self.publish(workspace, o) for o in occurrences if self.wanted(o.type)]
        if any(published):
            self.notify()

    def publish(self, workspace: str, occ: Occurrence) -> list[int]:
        """Render the event, own it while in flight, queue one delivery per subscription, then claim
        its id for ever; the delivery ids. Nothing is claimed before its deliveries exist."""
        store = self.engine.store
        at = format_rfc3339(occ.at)
        eid = event_id(workspace, occ.type, occ.key, at)
        if store.get_setting(workspace, CLAIMED + eid) is not None:
            return []
        payload = {"id": eid, "type": occ.type, "workspace": workspace, "occurred_at": at, "data": occ.data()}
        event = {"type": occ.type, "at": at, "persona": occ.persona, "body": orjson.dumps(payload).decode()}
        owned = self._own(workspace, eid, event)
        return [] if owned is None else self._fan_out(workspace, eid, owned, {})

    def _own(self, workspace: str, eid: str, event: dict | None) -> dict | None:
        """Make this process the publisher of ``eid``: a new event (``event``), or with None one in
        flight whose publisher stopped ``HOLD`` seconds ago. The in-flight record now owned, or None."""
        now = self.clock.time()
        got: list[dict | None] = []

        def change(flight: Any) -> Any:
            flight = dict(flight or {})
            old = flight.get(eid)
            mine = None
            if event is not None and old is None:
                mine = {**event, "owner": self.worker, "until": now + HOLD}
            elif event is None and old is not None and old["until"] <= now:
                mine = {**old, "owner": self.worker, "until": now + HOLD}
            got.append(mine)
            if mine is not None:
                flight[eid] = mine
            return flight
        self.engine.store.update_setting(workspace, PUBLISHING, change)
        return got[-1] if got else None

    def _fan_out(self, workspace: str, eid: str, event: dict, made: dict[int, int]) -> list[int]:
        """Queue the owned event's deliveries (``made``: subscription -> one a stopped publisher
        appended), claim the event id, and drop the in-flight record; the new delivery ids."""
        store = self.engine.store
        ids: list[int] = []
        now = self.clock.time()
        if store.get_setting(workspace, CLAIMED + eid) is None:   # else published in the meantime
            for i in self.wanted(event["type"]):
                if i in made:
                    self._enqueue(workspace, made[i], i, now, replace=False)
                    continue
                sub = self.subs[i]
                delivery = {
                    "event_id": eid,
                    "event": event["type"],
                    "workspace": workspace,
                    "url": sub.url,
                    "subscription": i,
                    "persona": event["persona"],
                    "occurred_at": event["at"],
                    "status": "pending",
                    "signed": self.secrets[i] is not None,
                    "signature": "X-Mockverse-Signature" if self.secrets[i] is not None else _unsigned(sub.secret_env),
                    "sequence": 1,
                    "attempts": [],
                    "created_at": _wall(now),
                    "next_attempt_at": _wall(now),
                    "body": event["body"],
                }
                seq = store.append(workspace, KIND, eid, delivery)
                if self.record_type is not None:
                    record(self.engine, workspace, RECORD, event["persona"],
                           {"delivery_id": seq, "event_id": eid, "event": event["type"], "url": sub.url,
                            "occurred_at": event["at"]})
                self._enqueue(workspace, seq, i, now)
                ids.append(seq)
            store.put_setting(workspace, CLAIMED + eid, {"type": event["type"], "at": event["at"],
                                                         "deliveries": sorted([*ids, *made.values()])})
        store.update_setting(workspace, PUBLISHING, lambda flight: {
            k: v for k, v in (flight or {}).items() if k != eid or v.get("owner") != self.worker})
        return ids

    def _finish_publishing(self) -> None:
        """Finish the events whose publisher stopped while they were in flight (a crash, a store
        outage): their deliveries are queued once, from the in-flight record."""
        store = self.engine.store
        now = self.clock.time()
        for workspace in store.workspaces():
            for eid, old in (store.get_setting(workspace, PUBLISHING) or {}).items():
                if old["until"] > now or (event := self._own(workspace, eid, None)) is None:
                    continue
                made = {v.get("subscription"): seq for seq, _, v in store.entries(workspace, KIND, eid)}
                if self._fan_out(workspace, eid, event, made) or made:
                    self.notify()

    def _enqueue(self, workspace: str, seq: int, sub: int, due: float, replace: bool = True) -> None:
        """Queue a delivery; with ``replace=False`` only if absent, so another worker's lease stands."""
        item, key = {"due": due, "sub": sub, "lease": None, "until": 0}, str(seq)
        self.engine.store.update_setting(workspace, QUEUE, lambda q: q if not replace and q and key in q
                                         else {**(q or {}), key: item})

    def notify(self) -> None:
        """Wake this process's dispatcher (callable from any thread)."""
        if self._loop is not None and self._wake is not None:
            try:
                self._loop.call_soon_threadsafe(self._wake.set)
            except RuntimeError:
                pass  # the loop has closed: the server is stopping, the queue resumes on the next start

    # -- deliveries --------------------------------------------------------------------------------
    def deliveries(self, workspace: str) -> list[dict]:
        return [self.public(seq, value) for seq, _, value in self.engine.store.entries(workspace, KIND)]

    def delivery(self, workspace: str, id: int) -> dict | None:
        found = self.engine.store.entry(workspace, KIND, id)
        return None if found is None else self.public(found[0], found[2])

    @staticmethod
    def public(seq: int, value: dict) -> dict:
        out = {"id": seq, **{k: v for k, v in value.items() if k != "body"}}
        out["payload"] = orjson.loads(value["body"])
        return out

    def replay(self, workspace: str, id: int) -> dict | None:
        """Send a finished delivery again: a new attempt sequence with the same body and event id.
        Raises ValueError (with the reason) for one still pending or whose URL is no longer configured."""
        store = self.engine.store
        found = store.entry(workspace, KIND, id)
        if found is None:
            return None
        value = found[2]
        if value["status"] == "pending":
            raise ValueError("the delivery is still pending: it can be replayed once it is delivered or failed")
        sub = self._subscription(value)
        if sub is None:
            raise ValueError(f"{value['url']} is no longer a configured webhook URL")
        value = {**value, "status": "pending", "sequence": value["sequence"] + 1, "subscription": sub,
                 "next_attempt_at": _wall(self.clock.time())}
        store.update_entry(workspace, KIND, id, value)
        self._enqueue(workspace, id, sub, self.clock.time())
        self.notify()
        return self.public(id, value)

    def _subscription(self, value: dict) -> int | None:
        """The configured subscription a delivery goes to (by index, else by URL); None if gone."""
        i = value.get("subscription")
        if isinstance(i, int) and i < len(self.subs) and self.subs[i].url == value["url"]:
            return i
        return next((j for j, s in enumerate(self.subs) if s.url == value["url"]), None)

    # -- the dispatcher ----------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the dispatcher when subscriptions are configured (httpx is imported only then: a server
        without webhooks does not load it)."""
        if not self.subs:
            return
        import httpx

        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self.client = httpx.AsyncClient(follow_redirects=False, trust_env=False, transport=self.transport)
        self._task = asyncio.create_task(self._run(self._wake, self.client))
        log.info("webhooks: %d subscription(s) (%s); pending deliveries resume", len(self.subs),
                 ", ".join(s.url for s in self.subs))

    async def aclose(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(self._task, *self.tasks, return_exceptions=True)
        if self._claiming is not None:   # a lease pass still running in its thread: let it end
            await asyncio.gather(self._claiming, return_exceptions=True)
        try:  # leases no task will settle go back, so the next start (or another worker) resumes at once
            await asyncio.to_thread(self._release_leases)
        except StoreUnavailable:
            log.warning("webhooks: leases not released, the store is unavailable; they expire instead")
        if self.client is not None:
            await self.client.aclose()

    async def _run(self, wake: asyncio.Event, client: httpx.AsyncClient) -> None:
        """The dispatcher: finish events left in flight, lease due deliveries, deliver each, then
        sleep until the next is due or ``wake`` is set."""
        try:
            await asyncio.to_thread(self._requeue_unqueued)
        except Exception:
            log.exception("webhooks: could not scan for pending deliveries")
        finish_at = 0.0
        while True:
            wake.clear()
            try:
                if self.clock.time() >= finish_at:
                    await asyncio.to_thread(self._finish_publishing)
                    finish_at = self.clock.time() + HOLD / 6
                self._claiming = asyncio.ensure_future(asyncio.to_thread(self._claim_due))
                claimed, wake_at = await asyncio.shield(self._claiming)
                for workspace, seq, sub in claimed:
                    self.busy.add(sub)
                    task = asyncio.create_task(self._deliver(client, workspace, seq, sub))
                    self.tasks.add(task)
                    task.add_done_callback(self.tasks.discard)
            except StoreUnavailable:
                wake_at = self.clock.time() + 1.0
            except Exception:
                log.exception("webhooks: dispatcher error")
                wake_at = self.clock.time() + 1.0
            await self.clock.wait(wake, wake_at)

    def _requeue_unqueued(self) -> None:
        """At start: a pending delivery missing from the queue (a crash between the two writes) is queued."""
        store = self.engine.store
        for workspace in store.workspaces():
            queue = store.get_setting(workspace, QUEUE) or {}
            for seq, _, value in store.entries(workspace, KIND):
                if value.get("status") == "pending" and str(seq) not in queue:
                    sub = self._subscription(value)   # only if absent: another worker may have queued it since
                    self._enqueue(workspace, seq, sub if sub is not None else -1, self.clock.time(), replace=False)

    def _release_leases(self) -> None:
        """Hand back the queue items this process leased (it is stopping)."""
        store = self.engine.store

        def change(queue: Any) -> Any:
            return {k: {**v, "lease": None, "until": 0} if v.get("lease") == self.worker else v
                    for k, v in (queue or {}).items()}
        for workspace in store.workspaces():
            if any(v.get("lease") == self.worker for v in (store.get_setting(workspace, QUEUE) or {}).values()):
                store.update_setting(workspace, QUEUE, change)

    def _claim_due(self) -> tuple[list[tuple[str, int, int]], float]:
        """Lease the due deliveries (at most one per subscription at a time); and when to look again."""
        store = self.engine.store
        now = self.clock.time()
        wake_at = now + self.poll
        claimed: list[tuple[str, int, int]] = []
        taken = set(self.busy)
        for workspace in store.workspaces():
            queue = store.get_setting(workspace, QUEUE)
            if not queue:
                continue
            for seq, item in sorted(queue.items(), key=lambda kv: (kv[1]["due"], int(kv[0]))):
                if item["sub"] in taken:
                    continue
                if item["due"] > now:
                    wake_at = min(wake_at, item["due"])
                    continue
                if item.get("lease") and item["until"] > now:
                    continue
                if self._lease(workspace, seq, now):
                    claimed.append((workspace, int(seq), item["sub"]))
                    taken.add(item["sub"])
        return claimed, wake_at

    def _lease(self, workspace: str, seq: str, now: float) -> bool:
        got: list[bool] = []
        hold = max((s.timeout.total_seconds() for s in self.subs), default=5.0) + 30

        def change(queue: Any) -> Any:
            queue = dict(queue or {})
            item = queue.get(seq)
            free = item is not None and item["due"] <= now and not (item.get("lease") and item["until"] > now)
            got.append(free)
            if free:
                queue[seq] = {**item, "lease": self.worker, "until": now + hold}
            return queue
        self.engine.store.update_setting(workspace, QUEUE, change)
        return bool(got and got[-1])

    def _record_outcome(self, workspace: str, seq: int, value: dict | None, due: float | None) -> None:
        """Write the delivery's new state, then requeue it (``due``) or take it off the queue. Only
        while this process holds its lease: a replay in between queued it afresh, and that stands."""
        if value is not None:
            self.engine.store.update_entry(workspace, KIND, seq, value)

        def change(queue: Any) -> Any:
            queue = dict(queue or {})
            if (queue.get(str(seq)) or {}).get("lease") != self.worker:
                return queue
            if due is None:
                queue.pop(str(seq), None)
            else:
                queue[str(seq)] = {**queue[str(seq)], "due": due, "lease": None, "until": 0}
            return queue
        self.engine.store.update_setting(workspace, QUEUE, change)

    async def _deliver(self, client: httpx.AsyncClient, workspace: str, seq: int, sub: int) -> None:
        try:
            found = await asyncio.to_thread(self.engine.store.entry, workspace, KIND, seq)
            if found is None or found[2].get("status") != "pending":
                await asyncio.to_thread(self._record_outcome, workspace, seq, None, None)
                return
            value = found[2]
            target = self._subscription(value)
            if target is None:
                value = {**value, "status": "failed", "next_attempt_at": None,
                         "error": f"{value['url']} is no longer a configured webhook URL; nothing was sent"}
                await asyncio.to_thread(self._record_outcome, workspace, seq, value, None)
                return
            attempt = await self._attempt(client, value, target, seq)
            value = {**value, "attempts": [*value["attempts"], attempt]}
            retry = self.subs[target].retry
            n = attempt["attempt"]
            due: float | None = None
            if attempt["ok"]:
                value.update(status="delivered", next_attempt_at=None)
            elif n >= retry.max_attempts:
                value.update(status="failed", next_attempt_at=None)
            else:
                delay = min(retry.initial.total_seconds() * retry.factor ** (n - 1), retry.max_delay.total_seconds())
                due = self.clock.time() + delay
                value.update(next_attempt_at=_wall(due))
            await asyncio.to_thread(self._record_outcome, workspace, seq, value, due)
        except asyncio.CancelledError:
            try:  # stopping: release the lease so the next start resumes at once
                self._record_outcome(workspace, seq, None, self.clock.time())
            except Exception:
                pass
            raise
        except Exception:
            log.exception("webhooks: delivery %s in workspace %s failed to be processed", seq, workspace)
        finally:
            self.busy.discard(sub)
            self.notify()

    async def _attempt(self, client: httpx.AsyncClient, value: dict, target: int, seq: int) -> dict:
        """One POST of the delivery's body: its outcome, timed. Only configured URLs are called (httpx is
        imported with the dispatcher, not at start)."""
        import httpx

        sub, secret = self.subs[target], self.secrets[target]
        body = value["body"].encode()
        n = sum(1 for a in value["attempts"] if a.get("sequence") == value["sequence"]) + 1
        headers = {"content-type": "application/json", "user-agent": "mockverse-webhooks",
                   "X-Mockverse-Event": value["event"], "X-Mockverse-Event-Id": value["event_id"],
                   "X-Mockverse-Delivery": str(seq), "X-Mockverse-Attempt": str(n),
                   "X-Mockverse-Workspace": value["workspace"]}
        if secret is not None:
            headers["X-Mockverse-Signature"] = sign(secret, body)
        at, start = _wall(self.clock.time()), time.perf_counter()
        code: int | None = None
        error: str | None = None
        try:
            async with asyncio.timeout(sub.timeout.total_seconds()):
                async with client.stream("POST", sub.url, content=body, headers=headers,
                                         timeout=sub.timeout.total_seconds()) as response:
                    code = response.status_code
        except (httpx.HTTPError, OSError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:300] if str(exc) else type(exc).__name__
        ms = round((time.perf_counter() - start) * 1000, 1)
        ok = code is not None and 200 <= code < 300
        if not ok:
            log.info("webhook delivery %s to %s: attempt %d %s", seq, sub.url, n, code if code is not None else error)
        return {"attempt": n, "sequence": value["sequence"], "at": at, "status_code": code, "error": error,
                "duration_ms": ms, "ok": ok}

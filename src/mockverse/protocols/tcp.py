"""The TCP listener: newline-delimited JSON reads of the world and a live stream of its events.

One JSON object per line in, one per line out; every reply echoes the request's ``id``.
``get`` answers with the body the item route serves over HTTP, ``related`` with the data of
the graph's nodes, ``subscribe`` streams the engine's events as they are emitted. A bad line
gets an error line (the problem JSON HTTP would answer) and the connection goes on. Requests about
a persona and their replies are kept as ``tcp_message`` records under it (see :mod:`mockverse.world.records`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections import deque
from typing import Any

import orjson

from mockverse.problems import Problem
from mockverse.store import StoreUnavailable
from mockverse.world.engine import WORKSPACE_NAME, ConsistencyEngine, WorldView
from mockverse.world.occurrences import Render
from mockverse.world.records import ensure_record_type, record

log = logging.getLogger("mockverse.tcp")

RECORD_TYPE, RECORD_EDGE = "tcp_message", "has_tcp_messages"
LINE_LIMIT = 64 * 1024          # bytes a request line may have; a longer one is an error, skipped to its newline
BACKLOG = 2048                  # connections the kernel queues before accept, as uvicorn's HTTP listener (asyncio: 100,
                                # past which a burst of clients waits out SYN retries of 1 s and more)
QUEUE_SIZE = 1000               # event lines waiting for a slow subscriber; past it the oldest are dropped
RECORD_LIMIT = 16 * 1024        # a sent line longer than this is recorded without its body (its size only)
MAX_PATTERNS = 64
OPS = ["get", "ping", "related", "subscribe", "unsubscribe"]
FIELDS = {"get": ["ref"], "ping": [], "related": ["ref", "type", "relationship", "depth"],
          "subscribe": ["events"], "unsubscribe": ["events"]}   # beside op, id and workspace
_PATTERN = re.compile(r"^(\*|[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*(\.\*)?)$")


def refusal(problem: Problem) -> dict[str, Any]:
    """An error line's object: the problem JSON body HTTP would send for the same mistake."""
    return {"ok": False, "error": problem.body()}


def matches(pattern: str, type: str) -> bool:
    """``*`` matches every event, ``order.*`` every event whose type starts ``order.``, else equality."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return type.startswith(pattern[:-1])
    return pattern == type


def encode(reply: dict[str, Any], data: bytes | None = None) -> bytes:
    """One reply line; ``data`` is spliced in already serialised (the bytes HTTP would send)."""
    raw = orjson.dumps(reply, option=orjson.OPT_NON_STR_KEYS)
    if data is not None:
        raw = raw[:-1] + b',"data":' + data + b"}"
    return raw + b"\n"


class TCPListener:
    """The asyncio server and the one event-bus listener that feeds its subscribed connections."""

    def __init__(self, engine: ConsistencyEngine, render: Render, host: str, port: int, *, reuse_port: bool = False,
                 idle_timeout: float = 300.0, line_timeout: float = 10.0, max_connections: int = 4096) -> None:
        self.engine = engine
        self.idle_timeout, self.line_timeout, self.max_connections = idle_timeout, line_timeout, max_connections
        self.refused, self.refused_at = 0, -10.0
        self.render = render                   # an entity's body exactly as its item route answers it
        self.host, self.port, self.reuse_port = host, port, reuse_port
        self.connections: set[Connection] = set()
        self.subscribed: set[Connection] = set()
        self.server: asyncio.AbstractServer | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: int | None = None
        self.recording = ensure_record_type(engine.model, RECORD_TYPE, RECORD_EDGE) is not None
        engine.events.subscribe(self.on_event)

    async def start(self) -> None:
        self.loop, self.thread = asyncio.get_running_loop(), threading.get_ident()
        try:
            self.server = await asyncio.start_server(
                self.serve, self.host, self.port, reuse_port=self.reuse_port or None, limit=LINE_LIMIT,
                backlog=BACKLOG,
            )
        except OSError as exc:
            log.error("tcp listener cannot bind %s:%d: %s", self.host, self.port, exc.strerror or exc)
            raise
        port = self.server.sockets[0].getsockname()[1]
        log.info("tcp listener on %s:%d", self.host, port)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for connection in list(self.connections):
            connection.abort()
        if self.server is not None:
            await self.server.wait_closed()
        self.server = None

    # -- the event bus ------------------------------------------------------------------------
    def on_event(self, event: dict) -> None:
        """Called by ``engine.events`` in the emitting thread: never blocks, never raises."""
        if not self.subscribed or self.loop is None or self.server is None:
            return
        if threading.get_ident() == self.thread:
            self.dispatch(event)
            return
        try:
            self.loop.call_soon_threadsafe(self.dispatch, event)
        except RuntimeError:   # the loop is closing: nobody is listening any more
            pass

    def dispatch(self, event: dict) -> None:
        raw: bytes | None = None
        for connection in list(self.subscribed):
            subscription = connection.wants(event)
            if subscription is None:
                continue
            if raw is None:
                try:
                    raw = orjson.dumps(event, option=orjson.OPT_NON_STR_KEYS, default=str)
                except TypeError as exc:
                    log.warning("event %s cannot be sent over tcp: %s", event.get("type"), exc)
                    return
            connection.push(raw, subscription)

    # -- connections --------------------------------------------------------------------------
    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self.connections) >= self.max_connections:
            self.refuse(writer)
            return
        connection = Connection(self, reader, writer)
        self.connections.add(connection)
        try:
            await connection.run()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass   # the client went away mid-line or mid-reply: nothing to answer
        except TimeoutError as exc:   # idle, or a line that never ended: say so, then close
            try:
                await connection.send(refusal(Problem(408, "Idle timeout", str(exc), field="connection")))
            except ConnectionError:
                pass
        finally:
            self.connections.discard(connection)
            self.subscribed.discard(connection)
            connection.abort()

    def refuse(self, writer: asyncio.StreamWriter) -> None:
        """Past ``max_connections``: one error line, close, and a log line at most every 10 s."""
        writer.write(encode(refusal(Problem(503, "Too many connections", f"the server has {self.max_connections} "
                                            "open TCP connections (server.max_connections); retry shortly",
                                            field="connection"))))
        writer.close()
        self.refused += 1
        now = asyncio.get_running_loop().time()
        if now - self.refused_at >= 10:
            log.warning("connection cap reached: %d open TCP connections (server.max_connections); refused %d new "
                        "connection(s) since the last report", self.max_connections, self.refused)
            self.refused, self.refused_at = 0, now

    # -- the operations -----------------------------------------------------------------------
    def answer(self, connection: Connection, message: Any) -> tuple[bytes, str | None, str | None]:
        """(reply line, persona the exchange concerns or None, workspace) for one parsed line."""
        if not isinstance(message, dict):
            raise Problem(400, "Not an object", f"each line must be a JSON object, not {_kind(message)}",
                          field="line")
        op = message.get("op")
        if op not in OPS:
            shown = op[:40] if isinstance(op, str) else _kind(op)
            raise Problem(400, "Unknown op" if op is not None else "Missing op",
                          f"'op' must be one of {', '.join(OPS)}" + (f", not {shown!r}" if op is not None else ""),
                          field="op", allowed=OPS)
        allowed = ["id", "op", "workspace", *FIELDS[op]]
        unknown = next((name for name in message if name not in allowed), None)
        if unknown is not None:
            raise Problem(400, "Unknown field", f"{unknown[:60]!r} is not a field of {op}", field=unknown[:60],
                          allowed=sorted(allowed))
        workspace = message.get("workspace", "default")
        if not isinstance(workspace, str) or not WORKSPACE_NAME.match(workspace):
            raise Problem(400, "Invalid workspace", "workspace must be 1-64 letters, digits, '_', '.' or '-', "
                          "starting with a letter or digit", field="workspace")
        head = _head(message)
        if "id" in message and not head:
            raise Problem(400, "Invalid id", "'id' must be a string of at most 200 characters, a number or null",
                          field="id")
        if op == "ping":
            return encode({**head, "ok": True, "op": "pong"}), None, workspace
        if op in ("subscribe", "unsubscribe"):
            patterns = connection.subscribe(workspace, message, head) if op == "subscribe" else \
                connection.unsubscribe(workspace, message)
            return encode({**head, "ok": True, "workspace": workspace, "subscribed": patterns}), None, workspace
        view = self.engine.view(workspace)
        ref = message.get("ref")
        if not isinstance(ref, str) or not ref:
            raise Problem(400, "Missing ref" if ref is None else "Invalid ref",
                          "'ref' must be an entity ref such as 'user:123'", field="ref")
        entity, id, data = view.resolve(ref)
        persona = view.persona(entity, data)
        if op == "get":
            body = self.render(view, entity, id)
            return encode({**head, "ok": True, "ref": f"{entity.name}:{id}"}, orjson.dumps(body)), persona, workspace
        try:
            return self.related(view, message, head, f"{entity.name}:{id}"), persona, workspace
        except Problem as exc:   # still about this persona: answered and recorded
            return encode({**head, **refusal(exc)}), persona, workspace

    def related(self, view: WorldView, message: dict, head: dict, ref: str) -> bytes:
        """The data of the nodes ``GET /api/v1/consistency/graph/{ref}`` reaches with the same
        type, relationship and depth: over a child edge, the body of the children route."""
        types = sorted(self.engine.model.types)
        type_ = message.get("type")
        if type_ is not None and (not isinstance(type_, str) or type_ not in self.engine.model.types):
            raise Problem(400, "Invalid type", "'type' must be an entity type of this world", field="type",
                          allowed=types)
        relationship = message.get("relationship")
        edges = self.engine.model.edges()
        if relationship is not None and (not isinstance(relationship, str) or relationship not in edges):
            raise Problem(400, "Invalid relationship", "'relationship' must be an edge of this world",
                          field="relationship", allowed=edges)
        depth = message.get("depth", 1)
        if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= 5:
            raise Problem(400, "Invalid depth", "'depth' must be an integer from 1 to 5", field="depth")
        graph = view.graph(ref, type_, relationship, depth)
        data = orjson.dumps([node["data"] for node in graph["nodes"]])
        reply = {**head, "ok": True, "ref": ref, "type": type_, "relationship": relationship, "depth": depth,
                 "count": len(graph["nodes"]), "truncated": graph["truncated"]}
        return encode(reply, data)

    def record(self, workspace: str, persona: str, peer: str, message: dict, reply: bytes) -> None:
        """Keep the request and the reply as two ``tcp_message`` records under the persona."""
        if not self.recording:
            return
        op, ref = message.get("op"), message.get("ref")
        sent: dict[str, Any] = {"direction": "sent", "op": op, "ref": ref, "peer": peer, "bytes": len(reply)}
        if len(reply) <= RECORD_LIMIT:
            sent["message"] = orjson.loads(reply)
        else:
            sent["body_omitted"] = True
        try:
            record(self.engine, workspace, RECORD_TYPE, persona,
                   {"direction": "received", "op": op, "ref": ref, "peer": peer, "message": message})
            record(self.engine, workspace, RECORD_TYPE, persona, sent)
        except StoreUnavailable:
            log.warning("tcp message about %s not recorded: the store is unavailable", persona)
        except Exception:
            log.exception("tcp message about %s not recorded", persona)


class Connection:
    """One client: reads lines, answers them in order, and pumps its subscribed events."""

    def __init__(self, listener: TCPListener, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.listener = listener
        self.reader, self.writer = reader, writer
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.subscriptions: dict[str, tuple[set[str], bytes]] = {}   # workspace -> (patterns, event line prefix)
        self.queue: deque[bytes] = deque()
        self.ready = asyncio.Event()
        self.dropped = 0
        self.pump: asyncio.Task | None = None

    async def run(self) -> None:
        """Split the stream into lines, never holding more than two limits' worth of one line."""
        buffer = bytearray()
        skipping = False   # inside a line that was too long: discard up to its newline
        while True:
            chunk = await self.read(mid_line=bool(buffer) or skipping)
            if not chunk:
                return
            buffer += chunk
            start = 0
            while True:
                end = buffer.find(b"\n", start)
                if end < 0:
                    break
                line = bytes(buffer[start:end])
                start = end + 1
                if skipping:
                    skipping = False
                    continue
                await self.handle(line)
            del buffer[:start]
            if len(buffer) > LINE_LIMIT:
                if not skipping:
                    await self.handle(bytes(buffer))   # answered as too long
                    skipping = True
                buffer.clear()

    async def read(self, mid_line: bool) -> bytes:
        """The next chunk. A line once begun must end within ``line_timeout``; a connection with no
        subscription that sends nothing is closed after ``idle_timeout`` (TimeoutError says which)."""
        listener = self.listener
        if mid_line:
            timeout, why = listener.line_timeout, (f"a line was not finished within {listener.line_timeout:g}s "
                                                   "(server.header_timeout)")
        elif not self.subscriptions:
            timeout, why = listener.idle_timeout, (f"no request for {listener.idle_timeout:g}s "
                                                   "(server.tcp_idle_timeout); subscribe to wait for events")
        else:
            return await self.reader.read(LINE_LIMIT)
        try:
            async with asyncio.timeout(timeout):
                return await self.reader.read(LINE_LIMIT)
        except TimeoutError:
            raise TimeoutError(why) from None

    async def handle(self, line: bytes) -> None:
        if len(line) > LINE_LIMIT:
            await self.send(refusal(Problem(413, "Line too long", f"a line may have at most {LINE_LIMIT} bytes; "
                                            "this one was skipped up to its newline", field="line")))
            return
        if not line.strip():
            return   # blank lines (a client's keep-alive, a trailing CRLF) need no answer
        try:
            message = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            await self.send(refusal(Problem(400, "Malformed JSON", f"the line is not JSON: {exc}"[:300], field="line")))
            return
        head = _head(message) if isinstance(message, dict) else {}
        persona = workspace = None
        try:
            reply, persona, workspace = self.listener.answer(self, message)
        except Problem as exc:
            reply = encode({**head, **refusal(exc)})
        except StoreUnavailable:
            reply = encode({**head, **refusal(Problem(503, "Store unavailable", "the state store cannot be reached; "
                                                      "retry once it is back", field="store"))})
        except Exception:
            log.exception("tcp request failed: %s", line[:200])
            reply = encode({**head, **refusal(Problem(500, "Internal error", "the server failed on this request; "
                                                      "the log has the details"))})
        self.writer.write(reply)
        await self.writer.drain()
        if persona is not None and workspace is not None:
            self.listener.record(workspace, persona, self.peer, message, reply)

    async def send(self, reply: dict) -> None:
        self.writer.write(encode(reply))
        await self.writer.drain()

    # -- subscriptions ------------------------------------------------------------------------
    def subscribe(self, workspace: str, message: dict, head: dict) -> list[str]:
        events = message.get("events")
        if not isinstance(events, list) or not events or len(events) > MAX_PATTERNS:
            raise Problem(400, "Invalid events", f"'events' must be a list of 1 to {MAX_PATTERNS} event types, e.g. "
                          "[\"order.created\"], [\"order.*\"] or [\"*\"]", field="events")
        bad = next((e for e in events if not isinstance(e, str) or not _PATTERN.match(e)), None)
        if bad is not None:
            shown = bad[:60] if isinstance(bad, str) else _kind(bad)
            raise Problem(400, "Invalid event type", f"{shown!r} is not an event type: use a name such as "
                          "'order.created', a prefix such as 'order.*', or '*'", field="events")
        patterns = self.subscriptions.get(workspace, (set(), b""))[0] | set(events)
        self.subscriptions[workspace] = (patterns, orjson.dumps(head)[:-1] + b',"event":' if head else b'{"event":')
        self.listener.subscribed.add(self)
        if self.pump is None:
            self.pump = asyncio.get_running_loop().create_task(self.pump_events())
        return sorted(patterns)

    def unsubscribe(self, workspace: str, message: dict) -> list[str]:
        events = message.get("events")
        if events is not None and (not isinstance(events, list) or not all(isinstance(e, str) for e in events)):
            raise Problem(400, "Invalid events", "'events' must be a list of event types, or absent to unsubscribe "
                          "from all", field="events")
        patterns, prefix = self.subscriptions.pop(workspace, (set(), b""))
        patterns = patterns - set(events) if events is not None else set()
        if patterns:
            self.subscriptions[workspace] = (patterns, prefix)
        if not self.subscriptions:
            self.listener.subscribed.discard(self)
        return sorted(patterns)

    def wants(self, event: dict) -> bytes | None:
        """The line prefix of the subscription that takes ``event`` (it echoes the subscribe's id), or None."""
        found = self.subscriptions.get(event.get("workspace", ""))
        if found is None:
            return None
        patterns, prefix = found
        type = str(event.get("type", ""))
        return prefix if any(matches(p, type) for p in patterns) else None

    def push(self, event: bytes, prefix: bytes) -> None:
        """Queue one event line; a full queue loses its oldest line (counted), never waits."""
        if len(self.queue) >= QUEUE_SIZE:
            self.queue.popleft()
            self.dropped += 1
        self.queue.append(prefix + event + b"}\n")
        self.ready.set()

    async def pump_events(self) -> None:
        try:
            while True:
                await self.ready.wait()
                self.ready.clear()
                while self.queue:
                    if self.dropped:
                        dropped, self.dropped = self.dropped, 0
                        self.writer.write(orjson.dumps({"ok": True, "dropped": dropped, "detail": f"{dropped} events "
                                                        "were dropped: this connection read slower than they came"})
                                          + b"\n")
                    self.writer.write(self.queue.popleft())
                    await self.writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            return

    def abort(self) -> None:
        if self.pump is not None:
            self.pump.cancel()
        if not self.writer.is_closing():
            self.writer.close()


def _head(message: dict) -> dict:
    """What a reply echoes: the request's ``id`` when it is a string, a number or null."""
    id = message.get("id")
    if "id" in message and (id is None or isinstance(id, str) and len(id) <= 200
                            or isinstance(id, (int, float)) and not isinstance(id, bool)):
        return {"id": id}
    return {}


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), "a value")

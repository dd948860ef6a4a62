"""The TCP listener: a real `mockverse serve --tcp-port` process, raw sockets as the client."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import threading
import time

import orjson
import pytest

from conftest import ROOT, SHARED, Server, free_port, required_value, run_main
from mockverse.http.app import Settings, create_app
from mockverse.openapi.loader import load_spec


class Client:
    """One newline-delimited JSON connection: send objects or raw bytes, read reply lines."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.lines = self.sock.makefile("rb")

    def send(self, raw: bytes) -> None:
        self.sock.sendall(raw)

    def line(self) -> bytes:
        line = self.lines.readline()
        assert line.endswith(b"\n"), f"connection closed: {line!r}"
        return line

    def ask(self, message: dict) -> dict:
        self.send(orjson.dumps(message) + b"\n")
        return orjson.loads(self.line())

    def close(self) -> None:
        self.lines.close()
        self.sock.close()


LISTENING = re.compile(r"tcp listener on 127\.0\.0\.1:(\d+)")


def listening(log: str) -> int:
    """The port the listener took: started with ``--tcp-port 0``, it logs the one the kernel gave."""
    ports = LISTENING.findall(log)
    assert len(ports) == 1, log
    return int(ports[0])


@pytest.fixture(scope="module")
def tcp(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("tcp"), "--tcp-port", "0")
    server.start()
    server.tcp_port = listening(server.log())
    yield server
    server.stop()


@pytest.fixture
def client(tcp):
    c = Client(tcp.tcp_port)
    yield c
    c.close()


def canonical(value: object) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def test_the_listener_logs_where_it_listens(tcp):
    assert tcp.tcp_port != 0   # the port it bound, not the 0 it was asked for
    c = Client(tcp.tcp_port)
    assert c.ask({"op": "ping"}) == {"ok": True, "op": "pong"}
    c.close()


@pytest.mark.parametrize("ref, path", [("user:123", "/users/123"), ("order:123001", "/orders/123001"),
                                       ("payment:12300101", "/payments/12300101")])
def test_get_answers_the_bytes_http_serves(tcp, client, ref, path):
    http = tcp.client.get(path)
    assert http.status_code == 200
    client.send(orjson.dumps({"op": "get", "ref": ref}) + b"\n")
    line = client.line()
    assert line == b'{"ok":true,"ref":"' + ref.encode() + b'","data":' + http.content + b"}\n"
    assert canonical(orjson.loads(line)["data"]) == canonical(http.json())


def test_get_echoes_the_id_and_reads_another_workspace(tcp, client):
    created = tcp.client.post("/users", json={"first_name": "Ada", "last_name": "Tcp"},
                              headers={"X-Mockverse-Workspace": "tcp-ws"}).json()
    reply = client.ask({"op": "get", "ref": f"user:{created['id']}", "workspace": "tcp-ws", "id": "q-7"})
    http = tcp.client.get(f"/users/{created['id']}", headers={"X-Mockverse-Workspace": "tcp-ws"}).json()
    assert reply == {"id": "q-7", "ok": True, "ref": f"user:{created['id']}", "data": http}
    missing = client.ask({"op": "get", "ref": f"user:{created['id']}", "id": 8})
    assert missing == {"id": 8, "ok": False, "error": {
        "type": "urn:mockverse:problem:not-found", "status": 404, "title": "Not found", "field": "ref",
        "detail": f"user:{created['id']} does not exist in workspace 'default'"}}
    http_problem = tcp.client.get(f"/api/v1/consistency/graph/user:{created['id']}")   # the same problem JSON
    assert http_problem.status_code == 404 and http_problem.json() == missing["error"]


def test_related_equals_the_children_route_and_the_graph(tcp, client):
    reply = client.ask({"op": "related", "ref": "user:123", "type": "order", "id": 1})
    listed = tcp.client.get("/users/123/orders").json()
    graph = tcp.client.get("/api/v1/consistency/graph/user:123", params={"type": "order"}).json()
    assert len(listed) == 44
    assert reply == {"id": 1, "ok": True, "ref": "user:123", "type": "order", "relationship": None, "depth": 1,
                     "count": 44, "truncated": False, "data": listed}
    assert reply["data"] == [node["data"] for node in graph["nodes"]]
    two = client.ask({"op": "related", "ref": "user:123", "type": "payment", "depth": 2})
    graph2 = tcp.client.get("/api/v1/consistency/graph/user:123", params={"type": "payment", "depth": 2}).json()
    assert two["data"] == [node["data"] for node in graph2["nodes"]] and two["count"] == len(graph2["nodes"]) > 0
    items = client.ask({"op": "related", "ref": "order:123002", "relationship": "has_items", "type": "order_item"})
    assert items["data"] == tcp.client.get("/orders/123002/items").json()


def test_subscribe_streams_the_order_created_over_http(tcp, client):
    assert client.ask({"op": "subscribe", "events": ["order.created"], "id": "sub"}) == {
        "id": "sub", "ok": True, "workspace": "default", "subscribed": ["order.created"]}
    device = tcp.client.post("/devices", json={"user_id": 12, "platform": "ios"})    # device.created: not asked for
    elsewhere = tcp.client.post("/orders", json={"user_id": 12}, headers={"X-Mockverse-Workspace": "other"})
    assert device.status_code == 201 and elsewhere.status_code == 201
    created = tcp.client.post("/orders", json={"user_id": 12, "currency": "EUR"})
    assert created.status_code == 201
    line = orjson.loads(client.line())
    order = created.json()
    assert line == {"id": "sub", "event": {"type": "order.created", "workspace": "default",
                                           "ref": f"order:{order['id']}", "entity": order,
                                           "at": "2026-01-01T00:00:00Z", "persona": "user:12"}}
    # the event carries the order's own fields: GET /orders/{id} has the same, plus its embedded relations
    read = tcp.client.get(f"/orders/{order['id']}").json()
    assert {k: read[k] for k in order} == order and set(read) - set(order) == {"user", "items", "payments"}
    assert client.ask({"op": "ping"}) == {"ok": True, "op": "pong"}   # nothing else was queued before it
    # a prefix pattern, then unsubscribing stops the stream
    assert client.ask({"op": "subscribe", "events": ["device.*"]})["subscribed"] == ["device.*", "order.created"]
    tcp.client.post("/devices", json={"user_id": 12, "platform": "android"})
    assert orjson.loads(client.line())["event"]["type"] == "device.created"
    assert client.ask({"op": "unsubscribe", "events": ["device.*"]})["subscribed"] == ["order.created"]
    assert client.ask({"op": "unsubscribe"}) == {"ok": True, "workspace": "default", "subscribed": []}
    tcp.client.post("/orders", json={"user_id": 12})
    assert client.ask({"op": "ping", "id": 2}) == {"id": 2, "ok": True, "op": "pong"}


def test_a_thousand_malformed_lines_leave_the_connection_usable(tcp, client):
    kinds = [b"garbage %d", b"[]", b'{"op": "nope"}', b'{"op": "get", "ref": "user:1"']
    lines = []
    for n in range(996):
        line = kinds[n % 4]
        lines.append(line % n if b"%d" in line else line)
        if n % 249 == 0:
            lines.append(b"x" * 100_000)    # four lines of 100 KB, past the 64 KiB limit
    assert len(lines) == 1000
    sender = threading.Thread(target=client.send, args=(b"\n".join(lines) + b"\n",))
    sender.start()
    replies = [orjson.loads(client.line()) for _ in range(1000)]
    sender.join()
    titles = [r["error"]["title"] for r in replies if r["ok"] is False]
    assert len(titles) == 1000
    assert {t: titles.count(t) for t in set(titles)} == {"Malformed JSON": 498, "Not an object": 249,
                                                           "Unknown op": 249, "Line too long": 4}
    unknown = next(r for r in replies if r["error"]["title"] == "Unknown op")
    assert unknown["error"]["allowed"] == ["get", "ping", "related", "subscribe", "unsubscribe"]
    assert unknown["error"]["field"] == "op"
    reply = client.ask({"op": "get", "ref": "user:123"})
    assert reply["ok"] is True and reply["data"] == tcp.client.get("/users/123").json()
    assert tcp.client.get("/api/v1/health").status_code == 200
    assert "Traceback" not in tcp.log()


@pytest.mark.parametrize("message, field, title", [
    ({"ref": "user:1"}, "op", "Missing op"),
    ({"op": "get"}, "ref", "Missing ref"),
    ({"op": "get", "ref": "user"}, "ref", "Invalid entity ref"),
    ({"op": "get", "ref": "planet:1"}, "ref", "Unknown entity type"),
    ({"op": "get", "ref": "user:1", "workspace": "no spaces"}, "workspace", "Invalid workspace"),
    ({"op": "related", "ref": "user:1", "depth": 9}, "depth", "Invalid depth"),
    ({"op": "related", "ref": "user:1", "type": ["order"]}, "type", "Invalid type"),
    ({"op": "related", "ref": ["user:1"]}, "ref", "Invalid ref"),
    ({"op": "related", "ref": "user:1", "relationship": "has_friends"}, "relationship", "Invalid relationship"),
    ({"op": "subscribe"}, "events", "Invalid events"),
    ({"op": "subscribe", "events": ["order created"]}, "events", "Invalid event type"),
    ({"op": "get", "ref": "user:1", "tpye": "order"}, "tpye", "Unknown field"),
])
def test_bad_requests_name_the_field(client, message, field, title):
    reply = client.ask({**message, "id": "e"})
    assert reply["id"] == "e" and reply["ok"] is False
    assert (reply["error"]["field"], reply["error"]["title"]) == (field, title)
    assert client.ask({"op": "ping"}) == {"ok": True, "op": "pong"}


def test_an_id_that_cannot_be_echoed_is_refused(client):
    reply = client.ask({"op": "ping", "id": {"deep": [1]}})
    assert reply == {"ok": False, "error": {"type": "urn:mockverse:problem:invalid-id", "status": 400,
                                            "title": "Invalid id", "field": "id",
                                            "detail": "'id' must be a string of at most 200 characters, a number "
                                                      "or null"}}
    unknown = client.ask({"op": "ping", "ref": "user:1", "id": 3})
    assert unknown["id"] == 3 and unknown["error"]["allowed"] == ["id", "op", "workspace"]


def test_messages_about_a_persona_are_recorded_in_its_graph(tcp, client):
    before = tcp.client.get("/users/321").content
    request = {"op": "get", "ref": "order:321001", "id": "rec"}
    client.send(orjson.dumps(request) + b"\n")
    reply = orjson.loads(client.line())
    client.ask({"op": "related", "ref": "user:321", "type": "nope"})   # an error about user 321: recorded too
    client.ask({"op": "get", "ref": "user:999999"})                    # no such persona: nothing to record
    client.ask({"op": "ping"})                                         # the records are written before this answer
    graph = tcp.client.get("/api/v1/consistency/graph/user:321", params={"type": "tcp_message"}).json()
    data = [node["data"] for node in graph["nodes"]]
    assert [(d["direction"], d["op"], d["ref"]) for d in data] == [
        ("received", "get", "order:321001"), ("sent", "get", "order:321001"),
        ("received", "related", "user:321"), ("sent", "related", "user:321")]
    assert [node["relationship"] for node in graph["nodes"]] == ["has_tcp_messages"] * 4
    assert data[0]["message"] == request and data[1]["message"] == reply and data[0]["user_id"] == 321
    assert data[3]["message"]["error"]["field"] == "type"
    assert tcp.client.get("/users/321").content == before   # records are not embedded in the user's body


def test_reading_a_persona_over_tcp_does_not_grow_its_graph(tcp, client):
    """Each related is recorded, yet a walk that names no record type never reaches the records:
    the same request gets the same answer, and the HTTP graph of the persona holds no tcp_message."""
    lines = []
    for _ in range(2):
        client.send(b'{"op": "related", "ref": "user:5", "id": 1}\n')
        lines.append(client.line())
    first, second = lines
    assert first == second
    assert orjson.loads(first)["count"] == 43
    graph = tcp.client.get("/api/v1/consistency/graph/user:5").json()
    assert len(graph["nodes"]) == 43 and {n["type"] for n in graph["nodes"]} == {"order", "device"}
    assert orjson.loads(first)["data"] == [n["data"] for n in graph["nodes"]]
    assert [e for e in graph["edges"] if "tcp" in e["to"]] == []
    records = tcp.client.get("/api/v1/consistency/graph/user:5", params={"type": "tcp_message"}).json()["nodes"]
    assert [(n["data"]["direction"], n["data"]["op"]) for n in records] == [
        ("received", "related"),
        ("sent", "related"),
    ] * 2
    over_tcp = client.ask({"op": "related", "ref": "user:5", "relationship": "has_tcp_messages"})
    assert over_tcp["count"] == 4 and [d["id"] for d in over_tcp["data"]] == [n["id"] for n in records]
    assert [n["type"] for n in tcp.client.get("/api/v1/consistency/graph/user:5",
                                              params={"depth": 2}).json()["nodes"]].count("tcp_message") == 0


def test_user_bodies_are_the_same_bytes_without_the_listener(tcp, client, start_server):
    client.ask({"op": "get", "ref": "user:55"})
    client.ask({"op": "ping"})
    plain = start_server()
    for path in ("/users/55", "/users/55/orders", "/orders/55001"):
        assert tcp.client.get(path).content == plain.client.get(path).content


def test_a_client_that_vanishes_mid_stream_does_not_hurt_the_server(tcp):
    quitter = Client(tcp.tcp_port)
    assert quitter.ask({"op": "subscribe", "events": ["*"]})["ok"] is True
    quitter.send(b'{"op": "related", "ref": "user:123", "type": "order"}\n{"op": "get", "ref": "user:1"')
    quitter.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    quitter.close()   # a reset, with a reply on its way and half a request sent
    for _ in range(3):
        assert tcp.client.post("/orders", json={"user_id": 9}).status_code == 201
    other = Client(tcp.tcp_port)
    assert other.ask({"op": "ping"}) == {"ok": True, "op": "pong"}
    other.close()
    assert "Traceback" not in tcp.log() and "Exception" not in tcp.log()


def test_a_taken_port_stops_the_server_with_a_clear_message(tcp, tmp_path):
    clash = Server(tmp_path, "--tcp-port", str(tcp.tcp_port))
    with pytest.raises(RuntimeError, match=f"tcp listener cannot bind 127.0.0.1:{tcp.tcp_port}"):
        clash.start()
    clash.stop()


def test_an_out_of_range_tcp_port_is_refused(tmp_path):
    code, _, err = run_main("serve", "--tcp-port", "70000", "--store", str(tmp_path / "s.db"))
    assert code == 2 and "server.tcp_port" in err


def test_several_workers_share_the_tcp_port(start_server):
    port = free_port()   # not 0: each worker would bind a port of its own
    server = start_server("--workers", "2", "--tcp-port", str(port))
    deadline = time.monotonic() + 30
    while server.log().count(f"tcp listener on 127.0.0.1:{port}") < 2 and time.monotonic() < deadline:
        time.sleep(0.1)   # the second worker may still be starting when the first answers
    for _ in range(4):
        c = Client(port)
        reply = c.ask({"op": "get", "ref": "user:77"})
        c.close()
        assert reply["data"] == server.client.get("/users/77").json()
    assert server.log().count(f"tcp listener on 127.0.0.1:{port}") == 2
    assert "address already in use" not in server.log().lower()


def test_a_slow_subscriber_loses_the_oldest_events_and_is_told(tmp_path, caplog):
    """A burst the subscriber cannot take: the bus never waits, the newest 1,000 events stay queued,
    and the connection is told how many went before it gets them."""
    caplog.set_level(logging.INFO, logger="mockverse.tcp")
    app = create_app(Settings(store=str(tmp_path / "state.db"), tcp_port=0))
    bus = app.state.engine.events

    async def scenario() -> list[dict]:
        async with app.router.lifespan_context(app):
            port = listening(caplog.text)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b'{"op": "subscribe", "events": ["tick"], "id": 5}\n')
            assert orjson.loads(await reader.readline())["subscribed"] == ["tick"]
            for n in range(5000):   # in the loop's own thread: all of it happens before the pump may run
                bus.emit("default", "tick", n=n)
            bus.emit("elsewhere", "tick", n=-1)
            lines = [orjson.loads(await reader.readline()) for _ in range(1001)]
            thread = threading.Thread(target=lambda: [bus.emit("default", "tick", n=n) for n in range(3)])
            thread.start()
            thread.join()
            lines += [orjson.loads(await reader.readline()) for _ in range(3)]
            writer.close()
            return lines

    lines = asyncio.run(scenario())
    assert lines[0] == {"ok": True, "dropped": 4000,
                        "detail": "4000 events were dropped: this connection read slower than they came"}
    assert [line["event"]["n"] for line in lines[1:1001]] == list(range(4000, 5000))
    assert lines[1] == {"id": 5, "event": {"type": "tick", "workspace": "default", "n": 4000}}
    assert [line["event"]["n"] for line in lines[1001:]] == [0, 1, 2]   # emitted from another thread


def test_the_readme_examples_answer(tcp):
    section = (ROOT / "README.md").read_text().split("## TCP", 1)[1].split("\n## ", 1)[0]
    payloads = re.findall(r"printf '(.*?)\\n' \| nc 127\.0\.0\.1 7000", section)
    assert len(payloads) == 4
    for payload in payloads:
        c = Client(tcp.tcp_port)
        reply = c.ask(orjson.loads(payload))
        c.close()
        assert reply["ok"] is True, reply


PETSTORE_TYPES = ["pet", "order", "user"]
XERO_TYPES = ["project", "task", "time_entry"]


@pytest.mark.parametrize("spec, types", [("petstore.yaml", PETSTORE_TYPES), ("xero.yaml", XERO_TYPES)])
def test_get_in_a_world_built_from_a_users_spec(start_server, spec, types):
    server = start_server("--spec", str(SHARED / "specs" / spec), "--tcp-port", "0", "--no-auth-check")
    server.client.headers.update({p.name: required_value(p) for op in load_spec(SHARED / "specs" / spec).operations
                                  for p in op.parameters if p.location == "header" and p.required})   # xero-tenant-id
    port = listening(server.log())
    world = server.client.get("/api/v1/consistency/world").json()
    samples = {t["name"]: t["sample"] for t in world["entity_types"]}
    compared: list[str] = []
    seen: set[str] = set()
    c = Client(port)
    for op in world["served"]:
        entity = op["entity"]
        if (
            op["method"] != "GET"
            or op["kind"] != "item"
            or entity in seen
            or list(op["params"].values())[-1:] != [entity]
        ):
            continue
        seen.add(entity)   # the first item path of a type is the one get answers as
        for sample in samples.get(entity, [])[:1]:
            path = op["path"]
            for param, named in op["params"].items():
                path = path.replace("{" + param + "}", str(sample["id"] if named == entity else sample["parent_id"]))
            http = server.client.get(path)
            assert http.status_code == 200, op
            c.send(orjson.dumps({"op": "get", "ref": f"{entity}:{sample['id']}"}) + b"\n")
            line = c.line()
            assert line == b'{"ok":true,"ref":' + orjson.dumps(f"{entity}:{sample['id']}") + b',"data":' + \
                http.content + b"}\n", op
            compared.append(entity)
    c.close()
    assert compared == types

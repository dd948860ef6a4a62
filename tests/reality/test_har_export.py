"""HAR 1.2 export of recordings (`GET /api/v1/recordings.har`) and of the request journal
(`GET /api/v1/requests.har`): structurally valid, and `mockverse import-har` reads recordings back."""

from __future__ import annotations

from datetime import datetime

import jsonschema

from conftest import run_main
from mockverse.reality.har import HAR_SCHEMA

COMPARED = ("method", "route", "path", "query", "status", "body_kind", "body", "latency_ms", "recorded_at",
            "request_body")


def valid_har(document: dict) -> list[dict]:
    """Check the HAR 1.2 structure; returns the entries."""
    jsonschema.validate(document, HAR_SCHEMA)
    log = document["log"]
    assert log["version"] == "1.2" and log["creator"]["name"] == "mockverse"
    for entry in log["entries"]:
        datetime.fromisoformat(entry["startedDateTime"].replace("Z", "+00:00"))
        assert entry["time"] == entry["timings"]["wait"]
        assert entry["request"]["url"].startswith("http://127.0.0.1:")
    return log["entries"]


def full_recordings(server, workspace: str) -> list[dict]:
    headers = {"X-Mockverse-Workspace": workspace}
    listed = server.client.get("/api/v1/recordings", params={"limit": 1000}, headers=headers).json()["recordings"]
    return [server.client.get(f"/api/v1/recordings/{r['id']}", headers=headers).json() for r in reversed(listed)]


def test_recordings_export_as_har_and_import_back_into_a_fresh_workspace(start_server, app_server, tmp_path):
    upstream = start_server(seed="3")
    proxy = app_server("--upstream", upstream.url, command="record")
    sent = [proxy.client.get("/users/1"), proxy.client.get("/users/2/orders"),
            proxy.client.get("/orders", params={"userId": "3"}), proxy.client.get("/orders/1001"),
            proxy.client.post("/orders", json={"user_id": 4, "currency": "EUR"})]
    assert [r.status_code for r in sent] == [200, 200, 200, 200, 201]
    exported = proxy.client.get("/api/v1/recordings.har")
    assert exported.status_code == 200 and exported.headers["content-type"] == "application/json"
    assert exported.headers["content-disposition"] == 'attachment; filename="mockverse-recordings-default.har"'
    entries = valid_har(exported.json())
    assert [(e["request"]["method"], e["request"]["url"], e["response"]["status"]) for e in entries] == [
        ("GET", f"{upstream.url}/users/1", 200), ("GET", f"{upstream.url}/users/2/orders", 200),
        ("GET", f"{upstream.url}/orders?userId=3", 200), ("GET", f"{upstream.url}/orders/1001", 200),
        ("POST", f"{upstream.url}/orders", 201)]
    assert entries[2]["request"]["queryString"] == [{"name": "userId", "value": "3"}]
    assert entries[0]["response"]["content"]["text"].encode() == upstream.client.get("/users/1").content
    assert entries[0]["response"]["content"]["mimeType"] == "application/json"
    assert entries[4]["request"]["postData"]["text"] == '{"user_id":4,"currency":"EUR"}'
    before = full_recordings(proxy, "default")
    proxy.stop()

    har = tmp_path / "exported.har"
    har.write_bytes(exported.content)
    store = tmp_path / "fresh.db"
    code, out, err = run_main("import-har", str(har), "--store", str(store), "--workspace", "copy")
    assert code == 0, err
    assert out.splitlines()[0] == "imported 5 recording(s) into workspace 'copy', skipped 0"
    mock = app_server(store=store)
    after = full_recordings(mock, "copy")
    assert [{k: r.get(k) for k in COMPARED} for r in after] == [{k: r.get(k) for k in COMPARED} for r in before]
    assert {r["source"] for r in after} == {"har"}
    # the imported recordings serve as the recorded tier: the upstream's bytes at ratio 1
    replay = mock.client.get("/users/1", headers={"X-Mockverse-Workspace": "copy", "X-Mockverse-Reality": "1"})
    assert replay.headers["x-mockverse-source"] == "recorded"
    assert replay.content == upstream.client.get("/users/1").content
    # and exported again, the document is the same but for the recordings' source and ids
    again = mock.client.get("/api/v1/recordings.har", headers={"X-Mockverse-Workspace": "copy"}).json()

    def strip(es: list[dict]) -> list[dict]:
        """The entries without mockverse's own field and with paths instead of full URLs."""
        return [{k: v for k, v in e.items() if k != "_mockverse"}
                | {"request": {**e["request"], "url": e["request"]["url"].split("/", 3)[3]}} for e in es]

    assert strip(valid_har(again)) == strip(entries)


def test_request_journal_exports_as_har(server):
    server.client.delete("/api/v1/requests")
    answers = [server.client.get("/users/5"), server.client.get("/users", params={"_page": "2", "_per_page": "3"}),
               server.client.get("/users/5000"),
               server.client.get("/users/6", headers={"X-Mockverse-Workspace": "team-a"})]
    journal = server.client.get("/api/v1/requests").json()["requests"]
    exported = server.client.get("/api/v1/requests.har")
    assert exported.headers["content-disposition"] == 'attachment; filename="mockverse-requests.har"'
    entries = valid_har(exported.json())
    assert [(e["request"]["method"], e["request"]["url"], e["response"]["status"]) for e in entries] == [
        ("GET", f"{server.url}/users/5", 200), ("GET", f"{server.url}/users?_page=2&_per_page=3", 200),
        ("GET", f"{server.url}/users/5000", 404), ("GET", f"{server.url}/users/6", 200)]
    for entry, answer, logged in zip(entries, answers, journal, strict=True):
        headers = {h["name"]: h["value"] for h in entry["response"]["headers"]}
        assert headers["x-mockverse-request-id"] == answer.headers["x-mockverse-request-id"] == logged["id"]
        assert headers.get("x-mockverse-source") == logged["source"] == answer.headers.get("x-mockverse-source")
        assert headers.get("x-mockverse-workspace") == logged["workspace"]
        assert entry["time"] == logged["latency_ms"]
        assert entry["response"]["content"] == {"size": len(answer.content), "mimeType": answer.headers["content-type"],
                                                "text": answer.text}
    team = valid_har(server.client.get("/api/v1/requests.har", params={"workspace": "team-a"}).json())
    assert [e["request"]["url"] for e in team] == [f"{server.url}/users/6"]

"""Fidelity from the workspace's own traffic: record an upstream (the built-in world, in process), serve
the same requests from the mock, score; a mock whose spec retypes one field scores lower. The faithful
mock is a server process, for the `mockverse fidelity --url` command; the drifted one runs in process."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx

from conftest import ROOT, run_main

BUILTIN = ROOT / "src" / "mockverse" / "builtin"


def drifted_spec(directory: Path) -> Path:
    """The built-in spec with one field retyped: User.phone string -> integer."""
    text = (BUILTIN / "openapi.yaml").read_text()
    user = text.index("    User:\n")
    at = text.index("phone: {type: string}", user)
    path = directory / "drifted.yaml"
    path.write_text(text[:at] + "phone: {type: integer}" + text[at + len("phone: {type: string}"):])
    return path


UPSTREAM = "http://upstream.test"


def test_traffic_fidelity_is_per_operation_and_drops_with_drift(start_server, app_server, tmp_path):
    upstream = app_server()                        # the real API: the built-in world, reached through ASGI
    recorder = app_server("--upstream", UPSTREAM, command="record")
    recorder.app.state.reality.upstream.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=upstream.app),
                                                                   base_url=UPSTREAM)
    ids = list(range(1, 13))
    paths = [f"/users/{i}" for i in ids] + [f"/users/{i}/orders" for i in ids] + [f"/users/{i}/devices" for i in ids]
    for path in paths:
        r = recorder.client.get(path)
        assert r.status_code == 200 and r.headers["x-mockverse-source"] == "upstream"
        assert r.content == upstream.client.get(path).content
    recorder.stop()
    recordings = recorder.store
    scores = {}
    for name, spec in (("faithful", BUILTIN / "openapi.yaml"), ("drifted", drifted_spec(tmp_path))):
        store = tmp_path / f"{name}.db"
        shutil.copy(recordings, store)
        for suffix in ("-wal", "-shm"):
            if Path(f"{recordings}{suffix}").exists():
                shutil.copy(f"{recordings}{suffix}", f"{store}{suffix}")
        serve = start_server if name == "faithful" else app_server
        mock = serve("--spec", str(spec), "--config", str(BUILTIN / "config.yaml"), store=store)
        for path in paths:
            assert mock.client.get(path).status_code == 200
        r = mock.client.post("/api/v1/workspace/default/fidelity", json={"source": "traffic"})
        assert r.status_code == 200, r.text
        scores[name] = r.json()["score"]
        if name == "faithful":   # the CLI against the server process
            code, out, _ = run_main("fidelity", "--url", mock.url, "--json")
            assert code == 0 and '"source": "traffic"' in out
    faithful, drifted = scores["faithful"], scores["drifted"]
    operations = {op["operation"]: op["weight"] for op in faithful["operations"]}
    assert operations == {"GET /users/{id}": 12, "GET /users/{id}/orders": 12, "GET /users/{id}/devices": 12}
    # The faithful mock serves the same spec through the same pipeline: /users/{id}/orders, which
    # declares no paging of its own, lists every order as the upstream does.
    assert faithful["driver_metrics"]["sample_similarity"]["value"] == 1.0
    assert [f for f in faithful["findings"] if f["driver"] == "sample_similarity"] == []
    assert drifted["overall"] < faithful["overall"]
    assert (
        drifted["driver_metrics"]["schema_similarity"]["value"]
        < faithful["driver_metrics"]["schema_similarity"]["value"]
    )

    def phone_mismatches(score: dict) -> list[tuple]:
        return [(f["operation"], f["path"], f["driver"]) for f in score["findings"]
                if f["code"] == "type-mismatch" and "phone" in (f["path"] or "")]

    assert ("GET /users/{id}", "$.phone", "schema_similarity") in phone_mismatches(drifted)
    assert phone_mismatches(faithful) == []

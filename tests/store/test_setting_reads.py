"""A workspace's settings (its clock, its definition, its stubs, its reality settings) are read from the
store once and kept until a write changes them: a write of an entity costs no re-read of them, and a
setting another instance changes is seen by the next request here."""

from __future__ import annotations

from starlette.testclient import TestClient


def settings_read(client: TestClient) -> list[str]:
    """The keys of the settings the client's app reads from its store from now on."""
    store = client.app.state.engine.store   # the app create_app built
    keys: list[str] = []
    read = store.get_setting

    def get_setting(workspace: str, key: str):
        keys.append(key)
        return read(workspace, key)
    store.get_setting = get_setting
    return keys


def test_entity_writes_reread_no_setting_and_a_setting_written_elsewhere_is_seen(app_client, tmp_path):
    shared = tmp_path / "shared.db"
    here, elsewhere = app_client(store=shared), app_client(store=shared)
    assert here.patch("/users/3", json={"company": "First"}).status_code == 200
    assert here.get("/users/3").status_code == 200   # the workspace's settings read once, after its first write
    keys = settings_read(here)
    for n in range(3):
        assert here.patch("/users/3", json={"company": f"Co {n}"}).json()["company"] == f"Co {n}"
        assert here.post("/orders", json={"user_id": 3}).json()["created_at"] == "2026-01-01T00:00:00Z"
    assert [k for k in keys if not k.startswith("lifecycle:")] == []   # a persona's own record is read with it

    stubbed = {"request": {"method": "GET", "urlPath": "/users/3"}, "response": {"status": 200, "jsonBody": {"s": 1}}}
    assert elsewhere.post("/__admin/mappings", json=stubbed).status_code == 201
    assert elsewhere.post("/api/v1/consistency/clock/advance", json={"by": "1d"}).status_code == 200
    assert here.get("/users/3").json() == {"s": 1}
    assert here.post("/orders", json={"user_id": 3}).json()["created_at"] == "2026-01-02T00:00:00Z"
    assert {"stubs", "clock"} <= set(keys)

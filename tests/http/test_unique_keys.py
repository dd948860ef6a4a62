"""A key names one entity: a create, PUT or PATCH giving an alternative key (an app's ``uid``) or a number within the
parent (an issue's ``number``) that another entity holds, generated or written, is a 409 problem naming the field
and the holder, and stores nothing; an entity keeps its own key; a renumbered child answers at its new number."""

from __future__ import annotations

import json
from pathlib import Path

UID = {"type": "string", "example": "unique-app-identifier", "pattern": "^[a-zA-Z0-9\\-_.]+$",
       "minLength": 1, "maxLength": 256}
PROBLEM = "application/problem+json"


def _ok(schema: dict, code: str = "200") -> dict:
    return {code: {"description": "ok", "content": {"application/json": {"schema": schema}}}}


def _apps(tmp_path: Path, nullable: bool = True) -> Path:
    """svix-like apps: a prefixed id, a ``uid`` shaped like ``{app_id}`` (an alternative key), a name; created at
    ``/apps``, read, replaced and changed at ``/apps/{app_id}``."""
    props = {"id": {"type": "string", "example": "app_1srOrx2ZWZBpBUvZwXKQmoEYga2"},
             "uid": {**UID, "nullable": nullable}, "name": {"type": "string", "example": "My first application"}}
    schema = {"type": "object", "properties": props}
    body = {"content": {"application/json": {"schema": {"type": "object", "properties": {
        k: v for k, v in props.items() if k != "id"}}}}}
    param = [{"name": "app_id", "in": "path", "required": True, "schema": UID}]
    spec = {"openapi": "3.0.3", "info": {"title": "apps", "version": "1"}, "paths": {
        "/apps": {"get": {"operationId": "list", "responses": _ok({"type": "array", "items": schema})},
                  "post": {"operationId": "create", "requestBody": body, "responses": _ok(schema, "201")}},
        "/apps/{app_id}": {"parameters": param,
                           "get": {"operationId": "get", "responses": _ok(schema)},
                           "put": {"operationId": "put", "requestBody": body, "responses": _ok(schema)},
                           "patch": {"operationId": "patch", "requestBody": body, "responses": _ok(schema)}}}}
    path = tmp_path / "apps.json"
    path.write_text(json.dumps(spec))
    return path


def _conflict(response, field: str, holder: object, detail: str) -> None:
    """The response is the 409 problem naming ``field`` and the entity ``holder`` holding its value."""
    assert (response.status_code, response.headers["content-type"]) == (409, PROBLEM)
    assert response.json() == {"type": "urn:mockverse:problem:conflict", "title": "Conflict", "status": 409,
                               "detail": detail, "field": field, "held_by": holder}


def test_a_created_app_cannot_take_a_uid_another_app_holds(app_client, tmp_path: Path):
    """A generated app's uid and a created app's uid are each one app's: a second create giving either is a 409
    naming ``uid`` and its holder, and nothing is stored (the list keeps its length, the key its app)."""
    c = app_client(spec=_apps(tmp_path))
    first = c.get("/apps").json()[0]
    assert (first["id"], first["uid"]) == ("app_9gQLhoJcosuCoqNKsympcPHkL3w", "olive-1")
    _conflict(c.post("/apps", json={"name": "Copy", "uid": "olive-1"}), "uid", first["id"],
              f"app {first['id']} already has uid 'olive-1': uid must be one no other app holds")
    mine = c.post("/apps", json={"name": "Billing", "uid": "same"})
    assert mine.status_code == 201
    _conflict(c.post("/apps", json={"name": "Again", "uid": "same"}), "uid", mine.json()["id"],
              f"app {mine.json()['id']} already has uid 'same': uid must be one no other app holds")
    assert len(c.get("/apps").json()) == 51
    assert c.get("/apps/same").json() == mine.json()
    assert c.get("/apps/olive-1").json() == first


def test_a_patch_or_put_to_a_held_uid_is_refused_and_its_own_uid_is_fine(app_client, tmp_path: Path):
    """PATCH and PUT giving another app's uid (generated or written) are 409s and change nothing; giving the app
    its own uid again, or a free one, is a 200 and the app answers at the new uid only."""
    c = app_client(spec=_apps(tmp_path))
    one, two = c.get("/apps").json()[:2]
    _conflict(c.patch(f"/apps/{two['id']}", json={"uid": "olive-1"}), "uid", one["id"],
              f"app {one['id']} already has uid 'olive-1': uid must be one no other app holds")
    _conflict(c.put(f"/apps/{two['id']}", json={"name": "X", "uid": "olive-1"}), "uid", one["id"],
              f"app {one['id']} already has uid 'olive-1': uid must be one no other app holds")
    assert c.get(f"/apps/{two['id']}").json() == two
    assert c.patch("/apps/olive-1", json={"uid": "olive-1", "name": "Same"}).status_code == 200
    renamed = c.patch("/apps/olive-1", json={"uid": "payments"})
    assert (renamed.status_code, renamed.json()["uid"]) == (200, "payments")
    assert c.get("/apps/payments").json()["id"] == one["id"]
    assert c.get("/apps/olive-1").status_code == 404
    _conflict(c.patch(f"/apps/{two['id']}", json={"uid": "payments"}), "uid", one["id"],
              f"app {one['id']} already has uid 'payments': uid must be one no other app holds")
    assert c.post("/apps", json={"name": "Old name", "uid": "olive-1"}).status_code == 201   # freed by the rename


def test_a_created_app_never_takes_a_key_a_write_gave_another(app_client, tmp_path: Path):
    """A non-nullable key: a created app without one takes the key its id spells, unless a write gave that key to
    another app already; then it takes the next id (the key still names one app)."""
    c = app_client(spec=_apps(tmp_path, nullable=False))
    codec = c.app.state.engine.model.types["app"].keys["uid"]
    taken = c.post("/apps", json={"name": "Mine"}).json()
    after = codec.encode(codec.decode(taken["uid"]) + 2)   # the key the app created after the squatter would spell
    squatter = c.post("/apps", json={"name": "Squat", "uid": after}).json()
    nxt = c.post("/apps", json={"name": "Next"}).json()
    assert [taken["uid"], after, nxt["uid"]] == ["pearl-51", "meadow-53", "mint-54"]
    assert squatter["uid"] == after and c.get(f"/apps/{after}").json() == squatter
    assert c.get(f"/apps/{nxt['uid']}").json() == nxt


def test_the_conflict_holds_after_a_restart(app_client, tmp_path: Path):
    """Keys live in stored data: a new app over the same store still refuses a taken uid."""
    spec, store = _apps(tmp_path), tmp_path / "apps.db"
    mine = app_client(spec=spec, store=store).post("/apps", json={"name": "Billing", "uid": "billing"}).json()
    again = app_client(spec=spec, store=store)
    _conflict(again.post("/apps", json={"name": "Copy", "uid": "billing"}), "uid", mine["id"],
              f"app {mine['id']} already has uid 'billing': uid must be one no other app holds")
    assert again.get("/apps/billing").json() == mine

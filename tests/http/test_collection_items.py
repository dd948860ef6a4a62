"""A write at ``{collection}/{key}`` is a write of that entity even where its read lives at another item path
(gitea's users are listed and created at ``/admin/users``, read at ``/users/{username}``, and edited and deleted
at ``/admin/users/{username}``): the DELETE deletes it and the PATCH changes it, never a schema answer that
changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

USER = {"type": "object", "properties": {"id": {"type": "integer"}, "login": {"type": "string"},
                                         "full_name": {"type": "string"}}}


def _ok(schema: dict) -> dict:
    return {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}


def _spec(tmp_path: Path) -> Path:
    key = [{"name": "username", "in": "path", "required": True, "schema": {"type": "string"},
            "description": "username of the user"}]
    body = {"content": {"application/json": {"schema": {"type": "object", "properties": {
        "full_name": {"type": "string"}}}}}}
    spec = {"openapi": "3.0.3", "info": {"title": "admin", "version": "1"}, "paths": {
        "/admin/users": {"get": {"responses": _ok({"type": "array", "items": USER})}},
        "/users/{username}": {"get": {"parameters": key, "responses": _ok(USER)}},
        "/admin/users/{username}": {
            "delete": {"parameters": key, "responses": {"204": {"description": "deleted"}}},
            "patch": {"parameters": key, "requestBody": body, "responses": _ok(USER)}}}}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def test_a_delete_at_the_collection_item_deletes_the_entity(app_client, tmp_path: Path):
    """DELETE /admin/users/{login} is 204, then the user is a 404 at its own item path and gone from the list."""
    c = app_client(spec=_spec(tmp_path))
    first = c.get("/admin/users").json()[0]
    login = first["login"]
    assert (first["id"], login) == (1, "indigo1")
    assert c.delete(f"/admin/users/{login}").status_code == 204
    gone = c.get(f"/users/{login}")
    assert (gone.status_code, gone.json()["detail"]) == (404, "user indigo1 does not exist")
    assert [u["login"] for u in c.get("/admin/users").json()][:2] == ["wren2", "blue3"]


def test_a_patch_at_the_collection_item_changes_the_entity(app_client, tmp_path: Path):
    """PATCH /admin/users/{login} answers the changed user, and its item path shows the change."""
    c = app_client(spec=_spec(tmp_path))
    changed = c.patch("/admin/users/indigo1", json={"full_name": "Ada Lovelace"})
    assert (changed.status_code, changed.json()["full_name"], changed.json()["id"]) == (200, "Ada Lovelace", 1)
    assert c.get("/users/indigo1").json() == changed.json()

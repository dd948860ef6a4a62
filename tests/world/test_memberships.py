"""People listed under a parent are the world's people: an org's members are users, each answering at
``/users/{username}`` with the very body the list shows; ``GET /orgs/{org}/members/{username}`` answers 204 for
a member and 404 for anyone else, ``PUT`` makes a user a member and ``DELETE`` ends the membership."""

from __future__ import annotations

import json
from pathlib import Path

from mockverse.check import run_check


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _ok(schema: dict) -> dict:
    return {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}


def _empty(status: str) -> dict:
    return {status: {"description": "done"}}


def _spec(tmp_path: Path) -> Path:
    """Users and orgs, an org's members listed as ``User``\\ s and checked, added and removed by username."""
    many = lambda name: {"type": "array", "items": _ref(name)}  # noqa: E731 - a one-line schema builder
    member = [_param("org"), _param("username")]
    spec = {"openapi": "3.0.3", "info": {"title": "orgs", "version": "1"}, "paths": {
        "/users": {"get": {"operationId": "userList", "responses": _ok(many("User"))}},
        "/users/{username}": {"get": {"operationId": "userGet", "parameters": [_param("username")],
                                      "responses": _ok(_ref("User"))}},
        "/orgs": {"get": {"operationId": "orgList", "responses": _ok(many("Org"))}},
        "/orgs/{org}": {"get": {"operationId": "orgGet", "parameters": [_param("org")], "responses": _ok(_ref("Org"))}},
        "/orgs/{org}/members": {"get": {"operationId": "memberList", "parameters": [_param("org")],
                                        "responses": _ok(many("User"))}},
        "/orgs/{org}/members/{username}": {
            "get": {"operationId": "memberCheck", "parameters": member,
                    "responses": {**_empty("204"), **_empty("404")}},
            "put": {"operationId": "memberAdd", "parameters": member, "responses": _empty("204")},
            "delete": {"operationId": "memberRemove", "parameters": member, "responses": _empty("204")},
        },
    }, "components": {"schemas": {
        "User": {"type": "object", "properties": {"id": {"type": "integer"}, "login": {"type": "string"},
                                                  "full_name": {"type": "string"}, "email": {"type": "string"}}},
        "Org": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
    }}}
    path = tmp_path / "orgs.json"
    path.write_text(json.dumps(spec))
    return path


def test_check_measures_whether_listed_members_are_the_world_s_users(tmp_path: Path):
    """``members``: each listed member (3 per list looked at) equals ``GET /users/{login}``."""
    report = run_check(str(_spec(tmp_path)))
    assert report.counts["members"] == [0, 9]
    assert [f.message for f in report.findings if f.category == "members"][0] == \
        "list has \"user 'lark101'\", GET /users/{username} has 404"

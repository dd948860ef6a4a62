"""What the caller makes at its own paths is its own: ``GET /user`` answers the caller's user (the world's first),
a create at ``/user/repos`` or ``/user/keys`` belongs to that user (its embedded ``owner``, its ``user_id``), and
the list there shows exactly that user's entities, as ``/users/{username}/...`` of that user does."""

from __future__ import annotations

from pathlib import Path

from mockverse.check import run_check
from mockverse.http import operations

USER = {"$ref": "#/components/schemas/User"}
REPO = {"$ref": "#/components/schemas/Repository"}
KEY = {"$ref": "#/components/schemas/Key"}


def _answer(schema: dict, status: str = "200") -> dict:
    return {"responses": {status: {"description": "ok", "content": {"application/json": {"schema": schema}}}}}


def _create(request: str, answer: dict) -> dict:
    body = {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{request}"}}}}
    return {"requestBody": body, **_answer(answer, "201")}


def _param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": f"{name} of the entity",
            "schema": {"type": "string"}}


def _listing(item: dict) -> dict:
    return {"type": "array", "items": item}


HOSTING = {
    "openapi": "3.0.3",
    "info": {"title": "Hosting", "version": "1"},
    "paths": {
        "/user": {"get": _answer(USER), "patch": {**_create("UserEdit", USER), **_answer(USER)}},
        "/user/repos": {"get": _answer(_listing(REPO)), "post": _create("RepoEdit", REPO)},
        "/user/keys": {"get": _answer(_listing(KEY)), "post": _create("KeyEdit", KEY)},
        "/admin/users": {"get": _answer(_listing(USER))},
        "/users/{username}": {"parameters": [_param("username")], "get": _answer(USER)},
        "/users/{username}/repos": {"parameters": [_param("username")], "get": _answer(_listing(REPO))},
        "/users/{username}/keys": {"parameters": [_param("username")], "get": _answer(_listing(KEY))},
    },
    "components": {"schemas": {
        "User": {"type": "object", "properties": {
            "id": {"type": "integer", "format": "int64"}, "login": {"type": "string"}}},
        "Repository": {"type": "object", "properties": {
            "id": {"type": "integer", "format": "int64"}, "name": {"type": "string"},
            "full_name": {"type": "string"}, "owner": USER}},
        "UserEdit": {"type": "object", "properties": {"login": {"type": "string"}}},
        "RepoEdit": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
        "Key": {"type": "object", "properties": {
            "id": {"type": "integer", "format": "int64"}, "title": {"type": "string"},
            "user_id": {"type": "integer", "format": "int64"}, "user": USER}},
        "KeyEdit": {"type": "object", "required": ["title"], "properties": {"title": {"type": "string"}}},
    }},
}


def _spec(tmp_path: Path) -> Path:
    import json

    path = tmp_path / "hosting.json"
    path.write_text(json.dumps(HOSTING))
    return path


def test_the_current_path_answers_the_first_user(app_client, tmp_path):
    c = app_client(spec=_spec(tmp_path))
    first = c.get("/admin/users").json()[0]
    me = c.get("/user")
    assert me.status_code == 200
    assert me.json() == first
    assert me.json()["id"] == 1
    assert c.get(f"/users/{first['login']}").json() == me.json()


def test_a_change_at_the_current_path_changes_the_callers_user(app_client, tmp_path):
    c = app_client(spec=_spec(tmp_path))
    changed = c.patch("/user", json={"login": "harbour"})
    assert (changed.status_code, changed.json()) == (200, {"id": 1, "login": "harbour"})
    assert c.get("/user").json() == {"id": 1, "login": "harbour"}
    assert c.get("/admin/users").json()[0] == {"id": 1, "login": "harbour"}


def test_a_repo_made_at_the_callers_path_is_the_callers(app_client, tmp_path):
    c = app_client(spec=_spec(tmp_path))
    me = c.get("/user").json()
    made = c.post("/user/repos", json={"name": "harbour"})
    assert made.status_code == 201
    assert made.json()["name"] == "harbour"
    assert made.json()["owner"] == me
    mine = c.get("/user/repos").json()
    assert [r["name"] for r in mine] == ["Team-oriented global implementation", "Total clear-thinking Local Area "
                                         "Network", "Business-focused executive access", "harbour"]
    assert {r["owner"]["login"] for r in mine} == {me["login"]}
    assert c.get(f"/users/{me['login']}/repos").json() == mine


def test_another_users_repos_are_that_users(app_client, tmp_path):
    c = app_client(spec=_spec(tmp_path))
    shown = [(user["login"], [r["owner"]["login"] for r in c.get(f"/users/{user['login']}/repos").json()])
             for user in c.get("/admin/users").json()[:5]]
    assert shown == [("indigo1", ["indigo1"] * 3), ("wren2", ["wren2"] * 3), ("blue3", ["blue3"] * 4), ("frost4", []),
                     ("sparrow5", ["sparrow5"] * 3)]


def test_the_callers_path_is_a_404_once_the_caller_is_deleted(app_client):
    """``GET /user`` answers the caller's own user, and a 404 problem once that user is deleted (never 200 null),
    as the lists under it do."""
    from conftest import SHARED

    c = app_client(spec=SHARED / "specs" / "gitea.json", auth_check=False)
    assert c.delete("/admin/users/indigo1").status_code == 204
    for path in ("/user", "/user/repos"):
        gone = c.get(path)
        assert (gone.status_code, gone.json()["detail"]) == (404, "the caller's own user 1 does not exist"), path


def test_a_key_made_at_the_callers_path_is_the_callers(app_client, tmp_path):
    c = app_client(spec=_spec(tmp_path))
    me = c.get("/user").json()
    before = c.get("/user/keys").json()
    assert {k["user_id"] for k in before} == {me["id"]}
    made = c.post("/user/keys", json={"title": "laptop"})
    assert made.status_code == 201
    assert made.json()["user_id"] == me["id"]
    assert made.json()["user"] == me
    after = c.get("/user/keys").json()
    assert [k["id"] for k in after] == [k["id"] for k in before] + [made.json()["id"]]
    assert c.get(f"/users/{me['login']}/keys").json() == after


def test_the_checker_passes_the_callers_paths(tmp_path):
    report = run_check(str(_spec(tmp_path)))
    assert (report.score(), report.status_5xx) == (1.0, 0)
    assert report.to_dict()["scores"]["writes"] == {"passed": 6, "total": 6, "score": 1.0}


def test_the_checker_names_a_create_that_is_not_the_callers(tmp_path, monkeypatch):
    monkeypatch.setattr(operations, "_own_list", lambda *args: None)   # the caller's paths as plain collections
    report = run_check(str(_spec(tmp_path)))
    failed = sorted((f.operation, f.pointer) for f in report.findings if f.category == "writes")
    assert failed == [("GET /user/keys", "/"), ("GET /user/repos", "/"), ("POST /user/keys", "/user_id"),
                      ("POST /user/repos", "/owner")]


def test_gitea_repos_made_at_user_repos_are_the_callers(app_client):
    from conftest import SHARED

    c = app_client(spec=SHARED / "specs" / "gitea.json", auth_check=False)
    assert [c.get("/user").json()[k] for k in ("id", "login")] == [1, "indigo1"]
    made = c.post("/user/repos", json={"name": "harbour"})
    assert (made.status_code, made.json()["id"], made.json()["owner"]["login"]) == (201, 51, "indigo1")
    mine = c.get("/user/repos").json()
    assert [(r["id"], r["name"], r["owner"]["login"]) for r in mine] == [(32, "jade32", "indigo1"),
                                                                         (51, "harbour", "indigo1")]
    assert c.get("/users/indigo1/repos").json() == mine
    assert c.get("/repos/indigo1/harbour").json() == made.json()
    theirs = c.get("/users/blue3/repos").json()
    assert [(r["name"], r["owner"]["login"]) for r in theirs] == [("juniper5", "blue3"), ("stone21", "blue3"),
                                                                  ("sparrow26", "blue3")]


def test_a_stub_at_the_callers_path_talks_about_the_caller(app_client, tmp_path):
    c = app_client(spec=_spec(tmp_path))
    made = c.post("/__admin/mappings", json={"request": {"method": "GET", "urlPath": "/user/keys"},
                                             "response": {"body": "keys of {{persona.login}}"}})
    assert made.status_code == 201
    assert c.get("/user/keys").text == f"keys of {c.get('/user').json()['login']}"


def test_gitea_lists_under_user_are_those_of_the_callers_own_path(app_client):
    from conftest import SHARED

    c = app_client(spec=SHARED / "specs" / "gitea.json", auth_check=False)
    for segment, ids in (("orgs", [4]), ("subscriptions", [644, 761, 544, 59]), ("gpg_keys", [24, 8, 44, 13, 29])):
        assert [r["id"] for r in c.get(f"/user/{segment}").json()] == ids
        assert c.get(f"/users/indigo1/{segment}").json() == c.get(f"/user/{segment}").json()

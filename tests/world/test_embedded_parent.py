"""A child's own link to its parent names the parent it is listed under: an issue listed under a repo embeds
that repo (``repository``, of a slimmer schema), a label under it holds that repo's id (``repository_id``), even
where the spec serves the parent's schema at a second path that inference first saw as another type."""

from __future__ import annotations

import json
from pathlib import Path

from mockverse.check import run_check


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _ok(schema: dict) -> dict:
    return {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}


def _param(name: str, kind: str = "string") -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": kind}}


def _get(op_id: str, params: list[str], schema: dict, id_kind: str = "integer") -> dict:
    """A GET operation whose path parameters are strings, but ``index`` and ``id`` (``id_kind``)."""
    kinds = {"index": "integer", "id": id_kind}
    return {"get": {"operationId": op_id, "parameters": [_param(p, kinds.get(p, "string")) for p in params],
                    "responses": _ok(schema)}}


def _spec(tmp_path: Path) -> Path:
    """Repositories of users, served by owner and name and by id; their issues embed a RepositoryMeta,
    their labels hold a ``repository_id``."""
    many = lambda name: {"type": "array", "items": _ref(name)}  # noqa: E731 - a one-line schema builder
    spec = {"openapi": "3.0.3", "info": {"title": "repos", "version": "1"}, "paths": {
        "/users/{username}": _get("userGet", ["username"], _ref("User")),
        "/users/{username}/repos": _get("userRepos", ["username"], many("Repository")),
        "/repos/{owner}/{repo}": _get("repoGet", ["owner", "repo"], _ref("Repository")),
        "/repositories/{id}": _get("repoGetById", ["id"], _ref("Repository")),
        "/repos/{owner}/{repo}/issues": _get("issueList", ["owner", "repo"], many("Issue")),
        "/repos/{owner}/{repo}/issues/{index}": _get("issueGet", ["owner", "repo", "index"], _ref("Issue")),
        "/repos/{owner}/{repo}/labels": _get("labelList", ["owner", "repo"], many("Label")),
    }, "components": {"schemas": {
        "User": {"type": "object", "properties": {"id": {"type": "integer"}, "login": {"type": "string"}}},
        "Repository": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                                                        "owner": _ref("User")}},
        "RepositoryMeta": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
        "Issue": {"type": "object", "properties": {"id": {"type": "integer"}, "number": {"type": "integer"},
                                                   "repository": _ref("RepositoryMeta")}},
        "Label": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                                                   "repository_id": {"type": "integer"}}},
    }}}
    path = tmp_path / "repos.json"
    path.write_text(json.dumps(spec))
    return path


def test_listed_issues_embed_the_repo_they_are_listed_under(app_client, tmp_path: Path):
    """Every issue under repo 101 (and 102) embeds that repo, by id and name, as its item path answers."""
    c = app_client(spec=_spec(tmp_path))
    for repo_id in (101, 102):
        repo = c.get(f"/repos/indigo1/{repo_id}").json()
        issues = c.get(f"/repos/indigo1/{repo_id}/issues").json()
        assert issues and {(i["repository"]["id"], i["repository"]["name"]) for i in issues} == \
            {(repo_id, repo["name"])}
        first = issues[0]
        assert c.get(f"/repos/indigo1/{repo_id}/issues/{first['number']}").json() == first
    assert [i["id"] for i in c.get("/repos/indigo1/101/issues").json()] == [10101, 10102, 10103]


def test_listed_labels_hold_the_id_of_the_repo_they_are_listed_under(app_client, tmp_path: Path):
    """``repository_id`` of a label under repo 101 is 101, for every label (no other repo's id)."""
    c = app_client(spec=_spec(tmp_path))
    labels = c.get("/repos/indigo1/101/labels").json()
    assert [(label["id"], label["repository_id"]) for label in labels] == [(10101, 101), (10102, 101),
                                                                           (10103, 101), (10104, 101)]


def test_check_counts_a_child_whose_link_names_another_parent(tmp_path: Path):
    """``mockverse check`` holds every listed child's embedded parent and parent id to its list's parent:
    the spec above is nested 24/24."""
    report = run_check(str(_spec(tmp_path)))
    nested = [f.line() for f in report.findings if f.category == "nested"]
    assert (report.counts["nested"], nested) == ([24, 24], [])


def test_a_repo_answers_at_its_id_path_as_at_its_key_path(app_client, tmp_path: Path):
    """``/repositories/{id}`` serves the Repository schema by id, ``/repos/{owner}/{repo}`` by another key: one
    type, so an issue's embedded repository id answers at ``/repositories/{id}`` with the same repo; an id no
    repo has is a 404 problem."""
    c = app_client(spec=_spec(tmp_path))
    issue = c.get("/repos/indigo1/102/issues").json()[0]
    assert issue["repository"]["id"] == 102
    by_id = c.get("/repositories/102")
    assert (by_id.status_code, by_id.json()) == (200, c.get("/repos/indigo1/102").json())
    assert by_id.json()["name"] == issue["repository"]["name"]
    missing = c.get("/repositories/1")
    assert (missing.status_code, missing.headers["content-type"], missing.json()["field"]) == \
        (404, "application/problem+json", "id")


def test_inference_makes_one_type_of_a_schema_served_by_id_and_by_key(tmp_path: Path):
    """The id path joins the key path's type (``repo``): no ``repository`` type is left; the check binds the
    id path to repos and reads it."""
    report = run_check(str(_spec(tmp_path)))
    assert sorted(t["name"] for t in report.types) == ["issue", "label", "repo", "user"]
    assert (report.exercised, report.operations, report.counts["links"]) == (7, 7, [33, 33])


def test_two_id_paths_of_one_schema_stay_two_types(tmp_path: Path):
    """``/users/{id}`` and ``/admins/{id}``, both keyed by the id: no evidence they are one type."""
    user = {"type": "object", "properties": {"id": {"type": "integer"}, "login": {"type": "string"}}}
    spec = {"openapi": "3.0.3", "info": {"title": "people", "version": "1"},
            "paths": {"/users/{id}": _get("userGet", ["id"], _ref("User")),
                      "/admins/{id}": _get("adminGet", ["id"], _ref("User"))},
            "components": {"schemas": {"User": user}}}
    path = tmp_path / "people.json"
    path.write_text(json.dumps(spec))
    assert sorted(t["name"] for t in run_check(str(path)).types) == ["admin", "user"]


def test_a_field_named_for_the_parent_type_beside_a_role_key_is_another_role(app_client, tmp_path: Path):
    """A reminder's parent is its ``creator_id`` (a role); its ``user_id`` names the user it is for, any user."""
    user = {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}
    reminder = {"type": "object", "required": ["id", "creator_id"], "properties": {
        "id": {"type": "integer"}, "text": {"type": "string"}, "creator_id": {"type": "integer"},
        "user_id": {"type": "integer"}}}
    spec = {"openapi": "3.0.3", "info": {"title": "reminders", "version": "1"}, "paths": {
        "/users": {"get": {"operationId": "users", "responses": _ok({"type": "array", "items": _ref("User")})}},
        "/users/{id}": _get("user", ["id"], _ref("User")),
        "/reminders": {"get": {"operationId": "reminders",
                               "responses": _ok({"type": "array", "items": _ref("Reminder")})}},
        "/reminders/{id}": _get("reminder", ["id"], _ref("Reminder")),
    }, "components": {"schemas": {"User": user, "Reminder": reminder}}}
    path = tmp_path / "reminders.json"
    path.write_text(json.dumps(spec))
    c = app_client(spec=path)
    assert [(r["id"], r["creator_id"], r["user_id"]) for r in c.get("/reminders").json()[:4]] == \
        [(101, 1, 27), (102, 1, 45), (103, 1, 40), (201, 2, 21)]

"""Items keyed by a number that counts within their parent (``/repos/{repo}/issues/{index}``: the issue's ``number``,
not its global ``id``): each generated child has its place among its siblings by creation time, a created one the
parent's next number, kept across a restart; a number answers only under its own parent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mockverse.world.numbers import detect

INDEX = {"name": "index", "in": "path", "required": True, "description": "index of the issue to get",
         "schema": {"type": "integer", "format": "int64"}}
REPO = {"name": "repo", "in": "path", "required": True, "schema": {"type": "integer"}}
CONFIG = "world:\n  entities:\n    issue:\n      count: [3, 4]\n      delay: [1d, 30d]\n"


def _ok(schema: dict, code: str = "200") -> dict:
    return {code: {"description": "ok", "content": {"application/json": {"schema": schema}}}}


def _spec(tmp_path: Path) -> Path:
    """Repositories with issues (``number``, known as ``Index``) and pulls (tied to their repository only by
    ``base.repo_id``), each addressed by ``{index}`` under its repository."""
    repo, issue, pull = ({"$ref": f"#/components/schemas/{n}"} for n in ("Repository", "Issue", "PullRequest"))
    title = {"type": "object", "properties": {"title": {"type": "string"}}}
    write = {"content": {"application/json": {"schema": title}}}
    spec = {"openapi": "3.0.3", "info": {"title": "numbers", "version": "1"}, "paths": {
        "/repos": {"get": {"operationId": "repos", "responses": _ok({"type": "array", "items": repo})}},
        "/repos/{repo}": {"get": {"operationId": "repo", "parameters": [REPO], "responses": _ok(repo)}},
        "/repos/{repo}/issues": {
            "get": {"operationId": "issues", "parameters": [REPO], "responses": _ok({"type": "array", "items": issue})},
            "post": {"operationId": "newIssue", "parameters": [REPO], "requestBody": write,
                     "responses": _ok(issue, "201")}},
        "/repos/{repo}/issues/{index}": {"get": {"operationId": "issue", "parameters": [REPO, INDEX],
                                                 "responses": _ok(issue)}},
        "/repos/{repo}/pulls": {"get": {"operationId": "pulls", "parameters": [REPO],
                                        "responses": _ok({"type": "array", "items": pull})}},
        "/repos/{repo}/pulls/{index}": {"get": {"operationId": "pull", "parameters": [REPO, INDEX],
                                                "responses": _ok(pull)}},
    }, "components": {"schemas": {
        "Repository": {"type": "object", "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"}}},
        "Issue": {"type": "object", "properties": {
            "id": {"type": "integer", "format": "int64", "x-go-name": "ID"},
            "number": {"type": "integer", "format": "int64", "x-go-name": "Index"},
            "title": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"}}},
        "PullRequest": {"type": "object", "properties": {
            "id": {"type": "integer"}, "number": {"type": "integer"}, "title": {"type": "string"},
            "base": {"type": "object", "properties": {"repo_id": {"type": "integer"}, "ref": {"type": "string"}}}}},
    }}}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    (tmp_path / "config.yaml").write_text(CONFIG)
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return _spec(tmp_path), tmp_path / "config.yaml"


INTEGER = [{"type": "integer"}]
NUMBERS = {"id": {"type": "integer"}, "number": {"type": "integer"}, "title": {"type": "string"}}


@pytest.mark.parametrize(("param", "schemas", "props", "expected"), [
    ("index", INTEGER, {"id": {"type": "integer"}, "number": {"type": "integer", "x-go-name": "Index"}}, "number"),
    ("issue_iid", INTEGER, {"id": {"type": "integer"}, "iid": {"type": "integer"}, "weight": {"type": "integer"}},
     "iid"),
    ("pull_number", INTEGER, {"id": {"type": "integer"}, "number": {"type": "integer"}}, "number"),
    ("cardNumber", INTEGER, {"id": {"type": "string"}, "cardNumber": {"type": "integer"}}, "cardNumber"),
    ("seq", INTEGER, {"id": {"type": "integer"}, "position": {"type": "integer"}}, "position"),
    ("index", [{"type": "string"}], NUMBERS, None),                  # not an integer: no number
    ("issue_id", INTEGER, NUMBERS, None),                            # it names the id
    ("index", INTEGER, {"id": {"type": "integer"}, "number": {"type": "integer"}, "iid": {"type": "integer"}},
     None),                                                          # two running numbers: which one is unsaid
    ("index", INTEGER, {"id": {"type": "integer"}, "repo_id": {"type": "integer"}}, None),
])
def test_which_property_an_item_paths_number_names(param, schemas, props, expected):
    """The path parameter names the property by name, by the words after the type's (``issue_iid``), by the
    name it is known by (``x-go-name: Index``), or as the one running number; never the id or the parent key."""
    assert detect(param, schemas, props, "id", "repo_id") == expected


def test_an_issue_answers_at_its_number_under_its_own_repository(app_client, files):
    """Numbers count within each repository by creation time; the number of another repository's issue, the
    issue's id and a number no issue has are 404s; a number that is no integer is a 400."""
    spec, config = files
    c = app_client(spec=spec, config=config)
    listed = c.get("/repos/1/issues").json()
    assert [(i["id"], i["number"], i["created_at"]) for i in listed] == [
        (101, 1, "2023-03-14T14:50:46Z"), (102, 4, "2023-03-30T00:56:02Z"),
        (103, 2, "2023-03-19T14:02:00Z"), (104, 3, "2023-03-20T15:14:14Z")]
    for issue in listed:
        assert c.get(f"/repos/1/issues/{issue['number']}").json() == issue
    assert c.get("/repos/2/issues/1").json()["id"] == 204
    assert c.get("/repos/2/issues/3").json()["id"] == 202
    for path in ("/repos/1/issues/5", "/repos/1/issues/101", "/repos/1/issues/0"):
        missing = c.get(path)
        assert (missing.status_code, missing.headers["content-type"]) == (404, "application/problem+json"), path
        assert missing.json()["field"] == "index"
    bad = c.get("/repos/1/issues/first")
    assert (bad.status_code, bad.json()["field"]) == (400, "index")


def test_a_created_issue_takes_its_repositorys_next_number_and_keeps_it(app_client, files, tmp_path: Path):
    """A POST answers the next number of that repository (each has its own count); the issue answers at it,
    and still does after a restart over the same store."""
    spec, config = files
    store = tmp_path / "kept.db"
    c = app_client(spec=spec, config=config, store=store)
    made = c.post("/repos/1/issues", json={"title": "first"})
    assert made.headers["location"] == "/repos/1/issues/5"
    first = made.json()
    second = c.post("/repos/1/issues", json={"title": "second"}).json()
    other = c.post("/repos/2/issues", json={"title": "other"}).json()
    assert [(i["number"], i["title"]) for i in (first, second, other)] == [(5, "first"), (6, "second"), (5, "other")]
    assert c.get("/repos/1/issues/5").json() == first
    assert c.get("/repos/2/issues/5").json() == other
    assert [i["number"] for i in c.get("/repos/1/issues").json()] == [1, 4, 2, 3, 5, 6]
    again = app_client(spec=spec, config=config, store=store)
    assert again.get("/repos/1/issues/6").json() == second
    assert again.post("/repos/1/issues", json={"title": "third"}).json()["number"] == 7


def test_a_pull_tied_to_its_repository_only_deep_is_still_its_child(app_client, files):
    """``/repos/{repo}/pulls`` lists that repository's pulls alone (its key sits in ``base.repo_id``), numbered
    within it."""
    spec, config = files
    c = app_client(spec=spec, config=config)
    assert [(p["id"], p["number"]) for p in c.get("/repos/1/pulls").json()] == [(101, 1), (102, 2), (103, 3)]
    assert c.get("/repos/1/pulls/2").json()["id"] == 102
    assert c.get("/repos/2/pulls").json() == []
    assert c.get("/repos/2/pulls/1").status_code == 404


def test_the_world_description_names_each_types_number(app_client, files):
    """``GET /api/v1/consistency/world`` says which property an item path's number is, per type."""
    spec, config = files
    types = {t["name"]: t for t in app_client(spec=spec, config=config).get("/api/v1/consistency/world")
             .json()["entity_types"]}
    assert {name: t["number"] for name, t in types.items()} == {
        "repo": None, "issue": {"field": "number", "param": "index"}, "pull": {"field": "number", "param": "index"}}
    assert types["pull"]["parent"] == {"type": "repo", "field": "repo_id", "relationship": "has_pull"}


def test_a_merge_request_answers_at_its_iid_within_its_project(app_client, tmp_path: Path):
    """``/projects/{id}/merge_requests/{merge_request_iid}`` of a merge request with ``id`` and ``iid``: the path
    takes the ``iid`` (the parameter's words after the type's), counted within each project."""
    mr = {"type": "object", "properties": {"id": {"type": "integer"}, "iid": {"type": "integer"},
                                           "project_id": {"type": "integer"}, "title": {"type": "string"}}}
    project = {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}
    pid = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    iid = {"name": "merge_request_iid", "in": "path", "required": True, "schema": {"type": "integer"}}
    spec = {"openapi": "3.0.3", "info": {"title": "mrs", "version": "1"}, "paths": {
        "/projects": {"get": {"operationId": "projects", "responses": _ok({"type": "array", "items": project})}},
        "/projects/{id}": {"get": {"operationId": "project", "parameters": [pid], "responses": _ok(project)}},
        "/projects/{id}/merge_requests": {"get": {"operationId": "mrs", "parameters": [pid],
                                                  "responses": _ok({"type": "array", "items": mr})}},
        "/projects/{id}/merge_requests/{merge_request_iid}": {"get": {
            "operationId": "mr", "parameters": [pid, iid], "responses": _ok(mr)}}}}
    path = tmp_path / "mrs.json"
    path.write_text(json.dumps(spec))
    c = app_client(spec=path)
    listed = c.get("/projects/1/merge_requests").json()
    assert [(m["id"], m["iid"], m["project_id"]) for m in listed] == [(101, 1, 1), (102, 2, 1), (103, 3, 1)]
    assert c.get("/projects/1/merge_requests/2").json() == listed[1]
    assert c.get("/projects/1/merge_requests/102").status_code == 404

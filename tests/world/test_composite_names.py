"""A field that spells an entity's composite path key as one string (``full_name`` of a repository served at
``/repositories/{owner}/{repo}``) is its key values joined by ``/``: the owner's login, then its name. It follows
writes (a renamed repository is renamed in it) unless a write set it; embedded copies (a ``RepositoryMeta`` inside
an issue, whose ``owner`` is a login string) agree with the entity they embed."""

from __future__ import annotations

import json
from pathlib import Path

OK = "200"


def _ok(schema: dict, code: str = OK) -> dict:
    return {code: {"description": "ok", "content": {"application/json": {"schema": schema}}}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _param(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}, "description": description}


def _body(name: str) -> dict:
    return {"content": {"application/json": {"schema": _ref(name)}}}


def _write(tmp_path: Path, spec: dict) -> Path:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def _forge(tmp_path: Path) -> Path:
    """Users keyed by login; repositories at ``/repositories/{owner}/{repo}`` embedding their owner; issues
    under a repository embedding a ``RepositoryMeta`` (``owner`` a string)."""
    key = [_param("owner", "owner of the repo"), _param("repo", "name of the repo")]
    string = {"type": "string"}
    return _write(tmp_path, {"openapi": "3.0.3", "info": {"title": "forge", "version": "1"}, "paths": {
        "/users": {"get": {"operationId": "listUsers", "responses": _ok({"type": "array", "items": _ref("User")})}},
        "/users/{username}": {
            "get": {"operationId": "getUser", "parameters": [_param("username", "username")],
                    "responses": _ok(_ref("User"))},
            "patch": {"operationId": "editUser", "parameters": [_param("username", "username")],
                      "requestBody": _body("EditUser"), "responses": _ok(_ref("User"))}},
        "/repositories": {
            "get": {"operationId": "listRepos", "responses": _ok({"type": "array", "items": _ref("Repository")})},
            "post": {"operationId": "createRepo", "requestBody": _body("CreateRepo"),
                     "responses": _ok(_ref("Repository"), "201")}},
        "/repositories/{owner}/{repo}": {
            "get": {"operationId": "getRepo", "parameters": key, "responses": _ok(_ref("Repository"))},
            "patch": {"operationId": "editRepo", "parameters": key, "requestBody": _body("EditRepo"),
                      "responses": _ok(_ref("Repository"))}},
        "/repositories/{owner}/{repo}/issues": {"get": {"operationId": "listIssues", "parameters": key,
                                                         "responses": _ok({"type": "array", "items": _ref("Issue")})}},
        "/comments": {"get": {"operationId": "listComments",
                              "responses": _ok({"type": "array", "items": _ref("Comment")})}},
    }, "components": {"schemas": {
        "User": {"type": "object", "properties": {"id": {"type": "integer"}, "login": string, "full_name": string}},
        "Repository": {"type": "object", "properties": {"id": {"type": "integer"}, "name": string,
                                                        "full_name": string, "owner": _ref("User"),
                                                        "parent": _ref("Repository")}},
        "RepositoryMeta": {"type": "object", "properties": {"id": {"type": "integer"}, "name": string,
                                                            "owner": string, "full_name": string}},
        "Issue": {"type": "object", "properties": {"id": {"type": "integer"}, "repository": _ref("RepositoryMeta")}},
        "Comment": {"type": "object", "properties": {"id": {"type": "integer"}, "issue": _ref("Issue")}},
        "CreateRepo": {"type": "object", "required": ["name"], "properties": {"name": string}},
        "EditUser": {"type": "object", "properties": {"login": string}},
        "EditRepo": {"type": "object", "properties": {"name": string, "full_name": string}},
    }}})


def _workspaces(tmp_path: Path) -> Path:
    """Workspaces keyed by slug; repositories at ``/repositories/{workspace}/{repo_slug}`` naming their workspace
    by ``workspace_id`` (no embedded object)."""
    workspace = _param("workspace", "slug of the workspace")
    uuid = {"type": "string", "format": "uuid"}
    return _write(tmp_path, {"openapi": "3.0.3", "info": {"title": "ws", "version": "1"}, "paths": {
        "/workspaces": {"get": {"operationId": "listWs", "responses": _ok({"type": "array",
                                                                           "items": _ref("Workspace")})}},
        "/workspaces/{workspace}": {"get": {"operationId": "getWs", "parameters": [workspace],
                                            "responses": _ok(_ref("Workspace"))}},
        "/repositories": {"get": {"operationId": "listRepos", "responses": _ok({"type": "array",
                                                                                "items": _ref("Repository")})}},
        "/repositories/{workspace}/{repo_slug}": {"get": {"operationId": "getRepo", "parameters": [
            workspace, _param("repo_slug", "slug of the repository")], "responses": _ok(_ref("Repository"))}},
    }, "components": {"schemas": {
        "Workspace": {"type": "object", "properties": {"uuid": uuid, "slug": {"type": "string"}}},
        "Repository": {"type": "object", "properties": {"uuid": uuid, "slug": {"type": "string"},
                                                        "full_name": {"type": "string"}, "workspace_id": uuid}},
    }}})


def test_full_name_is_the_owner_login_and_the_name(app_client, tmp_path: Path):
    """Each listed repository's ``full_name`` is ``{owner.login}/{name}``, the path it answers at; a person's
    ``full_name`` (a user, keyed by one login) stays a person's name."""
    c = app_client(spec=_forge(tmp_path))
    repos = c.get("/repositories").json()
    assert [(r["name"], r["owner"]["login"], r["full_name"]) for r in repos[:3]] == [
        ("olive1", "meadow17", "meadow17/olive1"), ("mint2", "slate28", "slate28/mint2"),
        ("dawn3", "stone36", "stone36/dawn3")]
    assert c.get("/repositories/meadow17/olive1").json() == repos[0]
    assert c.get("/users/meadow17").json() == {"id": 17, "login": "meadow17", "full_name": "Kyle Conner"}


def test_an_embedded_copy_agrees_with_the_repository(app_client, tmp_path: Path):
    """An issue's ``repository`` (``owner`` a string) shows the repository's name, its owner's login and its
    ``full_name``, as the repository reads; so does a comment's issue's, as deep as embeds go."""
    c = app_client(spec=_forge(tmp_path))
    issues = c.get("/repositories/meadow17/olive1/issues").json()
    assert [i["repository"] for i in issues] == [
        {"id": 1, "name": "olive1", "owner": "meadow17", "full_name": "meadow17/olive1"}] * 4
    deep = [comment["issue"]["repository"] for comment in c.get("/comments").json()[:3]]
    assert deep == [{"id": 12, "name": "aspen12", "owner": "slate23", "full_name": "slate23/aspen12"},
                    {"id": 9, "name": "grove9", "owner": "slate28", "full_name": "slate28/grove9"},
                    {"id": 24, "name": "stone24", "owner": "clay21", "full_name": "clay21/stone24"}]


def test_full_name_follows_a_rename_unless_a_write_set_it(app_client, tmp_path: Path):
    """PATCH ``name`` renames ``full_name`` (item, embedded copies), and so does a renamed owner; a
    ``full_name`` a write gives stands; a created repository gets its composite name too."""
    c = app_client(spec=_forge(tmp_path))
    renamed = c.patch("/repositories/meadow17/olive1", json={"name": "amber"})
    assert (renamed.status_code, renamed.json()["full_name"]) == (200, "meadow17/amber")
    assert c.get("/repositories/meadow17/amber").json()["full_name"] == "meadow17/amber"
    assert c.get("/repositories/meadow17/olive1").status_code == 404
    embedded = c.get("/repositories/meadow17/amber/issues").json()[0]["repository"]
    assert (embedded["name"], embedded["full_name"]) == ("amber", "meadow17/amber")
    assert c.patch("/repositories/slate28/mint2", json={"full_name": "mine/own"}).json()["full_name"] == "mine/own"
    assert c.patch("/repositories/slate28/mint2", json={"name": "sage"}).json()["full_name"] == "mine/own"
    assert c.patch("/users/meadow17", json={"login": "kyle"}).json()["login"] == "kyle"
    assert c.get("/repositories/kyle/amber").json()["full_name"] == "kyle/amber"
    assert c.get("/repositories/kyle/amber/issues").json()[0]["repository"]["owner"] == "kyle"
    created = c.post("/repositories", json={"name": "fresh"})
    assert (created.status_code, created.json()["full_name"]) == (201, "frost38/fresh")
    assert created.json()["owner"]["login"] == "frost38"


def test_a_key_named_by_a_reference_is_its_target_key(app_client, tmp_path: Path):
    """``/repositories/{workspace}/{repo_slug}`` of a repository naming its workspace by ``workspace_id``: the
    ``full_name`` is that workspace's slug, then the repository's."""
    c = app_client(spec=_workspaces(tmp_path))
    repos = c.get("/repositories").json()
    workspaces = {w["uuid"]: w["slug"] for w in c.get("/workspaces").json()}
    assert [r["full_name"] for r in repos[:3]] == ["coral21/raven1", "dawn1/sage2", "aspen15/wren3"]
    assert all(r["full_name"] == f"{workspaces[r['workspace_id']]}/{r['slug']}" for r in repos)


def test_a_key_of_the_parent_is_the_parent_key(app_client, tmp_path: Path):
    """The same repositories made children of their workspace by the config: the ``full_name`` starts with
    the parent's slug."""
    config = tmp_path / "config.yaml"
    config.write_text("world:\n  entities:\n    repository:\n      parent: {type: workspace, field: workspace_id}\n")
    c = app_client(spec=_workspaces(tmp_path), config=config)
    repos = c.get("/repositories").json()
    assert [r["full_name"] for r in repos[:3]] == ["dawn1/frost101", "dawn1/oak102", "dawn1/jade103"]
    assert c.get("/repositories/dawn1/oak102").json() == repos[1]


def test_an_embed_as_deep_as_embeds_go_is_the_entity_without_its_own_embeds(app_client, tmp_path: Path):
    """A fork's ``parent`` embeds its own ``parent``: at the depth embeds stop, the repository shows its own
    fields and its owner's (its ``full_name`` agrees with ``owner.login``), and the optional embeds below it
    are left out rather than invented."""
    c = app_client(spec=_forge(tmp_path))
    repo = c.get("/repositories/meadow17/olive1").json()
    chain = [repo, repo["parent"], repo["parent"]["parent"], repo["parent"]["parent"]["parent"]]
    assert [(r["id"], r["full_name"]) for r in chain] == [
        (1, "meadow17/olive1"), (47, "sage18/meadow47"), (27, "indigo1/jade27"), (21, "indigo19/willow21")]
    assert [r["owner"]["login"] for r in chain[:3]] == ["meadow17", "sage18", "indigo1"]
    assert "owner" not in chain[3] and "parent" not in chain[3]
    assert c.get("/repositories/indigo1/jade27").json()["full_name"] == "indigo1/jade27"

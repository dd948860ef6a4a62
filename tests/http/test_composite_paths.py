"""Composite path keys: ``/repos/{owner}/{repo}`` answers only when ``{owner}`` is the key of the repo's owner,
under the item path and every path beneath it; the checker addresses such paths as a client would."""

from __future__ import annotations

from pathlib import Path

from mockverse.check import run_check

HOSTING = """\
openapi: 3.0.3
info: {title: Hosting, version: "1"}
paths:
  /users:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: array, items: {$ref: "#/components/schemas/User"}}
  /users/{username}:
    parameters:
      - {name: username, in: path, required: true, description: username of the user, schema: {type: string}}
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/User"}
        "404": {description: not found}
    patch:
      requestBody:
        content:
          application/json:
            schema: {$ref: "#/components/schemas/UserEdit"}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/User"}
  /repos:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: array, items: {$ref: "#/components/schemas/Repository"}}
  /repos/{owner}/{repo}:
    parameters:
      - {name: owner, in: path, required: true, description: owner of the repo, schema: {type: string}}
      - {name: repo, in: path, required: true, description: name of the repo, schema: {type: string}}
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Repository"}
        "404": {description: not found}
  /repos/{owner}/{repo}/issues:
    parameters:
      - {name: owner, in: path, required: true, description: owner of the repo, schema: {type: string}}
      - {name: repo, in: path, required: true, description: name of the repo, schema: {type: string}}
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: array, items: {$ref: "#/components/schemas/Issue"}}
        "404": {description: not found}
    post:
      requestBody:
        content:
          application/json:
            schema: {$ref: "#/components/schemas/IssueEdit"}
      responses:
        "201":
          description: created
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Issue"}
        "404": {description: not found}
  /repos/{owner}/{repo}/issues/{index}:
    parameters:
      - {name: owner, in: path, required: true, description: owner of the repo, schema: {type: string}}
      - {name: repo, in: path, required: true, description: name of the repo, schema: {type: string}}
      - {name: index, in: path, required: true, schema: {type: integer}}
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Issue"}
        "404": {description: not found}
components:
  schemas:
    User:
      type: object
      properties:
        id: {type: integer}
        login: {type: string}
    UserEdit:
      type: object
      properties:
        login: {type: string}
    Repository:
      type: object
      properties:
        id: {type: integer}
        name: {type: string}
        owner: {$ref: "#/components/schemas/User"}
    IssueEdit:
      type: object
      properties:
        title: {type: string}
    Issue:
      type: object
      properties:
        id: {type: integer}
        number: {type: integer}
        title: {type: string}
"""

NOT_FOUND = {"type": "urn:mockverse:problem:not-found", "title": "Not found", "status": 404,
             "detail": "owner olive33 has no repo amber1", "field": "owner"}
AMBER1 = {"id": 1, "name": "amber1", "owner": {"id": 26, "login": "stone26"}}
ISSUE1 = {"id": 101, "number": 1, "title": "Stay PM listen must environment"}


def _spec(tmp_path: Path) -> Path:
    """The hosting spec (repos keyed by their owner's login and their name, no ``full_name`` field) in a file."""
    path = tmp_path / "hosting.yaml"
    path.write_text(HOSTING)
    return path


def test_the_repo_answers_at_its_owner_s_login_only(app_client, tmp_path):
    """The right owner answers the repo; another user's login is a 404 problem naming ``owner``."""
    c = app_client(spec=_spec(tmp_path))
    assert c.get("/repos").json()[:2] == [AMBER1, {"id": 2, "name": "flint2", "owner": {"id": 33, "login": "olive33"}}]
    assert c.get("/users/olive33").json() == {"id": 33, "login": "olive33"}
    right = c.get("/repos/stone26/amber1")
    assert (right.status_code, right.json()) == (200, AMBER1)
    wrong = c.get("/repos/olive33/amber1")
    assert (wrong.status_code, wrong.headers["content-type"], wrong.json()) == (404, "application/problem+json",
                                                                              NOT_FOUND)


def test_paths_beneath_the_repo_check_its_owner(app_client, tmp_path):
    """A nested list and a nested item under a wrong owner are 404s; under the right owner they answer."""
    c = app_client(spec=_spec(tmp_path))
    issues = c.get("/repos/stone26/amber1/issues")
    assert (issues.status_code, issues.json()) == (200, [ISSUE1, {"id": 102, "number": 2,
                                                                  "title": "Thus participant box"}])
    assert c.get("/repos/stone26/amber1/issues/1").json() == ISSUE1
    for path in ("/repos/olive33/amber1/issues", "/repos/olive33/amber1/issues/1"):
        response = c.get(path)
        assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_a_write_beneath_the_repo_checks_its_owner(app_client, tmp_path):
    """A create under a wrong owner is a 404 and makes nothing; under the right owner it is made there."""
    c = app_client(spec=_spec(tmp_path))
    wrong = c.post("/repos/olive33/amber1/issues", json={"title": "Lost"})
    assert (wrong.status_code, wrong.json()) == (404, NOT_FOUND)
    made = c.post("/repos/stone26/amber1/issues", json={"title": "Found"})
    assert (made.status_code, made.json()["number"], made.json()["title"]) == (201, 3, "Found")
    assert [i["title"] for i in c.get("/repos/stone26/amber1/issues").json()] == [
        "Stay PM listen must environment", "Thus participant box", "Found"]


def test_a_renamed_owner_moves_the_repo_s_path(app_client, tmp_path):
    """After a PATCH of the owner's login the repo answers at the new login, and the old one is a 404."""
    c = app_client(spec=_spec(tmp_path))
    patched = c.patch("/users/stone26", json={"login": "granite"})
    assert (patched.status_code, patched.json()) == (200, {"id": 26, "login": "granite"})
    moved = c.get("/repos/granite/amber1")
    assert (moved.status_code, moved.json()) == (200, {**AMBER1, "owner": {"id": 26, "login": "granite"}})
    old = c.get("/repos/stone26/amber1")
    assert (old.status_code, old.json()) == (404, {**NOT_FOUND, "detail": "owner stone26 has no repo amber1"})
    assert c.get("/repos/granite/amber1/issues/1").status_code == 200


def test_the_checker_fills_the_owner_and_counts_a_wrong_one(tmp_path):
    """`mockverse check` fills ``{owner}`` with the repo's owner's login (every path answers, its create reads back),
    and asks each GET beneath ``/repos/{owner}/{repo}`` once with another owner's login: 3 more nested checks,
    each a 404."""
    report = run_check(str(_spec(tmp_path)))
    assert report.findings == []
    assert report.counts == {"served": [9, 9], "schema": [25, 25], "links": [3, 3], "nested": [11, 11],
                             "item_list": [3, 3], "writes": [1, 1], "members": [0, 0], "determinism": [6, 6]}

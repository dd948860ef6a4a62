"""A key a composite path scopes is unique per owner, not per type: ``/repos/{owner}/{repo}`` lets two owners each
have a repository named ``amber1``. A create giving a name the same owner already has is a 409; another owner's
repository of that name is no conflict, and each answers at its own owner's path."""

from __future__ import annotations

from pathlib import Path

from test_composite_paths import AMBER1, HOSTING

CREATES = HOSTING.replace("""  /repos:
    get:""", """  /repos:
    post:
      requestBody:
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Repository"}
      responses:
        "201":
          description: made
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Repository"}
    get:""")


def _spec(tmp_path: Path) -> Path:
    path = tmp_path / "hosting.yaml"
    path.write_text(CREATES)
    return path


def test_two_owners_each_have_a_repo_of_one_name(app_client, tmp_path):
    """olive33 makes its own amber1 beside stone26's: 201, each answers at its owner's path; olive33 making a
    second amber1 is a 409 naming ``name`` and the repo holding it."""
    c = app_client(spec=_spec(tmp_path))
    made = c.post("/repos", json={"name": "amber1", "owner": {"id": 33}})
    assert (made.status_code, made.json()) == (201, {"id": 51, "name": "amber1",
                                                     "owner": {"id": 33, "login": "olive33"}})
    assert c.get("/repos/olive33/amber1").json() == made.json()
    assert c.get("/repos/stone26/amber1").json() == AMBER1
    again = c.post("/repos", json={"name": "amber1", "owner": {"id": 33}})
    assert (again.status_code, again.json()["field"], again.json()["held_by"]) == (409, "name", 51)

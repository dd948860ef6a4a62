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


def test_two_created_repos_of_one_name_under_two_owners_both_stand(app_client, tmp_path):
    """Both made by writes (both indexed in the store): each answers at its owner's path, and the store does not
    refuse the second (a key scoped by owner is indexed per owner, not claimed type-wide)."""
    c = app_client(spec=_spec(tmp_path))
    first = c.post("/repos", json={"name": "twin", "owner": {"id": 26}})
    second = c.post("/repos", json={"name": "twin", "owner": {"id": 33}})
    assert (first.status_code, second.status_code) == (201, 201)
    assert c.get("/repos/stone26/twin").json() == {"id": 51, "name": "twin", "owner": {"id": 26, "login": "stone26"}}
    assert c.get("/repos/olive33/twin").json() == {"id": 52, "name": "twin", "owner": {"id": 33, "login": "olive33"}}


def test_a_bulk_create_gives_one_name_to_two_owners(app_client, tmp_path):
    """One array naming ``pair`` for two owners makes both; naming it twice for one owner is a 409 naming the
    second item, and stores neither."""
    bulk = CREATES.replace('''            schema: {$ref: "#/components/schemas/Repository"}
      responses:
        "201":''', '''            schema: {type: array, items: {$ref: "#/components/schemas/Repository"}}
      responses:
        "201":''', 1)
    path = tmp_path / "bulk.yaml"
    path.write_text(bulk)
    c = app_client(spec=path)
    made = c.post("/repos", json=[{"name": "pair", "owner": {"id": 26}}, {"name": "pair", "owner": {"id": 33}}])
    assert made.status_code == 201
    assert [c.get(f"/repos/{o}/pair").status_code for o in ("stone26", "olive33")] == [200, 200]
    twice = c.post("/repos", json=[{"name": "twin", "owner": {"id": 26}}, {"name": "twin", "owner": {"id": 26}}])
    assert (twice.status_code, twice.json()["field"]) == (409, "$[1].name")
    assert c.get("/repos/stone26/twin").status_code == 404

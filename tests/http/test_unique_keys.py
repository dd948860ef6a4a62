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


def _apps(tmp_path: Path, nullable: bool = True, bulk: bool = False) -> Path:
    """svix-like apps: a prefixed id, a ``uid`` shaped like ``{app_id}`` (an alternative key), a name; created at
    ``/apps`` (``bulk``: an array of them), read, replaced and changed at ``/apps/{app_id}``."""
    props = {"id": {"type": "string", "example": "app_1srOrx2ZWZBpBUvZwXKQmoEYga2"},
             "uid": {**UID, "nullable": nullable}, "name": {"type": "string", "example": "My first application"}}
    schema = {"type": "object", "properties": props}
    one = {"type": "object", "properties": {k: v for k, v in props.items() if k != "id"}}
    body = {"content": {"application/json": {"schema": one}}}
    created = {"content": {"application/json": {"schema": {"type": "array", "items": one}}}} if bulk else body
    param = [{"name": "app_id", "in": "path", "required": True, "schema": UID}]
    spec = {"openapi": "3.0.3", "info": {"title": "apps", "version": "1"}, "paths": {
        "/apps": {"get": {"operationId": "list", "responses": _ok({"type": "array", "items": schema})},
                  "post": {"operationId": "create", "requestBody": created,
                           "responses": _ok({"type": "array", "items": schema} if bulk else schema, "201")}},
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


def test_a_bulk_create_with_a_held_or_repeated_uid_stores_none(app_client, tmp_path: Path):
    """A bulk create whose second item gives a held uid, or the uid its first item gives, is a 409 naming that
    item's field; none of its items is stored. Distinct free uids are all created."""
    c = app_client(spec=_apps(tmp_path, bulk=True))
    first = c.get("/apps").json()[0]
    _conflict(c.post("/apps", json=[{"uid": "fresh"}, {"uid": "olive-1"}]), "$[1].uid", first["id"],
              f"app {first['id']} already has uid 'olive-1': uid must be one no other app holds")
    twice = c.post("/apps", json=[{"uid": "fresh"}, {"uid": "fresh"}])
    assert (twice.status_code, twice.headers["content-type"], twice.json()["field"], twice.json()["detail"]) == (
        409, PROBLEM, "$[1].uid", "items 0 and 1 both give uid 'fresh': uid must be one no other app holds")
    assert (len(c.get("/apps").json()), c.get("/apps/fresh").status_code) == (50, 404)
    made = c.post("/apps", json=[{"uid": "fresh"}, {"uid": "other"}])
    assert (made.status_code, [a["uid"] for a in made.json()]) == (201, ["fresh", "other"])


def test_the_conflict_holds_after_a_restart(app_client, tmp_path: Path):
    """Keys live in stored data: a new app over the same store still refuses a taken uid."""
    spec, store = _apps(tmp_path), tmp_path / "apps.db"
    mine = app_client(spec=spec, store=store).post("/apps", json={"name": "Billing", "uid": "billing"}).json()
    again = app_client(spec=spec, store=store)
    _conflict(again.post("/apps", json={"name": "Copy", "uid": "billing"}), "uid", mine["id"],
              f"app {mine['id']} already has uid 'billing': uid must be one no other app holds")
    assert again.get("/apps/billing").json() == mine


INDEX = {"name": "index", "in": "path", "required": True, "schema": {"type": "integer", "format": "int64"}}
REPO = {"name": "repo", "in": "path", "required": True, "schema": {"type": "integer"}}


def _issues(tmp_path: Path) -> Path:
    """Repositories whose issues answer at ``/repos/{repo}/issues/{index}`` (their ``number``), created, changed
    and replaced there."""
    repo = {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}
    issue = {"type": "object", "properties": {
        "id": {"type": "integer"}, "number": {"type": "integer"}, "title": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"}}}
    write = {"content": {"application/json": {"schema": {"type": "object", "properties": {
        "title": {"type": "string"}, "number": {"type": "integer"}}}}}}
    spec = {"openapi": "3.0.3", "info": {"title": "numbers", "version": "1"}, "paths": {
        "/repos": {"get": {"operationId": "repos", "responses": _ok({"type": "array", "items": repo})}},
        "/repos/{repo}": {"get": {"operationId": "repo", "parameters": [REPO], "responses": _ok(repo)}},
        "/repos/{repo}/issues": {
            "get": {"operationId": "issues", "parameters": [REPO], "responses": _ok({"type": "array", "items": issue})},
            "post": {"operationId": "newIssue", "parameters": [REPO], "requestBody": write,
                     "responses": _ok(issue, "201")}},
        "/repos/{repo}/issues/{index}": {"parameters": [REPO, INDEX],
                                         "get": {"operationId": "issue", "responses": _ok(issue)},
                                         "patch": {"operationId": "editIssue", "requestBody": write,
                                                   "responses": _ok(issue)}}}}
    path = tmp_path / "issues.json"
    path.write_text(json.dumps(spec))
    (tmp_path / "config.yaml").write_text("world:\n  entities:\n    issue:\n      count: [3, 4]\n")
    return path


def test_a_patch_of_a_number_a_sibling_has_is_refused(app_client, tmp_path: Path):
    """Issue 1 of a repository cannot take number 2 (a generated sibling's), nor a created sibling's number, nor can
    a new issue be created with number 2: a 409 naming ``number`` and the holder; a number below 1 is a 422 naming
    it; the issue still answers at 1."""
    c = app_client(spec=_issues(tmp_path), config=tmp_path / "config.yaml")
    one, two = (c.get(f"/repos/1/issues/{n}").json() for n in (1, 2))
    assert (one["number"], two["number"]) == (1, 2)
    refused = c.patch("/repos/1/issues/1", json={"number": 2})
    _conflict(refused, "number", two["id"], f"issue {two['id']} already has number 2 in repo 1: number must be "
              "one no sibling has")
    made = c.post("/repos/1/issues", json={"title": "New"}).json()
    _conflict(c.patch("/repos/1/issues/1", json={"number": made["number"]}), "number", made["id"],
              f"issue {made['id']} already has number {made['number']} in repo 1: number must be one no sibling has")
    _conflict(c.post("/repos/1/issues", json={"title": "Copy", "number": 2}), "number", two["id"],
              f"issue {two['id']} already has number 2 in repo 1: number must be one no sibling has")
    low = c.patch("/repos/1/issues/1", json={"number": 0})
    assert (low.status_code, low.headers["content-type"], low.json()["field"]) == (422, PROBLEM, "number")
    assert c.get("/repos/1/issues/1").json() == one


def test_a_renumbered_issue_answers_at_its_new_number(app_client, tmp_path: Path):
    """A generated issue and a created one PATCHed to free numbers answer there (and no longer at the old ones),
    keep their own number when it is given again, and the repository's next issue is numbered above them."""
    c = app_client(spec=_issues(tmp_path), config=tmp_path / "config.yaml")
    one = c.get("/repos/1/issues/1").json()
    assert c.patch("/repos/1/issues/1", json={"number": 1, "title": "Same"}).status_code == 200
    moved = c.patch("/repos/1/issues/1", json={"number": 40})
    assert (moved.status_code, moved.json()["id"], moved.json()["number"]) == (200, one["id"], 40)
    assert c.get("/repos/1/issues/40").json() == moved.json()
    assert c.get("/repos/1/issues/1").status_code == 404
    made = c.post("/repos/1/issues", json={"title": "New"}).json()
    assert made["number"] == 41
    assert c.patch(f"/repos/1/issues/{made['number']}", json={"number": 1}).json()["number"] == 1
    assert c.get("/repos/1/issues/1").json()["id"] == made["id"]
    assert c.get("/repos/1/issues/41").status_code == 404
    assert sorted(i["number"] for i in c.get("/repos/1/issues").json()) == [1, 2, 3, 4, 40]
    given = c.post("/repos/1/issues", json={"title": "Given", "number": 30}).json()
    assert c.get("/repos/1/issues/30").json() == given


def _seats(tmp_path: Path) -> Path:
    """People, groups and each group's seats (an id of their own and a ``person_id``): ``{seat}`` is "either the
    `id` or the `person_id`", and a seat is changed (PATCH) there."""
    integer = {"type": "integer"}
    group = {"name": "group_id", "in": "path", "required": True, "schema": integer}
    seat = {"name": "seat", "in": "path", "required": True, "schema": integer,
            "description": "The seat: either the `id` or the `person_id` of the Seat."}
    person = {"type": "object", "properties": {"id": integer, "name": {"type": "string"}}}
    schema = {"type": "object", "properties": {"id": integer, "person_id": integer, "row": {"type": "string"}}}
    write = {"content": {"application/json": {"schema": {"type": "object", "properties": {
        "person_id": integer, "row": {"type": "string"}}}}}}
    spec = {"openapi": "3.0.3", "info": {"title": "seats", "version": "1"}, "paths": {
        "/people": {"get": {"operationId": "people", "responses": _ok({"type": "array", "items": person})}},
        "/people/{person_id}": {"get": {"operationId": "person", "responses": _ok(person), "parameters": [
            {"name": "person_id", "in": "path", "required": True, "schema": integer}]}},
        "/groups": {"get": {"operationId": "groups", "responses": _ok({"type": "array", "items": {
            "type": "object", "properties": {"id": integer}}})}},
        "/groups/{group_id}": {"get": {"operationId": "group", "parameters": [group], "responses": _ok({
            "type": "object", "properties": {"id": integer}})}},
        "/groups/{group_id}/seats": {"get": {"operationId": "seats", "parameters": [group],
                                             "responses": _ok({"type": "array", "items": schema})}},
        "/groups/{group_id}/seats/{seat}": {"parameters": [group, seat],
                                            "get": {"operationId": "getSeat", "responses": _ok(schema)},
                                            "patch": {"operationId": "editSeat", "requestBody": write,
                                                      "responses": _ok(schema)}}}}
    path = tmp_path / "seats.json"
    path.write_text(json.dumps(spec))
    return path


def test_a_patch_to_a_person_a_sibling_seat_holds_is_refused(app_client, tmp_path: Path):
    """A seat PATCHed to the person another seat of its group holds is a 409 naming ``person_id`` and that seat;
    to a person no seat of its group holds, it answers at that person."""
    c = app_client(spec=_seats(tmp_path))
    assert [(s["id"], s["person_id"]) for s in c.get("/groups/5/seats").json()] == [
        (501, 7), (502, 38), (503, 19), (504, 50)]
    _conflict(c.patch("/groups/5/seats/501", json={"person_id": 38}), "person_id", 502,
              "group 5 already has a seat with person_id 38: person_id must be one no other seat of it holds")
    assert c.patch("/groups/5/seats/501", json={"person_id": 7, "row": "B"}).status_code == 200
    moved = c.patch("/groups/5/seats/7", json={"person_id": 12})
    assert (moved.status_code, moved.json()["id"]) == (200, 501)
    assert c.get("/groups/5/seats/12").json() == moved.json()


def test_a_key_a_write_gave_is_found_in_a_large_world(app_client, tmp_path: Path):
    """Among a million generated apps, a created app answers at its uid and a second create of that uid is a 409:
    the key is found by one indexed lookup, not by reading the type's apps in turn."""
    (tmp_path / "config.yaml").write_text("world:\n  entities:\n    app:\n      population: 1000000\n")
    c = app_client(spec=_apps(tmp_path), config=tmp_path / "config.yaml")
    mine = c.post("/apps", json={"name": "Late", "uid": "late"}).json()
    assert c.get("/apps/late").json() == mine
    _conflict(c.post("/apps", json={"uid": "late"}), "uid", mine["id"],
              f"app {mine['id']} already has uid 'late': uid must be one no other app holds")
    assert c.get("/apps/nobody").status_code == 404


def test_a_redis_store_keeps_keys_for_every_instance(app_client, redis_server, tmp_path: Path):
    """On a Redis store (two instances sharing it) a uid one instance created answers at the other, and is a 409
    there; renamed on the other, the first finds it at its new uid only."""
    spec = _apps(tmp_path)
    a, b = app_client(spec=spec, store=redis_server.url), app_client(spec=spec, store=redis_server.url)
    mine = a.post("/apps", json={"name": "Billing", "uid": "billing"}).json()
    assert b.get("/apps/billing").json() == mine
    _conflict(b.post("/apps", json={"uid": "billing"}), "uid", mine["id"],
              f"app {mine['id']} already has uid 'billing': uid must be one no other app holds")
    assert b.patch("/apps/billing", json={"uid": "invoices"}).status_code == 200
    assert (a.get("/apps/invoices").json()["id"], a.get("/apps/billing").status_code) == (mine["id"], 404)

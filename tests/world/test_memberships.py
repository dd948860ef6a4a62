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
    """Users and orgs, an org's members listed as ``User``\\ s and checked, added and removed by username; the
    users the caller follows, likewise without a parent."""
    many = lambda name: {"type": "array", "items": _ref(name)}  # noqa: E731 - a one-line schema builder
    member = [_param("org"), _param("username")]
    spec = {"openapi": "3.0.3", "info": {"title": "orgs", "version": "1"}, "paths": {
        "/users": {"get": {"operationId": "userList", "responses": _ok(many("User"))},
                   "post": {"operationId": "userCreate",
                            "requestBody": {"content": {"application/json": {"schema": _ref("User")}}},
                            "responses": {"201": {"description": "made",
                                                  "content": {"application/json": {"schema": _ref("User")}}}}}},
        "/users/{username}": {
            "get": {"operationId": "userGet", "parameters": [_param("username")], "responses": _ok(_ref("User"))},
            "delete": {"operationId": "userDelete", "parameters": [_param("username")], "responses": _empty("204")},
        },
        "/orgs": {"get": {"operationId": "orgList", "responses": _ok(many("Org"))}},
        "/orgs/{org}": {"get": {"operationId": "orgGet", "parameters": [_param("org")], "responses": _ok(_ref("Org"))}},
        "/orgs/{org}/members": {
            "get": {"operationId": "memberList", "parameters": [_param("org")], "responses": _ok(many("User"))},
            "post": {"operationId": "memberInvite", "parameters": [_param("org")],
                     "requestBody": {"content": {"application/json": {"schema": _ref("User")}}},
                     "responses": {"201": {"description": "added",
                                           "content": {"application/json": {"schema": _ref("User")}}}}},
        },
        "/orgs/{org}/members/{username}": {
            "get": {"operationId": "memberCheck", "parameters": member,
                    "responses": {**_empty("204"), **_empty("404")}},
            "put": {"operationId": "memberAdd", "parameters": member, "responses": _empty("204")},
            "delete": {"operationId": "memberRemove", "parameters": member, "responses": _empty("204")},
        },
        "/user/following": {"get": {"operationId": "followingList", "responses": _ok(many("User"))}},
        "/user/following/{username}": {
            "get": {"operationId": "followingCheck", "parameters": [_param("username")],
                    "responses": {**_empty("204"), **_empty("404")}},
            "put": {"operationId": "follow", "parameters": [_param("username")], "responses": _empty("204")},
            "delete": {"operationId": "unfollow", "parameters": [_param("username")], "responses": _empty("204")},
        },
    }, "components": {"schemas": {
        "User": {"type": "object", "properties": {"id": {"type": "integer"}, "login": {"type": "string"},
                                                  "full_name": {"type": "string"}, "email": {"type": "string"}}},
        "Org": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
    }}}
    path = tmp_path / "orgs.json"
    path.write_text(json.dumps(spec))
    return path


def _logins(c, org: int) -> tuple[list[str], str]:
    """The logins an org's member list shows, and the count its header gives."""
    answer = c.get(f"/orgs/{org}/members")
    return [m["login"] for m in answer.json()], answer.headers["x-total-count"]


def test_check_measures_whether_listed_members_are_the_world_s_users(tmp_path: Path):
    """``members``: each listed member (3 of each list looked at: 3 orgs', the followed) equals ``GET
    /users/{login}``; a POST naming an existing user reads back as a member (the check answers 204) beside the
    user's own create, a PUT is a call, not a field update."""
    report = run_check(str(_spec(tmp_path)))
    assert (report.counts["members"], report.counts["writes"]) == ([12, 12], [2, 2])
    assert report.findings == []


def test_an_org_s_members_are_distinct_users_with_the_users_own_bodies(app_client, tmp_path: Path):
    """Org 1 lists users 4-7, org 2 users 10-13; each body is what ``GET /users/{login}`` answers; pages and
    filters work on them as on any list."""
    c = app_client(spec=_spec(tmp_path))
    assert _logins(c, 1) == (["frost4", "sparrow5", "cedar6", "dawn7"], "4")
    assert _logins(c, 2) == (["sparrow10", "ember11", "lark12", "iris13"], "4")
    for member in c.get("/orgs/1/members").json() + c.get("/orgs/2/members").json():
        assert c.get(f"/users/{member['login']}").json() == member
    assert c.get("/orgs/1/members").json()[0] == {"id": 4, "login": "frost4", "full_name": "Shirley Foster",
                                                  "email": "shirley_foster@hotmail.com"}
    page = c.get("/orgs/1/members?_per_page=2&_page=2")
    assert ([m["login"] for m in page.json()], page.headers["x-total-count"]) == (["cedar6", "dawn7"], "4")
    assert [m["login"] for m in c.get("/orgs/1/members?login=dawn7").json()] == ["dawn7"]


def test_a_membership_check_answers_204_for_a_member_and_404_for_anyone_else(app_client, tmp_path: Path):
    """By login or by the user's id: 204 for a member of that org; 404 naming the user otherwise."""
    c = app_client(spec=_spec(tmp_path))
    assert [c.get(f"/orgs/1/members/{key}").status_code for key in ("frost4", "4", "dawn7")] == [204, 204, 204]
    other = c.get("/orgs/1/members/sparrow10")
    assert (other.status_code, other.json()["detail"]) == (404, "user sparrow10 is not a member of org 1")
    nobody = c.get("/orgs/1/members/nobody")
    assert (nobody.status_code, nobody.json()["detail"]) == (404, "user nobody does not exist")


def test_put_makes_a_user_a_member_once_and_delete_ends_the_membership(app_client, tmp_path: Path):
    """PUT adds indigo1 (listed last, counted; a second PUT adds nothing); DELETE removes frost4 from the list
    and the count, and the user stays."""
    c = app_client(spec=_spec(tmp_path))
    assert c.put("/orgs/1/members/indigo1").status_code == 204
    assert c.get("/orgs/1/members/indigo1").status_code == 204
    assert _logins(c, 1) == (["frost4", "sparrow5", "cedar6", "dawn7", "indigo1"], "5")
    assert c.get("/orgs/1/members").json()[-1] == c.get("/users/indigo1").json()
    assert c.put("/orgs/1/members/indigo1").status_code == 204
    assert _logins(c, 1) == (["frost4", "sparrow5", "cedar6", "dawn7", "indigo1"], "5")
    assert c.put("/orgs/1/members/nobody").status_code == 404
    assert c.delete("/orgs/1/members/frost4").status_code == 204
    assert c.get("/orgs/1/members/frost4").status_code == 404
    assert _logins(c, 1) == (["sparrow5", "cedar6", "dawn7", "indigo1"], "4")
    assert c.get("/users/frost4").json()["login"] == "frost4"
    assert _logins(c, 2) == (["sparrow10", "ember11", "lark12", "iris13"], "4")
    assert c.delete("/orgs/1/members/indigo1").status_code == 204
    assert c.put("/orgs/1/members/frost4").status_code == 204
    assert _logins(c, 1) == (["sparrow5", "cedar6", "dawn7", "frost4"], "4")


def test_a_membership_a_write_made_answers_after_a_restart(app_client, tmp_path: Path):
    """The member a PUT named lives in stored data: a new app over the same store lists it."""
    spec, store = _spec(tmp_path), tmp_path / "kept.db"
    assert app_client(spec=spec, store=store).put("/orgs/2/members/indigo1").status_code == 204
    again = app_client(spec=spec, store=store)
    assert _logins(again, 2) == (["sparrow10", "ember11", "lark12", "iris13", "indigo1"], "5")
    assert again.get("/orgs/2/members/indigo1").status_code == 204


def test_post_to_the_list_adds_the_user_its_body_names(app_client, tmp_path: Path):
    """POST ``{login}`` answers the user and lists it once however often it is posted; an unknown login is a
    422 naming the fields a member is named by."""
    c = app_client(spec=_spec(tmp_path))
    added = c.post("/orgs/1/members", json={"login": "wren2"})
    assert (added.status_code, added.json()) == (201, c.get("/users/wren2").json())
    assert c.post("/orgs/1/members", json={"id": 2}).json()["login"] == "wren2"
    assert _logins(c, 1) == (["frost4", "sparrow5", "cedar6", "dawn7", "wren2"], "5")
    unknown = c.post("/orgs/1/members", json={"login": "nobody"})
    assert (unknown.status_code, unknown.json()["detail"], unknown.json()["field"]) == \
        (422, "a member names an existing user by id or login", "login")


def test_the_users_one_follows_are_the_world_s_users_each_once(app_client, tmp_path: Path):
    """``/user/following`` (no parent): one entry per user at most, each the user's own body; DELETE unfollows
    (gone from the list and the count), PUT follows again."""
    c = app_client(spec=_spec(tmp_path))
    first = c.get("/user/following?_per_page=3")
    assert ([u["login"] for u in first.json()], first.headers["x-total-count"]) == \
        (["maple40", "sparrow41", "moss42"], "50")
    assert all(c.get(f"/users/{u['login']}").json() == u for u in first.json())
    everyone = c.get("/user/following?_per_page=50").json()
    assert len({u["id"] for u in everyone}) == 50
    assert c.delete("/user/following/moss42").status_code == 204
    assert c.get("/user/following/moss42").status_code == 404
    after = c.get("/user/following?_per_page=3")
    assert ([u["login"] for u in after.json()], after.headers["x-total-count"]) == \
        (["maple40", "sparrow41", "flint43"], "49")
    assert c.put("/user/following/moss42").status_code == 204
    assert c.get("/user/following/moss42").status_code == 204
    assert c.get("/user/following").headers["x-total-count"] == "50"


def test_a_deleted_user_is_no_one_s_member_nor_followed(app_client, tmp_path: Path):
    """Deleting sparrow5 (a member of org 1) and sparrow41 (followed) takes them out of both lists and counts,
    and neither can be added back."""
    c = app_client(spec=_spec(tmp_path))
    assert c.delete("/users/sparrow5").status_code == 204
    assert c.delete("/users/sparrow41").status_code == 204
    assert _logins(c, 1) == (["frost4", "cedar6", "dawn7"], "3")
    followed = c.get("/user/following?_per_page=3")
    assert ([u["login"] for u in followed.json()], followed.headers["x-total-count"]) == \
        (["maple40", "moss42", "flint43"], "48")   # the caller followed both
    assert [c.put(path).status_code for path in ("/orgs/1/members/sparrow5", "/user/following/sparrow41")] == \
        [404, 404]


def test_a_user_a_client_made_can_be_followed_and_made_a_member(app_client, tmp_path: Path):
    """A user made by POST /users is followed by PUT (once: the list grows by one) and joins an org."""
    c = app_client(spec=_spec(tmp_path))
    made = c.post("/users", json={"login": "newcomer", "full_name": "New Comer"}).json()
    assert c.get("/user/following/newcomer").status_code == 404
    assert [c.put("/user/following/newcomer").status_code for _ in range(2)] == [204, 204]
    assert c.get("/user/following/newcomer").status_code == 204
    assert c.get("/user/following").headers["x-total-count"] == "51"
    assert c.get("/user/following?_per_page=100").json()[-1] == made
    assert c.put("/orgs/1/members/newcomer").status_code == 204
    assert _logins(c, 1) == (["frost4", "sparrow5", "cedar6", "dawn7", "newcomer"], "5")


def test_the_world_description_names_what_a_membership_s_entities_are(app_client, tmp_path: Path):
    """``member_of`` in the world's types: members and the followed are users; users and orgs are their own."""
    c = app_client(spec=_spec(tmp_path))
    rows = {row["name"]: row["member_of"] for row in c.get("/api/v1/consistency/world").json()["entity_types"]}
    assert rows == {"user": None, "member": "user", "following": "user", "org": None}

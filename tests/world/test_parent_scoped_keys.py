"""Keys unique only among a parent's children: ``/teams/{team_id}/memberships/{person_id}`` names a membership by
the id of the person it embeds, ``/rooms/{room_id}/seats/{seat}`` ("either the `id` or the `person_id`") a seat by
the person id it holds. The item path looks among that parent's children only; the children of one parent hold
distinct people, so the lookup is unambiguous; a value no child of that parent holds is a 404."""

from __future__ import annotations

import json
from pathlib import Path

from mockverse.check import build_world, client_of

INT = {"type": "integer"}


def _ok(schema: dict, status: str = "200") -> dict:
    return {status: {"description": "ok", "content": {"application/json": {"schema": schema}}}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _param(name: str, description: str = "") -> dict:
    return {"name": name, "in": "path", "required": True, "schema": INT, "description": description}


def _spec(tmp_path: Path, child: str, item_param: dict, child_schema: dict) -> Path:
    """People, parents (``/groups``) and their ``child`` list, item path keyed by ``item_param``, with a create."""
    group_param = _param("group_id")
    paths = {
        "/people": {"get": {"operationId": "listPeople", "responses": _ok({"type": "array", "items": _ref("Person")})}},
        "/people/{person_id}": {"get": {"operationId": "getPerson", "parameters": [_param("person_id")],
                                        "responses": _ok(_ref("Person"))}},
        "/groups": {"get": {"operationId": "listGroups", "responses": _ok({"type": "array", "items": _ref("Group")})}},
        "/groups/{group_id}": {"get": {"operationId": "getGroup", "parameters": [group_param],
                                       "responses": _ok(_ref("Group"))}},
        f"/groups/{{group_id}}/{child}": {
            "get": {"operationId": "listChildren", "parameters": [group_param],
                    "responses": _ok({"type": "array", "items": _ref("Child")})},
            "post": {"operationId": "addChild", "parameters": [group_param],
                     "requestBody": {"content": {"application/json": {"schema": _ref("Child")}}},
                     "responses": _ok(_ref("Child"), "201")}},
        f"/groups/{{group_id}}/{child}/{{{item_param['name']}}}": {
            "get": {"operationId": "getChild", "parameters": [group_param, item_param],
                    "responses": _ok(_ref("Child"))},
            "put": {"operationId": "putChild", "parameters": [group_param, item_param],
                    "requestBody": {"content": {"application/json": {"schema": {
                        "type": "object", "properties": {"role": {"type": "string"}}}}}},
                    "responses": _ok(_ref("Child"), "201")}},
    }
    schemas = {"Person": {"type": "object", "properties": {"id": INT, "name": {"type": "string"}}},
               "Group": {"type": "object", "properties": {"id": INT, "title": {"type": "string"}}},
               "Child": child_schema}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({"openapi": "3.0.3", "info": {"title": "groups", "version": "1"}, "paths": paths,
                                "components": {"schemas": schemas}}))
    return path


def _memberships(tmp_path: Path) -> Path:
    """Memberships with no id of their own, each embedding its ``person``; the item path takes ``{person_id}``."""
    return _spec(tmp_path, "memberships", _param("person_id"), {
        "type": "object", "required": ["person", "role"],
        "properties": {"person": _ref("Person"), "role": {"type": "string", "enum": ["owner", "guest"]}}})


def _seats(tmp_path: Path, param: dict) -> Path:
    """Seats with an id of their own and a ``person_id`` link; the item path takes ``param``."""
    return _spec(tmp_path, "seats", param, {"type": "object", "properties": {
        "id": INT, "person_id": INT, "row": {"type": "string"}}})


def _persons(listing: list[dict]) -> list[int]:
    return [m["person"]["id"] for m in listing]


def test_a_membership_answers_at_the_id_of_the_person_it_embeds(app_client, tmp_path: Path):
    """Each listed membership answers at its person's id, the same body as the list shows; its body has no
    invented id."""
    c = app_client(spec=_memberships(tmp_path))
    listing = c.get("/groups/5/memberships").json()
    assert listing == [{"person": {"id": 22, "name": "Courtney Patton"}, "role": "guest"},
                       {"person": {"id": 19, "name": "Melinda Davis"}, "role": "owner"},
                       {"person": {"id": 16, "name": "Anna Cook"}, "role": "owner"},
                       {"person": {"id": 13, "name": "Joshua Pham"}, "role": "owner"}]
    for membership in listing:
        answer = c.get(f"/groups/5/memberships/{membership['person']['id']}")
        assert (answer.status_code, answer.json()) == (200, membership)


def test_the_people_of_one_parent_are_distinct(tmp_path: Path):
    """No two memberships of one group embed the same person (so a person id names one membership)."""
    world = build_world(str(_memberships(tmp_path)), "42")
    with world, client_of(world) as c:
        sizes = []
        for group in range(1, 21):
            persons = _persons(c.get(f"/groups/{group}/memberships").json())
            assert len(persons) == len(set(persons)), (group, persons)
            sizes.append(len(persons))
        assert sizes == [2, 2, 1, 2, 4, 1, 1, 2, 1, 4, 1, 1, 0, 1, 3, 2, 1, 0, 1, 4]


def test_an_unknown_key_and_another_parents_key_are_404s(app_client, tmp_path: Path):
    """A person no membership of the group embeds is a 404 problem naming the parameter, even when a membership
    of another group embeds that person; a person id is never read as the membership's own id."""
    c = app_client(spec=_memberships(tmp_path))
    assert _persons(c.get("/groups/5/memberships").json()) == [22, 19, 16, 13]
    assert _persons(c.get("/groups/4/memberships").json()) == [46, 3]
    for path in ("/groups/5/memberships/46", "/groups/5/memberships/99999", "/groups/5/memberships/501"):
        answer = c.get(path)
        assert (answer.status_code, answer.headers["content-type"]) == (404, "application/problem+json"), path
        assert answer.json()["field"] == "person_id"


def test_a_created_membership_answers_at_its_person(app_client, tmp_path: Path):
    """A membership created with a person answers at that person's id under its group, and only there."""
    c = app_client(spec=_memberships(tmp_path))
    made = c.post("/groups/2/memberships", json={"person": {"id": 7}, "role": "guest"})
    assert (made.status_code, made.json()) == (201, {"person": {"id": 7, "name": "Jesse Ray"}, "role": "guest"})
    assert c.get("/groups/2/memberships/7").json() == made.json()
    assert _persons(c.get("/groups/2/memberships").json()) == [28, 27, 7]
    assert c.get("/groups/3/memberships/7").status_code == 404


def test_a_put_at_a_person_the_group_lacks_adds_the_membership(app_client, tmp_path: Path):
    """``PUT /groups/2/memberships/7`` (person 7 no membership of group 2 holds) adds one holding person 7, found
    at that path after; a PUT at a held person changes that membership; a person who does not exist is a 404."""
    c = app_client(spec=_memberships(tmp_path))
    added = c.put("/groups/2/memberships/7", json={"role": "guest"})
    assert (added.status_code, added.json(), added.headers["location"]) == (
        201, {"person": {"id": 7, "name": "Jesse Ray"}, "role": "guest"}, "/groups/2/memberships/7")
    assert c.get("/groups/2/memberships/7").json() == added.json()
    assert _persons(c.get("/groups/2/memberships").json()) == [28, 27, 7]
    changed = c.put("/groups/2/memberships/28", json={"role": "guest"})
    assert (changed.json()["person"]["id"], changed.json()["role"]) == (28, "guest")
    assert _persons(c.get("/groups/2/memberships").json()) == [28, 27, 7]
    nobody = c.put("/groups/2/memberships/9999", json={"role": "guest"})
    assert (nobody.status_code, nobody.json()["field"], nobody.json()["detail"]) == (
        404, "person_id", "person 9999 does not exist")


def test_a_second_membership_of_the_same_person_is_refused(app_client, tmp_path: Path):
    """A group's membership of a person it already has is a 409 naming ``person.id``; another group takes it."""
    c = app_client(spec=_memberships(tmp_path))
    twice = c.post("/groups/2/memberships", json={"person": {"id": 28}, "role": "guest"})
    assert (twice.status_code, twice.headers["content-type"]) == (409, "application/problem+json")
    assert (twice.json()["field"], twice.json()["detail"]) == (
        "person.id", "group 2 already has a membership with person.id 28: person.id must be one no other "
                     "membership of it holds")
    assert _persons(c.get("/groups/2/memberships").json()) == [28, 27]
    assert c.post("/groups/3/memberships", json={"person": {"id": 28}, "role": "guest"}).status_code == 201
    assert c.get("/groups/3/memberships/28").json()["person"]["id"] == 28


def test_a_seat_answers_at_its_id_or_the_person_it_holds(app_client, tmp_path: Path):
    """``{seat}`` "either the `id` or the `person_id`": a seat (with an id of its own) answers at both."""
    spec = _seats(tmp_path, _param("seat", "The seat: either the `id` or the `person_id` of the Seat."))
    c = app_client(spec=spec)
    listing = c.get("/groups/5/seats").json()
    assert [(s["id"], s["person_id"]) for s in listing] == [(501, 7), (502, 38), (503, 19), (504, 50)]
    for seat in listing:
        assert c.get(f"/groups/5/seats/{seat['id']}").json() == seat
        assert c.get(f"/groups/5/seats/{seat['person_id']}").json() == seat
    assert c.get("/groups/5/seats/47").status_code == 404   # group 4's person, not group 5's


def _org_spec(tmp_path: Path) -> Path:
    """Orgs with people and teams; a team's memberships each embed a person of the team's org."""
    org, team = _param("org_id"), _param("team_id")
    listing = {"type": "array", "items": _ref("Membership")}
    paths = {
        "/orgs": {"get": {"operationId": "listOrgs", "responses": _ok({"type": "array", "items": _ref("Org")})}},
        "/orgs/{org_id}": {"get": {"operationId": "getOrg", "parameters": [org], "responses": _ok(_ref("Org"))}},
        "/orgs/{org_id}/people": {"get": {"operationId": "listPeople", "parameters": [org],
                                          "responses": _ok({"type": "array", "items": _ref("Person")})}},
        "/orgs/{org_id}/people/{person_id}": {"get": {"operationId": "getPerson",
                                                      "parameters": [org, _param("person_id")],
                                                      "responses": _ok(_ref("Person"))}},
        "/orgs/{org_id}/teams": {"get": {"operationId": "listTeams", "parameters": [org],
                                         "responses": _ok({"type": "array", "items": _ref("Team")})}},
        "/orgs/{org_id}/teams/{team_id}": {"get": {"operationId": "getTeam", "parameters": [org, team],
                                                   "responses": _ok(_ref("Team"))}},
        "/orgs/{org_id}/teams/{team_id}/memberships": {"get": {"operationId": "listMemberships",
                                                               "parameters": [org, team], "responses": _ok(listing)}},
        "/orgs/{org_id}/teams/{team_id}/memberships/{person_id}": {"get": {
            "operationId": "getMembership", "parameters": [org, team, _param("person_id")],
            "responses": _ok(_ref("Membership"))}},
    }
    schemas = {"Org": {"type": "object", "properties": {"id": INT, "name": {"type": "string"}}},
               "Person": {"type": "object", "properties": {"id": INT, "org_id": INT, "name": {"type": "string"}}},
               "Team": {"type": "object", "properties": {"id": INT, "org_id": INT, "title": {"type": "string"}}},
               "Membership": {"type": "object", "required": ["person"], "properties": {
                   "person": _ref("Person"), "since": {"type": "string", "format": "date-time"}}}}
    path = tmp_path / "orgs.json"
    path.write_text(json.dumps({"openapi": "3.0.3", "info": {"title": "orgs", "version": "1"}, "paths": paths,
                                "components": {"schemas": schemas}}))
    return path


def test_a_team_has_no_more_members_than_its_org_has_people(tmp_path: Path):
    """Memberships embed people of the team's own org, distinct within the team, and a team has no more of them
    than the org has people (an org with no people has teams with none); each answers at its person's id."""
    world = build_world(str(_org_spec(tmp_path)), "42")
    with world, client_of(world) as c:
        shown = []
        for org in range(1, 7):
            people = [p["id"] for p in c.get(f"/orgs/{org}/people").json()]
            for team in c.get(f"/orgs/{org}/teams").json():
                persons = _persons(c.get(f"/orgs/{org}/teams/{team['id']}/memberships").json())
                assert set(persons) <= set(people) and len(persons) == len(set(persons)), (org, people, persons)
                for person in persons:
                    answer = c.get(f"/orgs/{org}/teams/{team['id']}/memberships/{person}")
                    assert (answer.status_code, answer.json()["person"]["id"]) == (200, person)
                shown.append((org, len(people), team["id"], persons))
        assert shown == [(1, 4, 101, [104, 101]), (1, 4, 102, [102, 101, 104, 103]), (1, 4, 103, [103, 104]),
                         (1, 4, 104, [103, 104]), (2, 3, 201, [203, 201, 202]), (2, 3, 202, []),
                         (2, 3, 203, [201, 202, 203]), (2, 3, 204, [202, 203]), (4, 2, 401, [402, 401]),
                         (4, 2, 402, []), (5, 2, 501, [502, 501]), (5, 2, 502, [502, 501]), (5, 2, 503, [501, 502]),
                         (5, 2, 504, [501]), (6, 4, 601, [604, 603, 602])]


def test_the_world_samples_a_child_type_whose_first_parents_have_none():
    """Twilio chat's first service has no users, so its channels have no members: the world's samples of members
    come from the first channels that have some (and each answers at its ``identity``, the user it links)."""
    world = build_world("/work/shared/specs/twilio-chat.json", "42")
    with world, client_of(world) as c:
        rows = {row["name"]: row["sample"] for row in c.get("/api/v1/consistency/world").json()["entity_types"]}
        assert [row["parent_id"] for row in rows["channel"]] == ["IS8034b75b007bb95dbaf5cdffbf6aea56"] * 3
        assert c.get("/v2/Services/IS8034b75b007bb95dbaf5cdffbf6aea56/Users").json()["users"] == []
        assert rows["member"] == [
            {"id": "MBba3edc2c4c834d74390fdc43c415a98e", "parent_id": "CH95e551960b08c2b5a92f223ef5ebe9bf"},
            {"id": "MB80344ffb7f84b9803ea1fd0659f9a3fc", "parent_id": "CH95e551960b08c2b5a92f223ef5ebe9bf"},
            {"id": "MB2e290e121ab4feb8d16f10412f0fc7c5", "parent_id": "CH4fa8aa105bc6dece1d923b239124de0e"}]
        channel = "/v2/Services/IS9199d30375583b2be2fb55fc82182dd5/Channels/CH95e551960b08c2b5a92f223ef5ebe9bf"
        member = c.get(f"{channel}/Members/MBba3edc2c4c834d74390fdc43c415a98e").json()
        assert member["identity"] == "raven202"   # the identity of user UScb2c79976148c71270bce9a36c7f5a01
        assert c.get(f"{channel}/Members/{member['identity']}").json() == member
        user = c.get(f"/v2/Services/IS9199d30375583b2be2fb55fc82182dd5/Users/{member['identity']}").json()
        assert (user["sid"], user["identity"]) == ("UScb2c79976148c71270bce9a36c7f5a01", "raven202")


def test_the_world_description_names_the_key_within_the_parent(app_client, tmp_path: Path):
    """``GET /api/v1/consistency/world`` says a membership is keyed by ``person.id`` among its group's children."""
    c = app_client(spec=_memberships(tmp_path))
    rows = {row["name"]: row for row in c.get("/api/v1/consistency/world").json()["entity_types"]}
    assert rows["membership"]["key_within_parent"] == {"field": "person.id", "target": "person"}
    assert (rows["group"]["key_within_parent"], rows["person"]["key_within_parent"]) == (None, None)


def test_a_joined_membership_answers_at_its_person_after_a_restart(app_client, tmp_path: Path):
    """The key lives in the stored data: a second app over the same store finds the membership a PUT added."""
    spec, store = _memberships(tmp_path), tmp_path / "kept.db"
    first = app_client(spec=spec, store=store)
    assert first.put("/groups/2/memberships/7", json={"role": "guest"}).status_code == 201
    second = app_client(spec=spec, store=store)
    assert second.get("/groups/2/memberships/7").json() == {"person": {"id": 7, "name": "Jesse Ray"}, "role": "guest"}
    assert _persons(second.get("/groups/2/memberships").json()) == [28, 27, 7]


def test_a_team_moved_to_another_org_has_no_more_members_than_that_org_has_people(tmp_path: Path):
    """The room a parent has for children keyed by distinct targets follows the parent: team 102 (4 memberships in
    org 1, which has 4 people) moved to org 4 (2 people) lists 2, each a person of org 4; the timeline cached
    before the move does not carry the old room."""
    spec = json.loads(_org_spec(tmp_path).read_text())
    spec["paths"]["/orgs/{org_id}/teams/{team_id}"]["patch"] = {
        "operationId": "moveTeam", "parameters": [_param("org_id"), _param("team_id")],
        "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {
            "org_id": INT}}}}}, "responses": _ok(_ref("Team"))}
    path = tmp_path / "movable.json"
    path.write_text(json.dumps(spec))
    world = build_world(str(path), "42")
    with world, client_of(world) as c:
        assert _persons(c.get("/orgs/1/teams/102/memberships").json()) == [102, 101, 104, 103]
        assert c.patch("/orgs/1/teams/102", json={"org_id": 4}).status_code == 200
        assert [p["id"] for p in c.get("/orgs/4/people").json()] == [401, 402]
        assert sorted(_persons(c.get("/orgs/4/teams/102/memberships").json())) == [401, 402]


def test_the_url_of_a_child_keyed_within_its_parent_takes_that_key(app_client, tmp_path: Path):
    """A membership's own ``url`` is its item path at the person it embeds (the key a client uses), and answers it."""
    spec = _spec(tmp_path, "memberships", _param("person_id"), {
        "type": "object", "required": ["person", "role", "url", "html_url"],
        "properties": {"person": _ref("Person"), "role": {"type": "string"}, "url": {"type": "string"},
                       "html_url": {"type": "string"}}})
    c = app_client(spec=spec)
    listed = c.get("/groups/1/memberships").json()
    assert [(m["person"]["id"], m["url"]) for m in listed[:2]] == [
        (18, "https://api.example.com/groups/1/memberships/18"), (7, "https://api.example.com/groups/1/memberships/7")]
    assert c.get("/groups/1/memberships/18").json() == listed[0]

"""A link named for a key of its target holds that key, not the target's id: a team member's ``identity`` is the
``identity`` of one of the users (the users' own key, which their item path answers at), as a person reads it.
The member answers at it within its team, the entity API finds the user by it, and ``mockverse check`` follows
it at the user's item path."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import SHARED
from mockverse.check import build_world, client_of, run_check

STR = {"type": "string"}
TEAM = "TM8f22666ed6a8a77eb07e04c3aa777a4b"


def _ok(schema: dict, status: str = "200") -> dict:
    return {status: {"description": "ok", "content": {"application/json": {"schema": schema}}}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _param(name: str, description: str = "") -> dict:
    return {"name": name, "in": "path", "required": True, "schema": STR, "description": description}


def _body(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _spec(tmp_path: Path, join: bool = False, **extra: dict) -> Path:
    """Users (an id and a client-chosen ``identity`` that uniquely identifies one), teams, and team members whose
    ``identity`` is their user's (and ``extra`` properties besides); users and members answer at either their id
    or their identity (with ``join``, a PUT there adds the user's membership)."""
    team = _param("team_id")
    user = _param("user", "Either the `id` or the `identity` of the user")
    member = _param("member", "Either the `id` or the `identity` of the member")
    paths = {
        "/users": {"get": {"operationId": "listUsers", "responses": _ok({"type": "array", "items": _ref("User")})},
                   "post": {"operationId": "createUser", "requestBody": _body(_ref("User")),
                            "responses": _ok(_ref("User"), "201")}},
        "/users/{user}": {"get": {"operationId": "getUser", "parameters": [user], "responses": _ok(_ref("User"))}},
        "/teams": {"get": {"operationId": "listTeams", "responses": _ok({"type": "array", "items": _ref("Team")})}},
        "/teams/{team_id}": {"get": {"operationId": "getTeam", "parameters": [team], "responses": _ok(_ref("Team"))}},
        "/teams/{team_id}/members": {
            "get": {"operationId": "listMembers", "parameters": [team],
                    "responses": _ok({"type": "array", "items": _ref("Member")})},
            "post": {"operationId": "addMember", "parameters": [team], "requestBody": _body(_ref("Member")),
                     "responses": _ok(_ref("Member"), "201")}},
        "/teams/{team_id}/members/{member}": {"get": {"operationId": "getMember", "parameters": [team, member],
                                                      "responses": _ok(_ref("Member"))}},
    }
    if join:
        paths["/teams/{team_id}/members/{member}"]["put"] = {
            "operationId": "joinTeam", "parameters": [team, member],
            "requestBody": _body({"type": "object", "properties": {"role": {"type": "string"}}}),
            "responses": _ok(_ref("Member"), "201")}
    schemas = {
        "User": {"type": "object", "properties": {
            "id": {"type": "string", "readOnly": True, "pattern": "^US[0-9a-f]{32}$"},
            "identity": {"type": "string", "description": "The string that uniquely identifies the user"},
            "name": STR}},
        "Team": {"type": "object", "properties": {"id": {"type": "string", "pattern": "^TM[0-9a-f]{32}$"},
                                                  "title": STR}},
        "Member": {"type": "object", "properties": {
            "id": {"type": "string", "readOnly": True, "pattern": "^MB[0-9a-f]{32}$"},
            "team_id": {"type": "string", "readOnly": True, "pattern": "^TM[0-9a-f]{32}$"},
            "identity": {"type": "string", "description": "The identity of the member's user"},
            "role": {"type": "string", "enum": ["owner", "guest"]}, **extra}},
    }
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({"openapi": "3.0.3", "info": {"title": "teams", "version": "1"}, "paths": paths,
                                "components": {"schemas": schemas}}))
    return path


def test_a_member_holds_its_user_s_identity_and_the_user_answers_at_it(app_client, tmp_path: Path):
    """The member's ``identity`` is the identity of an existing user (never a user id), and the user's item path
    answers that user at it."""
    c = app_client(spec=_spec(tmp_path))
    assert c.get(f"/teams/{TEAM}/members").json() == [
        {"id": "MBb8b6cd686bdf58b3a2187b43aeeb5279", "team_id": TEAM, "identity": "slate43", "role": "guest"}]
    user = c.get("/users/slate43")
    assert (user.status_code, user.json()) == (
        200, {"id": "US0377bf858ab59feb68ad8745dfc0e99f", "identity": "slate43", "name": "Kara Bolton"})
    assert c.get("/users/US0377bf858ab59feb68ad8745dfc0e99f").json() == user.json()


def test_every_member_s_identity_is_a_user_s(tmp_path: Path):
    """Over the first teams, every member holds the identity of a user that answers at it."""
    world = build_world(str(_spec(tmp_path)), "42")
    with world, client_of(world) as c:
        held = [m["identity"] for t in c.get("/teams").json()[:12] for m in c.get(f"/teams/{t['id']}/members").json()]
        assert len(held) == 16
        for identity in held:
            answer = c.get(f"/users/{identity}")
            assert (answer.status_code, answer.json()["identity"]) == (200, identity)


def test_a_member_answers_at_its_identity_within_its_team(app_client, tmp_path: Path):
    """The identity a member holds names it among its team's members; another team's is a 404 naming the
    parameter."""
    c = app_client(spec=_spec(tmp_path))
    member = c.get(f"/teams/{TEAM}/members/slate43")
    assert (member.status_code, member.json()["id"]) == (200, "MBb8b6cd686bdf58b3a2187b43aeeb5279")
    other = c.get("/teams").json()[0]["id"]
    missing = c.get(f"/teams/{other}/members/slate43")
    assert (missing.status_code, missing.headers["content-type"], missing.json()["field"]) == (
        404, "application/problem+json", "member")


def test_the_entity_api_finds_a_user_by_its_identity(app_client, tmp_path: Path):
    """``/api/v1/consistency/entities/user/{identity}`` answers the user whose identity it is."""
    c = app_client(spec=_spec(tmp_path))
    answer = c.get("/api/v1/consistency/entities/user/slate43")
    assert (answer.status_code, answer.json()["entity_id"]) == (200, "US0377bf858ab59feb68ad8745dfc0e99f")
    assert c.get("/api/v1/consistency/entities/user/nobody").status_code == 404


def test_the_world_description_says_which_key_the_link_holds(app_client, tmp_path: Path):
    """The member's reference to users names the key it holds."""
    c = app_client(spec=_spec(tmp_path))
    types = {t["name"]: t for t in c.get("/api/v1/consistency/world").json()["entity_types"]}
    assert types["member"]["references"] == [{"field": "identity", "target": "user", "many": False,
                                              "key": "identity"}]


def test_a_created_user_s_identity_links_a_created_member(app_client, tmp_path: Path):
    """A member created with the identity a client chose for a new user holds it and answers at it."""
    c = app_client(spec=_spec(tmp_path))
    assert c.post("/users", json={"identity": "ada", "name": "Ada"}).status_code == 201
    made = c.post(f"/teams/{TEAM}/members", json={"identity": "ada", "role": "guest"})
    assert (made.status_code, made.json()["identity"]) == (201, "ada")
    assert c.get(f"/teams/{TEAM}/members/ada").json() == made.json()


def test_check_follows_the_keyed_links(tmp_path: Path):
    """``mockverse check`` resolves every member identity at the user's item path."""
    scores = run_check(str(_spec(tmp_path))).to_dict()["scores"]
    assert {k: (v["passed"], v["total"]) for k, v in scores.items()} == {
        "served": (9, 9), "schema": (22, 22), "links": (12, 12), "nested": (6, 6), "item_list": (6, 6),
        "writes": (2, 2), "determinism": (6, 6), "members": (0, 0)}


def test_a_create_naming_an_identity_no_user_has_is_a_422(app_client, tmp_path: Path):
    """A member created (or changed) with an identity no user has is a 422 problem naming the field; nothing is
    stored."""
    c = app_client(spec=_spec(tmp_path))
    made = c.post(f"/teams/{TEAM}/members", json={"identity": "nobody", "role": "guest"})
    assert (made.status_code, made.headers["content-type"]) == (422, "application/problem+json")
    assert (made.json()["field"], made.json()["detail"]) == (
        "identity", "identity 'nobody' is no user's identity: give the identity of a user that exists")
    assert [m["identity"] for m in c.get(f"/teams/{TEAM}/members").json()] == ["slate43"]


def test_a_user_s_id_is_not_its_identity(app_client, tmp_path: Path):
    """A link holding the identity does not take the user's id in its place."""
    c = app_client(spec=_spec(tmp_path))
    made = c.post(f"/teams/{TEAM}/members", json={"identity": "US0377bf858ab59feb68ad8745dfc0e99f"})
    assert (made.status_code, made.json()["field"]) == (422, "identity")


def test_an_identity_is_a_user_s_of_the_member_s_own_service(app_client):
    """Twilio chat: a member's ``identity`` names a user of its channel's service; a user of another service is
    no user there (422 naming the field), one of its own is linked (form body, PascalCase, as Twilio takes it)."""
    c = app_client(auth_check=False, spec=SHARED / "specs" / "twilio-chat.json")
    own, other = "IS9199d30375583b2be2fb55fc82182dd5", "IS8034b75b007bb95dbaf5cdffbf6aea56"
    assert [u["identity"] for u in c.get(f"/v2/Services/{own}/Users").json()["users"]] == ["grove201", "raven202"]
    assert c.get(f"/v2/Services/{other}/Users").json()["users"] == []
    channel = c.get(f"/v2/Services/{other}/Channels").json()["channels"][0]["sid"]
    refused = c.post(f"/v2/Services/{other}/Channels/{channel}/Members", data={"Identity": "raven202"})
    assert (refused.status_code, refused.json()["field"]) == (422, "identity")
    made = c.post(f"/v2/Services/{own}/Users", data={"Identity": "ada"})
    assert made.status_code == 201
    channel = c.get(f"/v2/Services/{own}/Channels").json()["channels"][0]["sid"]
    member = c.post(f"/v2/Services/{own}/Channels/{channel}/Members", data={"Identity": "ada"})
    assert (member.status_code, member.json()["identity"]) == (201, "ada")
    assert c.get(f"/v2/Services/{own}/Channels/{channel}/Members/ada").json() == member.json()


def test_who_acted_is_named_by_the_key_its_description_names(app_client):
    """Twilio chat's ``created_by`` / ``last_updated_by`` are "The `identity` of the User that ...": they hold
    identities of the service's users, as ``from`` and a member's ``identity`` do."""
    c = app_client(auth_check=False, spec=SHARED / "specs" / "twilio-chat.json")
    channel = "/v2/Services/IS9199d30375583b2be2fb55fc82182dd5/Channels/CH95e551960b08c2b5a92f223ef5ebe9bf"
    assert c.get(channel).json()["created_by"] == "grove201"
    messages = c.get(f"{channel}/Messages").json()["messages"]
    assert [(m["from"], m["last_updated_by"]) for m in messages] == [
        (None, "raven202"), (None, None), ("grove201", "raven202")]
    invites = c.get(f"{channel}/Invites").json()["invites"]
    assert [(i["identity"], i["created_by"]) for i in invites] == [
        ("grove201", "grove201"), ("raven202", "raven202"), ("grove201", "raven202"), ("raven202", "raven202")]
    types = {t["name"]: t for t in c.get("/api/v1/consistency/world").json()["entity_types"]}
    assert {r["field"]: r.get("key") for r in types["message"]["references"] if r["target"] == "user"} == {
        "from": "identity", "last_updated_by": "identity"}


def test_a_registered_entity_takes_its_parent_from_the_user_its_key_names(app_client):
    """An entity registered with only a user's identity (a twilio binding) belongs to that user's service."""
    c = app_client(auth_check=False, spec=SHARED / "specs" / "twilio-chat.json")
    made = c.post("/api/v1/consistency/entities", json={"entity_type": "binding", "data": {"identity": "raven202"}})
    assert made.status_code == 201, made.text
    data = made.json()["data"]
    assert (data["identity"], data["service_sid"]) == ("raven202", "IS9199d30375583b2be2fb55fc82182dd5")


def test_keys_a_client_chose_link_after_a_restart(app_client, tmp_path: Path):
    """The key lives in the stored data: a second app over the same store answers the member at the identity a
    created user was given, and the user at it."""
    spec, store = _spec(tmp_path), tmp_path / "kept.db"
    first = app_client(spec=spec, store=store)
    assert first.post("/users", json={"identity": "ada", "name": "Ada"}).status_code == 201
    member = first.post(f"/teams/{TEAM}/members", json={"identity": "ada", "role": "owner"}).json()
    second = app_client(spec=spec, store=store)
    assert second.get(f"/teams/{TEAM}/members/ada").json() == member
    assert second.get("/users/ada").json()["name"] == "Ada"


def test_a_link_named_for_a_key_of_its_target_holds_that_key(app_client, tmp_path: Path):
    """A link the config declares (``reviewer_identity`` -> user) whose name ends in a key of its target holds
    that key: the identity of a user who answers at it."""
    config = tmp_path / "world.yaml"
    config.write_text("world:\n  relationships:\n    - {source: member, target: user, field: reviewer_identity}\n")
    c = app_client(spec=_spec(tmp_path, reviewer_identity=STR), config=config)
    member = c.get(f"/teams/{TEAM}/members/slate43").json()
    assert (member["identity"], member["reviewer_identity"]) == ("slate43", "tide30")
    assert c.get("/users/tide30").json()["identity"] == "tide30"
    refused = c.post(f"/teams/{TEAM}/members", json={"identity": "oak1", "reviewer_identity": "nobody"})
    assert (refused.status_code, refused.json()["field"]) == (422, "reviewer_identity")


def test_the_default_a_field_describes_is_no_entity_s_key(app_client):
    """Twilio chat's message ``from`` is "The default value is `system`": a message from `system` is made; from an
    identity no user of the service has it is a 422."""
    c = app_client(auth_check=False, spec=SHARED / "specs" / "twilio-chat.json")
    channel = "/v2/Services/IS9199d30375583b2be2fb55fc82182dd5/Channels/CH95e551960b08c2b5a92f223ef5ebe9bf"
    made = c.post(f"{channel}/Messages", data={"From": "system", "Body": "Welcome"})
    assert (made.status_code, made.json()["from"], made.json()["body"]) == (201, "system", "Welcome")
    refused = c.post(f"{channel}/Messages", data={"From": "nobody", "Body": "Hello"})
    assert (refused.status_code, refused.json()["field"]) == (422, "from")


def test_a_put_at_a_user_s_identity_adds_its_membership(app_client, tmp_path: Path):
    """``PUT /teams/{team}/members/{identity}`` of a user no member holds yet adds one holding that identity (the
    user's, not its id); an identity no user has is a 404 naming the parameter."""
    c = app_client(spec=_spec(tmp_path, join=True))
    assert c.post("/users", json={"identity": "ada", "name": "Ada"}).status_code == 201
    joined = c.put(f"/teams/{TEAM}/members/ada", json={"role": "owner"})
    assert (joined.status_code, joined.json()["identity"], joined.json()["role"]) == (201, "ada", "owner")
    assert [m["identity"] for m in c.get(f"/teams/{TEAM}/members").json()] == ["slate43", "ada"]
    missing = c.put(f"/teams/{TEAM}/members/nobody", json={"role": "owner"})
    assert (missing.status_code, missing.json()["field"]) == (404, "member")

"""Nested lists and item<->list agreement on user specs: each class of failure, on a small spec of its own."""

from __future__ import annotations

from pathlib import Path

from conftest import SHARED
from mockverse.check import run_check

CHANNELS = """\
openapi: 3.0.3
info: {title: Channels, version: "1"}
paths:
  /guilds:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: array, items: {$ref: "#/components/schemas/Guild"}}
  /guilds/{guild_id}:
    get:
      parameters: [{name: guild_id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Guild"}
  /guilds/{guild_id}/channels:
    get:
      parameters: [{name: guild_id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: array
                items: {oneOf: [{$ref: "#/components/schemas/TextChannel"}, {$ref: "#/components/schemas/Thread"}]}
  /guilds/{guild_id}/threads:
    get:
      parameters: [{name: guild_id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                required: [threads]
                properties:
                  threads: {type: array, items: {$ref: "#/components/schemas/Thread"}}
  /channels/{channel_id}:
    get:
      parameters: [{name: channel_id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {oneOf: [{$ref: "#/components/schemas/TextChannel"}, {$ref: "#/components/schemas/Thread"}]}
components:
  schemas:
    Guild:
      type: object
      required: [id, name]
      properties:
        id: {type: integer}
        name: {type: string}
    TextChannel:
      type: object
      required: [id, guild_id, type, name]
      properties:
        id: {type: integer}
        guild_id: {type: integer}
        type: {type: integer, enum: [0, 2]}
        name: {type: string}
        topic: {type: string}
        scopes: {type: array, items: {type: string, enum: [read, write]}}
    Thread:
      type: object
      required: [id, guild_id, type, name]
      properties:
        id: {type: integer}
        guild_id: {type: integer}
        type: {type: integer, enum: [10, 11]}
        name: {type: string}
        message_count: {type: integer}
        scopes: {type: array, items: {type: string, enum: [read, write]}}
"""

ORGS = """\
openapi: 3.0.3
info: {title: Orgs, version: "1"}
paths:
  /orgs:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: array, items: {$ref: "#/components/schemas/Org"}}
  /orgs/{org}:
    get:
      parameters: [{name: org, in: path, required: true, schema: {type: integer}}]
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Org"}
  /orgs/{org}/members:
    get:
      parameters: [{name: org, in: path, required: true, schema: {type: integer}}]
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: array, items: {$ref: "#/components/schemas/Member"}}
  /orgs/{org}/members/{member_id}:
    get:
      parameters:
        - {name: org, in: path, required: true, schema: {type: integer}}
        - {name: member_id, in: path, required: true, schema: {type: integer}}
      responses:
        "204": {description: is a member}
        "404": {description: not a member}
components:
  schemas:
    Org:
      type: object
      required: [id, name]
      properties:
        id: {type: integer}
        name: {type: string}
    Member:
      type: object
      required: [id, org_id, login]
      properties:
        id: {type: integer}
        org_id: {type: integer}
        login: {type: string}
"""

PLUGINS = """\
openapi: 3.0.3
info: {title: Plugins, version: "1"}
paths:
  /routes:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: object, properties: {data: {type: array, items: {$ref: "#/components/schemas/Route"}}}}
  /routes/{route_id}:
    get:
      parameters: [{name: route_id, in: path, required: true, schema: {type: string, format: uuid}}]
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Route"}
  /plugins:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  data:
                    type: array
                    items:
                      type: object
                      properties:
                        id: {type: string, format: uuid}
                        name: {type: string}
                        route: {type: string, format: uuid, nullable: true}
  /plugins/{plugin_id}:
    get:
      parameters: [{name: plugin_id, in: path, required: true, schema: {type: string, format: uuid}}]
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Plugin"}
  /plugins/{plugin_id}/status:
    get:
      parameters: [{name: plugin_id, in: path, required: true, schema: {type: string, format: uuid}}]
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: object, properties: {healthy: {type: boolean}}}
  /audit:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  entries: {type: array, items: {$ref: "#/components/schemas/Entry"}}
                  routes: {type: array, items: {$ref: "#/components/schemas/Route"}}
components:
  schemas:
    Route:
      type: object
      required: [id, name]
      properties:
        id: {type: string, format: uuid}
        name: {type: string}
    Entry:
      type: object
      properties:
        id: {type: string, format: uuid}
        action: {type: string}
    Plugin:
      type: object
      required: [id, name]
      properties:
        id: {type: string, format: uuid}
        name: {type: string}
        route:
          type: object
          nullable: true
          additionalProperties: false
          properties:
            id: {type: string, format: uuid}
"""

RPC = """\
openapi: 3.0.3
info: {title: Rpc, version: "1"}
paths:
  /users.list:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  ok: {type: boolean}
                  members: {type: array, items: {$ref: "#/components/schemas/User"}}
  /users.info:
    get:
      parameters: [{name: user, in: query, required: true, schema: {type: string}}]
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  ok: {type: boolean}
                  user: {$ref: "#/components/schemas/User"}
components:
  schemas:
    User:
      type: object
      required: [id, name]
      properties:
        id: {type: string, pattern: "^U[A-Z0-9]{8,}$"}
        name: {type: string}
        team_id: {type: string}
"""

STARS = """\
openapi: 3.0.3
info: {title: Stars, version: "1"}
paths:
  /repos:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: array, items: {$ref: "#/components/schemas/Repository"}}
  /repos/{owner}/{repo}:
    get:
      parameters:
        - {name: owner, in: path, required: true, schema: {type: string}}
        - {name: repo, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Repository"}
  /user/starred:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: array, items: {$ref: "#/components/schemas/Repository"}}
  /user/starred/{owner}/{repo}:
    get:
      parameters:
        - {name: owner, in: path, required: true, schema: {type: string}}
        - {name: repo, in: path, required: true, schema: {type: string}}
      responses:
        "204": {description: starred}
        "404": {description: not starred}
components:
  schemas:
    Repository:
      type: object
      required: [id, name]
      properties:
        id: {type: integer}
        name: {type: string}
        stars_count: {type: integer}
"""


def _spec(tmp_path: Path, name: str, text: str) -> Path:
    """A spec written to a file of its own."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def _scores(spec: Path) -> dict[str, tuple[int, int]]:
    """passed/total per category of ``mockverse check`` on a spec."""
    report = run_check(str(spec))
    return {c: (p, t) for c, (p, t) in report.counts.items()}


def test_each_entity_has_one_shape_at_every_path(app_client, tmp_path):
    """A type of several oneOf shapes told apart by ``type`` (text channels, threads): each entity is one
    shape, its item path shows that shape, and a list of threads lists exactly the guild's threads."""
    spec = _spec(tmp_path, "channels", CHANNELS)
    c = app_client(spec=spec)
    channels = c.get("/guilds/3/channels").json()
    assert [(ch["id"], ch["type"]) for ch in channels] == [(301, 10)]
    assert c.get("/guilds/3/threads").json() == {"threads": channels}
    assert c.get("/channels/301").json() == channels[0]
    assert "message_count" in channels[0] and "topic" not in channels[0]
    assert channels[0]["scopes"] == ["read", "write"]   # an array of enum values fits the shape item by item
    text = c.get("/guilds/1/channels").json()
    assert [(ch["id"], ch["type"]) for ch in text] == [(101, 2), (102, 0), (103, 0)]
    assert c.get("/guilds/1/threads").json() == {"threads": []}
    assert c.get("/channels/103").json() == text[2]
    assert "topic" in text[2] and "message_count" not in text[2]
    scores = _scores(spec)
    assert (scores["nested"], scores["item_list"], scores["schema"]) == ((10, 10), (3, 3), (14, 14))


def test_membership_check_answers_204_for_members_and_404_for_others(app_client, tmp_path):
    """``GET /orgs/{org}/members/{id}`` without a body: 204 for a member of that org, 404 for a member of
    another org and for no member at all; the checker counts exactly that, not a body."""
    spec = _spec(tmp_path, "orgs", ORGS)
    c = app_client(spec=spec)
    assert [m["id"] for m in c.get("/orgs/1/members").json()] == [101, 102, 103, 104]
    assert [m["id"] for m in c.get("/orgs/2/members").json()] == [201, 202, 203, 204]
    listed = c.get("/orgs/1/members/101")
    assert (listed.status_code, listed.content) == (204, b"")
    other = c.get("/orgs/1/members/201")
    assert other.status_code == 404 and other.json()["detail"] == "member 201 does not belong to org 1"
    assert c.get("/orgs/1/members/999999").status_code == 404
    assert _scores(spec)["nested"] == (20, 20)   # 18 listed members and back-pointers, 2 members of other orgs


def test_a_reference_spelled_as_an_id_in_the_list_and_an_object_in_the_item_agrees(app_client, tmp_path):
    """``route: "<id>"`` in ``GET /plugins`` and ``route: {"id": "<id>"}`` in ``GET /plugins/{id}`` (each as
    the spec declares) name the same route; a list's entities are read where the world puts them."""
    spec = _spec(tmp_path, "plugins", PLUGINS)
    c = app_client(spec=spec)
    listed = c.get("/plugins").json()["data"][0]
    item = c.get(f"/plugins/{listed['id']}").json()
    assert listed["route"] == "cee1f493-9a77-4c03-a5e1-c48db38fd803"
    assert item["route"] == {"id": listed["route"]}
    scores = _scores(spec)
    assert (scores["item_list"], scores["links"]) == ((9, 9), (3, 3))


def test_an_embedded_body_is_the_same_whatever_was_read_before(app_client):
    """A deep link filled inside an embedded status (``reblog.card.authors[].account``) never changes the
    status other bodies embed: a notification's item equals its list entry after its status was read."""
    c = app_client(spec=SHARED / "specs" / "mastodon.json", auth_check=False)
    listed = c.get("/api/v1/notifications").json()
    entry = next(n for n in listed if n["id"] == "OmbKetYr1zkFRXnbEoExbg")
    assert entry["status"]["id"] == "100000000000000012"
    assert c.get("/api/v1/statuses/100000000000000012").status_code == 200
    assert c.get("/api/v1/notifications/OmbKetYr1zkFRXnbEoExbg").json() == entry


def test_an_item_named_by_a_query_parameter(app_client, tmp_path):
    """``GET /users.info?user=U1`` (RPC style) answers that user, as ``/users.list`` shows it; an unknown id
    is a 404 naming the parameter; the checker sends the id where the operation takes it."""
    spec = _spec(tmp_path, "rpc", RPC)
    c = app_client(spec=spec)
    listed = c.get("/users.list").json()["members"][2]
    assert listed["id"] == "UWGPGWIC1Q2"
    assert c.get("/users.info", params={"user": "UWGPGWIC1Q2"}).json()["user"] == listed
    missing = c.get("/users.info", params={"user": "U00000000"})
    assert (missing.status_code, missing.json()["field"]) == (404, "user")
    scores = _scores(spec)
    assert (scores["item_list"], scores["determinism"]) == ((3, 3), (2, 2))


def test_a_membership_path_lists_and_checks_the_same_entities(app_client, tmp_path):
    """``/user/starred/{owner}/{repo}`` has no body of its own: its type takes the objects ``/user/starred``
    lists, so the ids that list shows are its ids and the check answers 204 for them, 404 for others."""
    c = app_client(spec=_spec(tmp_path, "stars", STARS))
    starred = c.get("/user/starred").json()
    assert [r["id"] for r in starred[:3]] == [1, 2, 3]
    assert c.get("/user/starred/octo/3").status_code == 204
    assert c.get("/user/starred/octo/999").status_code == 404

"""Creates whose request need not name the parent: the parent named through another entity the request
names, else an entity made without one (listed after the others of its type, counted, in no parent's list,
changed and deleted like any); a request that must name the parent is refused without one."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockverse.check import run_check
from mockverse.http.app import Settings, create_app
from mockverse.world.writes import parent_required

SPEC = """\
openapi: 3.0.3
info: {title: Parentless, version: "1"}
paths:
  /teams:
    get:
      responses:
        "200": {$ref: "#/components/responses/Teams"}
  /teams/{team_id}:
    parameters: [{name: team_id, in: path, required: true, schema: {type: integer}}]
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Team"}}}}
  /teams/{team_id}/widgets:
    parameters: [{name: team_id, in: path, required: true, schema: {type: integer}}]
    get:
      responses:
        "200": {$ref: "#/components/responses/Widgets"}
  /widgets:
    get:
      parameters:
        - {name: team_id, in: query, schema: {type: integer}}
        - {name: _page, in: query, schema: {type: integer}}
        - {name: _per_page, in: query, schema: {type: integer}}
      responses:
        "200": {$ref: "#/components/responses/Widgets"}
    post:
      requestBody:
        required: true
        content:
          application/json: {schema: {type: object, properties: {team_id: {type: integer}, name: {type: string}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Widget"}}}}
  /widgets/{widget_id}:
    parameters: [{name: widget_id, in: path, required: true, schema: {type: integer}}]
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Widget"}}}}
    patch:
      requestBody:
        content:
          application/json: {schema: {type: object, properties: {name: {type: string}, team_id: {type: integer}}}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Widget"}}}}
    delete:
      responses:
        "204": {description: gone}
  /teams/{team_id}/rooms:
    parameters: [{name: team_id, in: path, required: true, schema: {type: integer}}]
    get:
      responses:
        "200": {$ref: "#/components/responses/Rooms"}
  /rooms/{room_id}:
    parameters: [{name: room_id, in: path, required: true, schema: {type: integer}}]
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Room"}}}}
  /teams/{team_id}/bookings:
    parameters: [{name: team_id, in: path, required: true, schema: {type: integer}}]
    get:
      responses:
        "200": {$ref: "#/components/responses/Bookings"}
  /bookings:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [room_id], properties: {room_id: {type: integer}, title: {type: string}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Booking"}}}}
  /bookings/{booking_id}:
    parameters: [{name: booking_id, in: path, required: true, schema: {type: integer}}]
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Booking"}}}}
  /teams/{team_id}/tasks:
    parameters: [{name: team_id, in: path, required: true, schema: {type: integer}}]
    get:
      responses:
        "200": {$ref: "#/components/responses/Tasks"}
  /tasks:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [team_id]
              properties: {team_id: {type: integer, nullable: true}, title: {type: string}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Task"}}}}
  /boards:
    get:
      responses:
        "200": {$ref: "#/components/responses/Boards"}
  /boards/{board_id}:
    parameters: [{name: board_id, in: path, required: true, schema: {type: integer}}]
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Board"}}}}
  /boards/{board_id}/widgets:
    parameters: [{name: board_id, in: path, required: true, schema: {type: integer}}]
    get:
      responses:
        "200": {$ref: "#/components/responses/Widgets"}
    post:
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, properties: {name: {type: string}}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Widget"}}}}
  /widgets/{widget_id}/parts:
    parameters: [{name: widget_id, in: path, required: true, schema: {type: integer}}]
    get:
      responses:
        "200": {$ref: "#/components/responses/Parts"}
    post:
      requestBody:
        content: {application/json: {schema: {type: object, properties: {label: {type: string}}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Part"}}}}
  /parts:
    get:
      parameters:
        - {name: _page, in: query, schema: {type: integer}}
        - {name: _per_page, in: query, schema: {type: integer}}
      responses:
        "200": {$ref: "#/components/responses/Parts"}
  /teams/{team_id}/notes/{note_id}:
    parameters:
      - {name: team_id, in: path, required: true, schema: {type: integer}}
      - {name: note_id, in: path, required: true, schema: {type: integer}}
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Note"}}}}
  /notes:
    post:
      requestBody:
        content: {application/json: {schema: {type: object, properties: {text: {type: string}}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Note"}}}}
components:
  responses:
    Parts:
      description: ok
      content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Part"}}}}
    Boards:
      description: ok
      content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Board"}}}}
    Bookings:
      description: ok
      content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Booking"}}}}
    Rooms:
      description: ok
      content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Room"}}}}
    Tasks:
      description: ok
      content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Task"}}}}
    Teams:
      description: ok
      content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Team"}}}}
    Widgets:
      description: ok
      content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Widget"}}}}
  schemas:
    Board:
      type: object
      required: [id, title]
      properties: {id: {type: integer}, title: {type: string}}
    Team:
      type: object
      required: [id, name]
      properties: {id: {type: integer}, name: {type: string}}
    Widget:
      type: object
      required: [id, name]
      properties: {id: {type: integer}, team_id: {type: integer, nullable: true}, name: {type: string}}
    Room:
      type: object
      required: [id, team_id, name]
      properties: {id: {type: integer}, team_id: {type: integer}, name: {type: string}}
    Booking:
      type: object
      required: [id, title]
      properties: {id: {type: integer}, team_id: {type: integer}, room_id: {type: integer}, title: {type: string}}
    Note:
      type: object
      required: [id, team_id, text]
      properties: {id: {type: integer}, team_id: {type: integer}, text: {type: string}}
    Part:
      type: object
      required: [id, label]
      properties: {id: {type: integer}, widget_id: {type: integer}, label: {type: string}}
    Task:
      type: object
      required: [id, title]
      properties: {id: {type: integer}, team_id: {type: integer}, title: {type: string}}
"""


@pytest.fixture
def spec(tmp_path: Path) -> str:
    path = tmp_path / "parentless.yaml"
    path.write_text(SPEC)
    return str(path)


def widget_ids(c, page: int) -> list[int]:
    return [w["id"] for w in c.get("/widgets", params={"_page": page, "_per_page": 20}).json()]


def test_a_create_whose_request_need_not_name_the_parent_makes_an_entity_without_one(app_client, spec):
    c = app_client(spec=spec)
    assert c.get("/widgets").headers["x-total-count"] == "81"
    made = c.post("/widgets", json={"name": "loose"})
    assert made.status_code == 201
    assert made.json() == {"id": 5100, "team_id": None, "name": "loose"}
    assert made.headers["location"] == "/widgets/5100"
    assert c.get("/widgets/5100").json() == {"id": 5100, "team_id": None, "name": "loose"}
    assert c.get("/widgets").headers["x-total-count"] == "82"
    assert widget_ids(c, 5) == [4901, 5100]   # after every generated widget
    assert c.post("/widgets", json={"name": "second"}).json()["id"] == 5101
    assert widget_ids(c, 5) == [4901, 5100, 5101]   # in the order they were made
    assert sum(len(c.get(f"/teams/{team}/widgets").json()) for team in range(1, 51)) == 81   # in no team's list


def test_an_entity_made_without_a_parent_is_changed_and_deleted_like_any(app_client, spec):
    c = app_client(spec=spec)
    c.post("/widgets", json={"name": "loose"})
    c.post("/widgets", json={"name": "second"})
    assert c.patch("/widgets/5100", json={"name": "renamed"}).json() == {"id": 5100, "team_id": None, "name": "renamed"}
    assert widget_ids(c, 5) == [4901, 5100, 5101]   # a change keeps its place
    assert c.delete("/widgets/5101").status_code == 204
    assert c.get("/widgets/5101").status_code == 404
    assert c.get("/widgets").headers["x-total-count"] == "82"
    assert c.patch("/widgets/5100", json={"team_id": 3}).json() == {"id": 5100, "team_id": 3, "name": "renamed"}
    assert [w["id"] for w in c.get("/teams/3/widgets").json()][-1] == 5100   # given a parent: in its list
    assert c.get("/widgets").headers["x-total-count"] == "82"


def test_what_lies_below_an_entity_made_without_a_parent_is_listed_and_counted(app_client, spec):
    """A part of a widget that has no team: in the parts' list, after the others, until the widget goes."""
    c = app_client(spec=spec)
    assert c.get("/parts").headers["x-total-count"] == "158"
    c.post("/widgets", json={"name": "loose"})
    assert c.post("/widgets/5100/parts", json={"label": "bolt"}).json() == {"id": 510000, "widget_id": 5100,
                                                                            "label": "bolt"}
    assert c.get("/parts").headers["x-total-count"] == "159"
    assert [p["id"] for p in c.get("/parts", params={"_page": 8, "_per_page": 20}).json()][-2:] == [490103, 510000]
    assert c.delete("/widgets/5100").status_code == 204
    assert c.get("/parts").headers["x-total-count"] == "158"


def test_a_parent_named_through_another_entity_is_the_parent(app_client, spec):
    """A booking names its room; the room's team is the booking's."""
    c = app_client(spec=spec)
    assert c.get("/rooms/1001").json()["team_id"] == 10
    made = c.post("/bookings", json={"room_id": 1001, "title": "standup"}).json()
    assert made == {"id": 5100, "team_id": 10, "room_id": 1001, "title": "standup"}
    assert [b["id"] for b in c.get("/teams/10/bookings").json()][-1] == 5100


def test_a_request_that_must_name_the_parent_is_refused_without_one(app_client, spec):
    c = app_client(spec=spec)
    refused = c.post("/tasks", json={"team_id": None, "title": "t"})
    assert refused.status_code == 422
    assert refused.json()["type"] == "urn:mockverse:problem:missing-parent"
    assert refused.json()["field"] == "team_id"


def test_a_create_under_an_owner_it_has_no_key_to_is_listed_there(app_client, spec):
    """``/boards/{board_id}/widgets``: a widget has no board key; one made there is in that board's list only."""
    c = app_client(spec=spec)
    shown = [w["id"] for w in c.get("/boards/1/widgets").json()]
    made = c.post("/boards/1/widgets", json={"name": "pinned"}).json()
    assert made == {"id": 5100, "team_id": None, "name": "pinned"}
    assert [w["id"] for w in c.get("/boards/1/widgets").json()] == [*shown, 5100]
    assert 5100 not in [w["id"] for w in c.get("/boards/2/widgets").json()]


def test_an_entity_whose_item_path_names_a_parent_it_has_not_is_answered_without_a_location(app_client, spec):
    c = app_client(spec=spec)
    made = c.post("/notes", json={"text": "hello"})
    assert made.status_code == 201
    assert made.json()["id"] == 5100
    assert "location" not in made.headers


def test_the_built_in_orders_name_their_user_in_either_spelling(app_client):
    c = app_client()
    refused = c.post("/orders", json={"status": "pending"})
    assert refused.status_code == 422
    assert refused.json()["errors"] == [{"field": "$.user_id", "message": "'user_id' or 'userId' is required"}]
    assert c.post("/orders", json={"userId": 5}).json()["user_id"] == 5


def test_the_checker_reads_a_parentless_create_back_as_a_client_would(spec):
    report = run_check(spec)
    assert [(f.operation, f.message) for f in report.findings if f.category == "writes"] == []
    assert report.counts["writes"] == [4, 4]   # POST /widgets, its PATCH, POST /bookings, POST of parts


def test_a_bulk_create_requires_the_parent_its_items_require(tmp_path):
    engine = create_app(Settings(store=str(tmp_path / "state.db"))).state.engine
    order = engine.model.types["order"]
    item = {"type": "object", "required": ["user_id"], "properties": {"user_id": {"type": "integer"}}}
    assert parent_required(order, {"type": "array", "items": item}) is True
    assert parent_required(order, {"type": "array", "items": {**item, "required": []}}) is False
    assert parent_required(order, item) is True

"""``PATCH /widgets/{id}`` with ``{"team_id": null}`` (a key the schema lets be null) detaches the widget from its
team: later reads show null, the team's nested list and its count no longer hold it, the type's list still does;
a key the schema does not let be null is refused."""

from __future__ import annotations

from pathlib import Path

SPEC = """\
openapi: 3.0.3
info: {title: Detach, version: "1"}
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
      responses:
        "200": {$ref: "#/components/responses/Widgets"}
  /widgets/{widget_id}:
    parameters: [{name: widget_id, in: path, required: true, schema: {type: integer}}]
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Widget"}}}}
    patch:
      requestBody:
        content:
          application/json:
            schema: {type: object, properties: {name: {type: string}, team_id: {type: integer, nullable: true}}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Widget"}}}}
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
    patch:
      requestBody:
        content:
          application/json: {schema: {type: object, properties: {team_id: {type: integer, nullable: true}}}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Room"}}}}
components:
  responses:
    Teams:
      description: ok
      content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Team"}}}}
    Widgets:
      description: ok
      content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Widget"}}}}
    Rooms:
      description: ok
      content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Room"}}}}
  schemas:
    Team:
      type: object
      required: [id, name]
      properties: {id: {type: integer}, name: {type: string}}
    Widget:
      type: object
      required: [id, team_id, name]
      properties: {id: {type: integer}, team_id: {type: integer, nullable: true}, name: {type: string}}
    Room:
      type: object
      required: [id, team_id]
      properties: {id: {type: integer}, team_id: {type: integer}, name: {type: string}}
"""


def _spec(tmp_path: Path) -> Path:
    path = tmp_path / "detach.yaml"
    path.write_text(SPEC)
    return path


def _team_with(c, segment: str) -> tuple[int, list[dict]]:
    """The first team with at least two children at ``/teams/{id}/<segment>``, and those children."""
    for team in c.get("/teams").json():
        kids = c.get(f"/teams/{team['id']}/{segment}").json()
        if len(kids) >= 2:
            return team["id"], kids
    raise AssertionError(f"no team has two {segment}")


def test_a_null_parent_key_detaches_the_child(app_client, tmp_path: Path) -> None:
    c = app_client(spec=_spec(tmp_path))
    team, widgets = _team_with(c, "widgets")
    widget, kept = widgets[0], widgets[1:]
    total = c.get("/widgets").headers["x-total-count"]
    patched = c.patch(f"/widgets/{widget['id']}", json={"team_id": None})
    assert patched.status_code == 200
    assert patched.json() == {**widget, "team_id": None}
    assert c.get(f"/widgets/{widget['id']}").json() == {**widget, "team_id": None}
    listed = c.get(f"/teams/{team}/widgets")
    assert (listed.json(), listed.headers["x-total-count"]) == (kept, str(len(kept)))
    assert c.get("/widgets", params={"team_id": team}).json() == kept
    everything = c.get("/widgets")
    assert [w for w in everything.json() if w["id"] == widget["id"]] == [{**widget, "team_id": None}]
    assert everything.headers["x-total-count"] == total == str(len(everything.json()))
    assert c.get(f"/api/v1/consistency/entities/widget/{widget['id']}").json()["data"]["team_id"] is None


def test_a_detached_child_can_be_attached_again(app_client, tmp_path: Path) -> None:
    c = app_client(spec=_spec(tmp_path))
    team, widgets = _team_with(c, "widgets")
    widget = widgets[0]
    c.patch(f"/widgets/{widget['id']}", json={"team_id": None})
    again = c.patch(f"/widgets/{widget['id']}", json={"team_id": team, "name": "back"})
    assert again.json() == {**widget, "name": "back"}
    assert c.get(f"/teams/{team}/widgets").json() == [{**widget, "name": "back"}, *widgets[1:]]


def test_a_key_the_schema_keeps_non_null_is_not_detached(app_client, tmp_path: Path) -> None:
    c = app_client(spec=_spec(tmp_path))
    team, rooms = _team_with(c, "rooms")
    refused = c.patch(f"/rooms/{rooms[0]['id']}", json={"team_id": None})
    assert (refused.status_code, refused.json()["field"]) == (422, "team_id")
    assert refused.json()["detail"] == "'team_id' cannot be null: every room belongs to a team"
    assert c.get(f"/teams/{team}/rooms").json() == rooms

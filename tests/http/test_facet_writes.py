"""Writes to a facet of an entity (``/users/{id}/billing``): PUT replaces the fields written to it, PATCH
merges over them, later GETs of that facet (and of no other) show them, persistently; DELETE makes it
404 where the spec says its GET can answer 404, else generated again; fields the facet shares with its
entity are written to the entity too."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from mockverse.check import run_check

SPEC = """\
openapi: 3.0.3
info: {title: Facets, version: "1"}
paths:
  /users:
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Users"}}}}
  /users/{user_id}:
    parameters: [{name: user_id, in: path, required: true, schema: {type: integer}}]
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/User"}}}}
  /users/{user_id}/billing:
    parameters: [{name: user_id, in: path, required: true, schema: {type: integer}}]
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Billing"}}}}
        "404": {description: no billing}
    put:
      requestBody:
        required: true
        content: {application/json: {schema: {$ref: "#/components/schemas/BillingWrite"}}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Billing"}}}}
    patch:
      requestBody:
        required: true
        content: {application/json: {schema: {$ref: "#/components/schemas/BillingWrite"}}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Billing"}}}}
    delete:
      responses:
        "204": {description: gone}
  /users/{user_id}/settings:
    parameters: [{name: user_id, in: path, required: true, schema: {type: integer}}]
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Settings"}}}}
    patch:
      requestBody:
        content: {application/json: {schema: {$ref: "#/components/schemas/Settings"}}}
      responses:
        "204": {description: changed}
    delete:
      responses:
        "204": {description: reset}
components:
  schemas:
    Users: {type: array, items: {$ref: "#/components/schemas/User"}}
    User:
      type: object
      required: [id, name, email]
      properties:
        id: {type: integer}
        name: {type: string}
        email: {type: string, format: email}
    Billing:
      type: object
      required: [plan, seats, email]
      properties:
        plan: {type: string, enum: [free, pro, team]}
        seats: {type: integer, minimum: 1, maximum: 500}
        email: {type: string, format: email}
        vat_id: {type: string}
    BillingWrite:
      type: object
      additionalProperties: false
      properties:
        plan: {type: string, enum: [free, pro, team]}
        seats: {type: integer, minimum: 1, maximum: 500}
        email: {type: string, format: email}
        vat_id: {type: string}
    Settings:
      type: object
      properties:
        theme: {type: string, enum: [light, dark]}
        digest: {type: boolean}
"""

BILLING_1 = (b'{"plan":"pro","seats":339,"email":"mike.yu@gmail.com","vat_id":"PU85168055","billing_status":"paid",'
             b'"subscription_type":"premium","billing_cycle":"monthly"}')
BILLING_2 = (b'{"plan":"team","seats":278,"email":"luketurner@hotmail.com","vat_id":"NG07969868",'
             b'"billing_status":"paid","subscription_type":"premium","billing_cycle":"annual"}')
USER_1 = b'{"id":1,"name":"Mike Yu","email":"mike.yu@gmail.com"}'


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "facets.yaml"
    path.write_text(SPEC)
    return path


def test_patch_changes_that_facet_only(app_client, spec: Path) -> None:
    c = app_client(spec=spec)
    assert c.get("/users/1/billing").content == BILLING_1
    assert c.get("/users/2/billing").content == BILLING_2
    r = c.patch("/users/1/billing", json={"plan": "team", "vat_id": "DE123"})
    assert r.status_code == 200
    expected = orjson.dumps({**orjson.loads(BILLING_1), "plan": "team", "vat_id": "DE123"})
    assert r.content == expected                      # the answer is the facet as it now reads
    assert c.get("/users/1/billing").content == expected
    assert c.get("/users/1/billing").content == expected
    assert c.get("/users/2/billing").content == BILLING_2
    assert c.get("/users/1").content == USER_1        # plan and vat_id are the facet's own, not the user's


def test_put_replaces_the_written_fields(app_client, spec: Path) -> None:
    c = app_client(spec=spec)
    c.patch("/users/1/billing", json={"plan": "team", "vat_id": "DE123"})
    r = c.put("/users/1/billing", json={"seats": 7})
    expected = orjson.dumps({**orjson.loads(BILLING_1), "seats": 7})   # plan and vat_id generated again
    assert (r.status_code, r.content) == (200, expected)
    assert c.get("/users/1/billing").content == expected
    r = c.patch("/users/1/billing", json={"vat_id": "FR9"})
    assert orjson.loads(r.content) == {**orjson.loads(BILLING_1), "seats": 7, "vat_id": "FR9"}


def test_a_shared_field_is_written_to_the_entity_too(app_client, spec: Path) -> None:
    c = app_client(spec=spec)
    c.patch("/users/1/billing", json={"email": "billing@example.org"})
    assert orjson.loads(c.get("/users/1/billing").content)["email"] == "billing@example.org"
    assert orjson.loads(c.get("/users/1").content) == {**orjson.loads(USER_1), "email": "billing@example.org"}
    assert c.get("/users/2/billing").content == BILLING_2


def test_a_write_the_request_schema_refuses_changes_nothing(app_client, spec: Path) -> None:
    c = app_client(spec=spec)
    r = c.patch("/users/1/billing", json={"plan": "gold"})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == "$.plan"
    r = c.put("/users/1/billing", json={"seats": 7, "discount": 5})
    assert (r.status_code, r.json()["field"]) == (422, "$.discount")
    assert c.patch("/users/99/billing", json={"plan": "pro"}).status_code == 404
    assert c.get("/users/1/billing").content == BILLING_1


def test_delete_is_a_404_where_the_spec_declares_one(app_client, spec: Path) -> None:
    c = app_client(spec=spec)
    c.patch("/users/1/billing", json={"plan": "team"})
    assert c.delete("/users/1/billing").status_code == 204
    r = c.get("/users/1/billing")
    assert (r.status_code, r.json()["detail"], r.json()["field"]) == (404, "the billing of user 1 was deleted",
                                                                      "user_id")
    assert c.get("/users/2/billing").content == BILLING_2
    r = c.put("/users/1/billing", json={"seats": 3})   # written again: it reads, without what was deleted
    assert r.content == orjson.dumps({**orjson.loads(BILLING_1), "seats": 3})
    assert c.get("/users/1/billing").content == r.content


def test_delete_resets_a_facet_whose_get_cannot_404(app_client, spec: Path) -> None:
    c = app_client(spec=spec)
    generated = c.get("/users/1/settings").content
    assert orjson.loads(generated)["theme"] == "light"
    r = c.patch("/users/1/settings", json={"theme": "dark"})
    assert (r.status_code, r.content) == (204, b"")
    assert c.get("/users/1/settings").json() == {**orjson.loads(generated), "theme": "dark"}
    assert c.delete("/users/1/settings").status_code == 204
    assert c.get("/users/1/settings").content == generated


def test_a_facet_write_changes_only_that_facets_record(app_client, spec: Path) -> None:
    c = app_client(spec=spec)
    store = c.app.state.engine.store
    c.get("/users/1/settings")
    c.get("/users/1")
    before = store.version("default")
    c.patch("/users/1/settings", json={"digest": False})
    tags = ["e:user#settings:1", "s:user#settings", "l:user#settings:1"]   # none of user 1's own
    assert store.changes("default", before) == [(before + 1, tags)]
    assert c.get("/users/1/settings").json()["digest"] is False


def test_facet_writes_persist_in_the_store(app_client, spec: Path, tmp_path: Path) -> None:
    store = tmp_path / "facets.db"
    first = app_client(spec=spec, store=store)
    written = first.patch("/users/1/billing", json={"plan": "free"}).content
    first.delete("/users/2/billing")
    second = app_client(spec=spec, store=store)
    assert second.get("/users/1/billing").content == written
    assert second.get("/users/2/billing").status_code == 404


def test_check_counts_facet_write_round_trips(spec: Path) -> None:
    report = run_check(str(spec))
    assert report.counts["writes"] == [3, 3]   # PUT and PATCH of billing, PATCH of settings
    assert report.status_5xx == 0

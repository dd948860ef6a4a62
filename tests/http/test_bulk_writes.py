"""A create whose request body is an array of the type's objects creates each one; its answer lists
them, or, when its schema summarises the write (``{new_count, persisted_contacts: [...]}``), tells the
truth about what was created; ``mockverse check`` reads a created id from such a summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockverse.check import run_check

CONTACT = """\
    Contact:
      type: object
      required: [id, email]
      properties: {id: {type: string}, email: {type: string, format: email}, name: {type: string}}
    ContactInput:
      type: object
      required: [email]
      properties: {email: {type: string, format: email}, name: {type: string}}
"""

ITEM = """\
  /contacts/{contact_id}:
    get:
      parameters: [{name: contact_id, in: path, required: true, schema: {type: string}}]
      responses:
        "200":
          description: one contact
          content: {application/json: {schema: {$ref: "#/components/schemas/Contact"}}}
"""

SUMMARY = f"""\
openapi: 3.0.3
info: {{title: contacts, version: "1"}}
paths:
  /contacts:
    get:
      responses:
        "200":
          description: every contact
          content: {{application/json: {{schema: {{type: array, items: {{$ref: "#/components/schemas/Contact"}}}}}}}}
    post:
      requestBody:
        content: {{application/json: {{schema: {{type: array, items: {{$ref: "#/components/schemas/ContactInput"}}}}}}}}
      responses:
        "201":
          description: what the upload did
          content:
            application/json:
              schema: {{$ref: "#/components/schemas/Upload"}}
              example:
                new_count: 7
                updated_count: 3
                error_count: 1
                error_indices: [2]
                persisted_contacts: [YUBh, bWlsbGVy]
                errors: [{{message: Invalid email., error_indices: [2]}}]
                has_errors: true
                note: kept as the example gives it
{ITEM}components:
  schemas:
{CONTACT}    Upload:
      type: object
      required: [new_count, persisted_contacts]
      properties:
        new_count: {{type: integer}}
        updated_count: {{type: integer}}
        error_count: {{type: integer}}
        error_indices: {{type: array, items: {{type: number}}}}
        persisted_contacts: {{type: array, items: {{type: string}}}}
        errors:
          type: array
          items:
            type: object
            properties: {{message: {{type: string}}, error_indices: {{type: array, items: {{type: number}}}}}}
        has_errors: {{type: boolean}}
        note: {{type: string}}
"""

LISTED = f"""\
openapi: 3.0.3
info: {{title: contacts, version: "1"}}
paths:
  /contacts:
    post:
      requestBody:
        content: {{application/json: {{schema: {{type: array, items: {{$ref: "#/components/schemas/ContactInput"}}}}}}}}
      responses:
        "201":
          description: the created contacts
          content: {{application/json: {{schema: {{type: array, items: {{$ref: "#/components/schemas/Contact"}}}}}}}}
{ITEM}components:
  schemas:
{CONTACT}"""

IDS = SUMMARY.replace("persisted_contacts", "ids").replace("new_count", "total_created")

NESTED = f"""\
openapi: 3.0.3
info: {{title: contacts, version: "1"}}
paths:
  /contacts:
    post:
      requestBody:
        content: {{application/json: {{schema: {{type: array, items: {{$ref: "#/components/schemas/ContactInput"}}}}}}}}
      responses:
        "200":
          description: what the import did
          content: {{application/json: {{schema: {{$ref: "#/components/schemas/Import"}}}}}}
{ITEM}components:
  schemas:
{CONTACT}    Import:
      type: object
      required: [status, result]
      properties:
        status: {{type: string, enum: [done]}}
        result:
          type: object
          required: [created_contact_ids, created_count, failed_count]
          properties:
            created_contact_ids: {{type: array, items: {{type: string}}}}
            created_count: {{type: integer}}
            failed_count: {{type: integer}}
"""


@pytest.fixture
def spec(tmp_path: Path):
    """A spec text written to a file: its path."""
    def write(text: str) -> Path:
        path = tmp_path / "contacts.yaml"
        path.write_text(text)
        return path
    return write


SENT = [{"email": "ada@example.com", "name": "Ada"}, {"email": "bob@example.com", "name": "Bob"},
        {"email": "cy@example.com"}]


def test_a_bulk_create_answered_by_a_summary_names_and_counts_what_it_created(app_client, spec):
    c = app_client(spec=spec(SUMMARY))
    created = c.post("/contacts", json=SENT)
    assert created.status_code == 201 and "location" not in created.headers
    ids = created.json()["persisted_contacts"]
    assert created.json() == {"new_count": 3, "updated_count": 0, "error_count": 0, "error_indices": [],
                              "persisted_contacts": ids, "errors": [], "has_errors": False,
                              "note": "kept as the example gives it"}
    assert ids == ["UNcF5G5UPp95eERDEtbyuM", "nzbftieZhzZuIqAjK2PJtR", "Ok16Yc7PFOioVbs1Gzc8pl"]
    read = [c.get(f"/contacts/{id}").json() for id in ids]
    assert [{k: r[k] for k in ("id", *sent)} for r, sent in zip(read, SENT, strict=True)] == \
        [{"id": id, **sent} for id, sent in zip(ids, SENT, strict=True)]
    listed = c.get("/contacts")
    assert listed.headers["X-Total-Count"] == "53" and [n["id"] for n in listed.json()[-3:]] == ids


def test_a_summary_of_plain_ids_lists_them_and_counts_them(app_client, spec):
    c = app_client(spec=spec(IDS))
    answer = c.post("/contacts", json=SENT[:2]).json()
    assert answer["total_created"] == 2 and answer["error_count"] == 0 and answer["errors"] == []
    assert [c.get(f"/contacts/{id}").json()["email"] for id in answer["ids"]] == ["ada@example.com", "bob@example.com"]


def test_a_summary_inside_the_answer_tells_what_was_created(app_client, spec):
    c = app_client(spec=spec(NESTED))
    answer = c.post("/contacts", json=SENT[:2])
    assert answer.status_code == 200
    ids = answer.json()["result"]["created_contact_ids"]
    assert answer.json() == {"status": "done", "result": {"created_contact_ids": ids, "created_count": 2,
                                                          "failed_count": 0}}
    assert [c.get(f"/contacts/{id}").json()["email"] for id in ids] == ["ada@example.com", "bob@example.com"]


def test_a_bulk_create_whose_answer_lists_the_entities_shows_each_created_one(app_client, spec):
    c = app_client(spec=spec(LISTED))
    created = c.post("/contacts", json=SENT[:2])
    assert created.status_code == 201
    rows = created.json()
    assert [(r["email"], r.get("name")) for r in rows] == [("ada@example.com", "Ada"), ("bob@example.com", "Bob")]
    assert [c.get(f"/contacts/{r['id']}").json() for r in rows] == rows


def test_an_item_of_a_bulk_body_that_is_no_object_is_refused_naming_the_body(app_client, spec):
    c = app_client(spec=spec(SUMMARY))
    refused = c.post("/contacts", json=[{"email": "ada@example.com"}, "bob@example.com"])
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["field"] == "$[1]"
    assert c.get("/contacts").headers["X-Total-Count"] == "50"


@pytest.mark.parametrize("text", [SUMMARY, IDS, NESTED, LISTED])
def test_the_checker_reads_a_bulk_creates_first_id_back(spec, text):
    report = run_check(str(spec(text)))
    assert report.counts["writes"] == [1, 1]
    assert [f for f in report.findings if f.category == "writes"] == []

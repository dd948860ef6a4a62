"""A list whose operation declares no paging answers the whole collection, as its real API does (up to
MAX_WINDOW rows an answer, then linked to the next page); one that declares paging pages as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockverse.http.conventions import MAX_WINDOW

SPEC = """\
openapi: 3.0.3
info: {title: notes, version: "1"}
paths:
  /notes:
    get:
      responses:
        "200":
          description: every note
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Note"}}}}
    post:
      requestBody:
        content: {application/json: {schema: {$ref: "#/components/schemas/NoteInput"}}}
      responses:
        "201":
          description: created
          content: {application/json: {schema: {$ref: "#/components/schemas/Note"}}}
  /notes/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200":
          description: one note
          content: {application/json: {schema: {$ref: "#/components/schemas/Note"}}}
  /notes/{id}/marks:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200":
          description: the note's marks
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Mark"}}}}
  /marks/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200":
          description: one mark
          content: {application/json: {schema: {$ref: "#/components/schemas/Mark"}}}
  /labels:
    get:
      parameters: [{name: PageSize, in: query, schema: {type: integer}}]
      responses:
        "200":
          description: a page of labels
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Label"}}}}
  /labels/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200":
          description: one label
          content: {application/json: {schema: {$ref: "#/components/schemas/Label"}}}
components:
  schemas:
    NoteInput:
      type: object
      required: [title]
      properties: {title: {type: string}}
    Note:
      type: object
      required: [id, title]
      properties: {id: {type: integer}, title: {type: string}}
    Mark:
      type: object
      required: [id, note_id]
      properties: {id: {type: integer}, note_id: {type: integer}}
    Label:
      type: object
      required: [id, name]
      properties: {id: {type: integer}, name: {type: string}}
"""


def _client(app_client, tmp_path: Path, config: str | None = None):
    """A client over the notes spec, with ``config`` when given."""
    spec = tmp_path / "notes.yaml"
    spec.write_text(SPEC)
    if config is None:
        return app_client(spec=spec)
    (tmp_path / "notes-config.yaml").write_text(config)
    return app_client(spec=spec, config=tmp_path / "notes-config.yaml")


def test_a_list_without_paging_answers_every_entity_and_what_a_client_creates(app_client, tmp_path):
    c = _client(app_client, tmp_path)
    listed = c.get("/notes")
    assert [n["id"] for n in listed.json()] == list(range(1, 51))
    assert listed.headers["X-Total-Count"] == "50" and "Link" not in listed.headers
    created = c.post("/notes", json={"title": "the fifty-first"})
    assert created.status_code == 201 and created.json()["id"] == 51
    after = c.get("/notes")
    assert [n["id"] for n in after.json()] == list(range(1, 52))
    assert after.json()[-1] == c.get("/notes/51").json() == {"id": 51, "title": "the fifty-first"}
    assert after.headers["X-Total-Count"] == "51" and "Link" not in after.headers


def test_json_server_paging_a_client_sends_still_pages(app_client, tmp_path):
    c = _client(app_client, tmp_path)
    page = c.get("/notes", params={"_page": 2, "_per_page": 5})
    assert [n["id"] for n in page.json()] == [6, 7, 8, 9, 10]
    assert page.headers["X-Total-Count"] == "50"
    assert page.headers["Link"] == (
        '<http://127.0.0.1:3000/notes?_page=1&_per_page=5>; rel="first", '
        '<http://127.0.0.1:3000/notes?_page=10&_per_page=5>; rel="last", '
        '<http://127.0.0.1:3000/notes?_page=1&_per_page=5>; rel="prev", '
        '<http://127.0.0.1:3000/notes?_page=3&_per_page=5>; rel="next"')
    sliced = c.get("/notes", params={"_start": 48, "_end": 60})
    assert [n["id"] for n in sliced.json()] == [49, 50] and sliced.headers["X-Total-Count"] == "50"


def test_a_whole_list_past_the_ceiling_answers_the_first_rows_and_links_the_rest(app_client, tmp_path):
    c = _client(app_client, tmp_path, "world:\n  entities:\n    note: {population: 1001}\n")
    first = c.get("/notes")
    assert len(first.json()) == MAX_WINDOW == 1000
    assert first.json()[0]["id"] == 1 and first.json()[-1]["id"] == 1000
    assert first.headers["X-Total-Count"] == "1001"
    assert first.headers["Link"] == (
        '<http://127.0.0.1:3000/notes?_page=1&_per_page=1000>; rel="first", '
        '<http://127.0.0.1:3000/notes?_page=2&_per_page=1000>; rel="last", '
        '<http://127.0.0.1:3000/notes?_page=2&_per_page=1000>; rel="next"')
    rest = c.get("/notes?_page=2&_per_page=1000")
    assert [n["id"] for n in rest.json()] == [1001] and rest.headers["X-Total-Count"] == "1001"


def test_a_list_that_declares_paging_in_its_own_spelling_keeps_its_first_page(app_client, tmp_path):
    c = _client(app_client, tmp_path)
    labels = c.get("/labels")
    assert [label["id"] for label in labels.json()] == list(range(1, 21))
    assert labels.headers["X-Total-Count"] == "50" and 'rel="next"' in labels.headers["Link"]


def test_the_builtin_lists_that_declare_json_server_paging_keep_their_page_of_20(app_client):
    c = app_client()
    for path, total in (("/users", "1000"), ("/orders", c.get("/orders").headers["X-Total-Count"])):
        page = c.get(path)
        assert len(page.json()) == 20 and page.headers["X-Total-Count"] == total
        assert page.headers["Link"].endswith(f'<http://127.0.0.1:3000{path}?_page=2&_per_page=20>; rel="next"')


@pytest.mark.parametrize("count", [3, 1001])
def test_a_child_list_without_paging_is_whole_up_to_the_ceiling(app_client, tmp_path, count):
    config = (f"world:\n  entities:\n    note: {{population: 2}}\n    mark:\n"
              f"      parent: {{type: note, field: note_id, relationship: has_marks}}\n"
              f"      count: [{count}, {count}]\n      id_multiplier: 10000\n")
    c = _client(app_client, tmp_path, config)
    marks = c.get("/notes/1/marks")
    shown = min(count, MAX_WINDOW)
    assert len(marks.json()) == shown and {m["note_id"] for m in marks.json()} == {1}
    assert marks.headers["X-Total-Count"] == str(count)
    if count <= MAX_WINDOW:
        assert "Link" not in marks.headers
    else:
        assert marks.headers["Link"] == (
            '<http://127.0.0.1:3000/notes/1/marks?_page=1&_per_page=1000>; rel="first", '
            '<http://127.0.0.1:3000/notes/1/marks?_page=2&_per_page=1000>; rel="last", '
            '<http://127.0.0.1:3000/notes/1/marks?_page=2&_per_page=1000>; rel="next"')
        rest = c.get("/notes/1/marks?_page=2&_per_page=1000").json()
        assert len(rest) == 1 and rest[0]["note_id"] == 1


def test_a_whole_list_of_a_huge_collection_builds_only_the_rows_it_answers(app_client, tmp_path):
    c = _client(app_client, tmp_path, "world:\n  entities:\n    note: {population: 1000000000}\n")
    first = c.get("/notes")
    assert [n["id"] for n in first.json()] == list(range(1, 1001))
    assert first.headers["X-Total-Count"] == "1000000000"
    assert first.headers["Link"] == (
        '<http://127.0.0.1:3000/notes?_page=1&_per_page=1000>; rel="first", '
        '<http://127.0.0.1:3000/notes?_page=1000000&_per_page=1000>; rel="last", '
        '<http://127.0.0.1:3000/notes?_page=2&_per_page=1000>; rel="next"')
    last = c.get("/notes?_page=1000000&_per_page=1000")
    assert [n["id"] for n in last.json()] == list(range(999_999_001, 1_000_000_001))

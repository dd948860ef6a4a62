"""A list read that carries relations (``_embed``/``_expand``) on an operation that declares no paging answers
whole as the same list without them does, up to the rows ``EMBED_ROWS`` allows, then linked to the next page;
a list that declares json-server paging keeps its page of 20."""

from __future__ import annotations

from pathlib import Path

from mockverse.http.conventions import EMBED_ROWS

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
components:
  schemas:
    Note:
      type: object
      required: [id, title]
      properties: {id: {type: integer}, title: {type: string}}
    Mark:
      type: object
      required: [id, note_id]
      properties: {id: {type: integer}, note_id: {type: integer}}
"""


def _client(app_client, tmp_path: Path, notes: int):
    """A client over the notes spec with ``notes`` notes of two marks each."""
    spec = tmp_path / "notes.yaml"
    spec.write_text(SPEC)
    config = tmp_path / "notes-config.yaml"
    config.write_text(f"world:\n  entities:\n    note: {{population: {notes}}}\n    mark:\n"
                      "      parent: {type: note, field: note_id, relationship: has_marks}\n      count: [2, 2]\n")
    return app_client(spec=spec, config=config)


def _marks(note: int) -> list[dict]:
    """The two marks of a note, as the config makes them."""
    return [{"id": note * 100 + 1, "note_id": note}, {"id": note * 100 + 2, "note_id": note}]


def test_an_embed_on_a_list_without_paging_answers_it_whole(app_client, tmp_path: Path) -> None:
    c = _client(app_client, tmp_path, 50)
    plain = c.get("/notes")
    embedded = c.get("/notes", params={"_embed": "marks"})
    assert embedded.status_code == 200
    assert [n["id"] for n in embedded.json()] == [n["id"] for n in plain.json()] == list(range(1, 51))
    assert [n["marks"] for n in embedded.json()] == [_marks(n) for n in range(1, 51)]
    assert [{k: v for k, v in n.items() if k != "marks"} for n in embedded.json()] == plain.json()
    assert embedded.headers["X-Total-Count"] == plain.headers["X-Total-Count"] == "50"
    assert "Link" not in embedded.headers and "Link" not in plain.headers


def test_an_embed_past_what_its_relations_allow_links_the_rest(app_client, tmp_path: Path) -> None:
    c = _client(app_client, tmp_path, 150)
    first = c.get("/notes", params={"_embed": "marks"})
    assert [n["id"] for n in first.json()] == list(range(1, EMBED_ROWS + 1)) == list(range(1, 101))
    assert first.headers["X-Total-Count"] == "150"
    assert first.headers["Link"] == (
        '<http://127.0.0.1:3000/notes?_embed=marks&_page=1&_per_page=100>; rel="first", '
        '<http://127.0.0.1:3000/notes?_embed=marks&_page=2&_per_page=100>; rel="last", '
        '<http://127.0.0.1:3000/notes?_embed=marks&_page=2&_per_page=100>; rel="next"')
    rest = c.get("/notes?_embed=marks&_page=2&_per_page=100")
    assert [n["id"] for n in rest.json()] == list(range(101, 151))
    assert rest.json()[-1]["marks"] == _marks(150)


def test_a_sorted_embed_is_whole_up_to_what_its_relations_allow(app_client, tmp_path: Path) -> None:
    c = _client(app_client, tmp_path, 150)
    first = c.get("/notes", params={"_embed": "marks", "_sort": "id", "_order": "desc"})
    assert first.status_code == 200
    assert [n["id"] for n in first.json()] == list(range(150, 50, -1))
    assert first.json()[0]["marks"] == _marks(150)
    assert first.headers["X-Total-Count"] == "150"
    assert first.headers["Link"].endswith(
        '<http://127.0.0.1:3000/notes?_embed=marks&_sort=id&_order=desc&_page=2&_per_page=100>; rel="next"')
    (tmp_path / "small").mkdir()
    small = _client(app_client, tmp_path / "small", 30)
    whole = small.get("/notes", params={"_embed": "marks", "_sort": "id", "_order": "desc"})
    assert [n["id"] for n in whole.json()] == list(range(30, 0, -1))
    assert whole.headers["X-Total-Count"] == "30" and "Link" not in whole.headers


def test_a_list_that_declares_json_server_paging_keeps_its_page_of_20_with_an_embed(app_client) -> None:
    c = app_client()
    plain = c.get("/users")
    embedded = c.get("/users", params={"_embed": "orders"})
    assert embedded.status_code == 200
    assert [u["id"] for u in embedded.json()] == [u["id"] for u in plain.json()]
    assert len(embedded.json()) == 20 and embedded.headers["X-Total-Count"] == "1000"
    assert embedded.headers["Link"].endswith(
        '<http://127.0.0.1:3000/users?_embed=orders&_page=2&_per_page=20>; rel="next"')

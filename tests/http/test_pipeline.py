"""One pipeline: typed operations for every world, one read and one write path, a Served value the journal records."""

from __future__ import annotations

from conftest import ROOT
from mockverse.http.operations import (
    CURRENT,
    ActionOp,
    ChildrenOp,
    CollectionOp,
    FacetOp,
    ItemOp,
)

FIXTURES = ROOT / "tests" / "fixtures" / "specs"
HTTP = ROOT / "src" / "mockverse" / "http"


def _ops(client) -> dict:
    return client.app.state.mock.by_path


def test_builtin_world_is_classified_like_any_spec(app_client):
    ops = _ops(app_client())
    users = ops["/users"]["GET"]
    assert isinstance(users, CollectionOp) and users.listed.name == "user" and users.filters == ()
    item = ops["/users/{id}"]["DELETE"]
    assert isinstance(item, ItemOp) and (item.entity.name, item.id_param, item.status) == ("user", "id", 204)
    items = ops["/orders/{id}/items"]["GET"]
    assert isinstance(items, ChildrenOp)
    assert (items.parent.name, items.listed.name, items.relationship) == ("order", "order_item", "has_items")
    billing = ops["/users/{id}/billing"]["GET"]
    assert isinstance(billing, FacetOp) and (billing.entity.name, billing.facet) == ("user", "billing")
    order_items = ops["/order_items"]["POST"]
    assert isinstance(order_items, CollectionOp) and order_items.filters == ("order_id", "orderId")
    assert {op.kind for methods in ops.values() for op in methods.values()} == {"collection", "item", "children",
                                                                               "facet"}


def test_spec_world_operations_are_typed(app_client):
    ops = _ops(app_client(spec=FIXTURES / "shop.yaml"))
    suspend = ops["/v1/users/{id}/suspend"]["POST"]
    assert isinstance(suspend, ActionOp) and suspend.named is not None and suspend.named[1] == "id"
    task = ops["/Projects/{projectId}/Tasks/{taskId}"]["GET"]
    assert isinstance(task, ItemOp) and task.id_param == "taskId" and task.entity.name == "task"
    orders = ops["/v1/users/{user_id}/orders"]["GET"]
    assert isinstance(orders, ChildrenOp) and orders.named is not None and orders.named[1] == "user_id"


def test_no_world_branches_in_the_request_path():
    for module in HTTP.glob("*.py"):
        assert "spec_world" not in module.read_text(), module.name


def test_journal_records_the_served_value(app_client):
    c = app_client()
    c.delete("/api/v1/requests")
    assert c.get("/users/1", headers={"X-Mockverse-Workspace": "team-a"}).status_code == 200
    assert c.get("/users/1", headers={"Prefer": "code=404"}).status_code == 404
    assert c.get("/users/99999").status_code == 404
    entries = c.get("/api/v1/requests").json()["requests"]
    seen = sorted((e["path"], e["status"], e["workspace"], e["source"]) for e in entries)
    assert seen == [("/users/1", 200, "team-a", "synthetic"), ("/users/1", 404, "default", "spec"),
                    ("/users/99999", 404, "default", None)]


def test_write_then_read_round_trips_in_both_worlds(app_client):
    c = app_client()
    created = c.post("/users", json={"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"})
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    assert c.get(location).json()["last_name"] == "Lovelace"
    assert c.patch(location, json={"last_name": "King"}).status_code == 200
    assert c.get(location).json()["last_name"] == "King"
    assert c.post("/users", content=b"[1, 2]", headers={"content-type": "application/json"}).json()["field"] == "body"


NOTES = FIXTURES / "notes_patch.yaml"


def test_json_patch_updates_what_later_reads_show(app_client):
    c = app_client(spec=NOTES)
    created = c.post("/notes", json={"title": "Groceries", "body": "milk"})
    assert (created.status_code, created.json(), created.headers["location"]) == (
        201, {"id": 51, "title": "Groceries", "body": "milk"}, "/notes/51")
    patch = b'[{"op": "replace", "path": "/title", "value": "Shopping"}, {"op": "remove", "path": "/body"}]'
    r = c.patch("/notes/51", content=patch, headers={"content-type": "application/json-patch+json"})
    assert (r.status_code, r.json()["title"]) == (200, "Shopping")
    assert "body" not in r.json()   # removed: gone from later reads, not generated again
    assert c.get("/notes/51").json() == r.json()
    failed = c.patch("/notes/51", json=[{"op": "test", "path": "/title", "value": "Groceries"}])
    assert (failed.status_code, failed.json()["title"]) == (409, "Patch test failed")
    bad = c.patch("/notes/51", json=[{"op": "replace", "path": "title", "value": "x"}])
    assert (bad.status_code, bad.json()["field"]) == (422, "body")
    assert c.get("/notes/51").json()["title"] == "Shopping"


def test_writes_are_validated_as_the_spec_writes_them(app_client):
    c = app_client(spec=NOTES)
    extra = c.post("/notes", json={"title": "a", "colour": "red"})
    assert (extra.status_code, extra.json()["field"]) == (422, "$.colour")
    assert c.get("/notes/51").status_code == 404


def test_a_post_to_a_nested_list_answering_one_entity_creates_it(app_client):
    c = app_client(spec=NOTES)
    op = c.app.state.mock.by_path["/folders/{folderId}/labels"]["POST"]
    assert (op.kind, op.listed.name, op.parent.name) == ("related", "label", "folder")
    created = c.post("/folders/1/labels", json={"name": "urgent"})
    assert (created.status_code, created.json()) == (200, {"id": 51, "name": "urgent"})
    assert c.get("/labels/51").json() == {"id": 51, "name": "urgent"}
    assert c.post("/folders/999/labels", json={"name": "x"}).status_code == 404


def test_cursor_paging_walks_the_same_list_and_totals_agree(app_client):
    c = app_client(spec=NOTES)
    assert c.post("/notes", json={"title": "new"}).json()["id"] == 51
    seen, url, pages = [], "/notes?limit=20", []
    while url:
        r = c.get(url)
        body = r.json()
        ids = [n["id"] for n in body["data"]]
        seen += ids
        pages.append((body["has_more"], body["first_id"], body["last_id"], body["total"]))
        url = r.links["next"]["url"] if "next" in r.links else None
    assert seen == list(range(1, 52))
    assert pages == [(True, 1, 20, 51), (True, 21, 40, 51), (False, 41, 51, 51)]
    before = c.get("/notes?limit=5&before=21")
    assert [n["id"] for n in before.json()["data"]] == [16, 17, 18, 19, 20]
    assert before.headers["link"] == ('<http://127.0.0.1:3000/notes?limit=5&after=20>; rel="next", '
                                      '<http://127.0.0.1:3000/notes?limit=5&before=16>; rel="prev"')
    unknown = c.get("/notes?after=99999")
    assert (unknown.status_code, unknown.json()["field"]) == (400, "after")


KEYS = FIXTURES / "keys_alias.yaml"


def test_a_create_at_an_aliased_collection_belongs_to_the_first_persona(app_client):
    c = app_client(spec=KEYS)
    assert c.app.state.mock.by_path["/user/keys"]["POST"].id_param == CURRENT
    created = c.post("/user/keys", json={"title": "laptop"})
    assert (created.status_code, created.json(), created.headers["location"]) == (
        201, {"id": 5100, "user_id": 1, "title": "laptop"}, "/keys/5100")
    assert [k["id"] for k in c.get("/users/1/keys").json()] == [101, 102, 103, 5100]


def test_a_create_whose_spec_body_is_an_array_creates_each_item(app_client):
    c = app_client(spec=KEYS)
    assert c.get("/tags/count").json() == {"tag_count": 50}
    created = c.post("/tags", json=[{"label": "a"}, {"label": "b"}])
    assert (created.status_code, created.json()) == (201, [{"id": 51, "label": "a"}, {"id": 52, "label": "b"}])
    assert [c.get(f"/tags/{i}").json()["label"] for i in (51, 52)] == ["a", "b"]
    assert c.get("/tags/count").json() == {"tag_count": 52}
    refused = c.post("/tags", json=[{"nolabel": 1}])
    assert (refused.status_code, refused.json()["field"]) == (422, "$[0].label")
    assert c.get("/tags/53").status_code == 404


def test_a_write_by_query_parameters_changes_later_reads(app_client):
    c = app_client(spec=KEYS)
    r = c.put("/keys/101?title=renamed")
    assert (r.status_code, r.json()["title"]) == (200, "renamed")
    assert c.get("/keys/101").json()["title"] == "renamed"
    assert c.get("/users/1/keys").json()[0]["title"] == "renamed"

"""One world pipeline: a spec's config pins what inference decides (entities' path, schema, parent,
id scheme, population, pacing, field choices and derivations), as the built-in world's config does."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from mockverse.config import load_config
from mockverse.openapi import infer_world, load_spec
from mockverse.world.model import WorldError, WorldModel

SPEC = """\
openapi: 3.0.3
info: {title: shop, version: "1"}
paths:
  /customers:
    get:
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Customer"}}}}
  /customers/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {$ref: "#/components/schemas/Customer"}}}
  /customers/{id}/invoices:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Invoice"}}}}
  /invoices/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {$ref: "#/components/schemas/InvoiceWithLines"}}}
  /invoices/{id}/lines:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Line"}}}}
  /lines/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {$ref: "#/components/schemas/Line"}}}
components:
  schemas:
    Customer:
      type: object
      required: [id, name]
      properties: {id: {type: integer}, name: {type: string}, created_at: {type: string, format: date-time}}
    Invoice:
      type: object
      required: [id, customer_id, status, total, line_count, currency, created_at]
      properties:
        id: {type: integer}
        customer_id: {type: integer}
        status: {type: string, enum: [open, paid, void]}
        total: {type: number}
        line_count: {type: integer}
        currency: {type: string, enum: [USD, EUR]}
        created_at: {type: string, format: date-time}
    InvoiceWithLines:
      allOf:
        - {$ref: "#/components/schemas/Invoice"}
        - type: object
          required: [lines]
          properties: {lines: {type: array, items: {$ref: "#/components/schemas/Line"}}}
    Line:
      type: object
      required: [id, invoice_id, quantity, unit_price, currency, created_at]
      properties:
        id: {type: integer}
        invoice_id: {type: integer}
        quantity: {type: integer, minimum: 1, maximum: 5}
        unit_price: {type: number, minimum: 1, maximum: 100}
        currency: {type: string, enum: [USD, EUR]}
        created_at: {type: string, format: date-time}
"""

CONFIG = """\
world:
  entities:
    customer: {population: 7}
    invoice:
      schema: Invoice
      parent: {type: customer, field: customer_id, relationship: has_bills}
      id_multiplier: 1000
      every: 30d
      max: 5
      paced_by_lifecycle: true
      fields: {status: {choices: {void: 1}}}
      derive:
        total: {sum: has_lines, of: [quantity, unit_price]}
        line_count: {count: has_lines}
    line:
      path: /lines
      parent: {type: invoice, field: invoice_id, relationship: has_lines}
      count: [2, 2]
      delay: [1m, 1m]
      derive: {currency: {parent: currency}}
"""


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture
def files(tmp_path):
    (tmp_path / "spec.yaml").write_text(SPEC)
    (tmp_path / "config.yaml").write_text(CONFIG)
    return tmp_path / "spec.yaml", tmp_path / "config.yaml"


def model_of(spec, config) -> WorldModel:
    loaded = load_spec(str(spec))
    return WorldModel.from_spec(loaded, infer_world(loaded), load_config(str(config), builtin_world=False).world)


def test_population_and_id_multiplier_are_honoured(app_client, files):
    c = app_client(spec=files[0], config=files[1])
    customers = c.get("/customers", params={"limit": 100})
    assert customers.headers["X-Total-Count"] == "7"
    assert [u["id"] for u in customers.json()] == [1, 2, 3, 4, 5, 6, 7]
    assert c.get("/customers/8").status_code == 404
    invoices = c.get("/customers/1/invoices").json()
    assert [i["id"] for i in invoices] == [1001, 1002, 1003, 1004, 1005]   # one every 30 days, at most 5
    assert {i["customer_id"] for i in invoices} == {1}


def test_field_choices_derivations_count_and_delay(app_client, files):
    c = app_client(spec=files[0], config=files[1])
    invoice = c.get("/invoices/1001").json()
    lines = c.get("/invoices/1001/lines").json()
    assert [line["id"] for line in lines] == [100101, 100102]
    assert invoice["status"] == "void"
    assert invoice["line_count"] == 2
    assert invoice["total"] == round(sum(line["quantity"] * line["unit_price"] for line in lines), 2)
    assert {line["currency"] for line in lines} == {invoice["currency"]}
    assert all(ts(line["created_at"]) == ts(invoice["created_at"]) + timedelta(minutes=1) for line in lines)
    assert invoice["lines"] == lines   # the item response embeds the invoice's own lines


def test_pinned_schema_parent_and_path(app_client, files):
    c = app_client(spec=files[0], config=files[1])
    world = c.get("/api/v1/consistency/world").json()
    types = {t["name"]: t for t in world["entity_types"]}
    assert types["invoice"]["schema"] == "Invoice"
    assert types["invoice"]["parent"] == {"type": "customer", "field": "customer_id", "relationship": "has_bills"}
    assert types["line"]["collection_path"] == "/lines"
    assert types["line"]["per_parent"] == [2, 2]
    stored = c.get("/api/v1/consistency/entities/invoice/1001").json()["data"]
    assert "lines" not in stored   # the pinned schema is the entity; the item response embeds its lines
    assert c.get("/api/v1/consistency/users/3/orders").status_code == 404
    assert c.get("/api/v1/consistency/customers/1/bills").json()["count"] == len(c.get("/customers/1/invoices").json())


def test_pacing_is_honoured(files):
    model = model_of(*files)
    invoice = model.types["invoice"]
    assert invoice.config.paced_by_lifecycle is True
    assert invoice.config.every == timedelta(days=30) and invoice.config.max == 5 and invoice.config.count is None
    assert model.types["line"].config.delay == (timedelta(minutes=1), timedelta(minutes=1))


def test_a_pinned_schema_must_exist(files, tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("world:\n  entities:\n    invoice: {schema: Invoce}\n")
    with pytest.raises(WorldError, match="world.entities.invoice.schema: no schema 'Invoce' in the spec"):
        model_of(files[0], config)


def test_a_list_without_its_own_paging_pages_as_json_server(app_client, files):
    c = app_client(spec=files[0], config=files[1])
    page = c.get("/customers", params={"_page": 2, "_per_page": 3})
    assert [u["id"] for u in page.json()] == [4, 5, 6]
    assert page.headers["X-Total-Count"] == "7"
    assert page.headers["Link"] == (
        '<http://127.0.0.1:3000/customers?_page=1&_per_page=3>; rel="first", '
        '<http://127.0.0.1:3000/customers?_page=3&_per_page=3>; rel="last", '
        '<http://127.0.0.1:3000/customers?_page=1&_per_page=3>; rel="prev", '
        '<http://127.0.0.1:3000/customers?_page=3&_per_page=3>; rel="next"')
    children = c.get("/customers/1/invoices")
    assert children.headers["X-Total-Count"] == "5" and "Link" not in children.headers


def test_the_builtin_world_is_inferred_and_pinned_like_any_spec(app_client):
    world = app_client().get("/api/v1/consistency/world").json()
    types = {t["name"]: t for t in world["entity_types"]}
    assert list(types) == ["user", "device", "order", "order_item", "payment"]
    assert world["excluded"] == {"types": [], "relationships": []}
    assert {n: (t["origin"], t["item_path"], t["schema"]) for n, t in types.items()} == {
        "user": ("path", "/users/{id}", "User"), "device": ("path", "/devices/{id}", "Device"),
        "order": ("path", "/orders/{id}", "Order"), "order_item": ("path", "/order_items/{id}", "OrderItem"),
        "payment": ("path", "/payments/{id}", "Payment")}
    assert types["order"]["parent"] == {"type": "user", "field": "user_id", "relationship": "has_orders"}
    used = {r["id"]: r["used_as"] for r in world["relationships"]}
    assert used["order.user_id->user"] == "parent" and used["user.orders->order"] == "embed"


def test_a_config_over_the_builtin_world_adds_its_exclusions(tmp_path):
    config = tmp_path / "mockverse.yaml"
    config.write_text("world:\n  exclude: []\n")
    assert load_config(str(config)).world.exclude == []
    config.write_text("world:\n  exclude: [user.orders->order]\n")
    assert load_config(str(config)).world.exclude == ["user.orders->order"]
    assert load_config(str(config), builtin_world=False).world.exclude == ["user.orders->order"]

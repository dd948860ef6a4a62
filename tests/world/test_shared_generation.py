"""Apps of one process serving the same world (the spec's bytes and the config, wherever each stores its state)
share what that world generates: a second app reads a persona without generating it again. Another config is
another world; writes stay in each app's own store; a world with an ``ai:`` section shares nothing."""

from __future__ import annotations

from typing import Any

from mockverse.config import builtin_spec_path, load_config
from mockverse.http.app import world_key
from mockverse.openapi.loader import load_spec
from mockverse.world.generate import Generator

SPEC = """openapi: 3.0.3
info: {title: Invoices, version: "1"}
paths:
  /customers/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200":
          description: a customer
          content: {application/json: {schema: {$ref: "#/components/schemas/Customer"}}}
components:
  schemas:
    Customer:
      type: object
      properties: {id: {type: integer}, name: {type: string}, tier: {type: string, enum: [gold, silver]}}
"""


def counted(monkeypatch) -> list[str]:
    """The refs the generator builds from nothing from now on (rendering a response lays the entity's own
    fields over its schema with ``given``: that is per app, cached by each app's views)."""
    calls: list[str] = []
    original = Generator.object

    def object(self: Generator, schema: dict, ref: str, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("given") is None:
            calls.append(ref)
        return original(self, schema, ref, *args, **kwargs)

    monkeypatch.setattr(Generator, "object", object)
    return calls


def test_a_second_app_of_the_same_world_generates_nothing_again(app_client, monkeypatch):
    first = app_client(seed=9).get("/users/7")
    calls = counted(monkeypatch)
    second = app_client(seed=9)   # a store of its own
    assert second.get("/users/7").content == first.content
    assert calls == []
    other = app_client(seed=10).get("/users/7")   # another seed draws another persona
    assert other.status_code == 200 and other.content != first.content and "user:7" in calls


def test_writes_stay_in_their_own_store(app_client):
    a, b = app_client(seed=11), app_client(seed=11)
    name = a.get("/users/7").json()["first_name"]
    assert a.patch("/users/7", json={"first_name": "Zelda"}).status_code == 200
    assert (a.get("/users/7").json()["first_name"], b.get("/users/7").json()["first_name"]) == ("Zelda", name)


def test_another_config_of_the_same_spec_is_another_world(app_client, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    tiers = []
    for tier in ("gold", "silver"):
        config = tmp_path / f"{tier}.yaml"
        config.write_text(f"world:\n  entities:\n    customer: {{fields: {{tier: {{choices: {{{tier}: 1}}}}}}}}\n")
        tiers.append(app_client(spec=spec, config=config).get("/customers/3").json()["tier"])
    assert tiers == ["gold", "silver"]


def test_a_world_with_an_ai_section_shares_nothing(tmp_path):
    spec = load_spec(builtin_spec_path())
    config = tmp_path / "ai.yaml"
    config.write_text("ai:\n  base_url: http://127.0.0.1:9/v1\n  model: m\n")
    assert world_key(spec, load_config(str(config))) is None
    plain, elsewhere = load_config(), load_config(overrides={"store": str(tmp_path / "x.db"), "server": {"port": 4000}})
    assert world_key(spec, plain) == world_key(spec, elsewhere) is not None
    assert world_key(spec, plain) != world_key(spec, load_config(overrides={"seed": 7}))

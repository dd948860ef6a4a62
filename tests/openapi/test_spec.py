"""The spec package: loading OpenAPI documents and inferring the entity world from them.

Run with ``-s`` to see, for every shared spec, which expected relationships were found
and on what evidence.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ROOT
from mockverse.openapi import (
    InferredWorld,
    Relationship,
    SpecError,
    infer_world,
    is_nullable,
    load_spec,
    merge_all_of,
    singular,
)

SHARED = Path("/work/shared/specs")
FIXTURES = ROOT / "tests" / "fixtures" / "specs"
NESTING = "<path nesting>"

# file -> (path items, operations, component schemas), from the shared README table.
COUNTS = {
    "petstore.yaml": (13, 19, 6),
    "xero.yaml": (7, 16, 18),
    "sendgrid.yaml": (19, 36, 20),
    "paypal.json": (13, 16, 113),
    "spotify.yaml": (71, 97, 90),
    "apideck.yaml": (23, 53, 110),
}

# file -> (source, target, field or NESTING) a person reads from the shared README.
EXPECTED = {
    "petstore.yaml": [
        ("order", "pet", "petId"),
        ("pet", "category", "category"),
        ("pet", "tag", "tags"),
    ],
    "xero.yaml": [
        ("task", "project", "projectId"),
        ("project", "task", NESTING),
        ("time_entry", "project", "projectId"),
        ("time_entry", "task", "taskId"),
        ("project", "time_entry", NESTING),
        ("time_entry", "project_user", "userId"),
        ("project", "contact", "contactId"),
    ],
    "sendgrid.yaml": [
        ("list", "recipient", NESTING),
        ("recipient", "list", NESTING),
        ("segment", "list", "list_id"),
        ("segment", "recipient", NESTING),
        ("recipient", "custom_field", "custom_fields"),
    ],
    "paypal.json": [
        ("subscription", "plan", "plan_id"),
        ("subscription", "plan", "plan"),
        ("plan", "product", "product_id"),
        ("subscription", "transaction", NESTING),
    ],
    "spotify.yaml": [
        ("playlist", "track", NESTING),
        ("playlist", "track", "track"),
        ("playlist", "episode", "track"),
        ("playlist", "user", "added_by"),
        ("playlist", "user", "owner"),
        ("user", "playlist", NESTING),
        ("track", "album", "album"),
        ("track", "artist", "artists"),
        ("album", "track", NESTING),
        ("artist", "album", NESTING),
        ("episode", "show", "show"),
        ("show", "episode", NESTING),
        ("audiobook", "chapter", NESTING),
    ],
    "apideck.yaml": [
        ("contact", "company", "company_id"),
        ("contact", "opportunity", "opportunity_ids"),
        ("opportunity", "contact", "primary_contact_id"),
        ("opportunity", "contact", "contact_ids"),
        ("opportunity", "pipeline", "pipeline_id"),
        ("opportunity", "pipeline_stage", "pipeline_stage_id"),
        ("pipeline", "pipeline_stage", "stages"),
        *[(source, "user", "owner_id") for source in ("company", "contact", "lead", "opportunity", "note", "activity")],
        *[("note", target, f"{target}_id") for target in ("activity", "opportunity", "lead", "contact", "company")],
        ("company", "company", "parent_id"),
        ("user", "user", "parent_id"),
        ("list", "list_member", NESTING),
    ],
}

_loaded: dict[str, tuple] = {}


def shared(name: str):
    """The loaded spec and inferred world of one shared file (loaded once per run)."""
    if name not in _loaded:
        spec = load_spec(SHARED / name)
        _loaded[name] = (spec, infer_world(spec))
    return _loaded[name]


def find(world: InferredWorld, source: str, target: str, field: str) -> Relationship | None:
    """The relationship a person would describe as (source, target, field-or-nesting)."""
    for r in world.relationships:
        if field == NESTING:
            nested = any(e.startswith("path nesting") for e in r.evidence)
            same_way = (r.source, r.target) == (source, target)
            other_way = (r.source, r.target) == (target, source) and r.kind in ("belongs_to", "many_to_many")
            if nested and (same_way or other_way):
                return r
        elif (r.source, r.target) == (source, target) and r.field is not None:
            last = r.field.split(".")[-1].removesuffix("[]")
            if field in (r.field, last):
                return r
    return None


def error_of(path: Path) -> SpecError:
    """The SpecError loading ``path`` raises."""
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    return caught.value


# --- loading the shared specs ----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_shared_spec_loads_with_the_documented_counts(name):
    spec, _ = shared(name)
    paths, operations, schemas = COUNTS[name]
    assert len(spec.document["paths"]) == paths
    assert len(spec.operations) == operations
    assert len(spec.schemas) == schemas


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_no_reference_is_left_unresolved(name):
    spec, _ = shared(name)
    left, seen = [], set()

    def walk(node, where):
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                left.append(where)
            for key, value in node.items():
                if key not in ("example", "examples", "default", "enum") and not str(key).startswith("x-"):
                    walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}/{index}")

    walk(spec.document, "")
    assert left == []


def test_referenced_schemas_are_shared_objects_with_their_component_names():
    spec, _ = shared("petstore.yaml")
    get_pet = next(op for op in spec.operations if (op.method, op.path) == ("GET", "/pet/{petId}"))
    body = get_pet.success().schema
    assert body is spec.schemas["Pet"]
    assert spec.schema_name(body) == "Pet"
    assert spec.schema_name(body["properties"]["category"]) == "Category"
    assert spec.schema_name({"type": "object"}) is None


def test_success_prefers_the_lowest_json_2xx_and_falls_back_to_default():
    spec, _ = shared("petstore.yaml")
    ops = {(op.method, op.path): op for op in spec.operations}
    find_by_status = ops["GET", "/pet/findByStatus"].success()
    assert (find_by_status.status, find_by_status.media_type) == ("200", "application/json")
    assert ops["GET", "/user/logout"].success().status == "200"
    sendgrid, _ = shared("sendgrid.yaml")
    create_list = next(op for op in sendgrid.operations if (op.method, op.path) == ("POST", "/v3/contactdb/lists"))
    assert create_list.success().status == "201"
    assert create_list.success().examples["response"] == {"id": 1, "name": "your list name", "recipient_count": 0}


def test_path_level_parameters_are_merged_into_every_operation():
    spec, _ = shared("xero.yaml")
    for op in spec.operations:
        tenant = [p for p in op.parameters if p.name == "Xero-Tenant-Id"]
        assert len(tenant) == 1 and tenant[0].location == "header" and tenant[0].required, op.path
    apideck, _ = shared("apideck.yaml")
    for op in (op for op in apideck.operations if op.method == "GET"):
        required_headers = {p.name for p in op.parameters if p.location == "header" and p.required}
        assert {"x-apideck-consumer-id", "x-apideck-app-id"} <= required_headers, op.path


def test_undeclared_template_parameters_become_string_path_parameters():
    spec, _ = shared("paypal.json")
    show_plan = next(op for op in spec.operations if (op.method, op.path) == ("GET", "/v1/billing/plans/{id}"))
    [param] = [p for p in show_plan.parameters if p.location == "path"]
    assert (param.name, param.required, param.schema) == ("id", True, {"type": "string"})


def test_the_largest_shared_spec_loads():
    """apideck.yaml (413 KB) loads whole; how fast is a figure `make bench` prints, never a timed assert."""
    spec = load_spec(SHARED / "apideck.yaml")
    assert (spec.title, len(spec.operations)) == ("CRM API", 53)


# --- fixtures: references, recursion and errors ----------------------------------------


def test_recursive_schemas_become_cyclic_structures():
    spec = load_spec(FIXTURES / "recursive.yaml")
    node = spec.schemas["Node"]
    assert node["properties"]["children"]["items"] is node
    assert node["properties"]["parent"]["anyOf"][0] is node
    assert is_nullable(node["properties"]["parent"])
    assert spec.schema_name(node["properties"]["meta"]) == "tilde~name"  # '#/.../tilde~0name'


def test_path_item_parameter_and_example_references_resolve():
    spec = load_spec(FIXTURES / "recursive.yaml")
    ops = {(op.method, op.path): op for op in spec.operations}
    assert ops["GET", "/nodes"].operation_id == "listNodes"  # path item from components/pathItems
    get_node = ops["GET", "/nodes/{nodeId}"]
    params = {(p.name, p.location): p for p in get_node.parameters}
    assert set(params) == {("nodeId", "path"), ("depth", "query")}
    assert params["depth", "query"].required  # the operation overrides the path-level parameter
    examples = get_node.success().examples
    assert examples["leaf"] == {"id": 1, "name": "leaf", "children": []}
    assert examples["literal"]["$ref"] == "not a reference"  # literal data is left alone
    problem = get_node.responses["default"]
    assert problem.media_type == "application/problem+json"
    assert problem.schema is spec.schemas["a/b"]  # '#/components/schemas/a~1b'


def test_malformed_yaml_names_line_and_column():
    error = error_of(FIXTURES / "malformed.yaml")
    assert error.file.endswith("malformed.yaml")
    assert error.pointer == "/"
    assert error.message.startswith("invalid YAML at line 10, column 14:")
    assert str(error) == f"{error.file}: /: {error.message}"


def test_malformed_json_names_line_and_column(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "openapi": "3.1.0",\n  "paths": {,}\n}\n')
    error = error_of(broken)
    assert error.pointer == "/"
    assert error.message.startswith("invalid JSON at line 3, column 13")


def test_dangling_reference_names_where_it_stands_and_what_is_missing():
    error = error_of(FIXTURES / "dangling_ref.yaml")
    assert error.pointer == "/components/schemas/Pet/properties/owner/$ref"
    assert "'#/components/schemas/Owner'" in error.message
    assert "/components/schemas has no 'Owner'" in error.message
    assert str(error).startswith(f"{error.file}: /components/schemas/Pet/properties/owner/$ref: ")


def test_external_reference_is_refused():
    error = error_of(FIXTURES / "external_ref.yaml")
    assert error.pointer == "/paths/~1pets/get/responses/200/content/application~1json/schema/$ref"
    assert "only local references" in error.message
    assert "common.yaml#/components/schemas/PetList" in error.message


def test_swagger_2_is_converted_on_load():
    spec = load_spec(FIXTURES / "swagger2.json")
    assert spec.openapi == "3.0.3"
    assert [(op.method, op.path) for op in spec.operations] == [("GET", "/pets")]
    assert spec.document["servers"] == [{"url": "/v1"}]


def test_swagger_1_is_refused(tmp_path):
    path = tmp_path / "old.json"
    path.write_text('{"swagger": "1.2", "paths": {}}')
    error = error_of(path)
    assert error.pointer == "/swagger"
    assert error.message == "Swagger 1.2 is not supported; mockverse reads Swagger 2.0 and OpenAPI 3.0.x and 3.1.x"


@pytest.mark.parametrize(
    ("text", "pointer", "words"),
    [
        ("info: {title: t, version: '1'}\npaths: {}\n", "/openapi", "missing 'openapi'"),
        ("openapi: 3.0.3\ninfo: {title: t, version: '1'}\n", "/paths", "missing 'paths'"),
        ("openapi: 2.5.0\npaths: {}\n", "/openapi", "unsupported OpenAPI version '2.5.0'"),
        ("- just\n- a list\n", "/", "expected a mapping"),
    ],
)
def test_documents_that_are_not_openapi_3_are_refused(tmp_path, text, pointer, words):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    error = error_of(path)
    assert error.pointer == pointer
    assert words in error.message


def test_missing_file_is_a_spec_error(tmp_path):
    error = error_of(tmp_path / "nope.yaml")
    assert error.pointer == "/"
    assert "cannot read the file" in error.message


# --- schema helpers --------------------------------------------------------------------


def test_merge_all_of_unites_properties_and_required():
    base = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}
    extra = {"properties": {"name": {"type": "string"}}, "required": ["name"]}
    merged = merge_all_of({"allOf": [base, extra], "description": "both"})
    assert list(merged["properties"]) == ["id", "name"]
    assert merged["required"] == ["id", "name"]
    assert merged["description"] == "both" and merged["type"] == "object"
    assert merged["properties"]["id"] is base["properties"]["id"]
    plain = {"type": "string"}
    assert merge_all_of(plain) is plain


def test_merge_all_of_cuts_cycles():
    loop: dict = {"properties": {"a": {"type": "integer"}}}
    loop["allOf"] = [loop]
    assert merge_all_of({"allOf": [loop]})["properties"] == {"a": {"type": "integer"}}


@pytest.mark.parametrize(
    ("schema", "nullable"),
    [
        ({"type": "string", "nullable": True}, True),
        ({"type": ["string", "null"]}, True),
        ({"anyOf": [{"type": "string"}, {"type": "null"}]}, True),
        ({"oneOf": [{"$ref-resolved": True}, {"type": "null"}]}, True),
        ({"type": "string"}, False),
        ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, False),
        ({"type": "string", "nullable": False}, False),
    ],
)
def test_is_nullable_reads_all_three_spellings(schema, nullable):
    assert is_nullable(schema) is nullable


# --- words -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plural", "single"),
    [
        ("addresses", "address"),
        ("order_items", "order_item"),
        ("people", "person"),
        ("categories", "category"),
        ("statuses", "status"),
        ("Projects", "project"),
        ("Time", "time"),
        ("status", "status"),
        ("address", "address"),
        ("news", "news"),
        ("series", "series"),
        ("analysis", "analysis"),
        ("users", "user"),
        ("companies", "company"),
        ("opportunities", "opportunity"),
        ("boxes", "box"),
        ("matches", "match"),
        ("houses", "house"),
        ("responses", "response"),
        ("children", "child"),
        ("menus", "menu"),
        ("apis", "api"),
        ("schemas", "schema"),
        ("aliases", "alias"),
        ("movies", "movie"),
        ("OrderItems", "order_item"),
        ("timeEntries", "time_entry"),
        ("audio-features", "audio_feature"),
        ("metadata", "metadata"),
        ("sales_people", "sales_person"),
    ],
)
def test_singular(plural, single):
    assert singular(plural) == single


# --- inference on the shared specs -----------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_inferred_relationships_include_what_a_person_would_infer(name):
    _, world = shared(name)
    print(f"\n{name}")
    missing = []
    for source, target, field in EXPECTED[name]:
        found = find(world, source, target, field)
        label = f"{source} -> {target} via {field}"
        if found is None:
            missing.append(label)
            print(f"  MISSING {label}")
        else:
            print(f"  found   {label}: {found.id} [{found.kind}, {found.confidence}] {'; '.join(found.evidence)}")
    assert not missing, f"{name}: not inferred: {missing}"


def test_petstore_entities():
    _, world = shared("petstore.yaml")
    types = world.entity_types
    assert set(types) == {"pet", "order", "user", "category", "tag"}
    user = types["user"]
    assert (user.item_path, user.id_param, user.id_field) == ("/user/{username}", "username", "username")
    assert user.id_type == "string"
    pet = types["pet"]
    assert (pet.collection_path, pet.item_path, pet.id_type) == ("/pet", "/pet/{petId}", "integer")
    assert "POST /pet/{petId}/uploadImage" in pet.operations  # an action on a pet, not an entity
    assert "GET /pet/findByStatus" in pet.operations
    assert types["category"].origin == "schema" and types["category"].operations == []
    assert find(world, "pet", "category", "category").kind == "embeds"
    assert find(world, "order", "pet", "petId").kind == "belongs_to"


def test_xero_capitalised_paths_and_dangling_contact():
    _, world = shared("xero.yaml")
    types = world.entity_types
    assert {"project", "task", "time_entry", "project_user"} <= set(types)
    assert types["task"].item_path == "/Projects/{projectId}/Tasks/{taskId}"
    assert types["time_entry"].id_field == "timeEntryId"
    assert types["project_user"].collection_path == "/ProjectsUsers"
    contact = find(world, "project", "contact", "contactId")
    assert contact.dangling and types["contact"].origin == "dangling"
    assert types["contact"].item_path is None and types["contact"].schema is None
    nested_fk = find(world, "task", "project", "projectId")
    assert any(e.startswith("path nesting /Projects/{projectId}/Tasks") for e in nested_fk.evidence)
    assert nested_fk.confidence == max(r.confidence for r in world.relationships)
    assert nested_fk.confidence > find(world, "time_entry", "project_user", "userId").confidence


def test_sendgrid_many_to_many_and_mixed_id_types():
    _, world = shared("sendgrid.yaml")
    types = world.entity_types
    assert types["recipient"].id_type == "string"
    assert {types[n].id_type for n in ("list", "segment", "custom_field")} == {"integer"}
    assert find(world, "list", "recipient", NESTING).kind == "many_to_many"
    assert types["recipient"].collection_path == "/v3/contactdb/recipients"  # not the nested listing


def test_paypal_lifecycle_actions_are_operations_not_entities():
    _, world = shared("paypal.json")
    assert set(world.entity_types) == {"plan", "subscription", "transaction", "product"}
    subscription = world.entity_types["subscription"]
    for action in ("suspend", "cancel", "activate", "capture", "revise"):
        assert f"POST /v1/billing/subscriptions/{{id}}/{action}" in subscription.operations
    assert "POST /v1/billing/plans/{id}/deactivate" in world.entity_types["plan"].operations
    product = find(world, "plan", "product", "product_id")
    assert product.dangling and product.kind == "belongs_to"


def test_spotify_has_no_entity_for_me_or_version_segments():
    _, world = shared("spotify.yaml")
    names = set(world.entity_types)
    assert {"album", "artist", "track", "playlist", "user", "show", "episode", "audiobook", "chapter"} <= names
    assert not names & {"me", "v1", "follower", "contain", "item"}
    assert world.entity_types["playlist"].id_param == "playlist_id"
    from_playlist = [r for r in world.relationships if r.source == "playlist" and r.field]
    embeds = {r.target for r in from_playlist if r.field.endswith("].track")}
    assert embeds == {"track", "episode"}  # PlaylistTrackObject.track is TrackObject | EpisodeObject


def test_apideck_self_references_and_arrays_of_ids():
    _, world = shared("apideck.yaml")
    assert find(world, "company", "company", "parent_id").kind == "belongs_to"
    assert find(world, "contact", "opportunity", "opportunity_ids").kind == "many_to_many"
    assert world.entity_types["pipeline_stage"].origin == "schema"
    assert "address" not in world.entity_types  # a nullable, client-supplied id marks a value object
    assert world.entity_types["custom_object"].item_path == "/crm/custom-objects/{object_id}/{id}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_world_summary_is_json_and_deterministic(name):
    spec, world = shared(name)
    summary = world.to_dict()
    assert json.dumps(summary) == json.dumps(infer_world(spec).to_dict())
    assert [t["name"] for t in summary["entity_types"]] == sorted(world.entity_types)
    assert [r["id"] for r in summary["relationships"]] == sorted(r.id for r in world.relationships)
    assert all(0.0 < r["confidence"] <= 1.0 for r in summary["relationships"])
    assert all(r["target"] in world.entity_types for r in summary["relationships"])


# --- inference on an invented spec -----------------------------------------------------


def test_entity_naming_of_versioned_capitalised_and_irregular_paths():
    world = infer_world(load_spec(FIXTURES / "shop.yaml"))
    assert set(world.entity_types) == {
        "user", "order", "order_item", "person", "customer", "board", "member", "category",
        "company", "project", "task", "vendor",
    }
    assert "POST /v1/users/{id}/suspend" in world.entity_types["user"].operations
    assert world.entity_types["order_item"].id_type == "integer"


def test_foreign_key_spellings():
    world = infer_world(load_spec(FIXTURES / "shop.yaml"))
    user_id = find(world, "order", "user", "user_id")
    assert user_id.evidence == ["field order.user_id names user", "path nesting /v1/users/{user_id}/orders"]
    assert user_id.id == "order.user_id->user" and user_id.confidence == 0.96
    assert find(world, "order", "customer", "customer").kind == "belongs_to"  # holds an id, says its description
    assert find(world, "order", "board", "idBoard").kind == "belongs_to"
    assert find(world, "order", "member", "memberIds").kind == "has_many"
    assert find(world, "order", "category", "category").kind == "embeds"
    assert find(world, "company", "company", "parent_id") is not None
    assert find(world, "company", "vendor", "vendor_id").dangling
    fields = {r.field for r in world.relationships}
    assert not fields & {"note", "buyer", "status", "shipping", "external_id"}


def test_samples_reveal_links_the_schema_does_not_name():
    samples = {
        "user": [{"id": "u-1001"}, {"id": "u-1002"}],
        "order": [
            {"id": "o-1", "buyer": "u-1001", "user_id": "u-1001", "quantity": 1},
            {"id": "o-2", "buyer": "u-1002", "user_id": "u-1002", "quantity": 2},
        ],
        "category": [{"id": 1}, {"id": 2}],
    }
    world = infer_world(load_spec(FIXTURES / "shop.yaml"), samples)
    buyer = find(world, "order", "user", "buyer")
    assert buyer.evidence == ["samples: 2 of 2 distinct values of order.buyer are user ids"]
    assert buyer.kind == "belongs_to"
    assert find(world, "order", "user", "user_id").evidence[-1].startswith("samples: 2 of 2")
    assert find(world, "order", "category", "quantity") is None  # small integers collide by chance

"""Writes in the spec's own style, one test per class of failure the corpus showed: each write is
validated against the spec as written, kept, and read back by a client as the spec lets it read."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockverse.check import run_check

ROUTES = """\
openapi: 3.0.3
info: {title: Gateway, version: "1"}
paths:
  /services:
    get:
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Service"}}}}
    post:
      requestBody: {content: {application/json: {schema: {$ref: "#/components/schemas/Service"}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Service"}}}}
  /services/{service_id}:
    parameters: [{name: service_id, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Service"}}}}
  /services/{service_id}/routes:
    parameters: [{name: service_id, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Route"}}}}
  /routes:
    get:
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Route"}}}}
    post:
      requestBody: {content: {application/json: {schema: {$ref: "#/components/schemas/Route"}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Route"}}}}
  /routes/{route_id}:
    parameters: [{name: route_id, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Route"}}}}
components:
  schemas:
    Service:
      type: object
      properties:
        id: {type: string, format: uuid, readOnly: true}
        name: {type: string}
    Route:
      type: object
      properties:
        id: {type: string, format: uuid, readOnly: true}
        name: {type: string}
        service:
          type: object
          properties:
            id: {type: string, format: uuid}
"""

PROJECTS = """\
openapi: 3.0.3
info: {title: Projects, version: "1"}
paths:
  /projects:
    get:
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Project"}}}}
    post:
      requestBody:
        required: true
        content:
          application/json: {schema: {type: object, properties: {name: {type: string}, description: {type: string}}}}
      responses:
        "201":
          description: created
          content: {application/json: {schema: {type: object, properties: {uuid: {type: string}}}}}
  /projects/{uuid}:
    parameters: [{name: uuid, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Project"}}}}
    patch:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: array
              items:
                type: object
                required: [op]
                properties:
                  op: {type: string, enum: [add, remove, replace, move, copy, test]}
                  path: {type: string}
                  value: {}
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Project"}}}}
  /scripts:
    get:
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Script"}}}}
    post:
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, required: [name], properties: {name: {type: string}}}}}
      responses:
        "201": {description: created}
  /scripts/{uuid}:
    parameters: [{name: uuid, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        "200": {description: the script}
  /segments:
    get:
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Segment"}}}}
    post:
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, properties: {name: {type: string}}}}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Segment"}}}}
  /segments/{segment_id}:
    parameters: [{name: segment_id, in: path, required: true, schema: {type: integer}}]
    get:
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: object, properties: {name: {type: string}}}}}
components:
  schemas:
    Project:
      type: object
      properties:
        id: {type: integer}
        uuid: {type: string}
        name: {type: string}
        description: {type: string}
    Script:
      type: object
      properties:
        uuid: {type: string}
        name: {type: string}
    Segment:
      type: object
      properties:
        id: {type: integer}
        name: {type: string}
"""

CLINIC = """\
openapi: 3.0.3
info: {title: Clinic, version: "1"}
paths:
  /vets:
    get:
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Vet"}}}}
    post:
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/Vet"}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Vet"}}}}
  /vets/{vetId}:
    parameters: [{name: vetId, in: path, required: true, schema: {type: integer}}]
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Vet"}}}}
  /users:
    post:
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/User"}}}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/User"}}}}
  /users/{username}:
    parameters: [{name: username, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/User"}}}}
    put:
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/User"}}}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/User"}}}}
  /kits/{kitId}:
    parameters: [{name: kitId, in: path, required: true, schema: {type: integer}}]
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Kit"}}}}
components:
  schemas:
    VetFields:
      type: object
      properties:
        firstName: {type: string}
        lastName: {type: string}
    Vet:
      allOf:
        - $ref: "#/components/schemas/VetFields"
        - type: object
          properties:
            id: {type: integer, readOnly: true}
      required: [id, firstName, lastName]
    User:
      type: object
      properties:
        id: {type: integer, format: int64}
        username: {type: string}
        email: {type: string}
    Kit:
      type: object
      required: [id, resources]
      properties:
        id: {type: integer}
        resources:
          type: object
          properties:
            file_ids: {type: array, items: {type: string}}
            stores: {type: array, items: {type: string}}
          oneOf:
            - required: [file_ids]
            - required: [stores]
"""

HOOKS = """\
openapi: 3.0.3
info: {title: Hooks, version: "1"}
paths:
  /platforms/{id}:
    parameters: [{name: id, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Platform"}}}}
  /platforms/{platformId}/hooks/{hookId}/settings:
    parameters:
      - {name: platformId, in: path, required: true, schema: {type: string}}
      - {name: hookId, in: path, required: true, schema: {type: string}}
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: object, properties: {data: {type: array, items: {$ref: "#/components/schemas/Setting"}}}}
    post:
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/Setting"}}}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Setting"}}}}
  /platforms/{platformId}/hooks/{hookId}/settings/{settingId}:
    parameters:
      - {name: platformId, in: path, required: true, schema: {type: string}}
      - {name: hookId, in: path, required: true, schema: {type: string}}
      - {name: settingId, in: path, required: true, schema: {type: string}}
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Setting"}}}}
    patch:
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/Setting"}}}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Setting"}}}}
components:
  schemas:
    Platform:
      type: object
      properties:
        id: {type: string}
        name: {type: string}
    Setting:
      type: object
      properties:
        id: {type: string, readOnly: true}
        currency: {type: string}
        status: {type: string, enum: [active, inactive]}
"""

PIPELINES = """\
openapi: 3.0.3
info: {title: Pipelines, version: "1"}
paths:
  /pipelines:
    get:
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Pipeline"}}}}
    post:
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/Pipeline"}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Pipeline"}}}}
  /pipelines/{id}:
    parameters: [{name: id, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Pipeline"}}}}
  /stages/{id}:
    parameters: [{name: id, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Stage"}}}}
components:
  schemas:
    Stage:
      type: object
      properties:
        id: {type: string}
        name: {type: string}
    Pipeline:
      type: object
      properties:
        id: {type: string, readOnly: true}
        name: {type: string}
        stages: {type: array, items: {$ref: "#/components/schemas/Stage"}}
"""


NESTED = """\
openapi: 3.0.3
info: {title: Nested, version: "1"}
paths:
  /channels:
    get:
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Channel"}}}}
  /channels/{channel_id}:
    parameters: [{name: channel_id, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Channel"}}}}
  /channels/{channel_id}/invites:
    parameters: [{name: channel_id, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Invite"}}}}
    post:
      requestBody: {content: {application/json: {schema: {type: object, properties: {max_age: {type: integer}}}}}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties: {type: {type: integer}, code: {type: string}, max_age: {type: integer}}
  /invites/{code}:
    parameters: [{name: code, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Invite"}}}}
  /sites:
    get:
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Site"}}}}
  /sites/{site_id}:
    parameters: [{name: site_id, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Site"}}}}
  /services/{addonName}:
    parameters: [{name: addonName, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Service"}}}}
  /sites/{site_id}/services/{addon}/instances:
    parameters:
      - {name: site_id, in: path, required: true, schema: {type: string}}
      - {name: addon, in: path, required: true, schema: {type: string}}
    get:
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Instance"}}}}
    post:
      requestBody: {content: {application/json: {schema: {type: object, properties: {url: {type: string}}}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Instance"}}}}
  /sites/{site_id}/services/{addon}/instances/{instance_id}:
    parameters:
      - {name: site_id, in: path, required: true, schema: {type: string}}
      - {name: addon, in: path, required: true, schema: {type: string}}
      - {name: instance_id, in: path, required: true, schema: {type: string}}
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Instance"}}}}
components:
  schemas:
    Channel:
      type: object
      properties:
        id: {type: string}
        name: {type: string}
    Invite:
      oneOf:
        - $ref: "#/components/schemas/GuildInvite"
        - $ref: "#/components/schemas/GroupInvite"
    GuildInvite:
      type: object
      properties:
        type: {type: integer, enum: [0]}
        code: {type: string}
        max_age: {type: integer}
    GroupInvite:
      type: object
      properties:
        type: {type: integer, enum: [1]}
        code: {type: string}
        max_age: {type: integer}
    Site:
      type: object
      properties:
        id: {type: string}
        name: {type: string}
    Service:
      type: object
      properties:
        id: {type: string}
        name: {type: string}
    Instance:
      type: object
      required: [site_id]
      properties:
        id: {type: string}
        site_id: {type: string}
        url: {type: string}
"""

READS = """\
openapi: 3.0.3
info: {title: Reads, version: "1"}
paths:
  /sites:
    get:
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Site"}}}}
  /sites/{site_id}:
    parameters: [{name: site_id, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Site"}}}}
  /sites/{site_id}/branch:
    parameters: [{name: site_id, in: path, required: true, schema: {type: string}}]
    post:
      requestBody:
        required: true
        content: {application/json: {schema: {$ref: "#/components/schemas/BranchRequest"}}}
      responses:
        "201":
          description: created
          content: {application/json: {schema: {$ref: "#/components/schemas/BranchAnswer"}}}
  /sites/{site_id}/branch/{branch_id}:
    parameters:
      - {name: site_id, in: path, required: true, schema: {type: string}}
      - {name: branch_id, in: path, required: true, schema: {type: string}}
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/BranchAnswer"}}}}
  /tags:
    get:
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Tag"}}}}
    post:
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, properties: {name: {type: string}}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Tag"}}}}
components:
  schemas:
    Site:
      type: object
      properties:
        id: {type: string}
        name: {type: string}
    BranchRequest:
      type: object
      required: [branch_id]
      properties:
        branch_id: {type: string}
        parent_branch_id: {type: string}
        metadata: {type: object}
    BranchAnswer:
      type: object
      properties:
        connection_string: {type: string}
        metadata: {type: object}
    Tag:
      type: object
      properties:
        uuid: {type: string}
        name: {type: string}
"""


OWNED = """\
openapi: 3.0.3
info: {title: Owned, version: "1"}
paths:
  /applications:
    get:
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Application"}}}}
  /applications/{application_id}:
    parameters: [{name: application_id, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Application"}}}}
  /lobbies:
    post:
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, properties: {max_members: {type: integer}}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Lobby"}}}}
  /lobbies/{lobby_id}:
    parameters: [{name: lobby_id, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Lobby"}}}}
  /applications/{application_id}/lobbies:
    parameters: [{name: application_id, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Lobby"}}}}
  /repos:
    get:
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Repo"}}}}
  /repos/{repo_id}:
    parameters: [{name: repo_id, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Repo"}}}}
  /repos/{repo_id}/branches:
    parameters: [{name: repo_id, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Branch"}}}}
    post:
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, properties: {new_branch_name: {type: string}}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Branch"}}}}
  /repos/{repo_id}/branches/{branch}:
    parameters:
      - {name: repo_id, in: path, required: true, schema: {type: string}}
      - {name: branch, in: path, required: true, schema: {type: string}}
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Branch"}}}}
components:
  schemas:
    Application:
      type: object
      properties:
        id: {type: string}
        name: {type: string}
    Lobby:
      type: object
      required: [id, application_id]
      properties:
        id: {type: string}
        application_id: {type: string}
        max_members: {type: integer}
    Repo:
      type: object
      properties:
        id: {type: string}
        name: {type: string}
    Branch:
      type: object
      properties:
        name: {type: string}
        commit:
          type: object
          properties:
            id: {type: string}
            message: {type: string}
"""


@pytest.fixture
def spec(tmp_path: Path):
    """A spec text written to a file: its path."""
    def write(text: str) -> str:
        path = tmp_path / "spec.yaml"
        path.write_text(text)
        return str(path)
    return write


def scores(report) -> dict[str, tuple[int, int]]:
    return {c: (passed, total) for c, (passed, total) in report.counts.items()}


def test_a_parent_named_by_the_object_embedding_it_is_the_parent_key(app_client, spec):
    """``POST /routes {"service": {"id": ...}}``: the route belongs to that service (no invented ``service_id``)."""
    c = app_client(spec=spec(ROUTES))
    service = c.get("/services").json()[0]["id"]
    assert service == "31b9c23d-f117-4e05-ae1f-de2409de3f3c"
    r = c.post("/routes", json={"name": "r", "service": {"id": service}})
    assert r.status_code == 201
    assert r.json() == {"id": "0c774f46-636b-412d-ab80-28653335e3de", "name": "r", "service": {"id": service}}
    assert c.get("/routes/0c774f46-636b-412d-ab80-28653335e3de").json()["service"] == {"id": service}
    assert [x["id"] for x in c.get(f"/services/{service}/routes").json()][-1] == "0c774f46-636b-412d-ab80-28653335e3de"
    unknown = c.post("/routes", json={"name": "r", "service": {"id": "00000000-0000-4000-8000-000000000000"}})
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "service_id"


def test_the_checker_sends_keys_in_the_shape_the_request_gives_them(spec):
    """The route's key is an object ``{id}``: the checker's create names an existing service inside it."""
    report = run_check(spec(ROUTES))
    assert scores(report)["writes"] == (2, 2)
    assert [f for f in report.findings if f.category == "writes"] == []


def test_json_patch_with_pointers_and_a_create_read_back_by_its_path_key(spec):
    """A create answered ``{uuid}`` only is read back at ``/projects/{uuid}``; a JSON Patch replaces fields
    by pointer; an item read answering no key is the entity its path named; an item read the spec gives
    no body is reported unchecked, not failed."""
    report = run_check(spec(PROJECTS))
    assert scores(report)["writes"] == (3, 3)
    assert [(f.category, f.operation, f.message) for f in report.unchecked] == [
        ("writes", "POST /scripts", "GET /scripts/{uuid} declares no body: the spec gives a client nothing to "
                                    "read the write back from")]


def test_a_json_patch_changes_later_reads(app_client, spec):
    c = app_client(spec=spec(PROJECTS))
    created = c.post("/projects", json={"name": "a", "description": "b"})
    assert created.status_code == 201
    uuid = created.json()["uuid"]
    assert created.headers["location"] == f"/projects/{uuid}" == "/projects/wCnzjkh0NAxz2P8FmbKAnX"
    patch = [{"op": "replace", "path": "/name", "value": "renamed"}, {"op": "remove", "path": "/description"}]
    assert c.patch(f"/projects/{uuid}", json=patch).status_code == 200
    read = c.get(f"/projects/{uuid}").json()
    assert (read["id"], read["uuid"], read["name"], read.get("description")) == (133, uuid, "renamed", None)


def test_read_only_required_fields_of_allof_parts_are_not_required_in_a_request(app_client, spec):
    """``required: [id]`` beside ``allOf`` whose part marks ``id`` readOnly: a create without an id is valid."""
    c = app_client(spec=spec(CLINIC))
    created = c.post("/vets", json={"firstName": "Ada", "lastName": "Lovelace"})
    assert created.status_code == 201
    assert created.json() == {"firstName": "Ada", "lastName": "Lovelace", "id": 51}
    assert c.get("/vets/51").json() == {"firstName": "Ada", "lastName": "Lovelace", "id": 51}
    missing = c.post("/vets", json={"firstName": "Ada"})
    assert missing.status_code == 422
    assert missing.json()["field"] == "$.lastName"


def test_an_id_field_that_is_not_the_key_is_kept_as_written(app_client, spec):
    """Users keyed by ``username``: the ``id`` a create or a PUT writes is what later reads show."""
    c = app_client(spec=spec(CLINIC))
    assert c.post("/users", json={"id": 7, "username": "ada", "email": "a@b.c"}).json()["id"] == 7
    assert c.get("/users/ada").json() == {"id": 7, "username": "ada", "email": "a@b.c"}
    assert c.put("/users/ada", json={"id": 573, "username": "ada", "email": "x@b.c"}).status_code == 200
    assert c.get("/users/ada").json() == {"id": 573, "username": "ada", "email": "x@b.c"}


def test_a_one_of_of_required_fields_is_generated_with_one_of_them(app_client, spec):
    """``oneOf: [{required: [file_ids]}, {required: [stores]}]``: a value holds one, never both."""
    c = app_client(spec=spec(CLINIC))
    assert [c.get(f"/kits/{i}").json()["resources"] for i in (1, 2, 3)] == [
        {"file_ids": ["Person section"]}, {"file_ids": ["Set sister"]}, {"file_ids": ["Game bit"]}]


def test_the_checker_binds_path_parameters_whatever_their_names(spec):
    """``/platforms/{id}`` and ``/platforms/{platformId}/hooks/{hookId}/settings`` name the same platform,
    and ``hooks`` a type served at no path of its own: the writes address entities that exist."""
    report = run_check(spec(HOOKS))
    assert scores(report)["writes"] == (2, 2)
    assert scores(report)["item_list"] == (8, 8)


def test_a_list_field_a_write_gave_is_shown_as_written(app_client, spec):
    """A pipeline's ``stages`` embed stage entities; the stages a client writes are the ones it reads."""
    c = app_client(spec=spec(PIPELINES))
    stages = [{"id": "s1", "name": "Lead"}, {"id": "s2", "name": "Won"}]
    created = c.post("/pipelines", json={"name": "Sales", "stages": stages})
    assert created.status_code == 201
    assert created.json() == {"id": "K8BvgfpQrnPRKJwVbaLi5B", "name": "Sales", "stages": stages}
    assert c.get("/pipelines/K8BvgfpQrnPRKJwVbaLi5B").json()["stages"] == stages
    generated = c.get("/pipelines").json()[0]["stages"]
    assert [s["id"] for s in generated] != ["s1", "s2"]


def test_a_post_at_a_types_collection_under_another_entity_creates_one(app_client, spec):
    """``POST /channels/{id}/invites`` answering an object of its own (not the invite's schema) creates an
    invite that its item path then reads (no action answered from the schema alone)."""
    c = app_client(spec=spec(NESTED))
    created = c.post("/channels/wkqh0tDeKM37bRQotTtpLO/invites", json={"max_age": 5})
    assert created.status_code == 200
    assert created.headers["location"] == "/invites/lark51"
    assert created.json() == {"type": 0, "code": "lark51", "max_age": 5}
    assert c.get("/invites/lark51").json() == {"type": 0, "code": "lark51", "max_age": 5}


def test_a_create_belongs_to_the_parent_its_path_names_anywhere(app_client, spec):
    """``/sites/{site_id}/services/{addon}/instances``: the instance's parent is the site, though the
    path's last parameter names a service; ``Location`` is the request's own path and the new key."""
    c = app_client(spec=spec(NESTED))
    path = "/sites/jWyWtGTH5YCz16JK16a1jN/services/1554AdnK3U0t0Q6QwJuUFc/instances"
    created = c.post(path, json={"url": "https://x.example"})
    assert created.status_code == 201
    assert created.json() == {"id": "5pUSIuycPWV8u6rk59GJcU", "site_id": "jWyWtGTH5YCz16JK16a1jN",
                              "url": "https://x.example"}
    assert created.headers["location"] == f"{path}/5pUSIuycPWV8u6rk59GJcU"
    assert c.get(created.headers["location"]).json() == created.json()


def test_the_checker_reads_back_by_the_key_it_sent_and_finds_a_write_in_a_whole_list(spec):
    """A branch answered by its connection string is read back at the ``branch_id`` the client chose (the
    read's schema shows no ``parent_branch_id``, so that is not compared); a tag the spec reads only in its
    list, which has no paging parameters, is found there: that list shows the whole collection."""
    report = run_check(spec(READS))
    assert scores(report)["writes"] == (2, 2)
    assert report.unchecked == []
    assert [(f.operation, f.message) for f in report.findings if f.category == "writes"] == []


def test_the_checker_reads_a_create_back_by_its_location_before_an_id_inside_it(spec):
    """A branch answers no key of its own, only its commit's ``id``: its ``Location`` names it. A lobby
    whose request has no field for its application is made without one, not given someone's."""
    report = run_check(spec(OWNED))
    assert scores(report)["writes"] == (2, 2)
    assert report.findings == []

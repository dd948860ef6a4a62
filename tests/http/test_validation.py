"""Requests checked as Prism checks them: query parameters against their schemas, required
headers, declared security (401, or --no-auth-check), errors in the spec's declared shape,
and `_expand` over a spec reference named by its field."""

from __future__ import annotations

import pytest

SPEC = """
openapi: 3.0.3
info: {title: pets, version: "1"}
security: [{key: []}, {bearer: []}]
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-API-Key}
    bearer: {type: http, scheme: bearer}
    basic: {type: http, scheme: basic}
    session: {type: apiKey, in: cookie, name: sid}
    token: {type: apiKey, in: query, name: api_key}
    oauth: {type: oauth2, flows: {clientCredentials: {tokenUrl: "http://127.0.0.1/token", scopes: {}}}}
  schemas:
    Owner:
      type: object
      required: [id, name]
      properties: {id: {type: integer}, name: {type: string}}
    Pet:
      type: object
      required: [id, name, owner_id]
      properties:
        id: {type: integer}
        name: {type: string}
        status: {type: string, enum: [available, pending, sold]}
        owner_id: {type: integer}
        vet_id: {type: integer}
    Vet:
      type: object
      required: [id, clinic]
      properties: {id: {type: integer}, clinic: {type: string}}
    Error:
      type: object
      required: [code, message]
      additionalProperties: false
      properties: {code: {type: integer}, message: {type: string}}
    Denied:
      type: object
      required: [error]
      properties:
        error:
          type: object
          required: [reason, status]
          properties: {reason: {type: string}, status: {type: string}}
paths:
  /pets:
    get:
      parameters:
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 100}}
        - {name: status, in: query, schema: {type: string, enum: [available, pending, sold]}}
        - {name: tags, in: query, schema: {type: array, items: {type: integer}}}
        - {name: X-Tenant, in: header, required: true, schema: {type: string, minLength: 2}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: array,
          items: {$ref: "#/components/schemas/Pet"}}}}}
        "400": {description: bad, content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
        "401": {description: denied, content: {application/json: {schema: {$ref: "#/components/schemas/Denied"}}}}
  /pets/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Pet"}}}}
        "404": {description: missing, content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
  /vets/{id}:
    get:
      security: []
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Vet"}}}}
  /owners:
    get:
      security: []
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: array,
          items: {$ref: "#/components/schemas/Owner"}}}}}
  /owners/{id}:
    get:
      security: [{basic: []}, {session: []}, {token: []}, {oauth: []}]
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Owner"}}}}
"""

KEY = {"X-API-Key": "k", "X-Tenant": "acme"}


@pytest.fixture
def pets(app_client, tmp_path):
    spec = tmp_path / "pets.yaml"
    spec.write_text(SPEC)
    return app_client(spec=spec)


def test_query_values_are_checked_against_their_schemas(pets):
    assert pets.get("/pets?limit=100&status=sold&tags=1,2", headers=KEY).status_code == 200
    r = pets.get("/pets?limit=500", headers=KEY)
    assert r.status_code == 400 and r.headers["content-type"] == "application/json"
    assert r.json() == {"code": 400, "message": "limit: 500 is greater than the maximum of 100"}
    for query, message in [("status=lost", "status: 'lost' is not one of ['available', 'pending', 'sold']"),
                           ("limit=ten", "limit: 'ten' is not of type 'integer'"),
                           ("limit=0", "limit: 0 is less than the minimum of 1"),
                           ("tags=1,x", "tags: 'x' is not of type 'integer'")]:
        r = pets.get(f"/pets?{query}", headers=KEY)
        assert (r.status_code, r.json()) == (400, {"code": 400, "message": message}), query


def test_an_undeclared_error_shape_stays_problem_json(pets, app_client):
    c = app_client()   # the built-in world declares problem JSON for its errors
    r = c.get("/users?_per_page=5000")
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == "_per_page"


def test_required_headers_are_checked(pets):
    r = pets.get("/pets", headers={"X-API-Key": "k"})
    assert (r.status_code, r.json()) == (400, {"code": 400, "message": "the header 'X-Tenant' is required"})
    r = pets.get("/pets", headers={"X-API-Key": "k", "X-Tenant": "a"})
    assert (r.status_code, r.json()["message"]) == (400, "X-Tenant: 'a' is too short")


def test_declared_security_needs_a_credential(pets):
    r = pets.get("/pets", headers={"X-Tenant": "acme"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert r.json() == {"error": {"reason": "this operation needs the API key header 'X-API-Key' or "
                                            "'Authorization: Bearer ...'", "status": "401"}}
    assert pets.get("/pets", headers={"X-Tenant": "acme", "Authorization": "Bearer t"}).status_code == 200
    assert pets.get("/pets", headers={"X-Tenant": "acme", "Authorization": "Bearer "}).status_code == 401
    missing = pets.get("/pets/1")
    assert missing.status_code == 401 and missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["field"] == "X-API-Key" and missing.json()["allowed"] == ["bearer", "key"]
    owner = pets.get("/owners").json()[0]["id"]   # security: [] is public
    assert pets.get(f"/owners/{owner}").status_code == 401
    for headers, query in [({"Authorization": "Basic dTpw"}, ""), ({"Cookie": "sid=s"}, ""), ({}, "?api_key=x"),
                           ({"Authorization": "bearer t"}, "")]:
        assert pets.get(f"/owners/{owner}{query}", headers=headers).status_code == 200, (headers, query)


def test_no_auth_check_serves_whatever_the_security(app_client, tmp_path):
    spec = tmp_path / "pets.yaml"
    spec.write_text(SPEC)
    open_ = app_client(spec=spec, auth_check=False)
    pet = open_.get("/pets", headers={"X-Tenant": "acme"}).json()[0]["id"]   # the required header still counts
    assert open_.get(f"/pets/{pet}").status_code == 200
    config = tmp_path / "mockverse.yaml"
    config.write_text("server:\n  auth_check: false\n")
    by_config = app_client(spec=spec, config=config)
    assert by_config.get(f"/owners/{by_config.get('/owners').json()[0]['id']}").status_code == 200


def test_errors_follow_the_declared_schema(pets):
    r = pets.get("/pets/99999999", headers=KEY)
    assert r.status_code == 404 and r.headers["content-type"] == "application/json"
    assert r.json() == {"code": 404, "message": "pet 99999999 does not exist"}


def test_expand_follows_a_reference_named_by_its_field(pets):
    rows = pets.get("/pets?_expand=owner&_per_page=3", headers=KEY).json()
    assert len(rows) == 3
    for row in rows:
        assert row["owner"] == pets.get(f"/owners/{row['owner_id']}", params={"api_key": "x"}).json()
    rows = pets.get("/pets?_expand=vet&_per_page=3", headers=KEY).json()   # a reference, not the parent
    assert [row["vet"] for row in rows] == [pets.get(f"/vets/{row['vet_id']}").json() for row in rows]
    r = pets.get("/pets?_expand=keeper", headers=KEY)
    assert (r.status_code, r.json()["code"]) == (400, 400)

"""The admin API's own description tells what its guard answers before any operation: a foreign Host
is a 403 on every operation (GETs too), and a write without JSON content type a 415."""

from __future__ import annotations


def test_every_admin_operation_declares_the_guards_answers(app_client):
    client = app_client()
    document = client.get("/api/v1/openapi.json").json()
    operations = [(method, op) for item in document["paths"].values() for method, op in item.items()]
    assert [m for m, op in operations if "403" not in op["responses"]] == []
    assert [m for m, op in operations if m in ("post", "put", "patch") and "415" not in op["responses"]] == []
    assert "415" not in document["paths"]["/api/v1/consistency/clock"]["get"]["responses"]

    refused = client.get("/api/v1/consistency/clock", headers={"Host": "attacker.example"})
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["field"] == "host"

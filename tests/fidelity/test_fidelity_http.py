"""The fidelity score through the HTTP API, with exact expectations."""

from __future__ import annotations

import copy
import math
import random
import uuid
from itertools import pairwise

import pytest

DRIVERS = ["schema_similarity", "sample_similarity", "response_time_similarity", "error_pattern_similarity"]


def score(c, workspace="fid", **body):
    r = c.post(f"/api/v1/workspace/{workspace}/fidelity", json=body)
    assert r.status_code == 200, r.text
    return r.json()["score"]


def ten_fields() -> dict:
    props = {f"f{i}": {"type": "integer"} for i in range(10)}
    return {"type": "object", "properties": props, "required": sorted(props)}


def samples(seed: int, n: int = 30, drift: bool = False) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        out.append({"id": rng.randint(1, 10**6), "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "name": rng.choice(["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra"]),
                    "email": f"user{rng.randint(1, 9999)}@example.com",
                    "price": round(rng.lognormvariate(3, 0.5) * (10 if drift else 1), 2),
                    "status": "paid" if drift else rng.choice(["paid", "pending", "shipped"]),
                    "created_at": f"2026-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T10:00:00Z",
                    "active": rng.random() < 0.7})
    return out


def latencies(seed: int, n: int, factor: float = 1.0) -> list[float]:
    rng = random.Random(seed)
    return [round(rng.lognormvariate(math.log(80), 0.4) * factor, 3) for _ in range(n)]


def test_no_score_yet_is_a_404_saying_how(server):
    r = server.client.get("/api/v1/workspace/empty-ws/fidelity")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert '{"source": "traffic"}' in r.json()["detail"]


def test_identical_inputs_score_exactly_one_and_order_does_not_matter(server):
    c = server.client
    real = samples(1)
    body = {"mock_schema": ten_fields(), "real_schema": ten_fields(), "mock_samples": real, "real_samples": real,
            "mock_response_times": latencies(1, 100), "real_response_times": latencies(1, 100),
            "mock_error_patterns": {"200": 970, "500": 30}, "real_error_patterns": {"200": 970, "500": 30}}
    s = score(c, **body)
    assert s["overall"] == 1.0 and s["overall_percentage"] == 100 and s["band"] == "high"
    assert [s["driver_metrics"][d]["value"] for d in DRIVERS] == [1.0, 1.0, 1.0, 1.0]
    assert s["coverage"] == 1.0
    shuffled = copy.deepcopy(body)
    random.Random(5).shuffle(shuffled["mock_samples"])
    shuffled["mock_samples"] = [dict(reversed(list(x.items()))) for x in shuffled["mock_samples"]]
    shuffled["mock_response_times"] = sorted(shuffled["mock_response_times"])
    shuffled["mock_error_patterns"] = {"500": 30, "200": 970}
    again = score(c, **shuffled)
    assert {d: again["driver_metrics"][d]["value"] for d in DRIVERS} == {d: 1.0 for d in DRIVERS}


def test_response_shape_matches_the_product_spec(server):
    s = server.client.post("/api/v1/workspace/workspace-123/fidelity",
                           json={"mock_schema": ten_fields(), "real_schema": ten_fields()}).json()
    assert s["success"] is True and s["workspace_id"] == "workspace-123"
    metrics = s["score"]["driver_metrics"]
    assert {d: metrics[d]["label"] for d in DRIVERS} == {
        "schema_similarity": "Schema Match", "sample_similarity": "Sample Similarity",
        "response_time_similarity": "Response Time Match", "error_pattern_similarity": "Error Pattern Match"}
    assert metrics["schema_similarity"] == {**metrics["schema_similarity"], "value": 1.0, "percentage": 100}
    assert set(s["score"]) >= {"overall", "overall_percentage", "driver_metrics", "computed_at", "coverage",
                               "confidence", "band", "findings"}
    assert server.client.get("/api/v1/workspace/workspace-123/fidelity").json() == s


def test_one_retyped_field_costs_one_eleventh(server):
    c = server.client
    mock = ten_fields()
    mock["properties"]["f3"] = {"type": "string"}
    s = score(c, mock_schema=mock, real_schema=ten_fields())
    assert s["driver_metrics"]["schema_similarity"]["value"] == pytest.approx(10 / 11, abs=0.01)
    top = s["findings"][0]
    assert (top["path"], top["code"], top["driver"]) == ("$.f3", "type-mismatch", "schema_similarity")
    values = []
    for k in range(0, 11):
        drifted = ten_fields()
        for i in range(k):
            drifted["properties"][f"f{i}"] = {"type": "string"}
        values.append(
            score(c, mock_schema=drifted, real_schema=ten_fields())["driver_metrics"]["schema_similarity"]["value"]
        )
    assert all(a > b for a, b in pairwise(values))
    missing, extra = ten_fields(), ten_fields()
    del missing["properties"]["f9"]
    missing["required"].remove("f9")
    extra["properties"]["f10"] = {"type": "integer"}
    for mock_schema, code in ((missing, "missing-in-mock"), (extra, "extra-in-mock")):
        s = score(c, mock_schema=mock_schema, real_schema=ten_fields())
        assert s["driver_metrics"]["schema_similarity"]["value"] < 1.0
        assert s["findings"][0]["code"] == code


def test_annotations_refs_and_nullable_spellings_do_not_count(server):
    c = server.client
    plain = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"$ref": "#/$defs/B"}},
             "$defs": {"B": {"type": "object", "properties": {"n": {"type": "integer", "nullable": True}}}}}
    annotated = {"type": "object", "description": "x", "properties": {
        "a": {"type": "string", "description": "the a", "example": "hi", "x-internal": True},
        "b": {"type": "object", "title": "B", "properties": {"n": {"type": ["integer", "null"]}}}}}
    any_of = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "object", "properties": {
        "n": {"anyOf": [{"type": "integer"}, {"type": "null"}]}}}}}
    for other in (annotated, any_of):
        assert score(c, mock_schema=plain, real_schema=other)["driver_metrics"]["schema_similarity"]["value"] == 1.0


def test_latency_and_error_drivers(server):
    c = server.client
    real = latencies(7, 200)
    twice = score(c, mock_response_times=[x * 2 for x in real], real_response_times=real)
    half = score(c, mock_response_times=[x / 2 for x in real], real_response_times=real)
    v2 = twice["driver_metrics"]["response_time_similarity"]["value"]
    assert 0.33 <= v2 <= 0.50
    assert half["driver_metrics"]["response_time_similarity"]["value"] == pytest.approx(v2, abs=0.05)
    assert set(twice["driver_metrics"]["response_time_similarity"]["details"]["mock"]) >= {"p50", "p95", "p99"}
    errors = score(c, mock_error_patterns={"200": 990, "500": 10}, real_error_patterns={"200": 700, "500": 300})
    assert errors["driver_metrics"]["error_pattern_similarity"]["value"] < 0.15


def test_missing_drivers_are_null_and_weights_renormalise(server):
    c = server.client
    s = score(c, mock_schema=ten_fields(), real_schema=ten_fields(), mock_samples=samples(1), real_samples=samples(2))
    metrics = s["driver_metrics"]
    assert metrics["response_time_similarity"]["value"] is None and metrics["response_time_similarity"]["reason"]
    assert metrics["error_pattern_similarity"]["value"] is None and metrics["error_pattern_similarity"]["reason"]
    assert s["coverage"] == pytest.approx(0.8)
    expected = (0.4 * metrics["schema_similarity"]["value"] + 0.4 * metrics["sample_similarity"]["value"]) / 0.8
    assert s["overall"] == pytest.approx(expected, abs=1e-9)


def test_same_generator_different_seeds_is_faithful(server):
    c = server.client
    same = score(c, mock_samples=samples(1), real_samples=samples(2))["driver_metrics"]["sample_similarity"]["value"]
    assert same >= 0.95
    drift = score(c, mock_samples=samples(1, drift=True), real_samples=samples(2))
    assert drift["driver_metrics"]["sample_similarity"]["value"] < same - 0.1


def test_bad_payload_is_a_problem(server):
    c = server.client
    for body, field in (
        ({"mock_samples": {"a": 1}}, "mock_samples"),
        ({"real_response_times": [1, "x"]}, "real_response_times"),
        ({"source": "telepathy"}, "source"),
        ({"mock_schemas": {}}, "mock_schemas"),
    ):
        r = c.post("/api/v1/workspace/fid/fidelity", json=body)
        assert r.status_code == 422 and r.json()["field"] == field, r.text


def test_history_is_kept_oldest_first_and_survives_restart(app_server):
    s = app_server()
    c = s.client
    first = score(c, "hist", mock_schema=ten_fields(), real_schema=ten_fields())
    drifted = ten_fields()
    drifted["properties"]["f0"] = {"type": "string"}
    second = score(c, "hist", mock_schema=drifted, real_schema=ten_fields())
    s.restart()
    history = c.get("/api/v1/workspace/hist/fidelity/history").json()["history"]
    assert [h["overall"] for h in history] == [first["overall"], second["overall"]]
    assert c.get("/api/v1/workspace/hist/fidelity").json()["score"] == second


def test_traffic_without_recordings_says_how_to_record(server):
    r = server.client.post("/api/v1/workspace/no-recordings/fidelity", json={"source": "traffic"})
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == "source" and "mockverse record --upstream" in r.json()["detail"]


def test_status_counts_that_are_fractions_are_refused_naming_the_field(app_client):
    c = app_client()
    r = c.post("/api/v1/workspace/fid/fidelity", json={"mock_error_patterns": {"200": 0.97, "500": 0.03},
                                                        "real_error_patterns": {"200": 970, "500": 30}})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == "mock_error_patterns"
    assert r.json()["detail"] == ("mock_error_patterns: the count for '200' must be a whole number of responses "
                                  "(0, 1, 2, ...), got 0.97")

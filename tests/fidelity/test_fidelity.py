"""The fidelity score: FIDELITY.md "Fidelity score", driver by driver, with the values it promises."""

from __future__ import annotations

import copy
import math
import random
import uuid
from itertools import pairwise

import numpy as np
import pytest

from mockverse.fidelity import band, bench_samples, combine_operation_scores, compute_score

SCHEMA, SAMPLES, LATENCY, ERRORS = (
    "schema_similarity",
    "sample_similarity",
    "response_time_similarity",
    "error_pattern_similarity",
)
FIELDS = ["id", "age", "score", "visits", "rank", "level", "points", "year", "count", "size"]
FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Ken", "Margaret", "Linus", "Guido", "Tim", "Radia"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Thompson", "Hamilton", "Torvalds", "Rossum"]


def ten_fields(retyped: int = 0) -> dict:
    """An object schema with ten integer fields, the first ``retyped`` of them turned into strings."""
    props = {name: {"type": "string" if i < retyped else "integer"} for i, name in enumerate(FIELDS)}
    return {"type": "object", "properties": props, "required": list(FIELDS)}


def retype(name: str) -> dict:
    schema = ten_fields()
    schema["properties"][name] = {"type": "string"}
    return schema


def schema_value(mock: dict, real: dict, **kwargs) -> float:
    return compute_score(mock_schema=mock, real_schema=real, **kwargs)["driver_metrics"][SCHEMA]["value"]


def users(seed: int, n: int = 30, price_scale: float = 1.0, status: str | None = None) -> list[dict]:
    """User bodies from one generator: integer id, uuid, name, email, price, status, created_at, flag."""
    rng = random.Random(seed)
    bodies = []
    for _ in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        bodies.append(
            {
                "id": rng.randint(1, 99_999),
                "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "name": f"{first} {last}",
                "email": f"{first.lower()}.{last.lower()}{rng.randint(1, 99)}@example.com",
                "price": round(rng.lognormvariate(3, 0.8) * price_scale, 2),
                "status": status or rng.choice(["active", "pending", "suspended"]),
                "created_at": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:"
                f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z",
                "verified": rng.random() < 0.6,
            }
        )
    return bodies


def sample_value(mock: list, real: list, **kwargs) -> float:
    return compute_score(mock_samples=mock, real_samples=real, **kwargs)["driver_metrics"][SAMPLES]["value"]


def latencies(seed: int = 7, n: int = 200) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(math.log(120), 0.5, n)


def latency_value(mock, real) -> float | None:
    score = compute_score(mock_response_times=list(mock), real_response_times=list(real))
    return score["driver_metrics"][LATENCY]["value"]


def error_value(mock, real) -> float | None:
    return compute_score(mock_error_patterns=mock, real_error_patterns=real)["driver_metrics"][ERRORS]["value"]


USER_DOC = {
    "$ref": "#/components/schemas/User",
    "components": {
        "schemas": {
            "User": {
                "type": "object",
                "required": ["id", "email", "tags"],
                "properties": {
                    "id": {"type": "integer", "format": "int64"},
                    "email": {"type": "string", "format": "email"},
                    "status": {"type": "string", "enum": ["active", "pending"]},
                    "address": {"$ref": "#/components/schemas/Address"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
            },
            "Address": {"type": "object", "nullable": True, "properties": {"city": {"type": "string"}}},
        }
    },
}


def full_inputs() -> dict:
    """Every kind of evidence, on both sides alike."""
    bodies = users(1)
    times = latencies().tolist()
    codes = {"200": 950, "404": 20, "500": 28, "timeout": 2}
    return dict(
        mock_schema=copy.deepcopy(USER_DOC),
        real_schema=copy.deepcopy(USER_DOC),
        mock_samples=copy.deepcopy(bodies),
        real_samples=copy.deepcopy(bodies),
        mock_response_times=list(times),
        real_response_times=list(times),
        mock_error_patterns=dict(codes),
        real_error_patterns=dict(codes),
    )


# -- the whole score ------------------------------------------------------------------------


def test_identical_inputs_score_exactly_one_for_every_driver() -> None:
    score = compute_score(**full_inputs())
    assert {name: m["value"] for name, m in score["driver_metrics"].items()} == {
        SCHEMA: 1.0,
        SAMPLES: 1.0,
        LATENCY: 1.0,
        ERRORS: 1.0,
    }
    assert score["overall"] == 1.0 and score["overall_percentage"] == 100 and score["band"] == "high"
    assert score["coverage"] == 1.0 and score["skipped"] == [] and score["findings"] == []


def test_reordering_samples_keys_and_histograms_changes_nothing() -> None:
    plain = full_inputs()
    plain["mock_samples"] = users(2, price_scale=1.5)
    plain["mock_error_patterns"] = {"200": 900, "503": 100}
    plain["mock_response_times"] = (latencies(8) * 1.5).tolist()
    shuffled = copy.deepcopy(plain)
    rng = random.Random(0)
    for key in ("mock_samples", "real_samples", "mock_response_times", "real_response_times"):
        rng.shuffle(shuffled[key])
    for key in ("mock_samples", "real_samples"):
        shuffled[key] = [dict(reversed(list(body.items()))) for body in shuffled[key]]
    for key in ("mock_error_patterns", "real_error_patterns"):
        shuffled[key] = dict(reversed(list(shuffled[key].items())))
    user = shuffled["real_schema"]["components"]["schemas"]["User"]
    user["properties"] = dict(reversed(list(user["properties"].items())))
    user["required"] = list(reversed(user["required"]))
    assert compute_score(**shuffled) == compute_score(**plain)


def test_without_traffic_data_the_traffic_drivers_are_null_and_weights_renormalise() -> None:
    score = compute_score(
        mock_schema=ten_fields(1), real_schema=ten_fields(), mock_samples=users(1), real_samples=users(1)
    )
    metrics = score["driver_metrics"]
    assert metrics[LATENCY]["value"] is None and metrics[LATENCY]["percentage"] is None
    assert metrics[ERRORS]["value"] is None
    assert score["skipped"] == [
        {"driver": LATENCY, "reason": "no mock response times given"},
        {"driver": ERRORS, "reason": "no mock error patterns given"},
    ]
    assert score["coverage"] == 0.8
    assert score["overall"] == pytest.approx((10 / 11 + 1.0) / 2, abs=1e-6)
    assert score["overall_percentage"] == 95.4 and score["band"] == "high"


def test_nothing_computable_gives_no_overall() -> None:
    score = compute_score()
    assert score["overall"] is None and score["overall_percentage"] is None and score["band"] is None
    assert score["coverage"] == 0.0 and score["confidence"] == 0.0
    assert [s["driver"] for s in score["skipped"]] == [SCHEMA, SAMPLES, LATENCY, ERRORS]


def test_weights_are_configurable_and_normalised() -> None:
    inputs = dict(
        mock_schema=ten_fields(1), real_schema=ten_fields(), mock_error_patterns=[200], real_error_patterns=[200]
    )
    score = compute_score(**inputs, weights={"schema": 3, "samples": 0, "response_time": 0, ERRORS: 1})
    assert [score["driver_metrics"][d]["weight"] for d in (SCHEMA, SAMPLES, LATENCY, ERRORS)] == [0.75, 0.0, 0.0, 0.25]
    assert score["coverage"] == 1.0
    assert score["overall"] == pytest.approx(0.75 * 10 / 11 + 0.25, abs=1e-6)
    with pytest.raises(ValueError, match="unknown fidelity driver"):
        compute_score(weights={"vibes": 1})
    with pytest.raises(ValueError, match="non-negative"):
        compute_score(weights={SCHEMA: -1})


def test_bands() -> None:
    assert [band(v) for v in (1.0, 0.8, 0.7999, 0.6, 0.5999, 0.0, None)] == [
        "high",
        "high",
        "medium",
        "medium",
        "low",
        "low",
        None,
    ]


def test_confidence_grows_with_sample_sizes() -> None:
    # n = m = 30 bodies: n_eff = 15, confidence 15/25 for samples and for schemas inferred from them.
    inferred = compute_score(mock_samples=users(1), real_samples=users(1))
    assert inferred["driver_metrics"][SAMPLES]["confidence"] == 0.6
    assert inferred["driver_metrics"][SCHEMA]["confidence"] == 0.6
    assert inferred["confidence"] == 0.6
    # Declared schemas are exact: (0.4·1 + 0.4·0.6) / 0.8.
    declared = compute_score(mock_schema=USER_DOC, real_schema=USER_DOC, mock_samples=users(1), real_samples=users(1))
    assert declared["confidence"] == 0.8
    bigger = compute_score(mock_samples=users(1, n=300), real_samples=users(1, n=300))
    assert bigger["confidence"] == pytest.approx(150 / 160)


def test_findings_are_sorted_by_points_lost_and_add_up_to_what_was_lost() -> None:
    score = compute_score(
        mock_schema=ten_fields(2),
        real_schema=ten_fields(),
        mock_samples=users(2, price_scale=5, status="active"),
        real_samples=users(1),
        mock_response_times=(latencies() * 2).tolist(),
        real_response_times=latencies().tolist(),
        mock_error_patterns={"200": 990, "500": 10},
        real_error_patterns={"200": 900, "503": 100},
    )
    lost = [f["points_lost"] for f in score["findings"]]
    assert lost == sorted(lost, reverse=True)
    assert sum(lost) == pytest.approx(1 - score["overall"], abs=1e-4)
    first = score["findings"][0]
    assert set(first) == {"driver", "path", "code", "message", "mock", "real", "points_lost"}
    # Equal losses (the two retyped fields) are ordered by path.
    retyped = [f["path"] for f in score["findings"] if f["code"] == "type-mismatch"]
    assert retyped == ["$.age", "$.id"]


def test_unusable_input_is_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="not a supported JSON path"):
        compute_score(exclude=["$..id"])
    with pytest.raises(ValueError, match="milliseconds"):
        compute_score(mock_response_times=[1, -2, 3, 4, 5], real_response_times=[1, 2, 3, 4, 5])
    with pytest.raises(ValueError, match="neither a status code"):
        compute_score(mock_error_patterns={"5xx": 3}, real_error_patterns={"200": 1})
    with pytest.raises(ValueError, match="does not resolve"):
        compute_score(mock_schema={"$ref": "#/components/schemas/Nope"}, real_schema={"type": "object"})


# -- schema similarity ----------------------------------------------------------------------


def test_one_of_ten_fields_retyped_costs_one_eleventh() -> None:
    score = compute_score(mock_schema=retype("age"), real_schema=ten_fields())
    assert score["driver_metrics"][SCHEMA]["value"] == pytest.approx(10 / 11, abs=0.01)
    assert score["driver_metrics"][SCHEMA]["details"]["nodes"] == 11
    [finding] = score["findings"]
    assert finding == {
        "driver": SCHEMA,
        "path": "$.age",
        "code": "type-mismatch",
        "message": "$.age is string in the mock but integer in reality",
        "mock": "string",
        "real": "integer",
        "points_lost": round(1 / 11, 6),
    }


def test_each_retyped_field_costs_more() -> None:
    values = [schema_value(ten_fields(k), ten_fields()) for k in range(11)]
    assert values[0] == 1.0
    assert all(a > b for a, b in pairwise(values))
    assert values[10] == pytest.approx(1 / 11)


def test_missing_and_extra_properties_both_count() -> None:
    fewer = ten_fields()
    del fewer["properties"]["size"]
    more = ten_fields()
    more["properties"]["nickname"] = {"type": "string"}
    missing = compute_score(mock_schema=fewer, real_schema=ten_fields())
    extra = compute_score(mock_schema=more, real_schema=ten_fields())
    assert missing["driver_metrics"][SCHEMA]["value"] == pytest.approx(10 / 11, abs=1e-6)
    assert extra["driver_metrics"][SCHEMA]["value"] == pytest.approx(11 / 12, abs=1e-6)
    assert [(f["path"], f["code"]) for f in missing["findings"]] == [("$.size", "missing-in-mock")]
    assert [(f["path"], f["code"]) for f in extra["findings"]] == [("$.nickname", "extra-in-mock")]


def test_a_missing_subtree_loses_all_its_nodes_in_one_finding() -> None:
    real = ten_fields()
    real["properties"]["address"] = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
    }
    score = compute_score(mock_schema=ten_fields(), real_schema=real)
    assert score["driver_metrics"][SCHEMA]["value"] == pytest.approx(11 / 14, abs=1e-6)
    assert [(f["path"], f["code"], f["points_lost"]) for f in score["findings"]] == [
        ("$.address", "missing-in-mock", round(3 / 14, 6))
    ]


@pytest.mark.parametrize(
    ("change", "expected", "code"),
    [
        ({"required": FIELDS[1:]}, 1 - 0.15 / 11, "required-differs"),
        ({"nullable": True}, 1 - 0.10 / 11, "nullable-differs"),
        ({"format": "int32"}, 1 - 0.05 / 11, "format-differs"),
        ({"enum": [1, 2]}, 1 - 0.10 / 11, "enum-differs"),
        ({"type": "number"}, 1 - 0.5 / 11, "type-mismatch"),
        ({"type": None}, 1 - 0.5 / 11, "type-mismatch"),
        ({"type": ["integer", "string"]}, 1 - 0.5 / 11, "type-mismatch"),
    ],
)
def test_each_part_of_the_node_formula(change: dict, expected: float, code: str) -> None:
    mock = ten_fields()
    if "required" in change:
        mock["required"] = change["required"]
    else:
        node = mock["properties"]["id"]
        node.update(change)
        if node.get("type") is None:
            del node["type"]
    score = compute_score(mock_schema=mock, real_schema=ten_fields())
    assert score["driver_metrics"][SCHEMA]["value"] == pytest.approx(expected, abs=1e-6)
    assert [(f["path"], f["code"]) for f in score["findings"]] == [("$.id", code)]


def test_enum_agreement_is_the_jaccard_of_the_values() -> None:
    def with_status(values: list[str]) -> dict:
        return {"type": "object", "properties": {"status": {"type": "string", "enum": values}}}

    value = schema_value(with_status(["active", "pending", "closed"]), with_status(["pending", "active"]))
    assert value == pytest.approx((1 + (1 - 0.10 * (1 - 2 / 3))) / 2, abs=1e-6)


ADDRESS = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
    "required": ["city"],
}


def _with(**props: dict) -> dict:
    return {"type": "object", "properties": props, "required": list(props)}


EQUIVALENT = {
    "annotations added": (
        _with(name={"type": "string"}, tags={"type": "array", "items": {"type": "string"}}),
        {
            "title": "User",
            "description": "A person",
            "x-internal": True,
            **_with(
                name={
                    "type": "string",
                    "description": "Full name",
                    "example": "Ada",
                    "examples": ["Ada"],
                    "default": "",
                },
                tags={
                    "type": "array",
                    "readOnly": True,
                    "writeOnly": False,
                    "items": {"type": "string", "title": "Tag"},
                },
            ),
        },
    ),
    "components $ref vs inline": (
        _with(address=ADDRESS),
        {**_with(address={"$ref": "#/components/schemas/Address"}), "components": {"schemas": {"Address": ADDRESS}}},
    ),
    "definitions $ref vs inline": (
        _with(address=ADDRESS),
        {**_with(address={"$ref": "#/definitions/Address"}), "definitions": {"Address": ADDRESS}},
    ),
    "$defs $ref at the root vs inline": (ADDRESS, {"$ref": "#/$defs/A", "$defs": {"A": ADDRESS}}),
    "$ref with a description next to it": (
        {**_with(address={"$ref": "#/$defs/A", "description": "Where"}), "$defs": {"A": ADDRESS}},
        _with(address=ADDRESS),
    ),
    "nullable: true vs type list": (
        _with(name={"type": "string", "nullable": True}),
        _with(name={"type": ["string", "null"]}),
    ),
    "nullable: true vs anyOf null": (
        _with(name={"type": "string", "nullable": True}),
        _with(name={"anyOf": [{"type": "string"}, {"type": "null"}]}),
    ),
    "type list vs oneOf null": (
        _with(name={"type": ["string", "null"]}),
        _with(name={"oneOf": [{"type": "null"}, {"type": "string"}]}),
    ),
    "nullable $ref via allOf vs via anyOf": (
        {**_with(address={"allOf": [{"$ref": "#/$defs/A"}], "nullable": True}), "$defs": {"A": ADDRESS}},
        {**_with(address={"anyOf": [{"$ref": "#/$defs/A"}, {"type": "null"}]}), "$defs": {"A": ADDRESS}},
    ),
    "allOf merged vs flat": (
        _with(city={"type": "string"}, zip={"type": "string"}),
        {"allOf": [_with(city={"type": "string"}), _with(zip={"type": "string"})]},
    ),
    "oneOf in another order": (
        _with(pet={"oneOf": [ADDRESS, _with(name={"type": "string"})]}),
        _with(pet={"oneOf": [_with(name={"type": "string"}), ADDRESS]}),
    ),
    "integer and number vs number": (_with(n={"type": ["integer", "number"]}), _with(n={"type": "number"})),
    "oneOf of bare types vs type list": (
        _with(n={"oneOf": [{"type": "string"}, {"type": "integer"}]}),
        _with(n={"type": ["integer", "string"]}),
    ),
}


@pytest.mark.parametrize("pair", EQUIVALENT.values(), ids=EQUIVALENT.keys())
def test_equivalent_spellings_score_exactly_one(pair: tuple[dict, dict]) -> None:
    a, b = pair
    assert schema_value(a, b) == 1.0
    assert schema_value(b, a) == 1.0


def test_recursive_refs_terminate_and_compare() -> None:
    def tree(label_type: str) -> dict:
        node = {
            "type": "object",
            "properties": {
                "label": {"type": label_type},
                "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
            },
        }
        return {"$ref": "#/$defs/Node", "$defs": {"Node": node}}

    assert schema_value(tree("string"), tree("string")) == 1.0
    # root, label, children, children[*] (cut at the repeated ref): the label is 1 of 4 nodes.
    assert schema_value(tree("integer"), tree("string")) == pytest.approx(3 / 4)
    mutual = {
        "$ref": "#/$defs/A",
        "$defs": {"A": {"properties": {"b": {"$ref": "#/$defs/B"}}}, "B": {"properties": {"a": {"$ref": "#/$defs/A"}}}},
    }
    assert schema_value(mutual, copy.deepcopy(mutual)) == 1.0


def test_arrays_compare_their_items() -> None:
    def listing(price_type: str) -> dict:
        item = _with(id={"type": "integer"}, price={"type": price_type})
        return _with(items={"type": "array", "items": item})

    score = compute_score(mock_schema=listing("string"), real_schema=listing("number"))
    # $, $.items, $.items[*], $.items[*].id, $.items[*].price
    assert score["driver_metrics"][SCHEMA]["value"] == pytest.approx(4 / 5)
    assert [(f["path"], f["code"]) for f in score["findings"]] == [("$.items[*].price", "type-mismatch")]


def test_one_of_is_matched_symmetrically() -> None:
    cat = _with(meows={"type": "boolean"})
    dog = _with(barks={"type": "boolean"}, breed={"type": "string"})
    both = _with(pet={"oneOf": [cat, dog]})
    only_cat = _with(pet=cat)
    assert schema_value(both, both) == 1.0
    one_side = schema_value(only_cat, both)
    assert 0.5 < one_side < 1.0
    assert schema_value(both, only_cat) == one_side


def test_schema_is_inferred_from_samples_when_not_given() -> None:
    bodies = users(1)
    declared = {
        "type": "object",
        "required": list(bodies[0]),
        "properties": {
            "id": {"type": "integer"},
            "uuid": {"type": "string"},
            "name": {"type": "string"},
            "email": {"type": "string"},
            "price": {"type": "number"},
            "status": {"type": "string"},
            "created_at": {"type": "string"},
            "verified": {"type": "boolean"},
        },
    }
    score = compute_score(mock_samples=bodies, real_schema=declared)
    metric = score["driver_metrics"][SCHEMA]
    assert metric["value"] == 1.0
    assert metric["details"]["mock_source"] == "inferred from 30 samples"
    assert metric["details"]["real_source"] == "declared"
    assert metric["confidence"] == 0.75  # one exact side: n_eff = 30
    assert score["driver_metrics"][SAMPLES]["reason"] == "no real samples given"


def test_excluded_paths_never_count() -> None:
    mock, real = ten_fields(), ten_fields()
    for schema, meta_type in ((mock, "string"), (real, "integer")):
        schema["properties"]["meta"] = _with(request_id={"type": meta_type})
    assert schema_value(mock, real) < 1.0
    assert schema_value(mock, real, exclude=["$.meta.request_id"]) == 1.0

    def page(etags: list[str]) -> list[dict]:
        return [
            {"items": [{"id": i, "etag": e} for i, e in enumerate(etags)], "meta": {"request_id": e}} for e in etags
        ]

    mock_pages, real_pages = page([str(i) * 40 for i in range(10)]), page([f"{i}" for i in range(10)])
    assert sample_value(mock_pages, real_pages) < 1.0
    assert sample_value(mock_pages, real_pages, exclude=["$.meta.request_id", "$.items[*].etag"]) == 1.0


@pytest.mark.parametrize("pattern", ["$.items[*].etag", "$.items[0].etag", "$.items[*]['etag']", "$.items[*].*"])
def test_exclusion_patterns_in_their_usual_spellings(pattern: str) -> None:
    real = [{"items": [{"etag": "a" * 8}] * 3}] * 10
    mock = [{"items": [{"etag": 12345}] * 3}] * 10
    assert sample_value(mock, real) < 1.0
    assert sample_value(mock, real, exclude=[pattern]) == 1.0


# -- sample similarity ----------------------------------------------------------------------


@pytest.mark.parametrize("seeds", [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10)])
def test_same_generator_with_different_seeds_scores_high(seeds: tuple[int, int]) -> None:
    mock, real = users(seeds[0]), users(seeds[1])
    assert not {b["uuid"] for b in mock} & {b["uuid"] for b in real}
    assert sample_value(mock, real) >= 0.95


def test_ids_are_never_compared_by_value() -> None:
    real = users(1)
    mock = copy.deepcopy(real)
    rng = random.Random(99)
    for body in mock:
        body["uuid"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        body["id"] = rng.randint(10_000, 99_999) if body["id"] >= 10_000 else body["id"]
    assert not {b["uuid"] for b in mock} & {b["uuid"] for b in real}
    assert sample_value(mock, real) == 1.0


def test_a_drifted_generator_scores_clearly_lower() -> None:
    same = sample_value(users(2), users(1))
    score = compute_score(mock_samples=users(2, price_scale=10, status="active"), real_samples=users(1))
    drifted = score["driver_metrics"][SAMPLES]["value"]
    assert drifted < 0.92 and same - drifted > 0.05
    assert [(f["path"], f["code"]) for f in score["findings"][:2]] == [
        ("$.price", "distribution-differs"),
        ("$.status", "frequencies-differ"),
    ]


def test_more_drift_scores_lower() -> None:
    real = users(1, n=60)

    def scaled(k: float) -> list[dict]:
        return [{**body, "price": round(body["price"] * k, 2)} for body in real]

    values = [sample_value(scaled(k), real) for k in (1, 1.5, 3, 10)]
    assert values[0] == 1.0
    assert all(a > b for a, b in pairwise(values))


def test_a_path_missing_from_the_mock_scores_zero_and_is_reported_once() -> None:
    real = [{**body, "profile": {"nickname": "x" * (i % 7 + 3), "bio": "hi"}} for i, body in enumerate(users(1))]
    score = compute_score(mock_samples=users(1), real_samples=real)
    # Eight shared paths score 1; $.profile.nickname and $.profile.bio score 0, and the worst is 0:
    # (points lost are in overall units: the samples driver is half of the computed weight)
    # 0.4·(8/10) + 0.6·0.
    assert score["driver_metrics"][SAMPLES]["value"] == pytest.approx(0.32, abs=1e-6)
    samples_findings = [(f["path"], f["code"], f["points_lost"]) for f in score["findings"] if f["driver"] == SAMPLES]
    assert samples_findings == [("$.profile", "missing-in-mock", pytest.approx(0.68 * 0.5, abs=1e-6))]


def test_one_completely_wrong_field_among_many_shows() -> None:
    real = users(1)
    right = sample_value(users(2), real)
    for wrong, path, code in ((users(2, price_scale=100), "$.price", "distribution-differs"),
                              (users(2, status="active"), "$.status", "frequencies-differ")):
        score = compute_score(mock_samples=wrong, real_samples=real)
        value = score["driver_metrics"][SAMPLES]["value"]
        assert (score["findings"][0]["path"], score["findings"][0]["code"]) == (path, code)
        assert score["driver_metrics"][SAMPLES]["details"]["worst_path"]["path"] == path
        assert right - value >= 0.2, (path, right, value)
    # exact figures: a correct mock, every price ×100, every status the same
    assert right == 1.0
    assert sample_value(users(2, price_scale=100), real) == 0.636667
    assert sample_value(users(2, status="active"), real) == 0.787717


def test_samples_findings_add_up_to_what_the_driver_lost() -> None:
    score = compute_score(mock_samples=users(2, price_scale=100, status="active"), real_samples=users(1, n=40))
    value = score["driver_metrics"][SAMPLES]["value"]
    lost = sum(f["points_lost"] for f in score["findings"] if f["driver"] == SAMPLES)
    assert lost == pytest.approx(0.5 * (1 - value), abs=1e-5)  # samples: 0.4 of the 0.8 computed weight


def test_presence_rate_counts() -> None:
    real = users(1, n=60)
    half = [body if i % 2 else {k: v for k, v in body.items() if k != "email"} for i, body in enumerate(real)]
    score = compute_score(mock_samples=half, real_samples=real)
    assert score["driver_metrics"][SAMPLES]["value"] < 0.95
    assert ("$.email", "presence-differs") in [(f["path"], f["code"]) for f in score["findings"]]


def test_fewer_than_five_values_skip_the_value_term_and_say_so() -> None:
    mock, real = (
        [{"price": 1.0}, {"price": 2.0}, {"price": 3.0}],
        [{"price": 100.0}, {"price": 200.0}, {"price": 300.0}],
    )
    score = compute_score(mock_samples=mock, real_samples=real)
    assert score["driver_metrics"][SAMPLES]["value"] == 1.0
    assert score["driver_metrics"][SAMPLES]["details"]["paths_without_value_test"] == 1
    [flag] = [f for f in score["findings"] if f["driver"] == SAMPLES]
    assert (flag["path"], flag["code"], flag["points_lost"]) == ("$.price", "too-few-values", 0.0)


def test_array_lengths_are_compared() -> None:
    real = [{"tags": ["a"] * (i % 5 + 1)} for i in range(40)]
    short = [{"tags": ["a"]} for _ in range(40)]
    score = compute_score(mock_samples=short, real_samples=real)
    assert ("$.tags", "array-length-differs") in [(f["path"], f["code"]) for f in score["findings"]]
    assert score["driver_metrics"][SAMPLES]["value"] < 0.9


# -- response-time similarity ---------------------------------------------------------------


def test_twice_as_slow_and_twice_as_fast_score_alike() -> None:
    real = latencies()
    slower, faster = latency_value(real * 2, real), latency_value(real / 2, real)
    assert 0.33 <= slower <= 0.50
    assert faster == pytest.approx(slower, abs=0.05)
    assert latency_value(real * 10, real) == pytest.approx(0.05, abs=0.02)
    assert latency_value(real, real) == 1.0


def test_latency_drift_is_monotone() -> None:
    real = latencies()
    values = [latency_value(real * k, real) for k in (1, 1.25, 1.5, 2, 3, 10)]
    assert values[0] == 1.0
    assert all(a > b for a, b in pairwise(values))


def test_latency_details_and_too_few_values() -> None:
    real = latencies()
    score = compute_score(mock_response_times=(real * 2).tolist(), real_response_times=real.tolist())
    details = score["driver_metrics"][LATENCY]["details"]
    assert details["real"]["n"] == 200 and details["mock"]["p50"] == pytest.approx(2 * details["real"]["p50"], rel=1e-3)
    assert set(details["mock"]) == {"p50", "p95", "p99", "n"}
    few = compute_score(mock_response_times=[10, 20, 30, 40], real_response_times=real.tolist())
    assert few["driver_metrics"][LATENCY]["value"] is None
    assert few["driver_metrics"][LATENCY]["reason"] == "fewer than 5 mock response times (4)"


# -- error-pattern similarity ---------------------------------------------------------------


def test_one_percent_against_thirty_percent_errors_scores_about_a_tenth() -> None:
    value = error_value({"200": 990, "500": 10}, {"200": 700, "500": 300})
    assert value < 0.15
    assert value == pytest.approx(0.087, abs=0.005)


def test_a_neighbouring_error_code_keeps_most_of_the_score() -> None:
    # Same rate; exact codes disagree, their class (5xx) agrees: ½ + ½·½.
    assert error_value({"200": 970, "503": 30}, {"200": 970, "500": 30}) == 0.75
    assert error_value({"200": 970, "404": 30}, {"200": 970, "500": 30}) == 0.5


def test_success_codes_count_too() -> None:
    # No errors on either side, so the rate agrees; the success mix is scored like the error mix:
    # ½ + ½·(½ exact-code agreement + ½ class agreement).
    score = compute_score(mock_error_patterns={"201": 1000}, real_error_patterns={"200": 1000})
    assert score["driver_metrics"][ERRORS]["value"] == 0.75  # 201 for 200: same class (2xx)
    assert [(f["code"], f["mock"], f["real"]) for f in score["findings"]] == [
        ("success-codes-differ", {"201": 1000}, {"200": 1000})
    ]
    assert error_value({"302": 1000}, {"200": 1000}) == 0.5  # a redirect where reality answers: neither agrees
    assert error_value({"204": 500, "200": 500}, {"204": 100, "200": 900}) == 0.902172
    assert error_value({"204": 100, "200": 900}, {"200": 900, "204": 100}) == 1.0


def test_status_counts_must_be_whole_numbers() -> None:
    with pytest.raises(ValueError, match="whole number of responses"):
        compute_score(mock_error_patterns={"200": 0.97, "500": 0.03}, real_error_patterns={"200": 970, "500": 30})
    assert error_value({"200": 970.0, "500": 30}, {"200": 970, "500": 30}) == 1.0


def test_histograms_and_code_lists_are_read_alike() -> None:
    codes = [200] * 97 + [500] * 2 + ["timeout"]
    histogram = {200: 97, "500": 2, "TIMEOUT": 1}
    assert (
        compute_score(mock_error_patterns=codes, real_error_patterns=histogram)["driver_metrics"][ERRORS]["value"]
        == 1.0
    )
    score = compute_score(mock_error_patterns=codes, real_error_patterns={"200": 100})
    details = score["driver_metrics"][ERRORS]["details"]
    assert details["mock_error_rate"] == 0.03 and details["real_error_rate"] == 0.0
    assert details["mock_codes"] == {"200": 97, "500": 2, "timeout": 1}


def test_an_empty_histogram_is_not_computable() -> None:
    score = compute_score(mock_error_patterns={}, real_error_patterns={"200": 10})
    assert score["driver_metrics"][ERRORS]["value"] is None
    assert score["driver_metrics"][ERRORS]["reason"] == "the mock error pattern is empty"


def test_error_rate_drift_is_monotone() -> None:
    real = {"200": 970, "500": 30}
    values = [error_value({"200": 1000 - e, "500": e}, real) for e in (30, 60, 100, 200, 400)]
    assert values[0] == 1.0
    assert all(a > b for a, b in pairwise(values))


# -- rolling operations up ------------------------------------------------------------------


def test_operations_roll_up_by_real_traffic() -> None:
    retyped = compute_score(mock_schema=ten_fields(1), real_schema=ten_fields())
    perfect = compute_score(
        mock_schema=ten_fields(), real_schema=ten_fields(), mock_response_times=[5] * 10, real_response_times=[5] * 10
    )
    rolled = combine_operation_scores(
        [
            {"operation": "GET /users/{id}", "weight": 300, "score": retyped},
            {"operation": "GET /orders", "weight": 100, "score": perfect},
        ]
    )
    assert rolled["driver_metrics"][SCHEMA]["value"] == pytest.approx((300 * 10 / 11 + 100) / 400, abs=1e-6)
    assert rolled["driver_metrics"][LATENCY]["value"] == 1.0  # only where it was computable
    assert rolled["driver_metrics"][SAMPLES]["value"] is None
    assert rolled["coverage"] == 0.5
    assert rolled["overall"] == pytest.approx((0.4 * rolled["driver_metrics"][SCHEMA]["value"] + 0.1) / 0.5, abs=1e-6)
    [finding] = rolled["findings"]
    assert finding["operation"] == "GET /users/{id}" and finding["path"] == "$.id"
    assert finding["points_lost"] == pytest.approx(1 - rolled["overall"], abs=1e-5)
    assert rolled["operations"] == [
        {
            "operation": "GET /users/{id}",
            "weight": 300,
            "overall": retyped["overall"],
            "driver_metrics": {SCHEMA: round(10 / 11, 6), SAMPLES: None, LATENCY: None, ERRORS: None},
        },
        {
            "operation": "GET /orders",
            "weight": 100,
            "overall": 1.0,
            "driver_metrics": {SCHEMA: 1.0, SAMPLES: None, LATENCY: 1.0, ERRORS: None},
        },
    ]


def test_rolled_up_findings_still_add_up_to_what_was_lost() -> None:
    one = compute_score(
        mock_schema=ten_fields(3), real_schema=ten_fields(), mock_samples=users(2, price_scale=4), real_samples=users(1)
    )
    two = compute_score(
        mock_schema=ten_fields(1),
        real_schema=ten_fields(),
        mock_error_patterns={"200": 80, "500": 20},
        real_error_patterns={"200": 99, "500": 1},
    )
    rolled = combine_operation_scores(
        [{"operation": "GET /a", "weight": 10, "score": one}, {"operation": "POST /b", "weight": 30, "score": two}]
    )
    lost = [f["points_lost"] for f in rolled["findings"]]
    assert lost == sorted(lost, reverse=True)
    assert sum(lost) == pytest.approx(1 - rolled["overall"], abs=1e-4)
    assert {f["operation"] for f in rolled["findings"]} == {"GET /a", "POST /b"}
    assert rolled["driver_metrics"][SAMPLES]["value"] == one["driver_metrics"][SAMPLES]["value"]


def test_perfect_operations_roll_up_to_exactly_one() -> None:
    perfect = compute_score(**full_inputs())
    rolled = combine_operation_scores([{"operation": f"GET /{n}", "weight": n, "score": perfect} for n in (1, 3, 7)])
    assert rolled["overall"] == 1.0 and rolled["band"] == "high" and rolled["findings"] == []
    assert combine_operation_scores([])["overall"] is None


def test_bench_samples_times_a_generated_workload() -> None:
    seconds = bench_samples(n=200, paths=5)
    assert isinstance(seconds, float) and seconds > 0

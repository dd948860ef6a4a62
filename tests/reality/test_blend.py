"""The blender: FIDELITY.md "Blending at ratio r", checked field by field."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

import orjson
import pytest

from mockverse.ids import unit_draw
from mockverse.reality.blend import Decision, blend, blend_response, real_share

SEED = "ws-seed"
KEYS = [f"GET /orders/{n}" for n in range(300)]

ORDER_SYN = {"id": 1, "user_id": 100, "count": 10, "status": "pending", "amount": 100, "currency": "USD"}
ORDER_REAL = {"id": 2, "user_id": 200, "count": 20, "status": "shipped", "amount": 90, "currency": "EUR"}


def sources(decisions: list[Decision]) -> dict[str, str]:
    return {d.path: d.source for d in decisions}


def test_an_order_at_half_keeps_identity_and_money_pairs_together() -> None:
    seen_sides, seen_money = set(), set()
    for key in KEYS:
        out, _ = blend(ORDER_SYN, ORDER_REAL, 0.5, seed=SEED, request_key=key)
        assert (out["id"], out["user_id"]) in {(1, 100), (2, 200)}
        assert out["count"] == 15 and isinstance(out["count"], int)
        assert out["status"] in {"pending", "shipped"}
        assert (out["amount"], out["currency"]) in {(100, "USD"), (90, "EUR")}
        seen_sides.add(out["id"])
        seen_money.add(out["currency"])
    assert seen_sides == {1, 2} and seen_money == {"USD", "EUR"}


def test_identity_fields_share_one_draw_at_the_object_path() -> None:
    syn = {"id": "a", "userId": "u1", "href": "/a", "created_at": "2026-01-01T00:00:00Z", "name": "x"}
    real = {"id": "b", "userId": "u2", "href": "/b", "created_at": "2025-05-05T00:00:00Z", "name": "y"}
    for key in KEYS[:100]:
        out, decisions = blend(syn, real, 0.4, seed=SEED, request_key=key)
        side = real if unit_draw(SEED, key, "$#identity") < 0.4 else syn
        assert {k: out[k] for k in ("id", "userId", "href", "created_at")} == {
            k: side[k] for k in ("id", "userId", "href", "created_at")
        }
        assert [d.rule for d in decisions if d.path in ("$.id", "$.userId", "$.href", "$.created_at")] == [
            "identity"
        ] * 4


def test_integers_interpolate_with_stochastic_rounding() -> None:
    values = [blend({"count": 10}, {"count": 11}, 0.3, seed=SEED, request_key=k)[0]["count"] for k in KEYS]
    assert set(values) == {10, 11}
    assert all(isinstance(v, int) for v in values)
    assert sum(values) / len(values) == pytest.approx(10.3, abs=0.08)


def test_same_currency_amounts_interpolate_at_the_currency_precision() -> None:
    out, decisions = blend(
        {"amount": 100.00, "currency": "USD"}, {"amount": 90.50, "currency": "USD"}, 0.5, seed=SEED, request_key="k"
    )
    assert out == {"amount": 95.25, "currency": "USD"}
    assert [d.rule for d in decisions if d.path == "$.amount"] == ["interpolate-decimal"]


def test_decimal_inputs_keep_their_written_precision() -> None:
    out, _ = blend(
        {"total": Decimal("100.00"), "currency": "usd"},
        {"total": Decimal("90.50"), "currency": "USD"},
        0.5,
        seed=SEED,
        request_key="k",
    )
    assert out["total"] == Decimal("95.25") and str(out["total"]) == "95.25"


def test_money_written_as_text_interpolates_as_text() -> None:
    syn = {"value": "100.00", "currency_code": "USD"}
    real = {"value": "90.50", "currency_code": "USD"}
    assert blend(syn, real, 0.5, seed=SEED, request_key="k")[0] == {"value": "95.25", "currency_code": "USD"}


def test_zero_decimal_currency_keeps_whole_units() -> None:
    out, _ = blend(
        {"price": 1000.0, "currency": "JPY"}, {"price": 1005.0, "currency": "JPY"}, 0.5, seed=SEED, request_key="k"
    )
    assert out["price"] == 1002.5  # one decimal place, as the inputs are written
    out, _ = blend(
        {"price": 1000, "currency": "JPY"}, {"price": 1005, "currency": "JPY"}, 0.5, seed=SEED, request_key="k"
    )
    assert out["price"] in (1002, 1003)


def test_plain_decimals_keep_the_inputs_precision() -> None:
    for key in KEYS[:50]:
        out, _ = blend({"weight": 1.25}, {"weight": 2.5}, 0.3, seed=SEED, request_key=key)
        assert out["weight"] in (1.62, 1.63)  # 1.625 rounded to two places, up or down


def test_big_integers_are_selected_exactly() -> None:
    big_a, big_b = 2**60 + 1, 2**60 + 7
    for key in KEYS[:50]:
        out, decisions = blend({"bytes": big_a}, {"bytes": big_b}, 0.5, seed=SEED, request_key=key)
        assert out["bytes"] in (big_a, big_b)
        assert decisions[0].rule == "select-bigint"


def test_nominal_numbers_are_selected_not_averaged() -> None:
    syn = {"status_code": 200, "year": 2020, "start_time": 1_700_000_000, "version": 1}
    real = {"status_code": 404, "year": 2024, "start_time": 1_800_000_000, "version": 3}
    for key in KEYS[:50]:
        out, _ = blend(syn, real, 0.5, seed=SEED, request_key=key)
        for field in syn:
            assert out[field] in (syn[field], real[field])


def test_booleans_nulls_and_type_mismatches_are_selected_whole() -> None:
    syn = {"active": True, "note": None, "meta": {"a": 1}}
    real = {"active": False, "note": "hi", "meta": [1, 2]}
    for key in KEYS[:50]:
        out, decisions = blend(syn, real, 0.5, seed=SEED, request_key=key)
        assert out["active"] in (True, False)
        assert out["note"] in (None, "hi")
        assert out["meta"] in ({"a": 1}, [1, 2])
        assert {d.path: d.rule for d in decisions}["$.meta"] == "select-type"


def test_keys_on_one_side_are_kept_with_that_sides_odds() -> None:
    syn_kept = real_kept = 0
    for key in KEYS:
        out, _ = blend({"a": 1, "only_syn": "s"}, {"a": 1, "only_real": "r"}, 0.25, seed=SEED, request_key=key)
        syn_kept += "only_syn" in out
        real_kept += "only_real" in out
        assert ("only_syn" in out) == (unit_draw(SEED, key, "$.only_syn") >= 0.25)
        assert ("only_real" in out) == (unit_draw(SEED, key, "$.only_real") < 0.25)
    assert syn_kept / len(KEYS) == pytest.approx(0.75, abs=0.08)
    assert real_kept / len(KEYS) == pytest.approx(0.25, abs=0.08)


def test_entity_arrays_align_by_id_without_duplicates() -> None:
    syn = {"items": [{"id": i, "qty": 1, "sku": f"s{i}"} for i in (1, 2, 3, 4, 5)]}
    real = {"items": [{"id": i, "qty": 3, "sku": f"r{i}"} for i in (4, 5, 6, 7)]}
    for key in KEYS:
        out, decisions = blend(syn, real, 0.5, seed=SEED, request_key=key)
        ids = [item["id"] for item in out["items"]]
        assert len(ids) == len(set(ids))
        assert len(ids) <= 9
        assert {4, 5} <= set(ids)  # matched ids always survive
        for item in out["items"]:
            if item["id"] in (4, 5):
                assert item["qty"] == 2
        assert all(d.path.startswith("$.items[?(@.id==") for d in decisions)


def test_entity_order_follows_each_sides_own_order() -> None:
    syn = [{"id": "a"}, {"id": "b"}, {"id": "c"}]
    real = [{"id": "c"}, {"id": "b"}, {"id": "a"}]
    # r close to 1: every identity draw below r except the rare high ones, so real order wins.
    out, _ = blend(syn, real, 0.999, seed=SEED, request_key="k")
    assert [item["id"] for item in out] == ["c", "b", "a"]
    out, _ = blend(syn, real, 0.001, seed=SEED, request_key="k")
    assert [item["id"] for item in out] == ["a", "b", "c"]
    real_only = [{"id": "x"}, {"id": "y"}]
    syn_only = [{"id": "p"}, {"id": "q"}]
    for key in KEYS[:100]:
        ids = [item["id"] for item in blend(syn_only, real_only, 0.5, seed=SEED, request_key=key)[0]]
        assert [i for i in ids if i in "xy"] in (["x", "y"], ["x"], ["y"], [])
        assert [i for i in ids if i in "pq"] in (["p", "q"], ["p"], ["q"], [])


def test_positional_arrays_interpolate_length_and_select_whole_slots() -> None:
    syn = {"tags": ["s0", "s1"]}
    real = {"tags": ["r0", "r1", "r2", "r3", "r4", "r5"]}
    lengths = []
    for key in KEYS[:100]:
        out, decisions = blend(syn, real, 0.5, seed=SEED, request_key=key)
        assert len(out["tags"]) == 4
        assert out["tags"][0] in ("s0", "r0") and out["tags"][1] in ("s1", "r1")
        assert out["tags"][2:] == ["r2", "r3"]
    for key in KEYS[:100]:
        out, _ = blend(syn, real, 0.3, seed=SEED, request_key=key)  # 2 + 0.3·4 = 3.2
        lengths.append(len(out["tags"]))
    assert set(lengths) == {3, 4}
    assert sum(lengths) / len(lengths) == pytest.approx(3.2, abs=0.1)


def test_the_same_call_gives_the_same_bytes() -> None:
    syn = {**ORDER_SYN, "lines": [{"id": i, "qty": i} for i in range(5)], "tags": ["a", "b"]}
    real = {**ORDER_REAL, "lines": [{"id": i, "qty": 2 * i} for i in range(3, 9)], "tags": ["c"]}
    first = blend(syn, real, 0.37, seed=SEED, request_key="GET /orders/1")
    second = blend(syn, real, 0.37, seed=SEED, request_key="GET /orders/1")
    assert orjson.dumps(first[0]) == orjson.dumps(second[0])
    assert first[1] == second[1]


WIDE_SYN = {f"f{i:04d}": f"syn-{i}" for i in range(2500)}
WIDE_REAL = {f"f{i:04d}": f"real-{i}" for i in range(2500)}


@pytest.mark.parametrize("r", [0.1, 0.3, 0.5, 0.8])
def test_real_share_tracks_r_over_many_fields(r: float) -> None:
    out, decisions = blend(WIDE_SYN, WIDE_REAL, r, seed=SEED, request_key="GET /wide")
    counted = sum(1 for value in out.values() if value.startswith("real-")) / len(out)
    assert real_share(decisions) == pytest.approx(r, abs=0.03)
    assert real_share(decisions) == counted


def test_raising_r_only_flips_fields_towards_real() -> None:
    syn = {**WIDE_SYN, "nested": {"a": "x", "b": {"c": "y"}}, "n": 10}
    real = {**WIDE_REAL, "nested": {"a": "X", "b": {"c": "Y"}}, "n": 20}
    ratios = [0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95]
    runs = [sources(blend(syn, real, r, seed=SEED, request_key="k")[1]) for r in ratios]
    for low, high in pairwise(runs):
        assert all(high[path] == "real" for path, source in low.items() if source == "real")
    values = [blend(syn, real, r, seed=SEED, request_key="k")[0]["n"] for r in ratios]
    assert values == sorted(values)


def test_ends_return_a_side_unchanged() -> None:
    assert blend(ORDER_SYN, ORDER_REAL, 0, seed=SEED, request_key="k")[0] is ORDER_SYN
    assert blend(ORDER_SYN, ORDER_REAL, 1, seed=SEED, request_key="k")[0] is ORDER_REAL
    out, decisions = blend(ORDER_SYN, ORDER_REAL, 1e-7, seed=SEED, request_key="k")
    assert out is ORDER_SYN and decisions == [Decision("$", "snap", "synthetic", None, 0.0)]
    out, decisions = blend(ORDER_SYN, ORDER_REAL, 1 - 1e-7, seed=SEED, request_key="k")
    assert out is ORDER_REAL and decisions == [Decision("$", "snap", "real", None, 1.0)]


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "0.5", True])
def test_ratios_outside_zero_to_one_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="from 0 to 1"):
        blend(1, 2, bad, seed=SEED, request_key="k")  # type: ignore[arg-type]


def test_every_decision_names_path_rule_source_draw_and_ratio() -> None:
    _, decisions = blend({"a": {"b": "x"}, "n": 1}, {"a": {"b": "y"}, "n": 3}, 0.4, seed=SEED, request_key="k")
    by_path = {d.path: d for d in decisions}
    assert by_path["$.a.b"] == Decision("$.a.b", "select", by_path["$.a.b"].source, unit_draw(SEED, "k", "$.a.b"), 0.4)
    assert by_path["$.a.b"].source == ("real" if unit_draw(SEED, "k", "$.a.b") < 0.4 else "synthetic")
    assert by_path["$.n"].rule == "interpolate-int"


def test_success_against_server_error_is_selected_whole() -> None:
    statuses = set()
    for key in KEYS[:100]:
        status, body, decisions = blend_response(
            200, {"id": 1, "name": "a"}, 500, {"error": "boom"}, 0.5, seed=SEED, request_key=key
        )
        assert (status, body) in [(200, {"id": 1, "name": "a"}), (500, {"error": "boom"})]
        assert decisions == [Decision("#status", "status-select", "real" if status == 500 else "synthetic",
                                      unit_draw(SEED, key + "#status"), 0.5)]
        statuses.add(status)
    assert statuses == {200, 500}


def test_two_successes_select_the_status_and_blend_the_bodies() -> None:
    for key in KEYS[:50]:
        status, body, decisions = blend_response(200, {"n": 10}, 201, {"n": 20}, 0.5, seed=SEED, request_key=key)
        assert status == (201 if unit_draw(SEED, key + "#status") < 0.5 else 200)
        assert body == {"n": 15}
        assert decisions[0].rule == "status-select"


SCHEMA = {
    "type": "object",
    "required": ["id", "kind"],
    "properties": {
        "id": {"type": "integer"},
        "kind": {"type": "string"},
        "price": {"type": "number", "maximum": 100},
        "note": {"type": "string", "nullable": True},
        "card": {
            "type": "object",
            "properties": {"brand": {"type": "string"}, "last4": {"type": "string", "pattern": "^[0-9]{4}$"}},
            "required": ["brand", "last4"],
        },
    },
}


def test_a_subtree_that_breaks_the_schema_is_replaced_from_one_side() -> None:
    # Both sides are valid, but prices 60 and 160 blend above the maximum of 100 for r > 0.4.
    syn = {"id": 1, "kind": "a", "price": 60, "note": None}
    real = {"id": 1, "kind": "b", "price": 160, "note": "x"}
    for key in KEYS[:50]:
        out, decisions = blend(syn, real, 0.9, seed=SEED, request_key=key, schema=SCHEMA)
        assert out["price"] == 60  # the real 160 is invalid too, so the synthetic side is used
        repair = [d for d in decisions if d.rule == "schema-repair"]
        assert repair == [
            Decision("$.price", "schema-repair", "synthetic", unit_draw(SEED, key, "$.price#identity"), 0.9)
        ]
        assert not any(d.path == "$.price" and d.rule != "schema-repair" for d in decisions)


def test_a_repair_takes_the_side_the_identity_draw_picks_when_it_is_valid() -> None:
    schema = {"type": "object", "properties": {"seats": {"type": "integer", "multipleOf": 10}}}
    picked = set()
    for key in KEYS[:100]:
        out, decisions = blend({"seats": 10}, {"seats": 20}, 0.3, seed=SEED, request_key=key, schema=schema)
        u = unit_draw(SEED, key, "$.seats#identity")
        assert out == {"seats": 20 if u < 0.3 else 10}
        assert decisions == [Decision("$.seats", "schema-repair", "real" if u < 0.3 else "synthetic", u, 0.3)]
        picked.add(out["seats"])
    assert picked == {10, 20}


def test_a_missing_required_key_is_repaired_by_taking_the_object_whole() -> None:
    syn = {"id": 1, "kind": "a", "card": {"brand": "visa", "last4": "4242"}}
    real = {"id": 1, "kind": "b", "card": {"brand": "amex"}}  # the upstream itself breaks the schema
    repaired = 0
    for key in KEYS[:100]:
        out, decisions = blend(syn, real, 0.5, seed=SEED, request_key=key, schema=SCHEMA)
        assert "last4" in out["card"]
        if unit_draw(SEED, key, "$.card.last4") < 0.5:  # the key-presence draw dropped last4
            assert out["card"] == syn["card"]
            assert [d for d in decisions if d.path.startswith("$.card")] == [
                Decision("$.card", "schema-repair", "synthetic", unit_draw(SEED, key, "$.card#identity"), 0.5)
            ]
            repaired += 1
    assert 20 < repaired < 80


def test_an_invalid_leaf_is_replaced_by_a_valid_one() -> None:
    syn = {"id": 1, "kind": "a", "card": {"brand": "visa", "last4": "4242"}}
    real = {"id": 1, "kind": "a", "card": {"brand": "visa", "last4": "12"}}
    for key in KEYS[:50]:
        out, decisions = blend(syn, real, 0.5, seed=SEED, request_key=key, schema=SCHEMA)
        assert out["card"]["last4"] == "4242"
        if unit_draw(SEED, key, "$.card.last4") < 0.5:
            assert [d.rule for d in decisions if d.path == "$.card.last4"] == ["schema-repair"]


def test_openapi_nullable_allows_null() -> None:
    syn = {"id": 1, "kind": "a", "note": None}
    real = {"id": 1, "kind": "a", "note": "text"}
    for key in KEYS[:30]:
        _, decisions = blend(syn, real, 0.5, seed=SEED, request_key=key, schema=SCHEMA)
        assert not any(d.rule == "schema-repair" for d in decisions)


# -- keys, identifiers, integers, unique items and variants -------------------------------------


@pytest.mark.parametrize("key", ["uuid", "_id", "key", "code"])
def test_entity_arrays_align_by_their_key_field(key: str) -> None:
    syn = [{key: "x", "n": 1}, {key: "y", "n": 3}]
    real = [{key: "y", "n": 5}, {key: "x", "n": 9}]
    out, decisions = blend(syn, real, 0.5, seed=SEED, request_key="k")
    assert sorted(out, key=lambda item: item[key]) == [{key: "x", "n": 5}, {key: "y", "n": 4}]
    assert {d.path.split("]")[0] + "]" for d in decisions} == {f'$[?(@.{key}=="x")]', f'$[?(@.{key}=="y")]'}


def test_a_cart_aligns_by_sku_without_duplicates() -> None:
    syn = {"items": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2}]}
    real = {"items": [{"sku": "B", "qty": 4}, {"sku": "C", "qty": 6}]}
    out, _ = blend(syn, real, 0.5, seed=SEED, request_key="GET /cart")
    assert out == {"items": [{"sku": "C", "qty": 6}, {"sku": "B", "qty": 3}]}
    for key in KEYS:
        skus = [item["sku"] for item in blend(syn, real, 0.5, seed=SEED, request_key=key)[0]["items"]]
        assert len(skus) == len(set(skus)) and "B" in skus


def test_a_field_the_schema_marks_as_the_id_aligns_arrays() -> None:
    schema = {"type": "array", "items": {"type": "object", "properties": {
        "ref_no": {"type": "string", "x-mockverse-id": True}, "n": {"type": "integer"}}}}
    syn = [{"ref_no": "r1", "n": 1}, {"ref_no": "r2", "n": 3}]
    real = [{"ref_no": "r2", "n": 5}, {"ref_no": "r1", "n": 9}]
    out, _ = blend(syn, real, 0.5, seed=SEED, request_key="k", schema=schema)
    assert out == [{"ref_no": "r2", "n": 4}, {"ref_no": "r1", "n": 5}]


def test_sku_ref_and_key_numbers_are_identifiers_never_averaged() -> None:
    syn = {"sku": 1001, "order_ref": 5, "api_key": 777, "qty": 10}
    real = {"sku": 2002, "order_ref": 9, "api_key": 999, "qty": 20}
    out, decisions = blend(syn, real, 0.5, seed=SEED, request_key="k")
    assert out == {"sku": 2002, "order_ref": 9, "api_key": 999, "qty": 15}
    assert {d.path: d.rule for d in decisions} == {"$.sku": "identity", "$.order_ref": "identity",
                                                   "$.api_key": "identity", "$.qty": "interpolate-int"}
    for key in KEYS[:100]:
        out, _ = blend(syn, real, 0.5, seed=SEED, request_key=key)
        assert (out["sku"], out["order_ref"], out["api_key"]) in ((1001, 5, 777), (2002, 9, 999))


def test_an_integer_stays_an_integer_when_the_other_side_is_a_float() -> None:
    out, decisions = blend({"count": 10, "ratio": 0.5}, {"count": 11.5, "ratio": 1}, 0.5, seed=SEED, request_key="k")
    assert out == {"count": 11, "ratio": 0.8}
    assert type(out["count"]) is int
    assert {d.path: d.rule for d in decisions} == {"$.count": "interpolate-int", "$.ratio": "interpolate-decimal"}
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    out, _ = blend({"n": 10.0}, {"n": 11.5}, 0.5, seed=SEED, request_key="k", schema=schema)
    assert out == {"n": 10} and type(out["n"]) is int


def test_unique_items_stay_unique() -> None:
    schema = {"type": "object", "properties": {"ids": {"type": "array", "uniqueItems": True}}}
    out, decisions = blend({"ids": [3, 1, 2]}, {"ids": [1, 3, 4]}, 0.5, seed=SEED, request_key="GET /orders/0",
                           schema=schema)
    # slot 0 took the real 1, slot 1 drew the synthetic 1 again and took the real 3 instead
    assert out == {"ids": [1, 3, 4]}
    assert [(d.path, d.rule, d.source) for d in decisions] == [
        ("$.ids[0]", "select", "real"), ("$.ids[1]", "select", "synthetic"), ("$.ids[1]", "unique-items", "real"),
        ("$.ids[2]", "select", "real")]
    for key in KEYS:
        ids = blend({"ids": [3, 1, 2]}, {"ids": [1, 3, 4]}, 0.5, seed=SEED, request_key=key, schema=schema)[0]["ids"]
        assert len(ids) == len(set(ids))
        tags = blend({"tags": ["a", "b", "c"]}, {"tags": ["b", "a", "d"]}, 0.5, seed=SEED, request_key=key)[0]["tags"]
        assert len(tags) == len(set(tags))  # lists of distinct strings stay distinct without a schema


def test_two_one_of_variants_are_never_mixed() -> None:
    card = {"type": "card", "last4": "4242", "amount": 10}
    paypal = {"type": "paypal", "email": "a@b.c", "amount": 20}
    for key in KEYS[:100]:
        out, decisions = blend({"method": card}, {"method": paypal}, 0.5, seed=SEED, request_key=key)
        assert out["method"] in (card, paypal)
        assert [(d.path, d.rule) for d in decisions] == [("$.method", "select-variant")]
    schema = {
        "type": "object",
        "properties": {
            "method": {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["last4"],
                        "properties": {"last4": {"type": "string"}, "amount": {"type": "number"}},
                    },
                    {
                        "type": "object",
                        "required": ["email"],
                        "properties": {"email": {"type": "string"}, "amount": {"type": "number"}},
                    },
                ]
            }
        },
    }
    bare_card, bare_paypal = {"last4": "4242", "amount": 10}, {"email": "a@b.c", "amount": 20}
    out, _ = blend({"method": bare_card}, {"method": bare_paypal}, 0.5, seed=SEED, request_key="k", schema=schema)
    assert out == {"method": {"email": "a@b.c", "amount": 20}}
    for key in KEYS[:100]:
        out, _ = blend({"method": bare_card}, {"method": bare_paypal}, 0.5, seed=SEED, request_key=key, schema=schema)
        assert out["method"] in (bare_card, bare_paypal)
    same = blend({"method": {"type": "card", "last4": "4242", "amount": 10}},
                 {"method": {"type": "card", "last4": "1881", "amount": 20}}, 0.5, seed=SEED, request_key="k")[0]
    assert same["method"]["amount"] == 15  # one variant on both sides still blends field by field


def test_an_id_field_the_world_inferred_aligns_arrays() -> None:
    syn = [{"isbn": "978-1", "code": "a", "copies": 2}, {"isbn": "978-2", "code": "b", "copies": 4}]
    real = [{"isbn": "978-2", "code": "a", "copies": 8}, {"isbn": "978-1", "code": "b", "copies": 6}]
    out, decisions = blend(syn, real, 0.5, seed=SEED, request_key="k", id_keys=("isbn",))
    assert sorted((b["isbn"], b["copies"]) for b in out) == [("978-1", 4), ("978-2", 6)]
    assert all(d.path.startswith('$[?(@.isbn==') for d in decisions)
    by_code, _ = blend(syn, real, 0.5, seed=SEED, request_key="k")  # without it, `code` is the key
    assert sorted(b["code"] for b in by_code) == ["a", "b"]

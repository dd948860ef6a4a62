"""Answers remembered per schema give the answers worked out afresh: shared subtrees, cycles, look-alike values."""

from __future__ import annotations

from mockverse.openapi.jsonschema import _acyclic, fits, quickly_valid, validator_for


def test_a_subtree_two_properties_share_is_copied_once_and_still_checked_in_both() -> None:
    """A schema two properties use (as a resolved ``$ref`` is) is copied once for jsonschema-rs; both check it."""
    money = {"type": "object", "required": ["amount"], "properties": {"amount": {"type": "integer"}}}
    order = {"type": "object", "properties": {"price": money, "tax": money}}
    copy = _acyclic(order)
    assert copy == {"type": "object", "properties": {"price": money, "tax": money}}
    assert copy["properties"]["price"] is copy["properties"]["tax"]
    assert copy["properties"]["price"] is not money
    validator = validator_for(order)
    assert validator is not None
    assert quickly_valid(validator, {"price": {"amount": 5}, "tax": {"amount": 1}}) is True
    assert quickly_valid(validator, {"price": {"amount": 5}, "tax": {"amount": "1"}}) is False


def test_a_cycle_below_a_shared_subtree_stays_a_ref_into_defs() -> None:
    """A node that holds itself becomes a ``$ref``; the subtree holding it is not shared as if it were closed."""
    node: dict = {"type": "object", "properties": {"name": {"type": "string"}}}
    node["properties"]["next"] = node
    copy = _acyclic({"type": "object", "properties": {"head": node, "tail": node}})
    assert copy["properties"]["head"]["properties"]["next"] == {"$ref": "#/$defs/cycle0"}
    assert copy["$defs"]["cycle0"]["properties"]["name"] == {"type": "string"}


def test_objects_that_look_alike_get_their_own_answers() -> None:
    """``1``, ``True`` and ``"1"`` are told apart inside objects and arrays, asked once or again."""
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    asked = [{"n": 1}, {"n": True}, {"n": "1"}, {"n": 1.0}, {"n": 1}, {"n": True}]
    assert [fits(value, schema) for value in asked] == [True, False, False, True, True, False]
    listed = {"type": "array", "items": {"type": "integer"}}
    assert [fits(value, listed) for value in ([1, 2], [1, True], [1, 2], ["1"])] == [True, False, True, False]

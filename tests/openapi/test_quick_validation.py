"""The compiled validity test `mockverse check` asks first: never "valid" where the jsonschema validator says not."""

from __future__ import annotations

from mockverse.openapi.jsonschema import quickly_valid, validator_for


def _tree() -> dict:
    """An OpenAPI schema that holds itself (a node's children are nodes), as the loader resolves a cyclic $ref."""
    node: dict = {"type": "object", "required": ["name"],
                  "properties": {"name": {"type": "string", "pattern": "^[a-z]+$"}, "when": {"type": "string",
                                                                                          "format": "date"}}}
    node["properties"]["children"] = {"type": "array", "items": node}
    return node


def test_a_cyclic_schema_is_checked_whole() -> None:
    """A valid value of a schema that holds itself is valid; one wrong two levels down is left to the validator."""
    validator = validator_for(_tree())
    good = {"name": "root", "children": [{"name": "leaf", "children": [{"name": "twig", "when": "2024-02-29"}]}]}
    bad = {"name": "root", "children": [{"name": "leaf", "children": [{"name": "Twig"}]}]}
    assert validator is not None
    assert quickly_valid(validator, good) is True
    assert quickly_valid(validator, bad) is False
    assert validator.is_valid(bad) is False


def test_formats_and_nullable_read_as_the_validator_reads_them() -> None:
    """A date that is no date is not quickly valid; OpenAPI 3.0's nullable admits null."""
    validator = validator_for({"type": "object", "properties": {"on": {"type": "string", "format": "date",
                                                                     "nullable": True}}})
    assert validator is not None
    assert quickly_valid(validator, {"on": None}) is True
    assert quickly_valid(validator, {"on": "2024-02-30"}) is False
    assert validator.is_valid({"on": "2024-02-30"}) is False


def test_a_schema_it_cannot_compile_leaves_the_answer_to_the_validator() -> None:
    """A pattern no engine reads constrains nothing to the validator; the compiled test then never says valid."""
    validator = validator_for({"type": "string", "pattern": "["})
    assert validator is not None
    assert validator.is_valid("anything") is True
    assert quickly_valid(validator, "anything") is False


def test_an_ecma_letter_class_is_read() -> None:
    """``\\p{L}`` (which Python's re refuses) is compiled: a word of letters is valid, digits are not."""
    validator = validator_for({"type": "string", "pattern": "^\\p{L}+$"})
    assert validator is not None
    assert quickly_valid(validator, "Zoë") is True
    assert quickly_valid(validator, "42") is False
    assert validator.is_valid("42") is False

"""Pieces of the small RPC-style specs (Slack's style: ``things.create`` methods, form bodies, ``{ok: true}``
answers) that the RPC tests build inline."""

from __future__ import annotations


def form(props: dict, required: list[str]) -> dict:
    """A form request body of these fields, nothing else allowed."""
    return {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "required": required, "additionalProperties": False, "properties": props}}}}


def answer(props: dict) -> dict:
    """A method's ``{ok: true, ...}`` answer."""
    return {"200": {"description": "ok", "content": {"application/json": {"schema": {
        "type": "object", "required": ["ok"], "additionalProperties": False,
        "properties": {"ok": {"type": "boolean", "enum": [True]}, **props}}}}}}

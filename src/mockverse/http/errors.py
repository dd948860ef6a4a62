"""Problem JSON (RFC 9457) for every error, and the checked reading of request bodies."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson
from jsonschema import Draft202012Validator, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from mockverse.problems import PROBLEM, Problem, is_decimal

MAX_DEPTH = 64  # nesting levels a request body may have (orjson cannot serialise past 255)


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> Response:
    """The problem as an ``application/problem+json`` response (with the headers it carries, such as
    ``Retry-After``)."""
    return Response(orjson.dumps(problem.body()), status_code=problem.status, media_type=PROBLEM,
                    headers={**problem.headers, **(headers or {})} or None)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json", headers=headers)


FORM = "application/x-www-form-urlencoded"


async def read_form_or_json(request: Request, max_bytes: int, schema: dict | None, *, required: bool = True) -> Any:
    """A form-encoded body (``FriendlyName=x&Tags=a&Tags=b``) as an object typed by the request
    ``schema``'s properties, or else the JSON body (see :func:`read_json`)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != FORM:
        return await read_json(request, max_bytes, required=required)
    raw = await _read(request, max_bytes)
    if not raw.strip():
        if required:
            raise Problem(400, "Missing body", "a form body is required", field="body")
        return None
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Problem(400, "Malformed form body", f"the body is not a valid form: {exc}", field="body") from None
    props = (schema or {}).get("properties") or {}
    body: dict[str, Any] = {}
    for name, text in pairs:
        declared = props.get(name)
        prop: dict = declared if isinstance(declared, dict) else {}
        value = typed_value(text, prop)
        if prop.get("type") == "array" or name in body:
            previous = body.get(name, [])
            body[name] = (previous if isinstance(previous, list) else [previous]) + [value]
        else:
            body[name] = value
    return body


def typed_value(text: str, prop: dict) -> Any:
    """A form value read as the JSON type its property declares (strings that do not parse stay strings)."""
    kinds = _kinds(prop)
    if "array" in kinds and isinstance(prop.get("items"), dict):
        kinds = _kinds(prop["items"])
    if "string" in kinds:
        return text
    if "integer" in kinds and is_decimal(text.lstrip("-")) and text.lstrip("-"):
        return int(text)
    if "number" in kinds:
        try:
            return float(text)
        except ValueError:
            return text
    if "boolean" in kinds and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def _kinds(prop: dict) -> set:
    """The JSON types a property declares (``type: integer`` or ``type: [integer, "null"]``)."""
    kind = prop.get("type")
    return set(kind) if isinstance(kind, list) else {kind}


async def _read(request: Request, max_bytes: int) -> bytes:
    """The raw request body: 413 past ``max_bytes``."""
    length = request.headers.get("content-length")
    if length is not None and (not is_decimal(length) or int(length) > max_bytes):
        raise Problem(413, "Body too large", f"the request body is larger than {max_bytes} bytes", field="body")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise Problem(413, "Body too large", f"the request body is larger than {max_bytes} bytes", field="body")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, max_bytes: int, *, required: bool = True) -> Any:
    """The request body as JSON: 413 past ``max_bytes``, 415 for a non-JSON media type,
    400 for malformed JSON (invalid UTF-8 and too-deep nesting included)."""
    raw = await _read(request, max_bytes)
    if not raw.strip():
        if required:
            raise Problem(400, "Missing body", "a JSON body is required", field="body")
        return None
    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if media and media != "application/json" and not media.endswith("+json"):
        raise Problem(415, "Unsupported media type", f"send the body as application/json, not {media}",
                      field="content-type", allowed=["application/json"])
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "recursion" in str(exc).lower():
            raise _too_deep() from None
        raise Problem(400, "Malformed JSON", f"the body is not valid JSON: {exc}", field="body") from None
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and _deeper_than(body, MAX_DEPTH):
        raise _too_deep()
    return body


def _too_deep() -> Problem:
    return Problem(400, "Body too deeply nested", f"the JSON body nests deeper than {MAX_DEPTH} levels", field="body")


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects in ``value`` nest more than ``limit`` levels (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def json_path(parts: Any) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def schema_errors(validator: Draft202012Validator, body: Any) -> list[dict]:
    """Every violation of the schema, as ``{"field": "$.user_id", "message": ...}`` sorted by field."""
    errors = []
    for error in validator.iter_errors(body):
        path, message = list(error.absolute_path), error.message
        if _required_one_of(error):   # anyOf: [{required: [user_id]}, {required: [userId]}]: a missing field
            names = [c.message.split("'")[1] for c in error.context if "'" in c.message]
            message = " or ".join(f"'{n}'" for n in names) + " is required"
            path.append(names[0] if names else "")
        elif error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            path.append(missing)
        elif error.validator == "additionalProperties" and "'" in error.message:
            path.append(error.message.split("'")[1])
        errors.append({"field": json_path(path), "message": message})
    return sorted(errors, key=lambda e: (e["field"], e["message"]))


def _required_one_of(error: ValidationError) -> bool:
    """Whether a violation is of an ``anyOf``/``oneOf`` whose every branch only requires a field that is missing."""
    return error.validator in ("anyOf", "oneOf") and bool(error.context) and \
        all(c.validator == "required" and not c.relative_path for c in error.context)


def check_body(validator: Draft202012Validator | None, body: Any) -> None:
    """Raise a 422 listing every violation when ``body`` does not fit the operation's schema."""
    if validator is None:
        return
    errors = schema_errors(validator, body)
    if errors:
        raise Problem(422, "Invalid body", f"{len(errors)} problem(s): " + "; ".join(
            f"{e['field']}: {e['message']}" for e in errors[:5]), field=errors[0]["field"], errors=errors)

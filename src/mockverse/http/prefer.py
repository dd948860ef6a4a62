"""Prism's ``Prefer`` header: a declared response (status, named example, static or dynamic) instead
of the world's own answer."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from mockverse.http.conventions import Preference, chosen_example, declared_response, fits_problem, problem_body
from mockverse.http.errors import PROBLEM, check_body, read_json
from mockverse.http.operations import Operation
from mockverse.http.served import Served, world_headers
from mockverse.world.engine import WorldView


async def preferred(op: Operation, declared: Any, request: Request, view: WorldView, preference: Preference,
                    max_body_bytes: int) -> Served | None:
    """The declared response a ``Prefer`` asks for; None when it asks for the world's own answer
    (the success code, dynamic, no named example), which then takes the usual path."""
    status, response = declared_response(declared, preference, op.status)
    if preference.example is None and preference.dynamic is not False and status == op.status:
        return None
    if request.method not in ("GET", "HEAD"):   # an invalid request is a 422 whatever is preferred
        check_body(op.validator, await read_json(request, max_body_bytes, required=False))
    name, value = chosen_example(response, preference)
    schema = getattr(response, "schema", None)
    media = getattr(response, "media_type", None) or ""
    problem = "problem" in media
    if name is None:
        body = problem_body(status, f"the {status} response {op.method} {op.path} declares "
                                    f"(asked for with {preference.fields.get('code', 'Prefer')})")
        if status >= 400 and fits_problem(schema, body):
            value, problem = body, True
        elif schema is not None:
            static = preference.dynamic is False
            ref = f"prefer:{op.method} {op.path} {status}" if static else \
                f"prefer:{op.method} {request.url.path}?{request.url.query} {status}"
            ctx = {"created_at": view.now, "now": view.now, "person": False, "fields": {}}
            value = view.gen.value(schema, ref, "$", "body", ctx)
    extra = {"Preference-Applied": preference.applied()}
    if name is not None:
        extra["X-Mockverse-Example"] = name
    headers = world_headers(view, None, extra)
    headers["content-type"] = PROBLEM if problem else "application/json"
    raw = b"" if value is None or status in (204, 304) else orjson.dumps(value)
    return Served(status, raw, headers, "spec", view.workspace)

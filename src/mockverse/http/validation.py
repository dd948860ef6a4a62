"""What an operation asks of a request beyond its body, checked as Prism checks it: declared
security (401 when no credential the spec accepts is present), required headers and query
parameters, and query values against their schemas (400 naming the parameter). Errors of an
operation that declares an error response with its own schema are answered in that schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from mockverse.http.errors import Problem, problem_response
from mockverse.openapi.jsonschema import fits, validator_for
from mockverse.world.generate import merge_schema

_INTEGER = re.compile(r"-?\d{1,300}")
_NUMBER = re.compile(r"-?(\d{1,300}(\.\d{0,300})?|\.\d{1,300})([eE][-+]?\d{1,3})?")
# headers OpenAPI says are described elsewhere (media types, security), never checked as parameters
_IGNORED_HEADERS = {"accept", "content-type", "authorization"}


@dataclass(frozen=True)
class Scheme:
    """One declared security scheme, reduced to where its credential is looked for."""

    name: str
    kind: str            # apiKey | http | oauth2 | openIdConnect | mutualTLS
    location: str        # header | query | cookie (apiKey); header for the others
    key: str             # the header, query or cookie name
    http_scheme: str     # bearer, basic, ... (http); bearer for oauth2 and openIdConnect

    def present(self, request: Request) -> bool:
        """Whether the request carries a credential of this scheme (its value is never checked)."""
        if self.kind == "mutualTLS":
            return True
        if self.kind == "apiKey":
            source = {"header": request.headers, "query": request.query_params, "cookie": request.cookies}
            return bool(source.get(self.location, request.headers).get(self.key, "").strip())
        scheme, _, credential = request.headers.get("authorization", "").strip().partition(" ")
        return scheme.lower() == self.http_scheme and bool(credential.strip())

    def describe(self) -> str:
        """What a client must send, as an error detail says it."""
        if self.kind == "apiKey":
            return f"the API key {self.location} '{self.key}'"
        return f"'Authorization: {self.http_scheme.title()} ...'"


def security_schemes(document: dict) -> dict[str, Scheme]:
    """The document's ``components.securitySchemes`` as :class:`Scheme` s (malformed ones left out)."""
    raw = (document.get("components") or {}).get("securitySchemes") or {}
    out: dict[str, Scheme] = {}
    for name, scheme in raw.items() if isinstance(raw, dict) else ():
        if not isinstance(scheme, dict):
            continue
        kind = str(scheme.get("type", ""))
        if kind == "apiKey" and isinstance(scheme.get("name"), str):
            out[name] = Scheme(name, kind, str(scheme.get("in", "header")), scheme["name"], "")
        elif kind == "http":
            out[name] = Scheme(name, kind, "header", "Authorization", str(scheme.get("scheme", "bearer")).lower())
        elif kind in ("oauth2", "openIdConnect"):
            out[name] = Scheme(name, kind, "header", "Authorization", "bearer")
        elif kind == "mutualTLS":
            out[name] = Scheme(name, kind, "header", "", "")
    return out


class RequestRules:
    """The declared parameters and security of one operation, checked before it is answered."""

    def __init__(self, operation: Any, schemes: dict[str, Scheme], auth_check: bool) -> None:
        self.query = [p for p in operation.parameters if p.location == "query"]
        self.headers = [p for p in operation.parameters if p.location == "header"
                        and p.name.lower() not in _IGNORED_HEADERS]
        self.security: list[list[Scheme]] = []
        if auth_check:
            for requirement in getattr(operation, "security", None) or []:
                self.security.append([schemes[name] for name in requirement if name in schemes])

    @property
    def open(self) -> bool:
        """Whether any request for a URL gets the same answer (no credential or header is checked),
        so its bytes may be served before routing."""
        return not self.security and not self.headers

    def check(self, request: Request) -> None:
        """Raise the problem the request earns: 401 without credentials, 400 for a bad parameter."""
        if self.security and not any(all(s.present(request) for s in needed) for needed in self.security):
            options = " or ".join(" and ".join(s.describe() for s in needed) for needed in self.security)
            first = self.security[0][0]
            raise Problem(401, "Unauthorized", f"this operation needs {options}",
                          field=first.key or first.name, allowed=sorted({s.name for n in self.security for s in n}),
                          headers={"WWW-Authenticate": _challenge(self.security)})
        for param in self.headers:
            value = request.headers.get(param.name)
            if value is None:
                if param.required:
                    raise Problem(400, "Missing header", f"the header '{param.name}' is required", field=param.name)
                continue
            _check_value(param, [value], "header")
        for param in self.query:
            values = request.query_params.getlist(param.name)
            if not values:
                if param.required:
                    raise Problem(400, "Missing query parameter", f"the query parameter '{param.name}' is required",
                                  field=param.name)
                continue
            _check_value(param, values, "query parameter")


def _challenge(security: list[list[Scheme]]) -> str:
    """The WWW-Authenticate value: one challenge per HTTP scheme the operation accepts."""
    schemes = {s.http_scheme.title() for needed in security for s in needed if s.http_scheme}
    return ", ".join(sorted(schemes)) or "ApiKey"


def _check_value(param: Any, raw: list[str], where: str) -> None:
    """Coerce the raw strings to the parameter's schema type and validate them; 400 naming it."""
    schema = merge_schema(param.schema or {})
    if not schema:
        return
    types = _types(schema)
    if "array" in types:
        items = merge_schema(schema.get("items") or {})
        parts = raw[0].split(",") if len(raw) == 1 else raw
        value: Any = [_coerce(part, _types(items)) for part in parts]
    else:
        value = _coerce(raw[-1], types)
    validator = validator_for(param.schema, "request")
    if validator is None:
        return
    error = next(iter(sorted(validator.iter_errors(value), key=lambda e: list(e.path))), None)
    if error is None:
        return
    enum = schema.get("enum") or merge_schema(schema.get("items") or {}).get("enum")
    message = error.message if len(error.message) <= 200 else error.message[:200] + "..."
    raise Problem(400, f"Invalid {where}", f"{param.name}: {message}", field=param.name,
                  allowed=list(enum) if isinstance(enum, list) else None)


def _types(schema: dict) -> set[str]:
    """The schema's ``type`` as a set (3.1 lists, 3.0 strings)."""
    kind = schema.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if isinstance(kind, str) else set()


def _coerce(raw: str, types: set[str]) -> Any:
    """A query or header string as the type the schema wants, when it reads as one."""
    if "integer" in types and _INTEGER.fullmatch(raw):
        return int(raw)
    if "number" in types and _NUMBER.fullmatch(raw):
        number = float(raw)
        return int(number) if number.is_integer() and abs(number) < 2 ** 53 else number
    if "boolean" in types and raw in ("true", "false"):
        return raw == "true"
    if "null" in types and raw in ("", "null"):
        return None
    return raw


# -- errors in the spec's own shape ------------------------------------------------------------------
_FROM_PROBLEM = {
    "detail": ("message", "detail", "error_description", "description", "error_message", "errorMessage", "msg",
               "reason", "error"),
    "title": ("title", "error", "summary", "name"),
    "status": ("status", "code", "statusCode", "status_code", "httpStatus", "http_status"),
    "field": ("field", "param", "parameter", "path", "pointer", "location", "target"),
    "type": ("type", "kind"),
}


def declared_error(operation: Any, problem: Problem) -> tuple[dict, str] | None:
    """(schema, media type) of the response the operation declares for the problem's status
    (exact, else its range, else ``default``) when that is JSON with a schema; else None."""
    responses = getattr(operation, "responses", None) or {}
    status = problem.status
    for key in (str(status), f"{status // 100}XX", f"{status // 100}xx", "default"):
        response = responses.get(key)
        if response is not None:
            media = response.media_type or ""
            if response.schema and ("json" in media):
                return response.schema, media
            return None
    return None


def error_response(operation: Any, problem: Problem, generate: Any) -> Response:
    """The problem as the spec declares that error: problem JSON when its schema takes it, else a
    body of the declared schema (``generate(schema)``) with the problem's details mapped into it."""
    body = problem.body()
    declared = declared_error(operation, problem)
    if declared is None or fits(body, declared[0]):
        return problem_response(problem)
    headers = problem.headers or None
    schema, media = declared
    mapped = _map_into(merge_schema(schema), generate(schema), body)
    if not fits(mapped, schema):
        mapped = generate(schema)
    return Response(orjson.dumps(mapped), status_code=problem.status, media_type=media, headers=headers)


def _map_into(schema: dict, generated: Any, problem: dict) -> Any:
    """``generated`` (a body of ``schema``) with each property named like a problem field set to
    that field's value where it fits the property's schema; nested objects are mapped too."""
    if not isinstance(generated, dict):
        return generated
    out = dict(generated)
    props = schema.get("properties") or {}
    for name, prop in props.items():
        prop = merge_schema(prop) if isinstance(prop, dict) else {}
        candidates = [problem[source] for source, names in _FROM_PROBLEM.items() if name in names and source in problem]
        if name in ("errors", "details") and problem.get("errors"):
            candidates.insert(0, problem["errors"])
        for value in candidates:
            for shaped in (value, str(value)):
                if fits(shaped, prop):
                    out[name] = shaped
                    break
            else:
                continue
            break
        else:
            if isinstance(out.get(name), dict) and "object" in _types(prop) | (
                {"object"} if "properties" in prop else set()
            ):
                out[name] = _map_into(prop, out[name], problem)
    return out

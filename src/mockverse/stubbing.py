"""Stubs the WireMock way: checked mappings, request matching, response templates, per-workspace state.

A mapping is WireMock's JSON (``request``, ``response``, ``priority``, ``scenarioName``, ...) plus two
fields of mockverse's own: ``times`` (the stub stops matching after that many uses) and ``persona``
(a template naming the entity ``{{persona.*}}`` reads, e.g. ``"user:{{request.path.id}}"``).

Mappings live in the store under the workspace's ``stubs`` setting, and their uses and scenario
states under ``stubs.state``: they are user changes, so they survive a restart and every worker
sees them. Every write bumps the workspace version, which keys the compiled cache here.

Templates are a small language of this module's own, never ``eval``: ``{{ a.b(c).d }}`` where a
root is ``request``, ``persona`` or ``world``; a step reads a key of an object or an index of a
list; the one call is ``world.<entity type>(<id>)``. Nothing else (no attribute access on Python
objects, no loops, no filters) so a template cannot reach past the data it is handed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson

from mockverse.store import Store

STUBS_KEY = "stubs"
STATE_KEY = "stubs.state"
STARTED = "Started"
DEFAULT_PRIORITY = 5
MAX_DELAY_MS = 30_000          # the longest delay a stub may ask for (fixed or drawn)
MAX_STUBS = 1000               # per workspace
MAX_TEMPLATE = 65_536          # characters of a rendered text body
FAULTS = ("CONNECTION_RESET_BY_PEER", "EMPTY_RESPONSE", "MALFORMED_RESPONSE_CHUNK", "RANDOM_DATA_THEN_CLOSE")
METHODS = ("ANY", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")
URL_KEYS = ("url", "urlPath", "urlPattern", "urlPathPattern", "urlPathTemplate")
MAPPING_KEYS = ("id", "uuid", "name", "priority", "request", "response", "persistent", "scenarioName",
                "requiredScenarioState", "newScenarioState", "metadata", "times", "persona")
REQUEST_KEYS = ("method", *URL_KEYS, "queryParameters", "headers", "bodyPatterns")
RESPONSE_KEYS = ("status", "headers", "body", "jsonBody", "base64Body", "fixedDelayMilliseconds",
                 "delayDistribution", "fault", "transformers")
OPERATORS = ("equalTo", "contains", "doesNotContain", "matches", "doesNotMatch", "absent", "equalToJson",
             "matchesJsonPath")
MODIFIERS = {"equalTo": ("caseInsensitive",), "equalToJson": ("ignoreArrayOrder", "ignoreExtraElements")}
ROOTS = ("request", "persona", "world")


class StubError(ValueError):
    """A mapping that cannot be used: ``field`` names where (``request.headers.Accept``), ``message`` why."""

    def __init__(self, field: str, message: str, allowed: list | None = None, status: int = 422) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message, self.allowed, self.status = field, message, allowed, status


# -- the request as matching sees it ------------------------------------------------------------
@dataclass
class Facts:
    """One request, as matchers read it: method, path, raw query, lower-case headers, body bytes."""

    method: str
    path: str
    query: str
    headers: dict[str, list[str]]
    body: bytes = b""
    path_params: dict[str, str] = field(default_factory=dict)
    _json: Any = field(default=None, repr=False)
    _json_read: bool = field(default=False, repr=False)

    @classmethod
    def from_raw(cls, method: str, path: str, query: str, raw_headers: Iterable[tuple[bytes, bytes]],
                 body: bytes = b"") -> Facts:
        """Facts from ASGI's header pairs (bytes), as a scope or a journal entry holds them."""
        headers: dict[str, list[str]] = {}
        for name, value in raw_headers:
            headers.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
        return cls(method.upper(), path, query, headers, body)

    @property
    def url(self) -> str:
        """The path and query, as WireMock's ``url`` matches them."""
        return f"{self.path}?{self.query}" if self.query else self.path

    def query_values(self, name: str) -> list[str]:
        """Every value of one query parameter, in order."""
        return [v for k, v in parse_qsl(self.query, keep_blank_values=True) if k == name]

    def query_first(self) -> dict[str, str]:
        """Each query parameter's first value (what ``request.query.<name>`` reads)."""
        out: dict[str, str] = {}
        for k, v in parse_qsl(self.query, keep_blank_values=True):
            out.setdefault(k, v)
        return out

    def text(self) -> str:
        """The body as text (invalid UTF-8 replaced)."""
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON (parsed once)."""
        if not self._json_read:
            self._json_read = True
            try:
                self._json = orjson.loads(self.body) if self.body.strip() else None
            except orjson.JSONDecodeError:
                self._json = None
        return self._json


# -- value matchers -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Matcher:
    """One WireMock value pattern (``{"equalTo": "x", "caseInsensitive": true}``), checked and compiled."""

    op: str
    expected: Any
    options: tuple[tuple[str, Any], ...] = ()
    compiled: Any = None
    inner: Matcher | None = None

    def option(self, name: str) -> bool:
        """Whether a modifier (``caseInsensitive``, ``ignoreArrayOrder``, ...) is on."""
        return bool(dict(self.options).get(name))

    def matches(self, value: str | None, facts_json: Callable[[], Any] | None = None) -> bool:
        """Whether ``value`` (None: absent) passes; JSON matchers read the body through ``facts_json``."""
        if self.op == "absent":
            return value is None
        if value is None:
            return False
        if self.op == "equalTo":
            return value.lower() == self.expected.lower() if self.option("caseInsensitive") else value == self.expected
        if self.op == "contains":
            return self.expected in value
        if self.op == "doesNotContain":
            return self.expected not in value
        if self.op == "matches":
            return self.compiled.fullmatch(value) is not None
        if self.op == "doesNotMatch":
            return self.compiled.fullmatch(value) is None
        actual = facts_json() if facts_json is not None else _loads(value)
        if self.op == "equalToJson":
            return actual is not None and json_equal(self.expected, actual, self.option("ignoreArrayOrder"),
                                                     self.option("ignoreExtraElements"))
        found = jsonpath_values(self.compiled, actual) if actual is not None else []
        if self.inner is None:
            return bool(found)
        return any(self.inner.matches(v if isinstance(v, str) else orjson.dumps(v).decode()) for v in found)


def _loads(text: str) -> Any:
    """JSON of a text value, or None when it is not JSON."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def json_equal(expected: Any, actual: Any, any_order: bool, extra: bool) -> bool:
    """WireMock's equalToJson: equal values, optionally ignoring array order and extra object keys."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or (not extra and set(actual) != set(expected)):
            return False
        return all(k in actual and json_equal(v, actual[k], any_order, extra) for k, v in expected.items())
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return False
        if not any_order:
            return all(json_equal(e, a, any_order, extra) for e, a in zip(expected, actual, strict=True))
        left = list(actual)
        for e in expected:
            hit = next((i for i, a in enumerate(left) if json_equal(e, a, any_order, extra)), None)
            if hit is None:
                return False
            left.pop(hit)
        return True
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    return expected == actual


def jsonpath_values(expression: Any, document: Any) -> list[Any]:
    """What a JSONPath finds; a filter at the root (``$[?(@.total > 10)]``) tests the root object itself,
    as WireMock's JsonPath does."""
    target = [document] if isinstance(document, dict) and expression.root_filter else document
    return [m.value for m in expression.parsed.find(target)]


@dataclass(frozen=True)
class _Path:
    """A compiled JSONPath, and whether it filters at the root."""

    parsed: Any
    root_filter: bool


def parse_matcher(spec: Any, where: str) -> Matcher:
    """Check one value pattern; StubError names ``where`` and the operators allowed."""
    if not isinstance(spec, dict):
        raise StubError(where, "a pattern is an object such as {\"equalTo\": \"x\"}", allowed=list(OPERATORS))
    ops = [k for k in spec if k in OPERATORS]
    if len(ops) != 1:
        raise StubError(where, "give exactly one operator" if ops else "no operator", allowed=list(OPERATORS))
    op = ops[0]
    allowed_extra = MODIFIERS.get(op, ())
    for key in spec:
        if key != op and key not in allowed_extra:
            raise StubError(f"{where}.{key}", f"'{key}' is not an option of {op}", allowed=[op, *allowed_extra])
    options = tuple((k, spec[k]) for k in allowed_extra if k in spec)
    for name, value in options:
        if not isinstance(value, bool):
            raise StubError(f"{where}.{name}", "must be true or false")
    expected = spec[op]
    if op == "absent":
        if expected is not True:
            raise StubError(f"{where}.absent", "must be true")
        return Matcher(op, True)
    if op == "equalToJson":
        if isinstance(expected, str):
            expected = _loads(expected)
            if expected is None and spec[op].strip() != "null":
                raise StubError(f"{where}.equalToJson", "is not JSON")
        return Matcher(op, expected, options)
    if op == "matchesJsonPath":
        inner = None
        expression = expected
        if isinstance(expected, dict):
            if "expression" not in expected:
                raise StubError(f"{where}.matchesJsonPath.expression", "is required in the object form")
            expression = expected["expression"]
            rest = {k: v for k, v in expected.items() if k != "expression"}
            inner = parse_matcher(rest, f"{where}.matchesJsonPath")
        if not isinstance(expression, str):
            raise StubError(f"{where}.matchesJsonPath", "must be a JSONPath such as $.items[0].sku")
        return Matcher(op, expression, options, compile_jsonpath(expression, f"{where}.matchesJsonPath"), inner)
    if not isinstance(expected, str):
        raise StubError(f"{where}.{op}", "must be a string")
    compiled = None
    if op in ("matches", "doesNotMatch"):
        compiled = compile_regex(expected, f"{where}.{op}")
    return Matcher(op, expected, options, compiled)


def compile_regex(pattern: str, where: str) -> re.Pattern:
    """A stub's regular expression (Python syntax, matched against the whole value)."""
    if len(pattern) > 2000:
        raise StubError(where, "a pattern is at most 2000 characters")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise StubError(where, f"is not a regular expression: {exc}") from None


def compile_jsonpath(expression: str, where: str) -> _Path:
    """A JSONPath (jsonpath-ng's extended syntax: filters, wildcards, recursive descent). jsonpath-ng loads
    with the first stub that has one: building its parser costs a server start 50 ms of CPU otherwise."""
    from jsonpath_ng.ext import parse as parse_jsonpath

    try:
        return _Path(parse_jsonpath(expression), expression.replace(" ", "").startswith("$[?"))
    except Exception as exc:  # its lexer and parser errors, and the bare Exceptions it raises too
        raise StubError(where, f"is not a JSONPath: {str(exc)[:200]}") from None


# -- request patterns -----------------------------------------------------------------------------
@dataclass(frozen=True)
class RequestPattern:
    """A checked ``request`` block: method, one URL rule, query, headers and body patterns."""

    method: str
    url_kind: str | None
    url: Any
    template_names: tuple[str, ...]
    query: tuple[tuple[str, Matcher], ...]
    headers: tuple[tuple[str, Matcher], ...]
    body: tuple[Matcher, ...]

    def checks(self, facts: Facts) -> list[bool]:
        """One verdict per rule (method, URL, each query, header and body pattern): a near miss's distance."""
        out = [self.method == "ANY" or self.method == facts.method, self.url_matches(facts)]
        for name, m in self.query:
            values = facts.query_values(name)
            out.append(m.matches(None) if not values else any(m.matches(v) for v in values))
        for name, m in self.headers:
            header_values = facts.headers.get(name)
            out.append(m.matches(None) if not header_values else any(m.matches(v) for v in header_values))
        for m in self.body:
            if m.op in ("equalToJson", "matchesJsonPath"):
                out.append(m.matches(facts.text() if facts.body else None, facts.json))
            else:
                out.append(m.matches(facts.text()))
        return out

    def matches(self, facts: Facts) -> bool:
        """Whether every rule passes."""
        return all(self.checks(facts))

    def distance(self, facts: Facts) -> float:
        """The share of rules that fail: 0 is a match, 1 matches nothing."""
        checks = self.checks(facts)
        return round(checks.count(False) / len(checks), 4)

    def url_matches(self, facts: Facts) -> bool:
        """Whether the request's URL passes the pattern's one URL rule (none: any URL)."""
        kind = self.url_kind
        if kind is None:
            return True
        if kind == "url":
            return facts.url == self.url
        if kind == "urlPath":
            return facts.path == self.url
        if kind == "urlPattern":
            return self.url.fullmatch(facts.url) is not None
        return self.url.fullmatch(facts.path) is not None

    def params(self, facts: Facts) -> dict[str, str]:
        """Path parameters named by a ``urlPathTemplate`` (``/orders/{id}``), else none."""
        if self.url_kind != "urlPathTemplate":
            return {}
        hit = self.url.fullmatch(facts.path)
        return {k: unquote(v) for k, v in hit.groupdict().items()} if hit else {}


def parse_request(spec: Any) -> RequestPattern:
    """Check a mapping's ``request`` block (unknown keys are errors naming the allowed ones)."""
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        raise StubError("request", "must be an object")
    _known(spec, REQUEST_KEYS, "request")
    method = spec.get("method", "ANY")
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise StubError("request.method", "is not an HTTP method", allowed=list(METHODS))
    urls = [k for k in URL_KEYS if k in spec]
    if len(urls) > 1:
        raise StubError(f"request.{urls[1]}", f"give one of {', '.join(URL_KEYS)}, not both {urls[0]} and {urls[1]}")
    kind = urls[0] if urls else None
    url: Any = spec.get(kind) if kind else None
    names: tuple[str, ...] = ()
    if kind is not None:
        if not isinstance(url, str) or not url:
            raise StubError(f"request.{kind}", "must be a non-empty string")
        if kind in ("urlPattern", "urlPathPattern"):
            url = compile_regex(url, f"request.{kind}")
        elif kind == "urlPathTemplate":
            url, names = _path_template(url)
    query = tuple((name, parse_matcher(m, f"request.queryParameters.{name}"))
                  for name, m in _object(spec, "queryParameters").items())
    headers = tuple((name.lower(), parse_matcher(m, f"request.headers.{name}"))
                    for name, m in _object(spec, "headers").items())
    bodies = spec.get("bodyPatterns", [])
    if not isinstance(bodies, list):
        raise StubError("request.bodyPatterns", "must be a list of patterns")
    body = tuple(parse_matcher(m, f"request.bodyPatterns[{i}]") for i, m in enumerate(bodies))
    return RequestPattern(method.upper(), kind, url, names, query, headers, body)


def _path_template(template: str) -> tuple[re.Pattern, tuple[str, ...]]:
    """``/orders/{id}`` as a regex with one named group per parameter (a parameter is one segment)."""
    names: list[str] = []
    parts = re.split(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", template)
    regex = ""
    for index, part in enumerate(parts):
        if index % 2:
            names.append(part)
            regex += f"(?P<{part}>[^/]+)"
        else:
            regex += re.escape(part)
    try:
        return re.compile(regex), tuple(names)
    except re.error:
        raise StubError("request.urlPathTemplate", "repeats a parameter name") from None


def _object(spec: dict, key: str) -> dict:
    """A name -> pattern object of the request block (``headers``, ``queryParameters``)."""
    value = spec.get(key, {})
    if not isinstance(value, dict):
        raise StubError(f"request.{key}", "must be an object of name -> pattern")
    return value


def _known(spec: dict, allowed: tuple[str, ...], where: str) -> None:
    """Unknown keys are errors naming the key and the keys allowed."""
    for key in spec:
        if key not in allowed:
            raise StubError(f"{where}.{key}" if where else key, f"'{key}' is not supported", allowed=list(allowed))


# -- templates ------------------------------------------------------------------------------------
_TEMPLATE = re.compile(r"\{\{\s*(.*?)\s*\}\}", re.S)
_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_-]*)|(?P<num>-?\d+)|'(?P<sq>[^']*)'|\"(?P<dq>[^\"]*)\""
                    r"|(?P<punct>[.()\[\]]))")
MISSING = object()


@dataclass(frozen=True)
class Expr:
    """A parsed template expression: a root (or literal) and steps (key, index or call)."""

    root: Any                      # a root name, or ("lit", value)
    steps: tuple[tuple[str, Any], ...]


def parse_expr(text: str, where: str) -> Expr:
    """Parse ``a.b(c).d[0]`` into an Expr; StubError on anything else."""
    tokens = _tokens(text, where)
    expr, rest = _expr(tokens, where)
    if rest:
        raise StubError(where, f"unexpected '{rest[0][1]}' in '{{{{{text}}}}}'")
    return expr


def _tokens(text: str, where: str) -> list[tuple[str, Any]]:
    """Split a template expression into names, literals and punctuation."""
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise StubError(where, f"cannot read '{text[pos:pos + 20]}' in a template; use names, dots, "
                            "[index], 'strings' and world.<type>(<id>)")
        pos = m.end()
        if m.group("name") is not None:
            out.append(("name", m.group("name")))
        elif m.group("num") is not None:
            out.append(("lit", int(m.group("num"))))
        elif m.group("sq") is not None or m.group("dq") is not None:
            out.append(("lit", m.group("sq") if m.group("sq") is not None else m.group("dq")))
        else:
            out.append(("punct", m.group("punct")))
    return out


def _expr(tokens: list, where: str) -> tuple[Expr, list]:
    """Parse one expression from ``tokens``; returns it and the tokens after it."""
    if not tokens:
        raise StubError(where, "an empty {{ }} in a template")
    kind, value = tokens[0]
    if kind == "lit":
        return Expr(("lit", value), ()), tokens[1:]
    if kind != "name" or value not in ROOTS:
        raise StubError(where, f"a template starts with {', '.join(ROOTS)} or a literal, not '{value}'",
                        allowed=list(ROOTS))
    root, rest, steps = value, tokens[1:], []
    while rest and rest[0] in (("punct", "."), ("punct", "[")):
        if rest[0][1] == "[":
            if len(rest) < 3 or rest[1][0] != "lit" or rest[2] != ("punct", "]"):
                raise StubError(where, "write an index as [0] or ['key']")
            steps.append(("key", rest[1][1]))
            rest = rest[3:]
            continue
        if len(rest) < 2 or rest[1][0] != "name":
            raise StubError(where, "a '.' is followed by a name")
        name, rest = rest[1][1], rest[2:]
        if rest and rest[0] == ("punct", "("):
            if root != "world" or steps:
                raise StubError(where, "the only call is world.<entity type>(<id>)")
            arg, rest = _expr(rest[1:], where)
            if not rest or rest[0] != ("punct", ")"):
                raise StubError(where, "a call is closed by ')'")
            steps.append(("call", (name, arg)))
            rest = rest[1:]
        else:
            steps.append(("key", name))
    if root == "world" and (not steps or steps[0][0] != "call"):
        raise StubError(where, "world is read as world.<entity type>(<id>), e.g. world.order(request.path.id)")
    return Expr(root, tuple(steps)), rest


@dataclass(frozen=True)
class Template:
    """A string with ``{{ }}`` holes, parsed once: literal parts and expressions alternate."""

    parts: tuple[Any, ...]

    @property
    def whole(self) -> Expr | None:
        """The expression when the string is exactly one hole: its value keeps its JSON type."""
        return self.parts[1] if len(self.parts) == 3 and self.parts[0] == "" and self.parts[2] == "" else None


def parse_template(text: str, where: str) -> Template:
    """Parse every ``{{ }}`` of ``text``; StubError names ``where`` when one cannot be read."""
    pieces = _TEMPLATE.split(text)
    parts = tuple(parse_expr(p, where) if i % 2 else p for i, p in enumerate(pieces))
    return Template(parts)


class Scope:
    """What templates read: the request, the persona it talks about, and the world (a lookup function)."""

    def __init__(self, facts: Facts, persona: Callable[[Scope], Any], lookup: Callable[[str, Any], Any]) -> None:
        self.facts = facts
        self._persona = persona
        self._persona_value: Any = MISSING
        self.lookup = lookup

    def root(self, name: str) -> Any:
        """The value of a root name: ``request``, ``persona`` (resolved once) or ``world`` (only called)."""
        if name == "request":
            f = self.facts
            return {"method": f.method, "path": f.path_params, "url": f.url, "pathname": f.path,
                    "query": f.query_first(), "headers": {k: v[0] for k, v in f.headers.items()},
                    "body": f.json() if f.json() is not None else f.text()}
        if name == "persona":
            if self._persona_value is MISSING:
                self._persona_value = None   # a persona ref that reads {{persona}} finds nothing
                self._persona_value = self._persona(self)
            return self._persona_value
        return None

    def evaluate(self, expr: Expr) -> Any:
        """Walk an expression's steps; any step that finds nothing gives None."""
        if isinstance(expr.root, tuple):
            return expr.root[1]
        value = self.root(expr.root)
        for kind, arg in expr.steps:
            if kind == "call":
                name, inner = arg
                value = self.lookup(name, self.evaluate(inner))
            elif isinstance(value, dict):
                value = value.get(str(arg), value.get(arg)) if not isinstance(arg, str) else value.get(arg)
            elif isinstance(value, list) and isinstance(arg, int) and -len(value) <= arg < len(value):
                value = value[arg]
            else:
                value = None
            if value is None:
                return None
        return value


def render_text(template: Template, scope: Scope) -> str:
    """A text body: each hole's value as text (objects as JSON, a missing value as nothing)."""
    out = []
    for i, part in enumerate(template.parts):
        out.append(_as_text(scope.evaluate(part)) if i % 2 else part)
    text = "".join(out)
    return text[:MAX_TEMPLATE]


def _as_text(value: Any) -> str:
    """A template value as text: JSON for objects and lists, nothing for a missing value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return str(value)


def compile_json(value: Any, where: str) -> Any:
    """A ``jsonBody`` with every string that holds ``{{ }}`` parsed to a Template (keys too)."""
    if isinstance(value, str):
        return parse_template(value, where) if "{{" in value else value
    if isinstance(value, list):
        return [compile_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: compile_json(v, f"{where}.{k}") for k, v in value.items()}
    return value


def render_json(value: Any, scope: Scope) -> Any:
    """A compiled ``jsonBody`` filled in: a string that is one hole keeps the value's JSON type."""
    if isinstance(value, Template):
        whole = value.whole
        return scope.evaluate(whole) if whole is not None else render_text(value, scope)
    if isinstance(value, list):
        return [render_json(v, scope) for v in value]
    if isinstance(value, dict):
        return {k: render_json(v, scope) for k, v in value.items()}
    return value


# -- responses --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ResponseSpec:
    """A checked ``response`` block: status, headers (templates), one body kind, delay, fault."""

    status: int
    headers: tuple[tuple[str, Template | str], ...]
    body_kind: str                  # "json" | "text" | "bytes" | "empty"
    body: Any
    delay: tuple | None  # realism_delay's model: ("fixed", s) | ("lognormal", median s, sigma) | ("uniform", lo, hi)
    fault: str | None


def parse_response(spec: Any) -> ResponseSpec:
    """Check a mapping's ``response`` block."""
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        raise StubError("response", "must be an object")
    _known(spec, RESPONSE_KEYS, "response")
    status = spec.get("status", 200)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise StubError("response.status", "must be an HTTP status from 100 to 599")
    headers = []
    raw_headers = spec.get("headers", {})
    if not isinstance(raw_headers, dict):
        raise StubError("response.headers", "must be an object of name -> value")
    for name, value in raw_headers.items():
        values = value if isinstance(value, list) else [value]
        for v in values:
            if not isinstance(v, (str, int, float)) or isinstance(v, bool):
                raise StubError(f"response.headers.{name}", "must be a string (or a list of strings)")
            text = str(v)
            headers.append((name, parse_template(text, f"response.headers.{name}") if "{{" in text else text))
    bodies = [k for k in ("body", "jsonBody", "base64Body") if k in spec]
    if len(bodies) > 1:
        raise StubError(
            f"response.{bodies[1]}", f"give one of body, jsonBody, base64Body, not both {bodies[0]} and {bodies[1]}"
        )
    kind, body = "empty", None
    if "jsonBody" in spec:
        kind, body = "json", compile_json(spec["jsonBody"], "response.jsonBody")
    elif "body" in spec:
        if not isinstance(spec["body"], str):
            raise StubError("response.body", "must be a string; use jsonBody for JSON")
        kind, body = "text", parse_template(spec["body"], "response.body")
    elif "base64Body" in spec:
        try:
            kind, body = "bytes", base64.b64decode(str(spec["base64Body"]), validate=True)
        except (binascii.Error, ValueError):
            raise StubError("response.base64Body", "is not base64") from None
    transformers = spec.get("transformers", [])
    if not isinstance(transformers, list) or any(t != "response-template" for t in transformers):
        raise StubError("response.transformers", "templates are always on; the only name taken is "
                        "'response-template'", allowed=["response-template"])
    fault = spec.get("fault")
    if fault is not None and fault not in FAULTS:
        raise StubError("response.fault", f"'{fault}' is not a fault", allowed=list(FAULTS))
    return ResponseSpec(status, tuple(headers), kind, body, _delay(spec), fault)


def _delay(spec: dict) -> tuple | None:
    """The delay model of a response (seconds), bounded by MAX_DELAY_MS."""
    if "fixedDelayMilliseconds" in spec and "delayDistribution" in spec:
        raise StubError("response.delayDistribution", "give fixedDelayMilliseconds or delayDistribution, not both")
    if "fixedDelayMilliseconds" in spec:
        ms = spec["fixedDelayMilliseconds"]
        if isinstance(ms, bool) or not isinstance(ms, (int, float)) or not 0 <= ms <= MAX_DELAY_MS:
            raise StubError("response.fixedDelayMilliseconds", f"must be milliseconds from 0 to {MAX_DELAY_MS}")
        return ("fixed", ms / 1000.0)
    dist = spec.get("delayDistribution")
    if dist is None:
        return None
    where = "response.delayDistribution"
    if not isinstance(dist, dict) or dist.get("type") not in ("lognormal", "uniform"):
        raise StubError(f"{where}.type", "must be lognormal or uniform", allowed=["lognormal", "uniform"])
    keys = ("type", "median", "sigma") if dist["type"] == "lognormal" else ("type", "lower", "upper")
    _known(dist, keys, where)
    numbers = []
    for key in keys[1:]:
        value, top = dist.get(key), 10 if key == "sigma" else MAX_DELAY_MS
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= top:
            raise StubError(f"{where}.{key}", "is required: " + ("a number from 0 to 10" if key == "sigma"
                                                                 else f"milliseconds from 0 to {MAX_DELAY_MS}"))
        numbers.append(float(value))
    if dist["type"] == "lognormal":
        return ("lognormal", numbers[0] / 1000.0, numbers[1])
    if numbers[0] > numbers[1]:
        raise StubError(f"{where}.lower", "must not be above upper")
    return ("uniform", numbers[0] / 1000.0, numbers[1] / 1000.0)


# -- mappings -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stub:
    """One checked mapping: its JSON as stored, and the compiled pattern and response."""

    id: str
    order: int                      # creation order: among equal priorities the newest wins
    priority: int
    request: RequestPattern
    response: ResponseSpec
    times: int | None
    scenario: str | None
    required_state: str | None
    new_state: str | None
    persona: Template | None
    mapping: dict

    def rank(self) -> tuple[int, int]:
        """Sort key: lower priority first, then the newest."""
        return (self.priority, -self.order)


def check_mapping(raw: Any, id: str | None = None) -> dict:
    """A mapping as stored: checked (StubError otherwise), with its id (``id`` wins, else the body's, else new)."""
    if not isinstance(raw, dict):
        raise StubError("body", "a mapping is a JSON object with request and response")
    _known(raw, MAPPING_KEYS, "")
    ids = {key: _uuid(raw[key], key) for key in ("id", "uuid") if raw.get(key) is not None}
    if len(set(ids.values())) > 1:
        raise StubError("uuid", "id and uuid name the same stub: give one, or the same value twice")
    given = _uuid(id, "id") if id is not None else next(iter(ids.values()), None)
    mapping = {**raw, "id": given or str(uuid.uuid4())}
    mapping["uuid"] = mapping["id"]
    compile_stub(mapping, 0)
    return mapping


def _uuid(value: Any, field: str) -> str:
    """A stub id in its canonical form; StubError unless ``value`` is a UUID string."""
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return str(uuid.UUID(value))
    except ValueError:
        raise StubError(field, "must be a UUID such as 8c5db8b0-2db4-4ad7-a99c-38c9b00da3f7") from None


def compile_stub(mapping: dict, order: int) -> Stub:
    """Compile a stored mapping (checked on the way)."""
    priority = mapping.get("priority", DEFAULT_PRIORITY)
    if isinstance(priority, bool) or not isinstance(priority, int) or priority < 1:
        raise StubError("priority", "must be a positive integer (1 is the highest)")
    times = mapping.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise StubError("times", "must be a positive integer: how many requests the stub answers")
    scenario = mapping.get("scenarioName")
    for key in ("scenarioName", "requiredScenarioState", "newScenarioState", "name"):
        if mapping.get(key) is not None and not isinstance(mapping[key], str):
            raise StubError(key, "must be a string")
    if scenario is None and (mapping.get("requiredScenarioState") or mapping.get("newScenarioState")):
        raise StubError("scenarioName", "a scenario state needs a scenarioName")
    if mapping.get("metadata") is not None and not isinstance(mapping["metadata"], dict):
        raise StubError("metadata", "must be an object")
    if mapping.get("persistent") is not None and not isinstance(mapping["persistent"], bool):
        raise StubError("persistent", "must be true or false (stubs are always kept in the store)")
    persona = mapping.get("persona")
    if persona is not None and not isinstance(persona, str):
        raise StubError("persona", "must be an entity ref such as 'user:{{request.path.id}}'")
    return Stub(mapping["id"], order, priority, parse_request(mapping.get("request")),
                parse_response(mapping.get("response")), times, scenario, mapping.get("requiredScenarioState"),
                mapping.get("newScenarioState"), parse_template(persona, "persona") if persona else None, mapping)


@dataclass
class Loaded:
    """A workspace's stubs at one store version: compiled, ranked, with their uses and scenario states."""

    version: int
    stubs: list[Stub]
    uses: dict[str, int]
    scenarios: dict[str, str]

    def eligible(self, stub: Stub, uses: dict[str, int] | None = None, scenarios: dict[str, str] | None = None) -> bool:
        """Whether a stub may answer now: uses left, and its scenario in the required state."""
        uses = self.uses if uses is None else uses
        scenarios = self.scenarios if scenarios is None else scenarios
        if stub.times is not None and uses.get(stub.id, 0) >= stub.times:
            return False
        return stub.required_state is None or scenarios.get(stub.scenario or "", STARTED) == stub.required_state


def _reuse(stub: Stub | None, mapping: dict, order: int) -> Stub | None:
    """The stub compiled before, when its mapping and place have not changed."""
    return stub if stub is not None and stub.order == order and stub.mapping == mapping else None


class StubBook:
    """The stubs of every workspace, in the store; compiled once per workspace version."""

    def __init__(self, store: Store, setting: Callable[[str, str, int], Any] | None = None) -> None:
        """``setting(workspace, key, version)``: how a setting is read for ``load`` (a cache that keeps it
        until it changes); the store's own read without one."""
        self.store = store
        self.setting = setting or (lambda workspace, key, version: store.get_setting(workspace, key))
        self.cache: dict[str, Loaded] = {}

    def load(self, workspace: str, version: int | None = None) -> Loaded:
        """The workspace's stubs now (from the cache when the version has not moved)."""
        version = self.store.version(workspace) if version is None else version
        if version == 0:   # never written to, so no stubs: a new workspace costs no store read and no entry
            return Loaded(0, [], {}, {})
        hit = self.cache.get(workspace)
        if hit is not None and hit.version == version:
            return hit
        mappings = self.setting(workspace, STUBS_KEY, version) or []
        state = self.setting(workspace, STATE_KEY, version) or {}
        known = {s.id: s for s in hit.stubs} if hit is not None else {}   # a use or a state move changes no mapping
        stubs = sorted((_reuse(known.get(m["id"]), m, i) or compile_stub(m, i) for i, m in enumerate(mappings)),
                       key=Stub.rank)
        loaded = Loaded(version, stubs, dict(state.get("uses") or {}), dict(state.get("scenarios") or {}))
        if len(self.cache) > 10_000:
            self.cache.clear()
        self.cache[workspace] = loaded
        return loaded

    def mappings(self, workspace: str) -> list[dict]:
        """Every mapping of the workspace, oldest first."""
        return list(self.store.get_setting(workspace, STUBS_KEY) or [])

    def get(self, workspace: str, id: str) -> dict | None:
        """One mapping by id, or None."""
        return next((m for m in self.mappings(workspace) if m["id"] == id), None)

    def add(self, workspace: str, raw: Any) -> dict:
        """Check and store a new mapping (an existing id is replaced); returns it as stored."""
        mapping = check_mapping(raw)

        def change(old: list | None) -> list:
            rest = [m for m in old or [] if m["id"] != mapping["id"]]
            if len(rest) >= MAX_STUBS:
                raise StubError("body", f"a workspace holds at most {MAX_STUBS} stubs", status=409)
            return [*rest, mapping]

        self.store.update_setting(workspace, STUBS_KEY, change)
        return mapping

    def replace(self, workspace: str, id: str, raw: Any) -> dict:
        """Replace the mapping ``id`` in place; StubError 404 when there is none."""
        mapping = check_mapping(raw, id)

        def change(old: list | None) -> list:
            old = old or []
            if not any(m["id"] == id for m in old):
                raise StubError("id", f"no stub {id} in this workspace", status=404)
            return [mapping if m["id"] == id else m for m in old]

        self.store.update_setting(workspace, STUBS_KEY, change)
        return mapping

    def remove(self, workspace: str, id: str) -> dict:
        """Remove the mapping ``id``; returns it, StubError 404 when there is none."""
        removed: list[dict] = []

        def change(old: list | None) -> list:
            old = old or []
            removed[:] = [m for m in old if m["id"] == id]   # a retried transaction starts afresh
            if not removed:
                raise StubError("id", f"no stub {id} in this workspace", status=404)
            return [m for m in old if m["id"] != id]

        self.store.update_setting(workspace, STUBS_KEY, change)
        return removed[0]

    def clear(self, workspace: str) -> int:
        """Remove every mapping, their uses and scenario states; returns how many mappings went."""
        count = len(self.mappings(workspace))
        self.store.put_setting(workspace, STUBS_KEY, [])
        self.store.put_setting(workspace, STATE_KEY, {})
        return count

    def reset_scenarios(self, workspace: str) -> None:
        """Every scenario back to Started (uses are kept)."""
        self.store.update_setting(workspace, STATE_KEY, lambda old: {**(old or {}), "scenarios": {}})

    def scenarios(self, workspace: str) -> list[dict]:
        """Each scenario: its state and the states its stubs name, WireMock's shape."""
        loaded = self.load(workspace)
        out: dict[str, dict] = {}
        for stub in sorted(loaded.stubs, key=lambda s: s.order):
            if stub.scenario is None:
                continue
            entry = out.setdefault(stub.scenario, {"id": stub.scenario, "name": stub.scenario,
                                                   "state": loaded.scenarios.get(stub.scenario, STARTED),
                                                   "possibleStates": [STARTED], "mappings": []})
            for state in (stub.required_state, stub.new_state):
                if state and state not in entry["possibleStates"]:
                    entry["possibleStates"].append(state)
            entry["mappings"].append(stub.id)
        return list(out.values())

    def choose(self, workspace: str, facts: Facts, version: int | None = None) -> Stub | None:
        """The stub that answers ``facts``: the best-ranked match with uses left in the required
        scenario state. A stub with ``times`` or a new scenario state is claimed atomically in the
        store, so two workers never both spend a stub's last use."""
        loaded = self.load(workspace, version)
        matching = [s for s in loaded.stubs if s.request.matches(facts)]
        first = next((s for s in matching if loaded.eligible(s)), None)
        if first is None or (first.times is None and first.new_state is None):
            return first
        chosen: list[Stub] = []

        def claim(old: dict | None) -> dict:
            uses = dict((old or {}).get("uses") or {})
            scenarios = dict((old or {}).get("scenarios") or {})
            chosen.clear()
            stub = next((s for s in matching if loaded.eligible(s, uses, scenarios)), None)
            if stub is not None:
                chosen.append(stub)
                if stub.times is not None:
                    uses[stub.id] = uses.get(stub.id, 0) + 1
                if stub.new_state is not None:
                    scenarios[stub.scenario or ""] = stub.new_state
            return {"uses": uses, "scenarios": scenarios}

        self.store.update_setting(workspace, STATE_KEY, claim)
        return chosen[0] if chosen else None

    def near_misses(self, workspace: str, facts: Facts, limit: int = 3) -> list[tuple[float, Stub]]:
        """The stubs closest to matching ``facts`` (fewest failed rules), nearest first."""
        ranked = sorted(((s.request.distance(facts), s) for s in self.load(workspace).stubs), key=lambda p: p[0])
        return [(d, s) for d, s in ranked if d < 1.0][:limit]


def delay_key(stub: Stub, facts: Facts, request_key: str) -> str:
    """What a stub's drawn delay depends on: the stub, the request and its request key (how often it was seen)."""
    return f"{stub.id} {facts.method} {facts.url}#{request_key}"


def random_bytes(seed: str, key: str, size: int = 256) -> bytes:
    """Garbage for RANDOM_DATA_THEN_CLOSE, the same for the same seed and key."""
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.blake2b(f"{seed}\x1f{key}\x1f{counter}".encode(), digest_size=64).digest()
        counter += 1
    return out[:size]


__all__ = ["Facts", "Matcher", "RequestPattern", "ResponseSpec", "Scope", "Stub", "StubBook", "StubError",
           "check_mapping", "compile_stub", "delay_key", "json_equal", "parse_matcher", "parse_request",
           "parse_response", "parse_template", "random_bytes", "render_json", "render_text"]

"""Recordings: real exchanges kept in the store as the continuum's recorded tier.

An exchange comes from the upstream band (``source: "proxy"``), from record mode
(``"record"``) or from a HAR file (``"har"``). Each is stored in the append log under kind
``recording`` and key ``"GET /users/{id}"`` (method and route template) as
``{method, route, path, query, status, headers, body, latency_ms, recorded_at, source}``,
with credentials redacted from headers and query. The recorded tier looks a request up by
its exact path and query first, then by its path, then by its route template.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import orjson

from mockverse.cache import LRU
from mockverse.reality.ratio import SettingsError, parse_settings
from mockverse.store import Store
from mockverse.timeutil import parse_rfc3339

KIND = "recording"
SOURCES = ("proxy", "record", "har")
REDACTED = "[redacted]"
MAX_TEXT_BODY = 1_048_576  # characters of a non-JSON body kept in a recording

_SECRET_HEADERS = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie", "set-cookie2", "x-api-key", "api-key", "apikey",
    "x-auth-token", "x-access-token", "x-csrf-token", "x-xsrf-token", "x-amz-security-token", "x-goog-api-key",
})
_SECRET_HEADER_PARTS = ("token", "secret", "password", "api-key", "apikey", "session", "signature")
_SECRET_QUERY = frozenset({
    "api_key", "apikey", "api-key", "key", "token", "access_token", "refresh_token", "id_token", "auth", "secret",
    "client_secret", "password", "passwd", "signature", "sig", "session", "sessionid",
})
_SECRET_QUERY_SUFFIX = re.compile(r"(?:[_-](?:token|secret|password|key|signature)|Token|Secret|Password|Key)$")
_JSON_MEDIA = re.compile(r"^(?:application|text)/(?:[\w.+-]+\+)?json$")


class HarError(ValueError):
    """A HAR document that cannot be read: ``field`` names where, ``message`` says what is expected."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


# -- redaction and bodies -----------------------------------------------------------------------
def is_secret_header(name: str) -> bool:
    """True for headers that carry credentials (Authorization, Cookie, Set-Cookie, API keys, tokens)."""
    lower = name.lower()
    return lower in _SECRET_HEADERS or any(part in lower for part in _SECRET_HEADER_PARTS)


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers as a lower-case dict, repeated names joined, credentials replaced by ``[redacted]``.
    HTTP/2 pseudo-headers (``:authority``) are dropped."""
    out: dict[str, str] = {}
    for name, value in headers:
        lower = str(name).lower()
        if not lower or lower.startswith(":"):
            continue
        value = REDACTED if is_secret_header(lower) else str(value)
        out[lower] = f"{out[lower]}, {value}" if lower in out and value != REDACTED else value
    return out


def normal_query(query: str) -> str:
    """The query as recordings key it: credential values redacted, everything else as sent."""
    if not query:
        return ""
    parts = []
    for part in query.split("&"):
        name, eq, _value = part.partition("=")
        bare = unquote(name)
        if eq and (bare.lower() in _SECRET_QUERY or _SECRET_QUERY_SUFFIX.search(bare)):
            part = f"{name}={REDACTED}"
        parts.append(part)
    return "&".join(parts)


def is_json_media(content_type: str | None) -> bool:
    """True for ``application/json``, ``text/json`` and ``application/*+json`` (parameters ignored)."""
    if not content_type:
        return False
    return _JSON_MEDIA.match(content_type.split(";", 1)[0].strip().lower()) is not None


def decode_body(raw: bytes, content_type: str | None) -> tuple[str, Any]:
    """``("json", value)`` for a JSON body, ``("text", str)`` for another, ``("empty", None)`` for none."""
    if not raw.strip():
        return "empty", None
    if is_json_media(content_type) or not content_type:
        try:
            return "json", orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return "text", raw.decode("utf-8", errors="replace")[:MAX_TEXT_BODY]


def body_bytes(recording: dict) -> bytes:
    """The body of a recording as bytes to send: JSON serialised compactly, text as UTF-8."""
    kind = recording.get("body_kind", "json")
    if kind == "empty":
        return b""
    if kind == "text":
        return str(recording.get("body") or "").encode()
    return orjson.dumps(recording.get("body"))


def now_rfc3339() -> str:
    """Wall-clock now as RFC 3339 UTC with milliseconds: when a real exchange happened."""
    return _stamp(datetime.now(UTC))


def _stamp(value: datetime) -> str:
    """RFC 3339 UTC, always with milliseconds, so stamps sort as strings."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def recording_key(method: str, route: str) -> str:
    """The log key of a recording: method and route template, e.g. ``GET /users/{id}``."""
    return f"{method.upper()} {route}"


def make_recording(*, method: str, route: str, path: str, query: str, status: int, headers: Iterable[tuple[str, str]],
                   body: bytes, latency_ms: float, source: str, recorded_at: str | None = None,
                   request_headers: Iterable[tuple[str, str]] = (), request_body: bytes | None = None) -> dict:
    """The stored form of one exchange, credentials redacted."""
    response_headers = redact_headers(headers)
    kind, value = decode_body(body, response_headers.get("content-type"))
    recording: dict[str, Any] = {
        "method": method.upper(), "route": route, "path": path, "query": normal_query(query), "status": int(status),
        "headers": response_headers, "body_kind": kind, "body": value, "latency_ms": round(float(latency_ms), 3),
        "recorded_at": recorded_at or now_rfc3339(), "source": source,
        "request_headers": redact_headers(request_headers),
    }
    if request_body:
        request_kind, request_value = decode_body(request_body, recording["request_headers"].get("content-type"))
        recording["request_body"] = request_value if request_kind != "empty" else None
    return recording


def summary(seq: int, recording: dict) -> dict:
    """What a listing shows of a recording: everything but headers and bodies."""
    return {"id": seq, **{k: recording.get(k) for k in ("method", "route", "path", "query", "status", "source",
                                                          "recorded_at", "latency_ms")}}


# -- lookup ---------------------------------------------------------------------------------------
@dataclass
class OperationStats:
    """What realism learns of one operation from its recordings: latencies and statuses."""

    latencies: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


@dataclass
class Catalog:
    """An index of a workspace's recordings at one store version (sequence numbers, no bodies)."""

    exact: dict[tuple[str, str, str], tuple] = field(default_factory=dict)   # (method, path, query) -> (stamp, seq)
    by_path: dict[tuple[str, str], tuple] = field(default_factory=dict)      # (method, path)
    by_route: dict[tuple[str, str], tuple] = field(default_factory=dict)     # (method, route)
    stats: dict[tuple[str, str], OperationStats] = field(default_factory=dict)
    fingerprints: set[tuple] = field(default_factory=set)
    episodes: dict[tuple[str, str, str], tuple] = field(default_factory=dict)  # every recording, for record modes

    def add(self, seq: int, recording: dict) -> None:
        method, route, path = recording.get("method"), recording.get("route"), recording.get("path")
        status = recording.get("status")
        if not isinstance(status, int) or not isinstance(method, str):
            return
        stats = self.stats.setdefault((method, route), OperationStats())
        if isinstance(recording.get("latency_ms"), (int, float)):
            stats.latencies.append(float(recording["latency_ms"]))
        stats.statuses.append(status)
        self.fingerprints.add(_fingerprint(recording))
        episode = (method, path, recording.get("query") or "")
        stamp = (str(recording.get("recorded_at") or ""), seq)
        if episode not in self.episodes or self.episodes[episode] < stamp:
            self.episodes[episode] = stamp
        if status >= 500 or recording.get("body_kind") != "json":
            return  # a failure or a non-JSON body is not a snapshot to blend with
        for index, key in ((self.exact, (method, path, recording.get("query") or "")), (self.by_path, (method, path)),
                           (self.by_route, (method, route))):
            if key not in index or index[key] < stamp:
                index[key] = stamp

    def find(self, method: str, route: str, path: str, query: str) -> tuple[int, str] | None:
        """The sequence number of the best recording and how it matched: exact, path or route."""
        for match, index, key in (("exact", self.exact, (method, path, normal_query(query))),
                                  ("path", self.by_path, (method, path)), ("route", self.by_route, (method, route))):
            hit = index.get(key)
            if hit is not None:
                return hit[1], match
        return None


def _fingerprint(recording: dict) -> tuple:
    """What makes two recordings the same exchange (a HAR imported twice is not kept twice)."""
    return (recording.get("method"), recording.get("path"), recording.get("query"), recording.get("status"),
            recording.get("recorded_at"), recording.get("source"))


@dataclass(frozen=True)
class Recording:
    """A recording found for a request: its id, how it matched, and its stored value."""

    id: int
    match: str
    value: dict


class Recorder:
    """Reads and writes a store's recordings; indexes are cached per workspace version."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.catalogs = LRU(64)
        self.values = LRU(2048)

    def catalog(self, workspace: str, version: int) -> Catalog:
        key = (workspace, version)
        catalog = self.catalogs.get(key)
        if catalog is None:
            catalog = Catalog()
            for seq, _key, value in self.store.entries(workspace, KIND):
                if isinstance(value, dict):
                    catalog.add(seq, value)
            self.catalogs.put(key, catalog)
        return catalog

    def value(self, workspace: str, version: int, seq: int) -> dict | None:
        key = (workspace, version, seq)
        hit = self.values.get(key)
        if hit is None:
            found = self.store.entry(workspace, KIND, seq)
            if found is None:
                return None
            hit = self.values.put(key, found[2])
        return hit

    def lookup(self, workspace: str, version: int, method: str, route: str, path: str, query: str) -> Recording | None:
        """The recording that stands for this request, or None."""
        found = self.catalog(workspace, version).find(method, route, path, query)
        if found is None:
            return None
        value = self.value(workspace, version, found[0])
        return None if value is None else Recording(found[0], found[1], value)

    def episode(self, workspace: str, version: int, method: str, path: str, query: str) -> Recording | None:
        """The latest recording of exactly this request (method, path and query), whatever its status or
        body: what the record modes replay."""
        found = self.catalog(workspace, version).episodes.get((method, path, normal_query(query)))
        value = None if found is None else self.value(workspace, version, found[1])
        return None if value is None else Recording(found[1], "exact", value)

    def has_recordings(self, workspace: str, version: int) -> bool:
        return bool(self.catalog(workspace, version).fingerprints)

    def stats(self, workspace: str, version: int, method: str, route: str) -> OperationStats | None:
        return self.catalog(workspace, version).stats.get((method, route))

    def record(self, workspace: str, recording: dict) -> int:
        """Append a recording; returns its id."""
        return self.store.append(workspace, KIND, recording_key(recording["method"], recording["route"]), recording)

    def remember(self, workspace: str, version: int, recording: dict) -> int | None:
        """Keep the latest upstream answer for a request: append it, or refresh the proxy recording
        of the same request when status or body changed. None when nothing needed writing."""
        found = self.catalog(workspace, version).exact.get(
            (recording["method"], recording["path"], recording["query"]))
        if found is not None:
            current = self.value(workspace, version, found[1])
            if current is not None and current.get("source") == "proxy":
                if current.get("status") == recording["status"] and current.get("body") == recording["body"]:
                    return None
                self.store.update_entry(workspace, KIND, found[1], recording)
                return found[1]
        return self.record(workspace, recording)


# -- HAR import -----------------------------------------------------------------------------------
class OperationMatcher:
    """Finds the spec operation (method, route template) for a concrete path."""

    def __init__(self, operations: Iterable[Any]) -> None:
        templates: dict[str, set[str]] = {}
        for op in operations:
            templates.setdefault(op.path, set()).add(str(op.method).upper())
        ranked = []
        for template, methods in templates.items():
            segments = [s for s in template.split("/") if s]
            regex = "".join("/" + ("[^/]+" if re.fullmatch(r"\{[^}]+\}", s) else re.escape(s)) for s in segments)
            literals = sum(1 for s in segments if "{" not in s)
            ranked.append(((len(segments), literals), re.compile(regex or "/?"), template, methods))
        ranked.sort(key=lambda entry: entry[0], reverse=True)  # /users/me before /users/{id}
        self.templates = [(regex, template, methods) for _, regex, template, methods in ranked]

    def route(self, method: str, path: str) -> tuple[str | None, bool]:
        """``(template, method_ok)``: the template matching the path (None when none does)."""
        bare = "".join("/" + s for s in path.split("/") if s) or "/"
        found = None
        for regex, template, methods in self.templates:
            if regex.fullmatch(bare) or (bare == "/" and regex.pattern == "/?"):
                if method.upper() in methods:
                    return template, True
                found = found or template
        return found, False


class _Skip(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


def import_har(store: Store, workspace: str, har: Any, operations: Iterable[Any], *, strip_prefix: str = "",
               progress: Callable[[int, int], None] | None = None) -> dict:
    """Store every JSON exchange of a HAR 1.2 document whose path is an operation of the spec.

    Returns ``{"imported": n, "skipped": m, "reasons": {reason: count}, "ids": [...]}``; reasons are
    ``not-json`` (images, pages, scripts), ``no-operation`` (a path or method the spec does not
    have), ``failed`` (no response, status 0), ``no-content`` (a 304 or an empty body), ``invalid``
    (an entry missing its request or response) and ``duplicate`` (already imported). ``progress``
    is called with (entries done, entries in all) after each entry.
    """
    entries = _har_entries(har)
    matcher = OperationMatcher(operations)
    prefix = "/" + strip_prefix.strip("/") if strip_prefix.strip("/") else ""
    existing = Catalog()
    for _seq, _key, value in store.entries(workspace, KIND):
        if isinstance(value, dict):
            existing.fingerprints.add(_fingerprint(value))
    reasons: Counter[str] = Counter()
    ids = []
    for done, entry in enumerate(entries):
        if progress is not None:
            progress(done, len(entries))
        try:
            recording = _har_recording(entry, matcher, prefix)
            fingerprint = _fingerprint(recording)
            if fingerprint in existing.fingerprints:
                raise _Skip("duplicate")
        except _Skip as skip:
            reasons[skip.reason] += 1
            continue
        existing.fingerprints.add(fingerprint)
        ids.append(store.append(workspace, KIND, recording_key(recording["method"], recording["route"]), recording))
    if progress is not None:
        progress(len(entries), len(entries))
    return {"imported": len(ids), "skipped": sum(reasons.values()), "reasons": dict(sorted(reasons.items())),
            "ids": ids}


def import_har_file(store: Store, workspace: str, path: str, spec_operations: Iterable[Any], *,
                    strip_prefix: str = "", progress: Callable[[int, int], None] | None = None) -> dict:
    """``mockverse import-har file.har``: read a HAR file and import it as recordings of ``workspace``.

    Raises HarError (a ValueError naming the field) for a file that is not HAR JSON, OSError when
    it cannot be read.
    """
    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        har = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise HarError("har", f"{path} is not JSON: {exc}") from None
    return import_har(store, workspace, har, spec_operations, strip_prefix=strip_prefix, progress=progress)


def _har_entries(har: Any) -> list:
    """The entries of a HAR document, checking the shape browsers export."""
    if not isinstance(har, dict) or not isinstance(har.get("log"), dict):
        raise HarError("log", "a HAR file is a JSON object with a 'log' object (HAR 1.2, as browsers export it)")
    entries = har["log"].get("entries")
    if not isinstance(entries, list):
        raise HarError("log.entries", "must be a list of request/response entries")
    return entries


def _har_recording(entry: Any, matcher: OperationMatcher, prefix: str) -> dict:
    """One HAR entry as a recording, or _Skip saying why it is not one."""
    if not isinstance(entry, dict) or not isinstance(entry.get("request"), dict) \
            or not isinstance(entry.get("response"), dict):
        raise _Skip("invalid")
    request, response = entry["request"], entry["response"]
    status = response.get("status")
    if not isinstance(status, int) or isinstance(status, bool) or status < 100 or response.get("_error"):
        raise _Skip("failed")
    content = response.get("content") if isinstance(response.get("content"), dict) else {}
    headers = _pairs(response.get("headers"))
    media = content.get("mimeType") or dict((k.lower(), v) for k, v in headers).get("content-type")
    if status == 304:
        raise _Skip("no-content")
    if not is_json_media(media):
        raise _Skip("not-json")
    text = content.get("text")
    if not isinstance(text, str) or not text.strip():
        raise _Skip("no-content")
    if content.get("encoding") == "base64":
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise _Skip("invalid") from None
    else:
        raw = text.encode()
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise _Skip("not-json") from None
    url = request.get("url")
    method = request.get("method")
    if not isinstance(url, str) or not isinstance(method, str):
        raise _Skip("invalid")
    parts = urlsplit(url)
    path = unquote(parts.path) or "/"
    if prefix and (path == prefix or path.startswith(prefix + "/")):
        path = path[len(prefix):] or "/"
    route, method_ok = matcher.route(method, path)
    if route is None or not method_ok:
        raise _Skip("no-operation")
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("content-type", str(media)))
    post = request.get("postData") if isinstance(request.get("postData"), dict) else {}
    request_headers = _pairs(request.get("headers"))
    if post.get("mimeType") and not any(name.lower() == "content-type" for name, _ in request_headers):
        request_headers.append(("content-type", str(post["mimeType"])))
    request_body = post["text"].encode() if isinstance(post.get("text"), str) else None
    latency = entry.get("time")
    return make_recording(method=method, route=route, path=path, query=parts.query, status=status, headers=headers,
                          body=raw, latency_ms=latency if isinstance(latency, (int, float)) else 0.0, source="har",
                          recorded_at=_har_time(entry.get("startedDateTime")), request_headers=request_headers,
                          request_body=request_body)


def _pairs(headers: Any) -> list[tuple[str, str]]:
    """HAR ``[{name, value}]`` headers as pairs (anything malformed is left out)."""
    if not isinstance(headers, list):
        return []
    return [(str(h["name"]), str(h.get("value", ""))) for h in headers if isinstance(h, dict) and h.get("name")]


def _har_time(value: Any) -> str | None:
    """A HAR ``startedDateTime`` as RFC 3339 UTC with milliseconds (None when missing or malformed)."""
    try:
        return _stamp(parse_rfc3339(value))
    except ValueError:
        return None


# -- HAR export -----------------------------------------------------------------------------------
_HAR_PAIRS = {"type": "array", "items": {"type": "object", "required": ["name", "value"],
                                         "properties": {"name": {"type": "string"}, "value": {"type": "string"}}}}
HAR_SCHEMA: dict = {  # the JSON Schema of what har_document returns (for the admin API's OpenAPI document)
    "type": "object", "required": ["log"], "description": "a HAR 1.2 document",
    "properties": {"log": {
        "type": "object", "required": ["version", "creator", "entries"],
        "properties": {
            "version": {"const": "1.2"},
            "creator": {"type": "object", "required": ["name", "version"],
                        "properties": {"name": {"const": "mockverse"}, "version": {"type": "string"}}},
            "entries": {"type": "array", "items": {
                "type": "object", "required": ["startedDateTime", "time", "request", "response", "cache", "timings"],
                "properties": {
                    "startedDateTime": {"type": "string"}, "time": {"type": "number", "minimum": 0},
                    "request": {"type": "object", "required": ["method", "url", "httpVersion", "cookies", "headers",
                                                               "queryString", "headersSize", "bodySize"],
                                "properties": {"method": {"type": "string"}, "url": {"type": "string"},
                                               "headers": _HAR_PAIRS, "queryString": _HAR_PAIRS}},
                    "response": {"type": "object", "required": ["status", "statusText", "httpVersion", "cookies",
                                                                "headers", "content", "redirectURL", "headersSize",
                                                                "bodySize"],
                                 "properties": {"status": {"type": "integer"}, "headers": _HAR_PAIRS,
                                                "content": {"type": "object", "required": ["size", "mimeType"]}}},
                    "timings": {"type": "object", "required": ["send", "wait", "receive"]}}}}}}},
}


def har_document(entries: list[dict], comment: str) -> dict:
    """A HAR 1.2 document of ``entries`` (what browsers' dev tools and ``import-har`` read)."""
    from mockverse import __version__

    return {"log": {"version": "1.2", "creator": {"name": "mockverse", "version": __version__},
                    "pages": [], "entries": entries, "comment": comment}}


def recording_har_entry(seq: int, recording: dict, base_url: str) -> dict:
    """One recording as a HAR entry: its request (URL on ``base_url``), response body and timing.
    Credentials stay redacted, as they were stored."""
    body = body_bytes(recording)
    headers = recording.get("headers") or {}
    kind = recording.get("body_kind", "json")
    media = headers.get("content-type") or ("application/json" if kind == "json" else "text/plain")
    query = recording.get("query") or ""
    request_headers = recording.get("request_headers") or {}
    request = {"method": recording.get("method", "GET"), "url": _har_url(base_url, recording.get("path", "/"), query),
               "httpVersion": "HTTP/1.1", "cookies": [], "headers": _har_pairs(request_headers.items()),
               "queryString": _har_pairs(parse_qsl(query, keep_blank_values=True)), "headersSize": -1, "bodySize": 0}
    sent = recording.get("request_body")
    if sent is not None:
        text = sent if isinstance(sent, str) else orjson.dumps(sent).decode()
        request["postData"] = {"mimeType": request_headers.get("content-type", "application/json"), "text": text}
        request["bodySize"] = len(text.encode())
    latency = float(recording.get("latency_ms") or 0.0)
    status = int(recording.get("status", 0))
    response = {"status": status, "statusText": _status_text(status), "httpVersion": "HTTP/1.1", "cookies": [],
                "headers": _har_pairs(headers.items()),
                "content": {"size": len(body), "mimeType": media, "text": body.decode("utf-8", errors="replace")},
                "redirectURL": headers.get("location", ""), "headersSize": -1, "bodySize": len(body)}
    return {"startedDateTime": recording.get("recorded_at") or now_rfc3339(), "time": latency, "request": request,
            "response": response, "cache": {}, "timings": {"send": 0, "wait": latency, "receive": 0},
            "_mockverse": {"recording_id": seq, "route": recording.get("route"), "source": recording.get("source")}}


def journal_har_entry(entry: dict, base_url: str, exchange: dict) -> dict:
    """One request of the journal as a HAR entry; ``exchange`` holds its headers (credentials redacted)
    and bodies as text, as the journal shows them (bodies past the journal's limit are cut)."""
    query = entry.get("query") or ""
    status = int(entry.get("status") or 0)
    latency = float(entry.get("latency_ms") or 0.0)
    request_headers = exchange.get("request_headers") or {}
    response_headers = exchange.get("response_headers") or {}
    request = {"method": entry.get("method", "GET"), "url": _har_url(base_url, entry.get("path", "/"), query),
               "httpVersion": "HTTP/1.1", "cookies": [], "headers": _har_pairs(request_headers.items()),
               "queryString": _har_pairs(parse_qsl(query, keep_blank_values=True)), "headersSize": -1, "bodySize": 0}
    sent = exchange.get("request_body")
    if sent:
        request["postData"] = {"mimeType": request_headers.get("content-type", ""), "text": sent}
        request["bodySize"] = len(sent.encode())
    body = exchange.get("response_body") or ""
    size = len(body.encode())
    return {"startedDateTime": _stamp(datetime.fromtimestamp(float(entry.get("time") or 0.0), UTC)),
            "time": latency, "request": request,
            "response": {"status": status, "statusText": _status_text(status), "httpVersion": "HTTP/1.1",
                         "cookies": [], "headers": _har_pairs(response_headers.items()),
                         "content": {"size": size, "mimeType": response_headers.get("content-type", ""), "text": body},
                         "redirectURL": response_headers.get("location", ""), "headersSize": -1, "bodySize": size},
            "cache": {}, "timings": {"send": 0, "wait": latency, "receive": 0},
            "_mockverse": {"request_id": entry.get("id"), "seq": entry.get("seq"), "workspace": entry.get("workspace"),
                           "source": entry.get("source"), "stub": entry.get("stub")}}


def _har_url(base_url: str, path: str, query: str) -> str:
    return base_url.rstrip("/") + quote(path, safe="/:@!$&'()*+,;=-._~") + (f"?{query}" if query else "")


def _har_pairs(pairs: Iterable[tuple[str, Any]]) -> list[dict]:
    return [{"name": str(name), "value": str(value)} for name, value in pairs]


def _status_text(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


# -- record modes ---------------------------------------------------------------------------------
RECORD_MODES = ("once", "new_episodes", "none", "all")


def record_action(mode: str, had_recordings: bool, matched: bool) -> str:
    """What record mode ``mode`` does with one request, as vcrpy does with a cassette (the workspace):
    ``"replay"`` its recording, ``"record"`` it from the upstream, or ``"refuse"`` it.

    A request is matched when a recording has its method, path and query. ``all`` always records;
    ``new_episodes`` replays matched requests and records the others; ``none`` replays and refuses
    the others, never calling the upstream; ``once`` records everything when the workspace had no
    recordings when the server first served it, and otherwise acts as ``none``.
    """
    if mode == "all" or (mode == "once" and not had_recordings):
        return "record"
    if mode == "new_episodes":
        return "replay" if matched else "record"
    return "replay" if matched else "refuse"


# -- command line helpers -------------------------------------------------------------------------
def apply_record_mode(config_overrides: dict, upstream: str, mode: str | None = None) -> dict:
    """``mockverse record --upstream URL [--record-mode M]``: the config overrides that proxy and record.

    Returns a new dict: ``config_overrides`` with ``reality_continuum.enabled``, ``.record`` and
    ``.upstream`` set (and ``.record_mode`` when given). Raises ValueError when ``upstream`` is not
    an http(s) URL or ``mode`` is not a record mode.
    """
    try:
        parse_settings({"upstream": upstream})
    except SettingsError as exc:
        raise ValueError(f"--upstream {exc.message}") from None
    if mode is not None and mode not in RECORD_MODES:
        raise ValueError(f"--record-mode must be one of {', '.join(RECORD_MODES)}, got '{mode}'")
    merged = dict(config_overrides)
    section = dict(merged.get("reality_continuum") or {})
    section.update({"enabled": True, "record": True, "upstream": upstream})
    if mode is not None:
        section["record_mode"] = mode
    merged["reality_continuum"] = section
    return merged

"""Recordings: the stored form of one real exchange, with credentials redacted.

An exchange comes from the upstream band (``source: "proxy"``), from record mode
(``"record"``) or from a HAR file (``"har"``). Each is stored in the append log under kind
``recording`` and key ``"GET /users/{id}"`` (method and route template) as
``{method, route, path, query, status, headers, body, latency_ms, recorded_at, source}``,
with credentials redacted from headers and query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import orjson

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
    return stamp_rfc3339(datetime.now(UTC))


def stamp_rfc3339(value: datetime) -> str:
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


def fingerprint(recording: dict) -> tuple:
    """What makes two recordings the same exchange (a HAR imported twice is not kept twice)."""
    return (recording.get("method"), recording.get("path"), recording.get("query"), recording.get("status"),
            recording.get("recorded_at"), recording.get("source"))

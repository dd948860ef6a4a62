"""HAR 1.2: import a browser's recorded session as recordings, and export recordings or the
request journal as a HAR document (what browsers' dev tools and ``import-har`` read)."""

from __future__ import annotations

import base64
import binascii
import re
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import orjson

from mockverse.reality.recordings import (
    KIND,
    body_bytes,
    fingerprint,
    is_json_media,
    make_recording,
    now_rfc3339,
    recording_key,
    stamp_rfc3339,
)
from mockverse.store import Store
from mockverse.timeutil import parse_rfc3339


class HarError(ValueError):
    """A HAR document that cannot be read: ``field`` names where, ``message`` says what is expected."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


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
    existing = {fingerprint(value) for _seq, _key, value in store.entries(workspace, KIND) if isinstance(value, dict)}
    reasons: Counter[str] = Counter()
    ids = []
    for done, entry in enumerate(entries):
        if progress is not None:
            progress(done, len(entries))
        try:
            recording = _har_recording(entry, matcher, prefix)
            seen = fingerprint(recording)
            if seen in existing:
                raise _Skip("duplicate")
        except _Skip as skip:
            reasons[skip.reason] += 1
            continue
        existing.add(seen)
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
        return stamp_rfc3339(parse_rfc3339(value))
    except ValueError:
        return None

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
    return {"startedDateTime": stamp_rfc3339(datetime.fromtimestamp(float(entry.get("time") or 0.0), UTC)),
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

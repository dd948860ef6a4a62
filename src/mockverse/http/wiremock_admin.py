"""A WireMock-compatible subset of ``/__admin``, so WireMock's clients (the ``wiremock`` package on
PyPI among them) drive mockverse's stubs and request journal unchanged.

Served: mappings CRUD and reset, the request journal (list, one, find, count, unmatched, near misses,
reset), scenarios and their reset, the global reset and health. Bodies and errors are WireMock's
shapes (``{"errors": [{"code", "source": {"pointer"}, "title"}]}``), not problem JSON. The workspace
is the ``X-Mockverse-Workspace`` header or ``?workspace=``, else ``default``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockverse.http.admin import Journal
from mockverse.http.errors import Problem, is_decimal, json_response, read_json
from mockverse.http.mock import workspace_of
from mockverse.http.stubs import reset_workspace
from mockverse.stubbing import Facts, StubBook, StubError, parse_request
from mockverse.world.engine import ConsistencyEngine

PREFIX = "/__admin"


def wiremock_error(status: int, field: str, title: str) -> Response:
    """WireMock's error body: one error with a JSON pointer to the field."""
    pointer = "/" + field.replace(".", "/").replace("[", "/").replace("]", "") if field != "body" else ""
    body = {"errors": [{"code": 10, "source": {"pointer": pointer}, "title": f"{field}: {title}"}]}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _errors(fn: Callable) -> Callable:
    """Answer StubError and Problem in WireMock's error shape."""
    async def wrapper(self: WireMockAdmin, request: Request) -> Response:
        try:
            return await fn(self, request)
        except StubError as exc:
            return wiremock_error(exc.status, exc.field, exc.message)
        except Problem as exc:
            return wiremock_error(exc.status, exc.field or "body", exc.detail)
    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def logged_request(entry: dict, base_url: str) -> dict:
    """A journal entry as WireMock's LoggedRequest (headers redacted, body as text)."""
    exchange = Journal.exchange(entry)
    url = entry["path"] + (f"?{entry['query']}" if entry.get("query") else "")
    stamp = datetime.fromtimestamp(entry["time"], UTC)
    return {"url": url, "absoluteUrl": base_url.rstrip("/") + url, "method": entry["method"],
            "headers": exchange["request_headers"], "body": exchange["request_body"] or "",
            "loggedDate": int(entry["time"] * 1000),
            "loggedDateString": stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"}


def serve_event(entry: dict, base_url: str) -> dict:
    """A journal entry as WireMock's ServeEvent: the request, what answered it and the response."""
    exchange = Journal.exchange(entry)
    event = {"id": entry["id"], "request": logged_request(entry, base_url),
             "responseDefinition": {"status": entry["status"], "fromConfiguredStub": entry.get("stub") is not None},
             "response": {"status": entry["status"], "headers": exchange["response_headers"],
                          "body": exchange["response_body"] or ""},
             "wasMatched": entry.get("stub") is not None, "workspace": entry.get("workspace"),
             "source": entry.get("source")}
    if entry.get("stub") is not None:
        event["stubMapping"] = {"id": entry["stub"], "uuid": entry["stub"]}
    return event


def entry_facts(entry: dict) -> Facts:
    """What a matcher reads of a journal entry."""
    return Facts.from_raw(entry["method"], entry["path"], entry.get("query") or "", entry.get("request_headers") or (),
                          bytes(entry.get("request_body") or b""))


def request_facts(raw: Any) -> Facts:
    """A LoggedRequest body (``{"url", "method", "headers", "body"}``) as facts to match."""
    if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
        raise StubError("url", "send a logged request: {\"url\": \"/orders/1\", \"method\": \"GET\"}")
    path, _, query = raw["url"].partition("?")
    headers = raw.get("headers") or {}
    if not isinstance(headers, dict):
        raise StubError("headers", "must be an object of name -> value")
    pairs = [(str(k).encode("latin-1", "replace"), str(v).encode("latin-1", "replace")) for k, v in headers.items()]
    body = raw.get("body") or ""
    return Facts.from_raw(str(raw.get("method") or "GET"), path, query, pairs,
                          body.encode() if isinstance(body, str) else orjson.dumps(body))


class WireMockAdmin:
    """Handlers for ``/__admin/...``."""

    def __init__(self, engine: ConsistencyEngine, book: StubBook, journal: Journal, max_body_bytes: int) -> None:
        self.engine = engine
        self.book = book
        self.journal = journal
        self.max_body_bytes = max_body_bytes

    def routes(self) -> list[Route]:
        """WireMock's admin routes that mockverse serves."""
        p = PREFIX
        return [
            Route(f"{p}/health", self.health, methods=["GET"]),
            Route(f"{p}/reset", self.reset, methods=["POST"]),
            Route(f"{p}/mappings", self.mappings, methods=["GET", "POST", "DELETE"]),
            Route(f"{p}/mappings/reset", self.reset_mappings, methods=["POST"]),
            Route(f"{p}/mappings/save", self.save_mappings, methods=["POST"]),
            Route(f"{p}/mappings/{{id}}", self.mapping, methods=["GET", "PUT", "DELETE"]),
            Route(f"{p}/requests", self.requests, methods=["GET", "DELETE"]),
            Route(f"{p}/requests/reset", self.reset_requests, methods=["POST"]),
            Route(f"{p}/requests/find", self.find, methods=["POST"]),
            Route(f"{p}/requests/count", self.count, methods=["POST"]),
            Route(f"{p}/requests/unmatched", self.unmatched, methods=["GET"]),
            Route(f"{p}/requests/unmatched/near-misses", self.unmatched_near_misses, methods=["GET"]),
            Route(f"{p}/requests/{{id}}", self.request_one, methods=["GET"]),
            Route(f"{p}/near-misses/request", self.near_misses_request, methods=["POST"]),
            Route(f"{p}/near-misses/request-pattern", self.near_misses_pattern, methods=["POST"]),
            Route(f"{p}/scenarios", self.scenarios, methods=["GET"]),
            Route(f"{p}/scenarios/reset", self.reset_scenarios, methods=["POST"]),
        ]

    def _workspace(self, request: Request) -> str:
        """The request's workspace, checked."""
        return self.engine.view(workspace_of(request)).workspace

    @staticmethod
    def _explicit(request: Request) -> str | None:
        """The workspace the caller named (header or query), or None: journal calls then cover every workspace."""
        return request.headers.get("x-mockverse-workspace") or request.query_params.get("workspace") or None

    def _entries(self, request: Request) -> list[dict]:
        """Journal entries, of the named workspace only when one is named."""
        workspace = self._explicit(request)
        return [e for e in self.journal.entries if workspace is None or e.get("workspace") == workspace]

    async def _body(self, request: Request) -> Any:
        """The JSON body, bounded like every admin body."""
        return await read_json(request, self.max_body_bytes)

    # -- health and reset ------------------------------------------------------------------------
    async def health(self, request: Request) -> Response:
        """WireMock's health answer."""
        return json_response({"status": "healthy", "message": "mockverse is serving", "healthy": True,
                              "version": "mockverse"})

    @_errors
    async def reset(self, request: Request) -> Response:
        """The workspace's world changes, clock and recordings (``ConsistencyEngine.reset_workspace``),
        stubs, scenarios and journal back to nothing (one workspace's journal when one is named)."""
        workspace = self._workspace(request)
        self.engine.reset_workspace(workspace)
        reset_workspace(self.book, self.journal, workspace, self._explicit(request))
        return json_response({})

    # -- mappings ------------------------------------------------------------------------------------
    @_errors
    async def mappings(self, request: Request) -> Response:
        """List (newest first), add (201) or remove every mapping."""
        workspace = self._workspace(request)
        if request.method == "GET":
            mappings = list(reversed(self.book.mappings(workspace)))   # newest first, as WireMock lists them
            offset, limit = _count_param(request, "offset", 0), _count_param(request, "limit", len(mappings))
            return json_response({"mappings": mappings[offset:offset + limit], "meta": {"total": len(mappings)}})
        if request.method == "DELETE":
            self.book.clear(workspace)
            return json_response({})
        mapping = self.book.add(workspace, await self._body(request))
        return json_response(mapping, status=201)

    @_errors
    async def reset_mappings(self, request: Request) -> Response:
        """Remove every mapping (mockverse has no mappings from files to go back to)."""
        self.book.clear(self._workspace(request))
        return json_response({})

    @_errors
    async def save_mappings(self, request: Request) -> Response:
        """Every stub is kept in the store as it is written, so there is nothing more to save."""
        self._workspace(request)
        return json_response({})

    @_errors
    async def mapping(self, request: Request) -> Response:
        """Read, replace or remove one mapping."""
        workspace = self._workspace(request)
        id = request.path_params["id"]
        if request.method == "GET":
            mapping = self.book.get(workspace, id)
            if mapping is None:
                raise StubError("id", f"no stub {id[:80]} in workspace '{workspace}'", status=404)
            return json_response(mapping)
        if request.method == "DELETE":
            self.book.remove(workspace, id)
            return json_response({})
        return json_response(self.book.replace(workspace, id, await self._body(request)))

    # -- the request journal ------------------------------------------------------------------------------
    @_errors
    async def requests(self, request: Request) -> Response:
        """The journal as ServeEvents, newest first (``limit``, ``since``), or cleared."""
        if request.method == "DELETE":
            self.journal.clear(self._explicit(request))
            return json_response({})
        entries = self._entries(request)
        total = len(entries)
        since = request.query_params.get("since")
        if since is not None:
            try:
                moment = datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp()
            except ValueError:
                raise StubError(
                    "since", "must be an ISO 8601 moment such as 2026-01-01T00:00:00Z", status=400
                ) from None
            entries = [e for e in entries if e["time"] >= moment]
        newest = list(reversed(entries))[:_count_param(request, "limit", total)]
        base = str(request.base_url)
        return json_response({"requests": [serve_event(e, base) for e in newest], "meta": {"total": total},
                              "requestJournalDisabled": not self.journal.enabled})

    @_errors
    async def reset_requests(self, request: Request) -> Response:
        """Clear the journal (one workspace's entries when one is named)."""
        self.journal.clear(self._explicit(request))
        return json_response({})

    @_errors
    async def request_one(self, request: Request) -> Response:
        """One journal entry by its request id."""
        entry = self.journal.get(request.path_params["id"])
        if entry is None:
            raise StubError("id", "no such request in the journal", status=404)
        return json_response(serve_event(entry, str(request.base_url)))

    async def _matching(self, request: Request) -> list[dict]:
        """Journal entries that the body's request pattern matches."""
        pattern = parse_request(await self._body(request))
        return [e for e in self._entries(request) if pattern.matches(entry_facts(e))]

    @_errors
    async def find(self, request: Request) -> Response:
        """The requests a pattern matches, as LoggedRequests."""
        base = str(request.base_url)
        return json_response({"requests": [logged_request(e, base) for e in await self._matching(request)]})

    @_errors
    async def count(self, request: Request) -> Response:
        """How many requests a pattern matches."""
        return json_response({"count": len(await self._matching(request))})

    @_errors
    async def unmatched(self, request: Request) -> Response:
        """Requests no stub answered."""
        base = str(request.base_url)
        return json_response({"requests": [logged_request(e, base) for e in self._entries(request)
                                           if e.get("stub") is None]})

    # -- near misses -------------------------------------------------------------------------------------
    def _near(self, workspace: str, facts: Facts, logged: dict) -> list[dict]:
        """Near misses of one request against a workspace's stubs, in WireMock's shape."""
        return [{"request": logged, "requestPattern": _pattern_view(stub.mapping.get("request") or {}),
                 "matchResult": {"distance": distance}, "stubMapping": {"id": stub.id}}
                for distance, stub in self.book.near_misses(workspace, facts)]

    @_errors
    async def unmatched_near_misses(self, request: Request) -> Response:
        """For each request no stub answered, the stubs of its workspace that came closest."""
        base = str(request.base_url)
        out: list[dict] = []
        for entry in self._entries(request)[-100:]:
            workspace = entry.get("workspace") or "default"
            if entry.get("stub") is None:
                out += self._near(workspace, entry_facts(entry), logged_request(entry, base))
        return json_response({"nearMisses": out})

    @_errors
    async def near_misses_request(self, request: Request) -> Response:
        """The stubs nearest to a request you describe (``{"url", "method", "headers", "body"}``)."""
        raw = await self._body(request)
        facts = request_facts(raw)
        return json_response({"nearMisses": self._near(self._workspace(request), facts, raw)})

    @_errors
    async def near_misses_pattern(self, request: Request) -> Response:
        """The journal's requests nearest to a request pattern."""
        raw = await self._body(request)
        pattern = parse_request(raw)
        base = str(request.base_url)
        ranked = sorted(((pattern.distance(entry_facts(e)), e) for e in self._entries(request)), key=lambda p: p[0])
        return json_response({"nearMisses": [
            {"request": logged_request(e, base), "requestPattern": _pattern_view(raw), "matchResult": {"distance": d}}
            for d, e in ranked if 0 < d < 1][:3]})

    # -- scenarios ----------------------------------------------------------------------------------------
    @_errors
    async def scenarios(self, request: Request) -> Response:
        """Each scenario and its state."""
        return json_response({"scenarios": self.book.scenarios(self._workspace(request))})

    @_errors
    async def reset_scenarios(self, request: Request) -> Response:
        """Every scenario back to Started."""
        self.book.reset_scenarios(self._workspace(request))
        return json_response({})


def _count_param(request: Request, name: str, default: int) -> int:
    """A ``limit`` or ``offset`` query parameter: a whole number, else StubError 400."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not is_decimal(raw):
        raise StubError(name, "must be a whole number", status=400)
    return int(raw)


def _pattern_view(pattern: dict) -> dict:
    """A request pattern as near misses show it: WireMock's ``url*`` spellings folded into ``url``."""
    out = {k: v for k, v in pattern.items() if k in ("method", "headers", "queryParameters", "bodyPatterns")}
    for key in ("url", "urlPath", "urlPattern", "urlPathPattern", "urlPathTemplate"):
        if key in pattern:
            out[key] = pattern[key]
            out.setdefault("url", pattern[key])
    return out

"""The mock paths of a spec as one Starlette route: a tree of path segments instead of one compiled
regular expression per path, so a spec of 10,000 paths starts without compiling 10,000 of them and a
request is routed in as many steps as its path has segments, not as the spec has paths.

Routing is Starlette's: a literal segment is compared as a string, a ``{name}`` segment takes any
non-empty segment; literal segments win over parameters (``/users/me`` before ``/users/{id}``); a
path whose operations lack the method is a partial match (405 with ``Allow`` unless another route
has the method). Templates with a parameter inside a segment (``/files/{name}.json``) keep their
own Starlette ``Route``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match, NoMatchFound, Route, get_route_path, request_response
from starlette.types import Receive, Scope, Send

_PARAM = re.compile(r"^\{([^}]+)\}$")


@dataclass
class _Entry:
    """One path template: its parameter names by segment position, its methods and its ASGI app."""

    path: str
    params: dict[int, str]
    methods: set[str]
    endpoint: Callable[..., Any]
    app: Any


@dataclass
class _Node:
    literal: dict[str, _Node] = field(default_factory=dict)
    param: _Node | None = None
    entries: list[_Entry] = field(default_factory=list)


class PathTable(BaseRoute):
    """Path templates (Starlette syntax, ``{name}`` parameters) routed by a segment tree."""

    def __init__(self) -> None:
        self.root = _Node()
        self.by_endpoint: dict[Any, _Entry] = {}

    @staticmethod
    def fits(path: str) -> bool:
        """Whether the template can live in the table: every segment literal or a whole ``{name}``."""
        return all("{" not in part and "}" not in part or _PARAM.match(part) for part in path.split("/"))

    def add(self, path: str, endpoint: Callable[..., Any], methods: list[str]) -> None:
        """Route ``path`` (a template that ``fits``) to ``endpoint`` for ``methods`` (HEAD with GET)."""
        node, params = self.root, {}
        for index, part in enumerate(path.split("/")[1:]):
            match = _PARAM.match(part)
            if match:
                params[index] = match.group(1)
                node.param = node.param or _Node()
                node = node.param
            else:
                node = node.literal.setdefault(part, _Node())
        allowed = {m.upper() for m in methods} | ({"HEAD"} if "GET" in methods else set())
        entry = _Entry(path, params, allowed, endpoint, request_response(endpoint))
        node.entries.append(entry)
        self.by_endpoint[endpoint] = entry

    def _found(self, parts: list[str], index: int, node: _Node) -> Iterator[_Entry]:
        """Every template matching ``parts[index:]`` below ``node``, literal segments first."""
        if index == len(parts):
            yield from node.entries
            return
        part = parts[index]
        child = node.literal.get(part)
        if child is not None:
            yield from self._found(parts, index + 1, child)
        if node.param is not None and part:
            yield from self._found(parts, index + 1, node.param)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        parts = get_route_path(scope).split("/")[1:]
        partial = None
        for entry in self._found(parts, 0, self.root):
            if scope["method"] in entry.methods:
                return Match.FULL, self._child(scope, entry, parts)
            partial = partial or entry
        if partial is not None:
            return Match.PARTIAL, self._child(scope, partial, parts)
        return Match.NONE, {}

    @staticmethod
    def _child(scope: Scope, entry: _Entry, parts: list[str]) -> Scope:
        params = dict(scope.get("path_params", {}))
        params.update({name: parts[index] for index, name in entry.params.items()})
        return {"endpoint": entry.endpoint, "path_params": params}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        entry = self.by_endpoint[scope["endpoint"]]
        if scope["method"] not in entry.methods:
            raise HTTPException(status_code=405, headers={"Allow": ", ".join(sorted(entry.methods))})
        await entry.app(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)


def path_routes(templates: list[tuple[str, Callable[..., Any], list[str]]]) -> list[BaseRoute]:
    """Routes for (template, endpoint, methods) given in routing order: one PathTable, preceded by a
    Starlette Route for each template the table cannot hold."""
    table = PathTable()
    own: list[BaseRoute] = []
    for path, endpoint, methods in templates:
        if PathTable.fits(path):
            table.add(path, endpoint, methods)
        else:
            own.append(Route(path, endpoint, methods=methods))
    return [*own, table]

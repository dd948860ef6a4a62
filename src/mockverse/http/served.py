"""What a mock route serves: one typed value the endpoint returns and the request journal records."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from starlette.requests import Request
from starlette.responses import Response

from mockverse.world.engine import WorldView

SERVED = "mockverse.served"   # scope state: the Served value of a mock route's answer, for the journal
SOURCE = "X-Mockverse-Source"
WORKSPACE = "X-Mockverse-Workspace"


@dataclass(frozen=True)
class Served:
    """One answer: status, body bytes and headers, where it came from and which workspace it shows."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)   # every header but source and workspace
    source: str | None = "synthetic"   # None: an error answer, from no tier
    workspace: str = "default"

    def all_headers(self) -> dict[str, str]:
        """The response headers, source and workspace included."""
        headers = {**self.headers, WORKSPACE: self.workspace}
        if self.source is not None:
            headers[SOURCE] = self.source
        return headers

    def response(self, request: Request) -> Response:
        """The Starlette response, with this value left in the request's state for the journal."""
        request.scope.setdefault("state", {})[SERVED] = self
        return Response(self.body, status_code=self.status, headers=self.all_headers(), media_type=None)

    def reply(self) -> tuple[int, bytes, dict[str, str]]:
        """(status, body, headers): the shape the text service annotates."""
        return self.status, self.body, self.all_headers()

    def annotated(self, reply: tuple[int, bytes, dict[str, str]]) -> Served:
        """This answer with the status, body and extra headers of an annotated ``reply``."""
        headers = {k: v for k, v in reply[2].items() if k not in (SOURCE, WORKSPACE)}
        return replace(self, status=reply[0], body=reply[1], headers=headers)

    def at(self, workspace: str) -> Served:
        """The same bytes said of another workspace (a workspace reading the shared base world)."""
        return self if workspace == self.workspace else replace(self, workspace=workspace)

    @classmethod
    def of(cls, response: Response, workspace: str) -> Served:
        """A response built elsewhere (the reality continuum's), as a Served value."""
        headers = {k: v for k, v in response.headers.items()
                   if k not in ("content-length", SOURCE.lower(), WORKSPACE.lower())}
        source = response.headers.get(SOURCE.lower())
        return cls(response.status_code, bytes(response.body), headers, source,
                   response.headers.get(WORKSPACE.lower(), workspace))


def world_headers(view: WorldView, persona: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Headers of a world answer: content type, reality 0, store state, persona and its lifecycle state."""
    headers = {"content-type": "application/json", "X-Mockverse-Reality": "0"}
    if view.degraded:
        headers["X-Mockverse-Store"] = "unavailable"
    if persona:
        headers["X-Mockverse-Persona"] = persona
        state = view.persona_state(persona)
        if state:
            headers["X-Mockverse-Lifecycle"] = state
    if extra:
        headers.update(extra)
    return headers


def world_served(view: WorldView, status: int, body: bytes, persona: str | None = None,
                 extra: dict[str, str] | None = None, source: str = "synthetic") -> Served:
    """A world answer of ``view``: its status and body with :func:`world_headers`."""
    return Served(status, body, world_headers(view, persona, extra), source, view.workspace)

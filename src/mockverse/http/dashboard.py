"""The dashboard at /__mockverse/: static files shipped in the package (``mockverse/dashboard``),
no build step, driving the world only through the public /api/v1 endpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/__mockverse"
ASSETS = Path(__file__).resolve().parent.parent / "dashboard"

# The page may talk to this server only: no CDN, no fonts, no images from elsewhere.
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                 b"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-cache"),
]


class _Hardened:
    """Wraps the static files app: adds the headers above to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).extend(SECURITY_HEADERS)
            await send(message)

        await self.app(scope, receive, with_headers)


def dashboard_routes() -> list[BaseRoute]:
    """``/__mockverse`` redirects to ``/__mockverse/``, which serves ``index.html`` and its assets."""

    async def to_slash(request: Any) -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=308)

    return [Route(PREFIX, to_slash, methods=["GET", "HEAD"]),
            Mount(PREFIX, app=_Hardened(StaticFiles(directory=ASSETS, html=True)), name="dashboard")]

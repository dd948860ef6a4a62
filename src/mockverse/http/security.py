"""Safe defaults: the admin API only takes writes from whoever holds the admin token.

Bound to loopback, only this machine can reach the server and no token is needed. Bound
to any other address, the server refuses to start without a token, and every write under
``/api/v1`` or ``/__admin`` (POST, PUT, PATCH, DELETE) must carry ``Authorization: Bearer <token>``. Mock
routes stay open: they are the API being mocked.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from mockverse.config import Config, ConfigError
from mockverse.http.errors import Problem, problem_response

TOKEN_ENV = "MOCKVERSE_ADMIN_TOKEN"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server reachable from this machine only."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def admin_token(config: Config) -> str | None:
    """The token admin writes need, or None; refuses (ConfigError) a non-loopback bind without one."""
    secret = config.server.admin_token
    token = secret.get_secret_value() if secret is not None else None
    if token is None and not is_loopback(config.server.host):
        raise ConfigError("server.admin_token", f"refusing to serve on {config.server.host}, which is not a loopback "
                          f"address, without an admin token: anyone who reaches it could change the world. Set "
                          f"{TOKEN_ENV} (or --admin-token, or server.admin_token) or bind 127.0.0.1")
    return token


class AdminAuth:
    """Pure ASGI middleware: writes to ``/api/v1`` and ``/__admin`` need ``Authorization: Bearer <token>``
    (401 without one, 403 with a wrong one); everything else passes untouched."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITES or not _is_admin(scope["path"]):
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == b"authorization"), None)
        if given is None:
            problem = Problem(401, "Unauthorized", "writes to the admin API need 'Authorization: Bearer <token>' "
                              f"(the server's admin token, set by {TOKEN_ENV} or --admin-token)",
                              field="authorization")
            response = problem_response(problem, {"WWW-Authenticate": 'Bearer realm="mockverse"'})
        elif not self.matches(given):
            response = problem_response(Problem(403, "Forbidden", "the admin token does not match", field="authorization"))
        else:
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)


    def matches(self, header: bytes) -> bool:
        scheme, _, credentials = header.strip().partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(credentials.strip(), self.token)


def _is_admin(path: str) -> bool:
    return path in ("/api/v1", "/__admin") or path.startswith(("/api/v1/", "/__admin/"))

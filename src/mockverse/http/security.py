"""Safe defaults: the admin API only takes writes from whoever holds the admin token, and
never from a web page the developer happens to have open.

Bound to loopback, only this machine can reach the server and no token is needed. Bound
to any other address, the server refuses to start without a token, and every write under
``/api/v1`` or ``/__admin`` (POST, PUT, PATCH, DELETE) must carry ``Authorization: Bearer <token>``.

Browsers are the other way in: any page can send requests to ``127.0.0.1``, and a DNS name
that an attacker re-points at ``127.0.0.1`` makes them same-origin. So the admin paths
(``/api/v1``, ``/__mockverse``, ``/__admin``) answer only a ``Host`` (and, when sent, an
``Origin``) that names this server: ``127.0.0.1``, ``localhost``, ``[::1]`` or the bound
host, on the bound port, or a name in ``server.allowed_hosts``; they carry no CORS headers
unless ``server.admin_cors_origins`` lists the origin; and a POST, PUT or PATCH must say
``Content-Type: application/json`` even with an empty body, which no page can send to
another origin without a CORS preflight the admin paths refuse. Mock routes stay open:
they are the API being mocked, and browsers are their clients.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any
from urllib.parse import urlsplit

from mockverse.config import Config, ConfigError
from mockverse.http.errors import Problem, problem_response

TOKEN_ENV = "MOCKVERSE_ADMIN_TOKEN"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BODY_WRITES = frozenset({"POST", "PUT", "PATCH"})   # DELETE has no body; cross-origin it always needs a preflight
ADMIN_PREFIXES = ("/api/v1", "/__mockverse", "/__admin")
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})


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
            response = problem_response(
                Problem(403, "Forbidden", "the admin token does not match", field="authorization")
            )
        else:
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)


    def matches(self, header: bytes) -> bool:
        scheme, _, credentials = header.strip().partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(credentials.strip(), self.token)


def _is_admin(path: str) -> bool:
    return path in ("/api/v1", "/__admin") or path.startswith(("/api/v1/", "/__admin/"))


def is_admin_path(path: str) -> bool:
    """Whether ``path`` belongs to the admin surface: the admin API, the dashboard, ``/__admin``."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in ADMIN_PREFIXES)


def split_host(value: str) -> tuple[str, int | None] | None:
    """``"name:port"`` as (lower-case name, port or None); IPv6 names keep their brackets; None if malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value.partition("]")
        name += "]"
        if rest and not rest.startswith(":"):
            return None
        port = rest[1:] if rest else None
    else:
        name, colon, port = value.rpartition(":") if ":" in value else (value, "", None)
        if colon and ":" in name:
            return None
    if not name or not all(c.isalnum() or c in "-._[]:" for c in name):
        return None
    if port is None or port == "":
        return (name, None) if port is None else None
    return (name, int(port)) if port.isdecimal() and port.isascii() and len(port) <= 5 else None


def _bracketed(host: str) -> str:
    """A bound host as a Host header writes it (IPv6 addresses in brackets)."""
    host = host.strip().lower()
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


class AdminGuard:
    """Pure ASGI middleware on the admin paths: a foreign ``Host`` or ``Origin`` gets 403, a
    body-carrying write that is not ``application/json`` gets 415. Everything else passes."""

    def __init__(self, app: Any, host: str, port: int, allowed_hosts: list[str], cors_origins: list[str]) -> None:
        self.app = app
        self.names = set(LOOPBACK_NAMES) | {_bracketed(host)}
        self.port = port
        self.extra = [parsed for parsed in map(split_host, allowed_hosts) if parsed is not None]
        self.origins = frozenset(cors_origins)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not is_admin_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        problem = self.refusal(scope)
        if problem is None:
            await self.app(scope, receive, send)
            return
        await problem_response(problem)(scope, receive, send)

    def refusal(self, scope: dict) -> Problem | None:
        """The problem to answer instead of the request, or None when it may go on."""
        headers = {name.decode(): value.decode("latin-1") for name, value in scope["headers"]
                   if name in (b"host", b"origin", b"content-type")}
        host = headers.get("host", "")
        if not self.host_ok(host, scope):
            return Problem(403, "Forbidden host", f"the admin API answers requests addressed to this server only "
                           f"(127.0.0.1, localhost or [::1] on its port), not Host {host[:100]!r}; add the name to "
                           "server.allowed_hosts (or --allow-host NAME) to reach it by that name",
                           field="host", allowed=self.allowed(scope))
        origin = headers.get("origin")
        if origin is not None and not self.origin_ok(origin, scope):
            return Problem(403, "Forbidden origin", f"web pages from {origin[:100]!r} may not call the admin API; "
                           "list the origin in server.admin_cors_origins to allow it", field="origin")
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if scope["method"] in BODY_WRITES and media != "application/json" and not media.endswith("+json"):
            return Problem(415, "Unsupported media type", "admin writes (POST, PUT, PATCH) must be sent with "
                           "'Content-Type: application/json', also when they have no body"
                           + (f", not {media[:100]}" if media else ""), field="content-type",
                           allowed=["application/json"])
        return None

    def bound(self, scope: dict) -> tuple[set[str], int | None]:
        """The names and port this connection reached: the loopback names, the bound host, and
        the local address of the socket (the interface a wildcard bind answered on). An app
        called in-process (an ASGI transport, no socket) may have a server name without a port."""
        server = scope.get("server")
        names = set(self.names)
        if not server:
            return names, self.port
        if server[0]:
            names.add(_bracketed(str(server[0])))
        return names, server[1]

    def host_ok(self, host: str, scope: dict) -> bool:
        parsed = split_host(host)
        if parsed is None:
            return False
        name, port = parsed
        if any(name == extra and (extra_port is None or extra_port == port) for extra, extra_port in self.extra):
            return True
        names, bound_port = self.bound(scope)
        return name in names and (port == bound_port or port is None and bound_port in (80, None))

    def origin_ok(self, origin: str, scope: dict) -> bool:
        origin = origin.strip().lower()
        if origin in self.origins:
            return True
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            return False
        parsed = split_host(parts.netloc)
        if parsed is None:
            return False
        port = parsed[1] or (443 if parts.scheme == "https" else 80)
        return self.host_ok(f"{parsed[0]}:{port}", scope)

    def allowed(self, scope: dict) -> list[str]:
        names, port = self.bound(scope)
        return sorted(name if port is None else f"{name}:{port}" for name in names) + [
            name if port is None else f"{name}:{port}" for name, port in self.extra]

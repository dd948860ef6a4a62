"""Problem details (RFC 9457): the one error type every layer raises for bad input or a refused
request. ``http/errors.py`` turns one into an ``application/problem+json`` response; TCP and the CLI
print the same body."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

PROBLEM = "application/problem+json"


class Problem(Exception):
    """An error answered as ``application/problem+json``; raised by any layer, answered by HTTP, TCP and the CLI."""

    def __init__(self, status: int, title: str, detail: str, *, field: str | None = None,
                 allowed: list | None = None, errors: list | None = None, extra: dict | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.field, self.allowed, self.errors, self.extra = field, allowed, errors, extra or {}
        self.headers = headers or {}   # response headers that go with it over HTTP (Retry-After)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": f"urn:mockverse:problem:{self.title.lower().replace(' ', '-')}",
                               "title": self.title, "status": self.status, "detail": self.detail}
        if self.field is not None:
            out["field"] = self.field
        if self.allowed is not None:
            out["allowed"] = self.allowed
        if self.errors is not None:
            out["errors"] = self.errors
        out.update(self.extra)
        return out


def is_decimal(raw: str) -> bool:
    """Whether ``raw`` is a whole number short enough to parse: ``'²'`` and a 5,000-digit value are
    bad input to answer with a 4xx, not an ``int()`` that raises."""
    return raw.isdecimal() and raw.isascii() and len(raw) <= 18


def did_you_mean(value: object, known: Iterable[str], template: str = "; did you mean '{}'?") -> str:
    """The name in ``known`` closest to ``value`` as a hint (``"; did you mean 'name'?"``), or ``""``."""
    close = difflib.get_close_matches(str(value), list(known), n=1)
    return template.format(close[0]) if close else ""

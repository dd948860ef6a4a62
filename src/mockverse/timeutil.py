"""Durations ("7d", "36h", "90m") and RFC 3339 timestamps, parsed strictly."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """Parse ``7d``, ``36h``, ``90m``, ``1h30m``, ``20s``, ``500ms``, ``2w``.

    Raises ValueError that says which forms are allowed.
    """
    if not isinstance(text, str):
        raise ValueError("a duration is a string such as '7d', '36h', '90m' or '1h30m'")
    s = text.strip().lower()
    pos, total = 0, 0.0
    for match in _DURATION.finditer(s):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not s or pos != len(s):
        raise ValueError(
            f"'{text}' is not a duration; use a number and a unit (ms, s, m, h, d, w), e.g. '7d', '36h', '90m', '1h30m'"
        )
    try:
        return timedelta(seconds=total)
    except OverflowError:
        raise ValueError(f"'{text[:40]}' is too long a duration; the largest is about 2.7 million years") from None


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp with an offset (``Z`` allowed) to an aware UTC datetime."""
    if not isinstance(text, str):
        raise ValueError("a timestamp is an RFC 3339 string such as '2026-01-01T00:00:00Z'")
    try:
        value = datetime.fromisoformat(text.strip().replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"'{text}' is not an RFC 3339 timestamp such as '2026-01-01T00:00:00Z'") from None
    if value.tzinfo is None:
        raise ValueError(f"'{text}' has no UTC offset; write it as '2026-01-01T00:00:00Z'")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"'{text}' is outside the range of dates (years 1 to 9999 in UTC)") from None


def format_rfc3339(value: datetime) -> str:
    """Format an aware datetime as ``2026-01-01T00:00:00Z`` (seconds precision, UTC)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

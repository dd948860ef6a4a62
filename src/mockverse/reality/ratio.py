"""Which reality ratio applies to a request, and why: header, route rule, schedule or default.

Precedence, highest first: the ``X-Mockverse-Reality`` header, the most specific route
rule whose pattern matches the path, the schedule, the default ratio. The band of the
ratio then picks the source (FIDELITY.md "Reality bands").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from mockverse.problems import did_you_mean
from mockverse.timeutil import parse_duration, parse_rfc3339

HEADER = "X-Mockverse-Reality"
RECORDED_FROM = 0.3
UPSTREAM_FROM = 0.7
MAX_TIMEOUT = 300.0

_SETTINGS_KEYS = ("default_ratio", "routes", "schedule", "upstream", "timeout")
_ROUTE_KEYS = ("pattern", "ratio")
_SCHEDULE_KEYS = ("from_ratio", "to_ratio", "over", "start")
_SEGMENT = re.compile(r"[A-Za-z0-9._~{}*-]+")
_SEGMENT_TOKEN = re.compile(r"(\{[A-Za-z0-9_.-]+\}|\*)")
_HEADER_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+")
_ALLOWED_CHARS = "letters, digits, '.', '_', '~', '-', '*' and '{name}'"


class SettingsError(ValueError):
    """Reality settings that cannot be used: ``field`` names the field, ``message`` says what is allowed."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True, slots=True)
class RouteRule:
    """Requests whose path matches ``pattern`` get reality ratio ``ratio``."""

    pattern: str
    ratio: float


@dataclass(frozen=True, slots=True)
class Schedule:
    """A ratio that moves linearly from ``from_ratio`` to ``to_ratio`` over ``over``.

    ``start`` None means the workspace clock's start, which the caller passes in.
    """

    from_ratio: float
    to_ratio: float
    over: timedelta
    start: datetime | None = None


@dataclass(frozen=True, slots=True)
class RealitySettings:
    """A workspace's reality configuration: default ratio, route rules, schedule and upstream."""

    default_ratio: float = 0.0
    routes: tuple[RouteRule, ...] = ()
    schedule: Schedule | None = None
    upstream: str | None = None
    timeout: float = 3.0


@dataclass(frozen=True, slots=True)
class CompiledPattern:
    """A route pattern ready to match paths, with the specificity used to rank matches.

    ``specificity`` compares segment by segment (literal 3 > literal with wildcards 2 >
    ``*`` or ``{name}`` 1 > ``**`` 0), then the longer pattern, then more literal characters.
    """

    pattern: str
    regex: re.Pattern[str]
    specificity: tuple[tuple[int, ...], int, int]

    def matches(self, path: str) -> bool:
        """True when the request path (query ignored, empty segments dropped) matches."""
        return self.regex.fullmatch(_normalise_path(path)) is not None


def band(r: float) -> str:
    """The source band of a ratio: "synthetic" below 0.3, "recorded" below 0.7, else "upstream"."""
    if isinstance(r, bool) or not isinstance(r, (int, float)) or not 0.0 <= r <= 1.0:
        raise ValueError(f"a reality ratio is a number from 0 to 1, got {r!r}")
    if r < RECORDED_FROM:
        return "synthetic"
    if r < UPSTREAM_FROM:
        return "recorded"
    return "upstream"


def compile_pattern(pattern: str) -> CompiledPattern:
    """Compile a segment-aware glob: ``*`` or ``{name}`` is one segment, ``**`` any number of them."""
    if not isinstance(pattern, str) or not pattern.startswith("/"):
        raise SettingsError("pattern", f"{pattern!r} must be a path starting with '/', e.g. '/users/*'")
    return _compile(pattern)


@lru_cache(maxsize=1024)
def _compile(pattern: str) -> CompiledPattern:
    """The cached work of compile_pattern, for a string already known to start with '/'."""
    segments = [] if pattern == "/" else pattern[1:].split("/")
    regex, ranks, literal_chars = "", [], 0
    for segment in segments:
        _check_segment(pattern, segment)
        if segment == "**":
            regex += "(?:/[^/]+)*"
            ranks.append(0)
            continue
        tokens = [t for t in _SEGMENT_TOKEN.split(segment) if t]
        literals = [t for t in tokens if not _SEGMENT_TOKEN.fullmatch(t)]
        literal_chars += sum(len(t) for t in literals)
        ranks.append(3 if len(literals) == len(tokens) else 2 if literals else 1)
        regex += "/" + "".join(_token_regex(t, alone=len(tokens) == 1) for t in tokens)
    return CompiledPattern(pattern, re.compile(regex), (tuple(ranks), len(segments), literal_chars))


def _check_segment(pattern: str, segment: str) -> None:
    """Raise SettingsError when one segment of a pattern is malformed."""
    if not segment:
        raise SettingsError(
            "pattern", f"'{pattern}' has an empty segment ('//' or a trailing '/'); write e.g. '/users/*'"
        )
    if not _SEGMENT.fullmatch(segment):
        raise SettingsError("pattern", f"segment '{segment}' of '{pattern}' may only use {_ALLOWED_CHARS}")
    if "**" in segment and segment != "**":
        raise SettingsError("pattern", f"'**' must be a whole segment in '{pattern}', e.g. '/users/**'")
    if "{" in _SEGMENT_TOKEN.sub("", segment) or "}" in _SEGMENT_TOKEN.sub("", segment):
        raise SettingsError("pattern", f"segment '{segment}' of '{pattern}' has an unbalanced or empty '{{name}}'")


def _token_regex(token: str, *, alone: bool) -> str:
    """Regex for one token of a segment; a bare ``*`` segment needs at least one character."""
    if token == "*":
        return "[^/]+" if alone else "[^/]*"
    if token.startswith("{"):
        return "[^/]+"
    return re.escape(token)


def _normalise_path(path: str) -> str:
    """``/users//1/?x=1`` becomes ``/users/1``; the root becomes the empty string."""
    bare = path.split("?", 1)[0].split("#", 1)[0]
    return "".join("/" + segment for segment in bare.split("/") if segment)


def match_route(path: str, routes: tuple[RouteRule, ...]) -> RouteRule | None:
    """The most specific rule matching ``path``; among equals, the one listed first."""
    best: RouteRule | None = None
    best_key: tuple | None = None
    for rule in routes:
        compiled = compile_pattern(rule.pattern)
        if compiled.matches(path) and (best_key is None or compiled.specificity > best_key):
            best, best_key = rule, compiled.specificity
    return best


def schedule_ratio(schedule: Schedule, *, now: datetime, clock_start: datetime) -> float:
    """The scheduled ratio at ``now``: linear from start to start + over, clamped at both ends."""
    start = _aware(schedule.start or clock_start)
    elapsed = _microseconds(_aware(now) - start)
    progress = min(max(Fraction(elapsed, _microseconds(schedule.over)), Fraction(0)), Fraction(1))
    low, high = Fraction(schedule.from_ratio), Fraction(schedule.to_ratio)
    return float(low + (high - low) * progress)


def parse_header(value: str) -> float:
    """Parse an ``X-Mockverse-Reality`` value such as ``0.5``; anything else is a SettingsError."""
    text = value.strip() if isinstance(value, str) else ""
    if not _HEADER_NUMBER.fullmatch(text) or float(text) > 1.0:
        raise SettingsError(HEADER, f"{value!r} is not a reality ratio; send a number from 0 to 1, e.g. '0.5'")
    return float(text)


def resolve_ratio(
    path: str,
    settings: RealitySettings,
    *,
    now: datetime,
    clock_start: datetime,
    header: str | None = None,
) -> tuple[float, dict]:
    """The ratio for a request and an explanation of where it came from and what else applied.

    The explanation is ``{"ratio", "source", "pattern", "band", "considered"}``; ``considered``
    lists every candidate in precedence order, with ``"used": True`` on the one that won.
    """
    considered: list[dict[str, Any]] = []
    if header is not None:
        considered.append({"source": "header", "value": header, "ratio": parse_header(header)})
    winner = match_route(path, settings.routes)
    for rule in settings.routes:
        matched = compile_pattern(rule.pattern).matches(path)
        considered.append({"source": "route", "pattern": rule.pattern, "ratio": rule.ratio, "matches": matched})
    if settings.schedule is not None:
        schedule = settings.schedule
        considered.append(
            {
                "source": "schedule",
                "ratio": schedule_ratio(schedule, now=now, clock_start=clock_start),
                "from_ratio": schedule.from_ratio,
                "to_ratio": schedule.to_ratio,
                "over": format_duration(schedule.over),
                "start": _format_time(_aware(schedule.start or clock_start)),
            }
        )
    considered.append({"source": "default", "ratio": settings.default_ratio})
    chosen = next(
        c for c in considered if c["source"] != "route" or (winner is not None and c["pattern"] == winner.pattern)
    )
    for candidate in considered:
        candidate["used"] = candidate is chosen
    ratio = float(chosen["ratio"])
    pattern = chosen["pattern"] if chosen["source"] == "route" else None
    return ratio, {
        "ratio": ratio,
        "source": chosen["source"],
        "pattern": pattern,
        "band": band(ratio),
        "considered": considered,
    }


def parse_settings(data: dict) -> RealitySettings:
    """Build RealitySettings from plain data, strictly: every error names its field."""
    _check_keys(data, _SETTINGS_KEYS, "reality", "")
    schedule = data.get("schedule")
    upstream = data.get("upstream")
    return RealitySettings(
        default_ratio=_ratio(data.get("default_ratio", 0.0), "default_ratio"),
        routes=_routes(data.get("routes", [])),
        schedule=None if schedule is None else _schedule(schedule),
        upstream=None if upstream is None else _upstream(upstream),
        timeout=_timeout(data.get("timeout", 3.0)),
    )


def settings_to_dict(settings: RealitySettings) -> dict:
    """Plain data for RealitySettings, in the form parse_settings reads back to an equal value."""
    schedule = settings.schedule
    return {
        "default_ratio": settings.default_ratio,
        "routes": [{"pattern": rule.pattern, "ratio": rule.ratio} for rule in settings.routes],
        "schedule": None
        if schedule is None
        else {
            "from_ratio": schedule.from_ratio,
            "to_ratio": schedule.to_ratio,
            "over": format_duration(schedule.over),
            "start": None if schedule.start is None else _format_time(schedule.start),
        },
        "upstream": settings.upstream,
        "timeout": settings.timeout,
    }


def format_duration(value: timedelta) -> str:
    """Write a duration the way parse_duration reads it: ``30d``, ``1h30m``, ``2.5s``."""
    micros = _microseconds(value)
    if micros <= 0:
        return "0s"
    days, rest = divmod(micros, 86_400_000_000)
    hours, rest = divmod(rest, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    if rest:
        parts.append(f"{format(Decimal(rest).scaleb(-6).normalize(), 'f')}s")
    return "".join(parts)


def _check_keys(data: Any, allowed: tuple[str, ...], where: str, prefix: str) -> None:
    """Raise SettingsError unless ``data`` is a mapping whose keys are all in ``allowed``."""
    if not isinstance(data, dict):
        raise SettingsError(where, f"must be a mapping with keys {', '.join(allowed)}")
    for key in data:
        if key not in allowed:
            hint = did_you_mean(key, allowed) or ";"
            raise SettingsError(f"{prefix}{key}", f"unknown key '{key}'{hint} allowed: {', '.join(allowed)}")


def _ratio(value: Any, field: str) -> float:
    """A ratio: a real number from 0 to 1 (booleans and strings refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SettingsError(field, f"must be a number from 0 to 1, got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise SettingsError(field, f"must be from 0 to 1, got {value!r}")
    return float(value)


def _routes(value: Any) -> tuple[RouteRule, ...]:
    """Route rules: a list of {pattern, ratio}, patterns valid and not repeated."""
    if not isinstance(value, (list, tuple)):
        raise SettingsError("routes", "must be a list of {pattern, ratio}, e.g. [{pattern: '/users/*', ratio: 0.5}]")
    rules: list[RouteRule] = []
    for index, item in enumerate(value):
        where = f"routes[{index}]"
        _check_keys(item, _ROUTE_KEYS, where, f"{where}.")
        for key in _ROUTE_KEYS:
            if key not in item:
                raise SettingsError(f"{where}.{key}", "is required")
        try:
            compile_pattern(item["pattern"])
        except SettingsError as error:
            raise SettingsError(f"{where}.pattern", error.message) from None
        for earlier, rule in enumerate(rules):
            if rule.pattern == item["pattern"]:
                raise SettingsError(f"{where}.pattern", f"'{rule.pattern}' is already given in routes[{earlier}]")
        rules.append(RouteRule(item["pattern"], _ratio(item["ratio"], f"{where}.ratio")))
    return tuple(rules)


def _schedule(value: Any) -> Schedule:
    """A schedule: from_ratio, to_ratio and a positive duration, with an optional RFC 3339 start."""
    _check_keys(value, _SCHEDULE_KEYS, "schedule", "schedule.")
    for key in ("from_ratio", "to_ratio", "over"):
        if key not in value:
            raise SettingsError(f"schedule.{key}", "is required")
    try:
        over = parse_duration(value["over"])
    except ValueError as error:
        raise SettingsError("schedule.over", str(error)) from None
    if over <= timedelta(0):
        raise SettingsError("schedule.over", "must be longer than zero, e.g. '30d'")
    start = value.get("start")
    if start is not None:
        try:
            start = parse_rfc3339(start)
        except ValueError as error:
            raise SettingsError("schedule.start", str(error)) from None
    return Schedule(
        _ratio(value["from_ratio"], "schedule.from_ratio"), _ratio(value["to_ratio"], "schedule.to_ratio"), over, start
    )


def _upstream(value: Any) -> str:
    """The upstream base URL: http or https with a host."""
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError("upstream", f"must be an http(s) URL such as 'https://api.example.com', got {value!r}")
    return value


def upstream_origin(url: str) -> str | None:
    """``scheme://host:port`` of an upstream URL (credentials and path dropped), or None if it has no host."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}:{port}"


def upstream_allowed(url: str, allowed: list[str]) -> bool:
    """Whether ``url`` reaches the same scheme, host and port as one of ``allowed`` (paths and
    credentials may differ: they cannot send a request to another machine)."""
    origin = upstream_origin(url)
    return origin is not None and origin in {upstream_origin(a) for a in allowed}


def _timeout(value: Any) -> float:
    """The upstream timeout in seconds, above 0 and bounded so a request cannot hang."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_TIMEOUT:
        raise SettingsError(
            "timeout", f"must be a number of seconds above 0 and at most {MAX_TIMEOUT:g}, got {value!r}"
        )
    return float(value)


def _aware(value: datetime) -> datetime:
    """Treat a naive datetime as UTC, so naive and aware times can be compared."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _microseconds(value: timedelta) -> int:
    """A timedelta as whole microseconds, for exact arithmetic."""
    return (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds


def _format_time(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, keeping microseconds when there are any."""
    return _aware(value).astimezone(UTC).isoformat().replace("+00:00", "Z")

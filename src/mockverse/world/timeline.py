"""When a parent's generated children were created: pure arithmetic on the seed's draws.

A child type is placed under its parent by one of three timelines (``count`` children after a
drawn delay, a Poisson process of mean gap ``every``, or one paced by the persona's lifecycle
states). Each function here returns the children's creation moments as whole microseconds after
the parent's creation, from the draws alone: no entity is built, nothing is read or cached, so
the index of a million personas counts their children with these and nothing else. The views turn
the offsets back into datetimes (``moments``); both read the same arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from math import log

US = timedelta(microseconds=1)
SECOND = 1_000_000   # microseconds
RATE_PERIOD = 30 * 86400   # lifecycle rates are children per 30 days

Draw = Callable[[bytes], float]   # a drawer under (seed, parent ref, child type): ``ids.unit_drawer``


def offset(moment: datetime, origin: datetime) -> int:
    """Whole microseconds from ``origin`` to ``moment`` (exact: datetimes hold microseconds)."""
    return (moment - origin) // US


def whole_seconds(moment: datetime) -> datetime:
    """``moment`` as an entity's ``created_at`` holds it (RFC 3339 to the second, UTC), which is
    what the children below it are timed from."""
    return moment.astimezone(UTC).replace(microsecond=0)


def moments(origin: datetime, offsets: Sequence[int]) -> list[datetime]:
    """The datetimes ``offsets`` microseconds after ``origin``."""
    return [origin + US * o for o in offsets]


def counted(draw: Draw, low: int, high: int, delay: tuple[float, float], now: int) -> list[int]:
    """``count: [low, high]`` children, each ``delay`` seconds (drawn within the range) after the
    parent; those not yet created by ``now`` are left out."""
    n = low + int(draw(b"count\x1f") * (high - low + 1))
    d0, d1 = delay
    if d0 == d1:   # no range to draw from: every child follows after exactly d0
        at = int(d0) * SECOND
        return [at] * n if at <= now else []
    out = []
    for k in range(1, n + 1):
        at = int(d0 + draw(b"%d\x1fdelay\x1f" % k) * (d1 - d0)) * SECOND
        if at <= now:
            out.append(at)
    return out


def spaced(draw: Draw, mean: float, limit: int, now: int) -> list[int]:
    """Up to ``limit`` children with exponential gaps of ``mean`` seconds (whole seconds each), until ``now``."""
    out: list[int] = []
    t = 0
    for k in range(1, limit + 1):
        t += int(-log(1.0 - draw(b"%d\x1fgap\x1f" % k)) * mean) * SECOND
        if t > now:
            break
        out.append(t)
    return out


def _reaches(t: int, gap: float, boundary: int) -> bool:
    """Whether ``gap`` seconds after offset ``t`` (rounded to the microsecond as a timedelta rounds
    it) is at or past ``boundary``; the float sum decides unless it lies within a microsecond."""
    end = t + gap * SECOND
    if end >= boundary + 1:
        return True
    if end < boundary - 1:
        return False
    return t + timedelta(seconds=gap) // US >= boundary


def paced(draw: Draw, segments: Sequence[tuple[int, float]], limit: int, now: int) -> list[int]:
    """Up to ``limit`` children placed by a piecewise Poisson process: ``segments`` are (start
    offset, rate per second) in order, the first starting at 0. A gap that would cross into the
    next segment is drawn again from there (memoryless), so a segment entered later never moves
    what happened before it; a rate of 0 places nothing until the next segment."""
    out: list[int] = []
    t, j, k, last = 0, 0, 1, len(segments) - 1
    while True:
        while j < last and segments[j + 1][0] <= t:
            j += 1
        if k > limit or t > now:
            return out
        rate = segments[j][1]
        boundary = segments[j + 1][0] if j < last else None
        if rate <= 0:
            if boundary is None:
                return out
            t = boundary
            continue
        tail = b"\x1fgap\x1f%d\x1f" % j
        while k <= limit:   # the gaps within segment j
            gap = -log(1.0 - draw(b"%d%b" % (k, tail))) / rate
            if boundary is not None and t + gap * SECOND >= boundary - 1 and _reaches(t, gap, boundary):
                t = boundary
                break
            t += int(gap) * SECOND
            if t > now:
                return out
            out.append(t)
            k += 1

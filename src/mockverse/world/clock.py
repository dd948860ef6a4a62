"""Per-workspace virtual clock, persisted in the store.

A workspace's clock starts at the world's epoch and stands still until a user moves it
(advance, set, reset to real time), so the same moves give the same world in every
process. ``start`` is where the clock began; generated personas' lifecycle moments and
reality schedules are anchored there, so moving ``now`` ages them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mockverse.store import Store
from mockverse.timeutil import format_rfc3339, parse_duration, parse_rfc3339

KEY = "clock"
# The range a virtual now may take: wide enough for any scenario, narrow enough that every
# timestamp generated around it (signups years before, children days after) stays a valid date.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ClockState:
    now: datetime
    start: datetime
    moved: bool

    def to_dict(self, workspace: str) -> dict:
        return {"workspace_id": workspace, "now": format_rfc3339(self.now), "start": format_rfc3339(self.start),
                "elapsed_seconds": int((self.now - self.start).total_seconds()), "moved": self.moved}


def state(stored: dict | None, epoch: datetime) -> ClockState:
    """The clock a stored clock setting (or none: standing at ``epoch``) describes."""
    if not stored:
        return ClockState(epoch, epoch, False)
    return ClockState(parse_rfc3339(stored["now"]), parse_rfc3339(stored.get("start") or format_rfc3339(epoch)), True)


def read(store: Store, workspace: str, epoch: datetime) -> ClockState:
    return state(store.get_setting(workspace, KEY), epoch)


def _checked(now: datetime) -> datetime:
    if not EARLIEST <= now < LATEST:
        raise ValueError(f"the clock must stay between {format_rfc3339(EARLIEST)} and {format_rfc3339(LATEST)}")
    return now


def _move(store: Store, workspace: str, epoch: datetime, to: Callable[[ClockState], datetime]) -> ClockState:
    """Move the clock atomically: read, compute the new now, write, in one store transaction, so
    concurrent moves from several workers or instances never lose one."""
    def change(stored: dict | None) -> dict:
        current = state(stored, epoch)
        return {"now": format_rfc3339(to(current)), "start": format_rfc3339(current.start)}
    return state(store.update_setting(workspace, KEY, change), epoch)


def advance(store: Store, workspace: str, epoch: datetime, by: str) -> ClockState:
    """Move now forward by a duration such as ``7d``, ``36h`` or ``90m``."""
    step = parse_duration(by)
    if step <= timedelta(0):
        raise ValueError("the duration must be positive: the clock only advances forward")

    def forward(current: ClockState) -> datetime:
        if step >= LATEST - current.now:
            raise ValueError(f"the clock must stay before {format_rfc3339(LATEST)}; that step would pass it")
        return current.now + step
    return _move(store, workspace, epoch, forward)


def set_to(store: Store, workspace: str, epoch: datetime, to: str) -> ClockState:
    """Set now to an RFC 3339 moment (earlier moments are allowed; nothing runs backwards)."""
    moment = _checked(parse_rfc3339(to))
    return _move(store, workspace, epoch, lambda current: moment)


def reset(store: Store, workspace: str, epoch: datetime, real_now: datetime | None = None) -> ClockState:
    """Back to real time: now becomes the wall-clock moment of the reset."""
    now = (real_now or datetime.now(UTC)).replace(microsecond=0)
    return _move(store, workspace, epoch, lambda current: now)

"""Per-workspace virtual clock, persisted in the store.

A workspace's clock starts at the world's epoch and stands still until a user moves it
(advance, set, reset to real time), so the same moves give the same world in every
process. ``start`` is where the clock began; generated personas' lifecycle moments and
reality schedules are anchored there, so moving ``now`` ages them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from mockverse.store import Store
from mockverse.timeutil import format_rfc3339, parse_duration, parse_rfc3339

KEY = "clock"


@dataclass(frozen=True)
class ClockState:
    now: datetime
    start: datetime
    moved: bool

    def to_dict(self, workspace: str) -> dict:
        return {"workspace_id": workspace, "now": format_rfc3339(self.now), "start": format_rfc3339(self.start),
                "elapsed_seconds": int((self.now - self.start).total_seconds()), "moved": self.moved}


def read(store: Store, workspace: str, epoch: datetime) -> ClockState:
    stored = store.get_setting(workspace, KEY)
    if not stored:
        return ClockState(epoch, epoch, False)
    return ClockState(parse_rfc3339(stored["now"]), parse_rfc3339(stored.get("start") or format_rfc3339(epoch)), True)


def _write(store: Store, workspace: str, state: ClockState) -> ClockState:
    store.put_setting(workspace, KEY, {"now": format_rfc3339(state.now), "start": format_rfc3339(state.start)})
    return ClockState(state.now, state.start, True)


def advance(store: Store, workspace: str, epoch: datetime, by: str) -> ClockState:
    """Move now forward by a duration such as ``7d``, ``36h`` or ``90m``."""
    step = parse_duration(by)
    if step <= timedelta(0):
        raise ValueError("the duration must be positive: the clock only advances forward")
    current = read(store, workspace, epoch)
    return _write(store, workspace, ClockState(current.now + step, current.start, True))


def set_to(store: Store, workspace: str, epoch: datetime, to: str) -> ClockState:
    """Set now to an RFC 3339 moment (earlier moments are allowed; nothing runs backwards)."""
    current = read(store, workspace, epoch)
    return _write(store, workspace, ClockState(parse_rfc3339(to), current.start, True))


def reset(store: Store, workspace: str, epoch: datetime, real_now: datetime | None = None) -> ClockState:
    """Back to real time: now becomes the wall-clock moment of the reset."""
    current = read(store, workspace, epoch)
    now = (real_now or datetime.now(timezone.utc)).replace(microsecond=0)
    return _write(store, workspace, ClockState(now, current.start, True))

"""Generated existence: which generated entities exist and when each was created.

A top-level entity exists by its position in the population and signed up at a drawn moment
before the clock's start; a child exists while its timeline (``world/timeline.py``: a count,
spaced gaps, or gaps paced by the persona's lifecycle) has placed it by the view's now.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from mockverse.timeutil import format_rfc3339, parse_rfc3339
from mockverse.world import timeline
from mockverse.world.lifecycle import LifecycleState
from mockverse.world.model import EntityType
from mockverse.world.persona import Personas

if TYPE_CHECKING:
    from mockverse.world.view import WorldView


def root_created_at(view: WorldView, entity: EntityType, id: object) -> datetime:
    """When a generated top-level entity was created: before the clock's start (personas
    drawn as NewSignup signed up within the last days)."""
    personas = view.engine.personas
    if personas is not None and personas.is_persona(entity):
        return view.clock_start - personas.signup_offset(view, f"{entity.name}:{id}", entity.config.created_within)
    window = entity.config.created_within.total_seconds()
    return view.clock_start - timedelta(seconds=int(view.gen.draw(entity.name, id, "created") * window))


def child_times(view: WorldView, parent: EntityType, parent_id: object, parent_created: datetime,
                child: EntityType) -> list[datetime]:
    """Creation times of the generated children of one parent that exist by now."""
    cfg = child.config
    personas = view.engine.personas
    # unless paced by a lifecycle (which users change), times depend on the seed, now and the parent only
    if cfg.count is None and cfg.paced_by_lifecycle and personas is not None and personas.is_persona(parent):
        return view.cached(("times", parent.name, parent_id, child.name),
                           lambda: _paced_times(view, personas, parent, parent_id, parent_created, child))
    key = ("t", view.snap.seed, view.now, parent.name, parent_id, parent_created, child.name)
    times = view.engine.generated.get(key)   # shared by workspaces: the timeline alone, before any room cut
    if times is None:
        offsets = _timeline_offsets(view, parent, parent_id, parent_created, child, None)
        times = view.engine.generated.put(key, timeline.moments(parent_created, offsets))
    room = child.scoped_room(view, parent_id)   # the workspace's: a moved parent changes it
    return times if room is None else times[:room]


def generated_offsets(view: WorldView, parent: EntityType, parent_id: object, parent_created: datetime,
                      child: EntityType, segments: list[tuple[datetime, LifecycleState]] | None = None) -> list[int]:
    """Creation moments of one parent's generated children (microseconds after ``parent_created``),
    by the child type's timeline; a paced one follows ``segments`` (the persona's lifecycle); no more than the
    parent has room for when each child holds a distinct target (a channel's members: its service's users)."""
    offsets = _timeline_offsets(view, parent, parent_id, parent_created, child, segments)
    room = child.scoped_room(view, parent_id)
    return offsets if room is None else offsets[:room]


def _timeline_offsets(view: WorldView, parent: EntityType, parent_id: object, parent_created: datetime,
                      child: EntityType, segments: list[tuple[datetime, LifecycleState]] | None) -> list[int]:
    """Creation moments of one parent's generated children by the child type's timeline alone."""
    cfg = child.config
    draw = view.gen.drawer(f"{parent.name}:{parent_id}", child.name)
    now = timeline.offset(view.now, parent_created)
    if cfg.count is not None:
        delay = (cfg.delay[0].total_seconds(), cfg.delay[1].total_seconds())
        return timeline.counted(draw, cfg.count[0], cfg.count[1], delay, now)
    assert cfg.every is not None, "a child type has 'count' or 'every'"
    if segments is None:
        return timeline.spaced(draw, cfg.every.total_seconds(), cfg.max_children, now)
    personas = view.engine.personas
    assert personas is not None, "a paced timeline follows a persona's lifecycle"
    rates = personas.config.rates
    paced = [(timeline.offset(max(at, parent_created), parent_created),
              rates.get(state, 0.0) / timeline.RATE_PERIOD) for at, state in segments]
    return timeline.paced(draw, paced, cfg.max_children, now)


def _paced_times(
    view: WorldView, personas: Personas, parent: EntityType, parent_id: object, created: datetime, child: EntityType
) -> list[datetime]:
    """Children placed at the rate of the persona's lifecycle state at each moment: a
    piecewise Poisson process (rates per 30 days from the lifecycle config), so a PowerUser
    orders more often, a Churned persona not at all, and the same advance gives the same
    orders. A state entered later never changes what happened before it."""
    # its record, not its derivations (its own children must not re-time it); unchanged, only its signup counts
    unchanged = view.stored(parent, parent_id) is None
    ref = f"{parent.name}:{parent_id}"
    if unchanged and personas.stored(view, ref) is None and view.is_generated(parent, parent_id):
        segments = personas.generated_segments(view, ref, timeline.whole_seconds(created))   # its drawn steps alone
    else:
        data = {"created_at": format_rfc3339(created)} if unchanged else view._base(parent, parent_id)
        life = personas.lifecycle(view, parent, parent_id, data or {})
        segments = life.segments or [(created, life.state)]
    return timeline.moments(created, generated_offsets(view, parent, parent_id, created, child, segments))


def origin(view: WorldView, entity: EntityType, id: object) -> tuple[datetime, object] | None:
    """(creation time, parent id) of a generated entity, or None if the generator has no such id."""
    if entity.parent is None:
        index = entity.root_index(id)
        return None if index is None else (root_created_at(view, entity, id), None)
    split = entity.split_id(id)
    if split is None:
        return None
    parent_id, k = split
    parent = view.get(entity.parent, parent_id)
    if parent is None or not is_generated(view, entity.parent, parent_id):
        return None
    created = created_at_of(view, entity.parent, parent)
    times = child_times(view, entity.parent, parent_id, created, entity)
    if k > len(times):
        return None
    return times[k - 1], parent_id


def created_at_of(view: WorldView, entity: EntityType, data: dict) -> datetime:
    """When an entity was created, by its ``created_at`` (the view's now when it has none)."""
    value = data.get("created_at")
    if isinstance(value, str):
        try:
            return parse_rfc3339(value)
        except ValueError:
            pass
    return view.now


def is_generated(view: WorldView, entity: EntityType, id: object) -> bool:
    """Whether the generator has this entity (a stored record may lie over it)."""
    if entity.parent is None:   # a top-level one by its position alone, without drawing when it was made
        return entity.root_index(id) is not None
    return origin(view, entity, id) is not None



"""Personas: where a persona's lifecycle comes from, and what it changes.

A persona's lifecycle is resolved, never stored unless a user sets it:
- a state a user set (``POST /api/v1/consistency/persona/lifecycle``) is stored with its history;
- otherwise the config (``consistency.personas.lifecycle_states``) names it;
- otherwise the generated mix decides, deterministically from the seed and the ref, with a
  plausible history (signed up as NewSignup, Active a week later, then the drawn state);
then the transition rules catch up to the workspace's virtual now. Reading a persona after
the clock moved shows the state it has reached, each step stamped with its virtual moment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeGuard

from mockverse import yamlsafe
from mockverse.config import PersonasConfig
from mockverse.store import entity_tag
from mockverse.timeutil import format_rfc3339, parse_rfc3339
from mockverse.world.lifecycle import (
    LifecycleConfig,
    LifecycleError,
    LifecycleState,
    apply_effects,
    catch_up,
    load_lifecycle_config,
    parse_state,
    state_for_generated,
)

if TYPE_CHECKING:
    from mockverse.world.engine import Snapshot
    from mockverse.world.generate import Generator
    from mockverse.world.model import EntityType

SCOPE = "$scope"
RECENT_SIGNUP = timedelta(days=6)


class Settings(Protocol):
    """The part of a store a persona's record lives in: one setting per persona, changed atomically."""

    def get_setting(self, workspace: str, key: str) -> Any: ...
    def update_setting(self, workspace: str, key: str, change: Callable[[Any], Any]) -> Any: ...


class PersonaView(Protocol):
    """What personas read of a workspace's world (a :class:`~mockverse.world.engine.WorldView` is one):
    its clock, its draws, when entities were created, the persona records; and what they tell it."""

    @property
    def workspace(self) -> str: ...
    @property
    def now(self) -> datetime: ...
    @property
    def clock_start(self) -> datetime: ...
    @property
    def snap(self) -> Snapshot: ...
    @property
    def gen(self) -> Generator: ...
    @property
    def store(self) -> Settings: ...
    def created_at_of(self, entity: EntityType, data: dict) -> datetime: ...
    def is_generated(self, entity: EntityType, id: object) -> bool: ...
    def emit(self, type: str, **payload: Any) -> None: ...
    def note(self, tag: str) -> None: ...
    def cached(self, parts: tuple, compute: Callable[[], Any]) -> Any: ...
    def reopened(self) -> PersonaView: ...
    def persona_handle(self, ref: str) -> Persona: ...


@dataclass
class Lifecycle:
    """A persona's lifecycle at the view's now: state, when it was entered, the whole history."""

    ref: str
    state: LifecycleState
    entered_at: datetime
    history: list[dict]
    metadata: dict
    source: str                     # "set" | "config" | "generated" | "default"
    next_transition: dict | None = None
    segments: list[tuple[datetime, LifecycleState]] = field(default_factory=list)

    def state_at(self, moment: datetime) -> LifecycleState:
        current = self.segments[0][1] if self.segments else self.state
        for start, state in self.segments:
            if start <= moment:
                current = state
            else:
                break
        return current

    def to_dict(self, now: datetime, workspace: str) -> dict:
        seconds = max(0, int((now - self.entered_at).total_seconds()))
        return {"workspace_id": workspace, "persona_id": self.ref, "lifecycle_state": self.state.value,
                "state": self.state.value, "entered_at": format_rfc3339(self.entered_at),
                "time_in_state_seconds": seconds, "history": self.history, "metadata": self.metadata,
                "source": self.source, "next_transition": self.next_transition, "now": format_rfc3339(now)}


def merged_lifecycle_config(personas: PersonasConfig) -> LifecycleConfig:
    """The bundled lifecycle (``builtin/lifecycle.yaml``) with the config's parts laid over:
    mix, rules and rates replaced whole when given; effects replaced per facet. A config that
    names ``default_lifecycle_state`` and no ``lifecycle_mix`` starts every persona in that state."""
    bundled = yamlsafe.bundled("lifecycle.yaml")
    mix = bundled["mix"]
    if personas.lifecycle_mix is not None or personas.default_lifecycle_state is not None:
        mix = personas.lifecycle_mix or None     # None: the default state alone
    return load_lifecycle_config({
        "default_state": personas.default_lifecycle_state or bundled["default_state"],
        "mix": mix,
        "rules": bundled["rules"] if personas.lifecycle_rules is None else personas.lifecycle_rules,
        "rates": bundled["rates"] if personas.lifecycle_rates is None else personas.lifecycle_rates,
        "effects": {**bundled["effects"], **(personas.lifecycle_effects or {})},
    })


class Personas:
    """Resolves and changes personas' lifecycles for one served world."""

    def __init__(self, personas: PersonasConfig, persona_type: EntityType | None) -> None:
        self.config = merged_lifecycle_config(personas)
        self.type = persona_type
        self.configured: dict[str, LifecycleState] = {}
        for i, item in enumerate(personas.lifecycle_states):
            try:
                self.configured[item.persona_id] = parse_state(item.state)
            except LifecycleError as exc:
                raise ValueError(f"consistency.personas.lifecycle_states[{i}].state: {exc.message}") from None
        self.min_after: dict[LifecycleState, timedelta] = {}
        for rule in self.config.rules:
            current = self.min_after.get(rule.from_state)
            self.min_after[rule.from_state] = rule.after if current is None else min(current, rule.after)

    def is_persona(self, entity: EntityType) -> bool:
        return self.type is not None and entity is self.type

    # -- generated personas -------------------------------------------------------------------
    def initial_state(self, view: PersonaView, ref: str) -> LifecycleState:
        """The state a persona starts the world in: configured, else drawn from the mix."""
        if ref in self.configured:
            return self.configured[ref]
        return state_for_generated(view.gen.draw(ref, "lifecycle"), self.config.mix)

    def signup_offset(self, view: PersonaView, ref: str, window: timedelta) -> timedelta:
        """How long before the clock's start a generated persona signed up (NewSignups: recently)."""
        span = RECENT_SIGNUP if self.initial_state(view, ref) == LifecycleState.NEW_SIGNUP else window
        return timedelta(seconds=int(view.gen.draw(ref, "created") * span.total_seconds()))

    def _generated_history(self, view: PersonaView, ref: str, signup: datetime, start: datetime,
                           state: LifecycleState) -> list[tuple[datetime, LifecycleState, str]]:
        history = [(signup, LifecycleState.NEW_SIGNUP, "signup")]
        if state == LifecycleState.NEW_SIGNUP:
            return history
        active_at = min(signup + timedelta(days=7), start)
        history.append((active_at, LifecycleState.ACTIVE, "generated"))
        if state == LifecycleState.ACTIVE:
            return history
        # entered recently enough that no rule has fired by the clock's start
        limit = self.min_after.get(state, timedelta(days=180)) * 0.9
        entered = start - timedelta(seconds=int(view.gen.draw(ref, "entered") * limit.total_seconds()))
        history.append((max(entered, active_at), state, "generated"))
        return history

    def _generated_metadata(self, view: PersonaView, ref: str, state: LifecycleState) -> dict:
        logins = int(view.gen.draw(ref, "logins") * 40) + (120 if state == LifecycleState.POWER_USER else 1)
        meta: dict[str, Any] = {"login_count": logins,
                                "failed_payment_count": 1 + int(view.gen.draw(ref, "failed") * 3)
                                if state == LifecycleState.PAYMENT_FAILED else 0}
        return meta

    # -- resolution ---------------------------------------------------------------------------
    def lifecycle(self, view: PersonaView, entity: EntityType, id: object, data: dict) -> Lifecycle:
        """The persona's lifecycle at the view's now, cached until its record or its lifecycle record changes."""
        ref = f"{entity.name}:{id}"

        def resolve() -> Lifecycle:
            view.note(entity_tag(entity.name, str(id)))   # ``data`` (its signup time) is the persona's record
            return self._resolve(view, entity, id, data, self.stored(view, ref))
        return view.cached(("lc", ref), resolve)

    def stored(self, view: PersonaView, ref: str) -> dict | None:
        """The lifecycle a user set for the persona ``ref`` (its history and metadata), or None."""
        return view.store.get_setting(view.workspace, f"lifecycle:{ref}")

    def _resolve(self, view: PersonaView, entity: EntityType, id: object, data: dict,
                 stored: dict | None) -> Lifecycle:
        """The lifecycle from a stored record (or none: config, then the generated mix), caught up to now."""
        ref = f"{entity.name}:{id}"
        steps: list[tuple[datetime, LifecycleState, str]]
        if stored:
            steps = [(parse_rfc3339(h["entered_at"]), LifecycleState(h["state"]), h.get("source", "set"))
                     for h in stored["history"]]
            metadata, source = dict(stored.get("metadata", {})), "set"
        else:
            signup = view.created_at_of(entity, data)
            if view.is_generated(entity, id):
                steps, metadata = self._generated_steps(view, ref, signup)
                source = "config" if ref in self.configured else "generated"
            else:
                state = self.configured.get(ref, self.config.default_state)
                steps = [(signup, state, "created")]
                metadata, source = with_failed_payment(state, {"login_count": 0, "failed_payment_count": 0}), "default"
        facts = self._caught_up(view.now, steps, metadata)
        history = [{"state": s.value, "entered_at": format_rfc3339(at), "source": src} for at, s, src in steps]
        return Lifecycle(ref, steps[-1][1], steps[-1][0], history, metadata, source,
                         self._next(steps[-1][1], steps[-1][0], facts), [(at, s) for at, s, _ in steps])

    def generated_segments(self, view: PersonaView, ref: str,
                           signup: datetime) -> list[tuple[datetime, LifecycleState]]:
        """The states a generated persona nobody changed went through by the view's now (what paces
        its children): the same steps as its lifecycle, without reading, caching or formatting."""
        steps, metadata = self._generated_steps(view, ref, signup)
        self._caught_up(view.now, steps, metadata)
        return [(at, state) for at, state, _ in steps]

    def _generated_steps(self, view: PersonaView, ref: str,
                         signup: datetime) -> tuple[list[tuple[datetime, LifecycleState, str]], dict]:
        """A generated persona's drawn history and metadata at the clock's start."""
        state = self.initial_state(view, ref)
        return (self._generated_history(view, ref, signup, view.clock_start, state),
                self._generated_metadata(view, ref, state))

    def _caught_up(self, now: datetime, steps: list[tuple[datetime, LifecycleState, str]], metadata: dict) -> dict:
        """Append to ``steps`` the rules that fired by ``now``; the facts the rules read."""
        state, entered = steps[-1][1], steps[-1][0]
        facts = {**metadata, "metadata": metadata}
        fired = catch_up(state, entered, now, self.config.rules, facts) if now >= entered else []
        for t in fired:
            steps.append((t.at, t.to_state, f"rule:{t.rule}"))
        return facts

    def _next(self, state: LifecycleState, entered: datetime, facts: dict) -> dict | None:
        """The next scheduled transition if nothing else changes: the earliest rule that holds."""
        best = None
        for rule in self.config.rules:
            if rule.from_state != state:
                continue
            at = entered + rule.after
            days = rule.after.total_seconds() / 86400
            if rule.condition is not None and not rule.condition.evaluate({**facts, "days_in_state": days}):
                continue
            if best is None or at < best[0]:
                best = (at, rule)
        if best is None:
            return None
        return {"to": best[1].to_state.value, "at": format_rfc3339(best[0]), "rule": best[1].name or
                f"{best[1].from_state.value}->{best[1].to_state.value}"}

    # -- effects --------------------------------------------------------------------------------
    def effects_for(self, facet: str, state: LifecycleState) -> dict | None:
        table = self.config.effects.get(facet)
        return None if table is None else table.get(state, {})

    def effect_fields(self, facet: str) -> set[str]:
        return {k for cells in self.config.effects.get(facet, {}).values() for k in cells if k != SCOPE}

    def apply(self, facet: str, body: dict, life: Lifecycle, now: datetime, latest: bool = True) -> dict:
        """Lay the state's effects for ``facet`` over ``body`` (a facet's body is generated without
        the fields any state sets, so only the current state's appear; an entity keeps its own)."""
        cells = self.effects_for(facet, life.state)
        if not cells:
            return body
        if cells.get(SCOPE) == "latest" and not latest:
            return body
        out = dict(body)
        context = {"state": life.state.value, "entered_at": format_rfc3339(life.entered_at),
                   "metadata": life.metadata, "persona_id": life.ref, "now": format_rfc3339(now)}
        return apply_effects(out, {k: v for k, v in cells.items() if k != SCOPE}, context)

    # -- writes ---------------------------------------------------------------------------------
    def set_state(self, view: PersonaView, entity: EntityType, id: object, data: dict, state: LifecycleState,
                  metadata: dict | None = None) -> None:
        """Move the persona to ``state`` at the view's now; the history keeps every earlier step.
        Read, change and write happen in one store transaction, so concurrent changes all count."""
        ref = f"{entity.name}:{id}"
        moved: dict = {}

        check_failed_payments(state, metadata or {}, "metadata.failed_payment_count")

        def change(stored: dict | None) -> dict:
            current = self._resolve(view, entity, id, data, stored)
            history = list(current.history)
            moved.clear()
            if current.state != state:
                at = max(view.now, current.entered_at)  # time never runs backwards for a persona
                history.append({"state": state.value, "entered_at": format_rfc3339(at), "source": "set"})
                moved.update(from_state=current.state.value, at=history[-1]["entered_at"], step=len(history) - 1)
            return {
                "history": history,
                "metadata": with_failed_payment(state, {**current.metadata, **(metadata or {})}),
            }

        view.store.update_setting(view.workspace, f"lifecycle:{ref}", change)
        if moved:
            view.emit("persona.lifecycle_changed", ref=ref, to_state=state.value, source="set", **moved)
        else:  # same state: the persona is still set up by the user (its record is stored)
            view.emit("persona.metadata_changed", ref=ref, metadata=metadata or {})

    def patch_metadata(self, view: PersonaView, entity: EntityType, id: object, data: dict, metadata: dict) -> None:
        """Merge metadata into the persona's record, atomically."""
        def change(stored: dict | None) -> dict:
            current = self._resolve(view, entity, id, data, stored)
            check_failed_payments(current.state, metadata, "metadata.failed_payment_count")
            return {"history": current.history, "metadata": {**current.metadata, **metadata}}

        view.store.update_setting(view.workspace, f"lifecycle:{entity.name}:{id}", change)
        view.emit("persona.metadata_changed", ref=f"{entity.name}:{id}", metadata=metadata)


def with_failed_payment(state: LifecycleState, metadata: dict) -> dict:
    """``metadata`` of a persona entering ``state``: a PaymentFailed persona's latest payment failed,
    so its ``failed_payment_count`` is at least 1."""
    count = metadata.get("failed_payment_count")
    if state != LifecycleState.PAYMENT_FAILED or (_is_count(count) and count >= 1):
        return metadata
    return {**metadata, "failed_payment_count": 1}


def check_failed_payments(state: LifecycleState, metadata: dict, field: str) -> None:
    """Refuse a ``failed_payment_count`` below 1 for a PaymentFailed persona: its latest payment failed."""
    count = metadata.get("failed_payment_count")
    if state == LifecycleState.PAYMENT_FAILED and "failed_payment_count" in metadata and not (
            _is_count(count) and count >= 1):
        raise LifecycleError(field, f"a PaymentFailed persona's latest payment failed, so failed_payment_count is "
                                    f"at least 1 (got {count!r}); set the state to Active for a recovered payment")


def _is_count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


class Persona:
    """One persona as seen by one workspace view: its lifecycle, and the calls that change it.

    >>> persona = engine.persona("default", "user:456")
    >>> persona.update_lifecycle_state(LifecycleState.CHURN_RISK)
    >>> persona.apply_lifecycle_effects("billing", {"user_id": 456})
    """

    def __init__(self, view: PersonaView, personas: Personas, entity: EntityType, id: object, data: dict) -> None:
        self.view, self.personas, self.entity, self.id, self.data = view, personas, entity, id, data

    @property
    def ref(self) -> str:
        return f"{self.entity.name}:{self.id}"

    @property
    def lifecycle(self) -> Lifecycle:
        return self.personas.lifecycle(self.view, self.entity, self.id, self.data)

    @property
    def state(self) -> LifecycleState:
        return self.lifecycle.state

    def update_lifecycle_state(self, state: LifecycleState | str, metadata: dict | None = None) -> Persona:
        """Enter ``state`` now (virtual time); returns the persona as the next request sees it."""
        parsed = state if isinstance(state, LifecycleState) else parse_state(state)
        self.personas.set_state(self.view, self.entity, self.id, self.data, parsed, metadata)
        return self.view.reopened().persona_handle(self.ref)

    def update_metadata(self, metadata: dict) -> Persona:
        """Merge ``metadata`` (read by transition rules and effect placeholders)."""
        self.personas.patch_metadata(self.view, self.entity, self.id, self.data, metadata)
        return self.view.reopened().persona_handle(self.ref)

    def apply_lifecycle_effects(self, facet: str | None = None, body: dict | None = None) -> dict:
        """``body`` as this persona's state shapes it for ``facet`` (billing, support, an entity type);
        with no arguments, the persona's own fields with its state's effects on its own type."""
        return self.personas.apply(facet or self.entity.name, dict(self.data) if body is None else body,
                                   self.lifecycle, self.view.now)

    def to_dict(self) -> dict:
        return self.lifecycle.to_dict(self.view.now, self.view.workspace)

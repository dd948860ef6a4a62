"""Persona lifecycle: states, transition rules, time catch-up and response effects.

Pure logic, no HTTP and no storage. A persona is in one ``LifecycleState``; rules such as
"NewSignup -> Active after 7d" move it as the workspace's virtual clock moves, and each
state's effects shape what endpoints (billing, support, ...) return.

Effect values may hold placeholders: ``{{ state }}``, ``{{ entered_at }}``,
``{{ persona_id }}``, ``{{ now }}`` and ``{{ metadata.<key> }}``, with one filter,
``{{ metadata.failed_payment_count | default(0) }}``, used when the value is missing or
null. A string that is exactly one placeholder keeps the value's type (an int stays an
int); placeholders inside longer text are written out (null as nothing, booleans as
``true``/``false``). Unknown placeholders are errors when the config is loaded.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

from mockverse import yamlsafe
from mockverse.problems import did_you_mean
from mockverse.timeutil import parse_duration
from mockverse.world.conditions import Condition, ConditionError, is_number, lookup_name, parse_literal


class LifecycleState(StrEnum):
    """Where a persona is in its life as a customer."""

    NEW_SIGNUP = "NewSignup"
    ACTIVE = "Active"
    CHURN_RISK = "ChurnRisk"
    CHURNED = "Churned"
    UPGRADE_PENDING = "UpgradePending"
    PAYMENT_FAILED = "PaymentFailed"
    POWER_USER = "PowerUser"
    # aliases (the same members): the canonical spellings, and NEW as some overviews write NewSignup
    NewSignup = "NewSignup"
    Active = "Active"
    ChurnRisk = "ChurnRisk"
    Churned = "Churned"
    UpgradePending = "UpgradePending"
    PaymentFailed = "PaymentFailed"
    PowerUser = "PowerUser"
    NEW = "NewSignup"


STATE_NAMES = [s.value for s in LifecycleState]
STATES = list(LifecycleState)   # in declaration order (iterating the enum itself is slow in a hot loop)


class LifecycleError(ValueError):
    """Lifecycle input that cannot be used; ``field`` names it, ``allowed`` lists valid values."""

    def __init__(self, field: str, message: str, allowed: list[str] | None = None) -> None:
        self.field, self.message, self.allowed = field, message, allowed
        super().__init__(f"{field}: {message}" if field else message)


# -- states -------------------------------------------------------------------------------------

def _squash(text: str) -> str:
    """Lower-case ``text`` without ``_``, ``-`` and spaces, so aliases compare equal."""
    return re.sub(r"[\s_-]+", "", text).lower()


_BY_SQUASHED = {**{_squash(name): s for name, s in LifecycleState.__members__.items()},
                **{_squash(s.value): s for s in LifecycleState}}


def parse_state(value: str, field: str = "lifecycle_state") -> LifecycleState:
    """Parse ``ChurnRisk``, ``CHURN_RISK``, ``churn-risk``, ``Churn Risk`` (or ``NEW`` for NewSignup) to a state."""
    if isinstance(value, LifecycleState):
        return value
    state = _BY_SQUASHED.get(_squash(value)) if isinstance(value, str) else None
    if state is None:
        hint = did_you_mean(value, STATE_NAMES) or "."
        raise LifecycleError(field, f"'{value}' is not a lifecycle state{hint} Valid states: {', '.join(STATE_NAMES)}",
                             list(STATE_NAMES))
    return state


# -- rules and catch-up -------------------------------------------------------------------------

@dataclass(frozen=True)
class TransitionRule:
    """Move a persona from ``from_state`` to ``to_state`` once it has been there ``after``, if ``condition`` holds."""

    from_state: LifecycleState
    to_state: LifecycleState
    after: timedelta
    condition: Condition | None = None
    name: str = ""

    @property
    def label(self) -> str:
        """The rule's name, or ``From->To`` when it has none."""
        return self.name or f"{self.from_state.value}->{self.to_state.value}"


@dataclass(frozen=True)
class Transition:
    """One fired rule: the persona entered ``to_state`` at the virtual moment ``at``."""

    from_state: LifecycleState
    to_state: LifecycleState
    at: datetime
    rule: str


_RULE_KEYS = ["from", "to", "after", "when", "name"]


def _reject_unknown_keys(data: Mapping[str, Any], allowed: list[str], field: str) -> None:
    """Unknown keys are errors naming the key, the closest allowed one and all allowed ones."""
    for key in data:
        if key not in allowed:
            hint = did_you_mean(key, allowed) or "."
            where = f"{field}.{key}" if field else str(key)
            raise LifecycleError(where, f"unknown key '{key}'{hint} Allowed here: {', '.join(allowed)}", allowed)


def _rule_duration(value: Any, field: str) -> timedelta:
    """A rule's ``after``: a duration string longer than zero."""
    try:
        after = parse_duration(value)
    except ValueError as exc:
        raise LifecycleError(field, str(exc)) from None
    if after <= timedelta(0):
        raise LifecycleError(field, f"'{value}' must be longer than zero, e.g. '7d'")
    return after


def _rule_condition(value: Any, field: str) -> Condition | None:
    """A rule's ``when``: absent, or a condition string."""
    if value is None:
        return None
    try:
        return Condition.parse(value)
    except ConditionError as exc:
        raise LifecycleError(field, exc.message) from None


def _parse_rule(item: Any, field: str) -> TransitionRule:
    """One rule mapping ``{from, to, after, when?, name?}``, strictly."""
    if not isinstance(item, Mapping):
        raise LifecycleError(field, "a rule is a mapping such as {from: NewSignup, to: Active, after: 7d}")
    _reject_unknown_keys(item, _RULE_KEYS, field)
    for key in ("from", "to", "after"):
        if key not in item:
            raise LifecycleError(f"{field}.{key}", "is required")
    source = parse_state(item["from"], f"{field}.from")
    target = parse_state(item["to"], f"{field}.to")
    if source == target:
        raise LifecycleError(f"{field}.to", f"must differ from 'from' ({source.value}); a rule changes the state")
    name = item.get("name", "")
    if not isinstance(name, str):
        raise LifecycleError(f"{field}.name", "must be a string")
    return TransitionRule(source, target, _rule_duration(item["after"], f"{field}.after"),
                          _rule_condition(item.get("when"), f"{field}.when"), name or f"{source.value}->{target.value}")


def parse_rules(data: list[dict]) -> list[TransitionRule]:
    """Parse rule mappings strictly; errors name the field (``rules[2].after``) and what is allowed."""
    if not isinstance(data, list):
        raise LifecycleError("rules", "must be a list of rules such as [{from: NewSignup, to: Active, after: 7d}]")
    return [_parse_rule(item, f"rules[{i}]") for i, item in enumerate(data)]


def _next_firing(state: LifecycleState, entered_at: datetime, rules: list[TransitionRule],
                 facts: Mapping[str, Any]) -> tuple[datetime, TransitionRule] | None:
    """The earliest rule out of ``state`` whose condition holds (ties: first in list order)."""
    best: tuple[datetime, TransitionRule] | None = None
    for rule in rules:
        if rule.from_state != state:
            continue
        at = entered_at + rule.after
        if best is not None and at >= best[0]:
            continue
        days = rule.after.total_seconds() / 86400
        if rule.condition is None or rule.condition.evaluate({**facts, "days_in_state": days}):
            best = (at, rule)
    return best


def catch_up(state: LifecycleState, entered_at: datetime, now: datetime, rules: list[TransitionRule],
             facts: dict, max_steps: int = 1000) -> list[Transition]:
    """Every rule that fires between ``entered_at`` and ``now``, in order, each stamped with its moment.

    Each step enters its new state at exactly its firing time. A clock set before
    ``entered_at`` fires nothing; at most ``max_steps`` fire, and a cycle of rules that
    takes no time stops as soon as it would repeat a state at the same moment.
    """
    if now < entered_at:
        return []
    fired: list[Transition] = []
    entered_now = {state}           # states entered at the current moment
    while len(fired) < max_steps:
        step = _next_firing(state, entered_at, rules, facts)
        if step is None or step[0] > now:
            break
        at, rule = step
        if at > entered_at:
            entered_now = set()
        elif rule.to_state in entered_now:
            break                   # a cycle that takes no time would never end
        entered_now.add(rule.to_state)
        fired.append(Transition(state, rule.to_state, at, rule.label))
        state, entered_at = rule.to_state, at
    return fired


# -- the generated mix and rates ----------------------------------------------------------------

def _weight(value: Any, field: str) -> float:
    """A non-negative number (not a boolean)."""
    if not is_number(value) or not math.isfinite(value) or value < 0:
        raise LifecycleError(field, f"must be a number >= 0, got {value!r}")
    return float(value)


def _per_state(data: Any, field: str) -> dict[LifecycleState, float]:
    """A mapping of state names (aliases allowed) to non-negative numbers, in declaration order."""
    if not isinstance(data, Mapping):
        raise LifecycleError(field, "must be a mapping of lifecycle state to number, e.g. {Active: 0.6}")
    out: dict[LifecycleState, float] = {}
    for key, value in data.items():
        state = parse_state(key, f"{field}.{key}")
        if state in out:
            raise LifecycleError(f"{field}.{key}", f"{state.value} is given twice")
        out[state] = _weight(value, f"{field}.{key}")
    return {s: out[s] for s in LifecycleState if s in out}


def parse_mix(data: dict) -> dict[LifecycleState, float]:
    """Parse ``{"Active": 0.6, "new_signup": 0.1, ...}``: weights >= 0 with a positive sum."""
    mix = _per_state(data, "mix")
    if sum(mix.values()) <= 0:
        raise LifecycleError("mix", "needs at least one state with a weight above zero", list(STATE_NAMES))
    return mix


@lru_cache(maxsize=64)
def _weighted(mix: tuple[tuple[LifecycleState, float], ...]) -> tuple[tuple[tuple[LifecycleState, float], ...], float]:
    """The states of a mix with a positive weight, in declaration order, and their total weight."""
    weights = dict(mix)
    weighted = tuple((s, weights[s]) for s in STATES if weights.get(s, 0) > 0)
    if not weighted:
        raise LifecycleError("mix", "needs at least one state with a weight above zero", list(STATE_NAMES))
    return weighted, sum(w for _, w in weighted)


def state_for_generated(draw: float, mix: dict[LifecycleState, float]) -> LifecycleState:
    """The state a uniform ``draw`` in [0, 1) picks by cumulative weights (declaration order)."""
    weighted, total = _weighted(tuple(mix.items()))
    target = min(max(draw, 0.0), 1.0) * total
    cumulative = 0.0
    for state, weight in weighted:
        cumulative += weight
        if target < cumulative:
            return state
    return weighted[-1][0]


# -- effects and their placeholders -------------------------------------------------------------

PLACEHOLDER_NAMES = ["state", "entered_at", "persona_id", "now", "metadata.<key>"]
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_PLACEHOLDER_BODY = re.compile(r"\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*(?:\|\s*(\w+)\s*(?:\((.*)\))?\s*)?", re.DOTALL)


@dataclass(frozen=True)
class _Placeholder:
    name: str
    default: Any = None
    has_default: bool = False


def _known_placeholder(name: str) -> bool:
    return name in PLACEHOLDER_NAMES or (name.startswith("metadata.") and not name.startswith("metadata.__"))


def _default_value(text: str, source: str) -> Any:
    """The literal inside ``default(...)``: a number, a quoted string, true, false or null."""
    try:
        return parse_literal(text)
    except ConditionError:
        raise LifecycleError("effects", f"default(...) takes one literal value such as 0, 'none', true or null, "
                                        f"in {source!r}") from None


def _placeholder(body: str, source: str) -> _Placeholder:
    """One ``{{ ... }}``: a known name and at most the ``default(...)`` filter."""
    match = _PLACEHOLDER_BODY.fullmatch(body)
    if match is None:
        raise LifecycleError("effects", f"'{{{{{body}}}}}' is not a placeholder such as "
                                        f"'{{{{ metadata.failed_payment_count | default(0) }}}}'")
    name, filter_name, argument = match.groups()
    if not _known_placeholder(name):
        raise LifecycleError("effects", f"unknown placeholder '{name}' in {source!r}; use one of: "
                                        f"{', '.join(PLACEHOLDER_NAMES)}", list(PLACEHOLDER_NAMES))
    if filter_name is None:
        return _Placeholder(name)
    if filter_name != "default" or argument is None:
        problem = "default needs a value" if filter_name == "default" else f"unknown filter '{filter_name}'"
        raise LifecycleError("effects", f"{problem} in {source!r}; the only filter is default(value), "
                                        f"e.g. '{{{{ {name} | default(0) }}}}'", ["default"])
    return _Placeholder(name, _default_value(argument, source), True)


@lru_cache(maxsize=4096)
def _template(text: str) -> tuple[str | _Placeholder, ...]:
    """Split an effect string into literal text and placeholders (cached: effects repeat)."""
    parts: list[str | _Placeholder] = []
    pos = 0
    for match in _PLACEHOLDER.finditer(text):
        parts.append(text[pos:match.start()])
        parts.append(_placeholder(match.group(1), text))
        pos = match.end()
    parts.append(text[pos:])
    if any(isinstance(p, str) and "{{" in p for p in parts):
        raise LifecycleError("effects", f"'{{{{' without a closing '}}}}' in {text!r}")
    return tuple(p for p in parts if p != "")


def _resolve(placeholder: _Placeholder, context: Mapping[str, Any]) -> Any:
    value = lookup_name(context, placeholder.name)
    return placeholder.default if value is None and placeholder.has_default else value


def _as_text(value: Any) -> str:
    """How a value reads inside a longer string: null as nothing, booleans in JSON spelling."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _render(value: Any, context: Mapping[str, Any]) -> Any:
    """``value`` with its placeholders filled from ``context`` (recursing into lists and mappings)."""
    if isinstance(value, str):
        parts = _template(value)
        if len(parts) == 1 and isinstance(parts[0], _Placeholder):
            return _resolve(parts[0], context)
        return "".join(p if isinstance(p, str) else _as_text(_resolve(p, context)) for p in parts)
    if isinstance(value, Mapping):
        return {k: _render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, context) for v in value]
    return value


def apply_effects(body: dict, effects: dict, context: dict) -> dict:
    """A new dict: ``body`` with the effect fields laid over, placeholders filled from ``context``."""
    return {**body, **{key: _render(value, context) for key, value in effects.items()}}


def validate_effects(effects: Mapping, field: str = "effects") -> None:
    """Check every placeholder in one state's effect fields now, so a bad one fails at load time."""
    if not isinstance(effects, Mapping):
        raise LifecycleError(field, "must be a mapping of response field to value")
    for key, value in effects.items():
        _validate_value(value, f"{field}.{key}")


def _validate_value(value: Any, field: str) -> None:
    if isinstance(value, str):
        try:
            _template(value)
        except LifecycleError as exc:
            raise LifecycleError(field, exc.message, exc.allowed) from None
    elif isinstance(value, Mapping):
        validate_effects(value, field)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _validate_value(item, f"{field}[{i}]")


# -- the whole config ---------------------------------------------------------------------------

@dataclass(frozen=True)
class LifecycleConfig:
    """Everything lifecycle: the default state, the generated mix, rules, effects per facet, order rates."""

    default_state: LifecycleState
    mix: dict[LifecycleState, float]
    rules: list[TransitionRule]
    effects: dict[str, dict[LifecycleState, dict]]
    rates: dict[LifecycleState, float]


_CONFIG_KEYS = ["default_state", "mix", "rules", "effects", "rates"]


def _parse_effects(data: Any) -> dict[str, dict[LifecycleState, dict]]:
    """``{facet: {state: {field: value}}}``, with states parsed and placeholders checked."""
    if not isinstance(data, Mapping):
        raise LifecycleError("effects", "must be a mapping of facet (e.g. billing) to {state: {field: value}}")
    out: dict[str, dict[LifecycleState, dict]] = {}
    for facet, cells in data.items():
        if not isinstance(cells, Mapping):
            raise LifecycleError(f"effects.{facet}", "must be a mapping of lifecycle state to {field: value}")
        table: dict[LifecycleState, dict] = {}
        for key, cell in cells.items():
            state = parse_state(key, f"effects.{facet}.{key}")
            if state in table:
                raise LifecycleError(f"effects.{facet}.{key}", f"{state.value} is given twice")
            validate_effects(cell, f"effects.{facet}.{key}")
            table[state] = dict(cell)
        out[str(facet)] = table
    return out


def load_lifecycle_config(data: dict) -> LifecycleConfig:
    """Build a LifecycleConfig from its YAML mapping, strictly (a missing or null part is empty)."""
    if not isinstance(data, Mapping):
        raise LifecycleError("", f"a lifecycle config is a mapping with keys {', '.join(_CONFIG_KEYS)}")
    _reject_unknown_keys(data, _CONFIG_KEYS, "")
    default = parse_state(data.get("default_state") or LifecycleState.ACTIVE.value, "default_state")
    mix = parse_mix(data["mix"]) if data.get("mix") is not None else {default: 1.0}
    return LifecycleConfig(
        default_state=default,
        mix=mix,
        rules=parse_rules(data.get("rules") or []),
        effects=_parse_effects(data.get("effects") or {}),
        rates=_per_state(data.get("rates") or {}, "rates"),
    )


def load_builtin() -> LifecycleConfig:
    """The bundled defaults from ``mockverse/builtin/lifecycle.yaml``."""
    return load_lifecycle_config(yamlsafe.bundled("lifecycle.yaml"))

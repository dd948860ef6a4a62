"""Free-text fields (a bio, a support ticket, a review) laid over generated entities.

A configured text field (``user.bio``, ``support.tickets[*].subject``) is served from the
text stored for (workspace, entity ref, field path) when there is some (written by the LLM
in the background, see :mod:`mockverse.ai.text_writer`), and otherwise from a deterministic
fallback: the generator's own text, shaped by the persona's lifecycle state where a state
says something (a PaymentFailed persona's latest ticket is about the failed payment).

This module never calls the LLM and knows nothing of HTTP: it reads stored text through the
``read`` function it is handed (one read per entity; ``read=None``: there is no stored text,
so nothing is read), and notes per view which slots it served and how.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from mockverse.cache import LRU
from mockverse.store import StoreUnavailable

if TYPE_CHECKING:
    from mockverse.store import StoredEntity
    from mockverse.world.engine import Snapshot
    from mockverse.world.generate import Generator
    from mockverse.world.model import EntityType

Reader = Callable[[str, str], "dict | None"]   # (workspace, ref) -> {path: {"text": ..., "state": ...}} or None


class TextView(Protocol):
    """What the text layer reads of a workspace's world (a :class:`~mockverse.world.engine.WorldView`
    is one): its clock and draws, an entity, what a user stored of it, and the persona it belongs to."""

    @property
    def workspace(self) -> str: ...
    @property
    def now(self) -> datetime: ...
    @property
    def degraded(self) -> bool: ...
    @property
    def snap(self) -> Snapshot: ...
    @property
    def gen(self) -> Generator: ...
    def get(self, entity: EntityType, id: object) -> dict | None: ...
    def stored(self, entity: EntityType, id: object) -> StoredEntity | None: ...
    def persona_of(self, entity: EntityType, data: dict) -> tuple[EntityType, object, dict] | None: ...

_PART = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(\[\*\])?$")
SHORT = ("subject", "title", "headline")   # leaf names that are one line, not a paragraph
PROSE = ("description", "bio", "about", "summary", "body", "text", "comment", "notes", "message")

# What a persona in each state writes to support first: (subjects, how the body opens).
TICKET_BY_STATE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "PaymentFailed": (("My payment failed", "Card payment declined on my subscription",
                       "Failed payment: how do I update my card?"),
                      ("My last payment failed and my account now shows as past due.",
                       "The payment for my subscription was declined, although my card should be fine.")),
    "ChurnRisk": (("Thinking about cancelling my subscription", "Is there a cheaper plan?"),
                  ("I am not using the service as much as I expected and I am thinking about cancelling.",)),
    "Churned": (("Please confirm my cancellation", "Do you still hold my data after cancelling?"),
                ("I cancelled my subscription and would like a confirmation.",)),
    "NewSignup": (("Help getting started", "How do I set up my account?"),
                  ("I signed up a few days ago and could use some help getting started.",)),
    "UpgradePending": (("When will my Enterprise upgrade be active?", "Question about my plan upgrade"),
                       ("I requested an upgrade to the Enterprise plan and it is not active yet.",)),
    "PowerUser": (("Feature request: bulk export", "Higher API limits for heavy use"),
                  ("I use the product every day and keep running into the same limit.",)),
}


@dataclass(frozen=True)
class TextField:
    """One configured text field: the entity type or facet it belongs to and its path in it."""

    owner: str
    parts: tuple[tuple[str, bool], ...]     # (name, is a list [*])
    spec: str

    @classmethod
    def parse(cls, spec: str) -> TextField:
        owner, *rest = spec.split(".")
        parts = []
        for part in rest:
            match = _PART.match(part)
            if match is None:
                raise ValueError(f"'{spec}': '{part}' is not a field name (optionally followed by [*])")
            parts.append((match.group(1), bool(match.group(2))))
        return cls(owner, tuple(parts), spec)

    @property
    def leaf(self) -> str:
        return self.parts[-1][0]


@dataclass
class TextSlot:
    """One concrete text value of one response: where it is, what is served, where it came from."""

    ref: str            # "user:5", or "user:5#support" for a facet
    path: str           # "bio", "tickets[0].subject"
    leaf: str           # "subject"
    text: str
    source: str         # "llm" | "fallback"
    stale: bool = False  # written for another lifecycle state, or by an earlier live-mode run: served, asked again


@dataclass
class TextNote:
    """The slots of one entity (or facet) at one workspace version, and what a writer would need."""

    slots: list[TextSlot]
    context: dict = field(default_factory=dict)


class TextLayer:
    """Lays configured text fields over entities and facets, and remembers how each was served."""

    def __init__(self, fields: list[str] | tuple[str, ...], read: Reader | None = None, *,
                 run: str | None = None, contexts: bool = False) -> None:
        self.fields: dict[str, list[TextField]] = {}
        for spec in fields:
            parsed = TextField.parse(spec)
            self.fields.setdefault(parsed.owner, []).append(parsed)
        self.read = read
        self.run = run              # live mode: text stored by another run is stale
        self.contexts = contexts    # whether misses carry what an LLM prompt needs (an LLM is configured)
        self.notes = LRU(20_000)    # (workspace, version, ref) -> TextNote

    def owns(self, owner: str) -> bool:
        return owner in self.fields

    # -- laying text over a body ----------------------------------------------------------------
    def overlay(self, view: TextView, entity: EntityType, id: object, data: dict, facet: str | None = None) -> dict:
        """``data`` (an entity, or its facet ``facet``) with its text fields from the store or the fallback."""
        owner = facet or entity.name
        specs = self.fields.get(owner)
        if not specs:
            return data
        ref = f"{entity.name}:{id}" + (f"#{facet}" if facet else "")
        state = _State(view, entity, id, data if facet is None else None)
        given: set[str] | None = None    # fields a user wrote (they stay as written): read only when needed
        texts = self._stored(view, ref)
        out = data
        slots: list[TextSlot] = []
        for spec in specs:
            for path, value in _locate(data, spec.parts):
                if not isinstance(value, str):
                    continue
                slot = self._slot(view, ref, path, spec.leaf, value, owner, state, texts)
                if facet is None and (slot.text != value or slot.source == "fallback"):
                    if given is None:
                        stored = view.stored(entity, id) if not view.degraded else None
                        given = set(stored.data) if stored is not None else set()
                    if spec.parts[0][0] in given:
                        continue
                if slot.text != value:
                    if out is data:
                        out = copy.deepcopy(data)
                    _assign(out, path, slot.text)
                slots.append(slot)
        if slots:
            context = self._context(view, entity, id, ref, owner, out, slots, state) if self.contexts and \
                any(s.source == "fallback" or s.stale for s in slots) else {}
            self.notes.put((*view.snap.key, ref), TextNote(slots, context))
        return out

    def _stored(self, view: TextView, ref: str) -> dict:
        """The text stored for one entity (or facet), by field path: one store read, none without a reader."""
        if self.read is None or view.degraded:
            return {}
        try:
            stored = self.read(view.workspace, ref)
        except StoreUnavailable:
            return {}
        return stored if isinstance(stored, dict) else {}

    def _slot(self, view: TextView, ref: str, path: str, leaf: str, generated: str, owner: str,
              state: _State, texts: dict) -> TextSlot:
        stored = texts.get(path)
        if isinstance(stored, dict) and isinstance(stored.get("text"), str):
            stale = self.run is not None and stored.get("run") != self.run
            stale = stale or ("state" in stored and stored["state"] != state.value)   # written for another state
            return TextSlot(ref, path, leaf, stored["text"], "llm", stale)
        return TextSlot(ref, path, leaf, self.fallback(view, ref, path, leaf, generated, owner, state), "fallback")

    def fallback(self, view: TextView, ref: str, path: str, leaf: str, generated: str, owner: str,
                 state: _State) -> str:
        """The deterministic text: a support persona's first ticket speaks of its state, the rest is
        the generator's text (a line for subjects and titles, a short paragraph otherwise)."""
        if owner == "support" and path.startswith("tickets[0]."):
            table = TICKET_BY_STATE.get(state.value or "")
            if table is not None:
                subjects, openings = table
                if leaf == "subject":
                    return view.gen.choice(list(subjects), ref, path, "state")
                if leaf == "body":
                    rest = view.gen.value({"type": "string"}, ref, path, "body", _ctx(view))
                    return f"{view.gen.choice(list(openings), ref, path, 'state')} {rest}"
        last = re.split(r"_|(?<=[a-z])(?=[A-Z])", leaf)[-1].lower()
        if last in SHORT or last in PROSE:
            return generated   # the generator already wrote a line or a paragraph for this name
        return view.gen.value({"type": "string"}, ref, path, "body", _ctx(view))   # a paragraph, not a word

    # -- what an LLM writer needs -------------------------------------------------------------------
    def _context(self, view: TextView, entity: EntityType, id: object, ref: str, owner: str, body: dict,
                 slots: list[TextSlot], state: _State) -> dict:
        persona = state.persona()
        missing = {s.path for s in slots}
        return {"owner": owner, "ref": ref, "entity_type": entity.name,
                "facet": ref.split("#", 1)[1] if "#" in ref else None,
                "persona": persona[0] if persona else None, "state": state.value,
                "persona_data": _brief(persona[1]) if persona else None,
                "data": _brief(_without(body, missing))}

    def note(self, view: TextView, ref: str) -> TextNote | None:
        return self.notes.get((*view.snap.key, ref))


class _State:
    """The lifecycle state (and persona) of the entity whose text is laid, computed only when asked."""

    def __init__(self, view: TextView, entity: EntityType, id: object, data: dict | None) -> None:
        self.view, self.entity, self.id, self.data = view, entity, id, data
        self._persona: tuple[str, dict] | None = None
        self._looked = False

    def persona(self) -> tuple[str, dict] | None:
        """The persona's ref and fields, looked up once."""
        if not self._looked:
            self._looked = True
            data = self.data if self.data is not None else self.view.get(self.entity, self.id)
            owner = self.view.persona_of(self.entity, data) if data is not None else None
            self._persona = (f"{owner[0].name}:{owner[1]}", owner[2]) if owner is not None else None
        return self._persona

    @property
    def value(self) -> str | None:
        persona = self.persona()
        if persona is None:
            return None
        state = persona[1].get("lifecycle_state")
        return state if isinstance(state, str) else None


def _ctx(view: TextView) -> dict:
    return {"created_at": view.now, "now": view.now, "person": False, "fields": {}}


def _locate(data: Any, parts: tuple[tuple[str, bool], ...], prefix: str = "") -> list[tuple[str, Any]]:
    """(concrete path, value) of every place a field path names in ``data``."""
    if not parts:
        return [(prefix, data)]
    if not isinstance(data, dict):
        return []
    (name, many), rest = parts[0], parts[1:]
    if name not in data:
        return []
    path = f"{prefix}.{name}" if prefix else name
    if not many:
        return _locate(data[name], rest, path)
    items = data[name]
    if not isinstance(items, list):
        return []
    out: list[tuple[str, Any]] = []
    for i, item in enumerate(items):
        out += _locate(item, rest, f"{path}[{i}]")
    return out


_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def _steps(path: str) -> list[str | int]:
    return [m.group(1) if m.group(1) is not None else int(m.group(2)) for m in _STEP.finditer(path)]


def _assign(data: Any, path: str, value: str) -> None:
    steps = _steps(path)
    node = data
    for step in steps[:-1]:
        node = node[step]
    node[steps[-1]] = value


def _without(body: dict, paths: set[str]) -> dict:
    """``body`` without the text being written (the prompt shows the facts around it)."""
    out = copy.deepcopy(body)
    for path in paths:
        steps = _steps(path)
        node: Any = out
        for step in steps[:-1]:
            node = node[step]
        node.pop(steps[-1], None) if isinstance(node, dict) else None
    return out


def _brief(data: Any, depth: int = 0) -> Any:
    """A compact copy for a prompt: short strings, a few list items, no deep nesting."""
    if isinstance(data, dict):
        return {k: _brief(v, depth + 1) for k, v in list(data.items())[:25]} if depth < 3 else "{...}"
    if isinstance(data, list):
        return [_brief(v, depth + 1) for v in data[:3]] if depth < 3 else "[...]"
    if isinstance(data, str) and len(data) > 160:
        return data[:160] + "..."
    return data

"""Occurrences: what happened in a workspace's world, found where it happens.

A lifecycle transition (set over the API, or fired by a rule as the virtual clock moves), an
entity created over the API, and the orders and payments that appear in a moved window under a
persona. Each is an :class:`Occurrence` whose body is rendered only when it is published.
The world is lazy, so a clock move never scans generated personas: only the personas it is
given (those a protocol watches) are opened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mockverse.timeutil import parse_rfc3339
from mockverse.world.engine import ConsistencyEngine, WorldView
from mockverse.world.lifecycle import LifecycleState
from mockverse.world.model import EntityType
from mockverse.world.records import RecordType

PAYMENT = "payment"

Render = Callable[[WorldView, EntityType, object], Any]


@dataclass
class Occurrence:
    """Something that happened in the world, before it is published (its data rendered lazily)."""

    type: str
    key: str                        # what makes it unique at its moment: "user:12#3", "order:12004"
    at: datetime
    persona: str
    data: Callable[[], dict]


class Occurrences:
    """Finds the occurrences of a workspace's world; ``render`` shapes an entity's body and
    ``wanted`` says which occurrence types anyone listens to (payment outcomes cost a render)."""

    def __init__(self, engine: ConsistencyEngine, render: Render, wanted: Callable[[str], bool]) -> None:
        self.engine, self.render, self.wanted = engine, render, wanted

    def persona(self, view: WorldView, ref: str) -> tuple[EntityType, object, dict] | None:
        personas = self.engine.personas
        kind, _, raw = ref.partition(":")
        entity = self.engine.model.types.get(kind)
        if entity is None or personas is None or not personas.is_persona(entity):
            return None
        id = entity.parse_id(raw)
        data = view.get(entity, id) if id is not None else None
        return None if data is None else (entity, id, data)

    def lifecycle(self, view: WorldView, entity: EntityType, id: object, step: int, history: list[dict],
                   source: str) -> list[Occurrence]:
        ref = f"{entity.name}:{id}"
        entry = history[step]
        at = parse_rfc3339(entry["entered_at"])

        def data() -> dict:
            return {"persona_id": ref, "from_state": history[step - 1]["state"] if step else None,
                    "to_state": entry["state"], "source": source, "entered_at": entry["entered_at"],
                    entity.name: self.render(view, entity, id)}
        out = [Occurrence("persona.lifecycle_changed", f"{ref}#{step}", at, ref, data)]
        if entry["state"] == LifecycleState.PAYMENT_FAILED.value:
            out += self.latest_payment_failed(view, entity, id, at)
        return out

    def latest_payment_failed(self, view: WorldView, entity: EntityType, id: object, at: datetime) -> list[Occurrence]:
        """Entering PaymentFailed fails the persona's latest payment (a lifecycle effect): that payment."""
        payment = self.engine.model.types.get(PAYMENT)
        path = _path_to(entity, payment) if payment is not None else None
        if not path:
            return []
        current: tuple[EntityType, object] = (entity, id)
        for rel in path:
            kids = view.children(current[0], current[1], rel)
            if not kids:
                return []
            child = current[0].children[rel]
            current = (child, kids[-1][child.id_field])
        body = self.render(view, *current)
        if not isinstance(body, dict) or body.get("status") != "failed":
            return []
        ref = f"{entity.name}:{id}"
        return [Occurrence("payment.failed", f"{PAYMENT}:{current[1]}", at, ref,
                           lambda: {"persona_id": ref, "reason": "persona entered PaymentFailed", PAYMENT: body})]

    def lifecycle_set(self, workspace: str, ref: str, step: Any) -> list[Occurrence]:
        """A lifecycle state set over the API: the transition at ``step`` of the persona's history."""
        view = self.engine.view(workspace)
        found = self.persona(view, ref)
        if found is None:
            return []
        entity, id, _ = found
        life = view.lifecycle(entity, id)
        if life is None or not isinstance(step, int) or step >= len(life.history):
            return []
        return self.lifecycle(view, entity, id, step, life.history, "set")

    def appeared(
        self, view: WorldView, entity: EntityType, id: object, at: datetime, persona: str
    ) -> list[Occurrence]:
        """An entity came to exist: ``<type>.created``, and a payment's outcome."""
        ref = f"{entity.name}:{id}"
        cell: dict = {}

        def body() -> Any:
            if "body" not in cell:
                cell["body"] = self.render(view, entity, id)
            return cell["body"]
        out = [Occurrence(f"{entity.name}.created", ref, at, persona,
                          lambda: {"persona_id": persona, entity.name: body()})]
        if entity.name == PAYMENT and (self.wanted("payment.failed") or self.wanted("payment.succeeded")):
            status = (body() or {}).get("status")
            if status in ("failed", "succeeded"):
                out.append(Occurrence(f"payment.{status}", ref, at, persona,
                                      lambda: {"persona_id": persona, PAYMENT: body()}))
        return out

    def clock_moved(self, workspace: str, refs: list[str], before: datetime, after: datetime) -> list[Occurrence]:
        """What happened to the personas ``refs`` in (before, after], in virtual-time order (only
        the types ``wanted``)."""
        if after <= before:
            return []
        view = self.engine.view(workspace)
        found: list[Occurrence] = []
        for ref in refs:
            persona = self.persona(view, ref)
            if persona is None:
                continue
            entity, id, data = persona
            life = view.lifecycle(entity, id)
            history = life.history if life else []
            for step, entry in enumerate(history):
                if entry.get("source", "").startswith("rule:") and before < parse_rfc3339(entry["entered_at"]) <= after:
                    found += [o for o in self.lifecycle(view, entity, id, step, history, entry["source"])
                              if self.wanted(o.type)]
            for child, cid, at in self.new_below(view, entity, id, data, before, after):
                found += [o for o in self.appeared(view, child, cid, at, ref) if self.wanted(o.type)]
        rank = {"persona.lifecycle_changed": 0, "payment.failed": 2, "payment.succeeded": 2}
        found.sort(key=lambda o: (o.at, o.persona, rank.get(o.type, 1), o.key))
        return found

    def new_below(self, view: WorldView, entity: EntityType, id: object, data: dict, before: datetime,
                  after: datetime) -> list[tuple[EntityType, object, datetime]]:
        """Generated descendants created in (before, after]. A child type with a fixed count follows
        its parent within ``delay``, so parents older than that are not opened."""
        out: list[tuple[EntityType, object, datetime]] = []
        for rel, child in entity.children.items():
            if isinstance(child, RecordType):
                continue
            if child.config.count is not None and view.created_at_of(entity, data) + child.config.delay[1] <= before:
                continue
            for kid in view.children(entity, id, rel):
                cid, at = kid.get(child.id_field), view.created_at_of(child, kid)
                if at > after:
                    continue
                if at > before and view.is_generated(child, cid):
                    out.append((child, cid, at))
                out += self.new_below(view, child, cid, kid, before, after)
        return out


def _path_to(entity: EntityType, target: EntityType) -> list[str] | None:
    """The edges from ``entity`` down to ``target`` (user -> has_orders -> has_payments)."""
    for rel, child in entity.children.items():
        if child is target:
            return [rel]
        deeper = _path_to(child, target)
        if deeper is not None:
            return [rel, *deeper]
    return None

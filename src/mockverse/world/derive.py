"""Derived fields: an order's total and item count from its items, an item's currency from its order.

One copy of the arithmetic (the config's ``derive`` rules), used where the world computes an
entity and where a response body that was blended with reality is settled, so that a body
never contradicts itself (``item_count`` is the number of items it embeds, ``total`` their sum).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from mockverse.config import Derivation
from mockverse.world.model import EntityType, WorldModel

ABSENT = object()  # a rule that has nothing to compute from


def went_through(statuses: Iterable[Any]) -> bool:
    """Whether any payment of these statuses went through (any that is not ``failed``)."""
    return any(status != "failed" for status in statuses)


def paid_status(rule: Derivation, status: Any, paid: Callable[[], bool]) -> Any:
    """A ``paid_by`` status: ``rule.unpaid`` while it claims payment and no payment went through."""
    return rule.unpaid if status in rule.paid_states and not paid() else status


def derived_value(rule: Derivation, kids: list[dict] | None, parent: dict | None, current: Any = None) -> Any:
    """The value of one derivation from the entity's children or its parent, or ``ABSENT``.

    ``count`` is how many children there are; ``sum`` adds the product of the ``of`` fields
    over the children (a field that is not a number counts as 0), rounded to cents; ``parent``
    copies the parent's field; ``paid_by`` corrects the ``current`` status by the children's.
    """
    if rule.paid_by:
        if kids is None:
            return ABSENT
        return paid_status(rule, current, lambda: went_through(kid.get("status") for kid in kids))
    if rule.parent:
        return parent[rule.parent] if parent is not None and rule.parent in parent else ABSENT
    if kids is None:
        return ABSENT
    if rule.count:
        return len(kids)
    total = 0.0
    for kid in kids:
        product = 1.0
        for name in rule.of or []:
            value = kid.get(name)
            product *= value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0
        total += product
    return round(total, 2)


def derivation_fields(model: WorldModel) -> frozenset[str]:
    """Every field a derivation writes or reads (``total``, ``item_count``, ``quantity``, ...)."""
    names: set[str] = set()
    for entity in model.types.values():
        for field, rule in entity.config.derive.items():
            names.add(field)
            names.update(rule.of or ())
            if rule.parent:
                names.add(rule.parent)
            if rule.paid_by:
                names.add("status")  # the children's statuses decide the parent's
    return frozenset(names)


def with_derived_fields(model: WorldModel, entity: EntityType, body: Any, parent: dict | None = None) -> Any:
    """A response body (an entity or a list of them) with its derived fields recomputed from the
    children and parent it embeds; fields whose sources the body does not embed are left as they are."""
    if isinstance(body, list):
        return [with_derived_fields(model, entity, item, parent) for item in body]
    if not isinstance(body, dict):
        return body
    out = dict(body)
    embeds = model.embed_names(entity)
    kids_at = {rel: name for name, (kind, rel) in embeds.items()
               if kind == "children" and rel is not None and isinstance(out.get(name), list)}
    if parent is None and entity.parent is not None and isinstance(out.get(entity.parent.name), dict):
        parent = out[entity.parent.name]
    for field, rule in entity.config.derive.items():
        source = rule.count or rule.sum or rule.paid_by
        kids = out[kids_at[source]] if source in kids_at else None
        value = derived_value(rule, kids, parent, out.get(field))
        if value is not ABSENT and field in out:
            out[field] = value
    for rel, name in kids_at.items():
        out[name] = with_derived_fields(model, entity.children[rel], out[name], out)
    return out

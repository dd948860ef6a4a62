"""Derived fields: an order's total and item count from its items, an item's currency from its order.

One copy of the arithmetic (the config's ``derive`` rules), used where the world computes an
entity and where a response body that was blended with reality is settled, so that a body
never contradicts itself (``item_count`` is the number of items it embeds, ``total`` their sum).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mockverse.config import Derivation
from mockverse.openapi import merge_all_of, singular, snake
from mockverse.openapi.paths import PARAM
from mockverse.world.generate import schema_types
from mockverse.world.model import EntityType, WorldModel

if TYPE_CHECKING:
    from mockverse.world.specworld import Embed, Reference

ABSENT = object()  # a rule that has nothing to compute from
QUALIFIED_NAMES = frozenset({"full_name", "full_path", "path_with_namespace", "qualified_name", "name_with_owner",
                             "full_slug"})   # a field that spells an entity's composite key as one string


@dataclass(frozen=True, eq=False)
class KeyPart:
    """One segment of a composite key: the key field ``key`` of the entity itself, of its parent, or of
    the entity one of its embeds (``owner``) or references (``owner_id``) names."""

    key: str
    parent: bool = False
    embed: Embed | None = None
    reference: Reference | None = None


@dataclass(frozen=True, eq=False)
class CompositeName:
    """An entity's composite path key (``/repos/{owner}/{repo}``: its owner's login, then its name) and the
    string fields (``full_name``) that spell it as one string (none when its schema has no such field)."""

    fields: tuple[str, ...]
    parts: tuple[KeyPart, ...]


def key_field(entity: EntityType) -> str | None:
    """The string field a path key of the type holds: its first alternative key, else a string id."""
    if entity.keys:
        return next(iter(entity.keys))
    return None if entity.integer_ids else entity.id_field


def composite_name(entity: EntityType) -> CompositeName | None:
    """The composite key of an entity addressed by two or more string keys in a row (``/repos/{owner}/{repo}``:
    its owner's login, then its name) and its qualified-name fields (``full_name``), or None."""
    source = entity.inferred
    if source is None or not source.item_path:
        return None
    tokens = source.item_path.strip("/").split("/")
    params = _leading_params(tokens, len(tokens))
    own = key_field(entity)
    if len(params) < 2 or params[-1] != source.id_param or own is None:
        return None
    parts = [_key_part(entity, param) for param in params[:-1]]
    if any(part is None for part in parts):
        return None
    props = entity.schema.get("properties") or {}
    fields = tuple(name for name, sub in props.items() if snake(name) in QUALIFIED_NAMES
                   and name not in (own, entity.id_field) and isinstance(sub, dict)
                   and schema_types(merge_all_of(sub)) - {"null"} == {"string"})
    return CompositeName(fields, (*(p for p in parts if p is not None), KeyPart(own)))


def _leading_params(tokens: list[str], end: int) -> list[str]:
    """The names of the path parameters in a row that end at ``tokens[end - 1]``."""
    params: list[str] = []
    for token in reversed(tokens[:end]):
        match = PARAM.match(token)
        if match is None:
            break
        params.insert(0, match.group(1))
    return params


def key_part_params(path: str, entity_of: Callable[[str], EntityType | None]) -> dict[str, tuple[str, KeyPart]]:
    """Each path parameter that is a leading part of the composite key of an entity the path names right after
    it (``{owner}`` of ``/repos/{owner}/{repo}/issues``: the repo's owner's key), as (that entity's parameter,
    the part); ``entity_of`` names the entity a parameter is bound to. A parameter bound to another entity is
    resolved as that entity, not as a part."""
    tokens = path.strip("/").split("/")
    found: dict[str, tuple[str, KeyPart]] = {}
    for index, token in enumerate(tokens):
        match = PARAM.match(token)
        entity = entity_of(match.group(1)) if match else None
        rule = entity.composite if entity is not None else None
        if match is None or rule is None:
            continue
        leading = rule.parts[:-1]
        names = _leading_params(tokens, index)[-len(leading):]
        if len(names) != len(leading) or any(entity_of(name) not in (None, entity) for name in names):
            continue
        found.update((name, (match.group(1), part)) for name, part in zip(names, leading, strict=True))
    return found


def _key_part(entity: EntityType, param: str) -> KeyPart | None:
    """Where a leading path key's value lives: the embed of its name (``owner``), the reference named
    after it (``owner_id``), or the parent it names; None when the entity has none of them."""
    name = snake(param)
    embed = next((e for e in entity.embeds if snake(e.field) == name and not e.many and e.inner is None
                  and e.target is not entity), None)
    reference = next((r for r in entity.references if snake(r.field) in (name, f"{name}_id") and not r.many
                      and r.target is not entity), None)
    parent = entity.parent
    target = embed.target if embed else reference.target if reference else parent
    if target is None or (embed is None and reference is None and singular(name) != target.name
                          and param != (target.inferred.id_param if target.inferred else None)):
        return None
    key = key_field(target)
    return KeyPart(key, embed is None and reference is None, embed, reference) if key else None


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

"""Per-parent numbers: an item keyed by a number that counts within its parent, not by its id.

An item path such as ``/repos/{owner}/{repo}/issues/{index}`` (``{index}`` an integer, the issue's ``number``,
while its ``id`` is global), ``/projects/{id}/issues/{issue_iid}`` (``iid``) or ``/boards/{id}/cards/{card_number}``
addresses a child by a number its parent hands out: 1, 2, 3, ... in the order the children were made.

* **Detection** (:func:`detect`): the item path's last parameter is an integer, the type's item path lies under its
  parent's, and one integer property of the type (neither its id nor its parent key) is what the parameter names:
  the same name, or the name after the type's own words (``issue_iid`` -> ``iid``), or a name the property is known by
  (``x-go-name``, ``title``), or both are words for a running number (``index``, ``number``, ``iid``, ...).
* **Generated children**: the k-th generated child of a parent has the number of its place among its siblings by
  creation time (ties by k), so numbers rise with ``created_at``; the number's child is found from the parent's
  timeline alone (no sibling is built).
* **Created children** take the next number within their parent, stored in their data (so it survives a restart);
  they are found among the parent's written children, which its links list (so is a generated child a write
  renumbered: its number is its own, no sibling's, and it answers at it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mockverse.openapi import merge_all_of, snake
from mockverse.world.generate import schema_types

if TYPE_CHECKING:
    from mockverse.world.model import EntityType
    from mockverse.world.view import WorldView

NUMBER_WORDS = frozenset({"number", "index", "iid", "num", "no", "seq", "sequence", "counter", "position"})
ALIAS_KEYS = ("x-go-name", "title", "x-name")   # names a property is known by besides its own


@dataclass(frozen=True)
class NumberKey:
    """The property that holds an entity's number within its parent, and the path parameter that takes it."""

    field: str
    param: str


def detect(param: str, param_schemas: list[dict], props: dict, id_field: str, fk: str | None) -> str | None:
    """The integer property an item path's last parameter names as a per-parent number, if one does
    (see the module notes); None when the parameter is not an integer or names the id."""
    if not param_schemas or any(schema_types(merge_all_of(s)) - {"null"} != {"integer"} for s in param_schemas):
        return None
    words = snake(param).split("_")
    suffixes = {"_".join(words[i:]) for i in range(len(words))}
    if snake(id_field) in suffixes:
        return None
    numbers = [name for name, prop in props.items() if name not in (id_field, fk) and isinstance(prop, dict)
               and schema_types(merge_all_of(prop)) - {"null"} == {"integer"}]
    for name in numbers:
        if snake(name) in suffixes:
            return name
    for name in numbers:
        flat = merge_all_of(props[name])
        if any(isinstance(flat.get(k), str) and snake(flat[k]) in suffixes for k in ALIAS_KEYS):
            return name
    worded = [name for name in numbers if snake(name).split("_")[-1] in NUMBER_WORDS]
    return worded[0] if words[-1] in NUMBER_WORDS and len(worded) == 1 else None


def path_value(entity: EntityType, param: str, data: dict) -> object:
    """What an item path's parameter ``param`` holds for the entity ``data`` is: its number within its parent
    where the path takes that (``{index}``: ``number``), its key among its parent's children where the path takes
    that (``{user_id}``: ``user.id``), else its id."""
    number = entity.number
    if number is not None and number.param == param:
        return data.get(number.field)
    scoped = entity.scoped_text(data) if entity.inferred is not None and entity.inferred.id_param == param else None
    return scoped if scoped is not None else data.get(entity.id_field)


def _order(view: WorldView, entity: EntityType, parent_id: object) -> tuple[tuple[int, ...], dict[int, int]]:
    """The positions k of the parent's generated children in creation order (ties by k), and each k's number
    (worked out once per parent and view; read, never copied)."""
    parent = entity.parent
    assert parent is not None, f"{entity.name} has a parent"

    def compute() -> tuple[tuple[int, ...], dict[int, int]]:
        data = view.get(parent, parent_id)
        if data is None or not view.is_generated(parent, parent_id):   # a created parent has no generated children
            return (), {}
        times = view.child_times(parent, parent_id, view.created_at_of(parent, data), entity)
        order = tuple(sorted(range(1, len(times) + 1), key=lambda k: (times[k - 1], k)))
        return order, {k: n for n, k in enumerate(order, start=1)}

    return view.cached(("numbers", entity.name, parent_id), compute)


def generated_number(view: WorldView, entity: EntityType, id: object) -> int | None:
    """The number of a generated child (its place among its parent's generated children), else None."""
    split = entity.split_id(id)
    if split is None:
        return None
    parent_id, k = split
    return _order(view, entity, parent_id)[1].get(k)


def _created(view: WorldView, entity: EntityType, parent_id: object) -> list[tuple[object, dict]]:
    """(id, data) of the children writes made or changed under the parent (its links list them: a generated
    one a write renumbered answers at its written number)."""
    parent = entity.parent
    assert parent is not None and entity.relationship is not None, f"{entity.name} has a parent"
    out: list[tuple[object, dict]] = []
    for ref in view.store.linked(view.snap.workspace, f"{parent.name}:{parent_id}", entity.relationship):
        id = entity.parse_id(ref.split(":", 1)[1])
        data = view.get(entity, id) if id is not None else None
        if data is not None and data.get(entity.fk) == parent_id:
            out.append((id, data))
    return out


def find(view: WorldView, entity: EntityType, parent_id: object, number: int) -> object | None:
    """The id of the parent's child that has ``number`` (None if none has it): a generated one from the
    parent's timeline, else one of its created children."""
    assert entity.number is not None, f"{entity.name} is numbered within its parent"
    field = entity.number.field
    order = _order(view, entity, parent_id)[0]
    if 1 <= number <= len(order):
        id = entity.child_id(parent_id, order[number - 1])
        data = view.get(entity, id)
        if data is not None and data.get(entity.fk) == parent_id and data.get(field) == number:
            return id
    return next((id for id, data in _created(view, entity, parent_id) if data.get(field) == number), None)


def next_number(view: WorldView, entity: EntityType, parent_id: object) -> int:
    """The number a child created under the parent now takes: one above every number its children had."""
    assert entity.number is not None, f"{entity.name} is numbered within its parent"
    field = entity.number.field
    taken: list[Any] = [len(_order(view, entity, parent_id)[0])]
    taken += [data.get(field) for _, data in _created(view, entity, parent_id)]
    return 1 + max(n for n in taken if isinstance(n, int) and not isinstance(n, bool))

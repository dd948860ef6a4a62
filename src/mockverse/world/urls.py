"""URL-valued fields built from the world's own paths.

* **Self URLs.** A ``url``, ``href`` or ``self`` string field of an entity is its own API address when its
  description says so (``The absolute URL of the Channel resource``, ``a link to the Web API endpoint``), or,
  without a description, when a sibling (``html_url``) holds its web address. Other URL fields (web pages,
  webhooks, media) stay generated values.
* **URL references** (``issue_url``, inferred with ``holds = "url"``) name another entity by its address.
* **A links map** (a ``links`` object declaring no properties) holds the URLs of the entity's child lists served
  under its item path, keyed by their segment (``{"channels": ".../Services/IS.../Channels"}``).
* Either is the target's item path, each parameter filled with the key a client uses (its id, its number
  within its parent, the parts of a composite key such as ``{owner}/{repo}``, an alternative key such as a
  login), the parent's own address before it, on the spec's first absolute ``servers`` URL (else
  ``https://api.example.com``). Computed on every read from the entity's current data, so a moved child's
  URL moves; a value a client wrote stands.
"""

from __future__ import annotations

import itertools
import re
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote

from mockverse.openapi import merge_all_of, snake
from mockverse.openapi.paths import PARAM, path_shape
from mockverse.world import derived_fields, numbers
from mockverse.world.generate import schema_types
from mockverse.world.model import SCAN_LIMIT, EntityType

if TYPE_CHECKING:
    from mockverse.world.view import WorldView

SELF_URL_NAMES = frozenset({"url", "href", "self"})
WEB_SIBLINGS = frozenset({"html_url", "htmlUrl", "web_url", "webUrl"})
_API_WORDS = re.compile(r"\b(api|endpoint|resource)\b", re.IGNORECASE)
MAX_DEPTH = 6   # ancestors followed to build one address


def self_url_fields(entity: EntityType) -> tuple[str, ...]:
    """The top-level string fields of ``entity`` that hold its own API address (see the module notes)."""
    if entity.inferred is None or not entity.inferred.item_path:
        return ()
    props = entity.schema.get("properties") or {}
    found = []
    for name, sub in props.items():
        if name.lower() not in SELF_URL_NAMES or not isinstance(sub, dict):
            continue
        flat = merge_all_of(sub)
        if schema_types(flat) - {"null"} != {"string"}:
            continue
        text = flat.get("description")
        if _API_WORDS.search(text) if isinstance(text, str) and text else bool(WEB_SIBLINGS & set(props)):
            found.append(name)
    return tuple(found)


def links_map_field(entity: EntityType) -> str | None:
    """The ``links`` property of an entity that holds a map of URLs (an object declaring no properties of
    its own), when the entity has child lists under its item path to fill it with; else None."""
    prop = (entity.schema.get("properties") or {}).get("links")
    flat = merge_all_of(prop) if isinstance(prop, dict) else None
    if flat is None or schema_types(flat) - {"null"} != {"object"} or flat.get("properties"):
        return None
    return "links" if child_lists(entity) else None


def child_lists(entity: EntityType) -> list[str]:
    """The last segments of the lists of the entity's child types served right under its item path
    (``/v2/Services/{Sid}`` -> ``Channels``, ``Roles``), in the order of its children."""
    own = entity.inferred.item_path if entity.inferred is not None else None
    if not own:
        return []
    segments = []
    for child in entity.children.values():
        path = child.inferred.collection_path if child.inferred is not None else None
        head, _, last = (path or "").rpartition("/")
        if path and last and not PARAM.match(last) and path_shape(head) == path_shape(own) and last not in segments:
            segments.append(last)
    return segments


def item_path(view: WorldView, entity: EntityType, id: object, data: dict | None = None, depth: int = 0) -> str | None:
    """The path a client GETs to read the entity (``/repos/stone26/amber1/issues/1``), or None when its item
    path takes a key the entity does not have."""
    template = entity.inferred.item_path if entity.inferred is not None else None
    data = view.get(entity, id) if data is None and template else data
    if not template or data is None or depth > MAX_DEPTH:
        return None
    tokens = template.split("/")
    slots = [i for i, token in enumerate(tokens) if PARAM.match(token)]
    own = _own_values(view, entity, id, data, [tokens[i][1:-1] for i in slots])
    if not slots or own is None:
        return None
    filled = list(tokens)
    for i, value in zip(slots[-len(own):], own, strict=True):
        filled[i] = quote(str(value), safe="")
    rest = slots[:-len(own)]
    if not rest:
        return "/".join(filled)
    cut = rest[-1] + 1
    parent = entity.parent
    above_template = parent.inferred.item_path if parent is not None and parent.inferred is not None else None
    parent_id = parent.parse_id(data.get(entity.fk)) if parent is not None and entity.fk else None
    if parent is None or parent_id is None or not above_template or path_shape(above_template) != path_shape(
            "/".join(tokens[:cut])):
        return None
    above = item_path(view, parent, parent_id, depth=depth + 1)
    return None if above is None else "/".join([above, *filled[cut:]])


def url_of(view: WorldView, entity: EntityType, id: object, data: dict | None = None) -> str | None:
    """The entity's absolute API address on the world's base URL, or None when it has none."""
    path = item_path(view, entity, id, data)
    return None if path is None else view.model.base_url + path


class _Shape(NamedTuple):
    """What of a type's schema holds URLs: its self URL fields, its ``links`` map and the child lists for it."""

    selves: tuple[str, ...]
    links: str | None
    children: tuple[str, ...]


_SHAPES: weakref.WeakKeyDictionary[EntityType, _Shape] = weakref.WeakKeyDictionary()


def _shape(entity: EntityType) -> _Shape:
    """The type's :class:`_Shape`, worked out once per type (it depends on the schema and the paths alone)."""
    shape = _SHAPES.get(entity)
    if shape is None:
        shape = _SHAPES[entity] = _Shape(self_url_fields(entity), links_map_field(entity), tuple(child_lists(entity)))
    return shape


def url_fields(view: WorldView, entity: EntityType, id: object, data: dict) -> dict:
    """``data`` with its self URLs and URL references filled from the world's paths (a new dict when any is),
    except a value a client wrote."""
    refs = entity.url_links
    selves, links, children = _shape(entity)
    if not refs and not selves and links is None:
        return data
    stored = view.stored(entity, id)
    given = stored.data if stored is not None else {}
    out = dict(data)
    own = url_of(view, entity, id, data) if selves or links is not None else None
    for name in selves:
        if name not in given:
            _put(out, name, own)
    if links is not None and links not in given and own is not None:
        out[links] = {snake(segment): f"{own}/{segment}" for segment in children}
    for ref in refs:
        written = given.get(ref.field)
        if ref.field in given and (not _scalar_id(written) or ref.target.parse_id(written) is None):
            continue   # a client's own value stands; an id it gave (or its path named) becomes a URL
        target_id = written if ref.field in given else entity.reference_value(view, id, data, ref)
        url = url_of(view, ref.target, ref.target.parse_id(target_id)) if target_id is not None else None
        out[ref.field] = url if url is not None else None if ref.nullable else ""   # "": it names no entity
    return out


def url_children(view: WorldView, listed: EntityType, parent: EntityType, parent_id: object) -> list | None:
    """Ids of the ``listed`` entities whose URL reference names one ``parent`` entity (the comments whose
    ``issue_url`` is that issue's): among the children of the parent's own parent when ``listed`` shares it (a
    repository's comments), else among the first SCAN_LIMIT of its type; None when no URL reference of ``listed``
    names ``parent``'s type."""
    fields = [ref.field for ref in listed.url_links if ref.target is parent]
    if not fields:
        return None
    data = view.get(parent, parent_id)
    url = url_of(view, parent, parent_id, data) if data is not None else None
    if url is None:
        return []
    grand = parent.parent
    scope = grand.parse_id(data.get(parent.fk)) if grand is not None and parent.fk and data is not None else None
    if grand is not None and listed.parent is grand and listed.relationship is not None and scope is not None:
        rows: Iterable = (view.get(listed, kid) for kid in view.child_ids(grand, scope, listed.relationship))
    else:
        rows = itertools.islice(view.all_of(listed)(), SCAN_LIMIT)
    return [row.get(listed.id_field) for row in rows
            if row is not None and any(row.get(field) == url for field in fields)]


def _put(data: dict, name: str, value: str | None) -> None:
    """Set ``data[name]`` to a URL that was found (one that was not leaves the generated value)."""
    if value is not None:
        data[name] = value


def _scalar_id(value: object) -> bool:
    """Whether a written value may be an id rather than a URL: a number, or a string that is no URL."""
    return isinstance(value, int) and not isinstance(value, bool) or isinstance(value, str) and "/" not in value


def _own_values(view: WorldView, entity: EntityType, id: object, data: dict, params: list[str]) -> list[Any] | None:
    """The values of the trailing path parameters that name the entity itself: the parts of its composite key,
    else the one key its last parameter takes; None when one is missing."""
    if not params:
        return None
    rule = entity.composite
    if rule is not None and len(rule.parts) <= len(params):
        values = [derived_fields.key_value(view, entity, id, data, part) for part in rule.parts]
        return values if all(isinstance(v, str) and v for v in values) else None
    param = params[-1]
    numbered = entity.number is not None and entity.number.param == param
    scoped = entity.scoped is not None and entity.inferred is not None and entity.inferred.id_param == param
    value = numbers.path_value(entity, param, data) if numbered or scoped else data.get(_key_field(entity, param))
    return None if value is None or isinstance(value, (dict, list, bool)) else [value]


def _key_field(entity: EntityType, param: str) -> str:
    """The field whose value a client puts in ``{param}`` (of a type keyed by neither a number nor a key within
    its parent: :func:`numbers.path_value` gives those): the alternative key of its name, the id when it names
    an id, else the first alternative key (``{username}``: ``login``)."""
    name = snake(param)
    named = next((k for k in entity.keys if name == snake(k) or name.endswith("_" + snake(k))), None)
    if named is not None:
        return named
    if not entity.keys or "id" in name.split("_") or name.endswith(snake(entity.id_field)):
        return entity.id_field
    return next(iter(entity.keys))

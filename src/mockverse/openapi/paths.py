"""Path templates as inference reads them: literal steps, their keys, and the names they suggest.

``/projects/{uuid}/environments/{name_or_uuid}`` is two steps (``projects`` keyed by ``uuid``,
``environments`` keyed by ``name_or_uuid``); a key parameter names a type stem and its key fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .words import schema_base_name, singular, snake, words_equal

VERSION_SEGMENT = re.compile(r"^(v\d+([._]\d+)*[a-z]*|\d{4}-\d{2}-\d{2}|api|rest)$", re.IGNORECASE)
PARAM = re.compile(r"^\{([^{}]+)\}$")


def path_shape(path: str) -> str:
    """A path template with its parameter names left out: ``/a/{id}`` and ``/a/{aId}`` are one path."""
    return "/".join("{}" if PARAM.match(token) else token for token in path.split("/"))
ID_SUFFIX = re.compile(r"^(.+?)(_ids|Ids|IDs|_IDs|_id|Id|ID|_uuid|Uuid|UUID|_sids|Sids|_sid|Sid)$")
_ALTERNATIVE_KEYS = re.compile(r"^([a-z0-9_]+?)_([a-z0-9]+)_or_([a-z0-9]+)$")
_BACKTICKED = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")
_LEADING_FIELD = re.compile(r"^\s*(?:the\s+)?([A-Za-z_][A-Za-z0-9_]*)\s+of\b", re.IGNORECASE)
# Literal path segments that never name an entity type.
_NOT_ENTITIES = frozenset({"me", "self", "search", "find", "lookup", "by", "batch", "bulk", "count", "contains"})


def key_param(param: str | None) -> tuple[str, list[str]] | None:
    """(type stem, key fields) of a parameter naming alternative keys, one of them an id: ``service_id_or_name``
    -> (``service``, [``id``, ``name``]), ``environment_name_or_uuid``; None for any other parameter."""
    match = _ALTERNATIVE_KEYS.match(snake(param)) if param else None
    if match is None or not {"id", "uuid", "uid", "sid", "guid"} & set(match.group(2, 3)):
        return None
    return match.group(1), [match.group(2), match.group(3)]


def described_fields(description: str) -> list[str]:
    """Field names a path parameter's description says its value is: the leading noun of ``name of the repo``
    and every backticked name (``either the `sid` or the `unique_name` of the Channel``), in order."""
    leading = _LEADING_FIELD.match(description)
    names = ([leading.group(1)] if leading else []) + _BACKTICKED.findall(description)
    return list(dict.fromkeys(names))


def param_stem(param: str | None) -> str | None:
    """``timeEntryId`` -> ``time_entry``, ``service_id_or_name`` -> ``service``; None for ``id`` or ``username``."""
    keys = key_param(param)
    if keys is not None:
        return keys[0]
    match = ID_SUFFIX.match(param or "")
    return snake(match.group(1)) if match else None


def namespace_of(step: Step) -> str | None:
    """The literal segment a top-level resource sits under (``/filters/statuses/{id}`` -> ``filter``)."""
    tokens = [t for t in step.collection.strip("/").split("/") if not VERSION_SEGMENT.match(t)]
    if len(tokens) < 2 or PARAM.match(tokens[-2]) or not nameable(tokens[-2]):
        return None
    return singular(snake(tokens[-2]))


def refine_name(base: str, param: str | None, schema_name: str | None, parent: str | None) -> str:
    """A more specific name than the segment's when the spec spells one out.

    The id parameter (``/Time/{timeEntryId}`` -> ``time_entry``), the schema naming the
    same words (``/ProjectsUsers`` listing ``ProjectUser`` -> ``project_user``), or the
    schema naming parent and child (``/lists/{id}/members`` of ``ListMember`` -> ``list_member``).
    """
    stem = param_stem(param)
    if stem and stem != base and stem.startswith(base + "_"):
        return stem
    if stem and stem != base and schema_name and singular(schema_base_name(schema_name)) == stem:
        return stem   # /projects/{uuid}/{environment_name_or_uuid} answering an Environment
    if schema_name:
        named = schema_base_name(schema_name)
        if named != base and words_equal(named, base):
            return singular(named)
        if parent and named in (f"{parent}_{base}", f"{base}_{parent}"):
            return named
    return base


@dataclass
class Step:
    """One literal segment of a path template and the parameter that follows it, if any."""

    segment: str
    param: str | None
    collection: str
    item: str | None
    parent: Step | None


def steps_of(path: str) -> list[Step]:
    """Split a path template into literal steps (``/a/{x}/b`` -> a{x}, b)."""
    tokens = [t for t in path.strip("/").split("/") if t]
    steps: list[Step] = []
    prefix = ""
    index = 0
    while index < len(tokens):
        token = tokens[index]
        param = PARAM.match(token)
        parent = next((s for s in reversed(steps) if s.param), None)
        if param:
            if steps and steps[-1].param and steps[-1].item == prefix:  # /things/{scope}/{id}
                last = steps[-1]
                steps[-1] = Step(last.segment, param.group(1), prefix, f"{prefix}/{token}", last.parent)
            prefix += "/" + token
            index += 1
            continue
        prefix += "/" + token
        following = PARAM.match(tokens[index + 1]) if index + 1 < len(tokens) else None
        if following:
            item = f"{prefix}/{tokens[index + 1]}"
            steps.append(Step(token, following.group(1), prefix, item, parent))
            prefix = item
            index += 2
        else:
            steps.append(Step(token, None, prefix, None, parent))
            index += 1
    return steps


def nameable(segment: str) -> bool:
    """Whether a literal segment can name an entity type (not a version, action word or template)."""
    if "{" in segment or VERSION_SEGMENT.match(segment):
        return False
    return bool(snake(segment)) and snake(segment) not in _NOT_ENTITIES



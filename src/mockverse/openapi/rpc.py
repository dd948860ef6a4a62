"""RPC-style method paths (``/users.info?user=U1``, ``/conversations.list``) and the query keys they take."""

from __future__ import annotations

import re

from .loader import Operation
from .paths import ID_SUFFIX
from .shapes import field_schema, is_enum, required_of, scalar_type
from .words import key_names, singular, snake

RPC_METHOD = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z][A-Za-z0-9_-]*)+$")  # users.info, admin.users.list
# Query parameters that page or filter a list, never the key of its items.
PAGING = frozenset({"count", "page", "limit", "cursor", "offset", "per_page", "page_size", "size", "before", "after",
                     "since", "until", "latest", "oldest", "inclusive", "sort", "order", "query", "q", "token"})


def query_names(op: Operation) -> list[str]:
    """The names of an operation's query parameters, in spec order."""
    return [p.name for p in op.parameters if p.location == "query"]


def key_parameter(op: Operation, prop: str) -> str | None:
    """The query parameter that names which ``prop`` a method reads (``user``, ``user_id``, ``userId``)."""
    names = query_names(op)
    return next((n for n in key_names(prop) if n in names), None)


def list_key(op: Operation, name: str, shape: dict) -> str | None:
    """The query parameter a method looks listed objects up by, when they have no id (``ts`` of a message).

    It must be a required scalar of the objects, not a paging parameter and not a key of another type.
    """
    for key in query_names(op):
        stem = ID_SUFFIX.match(key)
        if key in PAGING or (stem and singular(snake(stem.group(1))) != name):
            continue
        field = field_schema(shape, key)
        if key in required_of(shape) and scalar_type(field) and not is_enum(field):
            return key
    return None

# What an RPC method's verb (the first word of its last dotted part) does to the entity its answer holds.
CREATE_VERBS = frozenset({"create", "add", "open", "post"})          # conversations.create, chat.postMessage
UPDATE_VERBS = frozenset({"update", "rename", "set", "edit", "archive", "unarchive"})   # conversations.setTopic
DELETE_VERBS = frozenset({"delete", "remove"})
# A verb that states a boolean field of the entity (``archive``: ``is_archived`` true).
FLAG_VERBS = {"archive": ("archived", True), "unarchive": ("archived", False)}


def rpc_method(path: str) -> tuple[str, str] | None:
    """(namespace, verb word) of an RPC method path: ``/conversations.setTopic`` -> (``/conversations``, ``set``)."""
    trimmed = path.rstrip("/")
    if "{" in trimmed or not RPC_METHOD.match(trimmed.rsplit("/", 1)[-1]):
        return None
    namespace, _, method = trimmed.rpartition(".")
    return namespace, snake(method).split("_")[0]


def rpc_kind(path: str) -> str | None:
    """``create``, ``update`` or ``delete``: what an RPC method does to an entity by its verb; None for others."""
    method = rpc_method(path)
    verb = method[1] if method else ""
    for kind, verbs in (("create", CREATE_VERBS), ("update", UPDATE_VERBS), ("delete", DELETE_VERBS)):
        if verb in verbs:
            return kind
    return None


def rpc_namespace(path: str | None) -> str | None:
    """The namespace of an RPC method path (``/conversations.info`` -> ``/conversations``), else None."""
    method = rpc_method(path) if path else None
    return method[0] if method else None


def flag_fields(path: str, props: dict) -> dict[str, bool]:
    """The boolean fields an RPC method's verb states (``conversations.archive``: ``is_archived`` true),
    among the entity's properties ``props``."""
    method = rpc_method(path)
    flag = FLAG_VERBS.get(snake(path.rstrip("/").rpartition(".")[2])) if method else None
    if flag is None:
        return {}
    word, value = flag
    return {name: value for name in (word, f"is_{word}") if name in props}

"""The store: everything users change lives here, nothing generated does.

One protocol, implemented by SQLite (the embedded default). The engine is handed a
store and never knows which implementation runs.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class StoredEntity:
    """A user's change to one entity: its data, how it applies, and whether it is deleted.

    ``mode`` is ``created`` (the entity exists only because a user made it),
    ``patch`` (fields merged over the generated entity) or ``replace`` (the user's data
    replaces the generated fields, the id and links kept).
    """

    type: str
    id: str
    data: dict[str, Any]
    mode: str
    deleted: bool


class StoreUnavailable(RuntimeError):
    """The store cannot be reached now; the request should fail fast with a 503."""

    status: int = 503
    title: str = "Store unavailable"
    retry_after: str | None = "1"


class StoreBusy(StoreUnavailable):
    """Another connection holds the store's write lock past the short wait a write allows itself."""

    title = "Store busy"


class StoreReadOnly(StoreUnavailable):
    """The store cannot be written (a read-only file or file system); reads keep working."""

    title, retry_after = "Store read-only", None


class StoreDamaged(StoreUnavailable):
    """The store's file cannot be read back (damaged, or an I/O error)."""

    title = "Store damaged"


class StoreFull(StoreUnavailable):
    """The disk holding the store is full; reads keep working."""

    status, title, retry_after = 507, "Store full", None


class KeyClaimed(Exception):
    """A write linking its entity as the holder of a key (a :data:`KEY_LINK` link) that another entity holds:
    the store refused it whole, so two writers never both take one key."""

    def __init__(self, key: str, holder: str) -> None:
        super().__init__(f"{key} is held by {holder}")
        self.key, self.holder = key, holder


class StoreOpenError(ValueError):
    """The store cannot be used at start: one line naming it and saying what to do."""


@dataclass
class Activity:
    """What one request did to the store so far: commits, and whether a write found the store busy.
    Set per request (``ACTIVITY``) so a write that found the lock taken, having committed nothing,
    can be tried again without waiting on the event loop."""

    commits: int = 0
    busy: bool = False
    live: bool = True   # False once the request is answered (a task it started may still hold it)
    versions: dict[str, tuple[int, int]] = field(default_factory=dict)   # read this request: (version, writes)


ACTIVITY: ContextVar[Activity | None] = ContextVar("mockverse_store_activity", default=None)


KEY_LINK = "holds_key"   # a link from a key value's ref to the one entity holding it: a write claims it whole
EVERYTHING = "*"        # the change tag of a write every read may depend on (a reset)
KEEP_CHANGES = 10_000   # changes kept per workspace; an instance further behind drops all its caches


def entity_tag(type: str, id: str) -> str:
    """The change tag of one entity's stored record."""
    return f"e:{type}:{id}"


def members_tag(type: str) -> str:
    """The change tag of a type's created and deleted ids."""
    return f"s:{type}"


def links_tag(ref: str) -> str:
    """The change tag of the links in which ``ref`` (``user:3``) is parent or child."""
    return f"l:{ref}"


def setting_tags(key: str) -> list[str]:
    """The change tags of one setting: its key, and its family (the part before the first ``:``)."""
    return [f"g:{key}", f"f:{key.split(':', 1)[0]}"]


def log_tag(kind: str) -> str:
    """The change tag of one kind of log record (recordings, deliveries)."""
    return f"k:{kind}"


def entity_write_tags(type: str, id: str, links: list[tuple[str, str, str]], members: bool) -> list[str]:
    """What a write of one entity changes: its record, its type's members (``members``: when it was
    created, deleted or revived), and the links of every ref on either end of a link it had or has
    (``links``: old and new ones)."""
    refs = dict.fromkeys([f"{type}:{id}", *(ref for parent, _, child in links for ref in (parent, child))])
    return [entity_tag(type, id), *([members_tag(type)] if members else []), *map(links_tag, refs)]


# reads a store answers in one batch (``Store.read_many``): (kind, its arguments after the workspace)
BATCHED_READS = ("get_entity", "linked", "get_setting")
Read = tuple[str, tuple[str, ...]]


def batched(reads: list[Read]) -> list[Read]:
    """``reads``, each checked to be a kind of read a store batches (ValueError naming it if not)."""
    for kind, _ in reads:
        if kind not in BATCHED_READS:
            raise ValueError(f"'{kind}' is not a batched read; these are: {', '.join(BATCHED_READS)}")
    return reads


class Store(Protocol):
    """What the engine needs from persistence. Every write bumps the workspace version and records
    the change tags it touched (``changes``), so other instances drop only what depends on them."""

    def version(self, workspace: str) -> int: ...
    async def version_now(self, workspace: str) -> int: ...
    def changes(self, workspace: str, since: int) -> list[tuple[int, list[str]]]: ...
    def get_entity(self, workspace: str, type: str, id: str) -> StoredEntity | None: ...
    def read_many(self, workspace: str, reads: list[Read]) -> list[Any]: ...
    def put_entity(self, workspace: str, type: str, id: str, data: dict[str, Any], mode: str,
                   links: list[tuple[str, str, str]]) -> int:
        """Store the entity and replace the links in which it is the child, in one atomic write; a
        :data:`KEY_LINK` link whose parent another child holds refuses the whole write (:class:`KeyClaimed`)."""
    def delete_entity(self, workspace: str, type: str, id: str, mode: str) -> int: ...
    def created_ids(self, workspace: str, type: str) -> list[str]: ...
    def deleted_ids(self, workspace: str, type: str) -> list[str]: ...
    def stored_ids(self, workspace: str, type: str) -> list[str]: ...
    def setting_keys(self, workspace: str, prefix: str) -> list[str]: ...
    def linked(self, workspace: str, ref: str, relationship: str) -> list[str]: ...
    def links_of(self, workspace: str, ref: str) -> list[tuple[str, str, str]]: ...
    def next_id(self, workspace: str, type: str) -> int: ...
    def get_setting(self, workspace: str, key: str) -> Any: ...
    def put_setting(self, workspace: str, key: str, value: Any) -> int: ...
    def update_setting(self, workspace: str, key: str, change: Callable[[Any], Any]) -> Any: ...
    def workspaces(self) -> list[str]: ...
    def append(self, workspace: str, kind: str, key: str, value: Any) -> int: ...
    def entries(self, workspace: str, kind: str, key: str | None = None, limit: int | None = None,
                newest_first: bool = False) -> list[tuple[int, str, Any]]: ...
    def entry(self, workspace: str, kind: str, seq: int) -> tuple[int, str, Any] | None: ...
    def update_entry(self, workspace: str, kind: str, seq: int, value: Any) -> bool: ...
    def delete_entries(self, workspace: str, kind: str, seq: int | None = None) -> int: ...
    def reset_workspace(self, workspace: str, keep: tuple[str, ...] = ()) -> int: ...
    def integrity_check(self) -> str: ...
    def close(self) -> None: ...
    async def aclose(self) -> None: ...


def open_store(url: str, *, volatile: bool = False) -> Store:
    """Open the store named by ``url``: a file path, ``sqlite:///path`` or ``redis://host:port/db``.
    A Redis that persists nothing is refused (StoreOpenError) unless ``volatile``."""
    from mockverse.store.sqlite import SQLiteStore

    if url.startswith(("redis://", "rediss://")):
        from mockverse.store.redis import RedisStore

        return RedisStore(url, volatile=volatile)
    if url.startswith("sqlite:///"):
        return SQLiteStore(url[len("sqlite:///"):])
    if url.startswith("sqlite://"):
        return SQLiteStore(url[len("sqlite://"):])
    if "://" in url:
        raise ValueError(f"store '{url}' is not supported; use a file path, sqlite:///path or redis://host:port/db")
    return SQLiteStore(url)

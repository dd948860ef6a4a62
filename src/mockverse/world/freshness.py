"""Caches keyed by what they depend on: each cached value carries the change tags of the store
reads that made it (an entity's record, a persona's lifecycle, a type's members, a ref's links),
and a write drops only the values whose tags it touched.

Every write records its change tags in the store beside the workspace version it bumps
(``Store.changes``). An instance that reads a new version fetches the changes it has not seen and
marks their tags changed, so a write on one instance is seen by the next request on another.
Bookkeeping (webhook queues, delivery logs, AI text jobs) touches tags no read depends on.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from mockverse.cache import LRU
from mockverse.store import (
    EVERYTHING,
    Read,
    Store,
    entity_tag,
    links_tag,
    log_tag,
    members_tag,
    setting_tags,
)

JOURNAL = 4096   # changes per workspace kept for the structures that apply them one by one (``since``)
JOURNALS = 4096  # workspaces whose changes are kept so
BASE = ""   # the scope of the base world (a workspace never written to): nothing invalidates it


class Entry:
    """A cached value, the change tags it depends on, and the tick at which it was last known fresh."""

    __slots__ = ("value", "deps", "stamp", "scope")

    def __init__(self, value: Any, deps: frozenset[str], stamp: int, scope: str) -> None:
        self.value, self.deps, self.stamp, self.scope = value, deps, stamp, scope


class Changes:
    """What this process knows changed in each workspace since it cached anything: tag -> tick.
    ``generation`` counts the times a workspace dropped everything (a reset, a gap in the changes
    kept, too many tags remembered); it is part of every cache key of the workspace."""

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self.tick = 0
        self.tags: dict[tuple[str, str], int] = {}
        self.last: dict[str, int] = {}          # workspace -> tick of its last change
        self.synced = LRU(4096)                 # workspace -> store version applied
        self.generations: dict[str, int] = {}
        self.journal: dict[str, deque[tuple[int, list[str]]]] = {}   # workspace -> its latest (tick, tags)
        self.forgotten: dict[str, int] = {}     # workspace -> tick of the newest change its journal let go
        self.lock = threading.Lock()

    def generation(self, workspace: str) -> int:
        return self.generations.get(workspace, 0)

    def sync(self, store: Store, workspace: str, version: int) -> None:
        """Catch up with the store's writes of ``workspace`` up to ``version``: mark the tags they
        touched, or drop everything of the workspace when the changes between are not all kept."""
        if self.synced.get(workspace) == version:
            return
        with self.lock:
            known = self.synced.get(workspace)
            if known == version:
                return
            if known is None or version < known:
                self._drop(workspace)
                self.synced.put(workspace, version)
                return
            rows = store.changes(workspace, known)
            contiguous = [v for v, _ in rows] == list(range(known + 1, known + 1 + len(rows)))
            if not rows or not contiguous or rows[-1][0] < version:
                self._drop(workspace)
                self.synced.put(workspace, max(version, rows[-1][0] if rows else version))
                return
            self.mark(workspace, (tag for _, tags in rows for tag in tags))
            self.synced.put(workspace, rows[-1][0])

    def mark(self, workspace: str, tags: Iterable[str]) -> None:
        """Mark ``tags`` of ``workspace`` changed now (``EVERYTHING``: drop the workspace's caches)."""
        self.tick += 1
        tags = list(tags)
        if workspace not in self.journal and len(self.journal) >= JOURNALS:
            oldest = next(iter(self.journal))   # its structures rebuild from the store when next asked
            self.forgotten[oldest] = self.journal.pop(oldest)[-1][0]
        kept = self.journal.setdefault(workspace, deque())
        kept.append((self.tick, tags))
        if len(kept) > JOURNAL:
            self.forgotten[workspace] = kept.popleft()[0]
        for tag in tags:
            if tag == EVERYTHING:
                self._drop(workspace)
            self.tags[(workspace, tag)] = self.tick
        self.last[workspace] = self.tick
        if len(self.tags) > self.limit:
            self.tags.clear()
            for name in list(self.generations) + list(self.last):
                self._drop(name)

    def since(self, workspace: str, tick: int, most: int | None = None) -> list[str] | None:
        """The tags of ``workspace`` marked after ``tick`` (what a structure kept up to date by
        them must apply), or None when the journal no longer reaches back that far (or they are
        more than ``most``)."""
        with self.lock:   # ``sync`` appends to the journal on other threads
            if self.forgotten.get(workspace, 0) > tick:
                return None
            out: list[str] = []
            for at, tags in reversed(self.journal.get(workspace, ())):
                if at <= tick:
                    break
                out.extend(tags)
                if most is not None and len(out) > most:
                    return None
            return out

    def _drop(self, workspace: str) -> None:
        self.generations[workspace] = self.generation(workspace) + 1

    def fresh(self, entry: Entry) -> bool:
        """Whether nothing ``entry`` depends on changed since it was made (re-stamped when so). The
        few tags written since are looked up among its dependencies when the journal still holds
        them (a read right after one write: O(tags written), not O(dependencies)); else each
        dependency's last change is."""
        scope = entry.scope
        if scope == BASE or entry.stamp >= self.last.get(scope, 0):
            return True
        tick, deps = self.tick, entry.deps
        changed = self.since(scope, entry.stamp, most=len(deps))
        if changed is not None:
            if not deps.isdisjoint(changed):
                return False
        else:
            tags = self.tags
            for tag in deps:
                if tags.get((scope, tag), 0) > entry.stamp:
                    return False
        entry.stamp = tick
        return True


class TaggedReads:
    """The store as one view reads it: each read notes the change tags it depends on. A view of a
    workspace never written to (``empty``) reads nothing from the store: it holds no changes. Reads
    fetched ahead in one batch (:meth:`read_ahead`) answer the view's first read of each, unless
    the view writes first."""

    def __init__(self, store: Any, note: Callable[[str], None], empty: bool = False) -> None:
        self._store, self._note, self._empty = store, note, empty
        self._ahead: dict[tuple[str, Read], Any] = {}

    @property
    def untagged(self) -> Any:
        """The store itself, for a read whose tags the caller notes its own way."""
        return self._store

    def __getattr__(self, name: str) -> Any:
        self._ahead.clear()   # a write may follow: nothing read before it answers a read after it
        return getattr(self._store, name)   # writes and anything no cached value depends on

    def read_ahead(self, workspace: str, reads: list[Read]) -> None:
        """Fetch ``reads`` (kind, arguments) in one batch, for the view's reads of them to come."""
        if self._empty or len(reads) < 2:
            return
        for read, answer in zip(reads, self._store.read_many(workspace, reads), strict=True):
            self._ahead[(workspace, read)] = answer

    def _read(self, workspace: str, kind: str, *args: str) -> Any:
        """One batched kind of read: fetched ahead, else from the store."""
        if self._ahead:
            key = (workspace, (kind, args))
            if key in self._ahead:
                return self._ahead.pop(key)
        return getattr(self._store, kind)(workspace, *args)

    def get_entity(self, workspace: str, type: str, id: str) -> Any:
        self._note(entity_tag(type, id))
        return None if self._empty else self._read(workspace, "get_entity", type, id)

    def created_ids(self, workspace: str, type: str) -> list[str]:
        self._note(members_tag(type))
        return [] if self._empty else self._store.created_ids(workspace, type)

    def deleted_ids(self, workspace: str, type: str) -> list[str]:
        self._note(members_tag(type))
        return [] if self._empty else self._store.deleted_ids(workspace, type)

    def stored_ids(self, workspace: str, type: str) -> list[str]:
        self._note(members_tag(type))
        return [] if self._empty else self._store.stored_ids(workspace, type)

    def setting_keys(self, workspace: str, prefix: str) -> list[str]:
        self._note(setting_tags(prefix)[1])
        return [] if self._empty else self._store.setting_keys(workspace, prefix)

    def linked(self, workspace: str, ref: str, relationship: str) -> list[str]:
        self._note(links_tag(ref))
        return [] if self._empty else self._read(workspace, "linked", ref, relationship)

    def links_of(self, workspace: str, ref: str) -> list[tuple[str, str, str]]:
        self._note(links_tag(ref))
        return [] if self._empty else self._store.links_of(workspace, ref)

    def get_setting(self, workspace: str, key: str) -> Any:
        self._note(setting_tags(key)[0])
        return None if self._empty else self._read(workspace, "get_setting", key)

    def entries(self, workspace: str, kind: str, *args: Any, **kwargs: Any) -> list[tuple[int, str, Any]]:
        self._note(log_tag(kind))
        return [] if self._empty else self._store.entries(workspace, kind, *args, **kwargs)

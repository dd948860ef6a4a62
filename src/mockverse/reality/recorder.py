"""The recorder: reads and writes a store's recordings, with an index per workspace version.

The recorded tier looks a request up by its exact path and query first, then by its path,
then by its route template (see :mod:`mockverse.reality.recordings` for what a recording holds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mockverse.cache import LRU
from mockverse.reality.recordings import KIND, fingerprint, normal_query, recording_key
from mockverse.store import Store

Stamp = tuple[str, int]  # (recorded_at, sequence number): the later recording wins


@dataclass
class OperationStats:
    """What realism learns of one operation from its recordings: latencies and statuses."""

    latencies: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


@dataclass
class Catalog:
    """An index of a workspace's recordings at one store version (sequence numbers, no bodies)."""

    exact: dict[tuple[str, str, str], Stamp] = field(default_factory=dict)   # (method, path, query)
    by_path: dict[tuple[str, str], Stamp] = field(default_factory=dict)      # (method, path)
    by_route: dict[tuple[str, str], Stamp] = field(default_factory=dict)     # (method, route)
    stats: dict[tuple[str, str], OperationStats] = field(default_factory=dict)
    fingerprints: set[tuple] = field(default_factory=set)
    episodes: dict[tuple[str, str, str], Stamp] = field(default_factory=dict)  # every recording, for record modes

    def add(self, seq: int, recording: dict) -> None:
        """Index one stored recording (one that lacks its method, route, path or status is left out)."""
        method, route, path = recording.get("method"), recording.get("route"), recording.get("path")
        status = recording.get("status")
        if not (isinstance(status, int) and isinstance(method, str) and isinstance(route, str)
                and isinstance(path, str)):
            return
        stats = self.stats.setdefault((method, route), OperationStats())
        if isinstance(recording.get("latency_ms"), (int, float)):
            stats.latencies.append(float(recording["latency_ms"]))
        stats.statuses.append(status)
        self.fingerprints.add(fingerprint(recording))
        query = str(recording.get("query") or "")
        stamp = (str(recording.get("recorded_at") or ""), seq)
        _keep_latest(self.episodes, (method, path, query), stamp)
        if status >= 500 or recording.get("body_kind") != "json":
            return  # a failure or a non-JSON body is not a snapshot to blend with
        _keep_latest(self.exact, (method, path, query), stamp)
        _keep_latest(self.by_path, (method, path), stamp)
        _keep_latest(self.by_route, (method, route), stamp)

    def find(self, method: str, route: str, path: str, query: str) -> tuple[int, str] | None:
        """The sequence number of the best recording and how it matched: exact, path or route."""
        hit = self.exact.get((method, path, normal_query(query)))
        if hit is not None:
            return hit[1], "exact"
        hit = self.by_path.get((method, path))
        if hit is not None:
            return hit[1], "path"
        hit = self.by_route.get((method, route))
        return None if hit is None else (hit[1], "route")


def _keep_latest(index: dict[Any, Stamp], key: Any, stamp: Stamp) -> None:
    """Point ``key`` at the recording stamped ``stamp`` unless a later one holds it."""
    if key not in index or index[key] < stamp:
        index[key] = stamp


@dataclass(frozen=True)
class Recording:
    """A recording found for a request: its id, how it matched, and its stored value."""

    id: int
    match: str
    value: dict


class Recorder:
    """Reads and writes a store's recordings; indexes are cached per workspace version."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.catalogs = LRU(64)
        self.values = LRU(2048)

    def catalog(self, workspace: str, version: int) -> Catalog:
        key = (workspace, version)
        catalog = self.catalogs.get(key)
        if catalog is None:
            catalog = Catalog()
            for seq, _key, value in self.store.entries(workspace, KIND):
                if isinstance(value, dict):
                    catalog.add(seq, value)
            self.catalogs.put(key, catalog)
        return catalog

    def value(self, workspace: str, version: int, seq: int) -> dict | None:
        key = (workspace, version, seq)
        hit = self.values.get(key)
        if hit is None:
            found = self.store.entry(workspace, KIND, seq)
            if found is None:
                return None
            hit = self.values.put(key, found[2])
        return hit

    def lookup(self, workspace: str, version: int, method: str, route: str, path: str, query: str) -> Recording | None:
        """The recording that stands for this request, or None."""
        found = self.catalog(workspace, version).find(method, route, path, query)
        if found is None:
            return None
        value = self.value(workspace, version, found[0])
        return None if value is None else Recording(found[0], found[1], value)

    def episode(self, workspace: str, version: int, method: str, path: str, query: str) -> Recording | None:
        """The latest recording of exactly this request (method, path and query), whatever its status or
        body: what the record modes replay."""
        found = self.catalog(workspace, version).episodes.get((method, path, normal_query(query)))
        if found is None:
            return None
        value = self.value(workspace, version, found[1])
        return None if value is None else Recording(found[1], "exact", value)

    def has_recordings(self, workspace: str, version: int) -> bool:
        return bool(self.catalog(workspace, version).fingerprints)

    def stats(self, workspace: str, version: int, method: str, route: str) -> OperationStats | None:
        return self.catalog(workspace, version).stats.get((method, route))

    def record(self, workspace: str, recording: dict) -> int:
        """Append a recording; returns its id."""
        return self.store.append(workspace, KIND, recording_key(recording["method"], recording["route"]), recording)

    def remember(self, workspace: str, version: int, recording: dict) -> int | None:
        """Keep the latest upstream answer for a request: append it, or refresh the proxy recording
        of the same request when status or body changed. None when nothing needed writing."""
        found = self.catalog(workspace, version).exact.get(
            (recording["method"], recording["path"], recording["query"]))
        if found is not None:
            current = self.value(workspace, version, found[1])
            if current is not None and current.get("source") == "proxy":
                if current.get("status") == recording["status"] and current.get("body") == recording["body"]:
                    return None
                self.store.update_entry(workspace, KIND, found[1], recording)
                return found[1]
        return self.record(workspace, recording)

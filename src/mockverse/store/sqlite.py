"""SQLite store: WAL journal, synchronous=FULL, so an acknowledged write survives a crash.

Several worker processes may open the same file; writes take the lock with
``BEGIN IMMEDIATE`` and a busy timeout, so a writer waits instead of failing.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any, Callable

import orjson

from mockverse.cache import LRU
from mockverse.store import StoredEntity

_SCHEMA = """
CREATE TABLE IF NOT EXISTS workspace (ws TEXT PRIMARY KEY, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS entity (
  ws TEXT NOT NULL, type TEXT NOT NULL, id TEXT NOT NULL,
  data BLOB NOT NULL, mode TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
  seq INTEGER NOT NULL,
  PRIMARY KEY (ws, type, id));
CREATE TABLE IF NOT EXISTS link (
  ws TEXT NOT NULL, parent TEXT NOT NULL, rel TEXT NOT NULL, child TEXT NOT NULL,
  PRIMARY KEY (ws, parent, rel, child));
CREATE INDEX IF NOT EXISTS link_child ON link (ws, child);
CREATE TABLE IF NOT EXISTS counter (ws TEXT NOT NULL, type TEXT NOT NULL, value INTEGER NOT NULL,
  PRIMARY KEY (ws, type));
CREATE TABLE IF NOT EXISTS setting (ws TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
  PRIMARY KEY (ws, key));
CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY AUTOINCREMENT, ws TEXT NOT NULL, kind TEXT NOT NULL,
  key TEXT NOT NULL, value BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS log_kind ON log (ws, kind, key, seq);
"""


class SQLiteStore:
    """The embedded default store, a single SQLite file shared by every worker."""

    def __init__(self, path: str) -> None:
        self.path = path
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        self._lock = threading.RLock()
        self._versions = LRU(4096)   # bounded: a flood of distinct workspaces must not grow the process
        self._data_version = -1
        self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=30000")
        with self._write():
            for statement in filter(str.strip, _SCHEMA.split(";")):
                self._db.execute(statement)

    # -- transactions -------------------------------------------------------------------
    class _Tx:
        def __init__(self, store: "SQLiteStore") -> None:
            self.store = store

        def __enter__(self) -> sqlite3.Connection:
            self.store._lock.acquire()
            self.store._db.execute("BEGIN IMMEDIATE")
            return self.store._db

        def __exit__(self, exc_type, exc, tb) -> None:
            try:
                self.store._db.execute("ROLLBACK" if exc_type else "COMMIT")
            finally:
                self.store._lock.release()

    def _write(self) -> "SQLiteStore._Tx":
        return SQLiteStore._Tx(self)

    def _bump(self, db: sqlite3.Connection, ws: str) -> int:
        db.execute(
            "INSERT INTO workspace (ws, version) VALUES (?, 1) "
            "ON CONFLICT(ws) DO UPDATE SET version = version + 1", (ws,))
        version = db.execute("SELECT version FROM workspace WHERE ws = ?", (ws,)).fetchone()[0]
        self._versions.pop(ws, None)  # re-read after commit: a rollback must not leave a wrong number
        return version

    def _read(self, sql: str, args: tuple) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- reads ----------------------------------------------------------------------------
    def version(self, workspace: str) -> int:
        """The workspace's write counter. Read on every request, so it is cached until
        ``PRAGMA data_version`` says another connection (another worker) committed."""
        with self._lock:
            changed = self._db.execute("PRAGMA data_version").fetchone()[0]
            if changed != self._data_version:
                self._data_version = changed
                self._versions.clear()
            version = self._versions.get(workspace)
            if version is None:
                row = self._db.execute("SELECT version FROM workspace WHERE ws = ?", (workspace,)).fetchone()
                version = self._versions.put(workspace, row[0] if row else 0)
            return version

    def get_entity(self, workspace: str, type: str, id: str) -> StoredEntity | None:
        rows = self._read("SELECT data, mode, deleted FROM entity WHERE ws=? AND type=? AND id=?",
                          (workspace, type, id))
        if not rows:
            return None
        data, mode, deleted = rows[0]
        return StoredEntity(type, id, orjson.loads(data), mode, bool(deleted))

    def created_ids(self, workspace: str, type: str) -> list[str]:
        rows = self._read("SELECT id FROM entity WHERE ws=? AND type=? AND mode='created' AND deleted=0 "
                          "ORDER BY seq", (workspace, type))
        return [r[0] for r in rows]

    def deleted_ids(self, workspace: str, type: str) -> list[str]:
        rows = self._read("SELECT id FROM entity WHERE ws=? AND type=? AND deleted=1 AND mode!='created'",
                          (workspace, type))
        return [r[0] for r in rows]

    def linked(self, workspace: str, ref: str, relationship: str) -> list[str]:
        rows = self._read("SELECT child FROM link WHERE ws=? AND parent=? AND rel=? ORDER BY rowid",
                          (workspace, ref, relationship))
        return [r[0] for r in rows]

    def links_of(self, workspace: str, ref: str) -> list[tuple[str, str, str]]:
        rows = self._read("SELECT parent, rel, child FROM link WHERE ws=? AND (parent=? OR child=?) ORDER BY rowid",
                          (workspace, ref, ref))
        return [tuple(r) for r in rows]

    def get_setting(self, workspace: str, key: str) -> Any:
        rows = self._read("SELECT value FROM setting WHERE ws=? AND key=?", (workspace, key))
        return orjson.loads(rows[0][0]) if rows else None

    def workspaces(self) -> list[str]:
        return [r[0] for r in self._read("SELECT ws FROM workspace ORDER BY ws", ())]

    # -- writes ---------------------------------------------------------------------------
    def put_entity(self, workspace: str, type: str, id: str, data: dict[str, Any], mode: str,
                   links: list[tuple[str, str, str]]) -> int:
        """Store ``data`` for the entity and replace the links in which it is the child."""
        ref = f"{type}:{id}"
        with self._write() as db:
            version = self._bump(db, workspace)
            db.execute(
                "INSERT INTO entity (ws, type, id, data, mode, deleted, seq) VALUES (?,?,?,?,?,0,?) "
                "ON CONFLICT(ws, type, id) DO UPDATE SET data=excluded.data, mode=excluded.mode, deleted=0",
                (workspace, type, id, orjson.dumps(data), mode, version))
            db.execute("DELETE FROM link WHERE ws=? AND child=?", (workspace, ref))
            db.executemany("INSERT OR IGNORE INTO link (ws, parent, rel, child) VALUES (?,?,?,?)",
                           [(workspace, p, r, c) for p, r, c in links])
            return version

    def delete_entity(self, workspace: str, type: str, id: str, mode: str) -> int:
        """Mark the entity deleted (a tombstone: generated entities stay computed but hidden)."""
        ref = f"{type}:{id}"
        with self._write() as db:
            version = self._bump(db, workspace)
            db.execute(
                "INSERT INTO entity (ws, type, id, data, mode, deleted, seq) VALUES (?,?,?,?,?,1,?) "
                "ON CONFLICT(ws, type, id) DO UPDATE SET deleted=1",
                (workspace, type, id, b"{}", mode, version))
            db.execute("DELETE FROM link WHERE ws=? AND (child=? OR parent=?)", (workspace, ref, ref))
            return version

    def next_id(self, workspace: str, type: str) -> int:
        """The next number of a per-type counter, atomic across processes."""
        with self._write() as db:
            db.execute("INSERT INTO counter (ws, type, value) VALUES (?, ?, 1) "
                       "ON CONFLICT(ws, type) DO UPDATE SET value = value + 1", (workspace, type))
            return db.execute("SELECT value FROM counter WHERE ws=? AND type=?", (workspace, type)).fetchone()[0]

    def put_setting(self, workspace: str, key: str, value: Any) -> int:
        with self._write() as db:
            version = self._bump(db, workspace)
            db.execute("INSERT INTO setting (ws, key, value) VALUES (?,?,?) "
                       "ON CONFLICT(ws, key) DO UPDATE SET value=excluded.value",
                       (workspace, key, orjson.dumps(value)))
            return version

    def update_setting(self, workspace: str, key: str, change: Callable[[Any], Any]) -> Any:
        """Read-modify-write one setting atomically (one IMMEDIATE transaction, so two workers
        moving the same clock never lose a move); ``change`` gets the old value (or None) and
        returns the new one; whatever it raises aborts the write."""
        with self._write() as db:
            row = db.execute("SELECT value FROM setting WHERE ws=? AND key=?", (workspace, key)).fetchone()
            value = change(orjson.loads(row[0]) if row else None)
            self._bump(db, workspace)
            db.execute("INSERT INTO setting (ws, key, value) VALUES (?,?,?) "
                       "ON CONFLICT(ws, key) DO UPDATE SET value=excluded.value", (workspace, key, orjson.dumps(value)))
            return value

    def append(self, workspace: str, kind: str, key: str, value: Any) -> int:
        """Append a record (a recording, a fidelity score, a delivery) to a log; returns its sequence number."""
        with self._write() as db:
            self._bump(db, workspace)
            cur = db.execute("INSERT INTO log (ws, kind, key, value) VALUES (?,?,?,?)",
                             (workspace, kind, key, orjson.dumps(value)))
            return cur.lastrowid

    def entries(self, workspace: str, kind: str, key: str | None = None, limit: int | None = None,
                newest_first: bool = False) -> list[tuple[int, str, Any]]:
        """Records of one kind (optionally one key) as (seq, key, value), oldest first unless asked."""
        sql = "SELECT seq, key, value FROM log WHERE ws=? AND kind=?"
        args: tuple = (workspace, kind)
        if key is not None:
            sql += " AND key=?"
            args += (key,)
        sql += " ORDER BY seq DESC" if newest_first else " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            args += (limit,)
        return [(seq, k, orjson.loads(v)) for seq, k, v in self._read(sql, args)]

    def entry(self, workspace: str, kind: str, seq: int) -> tuple[int, str, Any] | None:
        rows = self._read("SELECT seq, key, value FROM log WHERE ws=? AND kind=? AND seq=?", (workspace, kind, seq))
        return (rows[0][0], rows[0][1], orjson.loads(rows[0][2])) if rows else None

    def update_entry(self, workspace: str, kind: str, seq: int, value: Any) -> bool:
        with self._write() as db:
            self._bump(db, workspace)
            return db.execute("UPDATE log SET value=? WHERE ws=? AND kind=? AND seq=?",
                              (orjson.dumps(value), workspace, kind, seq)).rowcount > 0

    def delete_entries(self, workspace: str, kind: str, seq: int | None = None) -> int:
        """Delete one record (by seq) or every record of a kind; returns how many went."""
        with self._write() as db:
            self._bump(db, workspace)
            if seq is None:
                return db.execute("DELETE FROM log WHERE ws=? AND kind=?", (workspace, kind)).rowcount
            return db.execute("DELETE FROM log WHERE ws=? AND kind=? AND seq=?", (workspace, kind, seq)).rowcount

    def reset_workspace(self, workspace: str, keep: tuple[str, ...] = ()) -> int:
        """Drop every change of a workspace (entities, links, id counters, logs, and settings other
        than ``keep``) in one transaction. The version is bumped, never rewound, so no cache keyed
        by an earlier version is ever reused."""
        with self._write() as db:
            version = self._bump(db, workspace)
            for table in ("entity", "link", "counter", "log"):
                db.execute(f"DELETE FROM {table} WHERE ws=?", (workspace,))
            db.execute(f"DELETE FROM setting WHERE ws=? AND key NOT IN ({','.join('?' * len(keep))})",
                       (workspace, *keep))
            return version

    def integrity_check(self) -> str:
        return self._read("PRAGMA integrity_check", ())[0][0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

"""SQLite store: WAL journal, synchronous=FULL, so an acknowledged write survives a crash.

Several worker processes may open the same file; writes take the lock with ``BEGIN
IMMEDIATE``. A write never waits long on the event loop: one try waits at most
``BUSY_MS`` and then raises ``StoreBusy``, which the HTTP layer retries after an
asynchronous pause (reads go on meanwhile: WAL readers take no lock) and answers with a
503 and ``Retry-After`` once its budget is spent. Off the event loop (start, background
threads) a write keeps trying for ``THREAD_WAIT`` seconds. Read-only files, full disks
and damaged files become ``StoreReadOnly`` (503), ``StoreFull`` (507) and
``StoreUnavailable`` (503) naming the file; at start, ``StoreOpenError`` with one line.
"""

from __future__ import annotations

import asyncio
import mmap
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson

from mockverse.store import (
    ACTIVITY,
    EVERYTHING,
    KEEP_CHANGES,
    KEY_LINK,
    KeyClaimed,
    Read,
    StoreBusy,
    StoreDamaged,
    StoredEntity,
    StoreFull,
    StoreOpenError,
    StoreReadOnly,
    StoreUnavailable,
    batched,
    entity_write_tags,
    log_tag,
    setting_tags,
)

_VERSIONS = 4096      # workspace versions kept in memory
BUSY_MS = 100          # one wait for another connection's write lock
THREAD_WAIT = 5.0      # how long a write off the event loop keeps trying (start, background threads)

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
CREATE TABLE IF NOT EXISTS change (ws TEXT NOT NULL, version INTEGER NOT NULL, tags BLOB NOT NULL,
  PRIMARY KEY (ws, version));
"""


class SQLiteStore:
    """The embedded default store, a single SQLite file shared by every worker."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._versions: dict[str, int] = {}   # bounded by _VERSIONS: a flood of workspaces must not grow the process
        self._data_version: object = -1
        self._commits: mmap.mmap | None = None
        self._check_path()
        try:
            self._db = sqlite3.connect(path, timeout=BUSY_MS / 1000, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreOpenError(self._open_failure(exc)) from None
        try:
            journal = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(f"PRAGMA busy_timeout={BUSY_MS}")
            with self._write():
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    self._db.execute(statement)
            self._db.execute("SELECT count(*) FROM workspace").fetchone()   # reads the schema's pages: damage shows
        except (sqlite3.Error, StoreUnavailable) as exc:
            self._db.close()
            raise StoreOpenError(self._open_failure(exc)) from None
        self._commits = _wal_index(path) if str(journal).lower() == "wal" else None   # a stale -shm says nothing

    def _check_path(self) -> None:
        """Refuse, with what to do, a path that cannot be a writable SQLite file."""
        path = self.path
        if os.path.isdir(path):
            raise StoreOpenError(f"store {path} is a directory, not a SQLite file: remove it or pass another "
                                 "--store path")
        directory = os.path.dirname(os.path.abspath(path)) or "."
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            raise StoreOpenError(f"store {path}: its directory {directory} cannot be created ({exc.strerror}): "
                                 "create it or pass another --store path") from None
        if os.path.exists(path):
            mode = os.stat(path).st_mode
            if not os.access(path, os.W_OK) or not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
                raise StoreOpenError(f"store {path} is read-only: make it writable (chmod u+w {path}) or pass "
                                     "another --store path")
        if not os.access(directory, os.W_OK):
            raise StoreOpenError(f"store {path}: its directory {directory} is read-only (SQLite writes its journal "
                                 "beside the file): make it writable or pass another --store path")

    def _open_failure(self, exc: BaseException) -> str:
        """The one line ``mockverse serve`` prints for a store that cannot be opened."""
        path, name = self.path, getattr(exc, "sqlite_errorname", "") or ""
        if isinstance(exc, StoreBusy) or name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return (f"store {path} is locked by another program (database is locked): close the program holding it "
                    "(a sqlite3 shell, a database browser) or pass another --store path")
        if name == "SQLITE_NOTADB":
            return (f"store {path} is not a SQLite database (file is not a database): "
                    "move it away or pass another --store path")
        if name == "SQLITE_CORRUPT":
            return (f"store {path} is damaged (database disk image is malformed): restore it from a backup, or move "
                    "it away to start with an empty world")
        if isinstance(exc, StoreFull) or name in ("SQLITE_FULL", "SQLITE_IOERR_WRITE"):
            return (f"store {path} cannot be written ({exc}): the disk is full or failing; free space on it or pass "
                    "another --store path")
        if isinstance(exc, StoreReadOnly) or name.startswith("SQLITE_READONLY"):
            return f"store {path} is read-only ({exc}): make it and its directory writable or pass another --store path"
        return f"store {path} cannot be opened ({exc}): check the file or pass another --store path"

    def _failure(self, exc: sqlite3.Error) -> Exception:
        """The store error a request answers for a SQLite error (the error itself when it is a bug)."""
        name = getattr(exc, "sqlite_errorname", "") or ""
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            activity = ACTIVITY.get()
            if activity is not None and activity.commits == 0:
                activity.busy = True
            return StoreBusy(f"the store {self.path} is locked by another program or process; retry shortly")
        if name.startswith("SQLITE_READONLY"):
            return StoreReadOnly(f"the store {self.path} is read-only ({exc}): writes are refused, reads keep working; "
                                 "make it writable")
        if name in ("SQLITE_FULL", "SQLITE_IOERR_WRITE"):
            return StoreFull(f"the store {self.path} cannot grow ({exc}): the disk is full; writes are refused, "
                             "reads keep working; free space on its disk")
        if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or name.startswith("SQLITE_IOERR"):
            return StoreDamaged(f"the store {self.path} cannot be read ({exc}); restore it from a backup")
        return exc

    # -- transactions -------------------------------------------------------------------
    class _Tx:
        def __init__(self, store: SQLiteStore) -> None:
            self.store = store

        def __enter__(self) -> sqlite3.Connection:
            self.store._begin()
            return self.store._db

        def __exit__(self, exc_type, exc, tb) -> None:
            store = self.store
            try:
                if exc_type is None:
                    try:
                        store._db.execute("COMMIT")
                    except sqlite3.Error as failed:
                        raise store._failure(failed) from failed
                    activity = ACTIVITY.get()
                    if activity is not None:
                        activity.commits += 1
                    return
                if store._db.in_transaction:   # SQLite rolls back by itself after an I/O error or a full disk
                    store._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    failure = store._failure(exc)
                    if failure is not exc:
                        raise failure from exc
            finally:
                store._lock.release()

    def _begin(self) -> None:
        """Take the write lock (``BEGIN IMMEDIATE``), holding ``_lock`` on return. On the event loop one
        try (``BUSY_MS``) and then ``StoreBusy``, which the request is retried on, unless the request
        has already committed a write (then it cannot be run again, so this write waits here like one
        off the loop); off the loop, tries for ``THREAD_WAIT`` seconds, releasing ``_lock`` between tries
        so this process's readers go on."""
        activity = ACTIVITY.get()
        retryable = _on_event_loop() and (activity is None or activity.commits == 0)
        deadline = None
        while True:
            self._lock.acquire()
            try:
                self._db.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.Error as exc:
                self._lock.release()
                failure = self._failure(exc)
                if not isinstance(failure, StoreBusy):
                    raise failure from exc
                if retryable:
                    raise failure from exc
                deadline = deadline or time.monotonic() + THREAD_WAIT
                if time.monotonic() > deadline:
                    raise failure from exc
                time.sleep(0.05)

    def _write(self) -> SQLiteStore._Tx:
        return SQLiteStore._Tx(self)

    def _bump(self, db: sqlite3.Connection, ws: str, tags: list[str]) -> int:
        """Count one write of ``ws`` and record the change tags it touched, keeping the last ``KEEP_CHANGES``."""
        db.execute(
            "INSERT INTO workspace (ws, version) VALUES (?, 1) "
            "ON CONFLICT(ws) DO UPDATE SET version = version + 1", (ws,))
        version = db.execute("SELECT version FROM workspace WHERE ws = ?", (ws,)).fetchone()[0]
        db.execute("INSERT OR REPLACE INTO change (ws, version, tags) VALUES (?,?,?)",
                   (ws, version, orjson.dumps(tags)))
        if version % 1000 == 0:
            db.execute("DELETE FROM change WHERE ws=? AND version <= ?", (ws, version - KEEP_CHANGES))
        self._versions.pop(ws, None)  # re-read after commit: a rollback must not leave a wrong number
        return version

    def _read(self, sql: str, args: tuple) -> list[tuple]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise self._failure(exc) from exc

    # -- reads ----------------------------------------------------------------------------
    def version(self, workspace: str) -> int:
        """The workspace's write counter. Read on every request, so it is cached until any
        connection (this one, another worker's) commits: the WAL-index header, which every commit
        rewrites, differs from the one last seen (``PRAGMA data_version`` where there is none)."""
        commits = self._commits
        if commits is not None and commits[:_WAL_HEADER] == self._data_version:
            version = self._versions.get(workspace)   # no commit since it was read: no lock needed
            if version is not None:
                return version
        with self._lock:
            try:
                changed = (commits[:_WAL_HEADER] if commits is not None
                           else self._db.execute("PRAGMA data_version").fetchone()[0])
                if changed != self._data_version:
                    self._data_version = changed
                    self._versions.clear()
                version = self._versions.get(workspace)
                if version is None:
                    row = self._db.execute("SELECT version FROM workspace WHERE ws = ?", (workspace,)).fetchone()
                    if len(self._versions) >= _VERSIONS:
                        self._versions.clear()
                    version = self._versions[workspace] = row[0] if row else 0
            except sqlite3.Error as exc:
                raise self._failure(exc) from exc
            return version

    async def version_now(self, workspace: str) -> int:
        """:meth:`version`, for the event loop (reading it never waits on another process)."""
        return self.version(workspace)

    async def aclose(self) -> None:
        """Nothing of this store belongs to the event loop: :meth:`close` closes it all."""

    def changes(self, workspace: str, since: int) -> list[tuple[int, list[str]]]:
        """The writes after version ``since`` still kept, as (version, change tags), oldest first."""
        rows = self._read("SELECT version, tags FROM change WHERE ws=? AND version > ? ORDER BY version",
                          (workspace, since))
        return [(version, orjson.loads(tags)) for version, tags in rows]

    def read_many(self, workspace: str, reads: list[Read]) -> list[Any]:
        """What each of ``reads`` (kind, arguments) answers, read in one hold of the connection."""
        with self._lock:
            return [getattr(self, kind)(workspace, *args) for kind, args in batched(reads)]

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

    def stored_ids(self, workspace: str, type: str) -> list[str]:
        """Ids of every entity of a type with a stored record (created, changed or deleted), in id order."""
        return [r[0] for r in self._read("SELECT id FROM entity WHERE ws=? AND type=? ORDER BY id", (workspace, type))]

    def setting_keys(self, workspace: str, prefix: str) -> list[str]:
        """The keys of the workspace's settings that start with ``prefix``, sorted."""
        rows = self._read("SELECT key FROM setting WHERE ws=? AND substr(key, 1, ?) = ? ORDER BY key",
                          (workspace, len(prefix), prefix))
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
        """Store ``data`` for the entity and replace the links in which it is the child; a key another
        entity holds (:data:`KEY_LINK`) refuses it, checked in the write's own IMMEDIATE transaction."""
        ref = f"{type}:{id}"
        with self._write() as db:
            self._claim(db, workspace, ref, links)
            old = db.execute("SELECT parent, rel, child FROM link WHERE ws=? AND child=?", (workspace, ref)).fetchall()
            row = db.execute("SELECT mode, deleted FROM entity WHERE ws=? AND type=? AND id=?",
                             (workspace, type, id)).fetchone()
            members = mode == "created" or row is None or bool(row[1]) or row[0] == "created"
            version = self._bump(db, workspace, entity_write_tags(type, id, [*old, *links], members))
            db.execute(
                "INSERT INTO entity (ws, type, id, data, mode, deleted, seq) VALUES (?,?,?,?,?,0,?) "
                "ON CONFLICT(ws, type, id) DO UPDATE SET data=excluded.data, mode=excluded.mode, deleted=0",
                (workspace, type, id, orjson.dumps(data), mode, version))
            kept = {tuple(link) for link in links}   # a link it keeps keeps its place in its parent's lists
            db.executemany("DELETE FROM link WHERE ws=? AND parent=? AND rel=? AND child=?",
                           [(workspace, p, r, c) for p, r, c in old if (p, r, c) not in kept])
            db.executemany("INSERT OR IGNORE INTO link (ws, parent, rel, child) VALUES (?,?,?,?)",
                           [(workspace, p, r, c) for p, r, c in links])
            return version

    def _claim(self, db: sqlite3.Connection, workspace: str, ref: str, links: list[tuple[str, str, str]]) -> None:
        """Raise :class:`KeyClaimed` when a key ``links`` gives ``ref`` is held by another entity."""
        for parent, rel, _ in links:
            if rel == KEY_LINK:
                row = db.execute("SELECT child FROM link WHERE ws=? AND parent=? AND rel=? AND child!=? LIMIT 1",
                                 (workspace, parent, rel, ref)).fetchone()
                if row is not None:
                    raise KeyClaimed(parent, row[0])

    def delete_entity(self, workspace: str, type: str, id: str, mode: str) -> int:
        """Mark the entity deleted (a tombstone: generated entities stay computed but hidden)."""
        ref = f"{type}:{id}"
        with self._write() as db:
            old = db.execute("SELECT parent, rel, child FROM link WHERE ws=? AND (child=? OR parent=?)",
                             (workspace, ref, ref)).fetchall()
            version = self._bump(db, workspace, entity_write_tags(type, id, old, True))
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
            version = self._bump(db, workspace, setting_tags(key))
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
            self._bump(db, workspace, setting_tags(key))
            db.execute("INSERT INTO setting (ws, key, value) VALUES (?,?,?) "
                       "ON CONFLICT(ws, key) DO UPDATE SET value=excluded.value", (workspace, key, orjson.dumps(value)))
            return value

    def append(self, workspace: str, kind: str, key: str, value: Any) -> int:
        """Append a record (a recording, a fidelity score, a delivery) to a log; returns its sequence number."""
        with self._write() as db:
            self._bump(db, workspace, [log_tag(kind)])
            cur = db.execute("INSERT INTO log (ws, kind, key, value) VALUES (?,?,?,?)",
                             (workspace, kind, key, orjson.dumps(value)))
            seq = cur.lastrowid
            assert seq is not None, "a row INSERT always sets lastrowid"
            return seq

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
            self._bump(db, workspace, [log_tag(kind)])
            return db.execute("UPDATE log SET value=? WHERE ws=? AND kind=? AND seq=?",
                              (orjson.dumps(value), workspace, kind, seq)).rowcount > 0

    def delete_entries(self, workspace: str, kind: str, seq: int | None = None) -> int:
        """Delete one record (by seq) or every record of a kind; returns how many went."""
        with self._write() as db:
            self._bump(db, workspace, [log_tag(kind)])
            if seq is None:
                return db.execute("DELETE FROM log WHERE ws=? AND kind=?", (workspace, kind)).rowcount
            return db.execute("DELETE FROM log WHERE ws=? AND kind=? AND seq=?", (workspace, kind, seq)).rowcount

    def reset_workspace(self, workspace: str, keep: tuple[str, ...] = ()) -> int:
        """Drop every change of a workspace (entities, links, id counters, logs, and settings other
        than ``keep``) in one transaction. The version is bumped, never rewound, so no cache keyed
        by an earlier version is ever reused."""
        with self._write() as db:
            version = self._bump(db, workspace, [EVERYTHING])
            for table in ("entity", "link", "counter", "log"):
                db.execute(f"DELETE FROM {table} WHERE ws=?", (workspace,))
            db.execute("DELETE FROM change WHERE ws=? AND version < ?", (workspace, version))
            db.execute(f"DELETE FROM setting WHERE ws=? AND key NOT IN ({','.join('?' * len(keep))})",
                       (workspace, *keep))
            return version

    def integrity_check(self) -> str:
        return self._read("PRAGMA integrity_check", ())[0][0]

    def close(self) -> None:
        with self._lock:
            commits, self._commits = self._commits, None
            if commits is not None:
                commits.close()
            self._db.close()


# the WAL-index header (https://sqlite.org/walformat.html#the_wal_index_header): two copies of 48
# bytes at the start of the -shm file, rewritten (its change counter bumped) by every commit
_WAL_HEADER = 96


def _wal_index(path: str) -> mmap.mmap | None:
    """A read-only map of the database's WAL-index header, shared with every connection that
    commits to it, so checking for a commit costs a 96-byte compare; None when there is no -shm
    file to map (the caller asks ``PRAGMA data_version`` instead)."""
    try:
        with open(f"{path}-shm", "rb") as shm:
            if os.fstat(shm.fileno()).st_size < _WAL_HEADER:
                return None
            return mmap.mmap(shm.fileno(), _WAL_HEADER, mmap.MAP_SHARED, mmap.PROT_READ)
    except (OSError, ValueError):
        return None


def _on_event_loop() -> bool:
    """Whether this thread runs an asyncio loop (a wait here would stall every client)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True

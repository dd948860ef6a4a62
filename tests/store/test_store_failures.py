"""A state file that is wrong in any way: one line naming it and what to do, exit 2, at start;
while serving, a locked, full or read-only store answers writes with 503/507 problem JSON
and keeps serving reads.

Disk full is simulated with ``RLIMIT_FSIZE`` set in the server process (``preexec_fn``): a
write that would grow a file past the limit fails (EFBIG) as it would on a full disk, and
SQLite reports it the same way. A held lock is a second process in ``BEGIN EXCLUSIVE``.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from conftest import free_port, run_main
from mockverse.launcher import tls_context
from mockverse.store import sqlite

PROBLEM = "application/problem+json"
HOLDER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
db.execute("ROLLBACK")
"""


def serve(store: Path, *args: str, limit: int | None = None) -> tuple[int, str]:
    """(exit code, stderr) of ``mockverse serve`` on a store that should be refused: its main in process, or a
    process of its own when ``limit`` caps the size of the files it may write (RLIMIT_FSIZE)."""
    if limit is None:
        code, _, err = run_main("serve", "--port", "0", "--store", str(store), *args)
        return code, err

    def fsize() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    done = subprocess.run([sys.executable, "-m", "mockverse", "serve", "--port", "0", "--store", str(store), *args],
                          capture_output=True, text=True, timeout=90, preexec_fn=fsize)
    return done.returncode, done.stderr


def assert_one_line(result: tuple[int, str], store: Path, says: str) -> None:
    code, stderr = result
    assert code == 2, (code, stderr[-2000:])
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith(f"mockverse: store {store} ")
    assert says in lines[0], lines[0]


def filled_store(path: Path) -> Path:
    """A real state file with some writes in it (as a server leaves it), closed and checkpointed."""
    from mockverse.store.sqlite import SQLiteStore

    store = SQLiteStore(str(path))
    for i in range(300):
        store.put_setting("default", f"k{i}", {"value": "x" * 200})
    store.close()
    return path


class LockHolder:
    """Another program holding the store's write lock (``BEGIN EXCLUSIVE``) until released."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "locked"

    def release(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)


# -- at start: one line, exit 2 ---------------------------------------------------------------------
def test_a_directory_where_the_file_should_be(tmp_path):
    store = tmp_path / "state.db"
    store.mkdir()
    assert_one_line(serve(store), store, "is a directory, not a SQLite file: remove it or pass another --store path")


def test_a_file_that_is_not_a_database(tmp_path):
    store = tmp_path / "state.db"
    store.write_text("name,email\nada,ada@example.com\n" * 200)
    assert_one_line(serve(store), store, "is not a SQLite database (file is not a database): move it away")


def test_a_truncated_state_file(tmp_path):
    store = filled_store(tmp_path / "state.db")
    size = store.stat().st_size
    with open(store, "r+b") as f:
        f.truncate(size // 2)
    assert_one_line(serve(store), store, "is damaged (database disk image is malformed): restore it from a backup")


def test_a_read_only_state_file(tmp_path):
    store = filled_store(tmp_path / "state.db")
    store.chmod(0o444)
    assert_one_line(serve(store), store, f"is read-only: make it writable (chmod u+w {store})")


def test_a_state_file_locked_by_another_program(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite, "THREAD_WAIT", 0.2)   # how long start waits for the lock: the refusal is the same
    store = filled_store(tmp_path / "state.db")
    holder = LockHolder(store)
    try:
        result = serve(store)
    finally:
        holder.release()
    assert_one_line(result, store, "is locked by another program (database is locked): close the program holding it")


def test_a_full_disk_at_start(tmp_path):
    store = tmp_path / "state.db"
    result = serve(store, limit=0)
    assert_one_line(result, store, "cannot be written (disk I/O error): the disk is full or failing; free space")


# -- while serving ----------------------------------------------------------------------------------
def test_a_held_lock_answers_writes_with_503_within_5s_while_reads_go_on(start_server, tmp_path):
    """The write retries for ``server.store_busy_timeout`` (3 s by default; 1 s here, the same behaviour
    sooner), then answers 503 well within the 5 s bound while reads are served."""
    config = tmp_path / "busy.yaml"
    config.write_text("server:\n  store_busy_timeout: 1s\n")
    server = start_server("--config", str(config))
    c = server.client
    made = c.post("/orders", json={"user_id": 3, "items": [{"sku": "SKU-1", "quantity": 1, "unit_price": 5}]})
    assert made.status_code == 201, made.text
    order = made.json()["id"]
    assert (c.get("/users/3").status_code, c.get(f"/orders/{order}").status_code) == (200, 200)   # built once
    holder = LockHolder(server.store)
    try:
        answer: dict = {}

        def write() -> None:
            started = time.monotonic()
            with httpx.Client(base_url=server.url, timeout=30) as w:
                answer["response"] = w.post("/orders", json={"user_id": 3, "items": [
                    {"sku": "SKU-2", "quantity": 1, "unit_price": 5}]})
            answer["seconds"] = time.monotonic() - started

        writer = threading.Thread(target=write)
        writer.start()
        reads = []
        with httpx.Client(base_url=server.url, timeout=30) as r:
            while writer.is_alive():
                reads.append((r.get("/users/3").status_code, r.get(f"/orders/{order}").status_code))
        writer.join()
    finally:
        holder.release()
    refused = answer["response"]
    assert refused.status_code == 503 and refused.headers["content-type"] == PROBLEM
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["title"] == "Store busy" and refused.json()["field"] == "store"
    assert str(server.store) in refused.json()["detail"]
    assert answer["seconds"] < 5, answer["seconds"]
    assert len(reads) >= 3 and set(reads) == {(200, 200)}, reads[:5]   # reads went on while the write waited
    again = c.post("/orders", json={"user_id": 3, "items": [{"sku": "SKU-3", "quantity": 1, "unit_price": 5}]})
    assert again.status_code == 201, again.text


def test_a_full_disk_answers_writes_with_507_and_reads_go_on(tmp_path):
    port = free_port()
    store = tmp_path / "state.db"

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, resource.RLIM_INFINITY))

    # the log goes to a pipe: the limit applies to files only
    proc = subprocess.Popen([sys.executable, "-m", "mockverse", "serve", "--port", str(port), "--store", str(store),
                             "--log-level", "warning"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=limit)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=url, timeout=1, verify=tls_context()) as probe:
            while True:
                try:
                    if probe.get("/api/v1/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
                    time.sleep(0.05)
        with httpx.Client(base_url=url, timeout=30) as c:
            first = c.post("/orders", json={"user_id": 4, "items": [{"sku": "SKU-1", "quantity": 1, "unit_price": 5}]})
            assert first.status_code == 201, first.text
            statuses = []
            for _ in range(400):
                got = c.post("/api/v1/consistency/entities", json={
                    "entity_type": "device", "data": {"user_id": 4, "note": "x" * 3000}})
                statuses.append(got.status_code)
                if got.status_code != 201:
                    break
            assert statuses[-1] == 507, statuses
            assert set(statuses[:-1]) == {201}
            full = got.json()
            assert got.headers["content-type"] == PROBLEM
            assert (full["title"], full["field"]) == ("Store full", "store")
            assert str(store) in full["detail"] and "free space" in full["detail"]
            assert c.get("/users/3").status_code == 200
            read = c.get(f"/orders/{first.json()['id']}").json()
            assert {k: read[k] for k in first.json()} == first.json()   # the stored order, as acknowledged
            assert c.post("/api/v1/consistency/clock/advance", json={"by": "1h"}).status_code == 507
    finally:
        proc.terminate()
        proc.communicate(timeout=20)


def test_a_store_that_turns_read_only_serves_reads_and_refuses_writes_with_503(app_client):
    """The file system going read-only under a running server is simulated with ``PRAGMA query_only``
    on the store's connection: SQLite then answers every write with SQLITE_READONLY, as it does then."""
    c = app_client()
    made = c.post("/orders", json={"user_id": 5, "items": [{"sku": "SKU-1", "quantity": 2, "unit_price": 3}]})
    assert made.status_code == 201
    c.app.state.engine.store._db.execute("PRAGMA query_only=1")
    refused = c.post("/orders", json={"user_id": 5, "items": [{"sku": "SKU-2", "quantity": 1, "unit_price": 3}]})
    assert refused.status_code == 503 and refused.headers["content-type"] == PROBLEM
    body = refused.json()
    assert (body["title"], body["field"]) == ("Store read-only", "store")
    assert "reads keep working" in body["detail"]
    read = c.get(f"/orders/{made.json()['id']}").json()
    assert {k: read[k] for k in made.json()} == made.json()
    assert c.get("/users/5").status_code == 200

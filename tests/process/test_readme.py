"""The README's curl tour works as printed (against a real server; only the port differs)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import orjson
import pytest
import uvicorn
from uvicorn.importer import import_from_string

from conftest import ROOT, TestClient, _process_state_kept, run_main
from mockverse.cli import main
from mockverse.launcher import HEALTH, ServerProcess, free_port

README = ROOT / "README.md"


def tour_blocks() -> list[list[str]]:
    text = README.read_text()
    section = text.split("## Five-minute tour", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    return [[line for line in b.splitlines() if line.startswith("curl ")] for b in blocks]


def run(line: str, port: int) -> dict | list:
    args = shlex.split(line.replace("127.0.0.1:3000", f"127.0.0.1:{port}"))
    out = subprocess.run(args[:1] + ["-f"] + args[1:], capture_output=True, timeout=30)
    assert out.returncode == 0, f"{line}\n{out.stderr.decode()}"
    return orjson.loads(out.stdout)


def test_readme_starts_with_the_two_commands():
    head = README.read_text().split("## ", 1)[0]
    assert "make run" in head and "make test" in head


@dataclass
class Tour:
    """The server the tour starts with: `mockverse serve --port 3000` (with the TCP listener the README also
    shows) on a free port, run in ``root`` as a reader would, with its own HOME; shared by this module's tests."""

    root: Path
    env: dict[str, str]
    port: int
    tcp_port: int
    proc: ServerProcess

    def restart(self) -> None:
        self.proc.stop()
        self.proc.start(within=120)


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tour]:
    root = tmp_path_factory.mktemp("readme")
    (root / "home").mkdir()
    env = {**os.environ, "HOME": str(root / "home"), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    port, tcp = free_port(), free_port()
    proc = ServerProcess(["mockverse", "serve", "--port", str(port), "--tcp-port", str(tcp)],
                         f"http://127.0.0.1:{port}", root / f"server-{port}.log", cwd=root, env=env)
    server = Tour(root, env, port, tcp, proc.start(within=120))
    yield server
    proc.stop()


def test_curl_tour_works_as_printed(tour):
    before, after = tour_blocks()
    assert len(before) == 10 and len(after) == 2
    server = tour
    results = [run(line, server.port) for line in before]
    user, orders, by_query, consistency = results[:4]
    assert user["orders"] == orders == by_query == consistency["orders"]
    assert results[4]["id"] == 123001 and results[4]["user"]["id"] == 123
    assert results[5][0]["amount"] == results[4]["total"]
    created = results[6]
    assert created["user_id"] == 123 and created["currency"] == "EUR"
    assert results[8]["data"]["user_id"] == 123
    server.restart()
    device, devices = (run(line, server.port) for line in after)
    assert device == results[8]
    assert 777 in [d["id"] for d in devices]


# -- every shell and Python block of the README, and the commands of the "Coming from" table ---------------
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
SERVERS = ("mockverse serve", "mockverse mock", "mockverse record", "python -m mockverse serve")


def fenced(*languages: str) -> list[tuple[int, str]]:
    """(line number, text) of every fenced block in one of ``languages``."""
    text = README.read_text()
    return [(text[:m.start()].count("\n") + 1, m.group(2)) for m in FENCE.finditer(text) if m.group(1) in languages]


def shell_commands(block: str) -> list[str]:
    """The block's commands: continuation lines joined, comments and blank lines dropped."""
    joined = re.sub(r"\\\n\s*", "", block)
    return [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def table_commands() -> list[list[str]]:
    """Commands of each row of the "Coming from" table: every code span that starts with curl or mockverse."""
    section = README.read_text().split("## Coming from", 1)[1].split("\n## ", 1)[0]
    rows = [[span for span in re.findall(r"`([^`]+)`", row) if span.startswith(("curl ", "mockverse "))]
            for row in section.splitlines() if row.startswith("|")]
    return [row for row in rows if row]


class Shell:
    """Runs README commands as printed in the tour's directory, 127.0.0.1:3000 being the tour's server. A server
    that a later command talks to runs as a real process on a free port (any port a command serves on is mapped
    to the port actually used); a server nothing talks to, and every other ``mockverse`` command, runs through
    mockverse's ``main`` in this process (its output or its started app is the point, not a process)."""

    def __init__(self, tour: Tour, redis_url: str) -> None:
        self.root, self.env = tour.root, tour.env
        self.ports: dict[str, str] = {"6379": redis_url.rsplit(":", 1)[1].split("/")[0], "3000": str(tour.port),
                                      "7000": str(tour.tcp_port)}
        self.procs: list[ServerProcess] = []
        self.builtin = self.ports["3000"]   # the built-in world on SQLite, the server the tour starts with

    def mapped(self, command: str) -> str:
        return re.sub(
            r"127\.0\.0\.1:(\d+)",
            lambda m: f"127.0.0.1:{self.ports.get(m.group(1), m.group(1))}",
            re.sub(
                r"(nc 127\.0\.0\.1) (\d+)", lambda m: f"{m.group(1)} {self.ports.get(m.group(2), m.group(2))}", command
            ),
        )

    def served_args(self, command: str) -> list[str]:
        """A serving command's arguments with its ``--port`` (printed or added) moved to a free port."""
        args = shlex.split(self.mapped(command), comments=True)
        port = free_port()
        if "--port" in args:
            self.ports[args[args.index("--port") + 1]] = str(port)
            args[args.index("--port") + 1] = str(port)
        else:
            args += ["--port", str(port)]
        return args

    def serve(self, command: str, cwd: Path) -> None:
        """A command that serves: started on a free port, run until it answers its health check."""
        args = self.served_args(command)
        port = args[args.index("--port") + 1]
        self.procs.append(ServerProcess(args, f"http://127.0.0.1:{port}", cwd / f"server-{port}.log", cwd=cwd,
                                        env=self.env).start(within=120))

    def serve_in_process(self, command: str, cwd: Path) -> None:
        """A command that serves, run by ``main`` in this process: it exits 0 having handed uvicorn one app
        (or, with --workers, the workers' app factory), and that app starts and answers its health check."""
        args = mockverse_args(self.served_args(command))
        served: list[tuple[Any, dict[str, Any]]] = []

        def run(app: Any, **options: Any) -> None:
            served.append((app, options))

        with _process_state_kept(), mock.patch.dict(os.environ, {"HOME": self.env["HOME"]}), \
                pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()) as err:
            patch.setattr(uvicorn, "run", run)
            patch.chdir(cwd)
            code = main(args)
            assert (code, len(served)) == (0, 1), f"{command}: exit {code}\n{err.getvalue()[-500:]}"
            app, options = served[0]
            if options.get("factory"):
                app = import_from_string(app)()
            with TestClient(app, base_url="http://127.0.0.1:3000") as client:
                assert client.get(HEALTH).status_code == 200, command
        assert options["port"] == int(args[args.index("--port") + 1])
        printed = shlex.split(command, comments=True)
        assert options.get("workers", 1) == (int(printed[printed.index("--workers") + 1])
                                             if "--workers" in printed else 1)

    def run(self, part: str, cwd: Path, later: list[str]) -> None:
        """One command as printed (one part of an ``&&`` chain): exit 0; what curl prints is JSON, and no 5xx
        problem. ``later`` are the commands that follow it, to tell whether a server is talked to."""
        if part.startswith(SERVERS):
            if talked_to(part, later):
                self.serve(part, cwd)
            else:
                self.serve_in_process(part, cwd)
        elif part.startswith("make "):
            done = subprocess.run(
                ["make", "-n", *shlex.split(part, comments=True)[1:]], cwd=ROOT, capture_output=True, text=True
            )
            assert done.returncode == 0, f"{part}: {done.stderr}"
        elif part.startswith("docker "):
            return   # tests/process/test_packaging.py builds and runs the image where docker runs
        elif part.startswith("mockverse ") and not SHELL_SYNTAX.search(part.split("#", 1)[0]):
            self.command(part, cwd)
        else:
            self.shell(part, cwd)

    def run_all(self, parts: list[tuple[str, Path]]) -> None:
        """Every command of ``parts`` in order, each in its own directory."""
        for n, (part, cwd) in enumerate(parts):
            self.run(part, cwd, [later for later, _ in parts[n + 1:]])

    def command(self, part: str, cwd: Path) -> None:
        """A ``mockverse`` command that does not serve, run by ``main`` in this process: exit 0, and with
        ``--json`` what it prints is JSON."""
        args = shlex.split(self.mapped(part), comments=True)
        code, out, err = run_main(*args[1:], cwd=cwd, env={"HOME": self.env["HOME"]})
        assert code == 0, f"{part}\n{out[-500:]}\n{err[-500:]}"
        if "--json" in args:
            orjson.loads(out)

    def shell(self, command: str, cwd: Path) -> None:
        """One shell command: exit 0 and, for curl, JSON that is no 5xx problem; nc stays connected, so its
        first line (the answer) is read and then the command is stopped."""
        if " nc " in command:
            self.first_line(command, cwd)
            return
        done = subprocess.run(["bash", "-c", self.mapped(command)], cwd=cwd, env=self.env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, f"{command}\n{done.stdout[-500:]}\n{done.stderr[-500:]}"
        if command.startswith("curl ") and ">" not in command:
            body = orjson.loads(done.stdout)
            assert not (isinstance(body, dict) and isinstance(body.get("status"), int) and body["status"] >= 500), \
                f"{command}: {done.stdout[:300]}"

    def first_line(self, command: str, cwd: Path) -> None:
        """A streaming command (nc): its first line of output is an answer with ``"ok": true``; the command
        is killed once the line arrives (or after 120 s, when the read then gets no line)."""
        proc = subprocess.Popen(["bash", "-c", self.mapped(command)], cwd=cwd, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        watchdog = threading.Timer(120, lambda: os.killpg(proc.pid, signal.SIGKILL))
        watchdog.start()
        try:
            line = proc.stdout.readline() if proc.stdout else ""
        finally:
            watchdog.cancel()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            _, err = proc.communicate()
        assert line, f"{command}: no answer\n{err[-500:]}"
        assert orjson.loads(line)["ok"] is True, line

    def close(self) -> None:
        for proc in self.procs:
            proc.stop()


SHELL_SYNTAX = re.compile(r"[|<>;$`]")


def mockverse_args(args: list[str]) -> list[str]:
    """The arguments ``main`` gets from a command line starting ``mockverse`` or ``python -m mockverse``."""
    return args[args.index("mockverse") + 1:] if "mockverse" in args else args[args.index("-m") + 2:]


def talked_to(command: str, later: list[str]) -> bool:
    """Whether a later command talks to the port ``command`` serves on (before another server takes it)."""
    args = shlex.split(command, comments=True)
    if "--port" not in args:
        return False
    port = args[args.index("--port") + 1]
    for other in later:
        if f"127.0.0.1:{port}" in other or f"nc 127.0.0.1 {port}" in other:
            return True
        if other.startswith(SERVERS) and f"--port {port}" in other:
            return False
    return False


def prose_commands(root: Path) -> list[tuple[str, Path]]:
    """Every command of the README's shell blocks, ``&&`` chains split, to run in ``root``."""
    return [(part, root) for _line, block in fenced("sh", "bash", "console")
            for command in shell_commands(block) for part in command.split(" && ")]


def table_commands_in(root: Path) -> list[tuple[str, Path]]:
    """Every command of the "Coming from" table, each row in a clean directory (`mockverse init` writes files)."""
    parts = []
    for n, row in enumerate(table_commands()):
        cwd = root / f"row{n}"
        cwd.mkdir()
        parts += [(part, cwd) for command in row for part in command.split(" && ")]
    return parts


def test_every_shell_command_of_the_readme_runs_as_printed(tour, redis_server):
    shell = Shell(tour, redis_server.url)
    try:
        shell.run_all(prose_commands(tour.root))
        shell.ports["3000"] = shell.builtin   # the table's commands ask the built-in world, as a reader's would
        shell.run_all(table_commands_in(tour.root))
    finally:
        shell.close()


def test_every_python_block_of_the_readme_runs(pytester, start_server):
    blocks = fenced("python")
    # a block that talks to 127.0.0.1:3000 gets a server (started only when one does)
    port = start_server().port if any("127.0.0.1:3000" in block for _, block in blocks) else 3000
    for line, block in blocks:
        code = block.replace("127.0.0.1:3000", f"127.0.0.1:{port}")
        if re.search(r"^def test_", code, re.M):   # a test using the plugin's fixtures: run by pytest
            pytester.makepyfile(**{f"test_readme_{line}": code})
            result = pytester.runpytest_inprocess("-p", "no:cacheprovider", f"test_readme_{line}.py")
            assert result.ret == 0, f"README line {line}:\n{result.stdout.str()[-2000:]}"
        else:
            exec(compile(code, f"README.md:{line}", "exec"), {"__name__": f"readme_{line}"})

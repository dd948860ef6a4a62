"""`mockverse check --spec X --json` in a process of its own that does not import mockverse again.

Each corpus spec is checked by the CLI's own ``main``, in a child forked from a forkserver that imported
mockverse once (a fresh interpreter per spec spent about a second of CPU on imports alone). The child is a
process of its own as before: its own CPU-time limit (SIGXCPU past it), its own stdout and stderr,
its exit code, and nothing a previous check computed (the forkserver only imports).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import resource
import sys
import tempfile
from pathlib import Path
from typing import Any

PRELOAD = ["corpus_process", "mockverse.cli", "mockverse.check", "mockverse.in_process", "mockverse.http.app"]
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(PRELOAD)


def _child(spec: str, cpu_limit: int, out: str, err: str) -> None:
    """In the forked child: limit its CPU time, send fd 1 and 2 to files, run the CLI, exit with its code."""
    from mockverse.cli import main

    resource.setrlimit(resource.RLIMIT_CPU, (cpu_limit, cpu_limit))
    for fd, path in ((1, out), (2, err)):
        opened = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(opened, fd)
        os.close(opened)
    try:
        code = main(["check", "--spec", spec, "--json"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def check(spec: Path, cpu_limit: int, wall_limit: float) -> tuple[int | None, str, str]:
    """(exit code, stdout, stderr) of one check; the exit code is minus the signal that ended the child
    (``-SIGXCPU`` past the CPU limit), None when it outlived ``wall_limit`` seconds and was killed."""
    with tempfile.TemporaryDirectory(prefix="mockverse-check-") as directory:
        out, err = os.path.join(directory, "out"), os.path.join(directory, "err")
        child = _CONTEXT.Process(target=_child, args=(str(spec), cpu_limit, out, err))
        child.start()
        child.join(wall_limit)
        if child.is_alive():
            child.kill()
            child.join()
            return None, "", ""
        return child.exitcode, _text(out), _text(err)


def _text(path: str) -> str:
    """A file the child wrote, or nothing when it ended before opening it."""
    return Path(path).read_text() if os.path.exists(path) else ""


def stop() -> None:
    """End the forkserver and wait for it, so that the checks' CPU time counts as this process's children's
    (``time``, rusage): a forkserver left to exit on its own is reaped by init, and its children's CPU with it."""
    server: Any = multiprocessing.forkserver._forkserver   # the module's own server: no public way to wait for it
    server._stop()

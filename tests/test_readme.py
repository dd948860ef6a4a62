"""The README's curl tour works as printed (against a real server; only the port differs)."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import orjson

README = Path(__file__).resolve().parent.parent / "README.md"


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


def test_curl_tour_works_as_printed(start_server):
    before, after = tour_blocks()
    assert len(before) == 10 and len(after) == 2
    server = start_server()
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

"""The command line as users run it, in real subprocesses: help with examples, `init`, `mock`, shell
completion, JSON logs and progress of long work. Where only the command's own output matters (each
command's help, an import that sets up a test), its ``main`` runs in process."""

from __future__ import annotations

import argparse
import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import orjson
from pydantic import BaseModel

from conftest import ROOT, run_main
from mockverse.cli import _parser
from mockverse.config import Config, load_config
from mockverse.initconfig import note_for, starter_config

MOCKVERSE = [sys.executable, "-m", "mockverse"]


def run(*args: str, cwd: Path | None = None, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*MOCKVERSE, *args], capture_output=True, text=True, timeout=120, cwd=cwd,
                          env={**os.environ, **(env or {})}, **kwargs)


def commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and sub-command of the parser, e.g. ("serve",), ("persona", "generate")."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append(prefix + (name,))
                found += commands(sub, prefix + (name,))
    return found


# -- help ---------------------------------------------------------------------------------------------
def test_every_command_help_shows_an_example():
    names = commands(_parser())
    assert {("serve",), ("record",), ("mock",), ("init",), ("completion",), ("import-har",), ("fidelity",),
            ("world",), ("version",)} <= set(names)
    for command in [(), *names]:
        code, stdout, stderr = run_main(*command, "--help")
        assert code == 0, (command, stderr)
        examples = stdout.partition("\nexample")[2]
        assert examples, f"`mockverse {' '.join(command)} --help` shows no example:\n{stdout}"
        assert f"mockverse {' '.join(command)}".rstrip() in examples, (command, examples)


# -- init ---------------------------------------------------------------------------------------------
def test_init_writes_a_commented_config_of_every_section_and_a_sample_spec_that_serve(tmp_path, app_server):
    target = tmp_path / "starter"
    code, _, err = run_main("init", "--dir", str(target))
    assert code == 0, err
    config, spec = target / "mockverse.yaml", target / "api.yaml"
    text = config.read_text()
    assert text == starter_config()
    # valid as written, and exactly the defaults: for the built-in world and for a --spec world
    assert load_config(str(config)) == load_config(None)
    assert load_config(str(config), builtin_world=False) == Config()
    # every section and key of the models is in it (enabled, or commented out with an example), with a comment
    lines = text.splitlines()

    def models(model, seen):
        """Every (model, field name) of the config, sections and items of lists and mappings included."""
        for name, field in model.model_fields.items():
            yield model, name
            for sub in [field.annotation, *getattr(field.annotation, "__args__", ())]:
                for inner in [sub, *getattr(sub, "__args__", ())]:
                    if isinstance(inner, type) and issubclass(inner, BaseModel) and inner not in seen:
                        seen.add(inner)
                        yield from models(inner, seen)

    every_key = list(models(Config, set()))
    assert len(every_key) > 80
    for model, name in every_key:
        key = model.model_fields[name].alias or name
        assert any(line.lstrip("# ").startswith(f"{key}:") for line in lines), f"{model.__name__}.{key} is missing"
    for section in Config.model_fields:
        assert any(line.startswith((f"{section}:", f"# {section}:")) for line in lines), section
    missing = sorted({f"{m.__name__}.{n}" for m, n in every_key if not note_for(m, n)})
    assert missing == [], f"keys without a comment in the starter config (add them to initconfig.NOTES): {missing}"
    assert "server:\n" in text and "  port: 3000\n" in text and '# admin_token: "change-me"' in text

    code, _, err = run_main("init", "--dir", str(target))
    assert code == 2
    assert "already exist" in err and "--force" in err
    config.write_text("seed: 7\n")
    assert run_main("init", "--dir", str(target), "--force")[0] == 0
    assert config.read_text() == starter_config()

    server = app_server("--spec", str(spec), "--config", str(config))
    author = server.client.get("/authors/1")
    assert author.status_code == 200 and author.json()["id"] == 1
    posts = server.client.get("/authors/1/posts").json()
    assert posts == server.client.get("/posts", params={"author_id": 1}).json()
    for post in posts:
        assert post["author_id"] == 1
        assert server.client.get(f"/posts/{post['id']}").json() == post


# -- mock ---------------------------------------------------------------------------------------------
def test_mock_is_serve_with_the_spec(tmp_path, start_server, app_server):
    spec = tmp_path / "api.yaml"
    spec.write_text((ROOT / "src/mockverse/builtin/sample-api.yaml").read_text())
    mocked = start_server(str(spec), command="mock")
    served = app_server("--spec", str(spec))
    for path in ("/authors/1", "/authors/2/posts", "/posts?author_id=2", "/authors?_page=2&_per_page=5", "/nope"):
        a, b = mocked.client.get(path), served.client.get(path)
        assert (a.status_code, a.content) == (b.status_code, b.content), path
    assert mocked.client.get("/authors/1").status_code == 200
    assert _parser().parse_args(["mock", "api.yaml", "-p", "4010"]).port == 4010  # as `prism mock api.yaml -p 4010`
    code, _, err = run_main("mock", str(tmp_path / "absent.yaml"), "--store", str(tmp_path / "s.db"))
    assert code == 2 and "absent.yaml" in err


# -- completion ---------------------------------------------------------------------------------------
def test_completion_scripts_and_a_real_completion(tmp_path):
    bash = run("completion", "bash")
    assert bash.returncode == 0 and "complete " in bash.stdout and "mockverse" in bash.stdout
    script = tmp_path / "mockverse.bash"
    script.write_text(bash.stdout)
    checked = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    for shell, marker in (("zsh", "#compdef mockverse"), ("fish", "complete --command mockverse")):
        out = run("completion", shell)
        assert out.returncode == 0 and marker in out.stdout, (shell, out.stdout[:300])
    assert run("completion", "tcsh").returncode == 2
    # what the bash script asks the program when Tab is pressed after `mockverse se` and `mockverse record --rec`
    for line, expected in (("mockverse se", {"serve"}), ("mockverse record --record-mode n", {"new_episodes", "none"})):
        answer = tmp_path / "answer"
        result = run(env={"_ARGCOMPLETE": "1", "_ARGCOMPLETE_IFS": "\n", "COMP_LINE": line,
                          "COMP_POINT": str(len(line)), "COMP_TYPE": "9", "_ARGCOMPLETE_STDOUT_FILENAME": str(answer)})
        assert result.returncode == 0, result.stderr
        assert set(answer.read_text().split()) == expected, line


# -- logs ---------------------------------------------------------------------------------------------
def test_log_format_json_is_one_object_per_line_with_request_fields(start_server, tmp_path):
    token = "s3cret-token-never-logged"
    config = tmp_path / "hooks.yaml"   # a webhook without its secret: a warning logged while the app is built
    config.write_text("webhooks: [{url: 'http://127.0.0.1:9/hooks', events: [order.created], "
                      "secret_env: MOCKVERSE_TEST_UNSET_SECRET}]\n")
    server = start_server("--log-format", "json", "--config", str(config), env={"MOCKVERSE_ADMIN_TOKEN": token})
    response = server.client.get("/users/7?_fields=id", headers={"X-Mockverse-Workspace": "team-a"})
    server.client.get("/users/7")
    assert server.client.post("/api/v1/consistency/clock/advance", json={"by": "1d"}).status_code == 401
    server.stop()
    records = [json.loads(line) for line in server.log().splitlines() if line.strip()]  # every line is JSON
    for record in records:
        assert {"time", "level", "logger", "message"} <= set(record), record
    assert token not in server.log()
    loggers = {r["logger"] for r in records}
    assert {"mockverse", "uvicorn.error"} <= loggers and "uvicorn.access" not in loggers  # one line per request
    assert len([r for r in records if r.get("path") == "/users/7"]) == 2
    assert any(r["message"].startswith("mockverse serving") for r in records)
    assert [r["level"] for r in records if "MOCKVERSE_TEST_UNSET_SECRET" in r["message"]] == ["warning"]
    request = next(r for r in records if r.get("path") == "/users/7" and r.get("workspace") == "team-a")
    assert request["method"] == "GET" and request["status"] == 200 and request["query"] == "_fields=id"
    assert request["source"] == "synthetic" and request["level"] == "info" and request["logger"] == "mockverse"
    assert request["request_id"] == response.headers["x-mockverse-request-id"]
    assert isinstance(request["ms"], float) and request["ms"] >= 0
    refused = next(r for r in records if r.get("path") == "/api/v1/consistency/clock/advance")
    assert (refused["method"], refused["status"]) == ("POST", 401)


def test_log_format_comes_from_the_config_and_is_checked(tmp_path, start_server):
    config = tmp_path / "logs.yaml"
    config.write_text("server: {log_format: json}\n")
    server = start_server("--config", str(config), "--workers", "2")  # the workers log as the server does
    deadline = time.monotonic() + 30
    while server.log().count("mockverse serving") < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    server.client.get("/users/1")
    server.stop()
    records = [json.loads(line) for line in server.log().splitlines() if line.strip()]
    assert sum(r["message"].startswith("mockverse serving") for r in records) == 2
    assert [r["status"] for r in records if r.get("path") == "/users/1"] == [200]
    config.write_text("server: {log_format: xml}\n")
    code, _, err = run_main("serve", "--config", str(config), "--store", str(tmp_path / "s.db"))
    assert code == 2 and "server.log_format" in err and "'json'" in err


# -- progress -----------------------------------------------------------------------------------------
def har_of_users(count: int, orders: bool = False, users: int | None = None) -> dict:
    """A browser-style HAR of ``count`` GETs of /users/{id} (or of /users/{id}/orders) answered with JSON, one
    a second, of users 1..count (or, as a session reading the same users again, cycling over 1..``users``)."""
    def user(n: int) -> int:
        return n if users is None else (n - 1) % users + 1

    def body(n: int) -> object:
        return [{"id": n * 1000 + 1, "user_id": n, "total": 9.5}] if orders else \
            {"id": n, "name": f"Real {n}", "email": f"r{n}@x.test"}
    entries = [{"startedDateTime": f"2026-03-01T10:{n // 60:02d}:{n % 60:02d}.000Z", "time": 12.5,
                "request": {"method": "GET", "headers": [],
                            "url": f"https://api.example.com/users/{user(n)}{'/orders' if orders else ''}"},
                "response": {"status": 200, "headers": [{"name": "Content-Type", "value": "application/json"}],
                             "content": {"mimeType": "application/json", "text": json.dumps(body(user(n)))}}}
               for n in range(1, count + 1)]
    return {"log": {"version": "1.2", "creator": {"name": "test", "version": "1"}, "entries": entries}}


def test_import_har_progress_is_plain_lines_off_a_terminal_and_a_bar_on_one(tmp_path):
    har = tmp_path / "session.har"
    har.write_bytes(orjson.dumps(har_of_users(50)))
    result = run("import-har", str(har), "--store", str(tmp_path / "a.db"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "imported 50 recording(s) into workspace 'default', skipped 0"
    assert result.stderr.splitlines() == [f"import-har: {p}% ({p // 2}/50 entries)" for p in range(10, 101, 10)]
    # on a terminal: one bar redrawn in place
    primary, secondary = pty.openpty()
    try:
        proc = subprocess.run([*MOCKVERSE, "import-har", str(har), "--store", str(tmp_path / "b.db")],
                              stdout=subprocess.PIPE, stderr=secondary, timeout=120)
        os.close(secondary)
        secondary = -1
        shown = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(primary)
        if secondary != -1:
            os.close(secondary)
    assert proc.returncode == 0
    screen = shown.decode()
    assert screen.count("\r") >= 10 and "\n" not in screen.rstrip("\r\n")
    assert screen.rstrip().endswith(f"import-har [{'#' * 30}] 100% 50/50 entries")


def test_fidelity_over_a_large_traffic_log_logs_progress(tmp_path, app_server, caplog):
    store = tmp_path / "traffic.db"
    for orders in (False, True):
        har = tmp_path / f"traffic-{orders}.har"
        har.write_bytes(orjson.dumps(har_of_users(300, orders, users=12)))   # the log is large, its users few
        assert run_main("import-har", str(har), "--store", str(store))[0] == 0
    server = app_server(store=store)   # the import is the command line; the scoring is served in process
    scored = server.client.post("/api/v1/workspace/default/fidelity", json={"source": "traffic"})
    assert scored.status_code == 200, scored.text
    weights = {op["operation"]: op["weight"] for op in scored.json()["score"]["operations"]}
    assert weights == {"GET /users/{id}": 300, "GET /users/{id}/orders": 300}
    lines = [r.getMessage() for r in caplog.records if r.name == "mockverse.progress"]
    assert lines == ["fidelity of workspace 'default': 50% (300/600 recordings)",
                     "fidelity of workspace 'default': 100% (600/600 recordings)"]


def test_help_of_the_program_lists_the_new_commands():
    out = run("--help").stdout
    for command in ("mockverse init", "mockverse mock api.yaml", "--log-format json"):
        assert command in out

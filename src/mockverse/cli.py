"""Command line: serve, record, import-har, fidelity, world, check, version."""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

from mockverse import __version__

if TYPE_CHECKING:
    from mockverse.http.app import Settings

GUARDED_HTTP = "mockverse.http.connections:GuardedHTTP"   # uvicorn's protocol: deadlines, a cap, faults

EXAMPLES = """examples:
  mockverse serve                                  # the built-in commerce world on http://127.0.0.1:3000
  mockverse serve --port 8080 --seed 7             # another port, another world
  mockverse serve --spec api.yaml --config mockverse.yaml
  mockverse init                                   # write a commented mockverse.yaml and a sample api.yaml
  mockverse mock api.yaml                          # the same as serve --spec api.yaml (as Prism's `prism mock`)
  mockverse serve --log-format json                # one JSON object per log line, for CI log collectors
  mockverse record --upstream https://api.example.com   # proxy and record the real API
  mockverse import-har session.har                 # browser recordings as the recorded tier
  mockverse fidelity --workspace default           # how close is the mock (asks the running server)
  mockverse check --spec api.yaml --min 0.95       # in CI: is the mock coherent? exit 1 below 95%
  curl http://127.0.0.1:3000/users/123
"""


def _serve_arguments(serve: argparse.ArgumentParser, spec: bool = True) -> None:
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", "-p", type=int, help="port to bind (default 3000)")
    serve.add_argument("--config", help="YAML config file merged over the defaults")
    if spec:  # `mockverse mock api.yaml` takes the spec as its argument
        serve.add_argument("--spec", help="OpenAPI 3 spec to serve (default: the built-in commerce world)")
    serve.add_argument("--store", help="state store: a SQLite file path or redis://host:port/db "
                       "(default ./.mockverse/state.db)")
    serve.add_argument("--seed", help="world seed: same seed, same world (default 42)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes sharing the store (default 1)")
    serve.add_argument("--log-level", choices=["debug", "info", "warning", "error"], help="log level (default info)")
    serve.add_argument("--log-format", choices=["text", "json"], help="log lines as text, or one JSON object per "
                       "line for CI log collectors (default text; config server.log_format)")
    serve.add_argument("--admin-token", help="bearer token required for writes to /api/v1 (required when --host is "
                       "not a loopback address; prefer the MOCKVERSE_ADMIN_TOKEN environment variable)")
    serve.add_argument("--tcp-port", type=int, help="also listen for newline-delimited JSON over TCP on this port "
                       "(same host as HTTP): get, related, subscribe to world events")
    serve.add_argument("--allow-host", action="append", default=[], metavar="NAME[:PORT]",
                       help="another Host name the admin API and dashboard answer to, besides 127.0.0.1, localhost, "
                       "[::1] and the bound host (repeatable; config server.allowed_hosts)")
    serve.add_argument("--allow-upstream", action="append", default=[], metavar="URL",
                       help="an upstream PUT /api/v1/reality may set, besides the config's upstream (repeatable; "
                       "config reality_continuum.allowed_upstreams)")
    serve.add_argument("--redis-volatile", action="store_true",
                       help="serve from a Redis store without persistence (no AOF): acknowledged writes are lost "
                       "when Redis restarts")
    serve.add_argument("--no-auth-check", dest="auth_check", action="store_false", default=None,
                       help="answer operations whatever security the spec declares (default: a request without "
                       "the declared credential gets 401; config server.auth_check)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mockverse", description="A mock API server that serves a coherent, "
                                     "deterministic, persistent persona world.", epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"mockverse {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="command")
    serve = sub.add_parser("serve", help="serve a world over HTTP", epilog=EXAMPLES,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    _serve_arguments(serve)
    record = sub.add_parser("record", help="serve as a recording proxy: every request goes to the upstream, is "
                            "stored as a recording, and the client gets the upstream's answer",
                            epilog="examples:\n  mockverse record --upstream https://api.example.com --port 3000\n"
                            "  mockverse record --upstream https://api.example.com --record-mode new_episodes",
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    record.add_argument("--upstream", required=True, help="the real API's base URL")
    record.add_argument("--record-mode", choices=["once", "new_episodes", "none", "all"],
                        help="as vcrpy: 'all' sends every request upstream and records it (default); 'new_episodes' "
                        "replays recorded requests and records new ones; 'none' replays only, never calling the "
                        "upstream; 'once' records when the workspace had no recordings as the server first served it, "
                        "else acts as 'none'. "
                        "A request matches a recording by method, path and query")
    _serve_arguments(record)
    mock = sub.add_parser("mock", help="serve an OpenAPI spec (as Prism's `prism mock`): the same as serve --spec",
                          epilog="example:\n  mockverse mock api.yaml --port 4010",
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    mock.add_argument("spec", help="the OpenAPI 3 spec to serve")
    _serve_arguments(mock, spec=False)
    init = sub.add_parser("init", help="write a commented starter config (mockverse.yaml) and a sample spec (api.yaml)",
                          epilog="example:\n  mockverse init --dir my-mock && cd my-mock && "
                          "mockverse serve --spec api.yaml --config mockverse.yaml",
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    init.add_argument("--dir", default=".", help="directory to write into (default: the current one)")
    init.add_argument("--force", action="store_true", help="overwrite files that exist")
    completion = sub.add_parser("completion", help="print a shell completion script",
                                epilog="examples:\n  mockverse completion bash > ~/.local/share/bash-completion/"
                                "completions/mockverse\n  mockverse completion zsh > ~/.zfunc/_mockverse\n"
                                "  mockverse completion fish > ~/.config/fish/completions/mockverse.fish",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    completion.add_argument("shell", choices=["bash", "zsh", "fish"], help="the shell")
    har = sub.add_parser("import-har", help="import a HAR file (browser dev tools, proxies) as recordings",
                         epilog="example:\n  mockverse import-har session.har --workspace default",
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    har.add_argument("file", help="the .har file")
    har.add_argument("--workspace", default="default", help="workspace to import into (default: default)")
    har.add_argument("--store", help="state store (default ./.mockverse/state.db)")
    har.add_argument("--spec", help="OpenAPI 3 spec whose operations the entries are matched to")
    har.add_argument("--config", help="YAML config file")
    har.add_argument("--strip-prefix", default="", help="a path prefix of the recorded API to drop, e.g. /api")
    fidelity = sub.add_parser("fidelity", help="score the mock against the real upstream from the workspace's "
                              "traffic (asks a running server)",
                              epilog="example:\n  mockverse fidelity --workspace default --url http://127.0.0.1:3000",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    fidelity.add_argument("--workspace", default="default", help="workspace to score (default: default)")
    fidelity.add_argument("--url", default="http://127.0.0.1:3000", help="the running server (default http://127.0.0.1:3000)")
    fidelity.add_argument("--json", action="store_true", help="print the API's JSON instead of a table")
    fidelity.add_argument("--admin-token", help="bearer token, when the server requires one (or MOCKVERSE_ADMIN_TOKEN)")
    world = sub.add_parser("world", help="print the world a spec is served as: entity types, relationships, evidence",
                           epilog="example:\n  mockverse world --spec api.yaml --json",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    world.add_argument("--spec", help="OpenAPI 3 spec (default: the built-in commerce world)")
    world.add_argument("--config", help="YAML config file whose 'world' section corrects the inferred world")
    world.add_argument("--json", action="store_true", help="print the JSON of GET /api/v1/consistency/world")
    check = sub.add_parser("check", help="build the world in process and check it hangs together: operations "
                           "served, bodies valid, links resolved, lists agreeing with items, writes read back, "
                           "determinism", epilog="examples:\n  mockverse check                              "
                           "# the built-in world\n  mockverse check --spec api.yaml --min 0.95   # exit 1 below 95%\n"
                           "  mockverse check --spec api.yaml --json       # the machine-readable report",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("--spec", help="OpenAPI spec to check (default: the built-in commerce world)")
    check.add_argument("--json", action="store_true", help="print the report as JSON (scores, findings, timings)")
    check.add_argument("--min", type=_fraction, help="exit 1 when the overall score is below this fraction "
                       "(0 to 1, e.g. 0.95; default: no minimum)")
    check.add_argument("--seed", default="42", help="world seed (default 42)")
    # -- mockverse persona generate
    persona = sub.add_parser(
        "persona",
        help="personas from a description (LLM when configured, else a template)",
        epilog='example:\n  mockverse persona generate "a nurse in Leeds who orders books monthly"',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    persona_sub = persona.add_subparsers(dest="persona_command", metavar="action", required=True)
    generate = persona_sub.add_parser("generate", help="generate a persona, register it in the store and freeze it",
                                      epilog='example:\n  mockverse persona generate "a nurse in Leeds who orders '
                                      'books monthly" --workspace default',
                                      formatter_class=argparse.RawDescriptionHelpFormatter)
    generate.add_argument("description", help="who the persona is, in plain words (1-2000 characters)")
    generate.add_argument("--workspace", default="default", help="workspace to register it in (default: default)")
    generate.add_argument("--store", help="state store (default ./.mockverse/state.db)")
    generate.add_argument("--config", help="YAML config file (its ai: section names the LLM)")
    generate.add_argument("--spec", help="OpenAPI 3 spec of the world (default: the built-in commerce world)")
    generate.add_argument("--seed", help="world seed, as given to `mockverse serve` (default 42)")
    generate.add_argument("--json", action="store_true", help="print the same JSON as POST /api/v1/ai/personas")
    sub.add_parser("version", help="print the version", epilog="example:\n  mockverse version",
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    return parser


def _fraction(text: str) -> float:
    """A --min value: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number from 0 to 1") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


def _check(args: argparse.Namespace) -> int:
    """``mockverse check``: the world's coherence scores; 1 below --min, 2 when the spec cannot be served."""
    import orjson

    from mockverse.check import CheckError, run_check

    try:
        report = run_check(args.spec, seed=args.seed)
    except CheckError as exc:
        print(f"mockverse: {exc}", file=sys.stderr)
        return 2
    print(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode() if args.json else report.text())
    if args.min is not None and report.score() < args.min:
        if not args.json:
            print(f"mockverse: overall score {report.score():.4f} is below --min {args.min}", file=sys.stderr)
        return 1
    return 0


def _world(args: argparse.Namespace) -> int:
    """``mockverse world``: the inferred world as a table (or JSON), before serving it."""
    import orjson

    from mockverse.config import ConfigError, builtin_spec_path, load_config
    from mockverse.openapi import SpecError, infer_world, load_spec
    from mockverse.world.model import WorldModel

    try:
        config = load_config(args.config, builtin_world=args.spec is None)
        spec = load_spec(args.spec or builtin_spec_path())
        model = WorldModel.from_spec(spec, infer_world(spec), config.world)
    except (ConfigError, SpecError, ValueError, OSError) as exc:
        print(f"mockverse: {exc}", file=sys.stderr)
        return 2
    description = model.describe([(op.method, op.path) for op in spec.operations])
    if args.json:
        print(orjson.dumps(description, option=orjson.OPT_INDENT_2).decode())
        return 0
    print(world_table(spec.title, description))
    return 0


def world_table(title: str, world: dict) -> str:
    """The world description as plain-text tables a person can read in a terminal."""
    lines = [f"World of '{title}'", "", "Entity types"]
    rows = [("type", "origin", "population", "parent (field)", "id field", "id example", "operations")]
    for t in world["entity_types"]:
        size = str(t["population"]) if t["parent"] is None else f"{t['per_parent']} per {t['parent']['type']}"
        parent = f"{t['parent']['type']} ({t['parent']['field']})" if t["parent"] else "-"
        example = t["id_example"] if t["id_example"] is not None else "-"
        rows.append((t["name"], t["origin"], size, parent, t["id_field"], str(example), str(len(t["operations"]))))
    lines += _table(rows)
    lines += ["", "Relationships"]
    links: list[tuple[str, ...]] = [("relationship", "kind", "confidence", "used as", "evidence")]
    for r in sorted(world["relationships"], key=lambda r: (-r["confidence"], r["id"])):
        links.append((r["id"] + (" (dangling)" if r["dangling"] else ""), r["kind"], f"{r['confidence']:.2f}",
                       r["used_as"], "; ".join(r["evidence"])))
    lines += _table(links)
    excluded = world.get("excluded") or {}
    if excluded.get("types") or excluded.get("relationships"):
        lines += [
            "",
            "Excluded by the config: " + ", ".join(excluded.get("types", []) + excluded.get("relationships", [])),
        ]
    return "\n".join(lines)


def _table(rows: list[tuple]) -> list[str]:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]) - 1)]
    out = []
    for n, row in enumerate(rows):
        out.append("  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + str(row[-1]))
        if n == 0:
            out.append("  " + "  ".join("-" * w for w in widths) + "  " + "-" * len(str(row[-1])))
    return out


def _check_port(host: str, port: int) -> None:
    """Fail before anything says "serving" when the address cannot be bound (a port in use)."""
    import socket

    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be bound ({exc.strerror})"
            raise ValueError(f"port {port} on {host} {reason}; pick another with --port") from None


def serve_settings(args: argparse.Namespace) -> Settings:
    """The app's settings from the parsed ``serve``/``mock``/``record`` arguments (also how tests build the app
    in process from the same command line)."""
    from mockverse.http.app import Settings

    return Settings(config=args.config, spec=os.path.abspath(args.spec) if args.spec else None,
                    store=args.store, seed=args.seed, host=args.host, port=args.port, log_level=args.log_level,
                    admin_token=args.admin_token, record_upstream=getattr(args, "upstream", None),
                    tcp_port=args.tcp_port, workers=args.workers, auth_check=args.auth_check,
                    record_mode=getattr(args, "record_mode", None), log_format=args.log_format,
                    allow_hosts=tuple(args.allow_host), allow_upstreams=tuple(args.allow_upstream),
                    redis_volatile=args.redis_volatile)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from mockverse.config import ConfigError
    from mockverse.http.app import SETTINGS_ENV, create_app, resolve_config
    from mockverse.http.connections import LIMITS_ENV, raise_fd_limit
    from mockverse.logs import setup_logging
    from mockverse.openapi.loader import SpecError

    settings = serve_settings(args)
    try:
        config = resolve_config(settings)
        _check_port(config.server.host, config.server.port)
        setup_logging(config.server.log_level, config.server.log_format)  # before the app logs its first line
        raise_fd_limit()   # before the app sizes its connection caps; workers inherit it
        app = create_app(settings)  # fail here, with a clear message, before any worker starts
    except (ConfigError, SpecError, ValueError, OSError) as exc:
        print(f"mockverse: {exc}", file=sys.stderr)
        return 2
    logs = {"log_config": None} if config.server.log_format == "json" else {}  # json: uvicorn logs through ours
    host, port = config.server.host, config.server.port
    for sig in (signal.SIGTERM, signal.SIGINT):  # uvicorn re-raises the signal it stopped on: a clean stop exits 0
        signal.signal(sig, lambda *_: None)
    limits = app.state.limits
    os.environ[LIMITS_ENV] = limits.to_env()   # read by GuardedHTTP in this process and in every worker
    serving = dict(host=host, port=port, access_log=False, log_level=config.server.log_level,
                   timeout_graceful_shutdown=10, http=GUARDED_HTTP, timeout_keep_alive=limits.keep_alive_timeout,
                   **logs)
    if args.workers > 1:
        app.state.engine.store.close()  # each worker opens its own
        os.environ[SETTINGS_ENV] = settings.to_env()
        uvicorn.run("mockverse.http.app:app_from_env", factory=True, workers=args.workers, **serving)
    else:
        uvicorn.run(app, **serving)
    return 0


def _import_har(args: argparse.Namespace) -> int:
    """``mockverse import-har``: HAR entries matched to the spec's operations become recordings."""
    from mockverse.config import ConfigError, builtin_spec_path, load_config
    from mockverse.openapi.loader import SpecError, load_spec
    from mockverse.progress import Progress
    from mockverse.reality.har import import_har_file
    from mockverse.store import open_store

    try:
        config = load_config(args.config, builtin_world=args.spec is None,
                             overrides={"store": args.store} if args.store else None)
        spec = load_spec(args.spec or builtin_spec_path())
        store = open_store(config.store)
        progress = Progress("import-har", "entries")
        try:
            result = import_har_file(store, args.workspace, args.file, spec.operations, strip_prefix=args.strip_prefix,
                                     progress=progress.update)
        finally:
            progress.close()
            store.close()
    except (ConfigError, SpecError, ValueError, OSError) as exc:
        print(f"mockverse: {exc}", file=sys.stderr)
        return 2
    print(f"imported {result['imported']} recording(s) into workspace '{args.workspace}', "
          f"skipped {result['skipped']}")
    for reason, count in sorted((result.get("reasons") or {}).items()):
        print(f"  skipped {count}: {reason}")
    return 0


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f}%"


def _bar(value: float | None, width: int = 20) -> str:
    if value is None:
        return " " * width
    filled = round(value * width)
    return "#" * filled + "." * (width - filled)


def _fidelity(args: argparse.Namespace) -> int:
    """``mockverse fidelity``: ask the running server to score the workspace from its traffic."""
    import httpx
    import orjson

    token = args.admin_token or os.environ.get("MOCKVERSE_ADMIN_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        r = httpx.post(f"{args.url.rstrip('/')}/api/v1/workspace/{args.workspace}/fidelity",
                       json={"source": "traffic"}, headers=headers, timeout=120)
    except httpx.HTTPError as exc:
        print(
            f"mockverse: cannot reach the server at {args.url}: {exc}; start it with `mockverse serve`", file=sys.stderr
        )
        return 2
    body: dict[str, Any] = r.json() if r.headers.get("content-type", "").endswith("json") else {"detail": r.text}
    if r.status_code >= 400:
        print(f"mockverse: {body.get('detail', r.text)}", file=sys.stderr)
        return 1
    if args.json:
        print(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode())
        return 0
    score = body["score"]
    overall = score.get("overall")
    print(f"fidelity of workspace '{args.workspace}': {_percent(overall)} ({score.get('band') or 'not computable'}), "
          f"coverage {score.get('coverage', 0):.2f}, confidence {score.get('confidence', 0):.2f}")
    for metric in score["driver_metrics"].values():
        value = metric.get("value")
        shown = "n/a " if value is None else f"{value * 100:3.0f}%"
        print(f"  {metric['label']:<22} {_bar(value)} {shown}  {metric.get('reason') or ''}".rstrip())
    for op in score.get("operations", [])[:10]:
        print(f"  {op['operation']:<40} weight {op['weight']:>4}  overall {_percent(op.get('overall'))}")
    findings = score.get("findings", [])[:5]
    if findings:
        print("worst findings:")
    for f in findings:
        print(f"  -{f['points_lost'] * 100:5.1f} pts  {f.get('operation', '')} {f.get('path') or ''} {f['code']}: "
              f"mock {f.get('mock')!r} vs real {f.get('real')!r}")
    return 0


def _persona_generate(args: argparse.Namespace) -> int:
    """``mockverse persona generate``: the same generation, registration and freezing as
    ``POST /api/v1/ai/personas``, straight on the store (no server needed; a running one sees it)."""
    import asyncio

    import orjson

    from mockverse.ai.personas import PersonaGenerator
    from mockverse.ai.provider import AIError
    from mockverse.config import ConfigError
    from mockverse.http.app import Settings, create_app
    from mockverse.openapi.loader import SpecError
    from mockverse.problems import Problem

    if not 1 <= len(args.description) <= 2000:
        print("mockverse: the description must be 1 to 2000 characters", file=sys.stderr)
        return 2
    try:
        app = create_app(Settings(config=args.config, spec=os.path.abspath(args.spec) if args.spec else None,
                                  store=args.store, seed=args.seed))
    except (ConfigError, SpecError, ValueError, OSError) as exc:
        print(f"mockverse: {exc}", file=sys.stderr)
        return 2
    config, engine = app.state.config, app.state.engine
    generator = PersonaGenerator(engine, app.state.llm, config.ai.mode if config.ai else "frozen")
    try:
        body, made = asyncio.run(generator.generate(args.workspace, args.description))
    except AIError as exc:
        print(f"mockverse: {exc.field}: {exc.message}", file=sys.stderr)
        return 1
    except Problem as exc:
        print(f"mockverse: {exc.field or 'error'}: {exc.detail}", file=sys.stderr)
        return 2
    finally:
        engine.store.close()
    if args.json:
        print(orjson.dumps(body).decode())
        return 0
    user = body["user"]
    print(f"{body['persona_id']} {user.get('name', '')} in workspace '{body['workspace_id']}': "
          f"{'generated' if made else 'frozen earlier'} by the {body['generated_by']}"
          f"{' (' + body['model'] + ')' if body['model'] else ''}")
    print(f"  lifecycle {body['lifecycle']['state']}, metadata {orjson.dumps(body['lifecycle']['metadata']).decode()}")
    if user.get("traits"):
        print(f"  traits: {', '.join(user['traits'])}")
    for order in body["orders"]:
        print(f"  order {order['id']}  {order['created_at']}  {order['status']:<9} {order['total']:>9.2f} "
              f"{order['currency']}  {order['item_count']} item(s)")
    for name, path in body["links"].items():
        print(f"  {name}: {path}")
    return 0


# -- init, completion ------------------------------------------------------------------------------
def _init(args: argparse.Namespace) -> int:
    """``mockverse init``: a commented starter config and a sample spec; never overwrites without --force."""
    from mockverse.initconfig import InitError, write_starter

    try:
        config, spec = write_starter(args.dir, force=args.force)
    except (InitError, OSError) as exc:
        print(f"mockverse: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {config} (every config section with its defaults) and {spec} (a sample OpenAPI 3.1 spec)")
    print(f"serve them with:  mockverse serve --spec {spec} --config {config}")
    return 0


def _completion(args: argparse.Namespace) -> int:
    """``mockverse completion bash|zsh|fish``: argcomplete's script, which asks this same parser for completions."""
    import argcomplete

    print(argcomplete.shellcode(["mockverse"], shell=args.shell))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    if argv is None and "_ARGCOMPLETE" in os.environ:   # a shell asks for completions (argcomplete's own test)
        import argcomplete

        argcomplete.autocomplete(parser)  # answers the shell's completion request and exits
    args = parser.parse_args(argv)
    if args.command == "mock":
        return _serve(args)
    if args.command == "init":
        return _init(args)
    if args.command == "completion":
        return _completion(args)
    if args.command == "persona":
        return _persona_generate(args)
    if args.command in ("serve", "record"):
        return _serve(args)
    if args.command == "import-har":
        return _import_har(args)
    if args.command == "fidelity":
        return _fidelity(args)
    if args.command == "world":
        return _world(args)
    if args.command == "check":
        return _check(args)
    if args.command == "version":
        print(f"mockverse {__version__}")
        return 0
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())

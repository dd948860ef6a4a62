"""Command line: ``mockverse serve``, ``mockverse version``."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from mockverse import __version__

EXAMPLES = """examples:
  mockverse serve                                  # the built-in commerce world on http://127.0.0.1:3000
  mockverse serve --port 8080 --seed 7             # another port, another world
  mockverse serve --spec api.yaml --config mockverse.yaml
  curl http://127.0.0.1:3000/users/123
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mockverse", description="A mock API server that serves a coherent, "
                                     "deterministic, persistent persona world.", epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"mockverse {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="command")
    serve = sub.add_parser("serve", help="serve a world over HTTP", epilog=EXAMPLES,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default 3000)")
    serve.add_argument("--config", help="YAML config file merged over the defaults")
    serve.add_argument("--spec", help="OpenAPI 3 spec to serve (default: the built-in commerce world)")
    serve.add_argument("--store", help="state store: a SQLite file path (default ./.mockverse/state.db)")
    serve.add_argument("--seed", help="world seed: same seed, same world (default 42)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes sharing the store (default 1)")
    serve.add_argument("--log-level", choices=["debug", "info", "warning", "error"], help="log level (default info)")
    sub.add_parser("version", help="print the version")
    return parser


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from mockverse.config import ConfigError
    from mockverse.http.app import SETTINGS_ENV, Settings, create_app, resolve_config
    from mockverse.spec.loader import SpecError

    settings = Settings(config=args.config, spec=os.path.abspath(args.spec) if args.spec else None,
                        store=args.store, seed=args.seed, host=args.host, port=args.port, log_level=args.log_level)
    try:
        config = resolve_config(settings)
        app = create_app(settings)  # fail here, with a clear message, before any worker starts
    except (ConfigError, SpecError, ValueError, OSError) as exc:
        print(f"mockverse: {exc}", file=sys.stderr)
        return 2
    level = config.server.log_level.upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("mockverse").setLevel(level)
    host, port = config.server.host, config.server.port
    if args.workers > 1:
        os.environ[SETTINGS_ENV] = settings.to_env()
        uvicorn.run("mockverse.http.app:app_from_env", factory=True, host=host, port=port, workers=args.workers,
                    access_log=False, log_level=config.server.log_level, timeout_graceful_shutdown=10)
    else:
        uvicorn.run(app, host=host, port=port, access_log=False, log_level=config.server.log_level,
                    timeout_graceful_shutdown=10)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "version":
        print(f"mockverse {__version__}")
        return 0
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Logging setup for the servers: plain text lines, or one JSON object per line for log collectors."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import orjson

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Structured fields a record may carry (request lines pass them with ``extra=``).
FIELDS = ("method", "path", "query", "status", "ms", "workspace", "source", "request_id", "done", "total")


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", ...fields}`` on one line; exceptions as ``exc_info`` text."""

    def format(self, record: logging.LogRecord) -> str:
        out = {"time": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
               "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        for name in FIELDS:
            if name in record.__dict__:
                out[name] = record.__dict__[name]
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


def setup_logging(level: str, log_format: str) -> None:
    """One stderr handler on the root logger, so mockverse's and uvicorn's records share the format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("mockverse").setLevel(level.upper())
    if log_format == "json":  # uvicorn's loggers go through the root handler instead of their own
        for name in ("uvicorn", "uvicorn.error", "uvicorn.asgi"):
            logger = logging.getLogger(name)
            logger.handlers[:] = []
            logger.propagate = True
        access = logging.getLogger("uvicorn.access")  # mockverse logs each request itself, with more fields
        access.handlers[:] = []
        access.propagate = False

"""A real OpenAI-compatible chat-completions server on loopback, scripted per test.

``llm_server.script({"content": "..."}, {"status": 429, "headers": {"Retry-After": "0"}},
{"status": 500}, {"hang": 30}, {"status": 400, "error": "response_format not supported"})``
queues answers; when the queue is empty ``llm_server.responder(body)`` answers (by default a
minimal valid instance of the JSON Schema the request asks for). Every request is recorded
(``.requests``: path, lower-cased headers, parsed JSON body) and counted (``.calls``).

Use it with ``from llm_fixture import LLMServer, llm_server  # noqa: F401`` (tests/ is on
sys.path, like ``conftest``); the fixture yields an ``LLMServer`` whose ``.url`` is the ``/v1`` base.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

Responder = Callable[[dict], dict]


def schema_of(body: dict) -> tuple[str | None, dict | None]:
    """The json_schema name and schema a chat-completions request asks for: from
    ``response_format``, else from the schema mockverse appends to the system prompt."""
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema") or {}
        return spec.get("name"), spec.get("schema")
    for message in body.get("messages", []):
        if message.get("role") == "system" and "JSON Schema:\n" in message.get("content", ""):
            try:
                return None, json.loads(message["content"].rsplit("JSON Schema:\n", 1)[1])
            except ValueError:
                return None, None
    return None, None


def example(schema: dict, name: str = "") -> Any:
    """A small valid instance of ``schema`` (objects get every property, arrays their minimum
    length or one item, strings a readable value named after the property)."""
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return example(schema[key][0], name)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        return {k: example(v, k) for k, v in (schema.get("properties") or {}).items()}
    if kind == "array":
        count = max(1, schema.get("minItems", 1))
        return [example(schema.get("items") or {"type": "string"}, name) for _ in range(count)]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return float(max(1, schema.get("minimum", 1)))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    text = f"Example {name.replace('_', ' ')}".strip() if name else "Example text"
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    text = text.ljust(low, ".")
    return text[:high] if high else text


def schema_responder(body: dict) -> dict:
    """The default answer: a minimal valid instance of the requested schema as the content."""
    _, schema = schema_of(body)
    return {"content": json.dumps(example(schema or {"type": "object"}))}


class LLMServer:
    """The scripted chat-completions server (a ThreadingHTTPServer in a daemon thread)."""

    def __init__(self) -> None:
        self.queue: list[dict] = []
        self.responder: Responder = schema_responder
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        fixture = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet: the test output stays readable
                return

            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                with fixture.lock:
                    fixture.requests.append(
                        {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                    )
                    answer = fixture.queue.pop(0) if fixture.queue else None
                if answer is None:
                    answer = fixture.responder(body)
                if "hang" in answer:
                    fixture.stopping.wait(answer["hang"])
                    self.close_connection = True
                    return
                if self.path.rstrip("/") != "/v1/chat/completions":
                    answer = {"status": 404, "error": f"no route {self.path}"}
                status = answer.get("status", 200)
                if status == 200:
                    payload = {"id": f"chatcmpl-{len(fixture.requests)}", "object": "chat.completion",
                               "model": body.get("model"),
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": answer["content"]}}],
                               "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
                else:
                    payload = {"error": {"message": answer.get("error", f"scripted {status}"), "type": "scripted"}}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (answer.get("headers") or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> LLMServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()       # releases any hanging handler
        self.httpd.shutdown()
        self.httpd.server_close()

    def script(self, *answers: dict) -> LLMServer:
        """Queue answers, used in order before the responder is asked."""
        with self.lock:
            self.queue.extend(answers)
        return self

    @property
    def calls(self) -> int:
        with self.lock:
            return len(self.requests)


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    """A fresh scripted chat-completions server on a free loopback port for one test."""
    server = LLMServer().start()
    yield server
    server.stop()

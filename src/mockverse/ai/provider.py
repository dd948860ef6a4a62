"""The LLM provider: one OpenAI-compatible chat-completions client, and the frozen artefact cache.

``LLM.complete_json`` asks for a JSON object fitting a JSON Schema (``response_format:
json_schema`` where the server supports it, the schema in the prompt always), retries
429/5xx with backoff, bounds every attempt by the configured timeout, validates the
answer and gives the model one chance to repair it. The API key is read from the
environment per call, sent as a bearer token and never logged or put in an error.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
from jsonschema import Draft202012Validator

from mockverse.config import AIConfig
from mockverse.store import Store
from mockverse.timeutil import parse_duration

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("mockverse.ai")

BACKOFF_BASE = 0.25      # seconds before the first retry; doubles per retry
BACKOFF_CAP = 4.0
RETRY_AFTER_MAX = 10.0   # a Retry-After above this is not waited for (our own backoff applies)
SNIPPET = 200            # characters of an upstream error message quoted in an AIError


class AIError(Exception):
    """An LLM call that failed; ``status`` is what the HTTP layer answers (502 upstream
    failure, 504 timeout, 422 output that does not fit), ``field`` names the culprit."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(message)
        self.status, self.field, self.message = status, field, message


class LLM:
    """An OpenAI-compatible chat-completions endpoint (OpenAI, Ollama, vLLM, llama.cpp, LM Studio)."""

    def __init__(self, config: AIConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self.timeout = parse_duration(config.timeout).total_seconds()
        self.transport = transport
        self.structured = True   # set False once the server refuses response_format
        self.calls = 0           # HTTP requests made (attempts, repairs and fallbacks included)

    @property
    def host(self) -> str:
        """The server's host[:port], never the user and password a base URL may carry."""
        parts = urlsplit(self.config.base_url)
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        return f"{host}:{parts.port}" if parts.port is not None else host

    @property
    def key_set(self) -> bool:
        """Whether the key's environment variable is set (the key itself is never shown)."""
        return self._key() is not None

    def _key(self) -> str | None:
        return os.environ.get(self.config.api_key_env) or None

    def _scrub(self, text: str) -> str:
        """``text`` with the API key (if any) masked, shortened for an error message."""
        key = self._key()
        if key:
            text = text.replace(key, "***")
        text = " ".join(text.split())
        return text if len(text) <= SNIPPET else text[:SNIPPET] + "..."

    async def complete_json(self, *, system: str, prompt: str, schema: dict, name: str) -> dict:
        """One JSON object fitting ``schema``, asked for with ``system`` and ``prompt``.
        Raises AIError (the key never in its message). httpx is imported here, on the first call, so a
        server without an LLM does not load it at start."""
        import httpx

        validator = Draft202012Validator(schema)
        messages = [{"role": "system", "content": _system_text(system, schema)},
                    {"role": "user", "content": prompt}]
        async with httpx.AsyncClient(transport=self.transport, timeout=self.timeout) as client:
            content = await self._chat(client, messages, schema, name)
            value, problem = _parse(content, validator)
            if problem is None:
                return value
            log.info("LLM output for '%s' did not fit (%s); asking for a repair", name, problem)
            messages += [{"role": "assistant", "content": content},
                         {"role": "user", "content": f"That reply is not usable: {problem}. Reply again with only "
                                                     "the corrected JSON object that fits the schema."}]
            content = await self._chat(client, messages, schema, name)
            value, again = _parse(content, validator)
            if again is None:
                return value
        raise AIError(422, f"ai.{name}", f"the model's output for '{name}' did not fit its schema, also after one "
                                         f"repair attempt: {self._scrub(again)}")

    def complete_json_sync(self, *, system: str, prompt: str, schema: dict, name: str) -> dict:
        """``complete_json`` for synchronous callers (the command line)."""
        return asyncio.run(self.complete_json(system=system, prompt=prompt, schema=schema, name=name))

    async def _chat(self, client: httpx.AsyncClient, messages: list[dict], schema: dict, name: str) -> str:
        """The assistant's text for ``messages``: retries 429/5xx, timeouts and connection
        errors with backoff, and drops ``response_format`` if the server rejects it (httpx imported on use)."""
        import httpx

        attempts = 1 + self.config.max_retries
        attempt = 0
        plain = False   # trying once without response_format after a 400: it is remembered only if that works
        while True:
            body: dict[str, Any] = {"model": self.config.model, "messages": messages, "temperature": 0}
            if self.structured and not plain:
                body["response_format"] = {"type": "json_schema",
                                           "json_schema": {"name": name, "schema": schema, "strict": True}}
            headers = {"Content-Type": "application/json"}
            key = self._key()
            if key:
                headers["Authorization"] = f"Bearer {key}"
            self.calls += 1
            attempt += 1
            wait: float | None = None
            try:
                async with asyncio.timeout(self.timeout):
                    response = await client.post(f"{self.config.base_url}/chat/completions",
                                                 content=orjson.dumps(body), headers=headers)
            except (TimeoutError, httpx.TimeoutException):
                failure = AIError(504, "ai.timeout", f"the LLM server at {self.host} did not answer within "
                                                     f"{self.config.timeout} ({attempt} attempt(s))")
            except httpx.HTTPError as exc:
                failure = AIError(502, "ai.base_url", f"cannot reach the LLM server at {self.host}: "
                                                      f"{self._scrub(type(exc).__name__ + ' ' + str(exc))}")
            else:
                status = response.status_code
                if status == 200:
                    content = self._content(response)
                    if plain and self.structured:
                        log.info("the LLM server takes no response_format; asking for JSON in the prompt from now on")
                        self.structured = False
                    return content
                detail = self._scrub(_error_text(response))
                if status == 400 and self.structured and not plain:
                    if FORMAT_WORDS.search(detail):   # it says so: remembered at once
                        log.info("the LLM server refused response_format (%s); asking for JSON in the prompt", detail)
                        self.structured = False
                    else:
                        log.info("the LLM server answered 400 (%s); trying once without response_format", detail)
                        plain = True
                    attempt -= 1   # not a failed attempt: the same request in the form this server may take
                    continue
                failure = AIError(502, "ai", f"the LLM server at {self.host} answered {status}: {detail}")
                if status != 429 and status < 500:
                    raise failure
                wait = _retry_after(response.headers.get("retry-after"))
            if attempt >= attempts:
                raise failure
            delay = wait if wait is not None else min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
            log.info("LLM call for '%s' failed (%s); retry %d of %d in %.2fs", name, failure.message, attempt,
                     attempts - 1, delay)
            await asyncio.sleep(delay)

    def _content(self, response: httpx.Response) -> str:
        try:
            data = response.json()
            content = data["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise AIError(502, "ai", f"the LLM server at {self.host} answered 200 without a chat completion: "
                                     f"{self._scrub(response.text)}") from None
        if not isinstance(content, str):
            raise AIError(502, "ai", f"the LLM server at {self.host} answered a completion without text content")
        return content


def _system_text(system: str, schema: dict) -> str:
    """The system prompt plus the schema, for servers that ignore ``response_format``."""
    return (f"{system}\n\nReply with only one JSON object (no prose, no code fences) that fits this JSON Schema:\n"
            f"{orjson.dumps(schema).decode()}")


FORMAT_WORDS = re.compile(r"response_format|json_schema", re.I)   # a 400 that names the structured output
FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)
THINK = re.compile(r"^\s*<think>.*?</think>", re.S)   # reasoning models served by Ollama/vLLM prepend this


def _parse(content: str, validator: Draft202012Validator) -> tuple[Any, str | None]:
    """The JSON value in ``content`` and None, or None and why it is not usable."""
    content = THINK.sub("", content, count=1)
    match = FENCE.match(content)
    text = match.group(1) if match else content.strip()
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return None, f"not valid JSON ({exc})"
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in errors[0].absolute_path)
        return None, f"{where}: {errors[0].message}"
    return value, None


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text or response.reason_phrase
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error or data)


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a numeric Retry-After, when it is small enough to honour."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds <= RETRY_AFTER_MAX else None


def build_llm(config: AIConfig | None) -> LLM | None:
    """The LLM of the config's ``ai:`` section, or None (every AI feature then uses its fallback)."""
    return LLM(config) if config is not None else None


class Artefacts:
    """Generated artefacts kept in the store: in ``frozen`` mode each is generated once and
    reused forever (across restarts and workers); in ``live`` mode ``get`` misses so it is
    regenerated, and ``put`` still keeps the latest."""

    def __init__(self, store: Store, mode: str = "frozen") -> None:
        self.store, self.mode = store, mode

    @staticmethod
    def key(*inputs: Any) -> str:
        """A stable key for the inputs of an artefact (blake2b of their JSON)."""
        return hashlib.blake2b(orjson.dumps(inputs, option=orjson.OPT_SORT_KEYS), digest_size=16).hexdigest()

    def _setting(self, kind: str, key: str) -> str:
        return f"ai:{kind}:{key}"

    def get(self, workspace: str, kind: str, key: str) -> dict | None:
        if self.mode != "frozen":
            return None
        value = self.store.get_setting(workspace, self._setting(kind, key))
        return value if isinstance(value, dict) else None

    def put(self, workspace: str, kind: str, key: str, value: dict) -> None:
        self.store.put_setting(workspace, self._setting(kind, key), value)

    def put_first(self, workspace: str, kind: str, key: str, value: dict) -> dict:
        """Store ``value`` unless another worker stored one first (frozen); the value kept. Live: the latest."""
        if self.mode != "frozen":
            self.put(workspace, kind, key, value)
            return value
        return self.update(workspace, kind, key, lambda old: old if isinstance(old, dict) else value)

    def update(self, workspace: str, kind: str, key: str, change: Callable[[Any], dict]) -> dict:
        """Read-modify-write one artefact atomically (one store write); returns the value kept."""
        return self.store.update_setting(workspace, self._setting(kind, key), change)

"""``mockverse init``: a commented starter config generated from the config models, and a sample spec.

The config is rendered from ``mockverse.config.Config`` itself, so a section or key added to the
models appears in the starter file without anyone editing it. Each key's comment is, in order:
the field's ``Field(description=...)``, the note in ``NOTES`` below, or the trailing ``# comment``
on the field's line in ``config.py``. Keys whose default is ``None`` are written commented out
(with an example), so the file is valid as written and changes nothing until a line is enabled.
"""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from mockverse.config import Config
from mockverse.fidelity.score import DEFAULT_WEIGHTS
from mockverse.timeutil import format_rfc3339

CONFIG_NAME = "mockverse.yaml"
SPEC_NAME = "api.yaml"

# Comments for keys, by "ModelName.field" (used when the field has no description).
NOTES: dict[str, str] = {
    "Config.seed": "world seed: the same seed serves the same world, byte for byte",
    "Config.store": "where changes are kept: a SQLite file, or redis://host:port/db shared by several instances",
    "Config.server": "the HTTP server",
    "Config.world": "the entity world (for --spec worlds: corrections of what is inferred from the spec)",
    "Config.reality_continuum": "how much of each response comes from the real upstream (0 = all synthetic)",
    "Config.consistency": "personas and their lifecycle",
    "ConsistencyConfig.enabled": "false: no personas (no lifecycle states, effects or rules) and no persona graph",
    "ConsistencyConfig.persona_graph": "walks over relationships from a persona (/api/v1/consistency/graph)",
    "PersonaGraphConfig.enabled": "false: graph walks answer 409, saying the graph is off",
    "Config.fidelity": "how the mock is scored against the real upstream",
    "ServerConfig.host": "address to bind; anything but loopback needs an admin token",
    "ServerConfig.port": "port to bind",
    "ServerConfig.cors": "CORS answers (permissive by default, for browser clients of the mock)",
    "ServerConfig.max_body_bytes": "request bodies larger than this get 413",
    "ServerConfig.journal_size": "requests kept in the journal (GET /api/v1/requests); 0 keeps none",
    "ServerConfig.log_level": "debug, info, warning or error",
    "ServerConfig.log_format": "text, or json: one JSON object per line for CI log collectors",
    "ServerConfig.admin_token": "prefer the MOCKVERSE_ADMIN_TOKEN environment variable to writing it here",
    "ServerConfig.allowed_hosts": "Host names the admin API and dashboard answer besides 127.0.0.1, localhost, [::1] "
    "and the bound host: 'name' (any port) or 'name:port' (--allow-host)",
    "ServerConfig.admin_cors_origins": "browser origins allowed to call the admin API (CORS), e.g. "
    "http://localhost:5173; none by default",
    "ServerConfig.header_timeout": "a request's head must arrive within this once begun, else 408 and close",
    "ServerConfig.keep_alive_timeout": "idle connections close after this; longer than clients' own (httpx: 5s)",
    "ServerConfig.tcp_idle_timeout": "a TCP connection without subscriptions closes after this long without a line",
    "ServerConfig.store_busy_timeout": "a write that finds the store locked by another process is tried again "
    "for this long, then answered 503 with Retry-After",
    "ServerConfig.max_connections": "open connections per listener (HTTP, TCP); past it new ones get 503, logged",
    "CorsConfig.enabled": "answer CORS preflights and add CORS headers",
    "CorsConfig.allow_origins": "origins allowed",
    "CorsConfig.allow_methods": "methods allowed",
    "CorsConfig.allow_headers": "request headers allowed",
    "CorsConfig.expose_headers": "response headers a browser script may read",
    "WorldConfig.epoch": "generated timestamps lie before this moment; the virtual clock starts here",
    "WorldConfig.entities": "entity types by name (the built-in world declares user, order, ...)",
    "EntityConfig.path": "collection path",
    "EntityConfig.schema": "component schema of the entity",
    "EntityConfig.population": "how many exist (top-level types)",
    "EntityConfig.created_within": "creation times spread over this long before the epoch",
    "EntityConfig.parent": "the parent type and its foreign-key field (child types)",
    "EntityConfig.id_multiplier": "child id = parent id * id_multiplier + n",
    "EntityConfig.count": "[min, max] children per parent (or 'every')",
    "EntityConfig.every": "mean gap between children over time, e.g. 45d (or 'count')",
    "EntityConfig.max": "at most this many children per parent",
    "EntityConfig.delay": "[min, max] delay of a child after its parent",
    "EntityConfig.fields": "weighted choices per field",
    "EntityConfig.derive": "fields computed from related entities",
    "ParentLink.type": "the parent entity type",
    "ParentLink.field": "the child's foreign-key field",
    "ParentLink.relationship": "the edge name (default has_<children>)",
    "FieldRule.choices": "value: weight",
    "Derivation.sum": "the child relationship summed over",
    "Derivation.of": "the child fields multiplied per child",
    "Derivation.count": "the child relationship counted",
    "Derivation.parent": "the parent field copied down",
    "Derivation.paid_by": "the payments' relationship: a status in paid_states needs one that did not fail",
    "Derivation.paid_states": "statuses that say the entity was paid",
    "Derivation.unpaid": "the status instead, while no payment went through",
    "RelationshipConfig.source": "the entity type holding the field",
    "RelationshipConfig.target": "the entity type the field points to",
    "RelationshipConfig.field": "the field holding the target's id(s)",
    "RelationshipConfig.kind": "belongs_to, or has_many for an array of ids",
    "RealityConfig.enabled": "turn the continuum on",
    "RealityConfig.default_ratio": "0 synthetic, 0.3-0.7 blended with recordings, 0.7-1 the live upstream",
    "RealityConfig.upstream": "the real API's base URL",
    "RealityConfig.allowed_upstreams": "other upstreams PUT /api/v1/reality may set (scheme, host and port must match; "
    "--allow-upstream)",
    "RealityConfig.timeout": "how long to wait for the upstream before falling back",
    "RealityConfig.record": "record mode: proxy everything to the upstream and store each exchange",
    "RealityConfig.record_mode": "once, new_episodes, none or all (vcrpy's record modes)",
    "RealityConfig.routes": "ratio per path pattern",
    "RealityConfig.schedule": "move the ratio over virtual time",
    "RealityConfig.realism": "latency and errors like the real thing",
    "RouteRatio.pattern": "a path pattern, * matches one segment",
    "RouteRatio.ratio": "the ratio for matching paths",
    "RealitySchedule.from_ratio": "the ratio at the start",
    "RealitySchedule.to_ratio": "the ratio at the end",
    "RealitySchedule.over": "how long the move takes on the virtual clock",
    "RealitySchedule.start": "when it starts (default: the clock's start)",
    "RealismConfig.latency": "'recorded', {fixed: 120ms}, {normal: {mean, stddev}} or {lognormal: {median, sigma}}",
    "RealismConfig.errors": "'recorded' or {rate: 0.02, status: 503}",
    "ConsistencyConfig.personas": "persona lifecycle (defaults: the bundled lifecycle.yaml)",
    "PersonasConfig.type": "the persona entity type (default: the first person-like top-level type)",
    "PersonasConfig.default_lifecycle_state": "set: the state of created personas, and of every generated one "
    "not in lifecycle_states unless lifecycle_mix is given",
    "PersonasConfig.lifecycle_states": "states set up front",
    "PersonasConfig.lifecycle_mix": "share of each state in a fresh world",
    "PersonasConfig.lifecycle_rules": "transitions as the clock moves (replaces the bundled rules)",
    "PersonasConfig.lifecycle_effects": "what each state does to endpoints and entities",
    "PersonasConfig.lifecycle_rates": "orders per month by state",
    "PersonasConfig.reality_aware_generation": "learn field distributions from recordings for synthetic values",
    "PersonaState.persona_id": "an entity ref",
    "PersonaState.state": "a lifecycle state",
    "FidelityConfig.exclude": "JSON paths that never count, e.g. $.meta.request_id",
    "FidelityConfig.weights": "driver weights",
    "Config.ai": "an LLM for generated personas and text (off unless set)",
    "AIConfig.provider": "the API the LLM server speaks",
    "AIConfig.base_url": "the server's base URL, e.g. Ollama's or a hosted OpenAI-compatible API",
    "AIConfig.model": "the model name the server knows",
    "AIConfig.api_key_env": "the environment variable holding the API key (the key is never written here)",
    "AIConfig.timeout": "how long one LLM call may take",
    "AIConfig.mode": "frozen: generate once and keep it; live: ask on every read",
    "AIConfig.max_retries": "retries of a failed LLM call",
    "AIConfig.text_fields": "free-text fields the LLM writes, '<entity type or facet>.<field path>'",
    "WebhookConfig.url": "where events are POSTed",
    "WebhookConfig.events": "the events sent, e.g. persona.lifecycle_changed, payment.failed, order.created",
    "WebhookConfig.secret_env": "the environment variable holding the signing secret",
    "WebhookConfig.retry": "retries with exponential backoff",
    "WebhookConfig.timeout": "how long one delivery may take",
    "WebhookRetry.max_attempts": "attempts in all",
    "WebhookRetry.initial": "the wait before the second attempt",
    "WebhookRetry.factor": "each wait is this many times the one before",
    "WebhookRetry.max_delay": "the longest wait",
    "SimulationConfig.routes": "delays and faults per route",
    "SimulatedRoute.pattern": "'GET /orders/*', or a path alone",
    "SimulatedRoute.delay": "{fixed: 200ms}, {normal: {mean, stddev}} or {lognormal: {median, sigma}}",
    "SimulatedRoute.fault": "a network fault on a share of the requests",
    "FaultConfig.type": "connection_reset, empty_response or malformed_chunk",
    "FaultConfig.rate": "the share of requests that fail",
}

# Example values for keys that are required or default to None (written commented out).
EXAMPLES: dict[str, Any] = {
    "ServerConfig.admin_token": "change-me",
    "EntityConfig.path": "/users", "EntityConfig.schema": "User", "EntityConfig.population": 1000,
    "EntityConfig.count": [1, 4], "EntityConfig.every": "45d", "EntityConfig.max": 5,
    "EntityConfig.id_field": "id",
    "ParentLink.type": "user", "ParentLink.field": "user_id", "ParentLink.relationship": "has_orders",
    "FieldRule.choices": {"paid": 0.9, "failed": 0.1},
    "Derivation.sum": "has_items", "Derivation.of": ["quantity", "unit_price"], "Derivation.count": "has_items",
    "Derivation.parent": "total",
    "RelationshipConfig.source": "order", "RelationshipConfig.target": "user", "RelationshipConfig.field": "buyer_id",
    "RealityConfig.upstream": "https://api.example.com",
    "RouteRatio.pattern": "/users/*", "RouteRatio.ratio": 0.5,
    "RealitySchedule.from_ratio": 0.0, "RealitySchedule.to_ratio": 1.0, "RealitySchedule.over": "30d",
    "RealitySchedule.start": "2026-01-01T00:00:00Z",
    "RealismConfig.latency": {"fixed": "120ms"}, "RealismConfig.errors": {"rate": 0.02, "status": 503},
    "PersonasConfig.type": "user", "PersonasConfig.default_lifecycle_state": "Active",
    "PersonasConfig.lifecycle_mix": {"Active": 0.6, "NewSignup": 0.1, "PowerUser": 0.1, "ChurnRisk": 0.1,
                                     "Churned": 0.1},
    "PersonasConfig.lifecycle_rules": [{"from": "NewSignup", "to": "Active", "after": "7d"}],
    "PersonasConfig.lifecycle_effects": {"billing": {"ChurnRisk": {"discount_offer_available": True}}},
    "PersonasConfig.lifecycle_rates": {"Active": 1.5, "PowerUser": 4.0},
    "PersonaState.persona_id": "user:123", "PersonaState.state": "NewSignup",
    "FidelityConfig.weights": dict(DEFAULT_WEIGHTS),   # the driver names POST .../fidelity takes
    "AIConfig.base_url": "http://127.0.0.1:11434/v1", "AIConfig.model": "llama3.2",
    "WebhookConfig.url": "http://127.0.0.1:9000/hooks", "WebhookConfig.events": ["payment.failed"],
    "WebhookConfig.secret_env": "MOCKVERSE_WEBHOOK_SECRET",
    "SimulatedRoute.pattern": "GET /orders/*", "SimulatedRoute.delay": {"fixed": "200ms"},
    "FaultConfig.type": "connection_reset", "ServerConfig.tcp_port": 3001,
}
# Example keys for mappings of sections (world.entities: user, ...).
EXAMPLE_KEYS: dict[str, str] = {"WorldConfig.entities": "user", "EntityConfig.fields": "status",
                                "EntityConfig.derive": "total"}

HEADER = """\
# mockverse config, written by `mockverse init`. Every section is shown with its defaults;
# lines starting with '# key:' are off (their default is unset) and show an example.
# Use it with:  mockverse serve --config mockverse.yaml   (add --spec api.yaml to serve the sample API)
# Unknown keys are errors that name the key, so a typo never passes silently.
"""


class InitError(Exception):
    """``mockverse init`` would overwrite a file; the message names it."""


def write_starter(directory: str | Path, *, force: bool = False) -> list[Path]:
    """Write ``mockverse.yaml`` and ``api.yaml`` into ``directory``; refuses to overwrite unless ``force``."""
    target = Path(directory)
    paths = [target / CONFIG_NAME, target / SPEC_NAME]
    existing = [p for p in paths if p.exists()]
    if existing and not force:
        raise InitError(f"{', '.join(str(p) for p in existing)} already exist{'s' if len(existing) == 1 else ''}; "
                        "use --force to overwrite")
    target.mkdir(parents=True, exist_ok=True)
    paths[0].write_text(starter_config(), "utf-8")
    paths[1].write_text(sample_spec(), "utf-8")
    return paths


def sample_spec() -> str:
    return resources.files("mockverse.builtin").joinpath("sample-api.yaml").read_text("utf-8")


def starter_config() -> str:
    """The whole ``Config`` as commented YAML with its defaults."""
    return HEADER + "\n" + "\n".join(_render(Config, Config(), 0, off=False)) + "\n"


def note_for(model: type[BaseModel], name: str) -> str | None:
    """The comment of one key: its description, its note here, or its trailing comment in config.py."""
    field = model.model_fields[name]
    return field.description or NOTES.get(f"{model.__name__}.{field.alias or name}") \
        or _source_comments(model).get(name)


# -- rendering ----------------------------------------------------------------------------------
def _render(model: type[BaseModel], value: BaseModel | None, indent: int, *, off: bool) -> list[str]:
    lines: list[str] = []
    pad = " " * indent
    mark = "# " if off else ""
    for name, field in model.model_fields.items():
        key = field.alias or name
        note = note_for(model, name)
        qualified = f"{model.__name__}.{key}"
        sub = _section(field.annotation)
        item = _item_model(field.annotation)
        current = getattr(value, name) if value is not None else _default(field)
        if note:
            lines.append(f"{pad}# {note}")
        if sub is not None and isinstance(current, BaseModel):
            inner = _render(sub, current, indent + 2, off=off)
            every_key_off = all(line.lstrip().startswith("#") for line in inner)
            lines.append(f"{pad}{mark}{key}:" + (" {}" if every_key_off and not off else ""))
            lines += inner
        elif sub is not None:  # an optional section, off until written
            lines.append(f"{pad}# {key}:")
            lines += _render(sub, None, indent + 2, off=True)
        elif item is not None and not current:  # a mapping or list of sections: empty, with a commented example
            empty = "{}" if _is_mapping(field.annotation) else "[]"
            lines.append(f"{pad}{mark}{key}: {empty}" if current is not None else f"{pad}# {key}:")
            example = _render(item, None, indent + 4, off=True)
            lines.append(f"{pad}#   {EXAMPLE_KEYS.get(qualified, 'name')}:" if _is_mapping(field.annotation)
                         else f"{pad}#   -")
            lines += example
        elif current is None or current is _REQUIRED:
            sample = EXAMPLES.get(qualified)
            shown = _yaml(sample) if sample is not None else ("null" if current is None else "(required)")
            lines.append(f"{pad}# {key}: {shown}")
        else:
            lines.append(f"{pad}{mark}{key}: {_yaml(current)}")
    return lines


_REQUIRED = object()


def _default(field: FieldInfo) -> Any:
    return _REQUIRED if field.is_required() else field.get_default(call_default_factory=True)


def _yaml(value: Any) -> str:
    """A value as one line of YAML (JSON is YAML's flow style)."""
    return json.dumps(_plain(value), ensure_ascii=False)


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(value, SecretStr):
        return "**********"
    if isinstance(value, datetime):
        return format_rfc3339(value)
    if isinstance(value, timedelta):
        return _duration(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _duration(value: timedelta) -> str:
    """A timedelta in the config's duration syntax: ``1095d``, ``36h``, ``90m``, ``0s``."""
    ms = round(value.total_seconds() * 1000)
    for unit, size in (("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms and ms % size == 0:
            return f"{ms // size}{unit}" if unit != "w" else f"{ms // 86_400_000}d"
    return f"{ms}ms" if ms else "0s"


# -- model introspection ------------------------------------------------------------------------
def _members(annotation: Any) -> tuple:
    """The non-None members of ``X | None`` (or ``(annotation,)``)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return tuple(a for a in typing.get_args(annotation) if a is not type(None))
    return (annotation,)


def _is_model(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, BaseModel)


def _section(annotation: Any) -> type[BaseModel] | None:
    """The model of a field that is a section (``Model`` or ``Model | None``)."""
    found = [a for a in _members(annotation) if _is_model(a)]
    return found[0] if len(found) == 1 and len(_members(annotation)) == 1 else None


def _item_model(annotation: Any) -> type[BaseModel] | None:
    """The model of the values of ``dict[str, Model]`` or the items of ``list[Model]``."""
    for member in _members(annotation):
        origin = typing.get_origin(member)
        if origin in (dict, list):
            value = typing.get_args(member)[-1]
            if _is_model(value):
                return value
    return None


def _is_mapping(annotation: Any) -> bool:
    return any(typing.get_origin(m) is dict for m in _members(annotation))


_COMMENT = re.compile(r"^\s+(\w+)\s*:[^#]*#\s*(.+?)\s*$")


def _source_comments(model: type[BaseModel]) -> dict[str, str]:
    """Trailing comments of the field lines in the model's source (``name: T = x  # what it is``)."""
    try:
        source = inspect.getsource(model)
    except (OSError, TypeError):
        return {}
    return {m.group(1): m.group(2) for m in map(_COMMENT.match, source.splitlines()) if m}

"""The YAML config: its model, the bundled defaults, and strict validation.

Unknown keys are errors that name the key and suggest the closest allowed one; values
are checked by pydantic, and every message names the dotted path of the field.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from mockverse import yamlsafe
from mockverse.problems import did_you_mean
from mockverse.timeutil import parse_duration, parse_rfc3339


class ConfigError(ValueError):
    """A config that cannot be used; ``field`` is the dotted path, ``message`` says why."""

    def __init__(self, field: str, message: str, source: str = "config") -> None:
        self.field, self.message, self.source = field, message, source
        super().__init__(f"{source}: {field}: {message}" if field else f"{source}: {message}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    return parse_duration(value)


class ParentLink(_Strict):
    """How a child type hangs off its parent: the foreign-key field and the edge name
    (in a world built from a spec the edge name defaults to ``has_<children>``)."""

    type: str
    field: str
    relationship: str | None = None


class FieldRule(_Strict):
    """Weighted choices for a field, so a generated world has a realistic mix."""

    choices: dict[str, float]

    @field_validator("choices")
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        if not value or any(w < 0 for w in value.values()) or sum(value.values()) <= 0:
            raise ValueError("choices need at least one value and non-negative weights with a positive sum")
        return value


class Derivation(_Strict):
    """A field computed from related entities: ``sum`` of products over children,
    ``count`` of children, a ``parent`` field copied down, or a status ``paid_by`` children:
    while none of them went through (each ``status: failed``, or none yet) a status among
    ``paid_states`` reads ``unpaid`` instead."""

    sum: str | None = None
    of: list[str] | None = None
    count: str | None = None
    parent: str | None = None
    paid_by: str | None = None
    paid_states: list[str] = ["paid", "shipped", "delivered"]
    unpaid: str = "pending"

    @model_validator(mode="after")
    def _one_kind(self) -> Derivation:
        kinds = [k for k in ("sum", "count", "parent", "paid_by") if getattr(self, k)]
        if len(kinds) != 1:
            raise ValueError("a derivation has exactly one of 'sum' (with 'of'), 'count', 'parent' or 'paid_by'")
        if self.sum and not self.of:
            raise ValueError("'sum' needs 'of': the fields multiplied per child, e.g. [quantity, unit_price]")
        return self


class EntityConfig(_Strict):
    """One entity type of the world: where it is served, its schema, how many exist."""

    path: str | None = None
    schema_: str | None = Field(default=None, alias="schema")
    id_field: str | None = None               # the property holding the id (inferred by default)
    population: int | None = Field(default=None, ge=0, le=10_000_000_000)
    created_within: timedelta = timedelta(days=1095)
    parent: ParentLink | None = None
    id_multiplier: int = Field(default=100, ge=2)
    count: tuple[int, int] | None = None
    every: timedelta | None = None
    paced_by_lifecycle: bool = False          # gaps follow the persona's state (lifecycle rates), not 'every'
    max: int | None = Field(default=None, ge=0)
    delay: tuple[timedelta, timedelta] = (timedelta(0), timedelta(0))
    fields: dict[str, FieldRule] = {}
    derive: dict[str, Derivation] = {}

    @field_validator("created_within", "every", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> Any:
        return None if value is None else _duration(value)

    @field_validator("delay", mode="before")
    @classmethod
    def _delay(cls, value: Any) -> Any:
        return tuple(_duration(v) for v in value) if isinstance(value, (list, tuple)) else value

    @model_validator(mode="after")
    def _shape(self) -> EntityConfig:
        if self.count is not None and self.every is not None:
            raise ValueError("a child entity takes one of 'count: [min, max]' or 'every: <duration>', not both")
        if self.count is not None and not (0 <= self.count[0] <= self.count[1] < self.id_multiplier):
            raise ValueError(f"count must satisfy 0 <= min <= max < id_multiplier ({self.id_multiplier})")
        if self.every is not None and (self.max or 0) >= self.id_multiplier:
            raise ValueError(f"max must be below id_multiplier ({self.id_multiplier})")
        return self

    @property
    def max_children(self) -> int:
        return self.count[1] if self.count else (self.max if self.max is not None else self.id_multiplier - 1)


class RelationshipConfig(_Strict):
    """A relationship the spec does not show (or shows wrongly): ``source.field`` holds
    ids of ``target``; ``kind: has_many`` for an array of ids."""

    source: str
    target: str
    field: str
    kind: str = Field(default="belongs_to", pattern="^(belongs_to|has_many)$")


class WorldConfig(_Strict):
    epoch: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    entities: dict[str, EntityConfig] = {}
    exclude: list[str] = []                   # inferred entity types or relationship ids to drop
    relationships: list[RelationshipConfig] = []   # relationships the spec does not show, added

    @field_validator("epoch", mode="before")
    @classmethod
    def _epoch(cls, value: Any) -> datetime:
        return value if isinstance(value, datetime) else parse_rfc3339(value)


class CorsConfig(_Strict):
    enabled: bool = True
    allow_origins: list[str] = ["*"]
    allow_methods: list[str] = ["*"]
    allow_headers: list[str] = ["*"]
    expose_headers: list[str] = ["X-Mockverse-Workspace", "X-Mockverse-Persona", "X-Mockverse-Lifecycle",
                                 "X-Mockverse-Source", "X-Mockverse-Reality", "X-Mockverse-Request-Id",
                                 "X-Mockverse-Text", "X-Mockverse-Generator", "Preference-Applied",
                                 "X-Total-Count", "Link"]


HOST_NAME = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9-]{0,62})?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62})?)*|\[[0-9A-Fa-f:.]+\])"
                       r"(:[0-9]{1,5})?$")
ORIGIN = re.compile(r"^https?://([A-Za-z0-9]([A-Za-z0-9-]{0,62})?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62})?)*|\[[0-9A-Fa-f:.]+\])"
                    r"(:[0-9]{1,5})?$")


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=3000, ge=0, le=65535)
    cors: CorsConfig = CorsConfig()
    max_body_bytes: int = Field(default=1_048_576, ge=1)
    journal_size: int = Field(default=1000, ge=0)
    log_level: str = "info"
    log_format: Literal["text", "json"] = "text"   # json: one JSON object per line (CI log collectors)
    admin_token: SecretStr | None = None      # bearer token for /api/v1 writes; required off loopback; never logged
    tcp_port: int | None = Field(default=None, ge=0, le=65535)   # newline-delimited JSON listener (protocols.tcp)
    auth_check: bool = True   # a spec's declared security: 401 without a credential (false: `--no-auth-check`)
    # the admin API (/api/v1, /__mockverse, /__admin) answers only Host/Origin names of the bound address and these
    allowed_hosts: list[str] = []             # "name" or "name:port", e.g. mock.internal:3000 (--allow-host)
    admin_cors_origins: list[str] = []        # browser origins allowed to call the admin API (CORS); none by default
    header_timeout: timedelta = timedelta(seconds=10)      # a request's head must arrive within this, or it is closed
    keep_alive_timeout: timedelta = timedelta(seconds=75)  # idle keep-alive; longer than clients' own (httpx: 5s)
    tcp_idle_timeout: timedelta = timedelta(minutes=5)     # a TCP connection with no subscription and no line
    store_busy_timeout: timedelta = timedelta(seconds=3)   # a write finding the store locked retries, then 503
    max_connections: int = Field(default=4096, ge=1, le=1_000_000)   # HTTP and TCP each; past it new ones are closed

    @field_validator("header_timeout", "keep_alive_timeout", "tcp_idle_timeout", "store_busy_timeout", mode="before")
    @classmethod
    def _timeouts(cls, value: Any) -> timedelta:
        span = _duration(value)
        if not timedelta(0) < span <= timedelta(hours=1):
            raise ValueError("must be a positive duration of at most 1h, such as '10s'")
        return span

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        for i, item in enumerate(value):
            if not isinstance(item, str) or not HOST_NAME.match(item):
                raise ValueError(f"allowed_hosts[{i}]: {item!r} is not a host name or address with an optional "
                                 "port, such as 'mock.internal', 'mock.internal:3000' or '[::1]:3000'")
        return [item.lower() for item in value]

    @field_validator("admin_cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for i, item in enumerate(value):
            if not isinstance(item, str) or not ORIGIN.match(item):
                raise ValueError(f"admin_cors_origins[{i}]: {item!r} is not an origin such as "
                                 "'http://localhost:5173' (scheme, host and optional port; no path)")
        return [item.lower() for item in value]

    @field_validator("admin_token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("the admin token must not be empty")
        return value


class RouteRatio(_Strict):
    pattern: str
    ratio: float = Field(ge=0, le=1)


class RealitySchedule(_Strict):
    from_ratio: float = Field(ge=0, le=1)
    to_ratio: float = Field(ge=0, le=1)
    over: str
    start: str | None = None

    @field_validator("over")
    @classmethod
    def _over(cls, value: str) -> str:
        _duration(value)
        return value


class RealismConfig(_Strict):
    """How a mock times and fails: ``recorded`` learns both per operation from recordings;
    otherwise a latency model (``{fixed: 120ms}``, ``{normal: {mean, stddev}}``,
    ``{lognormal: {median, sigma}}``) and an error model (``{rate: 0.02, status: 503}``)."""

    latency: str | dict[str, Any] | None = None
    errors: str | dict[str, Any] | None = None


class RealityConfig(_Strict):
    """The reality continuum: how much of a response comes from the real upstream."""

    enabled: bool = False
    default_ratio: float = Field(default=0.0, ge=0, le=1)
    upstream: str | None = None
    allowed_upstreams: list[str] = []  # upstreams PUT /api/v1/reality may set, besides `upstream` (--allow-upstream)
    timeout: str = "3s"
    record: bool = False
    record_mode: Literal["once", "new_episodes", "none", "all"] = "all"   # vcrpy record modes (record: true)
    routes: list[RouteRatio] = []
    schedule: RealitySchedule | None = None
    realism: RealismConfig = RealismConfig()

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: str) -> str:
        _duration(value)
        return value

    @field_validator("upstream")
    @classmethod
    def _upstream(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("upstream must be an http:// or https:// URL")
        return value

    @field_validator("allowed_upstreams")
    @classmethod
    def _allowed_upstreams(cls, value: list[str]) -> list[str]:
        from urllib.parse import urlsplit

        for i, item in enumerate(value):
            parts = urlsplit(item) if isinstance(item, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"allowed_upstreams[{i}]: {item!r} is not an http:// or https:// URL such as "
                                 "'https://api.example.com'")
        return value


class PersonaState(_Strict):
    persona_id: str
    state: str


class PersonasConfig(_Strict):
    """Lifecycle of personas. Rules, effects, rates and the mix default to the bundled
    ``builtin/lifecycle.yaml``; a value given here replaces that part whole."""

    type: str | None = None                   # the persona entity type; default: the first person-like root type
    # unset: created personas start Active and generated ones follow the mix; set (without a
    # lifecycle_mix): every persona not in lifecycle_states starts in this state
    default_lifecycle_state: str | None = None
    lifecycle_states: list[PersonaState] = []
    lifecycle_mix: dict[str, float] | None = None
    lifecycle_rules: list[dict[str, Any]] | None = None
    lifecycle_effects: dict[str, dict[str, dict[str, Any]]] | None = None
    lifecycle_rates: dict[str, float] | None = None
    # learn field distributions from the workspace's recordings and draw synthetic values from them
    # (read by the reality-aware generator; off leaves the generated bytes unchanged)
    reality_aware_generation: bool = False


class PersonaGraphConfig(_Strict):
    """The persona graph: walks from a persona over its relationships (``/api/v1/consistency/graph``)."""

    enabled: bool = True


class ConsistencyConfig(_Strict):
    """The consistency layer: personas with lifecycles shaping their entities, and the graph between them.
    ``enabled: false`` serves the generated entities without personas (no lifecycle state, effects
    or rules) and without the graph; ``persona_graph.enabled: false`` switches only the graph off."""

    enabled: bool = True
    persona_graph: PersonaGraphConfig = PersonaGraphConfig()
    personas: PersonasConfig = PersonasConfig()

    def off(self) -> list[str]:
        """The parts switched off, as their config keys (empty when everything is on)."""
        if not self.enabled:
            return ["consistency", "persona_graph"]
        return [] if self.persona_graph.enabled else ["persona_graph"]


class FidelityConfig(_Strict):
    """Fidelity scoring: JSON paths that never count (noisy fields), and driver weights."""

    exclude: list[str] = []
    weights: dict[str, float] | None = None

    @field_validator("weights")
    @classmethod
    def _known_drivers(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        """The driver names and weights POST .../fidelity takes, checked at start (one vocabulary)."""
        if value is not None:
            from mockverse.fidelity.score import resolve_weights

            resolve_weights(value)
        return value


class FaultConfig(_Strict):
    """A network fault on a share of a route's requests (WireMock's faults)."""

    type: Literal["connection_reset", "empty_response", "malformed_chunk"]
    rate: float = Field(default=1.0, ge=0, le=1)


class SimulatedRoute(_Strict):
    """Latency and faults for the requests matching ``pattern`` ("GET /orders/*", or a path alone):
    ``delay`` is ``{fixed: 200ms}``, ``{normal: {mean, stddev}}`` or ``{lognormal: {median, sigma}}``."""

    pattern: str
    delay: dict[str, Any] | None = None
    fault: FaultConfig | None = None


class SimulationConfig(_Strict):
    """WireMock-style per-route delays and faults (``mockverse.http.simulation``)."""

    routes: list[SimulatedRoute] = []


# Free-text fields written by the LLM (in the persona's voice) when an `ai:` section is given;
# without one they are served from the deterministic fallback. "<type or facet>.<path>".
DEFAULT_TEXT_FIELDS = ("user.bio", "support.tickets[*].subject", "support.tickets[*].body", "order_item.review_text")
TEXT_FIELD = re.compile(r"^[a-z][a-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*(\[\*\])?)*\.[A-Za-z_][A-Za-z0-9_]*$")


class AIConfig(_Strict):
    """The optional LLM behind generated personas and text: an OpenAI-compatible server.
    The API key is read from the variable ``api_key_env`` when a call is made; never stored."""

    provider: Literal["openai-compatible"] = "openai-compatible"
    base_url: str
    model: str = Field(min_length=1)
    api_key_env: str = Field(default="OPENAI_API_KEY", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    timeout: str = "20s"
    mode: Literal["frozen", "live"] = "frozen"
    max_retries: int = Field(default=2, ge=0, le=10)
    # -- LLM text fields and relationship proposals (mockverse.ai.text_writer, mockverse.ai.relations) --
    text_fields: list[str] = Field(default_factory=lambda: list(DEFAULT_TEXT_FIELDS))
    text_budget: timedelta = timedelta(milliseconds=50)  # how long a cold read waits for LLM text
    queue_size: int = Field(default=256, ge=1, le=100_000)  # text jobs waiting; past it a miss is the fallback
    relationship_threshold: float = Field(default=0.8, ge=0, le=1)   # proposals at or above this are applied
    relationship_budget: timedelta = timedelta(seconds=10)  # how long a start waits for relationship proposals

    @field_validator("text_budget", "relationship_budget", mode="before")
    @classmethod
    def _ai_budgets(cls, value: Any) -> timedelta:
        span = _duration(value)
        if span < timedelta(0) or span > timedelta(minutes=5):
            raise ValueError("must be a duration between 0 and 5m, such as '50ms'")
        return span

    @field_validator("text_fields")
    @classmethod
    def _ai_text_fields(cls, value: list[str]) -> list[str]:
        for i, item in enumerate(value):
            if not isinstance(item, str) or not TEXT_FIELD.match(item):
                raise ValueError(f"text_fields[{i}]: '{item}' is not '<entity type or facet>.<field path>', such as "
                                 "'user.bio' or 'support.tickets[*].subject'")
        return list(dict.fromkeys(value))

    @field_validator("timeout")
    @classmethod
    def _ai_timeout(cls, value: str) -> str:
        if _duration(value) <= timedelta(0):
            raise ValueError("timeout must be a positive duration such as '20s'")
        return value

    @field_validator("base_url")
    @classmethod
    def _ai_base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must be an http:// or https:// URL, e.g. http://127.0.0.1:11434/v1")
        return value.rstrip("/")


# -- webhooks (mockverse.protocols.webhooks) -------------------------------------------------
WEBHOOK_EVENTS = ("persona.lifecycle_changed", "payment.failed", "payment.succeeded")
WEBHOOK_CREATED = r"^[a-z][a-z0-9_]*\.created$"    # "<entity type>.created", checked against the world at start


class WebhookRetry(_Strict):
    """Exponential backoff: attempt n+1 waits ``initial * factor**(n-1)`` (at most ``max_delay``)."""

    max_attempts: int = Field(default=5, ge=1, le=20)
    initial: timedelta = timedelta(seconds=1)
    factor: float = Field(default=2.0, ge=1.0, le=10.0)
    max_delay: timedelta = timedelta(hours=1)

    @field_validator("initial", "max_delay", mode="before")
    @classmethod
    def _retry_durations(cls, value: Any) -> timedelta:
        span = _duration(value)
        if span <= timedelta(0):
            raise ValueError("must be a positive duration such as '200ms' or '1s'")
        return span


class WebhookConfig(_Strict):
    """One subscription: the events POSTed to ``url``, signed with the secret in ``secret_env``."""

    url: str
    events: list[str] = Field(min_length=1)
    secret_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    retry: WebhookRetry = WebhookRetry()
    timeout: timedelta = timedelta(seconds=5)

    @field_validator("url")
    @classmethod
    def _webhook_url(cls, value: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url must be an http:// or https:// URL such as http://127.0.0.1:9000/hooks")
        return value

    @field_validator("events")
    @classmethod
    def _webhook_events(cls, value: list[str]) -> list[str]:
        import re

        known = [*WEBHOOK_EVENTS, "order.created", "payment.created", "user.created", "device.created"]
        for i, name in enumerate(value):
            if name in WEBHOOK_EVENTS or (isinstance(name, str) and re.match(WEBHOOK_CREATED, name)):
                continue
            hint = did_you_mean(name, known, "did you mean '{}'? ")
            raise ValueError(f"events[{i}]: unknown event '{name}'; {hint}known: {', '.join(WEBHOOK_EVENTS)} "
                             "and '<entity type>.created' (e.g. order.created)")
        return list(dict.fromkeys(value))

    @field_validator("timeout", mode="before")
    @classmethod
    def _webhook_timeout(cls, value: Any) -> timedelta:
        span = _duration(value)
        if not timedelta(0) < span <= timedelta(minutes=5):
            raise ValueError("timeout must be a positive duration of at most 5m, such as '5s'")
        return span


class Config(_Strict):
    """The whole config file. Each section is optional; defaults serve the built-in world."""

    seed: int | str = 42
    store: str = "./.mockverse/state.db"
    server: ServerConfig = ServerConfig()
    world: WorldConfig = WorldConfig()
    reality_continuum: RealityConfig = RealityConfig()
    consistency: ConsistencyConfig = ConsistencyConfig()
    fidelity: FidelityConfig = FidelityConfig()
    ai: AIConfig | None = None                # optional: LLM-generated personas and text
    webhooks: list[WebhookConfig] = []        # event subscriptions (mockverse.protocols.webhooks)
    simulation: SimulationConfig = SimulationConfig()   # per-route delays and faults


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The pydantic model that owns the key at ``loc`` (for suggestions)."""
    model: Any = Config
    for part in loc[:-1]:
        if isinstance(model, type) and issubclass(model, BaseModel):
            field = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
            if field is None:
                return None
            model = field.annotation
        else:  # a dict or list annotation: this part is a key or index, the value type follows
            model = (getattr(model, "__args__", None) or (None,))[-1]
        args = getattr(model, "__args__", None)
        if args and getattr(model, "__origin__", None) not in (dict, list, tuple):
            model = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), model)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _explain(error: ValidationError, source: str) -> ConfigError:
    first = error.errors()[0]
    loc = tuple(first["loc"])
    field = ".".join(str(p) for p in loc)
    if first["type"] == "extra_forbidden":
        owner = _model_at(loc)
        allowed = _allowed_keys(owner) if owner else []
        hint = did_you_mean(loc[-1], allowed)
        return ConfigError(field, f"unknown key '{loc[-1]}'{hint} Allowed here: {', '.join(allowed)}", source)
    message = first["msg"].removeprefix("Value error, ")
    return ConfigError(field, message, source)


def _merge(base: dict, over: dict) -> dict:
    """Deep-merge ``over`` onto ``base`` (mappings merge, everything else replaces)."""
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _with_exclusions(merged: dict, base: dict, over: dict) -> dict:
    """``merged`` whose ``world.exclude`` holds the bundled exclusions and the user's both (a list of
    names each config drops, not a value one replaces), when both are lists."""
    bundled, given = (_at(base, "world", "exclude"), _at(over, "world", "exclude"))
    if not isinstance(bundled, list) or not isinstance(given, list):
        return merged
    return _merge(merged, {"world": {"exclude": list(dict.fromkeys([*bundled, *given]))}})


def _at(data: object, *keys: str) -> object:
    """The value at a path of nested mappings, or None."""
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def builtin_config_data() -> dict:
    """The bundled defaults of the built-in world (``builtin/config.yaml``)."""
    data: dict = yamlsafe.bundled("config.yaml")
    return data


def builtin_spec_path() -> Path:
    return Path(str(resources.files("mockverse.builtin").joinpath("openapi.yaml")))


def load_config(path: str | None = None, *, builtin_world: bool = True, overrides: dict | None = None) -> Config:
    """Load the config: bundled defaults (when serving the built-in world), then the
    user's file, then command-line overrides. Raises ConfigError."""
    data: dict = builtin_config_data() if builtin_world else {}
    source = "config"
    if path:
        source = str(path)
        try:
            text = Path(path).read_text("utf-8")
        except OSError as exc:
            raise ConfigError("", f"cannot read the config file: {exc.strerror}", source) from None
        try:
            user = yamlsafe.load(text) or {}
        except yamlsafe.YAMLLimitError as exc:
            raise ConfigError("", f"{exc.pointer}: {exc.message}", source) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            if isinstance(exc, yaml.constructor.ConstructorError):  # e.g. !!python/object/apply:os.system
                where += f": {exc.problem}; a config is plain data, tags that build Python objects are refused"
            raise ConfigError("", f"not valid YAML{where}", source) from None
        if not isinstance(user, dict):
            raise ConfigError("", "the config file must be a mapping of sections", source)
        data = _with_exclusions(_merge(data, user), data, user)
    if overrides:
        data = _merge(data, overrides)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise _explain(exc, source) from None

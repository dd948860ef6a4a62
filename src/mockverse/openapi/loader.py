"""Load an OpenAPI 3.0/3.1 (or Swagger 2.0) document: parse it, resolve every local ``$ref``, list its operations.

A Swagger 2.0 document is converted to OpenAPI 3.0 first (:mod:`mockverse.openapi.swagger2`).

Resolution replaces each ``$ref`` object by the very Python object it points at, so a
schema referenced twice is one shared dict and a recursive schema becomes a cyclic
structure (consumers guard depth). Schemas are otherwise kept as written; normalising
``allOf`` or nullability is left to the consumer, helped by :func:`merge_all_of` and
:func:`is_nullable`.

Problems with the file are reported as :class:`SpecError` naming the file, a JSON
pointer into the document and a message, never as a traceback. Errors about the whole
document (unreadable file, malformed YAML/JSON) use the pointer ``/``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import re
import time
from dataclasses import dataclass, field
from typing import Any, TypeGuard
from urllib.parse import unquote

import orjson
import yaml

from mockverse import yamlsafe
from mockverse.cache import LRU

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PARAMETER_LOCATIONS = ("path", "query", "header", "cookie")
ROOT = "/"

_VERSION = re.compile(r"^3\.[01](\.\d+)?([-.].*)?$")
_TEMPLATE_PARAM = re.compile(r"\{([^{}/]+)\}")

# Keys whose value maps user-chosen names to objects (so its keys are not keywords).
_NAME_MAPS = frozenset(
    {
        "properties", "patternProperties", "$defs", "definitions", "dependentSchemas",
        "schemas", "responses", "parameters", "requestBodies", "headers", "securitySchemes",
        "links", "callbacks", "pathItems", "paths", "webhooks", "content", "encoding",
        "variables", "mapping", "scopes",
    }
)
# Keys whose value is literal data in which "$ref" is not a reference.
_LITERAL_KEYS = frozenset({"example", "default", "enum", "const"})
# Where a node sits: an object with keywords, a name map, the examples map, or an Example Object.
_OBJECT, _NAMES, _EXAMPLES, _EXAMPLE = "object", "names", "examples", "example"


class SpecError(Exception):
    """A problem in a spec file, located by file and JSON pointer; ``str()`` is the user message."""

    def __init__(self, file: str, pointer: str, message: str) -> None:
        super().__init__(f"{file}: {pointer}: {message}")
        self.file = file
        self.pointer = pointer
        self.message = message


@dataclass
class Response:
    """One documented response: its status, chosen media type, schema and named examples."""

    status: str
    media_type: str | None
    schema: dict | None
    examples: dict[str, object]


@dataclass
class Parameter:
    """One operation parameter; ``location`` is path, query, header or cookie."""

    name: str
    location: str
    required: bool
    schema: dict | None
    description: str = ""


@dataclass
class Operation:
    """One HTTP method on one path template, with path-level parameters merged in."""

    method: str
    path: str
    operation_id: str | None
    parameters: list[Parameter]
    request_schema: dict | None
    request_required: bool
    responses: dict[str, Response]
    tags: list[str]
    security: list[dict] = field(default_factory=list)   # requirement sets, any one of which suffices

    def success(self) -> Response | None:
        """The 2xx response to serve: JSON bodies first, then the lowest status; else ``default``."""
        candidates = [r for r in self.responses.values() if _status_rank(r.status) is not None]
        if not candidates:
            return self.responses.get("default")
        return min(candidates, key=lambda r: (not is_json_media_type(r.media_type), _status_rank(r.status)))


@dataclass
class Spec:
    """A loaded OpenAPI document with all local references resolved."""

    source: str
    openapi: str
    title: str
    operations: list[Operation]
    schemas: dict[str, dict]
    document: dict
    digest: str = ""   # blake2b of the file's bytes: what a copy loaded from the same bytes shares
    _schema_names: dict[int, tuple[Any, str]] = field(default_factory=dict, repr=False, compare=False)

    def schema_name(self, schema: dict) -> str | None:
        """The ``components/schemas`` name this resolved schema object came from, if any."""
        named = self._schema_names.get(id(schema))
        return named[1] if named is not None and named[0] is schema else None

    def __getstate__(self) -> dict[str, Any]:
        """What pickling keeps: the schema names as (object, name) pairs, since a copy's objects have new ids."""
        return {**self.__dict__, "_schema_names": list(self._schema_names.values())}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._schema_names = {id(node): (node, name) for node, name in state["_schema_names"]}


def load_spec(source: str | os.PathLike) -> Spec:
    """Read, parse and resolve an OpenAPI 3.0.x, 3.1.x or Swagger 2.0 file (YAML or JSON, told apart by content).
    A file this process loaded before with the same content is not parsed again: the last few loads are kept
    (pickled, so each caller gets its own copy to change), keyed by the file's path and a digest of its bytes."""
    file = os.fspath(source)
    data = _read(file)
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    kept = _LOADED.get((file, digest))
    if kept is not None:
        loaded: Spec = pickle.loads(kept)
        return loaded
    spec = _load(_decoded(data, file), file)
    spec.digest = digest
    with contextlib.suppress(RecursionError):   # a schema graph nested past the pickler's depth is not kept
        _LOADED.put((file, digest), pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL))
    return spec


_LOADED = LRU(8)   # (path, digest of the bytes) -> a Spec loaded from them, pickled


def _load(text: str, file: str) -> Spec:
    """Parse and resolve one document's text (``file`` names it in errors)."""
    from mockverse.openapi import swagger2  # it builds on this module's SpecError

    document = _parse(text, file)
    if swagger2.is_swagger2(document):
        document = swagger2.convert(document, file)
    version = _check_version(document, file)
    raw_schemas = _components_schemas(document, file)
    names = {id(node): (node, name) for name, node in raw_schemas.items()
             if isinstance(node, dict) and not _is_ref(node)}
    _Resolver(document, file, allow_ref_siblings=version.startswith("3.1")).run()
    schemas = _components_schemas(document, file)
    for name, node in schemas.items():
        if isinstance(node, dict):
            names.setdefault(id(node), (node, name))
    info = document.get("info")
    title = str(info.get("title", "")) if isinstance(info, dict) else ""
    return Spec(
        source=file,
        openapi=version,
        title=title,
        operations=_operations(document, file),
        schemas=schemas,
        document=document,
        _schema_names=names,
    )


def bench_load(path: str | os.PathLike) -> float:
    """Seconds taken by one :func:`load_spec` of ``path`` parsed afresh (for the performance budget)."""
    file = os.fspath(path)
    started = time.perf_counter()
    _load(_decoded(_read(file), file), file)
    return time.perf_counter() - started


def merge_all_of(schema: dict) -> dict:
    """One schema with ``allOf`` flattened in: properties merged, ``required`` united.

    Returns ``schema`` itself when it has no ``allOf``; otherwise a new dict. Keywords the
    schema states itself win over those of its parts; among parts, later properties win.
    Nested property schemas are shared, not copied. Cyclic ``allOf`` chains are cut.
    """
    return _merge(schema, frozenset())


def is_nullable(schema: object) -> bool:
    """Whether a schema admits null in any of the three spellings.

    ``nullable: true`` (3.0), ``type: [..., "null"]`` (3.1), or an ``anyOf``/``oneOf``
    alternative that is itself null (``{type: "null"}``) or nullable.
    """
    return _nullable(schema, 0)


def is_json_media_type(media_type: str | None) -> bool:
    """Whether a media type carries JSON (``application/json``, ``*/*+json``)."""
    if not media_type:
        return False
    base = media_type.split(";", 1)[0].strip().lower()
    return base == "application/json" or base.endswith("+json") or base.endswith("/json")


def escape_pointer_token(token: object) -> str:
    """One JSON-pointer token, with ``~`` and ``/`` escaped as ``~0`` and ``~1``."""
    return str(token).replace("~", "~0").replace("/", "~1")


def to_pointer(parts: list | tuple) -> str:
    """A JSON pointer for a path of keys; the document root is written ``/``."""
    if not parts:
        return ROOT
    return "/" + "/".join(escape_pointer_token(p) for p in parts)


# --- reading and parsing -------------------------------------------------------------


def _read(file: str) -> bytes:
    """The file's bytes; an unreadable file is a SpecError."""
    try:
        with open(file, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise SpecError(file, ROOT, f"cannot read the file: {exc.strerror or exc}") from None


def _decoded(data: bytes, file: str) -> str:
    """The file's text; non-UTF-8 bytes are a SpecError."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(file, ROOT, f"the file is not UTF-8 text (byte {exc.start})") from None


def _parse(text: str, file: str) -> dict:
    """Parse JSON (when the text starts with ``{``) or YAML into a mapping."""
    if text.lstrip().startswith(("{", "[")):
        try:
            document = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise SpecError(file, ROOT, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    else:
        try:
            document = yamlsafe.load(text)  # the C-accelerated *safe* loader, aliases bounded
        except yamlsafe.YAMLLimitError as exc:
            raise SpecError(file, exc.pointer, exc.message) from None
        except yaml.MarkedYAMLError as exc:
            raise SpecError(file, ROOT, _yaml_message(exc)) from None
        except yaml.YAMLError as exc:
            raise SpecError(file, ROOT, f"invalid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise SpecError(file, ROOT, "expected a mapping at the top level of an OpenAPI document")
    return document


def _yaml_message(exc: yaml.MarkedYAMLError) -> str:
    """A one-line YAML error with 1-based line and column."""
    mark = exc.problem_mark or exc.context_mark
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    message = f"invalid YAML{where}: {exc.problem or exc.context or 'syntax error'}"
    if exc.context and exc.problem and exc.context_mark:
        message += f" ({exc.context} at line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1})"
    return message


def _check_version(document: dict, file: str) -> str:
    """The ``openapi`` version string; Swagger 1.x, other versions and missing fields are refused."""
    if "swagger" in document and "openapi" not in document:
        raise SpecError(file, "/swagger", f"Swagger {document.get('swagger')} is not supported; "
                                          "mockverse reads Swagger 2.0 and OpenAPI 3.0.x and 3.1.x")
    if "openapi" not in document:
        raise SpecError(file, "/openapi", "missing 'openapi' version field; is this an OpenAPI 3 document?")
    version = str(document["openapi"])
    if not _VERSION.match(version):
        raise SpecError(file, "/openapi", f"unsupported OpenAPI version '{version}'; mockverse reads 3.0.x and 3.1.x")
    if "paths" not in document:
        raise SpecError(file, "/paths", "missing 'paths'; there is nothing to mock without at least one path")
    if not isinstance(document["paths"], dict):
        raise SpecError(file, "/paths", "expected a mapping of path templates to path items")
    return version


def _components_schemas(document: dict, file: str) -> dict[str, Any]:
    """``components/schemas`` as a dict (empty when absent)."""
    components = document.get("components") or {}
    if not isinstance(components, dict):
        raise SpecError(file, "/components", "expected a mapping")
    schemas = components.get("schemas") or {}
    if not isinstance(schemas, dict):
        raise SpecError(file, "/components/schemas", "expected a mapping of schema names to schemas")
    return schemas


# --- $ref resolution -----------------------------------------------------------------


def _is_ref(node: object) -> TypeGuard[dict[str, Any]]:
    """Whether a node is a Reference Object (a mapping with a string ``$ref``)."""
    return isinstance(node, dict) and isinstance(node.get("$ref"), str)


def _child_kind(key: object, value: object, kind: str) -> str:
    """How the value under ``key`` is read, given how its parent is read."""
    if kind in (_NAMES, _EXAMPLES):
        return _EXAMPLE if kind == _EXAMPLES else _OBJECT
    if key == "examples" and isinstance(value, dict):
        return _EXAMPLES
    return _NAMES if key in _NAME_MAPS else _OBJECT


def _is_literal(key: object, value: object, kind: str) -> bool:
    """Whether ``key`` holds literal data (examples, defaults, extensions) rather than spec objects."""
    if kind in (_NAMES, _EXAMPLES) or not isinstance(key, str):
        return False
    if key in _LITERAL_KEYS or key.startswith("x-"):
        return True
    if key == "examples" and isinstance(value, list):
        return True
    return kind == _EXAMPLE and key == "value"


def _unescape(token: str) -> str:
    """Decode one JSON-pointer token taken from a URI fragment."""
    return unquote(token).replace("~1", "/").replace("~0", "~")


class _Resolver:
    """Replaces every local ``$ref`` in a parsed document by its target object, in place."""

    def __init__(self, document: dict, file: str, allow_ref_siblings: bool) -> None:
        self.document = document
        self.file = file
        self.allow_ref_siblings = allow_ref_siblings
        self.walked: set[int] = set()

    def run(self) -> None:
        """Resolve the whole document."""
        self._walk(self.document, [], _OBJECT)

    def _walk(self, node: object, parts: list, kind: str) -> None:
        """Resolve the references inside ``node`` (found at ``parts``), once per object."""
        if id(node) in self.walked:
            return
        self.walked.add(id(node))
        if isinstance(node, dict):
            items: Any = list(node.items())
        elif isinstance(node, list):
            items = list(enumerate(node))
        else:
            return
        for key, value in items:
            if not isinstance(value, (dict, list)) or _is_literal(key, value, kind):
                continue
            child_kind = _OBJECT if isinstance(node, list) else _child_kind(key, value, kind)
            parts.append(key)
            if _is_ref(value):
                node[key] = self._replacement(value, parts)
            else:
                self._walk(value, parts, child_kind)
            parts.pop()

    def _replacement(self, ref_node: dict, parts: list) -> object:
        """The object that stands in for the Reference Object found at ``parts``."""
        target, tokens = self._target(ref_node["$ref"], parts + ["$ref"], [])
        siblings = {k: v for k, v in ref_node.items() if k != "$ref"}
        if not siblings:
            return target
        if tokens[:1] == ["paths"] or tokens[:2] == ["components", "pathItems"]:
            merged = {**target, **siblings} if isinstance(target, dict) else target
            self._walk(merged, parts, _OBJECT)
            return merged
        schema_target = tokens[:2] == ["components", "schemas"] or "$defs" in tokens or "definitions" in tokens
        annotations = {"description", "summary", "title", "$comment"}
        if self.allow_ref_siblings and schema_target and set(siblings) - annotations:
            wrapper = dict(siblings)
            wrapper["allOf"] = [target, *(siblings.get("allOf") or [])]
            self._walk(wrapper, parts, _OBJECT)
            return wrapper
        return target  # OpenAPI 3.0: siblings of $ref are ignored

    def _target(self, ref: str, at: list, chain: list[str]) -> tuple[object, list[str]]:
        """Follow ``ref`` (found at pointer ``at``) to its resolved target and the target's tokens."""
        where = to_pointer(at)
        if not ref.startswith("#"):
            message = f"$ref '{ref}' points outside this file; only local references ('#/...') are supported"
            raise SpecError(self.file, where, message)
        fragment = ref[1:]
        if fragment and not fragment.startswith("/"):
            raise SpecError(self.file, where, f"$ref '{ref}' is not a JSON pointer; use '#/components/...'")
        if ref in chain:
            raise SpecError(self.file, where, f"$ref '{ref}' is a reference loop: {' -> '.join(chain + [ref])}")
        tokens = [_unescape(t) for t in fragment.split("/")[1:]] if fragment else []
        node: object = self.document
        for depth, token in enumerate(tokens):
            if _is_ref(node):
                node, _ = self._target(node["$ref"], tokens[:depth] + ["$ref"], chain + [ref])
            node = self._step(node, token, ref, tokens[:depth], where)
        if _is_ref(node):
            node, _ = self._target(node["$ref"], tokens + ["$ref"], chain + [ref])
        self._walk(node, list(tokens), self._kind_at(tokens))
        return node, tokens

    def _step(self, node: object, token: str, ref: str, parent: list[str], where: str) -> object:
        """One pointer step from ``node``; a missing key is a dangling reference."""
        if isinstance(node, dict) and token in node:
            return node[token]
        if isinstance(node, list) and token.isdigit() and int(token) < len(node):
            return node[int(token)]
        container = to_pointer(parent)
        raise SpecError(self.file, where, f"$ref '{ref}' points at nothing: {container} has no '{token}'")

    @staticmethod
    def _kind_at(tokens: list[str]) -> str:
        """How the node at ``tokens`` is read, replaying the kinds from the root."""
        kind = _OBJECT
        for token in tokens:
            kind = _child_kind(token, {}, kind)
        return kind


# --- operations ----------------------------------------------------------------------


def _operations(document: dict, file: str) -> list[Operation]:
    """Every operation of every path item, in document order."""
    operations: list[Operation] = []
    for path, item in document["paths"].items():
        where = ["paths", path]
        if not isinstance(item, dict):
            raise SpecError(file, to_pointer(where), "expected a path item mapping")
        common = _parameters(item.get("parameters"), where + ["parameters"], file)
        for method in HTTP_METHODS:
            op = item.get(method)
            if op is None:
                continue
            op_where = where + [method]
            if not isinstance(op, dict):
                raise SpecError(file, to_pointer(op_where), "expected an operation mapping")
            own = _parameters(op.get("parameters"), op_where + ["parameters"], file)
            request_schema, request_required = _request_body(op.get("requestBody"), op_where, file)
            tags = op.get("tags") or []
            operations.append(
                Operation(
                    method=method.upper(),
                    path=str(path),
                    operation_id=op.get("operationId"),
                    parameters=_with_template_params(str(path), _merge_parameters(common, own)),
                    request_schema=request_schema,
                    request_required=request_required,
                    responses=_responses(op.get("responses"), op_where + ["responses"], file),
                    tags=[str(t) for t in tags] if isinstance(tags, list) else [],
                    security=_security(op.get("security", document.get("security")), op_where, file),
                )
            )
    return operations


def _security(raw: object, where: list, file: str) -> list[dict]:
    """An operation's security requirements (its own, else the document's): a list of sets."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        raise SpecError(file, to_pointer(where + ["security"]), "expected a list of security requirement objects")
    return raw


def _parameters(raw: object, where: list, file: str) -> list[Parameter]:
    """Parameter objects of one level (path item or operation)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise SpecError(file, to_pointer(where), "expected a list of parameters")
    parameters = []
    for index, param in enumerate(raw):
        at = to_pointer(where + [index])
        if not isinstance(param, dict) or "name" not in param or "in" not in param:
            raise SpecError(file, at, "a parameter needs 'name' and 'in'")
        location = param["in"]
        if location not in PARAMETER_LOCATIONS:
            allowed = ", ".join(PARAMETER_LOCATIONS)
            raise SpecError(file, at + "/in", f"'{location}' is not a parameter location; use one of {allowed}")
        schema = param.get("schema")
        if schema is None and isinstance(param.get("content"), dict):
            _, media = _pick_media(param["content"])
            schema = media.get("schema") if isinstance(media, dict) else None
        required = bool(param.get("required", False)) or location == "path"
        schema = schema if isinstance(schema, dict) else None
        description = param.get("description")
        parameters.append(Parameter(str(param["name"]), location, required, schema,
                                    description if isinstance(description, str) else ""))
    return parameters


def _merge_parameters(common: list[Parameter], own: list[Parameter]) -> list[Parameter]:
    """Path-level parameters overridden by operation-level ones with the same name and location."""
    own_keys = {(p.name, p.location) for p in own}
    return [p for p in common if (p.name, p.location) not in own_keys] + own


def _with_template_params(path: str, parameters: list[Parameter]) -> list[Parameter]:
    """Add undeclared ``{name}`` template parameters as required string path parameters."""
    declared = {p.name for p in parameters if p.location == "path"}
    missing = [name for name in _TEMPLATE_PARAM.findall(path) if name not in declared]
    return parameters + [Parameter(name, "path", True, {"type": "string"}) for name in missing]


def _request_body(raw: object, where: list, file: str) -> tuple[dict | None, bool]:
    """The request schema (JSON preferred) and whether a body is required."""
    if raw is None:
        return None, False
    if not isinstance(raw, dict):
        raise SpecError(file, to_pointer(where + ["requestBody"]), "expected a request body mapping")
    _, media = _pick_media(raw.get("content") or {})
    schema = media.get("schema") if isinstance(media, dict) else None
    return (schema if isinstance(schema, dict) else None), bool(raw.get("required", False))


def _responses(raw: object, where: list, file: str) -> dict[str, Response]:
    """Responses by status string ("200", "2XX", "default")."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SpecError(file, to_pointer(where), "expected a mapping of status codes to responses")
    responses = {}
    for status, response in raw.items():
        if not isinstance(response, dict):
            raise SpecError(file, to_pointer(where + [status]), "expected a response mapping")
        content = response.get("content") or {}
        media_type, media = _pick_media(content if isinstance(content, dict) else {})
        schema = media.get("schema") if isinstance(media, dict) else None
        responses[str(status)] = Response(
            status=str(status),
            media_type=media_type,
            schema=schema if isinstance(schema, dict) else None,
            examples=_examples(media) if isinstance(media, dict) else {},
        )
    return responses


def _pick_media(content: dict) -> tuple[str | None, dict | None]:
    """The media type to use from a content map: JSON first, then ``*/*``, then the first listed."""
    if not content:
        return None, None
    names = list(content)
    for name in names:
        if is_json_media_type(str(name)):
            return str(name), content[name]
    for name in names:
        if str(name).startswith("*/*"):
            return str(name), content[name]
    return str(names[0]), content[names[0]]


def _examples(media: dict) -> dict[str, object]:
    """Named examples of a media type: ``example`` as "default", ``examples`` by their names."""
    examples: dict[str, object] = {}
    if "example" in media:
        examples["default"] = media["example"]
    named = media.get("examples")
    if isinstance(named, dict):
        for name, example in named.items():
            if isinstance(example, dict) and "value" in example:
                examples[str(name)] = example["value"]
    return examples


def _status_rank(status: str) -> float | None:
    """Sort key of a 2xx status ("201" -> 201, "2XX" -> 299.5); None for anything else."""
    if status.isdigit() and 200 <= int(status) < 300:
        return float(status)
    if status.upper() == "2XX":
        return 299.5
    return None


# --- schema helpers ------------------------------------------------------------------


def _merge(schema: dict, active: frozenset[int]) -> dict:
    """Flatten ``allOf`` of ``schema``, skipping parts already being merged (cycles)."""
    parts = schema.get("allOf") if isinstance(schema, dict) else None
    if not isinstance(parts, list):
        return schema
    active = active | {id(schema)}
    merged: dict = {}
    properties: dict = {}
    required: list = []
    for part in parts:
        if not isinstance(part, dict) or id(part) in active:
            continue
        flat = _merge(part, active)
        properties.update(_mapping(flat.get("properties")))
        required.extend(r for r in _sequence(flat.get("required")) if r not in required)
        for key, value in flat.items():
            if key not in ("properties", "required"):
                merged.setdefault(key, value)
    for key, value in schema.items():
        if key not in ("allOf", "properties", "required"):
            merged[key] = value
    properties.update(_mapping(schema.get("properties")))
    required.extend(r for r in _sequence(schema.get("required")) if r not in required)
    if properties:
        merged["properties"] = properties
    if required:
        merged["required"] = required
    if "type" not in merged and properties:
        merged["type"] = "object"
    return merged


def _mapping(value: object) -> dict:
    """``value`` if it is a dict, else an empty one (tolerates malformed schemas)."""
    return value if isinstance(value, dict) else {}


def _sequence(value: object) -> list:
    """``value`` if it is a list, else an empty one (tolerates malformed schemas)."""
    return value if isinstance(value, list) else []


def _is_null_only(schema: object) -> bool:
    """Whether a schema admits only null."""
    if not isinstance(schema, dict):
        return False
    kind = schema.get("type")
    if kind == "null" or kind == ["null"]:
        return True
    if "const" in schema and schema["const"] is None:
        return True
    return schema.get("enum") == [None]


def _nullable(schema: object, depth: int) -> bool:
    """is_nullable with a depth guard for cyclic schemas."""
    if not isinstance(schema, dict) or depth > 8:
        return False
    if schema.get("nullable") is True:
        return True
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    for key in ("anyOf", "oneOf"):
        for alternative in schema.get(key) or ():
            if _is_null_only(alternative) or _nullable(alternative, depth + 1):
                return True
    return False

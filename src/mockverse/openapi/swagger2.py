"""Convert a parsed Swagger 2.0 document to OpenAPI 3.0, so it loads like any other spec.

What moves where: ``definitions`` -> ``components/schemas`` (every ``#/definitions/…``
reference rewritten), global ``parameters``/``responses`` inlined where they are used,
``body`` and ``formData`` parameters -> ``requestBody`` (media types from ``consumes``),
response ``schema``/``examples`` -> ``content`` (media types from ``produces``),
``host``/``basePath``/``schemes`` -> ``servers``, ``securityDefinitions`` ->
``components/securitySchemes``. In schemas: ``x-nullable`` -> ``nullable``, ``type: file``
-> a binary string, a ``discriminator`` name -> ``{propertyName}``.

Published documents have defects and these are tolerated, never refused: ``items`` given
as a list of schemas means "one of these shapes": ``items: {oneOf: [...]}`` on an array,
``oneOf: [...]`` on a schema that does not say it is an array.
Structural problems (a parameter that is not a mapping) are :class:`SpecError` with the
pointer into the original document.
"""

from __future__ import annotations

from typing import Any

from mockverse.openapi.loader import HTTP_METHODS, SpecError, to_pointer

OPENAPI_VERSION = "3.0.3"
_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
# Keywords of a (non-body) Swagger 2.0 parameter that belong to its OpenAPI 3 schema.
_PARAM_SCHEMA_KEYS = (
    "type", "format", "items", "default", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
    "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "enum", "multipleOf",
)
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_OAUTH_FLOWS = {"implicit": "implicit", "password": "password", "application": "clientCredentials",
                "accessCode": "authorizationCode"}


def is_swagger2(document: dict) -> bool:
    """Whether a parsed document is Swagger 2.0 (``swagger: "2.0"`` and no ``openapi``)."""
    return "openapi" not in document and str(document.get("swagger", "")).startswith("2")


def convert(document: dict, file: str) -> dict:
    """The OpenAPI 3.0 equivalent of a Swagger 2.0 ``document`` (a new mapping; the input is untouched)."""
    return _Converter(document, file).run()


def convert_schema(schema: object) -> object:
    """A Swagger 2.0 schema rewritten for OpenAPI 3.0 (references, nullability, files, list ``items``)."""
    if isinstance(schema, list):
        return [convert_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if isinstance(schema.get("items"), list) and schema.get("type") != "array":
        shapes = {"oneOf": schema["items"]}   # a list of shapes on a schema that is no array: one of them
        return convert_schema({**{k: v for k, v in schema.items() if k != "items"}, **shapes})
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "$ref" and isinstance(value, str):
            out[key] = _rewrite_ref(value)
        elif key == "x-nullable":
            if value is True:
                out["nullable"] = True
        elif key == "type" and value == "file":
            out["type"], out["format"] = "string", "binary"
        elif key == "items":
            out[key] = _items(value)
        elif key in ("properties", "patternProperties") and isinstance(value, dict):
            out[key] = {name: convert_schema(sub) for name, sub in value.items()}
        elif key in ("additionalProperties", "not") and isinstance(value, dict):
            out[key] = convert_schema(value)
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [convert_schema(s) for s in value]
        elif key == "discriminator" and isinstance(value, str):
            out[key] = {"propertyName": value}
        else:
            out[key] = value
    return out


def _items(value: object) -> object:
    """``items`` of an array: one schema, or a list of schemas read as ``oneOf`` those shapes."""
    if isinstance(value, list):
        shapes = [convert_schema(s) for s in value if isinstance(s, dict)]
        return shapes[0] if len(shapes) == 1 else {"oneOf": shapes}
    return convert_schema(value)


def _rewrite_ref(ref: str) -> str:
    """A Swagger 2.0 reference to its OpenAPI 3 place (schemas; parameters and responses are inlined)."""
    if ref.startswith("#/definitions/"):
        return "#/components/schemas/" + ref[len("#/definitions/"):]
    return ref


class _Converter:
    """One conversion: global parameters and responses converted once, then every operation."""

    def __init__(self, document: dict, file: str) -> None:
        self.doc = document
        self.file = file
        self.produces = self._media_list(document.get("produces"), ["produces"]) or [_JSON]
        self.consumes = self._media_list(document.get("consumes"), ["consumes"]) or [_JSON]

    def run(self) -> dict:
        """The converted document."""
        doc = self.doc
        out: dict[str, Any] = {"openapi": OPENAPI_VERSION, "info": doc.get("info") or {"title": "", "version": ""}}
        out["servers"] = [{"url": self._server_url()}]
        for key in ("tags", "security", "externalDocs"):
            if key in doc:
                out[key] = doc[key]
        out.update({k: v for k, v in doc.items() if isinstance(k, str) and k.startswith("x-")})
        components: dict[str, Any] = {}
        definitions = doc.get("definitions") or {}
        if not isinstance(definitions, dict):
            raise SpecError(self.file, "/definitions", "expected a mapping of schema names to schemas")
        components["schemas"] = {name: convert_schema(schema) for name, schema in definitions.items()}
        schemes = self._security_schemes(doc.get("securityDefinitions") or {})
        if schemes:
            components["securitySchemes"] = schemes
        out["components"] = components
        paths = doc.get("paths")
        if not isinstance(paths, dict):
            raise SpecError(self.file, "/paths", "expected a mapping of path templates to path items")
        out["paths"] = {path: self._path_item(path, item) for path, item in paths.items()}
        return out

    def _server_url(self) -> str:
        """``scheme://host/basePath`` (or the base path alone when there is no host)."""
        base = str(self.doc.get("basePath") or "")
        host = self.doc.get("host")
        if not host:
            return base or "/"
        schemes = self.doc.get("schemes")
        scheme = schemes[0] if isinstance(schemes, list) and schemes else "https"
        return f"{scheme}://{host}{base}"

    def _media_list(self, value: object, where: list) -> list[str]:
        """A ``produces``/``consumes`` list of media types."""
        if value is None:
            return []
        if not isinstance(value, list):
            raise SpecError(self.file, to_pointer(where), "expected a list of media types")
        return [str(v) for v in value]

    # -- security ---------------------------------------------------------------------------
    def _security_schemes(self, definitions: object) -> dict:
        """``securityDefinitions`` as OpenAPI 3 security schemes."""
        if not isinstance(definitions, dict):
            raise SpecError(self.file, "/securityDefinitions", "expected a mapping of scheme names")
        out = {}
        for name, scheme in definitions.items():
            if not isinstance(scheme, dict):
                raise SpecError(self.file, to_pointer(["securityDefinitions", name]), "expected a mapping")
            kind = scheme.get("type")
            described = {"description": scheme["description"]} if "description" in scheme else {}
            if kind == "basic":
                out[name] = {"type": "http", "scheme": "basic", **described}
            elif kind == "apiKey":
                out[name] = {"type": "apiKey", "name": scheme.get("name"), "in": scheme.get("in"), **described}
            elif kind == "oauth2":
                flow = _OAUTH_FLOWS.get(str(scheme.get("flow")), "implicit")
                body = {"scopes": scheme.get("scopes") or {}}
                if "authorizationUrl" in scheme:
                    body["authorizationUrl"] = scheme["authorizationUrl"]
                if "tokenUrl" in scheme:
                    body["tokenUrl"] = scheme["tokenUrl"]
                out[name] = {"type": "oauth2", "flows": {flow: body}, **described}
            else:
                out[name] = dict(scheme)
        return out

    # -- paths and operations ---------------------------------------------------------------
    def _path_item(self, path: str, item: object) -> dict:
        """One path item with each operation converted and path-level parameters merged into them."""
        where = ["paths", path]
        if not isinstance(item, dict):
            raise SpecError(self.file, to_pointer(where), "expected a path item mapping")
        common = self._raw_parameters(item.get("parameters"), where + ["parameters"])
        out: dict[str, Any] = {k: v for k, v in item.items() if k in ("summary", "description")}
        for method in HTTP_METHODS:
            op = item.get(method)
            if op is None:
                continue
            if not isinstance(op, dict):
                raise SpecError(self.file, to_pointer(where + [method]), "expected an operation mapping")
            own = self._raw_parameters(op.get("parameters"), where + [method, "parameters"])
            keys = {(p.get("name"), p.get("in")) for p, _ in own}
            merged = [(p, at) for p, at in common if (p.get("name"), p.get("in")) not in keys] + own
            out[method] = self._operation(op, merged, where + [method])
        return out

    def _raw_parameters(self, raw: object, where: list) -> list[tuple[dict, list]]:
        """Parameters of one level with global ``#/parameters/…`` references followed, each with its pointer."""
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise SpecError(self.file, to_pointer(where), "expected a list of parameters")
        out = []
        for index, param in enumerate(raw):
            at = where + [index]
            if isinstance(param, dict) and isinstance(param.get("$ref"), str):
                param, at = self._global(param["$ref"], "parameters", at)
            if not isinstance(param, dict) or "name" not in param or "in" not in param:
                raise SpecError(self.file, to_pointer(at), "a parameter needs 'name' and 'in'")
            out.append((param, at))
        return out

    def _global(self, ref: str, section: str, at: list) -> tuple[dict, list]:
        """The global parameter or response a ``#/<section>/<name>`` reference names."""
        prefix = f"#/{section}/"
        table = self.doc.get(section) or {}
        name = ref[len(prefix):] if ref.startswith(prefix) else None
        if name is None or not isinstance(table, dict) or not isinstance(table.get(name), dict):
            raise SpecError(self.file, to_pointer(at + ["$ref"]), f"$ref '{ref}' points at nothing in /{section}")
        return table[name], [section, name]

    def _operation(self, op: dict, parameters: list[tuple[dict, list]], where: list) -> dict:
        """One operation: parameters split into OpenAPI 3 parameters and a request body; responses with content."""
        out: dict[str, Any] = {k: v for k, v in op.items() if k not in ("parameters", "responses", "produces",
                                                                          "consumes", "schemes")}
        consumes = self._media_list(op.get("consumes"), where + ["consumes"]) or self.consumes
        produces = self._media_list(op.get("produces"), where + ["produces"]) or self.produces
        plain = [self._parameter(p) for p, _ in parameters if p.get("in") not in ("body", "formData")]
        body = next((p for p, _ in parameters if p.get("in") == "body"), None)
        form = [p for p, _ in parameters if p.get("in") == "formData"]
        if plain:
            out["parameters"] = plain
        if body is not None:
            out["requestBody"] = self._body(body, consumes)
        elif form:
            out["requestBody"] = self._form(form, consumes)
        responses = op.get("responses") or {}
        if not isinstance(responses, dict):
            raise SpecError(self.file, to_pointer(where + ["responses"]), "expected a mapping of status codes")
        out["responses"] = {str(status): self._response(response, produces, where + ["responses", status])
                            for status, response in responses.items()}
        return out

    @staticmethod
    def _parameter(param: dict) -> dict:
        """A path, query, header or cookie parameter with its type keywords moved into ``schema``."""
        out = {k: v for k, v in param.items() if k not in _PARAM_SCHEMA_KEYS and k not in
               ("collectionFormat", "allowEmptyValue", "x-nullable")}
        schema = {k: param[k] for k in _PARAM_SCHEMA_KEYS if k in param}
        if param.get("x-nullable") is True:
            schema["nullable"] = True
        out["schema"] = convert_schema(schema or {"type": "string"})
        if param.get("collectionFormat") == "csv" and schema.get("type") == "array":
            out["style"], out["explode"] = ("simple" if param.get("in") in ("path", "header") else "form"), False
        elif param.get("collectionFormat") == "multi":
            out["explode"] = True
        return out

    @staticmethod
    def _body(param: dict, consumes: list[str]) -> dict:
        """A ``body`` parameter as a request body, one content entry per consumed media type."""
        schema = convert_schema(param.get("schema") or {})
        out: dict[str, Any] = {"content": {media: {"schema": schema} for media in consumes},
                               "required": bool(param.get("required", False))}
        if "description" in param:
            out["description"] = param["description"]
        return out

    def _form(self, params: list[dict], consumes: list[str]) -> dict:
        """``formData`` parameters as one object schema under a form (or multipart, for files) media type."""
        properties = {}
        required = []
        for param in params:
            prop = self._parameter(param)["schema"]
            if "description" in param:
                prop = {**prop, "description": param["description"]}
            properties[str(param["name"])] = prop
            if param.get("required"):
                required.append(str(param["name"]))
        files = any(p.get("type") == "file" for p in params)
        forms = [m for m in consumes if m.split(";")[0].strip() in (_FORM, _MULTIPART)]
        media = forms or [_MULTIPART if files else _FORM]
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        return {"content": {m: {"schema": schema} for m in media}, "required": bool(required)}

    def _response(self, response: object, produces: list[str], where: list) -> dict:
        """One response: its schema and examples as ``content`` of each produced media type."""
        if isinstance(response, dict) and isinstance(response.get("$ref"), str):
            response, where = self._global(response["$ref"], "responses", where)
        if not isinstance(response, dict):
            raise SpecError(self.file, to_pointer(where), "expected a response mapping")
        out: dict[str, Any] = {"description": str(response.get("description") or "")}
        content: dict[str, dict] = {}
        if "schema" in response:
            schema = convert_schema(response["schema"])
            content = {media: {"schema": schema} for media in produces}
        examples = response.get("examples")
        if isinstance(examples, dict):
            for media, value in examples.items():
                content.setdefault(str(media), {})["example"] = value
        if content:
            out["content"] = content
        headers = response.get("headers")
        if isinstance(headers, dict):
            out["headers"] = {name: {"schema": convert_schema({k: v for k, v in h.items() if k != "description"}),
                                     **({"description": h["description"]} if "description" in h else {})}
                              for name, h in headers.items() if isinstance(h, dict)}
        return out

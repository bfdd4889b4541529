"""The OpenAPI 3.1 document at /api/openapi.json, assembled from what each area registers.

Every route module documents its own paths with `document(app, {...})`; a test walks the
router and fails if a route is missing here, and the schemathesis run in the test suite
(tests/integration/test_openapi_fuzz.py) fails when the server answers anything the
document does not describe. Request and response bodies are msgspec models
(`platform.schemas`): the route validates with the same model the document shows.

What `op` adds by itself, because the shared helpers give these answers on every route
that uses them: 401 when the operation needs a login (`require_user`, and a malformed
`Authorization` header), 400/413/422 for a JSON body (`read_body`: not a JSON object, too
large, not the model), 400 when an integer query parameter is not an integer
(`query_int`), 404 when an integer path parameter is not one (`path_int`).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from aiohttp import web

from live_server import __version__
from live_server.platform.schemas import schema_components

PathSpec = dict[str, dict[str, Any]]
OPENAPI_PATHS: web.AppKey[dict[str, PathSpec]] = web.AppKey("openapi_paths", dict)
#: Path parameters that are not positive integers (every other `{..._id}` is one; other
#: names are strings).
OPENAPI_PATH_PARAMS: web.AppKey[dict[str, dict[str, Any]]] = web.AppKey("openapi_path_params", dict)

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "machine-readable reason"},
                "message": {"type": "string", "description": "a sentence for people"},
                "field": {
                    "type": "string",
                    "description": "the input the error is about (nested keys joined with "
                    "dots: address.name), to show the message next to it",
                },
            },
        }
    },
}

#: Largest id `path_int` accepts (ids are SQLite integers).
MAX_ID = 2**62

_DESCRIPTIONS = {
    200: "success",
    201: "created",
    202: "accepted",
    204: "done (no content)",
    307: "served by another node",
    400: "malformed request (not JSON, a query parameter of the wrong type, ...)",
    401: "no valid login or key",
    403: "not allowed for this account",
    404: "no such resource (or not visible to this account)",
    405: "not supported",
    409: "conflicts with the resource's current state",
    413: "body too large",
    415: "unsupported content type",
    422: "well-formed but not acceptable (a field's value)",
    429: "too many requests (see Retry-After)",
    503: "not ready",
}

Schema = dict[str, Any] | type[msgspec.Struct]


def op(
    summary: str,
    *,
    tag: str,
    auth: bool | str = False,
    body: Schema | None = None,
    body_type: str | tuple[str, ...] = "application/json",
    body_required: bool = True,
    ok: int = 200,
    ok_type: str | None = "application/json",
    response: Schema | None = None,
    errors: tuple[int, ...] = (),
    params: list[dict[str, Any]] | None = None,
    links: dict[str, tuple[str, dict[str, str]]] | None = None,
    ok_headers: dict[str, dict[str, Any]] | None = None,
    extra_responses: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One operation object with every response it can give.

    `body` and `response` are msgspec models (or plain JSON schemas for raw bodies, which
    may come in several media types: `body_type=("image/png", "image/jpeg")`);
    `ok_type=None` (or `ok=204`) means the success has no body; `extra_responses` adds
    answers that are neither (a `307` and its `Location`); `links` name the
    operations the success leads to: `{"product": ("GET /api/products/{product_id}",
    {"product_id": "$response.body#/id"})}` (for a stateful client such as schemathesis).
    """
    success: dict[str, Any] = {"description": _DESCRIPTIONS.get(ok, "success")}
    if ok_type is not None and ok != 204:
        success["content"] = {ok_type: {"schema": response} if response is not None else {}}
    if ok_headers:
        success["headers"] = ok_headers
    if links:
        success["links"] = {
            name: {"operationId": operation_id(*target.split(" ", 1)), "parameters": values}
            for name, (target, values) in links.items()
        }
    operation: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": {str(ok): success}}
    statuses = set(errors)
    if body is not None:
        types = (body_type,) if isinstance(body_type, str) else body_type
        operation["requestBody"] = {
            "required": body_required,
            "content": {t: {"schema": body} for t in types},
        }
        if "application/json" in types:
            statuses |= {400, 413, 422}
    if auth:  # True: a user's bearer token; a string names another security scheme
        operation["security"] = [{auth if isinstance(auth, str) else "bearer": []}]
        statuses.add(401)
    if params:
        operation["parameters"] = params
        if any(p.get("schema", {}).get("type") == "integer" for p in params):
            statuses.add(400)
    for status in sorted(statuses):
        operation["responses"][str(status)] = error_response(status)
    # answers that are neither the success nor an error (a redirect)
    operation["responses"].update(extra_responses or {})
    return operation


def error_response(status: int) -> dict[str, Any]:
    """A documented error answer: `{"error": {"code", "message"}}`."""
    return {
        "description": _DESCRIPTIONS.get(status, "error"),
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def query_param(
    name: str,
    description: str,
    type_: str = "string",
    *,
    schema: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An optional query parameter; `schema` replaces the plain `{"type": type_}`."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema if schema is not None else {"type": type_},
    }


def obj(**props: str) -> dict[str, Any]:
    """A loose object schema: property name -> JSON type (for bodies without a model)."""
    return {"type": "object", "properties": {k: {"type": v} for k, v in props.items()}}


def operation_id(method: str, path: str) -> str:
    """A stable operationId from the method and path: `get_api_products_product_id`."""
    words = re.findall(r"[a-z0-9]+", path.lower())
    return "_".join([method.lower(), *words])


def document(
    app: web.Application,
    paths: dict[str, PathSpec],
    path_params: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Adds (or extends) path entries; call it where the routes are added.

    `path_params` gives the schema of path parameters that are not positive integer ids
    (`{"order_id": {"type": "string", ...}}`).
    """
    registry = app[OPENAPI_PATHS]
    for path, methods in paths.items():
        registry.setdefault(path, {}).update(methods)
    if path_params:
        if OPENAPI_PATH_PARAMS not in app:
            app[OPENAPI_PATH_PARAMS] = {}
        app[OPENAPI_PATH_PARAMS].update(path_params)


def _path_param(app: web.Application, name: str) -> dict[str, Any]:
    schema = app.get(OPENAPI_PATH_PARAMS, {}).get(name)
    if schema is None and name.endswith("_id"):
        schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}  # what path_int takes
    elif schema is None:
        schema = {"type": "string"}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def build_document(app: web.Application) -> dict[str, Any]:
    """The whole document: paths, operationIds, and the models' schemas as components."""
    registry = app[OPENAPI_PATHS]
    paths: dict[str, Any] = {}
    for path in sorted(registry):
        item: dict[str, Any] = {}
        params = [
            _path_param(app, part[1:-1])
            for part in path.split("/")
            if part.startswith("{") and part.endswith("}")
        ]
        if params:
            item["parameters"] = params
        for method, spec in registry[path].items():
            spec = {**spec, "operationId": operation_id(method, path)}
            if method.upper() == "OPTIONS" and params:
                # a CORS preflight answers for any path: it never reads the parameters
                spec["parameters"] = [
                    {**p, "schema": {"type": "string"}} for p in params
                ] + spec.get("parameters", [])
            item[method.lower()] = spec
        paths[path] = item
    models: list[type[msgspec.Struct]] = []
    _collect(paths, models)
    refs, components = schema_components(models)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "LiveShop API",
            "version": __version__,
            "description": "Live shopping: accounts, catalog, live sessions, live video "
            "(WHIP/WHEP), the live room, checkout, clips and feed.",
        },
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the token from POST /api/auth/login or /register",
                },
                "streamKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a session's stream key (WHIP ingest)",
                },
                "relayToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a node's relay token (HMAC with the cluster secret)",
                },
                "webhookSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "LiveShop-Signature",
                    "description": "t=<unix time>,v1=<HMAC-SHA256 of '<t>.<body>'>",
                },
            },
            "schemas": {"Error": ERROR_SCHEMA, **components},
        },
        "paths": _resolve(paths, refs),
    }


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, msgspec.Struct)


def _collect(value: Any, models: list[type[msgspec.Struct]]) -> None:
    if _is_model(value):
        models.append(value)
    elif isinstance(value, dict):
        for child in value.values():
            _collect(child, models)
    elif isinstance(value, list):
        for child in value:
            _collect(child, models)


def _resolve(value: Any, refs: dict[type[msgspec.Struct], dict[str, Any]]) -> Any:
    """A copy of `value` with each model replaced by its `$ref`."""
    if _is_model(value):
        return refs[value]
    if isinstance(value, dict):
        return {k: _resolve(v, refs) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, refs) for v in value]
    return value


async def openapi_handler(request: web.Request) -> web.Response:
    """GET /api/openapi.json."""
    return web.json_response(build_document(request.app))


def setup(app: web.Application) -> None:
    """Serves the document and documents itself."""
    app.router.add_get("/api/openapi.json", openapi_handler)
    document(app, {"/api/openapi.json": {"GET": op("This document", tag="meta", response={})}})

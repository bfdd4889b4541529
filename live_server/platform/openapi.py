"""The OpenAPI 3 document at /api/openapi.json, assembled from what each area registers.

Every route module documents its own paths with `document(app, {...})`; a test walks the
router and fails if a route is missing here, so the document cannot drift from the code.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from live_server import __version__

PathSpec = dict[str, dict[str, Any]]
OPENAPI_PATHS: web.AppKey[dict[str, PathSpec]] = web.AppKey("openapi_paths", dict)

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}


def op(
    summary: str,
    *,
    tag: str,
    auth: bool = False,
    body: dict[str, Any] | None = None,
    body_type: str = "application/json",
    ok: int = 200,
    ok_type: str = "application/json",
    errors: tuple[int, ...] = (),
    params: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One operation object, with the error responses it can give."""
    operation: dict[str, Any] = {
        "summary": summary,
        "tags": [tag],
        "responses": {str(ok): {"description": "success", "content": {ok_type: {}}}},
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {body_type: {"schema": body}}}
    if auth:
        operation["security"] = [{"bearer": []}]
    for status in errors:
        operation["responses"][str(status)] = {
            "description": "error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    if params:
        operation["parameters"] = params
    return operation


def query_param(name: str, description: str, type_: str = "string") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": type_},
    }


def obj(**props: str) -> dict[str, Any]:
    """A loose object schema: property name -> JSON type."""
    return {"type": "object", "properties": {k: {"type": v} for k, v in props.items()}}


def document(app: web.Application, paths: dict[str, PathSpec]) -> None:
    """Adds (or extends) path entries; call it where the routes are added."""
    registry = app[OPENAPI_PATHS]
    for path, methods in paths.items():
        registry.setdefault(path, {}).update(methods)


def build_document(app: web.Application) -> dict[str, Any]:
    registry = app[OPENAPI_PATHS]
    paths: dict[str, Any] = {}
    for path in sorted(registry):
        item: dict[str, Any] = {}
        params = [
            {"name": part[1:-1], "in": "path", "required": True, "schema": {"type": "string"}}
            for part in path.split("/")
            if part.startswith("{") and part.endswith("}")
        ]
        if params:
            item["parameters"] = params
        item.update({m.lower(): spec for m, spec in registry[path].items()})
        paths[path] = item
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "LiveShop API",
            "version": __version__,
            "description": "Live shopping: accounts, catalog, live sessions, live video "
            "(WHIP/WHEP), the live room, checkout, clips and feed.",
        },
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR_SCHEMA},
        },
        "paths": paths,
    }


async def openapi_handler(request: web.Request) -> web.Response:
    return web.json_response(build_document(request.app))


def setup(app: web.Application) -> None:
    app.router.add_get("/api/openapi.json", openapi_handler)
    document(app, {"/api/openapi.json": {"GET": op("This document", tag="meta")}})

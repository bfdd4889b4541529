"""Catalog REST: products and their images."""

from __future__ import annotations

from aiohttp import web

from live_server.catalog.keys import CATALOG
from live_server.catalog.models import (
    ProductCreate,
    ProductOut,
    ProductPage,
    ProductUpdate,
    VariantCreate,
    VariantUpdate,
)
from live_server.catalog.rules import IMAGE_TYPES
from live_server.catalog.serializers import product_json
from live_server.platform.core import PLATFORM
from live_server.platform.http import (
    json_response,
    path_int,
    principal,
    query_int,
    read_upload,
    require_user,
)
from live_server.platform.openapi import document, op, query_param
from live_server.platform.schemas import present, read_body


async def list_products(request: web.Request) -> web.Response:
    owner = request.query.get("owner")
    owner_id: int | None = None
    if owner == "me":
        owner_id = require_user(request).user_id
    elif owner is not None:
        try:
            owner_id = int(owner)
        except ValueError:
            owner_id = -1
    items = await request.app[CATALOG].search(
        owner_id=owner_id,
        category=request.query.get("category"),
        limit=query_int(request, "limit", 100, 1, 500),
        offset=query_int(request, "offset", 0, 0, 10**9),
    )
    return json_response({"items": [product_json(p) for p in items]})


async def create_product(request: web.Request) -> web.Response:
    who = require_user(request)
    body = await read_body(request, ProductCreate)
    product = await request.app[CATALOG].create(who, present(body))
    return json_response(product_json(product), status=201)


async def get_product(request: web.Request) -> web.Response:
    product = await request.app[CATALOG].get(path_int(request, "product_id"))
    return json_response(product_json(product))


async def update_product(request: web.Request) -> web.Response:
    who = require_user(request)
    product_id = path_int(request, "product_id")
    body = await read_body(request, ProductUpdate)
    product = await request.app[CATALOG].update(who, product_id, present(body))
    return json_response(product_json(product))


async def delete_product(request: web.Request) -> web.Response:
    who = require_user(request)
    await request.app[CATALOG].delete(who, path_int(request, "product_id"))
    return web.Response(status=204)


async def add_variant(request: web.Request) -> web.Response:
    who = require_user(request)
    body = await read_body(request, VariantCreate)
    variant = await request.app[CATALOG].add_variant(
        who, path_int(request, "product_id"), present(body)
    )
    return json_response(product_json(variant), status=201)


async def update_variant(request: web.Request) -> web.Response:
    who = require_user(request)
    body = await read_body(request, VariantUpdate)
    variant = await request.app[CATALOG].update_variant(
        who, path_int(request, "product_id"), path_int(request, "variant_id"), present(body)
    )
    return json_response(product_json(variant))


async def delete_variant(request: web.Request) -> web.Response:
    who = require_user(request)
    await request.app[CATALOG].delete_variant(
        who, path_int(request, "product_id"), path_int(request, "variant_id")
    )
    return web.Response(status=204)


async def upload_image(request: web.Request) -> web.Response:
    who = require_user(request)
    catalog = request.app[CATALOG]
    product_id = path_int(request, "product_id")
    declared = request.content_type
    # 404, 403 and 415 before a byte of the body is read (nobody else's upload is buffered)
    await catalog.check_image_upload(who, product_id, declared)
    limit = request.app[PLATFORM].settings.max_upload_bytes
    async with read_upload(request, limit, what="images") as upload:
        product = await catalog.add_image(who, product_id, upload, declared)
    return json_response(product_json(product), status=201)


async def remove_image(request: web.Request) -> web.Response:
    who = require_user(request)
    product = await request.app[CATALOG].remove_image(
        who, path_int(request, "product_id"), path_int(request, "position") - 1
    )
    return json_response(product_json(product))


_ID = "$response.body#/id"


def setup(app: web.Application) -> None:
    """Adds the catalog routes and their OpenAPI entries."""
    r = app.router
    r.add_get("/api/products", list_products)
    r.add_post("/api/products", create_product)
    r.add_get("/api/products/{product_id}", get_product)
    r.add_patch("/api/products/{product_id}", update_product)
    r.add_delete("/api/products/{product_id}", delete_product)
    r.add_post("/api/products/{product_id}/variants", add_variant)
    r.add_patch("/api/products/{product_id}/variants/{variant_id}", update_variant)
    r.add_delete("/api/products/{product_id}/variants/{variant_id}", delete_variant)
    r.add_post("/api/products/{product_id}/images", upload_image)
    r.add_delete("/api/products/{product_id}/images/{position}", remove_image)
    _ = principal  # anonymous reads are allowed
    document(
        app,
        {
            "/api/products": {
                "GET": op(
                    "List products",
                    tag="catalog",
                    params=[
                        query_param("owner", "a user id, or 'me'"),
                        query_param("category", "one of /api/interests"),
                        query_param("limit", "1-500 (clamped)", "integer"),
                        query_param("offset", "paging offset", "integer"),
                    ],
                    response=ProductPage,
                    errors=(401,),
                ),
                "POST": op(
                    "Create a product (hosts)",
                    tag="catalog",
                    auth=True,
                    body=ProductCreate,
                    ok=201,
                    response=ProductOut,
                    errors=(403,),
                    links={
                        "product": ("GET /api/products/{product_id}", {"product_id": _ID}),
                        "update": ("PATCH /api/products/{product_id}", {"product_id": _ID}),
                        "images": ("POST /api/products/{product_id}/images", {"product_id": _ID}),
                        "delete": ("DELETE /api/products/{product_id}", {"product_id": _ID}),
                    },
                ),
            },
            "/api/products/{product_id}": {
                "GET": op("One product", tag="catalog", response=ProductOut, errors=(404,)),
                "PATCH": op(
                    "Update a product (owner or admin)",
                    tag="catalog",
                    auth=True,
                    body=ProductUpdate,
                    body_required=False,  # an empty body changes nothing
                    response=ProductOut,
                    errors=(403, 404),
                ),
                "DELETE": op(
                    "Delete a product (owner or admin)",
                    tag="catalog",
                    auth=True,
                    ok=204,
                    errors=(401, 403, 404),
                ),
            },
            "/api/products/{product_id}/variants": {
                "POST": op(
                    "Add a variant, e.g. size M (owner or admin)",
                    tag="catalog",
                    auth=True,
                    body=VariantCreate,
                    ok=201,
                    response=ProductOut,
                    errors=(401, 403, 404, 409),
                )
            },
            "/api/products/{product_id}/variants/{variant_id}": {
                "PATCH": op(
                    "Change a variant's price, stock, SKU or photo (owner or admin)",
                    tag="catalog",
                    auth=True,
                    body=VariantUpdate,
                    body_required=False,
                    response=ProductOut,
                    errors=(401, 403, 404),
                ),
                "DELETE": op(
                    "Delete a variant (owner or admin)",
                    tag="catalog",
                    auth=True,
                    ok=204,
                    errors=(401, 403, 404),
                ),
            },
            "/api/products/{product_id}/images": {
                "POST": op(
                    "Upload an image (raw PNG/JPEG/WebP/GIF body)",
                    tag="catalog",
                    auth=True,
                    body={"type": "string", "format": "binary"},
                    body_type=(*IMAGE_TYPES, "application/octet-stream"),
                    ok=201,
                    errors=(401, 403, 404, 409, 413, 415, 422),
                )
            },
            "/api/products/{product_id}/images/{position}": {
                "DELETE": op(
                    "Take an image off a product (owner or admin; position 1 is the first)",
                    tag="catalog",
                    auth=True,
                    response=ProductOut,
                    errors=(401, 403, 404),
                )
            },
        },
    )

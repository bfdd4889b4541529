"""A show's cover image: uploaded by its host, kept in the media store like product images.

`POST /api/sessions/{id}/cover` takes a raw PNG, JPEG, WebP or GIF body (the same checks as
product images: the host before a byte is read, the type from the bytes, the size, the
pixel caps) and sets the show's `cover_url`; the home cards and the show page show it, and
so do share previews (`og:image`). `DELETE` takes the cover off.
"""

from __future__ import annotations

from aiohttp import web

from live_server.catalog import CatalogService, check_declared_type
from live_server.catalog.rules import IMAGE_TYPES
from live_server.platform.core import PLATFORM
from live_server.platform.http import json_response, path_int, read_upload, require_user
from live_server.platform.openapi import document, op
from live_server.shows.keys import SHOWS
from live_server.shows.models import SessionOut
from live_server.shows.serializers import session_json

COVERS_FOLDER = "covers"
IMAGES: web.AppKey[CatalogService] = web.AppKey("show_cover_images", CatalogService)


async def upload_cover(request: web.Request) -> web.Response:
    who = require_user(request)
    shows = request.app[SHOWS]
    session_id = path_int(request, "session_id")
    # 404/403 (the host's only) and 415 before the body is read
    await shows.update(who, session_id, {})
    check_declared_type(request.content_type)
    limit = request.app[PLATFORM].settings.max_upload_bytes
    async with read_upload(request, limit, what="images") as upload:
        url = await request.app[IMAGES].keep_image(upload, request.content_type, COVERS_FOLDER)
    view = await shows.update(who, session_id, {"cover_url": url})
    return json_response(session_json(view), status=201)


async def delete_cover(request: web.Request) -> web.Response:
    who = require_user(request)
    view = await request.app[SHOWS].update(
        who, path_int(request, "session_id"), {"cover_url": None}
    )
    return json_response(session_json(view))


def setup(app: web.Application, images: CatalogService) -> None:
    app[IMAGES] = images
    app.router.add_post("/api/sessions/{session_id}/cover", upload_cover)
    app.router.add_delete("/api/sessions/{session_id}/cover", delete_cover)
    document(
        app,
        {
            "/api/sessions/{session_id}/cover": {
                "POST": op(
                    "Upload the show's cover image (host; raw PNG/JPEG/WebP/GIF body)",
                    tag="sessions",
                    auth=True,
                    body={"type": "string", "format": "binary"},
                    body_type=(*IMAGE_TYPES, "application/octet-stream"),
                    ok=201,
                    response=SessionOut,
                    errors=(401, 403, 404, 413, 415, 422),
                ),
                "DELETE": op(
                    "Take the cover image off (host)",
                    tag="sessions",
                    auth=True,
                    response=SessionOut,
                    errors=(401, 403, 404),
                ),
            }
        },
    )

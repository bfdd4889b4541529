"""Giveaways over REST: a show's giveaways, and one giveaway's checkable draw."""

from __future__ import annotations

from aiohttp import web

from live_server.commerce.giveaways.keys import GIVEAWAYS
from live_server.platform.http import json_response, path_int, principal
from live_server.platform.openapi import document, op


async def list_giveaways(request: web.Request) -> web.Response:
    session_id = path_int(request, "session_id")
    service = request.app[GIVEAWAYS]
    items = await service.for_session(principal(request), session_id)
    return json_response({"items": items, "current": await service.current(session_id)})


async def get_giveaway(request: web.Request) -> web.Response:
    giveaway_id = path_int(request, "giveaway_id")
    body = await request.app[GIVEAWAYS].audit_of(principal(request), giveaway_id)
    return json_response({"giveaway": body})


def setup(app: web.Application) -> None:
    """Routes and their OpenAPI entries (giveaways start and are entered in the room)."""
    r = app.router
    r.add_get("/api/sessions/{session_id}/giveaways", list_giveaways)
    r.add_get("/api/giveaways/{giveaway_id}", get_giveaway)
    document(
        app,
        {
            "/api/sessions/{session_id}/giveaways": {
                "GET": op("A show's giveaways and the open one", tag="commerce", errors=(404,))
            },
            "/api/giveaways/{giveaway_id}": {
                "GET": op(
                    "A giveaway; once drawn, its seed, entrant list, list hash and every attempt,"
                    " so anyone can check the draw",
                    tag="commerce",
                    errors=(404,),
                )
            },
        },
    )

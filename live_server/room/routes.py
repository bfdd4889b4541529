"""Live-room REST: chat history, pin history and audience stats of a session.

The live room itself speaks Socket.IO (signaling/room.py, docs/realtime.md); these
read-only endpoints serve replays, the clips work and outside clients.
"""

from __future__ import annotations

from aiohttp import web

from live_server.platform.http import (
    json_response,
    path_int,
    principal,
    query_int,
    require_user,
)
from live_server.platform.openapi import document, op, query_param
from live_server.room.keys import ROOM
from live_server.room.models import ChatPage, PinPage


async def chat_history(request: web.Request) -> web.Response:
    """GET /api/sessions/{id}/chat?after_id=&limit=: visible messages, oldest first."""
    items = await request.app[ROOM].chat_history(
        principal(request),
        path_int(request, "session_id"),
        query_int(request, "after_id", 0, 0, 2**53),
        query_int(request, "limit", 100, 1, 500),
    )
    return json_response({"items": items})


async def pin_history(request: web.Request) -> web.Response:
    """GET /api/sessions/{id}/pins: every pin with its media times."""
    items = await request.app[ROOM].pin_history(principal(request), path_int(request, "session_id"))
    return json_response({"items": items})


async def audience(request: web.Request) -> web.Response:
    """GET /api/sessions/{id}/audience: peak/average/unique viewers, watch time, minutes."""
    who = require_user(request)
    return json_response(await request.app[ROOM].audience(who, path_int(request, "session_id")))


def setup(app: web.Application) -> None:
    """Adds the live-room routes and their OpenAPI entries."""
    r = app.router
    r.add_get("/api/sessions/{session_id}/chat", chat_history)
    r.add_get("/api/sessions/{session_id}/pins", pin_history)
    r.add_get("/api/sessions/{session_id}/audience", audience)
    document(
        app,
        {
            "/api/sessions/{session_id}/chat": {
                "GET": op(
                    "Chat history of a session (visible messages, oldest first)",
                    tag="room",
                    response=ChatPage,
                    errors=(404,),
                    params=[
                        query_param("after_id", "only messages with a larger id", "integer"),
                        query_param("limit", "at most this many (1-500, default 100)", "integer"),
                    ],
                )
            },
            "/api/sessions/{session_id}/pins": {
                "GET": op(
                    "Pins of a session with their media times",
                    tag="room",
                    response=PinPage,
                    errors=(404,),
                )
            },
            "/api/sessions/{session_id}/audience": {
                "GET": op(
                    "Audience stats: peak, average and unique viewers, watch time, per minute",
                    tag="room",
                    auth=True,
                    errors=(401, 403, 404),
                )
            },
        },
    )

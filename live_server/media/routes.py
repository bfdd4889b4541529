"""Live video status REST: a session's broadcast state and its media time."""

from __future__ import annotations

from aiohttp import web

from live_server.media.keys import BROADCAST
from live_server.media.models import BroadcastOut, MediaTimeOut
from live_server.platform.http import json_response, path_int, principal
from live_server.platform.openapi import document, op
from live_server.shows import SHOWS


async def broadcast_info(request: web.Request) -> web.Response:
    """GET /api/sessions/{session_id}/broadcast: state, media time and WHEP viewer count
    (summed over the cluster's nodes, with each node's share)."""
    session_id = path_int(request, "session_id")
    broadcast = request.app[BROADCAST]
    session = await request.app[SHOWS].require_visible(principal(request), session_id)
    return web.json_response(
        {
            "session_id": session_id,
            "state": session.state.value,
            "media_time": await broadcast.media_time(session_id),
            "viewers": broadcast.viewer_count(session_id),
            "publishing": broadcast.is_publishing(session_id),
            "nodes": broadcast.viewers_by_node(session_id),
            "layers": broadcast.simulcast_layers(session_id),
        },
        headers={"Cache-Control": "no-store"},
    )


async def media_time(request: web.Request) -> web.Response:
    """GET /api/sessions/{session_id}/media-time: seconds since go-live (None if not live)."""
    session_id = path_int(request, "session_id")
    session = await request.app[SHOWS].require_visible(principal(request), session_id)
    return json_response(
        {
            "session_id": session_id,
            "state": session.state.value,
            "media_time": await request.app[BROADCAST].media_time(session_id),
        }
    )


def setup(app: web.Application) -> None:
    """Registers the media status routes and documents them."""
    app.router.add_get("/api/sessions/{session_id}/broadcast", broadcast_info)
    app.router.add_get("/api/sessions/{session_id}/media-time", media_time)
    document(
        app,
        {
            "/api/sessions/{session_id}/broadcast": {
                "GET": op(
                    "Live video status: state, media time, WHEP viewers, publisher connected",
                    tag="media",
                    response=BroadcastOut,
                    errors=(404,),
                )
            },
            "/api/sessions/{session_id}/media-time": {
                "GET": op(
                    "The live session's media time in seconds since go-live",
                    tag="sessions",
                    response=MediaTimeOut,
                    errors=(404,),
                )
            },
        },
    )

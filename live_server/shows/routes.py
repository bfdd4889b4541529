"""Live sessions REST: schedule, list, line-up, moderators, stream key, state."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from aiohttp import web

from live_server.platform.http import (
    json_response,
    path_int,
    principal,
    query_int,
    require_user,
)
from live_server.platform.openapi import document, op, query_param
from live_server.platform.schemas import UNSET, present, read_body
from live_server.shows.keys import SHOWS
from live_server.shows.models import (
    LineupBody,
    ModeratorsBody,
    SessionCreate,
    SessionOut,
    SessionPage,
    SessionUpdate,
    StreamKeyOut,
)
from live_server.shows.rules import check_start
from live_server.shows.serializers import session_json


def whip_url(request: web.Request, session_id: int) -> str:
    return f"{request.scheme}://{request.host}/whip/{session_id}"


async def list_sessions(request: web.Request) -> web.Response:
    which = request.query.get("state", "live")
    views = await request.app[SHOWS].search(which, query_int(request, "limit", 50, 1, 200))
    return json_response({"items": [session_json(v) for v in views]})


async def my_sessions(request: web.Request) -> web.Response:
    who = require_user(request)
    views = await request.app[SHOWS].mine(who)
    return json_response({"items": [session_json(v) for v in views]})


def _check_start(starts_at: object) -> None:
    """A start time sent from a form is in the future (the demo's replays are seeded with
    past ones through the service)."""
    if isinstance(starts_at, datetime):
        moment = starts_at if starts_at.tzinfo else starts_at.replace(tzinfo=UTC)
        check_start(moment.timestamp(), time.time())
    elif isinstance(starts_at, int | float):
        check_start(float(starts_at), time.time())


async def create_session(request: web.Request) -> web.Response:
    who = require_user(request)
    body = await read_body(request, SessionCreate)
    _check_start(body.starts_at)
    view = await request.app[SHOWS].schedule(who, present(body))
    return json_response(session_json(view), status=201)


async def get_session(request: web.Request) -> web.Response:
    view = await request.app[SHOWS].visible_view(
        principal(request), path_int(request, "session_id")
    )
    return json_response(session_json(view))


async def update_session(request: web.Request) -> web.Response:
    who = require_user(request)
    session_id = path_int(request, "session_id")
    body = await read_body(request, SessionUpdate)
    _check_start(body.starts_at)
    view = await request.app[SHOWS].update(who, session_id, present(body))
    return json_response(session_json(view))


async def set_products(request: web.Request) -> web.Response:
    who = require_user(request)
    session_id = path_int(request, "session_id")
    body = await read_body(request, LineupBody)
    view = await request.app[SHOWS].set_products(who, session_id, body.product_ids)
    return json_response(session_json(view))


async def set_moderators(request: web.Request) -> web.Response:
    who = require_user(request)
    session_id = path_int(request, "session_id")
    body = await read_body(request, ModeratorsBody)
    names = body.usernames if body.usernames is not UNSET else body.moderators
    view = await request.app[SHOWS].set_moderators(
        who, session_id, None if names is UNSET else names
    )
    return json_response(session_json(view))


async def stream_key(request: web.Request) -> web.Response:
    who = require_user(request)
    session_id = path_int(request, "session_id")
    key = await request.app[SHOWS].stream_key(who, session_id)
    return json_response(
        {"stream_key": key, "whip_url": whip_url(request, session_id)},
        headers={"Cache-Control": "no-store"},
    )


async def rotate_stream_key(request: web.Request) -> web.Response:
    who = require_user(request)
    session_id = path_int(request, "session_id")
    key = await request.app[SHOWS].rotate_stream_key(who, session_id)
    return json_response(
        {"stream_key": key, "whip_url": whip_url(request, session_id)},
        headers={"Cache-Control": "no-store"},
    )


async def start_session(request: web.Request) -> web.Response:
    who = require_user(request)
    svc = request.app[SHOWS]
    session_id = path_int(request, "session_id")
    await svc.start(who, session_id)
    return json_response(session_json(await svc.view(session_id)))


async def end_session(request: web.Request) -> web.Response:
    who = require_user(request)
    svc = request.app[SHOWS]
    session_id = path_int(request, "session_id")
    await svc.end(who, session_id)
    return json_response(session_json(await svc.view(session_id)))


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/sessions", list_sessions)
    r.add_post("/api/sessions", create_session)
    r.add_get("/api/sessions/mine", my_sessions)
    r.add_get("/api/sessions/{session_id}", get_session)
    r.add_patch("/api/sessions/{session_id}", update_session)
    r.add_put("/api/sessions/{session_id}/products", set_products)
    r.add_put("/api/sessions/{session_id}/moderators", set_moderators)
    r.add_get("/api/sessions/{session_id}/stream-key", stream_key)
    r.add_post("/api/sessions/{session_id}/stream-key/rotate", rotate_stream_key)
    r.add_post("/api/sessions/{session_id}/start", start_session)
    r.add_post("/api/sessions/{session_id}/end", end_session)
    host_errors = (401, 403, 404)
    sid = {"session_id": "$response.body#/id"}
    links = {
        "session": ("GET /api/sessions/{session_id}", sid),
        "edit": ("PATCH /api/sessions/{session_id}", sid),
        "lineup": ("PUT /api/sessions/{session_id}/products", sid),
        "moderators": ("PUT /api/sessions/{session_id}/moderators", sid),
        "stream_key": ("GET /api/sessions/{session_id}/stream-key", sid),
        "start": ("POST /api/sessions/{session_id}/start", sid),
        "end": ("POST /api/sessions/{session_id}/end", sid),
        "chat": ("GET /api/sessions/{session_id}/chat", sid),
        "commerce": ("GET /api/sessions/{session_id}/commerce", sid),
    }
    document(
        app,
        {
            "/api/sessions": {
                "GET": op(
                    "Sessions: live now, upcoming or replays",
                    tag="sessions",
                    params=[
                        query_param(
                            "state",
                            "live (default), upcoming or replays",
                            schema={"enum": ["live", "upcoming", "replays"]},
                        ),
                        query_param("limit", "1-200 (clamped)", "integer"),
                    ],
                    response=SessionPage,
                    errors=(422,),
                ),
                "POST": op(
                    "Schedule a session (hosts)",
                    tag="sessions",
                    auth=True,
                    body=SessionCreate,
                    ok=201,
                    response=SessionOut,
                    errors=(403,),
                    links=links,
                ),
            },
            "/api/sessions/mine": {
                "GET": op(
                    "Sessions I host or moderate",
                    tag="sessions",
                    auth=True,
                    response=SessionPage,
                )
            },
            "/api/sessions/{session_id}": {
                "GET": op(
                    "A session with host, line-up and moderators",
                    tag="sessions",
                    response=SessionOut,
                    errors=(404,),
                ),
                "PATCH": op(
                    "Edit a session (host)",
                    tag="sessions",
                    auth=True,
                    body=SessionUpdate,
                    body_required=False,  # an empty body changes nothing
                    response=SessionOut,
                    errors=host_errors,
                ),
            },
            "/api/sessions/{session_id}/products": {
                "PUT": op(
                    "Replace the product line-up (host)",
                    tag="sessions",
                    auth=True,
                    body=LineupBody,
                    response=SessionOut,
                    errors=host_errors,
                )
            },
            "/api/sessions/{session_id}/moderators": {
                "PUT": op(
                    "Replace the moderators by username (host)",
                    tag="sessions",
                    auth=True,
                    body=ModeratorsBody,
                    response=SessionOut,
                    errors=host_errors,
                )
            },
            "/api/sessions/{session_id}/stream-key": {
                "GET": op(
                    "The secret stream key and WHIP URL (host only)",
                    tag="sessions",
                    auth=True,
                    response=StreamKeyOut,
                    errors=host_errors,
                )
            },
            "/api/sessions/{session_id}/stream-key/rotate": {
                "POST": op(
                    "Replace the stream key (host only)",
                    tag="sessions",
                    auth=True,
                    response=StreamKeyOut,
                    errors=host_errors,
                )
            },
            "/api/sessions/{session_id}/start": {
                "POST": op(
                    "Mark the session live (host; normally the WHIP ingest does this)",
                    tag="sessions",
                    auth=True,
                    response=SessionOut,
                    errors=(*host_errors, 409),
                )
            },
            "/api/sessions/{session_id}/end": {
                "POST": op(
                    "End the session (host)",
                    tag="sessions",
                    auth=True,
                    response=SessionOut,
                    errors=(*host_errors, 409),
                )
            },
        },
    )

"""Reminders REST: "Remind me" on an upcoming show and its calendar (.ics) file."""

from __future__ import annotations

from urllib.parse import urlsplit

import msgspec
from aiohttp import web

from live_server.content.keys import REMINDERS
from live_server.platform.core import PLATFORM
from live_server.platform.http import json_response, path_int, principal, require_user
from live_server.platform.openapi import document, op


class ReminderOut(msgspec.Struct):
    """Whether the current user will be told when the show goes live."""

    session_id: int
    reminder: bool


class PendingOut(msgspec.Struct):
    """GET /api/me/reminders."""

    session_ids: list[int]


def _base_url(request: web.Request) -> str:
    public = request.app[PLATFORM].settings.public_url
    return public.rstrip("/") if public else f"{request.scheme}://{request.host}"


async def put_reminder(request: web.Request) -> web.Response:
    who = require_user(request)
    session_id = path_int(request, "session_id")
    on = await request.app[REMINDERS].set(who, session_id, request.method == "PUT")
    return json_response({"session_id": session_id, "reminder": on})


async def get_reminder(request: web.Request) -> web.Response:
    who = require_user(request)
    session_id = path_int(request, "session_id")
    on = await request.app[REMINDERS].status(who, session_id)
    return json_response({"session_id": session_id, "reminder": on})


async def my_reminders(request: web.Request) -> web.Response:
    who = require_user(request)
    return json_response({"session_ids": await request.app[REMINDERS].pending(who)})


async def calendar(request: web.Request) -> web.Response:
    base = _base_url(request)
    text, name = await request.app[REMINDERS].calendar(
        principal(request),
        path_int(request, "session_id"),
        base,
        urlsplit(base).hostname or "liveshop",
    )
    return web.Response(
        text=text,
        content_type="text/calendar",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/sessions/{session_id}/reminder", get_reminder)
    r.add_put("/api/sessions/{session_id}/reminder", put_reminder)
    r.add_delete("/api/sessions/{session_id}/reminder", put_reminder)
    r.add_get("/api/sessions/{session_id}/calendar.ics", calendar)
    r.add_get("/api/me/reminders", my_reminders)
    errors = (401, 404)
    document(
        app,
        {
            "/api/sessions/{session_id}/reminder": {
                "GET": op(
                    "Whether I am reminded of this show",
                    tag="reminders",
                    auth=True,
                    response=ReminderOut,
                    errors=errors,
                ),
                "PUT": op(
                    "Remind me when this upcoming show goes live (a notice on my open pages)",
                    tag="reminders",
                    auth=True,
                    response=ReminderOut,
                    errors=(*errors, 409),
                ),
                "DELETE": op(
                    "No reminder for this show",
                    tag="reminders",
                    auth=True,
                    response=ReminderOut,
                    errors=errors,
                ),
            },
            "/api/sessions/{session_id}/calendar.ics": {
                "GET": op(
                    "The show as an iCalendar event (RFC 5545, UTC times)",
                    tag="reminders",
                    response={"type": "string"},
                    ok_type="text/calendar",
                    errors=(404,),
                )
            },
            "/api/me/reminders": {
                "GET": op(
                    "Shows I will be told about when they go live",
                    tag="reminders",
                    auth=True,
                    response=PendingOut,
                )
            },
        },
    )

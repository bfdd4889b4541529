"""Where a person wants order news: GET/PUT /api/me/email."""

from __future__ import annotations

from typing import Annotated

import msgspec
from aiohttp import web

from live_server.commerce.emails.rules import EMAIL_PATTERN
from live_server.commerce.keys import EMAILS
from live_server.platform.http import json_response, require_user
from live_server.platform.openapi import document, op
from live_server.platform.schemas import read_body


class ContactEmail(msgspec.Struct, forbid_unknown_fields=True):
    """PUT /api/me/email: an address for order emails; null (or no body) removes it."""

    email: (
        Annotated[
            str,
            msgspec.Meta(
                pattern=EMAIL_PATTERN.pattern,
                max_length=254,
                extra={"message": "Enter an email address like ana@example.com"},
            ),
        ]
        | None
    ) = None


async def my_email(request: web.Request) -> web.Response:
    who = require_user(request)
    return json_response(await request.app[EMAILS].contact(who.user_id))


async def set_my_email(request: web.Request) -> web.Response:
    who = require_user(request)
    body = await read_body(request, ContactEmail)
    return json_response(await request.app[EMAILS].set_contact(who.user_id, body.email))


def setup(app: web.Application) -> None:
    """Routes and their OpenAPI entries."""
    app.router.add_get("/api/me/email", my_email)
    app.router.add_put("/api/me/email", set_my_email)
    document(
        app,
        {
            "/api/me/email": {
                "GET": op(
                    "Where my order emails go, and whether this server sends email",
                    tag="commerce",
                    auth=True,
                    errors=(401,),
                ),
                "PUT": op(
                    "Set (or remove) the address my order emails go to",
                    tag="commerce",
                    auth=True,
                    body=ContactEmail,
                    body_required=False,
                    errors=(401, 422),
                ),
            }
        },
    )

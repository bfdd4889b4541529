"""Cards over REST: the buyer's card on file (add through a Stripe SetupIntent, remove) and
the merchant's capture of an authorised payment."""

from __future__ import annotations

from typing import Annotated

import msgspec
from aiohttp import web

from live_server.commerce.keys import CARDS
from live_server.platform.http import json_response, require_user
from live_server.platform.openapi import document, op
from live_server.platform.schemas import read_body


class CardSetupDone(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/me/card: the SetupIntent the sheet confirmed with Stripe.js."""

    setup_intent: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


async def my_card(request: web.Request) -> web.Response:
    return json_response(await request.app[CARDS].card(require_user(request)))


async def start_card_setup(request: web.Request) -> web.Response:
    return json_response(await request.app[CARDS].start_setup(require_user(request)), status=201)


async def save_card(request: web.Request) -> web.Response:
    who = require_user(request)
    body = await read_body(request, CardSetupDone)
    return json_response(await request.app[CARDS].finish_setup(who, body.setup_intent))


async def forget_card(request: web.Request) -> web.Response:
    await request.app[CARDS].forget(require_user(request))
    return web.Response(status=204)


async def capture_order(request: web.Request) -> web.Response:
    who = require_user(request)
    order = await request.app[CARDS].capture(who, request.match_info["order_id"])
    return json_response({"order": order})


def setup(app: web.Application) -> None:
    """Routes and their OpenAPI entries."""
    r = app.router
    r.add_get("/api/me/card", my_card)
    r.add_post("/api/me/card", save_card)
    r.add_delete("/api/me/card", forget_card)
    r.add_post("/api/me/card/setup", start_card_setup)
    r.add_post("/api/orders/{order_id}/capture", capture_order)
    document(
        app,
        {
            "/api/me/card": {
                "GET": op(
                    "My card on file (brand, last four digits) and the Stripe publishable key",
                    tag="payments",
                    auth=True,
                    errors=(401, 404),
                ),
                "POST": op(
                    "Keep the card of a SetupIntent I confirmed with Stripe.js",
                    tag="payments",
                    auth=True,
                    body=CardSetupDone,
                    errors=(401, 404, 422, 503),
                ),
                "DELETE": op(
                    "Remove my card on file",
                    tag="payments",
                    auth=True,
                    ok=204,
                    ok_type=None,
                    errors=(401, 404),
                ),
            },
            "/api/me/card/setup": {
                "POST": op(
                    "Start saving a card: a SetupIntent's client secret for Stripe.js",
                    tag="payments",
                    auth=True,
                    ok=201,
                    body_required=False,
                    errors=(401, 404, 503),
                )
            },
            "/api/orders/{order_id}/capture": {
                "POST": op(
                    "Take an order's authorised card payment (its seller or an admin)",
                    tag="payments",
                    auth=True,
                    body_required=False,
                    errors=(401, 403, 404, 409, 503),
                )
            },
        },
    )

"""Auctions over REST: a show's auctions, one auction's audit trail, start and cancel."""

from __future__ import annotations

from aiohttp import web

from live_server.commerce.auctions.keys import AUCTIONS
from live_server.commerce.auctions.models import AuctionStart
from live_server.platform.http import json_response, path_int, principal, require_user
from live_server.platform.openapi import document, op
from live_server.platform.schemas import present, read_body


async def list_auctions(request: web.Request) -> web.Response:
    session_id = path_int(request, "session_id")
    service = request.app[AUCTIONS]
    items = await service.for_session(principal(request), session_id)
    return json_response({"items": items, "current": await service.current(session_id)})


async def auctions_timeline(request: web.Request) -> web.Response:
    session_id = path_int(request, "session_id")
    items = await request.app[AUCTIONS].timeline(principal(request), session_id)
    return json_response({"items": items})


async def start_auction(request: web.Request) -> web.Response:
    who = require_user(request)
    session_id = path_int(request, "session_id")
    data = present(await read_body(request, AuctionStart))
    auction = await request.app[AUCTIONS].start(who, session_id, data)
    return json_response({"auction": auction}, status=201)


async def get_auction(request: web.Request) -> web.Response:
    service = request.app[AUCTIONS]
    auction_id = path_int(request, "auction_id")
    body = await service.audit_of(principal(request), auction_id)
    body["live"] = await service.state_of(auction_id)
    return json_response(body)


async def cancel_auction(request: web.Request) -> web.Response:
    who = require_user(request)
    result = await request.app[AUCTIONS].cancel(who, path_int(request, "auction_id"))
    return json_response({"result": result})


def setup(app: web.Application) -> None:
    """Routes and their OpenAPI entries."""
    r = app.router
    r.add_get("/api/sessions/{session_id}/auctions", list_auctions)
    r.add_post("/api/sessions/{session_id}/auctions", start_auction)
    r.add_get("/api/sessions/{session_id}/auctions/timeline", auctions_timeline)
    r.add_get("/api/auctions/{auction_id}", get_auction)
    r.add_post("/api/auctions/{auction_id}/cancel", cancel_auction)
    document(
        app,
        {
            "/api/sessions/{session_id}/auctions": {
                "GET": op(
                    "A show's auctions, newest first, and the running one's card",
                    tag="commerce",
                    errors=(404,),
                ),
                "POST": op(
                    "Start an auction of a line-up product while the show is live (host or"
                    " moderator; one at a time per show; bids come over Socket.IO)",
                    tag="commerce",
                    auth=True,
                    body=AuctionStart,
                    ok=201,
                    errors=(403, 404, 409),
                ),
            },
            "/api/sessions/{session_id}/auctions/timeline": {
                "GET": op(
                    "A show's auctions for its replay, oldest first: the start, the lead after"
                    " each bid and the result, at media times (no bidder ids or maxima)",
                    tag="commerce",
                    errors=(404,),
                )
            },
            "/api/auctions/{auction_id}": {
                "GET": op(
                    "An auction with every accepted bid and event (server and media time)",
                    tag="commerce",
                    errors=(404,),
                )
            },
            "/api/auctions/{auction_id}/cancel": {
                "POST": op(
                    "Cancel an auction before its first bid (host or moderator)",
                    tag="commerce",
                    auth=True,
                    errors=(401, 403, 404, 409),
                )
            },
        },
    )

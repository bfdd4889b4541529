"""Live coupons over REST: a show's coupons (with redemptions for its host), drop, withdraw."""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from msgspec import Meta

from live_server.commerce.coupons.keys import COUPONS
from live_server.commerce.coupons.rules import MAX_AFTER_MINUTES, MAX_PER_BUYER, MAX_TOTAL
from live_server.platform.http import json_response, path_int, principal, require_user
from live_server.platform.openapi import document, op
from live_server.platform.schemas import Body, present, read_body

Id = Annotated[int, Meta(ge=1, lt=2**62)]


class CouponDrop(Body):
    """POST /api/sessions/{id}/coupons: the same terms as the `coupon:drop` event."""

    kind: Annotated[
        Literal["percent", "amount"],
        Meta(extra={"message": "A coupon takes a percent or an amount off."}),
    ]
    value: Annotated[
        int,
        Meta(
            ge=1,
            description="a percent (1-90), or minor units off",
            extra={"message": "Enter how much the coupon takes off."},
        ),
    ]
    total_limit: Annotated[
        int, Meta(ge=1, le=MAX_TOTAL, extra={"message": f"Drop 1 to {MAX_TOTAL:,} coupons."})
    ]
    per_buyer_limit: Annotated[
        int,
        Meta(
            ge=1,
            le=MAX_PER_BUYER,
            extra={"message": f"Each buyer may use a coupon 1 to {MAX_PER_BUYER} times."},
        ),
    ] = 1
    after_show_minutes: Annotated[
        int,
        Meta(
            ge=0,
            le=MAX_AFTER_MINUTES,
            extra={"message": "A coupon stays valid at most a day after the show."},
        ),
    ] = 0
    product_ids: Annotated[list[Id], Meta(min_length=1, max_length=50)] | None = None


async def list_coupons(request: web.Request) -> web.Response:
    session_id = path_int(request, "session_id")
    items = await request.app[COUPONS].for_session(principal(request), session_id)
    return json_response({"items": items})


async def drop_coupon(request: web.Request) -> web.Response:
    who = require_user(request)
    data = present(await read_body(request, CouponDrop))
    coupon = await request.app[COUPONS].drop(who, path_int(request, "session_id"), data)
    return json_response({"coupon": coupon}, status=201)


async def withdraw_coupon(request: web.Request) -> web.Response:
    who = require_user(request)
    coupon = await request.app[COUPONS].withdraw(who, path_int(request, "coupon_id"))
    return json_response({"coupon": coupon})


def setup(app: web.Application) -> None:
    """Routes and their OpenAPI entries."""
    r = app.router
    r.add_get("/api/sessions/{session_id}/coupons", list_coupons)
    r.add_post("/api/sessions/{session_id}/coupons", drop_coupon)
    r.add_post("/api/coupons/{coupon_id}/withdraw", withdraw_coupon)
    document(
        app,
        {
            "/api/sessions/{session_id}/coupons": {
                "GET": op(
                    "A show's live coupons (its host and moderators also see claims,"
                    " redemptions and the discount given)",
                    tag="commerce",
                    errors=(404,),
                ),
                "POST": op(
                    "Drop a live coupon into the show (its host; viewers claim it in the room,"
                    " checkout applies it with coupon_id)",
                    tag="commerce",
                    auth=True,
                    body=CouponDrop,
                    ok=201,
                    errors=(403, 404, 409),
                ),
            },
            "/api/coupons/{coupon_id}/withdraw": {
                "POST": op(
                    "Withdraw a coupon now (host or moderator)",
                    tag="commerce",
                    auth=True,
                    errors=(401, 403, 404),
                )
            },
        },
    )

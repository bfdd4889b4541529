"""Fulfilment over REST: the seller's orders (JSON or the packing-list CSV), shipping,
refunds; the buyer's cancel is `POST /api/orders/{id}/cancel` (commerce/routes.py)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from aiohttp import web

from live_server.commerce.fulfilment.rules import (
    FILTERS,
    MAX_CARRIER,
    MAX_TRACKING,
    TRACKING_PATTERN,
)
from live_server.commerce.keys import FULFILMENT
from live_server.platform.errors import Invalid, NotFound
from live_server.platform.http import json_response, require_user
from live_server.platform.openapi import document, op, query_param
from live_server.platform.schemas import Body, read_body


class ShipBody(Body):
    """POST /api/orders/{id}/ship."""

    carrier: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=MAX_CARRIER,
            pattern=r"^[^\x00-\x1f]*\S[^\x00-\x1f]*$",
            extra={"message": f"Enter the carrier (up to {MAX_CARRIER} characters)."},
        ),
    ]
    tracking: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=MAX_TRACKING,
            pattern=TRACKING_PATTERN.pattern,
            extra={
                "message": "Enter the tracking number as the carrier gave it (letters, digits,"
                " spaces, . _ / -)."
            },
        ),
    ]


class RefundBody(Body):
    """POST /api/orders/{id}/refund: no amount refunds all that is left."""

    amount_minor: (
        Annotated[
            int,
            msgspec.Meta(
                ge=1,
                lt=2**53,
                extra={"message": "Enter the amount to refund, more than zero."},
            ),
        ]
        | None
    ) = None
    restock: bool = False


def _order_id(request: web.Request) -> str:
    order_id = request.match_info["order_id"]
    if not order_id.startswith("ord_") or len(order_id) > 40:
        raise NotFound("We couldn't find that order.", code="order_not_found")
    return order_id


async def seller_orders(request: web.Request) -> web.Response:
    who = require_user(request)
    wanted = request.query.get("status", "all") or "all"
    service = request.app[FULFILMENT]
    kind = request.query.get("format", "json") or "json"
    if kind not in ("json", "csv"):
        raise Invalid("The format must be json or csv.", code="invalid_format", field="format")
    if kind == "csv":
        text = await service.packing_list(who, wanted)
        return web.Response(
            text=text,
            content_type="text/csv",
            charset="utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="packing-list-{wanted}.csv"',
                "Cache-Control": "no-store",
            },
        )
    items = await service.seller_orders(who, wanted)
    return json_response({"items": items}, headers={"Cache-Control": "no-store"})


async def ship_order(request: web.Request) -> web.Response:
    who = require_user(request)
    order_id = _order_id(request)
    body = await read_body(request, ShipBody)
    order = await request.app[FULFILMENT].ship(who, order_id, body.carrier, body.tracking)
    return json_response({"order": order})


async def refund_order(request: web.Request) -> web.Response:
    who = require_user(request)
    order_id = _order_id(request)
    body = await read_body(request, RefundBody)
    order = await request.app[FULFILMENT].refund(who, order_id, body.amount_minor, body.restock)
    return json_response({"order": order})


def setup(app: web.Application) -> None:
    """Routes and their OpenAPI entries."""
    r = app.router
    r.add_get("/api/seller/orders", seller_orders)
    r.add_post("/api/orders/{order_id}/ship", ship_order)
    r.add_post("/api/orders/{order_id}/refund", refund_order)
    listing = op(
        "Orders of what I sell (buyer's name and address, items, stage, refunds); "
        "format=csv: the packing list, one row per item",
        tag="fulfilment",
        auth=True,
        errors=(401, 422),
        params=[
            query_param(
                "status",
                "all (default), to_ship, shipped, refunded or cancelled",
                schema={"enum": list(FILTERS)},
            ),
            query_param(
                "format",
                "json (default) or csv: the packing list",
                schema={"enum": ["json", "csv"]},
            ),
        ],
    )
    # the same orders as the packing list (format=csv)
    listing["responses"]["200"]["content"]["text/csv"] = {"schema": {"type": "string"}}
    document(
        app,
        {
            "/api/seller/orders": {"GET": listing},
            "/api/orders/{order_id}/ship": {
                "POST": op(
                    "Mark an order shipped with its carrier and tracking number (the seller of "
                    "every item, or an admin); an authorised card payment is captured first",
                    tag="fulfilment",
                    auth=True,
                    body=ShipBody,
                    errors=(401, 403, 404, 409, 503),
                )
            },
            "/api/orders/{order_id}/refund": {
                "POST": op(
                    "Refund an order in full or in part through its payment provider; restock "
                    "puts its units back on sale",
                    tag="fulfilment",
                    auth=True,
                    body=RefundBody,
                    body_required=False,
                    errors=(401, 403, 404, 409, 503),
                )
            },
        },
        path_params={"order_id": {"type": "string", "pattern": "^ord_[0-9a-f]{1,36}$"}},
    )

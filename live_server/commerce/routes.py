"""Commerce REST: cart, checkout (one-tap and cart), orders, checkout profile, flash sales."""

from __future__ import annotations

from aiohttp import web

from live_server.commerce.checkout.results import CheckoutResult
from live_server.commerce.keys import (
    CART,
    CHECKOUT,
    COMMERCE_SHOWS,
    COMMERCE_TICK,
    FLASH_SALES,
    FULFILMENT,
    LIVE_COMMERCE,
)
from live_server.commerce.models import (
    BuyNow,
    CartAdd,
    CartCheckout,
    CartQuantity,
    CheckoutProfile,
    FlashSaleStart,
    OrderEnvelope,
    OrderPage,
)
from live_server.platform.errors import NotFound
from live_server.platform.http import (
    json_response,
    path_int,
    principal,
    query_int,
    require_user,
)
from live_server.platform.openapi import document, op, query_param
from live_server.platform.schemas import present, read_body

IDEMPOTENCY_HEADER = "Idempotency-Key"


def _order_response(result: CheckoutResult) -> web.Response:
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    return json_response({"order": result.order}, status=201, headers=headers)


def _order_id(request: web.Request) -> str:
    order_id = request.match_info["order_id"]
    if not order_id.startswith("ord_") or len(order_id) > 40:
        raise NotFound("We couldn't find that order.", code="order_not_found")
    return order_id


# -- cart ------------------------------------------------------------------------------


async def get_cart(request: web.Request) -> web.Response:
    return json_response(await request.app[CART].view(require_user(request)))


async def add_to_cart(request: web.Request) -> web.Response:
    who = require_user(request)
    body = await read_body(request, CartAdd)
    return json_response(await request.app[CART].add(who, present(body)), 201)


async def set_cart_quantity(request: web.Request) -> web.Response:
    who = require_user(request)
    pid = path_int(request, "product_id")
    body = await read_body(request, CartQuantity)
    return json_response(await request.app[CART].set_quantity(who, pid, present(body)))


async def remove_from_cart(request: web.Request) -> web.Response:
    who = require_user(request)
    return json_response(await request.app[CART].remove(who, path_int(request, "product_id")))


async def clear_cart(request: web.Request) -> web.Response:
    return json_response(await request.app[CART].clear(require_user(request)))


# -- checkout and orders ---------------------------------------------------------------


async def buy_now(request: web.Request) -> web.Response:
    who = require_user(request)
    data = present(await read_body(request, BuyNow))
    key = request.headers.get(IDEMPOTENCY_HEADER)
    return _order_response(await request.app[CHECKOUT].buy_now(who, data, key))


async def checkout_cart(request: web.Request) -> web.Response:
    who = require_user(request)
    data = present(await read_body(request, CartCheckout))
    key = request.headers.get(IDEMPOTENCY_HEADER)
    return _order_response(await request.app[CHECKOUT].checkout_cart(who, data, key))


async def list_orders(request: web.Request) -> web.Response:
    who = require_user(request)
    limit = query_int(request, "limit", 50, 1, 200)
    items = await request.app[CHECKOUT].orders_of(who, limit=limit)
    return json_response({"items": request.app[FULFILMENT].with_cancel_window(items)})


async def get_order(request: web.Request) -> web.Response:
    who = require_user(request)
    order = await request.app[CHECKOUT].order(who, _order_id(request))
    return json_response({"order": request.app[FULFILMENT].with_cancel_window([order])[0]})


async def cancel_order(request: web.Request) -> web.Response:
    who = require_user(request)
    order = await request.app[FULFILMENT].cancel(who, _order_id(request))
    return json_response({"order": order})


async def get_profile(request: web.Request) -> web.Response:
    who = require_user(request)
    return json_response(await request.app[CHECKOUT].profile(who))


async def put_profile(request: web.Request) -> web.Response:
    who = require_user(request)
    body = await read_body(request, CheckoutProfile)
    return json_response(await request.app[CHECKOUT].save_profile(who, present(body)))


# -- flash sales and the live view -------------------------------------------------------


async def start_flash_sale(request: web.Request) -> web.Response:
    who = require_user(request)
    session_id = path_int(request, "session_id")
    body = await read_body(request, FlashSaleStart)
    sale = await request.app[FLASH_SALES].start(who, session_id, present(body))
    return json_response({"flash_sale": sale}, status=201)


async def list_flash_sales(request: web.Request) -> web.Response:
    session_id = path_int(request, "session_id")
    await request.app[COMMERCE_SHOWS].require_visible(principal(request), session_id)
    return json_response({"items": await request.app[FLASH_SALES].for_session(session_id)})


async def end_flash_sale(request: web.Request) -> web.Response:
    who = require_user(request)
    sale = await request.app[FLASH_SALES].end(who, path_int(request, "sale_id"))
    return json_response({"flash_sale": sale})


async def live_state(request: web.Request) -> web.Response:
    """The same data the room tick carries, for pages that load before their first tick."""
    session_id = path_int(request, "session_id")
    view = await request.app[COMMERCE_SHOWS].visible_view(principal(request), session_id)
    live = request.app[LIVE_COMMERCE]
    # each listing and each of its variants (a card's size chips show their own units)
    product_ids = [p.id for p in view.products] + [v.id for p in view.products for v in p.variants]
    cards = await request.app[COMMERCE_TICK].card_extras(session_id, product_ids)
    return json_response(
        {
            **live.room_section(session_id),
            "products": {str(pid): fields for pid, fields in cards.items()},
        }
    )


def setup(app: web.Application) -> None:
    """Routes and their OpenAPI entries."""
    r = app.router
    r.add_get("/api/cart", get_cart)
    r.add_delete("/api/cart", clear_cart)
    r.add_post("/api/cart/items", add_to_cart)
    r.add_put("/api/cart/items/{product_id}", set_cart_quantity)
    r.add_delete("/api/cart/items/{product_id}", remove_from_cart)
    r.add_post("/api/checkout", checkout_cart)
    r.add_post("/api/checkout/buy-now", buy_now)
    r.add_get("/api/orders", list_orders)
    r.add_get("/api/orders/{order_id}", get_order)
    r.add_post("/api/orders/{order_id}/cancel", cancel_order)
    r.add_get("/api/me/checkout-profile", get_profile)
    r.add_put("/api/me/checkout-profile", put_profile)
    r.add_get("/api/sessions/{session_id}/flash-sales", list_flash_sales)
    r.add_post("/api/sessions/{session_id}/flash-sales", start_flash_sale)
    r.add_post("/api/flash-sales/{sale_id}/end", end_flash_sale)
    r.add_get("/api/sessions/{session_id}/commerce", live_state)

    idem = {
        "name": IDEMPOTENCY_HEADER,
        "in": "header",
        "required": True,
        "description": "the same key never makes two orders; a retry gets the first order",
        "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,200}$"},
    }
    replayed = {
        "Idempotent-Replayed": {
            "description": "true when this is the order an earlier request with the key made",
            "schema": {"type": "string", "enum": ["true"]},
        }
    }
    order_links = {
        "order": ("GET /api/orders/{order_id}", {"order_id": "$response.body#/order/id"}),
        "cancel": ("POST /api/orders/{order_id}/cancel", {"order_id": "$response.body#/order/id"}),
    }
    checkout_errors = (403, 404, 409)  # 403 banned: bought from a show one is banned from
    order_id = {"type": "string", "pattern": "^ord_[0-9a-f]{1,36}$"}
    document(
        app,
        {
            "/api/cart": {
                "GET": op(
                    "My cart with prices and totals", tag="commerce", auth=True, errors=(401,)
                ),
                "DELETE": op("Empty my cart", tag="commerce", auth=True, errors=(401,)),
            },
            "/api/cart/items": {
                "POST": op(
                    "Add a product to my cart (from a pinned card, the line-up, a clip or a post)",
                    tag="commerce",
                    auth=True,
                    body=CartAdd,
                    ok=201,
                    errors=(404,),
                )
            },
            "/api/cart/items/{product_id}": {
                "PUT": op(
                    "Set a cart line's quantity",
                    tag="commerce",
                    auth=True,
                    body=CartQuantity,
                    errors=(404,),
                ),
                "DELETE": op("Remove a cart line", tag="commerce", auth=True, errors=(401, 404)),
            },
            "/api/checkout": {
                "POST": op(
                    "Turn my cart into an order (stock reserved atomically; Idempotency-Key)",
                    tag="commerce",
                    auth=True,
                    body=CartCheckout,
                    body_required=False,
                    ok=201,
                    response=OrderEnvelope,
                    ok_headers=replayed,
                    errors=checkout_errors,
                    params=[idem],
                    links=order_links,
                )
            },
            "/api/checkout/buy-now": {
                "POST": op(
                    "One-tap buy of one product with my saved address and payment method; "
                    "409 sold_out / limit_reached",
                    tag="commerce",
                    auth=True,
                    body=BuyNow,
                    ok=201,
                    response=OrderEnvelope,
                    ok_headers=replayed,
                    errors=checkout_errors,
                    params=[idem],
                    links=order_links,
                )
            },
            "/api/orders": {
                "GET": op(
                    "My orders, newest first",
                    tag="commerce",
                    auth=True,
                    response=OrderPage,
                    params=[query_param("limit", "1-200 (clamped)", "integer")],
                )
            },
            "/api/orders/{order_id}": {
                "GET": op(
                    "One of my orders",
                    tag="commerce",
                    auth=True,
                    response=OrderEnvelope,
                    errors=(404,),
                )
            },
            "/api/orders/{order_id}/cancel": {
                "POST": op(
                    "Cancel my order: while unpaid, or within the merchant's window before it "
                    "ships (a card payment is given back; units go back to stock)",
                    tag="commerce",
                    auth=True,
                    response=OrderEnvelope,
                    errors=(404, 409, 503),
                )
            },
            "/api/me/checkout-profile": {
                "GET": op(
                    "My saved address and payment method, and the methods available",
                    tag="commerce",
                    auth=True,
                    errors=(401,),
                ),
                "PUT": op(
                    "Save address, payment method and the social-proof opt-in (no card data)",
                    tag="commerce",
                    auth=True,
                    body=CheckoutProfile,
                ),
            },
            "/api/sessions/{session_id}/flash-sales": {
                "GET": op("A session's flash sales", tag="commerce", errors=(404,)),
                "POST": op(
                    "Start a flash sale on a line-up product (its merchant or an admin; 10-300 s; "
                    "a price floor and a default per-buyer cap apply)",
                    tag="commerce",
                    auth=True,
                    body=FlashSaleStart,
                    ok=201,
                    errors=(403, 404, 409),
                ),
            },
            "/api/flash-sales/{sale_id}/end": {
                "POST": op(
                    "End a flash sale now (host or moderator)",
                    tag="commerce",
                    auth=True,
                    errors=(401, 403, 404),
                )
            },
            "/api/sessions/{session_id}/commerce": {
                "GET": op(
                    "Live commerce state: sales, units left per line-up product, recent orders",
                    tag="commerce",
                    errors=(404,),
                )
            },
        },
        path_params={"order_id": order_id},
    )

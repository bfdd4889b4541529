"""Checkout over real HTTP: one-tap buy, idempotency, caps, cart, attribution, ledger."""

from __future__ import annotations

from typing import Any

import pytest

from live_server.settings import Settings
from support.commerce import (
    ADDRESS,
    buy,
    key,
    make_buyer,
    make_product,
    make_show,
    stock_of,
    units_in_orders,
)
from support.helpers import auth


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    return Settings.load(
        {"data_dir": tmp_path / "var", "secret": "test-secret", "default_commission_rate": 0.1},
        env={},
    )


async def test_one_tap_buy_from_live_records_attribution(
    client: Any, make_user: Any, services: Any
) -> None:
    show = await make_show(client, make_user, stocks=[5])
    pid = show.product_ids[0]
    _, token = await make_buyer(client, make_user)
    status, body = await buy(client, token, pid, quantity=2, session_id=show.session_id)
    assert status == 201, body
    order = body["order"]
    assert order["status"] == "confirmed"
    assert order["total_minor"] == 5000 and order["currency"] == "USD"
    assert order["items"] == [
        {
            "product_id": pid,
            "title": order["items"][0]["title"],
            "quantity": 2,
            "unit_price_minor": 2500,
            "currency": "USD",
            "flash_sale_id": None,
        }
    ]
    assert order["source"] == {"type": "live", "id": show.session_id}
    assert order["creator_id"] == show.host_id
    assert order["session_id"] == show.session_id
    assert isinstance(order["media_time"], float) and order["media_time"] >= 0
    assert order["payment"]["provider"] == "offline" and order["payment"]["instructions"]
    assert order["shipping_address"]["name"] == ADDRESS["name"]
    assert await stock_of(services, pid) == 3
    row = await services.db.fetchone(
        "SELECT commission_rate_bp, commission_minor FROM orders WHERE id = ?", (order["id"],)
    )
    assert (row["commission_rate_bp"], row["commission_minor"]) == (1000, 500)

    resp = await client.get("/api/orders", headers=auth(token))
    assert resp.status == 200
    assert [o["id"] for o in (await resp.json())["items"]] == [order["id"]]
    resp = await client.get(f"/api/orders/{order['id']}", headers=auth(token))
    assert (await resp.json())["order"]["total_minor"] == 5000


async def test_idempotent_retries_make_one_order(
    client: Any, make_user: Any, services: Any
) -> None:
    show = await make_show(client, make_user, stocks=[5])
    pid = show.product_ids[0]
    _, token = await make_buyer(client, make_user)
    idem = key()
    first_status, first = await buy(client, token, pid, idem=idem)
    again_status, again = await buy(client, token, pid, idem=idem)
    assert (first_status, again_status) == (201, 201)
    assert again["order"]["id"] == first["order"]["id"]
    assert await stock_of(services, pid) == 4
    assert await units_in_orders(services, pid) == 1
    # the same key for a different request is refused, not silently replayed
    status, body = await buy(client, token, pid, quantity=2, idem=idem)
    assert status == 422 and body["error"]["code"] == "idempotency_key_reused"
    # another buyer may use the same key string: keys are per buyer
    _, other = await make_buyer(client, make_user)
    status, body = await buy(client, other, pid, idem=idem)
    assert status == 201 and body["order"]["id"] != first["order"]["id"]


async def test_missing_or_bad_input_is_rejected_cleanly(client: Any, make_user: Any) -> None:
    show = await make_show(client, make_user, stocks=[5])
    pid = show.product_ids[0]
    _, token = await make_buyer(client, make_user)
    resp = await client.post("/api/checkout/buy-now", json={"product_id": pid}, headers=auth(token))
    assert resp.status == 422
    assert (await resp.json())["error"]["code"] == "invalid_idempotency_key"
    for bad in (
        {"product_id": "x"},
        {"product_id": pid, "quantity": 0},
        {"product_id": pid, "quantity": 1000},
        {"product_id": pid, "quantity": True},
        {"product_id": pid, "source": {"type": "tv", "id": 1}},
        {"product_id": pid, "source": {"type": "live", "id": 99999}},
    ):
        resp = await client.post(
            "/api/checkout/buy-now", json=bad, headers={**auth(token), "Idempotency-Key": key()}
        )
        assert resp.status == 422, bad
        assert set((await resp.json())["error"]) <= {"code", "message", "field"}
    resp = await client.post(
        "/api/checkout/buy-now",
        data=b"{not json",
        headers={**auth(token), "Idempotency-Key": key(), "Content-Type": "application/json"},
    )
    assert resp.status == 400
    status, body = await buy(client, token, 999_999)
    assert status == 404 and body["error"]["code"] == "product_not_found"
    resp = await client.post("/api/checkout/buy-now", json={"product_id": pid})
    assert resp.status == 401
    # a user without a saved profile must give address and method
    _, bare = await make_user()
    status, body = await buy(client, bare, pid)
    assert status == 422 and body["error"]["code"] == "checkout_profile_required"
    resp = await client.post(
        "/api/checkout/buy-now",
        json={"product_id": pid, "address": ADDRESS, "payment_method": "invoice"},
        headers={**auth(bare), "Idempotency-Key": key()},
    )
    assert resp.status == 201
    assert (await resp.json())["order"]["payment"]["method"] == "invoice"
    resp = await client.put(
        "/api/me/checkout-profile",
        json={"address": {**ADDRESS, "country": "USA"}, "payment_method": "cod"},
        headers=auth(bare),
    )
    assert resp.status == 422
    resp = await client.put(
        "/api/me/checkout-profile",
        json={"address": ADDRESS, "payment_method": "visa-4242"},
        headers=auth(bare),
    )
    assert resp.status == 422


async def test_per_buyer_limit(client: Any, make_user: Any, services: Any) -> None:
    show = await make_show(client, make_user, stocks=[10], per_buyer_limit=2)
    pid = show.product_ids[0]
    _, token = await make_buyer(client, make_user)
    assert (await buy(client, token, pid))[0] == 201
    status, body = await buy(client, token, pid, quantity=2)
    assert status == 409 and body["error"]["code"] == "limit_reached"
    assert (await buy(client, token, pid))[0] == 201
    status, body = await buy(client, token, pid)
    assert status == 409 and body["error"]["code"] == "limit_reached"
    assert await stock_of(services, pid) == 8
    # cancelling gives the units (and the allowance) back
    resp = await client.get("/api/orders", headers=auth(token))
    order_id = (await resp.json())["items"][0]["id"]
    resp = await client.post(f"/api/orders/{order_id}/cancel", headers=auth(token))
    assert resp.status == 200 and (await resp.json())["order"]["status"] == "cancelled"
    assert await stock_of(services, pid) == 9
    assert (await buy(client, token, pid))[0] == 201
    resp = await client.post(f"/api/orders/{order_id}/cancel", headers=auth(token))
    assert resp.status == 409


async def test_cart_checkout(client: Any, make_user: Any, services: Any) -> None:
    show = await make_show(client, make_user, stocks=[3, 4])
    a, b = show.product_ids
    _, token = await make_buyer(client, make_user)
    source = {"type": "live", "id": show.session_id}
    for pid, qty in ((a, 1), (b, 2), (a, 1)):
        resp = await client.post(
            "/api/cart/items",
            json={"product_id": pid, "quantity": qty, "source": source},
            headers=auth(token),
        )
        assert resp.status == 201, await resp.text()
    cart = await (await client.get("/api/cart", headers=auth(token))).json()
    assert {(i["product_id"], i["quantity"]) for i in cart["items"]} == {(a, 2), (b, 2)}
    assert cart["totals"] == [{"currency": "USD", "total_minor": 4 * 2500}]
    resp = await client.put(f"/api/cart/items/{b}", json={"quantity": 1}, headers=auth(token))
    assert resp.status == 200 and (await resp.json())["count"] == 3
    resp = await client.post("/api/cart/items", json={"product_id": 987654}, headers=auth(token))
    assert resp.status == 404
    idem = key()
    resp = await client.post(
        "/api/checkout", json={}, headers={**auth(token), "Idempotency-Key": idem}
    )
    assert resp.status == 201, await resp.text()
    order = (await resp.json())["order"]
    assert order["total_minor"] == 3 * 2500 and order["creator_id"] == show.host_id
    assert (await stock_of(services, a), await stock_of(services, b)) == (1, 3)
    cart = await (await client.get("/api/cart", headers=auth(token))).json()
    assert cart["items"] == []
    # a retry after the cart was emptied still answers with the same order
    resp = await client.post(
        "/api/checkout", json={}, headers={**auth(token), "Idempotency-Key": idem}
    )
    assert resp.status == 201 and (await resp.json())["order"]["id"] == order["id"]
    assert resp.headers.get("Idempotent-Replayed") == "true"
    resp = await client.post(
        "/api/checkout", json={}, headers={**auth(token), "Idempotency-Key": key()}
    )
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "cart_empty"
    # all-or-nothing: a line without stock leaves every product untouched
    await client.post("/api/cart/items", json={"product_id": a, "quantity": 1}, headers=auth(token))
    await client.post("/api/cart/items", json={"product_id": b, "quantity": 9}, headers=auth(token))
    resp = await client.post(
        "/api/checkout", json={}, headers={**auth(token), "Idempotency-Key": key()}
    )
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "sold_out"
    assert (await stock_of(services, a), await stock_of(services, b)) == (1, 3)
    resp = await client.delete(f"/api/cart/items/{b}", headers=auth(token))
    assert resp.status == 200 and len((await resp.json())["items"]) == 1
    resp = await client.delete("/api/cart", headers=auth(token))
    assert (await resp.json())["items"] == []


async def test_orders_are_private(client: Any, make_user: Any) -> None:
    show = await make_show(client, make_user, stocks=[3])
    _, alice = await make_buyer(client, make_user)
    _, bob = await make_buyer(client, make_user)
    _, body = await buy(client, alice, show.product_ids[0])
    order_id = body["order"]["id"]
    resp = await client.get(f"/api/orders/{order_id}", headers=auth(bob))
    assert resp.status == 404
    resp = await client.post(f"/api/orders/{order_id}/cancel", headers=auth(bob))
    assert resp.status == 404
    assert (await (await client.get("/api/orders", headers=auth(bob))).json())["items"] == []
    resp = await client.get("/api/orders/not-an-order", headers=auth(bob))
    assert resp.status == 404


async def test_ledger_and_commission(client: Any, make_user: Any) -> None:
    show = await make_show(client, make_user, stocks=[10], price=1999)
    _, buyer = await make_buyer(client, make_user)
    for _ in range(3):
        assert (await buy(client, buyer, show.product_ids[0], session_id=show.session_id))[0] == 201
    assert (await buy(client, buyer, show.product_ids[0]))[0] == 201  # direct: no creator
    resp = await client.get(f"/api/creators/{show.host_id}/ledger", headers=auth(show.host_token))
    assert resp.status == 200
    ledger = await resp.json()
    assert ledger["rate_bp"] == 1000
    assert ledger["totals"] == [
        {
            "currency": "USD",
            "orders": 3,
            "gross_minor": 3 * 1999,
            "commission_minor": 3 * 200,
            "pending_orders": 0,
            "pending_gross_minor": 0,
            "pending_commission_minor": 0,
        }
    ]
    assert [e["source"]["type"] for e in ledger["entries"]] == ["live"] * 3
    resp = await client.get(f"/api/creators/{show.host_id}/ledger", headers=auth(buyer))
    assert resp.status == 403
    _, admin_token = await make_user(role="admin")
    resp = await client.put(
        f"/api/creators/{show.host_id}/commission", json={"rate_bp": 2500}, headers=auth(buyer)
    )
    assert resp.status == 403
    resp = await client.put(
        f"/api/creators/{show.host_id}/commission",
        json={"rate_bp": 20000},
        headers=auth(admin_token),
    )
    assert resp.status == 422
    resp = await client.put(
        f"/api/creators/{show.host_id}/commission",
        json={"rate_bp": 2500},
        headers=auth(admin_token),
    )
    assert resp.status == 200
    assert (await buy(client, buyer, show.product_ids[0], session_id=show.session_id))[0] == 201
    resp = await client.get(f"/api/creators/{show.host_id}/ledger", headers=auth(admin_token))
    ledger = await resp.json()
    assert ledger["rate_bp"] == 2500
    assert ledger["totals"][0]["commission_minor"] == 3 * 200 + 500  # 19.99 * 25 % = 5.00
    assert ledger["entries"][0]["commission_rate_bp"] == 2500
    # refunds come off the creator's sales and commission: the 25 % order in full, $10.00
    # of a 10 % one (its $2.00 commission becomes 2.00 x 9.99 / 19.99 = $0.99)
    latest, earlier = ledger["entries"][0]["order_id"], ledger["entries"][1]["order_id"]
    for order_id, body in ((latest, {}), (earlier, {"amount_minor": 1_000})):
        resp = await client.post(
            f"/api/orders/{order_id}/refund", json=body, headers=auth(show.host_token)
        )
        assert resp.status == 200, await resp.text()
    resp = await client.get(f"/api/creators/{show.host_id}/ledger", headers=auth(admin_token))
    ledger = await resp.json()
    totals = ledger["totals"][0]
    assert (totals["gross_minor"], totals["commission_minor"]) == (3 * 1999 - 1_000, 400 + 99)
    assert [e["commission_minor"] for e in ledger["entries"][:2]] == [0, 99]


async def test_clip_and_post_sources_are_attributed_to_their_creators(
    client: Any, make_user: Any, services: Any
) -> None:
    show = await make_show(client, make_user, stocks=[5], price=1000)
    author, _ = await make_user(role="host")
    # a clip cut from the show (its host earns) and a post by another creator
    await services.db.execute(
        "INSERT INTO clips (id, session_id, host_id, source, start_s, end_s, duration_s,"
        " video_url, poster_url, width, height, created_at)"
        " VALUES (9001, ?, ?, 'demo', 0, 10, 10, '/v.mp4', '/p.jpg', 640, 480, 0)",
        (show.session_id, show.host_id),
    )
    await services.db.execute(
        "INSERT INTO posts (id, author_id, created_at) VALUES (9002, ?, 0)", (author["id"],)
    )
    # each tags the product (a source that did not show it earns nothing: hardening tests)
    await services.db.execute(
        "INSERT INTO clip_products (clip_id, product_id, position) VALUES (9001, ?, 0)",
        (show.product_ids[0],),
    )
    await services.db.execute(
        "INSERT INTO post_products (post_id, product_id, position) VALUES (9002, ?, 0)",
        (show.product_ids[0],),
    )
    _, buyer = await make_buyer(client, make_user)
    expected = {
        ("clip", 9001): ({"type": "clip", "id": 9001}, show.host_id),
        ("post", 9002): ({"type": "post", "id": 9002}, author["id"]),
    }
    for (kind, source_id), (recorded, creator) in expected.items():
        resp = await client.post(
            "/api/checkout/buy-now",
            json={"product_id": show.product_ids[0], "source": {"type": kind, "id": source_id}},
            headers={**auth(buyer), "Idempotency-Key": key()},
        )
        assert resp.status == 201, await resp.text()
        order = (await resp.json())["order"]
        assert order["source"] == recorded
        assert order["creator_id"] == creator
        assert order["session_id"] is None and order["media_time"] is None
    # no such post: refused, never credited (tests/integration/test_attribution_sources.py)
    resp = await client.post(
        "/api/checkout/buy-now",
        json={"product_id": show.product_ids[0], "source": {"type": "post", "id": 424242}},
        headers={**auth(buyer), "Idempotency-Key": key()},
    )
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "invalid_source"
    resp = await client.get(f"/api/creators/{author['id']}/ledger", headers=auth(buyer))
    assert resp.status == 403
    _, admin = await make_user(role="admin")
    ledger = await (
        await client.get(f"/api/creators/{author['id']}/ledger", headers=auth(admin))
    ).json()
    assert ledger["by_source"] == [
        {
            "source_type": "post",
            "currency": "USD",
            "orders": 1,
            "gross_minor": 1000,
            "commission_minor": 100,
        }
    ]


async def test_price_currency_and_deleted_products(
    client: Any, make_user: Any, services: Any
) -> None:
    _, token = await make_user(role="host")
    usd = await make_product(client, token, stock=5)
    eur = await make_product(client, token, stock=5, currency="EUR")
    _, buyer = await make_buyer(client, make_user)
    for pid in (usd, eur):
        await client.post("/api/cart/items", json={"product_id": pid}, headers=auth(buyer))
    resp = await client.post(
        "/api/checkout", json={}, headers={**auth(buyer), "Idempotency-Key": key()}
    )
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "mixed_currency"
    resp = await client.delete(f"/api/products/{usd}", headers=auth(token))
    assert resp.status in (200, 204)
    status, body = await buy(client, buyer, usd)
    assert status == 404 and body["error"]["code"] == "product_not_found"
    assert await stock_of(services, usd) == 5


async def test_routes_are_documented(client: Any) -> None:
    doc = await (await client.get("/api/openapi.json")).json()
    for path in (
        "/api/checkout/buy-now",
        "/api/checkout",
        "/api/cart/items/{product_id}",
        "/api/orders",
        "/api/me/checkout-profile",
        "/api/payments/webhook/{provider}",
        "/api/sessions/{session_id}/flash-sales",
        "/api/sessions/{session_id}/analytics.csv",
        "/api/creators/{creator_id}/ledger",
    ):
        assert path in doc["paths"], path

"""Fulfilment over the API with pay-on-delivery orders (no card provider): the seller's
orders and packing list, shipping (the buyer sees the tracking number), refunds recorded by
the merchant with or without restocking, the buyer's cancel window, and the shipped and
refund emails as a real SMTP server (aiosmtpd, started by the test) receives them."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from test_order_emails import Inbox, serve_smtp, set_email, text_of

from live_server.settings import Settings
from support.commerce import buy, make_buyer, make_show, stock_of
from support.helpers import auth, wait_for


class Mailbox(Inbox):
    """The inbox and the port its SMTP server listens on."""

    port = 0


@pytest.fixture
async def smtp() -> AsyncIterator[Mailbox]:
    inbox = Mailbox()
    server = await serve_smtp(inbox)
    inbox.port = int(server.sockets[0].getsockname()[1])
    yield inbox
    server.close()
    await server.wait_closed()


@pytest.fixture
def settings(tmp_path: Any, smtp: Mailbox) -> Settings:
    return Settings.load(
        {
            "data_dir": tmp_path / "var",
            "secret": "test-secret",
            "signup_burst": 10_000,
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "public_url": "https://shop.test",
        },
        env={},
    )


async def post(client: Any, url: str, token: str, body: Any = None) -> tuple[int, Any]:
    resp = await client.post(url, json=body if body is not None else {}, headers=auth(token))
    return resp.status, await resp.json()


async def my_order(client: Any, token: str, order_id: str) -> dict[str, Any]:
    resp = await client.get("/api/orders", headers=auth(token))
    (found,) = [o for o in (await resp.json())["items"] if o["id"] == order_id]
    return found


async def test_the_seller_ships_and_the_buyer_sees_the_tracking_number(
    client: Any, make_user: Any, smtp: Inbox
) -> None:
    show = await make_show(client, make_user, stocks=[5], price=1_800, title="Mug")
    _, token = await make_buyer(client, make_user)
    await set_email(client, token, "ana@example.com")
    _, body = await buy(client, token, show.product_ids[0], quantity=2, session_id=show.session_id)
    order = body["order"]
    assert order["status"] == "confirmed" and order["shipment"] is None
    ship = f"/api/orders/{order['id']}/ship"
    # the buyer, or another host, may not ship it
    _, other_host = await make_user(role="host")
    for who in (token, other_host):
        status, body = await post(client, ship, who, {"carrier": "UPS", "tracking": "1Z999"})
        assert status == 403 and body["error"]["code"] == "not_seller"
    # the seller's page lists it to ship, with the buyer's name and address
    resp = await client.get("/api/seller/orders?status=to_ship", headers=auth(show.host_token))
    (listed,) = (await resp.json())["items"]
    assert listed["id"] == order["id"] and listed["stage"] == "to_ship"
    assert listed["shipping_address"]["name"] == "Ana Lopez"
    # a tracking number must look like one
    status, body = await post(client, ship, show.host_token, {"carrier": "UPS", "tracking": "<b>"})
    assert status == 422 and body["error"]["field"] == "tracking"
    status, body = await post(
        client, ship, show.host_token, {"carrier": " UPS ", "tracking": "1Z999AA10123456784"}
    )
    assert status == 200, body
    assert body["order"]["stage"] == "shipped"
    mine = await my_order(client, token, order["id"])
    assert mine["shipment"]["carrier"] == "UPS"
    assert mine["shipment"]["tracking_number"] == "1Z999AA10123456784"
    # shipped once; the buyer can no longer cancel it
    status, body = await post(client, ship, show.host_token, {"carrier": "UPS", "tracking": "2"})
    assert status == 409 and body["error"]["message"] == "This order was already marked shipped."
    status, body = await post(client, f"/api/orders/{order['id']}/cancel", token)
    assert status == 409 and "has shipped" in body["error"]["message"]
    resp = await client.get("/api/seller/orders?status=shipped", headers=auth(show.host_token))
    assert [o["id"] for o in (await resp.json())["items"]] == [order["id"]]
    # the buyer's email says how it travels
    await wait_for(
        lambda: any(m["Subject"].endswith("has shipped") for m in smtp.to("ana@example.com")),
        timeout=10,
        message="the shipped email",
    )
    (shipped,) = [m for m in smtp.to("ana@example.com") if m["Subject"].endswith("has shipped")]
    text = text_of(shipped)
    assert "Carrier: UPS" in text and "Tracking number: 1Z999AA10123456784" in text
    assert "2 × Mug · $36.00" in text


async def test_a_cancelled_order_cannot_ship_and_the_cancel_window_closes(
    app: Any, client: Any, make_user: Any, services: Any
) -> None:
    show = await make_show(client, make_user, stocks=[3])
    _, token = await make_buyer(client, make_user)
    _, body = await buy(client, token, show.product_ids[0])
    order_id = body["order"]["id"]
    status, body = await post(client, f"/api/orders/{order_id}/cancel", token)
    assert status == 200 and body["order"]["status"] == "cancelled"
    assert await stock_of(services, show.product_ids[0]) == 3
    status, body = await post(
        client,
        f"/api/orders/{order_id}/ship",
        show.host_token,
        {"carrier": "DHL", "tracking": "X1"},
    )
    assert status == 409
    assert body["error"]["message"] == "This order was cancelled, so it can't be shipped."
    resp = await client.get("/api/seller/orders?status=cancelled", headers=auth(show.host_token))
    assert [o["id"] for o in (await resp.json())["items"]] == [order_id]
    # past the merchant's window (30 minutes by default) the buyer is told to ask for a refund
    _, body = await buy(client, token, show.product_ids[0])
    late = body["order"]["id"]
    fresh = await my_order(client, token, late)
    assert fresh["cancellable"] is True
    until = datetime.fromisoformat(fresh["cancel_until"].replace("Z", "+00:00"))
    placed = datetime.fromisoformat(fresh["created_at"].replace("Z", "+00:00"))
    assert abs((until - placed).total_seconds() - 30 * 60) <= 1  # ISO times are to the second
    await services.db.execute(
        "UPDATE orders SET created_at = created_at - 31 * 60 WHERE id = ?", (late,)
    )
    stale = await my_order(client, token, late)
    assert stale["cancellable"] is False and stale["cancel_until"] is None
    status, body = await post(client, f"/api/orders/{late}/cancel", token)
    assert status == 409 and body["error"]["message"].startswith(
        "Orders can be cancelled within 30 minutes of buying"
    )
    assert await stock_of(services, show.product_ids[0]) == 2


async def test_refunds_restock_only_when_asked_and_never_above_what_was_paid(
    client: Any, make_user: Any, services: Any, smtp: Inbox
) -> None:
    show = await make_show(client, make_user, stocks=[10], price=2_000)
    pid = show.product_ids[0]
    _, token = await make_buyer(client, make_user)
    await set_email(client, token, "ana@example.com")
    _, body = await buy(client, token, pid, quantity=3, session_id=show.session_id)
    kept = body["order"]["id"]
    _, body = await buy(client, token, pid, quantity=2, session_id=show.session_id)
    back = body["order"]["id"]
    assert await stock_of(services, pid) == 5
    refund = f"/api/orders/{kept}/refund"
    # only the seller refunds
    status, _ = await post(client, refund, token, {"amount_minor": 100})
    assert status == 403
    # a partial refund without restocking: the stock does not move
    status, body = await post(client, refund, show.host_token, {"amount_minor": 1_500})
    assert status == 200, body
    assert body["order"]["refunded_minor"] == 1_500
    assert body["order"]["payment"]["status"] == "partially_refunded"
    assert await stock_of(services, pid) == 5
    # more than what is left is refused in words, naming the amount
    status, body = await post(client, refund, show.host_token, {"amount_minor": 4_501})
    assert status == 422 and body["error"]["field"] == "amount_minor"
    assert body["error"]["message"] == "You can refund at most $45.00 on this order."
    # the rest, still not restocked
    status, body = await post(client, refund, show.host_token, {})
    assert status == 200 and body["order"]["refunded_minor"] == 6_000
    assert body["order"]["stage"] == "refunded" and body["order"]["refundable_minor"] == 0
    assert [r["amount_minor"] for r in body["order"]["refunds"]] == [1_500, 4_500]
    assert await stock_of(services, pid) == 5
    status, body = await post(client, refund, show.host_token, {"amount_minor": 1})
    assert status == 409 and body["error"]["message"] == "This order is already refunded in full."
    # the other order, refunded with restocking: exactly its 2 units come back, once
    status, body = await post(
        client, f"/api/orders/{back}/refund", show.host_token, {"restock": True}
    )
    assert status == 200 and body["order"]["refunds"][0]["restocked"] is True
    assert await stock_of(services, pid) == 7
    resp = await client.get("/api/seller/orders?status=refunded", headers=auth(show.host_token))
    assert {o["id"] for o in (await resp.json())["items"]} == {kept, back}
    mine = await my_order(client, token, kept)
    assert mine["refunded_minor"] == 6_000
    # the show's revenue in the host's analytics is what was kept: both orders went back
    resp = await client.get(
        f"/api/sessions/{show.session_id}/analytics", headers=auth(show.host_token)
    )
    summary = (await resp.json())["summary"]
    assert (summary["orders"], summary["revenue_minor"]) == (2, 0), summary
    # every refund is an email with its amount
    await wait_for(
        lambda: len([m for m in smtp.to("ana@example.com") if "Refund" in m["Subject"]]) == 3,
        timeout=10,
        message="three refund emails",
    )
    texts = [text_of(m) for m in smtp.to("ana@example.com") if "Refund" in m["Subject"]]
    assert any(
        "we refunded $15.00" in t and "Refunded so far: $15.00 of $60.00." in t for t in texts
    )
    assert any("we refunded $45.00" in t and "refunded in full" in t for t in texts)


async def test_the_packing_list_is_a_csv_with_one_row_per_item_and_iso_dates(
    client: Any, make_user: Any
) -> None:
    _, host_token = await make_user(role="host")
    show = await make_show(client, make_user, stocks=[4, 4])
    _, token = await make_buyer(client, make_user)
    for pid in show.product_ids:
        resp = await client.post(
            "/api/cart/items", json={"product_id": pid, "quantity": 2}, headers=auth(token)
        )
        assert resp.status == 201
    resp = await client.post(
        "/api/checkout", json={}, headers={**auth(token), "Idempotency-Key": "pack-1"}
    )
    assert resp.status == 201, await resp.text()
    order_id = (await resp.json())["order"]["id"]
    resp = await client.get("/api/seller/orders?format=csv", headers=auth(show.host_token))
    assert resp.status == 200 and resp.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert [r["order_id"] for r in rows] == [order_id, order_id]
    assert {int(r["product_id"]) for r in rows} == set(show.product_ids)
    assert all(r["quantity"] == "2" and r["buyer_name"] == "Ana Lopez" for r in rows)
    assert all(r["stage"] == "to_ship" and r["country"] == "US" for r in rows)
    created = datetime.fromisoformat(rows[0]["created_at"].replace("Z", "+00:00"))
    assert created.tzinfo is not None
    # someone selling nothing gets an empty list; an unknown filter is refused in words
    resp = await client.get("/api/seller/orders?format=csv", headers=auth(host_token))
    assert (await resp.text()).count("\n") == 1
    resp = await client.get("/api/seller/orders?status=lost", headers=auth(show.host_token))
    assert resp.status == 422
    assert (await resp.json())["error"]["message"].startswith("Choose orders to ship")


async def test_refunds_at_once_never_give_back_more_than_was_paid(
    client: Any, make_user: Any, services: Any
) -> None:
    show = await make_show(client, make_user, stocks=[2], price=1_000)
    _, token = await make_buyer(client, make_user)
    _, body = await buy(client, token, show.product_ids[0])
    refund = f"/api/orders/{body['order']['id']}/refund"
    # ten refunds of $3 at once on a $10 order: three fit, the others are refused
    answers = await asyncio.gather(
        *[post(client, refund, show.host_token, {"amount_minor": 300}) for _ in range(10)]
    )
    statuses = [status for status, _ in answers]
    assert statuses.count(200) == 3, answers
    # refused: as "refunded meanwhile" (409) when it raced, or "at most $1.00" (422) when
    # it came after the others
    assert set(statuses) - {200} <= {409, 422}
    row = await services.db.fetchone(
        "SELECT refunded_minor, (SELECT SUM(amount_minor) FROM order_refunds WHERE order_id = ?)"
        " AS given FROM orders WHERE id = ?",
        (body["order"]["id"], body["order"]["id"]),
    )
    assert (row["refunded_minor"], row["given"]) == (900, 900)

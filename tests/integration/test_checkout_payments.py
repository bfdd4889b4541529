"""Asynchronous payments: holds that expire, signed webhooks, and a fake card provider.

`FakeCardProvider` exists only here: it behaves like a card processor (orders wait for a
webhook, holding their units) behind the same PaymentProvider interface as the built-in
offline provider, and never sees card data.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

import pytest

from live_server.commerce.payments.service import (
    SIGNATURE_HEADER,
    PaymentEvent,
    PaymentStart,
    parse_standard_event,
    sign_webhook,
)
from live_server.settings import Settings
from support.commerce import buy, make_buyer, make_show, stock_of, units_in_orders
from support.helpers import auth, wait_for

SECRET = "whsec-test-secret"


class FakeCardProvider:
    """Leaves orders pending; a webhook confirms or fails them later."""

    name = "fakecard"
    methods: tuple[str, ...] = ("fakecard",)
    confirms_immediately = False

    def __init__(self) -> None:
        self.started: list[str] = []

    async def begin(self, order: dict[str, Any]) -> PaymentStart:
        self.started.append(order["id"])
        return PaymentStart("pi_" + order["id"][-8:], "Complete the payment in the card form.")

    def parse_event(self, payload: dict[str, Any]) -> PaymentEvent:
        return parse_standard_event(payload)


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    return Settings.load(
        {
            "data_dir": tmp_path / "var",
            "secret": "test-secret",
            "webhook_secret": SECRET,
            "reservation_hold_s": 1,
        },
        env={},
    )


@pytest.fixture
def fake_card(services: Any) -> FakeCardProvider:
    provider = FakeCardProvider()
    services.payments.register(provider)
    return provider


async def post_webhook(
    client: Any,
    body: dict[str, Any],
    *,
    secret: str = SECRET,
    ts: int | None = None,
    header: str | None = None,
    provider: str = "fakecard",
) -> Any:
    raw = json.dumps(body).encode()
    sig = header if header is not None else sign_webhook(secret, raw, ts or int(time.time()))
    headers = {"Content-Type": "application/json"}
    if sig:
        headers[SIGNATURE_HEADER] = sig
    return await client.post(f"/api/payments/webhook/{provider}", data=raw, headers=headers)


def event(order_id: str, kind: str = "payment.succeeded") -> dict[str, Any]:
    return {"id": "evt_" + uuid.uuid4().hex, "type": kind, "order_id": order_id}


async def test_unpaid_hold_expires_and_returns_stock(
    client: Any, make_user: Any, services: Any, fake_card: FakeCardProvider
) -> None:
    show = await make_show(client, make_user, stocks=[3])
    pid = show.product_ids[0]
    _, token = await make_buyer(client, make_user, method="fakecard")
    status, body = await buy(client, token, pid, quantity=2)
    assert status == 201
    order = body["order"]
    assert order["status"] == "pending_payment" and order["hold_expires_at"]
    assert order["payment"]["reference"].startswith("pi_")
    assert fake_card.started == [order["id"]]
    assert await stock_of(services, pid) == 1
    # nobody pays: the sweeper gives the units back after the hold time (1 s here)

    async def expired() -> bool:
        resp = await client.get(f"/api/orders/{order['id']}", headers=auth(token))
        return bool((await resp.json())["order"]["status"] == "expired")

    await wait_for(expired, timeout=10, message="order to expire")
    assert await stock_of(services, pid) == 3
    assert await units_in_orders(services, pid) == 0
    # a late success changes nothing (the operator refunds), and is still answered 200
    resp = await post_webhook(client, event(order["id"]))
    assert resp.status == 200 and (await resp.json())["applied"] is False
    assert await stock_of(services, pid) == 3


async def test_webhook_confirms_payment_once(
    client: Any, make_user: Any, services: Any, fake_card: FakeCardProvider
) -> None:
    show = await make_show(client, make_user, stocks=[3])
    pid = show.product_ids[0]
    _, token = await make_buyer(client, make_user, method="fakecard")
    _, body = await buy(client, token, pid)
    order_id = body["order"]["id"]
    paid = event(order_id)
    resp = await post_webhook(client, paid)
    assert resp.status == 200, await resp.text()
    assert (await resp.json()) == {"received": True, "applied": True, "status": "paid"}
    resp = await post_webhook(client, paid)  # the provider retries the same event
    assert resp.status == 200 and (await resp.json())["applied"] is False
    resp = await post_webhook(client, event(order_id, "payment.failed"))
    assert (await resp.json())["applied"] is False  # paid stays paid
    await services.checkout.sweep_expired()
    order = await (await client.get(f"/api/orders/{order_id}", headers=auth(token))).json()
    assert order["order"]["status"] == "paid" and order["order"]["hold_expires_at"] is None
    assert await stock_of(services, pid) == 2


async def test_failed_payment_returns_units(
    client: Any, make_user: Any, services: Any, fake_card: FakeCardProvider
) -> None:
    show = await make_show(client, make_user, stocks=[2])
    pid = show.product_ids[0]
    _, token = await make_buyer(client, make_user, method="fakecard")
    _, body = await buy(client, token, pid, quantity=2)
    assert await stock_of(services, pid) == 0
    resp = await post_webhook(client, event(body["order"]["id"], "payment.failed"))
    assert (await resp.json())["status"] == "cancelled"
    assert await stock_of(services, pid) == 2


async def test_bad_webhooks_are_refused_and_logged(
    client: Any,
    make_user: Any,
    services: Any,
    fake_card: FakeCardProvider,
    caplog: pytest.LogCaptureFixture,
) -> None:
    show = await make_show(client, make_user, stocks=[2])
    _, token = await make_buyer(client, make_user, method="fakecard")
    _, body = await buy(client, token, show.product_ids[0])
    evt = event(body["order"]["id"])
    caplog.set_level(logging.WARNING, logger="live_server.commerce.payments.service")
    now = int(time.time())
    cases = {
        "unsigned": await post_webhook(client, evt, header=""),
        "wrong secret": await post_webhook(client, evt, secret="guess"),
        "stale": await post_webhook(client, evt, ts=now - 3600),
        "garbage header": await post_webhook(client, evt, header="t=abc,v1=zz"),
        "tampered": await client.post(
            "/api/payments/webhook/fakecard",
            data=json.dumps({**evt, "type": "payment.succeeded", "id": "evt_other"}).encode(),
            headers={SIGNATURE_HEADER: sign_webhook(SECRET, json.dumps(evt).encode(), now)},
        ),
    }
    for name, resp in cases.items():
        assert resp.status == 401, name
        assert (await resp.json())["error"]["code"] == "bad_signature", name
    refused = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == len(cases)
    order = await (await client.get(f"/api/orders/{evt['order_id']}", headers=auth(token))).json()
    assert order["order"]["status"] == "pending_payment"
    # signed but malformed bodies are a 400, unknown providers a 404
    resp = await post_webhook(client, {"id": "evt_1", "type": "refund"})
    assert resp.status == 400
    resp = await post_webhook(client, evt, provider="nope")
    assert resp.status == 404


async def test_no_secret_means_no_webhooks(client: Any, tmp_path: Any) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from live_server.app import create_app

    app = create_app(Settings.load({"data_dir": tmp_path / "other", "secret": "x"}, env={}))
    async with TestClient(TestServer(app)) as other:
        resp = await post_webhook(other, event("ord_1"), provider="offline")
        assert resp.status == 401

"""Card payments through Stripe, end to end against a real `localstripe` server (PyPI) that
the test starts, through the official Stripe SDK: saving a card the way Stripe.js does, one-
tap purchases, a decline, 3-D Secure, manual capture, and webhooks signed in
`Stripe-Signature` (checked with the SDK) that are applied once."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from live_server.settings import Settings
from support.commerce import ADDRESS, buy, make_show, stock_of
from support.helpers import auth, wait_for
from support.localstripe_server import (
    CARD_3DS,
    CARD_DECLINED,
    CARD_OK,
    PUBLISHABLE_KEY,
    SECRET_KEY,
    WEBHOOK_SECRET,
    LocalStripe,
    running_localstripe,
    signed,
)

pytestmark = pytest.mark.slow  # localstripe sends its webhooks a second after the event


@pytest.fixture(scope="module")
def stripe_server() -> Iterator[LocalStripe]:
    with running_localstripe() as server:
        yield server


def _stripe_settings(tmp_path: Any, server: LocalStripe, **extra: Any) -> Settings:
    return Settings.load(
        {
            "data_dir": tmp_path / "var",
            "secret": "test-secret",
            "signup_burst": 10_000,
            "stripe_secret_key": SECRET_KEY,
            "stripe_publishable_key": PUBLISHABLE_KEY,
            "stripe_webhook_secret": WEBHOOK_SECRET,
            "stripe_api_base": server.url,
            "stripe_js_url": server.js_url,
            **extra,
        },
        env={},
    )


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Any, stripe_server: LocalStripe) -> Settings:
    """Stripe as the card provider; `indirect` "manual" makes cards authorise only."""
    capture = "manual" if getattr(request, "param", None) == "manual" else "automatic"
    return _stripe_settings(tmp_path, stripe_server, stripe_capture=capture)


@pytest.fixture
async def stripe(client: Any, stripe_server: LocalStripe) -> LocalStripe:
    """localstripe with its webhooks pointed at this test's server."""
    await stripe_server.webhook_to(str(client.make_url("/api/payments/webhook/stripe")))
    return stripe_server


async def card_buyer(
    client: Any, make_user: Any, stripe: LocalStripe, number: str | None = CARD_OK
) -> tuple[dict[str, Any], str]:
    """A viewer with an address, `card` as the way to pay and (unless None) a saved card,
    saved as the checkout sheet does: a SetupIntent from LiveShop, confirmed at Stripe."""
    user, token = await make_user()
    resp = await client.put(
        "/api/me/checkout-profile",
        json={"address": ADDRESS, "payment_method": "card"},
        headers=auth(token),
    )
    assert resp.status == 200, await resp.text()
    if number is not None:
        resp = await client.post("/api/me/card/setup", headers=auth(token))
        assert resp.status == 201, await resp.text()
        setup = await resp.json()
        assert setup["publishable_key"] == PUBLISHABLE_KEY and SECRET_KEY not in str(setup)
        confirmed = await stripe.confirm_card_setup(setup["client_secret"], number)
        assert confirmed["status"] == "succeeded"
        resp = await client.post(
            "/api/me/card", json={"setup_intent": setup["setup_intent"]}, headers=auth(token)
        )
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["card"]["last4"] == number[-4:]
    return user, token


async def order_of(client: Any, token: str, order_id: str) -> dict[str, Any]:
    resp = await client.get(f"/api/orders/{order_id}", headers=auth(token))
    assert resp.status == 200
    order: dict[str, Any] = (await resp.json())["order"]
    return order


async def stripe_events(services: Any, order_id: str) -> list[str]:
    rows = await services.db.fetchall(
        "SELECT event_id FROM payment_webhook_events WHERE provider = 'stripe' AND order_id = ?"
        " AND event_id LIKE 'evt_%'",
        (order_id,),
    )
    return [str(r["event_id"]) for r in rows]


def intent_event(event_id: str, kind: str, intent: str, order_id: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "data": {
            "object": {"id": intent, "object": "payment_intent", "metadata": {"order_id": order_id}}
        },
    }


async def test_a_card_purchase_is_paid_at_once_and_the_webhook_changes_nothing(
    client: Any, make_user: Any, services: Any, stripe: LocalStripe
) -> None:
    show = await make_show(client, make_user, stocks=[5], price=2_400)
    _, token = await card_buyer(client, make_user, stripe)
    status, body = await buy(client, token, show.product_ids[0], session_id=show.session_id)
    assert status == 201, body
    order = body["order"]
    assert order["status"] == "paid" and order["payment"]["status"] == "paid"
    assert order["payment"]["provider"] == "stripe"
    intent = await stripe.payment_intent(order["payment"]["reference"])
    assert intent["amount"] == 2_400 and intent["currency"] == "usd"
    assert intent["status"] == "succeeded" and intent["metadata"]["order_id"] == order["id"]
    assert await stock_of(services, show.product_ids[0]) == 4
    # Stripe's own webhook arrives (signed, verified by the SDK) and is recorded once
    events = await wait_for(
        lambda: stripe_events(services, order["id"]), timeout=15, message="the webhook"
    )
    assert len(events) == 1
    assert (await order_of(client, token, order["id"]))["status"] == "paid"
    # the saved card makes the next purchase one tap: no card form, paid at once
    status, body = await buy(client, token, show.product_ids[0], session_id=show.session_id)
    assert status == 201 and body["order"]["status"] == "paid"
    resp = await client.get("/api/me/card", headers=auth(token))
    card = (await resp.json())["card"]
    assert card["label"] == "Visa ending 4242"


async def test_a_declined_card_is_refused_in_words_and_the_stock_comes_back(
    client: Any, make_user: Any, services: Any, stripe: LocalStripe
) -> None:
    show = await make_show(client, make_user, stocks=[1])
    _, token = await card_buyer(client, make_user, stripe, CARD_DECLINED)
    status, body = await buy(client, token, show.product_ids[0], session_id=show.session_id)
    assert status == 402, body
    assert body["error"]["message"].startswith("Your card was declined.")
    assert await stock_of(services, show.product_ids[0]) == 1  # the last unit is for sale again
    resp = await client.get("/api/orders", headers=auth(token))
    assert [o["status"] for o in (await resp.json())["items"]] == ["cancelled"]
    # a buyer who chose card but saved none is told to add one; no order, no stock held
    _, other = await card_buyer(client, make_user, stripe, number=None)
    status, body = await buy(client, other, show.product_ids[0])
    assert status == 402 and body["error"]["code"] == "card_needed"
    assert body["error"]["message"] == "Add a card first: it is saved for one-tap buying."
    resp = await client.get("/api/orders", headers=auth(other))
    assert (await resp.json())["items"] == []


async def test_three_d_secure_is_finished_by_the_buyer_and_the_webhook_pays_the_order(
    client: Any, make_user: Any, services: Any, stripe: LocalStripe
) -> None:
    show = await make_show(client, make_user, stocks=[3])
    _, token = await card_buyer(client, make_user, stripe, CARD_3DS)
    status, body = await buy(client, token, show.product_ids[0], session_id=show.session_id)
    assert status == 201, body
    order = body["order"]
    assert order["status"] == "pending_payment"  # the unit is held meanwhile
    assert order["payment"]["next_action"] == "confirm_with_bank"
    secret = order["payment"]["client_secret"]
    assert secret.startswith(order["payment"]["reference"] + "_secret_")
    assert await stock_of(services, show.product_ids[0]) == 2
    # someone else's view of the order never carries the client secret
    resp = await client.get(f"/api/orders/{order['id']}", headers=auth(token))
    assert "client_secret" not in await resp.text()
    done = await stripe.authenticate(secret, success=True)
    assert done["status"] == "succeeded"

    async def paid() -> bool:
        return (await order_of(client, token, order["id"]))["status"] == "paid"

    await wait_for(paid, timeout=15, message="payment_intent.succeeded paid the order")


async def test_webhooks_are_verified_and_a_replayed_event_changes_nothing(
    client: Any,
    make_user: Any,
    services: Any,
    stripe: LocalStripe,
    caplog: pytest.LogCaptureFixture,
) -> None:
    show = await make_show(client, make_user, stocks=[2])
    _, token = await card_buyer(client, make_user, stripe, CARD_3DS)
    _, body = await buy(client, token, show.product_ids[0])
    order = body["order"]
    intent = order["payment"]["reference"]
    caplog.set_level(logging.WARNING, logger="live_server.commerce.payments.service")
    url = "/api/payments/webhook/stripe"
    event = intent_event("evt_test_success_1", "payment_intent.succeeded", intent, order["id"])
    raw, headers = signed(event)
    # a bad signature, a stale one and none at all are refused (401) and logged
    for name, hdrs in {
        "wrong secret": signed(event, secret="whsec_guess")[1],
        "stale": signed(event, ts=int(time.time()) - 3600)[1],
        "unsigned": {"Content-Type": "application/json"},
    }.items():
        resp = await client.post(url, data=raw, headers=hdrs)
        assert resp.status == 401, name
        assert (await resp.json())["error"]["code"] == "bad_signature"
    assert len([r for r in caplog.records if "refused" in r.getMessage()]) == 3
    assert (await order_of(client, token, order["id"]))["status"] == "pending_payment"
    # the genuine event pays the order; the same event again changes nothing
    resp = await client.post(url, data=raw, headers=headers)
    assert resp.status == 200 and (await resp.json())["applied"] is True
    resp = await client.post(url, data=raw, headers=headers)
    assert resp.status == 200 and (await resp.json())["applied"] is False
    # a later failure notice for a paid order changes nothing either
    failed = intent_event("evt_test_failed_1", "payment_intent.payment_failed", intent, order["id"])
    resp = await client.post(url, data=signed(failed)[0], headers=signed(failed)[1])
    assert resp.status == 200 and (await resp.json())["applied"] is False
    assert (await order_of(client, token, order["id"]))["status"] == "paid"
    assert await stock_of(services, show.product_ids[0]) == 1
    # a signed body that is not an event is a 400
    raw, headers = signed({"hello": "world"})
    resp = await client.post(url, data=raw, headers=headers)
    assert resp.status == 400
    assert SECRET_KEY not in caplog.text and WEBHOOK_SECRET not in caplog.text


@pytest.mark.parametrize("settings", ["manual"], indirect=True)
async def test_manual_capture_authorises_at_checkout_and_the_seller_takes_the_money(
    client: Any, make_user: Any, stripe: LocalStripe
) -> None:
    show = await make_show(client, make_user, stocks=[2])
    _, token = await card_buyer(client, make_user, stripe)
    status, body = await buy(client, token, show.product_ids[0], session_id=show.session_id)
    assert status == 201, body
    order = body["order"]
    assert order["status"] == "confirmed" and order["payment"]["status"] == "authorized"
    intent = await stripe.payment_intent(order["payment"]["reference"])
    assert intent["status"] == "requires_capture"
    # only the seller (or an admin) takes the money
    resp = await client.post(f"/api/orders/{order['id']}/capture", headers=auth(token))
    assert resp.status == 403
    capture = f"/api/orders/{order['id']}/capture"
    resp = await client.post(capture, headers=auth(show.host_token))
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["order"]["status"] == "paid"
    assert (await stripe.payment_intent(intent["id"]))["status"] == "succeeded"
    resp = await client.post(capture, headers=auth(show.host_token))
    assert resp.status == 409  # nothing left to take

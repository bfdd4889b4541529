"""Fulfilment with card payments, against a real `localstripe` (PyPI) started by the test:
partial then full refunds through Stripe (the refunds exist on the PaymentIntent, the order's
refunded total follows, a refund above what was paid is refused), a refund made in Stripe's
Dashboard recorded from its charge.refunded webhook, an authorised card captured when the
seller ships, and a buyer's cancel giving the money back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from live_server.settings import Settings
from support.commerce import ADDRESS, buy, make_show, stock_of
from support.helpers import auth
from support.localstripe_server import (
    CARD_OK,
    PUBLISHABLE_KEY,
    SECRET_KEY,
    WEBHOOK_SECRET,
    LocalStripe,
    running_localstripe,
    signed,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stripe_server() -> Iterator[LocalStripe]:
    with running_localstripe() as server:
        yield server


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Any, stripe_server: LocalStripe) -> Settings:
    """Stripe as the card provider; `indirect` "manual" makes cards authorise only."""
    return Settings.load(
        {
            "data_dir": tmp_path / "var",
            "secret": "test-secret",
            "signup_burst": 10_000,
            "stripe_secret_key": SECRET_KEY,
            "stripe_publishable_key": PUBLISHABLE_KEY,
            "stripe_webhook_secret": WEBHOOK_SECRET,
            "stripe_api_base": stripe_server.url,
            "stripe_capture": getattr(request, "param", None) or "automatic",
        },
        env={},
    )


async def card_buyer(client: Any, make_user: Any, stripe: LocalStripe) -> str:
    """A viewer paying by card, with a card saved the way the checkout sheet saves it."""
    _, token = await make_user()
    resp = await client.put(
        "/api/me/checkout-profile",
        json={"address": ADDRESS, "payment_method": "card"},
        headers=auth(token),
    )
    assert resp.status == 200, await resp.text()
    resp = await client.post("/api/me/card/setup", headers=auth(token))
    setup = await resp.json()
    assert (await stripe.confirm_card_setup(setup["client_secret"], CARD_OK))[
        "status"
    ] == "succeeded"
    resp = await client.post(
        "/api/me/card", json={"setup_intent": setup["setup_intent"]}, headers=auth(token)
    )
    assert resp.status == 200, await resp.text()
    return token


async def refunds_on(stripe: LocalStripe, intent: str) -> list[int]:
    """The amounts Stripe refunded on a PaymentIntent, oldest first."""
    async with aiohttp.ClientSession() as s:
        resp = await s.get(
            f"{stripe.url}/v1/refunds",
            params={"payment_intent": intent},
            headers={"Authorization": f"Bearer {SECRET_KEY}"},
        )
        assert resp.status == 200, await resp.text()
        return sorted(int(r["amount"]) for r in (await resp.json())["data"])


async def post(client: Any, url: str, token: str, body: Any = None) -> tuple[int, Any]:
    resp = await client.post(url, json=body if body is not None else {}, headers=auth(token))
    return resp.status, await resp.json()


async def test_partial_then_full_refund_through_stripe(
    client: Any, make_user: Any, services: Any, stripe_server: LocalStripe
) -> None:
    show = await make_show(client, make_user, stocks=[5], price=2_400)
    token = await card_buyer(client, make_user, stripe_server)
    status, body = await buy(client, token, show.product_ids[0], quantity=2)
    assert status == 201 and body["order"]["status"] == "paid", body
    order = body["order"]
    intent = order["payment"]["reference"]
    refund = f"/api/orders/{order['id']}/refund"
    status, body = await post(client, refund, show.host_token, {"amount_minor": 1_000})
    assert status == 200, body
    assert body["order"]["refunded_minor"] == 1_000 and body["order"]["refundable_minor"] == 3_800
    assert await refunds_on(stripe_server, intent) == [1_000]
    # above what is left: refused, and Stripe is not asked
    status, body = await post(client, refund, show.host_token, {"amount_minor": 3_801})
    assert (
        status == 422 and body["error"]["message"] == "You can refund at most $38.00 on this order."
    )
    assert await refunds_on(stripe_server, intent) == [1_000]
    status, body = await post(client, refund, show.host_token, {})
    assert status == 200, body
    assert body["order"]["refunded_minor"] == 4_800 and body["order"]["stage"] == "refunded"
    assert body["order"]["payment"]["status"] == "refunded"
    assert await refunds_on(stripe_server, intent) == [1_000, 3_800]
    assert await stock_of(services, show.product_ids[0]) == 3  # no restock asked
    status, _ = await post(client, refund, show.host_token, {"amount_minor": 1})
    assert status == 409


@pytest.mark.parametrize("settings", ["manual"], indirect=True)
async def test_an_authorised_card_is_captured_when_the_seller_ships(
    client: Any, make_user: Any, stripe_server: LocalStripe
) -> None:
    show = await make_show(client, make_user, stocks=[2])
    token = await card_buyer(client, make_user, stripe_server)
    _, body = await buy(client, token, show.product_ids[0])
    order = body["order"]
    assert order["payment"]["status"] == "authorized"
    intent = order["payment"]["reference"]
    assert (await stripe_server.payment_intent(intent))["status"] == "requires_capture"
    # nothing was taken yet, so there is nothing to refund
    status, body = await post(client, f"/api/orders/{order['id']}/refund", show.host_token)
    assert status == 409 and "not been taken" in body["error"]["message"]
    status, body = await post(
        client,
        f"/api/orders/{order['id']}/ship",
        show.host_token,
        {"carrier": "USPS", "tracking": "9400100000000000000000"},
    )
    assert status == 200, body
    assert body["order"]["status"] == "paid" and body["order"]["payment"]["status"] == "paid"
    assert body["order"]["shipment"]["tracking_number"] == "9400100000000000000000"
    assert (await stripe_server.payment_intent(intent))["status"] == "succeeded"


async def test_the_buyer_cancels_a_paid_card_order_and_gets_the_money_back(
    client: Any, make_user: Any, services: Any, stripe_server: LocalStripe
) -> None:
    show = await make_show(client, make_user, stocks=[3], price=1_500)
    token = await card_buyer(client, make_user, stripe_server)
    _, body = await buy(client, token, show.product_ids[0])
    order = body["order"]
    assert await stock_of(services, show.product_ids[0]) == 2
    status, body = await post(client, f"/api/orders/{order['id']}/cancel", token)
    assert status == 200, body
    assert body["order"]["status"] == "cancelled" and body["order"]["refunded_minor"] == 1_500
    assert await refunds_on(stripe_server, order["payment"]["reference"]) == [1_500]
    assert await stock_of(services, show.product_ids[0]) == 3


async def seller_order(client: Any, token: str, order_id: str) -> dict[str, Any]:
    """The order as the seller's orders page lists it."""
    resp = await client.get("/api/seller/orders?status=all", headers=auth(token))
    assert resp.status == 200, await resp.text()
    found: dict[str, Any] = next(o for o in (await resp.json())["items"] if o["id"] == order_id)
    return found


def charge_refunded(event_id: str, intent: str, order_id: str, refunded: int) -> dict[str, Any]:
    """Stripe's charge.refunded event for the charge of a PaymentIntent."""
    return {
        "id": event_id,
        "object": "event",
        "type": "charge.refunded",
        "data": {
            "object": {
                "id": f"ch_{intent}",
                "object": "charge",
                "payment_intent": intent,
                "amount_refunded": refunded,
                "metadata": {"order_id": order_id},
            }
        },
    }


async def test_a_refund_made_in_the_stripe_dashboard_is_recorded_once(
    client: Any, make_user: Any, stripe_server: LocalStripe
) -> None:
    show = await make_show(client, make_user, stocks=[5], price=2_400)
    token = await card_buyer(client, make_user, stripe_server)
    status, body = await buy(client, token, show.product_ids[0], quantity=2)
    assert status == 201 and body["order"]["status"] == "paid", body
    order_id, intent = body["order"]["id"], body["order"]["payment"]["reference"]
    # the merchant refunds 15.00 in Stripe's Dashboard: Stripe holds it, and says so
    async with aiohttp.ClientSession() as s:
        resp = await s.post(
            f"{stripe_server.url}/v1/refunds",
            data={"payment_intent": intent, "amount": "1500"},
            headers={"Authorization": f"Bearer {SECRET_KEY}"},
        )
        assert resp.status == 200, await resp.text()
    assert await refunds_on(stripe_server, intent) == [1_500]
    url = "/api/payments/webhook/stripe"
    raw, headers = signed(charge_refunded("evt_dash_1", intent, order_id, 1_500))
    for _ in range(2):  # Stripe retries a delivery: the second changes nothing
        resp = await client.post(url, data=raw, headers=headers)
        assert resp.status == 200, await resp.text()
    seen = await seller_order(client, show.host_token, order_id)
    assert seen["refunded_minor"] == 1_500 and seen["refundable_minor"] == 3_300
    assert seen["payment"]["status"] == "partially_refunded"
    assert [(r["amount_minor"], r["reason"]) for r in seen["refunds"]] == [(1_500, "provider")]
    # the rest refunded from LiveShop: its own charge.refunded (total 48.00) adds nothing
    status, body = await post(client, f"/api/orders/{order_id}/refund", show.host_token, {})
    assert status == 200 and body["order"]["refunded_minor"] == 4_800, body
    raw, headers = signed(charge_refunded("evt_dash_2", intent, order_id, 4_800))
    assert (await client.post(url, data=raw, headers=headers)).status == 200
    seen = await seller_order(client, show.host_token, order_id)
    assert seen["refunded_minor"] == 4_800 and seen["payment"]["status"] == "refunded"
    assert [r["amount_minor"] for r in seen["refunds"]] == [1_500, 3_300]
    assert await refunds_on(stripe_server, intent) == [1_500, 3_300]

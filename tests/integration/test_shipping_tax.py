"""Shipping and tax through the API: the merchant's settings, the quote the checkout sheet
shows, the order's stored amounts (equal to the quote's), a PaymentIntent for the total
with shipping and tax (a real localstripe), and a country outside every zone refused in
words naming `address.country`, before any stock is held."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from live_server.settings import Settings
from support.commerce import ADDRESS, key, make_show, stock_of
from support.helpers import auth
from support.localstripe_server import (
    CARD_OK,
    PUBLISHABLE_KEY,
    SECRET_KEY,
    WEBHOOK_SECRET,
    LocalStripe,
    running_localstripe,
)

US_SHOP = {
    "currency": "USD",
    "zones": [
        {
            "name": "United States",
            "countries": ["US"],
            "rate": {"kind": "per_kg", "amount_minor": 500, "per_kg_minor": 250},
            "free_from_minor": 10_000,
        }
    ],
    "taxes": [{"country": "US", "region": "TX", "rate_bp": 825}],
}
EU_SHOP = {
    "currency": "EUR",
    "zones": [
        {"name": "France", "countries": ["FR"], "rate": {"kind": "flat", "amount_minor": 490}}
    ],
    "taxes": [{"country": "FR", "rate_bp": 2000}],
}
FR_ADDRESS = {**ADDRESS, "city": "Lyon", "postal_code": "69001", "country": "FR"}
AMOUNTS = ("subtotal_minor", "shipping_minor", "tax_minor", "tax_included", "total_minor")


@pytest.fixture(scope="module")
def stripe_server() -> Iterator[LocalStripe]:
    with running_localstripe() as server:
        yield server


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Any) -> Settings:
    """US-style pricing by default; `indirect` "eu" is EU style with Stripe for cards."""
    values: dict[str, Any] = {
        "data_dir": tmp_path / "var",
        "secret": "test-secret",
        "signup_burst": 10_000,
    }
    if getattr(request, "param", None) == "eu":
        server: LocalStripe = request.getfixturevalue("stripe_server")
        values |= {
            "tax_pricing": "inclusive",
            "stripe_secret_key": SECRET_KEY,
            "stripe_publishable_key": PUBLISHABLE_KEY,
            "stripe_webhook_secret": WEBHOOK_SECRET,
            "stripe_api_base": server.url,
            "stripe_js_url": server.js_url,
        }
    return Settings.load(values, env={})


async def _json(resp: Any) -> tuple[int, dict[str, Any]]:
    return resp.status, await resp.json()


async def test_the_order_stores_the_quoted_shipping_and_tax(
    client: Any, make_user: Any, services: Any
) -> None:
    show = await make_show(client, make_user, stocks=[5], price=2_499, weight_g=1_200)
    status, body = await _json(
        await client.put("/api/seller/shipping", json=US_SHOP, headers=auth(show.host_token))
    )
    assert status == 200, body
    assert body["configured"] is True and body["tax_pricing"] == "exclusive"
    assert body["settings"]["zones"][0]["rate"]["per_kg_minor"] == 250
    _, buyer = await make_user()
    texas = {**ADDRESS, "region": "tx"}
    pid = show.product_ids[0]
    status, quote = await _json(
        await client.post(
            "/api/checkout/quote",
            json={"product_id": pid, "quantity": 2, "address": texas},
            headers=auth(buyer),
        )
    )
    assert status == 200, quote
    # 2 x 24.99; 2,400 g is 3 started kg: 5.00 + 3 x 2.50; 8.25 % Texas tax per line:
    # 412.335 -> 412 on the goods, 103.125 -> 103 on shipping, added to the total
    assert [quote[k] for k in AMOUNTS] == [4_998, 1_250, 515, False, 6_763]
    assert quote["parcels"][0]["zone"] == "United States"
    assert quote["parcels"][0]["tax_rate_bp"] == 825
    resp = await client.post(
        "/api/checkout/buy-now",
        json={
            "product_id": pid,
            "quantity": 2,
            "source": {"type": "live", "id": show.session_id},
            "address": texas,
            "payment_method": "cod",
        },
        headers={**auth(buyer), "Idempotency-Key": key()},
    )
    status, placed = await _json(resp)
    assert status == 201, placed
    order = placed["order"]
    assert [order[k] for k in AMOUNTS] == [quote[k] for k in AMOUNTS]
    assert order["parcels"] == quote["parcels"]
    stored = await services.db.fetchone(
        "SELECT total_minor, shipping_minor, tax_minor FROM orders WHERE id = ?", (order["id"],)
    )
    assert tuple(stored) == (6_763, 1_250, 515)
    resp = await client.get(f"/api/orders/{order['id']}", headers=auth(buyer))
    assert (await resp.json())["order"]["tax_minor"] == 515


async def test_a_country_outside_every_zone_is_refused_naming_the_country(
    client: Any, make_user: Any, services: Any
) -> None:
    show = await make_show(client, make_user, stocks=[3])
    await client.put("/api/seller/shipping", json=US_SHOP, headers=auth(show.host_token))
    _, buyer = await make_user()
    japan = {**ADDRESS, "country": "JP"}
    pid = show.product_ids[0]
    status, body = await _json(
        await client.post(
            "/api/checkout/quote", json={"product_id": pid, "address": japan}, headers=auth(buyer)
        )
    )
    assert status == 422 and body["error"]["field"] == "address.country"
    resp = await client.post(
        "/api/checkout/buy-now",
        json={"product_id": pid, "address": japan, "payment_method": "cod"},
        headers={**auth(buyer), "Idempotency-Key": key()},
    )
    status, body = await _json(resp)
    assert status == 422, body
    assert body["error"]["code"] == "shipping_unavailable"
    assert body["error"]["field"] == "address.country"
    assert body["error"]["message"] == (
        "This shop doesn't ship to JP. Choose an address in another country."
    )
    assert await stock_of(services, pid) == 3  # nothing held
    # a bad settings body names its input in words
    bad = {**US_SHOP, "zones": [*US_SHOP["zones"], US_SHOP["zones"][0]]}  # type: ignore[list-item]
    status, body = await _json(
        await client.put("/api/seller/shipping", json=bad, headers=auth(show.host_token))
    )
    assert status == 422 and body["error"]["field"] == "zones[1].countries"
    assert body["error"]["message"] == "US is already in another zone."


@pytest.mark.parametrize("settings", ["eu"], indirect=True)
async def test_the_payment_intent_charges_the_total_with_shipping_and_tax(
    client: Any, make_user: Any, stripe_server: LocalStripe
) -> None:
    show = await make_show(client, make_user, stocks=[2], price=2_400, currency="EUR")
    await client.put("/api/seller/shipping", json=EU_SHOP, headers=auth(show.host_token))
    _, buyer = await make_user()
    resp = await client.put(
        "/api/me/checkout-profile",
        json={"address": FR_ADDRESS, "payment_method": "card"},
        headers=auth(buyer),
    )
    assert resp.status == 200, await resp.text()
    setup = await (await client.post("/api/me/card/setup", headers=auth(buyer))).json()
    await stripe_server.confirm_card_setup(setup["client_secret"], CARD_OK)
    resp = await client.post(
        "/api/me/card", json={"setup_intent": setup["setup_intent"]}, headers=auth(buyer)
    )
    assert resp.status == 200, await resp.text()
    pid = show.product_ids[0]
    # the saved address is used: 24.00 incl. VAT 4.00, 4.90 shipping incl. 0.8167 -> 0.82
    status, quote = await _json(
        await client.post("/api/checkout/quote", json={"product_id": pid}, headers=auth(buyer))
    )
    assert status == 200, quote
    assert [quote[k] for k in AMOUNTS] == [2_400, 490, 482, True, 2_890]
    resp = await client.post(
        "/api/checkout/buy-now",
        json={"product_id": pid, "source": {"type": "live", "id": show.session_id}},
        headers={**auth(buyer), "Idempotency-Key": key()},
    )
    status, placed = await _json(resp)
    assert status == 201, placed
    order = placed["order"]
    assert order["status"] == "paid" and order["total_minor"] == quote["total_minor"]
    intent = await stripe_server.payment_intent(order["payment"]["reference"])
    assert intent["amount"] == 2_890 and intent["currency"] == "eur"


async def test_a_cart_of_two_shops_is_one_order_of_two_parcels_in_one_currency(
    client: Any, make_user: Any
) -> None:
    first = await make_show(client, make_user, stocks=[4], price=1_000, live=False)
    second = await make_show(client, make_user, stocks=[4], price=3_000, live=False)
    await client.put("/api/seller/shipping", json=US_SHOP, headers=auth(first.host_token))
    everywhere = {"name": "All", "countries": [], "rate": {"kind": "flat", "amount_minor": 700}}
    flat = {**US_SHOP, "zones": [everywhere], "taxes": []}
    await client.put("/api/seller/shipping", json=flat, headers=auth(second.host_token))
    _, buyer = await make_user()
    resp = await client.put(
        "/api/me/checkout-profile",
        json={"address": {**ADDRESS, "region": "TX"}, "payment_method": "cod"},
        headers=auth(buyer),
    )
    assert resp.status == 200, await resp.text()
    for pid in (first.product_ids[0], second.product_ids[0]):
        resp = await client.post(
            "/api/cart/items", json={"product_id": pid, "quantity": 1}, headers=auth(buyer)
        )
        assert resp.status in (200, 201), await resp.text()
    status, quote = await _json(
        await client.post("/api/checkout/quote", json={}, headers=auth(buyer))
    )
    assert status == 200, quote
    # shop 1: 10.00 + 5.00 (0 g: no started kg) + 8.25 % on both (0.825 -> 0.82, 0.4125 ->
    # 0.41); shop 2: 30.00 + 7.00 flat, no tax
    assert [p["seller_id"] for p in quote["parcels"]] == sorted([first.host_id, second.host_id])
    assert [quote[k] for k in AMOUNTS] == [4_000, 1_200, 123, False, 5_323]
    resp = await client.post(
        "/api/checkout", json={}, headers={**auth(buyer), "Idempotency-Key": key()}
    )
    status, placed = await _json(resp)
    assert status == 201, placed
    assert [placed["order"][k] for k in AMOUNTS] == [quote[k] for k in AMOUNTS]
    # a cart mixing currencies is refused in words
    euro = await make_show(client, make_user, stocks=[1], currency="EUR", live=False)
    for pid in (first.product_ids[0], euro.product_ids[0]):
        await client.post("/api/cart/items", json={"product_id": pid}, headers=auth(buyer))
    resp = await client.post(
        "/api/checkout", json={}, headers={**auth(buyer), "Idempotency-Key": key()}
    )
    status, body = await _json(resp)
    assert status == 422 and body["error"]["code"] == "mixed_currency", body
    assert body["error"]["message"] == (
        "These items are priced in different currencies; buy them in separate orders."
    )


async def test_the_quote_takes_a_claimed_coupon_off_as_the_order_does(
    client: Any, make_user: Any, services: Any
) -> None:
    show = await make_show(client, make_user, stocks=[3], price=4_000)
    await client.put("/api/seller/shipping", json=US_SHOP, headers=auth(show.host_token))
    resp = await client.post(
        f"/api/sessions/{show.session_id}/coupons",
        json={"kind": "percent", "value": 10, "total_limit": 5},
        headers=auth(show.host_token),
    )
    status, coupon = await _json(resp)
    assert status in (200, 201), coupon
    coupon_id = int(coupon.get("id") or coupon["coupon"]["id"])
    buyer, token = await make_user()
    texas = {**ADDRESS, "region": "TX"}
    body = {"product_id": show.product_ids[0], "address": texas, "coupon_id": coupon_id}
    status, refused = await _json(
        await client.post("/api/checkout/quote", json=body, headers=auth(token))
    )
    assert status == 422 and refused["error"]["message"] == "Claim this coupon in the show first."
    await services.db.execute(
        "INSERT INTO coupon_claims (coupon_id, user_id, claimed_at) VALUES (?, ?, 0)",
        (coupon_id, int(buyer["id"])),
    )
    status, quote = await _json(
        await client.post("/api/checkout/quote", json=body, headers=auth(token))
    )
    assert status == 200, quote
    # 40.00 - 4.00 = 36.00 of goods: 5.00 shipping; tax 3.30 - 0.33 + 0.4125 -> 0.41
    assert quote["discount_minor"] == 400
    assert [quote[k] for k in AMOUNTS] == [4_000, 500, 338, False, 4_438]
    resp = await client.post(
        "/api/checkout/buy-now",
        json={**body, "payment_method": "cod", "source": {"type": "live", "id": show.session_id}},
        headers={**auth(token), "Idempotency-Key": key()},
    )
    status, placed = await _json(resp)
    assert status == 201, placed
    order = placed["order"]
    assert [order[k] for k in (*AMOUNTS, "discount_minor")] == [
        *(quote[k] for k in AMOUNTS),
        400,
    ]

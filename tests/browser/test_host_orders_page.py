"""The host's orders page: a host marks a buyer's order shipped with a carrier and tracking
number, and the buyer sees that tracking number on their orders page."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

pytestmark = pytest.mark.browser

TOKEN_KEY = "liveshop.token"
ADDRESS = {
    "name": "Ana Lopez",
    "line1": "1 Main St",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


def _buyer_order(page: Page, product_id: int) -> str:
    """A new viewer who buys one unit (pay on delivery) through the API; their token is
    left in the page's storage."""
    name = f"ship{uuid.uuid4().hex[:8]}"
    resp = page.request.post(
        "/api/auth/register",
        data={
            "username": name,
            "password": "buyer-secret-1",
            "display_name": "Ana Lopez",
            "interests": ["fashion", "beauty", "home", "kitchen", "tech"],
        },
    )
    assert resp.ok, resp.text()
    headers = {"Authorization": f"Bearer {resp.json()['token']}"}
    saved = page.request.put(
        "/api/me/checkout-profile",
        data={"address": ADDRESS, "payment_method": "cod"},
        headers=headers,
    )
    assert saved.ok, saved.text()
    bought = page.request.post(
        "/api/checkout/buy-now",
        data={"product_id": product_id, "quantity": 1},
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert bought.status == 201, bought.text()
    page.goto("/img/logo.svg")
    page.evaluate("([k, v]) => localStorage.setItem(k, v)", [TOKEN_KEY, resp.json()["token"]])
    return str(bought.json()["order"]["id"])


def test_the_host_marks_an_order_shipped_and_the_buyer_sees_the_tracking_number(
    page: Page,
    page_errors: list[str],
    make_context: Callable[..., BrowserContext],
    api_login: Callable[..., dict[str, Any]],
) -> None:
    token = api_login(page, "demo-host")["token"]
    product = page.request.post(
        "/api/products",
        data={"title": "Shipping test mug", "price_minor": 1500, "category": "kitchen", "stock": 3},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    buyer = make_context().new_page()
    buyer.on("pageerror", lambda err: page_errors.append(str(err)))
    order_id = _buyer_order(buyer, int(product["id"]))

    page.goto("/fulfilment.html")
    card = page.locator(f"#seller-orders [data-order-id='{order_id}']")
    expect(card).to_contain_text("Ana Lopez")
    expect(card).to_contain_text("1 × Shipping test mug")
    card.get_by_role("button", name="Mark shipped").click()
    tracking = f"1Z{uuid.uuid4().hex[:12].upper()}"
    card.get_by_label("Carrier").fill("UPS")
    card.get_by_label("Tracking number").fill(tracking)
    card.locator("form button[type=submit]").click()
    expect(card).to_have_count(0)  # no longer among the orders to ship
    page.click("#order-filters [data-filter=shipped]")
    expect(card).to_contain_text(f"Shipped with UPS · tracking {tracking}")

    buyer.goto("/orders.html")
    mine = buyer.locator(f"#orders-list [data-order-id='{order_id}']")
    expect(mine.locator(".tracking-number")).to_have_text(tracking)
    expect(mine.locator(".status-chip")).to_have_text("Shipped")
    expect(mine.locator(".order-cancel")).to_have_count(0)
    assert page_errors == []

"""Buying in real time, in real Chromium pages against the real server.

The host goes live from the studio with the fake camera; a viewer watches, taps Buy on the
pinned card, buys with one tap in the bottom sheet (saved address), and the host's sales
panel shows the order, while the viewer's video keeps playing the whole time. Then the host
starts a flash sale from the panel and the viewer's card counts down.
"""

from __future__ import annotations

import sqlite3
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import socketio
from playwright.sync_api import BrowserContext, Page, expect

from support.helpers import ServerProcess

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
TOKEN_KEY = "liveshop.token"
ADDRESS = {
    "name": "Ana Lopez",
    "line1": "1 Main St",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


def _viewer(page: Page) -> str:
    name = f"buyer{uuid.uuid4().hex[:8]}"
    resp = page.request.post(
        "/api/auth/register",
        data={
            "username": name,
            "password": "buyer-secret-1",
            "display_name": "Ana <i>Buyer</i>",
            "interests": ["fashion", "beauty", "home", "kitchen", "tech"],
        },
    )
    assert resp.ok, resp.text()
    token = str(resp.json()["token"])
    saved = page.request.put(
        "/api/me/checkout-profile",
        data={"address": ADDRESS, "payment_method": "cod", "show_first_name": True},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert saved.ok, saved.text()
    page.goto("/img/logo.svg")
    page.evaluate("([k, v]) => localStorage.setItem(k, v)", [TOKEN_KEY, token])
    return token


def _video_time(page: Page) -> float:
    return float(page.evaluate("() => document.getElementById('player').currentTime"))


def _assert_playing(page: Page) -> None:
    t0 = _video_time(page)
    page.wait_for_function(
        f"() => {{ const v = document.getElementById('player');"
        f" return !v.paused && v.currentTime > {t0} + 0.5; }}",
        timeout=15_000,
    )


def _forget_shipping(server: ServerProcess, seller_id: int) -> None:
    db = sqlite3.connect(server.data_dir / "liveshop.db", timeout=30)
    try:
        db.execute("DELETE FROM shipping_settings WHERE seller_id = ?", (seller_id,))
        db.commit()
    finally:
        db.close()


def _end_show(base_url: str, token: str, session_id: int) -> None:
    req = urllib.request.Request(
        f"{base_url}/api/sessions/{session_id}/end",
        method="POST",
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        urllib.request.urlopen(req, timeout=10).close()
    except urllib.error.HTTPError as exc:  # 409: already ended
        if exc.code != 409:
            raise


async def _pin(base_url: str, token: str, session_id: int, product_id: int) -> dict[str, Any]:
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(base_url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    try:
        joined = await sio.call("room:join", {"session_id": session_id}, timeout=10)
        assert joined.get("ok"), joined
        ack: dict[str, Any] = await sio.call(
            "pin:add", {"session_id": session_id, "product_id": product_id}, timeout=10
        )
        return ack
    finally:
        await sio.disconnect()


def test_viewer_buys_from_pinned_card_while_video_plays_and_host_sees_it(
    make_context: Callable[..., BrowserContext],
    api_login: Callable[..., dict[str, Any]],
    run_async: Callable[..., Any],
    live_server: str,
    live_server_process: ServerProcess,
    request: pytest.FixtureRequest,
) -> None:
    errors: list[str] = []
    host = make_context(viewport=DESKTOP).new_page()
    viewer = make_context().new_page()
    for p in (host, viewer):
        p.on("pageerror", lambda err: errors.append(str(err)))

    login_host = api_login(host, "demo-host")
    host_token = login_host["token"]
    headers = {"Authorization": f"Bearer {host_token}"}
    title = f"Glow lamp {uuid.uuid4().hex[:5]}"
    product = host.request.post(
        "/api/products",
        data={
            "title": title,
            "price_minor": 4900,
            "currency": "USD",
            "category": "home",
            "stock": 8,
        },
        headers=headers,
    )
    assert product.ok, product.text()
    product_id = int(product.json()["id"])
    # the host ships in the US for $5.00 flat and adds 10 % tax (US style: tax added)
    shipping = host.request.put(
        "/api/seller/shipping",
        data={
            "currency": "USD",
            "zones": [
                {"name": "US", "countries": ["US"], "rate": {"kind": "flat", "amount_minor": 500}}
            ],
            "taxes": [{"country": "US", "rate_bp": 1000}],
        },
        headers=headers,
    )
    assert shipping.ok, shipping.text()
    # the demo host is shared by every browser test: give it back its "ships free everywhere,
    # no tax" (no settings row) afterwards, so a later test's address in France still ships
    request.addfinalizer(
        lambda: _forget_shipping(live_server_process, int(login_host["user"]["id"]))
    )
    created = host.request.post(
        "/api/sessions",
        data={"title": f"Buying test {uuid.uuid4().hex[:6]}", "product_ids": [product_id]},
        headers=headers,
    )
    assert created.ok, created.text()
    sid = int(created.json()["id"])
    # whatever happens, leave no live show behind for the other browser tests
    request.addfinalizer(lambda: _end_show(live_server, host_token, sid))

    # the host goes live from the studio with the fake camera
    host.goto(f"/studio.html?session={sid}")
    host.wait_for_function(
        "() => document.getElementById('broadcast-preview')?.videoWidth > 0", timeout=20_000
    )
    host.click("#broadcast-start")
    expect(host.locator("#broadcast-stop")).to_be_visible(timeout=25_000)
    expect(host.locator("#sales-panel")).to_be_visible()

    # a viewer with a saved address watches the show
    _viewer(viewer)
    viewer.goto(f"/session.html?id={sid}")
    viewer.wait_for_function(
        "() => document.getElementById('player').videoWidth > 0", timeout=25_000
    )
    _assert_playing(viewer)

    # the host pins the lamp; the card appears over the video with units left
    ack = run_async(_pin(live_server, host_token, sid, product_id))
    assert ack.get("ok"), ack
    card = viewer.locator(f'#pinned-cards .pinned-card[data-product-id="{product_id}"]')
    expect(card).to_be_visible(timeout=10_000)
    expect(card).to_contain_text("Only 8 left")
    expect(card.locator(".price-note")).to_have_text("plus tax")

    # tap Buy: a bottom sheet over the video, one tap with the saved address
    card.locator("button.pinned-buy").click()
    sheet = viewer.locator("#buy-sheet")
    expect(sheet).to_be_visible()
    expect(sheet.locator("#ship-summary")).to_contain_text("Ana Lopez")
    # the server's quote: $49.00 + $5.00 shipping + 10 % tax on both ($5.40) = $59.40
    quote = sheet.locator("#quote")
    expect(quote.locator("[data-part='shipping']")).to_contain_text("$5.00")
    expect(quote.locator("[data-part='tax']")).to_contain_text("$5.40")
    expect(sheet.locator("#buy-now")).to_contain_text("$59.40")
    sheet.locator("[aria-label='One more']").click()
    expect(quote.locator("[data-part='subtotal']")).to_contain_text("$98.00")
    expect(quote.locator("[data-part='total']")).to_contain_text("$113.30")
    expect(sheet.locator("#buy-now")).to_contain_text("$113.30")
    sheet.locator("#buy-now").click()
    confirmation = viewer.locator("#order-confirmation")
    expect(confirmation).to_be_visible(timeout=10_000)
    expect(confirmation).to_contain_text(f"2 × {title}")
    expect(confirmation.locator("[data-part='total']")).to_contain_text("$113.30")
    order_id = confirmation.get_attribute("data-order-id")
    assert order_id and order_id.startswith("ord_")
    # a short order number for people, not the raw id
    expect(confirmation.locator("#order-number")).to_have_text(f"Order #{order_id[4:10].upper()}")
    _assert_playing(viewer)  # the video never stopped

    # the card counts the units down and the room shows social proof (first name only)
    expect(card).to_contain_text("Only 6 left", timeout=10_000)
    expect(viewer.locator("#proof-count")).to_have_text("1 bought in the last minute")
    expect(viewer.locator("#proof-recent")).to_have_text(f"Ana just bought {title}")

    # the host's sales panel shows the order ticking in
    ticker = host.locator("#sales-panel #order-ticker")
    expect(ticker).to_contain_text(title, timeout=15_000)
    expect(host.locator("#sales-panel [data-metric='orders'] .value")).to_have_text("1")
    expect(host.locator("#sales-panel [data-metric='revenue'] .value")).to_have_text("$98.00")

    # an empty or $0 sale is refused, the reason under the price (cleared as the host types)
    host.fill("#sale-price", "")
    host.click("#sale-start")
    price = host.locator("#sale-price")
    expect(price).to_have_attribute("aria-invalid", "true")
    expect(price).to_have_attribute("aria-describedby", "sale-price-error")
    expect(host.locator("#sale-price-error")).to_have_text("Enter a sale price above zero.")
    host.fill("#sale-price", "0")
    expect(price).not_to_have_attribute("aria-invalid", "true")
    host.click("#sale-start")
    expect(host.locator("#sale-price-error")).to_contain_text("The sale price must be at least $")
    expect(host.locator("#sale-list [data-status='active']")).to_have_count(0)

    # the host starts a flash sale from the panel; the viewer's card counts down
    host.fill("#sale-price", "19.00")
    host.fill("#sale-quantity", "3")
    host.fill("#sale-duration", "60")
    host.fill("#sale-cap", "1")
    host.click("#sale-start")
    expect(host.locator("#sale-list [data-status='active']")).to_have_count(1, timeout=10_000)
    badge = card.locator(".sale-badge[data-status='active']")
    expect(badge).to_be_visible(timeout=10_000)
    expect(badge.locator(".sale-price")).to_have_text("$19.00")
    clock = badge.locator(".sale-clock").inner_text()
    assert clock.startswith("0:") or clock == "1:00", clock
    expect(badge.locator(".sale-left")).to_have_text("3 left")

    viewer.keyboard.press("Escape")
    card.locator("button.pinned-buy").click()
    expect(viewer.locator("#buy-sheet")).to_contain_text("Flash sale")
    viewer.locator("#buy-now").click()
    expect(viewer.locator("#order-confirmation")).to_contain_text("$19.00", timeout=10_000)
    expect(badge.locator(".sale-left")).to_have_text("2 left", timeout=10_000)

    # the buyer's orders page lists both orders
    orders = make_context().new_page()
    orders.goto("/img/logo.svg")
    token = viewer.evaluate(f"() => localStorage.getItem('{TOKEN_KEY}')")
    orders.evaluate("([k, v]) => localStorage.setItem(k, v)", [TOKEN_KEY, token])
    orders.goto("/orders.html")
    expect(orders.locator(".order-card")).to_have_count(2)
    expect(orders.locator(f".order-card[data-order-id='{order_id}']")).to_contain_text(title)
    _assert_playing(viewer)
    host.click("#broadcast-stop")
    host.click("#confirm-yes")
    expect(host.locator("#broadcast-start")).to_be_hidden(timeout=15_000)
    _end_show(live_server, host_token, sid)
    assert host.request.get(f"/api/sessions/{sid}").json()["state"] == "ended"
    assert errors == []


def test_anonymous_viewer_signs_in_without_leaving_the_show(
    page: Page, api_login: Callable[..., dict[str, Any]], page_errors: list[str]
) -> None:
    host_token = api_login(page, "demo-host")["token"]
    headers = {"Authorization": f"Bearer {host_token}"}
    mine = page.request.get("/api/products?owner=me", headers=headers).json()["items"]
    created = page.request.post(
        "/api/sessions",
        data={"title": f"Line-up {uuid.uuid4().hex[:6]}", "product_ids": [mine[0]["id"]]},
        headers=headers,
    )
    sid = int(created.json()["id"])
    page.evaluate(f"() => localStorage.removeItem('{TOKEN_KEY}')")
    page.goto(f"/session.html?id={sid}")
    buy = page.locator(f'#lineup-list .lineup-buy[data-product-id="{mine[0]["id"]}"]')
    if not buy.is_visible():  # on a phone the line-up lives behind the products button
        page.click("#lineup-button")
    buy.click()
    expect(page.locator("#login-sheet")).to_be_visible()
    expect(page.locator("#login-sheet a[target='_blank']").first).to_have_text("Log in")
    page.click("#login-continue")
    expect(page.locator("#login-sheet .form-error")).to_be_visible()
    # signing in in another tab stores the token for this origin; continue picks it up
    token = _viewer(page.context.new_page())
    assert page.evaluate(f"() => localStorage.getItem('{TOKEN_KEY}')") == token
    page.click("#login-continue")
    expect(page.locator("#buy-sheet")).to_be_visible()
    expect(page.locator("#buy-sheet #ship-summary")).to_contain_text("Ana Lopez")
    assert f"/session.html?id={sid}" in page.url
    assert page_errors == []

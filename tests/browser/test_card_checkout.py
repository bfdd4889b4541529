"""Paying by card in a real Chromium: the live room's buy sheet with Stripe.js as served by a
real `localstripe` (its test copy of Stripe.js mocks the card Element with plain inputs and
asks the 3-D Secure question in a dialog), against a server process configured for Stripe.

The first purchase saves the card (a SetupIntent confirmed by Stripe.js: the number goes to
Stripe, not to LiveShop), the next one is one tap; a 3-D Secure card is confirmed in the
bank's step, and the order is paid by Stripe's webhook.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from support.helpers import ServerProcess, start_server_process, wait_for_sync
from support.localstripe_server import (
    CARD_3DS,
    CARD_OK,
    PUBLISHABLE_KEY,
    SECRET_KEY,
    WEBHOOK_SECRET,
    LocalStripe,
    running_localstripe,
)

pytestmark = pytest.mark.browser
TOKEN_KEY = "liveshop.token"


@pytest.fixture(scope="module")
def stripe_shop(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerProcess, LocalStripe]]:
    with running_localstripe() as stripe:
        data_dir = tmp_path_factory.mktemp("card-shop") / "var"
        server = start_server_process(
            data_dir,
            demo=False,
            env={
                "LIVESHOP_LOG_LEVEL": "warning",
                "LIVESHOP_STRIPE_SECRET_KEY": SECRET_KEY,
                "LIVESHOP_STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
                "LIVESHOP_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "LIVESHOP_STRIPE_API_BASE": stripe.url,
                "LIVESHOP_STRIPE_JS_URL": stripe.js_url,
            },
        )
        try:
            _make_host(server, data_dir)
            yield server, stripe
        finally:
            server.stop()


HOST = "cardhost"


def _make_host(server: ServerProcess, data_dir: Path) -> None:
    """A host account: signed up like anyone, then made a host from the command line."""
    body = json.dumps(
        {"username": HOST, "password": "pw-secret-1", "display_name": "Card Host",
         "interests": ["fashion", "beauty", "home", "kitchen", "tech"]}
    ).encode()  # fmt: skip
    req = urllib.request.Request(
        f"{server.url}/api/auth/register", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 201
    subprocess.run(
        [
            sys.executable,
            "-m",
            "live_server",
            "set-role",
            HOST,
            "host",
            "--data-dir",
            str(data_dir),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


def _live_show(page: Page) -> tuple[int, int]:
    """A live show of the host with one new product; (session id, product id)."""
    login = page.request.post("/api/auth/login", data={"username": HOST, "password": "pw-secret-1"})
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    title = f"Card lamp {uuid.uuid4().hex[:5]}"
    product = page.request.post(
        "/api/products",
        data={
            "title": title,
            "price_minor": 3_900,
            "currency": "USD",
            "category": "home",
            "stock": 5,
        },
        headers=headers,
    )
    assert product.ok, product.text()
    pid = int(product.json()["id"])
    show = page.request.post(
        "/api/sessions", data={"title": f"Card show {title}", "product_ids": [pid]}, headers=headers
    )
    sid = int(show.json()["id"])
    started = page.request.post(f"/api/sessions/{sid}/start", headers=headers)
    assert started.ok, started.text()
    return sid, pid


def _viewer(page: Page) -> str:
    name = f"cardfan{uuid.uuid4().hex[:8]}"
    resp = page.request.post(
        "/api/auth/register",
        data={
            "username": name,
            "password": "pw-secret-1",
            "display_name": "Cara Card",
            "interests": ["fashion", "beauty", "home", "kitchen", "tech"],
        },
    )
    assert resp.status == 201, resp.text()
    token = str(resp.json()["token"])
    page.goto("/img/logo.svg")
    page.evaluate("([k, v]) => localStorage.setItem(k, v)", [TOKEN_KEY, token])
    return token


def _fill_sheet(page: Page, number: str) -> None:
    sheet = page.locator("#buy-sheet")
    sheet.locator("#ship-name").fill("Cara Card")
    sheet.locator("#ship-line1").fill("2 Rue du Test")
    sheet.locator("#ship-city").fill("Lyon")
    sheet.locator("#ship-postal").fill("69001")
    sheet.locator("#ship-country").fill("FR")
    sheet.locator("#pay-method").select_option("card")
    card = sheet.locator("#card-element")
    expect(card.locator("input[placeholder=number]")).to_be_visible(timeout=10_000)
    card.locator("input[placeholder=number]").fill(number)
    card.locator("input[placeholder=exp_month]").fill("12")
    card.locator("input[placeholder=exp_year]").fill("34")
    card.locator("input[placeholder=cvc]").fill("123")
    card.locator("input[placeholder=postal_code]").fill("69001")


def _order(page: Page, token: str, order_id: str) -> dict[str, Any]:
    resp = page.request.get(f"/api/orders/{order_id}", headers={"Authorization": f"Bearer {token}"})
    order: dict[str, Any] = resp.json()["order"]
    return order


def test_a_viewer_saves_a_card_pays_then_buys_again_in_one_tap(
    make_context: Callable[..., BrowserContext],
    stripe_shop: tuple[ServerProcess, LocalStripe],
    run_async: Callable[..., Any],
) -> None:
    server, stripe = stripe_shop
    run_async(stripe.webhook_to(f"{server.url}/api/payments/webhook/stripe"))
    page = make_context(base_url=server.url).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    sid, pid = _live_show(page)
    token = _viewer(page)
    page.goto(f"/session.html?id={sid}")
    page.locator(f".lineup-buy[data-product-id='{pid}']").click()
    _fill_sheet(page, CARD_OK)
    page.locator("#buy-sheet #buy-now").click()
    confirmation = page.locator("#order-confirmation")
    expect(confirmation).to_be_visible(timeout=20_000)
    order_id = confirmation.get_attribute("data-order-id") or ""
    order = _order(page, token, order_id)
    assert order["status"] == "paid" and order["payment"]["provider"] == "stripe"
    # the card never went through LiveShop: the server knows its brand and last digits only
    card = page.request.get("/api/me/card", headers={"Authorization": f"Bearer {token}"}).json()
    assert card["card"]["label"] == "Visa ending 4242" and SECRET_KEY not in str(card)

    # the next purchase is one tap with the saved card
    page.keyboard.press("Escape")
    page.locator(f".lineup-buy[data-product-id='{pid}']").click()
    sheet = page.locator("#buy-sheet")
    expect(sheet.locator("#ship-summary")).to_contain_text("Card")
    sheet.locator("#buy-now").click()
    expect(page.locator("#order-confirmation")).to_be_visible(timeout=20_000)
    second = page.locator("#order-confirmation").get_attribute("data-order-id") or ""
    assert second != order_id and _order(page, token, second)["status"] == "paid"
    assert errors == []


def test_a_three_d_secure_card_is_confirmed_in_the_banks_step(
    make_context: Callable[..., BrowserContext],
    stripe_shop: tuple[ServerProcess, LocalStripe],
    run_async: Callable[..., Any],
) -> None:
    server, stripe = stripe_shop
    run_async(stripe.webhook_to(f"{server.url}/api/payments/webhook/stripe"))
    page = make_context(base_url=server.url).new_page()
    sid, pid = _live_show(page)
    token = _viewer(page)
    page.goto(f"/session.html?id={sid}")
    page.locator(f".lineup-buy[data-product-id='{pid}']").click()
    _fill_sheet(page, CARD_3DS)
    page.locator("#buy-sheet #buy-now").click()
    # the bank asks twice: when the card is saved, and for this payment (localstripe's
    # stand-in for the bank's page is a plain box without a z-index, drawn under our sheet,
    # so it is clicked by event; Stripe's real one is a full-screen frame above the page)
    for _ in range(2):
        bank = page.get_by_role("button", name="Complete authentication")
        expect(bank).to_be_visible(timeout=15_000)
        bank.dispatch_event("click")
    confirmation = page.locator("#order-confirmation")
    expect(confirmation).to_be_visible(timeout=25_000)
    order_id = confirmation.get_attribute("data-order-id") or ""
    wait_for_sync(
        lambda: _order(page, token, order_id)["status"] == "paid",
        timeout=15,
        message="Stripe's webhook paid the order",
    )


def _sized_show(page: Page) -> tuple[int, dict[str, int], dict[str, str]]:
    """A scheduled show of the host with a tee in S, M and L (L sold out); (session id,
    variant ids by size, the host's auth header)."""
    login = page.request.post("/api/auth/login", data={"username": HOST, "password": "pw-secret-1"})
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    title = f"Card tee {uuid.uuid4().hex[:5]}"
    product = page.request.post(
        "/api/products",
        data={"title": title, "price_minor": 2_400, "category": "fashion", "stock": 0},
        headers=headers,
    )
    assert product.ok, product.text()
    pid = int(product.json()["id"])
    sizes: dict[str, int] = {}
    for size, units in (("S", 3), ("M", 3), ("L", 0)):
        variant = page.request.post(
            f"/api/products/{pid}/variants",
            data={"options": {"Size": size}, "stock": units},
            headers=headers,
        )
        assert variant.status == 201, variant.text()
        sizes[size] = int(variant.json()["id"])
    show = page.request.post(
        "/api/sessions", data={"title": f"Sizes {title}", "product_ids": [pid]}, headers=headers
    )
    assert show.ok, show.text()
    return int(show.json()["id"]), {"listing": pid, **sizes}, headers


def _playing(page: Page) -> float:
    """The player's current time, once it has real frames and is not paused."""
    page.wait_for_function(
        "() => { const v = document.getElementById('player');"
        " return v && v.videoWidth > 0 && !v.paused && v.currentTime > 0; }",
        timeout=25_000,
    )
    return float(page.evaluate("() => document.getElementById('player').currentTime"))


def test_size_m_bought_by_card_from_the_pinned_card_while_the_video_plays_then_shipped(
    make_context: Callable[..., BrowserContext],
    stripe_shop: tuple[ServerProcess, LocalStripe],
    run_async: Callable[..., Any],
) -> None:
    server, stripe = stripe_shop
    run_async(stripe.webhook_to(f"{server.url}/api/payments/webhook/stripe"))
    errors: list[str] = []
    host = make_context(base_url=server.url, viewport={"width": 1366, "height": 900}).new_page()
    host.on("pageerror", lambda err: errors.append(str(err)))
    sid, ids, headers = _sized_show(host)
    try:
        # the host goes live from the studio (Chromium's fake camera) and pins the tee
        token = headers["Authorization"].split()[1]
        host.goto("/img/logo.svg")
        host.evaluate("([k, v]) => localStorage.setItem(k, v)", [TOKEN_KEY, token])
        host.goto(f"/studio.html?session={sid}")
        host.wait_for_function(
            "() => document.getElementById('broadcast-preview')?.videoWidth > 0", timeout=15_000
        )
        host.click("#broadcast-start")
        expect(host.locator("#broadcast-stop")).to_be_visible(timeout=20_000)
        row = host.locator(f"#lineup-pins [data-product-id='{ids['listing']}']")
        row.locator(".pin-toggle").click()
        expect(row.locator(".pin-toggle")).to_have_text("Unpin")

        viewer = make_context(base_url=server.url).new_page()
        viewer.on("pageerror", lambda err: errors.append(str(err)))
        buyer_token = _viewer(viewer)
        viewer.goto(f"/session.html?id={sid}")
        before = _playing(viewer)
        card = viewer.locator(f"#pinned-cards .pinned-card[data-product-id='{ids['listing']}']")
        expect(card.locator(".variant-chip")).to_have_count(3, timeout=15_000)
        expect(card.locator(f".variant-chip[data-variant-id='{ids['L']}']")).to_be_disabled()
        # one tap on M opens the sheet with M picked; Stripe's card Element takes the card
        card.locator(f".variant-chip[data-variant-id='{ids['M']}']").click()
        sheet = viewer.locator("#buy-sheet")
        expect(sheet.locator(f".variant-chip[data-variant-id='{ids['M']}']")).to_have_attribute(
            "aria-checked", "true"
        )
        expect(sheet.locator("#buy-price")).to_have_text("$24.00")
        _fill_sheet(viewer, CARD_OK)
        sheet.locator("#buy-now").click()
        confirmation = viewer.locator("#order-confirmation")
        expect(confirmation).to_be_visible(timeout=20_000)
        order_id = confirmation.get_attribute("data-order-id") or ""
        order = _order(viewer, buyer_token, order_id)
        assert order["status"] == "paid" and order["payment"]["provider"] == "stripe"
        assert [(i["product_id"], i["title"]) for i in order["items"]] == [
            (ids["M"], order["items"][0]["title"])
        ] and order["items"][0]["title"].endswith(" - M")
        # the video never stopped while the viewer picked a size and paid
        after = _playing(viewer)
        assert after > before, (before, after)
        left = viewer.request.get(f"/api/products/{ids['listing']}").json()["variants"]
        assert [(v["label"], v["stock"]) for v in left] == [("S", 3), ("M", 2), ("L", 0)]

        # the host ships it; the buyer sees the tracking number
        host.goto("/fulfilment.html")
        shipped = host.locator(f"#seller-orders [data-order-id='{order_id}']")
        expect(shipped).to_contain_text(" - M")
        shipped.get_by_role("button", name="Mark shipped").click()
        tracking = f"1Z{uuid.uuid4().hex[:12].upper()}"
        shipped.get_by_label("Carrier").fill("UPS")
        shipped.get_by_label("Tracking number").fill(tracking)
        shipped.locator("form button[type=submit]").click()
        expect(shipped).to_have_count(0)
        viewer.goto("/orders.html")
        mine = viewer.locator(f"#orders-list [data-order-id='{order_id}']")
        expect(mine.locator(".tracking-number")).to_have_text(tracking)
        expect(mine.locator(".status-chip")).to_have_text("Shipped")
        assert errors == []
    finally:
        host.request.post(f"/api/sessions/{sid}/end", headers=headers)

"""The host console: a show run end to end from one studio screen.

At 1366x900 the host goes live with Chromium's fake camera; the page never scrolls and the
key controls (preview, End, pin, flash sale, chat) are in the window. A viewer's chat shows
over the preview, the host pins a product and starts a flash sale from the line-up, the
state badge follows the server through a dropped publisher (the stream key is rotated, the
page reconnects with the new key): Live -> Reconnecting -> Live; then End and the summary.
On a phone (390x844) the preview is full width and the panels are tabs; a show started
from an encoder turns the page into the console without a reload.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import socketio
from playwright.sync_api import BrowserContext, Page, expect

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 900}
ADDRESS = {
    "name": "Ana Buyer",
    "line1": "1 Main St",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


def _post(page: Page, path: str, token: str, data: Any = None) -> Any:
    resp = page.request.post(path, data=data, headers={"Authorization": f"Bearer {token}"})
    assert resp.ok, f"{path}: {resp.status} {resp.text()}"
    return resp.json() if resp.text() else None


def _show(page: Page, token: str, products: int) -> tuple[int, list[int], str]:
    tag = uuid.uuid4().hex[:5]
    ids = [
        int(
            _post(
                page,
                "/api/products",
                token,
                {
                    "title": f"Console item {tag}-{i}",
                    "price_minor": 2500,
                    "currency": "USD",
                    "category": "home",
                    "stock": 20,
                },
            )["id"]
        )
        for i in range(products)
    ]
    body = {"title": f"Console show {tag}", "product_ids": ids}
    return int(_post(page, "/api/sessions", token, body)["id"]), ids, tag


def _end(page: Page, token: str, session_id: int) -> None:
    page.request.post(
        f"/api/sessions/{session_id}/end", headers={"Authorization": f"Bearer {token}"}
    )


def _viewer(page: Page) -> str:
    resp = page.request.post(
        "/api/auth/register",
        data={
            "username": f"fan{uuid.uuid4().hex[:8]}",
            "password": "viewer-secret-1",
            "display_name": "Fan Console",
            "interests": ["fashion", "beauty", "home", "kitchen", "tech"],
        },
    )
    assert resp.ok, resp.text()
    token = str(resp.json()["token"])
    saved = page.request.put(
        "/api/me/checkout-profile",
        data={"address": ADDRESS, "payment_method": "cod"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert saved.ok, saved.text()
    return token


async def _chat(base_url: str, token: str, session_id: int, text: str) -> None:
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(base_url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    try:
        joined = await sio.call("room:join", {"session_id": session_id}, timeout=10)
        assert joined.get("ok"), joined
        ack = await sio.call("chat:send", {"session_id": session_id, "text": text}, timeout=10)
        assert ack.get("ok"), ack
        ack = await sio.call(
            "reaction:send", {"session_id": session_id, "kind": "heart", "count": 5}, timeout=10
        )
        assert ack.get("ok"), ack
    finally:
        await sio.disconnect()


IN_VIEW = """(selector) => {
  const node = document.querySelector(selector);
  if (!node) return `${selector}: missing`;
  const r = node.getBoundingClientRect();
  const ok = r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0
    && r.bottom <= innerHeight && r.right <= innerWidth;
  return ok ? "" : `${selector}: ${JSON.stringify(r)}`;
}"""


def _assert_one_screen(page: Page, selectors: list[str]) -> None:
    sizes = page.evaluate(
        "() => [document.scrollingElement.scrollHeight, innerHeight,"
        " document.scrollingElement.scrollWidth, innerWidth]"
    )
    assert sizes[0] <= sizes[1] and sizes[2] <= sizes[3], sizes
    problems = [p for p in (page.evaluate(IN_VIEW, s) for s in selectors) if p]
    assert not problems, problems


def test_host_runs_a_show_from_the_console_without_scrolling(
    make_context: Callable[..., BrowserContext],
    api_login: Callable[..., dict[str, Any]],
    run_async: Callable[..., Any],
    live_server: str,
    request: pytest.FixtureRequest,
) -> None:
    errors: list[str] = []
    host = make_context(viewport=LAPTOP).new_page()
    host.on("pageerror", lambda err: errors.append(str(err)))
    token = api_login(host, "demo-host")["token"]
    sid, (first, second), tag = _show(host, token, 2)
    request.addfinalizer(lambda: _end(host, token, sid))
    badge = host.locator("#detail-badge .badge")

    host.goto(f"/studio.html?session={sid}")
    host.wait_for_function(
        "() => document.getElementById('broadcast-preview')?.videoWidth > 0", timeout=20_000
    )
    expect(badge).to_have_text("Upcoming")
    host.click("#broadcast-start")
    # live as soon as the server says so: badge, End, the show list; no reload
    expect(badge).to_have_text("Live", timeout=25_000)
    expect(host.locator("#broadcast-stop")).to_be_visible()
    expect(host.locator("#session-end")).to_be_hidden()  # one End at a time
    expect(host.locator(f"#my-sessions [data-session-id='{sid}'] .badge")).to_have_text("Live")
    expect(host.locator("#stat-bitrate .value")).to_contain_text("kbit/s", timeout=10_000)
    expect(host.locator("#stat-elapsed .value")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    _assert_one_screen(
        host,
        [
            "#broadcast-preview",
            "#broadcast-stop",
            "#detail-badge .badge",
            "#console-stats",
            f"#lineup-pins [data-product-id='{first}'] .pin-toggle",
            f"#lineup-pins [data-product-id='{first}'] .pin-sale",
            "#sale-start",
            "#mod-chat .chat-input",
        ],
    )

    # a viewer's chat and hearts show over the preview (the chat also in the moderated
    # chat); a purchase counts in the live stats
    viewer_token = _viewer(host)
    host.evaluate(
        "() => { window.__floats = 0; new MutationObserver((m) => { window.__floats +="
        " m.reduce((n, r) => n + r.addedNodes.length, 0); }).observe("
        "document.getElementById('overlay-reactions'), { childList: true }); }"
    )
    run_async(_chat(live_server, viewer_token, sid, f"Love it {tag}"))
    expect(host.locator("#overlay-chat")).to_contain_text(f"Love it {tag}")
    host.wait_for_function("() => window.__floats > 0")  # the hearts floated up
    host.click("#overlay-toggle")  # the host can hide what viewers say
    expect(host.locator("#preview-overlay")).to_be_hidden()
    host.click("#overlay-toggle")
    expect(host.locator("#preview-overlay")).to_be_visible()
    expect(host.locator("#mod-chat .chat-msg", has_text=f"Love it {tag}")).to_have_count(1)
    bought = host.request.post(
        "/api/checkout/buy-now",
        data={"product_id": second, "quantity": 1, "source": {"type": "live", "id": sid}},
        headers={"Authorization": f"Bearer {viewer_token}", "Idempotency-Key": uuid.uuid4().hex},
    )
    assert bought.status == 201, bought.text()
    expect(host.locator("#stat-sales")).to_contain_text("$25.00", timeout=10_000)
    expect(host.locator("#stat-sales")).to_contain_text("1 order")

    # pin from the line-up, then a flash sale on the same row
    row = host.locator(f"#lineup-pins [data-product-id='{first}']")
    row.locator(".pin-toggle").click()
    expect(row).to_have_class("pin-row is-pinned")
    expect(row.locator(".pin-toggle")).to_have_text("Unpin")
    row.locator(".pin-sale").click()
    expect(host.locator("#sale-product")).to_have_value(str(first))
    expect(host.locator("#sale-price")).to_be_focused()
    host.fill("#sale-price", "19.00")
    host.fill("#sale-quantity", "3")
    # the studio re-reads the show every few seconds: what the host typed stays
    host.evaluate("async () => (await import('/js/pages/studio.js')).refreshSession()")
    expect(host.locator("#sale-price")).to_have_value("19.00")
    expect(host.locator("#sale-quantity")).to_have_value("3")
    host.click("#sale-start")
    expect(host.locator("#sale-list [data-status='active']")).to_have_count(1, timeout=10_000)
    _assert_one_screen(host, ["#broadcast-stop", "#sale-start", "#mod-chat .chat-input"])

    # the publisher is dropped (a rotated key cuts it off): Reconnecting, then Live again
    # once the page has published again with the new key
    _post(host, f"/api/sessions/{sid}/stream-key/rotate", token)
    expect(badge).to_have_text("Reconnecting", timeout=15_000)
    expect(badge).to_have_text("Live", timeout=30_000)
    expect(host.locator("#broadcast-status .badge")).to_have_text("Live", timeout=10_000)

    # End: the summary of the show
    host.click("#broadcast-stop")
    host.click("#confirm-yes")
    expect(badge).to_have_text("Ended", timeout=15_000)
    expect(host.locator("#broadcast-stop")).to_be_hidden()
    expect(host.locator("#session-end")).to_be_hidden()
    summary = host.locator("#show-summary")
    expect(summary).to_be_visible(timeout=10_000)
    expect(summary.locator("[data-metric='orders'] .value")).to_have_text("1")
    expect(summary.locator("[data-metric='revenue'] .value")).to_have_text("$25.00")
    expect(summary.locator("#summary-top")).to_contain_text(f"Console item {tag}-1")
    expect(summary.locator("[data-metric='duration'] .value")).not_to_have_text("0 s")
    # the recording is being turned into the replay and clips: its progress, then the link
    expect(summary.locator("#summary-jobs li")).to_have_count(1, timeout=20_000)
    expect(summary.locator("#summary-replay")).to_be_visible()
    assert host.request.get(f"/api/sessions/{sid}").json()["state"] == "ended"
    assert not errors, errors


def test_host_console_on_a_phone(
    page: Page, api_login: Callable[..., dict[str, Any]], page_errors: list[str]
) -> None:
    token = api_login(page, "demo-host")["token"]
    sid, (first,), _ = _show(page, token, 1)
    try:
        # before the show the panels are tabs already, the set-up first
        page.goto(f"/studio.html?session={sid}")
        tabs = page.locator("#console-tabs")
        expect(tabs.locator("[data-tab='setup']")).to_have_attribute("aria-selected", "true")
        expect(page.locator("#stream-key-card")).to_be_visible()
        expect(page.locator("#mod-chat")).to_be_hidden()
        # the show goes live from an encoder: the page follows the server, no reload
        _post(page, f"/api/sessions/{sid}/start", token)
        expect(page.locator("#detail-badge .badge")).to_have_text("Live")
        expect(page.locator("#session-end")).to_be_visible()
        expect(page.locator("#console-stats")).to_be_visible()
        # the preview spans the phone's width; nothing overflows sideways
        expect(page.locator("#broadcast-preview")).to_be_visible()
        box = page.locator("#broadcast-card .preview").bounding_box()
        assert box is not None and box["width"] >= 389, box
        assert page.evaluate("() => document.scrollingElement.scrollWidth <= innerWidth")
        # the chat is the first tab; the line-up is one tap away
        expect(page.locator("#mod-chat")).to_be_visible()
        expect(page.locator("#lineup-pins")).to_be_hidden()
        tabs.locator("[data-tab='lineup']").click()
        pin = page.locator(f"#lineup-pins [data-product-id='{first}'] .pin-toggle")
        expect(pin).to_be_visible()
        expect(page.locator("#mod-chat")).to_be_hidden()
        tabs.locator("[data-tab='setup']").click()
        expect(page.locator("#stream-key-card")).to_be_visible()
        assert not page_errors, page_errors
    finally:
        _end(page, token, sid)

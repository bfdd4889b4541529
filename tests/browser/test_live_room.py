"""The live room in real Chromium pages against the real server: a viewer chats and the host
sees it in the studio, the moderator pins a product from the console and the viewer sees the
card over the video, the moderator deletes a message and it disappears for the viewer."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
TOKEN_KEY = "liveshop.token"


def _register(page: Page) -> dict[str, Any]:
    name = f"fan{uuid.uuid4().hex[:8]}"
    resp = page.request.post(
        "/api/auth/register",
        data={
            "username": name,
            "password": "fan-secret-1",
            "display_name": "Fan <b>One</b>",
            "interests": ["fashion", "beauty", "home", "kitchen", "tech"],
        },
    )
    assert resp.ok, resp.text()
    body: dict[str, Any] = resp.json()
    page.goto("/img/logo.svg")
    page.evaluate("([k, v]) => localStorage.setItem(k, v)", [TOKEN_KEY, body["token"]])
    return body


def test_chat_pins_and_deletion_across_viewer_host_and_moderator(
    make_context: Callable[..., BrowserContext],
    api_login: Callable[..., dict[str, Any]],
) -> None:
    errors: list[str] = []
    host = make_context(viewport=DESKTOP).new_page()
    mod = make_context(viewport=DESKTOP).new_page()
    viewer = make_context().new_page()
    for p in (host, mod, viewer):
        p.on("pageerror", lambda err: errors.append(str(err)))

    host_token = api_login(host, "demo-host")["token"]
    headers = {"Authorization": f"Bearer {host_token}"}
    mine = host.request.get("/api/products?owner=me", headers=headers).json()["items"]
    lineup = [p["id"] for p in mine[:2]]
    created = host.request.post(
        "/api/sessions",
        data={
            "title": f"Room test {uuid.uuid4().hex[:6]}",
            "product_ids": lineup,
            "moderators": ["demo-mod"],
        },
        headers=headers,
    )
    assert created.ok, created.text()
    session = created.json()
    sid = session["id"]

    # the host watches the room panel in the studio
    host.goto(f"/studio.html?session={sid}")
    expect(host.locator("#room-panel .chat-list")).to_have_count(1)

    # a fresh viewer opens the show and chats (HTML stays text)
    _register(viewer)
    viewer.goto(f"/session.html?id={sid}")
    expect(viewer.locator("#chat-form input")).to_be_enabled()
    viewer.fill("#chat-form input", "<b>Is it waterproof?</b>")
    viewer.press("#chat-form input", "Enter")
    mine_row = viewer.locator(".chat-msg", has_text="Is it waterproof?")
    expect(mine_row).to_have_count(1)
    expect(mine_row).not_to_have_class("chat-msg is-pending")
    expect(viewer.locator(".chat-msg b")).to_have_count(0)  # never rendered as HTML

    host_row = host.locator("#room-panel .chat-msg", has_text="<b>Is it waterproof?</b>")
    expect(host_row).to_have_count(1)
    expect(host_row.locator(".chat-author")).to_have_text("Fan <b>One</b>")

    # reaction taps are batched by the page and come back summed in a tick
    viewer.evaluate(
        "() => { window.__hearts = 0; document.addEventListener('liveshop:tick',"
        " (e) => { window.__hearts += (e.detail.reactions || {}).heart || 0; }); }"
    )
    heart = viewer.locator('.reaction-button[data-kind="heart"]')
    for _ in range(3):
        heart.click()
    viewer.wait_for_function("() => window.__hearts === 3")

    # the moderator pins a product from the console; the viewer sees the card over the video
    api_login(mod, "demo-mod")
    mod.goto(f"/moderate.html?id={sid}")
    pin_row = mod.locator(f'#pin-list [data-product-id="{lineup[0]}"]')
    pin_row.locator(".pin-toggle").click()
    expect(pin_row).to_have_class("pin-row is-pinned")
    card = viewer.locator(f'#pinned-cards .pinned-card[data-product-id="{lineup[0]}"]')
    expect(card).to_be_visible()
    expect(card.locator(".pinned-title")).to_have_text(mine[0]["title"])
    buy = card.locator(f'button.pinned-buy[data-product-id="{lineup[0]}"]')
    expect(buy).to_be_visible()
    viewer.evaluate(
        "() => { window.__buys = []; document.addEventListener('liveshop:buy',"
        " (e) => window.__buys.push(e.detail)); }"
    )
    buy.click()
    assert viewer.evaluate("() => window.__buys") == [{"productId": lineup[0], "sessionId": sid}]

    # the moderator deletes the message; it disappears for the viewer and the host
    mod_row = mod.locator("#mod-chat .chat-msg", has_text="Is it waterproof?")
    mod_row.locator(".mod-delete").click()
    expect(viewer.locator(".chat-msg", has_text="Is it waterproof?")).to_have_count(0)
    expect(host_row).to_have_count(0)
    expect(mod.locator("#mod-log li").first).to_contain_text("delete")

    # unpinning takes the card down; the viewer count shows the viewer
    pin_row.locator(".pin-toggle").click()
    expect(card).to_have_count(0)
    expect(viewer.locator("#viewer-count")).to_contain_text("1")

    assert errors == []


def test_chat_stops_auto_scrolling_when_the_viewer_scrolls_up(
    make_context: Callable[..., BrowserContext],
    api_login: Callable[..., dict[str, Any]],
    run_async: Callable[..., Any],
    live_server: str,
) -> None:
    import socketio

    viewer = make_context().new_page()
    host_token = api_login(viewer, "demo-host")["token"]
    created = viewer.request.post(
        "/api/sessions",
        data={"title": f"Scroll test {uuid.uuid4().hex[:6]}"},
        headers={"Authorization": f"Bearer {host_token}"},
    )
    assert created.ok, created.text()
    sid = created.json()["id"]
    _register(viewer)
    viewer.goto(f"/session.html?id={sid}")
    expect(viewer.locator("#chat-form input")).to_be_enabled()

    async def host_says(texts: list[str]) -> None:
        sio = socketio.AsyncClient()
        await sio.connect(live_server, auth={"token": host_token}, transports=["websocket"])
        await sio.call("room:join", {"session_id": sid})
        for text in texts:  # the host is exempt from the chat rate limit
            ack = await sio.call("chat:send", {"session_id": sid, "text": text})
            assert ack["ok"], ack
        await sio.disconnect()

    run_async(host_says([f"line {i}" for i in range(40)]))
    rows = viewer.locator("#chat-slot .chat-msg")
    expect(rows).to_have_count(40)
    at_bottom = (
        "() => { const l = document.querySelector('#chat-slot .chat-list');"
        " return l.scrollHeight - l.scrollTop - l.clientHeight < 30; }"
    )
    viewer.wait_for_function(at_bottom)
    # the viewer scrolls up to read: new messages must not yank the list down
    viewer.evaluate("() => { document.querySelector('#chat-slot .chat-list').scrollTop = 0; }")
    viewer.wait_for_function(
        "() => document.querySelector('#chat-slot .chat-list').scrollTop === 0"
    )
    run_async(host_says(["a new one"]))
    expect(rows.last).to_contain_text("a new one")
    more = viewer.locator("#chat-slot .chat-more")
    expect(more).to_be_visible()
    assert viewer.evaluate("() => document.querySelector('#chat-slot .chat-list').scrollTop") < 5
    more.click()
    viewer.wait_for_function(at_bottom)
    expect(more).to_be_hidden()


def test_logged_out_viewers_read_chat_and_are_offered_to_log_in(
    page: Page, api_login: Callable[..., dict[str, Any]], page_errors: list[str]
) -> None:
    token = api_login(page, "demo-host")["token"]
    created = page.request.post(
        "/api/sessions",
        data={"title": f"Anon test {uuid.uuid4().hex[:6]}"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.ok, created.text()
    sid = created.json()["id"]
    page.evaluate("k => localStorage.removeItem(k)", TOKEN_KEY)
    page.goto(f"/session.html?id={sid}")
    login_link = page.locator("#chat-form a.chat-login")
    expect(login_link).to_be_visible()
    assert f"next=%2Fsession.html%3Fid%3D{sid}" in (login_link.get_attribute("href") or "")
    expect(page.locator("#chat-form input")).to_be_disabled()
    assert page_errors == []


# A browser publisher without the studio: the fake camera over WHIP with the stream key.
PUBLISH_SCRIPT = """async ([sid, key]) => {
  const media = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  const pc = new RTCPeerConnection();
  for (const track of media.getTracks()) pc.addTransceiver(track, { direction: "sendonly" });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((done) => {
    if (pc.iceGatheringState === "complete") return done();
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") done();
    });
    setTimeout(done, 3000);
  });
  const resp = await fetch(`/whip/${sid}`, {
    method: "POST",
    headers: { "Content-Type": "application/sdp", Authorization: `Bearer ${key}` },
    body: pc.localDescription.sdp,
  });
  if (resp.status !== 201) throw new Error(`WHIP ${resp.status}`);
  await pc.setRemoteDescription({ type: "answer", sdp: await resp.text() });
  window.__publisher = pc;
}"""


def test_a_banned_viewer_loses_the_video_within_2_s_and_cannot_watch_after_a_reload(
    make_context: Callable[..., BrowserContext],
    api_login: Callable[..., dict[str, Any]],
) -> None:
    errors: list[str] = []
    host = make_context(viewport=DESKTOP).new_page()
    mod = make_context(viewport=DESKTOP).new_page()
    viewer = make_context().new_page()
    for p in (mod, viewer):
        p.on("pageerror", lambda err: errors.append(str(err)))
    headers = {"Authorization": f"Bearer {api_login(host, 'demo-host')['token']}"}
    product = host.request.post(
        "/api/products",
        data={"title": "Ban test mug", "price_minor": 1500, "currency": "USD",
              "category": "home", "stock": 5},
        headers=headers,
    )  # fmt: skip
    assert product.ok, product.text()
    pid = int(product.json()["id"])
    created = host.request.post(
        "/api/sessions",
        data={
            "title": f"Ban test {uuid.uuid4().hex[:6]}",
            "moderators": ["demo-mod"],
            "product_ids": [pid],
        },
        headers=headers,
    )
    assert created.ok, created.text()
    sid = created.json()["id"]
    key = host.request.get(f"/api/sessions/{sid}/stream-key", headers=headers).json()
    try:
        host.evaluate(PUBLISH_SCRIPT, [sid, key["stream_key"]])
        _ban_while_watching(mod, viewer, api_login, sid, pid)
    finally:
        host.request.post(f"/api/sessions/{sid}/end", headers=headers)
    assert errors == []


def _ban_while_watching(
    mod: Page, viewer: Page, api_login: Callable[..., dict[str, Any]], sid: int, pid: int
) -> None:
    auth = {"Authorization": f"Bearer {_register(viewer)['token']}"}
    profile = viewer.request.put(
        "/api/me/checkout-profile",
        data={"address": {"name": "Fan One", "line1": "1 Main St", "city": "Springfield",
                          "postal_code": "12345", "country": "US"}, "payment_method": "cod"},
        headers=auth,
    )  # fmt: skip
    assert profile.ok, profile.text()
    viewer.goto(f"/session.html?id={sid}")
    player = viewer.locator("#player")
    expect(player).to_have_attribute("data-video-state", "playing", timeout=20_000)
    viewer.fill("#chat-form input", "hello from the back row")
    viewer.press("#chat-form input", "Enter")

    api_login(mod, "demo-mod")
    mod.goto(f"/moderate.html?id={sid}")
    row = mod.locator("#mod-chat .chat-msg", has_text="hello from the back row")
    row.locator(".mod-ban").click()
    mod.click("#confirm-yes")
    # the picture stops within 2 s of the moderator's confirmation, for good
    expect(player).to_have_attribute("data-video-state", "banned", timeout=2_000)
    assert viewer.evaluate("() => document.getElementById('player').srcObject") is None
    expect(viewer.locator("#chat-form")).to_be_hidden()
    # the log names the viewer (as text), with an Unban button
    entry = mod.locator('#mod-log li[data-action="ban"]')
    expect(entry).to_contain_text("banned Fan <b>One</b>")
    expect(entry.locator(".mod-log-unban")).to_be_visible()

    # a reload: WHEP and the room refuse them, the page says so and plays nothing
    viewer.reload()
    expect(player).to_have_attribute("data-video-state", "banned", timeout=10_000)
    expect(viewer.locator("#video-state")).to_contain_text("You can't watch this show")
    expect(viewer.locator("#video-state")).to_be_visible()
    assert viewer.evaluate("() => document.getElementById('player').videoWidth") == 0
    # and buying from the show is refused, with a sentence (the same product elsewhere is not)
    refused = viewer.request.post(
        "/api/checkout/buy-now",
        data={"product_id": pid, "quantity": 1, "source": {"type": "live", "id": sid}},
        headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert refused.status == 403 and refused.json()["error"]["code"] == "banned", refused.text()
    assert refused.json()["error"]["message"]

    # the log's Unban lifts it: the next reload plays again
    entry.locator(".mod-log-unban").click()
    expect(mod.locator('#mod-log li[data-action="unban"]')).to_contain_text("unbanned Fan")
    viewer.reload()
    expect(player).to_have_attribute("data-video-state", "playing", timeout=20_000)

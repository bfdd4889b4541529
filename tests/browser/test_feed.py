"""The feed page in a real Chromium against the real demo server: swipe with keys and the
wheel, the visible clip plays (currentTime advances) while others stay paused, smile and
comment, and one-tap buy from a clip's product sheet (the order is attributed to the clip)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from support.helpers import wait_for_sync

pytestmark = pytest.mark.browser

TOKEN_KEY = "liveshop.token"


def _register(page: Page) -> dict[str, Any]:
    name = f"swiper{uuid.uuid4().hex[:8]}"
    resp = page.request.post(
        "/api/auth/register",
        data={
            "username": name,
            "password": "pw-secret-1",
            "display_name": "Sam <i>Swiper</i>",
            "interests": ["beauty", "home", "fashion", "tech", "books"],
        },
    )
    assert resp.status == 201, resp.text()
    body: dict[str, Any] = resp.json()
    page.goto("/img/logo.svg")
    page.evaluate("([k, v]) => localStorage.setItem(k, v)", [TOKEN_KEY, body["token"]])
    return body


def _demo_clips_ready(page: Page) -> list[dict[str, Any]]:
    def ready() -> list[dict[str, Any]] | None:
        items = page.request.get("/api/feed?limit=50").json()["items"]
        clips = [i for i in items if i["type"] == "clip"]
        return clips if len(clips) >= 2 else None

    clips: list[dict[str, Any]] = wait_for_sync(
        ready, timeout=120, interval=0.5, message="demo clips"
    )
    return clips


def _active(page: Page) -> int:
    return int(page.locator("#feed").get_attribute("data-active-index") or -1)


def _current_time(page: Page, index: int) -> float:
    return float(
        page.evaluate(
            "(i) => { const v = document.querySelectorAll('.feed-item')[i].querySelector('video');"
            " return v ? v.currentTime : -1; }",
            index,
        )
    )


def test_swipe_play_smile_comment_and_buy(page: Page, page_errors: list[str]) -> None:
    _demo_clips_ready(page)
    user = _register(page)
    page.goto("/feed.html")
    cards = page.locator(".feed-item")
    expect(cards.first).to_be_visible()
    wait_for_sync(lambda: _active(page) == 0, message="first card active")
    count = cards.count()
    assert count >= 3
    # creator names and captions are text, never markup
    assert page.locator(".feed-item .creator-name i").count() == 0

    # keys and the wheel move one card at a time
    page.keyboard.press("ArrowDown")
    wait_for_sync(lambda: _active(page) == 1, message="ArrowDown moves to card 1")
    page.mouse.move(195, 400)
    page.mouse.wheel(0, 120)
    wait_for_sync(lambda: _active(page) == 2, message="wheel moves to card 2")
    page.keyboard.press("ArrowUp")
    wait_for_sync(lambda: _active(page) == 1, message="ArrowUp back to card 1")

    # go to the first clip and watch it play
    types = [cards.nth(i).get_attribute("data-type") for i in range(count)]
    clip_index = types.index("clip")
    for _ in range(abs(clip_index - _active(page))):
        page.keyboard.press("ArrowDown" if clip_index > _active(page) else "ArrowUp")
        time.sleep(0.05)
    wait_for_sync(lambda: _active(page) == clip_index, message="clip card active")
    clip_card = cards.nth(clip_index)
    start = wait_for_sync(
        lambda: (t := _current_time(page, clip_index)) > 0.3 and t, timeout=20, message="clip plays"
    )
    wait_for_sync(
        lambda: _current_time(page, clip_index) > start + 0.5,
        timeout=20,
        message="currentTime advances",
    )
    playing = page.evaluate(
        "() => [...document.querySelectorAll('.feed-item video')].filter(v => !v.paused).length"
    )
    assert playing == 1  # only the visible clip plays

    # smile and comment
    smile = clip_card.locator(".feed-smile")
    before = int(smile.locator(".count").inner_text() or 0)
    smile.click()
    expect(smile).to_have_attribute("aria-pressed", "true")
    expect(smile.locator(".count")).to_have_text(str(before + 1))
    clip_card.locator(".feed-comment").click()
    sheet = page.locator("#comments-sheet")
    expect(sheet).to_be_visible()
    page.fill("#comment-text", "<b>Need this</b>")
    page.click("#comment-send")
    expect(sheet.locator(".comment .text").first).to_have_text("<b>Need this</b>")
    # the sheet shows it, not "No comments yet", and its time reads like people say it
    expect(sheet.locator(".comment .muted").first).to_have_text("just now")
    expect(sheet.locator("#no-comments")).to_have_count(0)
    page.keyboard.press("Escape")
    expect(sheet).to_have_count(0)
    clip_card.locator(".feed-comment").click()  # opened again: loaded from the server
    expect(sheet.locator(".comment .text").first).to_have_text("<b>Need this</b>")
    expect(sheet.locator(".comment .muted").first).to_have_text("just now")
    expect(sheet.locator("#no-comments")).to_have_count(0)
    page.keyboard.press("Escape")
    expect(sheet).to_have_count(0)

    # one-tap buy from the product sheet; first time asks for the address once
    clip_id = int(clip_card.get_attribute("data-id") or 0)
    clip_card.locator(".feed-bag").click()
    bag = page.locator("#bag-sheet")
    expect(bag).to_be_visible()
    bag.locator(".bag-buy").first.click()
    expect(page.locator("#checkout-profile-form")).to_be_visible()
    page.fill("#ship-name", "Sam Swiper")
    page.fill("#ship-line1", "1 Test Street")
    page.fill("#ship-city", "Paris")
    page.fill("#ship-postal", "75001")
    page.fill("#ship-country", "FR")
    page.click("#save-profile")
    done = bag.locator(".bag-done").first
    # the order, or the sentence the page showed instead (so a refusal says what it was)
    expect(page.locator("#bag-sheet .bag-done, .toast-error").first).to_be_visible(timeout=20_000)
    assert page.locator(".toast-error").all_inner_texts() == []
    expect(done).to_have_text("Ordered ✓")
    order_id = done.get_attribute("data-order-id")
    assert order_id

    token = page.evaluate("(k) => localStorage.getItem(k)", TOKEN_KEY)
    order = page.request.get(
        f"/api/orders/{order_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert order.ok, order.text()
    text = json.dumps(order.json())
    assert '"clip"' in text and str(clip_id) in text, text  # attributed to the clip
    assert user["user"]["id"]

    # the clip was reported as seen (counted as a view)
    wait_for_sync(
        lambda: page.request.get(f"/api/clips/{clip_id}").json()["counts"]["views"] >= 1,
        message="view counted",
    )
    assert page_errors == []


def test_replay_chapters_cards_chat_and_hand_cut(page: Page, page_errors: list[str]) -> None:
    _demo_clips_ready(page)
    replays = page.request.get("/api/sessions?state=replays").json()["items"]
    show = next(s for s in replays if s["title"].startswith("Spring Beauty"))
    bundle = page.request.get(f"/api/sessions/{show['id']}/replay").json()
    shirt = next(c for c in bundle["chapters"] if c["product"]["title"] == "Linen Summer Shirt")
    late_chat = max(bundle["chat"], key=lambda m: m["media_time"])

    login_resp = page.request.post(
        "/api/auth/login", data={"username": "demo-mod", "password": "demo"}
    )
    page.goto("/img/logo.svg")
    page.evaluate("([k, v]) => localStorage.setItem(k, v)", [TOKEN_KEY, login_resp.json()["token"]])
    page.goto(f"/replay.html?session={show['id']}")
    expect(page.locator("#replay-title")).to_have_text(show["title"])
    chapters = page.locator(".chapter:not(.chapter-auction)")
    expect(chapters).to_have_count(len(bundle["chapters"]))

    # the demo show's auction: its row in the list, its mark on the strip, and a card that
    # follows the media time (the lead during the bidding, then the result)
    (auction,) = page.request.get(f"/api/sessions/{show['id']}/auctions/timeline").json()["items"]
    expect(page.locator(f".chapter-auction[data-auction-id='{auction['id']}']")).to_be_visible()
    expect(page.locator("#replay-marks .replay-mark[data-kind=auction]")).to_have_count(1)
    card = page.locator("#replay-auction")
    last = auction["leads"][-1]
    seek = "(t) => { document.getElementById('replay-video').currentTime = t; }"
    page.evaluate(seek, last["media_time"] + 0.5)
    expect(card.locator("[data-role=leader]")).to_have_text(
        f"{last['leader']} leads · {last['bids']} bids"
    )
    page.evaluate(seek, auction["end"] + 1)
    expect(card.locator("[data-role=result]")).to_have_text(auction["result_text"])
    page.evaluate(seek, auction["start"] - 5)
    expect(card).to_be_hidden()

    # jumping to the shirt's chapter seeks there and its product card shows on the video
    page.locator(f".chapter[data-product-id='{shirt['product']['id']}']").click()
    wait_for_sync(
        lambda: (
            page.evaluate("() => document.getElementById('replay-video').currentTime")
            >= shirt["start"]
        ),
        timeout=20,
        message="seeked to the chapter",
    )
    expect(
        page.locator(f"#replay-cards .replay-card[data-product-id='{shirt['product']['id']}']")
    ).to_be_visible()
    # the chat shows what was said up to now, not what comes later
    page.locator("[data-tab=chat]").click()
    expect(page.locator("#replay-chat li").first).to_be_visible()
    shown = page.locator("#replay-chat .text").all_inner_texts()
    assert shown and late_chat["text"] not in shown
    assert all(m["text"] in shown for m in bundle["chat"] if m["media_time"] <= shirt["start"])

    # a moderator cuts a clip by hand
    page.locator("[data-tab=clips]").click()
    expect(page.locator("#cut-form")).to_be_visible()
    before = page.locator("#replay-clips .clip-row").count()
    page.fill("#cut-start", "20")
    page.fill("#cut-end", "27")
    page.fill("#cut-title", "Candle close-up")
    page.locator("#cut-products input").first.check()
    page.click("#cut-submit")
    expect(page.locator("#replay-clips .clip-row")).to_have_count(before + 1, timeout=30_000)
    expect(page.locator("#replay-clips")).to_contain_text("Candle close-up")
    assert page_errors == []

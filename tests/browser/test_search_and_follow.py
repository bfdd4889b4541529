"""Search, creator pages and the Following feed in a real Chromium against the demo server:
a viewer opens Search from the top bar, finds a product with the show and the clip that
feature it, opens the creator's page, follows them, and sees their clips in Following; a
host's name on the home page leads to the same page."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from support.helpers import wait_for_sync

pytestmark = pytest.mark.browser

TOKEN_KEY = "liveshop.token"


def _demo_clip(page: Page) -> dict[str, Any]:
    """A demo clip with a product (the demo processes its show at start-up)."""

    def ready() -> dict[str, Any] | None:
        items = page.request.get("/api/feed?limit=50").json()["items"]
        clips = [i for i in items if i["type"] == "clip" and i["products"]]
        return clips[0] if clips else None

    clip: dict[str, Any] = wait_for_sync(ready, timeout=120, interval=0.5, message="demo clips")
    return clip


def _sign_up(page: Page) -> None:
    resp = page.request.post(
        "/api/auth/register",
        data={
            "username": f"finder{uuid.uuid4().hex[:8]}",
            "password": "pw-secret-1",
            "display_name": "Fran Finder",
            "interests": ["beauty", "home", "fashion", "tech", "books"],
        },
    )
    assert resp.status == 201, resp.text()
    page.goto("/img/logo.svg")
    page.evaluate("([k, v]) => localStorage.setItem(k, v)", [TOKEN_KEY, resp.json()["token"]])


def test_find_a_product_show_and_clip_then_follow_the_creator(
    page: Page, page_errors: list[str]
) -> None:
    clip = _demo_clip(page)
    product, creator = clip["products"][0], clip["creator"]
    _sign_up(page)

    # Search is in the top bar (the tab bar on a phone)
    page.goto("/")
    page.locator("nav [data-nav='search']").click()
    page.wait_for_url("**/search.html*")
    page.fill("#search-q", product["title"].split(",")[0])
    page.keyboard.press("Enter")
    found = page.locator(f".found-product[data-product-id='{product['id']}']")
    expect(found).to_be_visible()
    show = found.locator(f".show-card[data-session-id='{clip['clip']['session_id']}']")
    expect(show).to_be_visible()
    expect(found.locator(f".clip-card[data-clip-id='{clip['id']}']")).to_be_visible()
    assert "q=" in page.url  # the search is in the address: shareable, back works
    assert page.locator(".found-product .product-title i").count() == 0  # text, not markup

    # the creator, by name, then their page
    page.fill("#search-q", creator["display_name"])
    page.locator("#search-kinds [data-kind='creators']").click()
    row = page.locator(f".creator-row[data-creator-id='{creator['id']}']")
    expect(row).to_be_visible()
    expect(page.locator("#found-products")).to_have_count(0)
    row.click()
    page.wait_for_url(f"**/creator.html?id={creator['id']}")
    expect(page.locator("#creator-name")).to_have_text(creator["display_name"])
    expect(page.locator(f"#creator-clips .clip-card[data-clip-id='{clip['id']}']")).to_be_visible()
    follow = page.locator("#follow-button")
    expect(follow).to_have_attribute("aria-pressed", "false")
    before = page.request.get(f"/api/creators/{creator['id']}").json()["followers"]
    follow.click()
    expect(follow).to_have_attribute("aria-pressed", "true")
    expect(follow).to_have_text("Following")
    expect(page.locator("#creator-meta")).to_contain_text(f"{before + 1} follower")

    # the Following tab of the feed holds that creator's clips and posts, and no one else's
    page.goto("/feed.html")
    page.locator("#tab-following").click()
    page.wait_for_url("**/feed.html?tab=following")
    expect(page.locator("#tab-following")).to_have_attribute("aria-current", "page")
    cards = page.locator(".feed-item")
    expect(cards.first).to_be_visible()
    creators = {cards.nth(i).get_attribute("data-creator-id") for i in range(cards.count())}
    assert creators == {str(creator["id"])}
    expect(page.locator(f".feed-item[data-item-id='{clip['item_id']}']")).to_have_count(1)

    # a host's name on the home page opens their page (the card itself opens the show)
    page.goto("/")
    page.locator(f".show-card .creator-link[data-creator-id='{creator['id']}']").first.click()
    page.wait_for_url(f"**/creator.html?id={creator['id']}")
    expect(page.locator("#follow-button")).to_have_attribute("aria-pressed", "true")
    assert page_errors == []

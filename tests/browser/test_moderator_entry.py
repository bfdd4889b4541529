"""Moderators find the console from the watch page; plain viewers do not see the way in."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def _demo_session_id(base: str) -> int:
    with urllib.request.urlopen(base + "/api/sessions?state=upcoming", timeout=5) as resp:
        items = json.loads(resp.read())["items"]
    return next(s["id"] for s in items if s["title"] == "Fall Fashion Live: Layers & Linen")


def test_moderator_link_only_for_the_shows_moderators(
    page: Page, live_server: str, api_login: Callable[..., dict[str, Any]]
) -> None:
    sid = _demo_session_id(live_server)
    api_login(page, "demo-viewer")
    page.goto(f"/session.html?id={sid}")
    expect(page.locator("#show-title")).to_have_text("Fall Fashion Live: Layers & Linen")
    expect(page.locator("#moderate-link")).to_have_count(0)

    api_login(page, "demo-mod")
    page.goto(f"/session.html?id={sid}")
    link = page.locator("#moderate-link")
    expect(link).to_be_visible()
    link.click()
    page.wait_for_url(f"**/moderate.html?id={sid}")
    expect(page.get_by_text("Moderator console")).to_be_visible()

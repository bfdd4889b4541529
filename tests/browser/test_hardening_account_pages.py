"""Issue 12 (hardening), the accounts findings in the browser: where ?next= may lead after
log-in (finding 15) and what "Log out" does (finding 19)."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

pytestmark = pytest.mark.browser

EVIL = re.compile(r"^https?://([^/]*\.)?evil\.invalid(:\d+)?/")

# Raw query values: the page reads them decoded once (URLSearchParams).
CRAFTED = [
    "/%09/evil.invalid",  # the finding: a tab, which URL parsing drops: "//evil.invalid"
    "/%0A/evil.invalid",  # a line feed, dropped the same way
    "/%0D%0A/evil.invalid",
    "/%5Cevil.invalid",  # "/\evil.invalid": browsers read a backslash as a slash
    "/%5C%5Cevil.invalid",
    "%2F%2Fevil.invalid",  # "//evil.invalid": protocol-relative
    "//evil.invalid",
    "https://evil.invalid/",
    "/%2509/evil.invalid",  # encoded twice: "/%09/evil.invalid" once decoded
    "/%252F/evil.invalid",
    "%20//evil.invalid",  # leading space, trimmed by URL parsing
    "javascript:alert(1)",
]


# -- finding 15: after log-in, ?next= never sends the browser off-site ---------------------
def _log_in_with_next(page: Page, raw_next: str) -> str:
    page.goto(f"/login.html?next={raw_next}")
    page.fill("#username", "demo-viewer")
    page.fill("#password", "demo")
    page.click("#login-submit")
    page.wait_for_url(lambda url: "/login.html" not in url)
    page.wait_for_load_state()
    return page.url


def test_finding_15_crafted_next_after_log_in_stays_on_site(
    make_context: Callable[..., BrowserContext], live_server: str
) -> None:
    context = make_context()
    offsite: list[str] = []

    def trap(route: Route) -> None:
        offsite.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>evil</h1>")

    # an off-site navigation is caught and answered here, never sent out
    context.route(EVIL, trap)
    page = context.new_page()
    dialogs: list[Any] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    here = urlparse(live_server)
    for raw in CRAFTED:
        landed = urlparse(_log_in_with_next(page, raw))
        assert (landed.scheme, landed.netloc) == (here.scheme, here.netloc), (raw, landed)
        assert landed.path == "/", (raw, landed)  # a viewer's default landing page
    assert offsite == []
    assert dialogs == []
    # a real same-site path is still followed
    landed = urlparse(_log_in_with_next(page, "%2Forders.html%3Ftab%3Dall"))
    assert (landed.netloc, landed.path, landed.query) == (here.netloc, "/orders.html", "tab=all")


def test_log_in_while_the_nav_is_still_loading(
    make_context: Callable[..., BrowserContext], live_server: str
) -> None:
    """The log-in form works before the page's nav has its answer, and the browser never
    sends the form itself (which would put the password in the address). CI once clicked
    "Log in" while /api/me was still on its way and the page reloaded with the fields in
    its query string."""
    context = make_context()
    page = context.new_page()
    _log_in_with_next(page, "/")  # a stored token: the next page asks /api/me who it is
    held: list[Route] = []
    # that answer does not come until released
    context.route("**/api/me", lambda route: held.append(route))
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url))
    with page.expect_request("**/api/me"):
        page.goto("/login.html?next=%2Forders.html")
    page.fill("#username", "demo-viewer")
    page.fill("#password", "demo")
    page.click("#login-submit")
    page.wait_for_url(lambda url: "/orders.html" in url)
    assert not [url for url in sent if "password" in url or "demo-viewer" in url]
    context.unroute("**/api/me")
    for route in held:
        with contextlib.suppress(Exception):  # its page is gone; nothing waits for it
            route.continue_()


# -- finding 19: "Log out" revokes the token on the server, not only in this browser ------
def test_finding_19_log_out_in_the_menu_revokes_the_token(page: Page, login: Any) -> None:
    name = f"leaver{uuid.uuid4().hex[:8]}"
    signed_up = page.request.post(
        "/api/auth/register",
        data={
            "username": name,
            "password": "right-pw-1",
            "interests": ["fashion", "beauty", "home", "kitchen", "tech"],
        },
    )
    assert signed_up.status == 201
    login(page, name, "right-pw-1")
    token = page.evaluate("() => localStorage.getItem('liveshop.token')")
    bearer = {"Authorization": f"Bearer {token}"}
    assert page.request.get("/api/me", headers=bearer).status == 200
    page.click("#user-button")
    page.click("#logout")
    page.wait_for_function("() => !localStorage.getItem('liveshop.token')")
    expect(page.locator("#topbar a[href='/signup.html']")).to_be_visible()
    # the token is dead on the server too: a copy of it (another tab, a leak) gets nowhere
    assert page.request.get("/api/me", headers=bearer).status == 401

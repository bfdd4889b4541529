"""The admin screen (Done when of issue 13): an admin makes a user a host, who can then
schedule a show."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

INTERESTS5 = ["fashion", "beauty", "home", "kitchen", "tech"]


def test_admin_makes_a_user_a_host_who_then_schedules_a_show(
    page: Page,
    page_errors: list[str],
    make_context: Callable[..., BrowserContext],
    api_login: Callable[..., dict[str, Any]],
    login: Callable[..., None],
) -> None:
    username = f"newhost-{uuid.uuid4().hex[:6]}"
    password = "pw-new-host-1"
    registered = page.request.post(
        "/api/auth/register",
        data={
            "username": username,
            "password": password,
            "display_name": "Nora New",
            "interests": INTERESTS5,
        },
    )
    assert registered.status == 201, registered.text()

    api_login(page, "admin")
    page.goto("/admin.html")
    page.fill("#user-query", username)
    row = page.locator(f"#user-list li[data-username='{username}']")
    expect(row).to_be_visible()
    expect(page.locator("#user-list li")).to_have_count(1)
    row.locator("select[data-action=role]").select_option("host")
    page.click("#confirm-yes")
    expect(page.locator(".toast")).to_contain_text("Nora New is now a host")
    token = page.evaluate("localStorage.getItem('liveshop.token')")
    stored = page.request.get(
        f"/api/admin/users?q={username}", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert stored["items"][0]["role"] == "host"
    page.click("#tab-reports")
    expect(page.locator("#report-list")).to_have_attribute("aria-busy", "false")
    expect(page.locator("#flag-list")).to_have_attribute("aria-busy", "false")

    host = make_context().new_page()
    host.on("pageerror", lambda err: page_errors.append(str(err)))
    login(host, username, password)
    host.goto("/studio.html")
    host.click("#schedule-open")
    title = f"Nora's first show {uuid.uuid4().hex[:4]}"
    host.fill("#schedule-title", title)
    host.click("#schedule-submit")
    expect(host.locator("#schedule-form")).to_have_count(0)
    expect(host.locator("#my-sessions")).to_contain_text(title)
    assert page_errors == []

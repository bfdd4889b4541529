"""The watch page's quality toggle with a Chromium simulcast host: Data saver moves the
viewer to the smallest layer and HD back to the largest, each at a keyframe, and the
viewer's picture never stands still for long across a switch (Chromium decodes on through
the change of layer: sequence numbers, timestamps and SSRC of one stream)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from support.helpers import ServerProcess, wait_for_sync

pytestmark = [pytest.mark.browser, pytest.mark.solo]

DESKTOP = {"width": 1280, "height": 900}
FRAMES = "() => document.getElementById('player').getVideoPlaybackQuality().totalVideoFrames"
WIDTH = "() => document.getElementById('player').videoWidth"


def _token(page: Page) -> str:
    return str(page.evaluate("() => localStorage.getItem('liveshop.token')"))


def _layers(page: Page, session_id: int) -> list[dict[str, Any]]:
    body = page.request.get(f"/api/sessions/{session_id}/broadcast").json()
    return [x for x in body["layers"] if x["live"] and x["width"]]


def _watch_until(viewer: Page, done: Callable[[], bool], timeout: float) -> float:
    """Poll until ``done``; returns the longest time the decoded-frame count stood still."""
    deadline = time.monotonic() + timeout
    last, since, longest = -1, time.monotonic(), 0.0
    while time.monotonic() < deadline:
        frames = int(viewer.evaluate(FRAMES))
        now = time.monotonic()
        if frames != last:
            last, since = frames, now
        longest = max(longest, now - since)
        if done():
            return longest
        viewer.wait_for_timeout(200)
    raise AssertionError(f"timed out after {timeout} s (width {viewer.evaluate(WIDTH)})")


def test_data_saver_and_hd_move_the_viewer_between_layers(
    make_context: Callable[..., BrowserContext],
    api_login: Callable[..., Any],
    live_server_process: ServerProcess,
) -> None:
    host = make_context(viewport=DESKTOP).new_page()
    errors: list[str] = []
    host.on("pageerror", lambda e: errors.append(str(e)))
    api_login(host, "demo-host")
    resp = host.request.post(
        "/api/sessions",
        data={"title": "Quality"},
        headers={"Authorization": f"Bearer {_token(host)}"},
    )
    session_id = int(resp.json()["id"])
    try:
        host.goto(f"/studio.html?session={session_id}")
        host.wait_for_function(
            "() => document.getElementById('broadcast-preview')?.videoWidth >= 1280",
            timeout=15_000,
        )
        host.click("#broadcast-start")
        expect(host.locator("#broadcast-stop")).to_be_visible(timeout=20_000)

        def layered() -> bool:
            return len({x["width"] for x in _layers(host, session_id)}) >= 2

        wait_for_sync(layered, 45, interval=0.5, message="two live layers")
        viewer = make_context().new_page()
        viewer.on("pageerror", lambda e: errors.append(str(e)))
        viewer.goto(f"/session.html?id={session_id}")
        toggle = viewer.locator("#quality")
        expect(toggle).to_be_visible(timeout=20_000)  # the host sends layers
        toggle.select_option("high")

        def top() -> int:
            return max(x["width"] for x in _layers(host, session_id))

        def smallest() -> int:
            return min(x["width"] for x in _layers(host, session_id))

        def on(width: Callable[[], int]) -> Callable[[], bool]:
            return lambda: int(viewer.evaluate(WIDTH)) == width()

        _watch_until(viewer, on(top), 30)
        toggle.select_option("low")
        still_down = _watch_until(viewer, on(smallest), 15)
        low_width = int(viewer.evaluate(WIDTH))
        toggle.select_option("high")
        still_up = _watch_until(viewer, on(top), 15)
        high_width = int(viewer.evaluate(WIDTH))
        print(
            f"low {low_width}, high {high_width}, longest stills {still_down:.2f} {still_up:.2f} s"
        )
        assert low_width < high_width
        assert still_down < 1.5 and still_up < 1.5, (still_down, still_up)
        # the choice is kept for the next visit
        viewer.reload()
        expect(viewer.locator("#quality")).to_have_value("high", timeout=10_000)
        assert not errors, errors
    finally:
        host.request.post(
            f"/api/sessions/{session_id}/end", headers={"Authorization": f"Bearer {_token(host)}"}
        )

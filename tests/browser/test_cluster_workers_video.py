"""Chromium on `liveshop serve --workers 2`: the host goes live in the studio, two viewer
pages play, and their WHEP lands on different processes (each takes one WebRTC viewer: the
second page's POST is answered 307 to the other process, which the page's fetch follows
across origins, CORS preflight included)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect

from live_server.cluster import RedisClusterStore
from support.cluster import REDIS_URL, new_prefix, node_env
from support.helpers import ServerProcess, start_server_process, wait_for_sync

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.solo]
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def workers_server(tmp_path: Path, run_async: Callable[..., Any]) -> Iterator[ServerProcess]:
    prefix = new_prefix("browser-workers")
    server = start_server_process(
        tmp_path / "var",
        extra_args=["--workers", "2", "--redis-url", REDIS_URL],
        env=node_env(prefix, LIVESHOP_MAX_WEBRTC_VIEWERS="1"),
    )
    yield server
    server.stop()

    async def clean() -> None:
        store = RedisClusterStore.from_url(REDIS_URL, prefix)
        await store.delete_all()
        await store.close()

    run_async(clean())  # Playwright's sync API owns this thread's event loop


def test_two_viewers_on_two_workers_both_play(
    # the server first: torn down after the pages (with their Socket.IO connections) are
    # closed, or its graceful stop waits on those connections (about 13 s)
    workers_server: ServerProcess,
    make_context: Callable[..., BrowserContext],
    api_login: Callable[..., Any],
) -> None:
    base = workers_server.url
    host = make_context(viewport=DESKTOP, base_url=base).new_page()
    errors: list[str] = []
    host.on("pageerror", lambda e: errors.append(str(e)))
    api_login(host, "demo-host")
    token = host.evaluate("() => localStorage.getItem('liveshop.token')")
    auth = {"Authorization": f"Bearer {token}"}
    resp = host.request.post("/api/sessions", data={"title": "Two workers"}, headers=auth)
    session_id = int(resp.json()["id"])
    try:
        host.goto(f"/studio.html?session={session_id}")
        host.wait_for_function(
            "() => document.getElementById('broadcast-preview')?.videoWidth > 0", timeout=15_000
        )
        host.click("#broadcast-start")
        wait_for_sync(
            lambda: host.request.get(f"/api/sessions/{session_id}").json()["state"] == "live",
            20,
            message="live",
        )
        viewers = []
        for _ in range(2):
            viewer = make_context(base_url=base).new_page()
            viewer.on("pageerror", lambda e: errors.append(str(e)))
            viewer.goto(f"/session.html?id={session_id}")
            viewer.wait_for_function(
                "() => document.getElementById('player').videoWidth > 0", timeout=30_000
            )
            viewers.append(viewer)
        for viewer in viewers:
            t0 = viewer.evaluate("() => document.getElementById('player').currentTime")
            viewer.wait_for_function(
                f"() => document.getElementById('player').currentTime > {t0} + 1", timeout=15_000
            )
            expect(viewer.locator("#player")).to_have_attribute("data-tier", "webrtc")

        def spread() -> list[tuple[str, int]] | None:
            body = host.request.get(f"/api/sessions/{session_id}/broadcast").json()
            nodes = sorted((n["role"], n["viewers"]) for n in body["nodes"])
            return nodes if body["viewers"] == 2 else None

        nodes = wait_for_sync(spread, 10, message="two viewers counted")
        assert nodes == [("edge", 1), ("primary", 1)], nodes  # one on each process
        assert not errors, errors
    finally:
        host.request.post(f"/api/sessions/{session_id}/end", headers=auth)

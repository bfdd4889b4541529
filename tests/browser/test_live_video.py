"""Chromium with a fake camera goes live from the host studio (WHIP); a second page plays
the video (WHEP). Also the viewer's 'waiting for host' and 'ended' states."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from support.helpers import wait_for_sync

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}


def schedule(page: Page, title: str) -> int:
    token = page.evaluate("() => localStorage.getItem('liveshop.token')")
    resp = page.request.post(
        "/api/sessions", data={"title": title}, headers={"Authorization": f"Bearer {token}"}
    )
    assert resp.status == 201, resp.text()
    return int(resp.json()["id"])


def state_of(page: Page, session_id: int) -> str:
    return str(page.request.get(f"/api/sessions/{session_id}").json()["state"])


def end_session(page: Page, session_id: int) -> None:
    """Leave no live show behind for later tests (also when a test fails)."""
    token = page.evaluate("() => localStorage.getItem('liveshop.token')")
    page.request.post(
        f"/api/sessions/{session_id}/end", headers={"Authorization": f"Bearer {token}"}
    )


def test_host_goes_live_from_studio_and_viewer_plays_it(
    make_context: Callable[..., BrowserContext], api_login: Callable[..., Any]
) -> None:
    host = make_context(viewport=DESKTOP).new_page()
    errors: list[str] = []
    host.on("pageerror", lambda e: errors.append(str(e)))
    api_login(host, "demo-host")
    session_id = schedule(host, "Browser live test")
    try:
        _live_and_watch(host, make_context, session_id, errors)
    finally:
        end_session(host, session_id)


def _live_and_watch(
    host: Page, make_context: Callable[..., BrowserContext], session_id: int, errors: list[str]
) -> None:
    # the viewer arrives first: waiting for the host (WHEP answers 409 until live)
    viewer = make_context().new_page()
    viewer.on("pageerror", lambda e: errors.append(str(e)))
    viewer.goto(f"/session.html?id={session_id}")
    expect(viewer.locator("#player")).to_have_attribute("data-video-state", "waiting")
    expect(viewer.locator("#video-state")).to_contain_text("Waiting for the host")

    host.goto(f"/studio.html?session={session_id}")
    expect(host.locator("#broadcast-card")).to_be_visible()
    host.wait_for_function(
        "() => document.getElementById('broadcast-preview')?.videoWidth > 0", timeout=15_000
    )
    expect(host.locator("#broadcast-camera option")).not_to_have_count(0)
    expect(host.locator("#broadcast-mic option")).not_to_have_count(0)
    host.click("#broadcast-start")
    expect(host.locator("#broadcast-stop")).to_be_visible(timeout=20_000)
    wait_for_sync(lambda: state_of(host, session_id) == "live", 20, message="session live")
    expect(host.locator("#broadcast-status")).to_contain_text("Live", timeout=10_000)
    expect(host.locator("#broadcast-elapsed")).to_be_visible()
    expect(host.locator("#broadcast-stats")).to_contain_text("kbit/s", timeout=10_000)

    # the viewer's page notices, connects over WHEP and plays real frames
    viewer.wait_for_function(
        "() => document.getElementById('player').videoWidth > 0", timeout=20_000
    )
    t0 = viewer.evaluate("() => document.getElementById('player').currentTime")
    viewer.wait_for_function(
        f"() => document.getElementById('player').currentTime > {t0} + 1", timeout=15_000
    )
    assert viewer.evaluate("() => document.getElementById('player').videoWidth") > 0
    expect(viewer.locator("#player")).to_have_attribute("data-video-state", "playing")
    # autoplay is muted; the tap-to-unmute button unmutes
    expect(viewer.locator("#unmute")).to_be_visible()
    viewer.click("#unmute")
    assert viewer.evaluate("() => document.getElementById('player').muted") is False
    expect(viewer.locator("#unmute")).to_be_hidden()
    # the studio counts the WHEP viewer
    expect(host.locator("#broadcast-viewers")).to_contain_text("1 watching", timeout=10_000)

    # End: WHIP DELETE, the session ends, the viewer shows it
    host.click("#broadcast-stop")
    host.click("#confirm-yes")
    wait_for_sync(lambda: state_of(host, session_id) == "ended", 15, message="session ended")
    expect(viewer.locator("#player")).to_have_attribute("data-video-state", "ended", timeout=15_000)
    expect(host.locator("#broadcast-start")).to_be_hidden()
    assert not errors, errors


# alone on the machine: a join's time is DTLS and the first decode, which a busy CPU (another
# worker's browser encoding video) stretches past any target
@pytest.mark.solo
def test_whep_join_to_first_frame_is_fast(
    make_context: Callable[..., BrowserContext], api_login: Callable[..., Any]
) -> None:
    """A browser publisher is live; each viewer's time from its WHEP POST to the first
    decoded frame is measured in the page (requestVideoFrameCallback)."""
    host = make_context(viewport=DESKTOP).new_page()
    api_login(host, "demo-host")
    session_id = schedule(host, "Join latency")
    host.goto(f"/studio.html?session={session_id}")
    host.wait_for_function(
        "() => document.getElementById('broadcast-preview')?.videoWidth > 0", timeout=15_000
    )
    try:
        _measure_joins(host, make_context, session_id)
    finally:
        end_session(host, session_id)


def _measure_joins(
    host: Page, make_context: Callable[..., BrowserContext], session_id: int
) -> None:
    host.click("#broadcast-start")
    wait_for_sync(lambda: state_of(host, session_id) == "live", 20, message="session live")
    probe = make_context().new_page()
    probe.goto("/login.html")
    timings = []
    for _ in range(6):
        ms = probe.evaluate(JOIN_SCRIPT, session_id)
        timings.append(ms)
    timings.sort()
    print("WHEP POST -> first decoded frame (ms):", [round(t) for t in timings])
    # generous bound for a shared 2-core CI box; the target (p95 < 500 ms) is reported
    assert timings[len(timings) // 2] < 1500, timings


JOIN_SCRIPT = """
async (sessionId) => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  const video = document.createElement("video");
  video.muted = true;
  video.playsInline = true;
  document.body.append(video);
  const firstFrame = new Promise((resolve) => {
    pc.ontrack = (e) => {
      if (e.track.kind !== "video") return;
      video.srcObject = new MediaStream([e.track]);
      video.play().catch(() => {});
      video.requestVideoFrameCallback(() => resolve(performance.now()));
    };
  });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => {
    if (pc.iceGatheringState === "complete") return r();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && r();
    setTimeout(r, 3000);
  });
  const t0 = performance.now();
  const resp = await fetch(`/whep/${sessionId}`, {
    method: "POST", headers: { "Content-Type": "application/sdp" }, body: pc.localDescription.sdp,
  });
  if (resp.status !== 201) throw new Error("WHEP " + resp.status);
  const location = resp.headers.get("Location");
  await pc.setRemoteDescription({ type: "answer", sdp: await resp.text() });
  const t1 = await Promise.race([
    firstFrame, new Promise((_, no) => setTimeout(() => no(new Error("no frame")), 10000)),
  ]);
  await fetch(location, { method: "DELETE" });
  pc.close();
  video.remove();
  return t1 - t0;
}
"""

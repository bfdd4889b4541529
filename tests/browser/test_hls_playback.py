"""The standard-latency tier in real Chromium against the real server: hls.js plays a live show
through Debian's nginx (the shipped config and its /hls/ cache); a viewer whose WHEP is refused
moves to LL-HLS without a reload and keeps chatting; a pinned product's card appears with the
frame it was pinned at, read from the picture itself.

The last two open the server directly: through the shipped nginx on a port other than 80,
Socket.IO is refused ("not an accepted origin": the config sends ``Host $host``, which drops
the port that the page's Origin carries), so chat and cards cannot be tested through it yet.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import aiohttp
import pytest
import socketio
from playwright.sync_api import BrowserContext, Page, expect

from support.helpers import wait_for, wait_for_sync
from support.hls_publisher import encode_numbered_h264, h264_publisher, sent_time
from support.nginx import Nginx
from support.peers import encode_opus, http_negotiate

pytestmark = pytest.mark.browser

T = TypeVar("T")
DESKTOP = {"width": 1280, "height": 900}
TOKEN_KEY = "liveshop.token"
FPS = 30
LOOP_FRAMES = 300  # a 10 s loop: far longer than the tier's latency, so a number is unambiguous
WIDTH, HEIGHT = 640, 360
#: a card shows within this much media time of the frame it was pinned at (either side)
CARD_SYNC_S = 0.5


class LoopThread:
    """An asyncio loop in a thread of its own, for the peers and sockets that must keep running
    while Playwright's sync API owns this thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    loop = LoopThread()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def numbered_h264() -> tuple[list[bytes], list[bytes]]:
    """Ten seconds of numbered H.264 frames (a keyframe a second) and a tone in Opus."""
    video = encode_numbered_h264(LOOP_FRAMES, WIDTH, HEIGHT, FPS, 800_000, FPS)
    return video, encode_opus(2.0)


def _token(page: Page, username: str, password: str = "demo") -> str:
    resp = page.request.post("/api/auth/login", data={"username": username, "password": password})
    assert resp.ok, resp.text()
    return str(resp.json()["token"])


def _store_token(page: Page, token: str) -> None:
    page.goto("/img/logo.svg")  # any same-origin document, to reach its localStorage
    page.evaluate("([k, v]) => localStorage.setItem(k, v)", [TOKEN_KEY, token])


def _register(page: Page) -> str:
    name = f"hlsfan{uuid.uuid4().hex[:8]}"
    resp = page.request.post(
        "/api/auth/register",
        data={
            "username": name,
            "password": "fan-secret-1",
            "display_name": "Standard Fan",
            "interests": ["fashion", "beauty", "home", "kitchen", "tech"],
        },
    )
    assert resp.ok, resp.text()
    token = str(resp.json()["token"])
    _store_token(page, token)
    return token


def _show(page: Page, token: str, title: str, **fields: Any) -> dict[str, Any]:
    """A new show of the demo host; unless told otherwise, real-time video for nobody."""
    headers = {"Authorization": f"Bearer {token}"}
    data = {"title": title, "front_row": 0, **fields}
    resp = page.request.post("/api/sessions", data=data, headers=headers)
    assert resp.status == 201, resp.text()
    show: dict[str, Any] = resp.json()
    assert show["front_row"] == data["front_row"]
    assert show["hls_url"] == f"/hls/{show['id']}/index.m3u8"
    return show


def _end(page: Page, token: str, sid: int) -> None:
    page.request.post(f"/api/sessions/{sid}/end", headers={"Authorization": f"Bearer {token}"})


def _state(page: Page, sid: int, token: str | None = None) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return str(page.request.get(f"/api/sessions/{sid}", headers=headers).json()["state"])


async def _publish(base: str, sid: int, key: str, media: tuple[list[bytes], list[bytes]]) -> Any:
    pc, track = h264_publisher(media[0], media[1], FPS)
    async with aiohttp.ClientSession() as http:
        await http_negotiate(http, pc, f"{base}/whip/{sid}", key)
    await wait_for(lambda: pc.connectionState == "connected", 20, message="publisher connected")
    return pc, track


def _go_live(
    page: Page, loop: LoopThread, token: str, sid: int, media: tuple[list[bytes], list[bytes]]
) -> tuple[Any, Any]:
    """The test's own H.264 host of numbered frames goes live over WHIP."""
    key = page.request.get(
        f"/api/sessions/{sid}/stream-key", headers={"Authorization": f"Bearer {token}"}
    ).json()["stream_key"]
    base = page.url.split("/", 3)[:3]
    pc, track = loop.run(_publish("/".join(base), sid, key, media))
    wait_for_sync(lambda: _state(page, sid, token) == "live", 20, message="the show is live")
    return pc, track


def _plays_hls(page: Page) -> None:
    """The viewer page plays real frames on the LL-HLS tier, time advancing."""
    page.wait_for_function(
        "() => { const v = document.getElementById('player');"
        " return v.dataset.tier === 'hls' && v.videoWidth > 0 && v.currentTime > 0; }",
        timeout=30_000,
    )
    t0 = page.evaluate("() => document.getElementById('player').currentTime")
    page.wait_for_function(
        f"() => document.getElementById('player').currentTime > {t0} + 1.5", timeout=15_000
    )
    expect(page.locator("#player")).to_have_attribute("data-video-state", "playing")
    expect(page.locator("#tier-badge")).to_be_visible()
    expect(page.locator("#tier-badge")).to_have_text("Standard latency")


def _hls_requests(page: Page) -> list[dict[str, Any]]:
    requests: list[dict[str, Any]] = []

    def seen(request: Any) -> None:
        if "/hls/" in request.url:
            requests.append({"url": request.url, "headers": request.headers})

    page.on("request", seen)
    return requests


def test_chromium_plays_a_live_show_over_ll_hls_through_nginx(
    make_context: Callable[..., BrowserContext],
    nginx_front: Nginx,
    loop_thread: LoopThread,
    numbered_h264: tuple[list[bytes], list[bytes]],
) -> None:
    errors: list[str] = []
    viewer = make_context(base_url=nginx_front.url).new_page()
    viewer.on("pageerror", lambda e: errors.append(str(e)))
    token = _token(viewer, "demo-host")
    sid = int(_show(viewer, token, f"LL-HLS {uuid.uuid4().hex[:6]}")["id"])
    requests = _hls_requests(viewer)
    pc = None
    try:
        viewer.goto("/img/logo.svg")
        pc, _ = _go_live(viewer, loop_thread, token, sid, numbered_h264)
        viewer.goto(f"/session.html?id={sid}")  # anonymous viewer, opened while live
        _plays_hls(viewer)
        assert viewer.evaluate("() => document.getElementById('player').videoWidth") == WIDTH
        # hls.js in low-latency mode: it asks for parts and blocking playlist reloads
        urls = [r["url"] for r in requests]
        assert any(u.endswith(f"/hls/{sid}/index.m3u8") for u in urls), urls[:5]
        assert any(".p" in u.rsplit("/", 1)[-1] for u in urls), "no part was requested"
        assert any("_HLS_msn=" in u for u in urls), "no blocking playlist reload"
        assert all(u.startswith(nginx_front.url) for u in urls)
        # ... and they went through nginx to the origin
        log = nginx_front.access_log()
        assert f"GET /hls/{sid}/index.m3u8" in log and ".m4s" in log
    finally:
        _end(viewer, token, sid)
        if pc is not None:
            loop_thread.run(pc.close())
    assert not errors, errors


def test_a_viewer_refused_webrtc_moves_to_ll_hls_without_a_reload_and_keeps_chatting(
    make_context: Callable[..., BrowserContext],
    nginx_front: Nginx,
) -> None:
    """A host live from the studio (Chromium's camera, sent as H.264); the show's front row
    is nobody, so the viewer's WHEP is refused (503 front_row_full) and the page switches."""
    errors: list[str] = []
    host = make_context(viewport=DESKTOP).new_page()
    # the viewer's page, chat and video all go through nginx (as behind a real cache)
    viewer = make_context(base_url=nginx_front.url).new_page()
    for page in (host, viewer):
        page.on("pageerror", lambda e: errors.append(str(e)))
    token = _token(host, "demo-host")
    _store_token(host, token)
    sid = int(_show(host, token, f"Front row {uuid.uuid4().hex[:6]}")["id"])
    navigations: list[str] = []
    try:
        _register(viewer)
        viewer.on(
            "framenavigated",
            lambda frame: navigations.append(frame.url) if frame == viewer.main_frame else None,
        )
        refusals: list[int] = []
        viewer.on(
            "response",
            lambda r: refusals.append(r.status) if f"/whep/{sid}" in r.url else None,
        )
        viewer.goto(f"/session.html?id={sid}")
        expect(viewer.locator("#player")).to_have_attribute("data-video-state", "waiting")
        viewer.evaluate("() => { window.__sameDocument = 'before the host went live'; }")

        host.goto(f"/studio.html?session={sid}")
        host.wait_for_function(
            "() => document.getElementById('broadcast-preview')?.videoWidth > 0", timeout=15_000
        )
        expect(host.locator("#front-row-mode")).to_have_value("first")
        expect(host.locator("#front-row-count")).to_have_value("0")
        host.click("#broadcast-start")
        wait_for_sync(lambda: _state(host, sid) == "live", 20, message="the show is live")
        # the studio asked for H.264 and the browser sends it (a remux for LL-HLS)
        expect(host.locator("#broadcast-stats")).to_have_attribute("data-codec", "H264")

        _plays_hls(viewer)
        assert 503 in refusals, refusals
        assert viewer.evaluate("() => window.__sameDocument") == "before the host went live"
        assert viewer.evaluate("() => performance.getEntriesByType('navigation').length") == 1
        assert len(navigations) == 1, navigations
        assert viewer.evaluate("() => document.getElementById('player').muted") is True

        # chat still works, both ways
        viewer.fill("#chat-form input", "Is it real-time?")
        viewer.press("#chat-form input", "Enter")
        mine = viewer.locator(".chat-msg", has_text="Is it real-time?")
        expect(mine).to_have_count(1)
        expect(mine).not_to_have_class("chat-msg is-pending")
        expect(host.locator("#room-panel .chat-msg", has_text="Is it real-time?")).to_have_count(1)
        # the studio counts the viewer on the standard-latency tier
        expect(host.locator("#broadcast-viewers")).to_have_text(
            "1 watching · 0 real-time · 1 standard latency", timeout=15_000
        )

        # the show ends while the viewer is on LL-HLS: the page's usual "ended" state
        host.click("#broadcast-stop")
        host.click("#confirm-yes")
        wait_for_sync(lambda: _state(host, sid) == "ended", 15, message="the show ended")
        expect(viewer.locator("#player")).to_have_attribute(
            "data-video-state", "ended", timeout=25_000
        )
        expect(viewer.locator("#state-message")).to_contain_text("This show has ended")
        expect(viewer.locator("#tier-badge")).to_be_hidden()
        assert len(navigations) == 1, navigations
    finally:
        _end(host, token, sid)
    assert not errors, errors


READ_CARD_FRAME = """
(productId) => {
  window.__card = null;
  window.__frames = []; // [frame number, wall s] of every frame the player put on screen
  window.__seeks = []; // [wall s, element time] of every seek (a player skipping ahead)
  const video = document.getElementById("player");
  const canvas = document.createElement("canvas");
  const read = () => {
    // one row across the middle is enough: 16 black or white bars, most significant first
    const width = video.videoWidth;
    canvas.width = width;
    canvas.height = 1;
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(video, 0, Math.floor(video.videoHeight / 2), width, 1, 0, 0, width, 1);
    const row = ctx.getImageData(0, 0, width, 1).data;
    const bar = Math.floor(width / 16);
    let number = 0;
    for (let bit = 0; bit < 16; bit += 1) {
      const x = bit * bar + Math.floor(bar / 2);
      number = (number << 1) | (row[x * 4] > 128 ? 1 : 0);
    }
    return number;
  };
  const onFrame = () => {
    if (window.__frames.length < 20000) window.__frames.push([read(), Date.now() / 1000]);
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  video.addEventListener("seeking", () => {
    window.__seeks.push([Date.now() / 1000, video.currentTime]);
  });
  let playback = null;
  import("/js/session/playback.js").then((m) => { playback = m; });
  const observer = new MutationObserver(() => {
    const selector = `#pinned-cards .pinned-card[data-product-id="${productId}"]`;
    if (window.__card || !document.querySelector(selector)) return;
    // what the page thought the picture's media time was (for a failure's message)
    const pageTime = playback ? playback.pictureMediaTime() : undefined;
    window.__card = { number: read(), at: Date.now() / 1000, pageTime };
    observer.disconnect();
  });
  observer.observe(document.getElementById("pinned-cards"), { childList: true, subtree: true });
  window.__readNumber = read;
}
"""


def first_shown_at(
    frames: list[list[float]], media_time: float, epoch_s: float, sent_at: list[float]
) -> float | None:
    """When the player first put a frame of media time >= ``media_time`` on screen (wall
    seconds), from the page's record of the numbers it displayed (two such frames in a row,
    so one misread number cannot decide, or the last one recorded); None if it never did."""
    reached: list[bool] = []
    for number, at in frames:
        sent = None if number >= LOOP_FRAMES else sent_time(int(number), at, sent_at, LOOP_FRAMES)
        reached.append(sent is not None and sent - epoch_s >= media_time)
        if len(reached) >= 2 and reached[-2] and reached[-1]:
            return frames[len(reached) - 2][1]
    if reached and reached[-1]:  # the last frame recorded (a player stalled after it)
        return frames[-1][1]
    return None


def test_a_pinned_card_appears_with_the_frame_it_was_pinned_at(
    make_context: Callable[..., BrowserContext],
    nginx_front: Nginx,
    live_server: str,
    loop_thread: LoopThread,
    numbered_h264: tuple[list[bytes], list[bytes]],
) -> None:
    errors: list[str] = []
    viewer = make_context(base_url=nginx_front.url).new_page()
    viewer.on("pageerror", lambda e: errors.append(str(e)))
    token = _token(viewer, "demo-host")
    headers = {"Authorization": f"Bearer {token}"}
    mine = viewer.request.get("/api/products?owner=me", headers=headers).json()["items"]
    product_id = int(mine[0]["id"])
    sid = int(
        _show(viewer, token, f"Pin sync {uuid.uuid4().hex[:6]}", product_ids=[product_id])["id"]
    )
    pc = track = None
    sockets: list[socketio.AsyncClient] = []
    try:
        viewer.goto("/img/logo.svg")
        pc, track = _go_live(viewer, loop_thread, token, sid, numbered_h264)
        viewer.goto(f"/session.html?id={sid}")
        _plays_hls(viewer)
        viewer.wait_for_function(
            "async () => (await import('/js/session/playback.js')).pictureMediaTime() !== null",
            timeout=15_000,
        )
        viewer.evaluate(READ_CARD_FRAME, product_id)
        # the page reads the numbers the publisher drew
        number = viewer.evaluate("() => window.__readNumber()")
        assert 0 <= number < LOOP_FRAMES, number
        info = viewer.request.get(f"/api/sessions/{sid}/hls").json()
        epoch_s = info["media_epoch_ms"] / 1000
        assert info["media_epoch_ms"] is not None

        async def pin() -> dict[str, Any]:
            sio = socketio.AsyncClient(reconnection=False)
            sockets.append(sio)
            await sio.connect(
                live_server, auth={"token": token}, transports=["websocket"], wait_timeout=10
            )
            joined = await sio.call("room:join", {"session_id": sid}, timeout=10)
            assert joined.get("ok"), joined
            ack: dict[str, Any] = await sio.call(
                "pin:add", {"session_id": sid, "product_id": product_id}, timeout=10
            )
            return ack

        pinned_at = time.time()
        ack = loop_thread.run(pin())
        assert ack.get("ok"), ack
        pins = viewer.request.get(f"/api/sessions/{sid}/pins").json()["items"]
        pin_media_time = float(
            next(p for p in pins if p["product_id"] == product_id)["pinned_media_time"]
        )
        card = viewer.locator(f'#pinned-cards .pinned-card[data-product-id="{product_id}"]')
        expect(card).to_be_visible(timeout=15_000)
        seen = viewer.evaluate("() => window.__card")
        assert seen is not None
        frames = viewer.evaluate("() => window.__frames")
        seeks = viewer.evaluate("() => window.__seeks")
        sent_at = list(track.sent_at)
        sent = sent_time(seen["number"], seen["at"], sent_at, LOOP_FRAMES)
        assert sent is not None, seen
        shown_media_time = sent - epoch_s  # the media time of the frame on screen
        offset = shown_media_time - pin_media_time
        # The card is due with the first picture at or after the pin. That is the pin's own
        # frame when the player plays every frame; after a stall the player may skip ahead
        # (hls.js jumps a gap or back to the live edge), and then it is the frame it lands on.
        # None: no picture at or after the pin had been shown when the card appeared (it came
        # a little early, which the first check below judges), so it cannot have been late
        due_at = first_shown_at(frames, pin_media_time, epoch_s, sent_at)
        assert frames, seeks
        late = 0.0 if due_at is None else seen["at"] - due_at
        print(
            f"pinned at media time {pin_media_time:.3f} s; the card appeared over the frame of"
            f" {shown_media_time:.3f} s (offset {offset * 1000:+.0f} ms),"
            f" {late * 1000:+.0f} ms after the first picture at or after the pin,"
            f" {seen['at'] - pinned_at:.2f} s after the pin; picture latency"
            f" {seen['at'] - sent:.2f} s; {len(frames)} frames seen, seeks {seeks}"
        )
        # never before the moment it was pinned (allowing half a second) ...
        assert offset >= -CARD_SYNC_S, (offset, seen)
        # ... and no later than half a second after the first picture that reached it
        assert late <= CARD_SYNC_S, (late, offset, seen, seeks)
        # on this tier the picture is seconds behind: the card was held for it
        assert seen["at"] - pinned_at > 0.5
    finally:
        for sio in sockets:
            loop_thread.run(sio.disconnect())
        _end(viewer, token, sid)
        if pc is not None:
            loop_thread.run(pc.close())
    assert not errors, errors


# A network where UDP does not get through: the page's WHEP offer and the server's answer
# lose their ICE candidates on the way, so the peer connection never connects.
NO_CANDIDATES = """
(() => {
  const strip = (sdp) =>
    sdp.split("\\r\\n").filter((l) => !l.startsWith("a=candidate")).join("\\r\\n");
  const fetch0 = window.fetch;
  window.fetch = async (url, init = {}) => {
    const whep = String(url).includes("/whep/") && init.method === "POST";
    const response = await fetch0(url, whep ? { ...init, body: strip(init.body) } : init);
    if (!whep || response.status !== 201) return response;
    const body = strip(await response.text());
    return new Response(body, { status: 201, headers: response.headers });
  };
})();
"""


def test_a_peer_connection_that_never_connects_moves_to_ll_hls(
    make_context: Callable[..., BrowserContext],
    loop_thread: LoopThread,
    numbered_h264: tuple[list[bytes], list[bytes]],
) -> None:
    errors: list[str] = []
    viewer = make_context().new_page()
    viewer.on("pageerror", lambda e: errors.append(str(e)))
    token = _token(viewer, "demo-host")
    sid = int(_show(viewer, token, f"No UDP {uuid.uuid4().hex[:6]}", front_row=None)["id"])
    whep: list[tuple[str, int]] = []
    viewer.on(
        "response",
        lambda r: whep.append((r.request.method, r.status)) if "/whep/" in r.url else None,
    )
    pc = None
    try:
        viewer.goto("/img/logo.svg")
        pc, _ = _go_live(viewer, loop_thread, token, sid, numbered_h264)
        viewer.add_init_script(NO_CANDIDATES)
        viewer.goto(f"/session.html?id={sid}")
        _plays_hls(viewer)
        # WHEP said yes, the connection never came up, and its resource was let go
        assert ("POST", 201) in whep, whep
        wait_for_sync(
            lambda: any(m == "DELETE" and code < 300 for m, code in whep), 10, message="DELETE"
        )
    finally:
        _end(viewer, token, sid)
        if pc is not None:
            loop_thread.run(pc.close())
    assert not errors, errors


def test_a_private_show_sends_the_token_with_the_multivariant_playlist_only(
    make_context: Callable[..., BrowserContext],
    loop_thread: LoopThread,
    numbered_h264: tuple[list[bytes], list[bytes]],
) -> None:
    """Its moderator watches at standard latency: the multivariant playlist needs the bearer
    token; everything it names is under a signed grant and goes out without a header."""
    errors: list[str] = []
    viewer = make_context().new_page()
    viewer.on("pageerror", lambda e: errors.append(str(e)))
    token = _token(viewer, "demo-host")
    show = _show(
        viewer,
        token,
        f"Private {uuid.uuid4().hex[:6]}",
        visibility="private",
        moderators=["demo-mod"],
    )
    sid = int(show["id"])
    pc = None
    try:
        viewer.goto("/img/logo.svg")
        pc, _ = _go_live(viewer, loop_thread, token, sid, numbered_h264)
        # an outsider gets nothing
        assert viewer.request.get(f"/hls/{sid}/index.m3u8").status == 404
        _store_token(viewer, _token(viewer, "demo-mod"))
        requests = _hls_requests(viewer)
        viewer.goto(f"/session.html?id={sid}")
        _plays_hls(viewer)
        multivariant = [r for r in requests if r["url"].endswith(f"/hls/{sid}/index.m3u8")]
        others = [r for r in requests if r not in multivariant]
        assert multivariant and others
        assert all(
            r["headers"].get("authorization", "").startswith("Bearer ") for r in multivariant
        )
        assert not [r["url"] for r in others if "authorization" in r["headers"]]
        assert all("/public/" not in r["url"] for r in others)  # a signed grant, not "public"
    finally:
        _end(viewer, token, sid)
        if pc is not None:
            loop_thread.run(pc.close())
    assert not errors, errors

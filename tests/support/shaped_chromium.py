"""The three-viewer shaped scenario of `make bench-layers-shaped` (support/shaped_verdict.py).

Runs inside the server namespace (``ip netns exec``):
- an SFU and a small aiohttp app on the namespace's addresses (a host page, a viewer page,
  WHIP and WHEP straight into the SFU);
- Chromium (Playwright) as the host: the fake camera at 1280x720 sent as the studio's three
  layers (``h`` full size up to 1.5 Mbit/s, ``m`` half up to 500 kbit/s, ``l`` a quarter up to
  150 kbit/s, as web_client/js/studio/broadcast.js asks) on one m-line;
- two viewer pages in that Chromium (their media goes over the namespace's loopback);
- a second Chromium started inside the client namespace (its executable is a wrapper that
  ``ip netns exec``s Debian's), whose viewer page reaches the server over the veth pair;
  ``tc tbf`` on the server's end of it shapes what that viewer gets when the plan says so.

Each viewer page counts the frames it presents (``requestVideoFrameCallback``), their size
and any jump of their RTP timestamps (backwards, or more than a second forwards), and reads
its own ``getStats()`` (frames decoded, freezes). One JSON line per viewer and report on
stdout, with the layer the server has chosen for it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import stat
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from live_server.startup import prepare_process
from support.chromium import CHROMIUM, CHROMIUM_ARGS
from support.netns_pair import SERVER_ADDRESS, take_due_step

SESSION = 7
REPORT_S = 0.5
#: host candidates as they are: an mDNS name would mean nothing to the server
ARGS = [*CHROMIUM_ARGS, "--disable-features=WebRtcHideLocalIpsWithMdns"]

GATHERED = """
function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    });
    setTimeout(resolve, 3000);
  });
}
"""

HOST_PAGE = f"""<!doctype html><meta charset="utf-8"><title>host</title>
<video id="preview" muted autoplay playsinline></video>
<script type="module">
{GATHERED}
const LAYERS = [
  {{ rid: "h", maxBitrate: 1_500_000 }},
  {{ rid: "m", scaleResolutionDownBy: 2, maxBitrate: 500_000 }},
  {{ rid: "l", scaleResolutionDownBy: 4, maxBitrate: 150_000 }},
];
const stream = await navigator.mediaDevices.getUserMedia({{
  video: {{ width: 1280, height: 720, frameRate: 30 }}, audio: false,
}});
document.getElementById("preview").srcObject = stream;
const pc = new RTCPeerConnection();
const transceiver = pc.addTransceiver(stream.getVideoTracks()[0], {{
  direction: "sendonly", sendEncodings: LAYERS,
}});
// keep each layer's size on a busy CI machine (support/simulcast_host.py says why)
const params = transceiver.sender.getParameters();
params.degradationPreference = "maintain-resolution";
await transceiver.sender.setParameters(params);
await pc.setLocalDescription(await pc.createOffer());
await gathered(pc);
const response = await fetch("/whip", {{ method: "POST", body: pc.localDescription.sdp }});
await pc.setRemoteDescription({{ type: "answer", sdp: await response.text() }});
window.hostPc = pc;
window.hostReport = async () => {{
  const out = {{}};
  (await pc.getStats()).forEach((s) => {{
    if (s.type === "outbound-rtp" && s.kind === "video") {{
      out[s.rid] = [s.framesEncoded ?? 0, s.frameWidth ?? 0, s.qualityLimitationReason ?? "",
                    s.active ?? null];
    }}
  }});
  return out;
}};
</script>
"""

VIEWER_PAGE = f"""<!doctype html><meta charset="utf-8"><title>viewer</title>
<video id="player" muted autoplay playsinline></video>
<script type="module">
{GATHERED}
const video = document.getElementById("player");
const seen = {{ frames: 0, size: null, last: null, jumps: [] }};
const onFrame = (now, meta) => {{
  seen.frames += 1;
  seen.size = [meta.width, meta.height];
  if (typeof meta.rtpTimestamp === "number") {{
    if (seen.last !== null) {{
      const delta = (meta.rtpTimestamp - seen.last) >>> 0; // 32-bit, wraps
      // backwards (a huge unsigned delta) or over a second forwards: not continuous
      if (delta === 0 || delta > 90000) {{
        seen.jumps.push([Date.now() / 1000, delta, seen.last, meta.rtpTimestamp, meta.width]);
      }}
    }}
    seen.last = meta.rtpTimestamp;
  }}
  video.requestVideoFrameCallback(onFrame);
}};
video.requestVideoFrameCallback(onFrame);
const pc = new RTCPeerConnection();
pc.addTransceiver("video", {{ direction: "recvonly" }});
pc.ontrack = (event) => {{
  video.srcObject = new MediaStream([event.track]);
  video.play().catch(() => {{}});
}};
await pc.setLocalDescription(await pc.createOffer());
await gathered(pc);
const response = await fetch("/whep", {{ method: "POST", body: pc.localDescription.sdp }});
window.viewerId = response.headers.get("X-Viewer");
await pc.setRemoteDescription({{ type: "answer", sdp: await response.text() }});
window.report = async () => {{
  let inbound = null;
  (await pc.getStats()).forEach((s) => {{
    if (s.type === "inbound-rtp" && s.kind === "video") inbound = s;
  }});
  return {{
    frames: seen.frames, size: seen.size, jumps: seen.jumps, ice: pc.iceConnectionState,
    decoded: inbound?.framesDecoded ?? 0, freezes: inbound?.freezeCount ?? 0,
    frozen_s: inbound?.totalFreezesDuration ?? 0, plis: inbound?.pliCount ?? 0,
    nacks: inbound?.nackCount ?? 0, lost: inbound?.packetsLost ?? 0,
    received: inbound?.framesReceived ?? 0, packets: inbound?.packetsReceived ?? 0,
    dropped: inbound?.framesDropped ?? 0, keys: inbound?.keyFramesDecoded ?? 0,
    jb_ms: inbound?.jitterBufferEmittedCount
      ? Math.round((1000 * inbound.jitterBufferDelay) / inbound.jitterBufferEmittedCount) : 0,
    jb_target_ms: inbound?.jitterBufferTargetDelay && inbound?.jitterBufferEmittedCount
      ? Math.round((1000 * inbound.jitterBufferTargetDelay) / inbound.jitterBufferEmittedCount) : 0,
  }};
}};
window.ready = true;
</script>
"""


def _wrapper(client_ns: str, folder: Path) -> Path:
    """An executable that runs Debian's Chromium inside the client namespace."""
    path = folder / "chromium-in-client-ns"
    path.write_text(f'#!/bin/sh\nexec ip netns exec {client_ns} {CHROMIUM} "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _trace_switches() -> None:
    """Print every layer switch's timestamp arithmetic (SHAPED_DEBUG=1)."""
    from live_server.media import fanout

    switch = fanout.ViewerTrack._switch
    start = fanout.FanoutHub.start_source

    def traced(track: Any, hub: Any, pts: int, now: float, *rest: Any) -> None:
        old = track.hub
        before = track.ts_shift
        switch(track, hub, pts, now, *rest)
        _emit(debug="switch", track=track.viewer_id[:6], old=old.layer, new=hub.layer,
              old_last=old.last_pts, pts=pts, since=now - (old.dispatched_at or now),
              shift_before=before, shift=track.ts_shift, pid_shift=track.pid_shift,
              wall=time.time())  # fmt: skip

    def traced_start(hub: Any, media_time_s: float) -> None:
        _emit(debug="start_source", layer=hub.layer, at=media_time_s, last=hub.last_pts,
              wall=time.time())  # fmt: skip
        start(hub, media_time_s)

    fanout.ViewerTrack._switch = traced  # type: ignore[method-assign]
    fanout.FanoutHub.start_source = traced_start  # type: ignore[method-assign]


def _emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


async def _until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.2)


async def run(client_ns: str, dev: str, plan: list[tuple[float, str]]) -> None:
    """``plan``: (seconds from every viewer's first picture, "shape" | "lift" | "end")."""
    from playwright.async_api import async_playwright

    from bench.netns import use_namespace_candidates
    from live_server.media.clock import MediaClock
    from live_server.media.sfu import Sfu

    use_namespace_candidates()
    sfu = Sfu(MediaClock(), publisher_timeout_s=300)
    if os.environ.get("SHAPED_DEBUG"):
        _trace_switches()

    async def whip(request: web.Request) -> web.Response:
        _, answer = await sfu.publish(SESSION, await request.text())
        return web.Response(status=201, text=answer, content_type="application/sdp")

    async def whep(request: web.Request) -> web.Response:
        viewer_id, answer = await sfu.subscribe(SESSION, await request.text())
        return web.Response(
            status=201, text=answer, content_type="application/sdp", headers={"X-Viewer": viewer_id}
        )

    app = web.Application()
    app.router.add_get("/host", lambda _: web.Response(text=HOST_PAGE, content_type="text/html"))
    app.router.add_get(
        "/viewer", lambda _: web.Response(text=VIEWER_PAGE, content_type="text/html")
    )
    app.router.add_post("/whip", whip)
    app.router.add_post("/whep", whep)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "0.0.0.0", 0)  # the namespace's own addresses only
    await site.start()
    port = runner.addresses[0][1]
    folder = Path(tempfile.mkdtemp(prefix="shaped-chromium-"))
    async with async_playwright() as playwright:
        near = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        far = await playwright.chromium.launch(
            executable_path=str(_wrapper(client_ns, folder)), args=ARGS
        )
        try:
            host = await (await near.new_context()).new_page()
            await host.goto(f"http://127.0.0.1:{port}/host")

            async def all_layers() -> bool:
                room = sfu.room(SESSION)
                layers = room.layers if room is not None else None
                rates = layers.rates(time.monotonic()) if layers is not None else []
                return {r.rid for r in rates if r.live} >= {"h", "m", "l"}

            await _until(all_layers, 60, "the host's three layers")
            pages: dict[str, Any] = {}
            for name, browser, origin in (
                ("near-1", near, f"http://127.0.0.1:{port}"),
                ("near-2", near, f"http://127.0.0.1:{port}"),
                ("shaped", far, f"http://{SERVER_ADDRESS}:{port}"),
            ):
                page = await (await browser.new_context()).new_page()
                await page.goto(f"{origin}/viewer")
                pages[name] = page

            async def all_playing() -> bool:
                for page in pages.values():
                    if not await page.evaluate("() => window.ready === true"):
                        return False
                    if (await page.evaluate("() => window.report()"))["frames"] < 1:
                        return False
                return True

            await _until(all_playing, 30, "every viewer's first picture")
            ids = {name: await p.evaluate("() => window.viewerId") for name, p in pages.items()}

            async def all_on_top() -> bool:
                # the plan starts once the host sends its top layer and every viewer gets it
                room = sfu.room(SESSION)
                layers = room.layers if room is not None else None
                if layers is None:
                    return False
                entries = [layers.viewers.get(i) for i in ids.values()]
                return all(e is not None and e.layer == "h" for e in entries)

            await _until(all_on_top, 45, "every viewer on the top layer")
            start = time.monotonic()
            _emit(t=0.0, action="start", wall=time.time())
            steps = list(plan)
            while steps:
                await asyncio.sleep(REPORT_S)
                now = time.monotonic()
                action = take_due_step(steps, now - start, dev)
                if action is not None:
                    _emit(t=now - start, action=action, wall=time.time())
                room = sfu.room(SESSION)
                layers = room.layers if room is not None else None
                # the host's own account of each layer: frames encoded, width, what limits it
                _emit(t=now - start, sender=await host.evaluate("() => window.hostReport()"))
                for name, page in pages.items():
                    entry = layers.viewers.get(ids[name]) if layers is not None else None
                    report = await page.evaluate("() => window.report()")
                    fast = entry.track.fast if entry is not None else None
                    probe = entry.chooser.probe if entry is not None else None
                    server_side = {
                        "host": [r.rid for r in layers.rates(now) if r.live] if layers else [],
                        "probe": probe.rid if probe is not None else None,
                        "padded": fast.padded if fast is not None else None,
                        "rtx": fast.retransmitted if fast is not None else None,
                    }
                    _emit(t=now - start, viewer=name, layer=entry.layer if entry else None,
                          **server_side, **report)  # fmt: skip
        finally:
            await far.close()
            await near.close()
    shutil.rmtree(folder, ignore_errors=True)
    await runner.cleanup()
    await sfu.close()


def main() -> None:
    if os.environ.get("SHAPED_LOG"):
        # the server's own account (layer moves, probes, keyframe requests) on stderr, which
        # run_scenario keeps whole in shaped.jsonl: ms since start, logger, message
        logging.basicConfig(
            level=logging.INFO, stream=sys.stderr, format="%(relativeCreated)d %(name)s %(message)s"
        )
        for name in ("aioice", "aiortc", "aiohttp.access"):
            logging.getLogger(name).setLevel(logging.WARNING)
    prepare_process()
    plan = [(float(t), action) for t, action in json.loads(sys.argv[3])]
    asyncio.run(run(sys.argv[1], sys.argv[2], plan))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()

"""Fan-out benchmark: server CPU per viewer, forwarding encoded frames vs MediaRelay re-encode.

A publisher sends pre-encoded 1280x720 30 fps VP8 (~1.5 Mbit/s) plus Opus; N viewers on
loopback count the frames they receive without decoding them. The server runs in its own
process; its CPU time is read from /proc (psutil) over a fixed window. All modes run in
the same invocation so their ratios are comparable on a noisy shared machine:

- forward: LiveShop's SFU (live_server.media.sfu) with its fast send path: the host's own
  encoded frames, packetised once, written to every viewer in one call of the native send
  loop (live_server/media/native: C, no decode, no per-viewer encode). "of which the fan-out
  send loop" is the main thread's CPU inside ``FanoutHub.dispatch`` (packetise + header +
  SRTP + sendmmsg for every viewer).
- forward-python: the same fast path with LIVESHOP_NATIVE_FANOUT=0: its Python twin
  (live_server/media/aiortc/sendloop.py) does the per-packet work.
- forward-aiortc: the same SFU with LIVESHOP_MEDIA_FAST_PATH off: each viewer's aiortc
  RTCRtpSender packetises and sends (the previous design).
- relay: aiortc's usual fan-out: decode the host's media once and give each viewer a
  MediaRelay proxy track, which aiortc encodes again per viewer.

Usage: python bench/fanout.py [--viewers 1,10,25,50,100] [--python-viewers 10,25,50]
       [--aiortc-viewers 10,25]
       [--relay-viewers 1,2,4] [--window 8] [--viewer-processes 2]
       python bench/fanout.py --workers 2 [--worker-viewers 10,25,40]  (bench/fanout_workers.py)
       python bench/fanout.py --janus [--janus-viewers 10,25,50]  (bench/fanout_janus.py:
       LiveShop beside Janus, in a network namespace of its own; needs root and Debian's janus)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from _common import (
    ViewerProcesses,
    int_list,
    percentile,
    serve_app,
    start_server,
    viewer_worker,
)
from aiohttp import web
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack
from fanout_report import Row, fmt_row, table

from live_server.media import native
from live_server.media.clock import MediaClock
from live_server.media.fanout import FanoutHub
from live_server.media.sfu import Sfu
from live_server.startup import prepare_process
from support.helpers import wait_for
from support.peers import (
    PacketLoopTrack,
    encode_opus,
    http_negotiate,
    selected_addresses,
    viewer_pc,
)

SESSION = 1
FPS = 30
WIDTH, HEIGHT = 1280, 720
BITRATE = 1_500_000

# ---------------------------------------------------------------------------------------
# server process


def serve(mode: str) -> None:
    """Run the bench server (forward or relay) until stopped."""
    import logging

    logging.basicConfig(level=logging.WARNING, format="server %(levelname)s %(name)s %(message)s")
    logging.getLogger("live_server.media.sfu").setLevel(
        logging.DEBUG if os.environ.get("BENCH_DEBUG") else logging.WARNING
    )

    relay_frames_out = [0]
    dispatch_cpu = [0.0]
    # in bench/fanout_janus.py's network namespace, ICE uses the veth address (not 127.0.0.1)
    loopback = not os.environ.get("BENCH_NETNS")
    if not loopback:
        from netns import use_namespace_candidates

        use_namespace_candidates()

    class CountingTrack(MediaStreamTrack):
        """Counts the video frames a relay viewer's sender takes (frames it encodes)."""

        kind = "video"

        def __init__(self, inner: MediaStreamTrack) -> None:
            super().__init__()
            self._inner = inner

        async def recv(self) -> Any:
            frame = await self._inner.recv()
            relay_frames_out[0] += 1
            return frame

    async def make_app() -> web.Application:
        # built inside the server's event loop: the SFU and its peers belong to it
        # the server's process-wide patches, as `liveshop serve --ice-loopback` installs them
        prepare_process(ice_loopback=loopback)
        app = web.Application()
        viewers: list[RTCPeerConnection] = []
        if mode in ("forward", "forward-python", "forward-aiortc"):
            # what LIVESHOP_NATIVE_FANOUT sets: the fast path's send loop, C or Python
            native.set_enabled(mode == "forward")
            if mode == "forward" and native.backend() is None:
                print(f"server: native loop unavailable: {native.unavailable_reason()}")
            # ice_loopback: the server's WebRTC on 127.0.0.1 only, as the setting does it
            sfu = Sfu(
                MediaClock(),
                publisher_timeout_s=3600,
                fast_path=mode != "forward-aiortc",
                ice_loopback=loopback,
            )
            original_dispatch = FanoutHub.dispatch

            def timed_dispatch(self: FanoutHub, packet: Any, keyframe: bool) -> None:
                # main-thread CPU spent handing frames to viewers (on the fast path: sending)
                t0 = time.thread_time()
                original_dispatch(self, packet, keyframe)
                dispatch_cpu[0] += time.thread_time() - t0

            FanoutHub.dispatch = timed_dispatch  # type: ignore[method-assign]

            async def whip(request: web.Request) -> web.Response:
                _, answer = await sfu.publish(SESSION, await request.text())
                return _created(answer)

            async def whep(request: web.Request) -> web.Response:
                _, answer = await sfu.subscribe(SESSION, await request.text())
                return _created(answer)

        else:
            relay = MediaRelay()
            sources: dict[str, MediaStreamTrack] = {}
            publisher: list[RTCPeerConnection] = []

            async def answer(pc: RTCPeerConnection, request: web.Request) -> web.Response:
                offer = RTCSessionDescription(sdp=await request.text(), type="offer")
                await pc.setRemoteDescription(offer)
                await pc.setLocalDescription(await pc.createAnswer())
                return _created(pc.localDescription.sdp)

            async def whip(request: web.Request) -> web.Response:
                pc = RTCPeerConnection()
                publisher.append(pc)
                pc.on("track", lambda track: sources.__setitem__(track.kind, track))
                return await answer(pc, request)

            async def whep(request: web.Request) -> web.Response:
                pc = RTCPeerConnection()
                viewers.append(pc)
                pc.addTrack(CountingTrack(relay.subscribe(sources["video"], buffered=False)))
                pc.addTrack(relay.subscribe(sources["audio"], buffered=False))
                return await answer(pc, request)

        async def stats(request: web.Request) -> web.Response:
            """Frames the server dropped from viewer queues (forward mode), to tell server
            loss from loss on the client side of loopback."""
            dropped = 0
            count = len(viewers)
            frames_out = relay_frames_out[0]
            if mode != "relay":
                count = sfu.viewer_count(SESSION)
                room = sfu.room(SESSION)
                if room is not None:
                    dropped = sum(t.overflows for hub in room.hubs.values() for t in hub.viewers)
                    frames_out = sum(t.delivered for t in room.hubs["video"].viewers)
            return web.json_response(
                {
                    "overflows": dropped,
                    "viewers": count,
                    "video_frames_out": frames_out,
                    "dispatch_cpu_ms": dispatch_cpu[0] * 1000,
                }
            )

        async def ready(request: web.Request) -> web.Response:
            return web.Response(text="ready")

        async def close(_: web.Application) -> None:
            # on SIGTERM: end the peers (and the SFU's pending tasks) before the loop goes
            if mode == "relay":
                await asyncio.gather(*(pc.close() for pc in publisher + viewers))
            else:
                await sfu.close()

        app.router.add_post("/whip", whip)
        app.router.add_post("/whep", whep)
        app.router.add_get("/stats", stats)
        app.router.add_get("/readyz", ready)
        app.on_shutdown.append(close)
        return app

    serve_app(make_app())


def _created(sdp: str) -> web.Response:
    """A WHIP/WHEP 201 (one session per bench server, so the resource URL is nominal)."""
    return web.Response(
        status=201, text=sdp, content_type="application/sdp", headers={"Location": "/resource"}
    )


# ---------------------------------------------------------------------------------------
# client side: publisher and counting viewers


CACHE = Path(__file__).resolve().parent.parent / "var" / "bench" / "fanout-vp8-720p.bin"
NOISE_ROWS = 16  # a moving noise band: what makes the encoder spend ~1.5 Mbit/s


def make_video_frames(seconds: float) -> list[bytes]:
    """Pre-encode 720p VP8 at ~1.5 Mbit/s (a moving gradient plus a noise band); cached."""
    import fractions
    import pickle

    import av

    if CACHE.exists():
        frames: list[bytes] = pickle.loads(CACHE.read_bytes())
        return frames
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    codec.bit_rate = BITRATE
    codec.framerate = fractions.Fraction(FPS, 1)
    codec.time_base = fractions.Fraction(1, FPS)
    codec.gop_size = int(seconds * FPS)  # the loop restarts on the keyframe
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    noise = os.urandom(WIDTH * NOISE_ROWS * 2)
    ramp = bytes(range(256)) * (WIDTH // 256 + 2)
    out: list[bytes] = []
    for i in range(int(seconds * FPS)):
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        grad = ramp[(i * 8) % 256 :][:WIDTH]
        band = noise[(i * 977) % WIDTH :][: WIDTH * NOISE_ROWS]
        luma = grad * (HEIGHT - NOISE_ROWS) + band.ljust(WIDTH * NOISE_ROWS, b"\x80")
        frame.planes[0].update(luma)
        frame.planes[1].update(bytes([128]) * frame.planes[1].buffer_size)
        frame.planes[2].update(bytes([128]) * frame.planes[2].buffer_size)
        frame.pts = i
        out.extend(bytes(p) for p in codec.encode(frame))
    out.extend(bytes(p) for p in codec.encode(None))
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    CACHE.write_bytes(pickle.dumps(out))
    return out


async def run_mode(
    mode: str,
    counts: list[int],
    window: float,
    video: list[bytes],
    audio: list[bytes],
    workers_count: int,
    args_min_delivery: float = 50.0,
) -> list[Row]:
    # the server leg in its own process, so that its CPU time is its own
    server = await asyncio.to_thread(start_server, [sys.executable, __file__, "--serve", mode])
    base = server.url
    rows: list[Row] = []
    workers = ViewerProcesses(__file__, f"{base}/whep", workers_count)
    publisher = RTCPeerConnection()
    vtrack = PacketLoopTrack("video", video, 90000 // FPS, 90000)
    atrack = PacketLoopTrack("audio", audio, 960, 48000)
    publisher.addTransceiver(vtrack, direction="sendonly")
    publisher.addTransceiver(atrack, direction="sendonly")
    try:
        async with aiohttp.ClientSession() as http:
            await http_negotiate(http, publisher, f"{base}/whip")
            await asyncio.sleep(3)  # ICE, DTLS, first frames
            await wait_for(
                lambda: publisher.connectionState == "connected", 20, message="publisher"
            )
            _check_loopback(publisher)
            baseline: float | None = None
            for n in [0, *counts]:
                await workers.grow_to(n)
                await asyncio.sleep(3 if n else 1)  # connections up, keyframe, steady state
                v0 = await workers.snapshot()
                o0 = await server_stats(http, base)
                s0 = (vtrack.sent, atrack.sent)
                c0 = server.cpu_seconds()
                t0 = time.monotonic()
                await asyncio.sleep(window)
                c1 = server.cpu_seconds()
                t1 = time.monotonic()
                s1 = (vtrack.sent, atrack.sent)
                o1 = await server_stats(http, base)
                v1 = await workers.snapshot()
                elapsed = t1 - t0
                cpu_ms_per_s = (c1 - c0) * 1000 / elapsed
                sent_v, sent_a = s1[0] - s0[0], s1[1] - s0[1]
                # viewer-seconds the server really served: video frames its senders took,
                # at the publisher's frame rate (robust to a starved server or client)
                served = (o1["video_frames_out"] - o0["video_frames_out"]) / FPS
                if n == 0:
                    baseline = cpu_ms_per_s
                    rows.append(
                        Row(
                            mode,
                            0,
                            cpu_ms_per_s / 10,
                            None,
                            100.0,
                            100.0,
                            sent_v,
                            {"rss_mb": server.rss_mb()},
                        )
                    )
                    continue
                # frames received / frames the RTP time they cover should hold
                got_v = [
                    (b[0] - a[0]) / max(1.0, (b[2] - a[2]) / (90000 / FPS))
                    for a, b in zip(v0, v1, strict=True)
                ]
                got_a = [
                    (b[1] - a[1]) / max(1.0, (b[3] - a[3]) / 960)
                    for a, b in zip(v0, v1, strict=True)
                ]
                # a viewer that received nothing at all in the window has delivered 0 %
                got_v = [g if b[0] > a[0] else 0.0 for g, a, b in zip(got_v, v0, v1, strict=True)]
                extra_ms = (cpu_ms_per_s - (baseline or 0.0)) * elapsed
                per_viewer = extra_ms / served if served > 0 else None
                rows.append(
                    Row(
                        mode,
                        n,
                        cpu_ms_per_s / 10,
                        per_viewer,
                        100.0 * min(got_v),
                        100.0 * min(got_a),
                        sent_v,
                        {
                            "mean_video_pct": 100.0 * sum(got_v) / len(got_v),
                            "sent_audio": sent_a,
                            "server_queue_overflows": o1["overflows"] - o0["overflows"],
                            "send_ms_per_viewer_s": (
                                (o1["dispatch_cpu_ms"] - o0["dispatch_cpu_ms"]) / served
                                if served > 0 and mode in ("forward", "forward-python")
                                else None
                            ),
                            "served_fraction": served / (n * elapsed),
                            "rss_mb": server.rss_mb(),
                        },
                    )
                )
                print(f"  {mode:8s} {n:4d} viewers: {fmt_row(rows[-1])}", flush=True)
                if publisher.connectionState != "connected":
                    rows[-1].extra["note"] = "publisher connection lost"
                    print(f"  {mode}: publisher lost at {n} viewers, stopping", flush=True)
                    break
                if cpu_ms_per_s > 1800 or rows[-1].video_pct < args_min_delivery:
                    rows[-1].extra["note"] = "saturated"
                    print(f"  {mode}: saturated at {n} viewers, stopping", flush=True)
                    break
    finally:
        workers.close()
        await publisher.close()
        server.stop()
    return rows


def _check_loopback(pc: RTCPeerConnection) -> None:
    """Fail unless the connected ``pc`` pairs 127.0.0.1 with 127.0.0.1 (DESIGN: benchmark
    WebRTC stays on loopback; support.peers pins this process's ICE to it)."""
    pair = selected_addresses(pc)
    if pair is None or pair[0][0] != "127.0.0.1" or pair[1][0] != "127.0.0.1":
        raise RuntimeError(f"WebRTC is not on loopback: selected pair {pair}")


async def server_stats(http: aiohttp.ClientSession, base: str) -> dict[str, int]:
    async with http.get(f"{base}/stats") as resp:
        data: dict[str, int] = await resp.json()
        return data


async def send_path_cost(
    video: list[bytes], audio: list[bytes], native_loop: bool, repeats: int = 5
) -> str:
    """The fast path alone, in this process: one real aiortc viewer (same process, so no
    cross-process wake-ups), a viewer-second of the benchmark's traffic pushed through its
    ``FastRtpSender.send_frame`` (packetised once, like the hub does), main-thread CPU;
    ``native_loop``: the C send loop, else its Python twin."""
    from live_server.media.aiortc.fastpath import SharedPacketizer
    from support.peers import NumberedVideoTrack

    prepare_process(ice_loopback=True)
    native.set_enabled(native_loop)
    sfu = Sfu(MediaClock(), publisher_timeout_s=3600, ice_loopback=True)
    publisher = RTCPeerConnection()
    publisher.addTransceiver(NumberedVideoTrack(), direction="sendonly")
    viewer = viewer_pc()
    try:
        for pc, call in ((publisher, sfu.publish), (viewer, sfu.subscribe)):
            await pc.setLocalDescription(await pc.createOffer())
            _, answer = await call(SESSION, pc.localDescription.sdp)
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
            deadline = time.monotonic() + 20
            while not (sfu.is_receiving(SESSION) and (pc is publisher or _fast(sfu))):
                if time.monotonic() > deadline:
                    raise RuntimeError("send-path bench: viewer not on the fast path")
                await asyncio.sleep(0.05)
        fast = _fast(sfu)
        assert fast is not None and fast.native == native_loop
        vpack = SharedPacketizer("video", "VP8", 90000)
        apack = SharedPacketizer("audio", "opus", 48000)
        frames_v = [vpack.pack(_packet(f, i * 3000, 90000)) for i, f in enumerate(video[:FPS])]
        frames_a = [apack.pack(_packet(f, i * 960, 48000)) for i, f in enumerate(audio[:50])]
        packets = sum(len(p) for p, _ in frames_v) + len(frames_a)
        results = []
        for _ in range(repeats):
            t0 = time.thread_time()
            for payloads, ts in frames_v:
                fast.send_frame(payloads, ts)
            for payloads, ts in frames_a:
                fast.send_frame(payloads, ts)
            results.append((time.thread_time() - t0) * 1000)
            await asyncio.sleep(0.2)  # let the viewer drain its socket
        loop = "native" if native_loop else "Python"
        return (
            f"fast send path alone ({loop} loop), in-process ({packets} packets ="
            " one viewer-second): "
            f"{percentile(results, 0.5):.2f} ms per viewer-second (median of {repeats}; "
            f"min {min(results):.2f}, max {max(results):.2f})"
        )
    finally:
        await viewer.close()
        await publisher.close()
        await sfu.close()


def _fast(sfu: Sfu) -> Any:
    room = sfu.room(SESSION)
    if room is None:
        return None
    tracks = [t for v in room.viewers.values() for t in v.tracks if t.kind == "video"]
    return tracks[0].fast if tracks else None


def _packet(data: bytes, pts: int, rate: int) -> Any:
    import fractions

    import av

    packet = av.Packet(data)
    packet.pts = pts
    packet.time_base = fractions.Fraction(1, rate)
    return packet


async def bench(args: argparse.Namespace) -> None:
    print("pre-encoding 720p VP8 and Opus...", flush=True)
    video = await asyncio.to_thread(make_video_frames, 2.0)
    audio = await asyncio.to_thread(encode_opus, 2.0)
    video_kbps = sum(len(f) for f in video) * 8 / (len(video) / FPS) / 1000
    print(f"  {len(video)} video frames, {video_kbps:.0f} kbit/s", flush=True)
    rows: list[Row] = []
    have_native = native.backend() is not None
    if not have_native:
        print(f"  native send loop unavailable ({native.unavailable_reason()}):"
              " 'forward' is the Python loop", flush=True)  # fmt: skip
    if not args.skip_forward:
        procs = args.viewer_processes
        rows += await run_mode("forward", args.viewers, args.window, video, audio, procs)
        if args.python_viewers and have_native:
            rows += await run_mode(
                "forward-python", args.python_viewers, args.window, video, audio, procs
            )
    if args.aiortc_viewers:
        rows += await run_mode(
            "forward-aiortc", args.aiortc_viewers, args.window, video, audio, args.viewer_processes
        )
    if not args.skip_relay:
        procs = args.viewer_processes
        rows += await run_mode("relay", args.relay_viewers, args.window, video, audio, procs)
    text = table(rows, f"VP8 {WIDTH}x{HEIGHT} {FPS} fps ~{video_kbps:.0f} kbit/s")
    if not args.skip_forward:
        for native_loop in (True, False) if have_native else (False,):
            text += "\n" + await send_path_cost(video, audio, native_loop)
    print()
    print(text)
    if args.json:
        dump = json.dumps([r.__dict__ for r in rows], indent=2)
        await asyncio.to_thread(Path(args.json).write_text, dump)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--serve",
        choices=["forward", "forward-python", "forward-aiortc", "relay"],
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--viewer-worker", help=argparse.SUPPRESS)
    parser.add_argument(
        "--viewer-processes", type=int, default=2, help="processes the viewers run in"
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="workers mode (bench/fanout_workers.py): `liveshop serve --workers N` against one"
        " process, same run",
    )
    parser.add_argument(
        "--worker-viewers",
        type=int_list,
        default="10,25,40",
        help="viewer steps of the workers mode",
    )
    parser.add_argument("--viewers", type=int_list, default="1,10,25,50,100")
    parser.add_argument("--relay-viewers", type=int_list, default="1,2,4")
    parser.add_argument(
        "--python-viewers",
        type=int_list,
        default="10,25,50",
        help="steps for the fast path's Python send loop (LIVESHOP_NATIVE_FANOUT=0); '' skips",
    )
    parser.add_argument(
        "--aiortc-viewers",
        type=int_list,
        default="10,25",
        help="steps for the baseline: forwarding through aiortc's own sender (fast path off)",
    )
    parser.add_argument("--window", type=float, default=8.0, help="measurement window (s)")
    parser.add_argument("--skip-relay", action="store_true")
    parser.add_argument("--skip-forward", action="store_true")
    parser.add_argument("--json", help="also write the rows as JSON here")
    parser.add_argument(
        "--janus",
        action="store_true",
        help="LiveShop beside Janus in a network namespace (bench/fanout_janus.py); the"
        " default when Debian's janus is installed and we are root",
    )
    parser.add_argument(
        "--loopback", action="store_true", help="the loopback-only run even when Janus is here"
    )
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    if args.viewer_worker:
        viewer_worker(args.viewer_worker)  # the WHEP URL
        return
    if not args.workers and (args.janus or not args.loopback):
        from fanout_janus import janus_available
        from fanout_janus import main as janus_main

        if args.janus or janus_available() is None:
            janus_main(sys.argv[1:])
            return
    if args.workers:
        from fanout_workers import run

        asyncio.run(run(args))
        return
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()

"""LL-HLS benchmark (issue 11): what thousands of LL-HLS viewers behind nginx cost the origin.

One real ``liveshop serve --demo --ice-loopback --port 0`` in its own process, Debian's nginx in
front of it with the shipped deploy/nginx/liveshop.conf (tests/support/nginx.py), and on the
demo host's show an aiortc WHIP publisher of numbered H.264 frames (pre-encoded with libx264,
720p30 ~1.5 Mbit/s by default, plus Opus; tests/support/hls_publisher.py), which notes when
each frame left it. Viewers in worker processes (bench/hls_clients.py), all through nginx:

- the crowd: ``--clients`` simulated LL-HLS players (aiohttp) in ``--crowd-procs`` processes,
  playing as hls.js does in low-latency mode (blocking reload for the next part, then its
  parts);
- the probe: one player that asks for each preload-hinted part while it is being made, so it
  sees the moment each part becomes fetchable through nginx (part availability latency);
- ``--decode`` sample players in a process of their own that decode their parts (PyAV) and
  read the frame numbers (LL-HLS glass-to-glass: decoded at the player minus sent);
- the baseline in the same run: ``--webrtc`` aiortc WHEP viewers decoding the same frames
  (WebRTC glass-to-glass).

Two windows: the baseline (publisher, WebRTC viewers, probe and sample players) and then the
same plus the crowd. Origin CPU (its process's own /proc accounting) per 1,000 LL-HLS viewers is
the difference between the windows over the crowd's size; nginx CPU is its master's and
workers'; origin requests and bytes come from its ``/metrics`` (liveshop_hls_requests_total,
liveshop_hls_bytes_total), bytes served by nginx from what the players received. Targets
(exit code 1 if one fails): origin < 5 % of a core per 1,000 viewers, part availability
p95 < 2 s, LL-HLS glass-to-glass p95 < 3 s, WebRTC glass-to-glass p95 < 300 ms.

Usage: python bench/hls.py [--clients 2000] [--seconds 45] [--quick] [--width 1280]
       [--height 720] [--crowd-procs 2] [--decode 2] [--webrtc 3] [--keep-data]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import m3u8  # type: ignore[import-untyped]
from _common import Server, start_server
from hls_playlist import parse
from hls_report import Outcome, Window, hls_counters, report

from support.helpers import wait_for
from support.hls_publisher import encode_numbered_h264, h264_publisher
from support.nginx import Nginx, start_nginx
from support.peers import encode_opus, http_negotiate

FPS = 30
LOOP_S = 10  # the numbered loop: longer than any latency measured, so a number is unambiguous
GOP = 2 * FPS  # a keyframe at LiveShop's segment target (2 s)
DEMO_PASSWORD = "demo"  # live_server/demo/seed.py
CLIENTS = Path(__file__).resolve().parent / "hls_clients.py"


class Worker:
    """A bench/hls_clients.py process, asked over stdin, answering one JSON line each."""

    def __init__(self, name: str, args: list[str]) -> None:
        import subprocess

        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, str(CLIENTS), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    async def _line(self, timeout: float) -> Any:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(self.proc.stdout.readline), timeout)
        if not line:
            raise RuntimeError(f"{self.name} worker exited ({self.proc.poll()})")
        return json.loads(line)

    async def ready(self, timeout: float = 60) -> None:
        """Wait until its viewers are started."""
        await self._line(timeout)

    async def ask(self, command: str, timeout: float = 60) -> Any:
        """Send ``snap`` or ``stop``; its answer."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return await self._line(timeout)

    def cpu_seconds(self) -> float:
        """Its CPU time so far."""
        import psutil

        t = psutil.Process(self.proc.pid).cpu_times()
        return float(t.user + t.system)

    def kill(self) -> None:
        """End it if it is still running."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)


async def api(http: aiohttp.ClientSession, url: str, token: str | None = None, **kw: Any) -> Any:
    """A JSON call (GET, or POST with ``json=``); raises unless 2xx."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    method = "POST" if "json" in kw else "GET"
    async with http.request(method, url, headers=headers, **kw) as resp:
        body = await resp.text()
        if resp.status >= 300:
            raise RuntimeError(f"{method} {url}: {resp.status} {body[:300]}")
        return json.loads(body)


async def go_live(
    http: aiohttp.ClientSession, base: str, video: list[bytes], audio: list[bytes]
) -> tuple[int, Any, Any]:
    """Publish on the demo host's first scheduled show: (show id, peer connection, track)."""
    login = {"username": "demo-host", "password": DEMO_PASSWORD}
    token = (await api(http, f"{base}/api/auth/login", json=login))["token"]
    mine = await api(http, f"{base}/api/sessions/mine", token)
    scheduled = [s for s in mine["items"] if s["state"] == "scheduled"]
    sid = int(min(scheduled, key=lambda s: s["starts_at"])["id"])
    key = (await api(http, f"{base}/api/sessions/{sid}/stream-key", token))["stream_key"]
    pc, track = h264_publisher(video, audio, FPS)
    await http_negotiate(http, pc, f"{base}/whip/{sid}", key)
    await wait_for(lambda: pc.connectionState == "connected", 30, 0.1, "the publisher connected")
    return sid, pc, track


async def check_parser(http: aiohttp.ClientSession, index_url: str) -> str:
    """The media playlist URL, once it lists parts; the crowd's parser must agree with m3u8."""

    async def media_url() -> str | None:
        async with http.get(index_url) as resp:
            if resp.status != 200:
                return None
            variant = m3u8.loads(await resp.text(), uri=index_url)
        return str(variant.playlists[0].absolute_uri) if variant.playlists else None

    url = await wait_for(media_url, 30, 0.2, "the multivariant playlist")

    async def with_parts() -> str | None:
        async with http.get(url) as resp:
            text = await resp.text()
        return text if resp.status == 200 and "#EXT-X-PART:" in text else None

    text = await wait_for(with_parts, 30, 0.2, "a media playlist with parts")
    ours, theirs = parse(text), m3u8.loads(text)
    their_parts = [p.uri for s in theirs.segments for p in s.parts]
    their_hint = theirs.preload_hint.uri if theirs.preload_hint else None
    if [p.uri for p in ours.parts] != their_parts or ours.preload_hint != their_hint:
        raise RuntimeError(f"bench/hls_playlist.py and m3u8 read this differently:\n{text}")
    return str(url)


async def window(
    seconds: float, server: Server, nginx: Nginx, workers: list[Worker], http: Any, base: str
) -> Window:
    """Measure one window: CPU of everyone, the origin's HLS counters, the players' counters."""
    import psutil

    def nginx_cpu() -> float:
        total = 0.0
        for pid in nginx.pids():
            with contextlib.suppress(psutil.NoSuchProcess):
                t = psutil.Process(pid).cpu_times()
                total += t.user + t.system
        return total

    async def metrics() -> dict[str, float]:
        async with http.get(f"{base}/metrics") as resp:
            return hls_counters(await resp.text())

    m0, snaps0 = await metrics(), [await w.ask("snap") for w in workers]
    c0 = (server.cpu_seconds(), nginx_cpu(), sum(w.cpu_seconds() for w in workers))
    t0 = time.time()
    samples: list[float] = []  # the origin's CPU second by second: the noise of its figure
    last, at = c0[0], time.monotonic()
    while time.time() < t0 + seconds:
        await asyncio.sleep(min(1.0, max(0.0, t0 + seconds - time.time())))
        cpu, now = server.cpu_seconds(), time.monotonic()
        if now - at > 0.5:
            samples.append((cpu - last) / (now - at) * 100)
        last, at = cpu, now
    t1 = time.time()
    c1 = (server.cpu_seconds(), nginx_cpu(), sum(w.cpu_seconds() for w in workers))
    m1, snaps1 = await metrics(), [await w.ask("snap") for w in workers]
    return Window(t0, t1, c0, c1, m0, m1, snaps0, snaps1, samples)


async def run(args: argparse.Namespace) -> int:
    """The whole benchmark; returns the exit code."""
    args.load_before = os.getloadavg()[0]
    data_dir = Path(tempfile.mkdtemp(prefix="liveshop-bench-hls-"))
    print(f"pre-encoding {args.width}x{args.height} H.264 ...", file=sys.stderr, flush=True)
    video = await asyncio.to_thread(
        encode_numbered_h264, LOOP_S * FPS, args.width, args.height, FPS, args.bitrate, GOP
    )
    audio = await asyncio.to_thread(encode_opus, 2.0)
    argv = [sys.executable, "-m", "live_server", "serve", "--demo", "--ice-loopback"]
    argv += ["--host", "127.0.0.1", "--port", "0", "--data-dir", str(data_dir / "var")]
    (data_dir / "var").mkdir()
    env = {"LIVESHOP_LOG_LEVEL": "warning", "LIVESHOP_TRUSTED_PROXIES": "127.0.0.1"}
    env["LIVESHOP_HLS"] = "on"
    server = await asyncio.to_thread(
        start_server,
        argv,
        port_file=data_dir / "var" / "server.port",
        log_path=data_dir / "server.log",
        env=env,
        timeout=90,
    )
    nginx: Nginx | None = None
    workers: dict[str, Worker] = {}
    publisher = None
    outcome: Outcome | None = None
    try:
        nginx = await asyncio.to_thread(
            start_nginx,
            server.port,
            data_dir / "nginx",
            worker_processes=args.nginx_workers,
            worker_connections=args.clients * 2 + 512,
            access_log=False,
        )
        base = nginx.url
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=8)) as http:
            sid, publisher, track = await go_live(http, base, video, audio)
            show = await api(http, f"{base}/api/sessions/{sid}")
            if not show.get("hls_url"):
                raise RuntimeError(f"the show has no hls_url (is LIVESHOP_HLS on?): {show}")
            index_url = base + show["hls_url"]
            await check_parser(http, index_url)
            info = await api(http, f"{base}/api/sessions/{sid}/hls")
            print(f"show {sid} live; {index_url}", file=sys.stderr, flush=True)

            workers["probe"] = Worker("probe", ["probe", index_url])
            n = args.decode
            workers["samples"] = Worker(
                "samples", ["crowd", index_url, "--clients", str(n), "--decode", str(n)]
            )
            whep = ["webrtc", f"{base}/whep/{sid}", "--clients", str(args.webrtc)]
            workers["webrtc"] = Worker("webrtc", whep)
            for w in workers.values():
                await w.ready()
            await asyncio.sleep(args.warmup)  # decoders on a keyframe, the probe in step
            measured = list(workers.values())
            print(f"baseline window {args.baseline:g} s ...", file=sys.stderr, flush=True)
            base_window = await window(args.baseline, server, nginx, measured, http, base)

            per = [args.clients // args.crowd_procs] * args.crowd_procs
            per[0] += args.clients - sum(per)
            for i, count in enumerate(per):
                # at the lowest priority: the crowd takes what the machine has left, so that
                # the server, nginx and the measuring viewers are not starved by the simulation
                cmd = ["crowd", index_url, "--clients", str(count), "--track", "20", "--nice", "19"]
                workers[f"crowd{i}"] = Worker(f"crowd{i}", [*cmd, "--ramp", str(args.ramp)])
            for name, w in workers.items():
                if name.startswith("crowd"):
                    await w.ready()
            await asyncio.sleep(args.ramp + args.warmup)
            print(f"{args.clients} players; window {args.seconds:g} s ...", file=sys.stderr)
            measured = list(workers.values())
            crowd_window = await window(args.seconds, server, nginx, measured, http, base)
            results = {name: await w.ask("stop", 120) for name, w in workers.items()}
            outcome = report(
                args, base_window, crowd_window, list(workers), results, track, info, video
            )
    finally:
        for w in workers.values():
            await asyncio.to_thread(w.kill)
        if publisher is not None:
            await publisher.close()
        if nginx is not None:
            await asyncio.to_thread(nginx.stop)
        await asyncio.to_thread(server.stop)
        if outcome is not None and outcome.passed and not args.keep_data:
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            print(f"server data, nginx files and logs kept in {data_dir}", file=sys.stderr)
    print()
    print(outcome.text)
    return 0 if outcome.passed else 1


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0], epilog="make bench-hls (BENCH_ARGS=--quick)"
    )
    parser.add_argument("--clients", type=int, help="LL-HLS players (default 2000; quick 200)")
    parser.add_argument("--seconds", type=float, help="measured window (default 45; quick 12)")
    parser.add_argument("--quick", action="store_true", help="a check of the script, < 60 s")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--bitrate", type=int, default=1_500_000)
    parser.add_argument("--crowd-procs", type=int, help="processes for the crowd (default 2)")
    parser.add_argument("--decode", type=int, default=2, help="players that decode (g2g)")
    parser.add_argument("--webrtc", type=int, default=3, help="WHEP viewers (the baseline)")
    parser.add_argument("--nginx-workers", type=int, default=1)
    parser.add_argument("--keep-data", action="store_true", help="keep the run's files")
    args = parser.parse_args()
    quick = args.quick
    args.clients = args.clients if args.clients is not None else (200 if quick else 2000)
    args.seconds = args.seconds if args.seconds is not None else (12.0 if quick else 45.0)
    args.crowd_procs = args.crowd_procs or (1 if quick or args.clients < 500 else 2)
    args.baseline = min(args.seconds, 20.0)  # the same length, as far as a run's time allows
    args.warmup = 3.0 if quick else 6.0
    args.ramp = min(10.0, args.clients / 200)  # players start over this many seconds
    if args.clients < 1 or args.seconds < 5:
        parser.error("--clients must be at least 1 and --seconds at least 5")

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # unwinds through run()'s clean-up, as Ctrl-C does

    signal.signal(signal.SIGTERM, terminate)
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()

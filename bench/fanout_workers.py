"""Workers mode of the fan-out benchmark: `liveshop serve --workers N` against one process.

`make bench-fanout BENCH_ARGS="--workers 2"`. The same publisher as bench/fanout.py (720p
VP8 ~1.5 Mbit/s + Opus, pre-encoded) goes live through WHIP on a real `liveshop serve
--demo`: first one process (`--workers 1`), then `--workers N` with Redis (the full server
plus N-1 media workers; every viewer's WHEP POST goes to the full server, which serves it or
answers 307 to a worker, and aiohttp follows). Viewers count RTP frames without decoding.
Each process's CPU comes from its own accounting (/proc) over a fixed window.

- CPU ms per viewer-second: the extra CPU over the ingest-only step, summed over every
  server process, per viewer-second received.
- The relay's own cost per worker: one viewer on an idle worker costs the worker's pull and
  the origin's relay leg on top of one viewer's forwarding; measured as (CPU with that one
  viewer - CPU without) - the single process's per-viewer cost.
- Viewers per machine: what N cores serve at those costs, (N x 1000 ms - the origin's ingest
  - the relays) / per-viewer cost, against one process's (1000 ms - ingest) / per-viewer
  cost. On a 2-core machine the viewers themselves need CPU too, so the capacity is this
  calculation from measured costs rather than a ramp to saturation (ratios hold on a
  noisy machine; absolute capacity does not).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil
from _common import ViewerProcesses, start_server, utc_stamp
from aiortc import RTCPeerConnection
from fanout import FPS, make_video_frames

from support.peers import PacketLoopTrack, encode_opus, http_negotiate

REDIS_URL = "redis://127.0.0.1:6379/0"
FANOUT = str(Path(__file__).resolve().parent / "fanout.py")  # runs the viewer processes


@dataclass
class Step:
    """One measurement window."""

    label: str
    viewers: int
    cpu_ms_per_s: dict[str, float]  # per server process (server, worker 1, ...)
    received_s: float  # viewer-seconds of video received in the window
    video_pct: float  # the worst viewer's share of the frames it should have had
    audio_pct: float
    landed: dict[str, int] = field(default_factory=dict)  # viewers per node port

    @property
    def total_ms(self) -> float:
        return sum(self.cpu_ms_per_s.values())


class Cluster:
    """A real `liveshop serve` (with workers or not) and its processes' CPU."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.dir = Path(tempfile.mkdtemp(prefix="bench-workers-"))
        self.prefix = f"bench-workers-{uuid.uuid4().hex[:8]}"

    def start(self) -> None:
        argv = [
            sys.executable, "-m", "live_server", "serve", "--demo", "--ice-loopback",
            "--host", "127.0.0.1", "--port", "0", "--data-dir", str(self.dir / "var"),
            "--workers", str(self.workers),
        ]  # fmt: skip
        env = {
            "LIVESHOP_LOG_LEVEL": "warning",
            "LIVESHOP_MAX_VIEWERS_PER_ADDRESS": "0",
            "LIVESHOP_REDIS_PREFIX": self.prefix,
            "LIVESHOP_HLS": "off",  # this benchmark measures WebRTC forwarding only
        }
        if self.workers > 1:
            argv += ["--redis-url", REDIS_URL]
        self.server = start_server(
            argv, port_file=self.dir / "var" / "server.port", log_path=self.dir / "log", env=env
        )

    def processes(self) -> dict[str, psutil.Process]:
        root = psutil.Process(self.server.process.pid)
        if self.workers == 1:
            return {"server": root}
        out: dict[str, psutil.Process] = {}
        for child in root.children():
            out["worker" if "edge" in child.cmdline() else "server"] = child
        return out

    def cpu(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, proc in self.processes().items():
            t = proc.cpu_times()
            out[name] = t.user + t.system
        return out

    async def worker_url(self) -> str | None:
        if self.workers == 1:
            return None
        from live_server.cluster import RedisClusterStore

        store = RedisClusterStore.from_url(REDIS_URL, self.prefix)
        try:
            for _ in range(100):
                for node in await store.nodes():
                    if node.role == "edge":
                        return node.url
                await asyncio.sleep(0.1)
        finally:
            await store.close()
        raise RuntimeError("no worker registered")

    async def stop(self) -> None:
        self.server.stop()
        if self.workers > 1:
            from live_server.cluster import RedisClusterStore

            store = RedisClusterStore.from_url(REDIS_URL, self.prefix)
            await store.delete_all()
            await store.close()


async def _show(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.post(
        f"{url}/api/auth/login", json={"username": "demo-host", "password": "demo"}
    ) as resp:
        token = (await resp.json())["token"]
    headers = {"Authorization": f"Bearer {token}"}
    async with http.post(f"{url}/api/sessions", json={"title": "Bench"}, headers=headers) as resp:
        session_id = int((await resp.json())["id"])
    async with http.get(f"{url}/api/sessions/{session_id}/stream-key", headers=headers) as resp:
        return session_id, str((await resp.json())["stream_key"])


async def _window(
    cluster: Cluster, viewers: list[ViewerProcesses], label: str, n: int, window: float
) -> Step:
    v0 = [s for p in viewers for s in await p.snapshot()]
    c0, t0 = cluster.cpu(), time.monotonic()
    await asyncio.sleep(window)
    c1, t1 = cluster.cpu(), time.monotonic()
    v1 = [s for p in viewers for s in await p.snapshot()]
    elapsed = t1 - t0
    pairs = list(zip(v0, v1, strict=True))
    got_v = [(b[0] - a[0]) / max(1.0, (b[2] - a[2]) / (90000 / FPS)) for a, b in pairs]
    got_a = [(b[1] - a[1]) / max(1.0, (b[3] - a[3]) / 960) for a, b in zip(v0, v1, strict=True)]
    got_v = [g if b[0] > a[0] else 0.0 for g, a, b in zip(got_v, v0, v1, strict=True)]
    landed = Counter(str(s[4]).split("/whep/")[0].rsplit(":", 1)[-1] for s in v1)
    return Step(
        label,
        n,
        {name: (c1[name] - c0.get(name, c1[name])) * 1000 / elapsed for name in c1},
        sum(b[0] - a[0] for a, b in zip(v0, v1, strict=True)) / FPS,
        100.0 * min(got_v, default=1.0),
        100.0 * min(got_a, default=1.0),
        dict(landed),
    )


async def measure(
    workers: int,
    counts: list[int],
    window: float,
    procs: int,
    video: list[bytes],
    audio: list[bytes],
) -> list[Step]:
    """The steps of one configuration: ingest only, (one viewer on the worker,) then counts."""
    cluster = Cluster(workers)
    await asyncio.to_thread(cluster.start)
    label = "1 process" if workers == 1 else f"{workers} workers"
    steps: list[Step] = []
    publisher = RTCPeerConnection()
    vtrack = PacketLoopTrack("video", video, 90000 // FPS, 90000)
    atrack = PacketLoopTrack("audio", audio, 960, 48000)
    publisher.addTransceiver(vtrack, direction="sendonly")
    publisher.addTransceiver(atrack, direction="sendonly")
    viewers: list[ViewerProcesses] = []
    try:
        async with aiohttp.ClientSession() as http:
            url = cluster.server.url
            session_id, key = await _show(http, url)
            await http_negotiate(http, publisher, f"{url}/whip/{session_id}", key)
            await asyncio.sleep(4)  # ICE, DTLS, first frames, the worker's registry entry
            steps.append(await _window(cluster, [], label, 0, window))
            print(f"  {label}: ingest only {steps[-1].total_ms:.0f} ms/s", flush=True)
            worker = await cluster.worker_url()
            if worker is not None:
                probe = ViewerProcesses(FANOUT, f"{worker}/whep/{session_id}", 1)
                viewers.append(probe)
                await probe.grow_to(1)
                await asyncio.sleep(3)
                steps.append(await _window(cluster, viewers, f"{label}, relay probe", 1, window))
                print(f"  {label}: one viewer on the worker {steps[-1].total_ms:.0f} ms/s")
            crowd = ViewerProcesses(FANOUT, f"{url}/whep/{session_id}", procs)
            viewers.append(crowd)
            for n in counts:
                await crowd.grow_to(n)
                await asyncio.sleep(3)
                step = await _window(cluster, viewers, label, n + len(viewers) - 1, window)
                steps.append(step)
                print(
                    f"  {label}: {step.viewers} viewers {step.total_ms:.0f} ms/s,"
                    f" video min {step.video_pct:.1f} %, on ports {step.landed}",
                    flush=True,
                )
    finally:
        for v in viewers:
            v.close()
        await publisher.close()
        await cluster.stop()
    return steps


def report(single: list[Step], multi: list[Step], workers: int, window: float) -> str:
    """The Markdown table and the capacity figures."""
    lines = [
        f"LiveShop fan-out benchmark, workers mode, {utc_stamp()}, {psutil.cpu_count()} cores;"
        f" {window:g} s windows; every server process's own CPU (/proc)",
        "",
        "| configuration | viewers | server CPU ms/s (per process) | CPU ms per viewer-second"
        " | video frames received (worst viewer) | audio (worst) | viewers per node port |",
        "|---|---|---|---|---|---|---|",
    ]
    probe = next((s for s in multi if "probe" in s.label), None)

    def per_viewer(step: Step, ref: Step) -> float | None:
        # the CPU a step adds over its reference, per viewer-second it adds
        added = step.received_s - (ref.received_s if ref.viewers else 0.0)
        return (step.total_ms - ref.total_ms) * window / added if added > 0 else None

    for steps in (single, multi):
        # one process: over ingest only; workers: over the relay probe (relay already paid)
        ref = probe if steps is multi and probe is not None else steps[0]
        for step in steps:
            cost = per_viewer(step, ref) if step.viewers and step is not ref else None
            per = f"{cost:.2f}" if cost is not None else "-"
            procs = ", ".join(f"{k} {v:.0f}" for k, v in sorted(step.cpu_ms_per_s.items()))
            where = step.landed or "-"
            lines.append(
                f"| {step.label} | {step.viewers or 'ingest only'} | {step.total_ms:.0f} ({procs})"
                f" | {per} | {step.video_pct:.1f} % | {step.audio_pct:.1f} % | {where} |"
            )
    c1 = per_viewer(single[-1], single[0]) or float("nan")
    c2 = per_viewer(multi[-1], probe or multi[0]) or float("nan")
    # the probe step = ingest + the relay + one viewer's forwarding
    relay = (probe.total_ms - multi[0].total_ms - c1) if probe else 0.0
    ingest = single[0].total_ms
    cap1 = (1000 - ingest) / c1
    budget = workers * 1000 - multi[0].total_ms - relay * (workers - 1)
    cap2 = budget / c2
    same = budget / c1
    worst = min(s.video_pct for s in (*single, *multi) if s.viewers)
    lines += [
        "",
        f"- per-viewer CPU: 1 process {c1:.2f} ms per viewer-second, {workers} workers"
        f" {c2:.2f} ({c2 / c1:.2f}x)",
        f"- the relay's own cost per worker (the worker's pull + the origin's relay leg):"
        f" {relay:.1f} ms/s ({relay / 10:.1f} % of a core)",
        f"- viewers one process serves on its core: (1000 - {ingest:.0f} ingest) / {c1:.2f} ="
        f" {cap1:.0f}",
        f"- {workers} workers on {workers} cores at the same per-viewer CPU as one process:"
        f" ({workers} x 1000 - {multi[0].total_ms:.0f} ingest - {workers - 1} x {relay:.0f}"
        f" relay) / {c1:.2f} = {same:.0f} ({same / cap1:.2f}x, target >= 1.8x:"
        f" {'PASS' if same / cap1 >= 1.8 else 'FAIL'}); at their own measured cost"
        f" ({c2:.2f}): {cap2:.0f} ({cap2 / cap1:.2f}x)",
        f"- worst viewer's video in any step: {worst:.1f} %"
        f" (target >= 99 %: {'PASS' if worst >= 99 else 'FAIL'})",
    ]
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> None:
    """`bench/fanout.py --workers N`."""
    print("pre-encoding 720p VP8 and Opus...", flush=True)
    video = await asyncio.to_thread(make_video_frames, 2.0)
    audio = await asyncio.to_thread(encode_opus, 2.0)
    counts = list(args.worker_viewers)
    single = await measure(1, counts, args.window, args.viewer_processes, video, audio)
    multi = await measure(args.workers, counts, args.window, args.viewer_processes, video, audio)
    print()
    print(report(single, multi, args.workers, args.window))

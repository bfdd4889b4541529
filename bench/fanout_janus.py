"""Fan-out benchmark against Janus: LiveShop's SFU beside Janus's VideoRoom, same run.

`make bench-fanout` runs this when Debian's `janus` is installed and we are root
(`make bench-deps` installs it), or `python bench/fanout.py --janus`. The publisher and
the counting viewers are bench/fanout.py's (pre-encoded VP8 1280x720 30 fps ~1.5 Mbit/s +
Opus; viewers count RTP frames without decoding). Janus's libnice skips loopback
candidates, so everything runs in two network namespaces this script makes
(bench/netns.py): the servers on 10.201.0.1, the publisher and viewers on 10.201.0.2, a
veth pair between them; the namespaces are deleted at the end, also after a failure.

Modes, interleaved round by round, each with a fresh server and viewers grown 0 -> N:
- forward: LiveShop's fast path (bench/fanout.py --serve forward, WHIP/WHEP)
- janus-1loop: Janus with `event_loops = 1` (every handle on one event loop thread)
- janus-default: Janus's default (one thread per handle)
- baselines once after the rounds: forward-aiortc (aiortc's own sender) and relay
  (MediaRelay re-encode).
Server CPU is utime + stime of the server process from /proc/<pid>/stat. Cost per
viewer-second = (CPU over the ingest-only step) / viewer-seconds of video the viewers
received, the same formula for every mode.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import aiohttp
from _common import Table, ViewerProcesses, percentile, start_server, utc_stamp, viewer_worker
from aiortc import RTCPeerConnection, RTCSessionDescription
from fanout import BITRATE, FPS, HEIGHT, WIDTH, Row, make_video_frames
from janus_sfu import ROOM, JanusApi, JanusServer, offer_jsep, proc_cpu_seconds
from netns import CLIENT_ADDRESS, SERVER_ADDRESS, Netns, use_namespace_candidates

from support.helpers import wait_for
from support.peers import PacketLoopTrack, encode_opus, http_negotiate, selected_addresses

HERE = os.path.abspath(__file__)
FANOUT = os.path.join(os.path.dirname(HERE), "fanout.py")
Publish = Callable[[aiohttp.ClientSession, RTCPeerConnection], Awaitable[str]]


def janus_available() -> str | None:
    """Why the Janus comparison cannot run here, or None when it can."""
    import shutil

    if shutil.which("janus") is None:
        return "Debian's janus is not installed (make bench-deps)"
    if os.geteuid() != 0:
        return "network namespaces need root"
    return None


# -- targets: a server, how the publisher and viewers reach it, its CPU ----------------------
@dataclass
class Target:
    mode: str
    stop: Callable[[], None]
    cpu_seconds: Callable[[], float]
    rss_mb: Callable[[], float]
    publish: Publish  # returns the URL the viewer processes are given


def start_target(mode: str, server_ns: str) -> Target:
    wrap = ["ip", "netns", "exec", server_ns]
    if mode.startswith("janus"):
        janus = JanusServer(wrap, SERVER_ADDRESS, "lsb-srv", 1 if mode == "janus-1loop" else None)
        try:
            janus.wait_ready()
        except BaseException:
            janus.stop()
            raise

        async def publish_janus(http: aiohttp.ClientSession, pc: RTCPeerConnection) -> str:
            api = JanusApi(http, janus.url)
            await api.open()  # kept open: the publisher's session lives as long as Janus
            handle = await api.attach()
            await pc.setLocalDescription(await pc.createOffer())
            body = {"request": "joinandconfigure", "room": ROOM, "ptype": "publisher"}
            body |= {"audio": True, "video": True}
            event = await api.request(handle, body, offer_jsep(pc.localDescription.sdp))
            answer = RTCSessionDescription(sdp=event["jsep"]["sdp"], type="answer")
            await pc.setRemoteDescription(answer)
            feed = event["plugindata"]["data"]["id"]
            return f"janus+{janus.url}?feed={feed}"

        return Target(mode, janus.stop, janus.cpu_seconds, janus.rss_mb, publish_janus)
    env = {"BENCH_NETNS": "1"}
    server = start_server(
        [*wrap, sys.executable, FANOUT, "--serve", mode], env=env, host=SERVER_ADDRESS
    )

    async def publish_whip(http: aiohttp.ClientSession, pc: RTCPeerConnection) -> str:
        await http_negotiate(http, pc, f"{server.url}/whip")
        return f"{server.url}/whep"

    pid = server.process.pid
    return Target(mode, server.stop, lambda: proc_cpu_seconds(pid), server.rss_mb, publish_whip)


# -- a Janus subscriber in a viewer process ---------------------------------------------------
def janus_viewer_worker(url: str) -> None:
    """``viewer_worker`` whose viewers join Janus's room as subscribers (Janus offers)."""
    parts = urlsplit(url.removeprefix("janus+"))
    base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    feed = int(parse_qs(parts.query)["feed"][0])
    apis: dict[int, JanusApi] = {}

    async def connect(http: aiohttp.ClientSession, pc: RTCPeerConnection) -> str:
        api = apis.get(id(http))
        if api is None:
            api = apis[id(http)] = JanusApi(http, base)
            await api.open()
        handle = await api.attach()
        body = {"request": "join", "ptype": "subscriber", "room": ROOM, "streams": [{"feed": feed}]}
        event = await api.request(handle, body)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=event["jsep"]["sdp"], type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        await api.request(
            handle, {"request": "start"}, offer_jsep(pc.localDescription.sdp, "answer")
        )
        return f"{base}/{api.session}/{handle}"

    viewer_worker(url, connect)


# -- one mode: a server, the publisher, viewers grown step by step ----------------------------
async def run_mode(
    mode: str, args: argparse.Namespace, counts: list[int], media: tuple[list[bytes], list[bytes]]
) -> list[Row]:
    starting = asyncio.get_running_loop().run_in_executor(None, start_target, mode, args.server_ns)
    try:
        target = await asyncio.shield(starting)
    except asyncio.CancelledError:
        (await starting).stop()  # stopped while the server was starting: stop it too
        raise
    publisher = RTCPeerConnection()
    vtrack = PacketLoopTrack("video", media[0], 90000 // FPS, 90000)
    atrack = PacketLoopTrack("audio", media[1], 960, 48000)
    publisher.addTransceiver(vtrack, direction="sendonly")
    publisher.addTransceiver(atrack, direction="sendonly")
    rows: list[Row] = []
    workers: ViewerProcesses | None = None
    try:
        async with aiohttp.ClientSession() as http:
            viewer_url = await target.publish(http, publisher)
            await wait_for(lambda: publisher.connectionState == "connected", 20, message=mode)
            pair = selected_addresses(publisher)
            if pair is None or (pair[0][0], pair[1][0]) != (CLIENT_ADDRESS, SERVER_ADDRESS):
                raise RuntimeError(f"{mode}: publisher not on the veth pair: {pair}")
            await asyncio.sleep(2)  # DTLS, first frames
            workers = ViewerProcesses(HERE, viewer_url, args.viewer_processes)
            baseline = 0.0
            for n in [0, *counts]:
                await workers.grow_to(n)
                await asyncio.sleep(3 if n else 1)  # connections up, keyframe, steady state
                v0, c0, t0 = await workers.snapshot(), target.cpu_seconds(), time.monotonic()
                await asyncio.sleep(args.window)
                c1, t1, v1 = target.cpu_seconds(), time.monotonic(), await workers.snapshot()
                elapsed = t1 - t0
                cpu_ms_per_s = (c1 - c0) * 1000 / elapsed
                if n == 0:
                    baseline = cpu_ms_per_s
                    rows.append(Row(mode, 0, cpu_ms_per_s / 10, None, 100.0, 100.0, 0))
                    rows[-1].extra["rss_mb"] = target.rss_mb()
                    continue
                got_v = [
                    (b[0] - a[0]) / max(1.0, (b[2] - a[2]) / (90000 / FPS)) if b[0] > a[0] else 0.0
                    for a, b in zip(v0, v1, strict=True)
                ]
                got_a = [
                    (b[1] - a[1]) / max(1.0, (b[3] - a[3]) / 960)
                    for a, b in zip(v0, v1, strict=True)
                ]
                received = sum(b[0] - a[0] for a, b in zip(v0, v1, strict=True)) / FPS
                extra_ms = (cpu_ms_per_s - baseline) * elapsed
                per = extra_ms / received if received > 0 else None
                extra = {"mean_video_pct": 100 * sum(got_v) / n, "rss_mb": target.rss_mb()}
                # viewer-seconds received / viewer-seconds in the window: under 1 when the
                # server (or the viewers) did not get the CPU to keep up, whatever the loss
                extra["served"] = received / (n * elapsed)
                row = Row(mode, n, cpu_ms_per_s / 10, per, 100 * min(got_v), 100 * min(got_a), 0)
                row.extra = extra
                rows.append(row)
                cost = "-" if per is None else f"{per:.2f}"
                print(
                    f"  {mode:14s} {n:3d} viewers: cpu {row.cpu_pct:5.1f}%, {cost} ms/viewer-s,"
                    f" video min {row.video_pct:.1f}%",
                    flush=True,
                )
                if cpu_ms_per_s > 1800 or row.video_pct < 50:
                    row.extra["note"] = "saturated"
                    break
    finally:
        if workers is not None:
            workers.close()
        await publisher.close()
        await asyncio.to_thread(target.stop)
    return rows


# -- the table ------------------------------------------------------------------------------
CLEAN_PCT = 99.0  # a step counts only if its worst viewer received this share of the frames


def _costs(rows: list[Row], mode: str, n: int) -> dict[int, float]:
    """A mode's cost per viewer-second at ``n`` viewers, by round, from clean steps only
    (when the viewer processes fall behind on a busy machine, the step says little)."""
    return {
        r.extra.get("round", 0): r.ms_per_viewer_s
        for r in rows
        if r.mode == mode and r.viewers == n and r.ms_per_viewer_s is not None and _clean(r)
    }


def _clean(r: Row) -> bool:
    # received viewer-seconds over 100 % (beyond the snapshots' timing): viewers working
    # off a backlog from an earlier stall, which says as little as a stall
    served = r.extra.get("served", 1.0)
    return r.video_pct >= CLEAN_PCT and CLEAN_PCT / 100 <= served <= 1.05


def _span(values: list[float], spec: str = ".2f", unit: str = "") -> str:
    if not values:
        return "-"
    low, high = min(values), max(values)
    if f"{low:{spec}}" == f"{high:{spec}}":
        return f"{low:{spec}}{unit}"
    return f"{low:{spec}}-{high:{spec}}{unit}"


def report(rows: list[Row], counts: list[int], rounds: int, load: tuple[float, float]) -> str:
    modes = ["forward", "janus-1loop", "janus-default", "forward-aiortc", "relay"]
    steps = Table(
        "mode", "round", "viewers", "server CPU (% of a core)", "CPU ms per viewer-second",
        "video frames received (worst / mean)", "viewer-seconds received", "audio (worst)",
        "server RSS MB",
    )  # fmt: skip
    for r in sorted(rows, key=lambda r: (modes.index(r.mode), r.extra.get("round", 0), r.viewers)):
        per = "-" if r.ms_per_viewer_s is None else f"{r.ms_per_viewer_s:.2f}"
        mean = r.extra.get("mean_video_pct")
        label = "ingest only" if r.viewers == 0 else str(r.viewers)
        steps.add(
            r.mode,
            str(r.extra.get("round", 0) + 1),
            label + (f" ({r.extra['note']})" if r.extra.get("note") else ""),
            f"{r.cpu_pct:.1f}",
            per,
            f"{r.video_pct:.1f} %" + ("" if mean is None else f" / {mean:.1f} %"),
            "-" if "served" not in r.extra else f"{100 * r.extra['served']:.0f} %",
            f"{r.audio_pct:.1f} %",
            f"{r.extra.get('rss_mb', 0):.0f}",
        )
    ratios = Table(
        "viewers", "LiveShop forward (ms per viewer-s)", "Janus one loop", "Janus default",
        "LiveShop / Janus one loop", "LiveShop / Janus default",
    )  # fmt: skip
    for n in counts:
        f, j1, jd = (_costs(rows, m, n) for m in ("forward", "janus-1loop", "janus-default"))
        # a ratio compares runs of the same round (minutes apart on the same machine)
        r1 = [f[k] / j1[k] for k in f if j1.get(k, 0) > 0]
        rd = [f[k] / jd[k] for k in f if jd.get(k, 0) > 0]
        spans = (_span(list(c.values())) for c in (f, j1, jd))
        ratios.add(str(n), *spans, _span(r1, unit="x"), _span(rd, unit="x"))
    lines = [
        f"LiveShop vs Janus fan-out, {utc_stamp()}, {platform.machine()} {os.cpu_count()}"
        f" cores, Python {platform.python_version()}, {rounds} round(s) interleaved;"
        f" load average {load[0]:.1f} at the start, {load[1]:.1f} at the end",
        f"publisher: VP8 {WIDTH}x{HEIGHT} {FPS} fps ~{BITRATE // 1000} kbit/s + Opus;"
        f" servers on {SERVER_ADDRESS}, publisher and viewers on {CLIENT_ADDRESS}"
        " (a veth pair between two network namespaces)",
        "",
        "Cost per viewer-second (range over rounds) and LiveShop's ratio to Janus (per round),"
        f" from steps whose worst viewer received >= {CLEAN_PCT:g} % of the frames and whose"
        f" viewers received {CLEAN_PCT:g}-105 % of the window's viewer-seconds:",
        "",
        ratios.markdown(),
    ]
    fwd = [c for n in counts for c in _costs(rows, "forward", n).values() if c > 0]
    if fwd:
        f_cost = percentile(fwd, 0.5)
        for mode, what in (("forward-aiortc", "aiortc's own sender"), ("relay", "MediaRelay")):
            costs = [
                r.ms_per_viewer_s
                for r in rows
                if r.mode == mode and r.ms_per_viewer_s and _clean(r)
            ]
            if costs:
                c = percentile(costs, 0.5)
                lines.append(
                    f"{what} ({mode}): {c:.2f} ms per viewer-second = {c / f_cost:.1f}x the"
                    f" fast path's median {f_cost:.2f}"
                )
    return "\n".join([*lines, "", "Every step:", "", steps.markdown()])


async def drive(args: argparse.Namespace) -> None:
    """Inside the client namespace: every mode, interleaved, then the table."""
    task = asyncio.current_task()
    assert task is not None
    # SIGTERM as Ctrl-C: cancelled, every server and viewer process is stopped on the way out
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    use_namespace_candidates()
    print("pre-encoding 720p VP8 and Opus...", flush=True)
    media = (await asyncio.to_thread(make_video_frames, 2.0), encode_opus(2.0))
    rows: list[Row] = []
    load = os.getloadavg()[0]
    for round_ in range(args.rounds):
        for mode in ("forward", "janus-1loop", "janus-default"):
            for row in await run_mode(mode, args, args.viewers, media):
                row.extra["round"] = round_
                rows.append(row)
    if args.aiortc_viewers:
        rows += await run_mode("forward-aiortc", args, args.aiortc_viewers, media)
    if args.relay_viewers:
        rows += await run_mode("relay", args, args.relay_viewers, media)
    print()
    print(report(rows, args.viewers, args.rounds, (load, os.getloadavg()[0])))


def main(argv: list[str] | None = None) -> None:
    from _common import int_list

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewer-worker", help=argparse.SUPPRESS)
    parser.add_argument("--server-ns", help=argparse.SUPPRESS)  # set: we run as the driver
    parser.add_argument("--janus", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--janus-viewers", "--viewers", dest="viewers", type=int_list, default="10,25,50"
    )
    parser.add_argument("--aiortc-viewers", type=int_list, default="10,25")
    parser.add_argument("--relay-viewers", type=int_list, default="1,2")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds of the modes")
    parser.add_argument("--window", type=float, default=8.0, help="measurement window (s)")
    parser.add_argument("--viewer-processes", type=int, default=2)
    args, _ = parser.parse_known_args(argv)
    if args.viewer_worker:
        use_namespace_candidates()
        if args.viewer_worker.startswith("janus+"):
            janus_viewer_worker(args.viewer_worker)
        else:
            viewer_worker(args.viewer_worker)
        return
    if args.server_ns:
        asyncio.run(drive(args))
        return
    reason = janus_available()
    if reason:
        sys.exit(f"bench/fanout_janus.py: {reason}")
    forwarded = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--janus"]
    with Netns() as ns:
        argv_ = ns.in_client([sys.executable, HERE, "--server-ns", ns.server, *forwarded])
        sys.exit(_run_driver(subprocess.Popen(argv_)))


def _run_driver(driver: subprocess.Popen[bytes]) -> int:
    """Wait for the driver; on SIGTERM ask it to stop (SIGINT: it stops its servers and
    viewers), so that the namespaces are deleted after everything in them has ended.
    Ctrl-C reaches the driver itself (same process group)."""

    def forward(signum: int, _frame: object) -> None:
        if driver.poll() is None:
            driver.send_signal(signal.SIGINT)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return driver.wait()
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()


if __name__ == "__main__":
    main()

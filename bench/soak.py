"""Soak test (issue 12): abandoned and slow clients against a real server during a real show.

Not a test of the suite and not in CI: it runs for minutes (``make soak``; ``--quick`` checks
the script in about a minute and a half). One real ``liveshop serve --demo --ice-loopback
--port 0`` runs in its own process; against it, all at the same time:

- a real show: a WHIP publisher (pre-encoded VP8 1280x720 30 fps ~1.5 Mbit/s plus Opus, as in
  bench/fanout.py) on the demo host's scheduled show, and WHEP viewers in worker processes that
  count the video and audio frames they receive at the RTP layer;
- abandoned WHEP offers: real aiortc offers with every ``a=candidate`` line removed (ICE
  credentials and a DTLS fingerprint, nothing to connect to), spread evenly over the run;
- slow and idle HTTP connections (one third each): a request head sent one byte every 2-4 s,
  a head followed by a ``Content-Length`` body sent one byte every 2-4 s, or nothing at all;
  each is opened again as soon as the server cuts it off;
- Socket.IO clients (raw WebSockets speaking just enough Engine.IO/Socket.IO v4) that join the
  show's room and then stop reading; each is opened again once the server has dropped it;
- a chat flood from the host and the show's moderator (both exempt from the chat rate limit).

Every second it samples the server process (psutil: RSS, CPU, its TCP and UDP sockets, the
remote port of each TCP socket, which tells whose it is) and the server's own view (``GET
/api/sessions/{id}/broadcast`` WHEP viewers, the room's presence count, ``/metrics``).

At the end of the load the misbehaving clients stop: no more offers and no more connections;
the slow connections keep dripping and the non-reading sockets keep not reading until the
server cuts them off (its own deadlines, never a close from this side). The drain then waits
(bounded) until the server holds nothing of theirs. Targets, each with PASS/FAIL (exit code 1
if any fails):

- server RSS after warm-up vs at the end of the load: within 10 %;
- the real viewers' share of video and audio frames over the whole load: >= 99 %, worst viewer;
- what the misbehaving clients held is gone within 20 s of their stop or cut-off: WHEP
  viewers back to the real ones and the server's UDP sockets back to the baseline taken before
  the load, counted from the last abandoned offer's answer; none of the slow connections'
  sockets left, from the last cut-off (seen by the client: the server closed); for each
  non-reading client, from the first to the last of "left the room" (the presence count) and
  "socket closed" (the server's socket list); and all of it (TCP and UDP sockets back to the
  baseline) from the last of those moments. Samples are 0.5 s apart in the drain.

Every client is on 127.0.0.1, so the server's per-address caps (``max_*_per_address``
settings) are raised for the soak through their LIVESHOP_* variables; the table says which.

Its parts: bench/soak_clients.py (the misbehaving clients and the chat flood) and
bench/soak_measure.py (sizes, samples, verdicts, the table).

Usage: python bench/soak.py [--duration 180] [--quick] [--keep-data] [--samples FILE]
       [--set LIVESHOP_NAME=VALUE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
from _common import _COUNTERS as COUNTERS
from _common import RtpCounter as Counter
from _common import install_rtp_counting, start_server
from aiortc import RTCPeerConnection
from fanout import FPS, _check_loopback, make_video_frames
from soak_clients import (
    HOST,
    SLOW_KINDS,
    AbandonedOffers,
    Chatters,
    Ports,
    SlowHttp,
    StalledSockets,
)
from soak_measure import (
    FULL,
    QUICK,
    Monitor,
    Outcome,
    Profile,
    Sample,
    frame_shares,
    report,
    write_samples,
)

from live_server.settings import settings_field_names
from support.helpers import wait_for
from support.peers import PacketLoopTrack, encode_opus, http_negotiate, viewer_pc

DEMO_PASSWORD = "demo"  # live_server/demo/seed.py: every demo account's password
PER_ADDRESS_CAP = 10_000  # what the soak sets every max_*_per_address setting to


# -- WHEP viewers in worker processes -------------------------------------------------------
def viewer_worker(whep_url: str) -> None:
    """A process of counting viewers driven over stdin: ``add N``, ``states``, ``snap``."""

    install_rtp_counting()  # frames counted at the RTP layer, never decoded

    async def main() -> None:
        viewers: list[tuple[RTCPeerConnection, Counter]] = []
        loop = asyncio.get_running_loop()
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
            if not line or line == "quit":
                break
            try:
                if line.startswith("add "):
                    # a session per batch, closed after it: no keep-alive socket left behind
                    async with aiohttp.ClientSession() as http:
                        for _ in range(int(line.split()[1])):
                            pc = viewer_pc(passthrough=False)  # frames counted, never decoded
                            counter = Counter()
                            for t in pc.getTransceivers():
                                COUNTERS[id(t.receiver)] = (t.kind, counter)
                            viewers.append((pc, counter))
                            await http_negotiate(http, pc, whep_url)
                    reply: Any = "ok"
                elif line == "states":
                    reply = [pc.connectionState for pc, _ in viewers]
                else:  # snap
                    reply = [
                        [c.video_frames, c.audio_frames, c.video_span, c.audio_span]
                        for _, c in viewers
                    ]
            except Exception as exc:
                reply = {"error": repr(exc)}
            print(json.dumps(reply), flush=True)
        for pc, _ in viewers:
            await pc.close()

    asyncio.run(main())


class ViewerWorkers:
    """The viewer processes, spread so that receiving does not starve one interpreter."""

    def __init__(self, whep_url: str, count: int) -> None:
        self.procs = [
            subprocess.Popen(
                [sys.executable, __file__, "--viewer-worker", whep_url],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(count)
        ]

    async def _ask(self, proc: subprocess.Popen[str], line: str, timeout: float = 60) -> Any:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
        reply = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), timeout)
        if not reply:
            raise RuntimeError(f"viewer worker exited ({proc.poll()})")
        data = json.loads(reply)
        if isinstance(data, dict) and "error" in data:
            raise RuntimeError(f"viewer worker: {data['error']}")
        return data

    async def add(self, total: int) -> None:
        """Open ``total`` viewers, as evenly over the processes as they divide."""
        n = len(self.procs)
        shares = [total // n + (1 if i < total % n else 0) for i in range(n)]
        pairs = zip(self.procs, shares, strict=True)
        await asyncio.gather(*(self._ask(p, f"add {k}") for p, k in pairs))

    async def _all(self, line: str) -> list[Any]:
        replies = await asyncio.gather(*(self._ask(p, line) for p in self.procs))
        return [item for reply in replies for item in reply]

    async def states(self) -> list[str]:
        """Every viewer's connectionState."""
        return await self._all("states")

    async def snapshot(self) -> list[list[int]]:
        """Every viewer's [video frames, audio frames, video RTP span, audio RTP span]."""
        return await self._all("snap")

    def close(self) -> None:
        """Ask each process to close its peers and exit; kill what does not."""
        for proc in self.procs:
            try:
                assert proc.stdin is not None
                proc.stdin.write("quit\n")
                proc.stdin.flush()
                proc.wait(20)
            except Exception:
                proc.kill()
                proc.wait(5)


# -- the run ---------------------------------------------------------------------------------
def raised_caps() -> dict[str, str]:
    """LIVESHOP_* variables that lift every per-address cap (all soak clients are 127.0.0.1)."""
    return {
        f"LIVESHOP_{name.upper()}": str(PER_ADDRESS_CAP)
        for name in settings_field_names()
        if name.startswith("max_") and name.endswith("_per_address")
    }


async def api(
    http: aiohttp.ClientSession, method: str, url: str, token: str | None = None, **kw: Any
) -> Any:
    """A JSON call; raises with the server's answer unless it is a 2xx."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = aiohttp.ClientTimeout(total=30)
    async with http.request(method, url, headers=headers, timeout=timeout, **kw) as resp:
        body = await resp.text()
        if resp.status >= 300:
            raise RuntimeError(f"{method} {url}: {resp.status} {body[:300]}")
        return json.loads(body) if body else None


async def log_in(http: aiohttp.ClientSession, base: str, username: str) -> str:
    """A demo account's token."""
    data = await api(
        http,
        "POST",
        f"{base}/api/auth/login",
        json={"username": username, "password": DEMO_PASSWORD},
    )
    return str(data["token"])


async def demo_show(http: aiohttp.ClientSession, base: str, host_token: str) -> int:
    """The demo host's scheduled show that starts first (the demo's "live now" show)."""
    mine = await api(http, "GET", f"{base}/api/sessions/mine", host_token)
    scheduled = [s for s in mine["items"] if s["state"] == "scheduled"]
    if not scheduled:
        raise RuntimeError(f"the demo host has no scheduled show: {mine}")
    return int(min(scheduled, key=lambda s: s["starts_at"])["id"])


async def soak(
    profile: Profile,
    keep: bool,
    samples_to: Path | None = None,
    extra: dict[str, str] | None = None,
) -> int:
    """One run: the server, the show, the load, the drain, the table. Returns the exit code.

    ``extra``: more LIVESHOP_* settings for the server (named in the table's header).
    """
    caps = raised_caps()
    extra = extra or {}
    data_dir = Path(tempfile.mkdtemp(prefix="liveshop-soak-"))
    print("pre-encoding 720p VP8 and Opus (cached)...", file=sys.stderr, flush=True)
    video = await asyncio.to_thread(make_video_frames, 2.0)
    audio = await asyncio.to_thread(encode_opus, 2.0)
    argv = [sys.executable, "-m", "live_server", "serve", "--demo", "--ice-loopback"]
    argv += ["--host", HOST, "--port", "0", "--data-dir", str(data_dir / "var")]
    (data_dir / "var").mkdir()
    server = await asyncio.to_thread(
        start_server,
        argv,
        port_file=data_dir / "var" / "server.port",
        log_path=data_dir / "server.log",
        env={**caps, "LIVESHOP_LOG_LEVEL": "warning", **extra},
        timeout=90,
    )
    base = server.url
    ports = Ports()
    stop = asyncio.Event()  # the end of the load: no more offers, no more connections
    abort = asyncio.Event()  # the end of the drain: let go of everything
    flood_stop = asyncio.Event()
    tasks: list[asyncio.Task[Any]] = []
    workers: ViewerWorkers | None = None
    publisher: RTCPeerConnection | None = None
    chatters: Chatters | None = None
    outcome: Outcome | None = None
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as http:
            host_token = await log_in(http, base, "demo-host")
            mod_token = await log_in(http, base, "demo-mod")
            sid = await demo_show(http, base, host_token)
            key = (await api(http, "GET", f"{base}/api/sessions/{sid}/stream-key", host_token))[
                "stream_key"
            ]
            print(f"server {base} (pid {server.process.pid}), show {sid}", file=sys.stderr)

            # the real show: a publisher and counting viewers
            publisher = RTCPeerConnection()
            vtrack = PacketLoopTrack("video", video, 90000 // FPS, 90000)
            atrack = PacketLoopTrack("audio", audio, 960, 48000)
            publisher.addTransceiver(vtrack, direction="sendonly")
            publisher.addTransceiver(atrack, direction="sendonly")
            await http_negotiate(http, publisher, f"{base}/whip/{sid}", key)
            pub = publisher
            await wait_for(lambda: pub.connectionState == "connected", 30, 0.1, "publisher")
            _check_loopback(publisher)

            async def on_air() -> bool:
                info = await api(http, "GET", f"{base}/api/sessions/{sid}/broadcast")
                return bool(info["state"] == "live" and info["publishing"])

            await wait_for(on_air, 30, 0.25, "the show is live")
            whep_url = f"{base}/whep/{sid}"
            workers = ViewerWorkers(whep_url, profile.workers)
            await workers.add(profile.viewers)
            pool = workers

            async def viewers_up() -> bool:
                return all(s == "connected" for s in await pool.states())

            await wait_for(viewers_up, 60, 0.5, "every real viewer connected")
            chatters = Chatters(base, sid, [host_token, mod_token])
            await chatters.start()
            room = chatters
            slow = SlowHttp(server.port, ports, stop, abort)
            monitor = Monitor(
                server,
                http,
                sid,
                lambda: room.presence,
                lambda: {"slow": slow.held, "stalled": stalled.held},
                ports,
            )
            stalled = StalledSockets(server.port, sid, ports, monitor.view, stop, abort)

            async def settled() -> bool:
                snap = await pool.snapshot()
                s = await monitor.sample()
                return s.whep_viewers == profile.viewers and all(v[0] > FPS for v in snap)

            await wait_for(settled, 30, 0.5, "every real viewer receiving")
            baseline = await monitor.sample()
            base_presence = chatters.presence
            sampling = asyncio.ensure_future(monitor.run())
            tasks.append(sampling)

            def alive() -> bool:
                """Raise if the server or the sampling stopped: the figures would be stale."""
                if server.process.poll() is not None:
                    log = server.log()[-4000:]
                    raise RuntimeError(f"the server exited during the soak:\n{log}")
                if sampling.done():
                    sampling.result()
                return True

            # the load
            d = profile.duration
            t0 = time.monotonic()
            t_stop = t0 + d
            snap0 = await workers.snapshot()
            sent0 = (vtrack.sent, atrack.sent)
            print(f"load for {d:g} s ...", file=sys.stderr, flush=True)
            abandoned = AbandonedOffers(whep_url, profile.abandoned)
            offers = asyncio.ensure_future(abandoned.run(t0 + 1, max(1.0, d - 2)))
            tasks.append(offers)
            tasks.append(asyncio.ensure_future(chatters.flood(profile.chat_per_s, flood_stop)))
            rng = random.Random(12)
            ramp = min(5.0, d / 6)
            slow_max = math.ceil(d / 5) + 2  # the server cuts them after >= 10 s
            for kind in SLOW_KINDS:
                for _ in range(profile.slow_per_kind):
                    delay = rng.uniform(0, ramp)
                    slot = slow.slot(kind, delay, slow_max, rng.randrange(1 << 30))
                    tasks.append(asyncio.ensure_future(slot))
            for _ in range(profile.stalled):
                stall = stalled.slot(
                    rng.uniform(0, ramp), math.ceil(d / 5) + 2, rng.randrange(1 << 30)
                )
                tasks.append(asyncio.ensure_future(stall))
            every = 10.0 if d >= 60 else 5.0
            while alive() and time.monotonic() < t_stop:
                await asyncio.sleep(min(every, max(0.0, t_stop - time.monotonic())))
                s = monitor.latest
                if s is not None:
                    print(
                        f"  t={s.at - t0:4.0f} s  RSS {s.rss_mb:.0f} MB  TCP {s.tcp}  UDP {s.udp}"
                        f"  WHEP {s.whep_viewers}  presence {s.presence}  slow {slow.held}"
                        f"  stalled {stalled.held}  offers {len(abandoned.answered)}",
                        file=sys.stderr,
                        flush=True,
                    )
            snap1 = await workers.snapshot()
            sent1 = (vtrack.sent, atrack.sent)
            stop.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(offers), 40)

            # the drain: the server must let go of everything on its own
            print("drain ...", file=sys.stderr, flush=True)
            monitor.interval = 0.5

            def clean(s: Sample) -> bool:
                return (
                    s.whep_viewers == profile.viewers
                    and s.udp <= baseline.udp
                    and s.tcp <= baseline.tcp
                    and not s.server_held.get("slow")
                    and not s.server_held.get("stalled")
                    and s.presence == base_presence
                )

            with contextlib.suppress(AssertionError):
                await wait_for(
                    lambda: alive() and offers.done() and monitor.latest and clean(monitor.latest),
                    profile.drain_limit,
                    0.5,
                )
            drained = monitor.latest
            abort.set()
            flood_stop.set()
            async with http.get(f"{base}/metrics") as resp:
                metrics_text = await resp.text()
            if samples_to is not None:
                write_samples(samples_to, monitor.samples, t0)
            outcome = report(
                profile,
                caps,
                extra,
                monitor.samples,
                baseline,
                base_presence,
                (t0, t_stop),
                frame_shares(snap0, snap1, sent1[0] - sent0[0], sent1[1] - sent0[1]),
                abandoned,
                slow,
                stalled,
                chatters,
                metrics_text,
                server,
                drained,
            )
    finally:
        abort.set()
        stop.set()
        flood_stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if chatters is not None:
            await chatters.close()
        if publisher is not None:
            await publisher.close()
        if workers is not None:
            await asyncio.to_thread(workers.close)
        await asyncio.to_thread(server.stop)
        passed = outcome is not None and outcome.passed
        if passed and not keep:
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            print(f"server data and log kept in {data_dir}", file=sys.stderr)
    assert outcome is not None
    print()
    print(outcome.text)
    return 0 if outcome.passed else 1


def main() -> None:
    """Parse the arguments and run (or serve as a viewer worker)."""
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        epilog="make soak (BENCH_ARGS=--quick)",
    )
    parser.add_argument("--duration", type=float, help="seconds of load (default 180; quick 30)")
    parser.add_argument("--quick", action="store_true", help="30 s with smaller counts")
    parser.add_argument("--keep-data", action="store_true", help="keep the server's data dir")
    parser.add_argument("--samples", type=Path, help="also write every sample here (JSON lines)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="LIVESHOP_NAME=VALUE",
        help="another server setting, e.g. to see the soak fail without a deadline",
    )
    parser.add_argument("--viewer-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.viewer_worker:
        viewer_worker(args.viewer_worker)
        return
    profile = QUICK if args.quick else FULL
    if args.duration is not None:
        if args.duration < 20:
            parser.error("--duration must be at least 20 s")
        profile = replace(
            profile,
            duration=args.duration,
            warmup=max(10.0, args.duration / 3),
            rss_window=min(profile.rss_window, args.duration / 6),
        )

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # unwinds through soak()'s clean-up, as Ctrl-C does

    signal.signal(signal.SIGTERM, terminate)
    extra = dict(item.split("=", 1) for item in args.set)
    if any(not k.startswith("LIVESHOP_") for k in extra):
        parser.error("--set takes LIVESHOP_NAME=VALUE")
    sys.exit(asyncio.run(soak(profile, args.keep_data, args.samples, extra)))


if __name__ == "__main__":
    main()

"""What the soak (bench/soak.py) measures and how it judges: its sizes, the server's state
sampled every second, the real viewers' share of frames, the clean-up times, the table."""

from __future__ import annotations

import asyncio
import json
import math
import platform
import socket
import time
from collections import Counter as Tally
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil
from _common import Server, Table, percentile, utc_stamp
from fanout import FPS, HEIGHT, WIDTH
from soak_clients import AbandonedOffers, Chatters, Ports, SlowHttp, StalledSockets

RSS_TARGET = 0.10
FRAMES_TARGET = 0.99
GONE_TARGET_S = 20.0


@dataclass(frozen=True)
class Profile:
    """How big a run is."""

    duration: float  # seconds of load
    warmup: float  # RSS "after warm-up" is taken this long into the load
    rss_window: float  # RSS figures are the median of this many seconds of samples
    viewers: int
    workers: int
    abandoned: int
    slow_per_kind: int  # slow heads, slow bodies and idle connections: this many of each
    stalled: int
    chat_per_s: float
    drain_limit: float  # the longest the drain waits for the server to let go


FULL = Profile(180, 60, 10, 20, 2, 200, 100, 30, 20.0, 75)
QUICK = Profile(30, 10, 5, 4, 1, 20, 10, 6, 10.0, 75)


# -- the server's state, sampled ------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    """One look at the server (``at`` is time.monotonic() when it was taken)."""

    at: float
    rss_mb: float
    cpu_s: float
    tcp: int  # TCP sockets with a peer (the listening socket left out)
    udp: int
    peer_ports: frozenset[int]  # remote port of each of those TCP sockets
    whep_viewers: int  # the server's view: GET /api/sessions/{id}/broadcast
    presence: int | None  # the room's viewer count, from its ticks
    held: dict[str, int]  # misbehaving connections this side still holds, by kind
    server_held: dict[str, int]  # the server's TCP sockets, by the kind of client at the end


class Monitor:
    """Samples the server every ``interval`` seconds (psutil runs in a thread)."""

    def __init__(
        self,
        server: Server,
        http: aiohttp.ClientSession,
        session_id: int,
        presence: Callable[[], int | None],
        held: Callable[[], dict[str, int]],
        ports: Ports,
    ) -> None:
        self.server = server
        self.http = http
        self.session_id = session_id
        self.presence = presence
        self.held = held
        self.ports = ports
        self.samples: list[Sample] = []
        self.interval = 1.0
        self.errors = 0

    @property
    def latest(self) -> Sample | None:
        """The newest sample."""
        return self.samples[-1] if self.samples else None

    def _probe(self) -> tuple[float, float, int, int, frozenset[int]]:
        ps = self.server.ps
        with ps.oneshot():
            rss = ps.memory_info().rss / 2**20
            times = ps.cpu_times()
        conns = ps.net_connections(kind="inet")
        tcp = [c for c in conns if c.type == socket.SOCK_STREAM and c.raddr]
        udp = sum(1 for c in conns if c.type == socket.SOCK_DGRAM)
        ports = frozenset(c.raddr.port for c in tcp)
        return rss, float(times.user + times.system), len(tcp), udp, ports

    async def whep_viewers(self) -> int:
        """The server's count of WHEP viewers of the show (-1 when it did not answer)."""
        url = f"{self.server.url}/api/sessions/{self.session_id}/broadcast"
        try:
            async with self.http.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp:
                return int((await resp.json())["viewers"])
        except (aiohttp.ClientError, TimeoutError, KeyError, ValueError):
            self.errors += 1
            return -1

    async def sample(self) -> Sample:
        """Take one sample now."""
        at = time.monotonic()
        held = self.held()
        rss, cpu, tcp, udp, ports = await asyncio.to_thread(self._probe)
        viewers = await self.whep_viewers()
        kinds = dict(Tally(self.ports.kind.get(p, "other") for p in ports))
        s = Sample(at, rss, cpu, tcp, udp, ports, viewers, self.presence(), held, kinds)
        self.samples.append(s)
        self.ports.prune(ports)
        return s

    def view(self) -> tuple[float, frozenset[int]] | None:
        """When the newest sample was taken and the server's TCP peers then."""
        s = self.latest
        return None if s is None else (s.at, s.peer_ports)

    async def run(self) -> None:
        """Sample until cancelled; a sample that takes long delays the next, never overlaps."""
        while True:
            started = time.monotonic()
            await self.sample()
            await asyncio.sleep(max(0.0, self.interval - (time.monotonic() - started)))


def frame_shares(
    before: list[list[int]], after: list[list[int]], sent_video: int, sent_audio: int
) -> tuple[list[float], list[float]]:
    """Each viewer's share of the video and audio frames between two snapshots.

    The frames expected are the RTP time the received frames span (exact, whatever the moment
    each process answered) or, if more, what the publisher sent less a few frames of skew
    between the snapshots: a viewer that stalls at the end is not let off.
    """
    video: list[float] = []
    audio: list[float] = []
    for a, b in zip(before, after, strict=True):
        exp_v = max(1.0, (b[2] - a[2]) / (90000 / FPS), sent_video - 3)
        exp_a = max(1.0, (b[3] - a[3]) / 960, sent_audio - 5)
        video.append(min(1.0, (b[0] - a[0]) / exp_v))
        audio.append(min(1.0, (b[1] - a[1]) / exp_a))
    return video, audio


# -- the verdict ----------------------------------------------------------------------------
def write_samples(path: Path, samples: list[Sample], t0: float) -> None:
    """The samples as JSON lines, ``t`` in seconds from the start of the load."""
    with path.open("w") as out:
        for s in samples:
            row = {k: v for k, v in vars(s).items() if k not in ("at", "peer_ports")}
            out.write(json.dumps({"t": round(s.at - t0, 2), **row}) + "\n")


def _median(samples: list[Sample], start: float, end: float) -> float:
    values = [s.rss_mb for s in samples if start <= s.at < end]
    return percentile(values, 0.5)


def _first(samples: list[Sample], after: float, ok: Callable[[Sample], bool]) -> float | None:
    """Seconds from ``after`` to the first sample taken then or later for which ``ok``."""
    for s in samples:
        if s.at >= after and ok(s):
            return s.at - after
    return None


def _cut_to_gone(
    samples: list[Sample], t_stop: float, base_presence: int
) -> tuple[float | None, float]:
    """The non-reading clients open at the end of the load: the longest time from one being
    cut off to all of it being gone, and when the last one was cut off.

    The server shows two things of each: its room membership (the presence count) and its
    TCP socket. Whichever goes first is its cut-off, the other its end. Neither can be told
    per client, but no client opens after ``t_stop`` and the server drops them in the order
    they stopped reading, so the k-th fall of one count is matched with the k-th fall of the
    other. (None, when either count never reached zero within the samples.)
    """
    drain = [s for s in samples if s.at >= t_stop and s.presence is not None]
    members = [(s.at, max(0, (s.presence or 0) - base_presence)) for s in drain]
    sockets = [(s.at, s.server_held.get("stalled", 0)) for s in drain]
    top = max((n for _, n in members + sockets), default=0)

    def first_at_most(series: list[tuple[float, int]], k: int) -> float | None:
        return next((at for at, n in series if n <= k), None)

    worst = 0.0
    last_cut = t_stop
    for k in range(top - 1, -1, -1):
        left_room = first_at_most(members, k)
        closed = first_at_most(sockets, k)
        if left_room is None or closed is None:
            return None, max(last_cut, left_room or closed or t_stop)
        last_cut = max(last_cut, min(left_room, closed))
        worst = max(worst, abs(left_room - closed))
    return worst, last_cut


def _p50_max(values: list[float]) -> str:
    if not values:
        return "none"
    return f"{percentile(values, 0.5):.1f} / {max(values):.1f} s"


def _metrics(text: str) -> tuple[int, str]:
    """From /metrics: HTTP 5xx answers and the chat-delivery p99 bucket."""
    errors = 0
    buckets: list[tuple[float, float]] = []
    for line in text.splitlines():
        if line.startswith("liveshop_http_requests_total{") and 'status="5xx"' in line:
            errors += int(float(line.rsplit(" ", 1)[1]))
        elif line.startswith("liveshop_chat_delivery_seconds_bucket{"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((math.inf if le == "+Inf" else float(le), float(line.rsplit(" ", 1)[1])))
    total = max((count for _, count in buckets), default=0.0)
    p99 = next((le for le, count in sorted(buckets) if total and count >= 0.99 * total), None)
    return errors, "-" if p99 is None else f"<= {p99 * 1000:g} ms"


@dataclass
class Outcome:
    """The table and whether every target held."""

    text: str
    passed: bool
    notes: list[str] = field(default_factory=list)


def verdict(ok: bool) -> str:
    """The verdict column."""
    return "PASS" if ok else "FAIL"


def report(
    profile: Profile,
    caps: dict[str, str],
    extra: dict[str, str],
    samples: list[Sample],
    baseline: Sample,
    base_presence: int | None,
    window: tuple[float, float],
    shares: tuple[list[float], list[float]],
    abandoned: AbandonedOffers,
    slow: SlowHttp,
    stalled: StalledSockets,
    chatters: Chatters,
    metrics_text: str,
    server: Server,
    drained: Sample | None,
) -> Outcome:
    """The Markdown table of one run, a verdict per target."""
    t0, t_stop = window
    n = profile.viewers
    load = [s for s in samples if t0 <= s.at <= t_stop]
    warm = _median(samples, t0 + profile.warmup, t0 + profile.warmup + profile.rss_window)
    end = _median(samples, t_stop - profile.rss_window, t_stop)
    growth = end / warm - 1 if warm else math.nan
    video, audio = shares

    def whep_clean(s: Sample) -> bool:
        return s.whep_viewers == n and s.udp <= baseline.udp

    def slow_clean(s: Sample) -> bool:
        return not s.server_held.get("slow")

    def stalled_clean(s: Sample) -> bool:  # none left: no socket, no room membership
        return not s.server_held.get("stalled") and s.presence == base_presence

    def all_clean(s: Sample) -> bool:
        return whep_clean(s) and slow_clean(s) and stalled_clean(s) and s.tcp <= baseline.tcp

    whep_ref = max(abandoned.answered, default=t_stop)
    slow_ref = max(t_stop, slow.last_cut)
    stalled_lag, stalled_ref = _cut_to_gone(samples, t_stop, base_presence or 0)
    lags = {
        "whep": _first(samples, whep_ref, whep_clean),
        "slow": _first(samples, slow_ref, slow_clean),
        "stalled": stalled_lag,
        "all": _first(samples, max(whep_ref, slow_ref, stalled_ref), all_clean),
    }
    left = "nothing"
    if drained is not None:
        left = (
            f"{drained.whep_viewers} WHEP viewers, {drained.tcp} TCP / {drained.udp} UDP sockets,"
            f" {drained.server_held.get('slow', 0)} slow HTTP and"
            f" {drained.server_held.get('stalled', 0)} non-reading sockets, presence"
            f" {drained.presence}"
        )

    def gone(key: str) -> tuple[str, bool]:
        lag = lags[key]
        if lag is None:
            return f"not within the {profile.drain_limit:g} s drain (left: {left})", False
        return f"{lag:.1f} s", lag <= GONE_TARGET_S

    table = Table("measure", "result", "target", "verdict")
    ok: list[bool] = []

    def row(measure: str, result: str, target: str = "-", passed: bool | None = None) -> None:
        if passed is not None:
            ok.append(passed)
        table.add(measure, result, target, "-" if passed is None else verdict(passed))

    row(
        f"server RSS {profile.warmup:g} s into the load vs its last {profile.rss_window:g} s"
        f" (medians)",
        f"{warm:.0f} MB -> {end:.0f} MB ({100 * growth:+.1f} %)",
        f"within {100 * RSS_TARGET:g} %",
        abs(growth) <= RSS_TARGET,
    )
    for kind, got in (("video", video), ("audio", audio)):
        row(
            f"real viewers' {kind} frames over the load, worst / mean of {n}",
            f"{100 * min(got):.2f} % / {100 * sum(got) / len(got):.2f} %",
            f">= {100 * FRAMES_TARGET:g} %",
            min(got) >= FRAMES_TARGET,
        )
    target = f"<= {GONE_TARGET_S:g} s"
    result, passed = gone("whep")
    row(
        f"{profile.abandoned} abandoned WHEP offers: last answer -> WHEP viewers back to {n},"
        f" server UDP sockets back to {baseline.udp}",
        result,
        target,
        passed,
    )
    result, passed = gone("slow")
    row(
        f"{3 * profile.slow_per_kind} slow/idle HTTP connections: last cut-off -> none left on"
        " the server",
        result,
        target,
        passed,
    )
    result, passed = gone("stalled")
    row(
        f"{profile.stalled} non-reading Socket.IO clients: one cut off (out of the room or"
        " its socket closed) -> both done, worst",
        result,
        target,
        passed,
    )
    result, passed = gone("all")
    row(
        f"all of it: the last stop or cut-off -> server sockets back to baseline"
        f" ({baseline.tcp} TCP, {baseline.udp} UDP), WHEP viewers {n}",
        result,
        target,
        passed,
    )
    row(
        "slow HTTP cut off by the server after (p50 / max): heads, bodies, idle",
        f"{_p50_max(slow.lifetimes['headers'])}; {_p50_max(slow.lifetimes['body'])};"
        f" {_p50_max(slow.lifetimes['idle'])} ({slow.opened} opened, {slow.errors} refused)",
    )
    row(
        "non-reading Socket.IO clients let go by the server after they stopped reading (p50 / max)",
        f"{_p50_max(stalled.lifetimes)} ({stalled.opened} opened, {stalled.errors} refused)",
    )
    refused = ", ".join(f"{k}: {v}" for k, v in sorted(abandoned.refused.items())) or "none"
    row(
        "abandoned WHEP offers answered 201 / refused",
        f"{len(abandoned.answered)} / {refused}",
    )
    if load:
        cpu = (load[-1].cpu_s - load[0].cpu_s) / max(1e-9, load[-1].at - load[0].at)
        row(
            "server during the load: peak WHEP viewers, TCP, UDP sockets, RSS; mean CPU",
            f"{max(s.whep_viewers for s in load)}, {max(s.tcp for s in load)},"
            f" {max(s.udp for s in load)}, {max(s.rss_mb for s in load):.0f} MB;"
            f" {100 * cpu:.0f} % of a core",
        )
    errors, chat_p99 = _metrics(metrics_text)
    chat_refused = ", ".join(f"{k}: {v}" for k, v in sorted(chatters.refused.items())) or "none"
    row(
        "chat flood sent / accepted / refused; server chat delivery p99 (/metrics)",
        f"{chatters.sent} / {chatters.accepted} / {chat_refused}; {chat_p99}",
    )
    row("HTTP 5xx answers (/metrics)", str(errors))
    if drained is not None:
        row("server RSS at the end of the drain", f"{drained.rss_mb:.0f} MB")
    caps_text = ", ".join(f"{k}={v}" for k, v in caps.items()) or "none"
    extra_text = "".join(f"; also {k}={v}" for k, v in extra.items())
    slow_n = profile.slow_per_kind
    lines = [
        f"LiveShop soak, {utc_stamp()}, {platform.machine()} {psutil.cpu_count()} cores,"
        f" Python {platform.python_version()}: {profile.duration:g} s of load, then a drain of"
        f" at most {profile.drain_limit:g} s",
        "server: `liveshop serve --demo --ice-loopback --port 0` (pid"
        f" {server.process.pid}), log level warning; settings changed: {caps_text} (per-address"
        f" caps, raised: every soak client is 127.0.0.1){extra_text}; everything else default",
        f"load, all at once: a live show (WHIP VP8 {WIDTH}x{HEIGHT} {FPS} fps ~1.5 Mbit/s + Opus)"
        f" with {n} WHEP viewers in {profile.workers} process(es) counting RTP frames;"
        f" {profile.abandoned} WHEP offers without candidates spread over the load;"
        f" {3 * slow_n} slow/idle HTTP connections ({slow_n} heads and {slow_n} bodies at a byte"
        f" every 2-4 s, {slow_n} idle), each reopened when cut off; {profile.stalled} Socket.IO"
        " clients that join the room and stop reading, reopened when let go; a chat flood of"
        f" {profile.chat_per_s:g} messages/s from the host and the moderator. At the end of the"
        " load nothing new is opened; what is open is left for the server to cut off.",
        "",
        table.markdown(),
    ]
    passed = all(ok)
    lines += ["", f"soak: {'PASS' if passed else 'FAIL'} ({ok.count(False)} of {len(ok)} failed)"]
    return Outcome("\n".join(lines), passed)

"""Live-room benchmark: M viewers in one room, C chat messages/s and R reactions/s incoming.

The server runs in its own process; viewers are raw WebSocket clients speaking just enough
Engine.IO / Socket.IO (v4) to join a room and read frames, spread over a few load
processes. Chat messages carry their send time; a sample of viewers (--sample, default
200) parses every frame it gets and measures delivery latency, the others only drain their
sockets and answer pings (so the load generators leave the CPU to the server, which does
the same work for every viewer). Deliveries/s are the sample's, scaled to the room.
Server CPU comes from the server process's own accounting (/proc via psutil).

Two runs side by side, same load:
  aggregated   - the room as built: reactions summed per room and sent with the 5 Hz tick
  rebroadcast  - baseline: every reaction re-emitted to the whole room at once

    .venv/bin/python bench/room.py                       # 2,000 viewers, 20 chat/s, 500 reactions/s
    .venv/bin/python bench/room.py --viewers 500 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import os
import random
import sqlite3
import sys
import tempfile
import time
import urllib.request
from array import array
from datetime import datetime
from pathlib import Path
from typing import Any

from _common import Column, Table, percentile, serve_app, start_server, utc_stamp

CHAT_PREFIX = b'42["chat:message",'
PING_FRAME = b"\x81\x012"  # an unmasked text frame holding the Engine.IO ping "2"


# -- server process -----------------------------------------------------------------------
def serve(data_dir: str, rebroadcast: bool) -> None:
    """Runs the real app; with --rebroadcast, every reaction is emitted on its own."""
    import logging

    from live_server.app import create_app
    from live_server.room.extensions import session_room
    from live_server.room.service import RoomService
    from live_server.settings import Settings
    from live_server.startup import prepare_process, tune_for_serving

    logging.basicConfig(level=logging.WARNING)
    if os.environ.get("BENCH_ROOM_NO_WINDOW"):  # A/B aid: flush every loop iteration
        from signaling.socketio_internals import broadcast as socketio_fastpath

        socketio_fastpath.MAX_WINDOW = 0.0  # read by FastBroadcast at each flush
    # A/B aid: BENCH_ROOM_DEFAULT_GC=1 keeps CPython's GC settings
    default_gc = bool(os.environ.get("BENCH_ROOM_DEFAULT_GC"))
    if rebroadcast:

        async def react_one_by_one(
            self: RoomService, sid: str, data: dict[str, Any]
        ) -> dict[str, Any]:
            self._joined(sid, data["session_id"])
            await self.ctx.broadcaster.emit(
                "reaction",
                {
                    "session_id": data["session_id"],
                    "kind": data["kind"],
                    "count": data.get("count", 1),
                },
                room=session_room(data["session_id"]),
            )
            return {"ok": True}

        RoomService.react = react_one_by_one  # type: ignore[method-assign]
    # every viewer is an anonymous socket from 127.0.0.1: no per-address cap here
    settings = Settings.load(
        {"data_dir": Path(data_dir), "secret": "bench", "max_anonymous_sockets_per_address": 0},
        env={},
    )
    # the room server's process-wide patches, in the order its entry point installs them
    prepare_process()
    app = create_app(settings)
    if not default_gc:
        tune_for_serving()
    profile_to = os.environ.get("BENCH_ROOM_PROFILE")
    if profile_to:  # development aid: cProfile of the server, written on exit
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
        try:
            serve_app(app)
        finally:
            profiler.disable()
            profiler.dump_stats(profile_to)
        return
    serve_app(app)


# -- a minimal Socket.IO-over-WebSocket client ---------------------------------------------
class Viewer(asyncio.Protocol):
    """One raw WebSocket connection; counts deliveries and records chat latency."""

    def __init__(self, stats: Stats, host: str, token: str | None) -> None:
        self.stats = stats
        self.host = host
        self.token = token
        self.buf = bytearray()
        self.upgraded = False
        self.transport: asyncio.Transport | None = None
        self.joined = asyncio.get_running_loop().create_future()
        self.acks: dict[int, asyncio.Future[bytes]] = {}
        self.next_ack = 0
        self.silent = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(
            b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: "
            + self.host.encode()
            + b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )

    def send(self, text: bytes) -> None:
        # Client frames must be masked; an all-zero key masks nothing and is valid.
        n = len(text)
        if n < 126:
            header = bytes([0x81, 0x80 | n])
        elif n < 65536:
            header = bytes([0x81, 0x80 | 126]) + n.to_bytes(2, "big")
        else:
            header = bytes([0x81, 0x80 | 127]) + n.to_bytes(8, "big")
        assert self.transport is not None
        self.transport.write(header + b"\0\0\0\0" + text)

    def call(self, event: str, data: Any) -> asyncio.Future[bytes]:
        ack_id = self.next_ack
        self.next_ack += 1
        fut: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.acks[ack_id] = fut
        self.send(f"42{ack_id}".encode() + json.dumps([event, data]).encode())
        return fut

    def emit(self, event: str, data: Any) -> None:
        self.send(b"42" + json.dumps([event, data]).encode())

    def data_received(self, data: bytes) -> None:
        if self.silent:
            # Not measured: take the bytes off the socket, answer Engine.IO pings, nothing
            # else. The server does the same work for this viewer as for a measured one.
            if PING_FRAME in data:
                self.send(b"3")
            return
        self.buf += data
        if not self.upgraded:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buf.startswith(b"HTTP/1.1 101"):
                self.joined.set_exception(RuntimeError(bytes(self.buf[:200]).decode()))
                return
            del self.buf[: end + 4]
            self.upgraded = True
        buf = self.buf
        pos = 0
        size = len(buf)
        while size - pos >= 2:
            n = buf[pos + 1] & 0x7F
            head = 2
            if n == 126:
                if size - pos < 4:
                    break
                n = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                head = 4
            elif n == 127:
                if size - pos < 10:
                    break
                n = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            if size - pos < head + n:
                break
            opcode = buf[pos] & 0x0F
            if opcode == 1:
                self.frame(bytes(buf[pos + head : pos + head + n]))
            pos += head + n
        if pos:
            del buf[:pos]

    def frame(self, payload: bytes) -> None:
        stats = self.stats
        if payload.startswith(CHAT_PREFIX):
            now = time.time()
            if stats.measuring(now):
                stats.deliveries += 1
                i = payload.find(b"@t=")
                if i >= 0:
                    j = payload.find(b"@", i + 3)
                    sent = float(payload[i + 3 : j])
                    stats.latency.append(now - sent)
                    k = payload.find(b'"created_at":"')
                    if k >= 0 and stats.deliveries % 10 == 0:  # a sample: where the time goes
                        stamp = payload[k + 14 : payload.find(b'"', k + 14)].decode()
                        at = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
                        stats.lat_in.append(at - sent)
                        stats.lat_out.append(now - at)
            return
        if payload[:2] == b"42":
            if stats.measuring(time.time()):
                stats.deliveries += 1
                if payload.startswith(b'42["room:tick"'):
                    stats.ticks += 1
                else:
                    stats.reactions += 1
            return
        if payload == b"2":  # Engine.IO ping
            self.send(b"3")
        elif payload[:1] == b"0":  # Engine.IO open: connect to the default namespace
            self.send(b"40" + (json.dumps({"token": self.token}).encode() if self.token else b""))
        elif payload[:2] == b"40":
            self.joined.set_result(None)
        elif payload[:2] == b"43":
            k = 2
            while payload[k : k + 1].isdigit():
                k += 1
            fut = self.acks.pop(int(payload[2:k]), None)
            if fut is not None and not fut.done():
                fut.set_result(payload[k:])

    def connection_lost(self, exc: Exception | None) -> None:
        self.stats.lost += 1


class Stats:
    """Counters of one load process inside the measurement window."""

    def __init__(self, start: float, end: float) -> None:
        self.start = start
        self.end = end
        self.deliveries = 0
        self.ticks = 0
        self.reactions = 0
        self.lost = 0
        self.sent_chat = 0
        self.sent_reactions = 0
        self.refused = 0
        self.latency = array("d")
        self.lat_in = array("d")  # sender -> server (message stamped by the server)
        self.lat_out = array("d")  # server -> viewer

    def measuring(self, now: float) -> bool:
        return self.start <= now < self.end


async def _open(port: int, stats: Stats, session_id: int, token: str | None) -> Viewer:
    loop = asyncio.get_running_loop()
    _, viewer = await loop.create_connection(
        lambda: Viewer(stats, f"127.0.0.1:{port}", token), "127.0.0.1", port
    )
    await asyncio.wait_for(viewer.joined, 30)
    ack = await asyncio.wait_for(viewer.call("room:join", {"session_id": session_id}), 60)
    if b'"ok":true' not in ack and b'"ok": true' not in ack:
        raise RuntimeError(f"join refused: {ack[:200]!r}")
    return viewer


async def _load(cfg: dict[str, Any], index: int, ready: Any, go: Any, out: Any) -> None:
    stats = Stats(0.0, 0.0)
    port, session_id = cfg["port"], cfg["session_id"]
    viewers: list[Viewer] = []
    sem = asyncio.Semaphore(40)

    async def one() -> None:
        async with sem:
            viewers.append(await _open(port, stats, session_id, None))

    await asyncio.gather(*(one() for _ in range(cfg["viewers_per_proc"][index])))
    chatters = [await _open(port, stats, session_id, t) for t in cfg["chat_tokens"][index]]
    # Only a sample of viewers parses what it receives (latency, counts); the others just
    # drain their sockets, so the load generators leave the CPU to the server.
    for viewer in viewers[cfg["sample_per_proc"][index] :] + chatters:
        viewer.silent = True
    ready.put(index)
    start = go.get()
    stats.start, stats.end = start, start + cfg["duration"]
    while time.time() < start:
        await asyncio.sleep(0.005)
    cpu_start = time.process_time()
    rng = random.Random(index)
    chat_rate = len(chatters) * cfg["chat_per_user"]
    reaction_rate = cfg["reactions_per_proc"]
    kinds = ["heart"] * 6 + ["fire", "clap", "wow"]
    t0 = time.time()
    sent_c = sent_r = 0
    deadline = start + cfg["duration"] + 1.0
    while time.time() < deadline:
        elapsed = time.time() - t0
        while sent_c < elapsed * chat_rate:
            who = chatters[sent_c % len(chatters)]
            who.emit(
                "chat:send", {"session_id": session_id, "text": f"hello @t={time.time():.6f}@"}
            )
            sent_c += 1
        while sent_r < elapsed * reaction_rate:
            rng.choice(viewers).emit(
                "reaction:send", {"session_id": session_id, "kind": rng.choice(kinds)}
            )
            sent_r += 1
        await asyncio.sleep(0.01)
    stats.sent_chat, stats.sent_reactions = sent_c, sent_r
    load_cpu = time.process_time() - cpu_start
    # let in-flight deliveries land before reporting
    await asyncio.sleep(1.0)
    out.put(
        {
            "deliveries": stats.deliveries,
            "ticks": stats.ticks,
            "reactions": stats.reactions,
            "lost": stats.lost,
            "load_cpu": load_cpu / (time.time() - start),
            "latency": list(stats.latency),
            "lat_in": list(stats.lat_in),
            "lat_out": list(stats.lat_out),
        }
    )
    for v in viewers + chatters:
        if v.transport is not None:
            v.transport.close()


def load_process(cfg: dict[str, Any], index: int, ready: Any, go: Any, out: Any) -> None:
    """Entry point of one load process."""
    asyncio.run(_load(cfg, index, ready, go, out))


# -- orchestration ------------------------------------------------------------------------
def _http(method: str, url: str, body: Any = None, token: str | None = None) -> Any:
    req = urllib.request.Request(
        url, method=method, data=json.dumps(body).encode() if body is not None else None
    )
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


def _register(base: str, name: str) -> dict[str, Any]:
    result: dict[str, Any] = _http(
        "POST",
        f"{base}/api/auth/register",
        {
            "username": name,
            "password": "bench-pass",
            "interests": ["fashion", "beauty", "home", "kitchen", "tech"],
        },
    )
    return result


def run(args: argparse.Namespace, rebroadcast: bool) -> dict[str, Any]:
    """One mode: a fresh server, the room set up over HTTP, the load processes, the figures."""
    data_dir = tempfile.mkdtemp(prefix="bench-room-")
    server = start_server(
        [sys.executable, str(Path(__file__).resolve()), "--serve", data_dir]
        + (["--rebroadcast"] if rebroadcast else []),
        log_path=Path(data_dir) / "server.log",
        timeout=30,
    )
    base, port = server.url, server.port
    try:
        host = _register(base, "benchhost")
        with sqlite3.connect(Path(data_dir) / "liveshop.db") as conn:
            conn.execute("UPDATE users SET role = 'host' WHERE id = ?", (host["user"]["id"],))
        host_token = _http(
            "POST", f"{base}/api/auth/login", {"username": "benchhost", "password": "bench-pass"}
        )["token"]
        products = [
            _http(
                "POST",
                f"{base}/api/products",
                {
                    "title": f"Item {i}",
                    "price_minor": 1999,
                    "currency": "USD",
                    "category": "fashion",
                    "stock": 100,
                },
                host_token,
            )["id"]
            for i in range(2)
        ]
        session = _http(
            "POST", f"{base}/api/sessions", {"title": "Bench", "product_ids": products}, host_token
        )
        sid = session["id"]
        _http("POST", f"{base}/api/sessions/{sid}/start", {}, host_token)
        chatters = args.chatters
        tokens = [_register(base, f"chatter{i}")["token"] for i in range(chatters)]
        procs = args.procs
        per = [args.viewers // procs + (1 if i < args.viewers % procs else 0) for i in range(procs)]
        cfg = {
            "port": port,
            "session_id": sid,
            "duration": args.duration,
            "viewers_per_proc": per,
            "chat_tokens": [tokens[i::procs] for i in range(procs)],
            "chat_per_user": args.chat / chatters,
            "sample_per_proc": [min(n, max(1, round(args.sample * n / args.viewers))) for n in per],
            "reactions_per_proc": args.reactions / procs,
        }
        ctx = mp.get_context("spawn")
        ready, out = ctx.Queue(), ctx.Queue()
        gos = [ctx.Queue() for _ in range(procs)]
        workers = [
            ctx.Process(target=load_process, args=(cfg, i, ready, gos[i], out))
            for i in range(procs)
        ]
        for w in workers:
            w.start()
        for _ in workers:
            ready.get(timeout=300)
        _pin(base, host_token, sid, products)
        start = time.time() + 2.0  # a moment for the load loops to settle
        for q in gos:
            q.put(start)
        while time.time() < start:
            time.sleep(0.01)
        cpu0 = server.cpu_seconds()
        rss0 = server.rss_mb()
        time.sleep(args.duration)
        cpu1 = server.cpu_seconds()
        rss1 = server.rss_mb()
        results = [out.get(timeout=120) for _ in workers]
        for w in workers:
            w.join(30)
        sampled = sum(cfg["sample_per_proc"])
        scale = args.viewers / sampled  # deliveries seen by the sample -> the whole room
        latency = [x for r in results for x in r["latency"]]
        lat_in = [x for r in results for x in r["lat_in"]]
        lat_out = [x for r in results for x in r["lat_out"]]
        deliveries = sum(r["deliveries"] for r in results) * scale
        cpu = cpu1 - cpu0
        return {
            "mode": "rebroadcast" if rebroadcast else "aggregated",
            "viewers": args.viewers,
            "p50_ms": 1000 * percentile(latency, 0.5),
            "p99_ms": 1000 * percentile(latency, 0.99),
            "chat_deliveries": len(latency),
            "in_p50_ms": 1000 * percentile(lat_in, 0.5),
            "out_p50_ms": 1000 * percentile(lat_out, 0.5),
            "expected_chat": args.chat * args.duration * sampled,
            "deliveries_s": deliveries / args.duration,
            "cpu_cores": cpu / args.duration,
            "cpu_ms_per_1k": 1000 * cpu / max(1, deliveries) * 1000,
            # frames the load asks for: every chat message and every tick (5 Hz) to every
            # socket, plus, in the baseline, every reaction to every socket
            "demanded_s": (args.viewers + chatters)
            * (args.chat + (args.reactions if rebroadcast else 5.0)),
            "rss_mb": rss1,
            "rss_growth_mb": rss1 - rss0,
            "lost": sum(r["lost"] for r in results),
            "load_cpu": sum(r["load_cpu"] for r in results),
        }
    finally:
        server.stop()


def _pin(base: str, token: str, sid: int, products: list[int]) -> None:
    """Pins the line-up through the room, as a host would."""
    import socketio

    async def go() -> None:
        client = socketio.AsyncClient()
        await client.connect(base, auth={"token": token}, transports=["websocket"])
        await client.call("room:join", {"session_id": sid})
        for pid in products:
            await client.call("pin:add", {"session_id": sid, "product_id": pid})
        await client.disconnect()

    asyncio.run(go())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--viewers", type=int, default=2000)
    parser.add_argument("--chat", type=float, default=20.0, help="chat messages per second")
    parser.add_argument("--reactions", type=float, default=500.0, help="reactions per second")
    parser.add_argument("--chatters", type=int, default=20, help="users sending the chat")
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--procs", type=int, default=2, help="load-generator processes")
    parser.add_argument(
        "--sample", type=int, default=200, help="viewers that measure (the rest only drain)"
    )
    parser.add_argument("--only", choices=["aggregated", "rebroadcast"])
    parser.add_argument("--serve", metavar="DATA_DIR", help=argparse.SUPPRESS)
    parser.add_argument("--rebroadcast", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.rebroadcast)
        return
    modes = [False, True] if args.only is None else [args.only == "rebroadcast"]
    rows = []
    for rebroadcast in modes:
        print(
            f"running {'rebroadcast' if rebroadcast else 'aggregated'} ...",
            file=sys.stderr,
            flush=True,
        )
        rows.append(run(args, rebroadcast))
    print(
        f"\nroom benchmark {utc_stamp()}, {os.cpu_count()} cores: "
        f"{args.viewers} viewers, {args.chat:g} chat/s, {args.reactions:g} reactions/s, "
        f"{args.duration:g} s\n"
    )
    table = Table(
        "mode",
        Column("chat p50 ms", ".1f"),
        Column("chat p99 ms", ".1f"),
        "chat delivered",
        Column("deliveries/s", ",.0f"),
        Column("server CPU (cores)", ".2f"),
        Column("server CPU ms per 1k deliveries", ".2f"),
        Column("server RSS MB", ".0f"),
        Column("load generators' CPU (cores)", ".2f"),
    )
    for r in rows:
        table.add(
            r["mode"],
            r["p50_ms"],
            r["p99_ms"],
            f"{100 * r['chat_deliveries'] / max(1, r['expected_chat']):.1f} %",
            r["deliveries_s"],
            r["cpu_cores"],
            r["cpu_ms_per_1k"],
            r["rss_mb"],
            r["load_cpu"],
        )
    print(table.markdown())
    if len(rows) == 2:
        agg, base = rows
        need_agg = agg["demanded_s"] * agg["cpu_ms_per_1k"] / 1e6
        need_base = base["demanded_s"] * base["cpu_ms_per_1k"] / 1e6
        print(
            f"\nframes the load asks the server to send per second: aggregated "
            f"{agg['demanded_s']:,.0f}, rebroadcast {base['demanded_s']:,.0f} "
            f"(x{base['demanded_s'] / agg['demanded_s']:.1f})"
        )
        print(
            f"server CPU to keep up, at each run's measured cost per delivery: aggregated "
            f"{need_agg:.2f} cores, rebroadcast {need_base:.2f} cores "
            f"(x{need_base / max(need_agg, 1e-9):.1f})"
        )
        if not math.isnan(base["p99_ms"]) and not math.isnan(agg["p99_ms"]):
            print(f"chat p99: rebroadcast / aggregated x{base['p99_ms'] / agg['p99_ms']:.1f}")
    for r in rows:
        print(
            f"{r['mode']}: chat p50 split: sender -> server {r['in_p50_ms']:.1f} ms, "
            f"server -> viewer {r['out_p50_ms']:.1f} ms"
        )
    lost = sum(r["lost"] for r in rows)
    if lost:
        print(f"\nnote: {lost} connections dropped during the runs")


if __name__ == "__main__":
    main()

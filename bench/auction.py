"""Auction benchmark: V viewers in one room, B bidders sending R bids/s during the last 10 s.

The server runs in its own process (the real app, one node); viewers and bidders are raw
WebSocket clients (bench/room.py's minimal Socket.IO client) spread over a few load
processes. A sample of viewers (--sample) records when each lead (`auction:lead`, by its
seq) reaches it; bidders record when each bid left them and the seq the server gave it.
Latency is measured from a bid leaving its bidder to the lead that carries it (or a
later one: leads overtaken while the room was being told are skipped) reaching a viewer,
per delivery and "every viewer" (the last sampled viewer to get it). Server CPU comes from
the server process's own accounting over the bidding window.

Two runs side by side, same load:
  book         - as built: bids judged by the auction's in-memory book, the audit written
                 behind in batches, the lead broadcast at once
  db-per-bid   - baseline: every bid judged and stored in its own database transaction,
                 the lead broadcast after the commit

After each run the audit trail is read back: every accepted bid must be stored once, in
the order the server accepted it, and every sampled viewer's leads must only move forward.

    .venv/bin/python bench/auction.py          # 2,000 viewers, 100 bidders, 50 and 400 bids/s
    .venv/bin/python bench/auction.py --viewers 500 --bids 50 --only book
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing as mp
import os
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import Column, Table, int_list, percentile, serve_app, start_server, utc_stamp
from room import Stats, Viewer, _http, _register

LEAD = b'42["auction:lead",'
ADDRESS = {
    "name": "Bench Bidder",
    "line1": "1 Main St",
    "city": "X",
    "postal_code": "1",
    "country": "US",
}


# -- server process -----------------------------------------------------------------------
def serve(data_dir: str, db_per_bid: bool) -> None:
    """Runs the real app; with --db-per-bid, the baseline book (see SqlPerBidBook)."""
    import logging

    from live_server.app import create_app
    from live_server.settings import Settings
    from live_server.startup import prepare_process, tune_for_serving

    logging.basicConfig(level=logging.WARNING)
    if db_per_bid:
        _install_db_per_bid()
    settings = Settings.load(
        {"data_dir": Path(data_dir), "secret": "bench", "max_anonymous_sockets_per_address": 0},
        env={},
    )
    prepare_process()
    app = create_app(settings)
    tune_for_serving()
    serve_app(app)


def _install_db_per_bid() -> None:
    """The baseline: one BEGIN IMMEDIATE ... COMMIT per bid, the lead sent after it."""
    from live_server.commerce import formats
    from live_server.commerce.auctions.book import BidRecord, MemoryBidBook

    class SqlPerBidBook(MemoryBidBook):
        db: Any = None

        def __init__(self) -> None:
            super().__init__()
            self._after_commit: list[Any] = []

        def listen(self, listener: Any) -> None:
            self._after_commit.append(listener)

        async def bid(self, auction_id: int, bid: Any, name: str) -> Any:
            # the decision and its row in one transaction: the database is the writer
            async with self.db.transaction() as tx:
                outcome = await super().bid(auction_id, bid, name)
                if isinstance(outcome, BidRecord):
                    await tx.execute(
                        "INSERT INTO auction_bids (auction_id, seq, bidder_id, bidder_name, kind,"
                        " amount_minor, outcome, price_minor, leader_id, leader_max_minor,"
                        " extended, ends_at, server_time, media_time)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                        (
                            outcome.auction_id,
                            outcome.seq,
                            outcome.bidder,
                            outcome.bidder_name,
                            outcome.kind,
                            outcome.amount,
                            outcome.outcome,
                            outcome.price,
                            outcome.leader,
                            outcome.leader_max,
                            int(outcome.extended),
                            outcome.ends_at_ms / 1000,
                            outcome.at_ms / 1000,
                        ),
                    )
            if isinstance(outcome, BidRecord) and outcome.lead_changed:
                for listener in self._after_commit:
                    listener(outcome)
            return outcome

    from live_server.commerce.auctions.service import AuctionService
    from live_server.commerce.auctions.store import AuditWriter

    formats.MemoryBidBook = SqlPerBidBook  # type: ignore[misc]
    AuditWriter.add = lambda self, bid: None  # type: ignore[method-assign]  # written above
    plain_init = AuctionService.__init__

    def init(self: AuctionService, **kwargs: Any) -> None:
        plain_init(self, **kwargs)
        if isinstance(self.book, SqlPerBidBook):
            self.book.db = self.repo._db

    AuctionService.__init__ = init  # type: ignore[method-assign]


# -- clients ------------------------------------------------------------------------------
class AuctionViewer(Viewer):
    """A viewer that records when each lead reaches it, and bids if it has a token."""

    def __init__(self, stats: Stats, host: str, token: str | None) -> None:
        super().__init__(stats, host, token)
        self.leads: list[tuple[int, float, int]] = []  # (seq, arrival, price)
        self.next_bid = 0
        self.auction_id = 0

    def frame(self, payload: bytes) -> None:
        if payload.startswith(LEAD):
            now = time.time()
            lead = json.loads(payload[2:])[1]
            self.next_bid = lead["next_bid_minor"]
            self.leads.append((lead["seq"], now, lead["price_minor"]))
            return
        if payload.startswith(b'42["auction:started"'):
            data = json.loads(payload[2:])[1]
            self.auction_id, self.next_bid = data["id"], data["next_bid_minor"]
            return
        if payload[:2] == b"42":
            return  # ticks and the rest: drained
        super().frame(payload)


async def _open(port: int, stats: Stats, session_id: int, token: str | None) -> AuctionViewer:
    loop = asyncio.get_running_loop()
    _, viewer = await loop.create_connection(
        lambda: AuctionViewer(stats, f"127.0.0.1:{port}", token), "127.0.0.1", port
    )
    await asyncio.wait_for(viewer.joined, 30)
    ack = await asyncio.wait_for(viewer.call("room:join", {"session_id": session_id}), 60)
    if b'"ok":true' not in ack:
        raise RuntimeError(f"join refused: {ack[:200]!r}")
    return viewer


async def _load(cfg: dict[str, Any], index: int, ready: Any, go: Any, out: Any) -> None:
    stats = Stats(0.0, 0.0)
    port, sid = cfg["port"], cfg["session_id"]
    sem = asyncio.Semaphore(40)
    viewers: list[AuctionViewer] = []

    async def one(token: str | None) -> AuctionViewer:
        async with sem:
            return await _open(port, stats, sid, token)

    viewers = list(await asyncio.gather(*(one(None) for _ in range(cfg["viewers"][index]))))
    bidders = list(await asyncio.gather(*(one(t) for t in cfg["tokens"][index])))
    for v in viewers[cfg["sample"][index] :]:
        v.silent = True
    ready.put(index)
    start, auction_id, first_bid = go.get()
    for b in bidders:
        b.auction_id = b.auction_id or auction_id
        b.next_bid = b.next_bid or first_bid
    rng = random.Random(index)
    rate = cfg["rate"]
    sent: list[tuple[float, asyncio.Future[bytes]]] = []
    while time.time() < start:
        await asyncio.sleep(0.002)
    t0 = time.time()
    n = 0
    while time.time() < t0 + cfg["window"]:
        while n < (time.time() - t0) * rate:
            b = rng.choice(bidders)
            amount = b.next_bid + rng.choice([0, 0, 0, 100])
            payload = {"session_id": sid, "auction_id": auction_id, "amount_minor": amount}
            sent.append((time.time(), b.call("auction:bid", payload)))
            n += 1
        await asyncio.sleep(0.005)
    acks = []
    for at, fut in sent:
        try:
            raw = await asyncio.wait_for(fut, 30)
        except TimeoutError:
            acks.append((at, None))
            continue
        body = json.loads(raw)[0]
        acks.append((at, body["bid"]["seq"] if body.get("ok") else None))
    await asyncio.sleep(2.0)  # the last leads land
    out.put(
        {
            "acks": acks,
            "sent": n,
            "leads": [v.leads for v in viewers[: cfg["sample"][index]]],
            "lost": stats.lost,
        }
    )
    for v in viewers + bidders:
        if v.transport is not None:
            v.transport.close()


def load_process(cfg: dict[str, Any], index: int, ready: Any, go: Any, out: Any) -> None:
    """Entry point of one load process."""
    asyncio.run(_load(cfg, index, ready, go, out))


# -- orchestration ------------------------------------------------------------------------
async def _start_auction(base: str, token: str, sid: int, pid: int, seconds: int) -> dict[str, Any]:
    import socketio

    client = socketio.AsyncClient()
    await client.connect(base, auth={"token": token}, transports=["websocket"])
    await client.call("room:join", {"session_id": sid})
    ack: dict[str, Any] = await client.call(
        "auction:start",
        {
            "session_id": sid,
            "product_id": pid,
            "start_price_minor": 100,
            "duration_s": seconds,
            "window_s": 10,
            "reset_s": 10,
        },
    )
    await client.disconnect()
    return ack


def _bidders(base: str, db: Path, count: int) -> list[str]:
    """Bidders straight into the database (scrypt is not what we measure), profiles saved."""
    from live_server.accounts.credentials import TokenSigner
    from live_server.platform.identity import Role

    names = [f"bidder{i:04d}" for i in range(count)]
    with sqlite3.connect(db, timeout=30) as conn:
        conn.executemany(
            "INSERT INTO users(username, display_name, password_hash, role, interests, created_at)"
            " VALUES (?, ?, '!', 'viewer', '[]', ?)",
            [(n, n.title(), time.time()) for n in names],
        )
        ids = dict(conn.execute("SELECT username, id FROM users WHERE username LIKE 'bidder%'"))
    signer = TokenSigner(b"bench", 3600)
    tokens = [signer.issue(int(ids[n]), n, Role.VIEWER)[0] for n in names]
    for t in tokens:
        _http(
            "PUT",
            f"{base}/api/me/checkout-profile",
            {"address": ADDRESS, "payment_method": "cod"},
            t,
        )
    return tokens


def run(args: argparse.Namespace, db_per_bid: bool, bids: float) -> dict[str, Any]:
    """One mode: a fresh server, the room, the load processes, the figures and the checks."""
    data_dir = tempfile.mkdtemp(prefix="bench-auction-")
    server = start_server(
        [sys.executable, str(Path(__file__).resolve()), "--serve", data_dir]
        + (["--db-per-bid"] if db_per_bid else []),
        log_path=Path(data_dir) / "server.log",
        timeout=30,
    )
    base = server.url
    try:
        host = _register(base, "benchhost")
        db = Path(data_dir) / "liveshop.db"
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE users SET role = 'host' WHERE id = ?", (host["user"]["id"],))
        token = _http(
            "POST", f"{base}/api/auth/login", {"username": "benchhost", "password": "bench-pass"}
        )["token"]
        pid = _http(
            "POST",
            f"{base}/api/products",
            {
                "title": "Rare sneaker",
                "price_minor": 50_000,
                "currency": "USD",
                "category": "fashion",
                "stock": 5,
            },
            token,
        )["id"]
        sid = _http(
            "POST", f"{base}/api/sessions", {"title": "Bench", "product_ids": [pid]}, token
        )["id"]
        _http("POST", f"{base}/api/sessions/{sid}/start", {}, token)
        tokens = _bidders(base, db, args.bidders)
        procs = args.procs
        per = [args.viewers // procs + (1 if i < args.viewers % procs else 0) for i in range(procs)]
        cfg = {
            "port": server.port,
            "session_id": sid,
            "viewers": per,
            "tokens": [tokens[i::procs] for i in range(procs)],
            "sample": [min(n, max(1, round(args.sample * n / args.viewers))) for n in per],
            "rate": bids / procs,
            "window": args.window,
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
            ready.get(timeout=600)
        # the auction's last 10 s are the bidding window: it starts with 10 s on the clock
        started = asyncio.run(_start_auction(base, token, sid, pid, 10))
        auction = started["auction"]
        start = time.time() + 0.2
        for q in gos:
            q.put((start, auction["id"], auction["next_bid_minor"]))
        time.sleep(max(0.0, start - time.time()))
        cpu0 = server.cpu_seconds()
        time.sleep(args.window)
        cpu = server.cpu_seconds() - cpu0
        results = [out.get(timeout=300) for _ in workers]
        for w in workers:
            w.join(30)
        time.sleep(12)  # the clock runs out (10 s after the last bid), the winner's order
        audit = _http("GET", f"{base}/api/auctions/{auction['id']}", None, token)
        return {**_figures(args, db_per_bid, results, audit, cpu), "bids_s": bids}
    finally:
        server.stop()


def _figures(
    args: argparse.Namespace,
    db_per_bid: bool,
    results: list[dict[str, Any]],
    audit: dict[str, Any],
    cpu: float,
) -> dict[str, Any]:
    acks = [a for r in results for a in r["acks"]]
    accepted = {seq: at for at, seq in acks if seq is not None}
    stored = [b["seq"] for b in audit["bids"]]
    bids_by_seq = {b["seq"]: b for b in audit["bids"]}
    moved, before = [], (0, 0)
    for b in audit["bids"]:
        if (b["price_minor"], b["leader_id"]) != before:
            moved.append(b["seq"])
        before = (b["price_minor"], b["leader_id"])
    per_delivery: list[float] = []
    every_viewer: dict[int, float] = {}
    reordered = 0
    missing_last = 0
    for r in results:
        for leads in r["leads"]:
            seqs = [s for s, _, _ in leads]
            if seqs != sorted(set(seqs)):
                reordered += 1
            if not seqs or seqs[-1] != moved[-1]:
                missing_last += 1
            # each lead-moving bid reaches this viewer with the first lead at or after its seq
            j = 0
            for seq in moved:
                while j < len(leads) and leads[j][0] < seq:
                    j += 1
                if j == len(leads) or seq not in accepted:
                    continue
                latency = leads[j][1] - accepted[seq]
                per_delivery.append(latency)
                every_viewer[seq] = max(every_viewer.get(seq, 0.0), latency)
    worst = list(every_viewer.values())
    return {
        "mode": "db-per-bid" if db_per_bid else "book",
        "sent": sum(r["sent"] for r in results),
        "accepted": len(accepted),
        "stored_once_in_order": stored == list(range(1, len(stored) + 1))
        and set(accepted) == set(stored)
        and all(
            bids_by_seq[s]["server_time"] <= bids_by_seq[t]["server_time"]
            for s, t in itertools.pairwise(stored)
        ),
        "reordered": reordered,
        "missing_last": missing_last,
        "p50_ms": 1000 * percentile(per_delivery, 0.5),
        "p99_ms": 1000 * percentile(per_delivery, 0.99),
        "all_p99_ms": 1000 * percentile(worst, 0.99),
        "cpu_cores": cpu / args.window,
        "result": audit["auction"]["result"],
        "lost": sum(r["lost"] for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--viewers", type=int, default=2000)
    parser.add_argument("--bidders", type=int, default=100)
    parser.add_argument(
        "--bids",
        type=int_list,
        default=[50, 400],
        help="bids per second, all bidders; one run per rate and mode (default 50,400)",
    )
    parser.add_argument("--window", type=float, default=10.0, help="seconds of bidding")
    parser.add_argument("--procs", type=int, default=2, help="load-generator processes")
    parser.add_argument("--sample", type=int, default=200, help="viewers that measure")
    parser.add_argument("--only", choices=["book", "db-per-bid"])
    parser.add_argument("--serve", metavar="DATA_DIR", help=argparse.SUPPRESS)
    parser.add_argument("--db-per-bid", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.db_per_bid)
        return
    modes = [False, True] if args.only is None else [args.only == "db-per-bid"]
    rows = []
    for bids in args.bids:
        for db_per_bid in modes:
            mode = "db-per-bid" if db_per_bid else "book"
            print(f"running {mode} at {bids} bids/s ...", file=sys.stderr, flush=True)
            rows.append(run(args, db_per_bid, bids))
    print(
        f"\nauction benchmark {utc_stamp()}, {os.cpu_count()} cores: {args.viewers} viewers,"
        f" {args.bidders} bidders, bidding for {args.window:g} s\n"
    )
    table = Table(
        "mode",
        "bids/s",
        "bids sent",
        "accepted",
        Column("lead p50 ms", ".1f"),
        Column("lead p99 ms", ".1f"),
        Column("p99 to every viewer ms", ".1f"),
        "stored once, in order",
        "viewers seeing leads go back",
        Column("server CPU (cores)", ".2f"),
        "result",
    )
    for r in rows:
        table.add(
            r["mode"],
            str(r["bids_s"]),
            str(r["sent"]),
            str(r["accepted"]),
            r["p50_ms"],
            r["p99_ms"],
            r["all_p99_ms"],
            "yes" if r["stored_once_in_order"] else "NO",
            str(r["reordered"]),
            r["cpu_cores"],
            r["result"],
        )
    print(table.markdown())
    target = next((r for r in rows if r["mode"] == "book" and r["bids_s"] == 50), None)
    if target is not None:
        fast = "under" if target["all_p99_ms"] < 150 else "NOT under"
        light = "under" if target["cpu_cores"] < 1 else "NOT under"
        print(
            f"\ntarget at 50 bids/s: p99 to every viewer {target['all_p99_ms']:.0f} ms ({fast}"
            f" 150 ms), server CPU {target['cpu_cores']:.2f} cores ({light} one core)"
        )
    broken = [r["mode"] for r in rows if not r["stored_once_in_order"] or r["reordered"]]
    if broken:
        print(f"FAILED: bids lost, doubled or reordered in {', '.join(broken)}")
    for r in rows:
        if r["missing_last"] or r["lost"]:
            print(
                f"note: {r['mode']}: {r['missing_last']} viewers missed the last lead,"
                f" {r['lost']} connections dropped"
            )

    if broken:
        sys.exit(1)


if __name__ == "__main__":
    main()

"""A bidding war of 200 real Socket.IO bidders over two LiveShop processes sharing Redis.

Both nodes serve one data directory (one SQLite file, one secret) with `--redis-url`; half
the bidders are on each node. Every accepted bid must be stored once, in the order the
book accepted it; every viewer's sequence of leads only moves forward; the final price is
what the rules make of the stored bids; exactly one order goes to the winner at that
price and the stock drops by one. A bidder without a payment method, a banned bidder and
the seller are refused with words.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from live_server.commerce.auctions.rules import Accepted, Bid, Book, judge_bid
from support.auctions import Bidder, insert_viewers, save_profiles, start_payload
from support.helpers import ServerProcess, auth, start_server_process, wait_for
from support.room import RoomClient

pytestmark = [pytest.mark.redis, pytest.mark.slow]
REDIS_URL = "redis://127.0.0.1:6379/0"
SECRET = "auction-two-node-secret"
BIDDERS = 200


@pytest.fixture
def prefix() -> str:
    return f"test-auction-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def nodes(tmp_path: Path, prefix: str) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    env = {"LIVESHOP_REDIS_PREFIX": prefix, "LIVESHOP_SECRET": SECRET}
    data = tmp_path / "var"
    args = ["--redis-url", REDIS_URL]
    a = start_server_process(data, demo=False, extra_args=args, env=env)
    try:
        b = start_server_process(data, demo=False, extra_args=args, env=env)
    except Exception:
        a.stop()
        raise
    yield a, b
    for node in (a, b):
        node.stop()


@pytest.fixture
async def redis_cleanup(prefix: str) -> AsyncIterator[None]:
    yield
    redis = Redis.from_url(REDIS_URL)
    async for key in redis.scan_iter(match=f"{prefix}:*"):
        await redis.delete(key)
    await redis.aclose()


async def _show(a: ServerProcess, db: Path) -> tuple[Bidder, int, int]:
    """A host, a product with 5 in stock and a live show."""
    async with aiohttp.ClientSession() as http:
        body = {
            "username": "auctioneer",
            "password": "pw-secret-1",
            "display_name": "Auctioneer",
            "interests": ["fashion", "beauty", "home", "kitchen", "tech"],
        }
        async with http.post(f"{a.url}/api/auth/register", json=body) as resp:
            assert resp.status == 201, await resp.text()
            host_id = (await resp.json())["user"]["id"]
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE users SET role = 'host' WHERE id = ?", (host_id,))
        login = {"username": "auctioneer", "password": "pw-secret-1"}
        async with http.post(f"{a.url}/api/auth/login", json=login) as resp:
            token = (await resp.json())["token"]
        product = {
            "title": "Vintage camera",
            "price_minor": 9_900,
            "currency": "USD",
            "category": "tech",
            "stock": 5,
        }
        async with http.post(f"{a.url}/api/products", json=product, headers=auth(token)) as resp:
            assert resp.status == 201, await resp.text()
            pid = (await resp.json())["id"]
        show = {"title": "Auction night", "product_ids": [pid]}
        async with http.post(f"{a.url}/api/sessions", json=show, headers=auth(token)) as resp:
            sid = (await resp.json())["id"]
        async with http.post(f"{a.url}/api/sessions/{sid}/start", headers=auth(token)) as resp:
            assert resp.status == 200, await resp.text()
    return Bidder(host_id, "Auctioneer", token), pid, sid


WAR_BIDS = 30


async def test_a_bidding_war_over_two_nodes(
    nodes: tuple[ServerProcess, ServerProcess], redis_cleanup: None
) -> None:
    a, b = nodes
    db = a.data_dir / "liveshop.db"
    host, pid, sid = await _show(a, db)
    crowd = insert_viewers(db, SECRET, BIDDERS + 2)
    bidders, no_profile, banned = crowd[:BIDDERS], crowd[BIDDERS], crowd[BIDDERS + 1]
    await save_profiles([a.url, b.url], [*bidders, banned])
    clients: list[RoomClient] = []
    try:
        host_c = await RoomClient(a.url, host.token).connect()
        clients.append(host_c)
        await host_c.join(sid)

        async def join(n: int, who: Bidder) -> RoomClient:
            c = await RoomClient((a, b)[n % 2].url, who.token).connect()
            clients.append(c)
            await c.join(sid)
            return c

        sem = asyncio.Semaphore(20)

        async def join_limited(n: int, who: Bidder) -> RoomClient:
            async with sem:
                return await join(n, who)

        bidder_cs = await asyncio.gather(*(join_limited(n, w) for n, w in enumerate(bidders)))
        lonely = await join(1, no_profile)
        rebel = await join(1, banned)  # on node b; the ban comes through node a

        started = await host_c.call(
            "auction:start",
            start_payload(sid, pid, start_price_minor=500, duration_s=6, window_s=3, reset_s=3),
        )
        assert started.get("ok"), started
        aid = started["auction"]["id"]

        def bid_of(who: RoomClient, amount: int, kind: str = "amount") -> Any:
            payload = {"session_id": sid, "auction_id": aid, "amount_minor": amount, "kind": kind}
            return who.call("auction:bid", payload, timeout=20)

        # the refusals, in words
        assert (await bid_of(host_c, 500))["error"]["code"] == "seller_cannot_bid"
        assert (await bid_of(lonely, 500))["error"]["code"] == "checkout_profile_required"
        ban = await host_c.call("mod:ban", {"session_id": sid, "user_id": banned.id})
        assert ban["ok"]
        await wait_for(lambda: rebel.disconnected.is_set(), message="the banned bidder dropped")
        again = await RoomClient(b.url, banned.token).connect()
        clients.append(again)
        joined = await again.call("room:join", {"session_id": sid})
        assert joined["error"] == {"code": "banned", "message": "you are banned from this session"}
        refused = await bid_of(again, 10_000)
        assert refused["error"]["code"] == "not_joined"

        # the war: each bidder taps the next bid it knows of, or sets a maximum
        accepted: list[dict[str, Any]] = []
        refusals: list[dict[str, Any]] = []
        # at least 4 s and 30 accepted bids (a loaded machine takes longer to get there; the
        # counter-bid window keeps the auction open while the war goes on), at most 25 s
        clock = asyncio.get_running_loop().time
        began = clock()

        def going() -> bool:
            elapsed = clock() - began
            return elapsed < 4.0 or (len(accepted) < WAR_BIDS and elapsed < 25.0)

        async def war(n: int, c: RoomClient) -> None:
            rng = random.Random(n)
            while going():
                leads = c.events["auction:lead"]
                nxt = leads[-1]["next_bid_minor"] if leads else 500
                if rng.random() < 0.15:
                    ack = await bid_of(c, nxt + rng.randint(0, 40) * 100, "max")
                else:
                    ack = await bid_of(c, nxt + rng.choice([0, 0, 0, 100]))
                (accepted if ack.get("ok") else refusals).append(ack)
                await asyncio.sleep(rng.uniform(0.05, 0.6))

        await asyncio.gather(*(war(n, c) for n, c in enumerate(bidder_cs)))
        result = await wait_for(
            lambda: host_c.events["auction:result"], timeout=30, message="the result"
        )
        result = result[0]
        # a real war; every accepted bid is checked below
        assert len(accepted) >= WAR_BIDS, len(accepted)
        assert all(
            r["error"]["code"] in ("bid_too_low", "already_leading", "max_not_higher")
            for r in refusals
        ), {r["error"]["code"] for r in refusals}

        url = f"{b.url}/api/auctions/{aid}"
        async with aiohttp.ClientSession() as http, http.get(url, headers=auth(host.token)) as r:
            audit = await r.json()
        stored = audit["bids"]
        # every accepted bid stored once, in the order the book accepted it
        assert [s["seq"] for s in stored] == list(range(1, len(accepted) + 1))
        assert sorted(a_["bid"]["seq"] for a_ in accepted) == [s["seq"] for s in stored]
        times = [s["server_time"] for s in stored]
        assert times == sorted(times)
        # the rules, replayed over the stored bids, give the server's price and winner
        book = Book(start_price=500, ends_at_ms=2**50)
        for s in stored:
            got = judge_bid(book, Bid(s["bidder_id"], s["kind"], s["amount_minor"]), 0)
            assert isinstance(got, Accepted), (s, got)
            assert got.book.price == s["price_minor"] and got.book.leader == s["leader_id"]
            book = got.book
        assert result["price_minor"] == book.price and result["winner"]["id"] == book.leader
        assert result["result"] == "sold"
        # every viewer, on either node, saw leads only move forward, up to the last one
        moved, before = [], (0, 0)
        for s in stored:
            if (s["price_minor"], s["leader_id"]) != before:
                moved.append(s["seq"])
            before = (s["price_minor"], s["leader_id"])
        for c in [host_c, *bidder_cs]:
            seqs = [ld["seq"] for ld in c.events["auction:lead"]]
            prices = [ld["price_minor"] for ld in c.events["auction:lead"]]
            assert seqs == sorted(set(seqs)) and prices == sorted(prices)
            assert seqs and seqs[-1] == moved[-1] and set(seqs) <= set(moved)
        # exactly one order, for the winner, at that price; the stock dropped by one
        with sqlite3.connect(db) as conn:
            orders = conn.execute(
                "SELECT o.buyer_id, o.total_minor, i.unit_price_minor, o.session_id FROM orders o"
                " JOIN order_items i ON i.order_id = o.id"
            ).fetchall()
            stock = conn.execute("SELECT stock FROM products WHERE id = ?", (pid,)).fetchone()[0]
        assert orders == [(book.leader, book.price, book.price, sid)]
        assert stock == 4
        winner_c = next(c for c, w in zip(bidder_cs, bidders, strict=True) if w.id == book.leader)
        await wait_for(lambda: winner_c.events["auction:won"], message="the winner's notice")
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)

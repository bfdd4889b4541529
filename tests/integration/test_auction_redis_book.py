"""The Redis bid book's Lua script judges exactly like the pure rules (and the memory book).

The same random bidding wars go to `rules.judge_bid` (through the memory book) and to the
script on the real Redis: every answer and every book must be the same.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from live_server.commerce.auctions.book import BidRecord, BidRefused, MemoryBidBook, now_ms
from live_server.commerce.auctions.redis_book import RedisBidBook
from live_server.commerce.auctions.rules import Bid, Book

pytestmark = pytest.mark.redis
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def redis_book() -> AsyncIterator[RedisBidBook]:
    redis = Redis.from_url(REDIS_URL)
    book = RedisBidBook(redis, f"test-auction-{uuid.uuid4().hex[:8]}")
    yield book
    await book.delete_all()
    await redis.aclose()


def _same(a: BidRecord | BidRefused, b: BidRecord | BidRefused) -> tuple[object, ...]:
    assert type(a) is type(b), (a, b)
    if isinstance(a, BidRefused):
        assert isinstance(b, BidRefused)
        return (a.refused, a.first_bid) if a.refused == b.refused else ("differ", a, b)
    assert isinstance(b, BidRecord)
    keys = ("seq", "bidder", "outcome", "price", "leader", "leader_name", "leader_max", "bids")
    left = (*(getattr(a, k) for k in keys), a.lead_changed, a.previous_leader)
    right = (*(getattr(b, k) for k in keys), b.lead_changed, b.previous_leader)
    assert left == right
    return left


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_the_script_and_the_rules_agree_on_a_random_war(
    redis_book: RedisBidBook, seed: int
) -> None:
    rng = random.Random(seed)
    # no counter-bid window: the two books run on different clocks (tested below)
    start = Book(
        start_price=500, ends_at_ms=now_ms() + 600_000, window_ms=0, reserve=rng.choice([0, 9_000])
    )
    memory = MemoryBidBook()
    await memory.open(1, 7, start, "")
    await redis_book.open(1, 7, start, "")
    price = 500
    for _ in range(400):
        bidder = rng.randint(1, 6)
        kind = rng.choice(["amount", "amount", "max"])
        amount = max(1, price + rng.randint(-300, 2_500))
        bid = Bid(bidder, kind, amount)
        a = await memory.bid(1, bid, f"user{bidder}")
        b = await redis_book.bid(1, bid, f"user{bidder}")
        _same(a, b)
        if isinstance(a, BidRecord):
            price = a.price
    mview, rview = await memory.view(1), await redis_book.view(1)
    assert mview is not None and rview is not None
    assert mview.book.price > 500 and mview.book.bids > 20
    assert (mview.book, mview.leader_name) == (rview.book, rview.leader_name)
    assert await memory.maxima(1) == await redis_book.maxima(1)
    mlog, rlog = await memory.log(1), await redis_book.log(1)
    assert [r.seq for r in rlog] == list(range(1, len(rlog) + 1))
    for x, y in zip(mlog, rlog, strict=True):
        _same(x, y)


async def test_the_script_extends_closes_once_and_cancels_only_without_bids(
    redis_book: RedisBidBook,
) -> None:
    now = now_ms()
    await redis_book.open(2, 8, Book(start_price=100, ends_at_ms=now + 3_000), "")
    got = await redis_book.bid(2, Bid(5, "amount", 100), "Ana")
    assert isinstance(got, BidRecord)
    assert got.extended and got.ends_at_ms == got.at_ms + 10_000  # less than 10 s left: reset
    assert not await redis_book.cancel(2)  # it has a bid
    assert await redis_book.close_if_due(2) is None  # not due yet
    # a book whose time is up closes once, whoever asks
    await redis_book.open(3, 9, Book(start_price=100, ends_at_ms=now - 1), "")
    closed = await redis_book.close_if_due(3)
    assert closed is not None and closed.book.status == "closed"
    assert await redis_book.close_if_due(3) is None
    late = await redis_book.bid(3, Bid(5, "amount", 100), "Ana")
    assert isinstance(late, BidRefused) and late.refused.code == "auction_ended"
    await redis_book.open(4, 10, Book(start_price=100, ends_at_ms=now + 60_000), "")
    assert await redis_book.cancel(4)
    assert 4 not in await redis_book.running()
    # the lease: one node at a time
    other = RedisBidBook(redis_book._redis, redis_book._prefix.removesuffix(":auctions"))
    assert await redis_book.owns(2)
    assert not await other.owns(2)
    assert await redis_book.owns(2)  # renewed
    # a lead is broadcast once cluster-wide, and never after a newer one (a lease handover)
    assert await redis_book.claim_lead(2, 7)
    assert not await other.claim_lead(2, 7)
    assert await other.claim_lead(2, 10)
    assert not await redis_book.claim_lead(2, 9)
    assert not await redis_book.claim_lead(2, 10)
    assert await redis_book.claim_lead(3, 1)  # per auction

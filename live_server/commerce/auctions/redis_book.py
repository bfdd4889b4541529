"""The bid book in Redis, for several nodes: one Lua script per bid judges and records it.

Each auction is a hash (`{prefix}:auction:{id}`) with its book; a bid runs `BID_SCRIPT`,
which reads the book, judges the bid by `rules.judge_bid`'s rules (the increment table is
stored in the hash by `open`, from `rules.INCREMENTS`), writes the new book, appends the
accepted bid to the auction's log list and publishes it when it moves the lead, all in one
atomic step. Redis runs one script at a time, so bids from every node are judged one after
the other, each at Redis's own clock (`TIME`): one receive time for all nodes, no skew.

One node at a time owns an auction (a short lease, renewed by its runner): it runs the
clock (closes the auction when its time is up) and broadcasts the leads it hears on the
channel, in the order they were published.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT

from live_server.commerce.auctions.book import (
    KEEP_CLOSED_MS,
    BidRecord,
    BidRefused,
    BookView,
    Listener,
)
from live_server.commerce.auctions.lua import (
    BID_SCRIPT,
    CANCEL_SCRIPT,
    CLAIM_LEAD_SCRIPT,
    CLOSE_SCRIPT,
    OWN_SCRIPT,
)
from live_server.commerce.auctions.rules import (
    MAX_PRICE_MINOR,
    RUNNING,
    Bid,
    Book,
    Refused,
    increments_spec,
)

logger = logging.getLogger(__name__)

OWNER_TTL_MS = 2_000
KEEP_LOG_S = 3_600  # a closed auction's keys go after an hour (the audit is in SQLite)


def _book(fields: dict[str, str]) -> Book:
    def num(key: str) -> int:
        return int(float(fields.get(key) or 0))

    return Book(
        start_price=num("start_price"),
        ends_at_ms=num("ends_at_ms"),
        mode=fields.get("mode", "extend"),
        window_ms=num("window_ms"),
        reset_ms=num("reset_ms"),
        reserve=num("reserve"),
        status=fields.get("status", RUNNING),
        price=num("price"),
        leader=num("leader"),
        leader_max=num("leader_max"),
        bids=num("bids"),
        seq=num("seq"),
    )


def _text(raw: dict[bytes, bytes]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in raw.items()}


class RedisBidBook:
    """Books shared by every node through Redis (see the module docstring)."""

    def __init__(self, redis: Redis, prefix: str, node_id: str | None = None) -> None:
        self._redis = redis
        self._prefix = f"{prefix}:auctions"
        self.node_id = node_id or uuid.uuid4().hex[:12]
        self.channel = f"{self._prefix}:leads"
        self._bid = redis.register_script(BID_SCRIPT)
        self._close = redis.register_script(CLOSE_SCRIPT)
        self._cancel = redis.register_script(CANCEL_SCRIPT)
        self._own = redis.register_script(OWN_SCRIPT)
        self._claim_lead = redis.register_script(CLAIM_LEAD_SCRIPT)
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None

    def _key(self, auction_id: int, part: str = "") -> str:
        return f"{self._prefix}:{auction_id}{part}"

    def _session_key(self, session_id: int) -> str:
        return f"{self._prefix}:session:{session_id}"

    @property
    def _running_key(self) -> str:
        return f"{self._prefix}:running"

    async def open(self, auction_id: int, session_id: int, book: Book, leader_name: str) -> None:
        """Writes a new (or restored) book and makes it the session's current auction."""
        fields: dict[FieldT, EncodableT] = {
            "auction_id": auction_id,
            "session_id": session_id,
            "start_price": book.start_price,
            "ends_at_ms": book.ends_at_ms,
            "mode": book.mode,
            "window_ms": book.window_ms,
            "reset_ms": book.reset_ms,
            "reserve": book.reserve,
            "status": book.status,
            "price": book.price,
            "leader": book.leader,
            "leader_max": book.leader_max,
            "leader_name": leader_name,
            "bids": book.bids,
            "seq": book.seq,
            "increments": increments_spec(),
            "max_price": MAX_PRICE_MINOR,
            "result": "",
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._key(auction_id))
            pipe.hset(self._key(auction_id), mapping=fields)
            pipe.set(self._session_key(session_id), auction_id)
            pipe.sadd(self._running_key, auction_id)
            await pipe.execute()

    async def bid(self, auction_id: int, bid: Bid, name: str) -> BidRecord | BidRefused:
        """Runs the bid script: judged, recorded and published in one atomic step."""
        keys = [self._key(auction_id), self._key(auction_id, ":log"), self._key(auction_id, ":max")]
        args: list[str | int] = [bid.bidder, bid.kind, bid.amount, name, self.channel]
        reply = await cast(Awaitable[list[Any]], self._bid(keys=keys, args=args))
        if int(reply[0]) == 1:
            return BidRecord.from_dict(json.loads(reply[1]))
        code = reply[1].decode() if isinstance(reply[1], bytes) else str(reply[1])
        return BidRefused(Refused(code, int(reply[2])), int(reply[3]) == 0, int(reply[4]))

    async def view(self, auction_id: int) -> BookView | None:
        """The book now, with Redis's clock."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._key(auction_id))
            pipe.time()
            raw, (secs, micros) = await pipe.execute()
        if not raw:
            return None
        fields = _text(raw)
        return BookView(
            auction_id=auction_id,
            session_id=int(fields["session_id"]),
            book=_book(fields),
            leader_name=fields.get("leader_name", ""),
            now_ms=int(secs) * 1000 + int(micros) // 1000,
            result=fields.get("result", ""),
        )

    async def current(self, session_id: int) -> int | None:
        """The session's open book, if any (the key expires after the result has shown)."""
        raw = await self._redis.get(self._session_key(session_id))
        return int(raw) if raw else None

    async def running(self) -> list[int]:
        """Auctions still taking bids, on any node."""
        return sorted(int(x) for x in await self._redis.smembers(self._running_key))

    async def close_if_due(self, auction_id: int) -> BookView | None:
        """Closes the auction if its time is up; only one caller ever gets the view."""
        reply = await cast(
            Awaitable[Any], self._close(keys=[self._key(auction_id), self._running_key])
        )
        if not reply:
            return None
        return await self.view(auction_id)

    async def cancel(self, auction_id: int) -> bool:
        """Cancels a running auction without a bid (atomically: a bid can't slip in)."""
        keys = [self._key(auction_id), self._running_key]
        return bool(await cast(Awaitable[Any], self._cancel(keys=keys)))

    async def finish(self, auction_id: int, result: str) -> None:
        """Stores the result for the card; every key of the auction expires later."""
        view = await self.view(auction_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(auction_id), "result", result)
            pipe.srem(self._running_key, auction_id)
            for part in ("", ":log", ":max", ":owner"):
                pipe.expire(self._key(auction_id, part), KEEP_LOG_S)
            if view is not None:
                pipe.pexpire(self._session_key(view.session_id), KEEP_CLOSED_MS)
            await pipe.execute()

    async def log(self, auction_id: int) -> list[BidRecord]:
        """Every accepted bid, from the log list the script appends to."""
        raw = await cast(
            Awaitable[list[bytes]], self._redis.lrange(self._key(auction_id, ":log"), 0, -1)
        )
        return [BidRecord.from_dict(json.loads(item)) for item in raw]

    async def maxima(self, auction_id: int) -> dict[int, int]:
        """Each bidder's highest amount."""
        raw = await cast(
            Awaitable[dict[bytes, bytes]], self._redis.hgetall(self._key(auction_id, ":max"))
        )
        return {int(k): int(float(v)) for k, v in raw.items()}

    async def claim_lead(self, auction_id: int, seq: int) -> bool:
        """Whether no node has broadcast this lead or a newer one (and now this one has)."""
        key = self._key(auction_id, ":broadcast")
        reply = await cast(Awaitable[Any], self._claim_lead(keys=[key], args=[seq, KEEP_LOG_S]))
        return bool(reply)

    async def owns(self, auction_id: int) -> bool:
        """Claims or renews this node's lease on the auction; whether it holds it."""
        key = self._key(auction_id, ":owner")
        reply = await cast(Awaitable[Any], self._own(keys=[key], args=[self.node_id, OWNER_TTL_MS]))
        return bool(reply)

    def listen(self, listener: Listener) -> None:
        """Lead-moving bids from every node go to `listener`, in the order published."""
        self._listeners.append(listener)

    async def run(self) -> None:
        """Hears the published leads until cancelled (reconnects after Redis errors)."""
        while True:
            try:
                await self._listen()
            except (OSError, RedisError) as exc:
                logger.warning("auction leads: Redis unavailable (%s); retrying", exc)
                await asyncio.sleep(0.5)

    async def _listen(self) -> None:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self.channel)
        try:
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                try:
                    record = BidRecord.from_dict(json.loads(message["data"]))
                except (KeyError, TypeError, ValueError):
                    logger.warning("auction leads: ignoring %.200r", message.get("data"))
                    continue
                for listener in self._listeners:
                    listener(record)
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]  # typed from redis 8.2

    async def close(self) -> None:
        """Nothing of its own: the platform closes the Redis client."""

    async def delete_all(self) -> None:
        """Removes every key under this prefix (tests)."""
        async for key in self._redis.scan_iter(match=f"{self._prefix}:*"):
            await self._redis.delete(key)

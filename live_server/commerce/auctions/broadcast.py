"""Broadcasting new leads at once, in the order the book accepted them, and the tick section.

The book hands every lead-moving bid to `LeadBroadcaster.offer` in sequence order (inside
the memory book's judging step; from the Redis book's subscription). Only the node that
owns an auction broadcasts its leads, so with several nodes each lead is emitted once,
by one emitter, and reaches every viewer in order; while a stalled owner's lease passes to
another node both may hold it for a moment, so each lead is claimed in the book first
(`claim_lead`: newer than every lead broadcast so far, by any node). When bids come faster
than the room can be told, the broadcaster sends the newest lead and skips the ones it
overtook (their `seq` shows the gap): the sequence viewers see only ever moves forward.

`AuctionsTick` is the room's tick contributor: every tick carries the running auction's
card with its time left and the server time.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from live_server.commerce.auctions.book import BidRecord
from live_server.commerce.auctions.service import AUCTION_LEAD, AuctionService
from live_server.commerce.auctions.view import lead_payload

logger = logging.getLogger(__name__)


class LeadBroadcaster:
    """Emits `auction:lead` for the auctions this node owns, newest first, never backwards."""

    def __init__(self, service: AuctionService) -> None:
        self._svc = service
        self._owned = service.owned
        self._pending: dict[int, BidRecord] = {}
        self._sent: dict[int, int] = {}  # auction -> last seq emitted
        self._wake = asyncio.Event()
        self.emitted = 0

    def offer(self, record: BidRecord) -> None:
        """A lead-moving bid, in sequence order (called by the book; never blocks)."""
        if record.auction_id not in self._owned:
            return
        newest = self._pending.get(record.auction_id)
        if newest is None or record.seq > newest.seq:
            self._pending[record.auction_id] = record
            self._wake.set()

    async def run(self) -> None:
        """Emits pending leads until cancelled."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            pending, self._pending = self._pending, {}
            for auction_id, record in pending.items():
                if record.seq <= self._sent.get(auction_id, 0):
                    continue
                self._sent[auction_id] = record.seq
                try:
                    if not await self._svc.book.claim_lead(auction_id, record.seq):
                        continue  # another node (which took the lease over) was first
                    meta = await self._svc.meta(auction_id)
                    await self._svc.room.emit_to_room(
                        record.session_id, AUCTION_LEAD, lead_payload(meta, record)
                    )
                    self.emitted += 1
                except Exception:
                    logger.exception(
                        "auction %d: broadcasting lead %d failed", auction_id, record.seq
                    )
            if len(self._sent) > 10_000:
                self._sent.clear()


class AuctionsTick:
    """The room's tick contributor for auctions (section "auctions")."""

    name = "auctions"

    def __init__(self, service: AuctionService) -> None:
        self._svc = service

    async def room_tick(self, session_id: int) -> dict[str, Any] | None:
        """The show's auction card while one runs (or just ended), else nothing."""
        card = await self._svc.current(session_id)
        if card is None:
            return None
        return {"auction": card, "server_time": card["server_time"]}

    async def card_extras(
        self, session_id: int, product_ids: list[int]
    ) -> dict[int, dict[str, Any]]:
        """Auctions add nothing to pinned cards: the auction has its own card."""
        return {}

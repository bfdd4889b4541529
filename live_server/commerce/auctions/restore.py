"""After a restart: auctions still running get their book back from the audit trail.

With Redis the book outlives a node and nothing needs doing. In memory, the book is rebuilt
from the auction's row and its last stored bid (price, leader, the leader's maximum, the
deadline it set); an auction whose time ran out meanwhile closes at the next step of the
closer, like any other. Bids not yet written behind when the process died are lost with it.
"""

from __future__ import annotations

import logging

from live_server.commerce.auctions.rules import Book
from live_server.commerce.auctions.service import AuctionService

logger = logging.getLogger(__name__)


async def restore_books(service: AuctionService) -> int:
    """Reopens the book of every running auction that has none; how many it reopened."""
    restored = 0
    for row in await service.repo.in_progress():
        auction_id = int(row["id"])
        if row["status"] != "running":
            logger.warning("auction %d was being settled when the server stopped", auction_id)
            continue
        if await service.book.view(auction_id) is not None:
            continue
        bids = await service.repo.bids(auction_id)
        last = bids[-1] if bids else None
        ends_at = float(row["ends_at"]) if last is None else max(row["ends_at"], last["ends_at"])
        book = Book(
            start_price=int(row["start_price_minor"]),
            ends_at_ms=int(ends_at * 1000),
            mode=str(row["mode"]),
            window_ms=int(row["window_s"]) * 1000,
            reset_ms=int(row["reset_s"]) * 1000,
            reserve=int(row["reserve_minor"] or 0),
            price=int(last["price_minor"]) if last else 0,
            leader=int(last["leader_id"]) if last else 0,
            leader_max=int(last["leader_max_minor"]) if last else 0,
            bids=len(bids),
            seq=int(last["seq"]) if last else 0,
        )
        name = next(
            (str(b["bidder_name"]) for b in reversed(bids) if b["bidder_id"] == book.leader), ""
        )
        await service.book.open(auction_id, int(row["session_id"]), book, name)
        restored += 1
    if restored:
        logger.info("restored %d running auction(s)", restored)
    return restored

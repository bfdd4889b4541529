"""Closing auctions and selling to the winner, through the same checkout as a purchase.

Every node runs `AuctionCloser.run`: a few times a second it closes the auctions it owns
whose time is up (the book closes each one once, whichever node asks), reconciles the audit
trail with the book's whole log, and settles the result. A sale becomes the winner's order
through `CheckoutService.buy_at_agreed_price`: stock reserved in the checkout transaction,
payment begun with the provider of the winner's saved method, the order attributed to the
show at its media time. The idempotency key names the auction and the offer, so a retry
never makes a second order.

When the winner cannot pay (the order cannot be placed, or it gives its units back later:
a failed payment, an expired hold, a cancellation) the item goes to the next highest bidder
at their highest bid, or back on the shelf, as the host chose.
"""

from __future__ import annotations

import asyncio
import logging
import time

from live_server.commerce.auctions.book import BookView
from live_server.commerce.auctions.rules import SOLD, closing_result, money, next_bidder
from live_server.commerce.auctions.service import AUCTION_RESULT, AUCTION_WON, AuctionService
from live_server.commerce.auctions.store import AuditedBid
from live_server.commerce.auctions.view import AuctionMeta, result_payload, result_text
from live_server.platform.errors import DomainError
from live_server.platform.identity import Principal

logger = logging.getLogger(__name__)

CLOSE_EVERY_S = 0.05
FAILED_SALES_EVERY_S = 1.0
MAX_OFFERS = 3


class AuctionCloser:
    """Runs auction clocks on this node and settles what they close."""

    def __init__(self, service: AuctionService) -> None:
        self._svc = service
        self.owned = service.owned  # auctions this node runs (see broadcast.LeadBroadcaster)

    async def run(self) -> None:
        """Closes due auctions and retries failed sales until cancelled."""
        last_failed_check = 0.0
        while True:
            try:
                await self.close_due()
                if time.monotonic() - last_failed_check >= FAILED_SALES_EVERY_S:
                    last_failed_check = time.monotonic()
                    await self.check_failed_sales()
            except Exception:
                logger.exception("auction closer failed; retrying")
            await asyncio.sleep(CLOSE_EVERY_S)

    async def close_due(self) -> int:
        """Closes every auction this node owns whose time is up; how many it closed."""
        closed = 0
        running = await self._svc.book.running()
        self.owned.intersection_update(running)
        for auction_id in running:
            if not await self._svc.book.owns(auction_id):
                self.owned.discard(auction_id)
                continue
            self.owned.add(auction_id)
            view = await self._svc.book.close_if_due(auction_id)
            if view is not None:
                self.owned.discard(auction_id)
                await self.settle_closed(view)
                closed += 1
        return closed

    async def settle_closed(self, view: BookView) -> None:
        """Stores the whole audit, then the result; a sale becomes the winner's order."""
        svc = self._svc
        meta = await svc.meta(view.auction_id)
        log = await svc.book.log(view.auction_id)
        audited = [
            AuditedBid(r, await svc.media_times.at(meta.session_id, r.at_ms / 1000)) for r in log
        ]
        await svc.audit.flush()
        await svc.repo.write_bids(audited)  # the closing node has every bid, from every node
        if not await svc.repo.claim(view.auction_id, "running"):
            return  # settled already (a node that closed it before a restart)
        book = view.book
        result = closing_result(book)
        if result != SOLD:
            await self._unsold(meta, result, book.bids, book.price)
            return
        await self._sell(meta, book.leader, book.price, book.bids, offer=0)

    async def _sell(
        self, meta: AuctionMeta, winner: int, price: int, bids: int, offer: int
    ) -> None:
        svc = self._svc
        name = await svc.name_of(winner)
        try:
            user = await svc.accounts.get_user(winner)
            order = (
                await svc.checkout.buy_at_agreed_price(
                    Principal(user.id, user.username, user.role),
                    meta.product_id,
                    meta.quantity,
                    price,
                    meta.session_id,
                    f"auction-{meta.id}-offer-{offer}",
                )
            ).order
        except DomainError as exc:
            logger.info("auction %d: the order for user %d failed: %s", meta.id, winner, exc)
            await svc.repo.add_event(
                meta.id,
                "order_failed",
                {"winner_id": winner, "price_minor": price, "reason": exc.message},
                time.time(),
                await svc.media_times.at(meta.session_id, time.time()),
            )
            await self._after_failure(meta, {winner}, offer, bids)
            return
        now = time.time()
        await svc.repo.settle(
            meta.id,
            status="sold",
            result=SOLD if offer == 0 else "offered",
            now=now,
            media_time=await svc.media_times.at(meta.session_id, now),
            bids=bids,
            price_minor=price,
            winner_id=winner,
            winner_name=name,
            order_id=str(order["id"]),
            event="sold",
            detail={
                "winner_id": winner,
                "price_minor": price,
                "order_id": order["id"],
                "offer": offer,
            },
            offer=offer > 0,
        )
        result = SOLD if offer == 0 else "offered"
        await svc.book.finish(meta.id, result)
        payload = result_payload(
            meta, status="sold", result=result, winner=(winner, name), price=price, bids=bids
        )
        await svc.room.emit_to_room(meta.session_id, AUCTION_RESULT, payload)
        total = money(price * meta.quantity, meta.currency)
        won = (
            f"You won {meta.title} for {total}."
            if offer == 0
            else (f"The winner couldn't pay, so {meta.title} is yours at your bid of {total}.")
        )
        await svc.room.emit_to_user(
            winner, AUCTION_WON, {**payload, "order": order, "text": f"{won} Your order is placed."}
        )
        logger.info(
            "auction %d: sold to user %d at %d (order %s)", meta.id, winner, price, order["id"]
        )

    async def _unsold(self, meta: AuctionMeta, result: str, bids: int, price: int) -> None:
        svc = self._svc
        now = time.time()
        status = "unsold" if result in ("no_bids", "reserve_not_met") else "returned"
        await svc.repo.settle(
            meta.id,
            status=status,
            result=result,
            now=now,
            media_time=await svc.media_times.at(meta.session_id, now),
            bids=bids,
            price_minor=price or None,
            winner_id=None,
            winner_name=None,
            order_id=None,
            event=result,
            detail={"text": result_text(meta, result, None, price)},
        )
        await svc.book.finish(meta.id, result)
        payload = result_payload(
            meta, status=status, result=result, winner=None, price=price, bids=bids
        )
        await svc.room.emit_to_room(meta.session_id, AUCTION_RESULT, payload)

    async def check_failed_sales(self) -> None:
        """Sold auctions whose order gave its units back: next bidder, or back on the shelf."""
        svc = self._svc
        for auction_id, order_id in await svc.repo.failed_sales():
            if not await svc.repo.claim(auction_id, "sold", order_id):
                continue  # another node took it
            meta = await svc.meta(auction_id)
            events = await svc.repo.events(auction_id)
            sold = [e["detail"] for e in events if e["kind"] == "sold"]
            losers = {int(d["winner_id"]) for d in sold}
            row = await svc.repo.get(auction_id)
            bids = int(row["bids"]) if row else 0
            await svc.repo.add_event(
                auction_id,
                "payment_failed",
                {"order_id": order_id, "status": await svc.repo.order_status(order_id)},
                time.time(),
                await svc.media_times.at(meta.session_id, time.time()),
            )
            await self._after_failure(meta, losers, len(sold) - 1, bids)

    async def _after_failure(
        self, meta: AuctionMeta, losers: set[int], offer: int, bids: int
    ) -> None:
        svc = self._svc
        if meta.on_payment_failure == "next_bidder" and offer + 1 < MAX_OFFERS:
            best: dict[int, int] = {}
            for b in await svc.repo.bids(meta.id):
                bidder = int(b["bidder_id"])
                best[bidder] = max(best.get(bidder, 0), int(b["amount_minor"]))
            choice = next_bidder(best, losers)
            if choice is not None:
                await self._sell(meta, choice[0], choice[1], bids, offer + 1)
                return
        await self._unsold(meta, "returned", bids, 0)

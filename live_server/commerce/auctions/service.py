"""Auctions in the live room: starting, bidding, cancelling and reading them.

Prices and the winner are the server's decision only. A bid is checked here first (the
auction is this show's, the bidder is not the seller, is neither banned nor timed out, and
has a checkout profile with a payment method, so a win can be paid), then judged by the
auction's bid book, the one writer that orders every bid by its own receive time. The
bidder's acknowledgement says at once whether they lead; viewers get the new lead from
`broadcast.LeadBroadcaster`; the audit trail is written behind (`store.AuditWriter`).
Closing and the winner's order are in `closing.AuctionCloser`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from live_server.accounts.service import AccountService
from live_server.catalog.rules import find_sellable
from live_server.catalog.service import CatalogService
from live_server.commerce.auctions.book import BidBook, BidRecord, BookView
from live_server.commerce.auctions.rules import (
    Bid,
    Book,
    Terms,
    TermsError,
    check_terms,
    increment,
    money,
    refusal_text,
)
from live_server.commerce.auctions.store import (
    AuctionBusy,
    AuctionsRepository,
    AuditedBid,
    AuditWriter,
)
from live_server.commerce.auctions.timeline import auction_timeline
from live_server.commerce.auctions.view import (
    AuctionMeta,
    live_payload,
    result_payload,
    row_payload,
)
from live_server.commerce.checkout.service import CheckoutService
from live_server.commerce.live.state import LiveCommerce
from live_server.commerce.live_clock import MediaTimes
from live_server.commerce.live_room import LiveRoom
from live_server.commerce.rules.inventory import CHOOSE_VARIANT
from live_server.platform.errors import Conflict, Forbidden, Invalid, NotFound
from live_server.platform.identity import Principal
from live_server.room import events as room_events
from live_server.shows import LiveSessionService

logger = logging.getLogger(__name__)

AUCTION_STARTED = "auction:started"
AUCTION_LEAD = "auction:lead"
AUCTION_RESULT = "auction:result"
AUCTION_WON = "auction:won"
PROFILE_CACHE_S = 30.0


class AuctionService:
    """Use cases of auctions (one instance per node)."""

    def __init__(
        self,
        *,
        repo: AuctionsRepository,
        book: BidBook,
        audit: AuditWriter,
        sessions: LiveSessionService,
        catalog: CatalogService,
        checkout: CheckoutService,
        accounts: AccountService,
        live: LiveCommerce,
        room: LiveRoom,
        media_times: MediaTimes,
    ) -> None:
        self.repo = repo
        self.book = book
        self.audit = audit
        self._sessions = sessions
        self._catalog = catalog
        self.checkout = checkout
        self.accounts = accounts
        self._live = live
        self.room = room
        self.media_times = media_times
        self._meta: dict[int, AuctionMeta] = {}
        self._names: dict[int, str] = {}
        self._ready: dict[int, float] = {}  # bidder -> when their checkout profile was seen
        #: Auctions this node owns: it runs their clocks and broadcasts their leads.
        self.owned: set[int] = set()

    # -- lookups --------------------------------------------------------------------------
    async def meta(self, auction_id: int) -> AuctionMeta:
        """An auction's fixed facts (cached: they never change)."""
        meta = self._meta.get(auction_id)
        if meta is None:
            row = await self.repo.get(auction_id)
            if row is None:
                raise NotFound("There's no such auction.", code="auction_not_found")
            meta = self._meta[auction_id] = AuctionMeta.from_row(row)
        return meta

    async def name_of(self, user_id: int) -> str:
        """The first name a bidder is shown by (the most a buyer shares publicly)."""
        name = self._names.get(user_id)
        if name is None:
            name = (await self.accounts.get_user(user_id)).first_name
            if len(self._names) > 50_000:
                self._names.clear()
            self._names[user_id] = name
        return name

    # -- starting and cancelling ----------------------------------------------------------
    async def start(self, who: Principal, session_id: int, data: dict[str, Any]) -> dict[str, Any]:
        """Starts an auction of a line-up product while the show is live (host or moderator)."""
        if not await self._sessions.can_moderate(who, session_id):
            raise Forbidden("Only the host and this show's moderators can start an auction.")
        session = await self._sessions.get(session_id)
        if not session.is_live:
            raise Conflict("Auctions run while the show is live.", code="session_not_live")
        view = await self._sessions.view(session_id)
        product = find_sellable(view.products, data["product_id"])
        if product is None:
            raise Invalid(
                "That product isn't in this show's line-up.",
                code="not_in_lineup",
                field="product_id",
            )
        if product.has_variants:  # the winner gets one unit of one variant
            raise Invalid(
                "Choose which size or colour is auctioned.",
                code=CHOOSE_VARIANT,
                field="product_id",
            )
        sale = self._live.sale_for(product.id)
        if sale is not None and sale.as_dict(time.time())["status"] == "active":
            raise Conflict("This product is in a flash sale right now.", code="sale_running")
        stock = (await self._catalog.get(product.id)).stock
        try:
            terms = check_terms(_terms(data), stock, product.currency)
        except TermsError as exc:
            raise Invalid(str(exc), code="invalid_terms", field=exc.field) from None
        now = time.time()
        media_time = await self.media_times.at(session_id, now)
        try:
            row = await self.repo.create(
                session_id=session_id,
                product_id=product.id,
                seller_id=session.host_id,
                started_by=who.user_id,
                title=product.title,
                currency=product.currency,
                terms=terms,
                now=now,
                media_time=media_time,
            )
        except AuctionBusy:
            raise Conflict(
                "An auction is already running in this show: let it finish first.",
                code="auction_running",
            ) from None
        meta = self._meta[int(row["id"])] = AuctionMeta.from_row(row)
        book = Book(
            start_price=terms.start_price_minor,
            ends_at_ms=int(row["ends_at"] * 1000),
            mode=terms.mode,
            window_ms=terms.window_s * 1000,
            reset_ms=terms.reset_s * 1000,
            reserve=terms.reserve_minor or 0,
        )
        await self.book.open(meta.id, session_id, book, "")
        if await self.book.owns(meta.id):  # the starting node runs the clock while it lives
            self.owned.add(meta.id)
        payload = await self.state_of(meta.id)
        assert payload is not None
        await self.room.emit_to_room(session_id, AUCTION_STARTED, payload)
        logger.info(
            "session %d: auction %d of product %d from %d (%s, %d s)",
            session_id,
            meta.id,
            product.id,
            terms.start_price_minor,
            terms.mode,
            terms.duration_s,
        )
        return payload

    async def cancel(self, who: Principal, auction_id: int) -> dict[str, Any]:
        """Cancels an auction before its first bid (host or moderator)."""
        meta = await self.meta(auction_id)
        if not await self._sessions.can_moderate(who, meta.session_id):
            raise Forbidden("Only the host and this show's moderators can cancel an auction.")
        if not await self.book.cancel(auction_id):
            raise Conflict(
                "An auction can't be cancelled once it has a bid (or after it ended).",
                code="auction_has_bids",
            )
        now = time.time()
        await self.repo.settle(
            auction_id,
            status="cancelled",
            result="cancelled",
            now=now,
            media_time=await self.media_times.at(meta.session_id, now),
            bids=0,
            price_minor=None,
            winner_id=None,
            winner_name=None,
            order_id=None,
            event="cancelled",
            detail={"by": who.user_id},
        )
        await self.book.finish(auction_id, "cancelled")
        payload = result_payload(
            meta, status="cancelled", result="cancelled", winner=None, price=0, bids=0
        )
        await self.room.emit_to_room(meta.session_id, AUCTION_RESULT, payload)
        return payload

    # -- bidding --------------------------------------------------------------------------
    async def bid(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """`auction:bid`: judges one bid; the ack tells the bidder at once where they stand."""
        who = self.room.principal(sid)
        if who is None:
            raise room_events.RoomError("sign_in_required", "Sign in to bid.")
        meta = await self.meta(data["auction_id"])
        if meta.session_id != data["session_id"]:
            raise room_events.RoomError(
                "auction_not_found", "That auction isn't running in this show."
            )
        await self._check_bidder(who, meta)
        name = await self.name_of(who.user_id)
        outcome = await self.book.bid(
            meta.id, Bid(who.user_id, data.get("kind", "amount"), data["amount_minor"]), name
        )
        if not isinstance(outcome, BidRecord):
            text = refusal_text(outcome.refused, meta.currency, first_bid=outcome.first_bid)
            raise room_events.RoomError(outcome.refused.code, text)
        self.audit.add(
            AuditedBid(outcome, await self.media_times.at(meta.session_id, outcome.at_ms / 1000))
        )
        return {"ok": True, "bid": _bid_ack(meta, outcome, who.user_id)}

    async def _check_bidder(self, who: Principal, meta: AuctionMeta) -> None:
        if who.user_id == meta.seller_id:
            raise room_events.RoomError(
                "seller_cannot_bid", "You're selling this item, so you can't bid on it."
            )
        refusal = await self.room.moderation_refusal(meta.session_id, who.user_id)
        if refusal is not None:
            raise room_events.RoomError("not_allowed", refusal)
        seen = self._ready.get(who.user_id)
        if seen is None or time.monotonic() - seen > PROFILE_CACHE_S:
            profile = await self.checkout.profile_of(who.user_id)
            if profile is None or not profile[1]:
                raise room_events.RoomError(
                    "checkout_profile_required",
                    "Add a shipping address and a payment method before you bid, so you can"
                    " pay if you win.",
                )
            if len(self._ready) > 50_000:
                self._ready.clear()
            self._ready[who.user_id] = time.monotonic()

    # -- reading --------------------------------------------------------------------------
    async def state_of(self, auction_id: int) -> dict[str, Any] | None:
        """The auction card's state now, from the book (None once the book is gone)."""
        view: BookView | None = await self.book.view(auction_id)
        if view is None:
            return None
        return live_payload(await self.meta(auction_id), view)

    async def current(self, session_id: int) -> dict[str, Any] | None:
        """The show's auction card: the running auction, or one that just ended."""
        auction_id = await self.book.current(session_id)
        return None if auction_id is None else await self.state_of(auction_id)

    async def state_event(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """`auction:state`: the card now, for a page that joined mid-auction."""
        return {"ok": True, "auction": await self.current(data["session_id"])}

    async def for_session(self, who: Principal | None, session_id: int) -> list[dict[str, Any]]:
        """A show's auctions, newest first (visible shows only)."""
        await self._sessions.require_visible(who, session_id)
        return [row_payload(r) for r in await self.repo.for_session(session_id)]

    async def timeline(self, who: Principal | None, session_id: int) -> list[dict[str, Any]]:
        """A show's auctions for its replay, oldest first: leads and results at media times."""
        await self._sessions.require_visible(who, session_id)
        await self.audit.flush()
        rows = reversed(await self.repo.for_session(session_id, limit=200))
        return [auction_timeline(r, await self.repo.bids(int(r["id"]))) for r in rows]

    async def audit_of(self, who: Principal | None, auction_id: int) -> dict[str, Any]:
        """Every stored bid and event of an auction (bidders' maxima for moderators only)."""
        meta = await self.meta(auction_id)
        await self._sessions.require_visible(who, meta.session_id)
        moderator = await self._sessions.can_moderate(who, meta.session_id)
        await self.audit.flush()
        row = await self.repo.get(auction_id)
        assert row is not None
        bids = []
        for b in await self.repo.bids(auction_id):
            item = {k: v for k, v in b.items() if k != "leader_max_minor" or moderator}
            bids.append(item)
        payload = row_payload(row)
        if moderator:
            payload["order_id"] = row["order_id"]
        return {"auction": payload, "bids": bids, "events": await self.repo.events(auction_id)}


def _terms(data: dict[str, Any]) -> Terms:
    return Terms(
        start_price_minor=data["start_price_minor"],
        duration_s=data["duration_s"],
        mode=data.get("mode", "extend"),
        window_s=data.get("window_s", 10),
        reset_s=data.get("reset_s", 10),
        reserve_minor=data.get("reserve_minor"),
        quantity=data.get("quantity", 1),
        on_payment_failure=data.get("on_payment_failure", "next_bidder"),
    )


def _bid_ack(meta: AuctionMeta, record: BidRecord, bidder: int) -> dict[str, Any]:
    winning = record.leader == bidder
    if record.outcome == "max_raised":
        text = f"Your maximum bid is now {money(record.amount, meta.currency)}."
    elif winning:
        text = f"You're winning at {money(record.price, meta.currency)}."
    else:
        text = f"Outbid: another bidder's maximum is higher ({money(record.price, meta.currency)})."
    return {
        "auction_id": record.auction_id,
        "seq": record.seq,
        "outcome": record.outcome,
        "winning": winning,
        "price_minor": record.price,
        "next_bid_minor": record.price + increment(record.price),
        "leader": {"id": record.leader, "name": record.leader_name},
        "bids": record.bids,
        "extended": record.extended,
        "time_left_ms": max(0, record.ends_at_ms - record.at_ms),
        "server_time": record.at_ms / 1000,
        "text": text,
    }

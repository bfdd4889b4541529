"""Wiring of the live formats that sell: auctions, live coupons and giveaways in the room.

`setup` builds each format over commerce's checkout and the room (`live_room.RoomAccess`),
serves its REST routes, runs its background work, and returns the `RoomExtension` the
composition root registers with the room: the formats' client events and tick sections.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from live_server.accounts import Accounts
from live_server.catalog import Catalog
from live_server.commerce.auctions import routes as auction_routes
from live_server.commerce.auctions.book import BidBook, MemoryBidBook
from live_server.commerce.auctions.broadcast import AuctionsTick, LeadBroadcaster
from live_server.commerce.auctions.closing import AuctionCloser
from live_server.commerce.auctions.events import auction_events
from live_server.commerce.auctions.keys import AUCTIONS
from live_server.commerce.auctions.redis_book import RedisBidBook
from live_server.commerce.auctions.restore import restore_books
from live_server.commerce.auctions.service import AuctionService
from live_server.commerce.auctions.store import AuctionsRepository, AuditWriter
from live_server.commerce.coupons import routes as coupon_routes
from live_server.commerce.coupons.events import coupon_events
from live_server.commerce.coupons.keys import COUPONS
from live_server.commerce.coupons.service import CouponService, CouponsTick
from live_server.commerce.coupons.store import CouponsRepository
from live_server.commerce.feature import Commerce
from live_server.commerce.giveaways import routes as giveaway_routes
from live_server.commerce.giveaways.events import giveaway_events
from live_server.commerce.giveaways.keys import GIVEAWAYS
from live_server.commerce.giveaways.service import GiveawayService, GiveawayTick
from live_server.commerce.giveaways.store import GiveawaysRepository
from live_server.commerce.live_clock import MediaTimes
from live_server.commerce.live_room import RoomAccess
from live_server.platform.core import Platform
from live_server.room import Room, RoomExtension
from live_server.shows import MediaClock, Shows


def setup(
    app: web.Application,
    platform: Platform,
    accounts: Accounts,
    catalog: Catalog,
    shows: Shows,
    clock: MediaClock,
    commerce: Commerce,
    room: Room,
) -> RoomExtension:
    """Builds the live formats; returns their room events and tick contributors."""
    s = platform.settings
    live_room = RoomAccess(room)
    media_times = MediaTimes(clock)
    redis_book = (
        RedisBidBook(platform.redis, s.redis_prefix) if platform.redis is not None else None
    )
    book: BidBook = redis_book if redis_book is not None else MemoryBidBook()
    repo = AuctionsRepository(platform.db)
    auctions = AuctionService(
        repo=repo,
        book=book,
        audit=AuditWriter(repo),
        sessions=shows.service,
        catalog=catalog.service,
        checkout=commerce.checkout,
        accounts=accounts.service,
        live=commerce.live,
        room=live_room,
        media_times=media_times,
    )
    closer = AuctionCloser(auctions)
    leads = LeadBroadcaster(auctions)
    book.listen(leads.offer)
    app[AUCTIONS] = auctions
    coupons = CouponService(CouponsRepository(platform.db), shows.service, live_room, media_times)
    app[COUPONS] = coupons
    giveaways = GiveawayService(
        GiveawaysRepository(platform.db), shows.service, accounts.service, live_room, media_times
    )
    app[GIVEAWAYS] = giveaways

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        # Picks up auctions a restart interrupted, then runs their clocks and broadcasts.
        await restore_books(auctions)
        tasks = [
            asyncio.create_task(closer.run(), name="auction-closer"),
            asyncio.create_task(leads.run(), name="auction-leads"),
            asyncio.create_task(giveaways.run(), name="giveaway-draws"),
        ]
        if redis_book is not None:
            tasks.append(asyncio.create_task(redis_book.run(), name="auction-book-feed"))
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await auctions.audit.close()

    app.cleanup_ctx.append(lifetime)
    auction_routes.setup(app)
    coupon_routes.setup(app)
    giveaway_routes.setup(app)
    return RoomExtension(
        "live_formats",
        events=[
            *auction_events(auctions, live_room),
            *coupon_events(coupons, live_room),
            *giveaway_events(giveaways, live_room),
        ],
        contributors=[AuctionsTick(auctions), CouponsTick(coupons), GiveawayTick(giveaways)],
    )

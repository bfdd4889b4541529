"""The typed bag of services that `create_app` builds and handlers read.

Areas add their services here as fields; only `live_server.app.create_app` constructs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from live_server.accounts.service import AccountService
from live_server.catalog.service import CatalogService, MediaStore
from live_server.commerce.analytics.service import AnalyticsService
from live_server.commerce.cart.service import CartService
from live_server.commerce.checkout.service import CheckoutService
from live_server.commerce.flash_sales.service import FlashSaleService
from live_server.commerce.ledger import LedgerService
from live_server.commerce.live.state import LiveCommerce
from live_server.commerce.live.tick import CommerceTick
from live_server.commerce.payments.service import PaymentsService
from live_server.content.feed.service import FeedService
from live_server.content.posts.service import PostService
from live_server.content.posts.social import SocialService
from live_server.content.processing.service import ProcessingService
from live_server.media.broadcast import BroadcastService
from live_server.platform.db import Database
from live_server.platform.events import EventBus
from live_server.platform.metrics import Metrics
from live_server.room.moderation import RoomModeration
from live_server.room.service import RoomService
from live_server.settings import Settings
from live_server.shows.clock import MediaClock
from live_server.shows.service import LiveSessionService


@dataclass
class Services:
    """Everything a transport may call. Optional fields are filled by later areas."""

    settings: Settings
    db: Database
    events: EventBus
    media: MediaStore
    accounts: AccountService
    catalog: CatalogService
    sessions: LiveSessionService
    media_clock: MediaClock
    broadcast: BroadcastService
    metrics: Metrics = field(default_factory=Metrics)
    room: RoomService | None = None  # the live room (chat, reactions, pins, presence)
    room_moderation: RoomModeration | None = None
    # commerce (issue 5): cart, checkout, payments, flash sales, analytics, ledger
    cart: CartService | None = None
    checkout: CheckoutService | None = None
    payments: PaymentsService | None = None
    flash_sales: FlashSaleService | None = None
    analytics: AnalyticsService | None = None
    ledger: LedgerService | None = None
    live_commerce: LiveCommerce | None = None
    commerce_tick: CommerceTick | None = None
    # after the show (issue 6): processing jobs, clips and replays, feed, posts, social
    processing: ProcessingService | None = None
    feed: FeedService | None = None
    posts: PostService | None = None
    social: SocialService | None = None
    redis: Any = None  # redis.asyncio.Redis when --redis-url is set
    extras: dict[str, Any] = field(default_factory=dict)


SERVICES: web.AppKey[Services] = web.AppKey("services", Services)

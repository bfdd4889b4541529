"""The typed bag of services that `create_app` builds and handlers read.

Areas add their services here as fields; only `live_server.app.create_app` constructs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from live_server.services.accounts import AccountService
from live_server.services.analytics import AnalyticsService
from live_server.services.broadcast import BroadcastService
from live_server.services.cart import CartService
from live_server.services.catalog import CatalogService, MediaStore
from live_server.services.checkout import CheckoutService
from live_server.services.events import EventBus
from live_server.services.feed import FeedService
from live_server.services.flash_sales import CommerceTick, FlashSaleService, LiveCommerce
from live_server.services.ledger import LedgerService
from live_server.services.live_sessions import LiveSessionService
from live_server.services.media_clock import MediaClock
from live_server.services.metrics import Metrics
from live_server.services.payments import PaymentsService
from live_server.services.posts import PostService
from live_server.services.processing import ProcessingService
from live_server.services.room import RoomService
from live_server.services.room_moderation import RoomModeration
from live_server.services.social import SocialService
from live_server.settings import Settings
from live_server.storage.db import Database


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

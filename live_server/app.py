"""The composition root: the only place that builds stores, services and transports."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from live_server.accounts import routes as accounts_http
from live_server.accounts.credentials import LoginThrottle, TokenSigner, load_or_create_secret
from live_server.accounts.service import AccountService
from live_server.accounts.store import UserRepository
from live_server.catalog import routes as products_http
from live_server.catalog.service import CatalogService, MediaStore
from live_server.catalog.store import ProductRepository
from live_server.commerce import routes as commerce_http
from live_server.commerce.analytics import routes as analytics_http
from live_server.commerce.analytics.service import AnalyticsService
from live_server.commerce.analytics.store import AnalyticsRepository, CreatorLookup
from live_server.commerce.cart.service import CartService
from live_server.commerce.cart.store import CartsRepository
from live_server.commerce.checkout.service import SWEEP_EVERY_S, CheckoutService
from live_server.commerce.flash_sales.service import FlashSaleService
from live_server.commerce.flash_sales.store import FlashSalesRepository
from live_server.commerce.ledger import AttributionResolver, LedgerService
from live_server.commerce.live.redis_feed import RedisCommerceFeed
from live_server.commerce.live.state import LiveCommerce
from live_server.commerce.live.tick import CommerceTick
from live_server.commerce.payments import routes as webhooks_http
from live_server.commerce.payments.service import PaymentsService
from live_server.commerce.stores.orders import OrdersRepository
from live_server.container import SERVICES, Services
from live_server.content.clips import routes as clips_http
from live_server.content.clips.store import ClipRepository
from live_server.content.feed import routes as feed_http
from live_server.content.feed.service import FeedService
from live_server.content.feed.store import FeedRepository
from live_server.content.posts import routes as posts_http
from live_server.content.posts.service import PostService
from live_server.content.posts.social import SocialService
from live_server.content.posts.store import PostRepository
from live_server.content.processing.service import MediaUrls, ProcessingService
from live_server.content.processing.store import JobRepository
from live_server.content.replays import routes as replays_http
from live_server.media.broadcast import BroadcastService
from live_server.media.clock import MediaClock as SfuClock
from live_server.media.sdp import parse_ice_servers
from live_server.media.sfu import Sfu
from live_server.media.store import RecordingRepository
from live_server.platform import health as health_http
from live_server.platform import metrics_routes as metrics_http
from live_server.platform import openapi as openapi_http
from live_server.platform import static as static_http
from live_server.platform.db import Database
from live_server.platform.events import EventBus
from live_server.platform.middleware import access_log_middleware, auth_middleware, error_middleware
from live_server.platform.openapi import OPENAPI_PATHS
from live_server.room import routes as room_http
from live_server.room.context import RoomContext, RoomLimits
from live_server.room.live_state import LiveState, MemoryLiveState, RedisLiveState
from live_server.room.moderation import RoomModeration
from live_server.room.rules.reactions import ReactionAggregator
from live_server.room.service import RoomService
from live_server.room.stores.chat import ChatRepository
from live_server.room.stores.moderation import ModerationRepository
from live_server.room.stores.pins import PinRepository
from live_server.room.stores.stats import RoomStatsRepository
from live_server.room.ticker import RoomTicker
from live_server.settings import Settings
from live_server.shows import routes as sessions_http
from live_server.shows.clock import WallMediaClock
from live_server.shows.service import LiveSessionService
from live_server.shows.store import SessionRepository
from recordings.worker import MediaWorker
from signaling import whep as whep_http
from signaling import whip as whip_http
from signaling.room import RoomTransport, SocketIOBroadcaster, create_socketio_server

logger = logging.getLogger(__name__)


def build_services(settings: Settings) -> Services:
    """Constructs the core services (the database is opened later, at start-up)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_path)
    events = EventBus()
    users = UserRepository(db)
    products = ProductRepository(db)
    sessions = SessionRepository(db)
    signer = TokenSigner(
        load_or_create_secret(settings.secret, settings.data_dir), settings.token_ttl_s
    )
    media = MediaStore(settings.media_dir)
    live_sessions = LiveSessionService(sessions, users, products, events)
    broadcast = BroadcastService(
        live_sessions,
        Sfu(
            SfuClock(),
            parse_ice_servers(settings.ice_servers),
            settings.public_ip,
            fast_path=settings.media_fast_path,
        ),
        RecordingRepository(db),
        events,
        settings.media_dir / "recordings",
        grace_s=settings.reconnect_grace_s,
        fallback_clock=WallMediaClock(sessions),
    )
    return Services(
        settings=settings,
        db=db,
        events=events,
        media=media,
        accounts=AccountService(
            users, signer, LoginThrottle(settings.login_max_failures, settings.login_window_s)
        ),
        catalog=CatalogService(products, media, settings.max_upload_bytes),
        sessions=live_sessions,
        media_clock=broadcast,
        broadcast=broadcast,
    )


async def _database_ctx(app: web.Application) -> AsyncIterator[None]:
    svc = app[SERVICES]
    await svc.db.open()
    logger.info("database ready at %s (schema %d)", svc.db.path, await svc.db.schema_version())
    yield
    await svc.db.close()
    logger.info("database closed")


async def _redis_ctx(app: web.Application) -> AsyncIterator[None]:
    svc = app[SERVICES]
    if not svc.settings.redis_url:
        yield
        return
    import redis.asyncio as aioredis

    svc.redis = aioredis.Redis.from_url(svc.settings.redis_url, decode_responses=False)
    yield
    await svc.redis.aclose()


def build_room(svc: Services) -> RoomTransport:
    """The live room: Socket.IO transport, room services, their stores and shared state."""
    s = svc.settings
    state: LiveState = (
        RedisLiveState.from_url(s.redis_url, s.redis_prefix) if s.redis_url else MemoryLiveState()
    )
    sio = create_socketio_server(s.redis_url, channel=f"{s.redis_prefix}:socketio")
    ctx = RoomContext(
        sessions=svc.sessions,
        products=ProductRepository(svc.db),
        chat=ChatRepository(svc.db),
        pins=PinRepository(svc.db),
        moderation=ModerationRepository(svc.db),
        stats=RoomStatsRepository(svc.db),
        state=state,
        clock=svc.media_clock,
        broadcaster=SocketIOBroadcaster(sio),
        limits=RoomLimits(
            chat_max_len=s.chat_max_len,
            chat_rate=s.chat_rate_per_s,
            chat_burst=float(s.chat_burst),
            tick_hz=s.room_tick_hz,
        ),
    )
    aggregator = ReactionAggregator()
    ticker = RoomTicker(ctx, aggregator)
    svc.room = RoomService(ctx, ticker, aggregator, svc.events)
    svc.room_moderation = RoomModeration(ctx, ticker)
    return RoomTransport(sio, svc.room, svc.room_moderation, svc.accounts.verify_token)


ROOM_TRANSPORT: web.AppKey[RoomTransport] = web.AppKey("room_transport", RoomTransport)


async def _room_ctx(app: web.Application) -> AsyncIterator[None]:
    """Starts the live room's tick loop; on shut-down stops it and releases its state."""
    transport = app[ROOM_TRANSPORT]
    await transport.start()
    yield
    await transport.stop()


def build_commerce(svc: Services) -> None:
    """Commerce: cart, checkout with exact inventory, payments, flash sales, analytics."""
    s = svc.settings
    orders = OrdersRepository(svc.db)
    carts = CartsRepository(svc.db)
    analytics_repo = AnalyticsRepository(svc.db)
    live = LiveCommerce()
    payments = PaymentsService(orders, webhook_secret=s.webhook_secret or "")
    ledger = LedgerService(analytics_repo, round(s.default_commission_rate * 10_000))
    analytics = AnalyticsService(analytics_repo, svc.sessions)
    checkout = CheckoutService(
        orders=orders,
        carts=carts,
        payments=payments,
        resolver=AttributionResolver(svc.sessions, svc.media_clock, CreatorLookup(svc.db)),
        ledger=ledger,
        live=live,
        accounts=svc.accounts,
        hold_seconds=s.reservation_hold_s,
        cache_profiles=not s.redis_url,
    )
    svc.live_commerce = live
    svc.payments = payments
    svc.ledger = ledger
    svc.analytics = analytics
    svc.checkout = checkout
    svc.cart = CartService(carts, svc.catalog, analytics)
    svc.flash_sales = FlashSaleService(
        FlashSalesRepository(svc.db), svc.sessions, svc.catalog, live
    )
    svc.commerce_tick = CommerceTick(live, orders)
    room = svc.room
    if room is not None:
        room.add_contributor(svc.commerce_tick)

        async def notify_host(host_id: int, payload: dict[str, Any]) -> None:
            await room.emit_to_user(host_id, "order", payload)

        checkout.set_host_notifier(notify_host)


async def _commerce_ctx(app: web.Application) -> AsyncIterator[None]:
    """Restores running flash sales, releases expired holds (crash recovery) and keeps
    sweeping them; flushes analytics events; drains the checkout queue on shut-down."""
    svc = app[SERVICES]
    assert svc.checkout is not None and svc.analytics is not None
    assert svc.flash_sales is not None
    await svc.flash_sales.restore()
    tasks = []
    if svc.redis is not None and svc.live_commerce is not None:
        # several nodes: share units left, sales and recent orders for the room ticks
        feed = RedisCommerceFeed(svc.redis, f"{svc.settings.redis_prefix}:commerce")
        svc.live_commerce.on_change = feed.send
        tasks.append(asyncio.create_task(feed.run(svc.live_commerce.apply), name="commerce-feed"))
    released = await svc.checkout.sweep_expired()
    if released:
        logger.info("start-up: %d expired reservation(s) returned to stock", released)
    tasks += [
        asyncio.create_task(svc.checkout.run_sweeper(SWEEP_EVERY_S), name="hold-sweeper"),
        asyncio.create_task(svc.analytics.run_flusher(), name="commerce-events"),
    ]
    yield
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await svc.checkout.close()


def build_content(svc: Services) -> None:
    """After the show: processing jobs, replays and clips, the feed, posts and social."""
    db = svc.db
    clips = ClipRepository(db)
    posts = PostRepository(db)
    users = UserRepository(db)
    products = ProductRepository(db)
    urls = MediaUrls(svc.settings.media_dir)
    # Long processing jobs and quick upload checks get separate pools.
    job_worker, upload_worker = MediaWorker(threads=1), MediaWorker(threads=2)
    svc.extras["media_workers"] = (job_worker, upload_worker)
    svc.feed = FeedService(FeedRepository(db), clips, posts, products, users)

    async def notify(user_id: int, event: str, payload: dict[str, Any]) -> None:
        if svc.room is not None:
            await svc.room.emit_to_user(user_id, event, payload)

    svc.processing = ProcessingService(
        JobRepository(db), clips, svc.sessions, svc.feed, job_worker, urls, svc.events, notify
    )
    svc.posts = PostService(posts, products, svc.feed, upload_worker, urls)
    svc.social = SocialService(posts, clips, users, svc.feed)


async def _content_ctx(app: web.Application) -> AsyncIterator[None]:
    """Starts the processing loop (recovering interrupted jobs) and the feed refresher."""
    svc = app[SERVICES]
    assert svc.processing is not None and svc.feed is not None
    await svc.processing.start()
    svc.feed.start()
    yield
    await svc.processing.stop()
    await svc.feed.stop()
    for worker in svc.extras.get("media_workers", ()):
        worker.close()


async def _demo_ctx(app: web.Application) -> AsyncIterator[None]:
    svc = app[SERVICES]
    if svc.settings.demo:
        from live_server.demo.seed import seed_demo

        await seed_demo(svc)
    yield


def create_app(settings: Settings) -> web.Application:
    """Builds the aiohttp application with every area wired in."""
    app = web.Application(
        middlewares=[access_log_middleware, error_middleware, auth_middleware],
        client_max_size=max(settings.max_body_bytes, settings.max_upload_bytes) + 64 * 1024,
    )
    app[OPENAPI_PATHS] = {}
    app[SERVICES] = build_services(settings)
    app.cleanup_ctx.append(_database_ctx)
    app.cleanup_ctx.append(_redis_ctx)

    health_http.setup(app)
    metrics_http.setup(app)
    openapi_http.setup(app)
    accounts_http.setup(app)
    products_http.setup(app)
    sessions_http.setup(app)
    room_http.setup(app)
    whip_http.setup(app)
    whep_http.setup(app)

    app[ROOM_TRANSPORT] = build_room(app[SERVICES])
    app[ROOM_TRANSPORT].attach(app)
    app.cleanup_ctx.append(_room_ctx)
    build_commerce(app[SERVICES])
    app.cleanup_ctx.append(_commerce_ctx)
    commerce_http.setup(app)
    webhooks_http.setup(app)
    analytics_http.setup(app)
    build_content(app[SERVICES])
    app.cleanup_ctx.append(_content_ctx)
    feed_http.setup(app)
    clips_http.setup(app)
    posts_http.setup(app)
    replays_http.setup(app)
    # Areas (media, live room, commerce, clips and feed) are wired in above this line.
    app.cleanup_ctx.append(_demo_ctx)
    static_http.setup(app)  # last: its page route matches any /<name>.html
    return app

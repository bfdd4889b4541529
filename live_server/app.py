"""The composition root: the only place that builds stores, services and transports."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from live_server.container import SERVICES, Services
from live_server.domain.reactions import ReactionAggregator
from live_server.http import accounts as accounts_http
from live_server.http import health as health_http
from live_server.http import openapi as openapi_http
from live_server.http import products as products_http
from live_server.http import sessions as sessions_http
from live_server.http import static as static_http
from live_server.http.middleware import access_log_middleware, auth_middleware, error_middleware
from live_server.http.openapi import OPENAPI_PATHS
from live_server.services.accounts import AccountService
from live_server.services.auth import LoginThrottle, TokenSigner, load_or_create_secret
from live_server.services.catalog import CatalogService, MediaStore
from live_server.services.events import EventBus
from live_server.services.live_sessions import LiveSessionService
from live_server.services.media_clock import WallMediaClock
from live_server.services.room import RoomService
from live_server.services.room_context import RoomContext, RoomLimits
from live_server.services.room_moderation import RoomModeration
from live_server.services.room_ticker import RoomTicker
from live_server.settings import Settings
from live_server.storage.chat import ChatRepository
from live_server.storage.db import Database
from live_server.storage.live_state import LiveState, MemoryLiveState, RedisLiveState
from live_server.storage.moderation import ModerationRepository
from live_server.storage.pins import PinRepository
from live_server.storage.products import ProductRepository
from live_server.storage.room_stats import RoomStatsRepository
from live_server.storage.sessions import SessionRepository
from live_server.storage.users import UserRepository
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
    return Services(
        settings=settings,
        db=db,
        events=events,
        media=media,
        accounts=AccountService(
            users, signer, LoginThrottle(settings.login_max_failures, settings.login_window_s)
        ),
        catalog=CatalogService(products, media, settings.max_upload_bytes),
        sessions=LiveSessionService(sessions, users, products, events),
        media_clock=WallMediaClock(sessions),
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


async def _demo_ctx(app: web.Application) -> AsyncIterator[None]:
    svc = app[SERVICES]
    if svc.settings.demo:
        from live_server.services.demo import seed_demo

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
    openapi_http.setup(app)
    accounts_http.setup(app)
    products_http.setup(app)
    sessions_http.setup(app)

    app[ROOM_TRANSPORT] = build_room(app[SERVICES])
    app[ROOM_TRANSPORT].attach(app)
    app.cleanup_ctx.append(_room_ctx)
    # Areas (media, live room, commerce, clips and feed) are wired in above this line.
    app.cleanup_ctx.append(_demo_ctx)
    static_http.setup(app)  # last: its page route matches any /<name>.html
    return app

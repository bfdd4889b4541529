"""The platform every feature is built on: settings, database, events, metrics, Redis.

`build_platform` makes it (nothing connects yet); `setup` puts it on the app under
`PLATFORM` and registers its lifetimes (database open/close, Redis close) and its own
routes (health, metrics, OpenAPI). Features receive the `Platform` in their own `setup`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import Counter, Histogram

from live_server.platform.db import Database
from live_server.platform.events import EventBus
from live_server.platform.files import ensure_private_dir
from live_server.platform.identity import Principal
from live_server.platform.metrics import Metrics
from live_server.settings import Settings

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger(__name__)

#: Bearer token -> principal, None when invalid, expired or revoked. Asynchronous: whether a
#: token is revoked is a (cached) database read (accounts/revocation.py).
TokenVerifier = Callable[[str], Awaitable[Principal | None]]


@dataclass(frozen=True)
class HttpMetrics:
    """What the access-log middleware records for every request."""

    requests: Counter
    duration: Histogram


@dataclass(frozen=True)
class Platform:
    """Shared infrastructure; built once per application by the composition root."""

    settings: Settings
    db: Database
    events: EventBus
    metrics: Metrics
    http: HttpMetrics
    #: One shared client when a Redis URL is configured (connects on first use), else None:
    #: a single node never needs Redis.
    redis: Redis | None


PLATFORM: web.AppKey[Platform] = web.AppKey("platform", Platform)
#: Set by the accounts feature: turns a bearer token into a principal (None if invalid).
TOKEN_VERIFIER: web.AppKey[TokenVerifier] = web.AppKey("token_verifier")


def build_platform(settings: Settings) -> Platform:
    """Constructs the platform; the database opens at application start-up."""
    ensure_private_dir(settings.data_dir)  # 0700: the database and the secret live here
    from live_server.platform.addresses import trusted_networks

    trusted_networks(settings.trusted_proxies)  # a bad entry stops the server here
    metrics = Metrics()
    redis: Any = None
    if settings.redis_url:
        from live_server.platform.redis_client import redis_from_url

        redis = redis_from_url(settings.redis_url)
    return Platform(
        settings=settings,
        db=Database(settings.db_path),
        events=EventBus(),
        metrics=metrics,
        http=HttpMetrics(
            requests=metrics.counter(
                "liveshop_http_requests_total",
                "HTTP requests by method and status class",
                ("method", "status"),
            ),
            duration=metrics.histogram(
                "liveshop_http_request_duration_seconds",
                "HTTP request latency by method and status class",
                ("method", "status"),
            ),
        ),
        redis=redis,
    )


def setup(app: web.Application, platform: Platform, *, database: bool = True) -> None:
    """Puts the platform on the app with its lifetimes and its operational routes
    (``database=False``: an edge node, which has none)."""
    from live_server.platform import health, metrics_routes, openapi

    app[PLATFORM] = platform
    app[openapi.OPENAPI_PATHS] = {}
    if database:
        app.cleanup_ctx.append(_database_ctx)
    app.cleanup_ctx.append(_redis_ctx)
    health.setup(app)
    metrics_routes.setup(app)
    openapi.setup(app)


async def _database_ctx(app: web.Application) -> AsyncIterator[None]:
    db = app[PLATFORM].db
    await db.open()
    try:
        logger.info("database ready at %s (schema %d)", db.path, await db.schema_version())
        yield
    finally:
        # Also when a later start-up step fails: aiohttp then runs no clean-up, only the
        # event loop's closing of suspended generators, and an open connection's worker
        # thread (not a daemon) would keep the process from ever exiting.
        await db.close()
        logger.info("database closed")


async def _redis_ctx(app: web.Application) -> AsyncIterator[None]:
    yield
    redis = app[PLATFORM].redis
    if redis is not None:
        await redis.aclose()

"""Wiring of the demo data (`--demo`): what the seeders may use, and when they run."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from live_server.accounts import Accounts
from live_server.catalog import Catalog
from live_server.content import Content
from live_server.demo.services import DemoServices
from live_server.platform.core import Platform
from live_server.shows import Shows


def setup(
    app: web.Application,
    platform: Platform,
    accounts: Accounts,
    catalog: Catalog,
    shows: Shows,
    content: Content,
) -> None:
    """Seeds the demo data at start-up when the settings ask for it (never in production)."""
    if not platform.settings.demo:
        return
    services = DemoServices(
        settings=platform.settings,
        db=platform.db,
        accounts=accounts.service,
        catalog=catalog.service,
        sessions=shows.service,
        processing=content.processing,
        feed=content.feed,
    )

    async def seed(app: web.Application) -> AsyncIterator[None]:
        from live_server.demo.seed import seed_demo

        await seed_demo(services)
        yield

    app.cleanup_ctx.append(seed)

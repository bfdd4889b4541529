"""Wiring of the shows feature: scheduling, line-ups, moderators, stream keys, states."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from live_server.accounts import Accounts
from live_server.catalog import Catalog
from live_server.platform.core import Platform
from live_server.shows import cover, routes
from live_server.shows.clock import WallMediaClock
from live_server.shows.keys import SHOWS
from live_server.shows.service import LiveSessionService
from live_server.shows.store import SessionRepository


@dataclass(frozen=True)
class Shows:
    """What the shows feature offers the features built on it."""

    service: LiveSessionService
    sessions: SessionRepository
    #: Media time from the stored go-live time, for processes without the media plane.
    wall_clock: WallMediaClock


def build(platform: Platform, accounts: Accounts, catalog: Catalog) -> Shows:
    """The shows services (no routes): for the app and for command-line tools."""
    sessions = SessionRepository(platform.db)
    service = LiveSessionService(sessions, accounts.users, catalog.products, platform.events)
    return Shows(service=service, sessions=sessions, wall_clock=WallMediaClock(sessions))


def setup(app: web.Application, platform: Platform, accounts: Accounts, catalog: Catalog) -> Shows:
    """Builds the shows feature and serves its routes."""
    shows = build(platform, accounts, catalog)
    app[SHOWS] = shows.service
    routes.setup(app)
    cover.setup(app, catalog.service)  # the cover image goes through the catalog's image checks
    return shows

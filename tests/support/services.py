"""A read-only view of a built app's services for tests, by the features' own keys.

The app holds each feature's services under that feature's typed `web.AppKey`; tests that
reach past the HTTP interface (to flush a ticker, read a store, publish an event) read them
here under the short names tests have always used.
"""

from __future__ import annotations

from aiohttp import web

from live_server.accounts import ACCOUNTS, AccountService
from live_server.catalog import CATALOG, CatalogService
from live_server.commerce.analytics.service import AnalyticsService
from live_server.commerce.checkout.service import CheckoutService
from live_server.commerce.keys import ANALYTICS, CHECKOUT, PAYMENTS
from live_server.commerce.payments.service import PaymentsService
from live_server.content.feed.service import FeedService
from live_server.content.keys import FEED, PROCESSING
from live_server.content.processing.service import ProcessingService
from live_server.media import BROADCAST, BroadcastService
from live_server.platform.core import PLATFORM
from live_server.platform.db import Database
from live_server.platform.events import EventBus
from live_server.room import ROOM, RoomService
from live_server.settings import Settings
from live_server.shows import SHOWS, LiveSessionService


class Services:
    """The app's services, looked up by key each time (always the live objects)."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    @property
    def settings(self) -> Settings:
        return self._app[PLATFORM].settings

    @property
    def db(self) -> Database:
        return self._app[PLATFORM].db

    @property
    def events(self) -> EventBus:
        return self._app[PLATFORM].events

    @property
    def accounts(self) -> AccountService:
        return self._app[ACCOUNTS]

    @property
    def catalog(self) -> CatalogService:
        return self._app[CATALOG]

    @property
    def sessions(self) -> LiveSessionService:
        return self._app[SHOWS]

    @property
    def broadcast(self) -> BroadcastService:
        return self._app[BROADCAST]

    @property
    def room(self) -> RoomService:
        return self._app[ROOM]

    @property
    def checkout(self) -> CheckoutService:
        return self._app[CHECKOUT]

    @property
    def payments(self) -> PaymentsService:
        return self._app[PAYMENTS]

    @property
    def analytics(self) -> AnalyticsService:
        return self._app[ANALYTICS]

    @property
    def feed(self) -> FeedService:
        return self._app[FEED]

    @property
    def processing(self) -> ProcessingService:
        return self._app[PROCESSING]

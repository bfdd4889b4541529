"""What the demo seeders may call."""

from __future__ import annotations

from dataclasses import dataclass

from live_server.accounts import AccountService
from live_server.catalog import CatalogService
from live_server.content.feed.service import FeedService
from live_server.content.processing.service import ProcessingService
from live_server.platform.db import Database
from live_server.settings import Settings
from live_server.shows import LiveSessionService


@dataclass(frozen=True)
class DemoServices:
    """Everything the demo seeders call."""

    settings: Settings
    db: Database
    accounts: AccountService
    catalog: CatalogService
    sessions: LiveSessionService
    processing: ProcessingService
    feed: FeedService

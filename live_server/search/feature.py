"""Wiring of search: the store over the full-text indexes, the service, the routes."""

from __future__ import annotations

from aiohttp import web

from live_server.accounts import Accounts
from live_server.catalog import Catalog
from live_server.content import Content
from live_server.platform.core import Platform
from live_server.search import routes
from live_server.search.keys import SEARCH
from live_server.search.service import SearchService
from live_server.search.store import SearchRepository
from live_server.shows import Shows


def setup(
    app: web.Application,
    platform: Platform,
    accounts: Accounts,
    catalog: Catalog,
    shows: Shows,
    content: Content,
) -> SearchService:
    """Builds search (it reads the features below it) and serves its routes."""
    service = SearchService(SearchRepository(platform.db), accounts, catalog, shows, content)
    app[SEARCH] = service
    routes.setup(app)
    return service

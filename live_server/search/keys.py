"""The search feature's typed application key."""

from __future__ import annotations

from aiohttp import web

from live_server.search.service import SearchService

SEARCH: web.AppKey[SearchService] = web.AppKey("search", SearchService)

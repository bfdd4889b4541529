"""The catalog feature's typed application keys."""

from __future__ import annotations

from aiohttp import web

from live_server.catalog.service import CatalogService

CATALOG: web.AppKey[CatalogService] = web.AppKey("catalog", CatalogService)

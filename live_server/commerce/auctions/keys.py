"""The auctions' typed application key."""

from __future__ import annotations

from aiohttp import web

from live_server.commerce.auctions.service import AuctionService

AUCTIONS: web.AppKey[AuctionService] = web.AppKey("auctions", AuctionService)

"""The giveaways' typed application key."""

from __future__ import annotations

from aiohttp import web

from live_server.commerce.giveaways.service import GiveawayService

GIVEAWAYS: web.AppKey[GiveawayService] = web.AppKey("giveaways", GiveawayService)

"""The media feature's typed application keys."""

from __future__ import annotations

from aiohttp import web

from live_server.media.broadcast import BroadcastService

BROADCAST: web.AppKey[BroadcastService] = web.AppKey("broadcast", BroadcastService)

"""The shows feature's typed application keys."""

from __future__ import annotations

from aiohttp import web

from live_server.shows.service import LiveSessionService

SHOWS: web.AppKey[LiveSessionService] = web.AppKey("shows", LiveSessionService)

"""The live room's typed application keys."""

from __future__ import annotations

from aiohttp import web

from live_server.room.service import RoomService

ROOM: web.AppKey[RoomService] = web.AppKey("room", RoomService)

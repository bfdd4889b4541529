"""The live room's typed application keys."""

from __future__ import annotations

from aiohttp import web

from live_server.room.registry import RoomEventRegistry
from live_server.room.service import RoomService

ROOM: web.AppKey[RoomService] = web.AppKey("room", RoomService)
#: The room's open event table: features register their Socket.IO events and tick
#: contributions here (`app[ROOM_EVENTS].extend(RoomExtension(...))`).
ROOM_EVENTS: web.AppKey[RoomEventRegistry] = web.AppKey("room_events", RoomEventRegistry)

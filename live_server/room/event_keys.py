"""The typed application key of the live room's event registry.

Features that add room events (auctions, ...) reach the registry through it:
``app[ROOM_EVENTS].extend(RoomExtension(...))`` or ``app[ROOM_EVENTS].register(event)``.
"""

from __future__ import annotations

from aiohttp import web

from live_server.room.registry import RoomEventRegistry

ROOM_EVENTS: web.AppKey[RoomEventRegistry] = web.AppKey("room_events", RoomEventRegistry)

"""The live room: chat, reactions, presence, moderation, pins, ticks and shared live state.

Other features and the Socket.IO transport use what is re-exported here.
"""

from live_server.room.extensions import RoomBroadcaster, TickContributor
from live_server.room.feature import Room, setup
from live_server.room.keys import ROOM
from live_server.room.moderation import RoomModeration
from live_server.room.service import RoomService

__all__ = [
    "ROOM",
    "Room",
    "RoomBroadcaster",
    "RoomModeration",
    "RoomService",
    "TickContributor",
    "setup",
]

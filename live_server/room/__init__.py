"""The live room: chat, reactions, presence, moderation, pins, ticks and shared live state.

Other features and the Socket.IO transport use what is re-exported here.
"""

from live_server.room import ban_notices, events
from live_server.room.events import MAX_PAYLOAD_BYTES, Field, ack_for, error_ack, id_field
from live_server.room.extensions import RoomBroadcaster, TickContributor
from live_server.room.feature import Room, setup
from live_server.room.keys import ROOM, ROOM_EVENTS
from live_server.room.moderation import RoomModeration
from live_server.room.registry import (
    RoomEvent,
    RoomEventRegistry,
    RoomExtension,
    Sender,
    check_sender,
)
from live_server.room.rules.chat import Bucket, retry_after, take_token
from live_server.room.service import RoomService

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "ROOM",
    "ROOM_EVENTS",
    "Bucket",
    "Field",
    "Room",
    "RoomBroadcaster",
    "RoomEvent",
    "RoomEventRegistry",
    "RoomExtension",
    "RoomModeration",
    "RoomService",
    "Sender",
    "TickContributor",
    "ack_for",
    "ban_notices",
    "check_sender",
    "error_ack",
    "events",
    "id_field",
    "retry_after",
    "setup",
    "take_token",
]

"""Shared live state of the rooms: one small Protocol, an in-process and a Redis version.

`from live_server.room.live_state import LiveState, MemoryLiveState, RedisLiveState` is
the entry point the rest of the server uses; each lives in its own module here.
"""

from live_server.room.live_state.memory import MemoryLiveState
from live_server.room.live_state.protocol import LiveState
from live_server.room.live_state.redis import RedisLiveState

__all__ = ["LiveState", "MemoryLiveState", "RedisLiveState"]

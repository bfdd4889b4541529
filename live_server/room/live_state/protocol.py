"""What the room services share between nodes: one small Protocol.

With one node everything lives in this process (`memory.MemoryLiveState`). With
`--redis-url` every node reads and writes the same Redis keys (`redis.RedisLiveState`), so
viewer counts (in all and per video tier) add up over nodes and a ban, a timeout, slow
mode, a rate limit or a pinned card set on one node is enforced by all of them. The durable
copy of moderation state and pins is in SQLite; this is the fast, shared copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from live_server.room.rules.moderation import RoomConfig
from live_server.room.rules.presence import Audience


class LiveState(Protocol):
    """What the room services need to share between nodes."""

    node_id: str

    async def publish_audience(self, session_id: int, audience: Audience, now: float) -> Audience:
        """Stores this node's viewer counts of a room (in all, and per tier); returns the
        totals over live nodes."""
        ...

    async def raise_peak(self, session_id: int, viewers: int) -> int:
        """Raises the room's peak to `viewers` if higher; returns the peak."""
        ...

    async def take_token(self, key: str, now: float, rate: float, burst: float) -> float:
        """Spends a rate-limit token; returns 0 if allowed, else seconds to wait."""
        ...

    async def claim_slow_mode(
        self, session_id: int, user_id: int, seconds: int, now: float
    ) -> float:
        """Records a post under slow mode; returns 0 if allowed, else seconds to wait."""
        ...

    async def set_banned(self, session_id: int, user_id: int, banned: bool) -> None:
        """Adds or lifts a ban."""
        ...

    async def is_banned(self, session_id: int, user_id: int) -> bool:
        """Whether the user is banned from the room."""
        ...

    async def set_timeout(self, session_id: int, user_id: int, until: float, now: float) -> None:
        """Times a user out until epoch second `until` (a past `until` clears it)."""
        ...

    async def timeout_until(self, session_id: int, user_id: int, now: float) -> float | None:
        """When the user's running timeout ends, or None."""
        ...

    async def get_config(self, session_id: int) -> RoomConfig | None:
        """The room's shared settings, or None if not loaded yet."""
        ...

    async def set_config(self, session_id: int, config: RoomConfig) -> None:
        """Replaces the room's shared settings."""
        ...

    async def get_pins(self, session_id: int) -> list[int] | None:
        """Pinned product ids in pin order, or None if not loaded yet."""
        ...

    async def set_pins(self, session_id: int, product_ids: list[int]) -> None:
        """Replaces the pinned product ids."""
        ...

    async def add_reactions(self, session_id: int, counts: Mapping[str, int]) -> None:
        """Adds this node's reaction taps to the room's pending counts."""
        ...

    async def drain_reactions(self, session_id: int) -> dict[str, int]:
        """Takes and clears the room's pending reaction counts (all nodes' taps)."""
        ...

    async def acquire_tick_lease(self, session_id: int, ttl: float) -> bool:
        """True if this node is (or now becomes) the one that ticks the room."""
        ...

    async def add_socket(self, session_id: int, user_id: int, sid: str) -> None:
        """Remembers that a user's socket joined the room (for bans across nodes)."""
        ...

    async def remove_socket(self, session_id: int, user_id: int, sid: str) -> None:
        """Forgets a socket that left the room."""
        ...

    async def user_sockets(self, session_id: int, user_id: int) -> set[str]:
        """Sockets of a user in the room, on any node."""
        ...

    async def next_id(self, name: str, floor: int) -> int:
        """A new id from the counter `name`, unique over nodes and above `floor`."""
        ...

    async def close(self) -> None:
        """Releases connections."""
        ...

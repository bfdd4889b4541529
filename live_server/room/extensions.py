"""Extension points of the live room: tick contributors and the broadcaster it emits through.

Other areas (commerce: flash-sale countdowns, units left, recent purchases) add data to
every room tick and to every pinned card without the room importing them: they implement
`TickContributor` and are handed to `RoomService.add_contributor()` in the composition root.
"""

from __future__ import annotations

from typing import Any, Protocol


class TickContributor(Protocol):
    """Adds a section to a room's tick and extra fields to its pinned cards.

    `room_tick`'s result is merged into the tick payload under the contributor's `name`
    (nothing is added when it returns None). `card_extras` maps product id -> fields merged
    into that pinned card (e.g. {"units_left": 3, "flash_sale": {...}}); the ids asked include
    each card's variants, whose fields are merged into the card's `variants` entries, and a
    card with variants then counts their `units_left` and is `sold_out` only when every
    variant is (`context.roll_up_variants`). Both are called by
    the one node that ticks the room, 4-5 times a second per live room: keep them cheap.
    """

    name: str

    async def room_tick(self, session_id: int) -> dict[str, Any] | None:
        """This contributor's section of the session's next tick, or None."""
        ...

    async def card_extras(
        self, session_id: int, product_ids: list[int]
    ) -> dict[int, dict[str, Any]]:
        """Extra fields for the pinned cards of these products."""
        ...


class RoomBroadcaster(Protocol):
    """How the room services reach sockets (implemented by the Socket.IO transport)."""

    async def emit(self, event: str, payload: Any, *, room: str) -> None:
        """Sends an event to every socket in `room` on every node."""
        ...

    async def disconnect(self, sid: str) -> None:
        """Disconnects a socket, whichever node holds it."""
        ...

    async def enter(self, sid: str, room: str) -> None:
        """Adds a socket to a broadcast room."""
        ...

    async def leave(self, sid: str, room: str) -> None:
        """Removes a socket from a broadcast room."""
        ...


class VideoWatchers(Protocol):
    """Who watches a show on WebRTC on this node (the media plane's `VideoAudience`), so
    presence counts a viewer's video connection and room sockets once."""

    def viewer_keys(self, session_id: int) -> set[str]:
        """Audience keys (`platform.audience`) of the show's video viewers on this node."""
        ...

    def sessions(self) -> list[int]:
        """Shows with video viewers on this node (ticked even without a room socket)."""
        ...


def session_room(session_id: int) -> str:
    """The broadcast room of everyone watching a session."""
    return f"session:{session_id}"


def moderators_room(session_id: int) -> str:
    """The broadcast room of a session's moderators (and host) only."""
    return f"mods:{session_id}"


def user_room(user_id: int) -> str:
    """Every socket of one signed-in user, for notifications to that user."""
    return f"user:{user_id}"

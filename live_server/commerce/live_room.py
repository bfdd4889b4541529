"""What the live formats (auctions, giveaways, coupons) need of the room, in one place.

Commerce sits above the room in the layers: it may use the room's public entry point, and
the room never imports commerce. `LiveRoom` is the small surface the formats use (who a
socket is, a viewer's moderation state, whether a user is connected, emitting to the
room), so their services can be tested with a fake and never reach into the room's
internals elsewhere; `RoomAccess` implements it over the room feature.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from live_server.platform.identity import Principal
from live_server.room import Room


class LiveRoom(Protocol):
    """The room as the live formats see it."""

    def principal(self, sid: str) -> Principal | None:
        """The signed-in user behind a connected socket (None: anonymous or gone)."""
        ...

    async def moderation_refusal(self, session_id: int, user_id: int) -> str | None:
        """Why a viewer may not take part now (banned, timed out), in words; else None."""
        ...

    async def is_present(self, session_id: int, user_id: int) -> bool:
        """Whether the user has a socket in the room, on any node."""
        ...

    async def emit_to_room(self, session_id: int, event: str, payload: Any) -> None:
        """Sends an event to everyone in the room."""
        ...

    async def emit_to_user(self, user_id: int, event: str, payload: Any) -> None:
        """Sends an event to every socket of one user."""
        ...


class RoomAccess:
    """`LiveRoom` over the room feature (its service and shared live state)."""

    def __init__(self, room: Room) -> None:
        self._service = room.service
        self._state = room.service.ctx.state

    def principal(self, sid: str) -> Principal | None:
        """The socket's principal, from this node's membership."""
        member = self._service.ctx.membership.members.get(sid)
        return member.principal if member is not None else None

    async def moderation_refusal(self, session_id: int, user_id: int) -> str | None:
        """Reads the shared state every node enforces (bans, timeouts)."""
        if await self._state.is_banned(session_id, user_id):
            return "You've been removed from this show, so you can't take part."
        now = time.time()
        until = await self._state.timeout_until(session_id, user_id, now)
        if until is not None:
            seconds = max(1, round(until - now))
            return f"You're timed out for {seconds} more seconds, so you can't take part yet."
        return None

    async def is_present(self, session_id: int, user_id: int) -> bool:
        """A socket of the user joined the room (any node)."""
        return bool(await self._state.user_sockets(session_id, user_id))

    async def emit_to_room(self, session_id: int, event: str, payload: Any) -> None:
        """Everyone in the session's room."""
        await self._service.emit_to_room(session_id, event, payload)

    async def emit_to_user(self, user_id: int, event: str, payload: Any) -> None:
        """One user's sockets."""
        await self._service.emit_to_user(user_id, event, payload)

"""Who is banned from a show, as the checks outside the room read it (WHEP, LL-HLS, checkout).

Those checks sit on busy paths (a flash sale is a thousand checkouts in a second), so each
node reads a show's ban list from SQLite (the durable copy every node shares) at most
once per ``ttl_s``, one read for everyone asking at once. A ban made on this node or
announced by another (`ViewerBanned` on the bus) drops the show's copy at once, so a ban
holds everywhere immediately; an unban on another node is seen within ``ttl_s``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from live_server.platform.events import ViewerBanned
from live_server.room.stores.moderation import ModerationRepository

#: how long a show's ban list is reused
BAN_LIST_TTL_S = 1.0
_MAX_SHOWS = 10_000


class BanList:
    """A short-lived per-node copy of each show's bans (see the module docstring)."""

    def __init__(
        self,
        moderation: ModerationRepository,
        ttl_s: float = BAN_LIST_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._moderation = moderation
        self._ttl_s = ttl_s
        self._clock = clock
        self._lists: dict[int, tuple[frozenset[int], float]] = {}
        self._reading: dict[int, asyncio.Future[frozenset[int]]] = {}

    async def is_banned(self, session_id: int, user_id: int) -> bool:
        """Whether the user is banned from the session."""
        return user_id in await self._banned(session_id)

    def forget(self, session_id: int) -> None:
        """The show's bans changed: read them again on the next question."""
        self._lists.pop(session_id, None)
        self._reading.pop(session_id, None)  # a read under way may predate the change

    async def on_viewer_banned(self, event: ViewerBanned) -> None:
        """A ban on any node (the room's notice on this node's bus)."""
        self.forget(event.session_id)

    async def _banned(self, session_id: int) -> frozenset[int]:
        cached = self._lists.get(session_id)
        if cached is not None and self._clock() - cached[1] < self._ttl_s:
            return cached[0]
        reading = self._reading.get(session_id)
        if reading is None:
            reading = asyncio.get_running_loop().create_future()
            self._reading[session_id] = reading
            try:
                banned = frozenset(await self._moderation.banned_users(session_id))
            except Exception as exc:
                if self._reading.get(session_id) is reading:
                    del self._reading[session_id]
                reading.set_exception(exc)
                reading.exception()  # retrieved: the waiters below re-raise it
                raise
            if self._reading.get(session_id) is reading:  # not forgotten meanwhile
                del self._reading[session_id]
                if len(self._lists) >= _MAX_SHOWS:
                    self._lists.clear()
                self._lists[session_id] = (banned, self._clock())
            reading.set_result(banned)
            return banned
        return await asyncio.shield(reading)

"""The media clock: seconds since a session went live, the timeline shared by the
recording, chat, pins and orders.

`WallMediaClock` is the fallback from the stored go-live time; the media plane provides a
clock tied to the recording's first frame and replaces this one in the composition root.
"""

from __future__ import annotations

import time
from typing import Protocol

from live_server.shows.rules import SessionState
from live_server.shows.store import SessionRepository


class MediaClock(Protocol):
    async def media_time(self, session_id: int) -> float | None:
        """Seconds of media since go-live, or None when the session is not live."""


class WallMediaClock:
    """Media time from `went_live_at` in the database."""

    def __init__(self, sessions: SessionRepository) -> None:
        self._sessions = sessions

    async def media_time(self, session_id: int) -> float | None:
        session = await self._sessions.get(session_id)
        if session is None or session.went_live_at is None:
            return None
        if session.state not in (SessionState.LIVE, SessionState.RECONNECTING):
            return None
        return max(0.0, time.time() - session.went_live_at)

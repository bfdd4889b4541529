"""Media time for the live formats' audit trails: where in the show a bid or a draw fell."""

from __future__ import annotations

import time
from collections.abc import Callable

from live_server.shows import MediaClock

REFRESH_S = 1.0


class MediaTimes:
    """The media time of a moment of a show (a bid's server time, a draw).

    Media time runs at wall-clock speed while a show is live, so the show's clock is asked
    at most once a second and its offset reused in between: a bidding war of fifty bids a
    second costs one clock read a second, not fifty.
    """

    def __init__(self, clock: MediaClock, wall: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._wall = wall
        self._offsets: dict[int, tuple[float | None, float]] = {}  # show -> (offset, read at)

    async def at(self, session_id: int, epoch: float) -> float | None:
        """The media time at epoch second `epoch` (None while the show is not live)."""
        now = self._wall()
        cached = self._offsets.get(session_id)
        if cached is None or now - cached[1] >= REFRESH_S:
            media = await self._clock.media_time(session_id)
            offset = None if media is None else media - now
            cached = (offset, now)
            self._offsets[session_id] = cached
        offset = cached[0]
        return None if offset is None else round(max(0.0, epoch + offset), 3)

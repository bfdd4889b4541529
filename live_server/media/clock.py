"""The media clock: a live session's time in seconds since go-live.

Media time 0 is the first frame from the host, which is also t=0 of the
recording. The clock keeps running while the host reconnects, so chat, pins and
sales stay on the recording's timeline. Others call ``media_time(session_id)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class MediaClock:
    """Per-session monotonic clocks started at go-live."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._now = monotonic
        self._started: dict[int, float] = {}
        self._stopped: dict[int, float] = {}

    def start(self, session_id: int) -> None:
        """Start the session's clock at 0 (no-op when it already runs)."""
        if session_id not in self._started:
            self._started[session_id] = self._now()
            self._stopped.pop(session_id, None)

    def stop(self, session_id: int) -> None:
        """Freeze the clock at its current value (the session ended)."""
        started = self._started.pop(session_id, None)
        if started is not None:
            self._stopped[session_id] = self._now() - started

    def forget(self, session_id: int) -> None:
        """Drop every trace of the session."""
        self._started.pop(session_id, None)
        self._stopped.pop(session_id, None)

    def is_running(self, session_id: int) -> bool:
        """True between go-live and the end."""
        return session_id in self._started

    def media_time(self, session_id: int) -> float | None:
        """Seconds since go-live, or None when the session never went live here."""
        started = self._started.get(session_id)
        if started is not None:
            return max(0.0, self._now() - started)
        return self._stopped.get(session_id)

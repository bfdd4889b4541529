"""Throttled keyframe requests towards the publisher."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

DEFAULT_MIN_INTERVAL_S = 0.5


class KeyframeRequester:
    """Coalesces keyframe requests: at most one PLI per ``min_interval`` seconds.

    A request inside the quiet interval is not lost: one trailing PLI is sent when
    the interval is over, however many requests arrived meanwhile.
    """

    def __init__(
        self,
        send: Callable[[], Awaitable[None]],
        min_interval: float = DEFAULT_MIN_INTERVAL_S,
        label: str = "",
    ) -> None:
        self._send = send
        self._min_interval = min_interval
        self._label = label
        self._last_sent = -1e9
        self._pending: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.requested = 0
        self.sent = 0

    def request(self) -> None:
        """Ask for a keyframe soon (non-blocking, safe to call per frame)."""
        self.requested += 1
        if self._pending is not None:
            return
        now = time.monotonic()
        wait = self._last_sent + self._min_interval - now
        loop = asyncio.get_running_loop()
        if wait <= 0:
            self._fire()
        else:
            self._pending = loop.call_later(wait, self._fire)

    def _fire(self) -> None:
        self._pending = None
        self._last_sent = time.monotonic()
        self.sent += 1
        task = asyncio.get_running_loop().create_task(self._send_safely())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_safely(self) -> None:
        try:
            await self._send()
        except Exception:  # a dead transport must not kill the fan-out
            logger.debug("keyframe request %s failed", self._label, exc_info=True)

    def close(self) -> None:
        """Cancel a pending trailing request."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

"""Every peer's lifetime (docs/media.md, "Lifetimes"): the one place that ends a WHIP/WHEP
peer that will never connect or has gone quiet.

The answer holds every candidate (no trickle), so a peer not connected by the connect
deadline never will be; a connected viewer's silence, not aioice's 30 s consent expiry,
says it has gone; a publisher whose frames stop is lost (the show goes to its reconnect
grace). A relay source (an edge's pull of a show from its origin) is judged by the connect
deadline only: its frames stop whenever the host is away, and the relay puller watches
the origin's lease instead.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from live_server.platform.errors import TooManyRequests

if TYPE_CHECKING:
    from live_server.media.sfu import Publisher, Room, Viewer

logger = logging.getLogger(__name__)


class TooManyViewers(TooManyRequests):
    """One client address already holds as many WHEP viewers as it may (429)."""

    code = "too_many_viewers"


class AddressBudget:
    """WHEP viewers per client address (connecting ones included); ``limit`` 0: no cap."""

    def __init__(self, limit: int, retry_after_s: float) -> None:
        self._limit = limit
        self._retry_after_s = retry_after_s
        self._held: Counter[str] = Counter()

    def reserve(self, address: str | None) -> None:
        """Count one more viewer for ``address``; 429 ``too_many_viewers`` past the cap."""
        limit = self._limit
        if address is None or limit <= 0:
            return
        if self._held[address] >= limit:
            raise TooManyViewers(
                f"your address already holds {limit} video players, the most one address may:"
                " close one and try again",
                retry_after=math.ceil(self._retry_after_s),
            )
        self._held[address] += 1

    def release(self, address: str | None) -> None:
        """One viewer of ``address`` is gone (idempotence is the caller's)."""
        if address is None or self._limit <= 0:
            return
        self._held[address] -= 1
        if self._held[address] <= 0:
            del self._held[address]


class PeerWatchdog:
    """One task per SFU, running while it has rooms."""

    def __init__(
        self,
        rooms: Callable[[], list[Room]],
        lose_publisher: Callable[[Room, Publisher], Awaitable[None]],
        drop_viewer: Callable[[Room, Viewer], None],
        publisher_timeout_s: float,
        connect_timeout_s: float,
        silence_timeout_s: float,
    ) -> None:
        self._rooms = rooms
        self._lose_publisher = lose_publisher
        self._drop_viewer = drop_viewer
        self._publisher_timeout_s = publisher_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._silence_timeout_s = silence_timeout_s
        self._task: asyncio.Task[None] | None = None

    def ensure_running(self) -> None:
        """Start the task unless it runs (it ends by itself when the last room closes)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def close(self) -> None:
        """Stop the task (shut-down)."""
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        interval = min(
            1.0,
            self._publisher_timeout_s / 2,
            self._connect_timeout_s / 4,
            self._silence_timeout_s / 4,
        )
        while self._rooms():
            await asyncio.sleep(interval)
            now = time.monotonic()
            for room in self._rooms():
                publisher = room.publisher
                if publisher is not None and self.publisher_expired(room, publisher, now):
                    await self._lose_publisher(room, publisher)
                for viewer in list(room.viewers.values()):
                    reason = self.viewer_expired(viewer, now)
                    if reason:
                        logger.info(
                            "session=%s viewer=%s %s: dropped", room.session_id, viewer.id, reason
                        )
                        self._drop_viewer(room, viewer)

    def publisher_expired(self, room: Room, publisher: Publisher, now: float) -> bool:
        """True when the publisher never connected in time or its frames stopped."""
        if not publisher.connected and now - publisher.answered_at > self._connect_timeout_s:
            logger.info(
                "session=%s publisher=%s not connected %.1fs after its answer",
                room.session_id,
                publisher.id,
                now - publisher.answered_at,
            )
            return True
        if publisher.relay:
            return False
        # before its first frame a publisher may still be doing ICE and DTLS
        limit = self._publisher_timeout_s * (1 if publisher.started else 4)
        if now - publisher.last_frame_at > limit:
            logger.info(
                "session=%s publisher=%s silent for %.1fs",
                room.session_id,
                publisher.id,
                now - publisher.last_frame_at,
            )
            return True
        return False

    def viewer_expired(self, viewer: Viewer, now: float) -> str | None:
        """Why the viewer must go (never connected, or silent), else None."""
        if not viewer.connected:
            if now - viewer.joined_at > self._connect_timeout_s:
                return f"not connected {now - viewer.joined_at:.1f}s after its answer"
            return None
        silent = viewer.activity.silent_for(now)
        if silent > self._silence_timeout_s:
            return f"nothing heard for {silent:.1f}s"
        return None

"""Write-behind for chat: messages are broadcast at once and stored in small batches.

Storing each message in its own SQLite transaction put the database on the delivery
path: under load every message waited for the single writer. Messages get their id from
the shared live state (unique over nodes), so they can be sent before they are stored;
a batch is written at most `delay` seconds later. Readers that need every message in the
database (the join snapshot, moderation) call `flush()` first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from live_server.room.rules.chat import ChatMessage
from live_server.room.stores.chat import ChatRepository

logger = logging.getLogger(__name__)


class ChatWriter:
    """Buffers chat messages and stores them in one transaction per batch."""

    def __init__(self, repo: ChatRepository, delay: float = 0.1) -> None:
        self._repo = repo
        self._delay = delay
        self._pending: list[ChatMessage] = []
        self._timer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def add(self, message: ChatMessage) -> None:
        """Queues a message; it is stored within `delay` seconds."""
        self._pending.append(message)
        if self._timer is None or self._timer.done():
            self._timer = asyncio.create_task(self._flush_later(), name="chat-writer")

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._delay)
        with contextlib.suppress(Exception):  # logged in flush(); retried with the next batch
            await self.flush()

    async def flush(self) -> None:
        """Stores everything queued so far."""
        async with self._lock:
            batch, self._pending = self._pending, []
            if not batch:
                return
            try:
                await self._repo.add_many(batch)
            except Exception:
                # Keep them for the next flush rather than lose a show's chat.
                logger.exception("storing %d chat messages failed; will retry", len(batch))
                self._pending[:0] = batch
                raise

    async def close(self) -> None:
        """Stores what is left (at shut-down)."""
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._timer
        with contextlib.suppress(Exception):
            await self.flush()

"""Sharing the live commerce view between nodes over Redis pub/sub.

One node (the one that ticks a room) shows units left, sales and recent purchases; orders
are placed on every node. Each node publishes its changes (a batch's new stock levels, an
order's social-proof line, a sale started or ended) on one channel and applies the others'.
The durable truth stays in SQLite: this only keeps the tick current between its periodic
stock refreshes. Without Redis nothing is published (one node sees everything anyway).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

MAX_QUEUE = 10_000


class RedisCommerceFeed:
    """Publishes local changes and feeds other nodes' changes to `apply`."""

    def __init__(self, redis: Redis, channel: str, node_id: str | None = None) -> None:
        self._redis = redis
        self.channel = channel
        self.node_id = node_id or uuid.uuid4().hex[:12]
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(MAX_QUEUE)

    def send(self, message: dict[str, Any]) -> None:
        """Queue a change for publishing (never blocks; drops when Redis falls far behind)."""
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            logger.warning("commerce feed: queue full, dropping a %s update", message.get("kind"))

    async def run(self, apply: Callable[[dict[str, Any]], None]) -> None:
        """Publish and subscribe until cancelled; reconnects after Redis errors."""
        publisher = asyncio.create_task(self._publish_loop(), name="commerce-feed-out")
        try:
            while True:
                try:
                    await self._listen(apply)
                except (OSError, RedisError) as exc:
                    logger.warning("commerce feed: Redis unavailable (%s); retrying", exc)
                    await asyncio.sleep(1.0)
        finally:
            publisher.cancel()
            await asyncio.gather(publisher, return_exceptions=True)

    async def _listen(self, apply: Callable[[dict[str, Any]], None]) -> None:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self.channel)
        try:
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is None or message.get("type") != "message":
                    continue
                try:
                    envelope = json.loads(message["data"])
                except (TypeError, ValueError):
                    continue
                if not isinstance(envelope, dict) or envelope.get("node") == self.node_id:
                    continue
                for change in envelope.get("changes", ()):
                    if isinstance(change, dict):
                        apply(change)
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]  # typed from redis 8.2

    async def _publish_loop(self) -> None:
        while True:
            changes = [await self._queue.get()]
            while not self._queue.empty() and len(changes) < 500:
                changes.append(self._queue.get_nowait())
            envelope = json.dumps({"node": self.node_id, "changes": changes})
            try:
                await self._redis.publish(self.channel, envelope)
            except (OSError, RedisError) as exc:
                logger.warning(
                    "commerce feed: publish failed (%s); %d change(s) lost", exc, len(changes)
                )
                await asyncio.sleep(0.5)

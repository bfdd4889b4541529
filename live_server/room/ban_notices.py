"""A ban told to every node: `ViewerBanned` on each node's event bus.

A ban is stored in SQLite (durable) and in the shared live state (enforced by every node's
room); what a node holds for the banned user beyond the room (their WHEP video, served by
the media plane, which sits below the room and cannot ask it) learns of the ban from the
platform's `EventBus`. The bus is in-process, so with Redis the notice also goes out on the
room's own pub/sub channel (`<prefix>:room-bans`) and every other node republishes it on
its bus. Without Redis there is one node and the local bus is enough.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from live_server.platform.core import Platform
from live_server.platform.errors import Forbidden
from live_server.platform.events import EventBus, ViewerBanned
from live_server.room.live_state import LiveState, RedisLiveState

logger = logging.getLogger(__name__)

#: What a banned viewer reads when their video is refused (WHEP, LL-HLS) on any node.
BANNED_FROM_VIDEO = "You were removed from this show by its moderators, so you can't watch it."


class BanNotices:
    """Publishes bans on this node's bus and, with Redis, on every other node's."""

    def __init__(self, events: EventBus, redis: Redis | None = None, prefix: str = "") -> None:
        self._events = events
        self._redis = redis
        self.channel = f"{prefix}:room-bans"
        self.node_id = uuid.uuid4().hex[:12]
        self._listening = asyncio.Event()

    def on_ban(self, handler: Callable[[ViewerBanned], Awaitable[None]]) -> None:
        """``handler`` hears every ban, this node's and the others' (on this node's bus)."""
        self._events.subscribe(ViewerBanned, handler)

    async def announce(self, session_id: int, user_id: int) -> None:
        """Tell every node (this one first, at once) that the user is banned."""
        await self._events.publish(ViewerBanned(session_id, user_id))
        if self._redis is None:
            return
        message = json.dumps({"node": self.node_id, "session_id": session_id, "user_id": user_id})
        try:
            await self._redis.publish(self.channel, message)
        except (OSError, RedisError) as exc:
            # the room and the WHEP check still refuse the user everywhere (SQLite, Redis)
            logger.warning("session %d: ban notice not published (%s)", session_id, exc)

    async def listen(self) -> None:
        """Republish other nodes' bans on this node's bus until cancelled."""
        if self._redis is None:
            return
        while True:
            try:
                await self._listen_once(self._redis)
            except (OSError, RedisError) as exc:
                logger.warning("ban notices: Redis unavailable (%s); retrying", exc)
                await asyncio.sleep(1.0)

    async def wait_listening(self, timeout: float = 5.0) -> None:
        """Returns once subscribed (tests and start-up)."""
        if self._redis is not None:
            await asyncio.wait_for(self._listening.wait(), timeout)

    async def _listen_once(self, redis: Redis) -> None:
        pubsub = redis.pubsub()
        await pubsub.subscribe(self.channel)
        self._listening.set()
        try:
            async for message in pubsub.listen():
                event = _decode(message)
                if event is not None and event[0] != self.node_id:
                    await self._events.publish(ViewerBanned(event[1], event[2]))
        finally:
            self._listening.clear()
            await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]  # typed from redis 8.2


def _decode(message: Any) -> tuple[str, int, int] | None:
    """(node, session id, user id) of a pub/sub message, or None for anything else."""
    if not isinstance(message, dict) or message.get("type") != "message":
        return None
    try:
        body = json.loads(message["data"])
        node, session_id, user_id = body["node"], body["session_id"], body["user_id"]
    except (TypeError, ValueError, KeyError):
        return None
    if not (isinstance(session_id, int) and isinstance(user_id, int)):
        return None
    return str(node), session_id, user_id


class EdgeBanCheck:
    """An edge's WHEP gate. An edge has no database, but a viewer sent to it by a full node
    carries a watch ticket naming them, valid for a while: without this check a banned
    viewer could use it again after the ban closed their video. It reads the ban set every
    full node's room writes to the shared live state (Redis) when it bans or unbans."""

    def __init__(self, state: LiveState) -> None:
        self._state = state

    async def __call__(self, session_id: int, user_id: int | None) -> None:
        if user_id is None:  # an anonymous viewer of a public show cannot be told apart
            return
        try:
            banned = await self._state.is_banned(session_id, user_id)
        except (OSError, RedisError) as exc:
            # the origin checked them when it issued the ticket; the ban notice still closes
            # their video here if one comes
            logger.warning("session %d: ban check unavailable (%s)", session_id, exc)
            return
        if banned:
            raise Forbidden(BANNED_FROM_VIDEO, code="banned")


def edge_check(platform: Platform) -> EdgeBanCheck:
    """The ban check of an edge node, on the deployment's Redis."""
    assert platform.redis is not None, "an edge runs with the deployment's Redis"
    return EdgeBanCheck(RedisLiveState(platform.redis, platform.settings.redis_prefix))


def setup(app: web.Application, platform: Platform) -> BanNotices:
    """The node's ban notices, listening to other nodes' while the app runs (a full node's
    room announces through them; an edge only listens, for the viewers it serves)."""
    notices = BanNotices(platform.events, platform.redis, platform.settings.redis_prefix)

    async def listening(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.get_running_loop().create_task(notices.listen(), name="room-ban-notices")
        with contextlib.suppress(asyncio.TimeoutError):
            await notices.wait_listening()
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(listening)
    return notices

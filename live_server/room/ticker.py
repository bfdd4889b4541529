"""The room tick: aggregated reactions, pinned cards, presence and contributors' data.

Every node ticks the rooms it has sockets in, 4-5 times a second: it hands its reaction
taps to the shared live state and, once a second, publishes its viewer counts (in all and
per video tier). Exactly one node per room (the holder of a short lease in the live state)
emits the tick, so with several nodes each client still gets one tick. A tick is only sent
when it carries something: reactions, changed cards, changed presence or a contributor's
section.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from live_server.room import events as ev
from live_server.room.context import RoomContext, stable_json
from live_server.room.extensions import session_room
from live_server.room.rules.presence import (
    PRESENCE_INTERVAL_S,
    Audience,
    Presence,
    PresenceThrottle,
    minute_of,
    watch_increment,
)
from live_server.room.rules.reactions import ReactionAggregator, merge_counts

logger = logging.getLogger(__name__)

#: Stats (reaction totals, per-minute rows, watch time) are written this often.
STATS_INTERVAL_S = 5.0


@dataclass
class _Room:
    """What this node remembers about one room between ticks."""

    presence: Presence = field(default_factory=lambda: Presence(0, 0))
    throttle: PresenceThrottle = field(default_factory=PresenceThrottle)
    published_at: float = float("-inf")
    last_cards: str | None = None
    seq: int = 0
    chat_count: int = 0
    reactions: Counter[str] = field(default_factory=Counter)
    viewers_max: int = 0
    seen: dict[str, float] = field(default_factory=dict)  # viewer key -> last credited
    video: set[str] = field(default_factory=set)  # WebRTC viewers here at the last count
    flushed_at: float = field(default_factory=time.time)
    leader: bool = False


class RoomTicker:
    """Runs the tick loop of every room with sockets on this node."""

    def __init__(self, ctx: RoomContext, aggregator: ReactionAggregator) -> None:
        self.ctx = ctx
        self._aggregator = aggregator
        self._rooms: dict[int, _Room] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.interval = 1.0 / max(0.5, ctx.limits.tick_hz)

    async def start(self) -> None:
        """Starts the loop (idempotent)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="room-ticker")

    async def stop(self) -> None:
        """Stops the loop and writes what is still pending."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for session_id in list(self._rooms):
            with contextlib.suppress(Exception):
                await self._flush_stats(session_id, self._rooms[session_id], time.time())
        await self.ctx.chat_writer.close()

    async def activate(self, session_id: int) -> Presence:
        """Makes sure a room is ticked; returns its presence (published at most once a
        second, so a crowd joining at once costs one shared-state write per second)."""
        room = self._rooms.setdefault(session_id, _Room())
        now = time.time()
        if now - room.published_at >= PRESENCE_INTERVAL_S:
            await self._publish_presence(session_id, room, now)
        return room.presence

    def presences(self) -> dict[int, Presence]:
        """The presence of every room this node ticks (for the /metrics gauges)."""
        return {session_id: room.presence for session_id, room in self._rooms.items()}

    def count_chat(self, session_id: int) -> None:
        """Counts a chat message for the per-minute stats."""
        room = self._rooms.get(session_id)
        if room is not None:
            room.chat_count += 1

    def poke(self) -> None:
        """Runs the next tick now instead of at the next interval (after a pin change)."""
        self._wake.set()

    async def _run(self) -> None:
        next_at = time.monotonic()
        while True:
            next_at += self.interval
            delay = next_at - time.monotonic()
            if delay < -self.interval:  # fell behind (busy machine): don't try to catch up
                next_at = time.monotonic()
                delay = 0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, delay))
            self._wake.clear()
            if self.ctx.video is not None:  # shows watched here on video only count too
                for session_id in self.ctx.video.sessions():
                    self._rooms.setdefault(session_id, _Room())
            for session_id in list(self._rooms):
                try:
                    await self.tick(session_id)
                except Exception:
                    logger.exception("session %d: room tick failed", session_id)

    async def _publish_presence(self, session_id: int, room: _Room, now: float) -> None:
        # "watching" (docs/realtime.md): viewer sockets and video connections, once each
        room.video = await self.ctx.video_viewers(session_id)
        local = self.ctx.membership.audience(session_id, room.video)
        audience = await self.ctx.state.publish_audience(session_id, local, now)
        total = audience.viewers
        peak = room.presence.peak
        if total > peak:
            peak = await self.ctx.state.raise_peak(session_id, total)
        room.presence = Presence(total, peak, audience.webrtc, audience.hls)
        room.published_at = now
        room.viewers_max = max(room.viewers_max, total)

    async def tick(self, session_id: int) -> dict[str, Any] | None:
        """One tick of one room; returns the payload it emitted (None if nothing was sent)."""
        room = self._rooms.get(session_id)
        if room is None:
            return None
        now = time.time()
        state = self.ctx.state
        taps = self._aggregator.drain(session_id)
        if taps:
            await state.add_reactions(session_id, taps)
        if now - room.published_at >= PRESENCE_INTERVAL_S:
            await self._publish_presence(session_id, room, now)
        if now - room.flushed_at >= STATS_INTERVAL_S:
            await self._flush_stats(session_id, room, now)
        if session_id not in self.ctx.membership.rooms and not room.video:
            # Nobody here any more: publish the zero, flush, and stop ticking the room.
            await state.publish_audience(session_id, Audience(), now)
            await self._flush_stats(session_id, room, now)
            del self._rooms[session_id]
            return None
        room.leader = await state.acquire_tick_lease(session_id, max(1.0, 4 * self.interval))
        if not room.leader:
            room.last_cards = None  # resend cards in full if we become the leader again
            return None
        payload: dict[str, Any] = {"session_id": session_id}
        reactions = await state.drain_reactions(session_id)
        if reactions:
            payload["reactions"] = reactions
            merge_counts(room.reactions, reactions)
        cards = await self.ctx.cards(session_id)
        cards_json = stable_json(cards)
        if cards_json != room.last_cards:
            payload["pins"] = cards
            room.last_cards = cards_json
        presence = room.throttle.offer(room.presence, now)
        if presence is not None:
            payload["presence"] = presence.as_payload()
        for contributor in self.ctx.contributors:
            try:
                section = await contributor.room_tick(session_id)
            except Exception:
                logger.exception("session %d: room_tick of %s failed", session_id, contributor.name)
                continue
            if section is not None:
                payload[contributor.name] = section
        if len(payload) == 1:
            return None
        room.seq += 1
        payload["seq"] = room.seq
        await self.ctx.broadcaster.emit(ev.ROOM_TICK, payload, room=session_room(session_id))
        return payload

    async def _flush_stats(self, session_id: int, room: _Room, now: float) -> None:
        """Writes reaction totals, this minute's row and watch time for one room."""
        reactions = dict(room.reactions)
        chat_count = room.chat_count
        viewers_max = room.viewers_max if room.leader else 0
        room.reactions.clear()
        room.chat_count = 0
        room.viewers_max = room.presence.viewers
        room.flushed_at = now
        stats = self.ctx.stats
        if reactions:
            await stats.add_reactions(session_id, reactions)
        if reactions or chat_count or viewers_max:
            await stats.record_minute(
                session_id, minute_of(now), viewers_max, sum(reactions.values()), chat_count
            )
        keys = self.ctx.membership.viewer_keys(session_id) | room.video
        credit = {k: watch_increment(room.seen.get(k, now), now) for k in keys}
        room.seen = dict.fromkeys(keys, now)
        await stats.touch_viewers(session_id, credit, now)

"""Wiring of the live room: chat, reactions, presence, moderation, pins, ticks, shared state.

The Socket.IO transport that carries the room lives in `signaling.room`; the composition
root hands this feature the broadcaster that transport provides.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from live_server.catalog import Catalog
from live_server.platform.core import Platform
from live_server.room import reports, routes
from live_server.room.ban_notices import setup as ban_notices_setup
from live_server.room.context import RoomContext, RoomLimits
from live_server.room.core_events import core_events
from live_server.room.extensions import RoomBroadcaster, VideoWatchers
from live_server.room.keys import ROOM, ROOM_EVENTS
from live_server.room.live_state import LiveState, MemoryLiveState, RedisLiveState
from live_server.room.moderation import RoomModeration
from live_server.room.registry import RoomEventRegistry
from live_server.room.rules.reactions import ReactionAggregator
from live_server.room.service import RoomService
from live_server.room.stores.chat import ChatRepository
from live_server.room.stores.moderation import ModerationRepository
from live_server.room.stores.pins import PinRepository
from live_server.room.stores.stats import RoomStatsRepository
from live_server.room.ticker import RoomTicker
from live_server.shows import MediaClock, Shows


@dataclass(frozen=True)
class Room:
    """What the live room offers the features built on it and its transport."""

    service: RoomService
    moderation: RoomModeration
    #: The open event table the transport binds; features add their events here.
    events: RoomEventRegistry


def setup(
    app: web.Application,
    platform: Platform,
    catalog: Catalog,
    shows: Shows,
    clock: MediaClock,
    broadcaster: RoomBroadcaster,
    video: VideoWatchers | None = None,
) -> Room:
    """Builds the room services over their stores and shared state; serves its routes.
    `video`: this node's WebRTC viewers, counted in presence with the room's sockets."""
    s = platform.settings
    state: LiveState = (
        RedisLiveState.from_url(s.redis_url, s.redis_prefix) if s.redis_url else MemoryLiveState()
    )
    db = platform.db
    ctx = RoomContext(
        sessions=shows.service,
        products=catalog.products,
        chat=ChatRepository(db),
        pins=PinRepository(db),
        moderation=ModerationRepository(db),
        stats=RoomStatsRepository(db),
        state=state,
        clock=clock,
        broadcaster=broadcaster,
        limits=RoomLimits(
            chat_max_len=s.chat_max_len,
            chat_rate=s.chat_rate_per_s,
            chat_burst=float(s.chat_burst),
            tick_hz=s.room_tick_hz,
        ),
        video=video,
    )
    aggregator = ReactionAggregator()
    ticker = RoomTicker(ctx, aggregator)
    chat_latency = platform.metrics.histogram(
        "liveshop_chat_delivery_seconds",
        "Chat messages: arrival to broadcast handed to the sockets (server side)",
    )
    flags = reports.ChatFlags(db)  # refused chat, for the admins' flagged-chat report
    service = RoomService(
        ctx,
        ticker,
        aggregator,
        platform.events,
        observe_chat_latency=chat_latency.observe,
        on_blocked_word=flags.blocked,
    )
    # the one "watching" count (docs/realtime.md), as the viewer page and the studio get it
    platform.metrics.gauge_family(
        "liveshop_show_watching",
        "Viewers watching each show with sockets or video on this node: room sockets and"
        " WebRTC viewers, each person or device once, host and moderators not counted;"
        " the show's total over every node (the same figure the viewer page shows)",
        ["session_id"],
        lambda: [((str(sid),), p.viewers) for sid, p in ticker.presences().items()],
    )
    # a ban reaches every node's media plane (its WHEP viewers) through the event bus
    moderation = RoomModeration(ctx, ticker, ban_notices_setup(app, platform))
    events = RoomEventRegistry()
    events.register_all(core_events(service, moderation))
    events.feed_contributors(service.add_contributor)
    app[ROOM] = service
    app[ROOM_EVENTS] = events
    routes.setup(app)
    reports.setup(app, db, flags)  # the admin screen's flagged chat
    return Room(service=service, moderation=moderation, events=events)

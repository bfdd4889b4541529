"""Wiring of the media plane: the SFU, go-live and end, the recorder tap, the media clock,
WHEP on this node and the relay from other nodes (``setup``); an edge node's media plane,
without database or shows (``setup_edge``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from live_server.cluster import Cluster
from live_server.media import native, routes
from live_server.media.audience import VideoAudience
from live_server.media.broadcast import BroadcastService
from live_server.media.clock import MediaClock
from live_server.media.keys import BROADCAST, RELAYS, VIDEO_AUDIENCE, VIEWING
from live_server.media.relay import RelayPuller
from live_server.media.sdp import parse_ice_servers
from live_server.media.sfu import Sfu
from live_server.media.store import RecordingRepository
from live_server.media.turn import TurnCredentials
from live_server.media.viewing import EdgeAccess, LoadMeter, NodeViewing, ShowAccess
from live_server.platform.core import Platform
from live_server.platform.events import ViewerBanned
from live_server.settings import Settings
from live_server.shows import Shows


@dataclass(frozen=True)
class Media:
    """What the media plane offers the features built on it."""

    #: Go-live, WHEP viewers, recordings; also the media clock every feature reads.
    broadcast: BroadcastService
    #: WHEP on this node: access, routing, the relay, the subscription.
    viewing: NodeViewing
    #: Who watches on WebRTC here (the room counts them with its sockets).
    audience: VideoAudience


def _sfu(s: Settings) -> Sfu:
    native.set_enabled(s.native_fanout)  # process-wide: the send loop every viewer uses
    return Sfu(
        MediaClock(),
        parse_ice_servers(s.ice_servers),
        s.public_ip,
        fast_path=s.media_fast_path,
        ice_loopback=s.ice_loopback,
        connect_timeout_s=s.peer_connect_timeout_s,
        viewer_silence_timeout_s=s.viewer_silence_timeout_s,
        max_viewers_per_address=s.max_viewers_per_address,
        turn=TurnCredentials.from_settings(s.turn_urls, s.turn_secret, s.turn_ttl_s),
    )


def setup(app: web.Application, platform: Platform, shows: Shows, cluster: Cluster) -> Media:
    """Builds the SFU and the broadcast service, serves the status routes, and owns the
    media lifetime: recover crashed recordings at start-up, close every peer at shut-down."""
    s = platform.settings
    sfu = _sfu(s)
    broadcast = BroadcastService(
        shows.service,
        sfu,
        RecordingRepository(platform.db),
        platform.events,
        s.media_dir / "recordings",
        grace_s=s.reconnect_grace_s,
        fallback_clock=shows.wall_clock,
        cluster=cluster,
    )
    relays = RelayPuller(sfu, cluster, grace_s=s.reconnect_grace_s)
    viewing = NodeViewing(
        sfu, cluster, relays, ShowAccess(shows.service, cluster), s.max_webrtc_viewers
    )
    cluster.set_load_source(LoadMeter(sfu))
    # a ban (from this node's room or, over Redis, another's) closes the user's video here
    platform.events.subscribe(ViewerBanned, viewing.on_viewer_banned)
    audience = VideoAudience(sfu)
    app[BROADCAST] = broadcast
    app[VIEWING] = viewing
    app[VIDEO_AUDIENCE] = audience
    app[RELAYS] = relays
    app.cleanup_ctx.append(_media_ctx)
    routes.setup(app)
    return Media(broadcast=broadcast, viewing=viewing, audience=audience)


def setup_edge(app: web.Application, platform: Platform, cluster: Cluster) -> NodeViewing:
    """An edge's media plane: the SFU fed by relays from each show's origin, and WHEP."""
    s = platform.settings
    sfu = _sfu(s)
    relays = RelayPuller(sfu, cluster, grace_s=s.reconnect_grace_s)
    viewing = NodeViewing(
        sfu, cluster, relays, EdgeAccess(cluster), s.max_webrtc_viewers, absolute_locations=True
    )
    cluster.set_load_source(LoadMeter(sfu))
    platform.events.subscribe(ViewerBanned, viewing.on_viewer_banned)
    app[VIEWING] = viewing
    app[VIDEO_AUDIENCE] = VideoAudience(sfu)  # named by WHEP; no room here counts them yet
    app[RELAYS] = relays
    app.cleanup_ctx.append(_edge_ctx)
    return viewing


async def _media_ctx(app: web.Application) -> AsyncIterator[None]:
    broadcast = app[BROADCAST]
    await broadcast.recover()
    yield
    await app[RELAYS].close()
    await broadcast.close()


async def _edge_ctx(app: web.Application) -> AsyncIterator[None]:
    yield
    relays = app[RELAYS]
    await relays.close()
    await relays.sfu.close()
